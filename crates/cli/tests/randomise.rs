#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `rct randomise` end to end.

use assert_cmd::Command;

fn rct() -> Command {
    Command::cargo_bin("rct").unwrap()
}

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A list regenerated from its seed is identical, and its SHA-256 is the
/// digest of the canonical CSV printed by --format csv.
#[test]
fn list_is_reproducible_and_digest_matches_csv() {
    let run = |fmt: &str| {
        rct()
            .args([
                "randomise",
                "list",
                "--design",
                "rpbr:2,4",
                "--arms",
                "a:1,b:1",
            ])
            .args(["--seed", "99", "--n", "30", "--format", fmt])
            .assert()
            .success()
            .get_output()
            .clone()
    };
    let j1: serde_json::Value = serde_json::from_slice(&run("json").stdout).unwrap();
    let j2: serde_json::Value = serde_json::from_slice(&run("json").stdout).unwrap();
    assert_eq!(j1, j2);
    let csv = run("csv");
    let stderr = String::from_utf8(csv.stderr).unwrap();
    let sha = j1["sha256"].as_str().unwrap();
    assert!(stderr.contains(sha), "{stderr}");
    assert_eq!(j1["rows"].as_array().unwrap().len(), 30);
    assert!(String::from_utf8(csv.stdout)
        .unwrap()
        .starts_with("seq,stratum,block,arm,kit\n"));
}

#[test]
fn list_from_protocol_with_kits_and_strata() {
    let p = root().join("protocols/il2-sle.toml");
    let out = rct()
        .args(["randomise", "list", "--protocol"])
        .arg(&p)
        .args([
            "--seed",
            "7",
            "--stratum",
            "site=pkuph",
            "--n",
            "8",
            "--json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    for r in v["rows"].as_array().unwrap() {
        assert_eq!(r["kit"].as_str().unwrap().len(), 6);
        assert_eq!(r["stratum"], "site=pkuph");
    }
    rct()
        .args(["randomise", "list", "--protocol"])
        .arg(&p)
        .args(["--seed", "7", "--n", "8"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("--stratum site=LEVEL"));
}

/// Published: permuted blocks of 4 give 0.70833 correct guesses (convergence).
#[test]
fn assess_json_has_the_published_value() {
    let out = rct()
        .args([
            "randomise",
            "assess",
            "--design",
            "pbr:4",
            "--n",
            "60",
            "--json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!((v["correct_guess_convergence"].as_f64().unwrap() - 0.708_333).abs() < 1e-5);
    assert_eq!(v["method"], "exact");
}

#[test]
fn compare_splits_designs_with_commas() {
    let out = rct()
        .args([
            "randomise",
            "compare",
            "--n",
            "60",
            "--designs",
            "pbr:4,rpbr:4,6,bsd:3,mp:3",
            "--json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["design"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["pbr:4", "rpbr:4,6", "bsd:3", "mp:3"]);
}

#[test]
fn bad_design_says_what_was_expected() {
    rct()
        .args(["randomise", "assess", "--design", "ebc", "--n", "10"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("ebc:P"));
    rct()
        .args([
            "randomise",
            "assess",
            "--design",
            "bsd:3",
            "--n",
            "10",
            "--arms",
            "3",
        ])
        .assert()
        .failure()
        .stderr(predicates::str::contains("two arms with 1:1"));
}

#[test]
fn report_names_the_consort_items() {
    let p = root().join("protocols/il2-sle.toml");
    rct()
        .args(["randomise", "report", "--protocol"])
        .arg(&p)
        .assert()
        .success()
        .stdout(predicates::str::contains("CONSORT 8a"))
        .stdout(predicates::str::contains("ChaCha20"))
        .stdout(predicates::str::contains("pharmacist"));
}

/// Bias figures are exact where the enumeration is small and say so;
/// permuted blocks of 2 at n = 12 under randomizeR's linear trend (theta = 1)
/// give 0.0404 (tools/stats/bias_reference.py, an independent enumeration);
/// --sims forces simulation; a bad trend names what is expected.
#[test]
fn assess_bias_exact_by_default_with_randomizer_trends() {
    let out = rct()
        .args(["randomise", "assess", "--design", "pbr:2", "--n", "12"])
        .args([
            "--chronological-bias",
            "1",
            "--selection-bias",
            "0.5",
            "--json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["bias"]["method"], "exact");
    assert_eq!(v["bias"]["trend"], "linear");
    let c = v["bias"]["type1_error_chronological_bias"]
        .as_f64()
        .unwrap();
    assert!((c - 0.040386912909207394).abs() < 1e-8, "{c}");
    let s = v["bias"]["type1_error_selection_bias"].as_f64().unwrap();
    assert!((s - 0.1123401858168948).abs() < 1e-8, "{s}");
    let out = rct()
        .args(["randomise", "assess", "--design", "pbr:4", "--n", "12"])
        .args([
            "--chronological-bias",
            "1",
            "--trend",
            "step:7",
            "--sims",
            "2000",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("simulation, 2000 sequences"), "{text}");
    assert!(text.contains("step:7 trend theta"), "{text}");
    let err = rct()
        .args(["randomise", "assess", "--design", "pbr:4", "--n", "12"])
        .args(["--chronological-bias", "1", "--trend", "cubic"])
        .assert()
        .failure()
        .get_output()
        .stderr
        .clone();
    let err = String::from_utf8(err).unwrap();
    assert!(err.contains("linear, log or step:K"), "{err}");
}
