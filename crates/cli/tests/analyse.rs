//! `rct analyse --data` and `rct simulate power` end to end. Numbers are
//! checked against statsmodels (crates/stats/tests/fixtures/ols_reference.json,
//! from tools/stats/ols_reference.py).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../stats/tests/fixtures");
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn reference(model: &str) -> Value {
    let s = std::fs::read_to_string(format!("{FIX}/ols_reference.json")).unwrap();
    let v: Value = serde_json::from_str(&s).unwrap();
    v["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == model)
        .unwrap()
        .clone()
}

fn rct() -> Command {
    Command::cargo_bin("rct").unwrap()
}

fn run_json(args: &[&str]) -> Value {
    let out = rct().args(args).arg("--json").assert().success();
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

#[track_caller]
fn close(what: &str, got: &Value, want: &Value) {
    let (g, w) = (got.as_f64().unwrap(), want.as_f64().unwrap());
    assert!(
        (g - w).abs() <= 1e-8 * w.abs(),
        "{what}: rct {g:e} vs statsmodels {w:e}"
    );
}

#[test]
fn ancova_json_has_the_documented_shape_and_statsmodels_numbers() {
    let data = format!("{FIX}/ols_ancova.csv");
    let v = run_json(&[
        "analyse",
        "--data",
        &data,
        "--model",
        "y ~ arm + baseline + sex",
        "--test",
        "arm",
    ]);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys[..5],
        ["nobs", "df_resid", "r_squared", "sigma", "terms"]
    );
    let term_keys: Vec<&str> = v["terms"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        term_keys,
        [
            "name",
            "estimate",
            "std_error",
            "t",
            "p",
            "ci_low",
            "ci_high"
        ]
    );
    let m = reference("ancova");
    assert_eq!(v["nobs"], m["nobs"]);
    assert_eq!(v["rows_dropped"], m["dropped"]);
    close("df_resid", &v["df_resid"], &m["df_resid"]);
    close("R^2", &v["r_squared"], &m["r_squared"]);
    close("sigma", &v["sigma"], &m["sigma"]);
    for (g, w) in v["terms"]
        .as_array()
        .unwrap()
        .iter()
        .zip(m["terms"].as_array().unwrap())
    {
        assert_eq!(g["name"], w["name"]);
        for k in ["estimate", "std_error", "t", "p", "ci_low", "ci_high"] {
            close(&format!("{} {k}", w["name"]), &g[k], &w[k]);
        }
    }
    close("Wald F arm", &v["tests"][0]["f"], &m["wald"][0]["f"]);
}

#[test]
fn hc3_interaction_matches_statsmodels() {
    let data = format!("{FIX}/ols_interaction.csv");
    let v = run_json(&[
        "analyse",
        "--data",
        &data,
        "--model",
        "vo2max_w12 ~ arm * ifn_score + vo2max_w0 + sex",
        "--robust",
        "hc3",
    ]);
    let m = reference("interaction");
    assert_eq!(v["cov_type"], "hc3");
    for (j, g) in v["terms"].as_array().unwrap().iter().enumerate() {
        close(
            "HC3 SE",
            &g["std_error"],
            &m["robust"]["hc3"]["std_error"][j],
        );
        close("HC3 p", &g["p"], &m["robust"]["hc3"]["p"][j]);
    }
    assert_eq!(v["terms"][4]["name"], "arm[T.hiit]:ifn_score");
}

#[test]
fn protocol_control_arm_is_the_reference_and_comparisons_are_adjusted() {
    let data = format!("{FIX}/ols_four_arm.csv");
    let protocol = format!("{ROOT}/protocols/il2-sle.toml");
    let v = run_json(&[
        "analyse",
        "--data",
        &data,
        "--model",
        "y ~ arm",
        "--protocol",
        &protocol,
        "--compare",
        "arm",
    ]);
    let m = reference("four_arm_placebo");
    let names: Vec<&str> = v["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Intercept",
            "arm[T.il2_0_2]",
            "arm[T.il2_0_5]",
            "arm[T.il2_1_0]"
        ]
    );
    close(
        "estimate",
        &v["terms"][1]["estimate"],
        &m["terms"][1]["estimate"],
    );
    // The same by --reference, without the protocol.
    let w = run_json(&[
        "analyse",
        "--data",
        &data,
        "--model",
        "y ~ arm",
        "--reference",
        "arm=placebo",
    ]);
    assert_eq!(w["terms"], v["terms"]);
    let c = &v["comparisons"];
    let s = std::fs::read_to_string(format!("{FIX}/ols_reference.json")).unwrap();
    let r: Value = serde_json::from_str(&s).unwrap();
    for j in 0..3 {
        close("Holm", &c["p_holm"][j], &r["holm"][0]["adjusted"][j]);
        let (g, w) = (
            c["p_dunnett"][j].as_f64().unwrap(),
            r["dunnett"][0]["pvalue_precise"][j].as_f64().unwrap(),
        );
        assert!((g - w).abs() < 1e-6, "Dunnett {g} vs scipy {w}");
    }
}

