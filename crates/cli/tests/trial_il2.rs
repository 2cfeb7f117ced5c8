#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! End to end: the multicentre, double-blind, four-arm low-dose IL-2 trial
//! (`protocols/il2-sle.toml`) run from the command line on a temporary SQLite
//! file, from registration to the locked record's report.
//!
//! References:
//! - `rct randomise list` for the same seed and stratum: every stratum's arms
//!   and kit codes in randomisation order are the list's first rows, and each
//!   list position is used once;
//! - the design (`pbr:8`, four arms of weight 1): two of each arm in every
//!   complete block of eight, at most two in the open block;
//! - the protocol's arm ids and labels: none appears in anything a blinded
//!   role is shown (stdout and stderr of every command they run);
//! - the data the test enters equal `tests/fixtures/il2_e2e.csv`, and the
//!   sri4_lpm model's (the linear probability sensitivity analysis of SRI-4;
//!   `sri4` itself is logistic, checked in crates/stats/tests/glm.rs)
//!   estimates, standard errors and CIs (FAS and PP) and the
//!   sledai model's (HC3) equal statsmodels' OLS on that file
//!   (`tools/stats/il2_e2e_reference.py` ->
//!   `tests/fixtures/il2_e2e_reference.json`) to 1e-8, the p-values to
//!   1e-6; the report's Dunnett-adjusted p-values equal the multivariate t
//!   probabilities of the same script (SciPy) to 1e-6, and `rct analyse
//!   --data FIXTURE --compare arm` gives the same fit, Holm and Dunnett.
//!
//! `RCT_UPDATE_FIXTURES=1` rewrites the CSV fixture from the run (then rerun
//! the Python script).

mod support;

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::{json, Value};
use support::Logins;

/// A typed 256-bit key: used as given, so the run (and its fixture) is reproducible.
const SEED: &str = "2024061100000000000000000000000000000000000000000000000000000001";
/// Participants randomised; site by index (pkuph 12, site2 8, site3 4).
const N: usize = 24;
/// The participant whose week-24 visit is missing.
const MISSING_W24: usize = 8;
/// The participant withdrawn (after the week-24 visit).
const WITHDRAWN: usize = 10;
/// The participant whose baseline SLEDAI is first mistyped, then changed.
const CHANGED: usize = 2;
/// The participant whose code is broken in an emergency.
const UNBLINDED: usize = 0;

fn repo_path(rel: &str) -> String {
    format!("{}/../../{rel}", env!("CARGO_MANIFEST_DIR"))
}

fn protocol() -> String {
    repo_path("protocols/il2-sle.toml")
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn pid(i: usize) -> String {
    format!("P{:02}", i + 1)
}

fn site_of(i: usize) -> &'static str {
    match i % 6 {
        0..=2 => "pkuph",
        3 | 4 => "site2",
        _ => "site3",
    }
}

/// The investigator who screens, consents, randomises and enters data at a site.
fn investigator(site: &str) -> &'static str {
    match site {
        "pkuph" => "li",
        "site2" => "zhao",
        _ => "chen",
    }
}

/// Deterministic data of participant `i` in arm `arm` (index in protocol
/// order, 0 = placebo): baseline SLEDAI-2K, week-24 SLEDAI-2K and the SRI-4
/// responder flag (None: week 24 missed).
fn outcome(i: usize, arm: usize) -> (i64, Option<i64>, Option<i64>) {
    let w0 = 8 + ((i * 7) % 13) as i64;
    if i == MISSING_W24 {
        return (w0, None, None);
    }
    // A pseudo-uniform 0..19 draw; response more likely with the dose.
    let u = (i * 37 + 11) % 20;
    let resp = i64::from(u < 6 + 3 * arm);
    let drop = if resp == 1 { 4 + (i % 3) } else { i % 3 } as i64;
    (w0, Some((w0 - drop).max(0)), Some(resp))
}

/// A screening facts file: eligible unless `change` alters it.
fn facts(id: &str, change: &[(&str, Value)]) -> Value {
    let mut f = json!({
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
    });
    for (k, v) in change {
        f[*k] = v.clone();
    }
    json!({"id": id, "screening_date": "2025-03-01", "facts": f})
}

