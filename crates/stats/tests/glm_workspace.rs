#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `GlmWorkspace` (a design prepared once, refitted with new responses)
//! against `fit_glm` and `refit_glm` on the same data: the whole table to
//! 1e-12, on the 240-participant IL-2-like fixture with several responses,
//! one of them separated (every participant of the low-dose arm
//! responds), which the workspace must report as `fit_glm` does. The
//! numbers of `fit_glm` themselves are checked against statsmodels in
//! tests/glm.rs.

mod fixtures_support;
use fixtures_support::read_csv;

use std::collections::BTreeMap;

use rct_stats::formula::{design, Design};
use rct_stats::glm::{fit_glm, refit_glm, Family, GlmFit, GlmOptions, GlmRefit, GlmWorkspace};

const TOL: f64 = 1e-12;

#[track_caller]
fn same(what: &str, a: f64, b: f64) {
    assert!(
        (a - b).abs() <= TOL * b.abs().max(1.0) || (a.is_nan() && b.is_nan()),
        "{what}: workspace {a}, fit {b}"
    );
}

#[track_caller]
fn same_table(label: &str, w: &GlmRefit, f: &GlmFit) {
    assert_eq!(w.estimates.len(), f.terms.len());
    for (j, t) in f.terms.iter().enumerate() {
        same(
            &format!("{label} estimate {}", t.name),
            w.estimates[j],
            t.estimate,
        );
        same(
            &format!("{label} se {}", t.name),
            w.std_errors[j],
            t.std_error,
        );
        same(&format!("{label} z {}", t.name), w.z[j], t.z);
        same(&format!("{label} p {}", t.name), w.p[j], t.p);
        same(&format!("{label} ci_low {}", t.name), w.ci_low[j], t.ci_low);
        same(
            &format!("{label} ci_high {}", t.name),
            w.ci_high[j],
            t.ci_high,
        );
    }
    for (a, b) in w.cov.iter().zip(&f.cov) {
        same(&format!("{label} cov"), *a, *b);
    }
    same(&format!("{label} llf"), w.llf, f.llf);
    same(&format!("{label} deviance"), w.deviance, f.deviance);
    same(
        &format!("{label} null deviance"),
        w.null_deviance,
        f.null_deviance,
    );
    same(&format!("{label} aic"), w.aic, f.aic);
    assert_eq!(w.converged, f.converged, "{label}");
    assert_eq!(w.separation, f.separation.as_deref(), "{label}");
}

fn with_y(d: &Design, y: &[f64]) -> Design {
    let mut d = d.clone();
    d.y.copy_from_slice(y);
    d
}

#[test]
fn workspace_refits_equal_fresh_fits() {
    let frame = read_csv("glm_il2.csv");
    let d = design(
        "responder ~ arm + sledai_w0 + site",
        &frame,
        &BTreeMap::new(),
    )
    .unwrap();
    let n = d.nobs;
    let opts = GlmOptions::default();
    let first = fit_glm(&d, Family::Binomial, None, opts).unwrap();
    let start: Vec<f64> = first.terms.iter().map(|t| t.estimate).collect();
    let low = d
        .column_names
        .iter()
        .position(|c| c == "arm[T.low]")
        .unwrap_or_else(|| panic!("{:?}", d.column_names));
    // The observed response, it reversed, rotated, a deterministic draw
    // from the fitted means, and a separated one.
    let mut ys: Vec<(&str, Vec<f64>)> = vec![("observed", d.y.clone())];
    ys.push(("reversed", d.y.iter().rev().copied().collect()));
    ys.push((
        "rotated",
        (0..n).map(|i| d.y[(i + 37) % n]).collect::<Vec<f64>>(),
    ));
    ys.push((
        "drawn",
        (0..n)
            .map(|i| f64::from(u8::from(((i * 7919) % 1000) as f64 / 1000.0 < first.mu[i])))
            .collect(),
    ));
    ys.push((
        "separated",
        (0..n)
            .map(|i| if d.col(low)[i] == 1.0 { 1.0 } else { d.y[i] })
            .collect(),
    ));
    let mut ws = GlmWorkspace::new(&d, Family::Binomial, None, opts).unwrap();
    for (label, y) in &ys {
        let dy = with_y(&d, y);
        let fresh = fit_glm(&dy, Family::Binomial, None, opts).unwrap();
        // From statsmodels' start, as fit_glm.
        let cold = ws.refit(y, None).unwrap();
        same_table(&format!("{label} (cold)"), &cold, &fresh);
        assert_eq!(cold.iterations, fresh.iterations, "{label}");
        // From the first fit's estimates, as refit_glm.
        let warm_fit = refit_glm(&dy, Family::Binomial, None, opts, &start).unwrap();
        let warm = ws.refit(y, Some(&start)).unwrap();
        same_table(&format!("{label} (warm)"), &warm, &warm_fit);
        if *label == "separated" {
            let s = warm.separation.expect("separation must be reported");
            assert!(s.contains("arm[T.low]") && s.contains("--firth"), "{s}");
            assert!(fresh.separation.is_some());
        } else {
            // Where the estimates exist, the warm start reaches them too.
            assert!(warm.separation.is_none() && warm.converged, "{label}");
            for (a, t) in warm.estimates.iter().zip(&fresh.terms) {
                assert!((a - t.estimate).abs() < 1e-8, "{label} {}", t.name);
            }
        }
    }
    // The full fit from the workspace is fit_glm's.
    let full = ws.refit_full(&ys[1].1, None).unwrap();
    let fresh = fit_glm(&with_y(&d, &ys[1].1), Family::Binomial, None, opts).unwrap();
    assert_eq!(full.terms, fresh.terms);
    assert_eq!(full.llf, fresh.llf);
    // Bad input is an error, not a panic.
    let e = ws.refit(&ys[0].1[1..], None).unwrap_err().to_string();
    assert!(e.contains("values for the 240 rows"), "{e}");
    let mut bad = ys[0].1.clone();
    bad[3] = 2.0;
    let e = ws.refit(&bad, None).unwrap_err().to_string();
    assert!(
        e.contains("must be 0 or 1") && e.contains("data row 4"),
        "{e}"
    );
    let e = ws
        .refit(&ys[0].1, Some(&start[1..]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("starting values"), "{e}");
}
