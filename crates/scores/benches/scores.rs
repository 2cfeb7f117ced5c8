#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Cost of scoring one person by name from JSON (what screening pays per
//! criterion that calls a score).

use criterion::{criterion_group, criterion_main, Criterion};
use rct_scores::score_by_name;
use serde_json::Value;

fn example(name: &str) -> Value {
    let path = format!("{}/testdata/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn bench(c: &mut Criterion) {
    for name in [
        "sledai2k",
        "eular-acr-2019",
        "slicc-2012",
        "acr-1997",
        "fss",
    ] {
        let input = example(name);
        c.bench_function(&format!("score_by_name/{name}"), |b| {
            b.iter(|| score_by_name(std::hint::black_box(name), &input).unwrap())
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
