#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Criterion benchmarks of Dunnett single-step p-values by Genz's method at
//! the default target (error estimate <= 1e-5): one multivariate t
//! rectangle probability in dimension 3 and 10, and the three p-values of
//! the IL-2 model with covariates (exact one-factor path, for comparison).
//! The correlations are those of the fixtures' fitted models
//! (tests/fixtures/dunnett_reference.json).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use rct_stats::multiplicity::{adjusted_p, Alternative};
use rct_stats::mvt::{mvt_rectangle, MvtOptions};
use serde_json::Value;

const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn bench(c: &mut Criterion) {
    let s = std::fs::read_to_string(format!("{FIX}/dunnett_reference.json")).unwrap();
    let r: Value = serde_json::from_str(&s).unwrap();
    let opts = MvtOptions::default();
    for case in r["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        if name == "il2_sri4_hc3" {
            continue;
        }
        let corr: Vec<f64> = case["correlation"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|row| row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
            .collect();
        let t: Vec<f64> = case["statistic"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let df = case["df_resid"].as_f64().unwrap();
        let k = t.len();
        // The statistic whose p-value is nearest 0.25 (the hardest region).
        let c0 = t
            .iter()
            .map(|v| v.abs())
            .min_by(|a, b| (a - 1.9).abs().total_cmp(&(b - 1.9).abs()))
            .unwrap();
        let p = mvt_rectangle(&vec![-c0; k], &vec![c0; k], &corr, df, &opts).unwrap();
        eprintln!("{name}: dimension {k}, |t| = {c0:.3}, df = {df}: {p:?}");
        c.bench_function(&format!("genz: dimension {k} ({name}), one p-value"), |b| {
            b.iter(|| black_box(mvt_rectangle(&vec![-c0; k], &vec![c0; k], &corr, df, &opts)))
        });
        if k == 3 {
            c.bench_function(
                "dunnett: IL-2 model, three p-values (one-factor quadrature)",
                |b| b.iter(|| black_box(adjusted_p(&t, &corr, df, Alternative::TwoSided).unwrap())),
            );
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