/// The IL-2 trial's planned analysis `responder_w24 ~ arm + sledai_w0 +
/// site`, each dose against placebo, Dunnett-adjusted (single-step, the
/// covariates in the model): p-values against scipy's multivariate t on
/// the statsmodels fit (fixtures/dunnett_reference.json, from
/// tools/stats/dunnett_reference.py), to 1e-4 (scipy's QMC error is ~1e-5).
#[test]
fn il2_sri4_model_with_covariates_has_dunnett_p_values() {
    let data = format!("{FIX}/dunnett_il2.csv");
    let protocol = format!("{ROOT}/protocols/il2-sle.toml");
    let model = "responder_w24 ~ arm + sledai_w0 + site";
    let args = [
        "analyse",
        "--data",
        &data,
        "--model",
        model,
        "--protocol",
        &protocol,
        "--compare",
        "arm",
    ];
    let v = run_json(&args);
    let s = std::fs::read_to_string(format!("{FIX}/dunnett_reference.json")).unwrap();
    let r: Value = serde_json::from_str(&s).unwrap();
    let case = &r["cases"][0];
    assert_eq!(case["formula"], model);
    let c = &v["comparisons"];
    assert_eq!(c["names"], case["columns"]);
    assert!(c["dunnett_error"].is_null(), "{}", c["dunnett_error"]);
    assert!(c["dunnett_abs_error"].as_f64().unwrap() < 1e-5);
    assert!(c["dunnett_method"].is_string());
    for j in 0..3 {
        let (g, w) = (
            c["p_dunnett"][j].as_f64().unwrap(),
            case["adjusted"]["two-sided"]["p"][j].as_f64().unwrap(),
        );
        assert!((g - w).abs() < 1e-4, "Dunnett {g} vs scipy {w}");
        // Adjusted lies between the raw p and Bonferroni.
        let raw = c["p"][j].as_f64().unwrap();
        assert!(g >= raw && g <= (3.0 * raw).min(1.0), "{g} vs raw {raw}");
    }
    rct()
        .args(args)
        .assert()
        .success()
        .stdout(predicate::str::contains("p (Dunnett)"))
        .stdout(predicate::str::contains("Dunnett: single-step"))
        .stdout(predicate::str::contains("Dunnett not computed").not());
}