/// An ineligible person: id, site, facts changed, the criterion failed.
type Ineligible = (
    &'static str,
    &'static str,
    Vec<(&'static str, Value)>,
    &'static str,
);

struct Trial {
    db: String,
    dir: PathBuf,
    logins: Logins,
    title: String,
    /// Arm ids and labels: never shown to a blinded role.
    secrets: Vec<String>,
    /// Whether the trial's unblinding was authorised (the statistician then sees arms).
    unblinded: Cell<bool>,
    blind_checks: Cell<usize>,
}

impl Trial {
    /// `rct trial ARGS` as `user` (logged in) in `role`.
    fn rct(&self, user: &str, role: &str, args: &[&str]) -> Command {
        self.logins.trial(user, role, args)
    }

    /// Whether `role` is blinded now (the statistician until the trial's
    /// unblinding; the lock alone unblinds nobody).
    fn blinded(&self, role: &str) -> bool {
        role != "pharmacist" && !(role == "statistician" && self.unblinded.get())
    }

    /// The arm ids and labels `text` names (outside the trial's title,
    /// which says "Placebo-controlled").
    fn leaks(&self, text: &str) -> Vec<&str> {
        let t = text.replace(&self.title, "");
        self.secrets
            .iter()
            .filter(|s| t.contains(s.as_str()))
            .map(String::as_str)
            .collect()
    }

    /// Asserts that `text`, shown to a blinded role, names no arm.
    fn assert_blind(&self, text: &str, what: &str) {
        let leaks = self.leaks(text);
        assert!(
            leaks.is_empty(),
            "{what}: a blinded role was shown {leaks:?}:\n{text}"
        );
        self.blind_checks.set(self.blind_checks.get() + 1);
    }

    fn run(&self, user: &str, role: &str, args: &[&str], check: bool) -> (bool, String, String) {
        let out = self.rct(user, role, args).output().unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        if check && self.blinded(role) {
            let what = format!("{user} ({role}) rct trial {}", args.join(" "));
            self.assert_blind(&stdout, &what);
            self.assert_blind(&stderr, &what);
        }
        (out.status.success(), stdout, stderr)
    }

    /// Runs a command that must succeed; its output is checked for arms
    /// when the role is blinded.
    fn ok(&self, user: &str, role: &str, args: &[&str]) -> String {
        let (ok, out, err) = self.run(user, role, args, true);
        assert!(ok, "{user} ({role}) rct trial {args:?} failed: {err}");
        out
    }

    /// As `ok`, for output a code-break legitimately shows to its user.
    fn ok_unblinded(&self, user: &str, role: &str, args: &[&str]) -> String {
        let (ok, out, err) = self.run(user, role, args, false);
        assert!(ok, "{user} ({role}) rct trial {args:?} failed: {err}");
        out
    }

    /// Runs a command that must be refused; returns stderr.
    fn refused(&self, user: &str, role: &str, args: &[&str]) -> String {
        let (ok, _, err) = self.run(user, role, args, true);
        assert!(!ok, "{user} ({role}) rct trial {args:?} was not refused");
        err
    }

    fn status(&self, user: &str, role: &str) -> Value {
        serde_json::from_str(&self.ok(user, role, &["status", "--json"])).unwrap()
    }

    fn enter(&self, user: &str, role: &str, p: &str, item: [&str; 4]) -> String {
        let [visit, form, field, value] = item;
        self.ok(
            user,
            role,
            &[
                "enter",
                "--participant",
                p,
                "--visit",
                visit,
                "--form",
                form,
                "--field",
                field,
                "--value",
                value,
            ],
        )
    }

    fn audit_log(&self, extra: &[&str]) -> Value {
        let out = Command::cargo_bin("rct")
            .unwrap()
            .args(["audit", "log", "--db", &self.db, "--json"])
            .args(extra)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        serde_json::from_slice(&out).unwrap()
    }
}

/// The first `n` rows (arm, kit) of the concealed list of `stratum`.
fn list_rows(seed: &str, stratum: &str, n: usize) -> Vec<(String, String)> {
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
        .map(|r| {
            (
                r["arm"].as_str().unwrap().to_string(),
                r["kit"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn participant<'a>(view: &'a Value, id: &str) -> &'a Value {
    view["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in the view"))
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

#[test]
fn il2_end_to_end() {
    let text = std::fs::read_to_string(protocol()).unwrap();
    let proto = rct_core::protocol::parse(&text, "il2-sle.toml").unwrap();
    let arm_ids: Vec<String> = proto.arms.iter().map(|a| a.id.get_ref().clone()).collect();
    let mut secrets = arm_ids.clone();
    secrets.extend(proto.arms.iter().map(|a| a.label.clone()));
    assert_eq!(arm_ids.len(), 4);
    let tmp = tempfile::tempdir().unwrap();
    let t = Trial {
        db: tmp.path().join("il2.sqlite").display().to_string(),
        dir: tmp.path().to_path_buf(),
        logins: Logins::new(
            &tmp.path().join("il2.sqlite").display().to_string(),
            tmp.path(),
        ),
        title: proto.trial.title.clone(),
        secrets,
        unblinded: Cell::new(false),
        blind_checks: Cell::new(0),
    };

    // Registration and roles: blinded investigators per site (two at the
    // lead centre), an outcome assessor, the pharmacist who alone maps kits
    // to arms, a data manager and the statistician.
    let out = t.ok(
        "ada",
        "admin",
        &["create", "--protocol", &protocol(), "--seed", SEED],
    );
    assert!(out.contains("with 3 sites"), "{out}");
    for (u, r, sites) in [
        ("li", "investigator", "pkuph"),
        ("wang", "investigator", "pkuph"),
        ("zhao", "investigator", "site2"),
        ("chen", "investigator", "site3"),
        ("ou", "outcome_assessor", "pkuph,site2,site3"),
        ("fang", "pharmacist", "all"),
        ("dm", "data_manager", "all"),
        ("stat", "statistician", "all"),
        ("sp", "sponsor", "all"),
    ] {
        let out = t.ok(
            "ada",
            "admin",
            &["grant", "--to", u, "--as", r, "--sites", sites],
        );
        assert!(out.contains(&format!("{u} granted {r}")), "{out}");
    }

    // Screening: one person eligible per randomised participant, and four
    // ineligible ones, each failing the named criterion only.
    let write_facts = |name: &str, v: &Value| {
        let f = t.dir.join(format!("{name}.json"));
        std::fs::write(&f, v.to_string()).unwrap();
        f.display().to_string()
    };
    let ineligible: [Ineligible; 4] = [
        ("X1", "pkuph", vec![("sledai_2k", json!(6))], "I2"),
        (
            "X2",
            "site2",
            vec![("alt", json!({"value": 95, "uln": 40}))],
            "E3",
        ),
        ("X3", "site3", vec![("weight", json!(92))], "I3"),
        (
            "X4",
            "pkuph",
            vec![
                ("biologic_ever", json!(true)),
                ("biologic_last_dose", json!("2025-01-10")),
            ],
            "E12",
        ),
    ];
    for (id, site, change, criterion) in &ineligible {
        let f = write_facts(id, &facts(id, change));
        let out = t.ok(
            investigator(site),
            "investigator",
            &["screen", "--participant", id, "--site", site, "--facts", &f],
        );
        assert_eq!(out.trim(), format!("{id}: ineligible ({criterion})"));
    }
    // Incomplete facts: the site is told which criterion is unknown and
    // which fact to give; screened again with it, eligible (and then not
    // randomised: eligible, not randomised in the flow).
    let mut partial = facts("U1", &[]);
    partial["facts"].as_object_mut().unwrap().remove("weight");
    let f = write_facts("U1", &partial);
    let screen_u1 = |f: &str, json: bool| {
        let mut args = vec![
            "screen",
            "--participant",
            "U1",
            "--site",
            "site2",
            "--facts",
            f,
        ];
        if json {
            // The second screening of U1: a re-screening needs a reason.
            args.extend(["--json", "--reason", "weight measured"]);
        }
        t.ok("zhao", "investigator", &args)
    };
    assert_eq!(
        screen_u1(&f, false).trim(),
        "U1: incomplete (unknown: I3; give the facts weight and screen again)"
    );
    let f = write_facts("U1-full", &facts("U1", &[]));
    let v: Value = serde_json::from_str(&screen_u1(&f, true)).unwrap();
    assert_eq!(v["verdict"], "eligible");
    let criteria = v["criteria"].as_array().unwrap();
    assert_eq!(criteria.len(), proto.criteria.len());
    for c in criteria {
        let want = if c["kind"] == "inclusion" {
            "met"
        } else {
            "not_met"
        };
        assert_eq!(c["result"], want, "{c}");
    }
    // An investigator screens at their own site only.
    let f = write_facts("Y1", &facts("Y1", &[]));
    let err = t.refused(
        "li",
        "investigator",
        &[
            "screen",
            "--participant",
            "Y1",
            "--site",
            "site2",
            "--facts",
            &f,
        ],
    );
    assert!(err.contains("no access to site `site2`"), "{err}");
    for i in 0..N {
        let id = pid(i);
        let f = write_facts(&id, &facts(&id, &[]));
        let site = site_of(i);
        let out = t.ok(
            investigator(site),
            "investigator",
            &[
                "screen",
                "--participant",
                &id,
                "--site",
                site,
                "--facts",
                &f,
            ],
        );
        assert_eq!(out.trim(), format!("{id}: eligible"));
    }
    // Not randomised before consent, nor when ineligible.
    let err = t.refused("li", "investigator", &["randomise", "--participant", "P01"]);
    assert!(err.contains("refused") && err.contains("consent"), "{err}");
    let err = t.refused(
        "li",
        "investigator",
        &["consent", "--participant", "X1", "--version", "9"],
    );
    assert!(
        err.contains("consent form version `9` is not one of the protocol's: expected one of 1"),
        "{err}"
    );
    t.ok(
        "li",
        "investigator",
        &[
            "consent",
            "--participant",
            "X1",
            "--date",
            "2025-03-01T09:30:00Z",
            "--version",
            "1",
            "--obtained-by",
            "nurse nora",
        ],
    );
    let err = t.refused("li", "investigator", &["randomise", "--participant", "X1"]);
    assert!(err.contains("refused") && err.contains("X1"), "{err}");

    // Consent and randomise, interleaving the sites. The investigator is
    // handed a kit and never the arm.
    let mut kit_of: BTreeMap<String, String> = BTreeMap::new();
    for i in 0..N {
        let id = pid(i);
        let inv = investigator(site_of(i));
        t.ok(inv, "investigator", &["consent", "--participant", &id]);
        if i == 0 {
            // A factor the design does not use, or another site: refused.
            let err = t.refused(
                inv,
                "investigator",
                &["randomise", "--participant", &id, "--strata", "sex=female"],
            );
            assert!(
                err.contains("`sex` is not a stratification") && err.contains("site"),
                "{err}"
            );
            let err = t.refused(
                inv,
                "investigator",
                &["randomise", "--participant", &id, "--strata", "site=site2"],
            );
            assert!(err.contains("belongs to site `pkuph`"), "{err}");
        }
        if i % 5 == 0 {
            let out = t.ok(
                inv,
                "investigator",
                &["randomise", "--participant", &id, "--json"],
            );
            let v: Value = serde_json::from_str(&out).unwrap();
            assert_eq!(v["randomised"], true);
            assert!(v["allocation"].is_null(), "{out}");
            assert_eq!(v["stratum"], format!("site={}", site_of(i)));
            kit_of.insert(id, v["kit"].as_str().unwrap().to_string());
        } else {
            let out = t.ok(inv, "investigator", &["randomise", "--participant", &id]);
            assert!(out.contains(&format!("{id}: randomised (stratum site={}", site_of(i))));
            assert!(out.contains("concealed"), "{out}");
            let kit = out
                .lines()
                .find_map(|l| l.strip_prefix("kit: "))
                .unwrap_or_else(|| panic!("no kit in {out}"));
            kit_of.insert(id, kit.trim().to_string());
        }
    }
    let kits: BTreeSet<&String> = kit_of.values().collect();
    assert_eq!(kits.len(), N, "kit codes are unique");

    // Only the pharmacist maps kits to arms.
    let v: Value = serde_json::from_str(&t.ok("fang", "pharmacist", &["kits", "--json"])).unwrap();
    let rows = v["kits"].as_array().unwrap();
    assert_eq!(rows.len(), N);
    let mut arm_of: BTreeMap<String, String> = BTreeMap::new();
    let mut by_stratum: BTreeMap<String, Vec<(u64, String, String)>> = BTreeMap::new();
    for r in rows {
        let id = r["participant"].as_str().unwrap().to_string();
        let kit = r["kit"].as_str().unwrap();
        assert_eq!(
            kit_of[&id], kit,
            "{id}: the pharmacist's kit is the one handed out"
        );
        let arm = r["arm"].as_str().unwrap().to_string();
        assert!(arm_ids.contains(&arm));
        by_stratum
            .entry(r["stratum"].as_str().unwrap().to_string())
            .or_default()
            .push((
                r["position"].as_u64().unwrap(),
                arm.clone(),
                kit.to_string(),
            ));
        arm_of.insert(id, arm);
    }
    let text_kits = t.ok("fang", "pharmacist", &["kits"]);
    let label0 = &proto
        .arms
        .iter()
        .find(|a| a.id.get_ref() == &arm_of["P01"])
        .unwrap()
        .label;
    assert!(
        text_kits.lines().any(|l| l.starts_with(&kit_of["P01"])
            && l.contains("P01")
            && l.contains(label0.as_str())),
        "{text_kits}"
    );
    // The check the blinded outputs pass finds the arms in the pharmacist's.
    assert!(!t.leaks(&text_kits).is_empty(), "{text_kits}");
    // The blinded investigator's kit list: codes, no arms.
    let inv_kits = t.ok("li", "investigator", &["kits"]);
    assert!(inv_kits.contains(&kit_of["P01"]) && inv_kits.contains("(concealed)"));
    assert!(
        !inv_kits.contains(&kit_of["P04"]),
        "site2's kits are not li's"
    );
    // ... by kit code, not in allocation (list) order.
    let listed: Vec<&str> = inv_kits
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let mut sorted = listed.clone();
    sorted.sort_unstable();
    assert!(listed.len() > 1 && listed == sorted, "{inv_kits}");

    // Positions 1..n once each per stratum, matching `rct randomise list`,
    // blocks of eight balanced two per arm.
    assert_eq!(
        by_stratum.keys().collect::<Vec<_>>(),
        ["site=pkuph", "site=site2", "site=site3"]
    );
    for (stratum, rows) in &mut by_stratum {
        rows.sort();
        let positions: Vec<u64> = rows.iter().map(|r| r.0).collect();
        assert_eq!(
            positions,
            (1..=rows.len() as u64).collect::<Vec<_>>(),
            "{stratum}"
        );
        let got: Vec<(String, String)> = rows.iter().map(|r| (r.1.clone(), r.2.clone())).collect();
        assert_eq!(
            got,
            list_rows(&support::effective_seed(&t.db), stratum, rows.len()),
            "stratum {stratum}"
        );
        for block in rows.chunks(8) {
            let mut count: BTreeMap<&str, usize> = BTreeMap::new();
            for r in block {
                *count.entry(r.1.as_str()).or_default() += 1;
            }
            if block.len() == 8 {
                assert!(
                    arm_ids.iter().all(|a| count.get(a.as_str()) == Some(&2)),
                    "{stratum}: block {count:?}"
                );
            } else {
                assert!(
                    count.values().all(|&c| c <= 2),
                    "{stratum}: open block {count:?}"
                );
            }
        }
    }
    assert_eq!(by_stratum["site=pkuph"].len(), 12);
    assert_eq!(by_stratum["site=site2"].len(), 8);
    assert_eq!(by_stratum["site=site3"].len(), 4);

    // The pharmacist records dispensing at baseline; the form is theirs
    // only, and another participant's kit is refused.
    let err = t.refused(
        "fang",
        "pharmacist",
        &[
            "enter",
            "--participant",
            "P06",
            "--visit",
            "baseline",
            "--form",
            "dispensing",
            "--field",
            "kit",
            "--value",
            &kit_of["P12"],
        ],
    );
    assert!(
        err.contains(&format!(
            "not the kit allocated to P06 (`{}`)",
            kit_of["P06"]
        )),
        "{err}"
    );
    for i in (0..N).filter(|i| site_of(*i) == "site3") {
        let id = pid(i);
        t.enter(
            "fang",
            "pharmacist",
            &id,
            ["baseline", "dispensing", "kit", &kit_of[&id]],
        );
        t.enter(
            "fang",
            "pharmacist",
            &id,
            ["baseline", "dispensing", "date", "2025-03-15"],
        );
    }
    let err = t.refused(
        "li",
        "investigator",
        &[
            "enter",
            "--participant",
            "P01",
            "--visit",
            "baseline",
            "--form",
            "dispensing",
            "--field",
            "kit",
            "--value",
            &kit_of["P01"],
        ],
    );
    assert!(err.contains("entered by the pharmacist only"), "{err}");

    // Baseline and week-24 values: SLEDAI-2K by the site investigator, the
    // SRI-4 response by the outcome assessor.
    let arm_index = |id: &str| arm_ids.iter().position(|a| *a == arm_of[id]).unwrap();
    for i in 0..N {
        let id = pid(i);
        let inv = investigator(site_of(i));
        let (w0, w24, resp) = outcome(i, arm_index(&id));
        let first = if i == CHANGED { w0 + 10 } else { w0 };
        t.enter(
            inv,
            "investigator",
            &id,
            ["baseline", "sledai", "total", &first.to_string()],
        );
        if let (Some(w24), Some(resp)) = (w24, resp) {
            t.enter(
                inv,
                "investigator",
                &id,
                ["week24", "sledai", "total", &w24.to_string()],
            );
            let code = if resp == 1 {
                "responder"
            } else {
                "non_responder"
            };
            t.enter(
                "ou",
                "outcome_assessor",
                &id,
                ["week24", "response", "sri4", code],
            );
            t.enter(
                "ou",
                "outcome_assessor",
                &id,
                ["week24", "response", "responder", &resp.to_string()],
            );
        }
    }
    // Out of the hard range: refused naming the field and the range.
    let err = t.refused(
        "ou",
        "outcome_assessor",
        &[
            "enter",
            "--participant",
            "P02",
            "--visit",
            "week12",
            "--form",
            "response",
            "--field",
            "responder",
            "--value",
            "3",
        ],
    );
    assert!(err.contains("responder"), "{err}");
    // The response form is the outcome assessor's.
    let err = t.refused(
        "li",
        "investigator",
        &[
            "enter",
            "--participant",
            "P02",
            "--visit",
            "week12",
            "--form",
            "response",
            "--field",
            "responder",
            "--value",
            "1",
        ],
    );
    assert!(err.contains("outcome_assessor only"), "{err}");
    // A form off the visit's schedule, and a code not in the code list.
    let err = t.refused(
        "ou",
        "outcome_assessor",
        &[
            "enter",
            "--participant",
            "P02",
            "--visit",
            "baseline",
            "--form",
            "response",
            "--field",
            "sri4",
            "--value",
            "responder",
        ],
    );
    assert!(
        err.contains("not collected at visit `baseline`") && err.contains("week12, week24"),
        "{err}"
    );
    let err = t.refused(
        "ou",
        "outcome_assessor",
        &[
            "enter",
            "--participant",
            "P02",
            "--visit",
            "week12",
            "--form",
            "response",
            "--field",
            "sri4",
            "--value",
            "yes",
        ],
    );
    assert!(
        err.contains("responder") && err.contains("non_responder"),
        "{err}"
    );

    // A change needs a reason.
    let changed = pid(CHANGED);
    let (w0_changed, _, _) = outcome(CHANGED, arm_index(&changed));
    let w0s = w0_changed.to_string();
    let mut args = vec![
        "change",
        "--participant",
        &changed,
        "--visit",
        "baseline",
        "--form",
        "sledai",
        "--field",
        "total",
        "--value",
        &w0s,
    ];
    let err = t.refused(investigator(site_of(CHANGED)), "investigator", &args);
    assert!(
        err.contains("refused") && err.contains("reason") && err.contains("--reason"),
        "{err}"
    );
    args.extend(["--reason", "transcription error: 10 added"]);
    let out = t.ok(investigator(site_of(CHANGED)), "investigator", &args);
    assert!(out.contains("(changed)"), "{out}");

    // A query raised, answered at the site, closed; the lock waits for it.
    t.ok(
        "dm",
        "data_manager",
        &[
            "query",
            "raise",
            "--participant",
            "P05",
            "--item",
            "baseline/sledai/total",
            "--text",
            "SLEDAI-2K above the screening value: please confirm",
        ],
    );
    let err = t.refused(
        "dm",
        "data_manager",
        &["lock", "--reason", "end of follow-up"],
    );
    assert!(err.contains("Q1") && err.contains("close"), "{err}");
    t.ok(
        investigator(site_of(4)),
        "investigator",
        &[
            "query",
            "answer",
            "--query",
            "Q1",
            "--text",
            "confirmed against the source",
        ],
    );
    t.ok("dm", "data_manager", &["query", "close", "--query", "Q1"]);

    // A withdrawal needs a reason.
    let withdrawn = pid(WITHDRAWN);
    let inv_w = investigator(site_of(WITHDRAWN));
    let err = t.refused(
        inv_w,
        "investigator",
        &["withdraw", "--participant", &withdrawn],
    );
    assert!(err.contains("reason"), "{err}");
    t.ok(
        inv_w,
        "investigator",
        &[
            "withdraw",
            "--participant",
            &withdrawn,
            "--reason",
            "moved away after week 24",
        ],
    );

    // Emergency unblinding: one participant, to the investigator who broke
    // the code only.
    let ub = pid(UNBLINDED);
    let sae = ["--category", "serious adverse event"];
    let err = t.refused("li", "investigator", &["unblind", "--participant", &ub]);
    assert!(err.contains("--category"), "{err}");
    // A category outside the protocol's list is refused.
    let err = t.refused(
        "li",
        "investigator",
        &["unblind", "--participant", &ub, "--category", "curiosity"],
    );
    assert!(
        err.contains("`curiosity` is not one of the protocol's")
            && err.contains("serious adverse event, overdose"),
        "{err}"
    );
    // An explanation of "x" is refused, saying what is needed.
    let err = t.refused(
        "li",
        "investigator",
        &[
            "unblind",
            "--participant",
            &ub,
            sae[0],
            sae[1],
            "--reason",
            "x",
        ],
    );
    assert!(
        err.contains("at least 10 characters and two words"),
        "{err}"
    );
    let err = t.refused(
        "zhao",
        "investigator",
        &["unblind", "--participant", &ub, sae[0], sae[1]],
    );
    assert!(
        err.contains("site"),
        "another site's investigator cannot break the code: {err}"
    );
    // The category and the password suffice; the explanation follows.
    let out = t.ok_unblinded(
        "li",
        "investigator",
        &["unblind", "--participant", &ub, sae[0], sae[1]],
    );
    let err = t.refused(
        "li",
        "investigator",
        &[
            "explain-unblinding",
            "--participant",
            &ub,
            "--explanation",
            "x",
        ],
    );
    assert!(
        err.contains("at least 10 characters and two words"),
        "{err}"
    );
    t.ok(
        "li",
        "investigator",
        &[
            "explain-unblinding",
            "--participant",
            &ub,
            "--explanation",
            "severe infection, treating team must know",
        ],
    );
    let label = &proto
        .arms
        .iter()
        .find(|a| a.id.get_ref() == &arm_of[&ub])
        .unwrap()
        .label;
    assert!(
        out.contains(label.as_str()) && out.contains(&arm_of[&ub]),
        "{out}"
    );
    let out = t.ok_unblinded("li", "investigator", &["status", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let seen: Vec<&Value> = v["participants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| !p["allocation"].is_null())
        .collect();
    assert_eq!(seen.len(), 1, "li sees one arm");
    assert_eq!(seen[0]["id"], ub.as_str());
    assert_eq!(seen[0]["allocation"]["arm"], arm_of[&ub].as_str());
    assert_eq!(seen[0]["unblinded_by_emergency"], true);
    assert!(v["arms"].is_null());
    // The other investigator at the site stays blind (checked by `status`).
    let v = t.status("wang", "investigator");
    assert!(participant(&v, &ub)["allocation"].is_null());
    // The data manager sees who broke the code and why, not the arm.
    let v = t.status("dm", "data_manager");
    let u = v["unblindings"].as_array().unwrap();
    assert_eq!(u.len(), 1);
    assert_eq!(
        (u[0]["participant"].as_str(), u[0]["user"].as_str()),
        (Some(ub.as_str()), Some("li"))
    );
    assert_eq!(u[0]["category"], "serious adverse event");
    assert_eq!(u[0]["reason"], "severe infection, treating team must know");

    // Blinded views of the whole trial before the lock.
    for (u, r) in [
        ("zhao", "investigator"),
        ("chen", "investigator"),
        ("ou", "outcome_assessor"),
        ("dm", "data_manager"),
        ("stat", "statistician"),
        ("ada", "admin"),
    ] {
        let v = t.status(u, r);
        assert!(v["arms"].is_null() && v["by_arm"].is_null(), "{u}");
        t.ok(u, r, &["status"]);
        t.ok(u, r, &["kits"]);
    }
    // The site investigators see their own site only.
    let v = t.status("chen", "investigator");
    assert_eq!(v["participants"].as_array().unwrap().len(), 4 + 1);

    // Lock: the statistician still sees no arm. The trial's unblinding: the
    // analysis plan recorded final, then the sponsor's request and the
    // statistician's approval (two people, two roles); then the
    // statistician sees arms.
    t.ok(
        "dm",
        "data_manager",
        &["lock", "--reason", "end of follow-up"],
    );
    let v = t.status("stat", "statistician");
    assert!(v["arms"].is_null() && v["by_arm"].is_null());
    let err = t.refused("sp", "sponsor", &["unblind-request"]);
    assert!(err.contains("analysis plan"), "{err}");
    let out = t.ok(
        "stat",
        "statistician",
        &["sap-final", "--version", "1.0", "--text", "IL-2 SAP 1.0"],
    );
    assert!(out.contains("recorded as final"), "{out}");
    t.ok(
        "sp",
        "sponsor",
        &["unblind-request", "--reason", "database locked"],
    );
    let err = t.refused("sp", "sponsor", &["unblind-approve"]);
    assert!(err.contains("another person"), "{err}");
    t.ok("stat", "statistician", &["unblind-approve"]);
    t.unblinded.set(true);
    let v = t.status("sp", "sponsor");
    assert!(v["arms"].is_null() && v["by_arm"].is_null());
    let v = t.status("stat", "statistician");
    for i in 0..N {
        let id = pid(i);
        assert_eq!(
            participant(&v, &id)["allocation"]["arm"],
            arm_of[&id].as_str()
        );
    }
    let err = t.refused(
        "ou",
        "outcome_assessor",
        &[
            "enter",
            "--participant",
            "P02",
            "--visit",
            "week12",
            "--form",
            "response",
            "--field",
            "responder",
            "--value",
            "1",
        ],
    );
    assert!(err.contains("locked"), "{err}");

    // The chain verifies, every write signed by the key `create` made.
    Command::cargo_bin("rct")
        .unwrap()
        .args(["audit", "verify", "--db", &t.db])
        .assert()
        .success();

    // The audit trail of the changed participant: the change with its
    // reason; the randomisation without arm for a blinded reader, with it
    // for the pharmacist.
    let log = t.audit_log(&["--participant", &changed, "--as", "wang"]);
    t.assert_blind(&log.to_string(), "audit log as wang");
    let events = log.as_array().unwrap();
    // Every event names the build that wrote it (21 CFR 11.10(a)): the
    // workspace version and the commit `git rev-parse` names (reference:
    // git itself, run here; `unknown` outside a checkout).
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let software = format!("rct {} (git {commit})", env!("CARGO_PKG_VERSION"));
    for e in events {
        assert_eq!(e["software"], software.as_str(), "{e}");
    }
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["payload"]["type"].as_str().unwrap())
        .collect();
    for k in [
        "screened",
        "consented",
        "randomised",
        "value_entered",
        "value_changed",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let change = events
        .iter()
        .find(|e| e["payload"]["type"] == "value_changed")
        .unwrap();
    assert_eq!(change["reason"], "transcription error: 10 added");
    assert_eq!(change["actor"], investigator(site_of(CHANGED)));
    let r = events
        .iter()
        .find(|e| e["payload"]["type"] == "randomised")
        .unwrap();
    assert!(r["payload"]["arm"].is_null());
    assert!(r["redacted"].as_array().unwrap().contains(&json!("arm")));
    let log = t.audit_log(&["--participant", &changed, "--as-role", "pharmacist"]);
    let r = log
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["payload"]["type"] == "randomised")
        .unwrap();
    assert_eq!(r["payload"]["arm"], arm_of[&changed].as_str());
    assert_eq!(r["payload"]["kit"], kit_of[&changed].as_str());
    // The code-break is in the trail with its reason, and no arm for a monitor.
    let log = t.audit_log(&["--participant", &ub]);
    t.assert_blind(&log.to_string(), "audit log as monitor");
    assert!(log
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["payload"]["explanation"] == "severe infection, treating team must know"));

    // The data entered equal the committed fixture the reference reads.
    let mut csv =
        String::from("participant,site,arm,sledai_w0,sledai_w24,responder_w24,withdrawn\n");
    for i in 0..N {
        let id = pid(i);
        let (w0, w24, resp) = outcome(i, arm_index(&id));
        let opt = |x: Option<i64>| x.map(|v| v.to_string()).unwrap_or_default();
        csv.push_str(&format!(
            "{id},{},{},{w0},{},{},{}\n",
            site_of(i),
            arm_of[&id],
            opt(w24),
            opt(resp),
            i32::from(i == WITHDRAWN)
        ));
    }
    let csv_path = fixture("il2_e2e.csv");
    if std::env::var_os("RCT_UPDATE_FIXTURES").is_some() {
        std::fs::write(&csv_path, &csv).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&csv_path).unwrap(),
        csv,
        "the data entered differ from {}; rerun with RCT_UPDATE_FIXTURES=1 and tools/stats/il2_e2e_reference.py",
        csv_path.display()
    );
    // And equal what the record holds, read back by the statistician.
    let v = t.status("stat", "statistician");
    for i in 0..N {
        let id = pid(i);
        let (w0, w24, resp) = outcome(i, arm_index(&id));
        let vals = &participant(&v, &id)["values"];
        assert_eq!(vals["baseline/sledai/total"], json!(w0), "{id}");
        assert_eq!(vals["week24/sledai/total"].as_i64(), w24, "{id}");
        assert_eq!(vals["week24/response/responder"].as_i64(), resp, "{id}");
    }

    // The report from the locked record.
    let out_dir = t.dir.join("report");
    let a = Command::cargo_bin("rct")
        .unwrap()
        .args(["analyse", "--db", &t.db, "--protocol", &protocol(), "--out"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        a.status.success(),
        "rct analyse --db failed: {}",
        String::from_utf8_lossy(&a.stderr)
    );
    let stdout = String::from_utf8(a.stdout).unwrap();
    assert!(
        stdout.contains(&format!("randomised {N} of {} assessed", N + 4 + 1)),
        "{stdout}"
    );
    let md = std::fs::read_to_string(out_dir.join("report.md")).unwrap();
    // To read the report: RCT_IL2_REPORT=FILE keeps a copy of report.md.
    if let Some(keep) = std::env::var_os("RCT_IL2_REPORT") {
        std::fs::write(keep, &md).unwrap();
    }
    assert!(out_dir.join("report.html").exists());

    // Populations: FAS everyone randomised, PP without the withdrawal.
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("il2_e2e_reference.json")).unwrap())
            .unwrap();
    let pop_row = |id: &str| -> Vec<String> {
        md.lines()
            .find(|l| l.starts_with(&format!("| {id} |")))
            .unwrap_or_else(|| panic!("no {id} row in the report"))
            .split('|')
            .map(|c| c.trim().to_string())
            .collect()
    };
    assert_eq!(pop_row("FAS")[4], N.to_string());
    assert_eq!(pop_row("PP")[4], (N - 1).to_string());

    // The sri4 estimates: full precision from the same plan run on the same
    // file, against statsmodels; the written report at its 3 decimals.
    let store = rct_store::open(&t.db).unwrap();
    let state = rct_store::Ledger::new(store).state("il2-sle").unwrap();
    let report =
        rct_report::build_report(&state, &proto, &rct_report::ReportOptions::default()).unwrap();
    assert_eq!(
        report.markdown, md,
        "the library builds the report rct analyse wrote"
    );
    for pop in ["fas", "pp"] {
        let r = &reference["sri4"][pop];
        let m = report
            .results
            .models
            .iter()
            .find(|m| m.model == "sri4_lpm" && m.population == pop && m.method == "complete-case")
            .unwrap();
        assert!(m.error.is_none(), "{:?}", m.error);
        assert_eq!(m.nobs as u64, r["nobs"].as_u64().unwrap(), "{pop}");
        assert_eq!(
            m.n_population,
            if pop == "fas" { N } else { N - 1 },
            "{pop} population"
        );
        assert_eq!(
            m.nobs,
            m.n_population - 1,
            "{pop}: one week-24 outcome missing"
        );
        assert_eq!(m.estimates.len(), 3);
        for e in &m.estimates {
            let x = &r["terms"][&e.term];
            assert!(x.is_object(), "{pop}: {} not in the reference", e.term);
            for (got, key) in [
                (e.estimate, "estimate"),
                (e.std_error, "std_error"),
                (e.ci_low, "ci_low"),
                (e.ci_high, "ci_high"),
            ] {
                let want = x[key].as_f64().unwrap();
                assert!(
                    close(got, want, 1e-8),
                    "{pop} {} {key}: {got} vs statsmodels {want}",
                    e.term
                );
            }
            let want_p = x["p"].as_f64().unwrap();
            assert!(
                close(e.p, want_p, 1e-6),
                "{pop} {} p: {} vs {want_p}",
                e.term,
                e.p
            );
            assert_eq!(e.df, r["df_resid"].as_f64().unwrap());
            // The written report shows the same numbers.
            let row = md
                .lines()
                .find(|l| {
                    l.starts_with("| sri4_lpm |")
                        && l.contains(&format!("| {} |", pop.to_uppercase()))
                        && l.contains(&format!("`{}`", e.term))
                })
                .unwrap_or_else(|| panic!("no sri4_lpm {pop} {} row", e.term));
            let n_used = format!("| {}/{} |", m.nobs, m.n_population);
            assert!(row.contains(&n_used), "{row}");
            for key in ["estimate", "std_error"] {
                let s = format!("| {:.3} |", x[key].as_f64().unwrap());
                assert!(
                    row.contains(&s.replace("-0.000", "0.000")),
                    "{row} lacks {s}"
                );
            }
        }
    }

    // Dunnett in the report: the protocol's sri4 analysis is Dunnett-adjusted
    // (each dose against placebo). The adjusted p-values equal the
    // multivariate t reference, in full and as the report prints them.
    for pop in ["fas", "pp"] {
        let m = report
            .results
            .models
            .iter()
            .find(|m| m.model == "sri4_lpm" && m.population == pop)
            .unwrap();
        assert_eq!(m.comparisons.len(), 1, "{pop}");
        let c = &m.comparisons[0];
        assert_eq!(
            c.names,
            ["arm[T.il2_0_2]", "arm[T.il2_0_5]", "arm[T.il2_1_0]"]
        );
        let got = c
            .p_dunnett
            .as_ref()
            .unwrap_or_else(|| panic!("{pop}: no Dunnett p: {:?}", c.dunnett_error));
        let want = reference["sri4"][pop]["dunnett_p"].as_array().unwrap();
        for (k, (g, w)) in got.iter().zip(want).enumerate() {
            let w = w.as_f64().unwrap();
            assert!(close(*g, w, 1e-6), "{pop} Dunnett p {g} vs reference {w}");
            // Single-step Dunnett lies between the raw p and Bonferroni.
            let raw = m.estimates.iter().find(|e| e.term == c.names[k]).unwrap().p;
            assert!(
                *g >= raw && *g <= (3.0 * raw).min(1.0) + 1e-12,
                "{pop}: {g} vs {raw}"
            );
            let row = md
                .lines()
                .find(|l| {
                    l.starts_with(&format!(
                        "| sri4_lpm | {} | `{}` |",
                        pop.to_uppercase(),
                        c.names[k]
                    ))
                })
                .unwrap_or_else(|| panic!("no Dunnett row for {pop} {}", c.names[k]));
            let shown = if w < 0.001 {
                "<0.001".to_string()
            } else {
                format!("{w:.3}")
            };
            assert!(row.trim_end().ends_with(&format!("| {shown} |")), "{row}");
        }
    }
    assert!(md.contains("| p (Holm) | p (Dunnett) |"));
    // The primary sri4 analysis is logistic: the report's binary-outcome
    // table has each dose against placebo (numbers checked against
    // statsmodels and the sandwich script in crates/stats/tests/glm.rs).
    for pop in ["fas", "pp"] {
        let m = report
            .results
            .models
            .iter()
            .find(|m| m.model == "sri4" && m.population == pop)
            .unwrap();
        assert_eq!(m.family, "binomial");
        assert!(
            m.error.is_some() || m.binary.is_some(),
            "{pop}: {:?}",
            m.error
        );
    }
    assert!(md.contains("| Risk difference (95 % CI) |"), "{md}");
    // The subgroup note says which arm the forest plot shows; no session
    // adherence text for a trial without sessions.
    assert!(
        md.contains("the effect shown is `arm[T.il2_0_2]` (the first arm against the control)"),
        "{md}"
    );
    assert!(!md.contains("recorded sessions"));

    // The secondary ANCOVA of SLEDAI-2K (HC3) against statsmodels too.
    let r = &reference["sledai"]["fas"];
    let m = report
        .results
        .models
        .iter()
        .find(|m| m.model == "sledai" && m.population == "fas")
        .unwrap();
    assert_eq!(m.nobs as u64, r["nobs"].as_u64().unwrap());
    assert_eq!(m.estimates.len(), 3);
    for e in &m.estimates {
        for (got, key) in [(e.estimate, "estimate"), (e.std_error, "std_error")] {
            let want = r["terms"][&e.term][key].as_f64().unwrap();
            assert!(
                close(got, want, 1e-8),
                "sledai {} {key}: {got} vs statsmodels {want}",
                e.term
            );
        }
    }

    // The same fit from the fixture through `rct analyse --data` (everyone
    // randomised, complete cases = FAS), with the many-to-one comparisons.
    let out = Command::cargo_bin("rct")
        .unwrap()
        .args(["analyse", "--data"])
        .arg(&csv_path)
        .args([
            "--model",
            "responder_w24 ~ arm + sledai_w0 + site",
            "--protocol",
            &protocol(),
            "--compare",
            "arm",
            "--json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let r = &reference["sri4"]["fas"];
    assert_eq!(v["nobs"].as_u64(), r["nobs"].as_u64());
    for term in v["terms"].as_array().unwrap() {
        let name = term["name"].as_str().unwrap();
        let x = &r["terms"][name];
        for key in ["estimate", "std_error"] {
            let (got, want) = (term[key].as_f64().unwrap(), x[key].as_f64().unwrap());
            assert!(
                close(got, want, 1e-8),
                "--data {name} {key}: {got} vs {want}"
            );
        }
    }
    // Holm and Dunnett from `rct analyse --compare` equal the report's.
    let cmp = &v["comparisons"];
    let fas = report
        .results
        .models
        .iter()
        .find(|m| m.model == "sri4_lpm" && m.population == "fas")
        .unwrap();
    let nums = |x: &Value| -> Vec<f64> {
        x.as_array()
            .unwrap_or_else(|| panic!("{cmp}"))
            .iter()
            .map(|p| p.as_f64().unwrap())
            .collect()
    };
    let (holm, dunnett) = (nums(&cmp["p_holm"]), nums(&cmp["p_dunnett"]));
    let c = &fas.comparisons[0];
    for k in 0..3 {
        assert!(close(holm[k], c.p_holm[k], 1e-12), "Holm {k}");
        assert!(
            close(dunnett[k], c.p_dunnett.as_ref().unwrap()[k], 1e-9),
            "Dunnett {k}"
        );
    }
    eprintln!("{} blinded outputs checked", t.blind_checks.get());
    assert!(t.blind_checks.get() > 200);
}
