//! Every RCC and RLF file of the shared NanoString data against the independent
//! numpy reference (`tools/omics/nanostring_reference.py`, output committed as
//! `tests/fixtures/nanostring_reference.json`): QC figures (FOV ratio, binding
//! density, positive-control R^2, POS_E, negative mean/SD, limit of detection,
//! housekeeping signal), scaling factors, and every normalised count, under the
//! three background modes, to 1e-9 relative.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use rct_omics::normalise::{normalise, Background, NormaliseOptions, Normalised};
use rct_omics::qc::{qc_lane, QcThresholds};
use rct_omics::rcc::parse_rcc;
use rct_omics::rlf::parse_rlf;
use rct_omics::Rcc;
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/nanostring_reference.json");
const TOL: f64 = 1e-9;

fn nanostring_dir() -> Option<PathBuf> {
    rct_testdata::shared_data("nanostring")
}

fn files_with(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case(ext))
        })
        .collect();
    v.sort();
    v
}

fn subfolders(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

fn close(what: &str, got: f64, want: f64) {
    let scale = want.abs().max(1e-300);
    assert!(
        (got - want).abs() <= TOL * scale || got == want,
        "{what}: rct {got:e} vs numpy {want:e} (relative {:e})",
        (got - want).abs() / scale
    );
}

fn close_opt(what: &str, got: Option<f64>, want: &Value) {
    match (got, want.as_f64()) {
        (Some(g), Some(w)) => close(what, g, w),
        (None, None) => {}
        _ => panic!("{what}: rct {got:?} vs numpy {want}"),
    }
}

fn read_folder(dir: &Path) -> Vec<Rcc> {
    files_with(dir, "rcc")
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            parse_rcc(&text, &name).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
}

fn check_samples(folder: &str, n: &Normalised, want: &serde_json::Map<String, Value>) {
    assert_eq!(n.samples.len(), want.len(), "{folder}: number of samples");
    for (j, s) in n.samples.iter().enumerate() {
        let w = want
            .get(&s.id)
            .unwrap_or_else(|| panic!("{folder}: sample {} not in the fixture", s.id));
        let at = format!("{folder}/{}", s.id);
        close(
            &format!("{at} background"),
            s.background,
            w["background"].as_f64().unwrap(),
        );
        close(
            &format!("{at} pos_geomean"),
            s.pos_geomean,
            w["pos_geomean"].as_f64().unwrap(),
        );
        close(
            &format!("{at} pos_factor"),
            s.pos_factor,
            w["pos_factor"].as_f64().unwrap(),
        );
        close_opt(&format!("{at} hk_factor"), s.hk_factor, &w["hk_factor"]);
        close_opt(&format!("{at} hk_geomean"), s.hk_geomean, &w["hk_geomean"]);
        if let Some(matrix) = w.get("normalised").and_then(Value::as_object) {
            assert_eq!(matrix.len(), n.genes.len(), "{at}: number of genes");
            for (g, row) in n.genes.iter().zip(&n.values) {
                let key = format!("{}/{}", g.kind.as_str(), g.name);
                let want = matrix
                    .get(&key)
                    .unwrap_or_else(|| panic!("{at}: {key} not in the fixture"))
                    .as_f64()
                    .unwrap();
                close(&format!("{at} {key}"), row[j], want);
            }
        }
    }
}

#[test]
fn every_rcc_file_matches_the_numpy_reference() {
    let Some(root) = nanostring_dir() else { return };
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    let folders = fixture["folders"].as_object().unwrap();
    let mut files_checked = 0;
    let mut values_checked = 0;
    for dir in subfolders(&root) {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let rccs = read_folder(&dir);
        if rccs.is_empty() {
            continue;
        }
        let want = folders
            .get(&name)
            .unwrap_or_else(|| panic!("folder {name} has RCC files but is not in the fixture: regenerate it with tools/omics/nanostring_reference.py"));
        let lanes = want["lanes"].as_object().unwrap();
        assert_eq!(
            rccs.len(),
            lanes.len(),
            "{name}: RCC files on disk vs fixture"
        );

        // QC figures, lane by lane.
        for r in &rccs {
            let w = lanes
                .get(&r.file)
                .unwrap_or_else(|| panic!("{name}/{} not in the fixture", r.file));
            let q = qc_lane(r, &QcThresholds::default());
            let at = format!("{name}/{}", r.file);
            assert_eq!(
                u64::from(q.fov_count),
                w["fov_count"].as_u64().unwrap(),
                "{at}"
            );
            assert_eq!(
                u64::from(q.fov_counted),
                w["fov_counted"].as_u64().unwrap(),
                "{at}"
            );
            close_opt(&format!("{at} fov_ratio"), q.fov_ratio, &w["fov_ratio"]);
            close(
                &format!("{at} binding_density"),
                q.binding_density,
                w["binding_density"].as_f64().unwrap(),
            );
            close_opt(&format!("{at} pos_r2"), q.pos_r2, &w["pos_r2"]);
            close_opt(&format!("{at} pos_e"), q.pos_e, &w["pos_e"]);
            close(
                &format!("{at} neg_mean"),
                q.neg_mean,
                w["neg_mean"].as_f64().unwrap(),
            );
            close(
                &format!("{at} neg_sd"),
                q.neg_sd,
                w["neg_sd"].as_f64().unwrap(),
            );
            close(
                &format!("{at} lod_limit"),
                q.lod_limit,
                w["lod_limit"].as_f64().unwrap(),
            );
            close_opt(
                &format!("{at} hk_geomean"),
                q.housekeeping_geomean,
                &w["hk_geomean"],
            );
            files_checked += 1;
        }

        // Normalisation: threshold (full matrix), subtract, none.
        let threshold = normalise(&rccs, &NormaliseOptions::default()).unwrap();
        check_samples(&name, &threshold, want["samples"].as_object().unwrap());
        values_checked += threshold.values.iter().map(Vec::len).sum::<usize>();
        for (variant, background) in [
            ("subtract", Background::Subtract),
            ("none", Background::None),
        ] {
            let opts = NormaliseOptions {
                background,
                ..NormaliseOptions::default()
            };
            let n = normalise(&rccs, &opts).unwrap();
            let w = want["variants"][variant].as_object().unwrap();
            check_samples(&format!("{name} ({variant})"), &n, w);
            if w.values().any(|s| s.get("normalised").is_some()) {
                values_checked += n.values.iter().map(Vec::len).sum::<usize>();
            }
        }
    }
    assert_eq!(
        files_checked, 24,
        "the shared data holds 12 skmel and 12 PlexSet RCC files"
    );
    assert!(values_checked > 9_000, "{values_checked}");
}

#[test]
fn every_rlf_file_reads_and_matches_configparser() {
    let Some(root) = nanostring_dir() else { return };
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    let want = fixture["rlf"].as_object().unwrap();
    let mut seen = 0;
    for dir in subfolders(&root) {
        for p in files_with(&dir, "rlf") {
            let rel = format!(
                "{}/{}",
                dir.file_name().unwrap().to_string_lossy(),
                p.file_name().unwrap().to_string_lossy()
            );
            let text = std::fs::read_to_string(&p).unwrap();
            let rlf = parse_rlf(&text, &rel).unwrap_or_else(|e| panic!("{e}"));
            let w = want
                .get(&rel)
                .unwrap_or_else(|| panic!("{rel} not in the fixture"));
            assert_eq!(
                rlf.records.len() as u64,
                w["record_count"].as_u64().unwrap(),
                "{rel}"
            );
            let cols: Vec<&str> = w["columns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap())
                .collect();
            assert_eq!(rlf.columns, cols, "{rel}");
            let classes: Vec<(u64, &str)> = w["classes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| (c[0].as_u64().unwrap(), c[1].as_str().unwrap()))
                .collect();
            assert_eq!(
                rlf.classes
                    .iter()
                    .map(|c| (u64::from(c.key), c.name.as_str()))
                    .collect::<Vec<_>>(),
                classes,
                "{rel}"
            );
            for (rec, w) in rlf.records.iter().zip(w["records"].as_array().unwrap()) {
                assert_eq!(rec.index as u64, w[0].as_u64().unwrap(), "{rel}");
                assert_eq!(
                    rlf.class_of(rec),
                    w[1].as_str(),
                    "{rel} record {}",
                    rec.index
                );
                assert_eq!(
                    rlf.field(rec, "GeneName"),
                    w[2].as_str(),
                    "{rel} record {}",
                    rec.index
                );
            }
            seen += 1;
        }
    }
    assert_eq!(seen, want.len(), "RLF files on disk vs fixture");
    assert!(seen >= 2);
}
