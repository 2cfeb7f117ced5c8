#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Criterion benchmarks: design + fit of the ANCOVA and the interaction
//! model, a refit through a reused workspace, and 100 power-simulation trials.

#[path = "../tests/fixtures_support/mod.rs"]
mod fixtures_support;
use fixtures_support::read_csv;

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use rct_stats::formula::design;
use rct_stats::ols::{CovType, Workspace};
use rct_stats::power::{simulate_power, BalancedAllocator, PowerSpec, SimOutcome};

fn bench(c: &mut Criterion) {
    let none = BTreeMap::new();
    for (name, csv, formula) in [
        ("ancova", "ols_ancova.csv", "y ~ arm + baseline + sex"),
        (
            "interaction",
            "ols_interaction.csv",
            "vo2max_w12 ~ arm * ifn_score + vo2max_w0 + sex",
        ),
    ] {
        let frame = read_csv(csv);
        c.bench_function(&format!("{name}: formula, design and fit"), |b| {
            b.iter(|| {
                let d = design(formula, &frame, &none).unwrap();
                black_box(Workspace::new().fit(&d, CovType::NonRobust).unwrap())
            })
        });
        let d = design(formula, &frame, &none).unwrap();
        let mut ws = Workspace::new();
        c.bench_function(&format!("{name}: refit (HC3)"), |b| {
            b.iter(|| black_box(ws.fit(&d, CovType::Hc3).unwrap()))
        });
    }
    let spec = PowerSpec {
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
    };
    c.bench_function("power: 100 two-sample trials of 128", |b| {
        b.iter(|| {
            let mut alloc = BalancedAllocator::new(2, 1);
            black_box(simulate_power(&spec, 128, 100, 1, &mut alloc, &mut |_| {}).unwrap())
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
