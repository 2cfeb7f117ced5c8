#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Unblinding governance from the command line on a small IL-2 trial
//! (`protocols/il2-sle.toml`, four participants at pkuph): the committee's
//! tables, the pharmacovigilance code-break the site never sees, the
//! sealed code-break list (recorded, the pharmacist's only), and a plan
//! recorded after the trial's unblinding flagged in the exports.
//!
//! Reference for arms: the pharmacist's own `rct trial status --json`.

use std::collections::BTreeMap;
use std::path::Path;

use assert_cmd::Command;
use serde_json::{json, Value};

mod support;
use support::Logins;

fn protocol() -> String {
    format!(
        "{}/../../protocols/il2-sle.toml",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn facts(id: &str) -> Value {
    json!({"id": id, "screening_date": "2025-03-01", "facts": {
        "birth_date": "1985-06-15", "sex": "female", "acr_1997_criteria_met": 5,
        "sledai_2k": 10, "weight": 60, "inadequate_response": true,
        "standard_treatment_start": "2024-06-01", "urine_pregnancy_test": "negative",
        "written_consent": true, "allergy_study_drugs": false, "active_severe_npsle": false,
        "alt": {"value": 30, "uln": 40}, "ast": {"value": 25, "uln": 40},
        "pregnant": false, "lactating": false, "active_cancer": false,
        "cancer_history": false, "serious_infection": false,
        "chronic_infection_history": false, "active_specified_infection": false,
        "vision_disorder_history": false, "cataract": false, "severe_comorbidity": false,
        "nyha_class": 0, "active_peptic_ulcer": false, "other_autoimmune_disease": false,
        "biologic_ever": false, "other_immunosuppressant": false, "other_trial_ever": false
    }})
}

struct T {
    db: String,
    logins: Logins,
}

impl T {
    /// `rct trial ARGS` as `user`, logged in (see `support`).
    fn cmd(&self, user: &str, role: &str, args: &[&str]) -> std::process::Output {
        self.logins.trial(user, role, args).output().unwrap()
    }

    fn ok(&self, user: &str, role: &str, args: &[&str]) -> String {
        let out = self.cmd(user, role, args);
        assert!(
            out.status.success(),
            "{user} ({role}) {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn refused(&self, user: &str, role: &str, args: &[&str]) -> String {
        let out = self.cmd(user, role, args);
        assert!(
            !out.status.success(),
            "{user} ({role}) {args:?} was not refused"
        );
        String::from_utf8(out.stderr).unwrap()
    }

    fn json(&self, user: &str, role: &str, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(user, role, args)).unwrap()
    }

    fn audit(&self, user: &str) -> String {
        let out = Command::cargo_bin("rct")
            .unwrap()
            .args(["audit", "log", "--db", &self.db, "--as", user, "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

/// Arm labels and ids of the IL-2 protocol.
fn arm_words() -> Vec<String> {
    let p =
        rct_core::protocol::parse(&std::fs::read_to_string(protocol()).unwrap(), "il2").unwrap();
    p.arms
        .iter()
        .flat_map(|a| [a.label.clone(), format!("\"{}\"", a.id.get_ref())])
        .collect()
}

fn names_an_arm(text: &str) -> bool {
    arm_words().iter().any(|w| text.contains(w.as_str()))
}

fn setup(dir: &Path) -> T {
    let db = dir.join("t.sqlite").display().to_string();
    let t = T {
        logins: Logins::new(&db, dir),
        db,
    };
    t.ok(
        "ada",
        "admin",
        &["create", "--protocol", &protocol(), "--seed", "7"],
    );
    for (u, r) in [
        ("li", "investigator"),
        ("fang", "pharmacist"),
        ("dm", "data_manager"),
        ("stat", "statistician"),
        ("sp", "sponsor"),
        ("dee", "dmc"),
        ("vic", "pharmacovigilance"),
    ] {
        let sites = if r == "investigator" { "pkuph" } else { "all" };
        t.ok(
            "ada",
            "admin",
            &["grant", "--to", u, "--as", r, "--sites", sites],
        );
    }
    for k in 1..=4 {
        let id = format!("P{k}");
        let f = dir.join(format!("{id}.json"));
        std::fs::write(&f, facts(&id).to_string()).unwrap();
        let f = f.display().to_string();
        t.ok(
            "li",
            "investigator",
            &[
                "screen",
                "--participant",
                &id,
                "--site",
                "pkuph",
                "--facts",
                &f,
            ],
        );
        t.ok("li", "investigator", &["consent", "--participant", &id]);
        t.ok("li", "investigator", &["randomise", "--participant", &id]);
    }
    t.ok(
        "li",
        "investigator",
        &[
            "enter",
            "--participant",
            "P1",
            "--visit",
            "week2",
            "--form",
            "adverse_events",
            "--field",
            "serious",
            "--value",
            "true",
        ],
    );
    t
}

#[test]
fn committee_pharmacovigilance_and_the_sealed_list() {
    let tmp = tempfile::tempdir().unwrap();
    let t = setup(tmp.path());
    // Reference arms, from the pharmacist's view.
    let ph = t.json("fang", "pharmacist", &["status", "--json"]);
    let arm_of: BTreeMap<String, String> = ph["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_string(),
                p["allocation"]["arm"].as_str().unwrap().to_string(),
            )
        })
        .collect();

    // The committee's tables: counts by arm, for dmc only.
    let v = t.json("dee", "dmc", &["dmc", "--json"]);
    for a in v["arms"].as_array().unwrap() {
        let id = a["arm"].as_str().unwrap();
        let n = arm_of.values().filter(|x| *x == id).count();
        assert_eq!(a["randomised"], n, "{id}");
        let p1 = u64::from(arm_of["P1"] == id);
        assert_eq!(a["serious_entries"], p1, "{id}");
    }
    for (u, r) in [
        ("li", "investigator"),
        ("stat", "statistician"),
        ("sp", "sponsor"),
        ("fang", "pharmacist"),
    ] {
        let err = t.refused(u, r, &["dmc"]);
        assert!(err.contains("data monitoring committee"), "{err}");
    }

    // Pharmacovigilance breaks P2's code: shown to vic, not to the site.
    let site_before = (
        t.ok("li", "investigator", &["status", "--json"]),
        t.audit("li"),
    );
    let err = t.refused(
        "vic",
        "pharmacovigilance",
        &["safety-unblind", "--participant", "P2"],
    );
    assert!(err.contains("reason"), "{err}");
    let err = t.refused(
        "li",
        "investigator",
        &["safety-unblind", "--participant", "P2", "--reason", "x"],
    );
    assert!(err.contains("may not"), "{err}");
    let out = t.ok(
        "vic",
        "pharmacovigilance",
        &[
            "safety-unblind",
            "--participant",
            "P2",
            "--reason",
            "SUSAR 2025-001",
        ],
    );
    assert!(out.contains("code broken for vic only"), "{out}");
    let v = t.json("vic", "pharmacovigilance", &["status", "--json"]);
    for p in v["participants"].as_array().unwrap() {
        let id = p["id"].as_str().unwrap();
        if id == "P2" {
            assert_eq!(p["allocation"]["arm"], arm_of["P2"].as_str());
        } else {
            assert!(p["allocation"].is_null(), "{id}");
        }
    }
    let site_after = (
        t.ok("li", "investigator", &["status", "--json"]),
        t.audit("li"),
    );
    // Identical up to the number of events in the record.
    let strip = |s: &str| {
        let mut v: Value = serde_json::from_str(s).unwrap();
        v["events"] = Value::Null;
        v
    };
    assert_eq!(strip(&site_after.0), strip(&site_before.0));
    assert_eq!(site_after.1, site_before.1);
    let dm_trail = t.audit("dm");
    assert!(dm_trail.contains("safety_code_broken") && !dm_trail.contains("SUSAR"));

    // The sealed list: refused for blinded roles (nothing recorded, no file).
    let seq = || t.json("ada", "admin", &["status", "--json"])["events"].clone();
    let before = seq();
    for (u, r) in [
        ("li", "investigator"),
        ("stat", "statistician"),
        ("vic", "pharmacovigilance"),
        ("dee", "dmc"),
    ] {
        let out = tmp.path().join(format!("{u}.txt"));
        let err = t.refused(
            u,
            r,
            &["code-break-list", "--out", &out.display().to_string()],
        );
        assert!(err.contains("may not"), "{err}");
        assert!(!out.exists());
    }
    assert_eq!(seq(), before);
    let list = tmp.path().join("sealed.txt");
    let out = t.ok(
        "fang",
        "pharmacist",
        &["code-break-list", "--out", &list.display().to_string()],
    );
    assert!(out.contains("4 entries"), "{out}");
    let text = std::fs::read_to_string(&list).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').collect())
        .collect();
    assert_eq!(rows.len(), 4);
    for r in &rows {
        assert_eq!(r[1], "pkuph");
        assert!(!r[2].is_empty() && r[2] != "-", "a kit code");
        assert_eq!(r[3], arm_of[r[0]]);
    }
    // Recorded: who, how many; no arm, seen by everyone with a role.
    let trail = t.audit("li");
    let entry: Value = serde_json::from_str::<Vec<Value>>(&trail)
        .unwrap()
        .into_iter()
        .find(|e| e["payload"]["type"] == "code_break_list_produced")
        .unwrap();
    assert_eq!(entry["actor"], "fang");
    assert_eq!(entry["payload"]["entries"], 4);
    assert!(!names_an_arm(&entry.to_string()));
    // Never overwrites.
    let err = t.refused(
        "fang",
        "pharmacist",
        &["code-break-list", "--out", &list.display().to_string()],
    );
    assert!(err.contains("must not exist"), "{err}");
}

#[test]
fn a_plan_after_unblinding_is_flagged_in_the_exports() {
    let tmp = tempfile::tempdir().unwrap();
    let t = setup(tmp.path());
    t.ok(
        "dm",
        "data_manager",
        &["lock", "--reason", "end of follow-up"],
    );
    let export = |name: &str| {
        let dir = tmp.path().join(name);
        let out = Command::cargo_bin("rct")
            .unwrap()
            .args(["export", "csv", "--db", &t.db, "--protocol", &protocol()])
            .args(["--as-role", "statistician", "--json", "--out"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        (v, dir)
    };
    // Locked, not unblinded: the statistician's export is blinded.
    let (v, locked_dir) = export("locked");
    assert_eq!(v["blinded"], true);
    // Nor does it carry the seed and design.
    assert_eq!(v["list_recipe"], Value::Null);
    assert!(!locked_dir.join("randomisation.json").exists());
    let err = t.refused("sp", "sponsor", &["unblind-request"]);
    assert!(err.contains("analysis plan"), "{err}");
    let sap = tmp.path().join("sap.txt");
    std::fs::write(&sap, "SAP 1.0").unwrap();
    let out = t.ok(
        "stat",
        "statistician",
        &[
            "sap-final",
            "--version",
            "1.0",
            "--file",
            &sap.display().to_string(),
        ],
    );
    assert!(out.contains(&rct_record::sha256_hex(b"SAP 1.0")), "{out}");
    t.ok("stat", "statistician", &["unblind-request"]);
    let err = t.refused("stat", "statistician", &["unblind-approve"]);
    assert!(err.contains("another person"), "{err}");
    t.ok("sp", "sponsor", &["unblind-approve"]);
    let (v, dir) = export("unblinded");
    assert_eq!(v["blinded"], false);
    // The unblinded export carries the seed and design, and `rct randomise
    // list` regenerates the list each recorded allocation came from.
    assert_eq!(v["list_recipe"], "randomisation.json");
    let recipe: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("randomisation.json")).unwrap())
            .unwrap();
    let seed = match &recipe["seed"] {
        Value::String(s) => s.clone(),
        n => n.to_string(),
    };
    assert_eq!(seed.len(), 64, "a typed seed is mixed into a 256-bit key");
    assert_eq!(
        recipe["strata"],
        json!([{"stratum": "site=pkuph", "positions": 4}])
    );
    let list = Command::cargo_bin("rct")
        .unwrap()
        .args([
            "randomise",
            "list",
            "--protocol",
            &protocol(),
            "--seed",
            &seed,
        ])
        .args(["--stratum", "site=pkuph", "--n", "4", "--json"])
        .output()
        .unwrap();
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let list: Value = serde_json::from_slice(&list.stdout).unwrap();
    let events = Command::cargo_bin("rct")
        .unwrap()
        .args(["export", "events", "--db", &t.db])
        .output()
        .unwrap();
    assert!(events.status.success());
    let mut checked = 0;
    for line in String::from_utf8(events.stdout).unwrap().lines() {
        let e: Value = serde_json::from_str(line).unwrap();
        if e["payload"]["type"] != "randomised" {
            continue;
        }
        let arm = &e["openings"]["arm"]["value"];
        let position = e["openings"]["position"]["value"].as_u64().unwrap();
        assert_eq!(&list["rows"][position as usize - 1]["arm"], arm, "{line}");
        checked += 1;
    }
    assert_eq!(checked, 4);
    assert_eq!(v["flags"], json!([]));
    assert!(!dir.join("analysis_plan_flags.txt").exists());
    // A new plan version after the unblinding: recorded, and flagged.
    let out = t.ok(
        "stat",
        "statistician",
        &["sap-final", "--version", "1.1", "--text", "SAP 1.1"],
    );
    assert!(
        out.contains("flag: analysis plan changed after unblinding"),
        "{out}"
    );
    let g = t.ok("li", "investigator", &["governance"]);
    assert!(
        g.contains("flag: analysis plan changed after unblinding: version 1.1"),
        "{g}"
    );
    let (v, dir) = export("flagged");
    assert_eq!(v["flags"].as_array().unwrap().len(), 1);
    let flags = std::fs::read_to_string(dir.join("analysis_plan_flags.txt")).unwrap();
    assert!(flags.starts_with("analysis plan changed after unblinding: version 1.1"));
    let odm = Command::cargo_bin("rct")
        .unwrap()
        .args([
            "export",
            "odm",
            "--db",
            &t.db,
            "--protocol",
            &protocol(),
            "--blinded",
        ])
        .output()
        .unwrap();
    let xml = String::from_utf8(odm.stdout).unwrap();
    assert!(xml.starts_with("<?xml"));
    assert!(
        xml.contains("<!-- flag: analysis plan changed after unblinding"),
        "{xml}"
    );
    // Right after the XML declaration (the export streams from the database).
    assert!(
        xml.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("<!-- flag: analysis plan changed")),
        "{xml}"
    );
}
