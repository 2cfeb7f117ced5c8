#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Power simulation against the closed form: the two-sample t test at
//! d = 0.5 with 64 per arm has power 0.80146 (noncentral t, scipy.stats.nct,
//! `power_two_sample` in fixtures/ols_reference.json from
//! tools/stats/ols_reference.py); logistic and MMRM power against the exact
//! references of tools/stats/power_reference.py
//! (fixtures/power_reference.json): the Wald test of the log odds ratio
//! summed over both binomial counts, and the two-sample t test that the MMRM
//! of complete balanced data reduces to at the last visit.

use std::collections::BTreeMap;

use rct_stats::mmrm::{CovStructure, DfMethod};
use rct_stats::ols::CovType;
use rct_stats::power::{simulate_power, BalancedAllocator, PowerSpec, SimOutcome, VarSpec};

fn t_test_spec() -> PowerSpec {
    PowerSpec {
        formula: "y ~ arm".into(),
        effects: vec![("arm[T.treat]".into(), 0.5)],
        sd: 1.0,
        test: "arm".into(),
        alpha: 0.05,
        cov_type: CovType::NonRobust,
        arm: ("arm".into(), vec!["control".into(), "treat".into()]),
        strata: vec![],
        vars: BTreeMap::new(),
        outcome: SimOutcome::Gaussian,
    }
}

#[test]
fn two_sample_t_test_power_matches_noncentral_t() {
    let s = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ols_reference.json"
    ))
    .unwrap();
    let r: serde_json::Value = serde_json::from_str(&s).unwrap();
    let want = r["power_two_sample"]["power"].as_f64().unwrap();
    assert!((want - 0.80146).abs() < 1e-5);
    let spec = t_test_spec();
    let mut alloc = BalancedAllocator::new(2, 7);
    let mut calls = 0;
    let res = simulate_power(&spec, 128, 4000, 2026, &mut alloc, &mut |_| calls += 1).unwrap();
    assert_eq!(res.failed, 0);
    assert_eq!(calls, 40);
    assert!(
        (res.power - want).abs() <= 4.0 * res.mc_se,
        "simulated power {} (MC SE {}) vs closed form {want}",
        res.power,
        res.mc_se
    );
}

#[test]
fn null_effect_rejects_at_alpha_and_is_reproducible() {
    let mut spec = t_test_spec();
    spec.effects = vec![("arm[T.treat]".into(), 0.0)];
    spec.formula = "y ~ arm + x + sex".into();
    spec.vars.insert(
        "sex".into(),
        VarSpec::Categorical {
            levels: vec![("female".into(), 0.8), ("male".into(), 0.2)],
        },
    );
    spec.strata = vec!["sex".into()];
    let run = || {
        let mut alloc = BalancedAllocator::new(2, 1);
        simulate_power(&spec, 40, 2000, 99, &mut alloc, &mut |_| {}).unwrap()
    };
    let a = run();
    // Type I error: 0.05 within 4 Monte Carlo SEs (sqrt(.05*.95/2000) = 0.0049).
    assert!((a.power - 0.05).abs() <= 4.0 * 0.0049, "{a:?}");
    assert_eq!(a, run());
}

#[test]
fn bad_effect_names_are_explained() {
    let mut spec = t_test_spec();
    spec.effects = vec![("arm[T.other]".into(), 1.0)];
    let mut alloc = BalancedAllocator::new(2, 1);
    let e = simulate_power(&spec, 20, 10, 1, &mut alloc, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("arm[T.treat]"), "{e}");
}

fn power_reference() -> serde_json::Value {
    let s = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/power_reference.json"
    ))
    .unwrap();
    serde_json::from_str(&s).unwrap()
}

#[test]
fn logistic_power_matches_the_exact_wald_sum() {
    let r = power_reference();
    for c in r["logistic"].as_array().unwrap() {
        let n = c["n"].as_u64().unwrap() as usize;
        let mut spec = t_test_spec();
        spec.outcome = SimOutcome::Logistic;
        spec.sd = f64::NAN; // not used by the logistic outcome
        spec.effects = vec![
            ("Intercept".into(), c["intercept"].as_f64().unwrap()),
            ("arm[T.treat]".into(), c["log_or"].as_f64().unwrap()),
        ];
        let sims = 3000;
        let mut alloc = BalancedAllocator::new(2, 3);
        let res = simulate_power(&spec, n, sims, 11, &mut alloc, &mut |_| {}).unwrap();
        let want = c["power"].as_f64().unwrap();
        assert!(
            (res.power - want).abs() <= 4.0 * (want * (1.0 - want) / sims as f64).sqrt(),
            "n {n}: simulated {} (MC SE {}) vs exact {want}",
            res.power,
            res.mc_se
        );
        // Separated trials (an empty cell) are the failed fits.
        let q = c["p_empty_cell"].as_f64().unwrap();
        let failed = res.failed as f64 / sims as f64;
        assert!(
            (failed - q).abs() <= 4.0 * (q * (1.0 - q) / sims as f64).sqrt() + 1e-9,
            "n {n}: {failed} failed vs P(empty cell) {q}"
        );
    }
}

#[test]
fn mmrm_power_matches_the_two_sample_t_at_the_last_visit() {
    let r = power_reference();
    let c = &r["mmrm"][1];
    let n = c["n"].as_u64().unwrap() as usize;
    let delta = c["delta"].as_f64().unwrap();
    let mut spec = t_test_spec();
    spec.formula = "y ~ arm * visit".into();
    spec.sd = c["sd"].as_f64().unwrap();
    // `visit` has the last visit as reference: arm[T.treat] is the effect
    // at week12; half of it at week6.
    spec.effects = vec![
        ("arm[T.treat]".into(), delta),
        ("arm[T.treat]:visit[T.week6]".into(), -delta / 2.0),
    ];
    spec.outcome = SimOutcome::Repeated {
        visits: vec!["week6".into(), "week12".into()],
        correlation: 0.6,
        structure: CovStructure::Us,
        df: DfMethod::Satterthwaite,
    };
    let sims = 600;
    let mut alloc = BalancedAllocator::new(2, 5);
    let res = simulate_power(&spec, n, sims, 3, &mut alloc, &mut |_| {}).unwrap();
    assert_eq!(res.failed, 0);
    let want = c["power"].as_f64().unwrap();
    assert!(
        (res.power - want).abs() <= 4.0 * (want * (1.0 - want) / sims as f64).sqrt(),
        "simulated {} (MC SE {}) vs two-sample t {want}",
        res.power,
        res.mc_se
    );
    // The formula must name the visit.
    spec.formula = "y ~ arm".into();
    let mut alloc = BalancedAllocator::new(2, 5);
    let e = simulate_power(&spec, n, 10, 3, &mut alloc, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("visit"), "{e}");
}
