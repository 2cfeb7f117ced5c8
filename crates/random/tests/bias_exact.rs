#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Exact expected type-I error under randomizeR's bias definitions, checked
//! against `tools/stats/bias_reference.py` (an independent enumeration of all
//! 2^12 sequences with each design's probabilities written out, rejection
//! probabilities from scipy's noncentral t as randomizeR's `doublyT`), and
//! against the published figure for permuted blocks of 2.

use rct_random::bias::{assess_bias_simulated, BiasRequest, Trend};
use rct_random::bias_exact::{assess_bias_exact, ExactLimits};
use rct_random::DesignSpec;

#[derive(serde::Deserialize)]
struct Case {
    design: String,
    n: u32,
    alpha: f64,
    trend: String,
    theta: f64,
    eta: Option<f64>,
    chronological: f64,
    selection: Option<f64>,
}

#[derive(serde::Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

fn fixture() -> Fixture {
    let text = include_str!("fixtures/bias_exact.json");
    serde_json::from_str(text).unwrap()
}

#[test]
fn exact_matches_enumeration_script() {
    let f = fixture();
    assert!(f.cases.len() >= 28);
    for c in &f.cases {
        let d: DesignSpec = c.design.parse().unwrap();
        let req = BiasRequest {
            eta: c.eta,
            theta: Some(c.theta),
            trend: Trend::parse(&c.trend).unwrap(),
            alpha: c.alpha,
        };
        let r = assess_bias_exact(&d, &[1, 1], c.n, &req, ExactLimits::default(), 2)
            .unwrap()
            .expect("n = 12 is within the exact limits");
        assert_eq!(r.method, "exact");
        let got = r.type1_error_chronological_bias.unwrap();
        assert!(
            (got - c.chronological).abs() < 1e-8,
            "{} {} theta {}: rct {got}, reference {}",
            c.design,
            c.trend,
            c.theta,
            c.chronological
        );
        if let (Some(want), Some(got)) = (c.selection, r.type1_error_selection_bias) {
            assert!(
                (got - want).abs() < 1e-8,
                "{} selection: rct {got}, reference {want}",
                c.design
            );
        }
    }
}

/// The issue's figure: permuted blocks of 2, n = 12, linear trend theta = 1
/// gives an expected type-I error near 0.040 under randomizeR's linT (the
/// old `theta * i` shift gave 3.5e-10).
#[test]
fn permuted_blocks_of_two_published_figure() {
    let d: DesignSpec = "pbr:2".parse().unwrap();
    let req = BiasRequest {
        eta: None,
        theta: Some(1.0),
        trend: Trend::Linear,
        alpha: 0.05,
    };
    let r = assess_bias_exact(&d, &[1, 1], 12, &req, ExactLimits::default(), 1)
        .unwrap()
        .unwrap();
    let v = r.type1_error_chronological_bias.unwrap();
    assert!((v - 0.040).abs() < 0.0005, "{v}");
}

/// n = 24 is exact for every two-arm design under the linear and step
/// trends and selection bias, and the simulation agrees with the exact figure
/// within Monte Carlo error. (The logarithmic trend at n = 24 is exact too,
/// but complete randomisation then has 614,496 classes: about 35 s in a
/// release build, too slow for a debug test; see
/// `log_trend_is_exact_where_small` and the README figure.)
#[test]
fn exact_at_24_for_every_design_and_simulation_agrees() {
    for design in [
        "cr",
        "rar",
        "pbr:2",
        "pbr:4",
        "rpbr:2,4,6",
        "bsd:3",
        "mp:3",
        "ebc:0.667",
        "chen:3,0.667",
        "urn:0,1",
    ] {
        let d: DesignSpec = design.parse().unwrap();
        for trend in ["linear", "step:13"] {
            let req = BiasRequest {
                eta: Some(0.5),
                theta: Some(1.0),
                trend: Trend::parse(trend).unwrap(),
                alpha: 0.05,
            };
            let r = assess_bias_exact(&d, &[1, 1], 24, &req, ExactLimits::default(), 2)
                .unwrap()
                .unwrap_or_else(|| panic!("{design} {trend} at n = 24 should be exact"));
            if design == "pbr:4" && trend == "linear" {
                let s =
                    assess_bias_simulated(&d, &[1, 1], 24, 20_000, 3, &req, 2, &|_| {}).unwrap();
                for (e, m, se) in [
                    (
                        r.type1_error_chronological_bias,
                        s.type1_error_chronological_bias,
                        s.type1_error_chronological_bias_se,
                    ),
                    (
                        r.type1_error_selection_bias,
                        s.type1_error_selection_bias,
                        s.type1_error_selection_bias_se,
                    ),
                ] {
                    let (e, m, se) = (e.unwrap(), m.unwrap(), se.unwrap());
                    assert!(
                        (e - m).abs() < 4.0 * se + 1e-12,
                        "exact {e}, simulated {m} +- {se}"
                    );
                }
            }
        }
    }
}

/// The logarithmic trend is exact through the prime factorisation of the
/// product of A's positions; block designs at n = 24 and complete
/// randomisation at n = 14 stay small.
#[test]
fn log_trend_is_exact_where_small() {
    for (design, n) in [("pbr:4", 24), ("bsd:3", 16), ("cr", 14)] {
        let d: DesignSpec = design.parse().unwrap();
        let req = BiasRequest {
            eta: None,
            theta: Some(1.0),
            trend: Trend::Log,
            alpha: 0.05,
        };
        let r = assess_bias_exact(&d, &[1, 1], n, &req, ExactLimits::default(), 2)
            .unwrap()
            .unwrap();
        let v = r.type1_error_chronological_bias.unwrap();
        assert!(v > 0.0 && v < 0.06, "{design} {n}: {v}");
    }
}
