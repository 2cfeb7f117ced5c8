//! `rct hr compliance|adherence` end to end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::prelude::*;

fn fit_dir() -> Option<PathBuf> {
    rct_testdata::shared_data("fit")
}

/// A CSV session at 1 Hz following the LUPEX template with every bout above 85 % of 200.
fn csv_session(bout_hr: u32) -> String {
    let mut s = String::from("time,hr\n");
    for t in 0..2400 {
        let hr = match t {
            600..=839 | 1020..=1259 | 1440..=1679 | 1860..=2099 => bout_hr,
            _ => 100,
        };
        s.push_str(&format!("{t},{hr}\n"));
    }
    s
}

#[test]
fn compliance_json_and_plot() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("s.csv");
    std::fs::write(&f, csv_session(180)).unwrap();
    let svg = dir.path().join("s.svg");
    let protocol = format!("{}/../../protocols/lupex.toml", env!("CARGO_MANIFEST_DIR"));
    let out = Command::cargo_bin("rct")
        .unwrap()
        .args([
            "hr",
            "compliance",
            "--hrmax",
            "200",
            "--start",
            "0",
            "--json",
            "--protocol",
            &protocol,
            "--plot",
        ])
        .arg(&svg)
        .arg(&f)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["compliant_bouts"], 4);
    assert_eq!(v["phases"][1]["id"], "bout1");
    assert_eq!(v["phases"][1]["seconds_in_zone"], 240.0);
    let svg = std::fs::read_to_string(svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("heart rate (bpm)") && svg.contains("bout4"));
}

#[test]
fn adherence_over_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..3 {
        std::fs::write(dir.path().join(format!("s{i}.csv")), csv_session(180)).unwrap();
    }
    std::fs::write(dir.path().join("s9.csv"), csv_session(150)).unwrap();
    let out = Command::cargo_bin("rct")
        .unwrap()
        .args(["hr", "adherence", "--hrmax", "200", "--json"])
        .arg(dir.path())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["attended"], 4);
    assert_eq!(v["planned"], 36);
    assert_eq!(v["compliant_sessions"], 3);
    assert_eq!(v["per_protocol"], false);
}

#[test]
fn a_damaged_fit_file_is_a_clear_error() {
    let Some(dir) = fit_dir() else { return };
    Command::cargo_bin("rct")
        .unwrap()
        .args(["hr", "compliance", "--hrmax", "190"])
        .arg(dir.join("activity-unexpected-eof.fit"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "activity-unexpected-eof.fit: not a readable FIT file",
        ));
}
