//! `rct protocol check|show` end to end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use assert_cmd::Command;
use predicates::prelude::*;

fn protocols() -> String {
    format!("{}/../../protocols", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn check_accepts_the_three_protocols() {
    let dir = protocols();
    Command::cargo_bin("rct")
        .unwrap()
        .args(["protocol", "check"])
        .arg(format!("{dir}/lupex.toml"))
        .arg(format!("{dir}/il2-sle.toml"))
        .arg(format!("{dir}/example-3arm.toml"))
        .assert()
        .success()
        .stdout(predicate::str::contains("lupex.toml: ok"));
}

#[test]
fn check_reports_every_error_with_file_line_column_and_exits_1() {
    let src = std::fs::read_to_string(format!("{}/lupex.toml", protocols())).unwrap();
    let broken = src
        .replacen("forms = [\"fss\"]", "forms = [\"fatigue\"]", 1)
        .replacen("rule = \"pregnant\"", "rule = \"pregnnt\"", 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.toml");
    std::fs::write(&path, broken).unwrap();
    let out = Command::cargo_bin("rct")
        .unwrap()
        .args(["protocol", "check", "--json"])
        .arg(&path)
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let errs: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let errs = errs.as_array().unwrap();
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs[0]["message"].as_str().unwrap().contains("`pregnnt`"));
    assert!(errs[1]["message"].as_str().unwrap().contains("`fatigue`"));
    assert!(errs[0]["line"].as_u64().unwrap() < errs[1]["line"].as_u64().unwrap());

    Command::cargo_bin("rct")
        .unwrap()
        .args(["protocol", "check"])
        .arg(&path)
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("broken.toml:").and(predicate::str::contains("2 error(s)")),
        );
}

#[test]
fn show_prints_arms_criteria_schedule_and_assumptions() {
    Command::cargo_bin("rct")
        .unwrap()
        .args(["protocol", "show"])
        .arg(format!("{}/lupex.toml", protocols()))
        .assert()
        .success()
        .stdout(
            predicate::str::contains("LUPEX")
                .and(predicate::str::contains("Arms (ratio 1:1)"))
                .and(predicate::str::contains("Age ≥ 18 years by inclusion."))
                .and(predicate::str::contains("[pet only]"))
                .and(predicate::str::contains("Assumptions to confirm"))
                .and(predicate::str::contains("vo2max_w12 ~ arm * ifn_score")),
        );
}

#[test]
fn show_json_is_the_protocol() {
    let out = Command::cargo_bin("rct")
        .unwrap()
        .args(["protocol", "show", "--json"])
        .arg(format!("{}/il2-sle.toml", protocols()))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let p: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(p["arms"].as_array().unwrap().len(), 4);
    assert_eq!(p["masking"]["kit_codes"], true);
    assert_eq!(p["criteria"].as_array().unwrap().len(), 20);
}

#[test]
fn a_missing_file_is_a_clear_error() {
    Command::cargo_bin("rct")
        .unwrap()
        .args(["protocol", "check", "no-such.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read no-such.toml"));
}

#[test]
fn show_and_check_estimands() {
    // protocols/il2-sle.toml with the core tests' fixture estimand appended.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("il2-estimands.toml");
    let src = format!(
        "{}\n{}",
        std::fs::read_to_string(format!("{}/il2-sle.toml", protocols())).unwrap(),
        include_str!("../../core/tests/fixtures/il2_estimands.toml")
    );
    std::fs::write(&f, &src).unwrap();
    Command::cargo_bin("rct")
        .unwrap()
        .args(["protocol", "show"])
        .arg(&f)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("Estimands (ICH E9(R1)):")
                .and(predicate::str::contains(
                    "event:      rescue therapy: composite (non-responder)",
                ))
                .and(predicate::str::contains("compare:    il2_1_0 vs placebo")),
        );
    let out = Command::cargo_bin("rct")
        .unwrap()
        .args(["protocol", "show", "--json"])
        .arg(&f)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let p: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        p["estimands"][0]["intercurrent_events"][0]["strategy"],
        "composite"
    );
    std::fs::write(
        &f,
        src.replace("strategy = \"composite\"", "strategy = \"compsite\""),
    )
    .unwrap();
    Command::cargo_bin("rct")
        .unwrap()
        .args(["protocol", "check"])
        .arg(&f)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("unknown variant `compsite`"));
}
