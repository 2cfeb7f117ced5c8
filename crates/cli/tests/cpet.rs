//! `rct cpet vo2max` end to end, on the real CPET files (figures from the
//! independent Python check, crates/exercise/tests/fixtures/vo2max_check.json)
//! and on a small CSV.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::prelude::*;

fn cpet_dir() -> Option<PathBuf> {
    rct_testdata::shared_data("cpet")
}

#[test]
fn json_on_real_files_matches_python_check() {
    let Some(dir) = cpet_dir() else { return };
    let fixture: serde_json::Value = serde_json::from_str(include_str!(
        "../../exercise/tests/fixtures/vo2max_check.json"
    ))
    .unwrap();
    for name in ["example_cosmed.xlsx", "step_cortex.xlsx"] {
        for method in ["rolling", "block"] {
            let out = Command::cargo_bin("rct")
                .unwrap()
                .args(["cpet", "vo2max"])
                .arg(dir.join(name))
                .args([
                    "--weight", "80", "--age", "35", "--method", method, "--json",
                ])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let e = &fixture[name][method];
            let v = e["vo2max_ml_min"].as_f64().unwrap();
            assert!((r["vo2max_ml_min"].as_f64().unwrap() - v).abs() < 1e-9 * v);
            assert!((r["vo2max_ml_kg_min"].as_f64().unwrap() - v / 80.0).abs() < 1e-9 * v);
            assert_eq!(r["at_seconds"].as_f64(), e["at_seconds"].as_f64());
        }
    }
}

#[test]
fn text_output_and_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let ok = tmp.path().join("ok.csv");
    std::fs::write(
        &ok,
        "t,VO2,R,HR\ns,ml/min,,bpm\n10,1000,0.9,150\n20,2000,1.1,170\n30,3000,1.2,185\n40,3100,1.2,186\n",
    )
    .unwrap();
    Command::cargo_bin("rct")
        .unwrap()
        .args(["cpet", "vo2max"])
        .arg(&ok)
        .args(["--weight", "62", "--age", "30", "--window", "20"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "VO2max: 3050 mL/min, 49.2 mL/kg/min",
        ))
        .stdout(predicate::str::contains("HRmax: 186 bpm (predicted 190)"));
    let bad = tmp.path().join("bad.csv");
    std::fs::write(&bad, "t,VO2\ns,ml/min\n10,1000\n20,oops\n").unwrap();
    Command::cargo_bin("rct")
        .unwrap()
        .args(["cpet", "vo2max"])
        .arg(&bad)
        .args(["--weight", "62", "--age", "30"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("bad.csv:4").and(predicate::str::contains("'VO2'")));
}
