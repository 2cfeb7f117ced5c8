#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Timing used by bench/stats/compare.sh (plain main, no criterion): one
//! fit from formula to table, and 10,000 refits of the same design with
//! new responses, for the ANCOVA and the interaction model on the committed
//! fixtures; and a 10,000-trial LUPEX power simulation. Prints JSON lines.
//! Times are CPU time of this (single-threaded) process from
//! /proc/thread-self/schedstat where available (Linux), so a busy machine
//! does not distort them; wall-clock time otherwise.

#[path = "../tests/fixtures_support/mod.rs"]
mod fixtures_support;
use fixtures_support::read_csv;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_distr::{Distribution, Normal};
use rct_stats::formula::design;
use rct_stats::ols::{CovType, Workspace};
use rct_stats::power::{simulate_power, BalancedAllocator, PowerSpec, SimOutcome, VarSpec};

/// Seconds of CPU time of this thread (Linux), or wall-clock seconds.
#[allow(clippy::disallowed_methods)]
fn now() -> f64 {
    if let Ok(s) = std::fs::read_to_string("/proc/thread-self/schedstat") {
        if let Some(ns) = s
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
        {
            return ns * 1e-9;
        }
    }
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}

fn main() {
    let refits: usize = std::env::var("REFITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    for (name, csv, formula) in [
        ("ancova", "ols_ancova.csv", "y ~ arm + baseline + sex"),
        (
            "interaction",
            "ols_interaction.csv",
            "vo2max_w12 ~ arm * ifn_score + vo2max_w0 + sex",
        ),
    ] {
        let frame = read_csv(csv);
        let none = BTreeMap::new();
        // Per fit: formula parsing, design, QR fit with every statistic.
        let reps = 2000;
        let t0 = now();
        for _ in 0..reps {
            let d = design(formula, &frame, &none).unwrap();
            black_box(Workspace::new().fit(&d, CovType::NonRobust).unwrap());
        }
        let per_fit = (now() - t0) / reps as f64;
        // Refits: same design, new responses (y + N(0,1) noise).
        let mut d = design(formula, &frame, &none).unwrap();
        let y0 = d.y.clone();
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let noise = Normal::new(0.0, 1.0).unwrap();
        let ys: Vec<Vec<f64>> = (0..100)
            .map(|_| y0.iter().map(|v| v + noise.sample(&mut rng)).collect())
            .collect();
        let mut ws = Workspace::new();
        let t0 = now();
        for k in 0..refits {
            d.y.copy_from_slice(&ys[k % ys.len()]);
            black_box(ws.fit(&d, CovType::NonRobust).unwrap());
        }
        let refit_total = now() - t0;
        println!(
            "{{\"model\":\"{name}\",\"nobs\":{},\"per_fit_s\":{per_fit:e},\"refits\":{refits},\"refits_s\":{refit_total:e}}}",
            d.nobs
        );
    }
    // LUPEX: 60 participants, 1:1 stratified by sex (80 % female), ANCOVA of
    // VO2max at 12 weeks on arm, baseline VO2max and sex, 10,000 trials.
    let mut vars = BTreeMap::new();
    vars.insert(
        "sex".to_string(),
        VarSpec::Categorical {
            levels: vec![("female".into(), 0.8), ("male".into(), 0.2)],
        },
    );
    vars.insert(
        "vo2max_w0".to_string(),
        VarSpec::Normal {
            mean: 27.0,
            sd: 5.0,
        },
    );
    let spec = PowerSpec {
        formula: "vo2max_w12 ~ arm + vo2max_w0 + sex".into(),
        effects: vec![
            ("Intercept".into(), 3.0),
            ("arm[T.hiit]".into(), 3.0),
            ("vo2max_w0".into(), 0.9),
            ("sex[T.male]".into(), 2.0),
        ],
        sd: 3.5,
        test: "arm".into(),
        alpha: 0.05,
        cov_type: CovType::NonRobust,
        arm: ("arm".into(), vec!["control".into(), "hiit".into()]),
        strata: vec!["sex".into()],
        vars,
        outcome: SimOutcome::Gaussian,
    };
    let sims = refits;
    let mut alloc = BalancedAllocator::new(2, 7);
    let t0 = now();
    let r = simulate_power(&spec, 60, sims, 7, &mut alloc, &mut |_| {}).unwrap();
    let el = now() - t0;
    println!(
        "{{\"power_run\":\"lupex_ancova\",\"n\":60,\"sims\":{sims},\"seconds\":{el:e},\"power\":{},\"mc_se\":{}}}",
        r.power, r.mc_se
    );
}
