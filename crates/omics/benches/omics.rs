//! Reading, QC and normalising 1,000 RCC files held in memory: copies of the
//! shared skmel files (or, without the shared data, a generated lane), each
//! copy under its own name.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use rct_omics::normalise::{normalise, NormaliseOptions};
use rct_omics::qc::{qc_lane, QcThresholds};
use rct_omics::rcc::parse_rcc;

fn texts() -> Vec<String> {
    let dir = std::env::var("RCT_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"))
        })
        .join("nanostring/skmel");
    let mut v: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "RCC"))
                .map(|p| std::fs::read_to_string(p).unwrap())
                .collect()
        })
        .unwrap_or_default();
    if v.is_empty() {
        eprintln!("{} not found: benchmarking a generated lane", dir.display());
        let mut t = String::from("<Header>\nFileVersion,1.7\n</Header>\n<Sample_Attributes>\nID,g\n</Sample_Attributes>\n<Lane_Attributes>\nID,1\nFovCount,280\nFovCounted,270\nScannerID,S\nBindingDensity,0.8\n</Lane_Attributes>\n<Code_Summary>\nCodeClass,Name,Accession,Count\nPositive,POS_A(128),E,12000\nPositive,POS_B(32),E,3000\nPositive,POS_C(8),E,800\nPositive,POS_D(2),E,200\nPositive,POS_E(0.5),E,50\nPositive,POS_F(0.125),E,12\nNegative,NEG_A(0),E,3\nNegative,NEG_B(0),E,5\nNegative,NEG_C(0),E,8\n");
        for i in 0..12 {
            t += &format!("Housekeeping,HK{i},N,{}\n", 300 + i * 17);
        }
        for i in 0..180 {
            t += &format!("Endogenous,G{i},N,{}\n", (i * 37) % 2000);
        }
        v.push(t + "</Code_Summary>\n<Messages>\n</Messages>\n");
    }
    v
}

fn bench(c: &mut Criterion) {
    let base = texts();
    let files: Vec<(String, &str)> = (0..1000)
        .map(|i| (format!("copy{i:04}.RCC"), base[i % base.len()].as_str()))
        .collect();
    let rccs: Vec<_> = files
        .iter()
        .map(|(n, t)| parse_rcc(t, n).unwrap())
        .collect();
    let t = QcThresholds::default();
    let opts = NormaliseOptions::default();
    let mut g = c.benchmark_group("1000 RCC files");
    g.sample_size(10);
    g.bench_function("read", |b| {
        b.iter(|| {
            files
                .iter()
                .map(|(n, t)| parse_rcc(t, n).unwrap())
                .collect::<Vec<_>>()
        })
    });
    g.bench_function("qc", |b| {
        b.iter(|| rccs.iter().map(|r| qc_lane(r, &t)).collect::<Vec<_>>())
    });
    g.bench_function("normalise", |b| b.iter(|| normalise(&rccs, &opts).unwrap()));
    g.bench_function("read+qc+normalise", |b| {
        b.iter(|| {
            let rccs: Vec<_> = files
                .iter()
                .map(|(n, t)| parse_rcc(t, n).unwrap())
                .collect();
            let q: Vec<_> = rccs.iter().map(|r| qc_lane(r, &t)).collect();
            (q, normalise(&rccs, &opts).unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
