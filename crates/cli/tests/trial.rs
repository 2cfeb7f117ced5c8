#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! End to end: LUPEX run from the command line on a temporary SQLite file
//! (`rct trial ...`), checked against `rct randomise list` for the same seed
//! and stratum, and `rct audit verify`.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{json, Value};
use support::Logins;

/// A typed 256-bit key: used as given, so the run is reproducible.
const SEED: &str = "2025030100000000000000000000000000000000000000000000000000000001";

fn protocol() -> String {
    format!("{}/../../protocols/lupex.toml", env!("CARGO_MANIFEST_DIR"))
}

struct Trial {
    db: String,
    dir: PathBuf,
    logins: Logins,
}

impl Trial {
    /// `rct trial ARGS` as `user` (logged in) in `role`.
    fn rct(&self, user: &str, role: &str, args: &[&str]) -> Command {
        self.logins.trial(user, role, args)
    }
    fn ok(&self, user: &str, role: &str, args: &[&str]) -> String {
        let out = self.rct(user, role, args).assert().success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    }
    fn refused(&self, user: &str, role: &str, args: &[&str]) -> String {
        let out = self.rct(user, role, args).assert().failure();
        String::from_utf8(out.get_output().stderr.clone()).unwrap()
    }
}

/// Person `i`: female when even; pregnant (LUPEX exclusion) when i % 4 == 3.
fn facts(i: usize) -> Value {
    let sex = if i % 2 == 0 { "female" } else { "male" };
    json!({"id": format!("P{i:02}"), "screening_date": "2025-03-01", "facts": {
        "birth_date": "1985-06-15", "sex": sex, "able_to_consent": true,
        "sle_diagnosed": true, "eular_acr_2019_classified": true,
        "exercise_contraindicated": false, "major_bone_fracture": false,
        "exercise_exacerbated_myalgia": false, "active_infection": false,
        "severe_pleuritis_pericarditis": false, "prednisolone_dose": 5,
        "diabetes_diagnosed": false, "sledai_2k_selena": 4, "pet_substudy": false,
        "pregnant": i % 4 == 3
    }})
}

