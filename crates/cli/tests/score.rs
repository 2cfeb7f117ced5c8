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
