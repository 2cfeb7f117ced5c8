#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `rct score` end to end, on the example inputs of crates/scores/testdata
//! (totals worked out by hand in crates/scores/tests/examples.rs).

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn example(name: &str) -> String {
    format!(
        "{}/../scores/testdata/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn rct() -> Command {
    Command::cargo_bin("rct").unwrap()
}

fn json_of(args: &[&str]) -> Value {
    let out = rct()
        .args(args)
        .arg("--json")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn sledai2k_text_shows_total_and_breakdown() {
    rct()
        .args(["score", "sledai2k", "--input", &example("sledai2k")])
        .assert()
        .success()
        .stdout(predicate::str::contains("total: 15 (of 105)"))
        .stdout(predicate::str::contains("flare: yes"))
        .stdout(predicate::str::contains("SELENA: persistent"))
        .stdout(predicate::str::contains("leukopenia"));
}

#[test]
fn sledai2k_proteinuria_rule_flag_overrides_the_input() {
    // Stable chronic proteinuria: 0 under SELENA (the input's rule), 4 under SLEDAI-2K.
    let v = json_of(&["score", "sledai2k", "-i", &example("sledai2k")]);
    assert_eq!(v["total"], 15.0);
    let v = json_of(&[
        "score",
        "sledai2k",
        "-i",
        &example("sledai2k"),
        "--proteinuria-rule",
        "sledai2k",
    ]);
    assert_eq!(v["total"], 19.0);
    let p = v["breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["item"] == "proteinuria")
        .unwrap();
    assert_eq!(p["points"], 4.0);
}

#[test]
fn sledai2k_band_set_flag() {
    let v = json_of(&[
        "score",
        "sledai2k",
        "-i",
        &example("sledai2k"),
        "--bands",
        "five-level",
    ]);
    assert_eq!(v["category"], "high activity");
}

#[test]
fn eular_json_has_domains() {
    let v = json_of(&["score", "eular-acr-2019", "-i", &example("eular-acr-2019")]);
    assert_eq!(v["total"], 18.0);
    assert_eq!(v["classified"], true);
    let muco = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "mucocutaneous")
        .unwrap();
    assert_eq!(muco["points"], 6.0);
}

#[test]
fn slicc_and_acr_classify() {
    for (score, total) in [("slicc-2012", 4.0), ("acr-1997", 4.0)] {
        let v = json_of(&["score", score, "-i", &example(score)]);
        assert_eq!(v["total"], total, "{score}");
        assert_eq!(v["classified"], true, "{score}");
    }
    rct()
        .args(["score", "acr-1997", "-i", &example("acr-1997")])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "classified: 4 of 11 criteria (>= 4)",
        ));
}

