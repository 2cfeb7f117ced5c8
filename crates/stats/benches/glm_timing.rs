#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Timing used by bench/stats/compare.sh (plain main): a logistic fit of the
//! 240-participant IL-2-like fixture from formula to table (estimates, SEs,
//! z, p, CIs, llf), REFITS refits of the same design with new binary
//! responses (`GlmWorkspace::refit`, the design prepared once, starting from
//! the first fit's estimates; each refit computes the same table and the
//! separation check), and the MMRM of mmrm's fev_data (unstructured, REML,
//! Satterthwaite, with type III tests and LS means). JSON lines; CPU time of
//! this thread where Linux gives it.

#[path = "../tests/fixtures_support/mod.rs"]
mod fixtures_support;
use fixtures_support::read_csv;

use std::collections::BTreeMap;
use std::hint::black_box;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rct_stats::formula::design;
use rct_stats::glm::{fit_glm, Family, GlmOptions, GlmWorkspace};
use rct_stats::mmrm::infer::{ls_means, type3, Grid};
use rct_stats::mmrm::{fit_frame, MmrmOptions};
use rct_stats::Frame;

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
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs_f64()
}

fn main() {
    let refits: usize = std::env::var("REFITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let frame = read_csv("glm_il2.csv");
    let formula = "responder ~ arm + sledai_w0 + site";
    let none = BTreeMap::new();
    let reps = 2000;
    let t0 = now();
    for _ in 0..reps {
        let d = design(formula, &frame, &none).unwrap();
        black_box(fit_glm(&d, Family::Binomial, None, GlmOptions::default()).unwrap());
    }
    let per_fit = (now() - t0) / reps as f64;
    let d = design(formula, &frame, &none).unwrap();
    let g = fit_glm(&d, Family::Binomial, None, GlmOptions::default()).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let ys: Vec<Vec<f64>> = (0..100)
        .map(|_| {
            g.mu.iter()
                .map(|m| f64::from(u8::from(rng.gen::<f64>() < *m)))
                .collect()
        })
        .collect();
    let start: Vec<f64> = g.terms.iter().map(|t| t.estimate).collect();
    let mut iterations = 0;
    let t0 = now();
    let mut ws = GlmWorkspace::new(&d, Family::Binomial, None, GlmOptions::default()).unwrap();
    for k in 0..refits {
        let g = ws.refit(&ys[k % ys.len()], Some(&start)).unwrap();
        iterations += g.iterations;
        black_box(g);
    }
    let refits_s = now() - t0;
    println!(
        "{{\"model\":\"logistic\",\"nobs\":{},\"per_fit_s\":{per_fit:e},\"refits\":{refits},\"refits_s\":{refits_s:e},\"iterations_per_fit\":{},\"refit_iterations\":{}}}",
        d.nobs,
        g.iterations,
        iterations as f64 / refits.max(1) as f64
    );
    if let Some(dir) = rct_testdata::shared_data("wild/analysis") {
        let s = std::fs::read_to_string(dir.join("fev_data.csv")).unwrap();
        let mut lines = s.lines();
        let headers: Vec<String> = lines
            .next()
            .unwrap()
            .split(',')
            .map(str::to_string)
            .collect();
        let rows: Vec<Vec<String>> = lines
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect();
        let fev = Frame::from_text_rows(&headers, &rows, "fev_data.csv").unwrap();
        let reference: BTreeMap<String, String> = [
            ("ARMCD".into(), "PBO".into()),
            ("SEX".into(), "Male".into()),
        ]
        .into();
        let reps = 20;
        let t0 = now();
        for _ in 0..reps {
            let (fit, spec, d) = fit_frame(
                "FEV1 ~ RACE + SEX + ARMCD * AVISIT",
                &fev,
                &reference,
                "AVISIT",
                "USUBJID",
                None,
                MmrmOptions::default(),
            )
            .unwrap();
            let grid = Grid::new(&spec, &fev, &d).unwrap();
            black_box(type3(&fit, &spec, &grid).unwrap());
            black_box(ls_means(&fit, &grid, &["ARMCD", "AVISIT"]).unwrap());
        }
        let per = (now() - t0) / f64::from(reps);
        println!("{{\"mmrm_fev\":true,\"nobs\":537,\"per_fit_s\":{per:e}}}");
    }
}
