#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Multiple imputation: Rubin's rules against a hand-worked example and
//! against tools/stats/mi_reference.py (an independent numpy implementation,
//! fixture tests/fixtures/mi_rubin.json); imputation properties.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rct_stats::mi::{analyse, impute, pool_fits, pool_scalar, Equation, MiSettings};
use rct_stats::{fit, formula::design, Column, CovType, Frame};
use serde_json::Value;

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!(
        (a - b).abs() <= tol * b.abs().max(1.0),
        "{what}: rct {a} vs reference {b}"
    );
}

/// Hand-worked, m = 3, complete-data df 20:
/// q = (1.0, 1.2, 1.4), u = (0.04, 0.05, 0.06)
/// Qbar = 3.6/3 = 1.2
/// Ubar = 0.15/3 = 0.05
/// B = ((-0.2)^2 + 0 + 0.2^2) / (3 - 1) = 0.04
/// T = Ubar + (1 + 1/3) B = 0.05 + 0.05333... = 31/300 = 0.103333...
/// r = (4/3)(0.04)/0.05 = 16/15 = 1.066666...
/// lambda = (4/3)(0.04)/T = (16/300)/(31/300) = 16/31 = 0.516129...
/// nu_old = (m - 1)/lambda^2 = 2 * 961/256 = 961/128 = 7.5078125
/// nu_obs = (20 + 1)/(20 + 3) * 20 * (1 - 16/31) = (21/23)(20)(15/31) = 6300/713 = 8.835904628...
/// nu_BR = nu_old nu_obs / (nu_old + nu_obs) = 6054300/1491593 = 4.058949056...
/// SE = sqrt(31/300) = 0.321455025...; t = 1.2/SE = 3.733026101...
/// (p and the t quantile from scipy: t.sf(3.7330261, 4.0589490)*2 = 0.0197204417,
/// t.ppf(0.975, 4.0589490) = 2.7606146066.)
#[test]
fn rubins_rules_hand_worked_example() {
    let p = pool_scalar("b", &[1.0, 1.2, 1.4], &[0.04, 0.05, 0.06], 20.0).unwrap();
    close(p.estimate, 1.2, 1e-14, "Qbar");
    close(p.within, 0.05, 1e-14, "Ubar");
    close(p.between, 0.04, 1e-13, "B");
    close(p.total, 31.0 / 300.0, 1e-13, "T");
    close(p.riv, 16.0 / 15.0, 1e-12, "r");
    close(p.lambda, 16.0 / 31.0, 1e-12, "lambda");
    close(p.df, 6054300.0 / 1491593.0, 1e-12, "nu_BR");
    close(p.std_error, (31.0f64 / 300.0).sqrt(), 1e-13, "SE");
    close(p.t, 3.7330261010295307, 1e-12, "t");
    close(p.p, 0.019720441743724094, 1e-9, "p");
    close(
        p.ci_high - p.estimate,
        2.760614606556163 * p.std_error,
        1e-10,
        "CI half width",
    );
}

