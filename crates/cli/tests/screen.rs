//! `rct screen` end to end: one person, and a screening log over JSON lines.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::json;

fn protocol() -> String {
    format!("{}/../../protocols/lupex.toml", env!("CARGO_MANIFEST_DIR"))
}

fn person(id: &str, sledai: u32, pregnant: Option<bool>) -> serde_json::Value {
    let mut v = json!({"id": id, "screening_date": "2025-03-01", "facts": {
        "birth_date": "1985-06-15", "sex": "female", "able_to_consent": true,
        "sle_diagnosed": true, "eular_acr_2019_classified": true,
        "exercise_contraindicated": false, "major_bone_fracture": false,
        "exercise_exacerbated_myalgia": false, "active_infection": false,
        "severe_pleuritis_pericarditis": false, "prednisolone_dose": 5,
        "diabetes_diagnosed": false, "sledai_2k_selena": sledai, "pet_substudy": false
    }});
    if let Some(p) = pregnant {
        v["facts"]["pregnant"] = json!(p);
    }
    v
}

#[test]
fn one_person_json_has_the_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("p.json");
    std::fs::write(&f, person("P1", 4, None).to_string()).unwrap();
    let out = Command::cargo_bin("rct")
        .unwrap()
        .args(["screen", "--json", "--protocol", &protocol(), "--facts"])
        .arg(&f)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["verdict"], "incomplete");
    assert_eq!(v["missing"], json!(["pregnant"]));
    let e4 = v["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "E4")
        .unwrap();
    assert_eq!(e4["result"], "unknown");
    assert_eq!(e4["kind"], "exclusion");
    assert_eq!(e4["text"], "Pregnancy");
    assert_eq!(e4["missing"], json!(["pregnant"]));
    let e5 = v["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "E5")
        .unwrap();
    assert_eq!(e5["result"], "not_met");
    assert_eq!(e5["values"]["sledai_2k_selena"], 4.0);
    let p1 = v["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "P1")
        .unwrap();
    assert_eq!(p1["result"], "not_applicable");
}

#[test]
fn a_jsonl_file_prints_the_consort_screening_counts() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("log.jsonl");
    let lines = [
        person("A", 4, Some(false)),  // eligible
        person("B", 12, Some(false)), // excluded by E5
        person("C", 12, Some(true)),  // excluded by E4 and E5
        person("D", 4, None),         // incomplete
    ];
    std::fs::write(
        &f,
        lines
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    Command::cargo_bin("rct")
        .unwrap()
        .args(["screen", "--protocol", &protocol(), "--facts"])
        .arg(&f)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("Assessed for eligibility       4")
                .and(predicate::str::contains("Excluded                       2"))
                .and(predicate::str::contains("E4         1  Pregnancy"))
                .and(predicate::str::contains("E5         2"))
                .and(predicate::str::contains("Incomplete                     1"))
                .and(predicate::str::contains("Eligible                       1")),
        );
}

#[test]
fn bad_input_names_the_file_line_and_fact() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("log.jsonl");
    let mut bad = person("B", 4, Some(false));
    bad["facts"]["pregnant"] = json!("yes");
    std::fs::write(&f, format!("{}\n{}\n", person("A", 4, Some(false)), bad)).unwrap();
    Command::cargo_bin("rct")
        .unwrap()
        .args(["screen", "--protocol", &protocol(), "--facts"])
        .arg(&f)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("log.jsonl:2").and(predicate::str::contains(
                "facts.pregnant: expected true or false",
            )),
        );
}