fn list_arms(seed: &str, stratum: &str, n: usize) -> Vec<String> {
    let out = Command::cargo_bin("rct")
        .unwrap()
        .args([
            "randomise",
            "list",
            "--protocol",
            &protocol(),
            "--seed",
            seed,
        ])
        .args(["--stratum", stratum, "--n", &n.to_string(), "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["arm"].as_str().unwrap().to_string())
        .collect()
}

fn session_csv(dir: &Path) -> PathBuf {
    // LUPEX template at 1 Hz, every bout at 180 bpm (> 85 % of 200).
    let mut s = String::from("time,hr\n");
    for t in 0..2400 {
        let hr = match t {
            600..=839 | 1020..=1259 | 1440..=1679 | 1860..=2099 => 180,
            _ => 100,
        };
        s.push_str(&format!("{t},{hr}\n"));
    }
    let f = dir.join("s1.csv");
    std::fs::write(&f, s).unwrap();
    f
}

#[test]
fn lupex_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let t = Trial {
        db: tmp.path().join("lupex.sqlite").display().to_string(),
        dir: tmp.path().to_path_buf(),
        logins: Logins::new(
            &tmp.path().join("lupex.sqlite").display().to_string(),
            tmp.path(),
        ),
    };
    t.ok(
        "ada",
        "admin",
        &["create", "--protocol", &protocol(), "--seed", SEED],
    );
    for (u, r) in [
        ("nina", "research_nurse"),
        ("olga", "outcome_assessor"),
        ("ivan", "intervention_staff"),
        ("dora", "data_manager"),
        ("ines", "investigator"),
    ] {
        t.ok(
            "ada",
            "admin",
            &["grant", "--to", u, "--as", r, "--sites", "all"],
        );
    }

    // Screening: 12 people, 3 of them pregnant (ineligible).
    let mut eligible = Vec::new();
    for i in 0..12 {
        let f = t.dir.join(format!("p{i}.json"));
        std::fs::write(&f, facts(i).to_string()).unwrap();
        let id = format!("P{i:02}");
        let out = t.ok(
            "nina",
            "research_nurse",
            &[
                "screen",
                "--participant",
                &id,
                "--site",
                "rh",
                "--facts",
                f.to_str().unwrap(),
            ],
        );
        if i % 4 == 3 {
            assert!(out.contains("ineligible"), "{out}");
        } else {
            assert!(out.contains(": eligible"), "{out}");
            eligible.push(i);
        }
    }
    assert_eq!(eligible.len(), 9);

    // Refusal: randomising before consent.
    let err = t.refused(
        "nina",
        "research_nurse",
        &[
            "randomise",
            "--participant",
            "P00",
            "--strata",
            "sex=female",
        ],
    );
    assert!(err.contains("refused") && err.contains("consent"), "{err}");

    // Consent and randomise in order; arms per stratum must follow the list.
    let mut by_stratum: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut arm_of = BTreeMap::new();
    for &i in &eligible {
        let id = format!("P{i:02}");
        t.ok("nina", "research_nurse", &["consent", "--participant", &id]);
        let sex = if i % 2 == 0 { "female" } else { "male" };
        if sex == "male" && i == 1 {
            // A man cannot be randomised into the female stratum: the
            // record reads the stratum from the screening facts, and a
            // --strata that differs is refused naming the difference.
            let err = t.refused(
                "nina",
                "research_nurse",
                &["randomise", "--participant", &id, "--strata", "sex=female"],
            );
            assert!(
                err.contains("--strata sex=female disagrees with the record")
                    && err.contains("sex is `male`"),
                "{err}"
            );
        }
        let out = t.ok(
            "nina",
            "research_nurse",
            &[
                "randomise",
                "--participant",
                &id,
                "--strata",
                &format!("sex={sex}"),
                "--json",
            ],
        );
        let v: Value = serde_json::from_str(&out).unwrap();
        // The research nurse is blinded in LUPEX: randomised, no arm shown.
        assert_eq!(v["randomised"], true);
        assert!(v["allocation"].is_null());
        // The intervention staff see the arm.
        let st = t.ok("ivan", "intervention_staff", &["status", "--json"]);
        let st: Value = serde_json::from_str(&st).unwrap();
        let p = st["participants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id.as_str())
            .unwrap();
        let arm = p["allocation"]["arm"].as_str().unwrap().to_string();
        by_stratum
            .entry(format!("sex={sex}"))
            .or_default()
            .push(arm.clone());
        arm_of.insert(id, arm);
    }
    for (stratum, arms) in &by_stratum {
        assert_eq!(
            arms,
            &list_arms(&support::effective_seed(&t.db), stratum, arms.len()),
            "stratum {stratum}"
        );
    }
    // The blinded outcome assessor sees that P00 is randomised, not the arm.
    let out = t.ok("olga", "outcome_assessor", &["status", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let p0 = v["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "P00")
        .unwrap();
    assert_eq!(p0["randomised"], true);
    assert!(p0["allocation"].is_null());
    assert!(!out.contains("\"hiit\""));

    // Outcomes at baseline and follow-up (the CPET primary outcome).
    for (k, (id, arm)) in arm_of.iter().enumerate() {
        let gain = if arm == "hiit" { 250 } else { 20 };
        for (visit, abs) in [
            ("baseline", 1800 + 10 * k),
            ("followup", 1800 + 10 * k + gain),
        ] {
            for (field, value) in [("vo2max_abs", abs.to_string()), ("weight", "70".into())] {
                t.ok(
                    "olga",
                    "outcome_assessor",
                    &[
                        "enter",
                        "--participant",
                        id,
                        "--visit",
                        visit,
                        "--form",
                        "cpet",
                        "--field",
                        field,
                        "--value",
                        &value,
                    ],
                );
            }
        }
    }
    // Out of the hard range: refused naming the field.
    let err = t.refused(
        "olga",
        "outcome_assessor",
        &[
            "enter",
            "--participant",
            "P00",
            "--visit",
            "week6",
            "--form",
            "cpet",
            "--field",
            "weight",
            "--value",
            "900",
        ],
    );
    assert!(err.contains("weight"), "{err}");
    // Change without a reason: refused; with one: accepted.
    let item = [
        "--participant",
        "P00",
        "--visit",
        "baseline",
        "--form",
        "cpet",
        "--field",
        "weight",
        "--value",
        "71",
    ];
    let mut args = vec!["change"];
    args.extend(item);
    let err = t.refused("olga", "outcome_assessor", &args);
    assert!(err.contains("refused") && err.contains("reason"), "{err}");
    args.extend(["--reason", "transcription error"]);
    assert!(t.ok("olga", "outcome_assessor", &args).contains("changed"));

    // Sessions for a HIIT participant: a generated CSV and a real FIT file.
    let hiit = arm_of.iter().find(|(_, a)| *a == "hiit").unwrap().0.clone();
    let csv = session_csv(&t.dir);
    let out = t.ok(
        "ivan",
        "intervention_staff",
        &[
            "session",
            "--participant",
            &hiit,
            "--file",
            csv.to_str().unwrap(),
            "--hrmax",
            "200",
            "--json",
        ],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["compliant_bouts"].as_u64(), v["bouts"].as_u64()),
        (Some(4), Some(4))
    );
    if let Some(fit) = rct_testdata::shared_data("fit") {
        let f = fit.join("2013-02-06-12-11-14.fit");
        let out = t.ok(
            "ivan",
            "intervention_staff",
            &[
                "session",
                "--participant",
                &hiit,
                "--file",
                f.to_str().unwrap(),
                "--hrmax",
                "190",
                "--json",
            ],
        );
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["bouts"], 4);
        assert!(v["compliant_bouts"].as_u64().unwrap() <= 4);
    } else {
        eprintln!("note: RCT_SHARED_DATA/fit missing; FIT session skipped");
    }

    // A query must be closed before the lock.
    t.ok(
        "dora",
        "data_manager",
        &[
            "query",
            "raise",
            "--participant",
            "P00",
            "--text",
            "weight?",
        ],
    );
    // A lock needs a reason, and every query closed.
    let err = t.refused("dora", "data_manager", &["lock"]);
    assert!(err.contains("reason is required to lock"), "{err}");
    let err = t.refused(
        "dora",
        "data_manager",
        &["lock", "--reason", "end of follow-up"],
    );
    assert!(err.contains("refused") && err.contains("Q1"), "{err}");
    t.ok(
        "ines",
        "investigator",
        &["query", "answer", "--query", "Q1", "--text", "checked"],
    );
    t.ok("dora", "data_manager", &["query", "close", "--query", "Q1"]);
    t.ok(
        "dora",
        "data_manager",
        &["lock", "--reason", "end of follow-up"],
    );
    let err = t.refused(
        "olga",
        "outcome_assessor",
        &[
            "enter",
            "--participant",
            "P00",
            "--visit",
            "week6",
            "--form",
            "cpet",
            "--field",
            "weight",
            "--value",
            "70",
        ],
    );
    assert!(err.contains("refused") && err.contains("lock"), "{err}");
    let err = t.refused("dora", "data_manager", &["unlock"]);
    assert!(err.contains("reason"), "{err}");

    // The chain verifies, every write signed by the key `create` made.
    Command::cargo_bin("rct")
        .unwrap()
        .args(["audit", "verify", "--db", &t.db])
        .assert()
        .success();

    // The report from the locked record: the protocol is the record's
    // (issue 16), so no --protocol is needed; a file that differs from the
    // registered text is refused, naming the first line that differs.
    let changed = t.dir.join("lupex-changed.toml");
    std::fs::write(
        &changed,
        std::fs::read_to_string(protocol()).unwrap().replacen(
            "design = \"rpbr:2,4\"",
            "design = \"pbr:4\"",
            1,
        ),
    )
    .unwrap();
    let refused = Command::cargo_bin("rct")
        .unwrap()
        .args(["analyse", "--db", &t.db, "--protocol"])
        .arg(&changed)
        .arg("--out")
        .arg(t.dir.join("never"))
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(
        err.contains("differs from the protocol registered with trial `lupex`")
            && err.contains("rpbr:2,4")
            && err.contains("pbr:4"),
        "{err}"
    );
    assert!(!t.dir.join("never").exists());
    // The same file as registered is accepted.
    Command::cargo_bin("rct")
        .unwrap()
        .args(["analyse", "--db", &t.db, "--protocol", &protocol(), "--out"])
        .arg(t.dir.join("report-same"))
        .assert()
        .success();
    // ODM export without --protocol: the metadata is the registered protocol's.
    let odm = Command::cargo_bin("rct")
        .unwrap()
        .args(["export", "odm", "--db", &t.db])
        .assert()
        .success();
    let xml = String::from_utf8_lossy(&odm.get_output().stdout).into_owned();
    assert!(xml.contains("<ODM") && xml.contains("FormDef"), "{xml}");
    let out_dir = t.dir.join("report");
    let a = Command::cargo_bin("rct")
        .unwrap()
        .args(["analyse", "--db", &t.db, "--out"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        a.status.success(),
        "rct analyse --db failed: {}",
        String::from_utf8_lossy(&a.stderr)
    );
    let written: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        written
            .iter()
            .any(|f| f.ends_with(".md") || f.ends_with(".html")),
        "rct analyse wrote {written:?}"
    );
}
