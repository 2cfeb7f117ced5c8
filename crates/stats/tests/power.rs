#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Power simulation against the closed form: the two-sample t test at
//! d = 0.5 with 64 per arm has power 0.80146 (noncentral t, scipy.stats.nct,
//! `power_two_sample` in fixtures/ols_reference.json from
//! tools/stats/ols_reference.py).

use std::collections::BTreeMap;

use rct_stats::ols::CovType;
use rct_stats::power::{simulate_power, BalancedAllocator, PowerSpec, VarSpec};

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
