#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The rank-sum test and Hodges-Lehmann interval against
//! tools/stats/nonparam_reference.py (scipy.stats.mannwhitneyu for U and p;
//! brute-force enumeration of the null distribution for the HL interval),
//! whose output is committed as tests/fixtures/np_reference.json.

use rct_stats::nonparam::{rank_sum, Alternative, Method};
use serde_json::Value;

fn close(a: f64, b: f64, what: &str) {
    let tol = 1e-10 * b.abs().max(1.0);
    assert!((a - b).abs() <= tol, "{what}: rct {a} vs reference {b}");
}

fn cases() -> Vec<Value> {
    let text = include_str!("fixtures/np_reference.json");
    let v: Value = serde_json::from_str(text).unwrap();
    v["cases"].as_array().unwrap().clone()
}

fn nums(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn matches_scipy_mannwhitneyu_and_closed_form_hodges_lehmann() {
    let cases = cases();
    assert!(cases.len() >= 6);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let (x, y) = (nums(&c["x"]), nums(&c["y"]));
        for (alt, key) in [
            (Alternative::TwoSided, "p_two_sided"),
            (Alternative::Less, "p_less"),
            (Alternative::Greater, "p_greater"),
        ] {
            let r = rank_sum(&x, &y, Method::Auto, alt, 0.95).unwrap();
            let want_method = c["method"].as_str().unwrap();
            assert_eq!(
                r.method,
                if want_method == "exact" {
                    Method::Exact
                } else {
                    Method::Asymptotic
                },
                "{name}"
            );
            close(r.u, c["u"].as_f64().unwrap(), &format!("{name} U"));
            close(r.p, c[key].as_f64().unwrap(), &format!("{name} {key}"));
            close(
                r.hl_estimate,
                c["hl"].as_f64().unwrap(),
                &format!("{name} HL"),
            );
            assert_eq!(r.ci_k as u64, c["k"].as_u64().unwrap(), "{name} k");
            close(
                r.ci_low,
                c["ci_low"].as_f64().unwrap(),
                &format!("{name} ci_low"),
            );
            close(
                r.ci_high,
                c["ci_high"].as_f64().unwrap(),
                &format!("{name} ci_high"),
            );
        }
    }
}

#[test]
fn shifting_x_shifts_the_estimate_and_interval() {
    let x = [3.1, 4.7, 5.2, 6.9, 8.4, 9.0];
    let y = [2.2, 3.3, 4.0, 5.5, 6.1, 7.7, 8.8];
    let a = rank_sum(&x, &y, Method::Auto, Alternative::TwoSided, 0.95).unwrap();
    let xs: Vec<f64> = x.iter().map(|v| v + 10.0).collect();
    let b = rank_sum(&xs, &y, Method::Auto, Alternative::TwoSided, 0.95).unwrap();
    close(b.hl_estimate, a.hl_estimate + 10.0, "shifted HL");
    close(b.ci_low, a.ci_low + 10.0, "shifted low");
    close(b.ci_high, a.ci_high + 10.0, "shifted high");
    assert!(a.ci_low <= a.hl_estimate && a.hl_estimate <= a.ci_high);
}

#[test]
fn swapping_samples_mirrors_the_result() {
    let x = [1.5, 2.5, 2.9, 4.4, 7.0];
    let y = [0.3, 1.1, 2.0, 2.2, 3.3, 3.9];
    let a = rank_sum(&x, &y, Method::Auto, Alternative::TwoSided, 0.95).unwrap();
    let b = rank_sum(&y, &x, Method::Auto, Alternative::TwoSided, 0.95).unwrap();
    close(a.p, b.p, "p");
    close(a.u + b.u, 30.0, "U1 + U2 = n1 n2");
    close(a.hl_estimate, -b.hl_estimate, "HL");
    close(a.ci_low, -b.ci_high, "interval");
}
