#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Assessment speed: exact recursion at n = 200 and simulation at n = 60.

use criterion::{criterion_group, criterion_main, Criterion};
use rct_random::{assess_exact, assess_simulated, DesignSpec};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("assess");
    g.sample_size(10);
    for s in ["pbr:4", "ebc:0.667", "rpbr:2,4,6", "mp:3"] {
        let d: DesignSpec = s.parse().unwrap();
        g.bench_function(format!("exact n=200 {s}"), |b| {
            b.iter(|| assess_exact(&d, &[1, 1], 200).unwrap())
        });
    }
    for s in ["pbr:4", "ebc:0.667"] {
        let d: DesignSpec = s.parse().unwrap();
        g.bench_function(format!("sims 100000 n=60 {s} 2 threads"), |b| {
            b.iter(|| assess_simulated(&d, &[1, 1], 60, 100_000, 1, 2, &|_| {}).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