#[test]
fn fss_prorated_and_allow_missing() {
    let v = json_of(&["score", "fss", "-i", &example("fss")]);
    assert_eq!(v["total"], 5.25);
    assert_eq!(v["prorated"], true);
    // Complete required when the flag says so: 0 missing allowed.
    rct()
        .args([
            "score",
            "fss",
            "-i",
            &example("fss"),
            "--allow-missing",
            "0",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("fss.json"))
        .stderr(predicate::str::contains(
            "missing field: item 5 (all 9 items are required",
        ));
}

#[test]
fn unknown_descriptor_names_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(example("sledai2k")).unwrap()).unwrap();
    v["descriptors"]["seizures"] = Value::Bool(true);
    std::fs::write(&path, v.to_string()).unwrap();
    rct()
        .args(["score", "sledai2k", "-i", path.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.json"))
        .stderr(predicate::str::contains("unknown field `seizures`"))
        .stderr(predicate::str::contains("descriptors"));
}

#[test]
fn out_of_range_fss_item_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fss.json");
    std::fs::write(&path, r#"{"items": [4, 5, 9, 3, 5, 4, 6, 7, 5]}"#).unwrap();
    rct()
        .args(["score", "fss", "-i", path.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("item 3"))
        .stderr(predicate::str::contains("is 9"));
}

#[test]
fn option_for_another_score_is_refused() {
    rct()
        .args([
            "score",
            "fss",
            "-i",
            &example("fss"),
            "--proteinuria-rule",
            "selena",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does not apply"));
}

#[test]
fn missing_file_and_bad_json_name_the_file() {
    rct()
        .args(["score", "acr-1997", "-i", "/nonexistent/x.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/x.json"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.json");
    std::fs::write(&path, "{\"criteria\": ").unwrap();
    rct()
        .args(["score", "acr-1997", "-i", path.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("broken.json: not valid JSON"));
}

#[test]
fn help_documents_the_input_formats() {
    rct()
        .args(["score", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("previous_g_per_24h"))
        .stdout(predicate::str::contains("biopsy_proven_lupus_nephritis"))
        .stdout(predicate::str::contains("max_missing"));
}

#[test]
fn bilag2004_text_and_json() {
    // Yee 2010 coding: renal A 12 + mucocutaneous B 8 + musculoskeletal C 1
    // + haematological C 1 = 22.
    rct()
        .args(["score", "bilag2004", "--input", &example("bilag2004")])
        .assert()
        .success()
        .stdout(predicate::str::contains("total: 22 (of 108)"))
        .stdout(predicate::str::contains("highest grade A"))
        .stdout(predicate::str::contains("skin_eruption_mild"));
    let v = json_of(&["score", "bilag2004", "-i", &example("bilag2004")]);
    assert_eq!(v["total"], 22.0);
    assert_eq!(v["groups"].as_array().unwrap().len(), 9);
}

#[test]
fn bilag2004_grade_contradicting_items_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("b.json");
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(example("bilag2004")).unwrap()).unwrap();
    v["domains"]["musculoskeletal"]["grade"] = "D".into();
    std::fs::write(&f, v.to_string()).unwrap();
    rct()
        .args(["score", "bilag2004", "-i", f.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("domains.musculoskeletal.grade"))
        .stderr(predicate::str::contains(
            "item `arthritis_mild_arthralgia_myalgia` is 1",
        ));
    v["domains"]["musculoskeletal"]["grade"] = "C".into();
    v["domains"]["renal"]["items"]["urine_dipstick_protein"] = 5.into();
    std::fs::write(&f, v.to_string()).unwrap();
    rct()
        .args(["score", "bilag2004", "-i", f.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "domains.renal.items.urine_dipstick_protein` is 5; expected a whole number 0-3",
        ));
}

#[test]
fn pga_is_validated() {
    let v = json_of(&["score", "pga", "-i", &example("pga")]);
    assert_eq!(v["total"], 1.25);
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("p.json");
    std::fs::write(&f, r#"{"pga": 3.1}"#).unwrap();
    rct()
        .args(["score", "pga", "-i", f.to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("outside the PGA scale 0-3"));
}

#[test]
fn sri_example_is_an_sri4_responder_but_not_sri5() {
    // SLEDAI-2K 10 -> 6, one new B (constitutional D -> B), PGA +0.29.
    let args = |level: &str| {
        json_of(&[
            "score",
            "sri",
            "--baseline",
            &example("sri-baseline"),
            "--visit",
            &example("sri-week24"),
            "--level",
            level,
        ])
    };
    let v = args("4");
    assert_eq!(v["responder"], true);
    assert_eq!(v["sledai_reduction"], 4);
    assert_eq!(v["pga_change_hundredths"], 29);
    assert_eq!(v["new_b"], serde_json::json!(["constitutional"]));
    let v = args("5");
    assert_eq!(v["responder"], false);
    assert_eq!(v["failed"], serde_json::json!(["sledai_reduction"]));
    rct()
        .args([
            "score",
            "sri",
            "--baseline",
            &example("sri-baseline"),
            "--visit",
            &example("sri-week24"),
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("SRI-4"))
        .stdout(predicate::str::contains("responder: yes"))
        .stdout(predicate::str::contains(
            "change +0.29 (needs < +0.30): met",
        ));
}

#[test]
fn sri_boundaries_through_the_command_line() {
    // Hand-worked: baseline SLEDAI 10, all domains D, PGA 1.50.
    let dir = tempfile::tempdir().unwrap();
    let grades = |renal: &str, haem: &str| {
        serde_json::json!({
            "constitutional": "D", "mucocutaneous": "D", "neuropsychiatric": "D",
            "musculoskeletal": "D", "cardiorespiratory": "D", "gastrointestinal": "D",
            "ophthalmic": "D", "renal": renal, "haematological": haem
        })
    };
    let write = |name: &str, sledai: u32, renal: &str, haem: &str, pga: f64| {
        let f = dir.path().join(name);
        let v = serde_json::json!({
            "sledai2k": sledai, "bilag2004": {"domains": grades(renal, haem)}, "pga": pga
        });
        std::fs::write(&f, v.to_string()).unwrap();
        f.to_str().unwrap().to_string()
    };
    let base = write("base.json", 10, "D", "D", 1.5);
    let run = |visit: &str| json_of(&["score", "sri", "--baseline", &base, "--visit", visit]);
    // (visit, responder, failed criteria)
    let cases = [
        (
            write("v1.json", 7, "D", "D", 1.5),
            false,
            vec!["sledai_reduction"],
        ),
        (write("v2.json", 6, "D", "D", 1.5), true, vec![]),
        (write("v3.json", 6, "B", "D", 1.5), true, vec![]),
        (
            write("v4.json", 6, "B", "B", 1.5),
            false,
            vec!["at_most_one_new_bilag_b"],
        ),
        (
            write("v5.json", 6, "A", "D", 1.5),
            false,
            vec!["no_new_bilag_a"],
        ),
        (write("v6.json", 6, "D", "D", 1.79), true, vec![]),
        (
            write("v7.json", 6, "D", "D", 1.8),
            false,
            vec!["pga_worsening"],
        ),
    ];
    for (visit, responder, failed) in cases {
        let v = run(&visit);
        assert_eq!(v["responder"], responder, "{visit}: {v}");
        assert_eq!(v["failed"], serde_json::json!(failed), "{visit}");
    }
}

#[test]
fn sri_arguments_are_checked() {
    rct()
        .args(["score", "sri", "-i", &example("pga")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--baseline FILE and --visit FILE"));
    rct()
        .args(["score", "sri", "--baseline", &example("sri-baseline")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "needs --baseline FILE and --visit FILE",
        ));
    rct()
        .args([
            "score",
            "sri",
            "--baseline",
            &example("sri-baseline"),
            "--visit",
            &example("pga"),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("pga.json"))
        .stderr(predicate::str::contains("sledai2k"));
    rct()
        .args(["score", "pga", "-i", &example("pga"), "--level", "5"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("for `rct score sri` only"));
}