#[test]
fn rubins_rules_match_the_numpy_reference() {
    let v: Value = serde_json::from_str(include_str!("fixtures/mi_rubin.json")).unwrap();
    for c in v["cases"].as_array().unwrap() {
        let q: Vec<f64> = c["q"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let u: Vec<f64> = c["u"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        let p = pool_scalar("b", &q, &u, c["nu_com"].as_f64().unwrap()).unwrap();
        let m = q.len();
        for (got, key) in [
            (p.estimate, "estimate"),
            (p.within, "within"),
            (p.between, "between"),
            (p.total, "total"),
            (p.std_error, "std_error"),
            (p.riv, "riv"),
            (p.lambda, "lambda_"),
            (p.fmi, "fmi"),
            (p.df, "df"),
            (p.t, "t"),
            (p.p, "p"),
            (p.ci_low, "ci_low"),
            (p.ci_high, "ci_high"),
        ] {
            close(
                got,
                c[key].as_f64().unwrap(),
                1e-10,
                &format!("m={m} {key}"),
            );
        }
    }
}

/// y = 2 + 1.5 x + 0.8 [g == b] + e, e ~ N(0, 1); `y` missing where `miss`.
fn data(n: usize, seed: u64, miss_rate: f64) -> Frame {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = Vec::new();
    let mut g = Vec::new();
    let mut y = Vec::new();
    for _ in 0..n {
        let xi: f64 = rng.gen_range(-2.0..2.0);
        let gi = if rng.gen_bool(0.5) { "b" } else { "a" };
        let e: f64 = rng.sample(rand_distr::StandardNormal);
        let yi = 2.0 + 1.5 * xi + if gi == "b" { 0.8 } else { 0.0 } + e;
        x.push(xi);
        g.push(gi.to_string());
        y.push(if rng.gen_bool(miss_rate) {
            f64::NAN
        } else {
            yi
        });
    }
    let mut f = Frame::new();
    f.push("y", Column::Num(y)).unwrap();
    f.push("x", Column::Num(x)).unwrap();
    f.push("g", Column::Text(g)).unwrap();
    f
}

fn settings(m: usize, seed: u64) -> MiSettings {
    MiSettings {
        m,
        iterations: 5,
        seed,
    }
}

#[test]
fn with_nothing_missing_the_pool_is_the_complete_case_fit() {
    let f = data(40, 1, 0.0);
    let eq = [Equation::new("y", &["x", "g"])];
    let (pooled, _) = analyse(
        &f,
        "y ~ x + g",
        &BTreeMap::new(),
        CovType::NonRobust,
        &eq,
        &settings(5, 9),
    )
    .unwrap();
    let cc = fit(
        &design("y ~ x + g", &f, &BTreeMap::new()).unwrap(),
        CovType::NonRobust,
    )
    .unwrap();
    for (p, c) in pooled.iter().zip(&cc.terms) {
        assert_eq!(p.name, c.name);
        close(p.estimate, c.estimate, 1e-12, "estimate");
        close(p.std_error, c.std_error, 1e-12, "SE");
        assert!(p.between < 1e-28, "B = {}", p.between);
    }
}

#[test]
fn seeded_imputations_reproduce_and_differ_between_seeds_and_imputations() {
    let f = data(60, 2, 0.3);
    let eq = [Equation::new("y", &["x", "g"])];
    let a = impute(&f, &eq, &settings(3, 7)).unwrap();
    let b = impute(&f, &eq, &settings(3, 7)).unwrap();
    let c = impute(&f, &eq, &settings(3, 8)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_ne!(a[0], a[1]);
    // Observed values are untouched; missing ones are filled.
    let (Some(Column::Num(orig)), Some(Column::Num(imp))) = (f.column("y"), a[0].column("y"))
    else {
        panic!()
    };
    for (o, i) in orig.iter().zip(imp) {
        assert!(!i.is_nan());
        if !o.is_nan() {
            assert_eq!(o, i);
        }
    }
    // Stream i of a longer run equals imputation i of a shorter one.
    let d = impute(&f, &eq, &settings(5, 7)).unwrap();
    assert_eq!(a[..], d[..3]);
}

#[test]
fn imputed_values_follow_the_regression() {
    // With 30 % missing at random, the mean of many imputations of a missing
    // cell is close to the fitted value 2 + 1.5 x + 0.8 [g = b].
    let f = data(200, 3, 0.3);
    let eq = [Equation::new("y", &["x", "g"])];
    let sets = impute(
        &f,
        &eq,
        &MiSettings {
            m: 200,
            iterations: 1,
            seed: 5,
        },
    )
    .unwrap();
    let Some(Column::Num(orig)) = f.column("y") else {
        panic!()
    };
    let Some(Column::Num(x)) = f.column("x") else {
        panic!()
    };
    let Some(Column::Text(g)) = f.column("g") else {
        panic!()
    };
    let mut worst: f64 = 0.0;
    for r in (0..orig.len()).filter(|&r| orig[r].is_nan()) {
        let mean: f64 = sets
            .iter()
            .map(|s| match s.column("y") {
                Some(Column::Num(v)) => v[r],
                _ => f64::NAN,
            })
            .sum::<f64>()
            / sets.len() as f64;
        let truth = 2.0 + 1.5 * x[r] + if g[r] == "b" { 0.8 } else { 0.0 };
        worst = worst.max((mean - truth).abs());
    }
    // MC error of a mean of 200 draws with variance ~1: 0.07; plus estimation error.
    assert!(worst < 0.5, "largest gap {worst}");
}

#[test]
fn pooled_analysis_covers_the_truth_and_widens_the_interval() {
    let f = data(120, 4, 0.35);
    let eq = [Equation::new("y", &["x", "g"])];
    let (pooled, fits) = analyse(
        &f,
        "y ~ x + g",
        &BTreeMap::new(),
        CovType::NonRobust,
        &eq,
        &settings(20, 11),
    )
    .unwrap();
    assert_eq!(fits.len(), 20);
    let slope = pooled.iter().find(|p| p.name == "x").unwrap();
    assert!(slope.ci_low < 1.5 && 1.5 < slope.ci_high, "{slope:?}");
    assert!(slope.between > 0.0 && slope.df < fits[0].df_resid);
    let again = pool_fits(&fits).unwrap();
    assert_eq!(again, pooled);
}

#[test]
fn chained_equations_fill_two_incomplete_variables() {
    let mut f = data(80, 5, 0.2);
    // Make x incomplete as well.
    if let Some(Column::Num(x)) = f.column_mut("x") {
        for i in (0..x.len()).step_by(7) {
            x[i] = f64::NAN;
        }
    }
    let eq = [
        Equation::new("y", &["x", "g"]),
        Equation::new("x", &["y", "g"]),
    ];
    let sets = impute(&f, &eq, &settings(3, 1)).unwrap();
    for s in &sets {
        for name in ["x", "y"] {
            let Some(Column::Num(v)) = s.column(name) else {
                panic!()
            };
            assert!(v.iter().all(|z| z.is_finite()), "{name} still missing");
        }
    }
    // A predictor with missing values and no equation is refused, naming it.
    let e = impute(&f, &[Equation::new("y", &["x", "g"])], &settings(3, 1)).unwrap_err();
    assert!(e.to_string().contains("`x`"), "{e}");
}

#[test]
fn pooled_wald_d1_matches_the_numpy_reference() {
    let v: Value = serde_json::from_str(include_str!("fixtures/mi_d1.json")).unwrap();
    for c in v["cases"].as_array().unwrap() {
        let k = c["k"].as_u64().unwrap() as usize;
        let vecs = |key: &str| -> Vec<Vec<f64>> {
            c[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    r.as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_f64().unwrap())
                        .collect()
                })
                .collect()
        };
        let names = (0..k).map(|i| format!("b{i}")).collect();
        let w = rct_stats::mi::pool_wald_raw(names, &vecs("q"), &vecs("u")).unwrap();
        let m = c["m"].as_u64().unwrap();
        close(w.d1, c["d1"].as_f64().unwrap(), 1e-10, &format!("m={m} D1"));
        close(
            w.riv,
            c["riv"].as_f64().unwrap(),
            1e-10,
            &format!("m={m} r"),
        );
        close(
            w.df_den,
            c["df_den"].as_f64().unwrap(),
            1e-10,
            &format!("m={m} df"),
        );
        close(w.p, c["p"].as_f64().unwrap(), 1e-9, &format!("m={m} p"));
    }
}

#[test]
fn pooled_wald_of_one_column_is_the_square_of_the_pooled_t() {
    // With k = 1, D1 = Qbar^2 / (Ubar (1 + r)) = t^2 (T = Ubar (1 + r)).
    let est = vec![vec![1.0], vec![1.2], vec![1.4]];
    let cov = vec![vec![0.04], vec![0.05], vec![0.06]];
    let w = rct_stats::mi::pool_wald_raw(vec!["b".into()], &est, &cov).unwrap();
    let p = pool_scalar("b", &[1.0, 1.2, 1.4], &[0.04, 0.05, 0.06], 20.0).unwrap();
    close(w.d1, p.t * p.t, 1e-12, "D1 = t^2");
}