#[test]
fn plain_table_reads_like_r_summary() {
    let data = format!("{FIX}/ols_ancova.csv");
    rct()
        .args([
            "analyse",
            "--data",
            &data,
            "--model",
            "y ~ arm + baseline + sex",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("Coefficients:"))
        .stdout(predicate::str::contains("arm[T.hiit]"))
        .stdout(predicate::str::contains(
            "90 rows, 9 dropped for missing values, 81 used",
        ))
        .stdout(predicate::str::contains("Residual standard error"));
}

#[test]
fn bad_csv_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.csv");
    std::fs::write(&p, "y,arm,baseline\n1.5,a,2\n2.5,b,3\n3.1,a,x7\n4.0,b,5\n").unwrap();
    let f = p.display().to_string();
    rct()
        .args(["analyse", "--data", &f, "--model", "y ~ arm + baseline"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(format!(
            "{f}: line 4, column 3 (`baseline`): `x7` is not a number"
        )));
    std::fs::write(&p, "y,arm,baseline\n1.5,a,2\n2.5,b\n").unwrap();
    rct()
        .args(["analyse", "--data", &f, "--model", "y ~ arm"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(format!(
            "{f}: line 3: expected 3 fields"
        )));
    rct()
        .args(["analyse", "--data", &f, "--model", "y ~ arm +"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("formula"));
    rct()
        .args(["analyse", "--db", "sqlite:x.db"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "needs --out DIR (the protocol comes from the record",
        ));
}

#[test]
fn rank_deficiency_is_reported_with_the_aliased_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("alias.csv");
    std::fs::write(&p, "y,x,x2\n1,1,2\n2,2,4\n2.5,3,6\n4.2,4,8\n4.8,5,10\n").unwrap();
    rct()
        .args([
            "analyse",
            "--data",
            &p.display().to_string(),
            "--model",
            "y ~ x + x2",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "column `x2` (term `x2`) = 2 * `x`",
        ));
}

#[test]
fn power_simulation_is_reproducible_and_sweeps() {
    let args = [
        "simulate",
        "power",
        "--model",
        "y ~ arm",
        "--effect",
        "arm[T.treat]=0.5",
        "--sd",
        "1",
        "--sims",
        "300",
        "--seed",
        "5",
        "--sweep",
        "40:128:44",
    ];
    let a = run_json(&args);
    let b = run_json(&args);
    assert_eq!(a, b);
    let res = a["results"].as_array().unwrap();
    let ns: Vec<u64> = res.iter().map(|r| r["n"].as_u64().unwrap()).collect();
    assert_eq!(ns, [40, 84, 128]);
    // Power grows with n; at 128 (64 per arm) it is near 0.80146
    // (noncentral t), within 4 Monte Carlo SEs.
    let p: Vec<f64> = res.iter().map(|r| r["power"].as_f64().unwrap()).collect();
    assert!(p[0] < p[2]);
    let se = res[2]["mc_se"].as_f64().unwrap();
    assert!((p[2] - 0.80146).abs() <= 4.0 * se, "{p:?}");
    assert_eq!(a["test"], "arm");
}

#[test]
fn power_with_the_lupex_protocol_stratifies_by_sex() {
    let protocol = format!("{ROOT}/protocols/lupex.toml");
    rct()
        .args([
            "simulate",
            "power",
            "--protocol",
            &protocol,
            "--model",
            "vo2max_w12 ~ arm + vo2max_w0 + sex",
            "--n",
            "60",
            "--effect",
            "arm[T.hiit]=3",
            "--effect",
            "vo2max_w0=0.9",
            "--covariate",
            "vo2max_w0=27,5",
            "--sd",
            "3.5",
            "--sims",
            "200",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("n = 60: power"));
    rct()
        .args([
            "simulate",
            "power",
            "--model",
            "y ~ arm + sex",
            "--n",
            "40",
            "--effect",
            "arm[T.t]=1",
            "--effect",
            "sex[T.male]=1",
            "--sd",
            "1",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains("--levels sex="));
}

/// Power of a logistic model's arm test (exact reference 0.83157 for 100
/// per arm at risks 0.3 and 0.5: tools/stats/power_reference.py) and of an
/// MMRM's last-visit effect (the two-sample t at week12: 0.81497 for 60
/// participants, effect 3, SD 4).
#[test]
fn power_for_binary_and_repeated_outcomes() {
    let fix = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../stats/tests/fixtures");
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fix.join("power_reference.json")).unwrap())
            .unwrap();
    let c = &reference["logistic"][0];
    let a = run_json(&[
        "simulate",
        "power",
        "--model",
        "y ~ arm",
        "--family",
        "binomial",
        "--n",
        "200",
        "--effect",
        &format!("Intercept={}", c["intercept"]),
        "--effect",
        &format!("arm[T.treat]={}", c["log_or"]),
        "--sims",
        "1500",
        "--seed",
        "3",
    ]);
    let r = &a["results"][0];
    let (p, want) = (r["power"].as_f64().unwrap(), c["power"].as_f64().unwrap());
    let se = (want * (1.0 - want) / 1500.0).sqrt();
    assert!((p - want).abs() <= 4.0 * se, "logistic power {p} vs {want}");
    assert_eq!(a["family"], "binomial");
    let c = &reference["mmrm"][1];
    let a = run_json(&[
        "simulate",
        "power",
        "--model",
        "y ~ arm * visit",
        "--repeated",
        "week6,week12",
        "--correlation",
        "0.5",
        "--n",
        "60",
        "--effect",
        &format!("arm[T.treat]={}", c["delta"]),
        "--sd",
        &format!("{}", c["sd"]),
        "--sims",
        "300",
        "--seed",
        "4",
    ]);
    let r = &a["results"][0];
    let (p, want) = (r["power"].as_f64().unwrap(), c["power"].as_f64().unwrap());
    let se = (want * (1.0 - want) / 300.0).sqrt();
    assert!((p - want).abs() <= 4.0 * se, "MMRM power {p} vs {want}");
    // The intercept is still refused unless named.
    rct()
        .args([
            "simulate", "power", "--model", "y ~ x", "--family", "binomial",
        ])
        .args([
            "--n",
            "40",
            "--effect",
            "x=1",
            "--levels",
            "arm=control,treat",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no `arm` term"));
}

/// `--family binomial` prints the linear model's JSON shape with z and llf;
/// the numbers are statsmodels' (`tools/stats/glm_reference.py`, case
/// `glm_il2:main`); separation is reported with --firth as the remedy.
#[test]
fn logistic_json_matches_statsmodels_and_reports_separation() {
    let fix = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../stats/tests/fixtures");
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fix.join("glm_reference.json")).unwrap())
            .unwrap();
    let case = &reference["glm"][0];
    assert_eq!(case["name"], "glm_il2:main");
    let out = Command::cargo_bin("rct")
        .unwrap()
        .args(["analyse", "--data"])
        .arg(fix.join("glm_il2.csv"))
        .args([
            "--model",
            "responder ~ arm + sledai_w0 + site",
            "--family",
            "binomial",
        ])
        .args(["--compare", "arm", "--cmh", "site", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    for (j, t) in v["terms"].as_array().unwrap().iter().enumerate() {
        for (k, r) in [
            ("estimate", "estimate"),
            ("std_error", "std_error"),
            ("z", "z"),
            ("p", "p"),
        ] {
            let (got, want) = (t[k].as_f64().unwrap(), case[r][j].as_f64().unwrap());
            assert!(
                (got - want).abs() < 1e-6 * want.abs().max(1.0),
                "{k} {j}: {got} {want}"
            );
        }
    }
    let llf = v["llf"].as_f64().unwrap();
    assert!((llf - case["llf"].as_f64().unwrap()).abs() < 1e-6);
    assert!(
        v["comparisons"]["marginal"]["contrasts"]
            .as_array()
            .unwrap()
            .len()
            == 3
    );
    assert!(v["comparisons"]["arms"][0]["cmh"]["p"].as_f64().is_some());
    let out = Command::cargo_bin("rct")
        .unwrap()
        .args(["analyse", "--data"])
        .arg(fix.join("glm_separated.csv"))
        .args(["--model", "y ~ arm + site + base", "--family", "binomial"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("separation") && text.contains("--firth"),
        "{text}"
    );
}

/// `--repeated` fits the MMRM of the mmrm package's fev_data; the JSON has
/// df per term, the covariance parameters and -2 log REML. Figures checked
/// against SAS PROC MIXED in crates/stats/tests/mmrm.rs; here the CLI
/// reports the same fit (ARMCD[T.TRT] 3.7744, SE 1.0742, df 145.55; -2 log
/// REML 3386.4499, SAS 3386.45).
#[test]
fn mmrm_json_has_df_covariance_and_reml() {
    let Some(dir) = rct_testdata::shared_data("wild/analysis") else {
        return;
    };
    let out = Command::cargo_bin("rct")
        .unwrap()
        .args(["analyse", "--data"])
        .arg(dir.join("fev_data.csv"))
        .args(["--model", "FEV1 ~ RACE + SEX + ARMCD * AVISIT"])
        .args(["--repeated", "AVISIT | USUBJID", "--covariance", "us"])
        .args(["--reference", "ARMCD=PBO", "--reference", "SEX=Male"])
        .args(["--compare", "ARMCD", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert!((v["neg2_log_reml"].as_f64().unwrap() - 3386.45).abs() < 0.01);
    let t = v["terms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "ARMCD[T.TRT]")
        .unwrap();
    assert!((t["estimate"].as_f64().unwrap() - 3.7744).abs() < 1e-4);
    assert!((t["df"].as_f64().unwrap() - 145.55).abs() < 0.01);
    assert_eq!(v["covariance_parameters"].as_array().unwrap().len(), 10);
    assert_eq!(v["differences"].as_array().unwrap().len(), 4);
    assert_eq!(v["type3"].as_array().unwrap().len(), 5);
    // A bad --repeated says what is expected.
    Command::cargo_bin("rct")
        .unwrap()
        .args(["analyse", "--data"])
        .arg(dir.join("fev_data.csv"))
        .args(["--model", "FEV1 ~ ARMCD", "--repeated", "AVISIT"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("VISIT | SUBJECT"));
}

/// The tested term defaults to the allocated arm's, whatever --effect comes
/// first (bench/stats/compare.sh used to report the intercept's power); the
/// intercept is tested only when named.
#[test]
fn power_tests_the_arm_by_default_and_the_intercept_only_by_name() {
    let base = [
        "simulate",
        "power",
        "--model",
        "y ~ arm",
        "--n",
        "40",
        "--effect",
        "Intercept=3",
        "--effect",
        "arm[T.treat]=0.5",
        "--sd",
        "1",
        "--sims",
        "50",
        "--seed",
        "1",
    ];
    let v = run_json(&base);
    assert_eq!(v["test"], "arm");
    let mut named: Vec<&str> = base.to_vec();
    named.extend(["--test", "Intercept"]);
    let v = run_json(&named);
    assert_eq!(v["test"], "Intercept");
    rct()
        .args(["simulate", "power", "--model", "y ~ x", "--n", "40"])
        .args(["--effect", "x=1", "--sd", "1", "--sims", "10"])
        .args(["--levels", "arm=control,treat"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no `arm` term"));
}
