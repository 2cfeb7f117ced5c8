#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Criterion benchmarks of the MMRM of mmrm's `fev_data` (537 observations
//! of 197 subjects over 4 visits; `FEV1 ~ RACE + SEX + ARMCD * AVISIT`,
//! REML): the fit alone with unstructured, compound-symmetry, AR(1) and
//! Toeplitz covariance (Satterthwaite df), the unstructured fit with
//! Kenward-Roger df, and the unstructured fit with type III tests and LS
//! means (what `rct analyse --repeated` prints). Reads the data from
//! RCT_SHARED_DATA (default ../shared/data); skipped when it is absent.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use rct_stats::mmrm::infer::{ls_means, type3, Grid};
use rct_stats::mmrm::{fit_frame, CovStructure, DfMethod, MmrmOptions};
use rct_stats::Frame;

fn fev() -> Option<Frame> {
    let dir = rct_testdata::shared_data("wild/analysis")?;
    let s = std::fs::read_to_string(dir.join("fev_data.csv")).ok()?;
    let mut lines = s.lines();
    let headers: Vec<String> = lines.next()?.split(',').map(str::to_string).collect();
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    Frame::from_text_rows(&headers, &rows, "fev_data.csv").ok()
}

fn bench(c: &mut Criterion) {
    let Some(frame) = fev() else {
        eprintln!("fev_data.csv not found under RCT_SHARED_DATA; MMRM benchmarks skipped");
        return;
    };
    let reference: BTreeMap<String, String> = [
        ("ARMCD".into(), "PBO".into()),
        ("SEX".into(), "Male".into()),
    ]
    .into();
    let formula = "FEV1 ~ RACE + SEX + ARMCD * AVISIT";
    let fit = |structure, df| {
        let opts = MmrmOptions {
            structure,
            df,
            ..MmrmOptions::default()
        };
        fit_frame(formula, &frame, &reference, "AVISIT", "USUBJID", None, opts).unwrap()
    };
    let mut g = c.benchmark_group("mmrm fev_data");
    g.sample_size(20);
    for (name, s) in [
        ("us", CovStructure::Us),
        ("cs", CovStructure::Cs),
        ("ar1", CovStructure::Ar1),
        ("toep", CovStructure::Toep),
    ] {
        g.bench_function(format!("fit {name}, Satterthwaite"), |b| {
            b.iter(|| black_box(fit(s, DfMethod::Satterthwaite)))
        });
    }
    g.bench_function("fit us, Kenward-Roger", |b| {
        b.iter(|| black_box(fit(CovStructure::Us, DfMethod::KenwardRoger)))
    });
    g.bench_function("fit us + type III + LS means", |b| {
        b.iter(|| {
            let (f, spec, d) = fit(CovStructure::Us, DfMethod::Satterthwaite);
            let grid = Grid::new(&spec, &frame, &d).unwrap();
            black_box(type3(&f, &spec, &grid).unwrap());
            black_box(ls_means(&f, &grid, &["ARMCD", "AVISIT"]).unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
