#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! OLS against statsmodels: every number in
//! `fixtures/ols_reference.json` was computed by statsmodels (`smf.ols`,
//! classical and `cov_type="HC0".."HC3"` with `use_t=True`) on the CSV
//! datasets beside it, by `tools/stats/ols_reference.py`. Agreement is
//! required to 1e-8 relative.

mod fixtures_support;
use fixtures_support::read_csv;

use std::collections::BTreeMap;

use rct_stats::formula::design;
use rct_stats::ols::{fit, CovType, Workspace};
use rct_stats::StatsError;
use serde_json::Value;

const TOL: f64 = 1e-8;

fn reference() -> Value {
    fixtures_support::json("ols_reference.json")
}

fn num(v: &Value) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("expected a number, found {v}"))
}

#[track_caller]
fn close(what: &str, got: f64, want: f64) {
    let err = (got - want).abs() / want.abs().max(1e-300);
    assert!(
        err <= TOL,
        "{what}: rct {got:e} vs statsmodels {want:e} (relative error {err:e})"
    );
}

fn reference_map(m: &Value) -> BTreeMap<String, String> {
    m["reference"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn classical_fits_match_statsmodels() {
    let r = reference();
    for m in r["models"].as_array().unwrap() {
        let name = m["name"].as_str().unwrap();
        let frame = read_csv(m["data"].as_str().unwrap());
        let d = design(m["formula"].as_str().unwrap(), &frame, &reference_map(m)).unwrap();
        let want_names: Vec<&str> = m["terms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(d.column_names, want_names, "{name}: patsy's column names");
        assert_eq!(d.nobs as u64, m["nobs"].as_u64().unwrap(), "{name}: nobs");
        assert_eq!(
            d.dropped as u64,
            m["dropped"].as_u64().unwrap(),
            "{name}: rows dropped for missing values"
        );
        let f = fit(&d, CovType::NonRobust).unwrap();
        close(&format!("{name} df_resid"), f.df_resid, num(&m["df_resid"]));
        close(&format!("{name} df_model"), f.df_model, num(&m["df_model"]));
        close(&format!("{name} R^2"), f.r_squared, num(&m["r_squared"]));
        close(
            &format!("{name} adj R^2"),
            f.adj_r_squared,
            num(&m["adj_r_squared"]),
        );
        close(&format!("{name} sigma"), f.sigma, num(&m["sigma"]));
        close(&format!("{name} F"), f.f_stat.unwrap(), num(&m["f_stat"]));
        close(&format!("{name} F p"), f.f_p.unwrap(), num(&m["f_p"]));
        for (c, t) in f.terms.iter().zip(m["terms"].as_array().unwrap()) {
            for (key, got) in [
                ("estimate", c.estimate),
                ("std_error", c.std_error),
                ("t", c.t),
                ("p", c.p),
                ("ci_low", c.ci_low),
                ("ci_high", c.ci_high),
            ] {
                close(&format!("{name} {} {key}", c.name), got, num(&t[key]));
            }
        }
        for w in m["wald"].as_array().unwrap() {
            let term = w["term"].as_str().unwrap();
            let got = f.term_test(term).unwrap();
            let cols: Vec<&str> = w["columns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect();
            assert_eq!(got.columns, cols, "{name}: columns of term {term}");
            close(&format!("{name} Wald F {term}"), got.f, num(&w["f"]));
            close(&format!("{name} Wald p {term}"), got.p, num(&w["p"]));
            close(
                &format!("{name} Wald df {term}"),
                got.df_num,
                num(&w["df_num"]),
            );
            close(
                &format!("{name} Wald df_den {term}"),
                got.df_den,
                num(&w["df_den"]),
            );
        }
    }
}

#[test]
fn robust_fits_match_statsmodels() {
    let r = reference();
    for m in r["models"].as_array().unwrap() {
        let name = m["name"].as_str().unwrap();
        let frame = read_csv(m["data"].as_str().unwrap());
        let d = design(m["formula"].as_str().unwrap(), &frame, &reference_map(m)).unwrap();
        for (key, cov) in [
            ("hc0", CovType::Hc0),
            ("hc1", CovType::Hc1),
            ("hc2", CovType::Hc2),
            ("hc3", CovType::Hc3),
        ] {
            let want = &m["robust"][key];
            let f = fit(&d, cov).unwrap();
            for (j, c) in f.terms.iter().enumerate() {
                for (k, got) in [
                    ("std_error", c.std_error),
                    ("t", c.t),
                    ("p", c.p),
                    ("ci_low", c.ci_low),
                    ("ci_high", c.ci_high),
                ] {
                    close(
                        &format!("{name} {key} {} {k}", c.name),
                        got,
                        num(&want[k][j]),
                    );
                }
            }
            match (f.f_stat, want["f_stat"].as_f64()) {
                (Some(g), Some(w)) => {
                    close(&format!("{name} {key} F"), g, w);
                    close(
                        &format!("{name} {key} F p"),
                        f.f_p.unwrap(),
                        num(&want["f_p"]),
                    );
                }
                (None, None) => {}
                (g, w) => panic!("{name} {key}: model F test {g:?} vs statsmodels {w:?}"),
            }
            for w in want["wald"].as_array().unwrap() {
                let term = w["term"].as_str().unwrap();
                let got = f.term_test(term).unwrap();
                close(&format!("{name} {key} Wald F {term}"), got.f, num(&w["f"]));
                close(&format!("{name} {key} Wald p {term}"), got.p, num(&w["p"]));
            }
        }
    }
}

#[test]
fn workspace_refits_agree_with_fresh_fits() {
    // Refitting through one workspace (as the power simulation does) gives
    // the same numbers as fresh fits, whatever was fitted before.
    let r = reference();
    let mut ws = Workspace::new();
    for m in r["models"].as_array().unwrap().iter().rev() {
        let frame = read_csv(m["data"].as_str().unwrap());
        let d = design(m["formula"].as_str().unwrap(), &frame, &reference_map(m)).unwrap();
        let a = ws.fit(&d, CovType::Hc3).unwrap();
        let b = fit(&d, CovType::Hc3).unwrap();
        assert_eq!(a.terms, b.terms);
    }
}

#[test]
fn rank_deficient_design_is_an_error_naming_the_terms() {
    let mut frame = read_csv("ols_ancova.csv");
    // baseline2 = 2 * baseline - 1 is aliased with the intercept and baseline.
    let b = match frame.column("baseline").unwrap() {
        rct_stats::Column::Num(v) => v.iter().map(|x| 2.0 * x - 1.0).collect(),
        _ => panic!("baseline is numeric"),
    };
    frame.push("baseline2", rct_stats::Column::Num(b)).unwrap();
    let d = design("y ~ arm + baseline + baseline2", &frame, &BTreeMap::new()).unwrap();
    let e = fit(&d, CovType::NonRobust).unwrap_err();
    assert!(matches!(e, StatsError::RankDeficient(_)));
    let msg = e.to_string();
    assert!(
        msg.contains("column `baseline2` (term `baseline2`) = -1 * `Intercept` + 2 * `baseline`"),
        "{msg}"
    );
}

#[test]
fn missing_rows_are_dropped_and_counted() {
    // ols_ancova.csv: 4 missing y, 3 missing baseline, 2 missing sex, in
    // different rows (statsmodels' nobs 81 of 90).
    let frame = read_csv("ols_ancova.csv");
    let d = design("y ~ arm + baseline + sex", &frame, &BTreeMap::new()).unwrap();
    assert_eq!((d.nobs, d.dropped), (81, 9));
    // Without sex, its two missing rows come back.
    let d = design("y ~ arm + baseline", &frame, &BTreeMap::new()).unwrap();
    assert_eq!((d.nobs, d.dropped), (83, 7));
}

#[test]
fn holm_matches_statsmodels_multipletests() {
    let r = reference();
    for case in r["holm"].as_array().unwrap() {
        let p: Vec<f64> = case["p"].as_array().unwrap().iter().map(num).collect();
        let got = rct_stats::multiplicity::holm(&p).unwrap();
        for (g, w) in got.iter().zip(case["adjusted"].as_array().unwrap()) {
            close("Holm adjusted p", *g, num(w));
        }
    }
}

fn dunnett_alt(s: &str) -> rct_stats::multiplicity::Alternative {
    use rct_stats::multiplicity::Alternative;
    match s {
        "two-sided" => Alternative::TwoSided,
        "greater" => Alternative::Greater,
        _ => Alternative::Less,
    }
}

/// Checks p-values against scipy: `pvalue` is scipy.stats.dunnett's own
/// (randomised lattice, good to ~1e-5; `pvalue_spread` over three seeds),
/// `pvalue_precise` the same multivariate t probability with 200x the
/// lattice points (spread ~1e-7).
fn check_dunnett(case: &Value, stat: &[f64], p: &[f64]) {
    for (j, (g, w)) in stat
        .iter()
        .zip(case["statistic"].as_array().unwrap())
        .enumerate()
    {
        close(&format!("Dunnett statistic {j}"), *g, num(w));
    }
    let spread = num(&case["pvalue_spread"]);
    let precise_spread = num(&case["pvalue_precise_spread"]);
    for (j, g) in p.iter().enumerate() {
        let w = num(&case["pvalue"][j]);
        let wp = num(&case["pvalue_precise"][j]);
        assert!(
            (g - w).abs() <= 2.0 * spread + 1e-6,
            "Dunnett p {j}: rct {g:e} vs scipy.stats.dunnett {w:e}"
        );
        assert!(
            (g - wp).abs() <= 3.0 * precise_spread + 2e-8,
            "Dunnett p {j}: rct {g:e} vs scipy multivariate_t (precise) {wp:e}"
        );
    }
}

#[test]
fn dunnett_matches_scipy() {
    use rct_stats::multiplicity::{dunnett_fit, dunnett_samples};
    let r = reference();
    let cases = r["dunnett"].as_array().unwrap();
    let frame = read_csv("ols_four_arm.csv");
    let mut refm = BTreeMap::new();
    refm.insert("arm".to_string(), "placebo".to_string());
    let d = design("y ~ arm", &frame, &refm).unwrap();
    for case in cases {
        let alt = dunnett_alt(case["alternative"].as_str().unwrap());
        if case.get("data").is_some() {
            // From the fitted one-way model y ~ arm with placebo as reference.
            let f = fit(&d, CovType::NonRobust).unwrap();
            let got = dunnett_fit(&f, &[1, 2, 3], alt).unwrap();
            assert_eq!(
                got.names,
                ["arm[T.il2_0_2]", "arm[T.il2_0_5]", "arm[T.il2_1_0]"]
            );
            check_dunnett(case, &got.statistic, &got.p);
        } else {
            let ctl: Vec<f64> = case["control_sample"]
                .as_array()
                .unwrap()
                .iter()
                .map(num)
                .collect();
            let samples: Vec<Vec<f64>> = case["samples"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_array().unwrap().iter().map(num).collect())
                .collect();
            let got = dunnett_samples(&ctl, &samples, alt).unwrap();
            check_dunnett(case, &got.statistic, &got.p);
        }
    }
}

proptest::proptest! {
    /// Any formula text a user may type gives a model or an error, never a
    /// panic, including on data with missing values.
    #[test]
    fn formulas_never_panic(
        text in proptest::prop_oneof![
            "[a-z_ ~+*:()\\-01.`C]{0,40}",
            "(y|log\\(y\\)|arm) ~ (arm|baseline|sex|id|0|1|C\\(arm\\)|C\\(id\\))\
             ( [-+*:] (arm|baseline|sex|log\\(baseline\\)|log2\\(id\\)|1|0|y|\\(arm \\+ sex\\))){0,5}",
        ]
    ) {
        let frame = read_csv("ols_ancova.csv");
        if let Ok(f) = rct_stats::Formula::parse(&text) {
            if let Ok(spec) = rct_stats::formula::ModelSpec::new(&f, &frame, &BTreeMap::new()) {
                if let Ok(d) = spec.design(&frame) {
                    let _ = fit(&d, CovType::Hc3);
                }
            }
        }
    }
}
