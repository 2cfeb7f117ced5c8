#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Design assessment against published values and closed forms.

use rct_random::{assess_exact, assess_simulated, DesignSpec};

fn d(s: &str) -> DesignSpec {
    s.parse().unwrap()
}

/// Published (DOMAIN.md; Rosenberger & Lachin): permuted blocks of size 2m
/// under convergence guessing give (m + 2^(2m-1)/C(2m,m) - 1/2) / 2m correct
/// guesses per patient: 0.75 for size 2, 0.70833 for size 4. randomizeR's
/// test values for size 2: convergence 0.75, divergence 0.25, final imbalance 0.
#[test]
fn permuted_blocks_published_values() {
    let a = assess_exact(&d("pbr:2"), &[1, 1], 60).unwrap();
    assert!((a.correct_guess_convergence - 0.75).abs() < 1e-12);
    assert!((a.correct_guess_divergence - 0.25).abs() < 1e-12);
    assert!(a.expected_abs_imbalance.abs() < 1e-12);
    let a = assess_exact(&d("pbr:4"), &[1, 1], 60).unwrap();
    assert!((a.correct_guess_convergence - 0.708_333_333_333).abs() < 1e-9);
    let a = assess_exact(&d("rar"), &[1, 1], 4).unwrap();
    assert!((a.correct_guess_convergence - 0.708_333_333_333).abs() < 1e-9);
}

/// Efron (1971): as n grows the convergence proportion tends to
/// 1/2 + (2p-1)/(4p); p = 2/3 gives 0.625.
#[test]
fn efron_tends_to_closed_form() {
    let p: f64 = 2.0 / 3.0;
    let limit = 0.5 + (2.0 * p - 1.0) / (4.0 * p);
    assert!((limit - 0.625).abs() < 1e-12);
    let a = assess_exact(&DesignSpec::Efron { p }, &[1, 1], 200).unwrap();
    assert!((a.correct_guess_convergence - limit).abs() < 0.005, "{a:?}");
}

/// Complete randomisation: every guess is right with probability 1/2 and
/// D_n is a simple random walk, E[D_n^2] = n (loss 1), E|D_4| = 1.5.
#[test]
fn complete_randomisation_closed_forms() {
    let a = assess_exact(&d("cr"), &[1, 1], 4).unwrap();
    assert!((a.correct_guess_convergence - 0.5).abs() < 1e-12);
    assert!((a.expected_loss - 1.0).abs() < 1e-12);
    assert!((a.expected_abs_imbalance - 1.5).abs() < 1e-12);
    // max |D| over 2 steps: |D_1| = 1, |D_2| is 2 or 0 with probability 1/2: E max = 1.5
    let a = assess_exact(&d("cr"), &[1, 1], 2).unwrap();
    assert!((a.expected_max_imbalance - 1.5).abs() < 1e-12);
}

/// Big stick and maximal procedure never exceed a.
#[test]
fn bounded_designs_respect_a() {
    for s in ["bsd:3", "mp:3", "chen:3,0.667"] {
        let a = assess_exact(&d(s), &[1, 1], 100).unwrap();
        assert!(a.expected_max_imbalance <= 3.0 + 1e-12, "{s}");
    }
    let a = assess_exact(&d("mp:3"), &[1, 1], 100).unwrap();
    assert!(a.expected_abs_imbalance.abs() < 1e-12);
}

/// Simulated and exact figures agree within 4 Monte Carlo standard errors.
#[test]
fn simulation_agrees_with_exact() {
    for s in [
        "pbr:4",
        "rpbr:2,4,6:pascal",
        "bsd:2",
        "ebc:0.667",
        "urn:0,1",
        "mp:2",
        "cr",
        "rar",
    ] {
        let e = assess_exact(&d(s), &[1, 1], 20).unwrap();
        let m = assess_simulated(&d(s), &[1, 1], 20, 20_000, 7, 2, &|_| {}).unwrap();
        let se = m.standard_errors.unwrap();
        let pairs = [
            (e.expected_abs_imbalance, m.expected_abs_imbalance, se[0]),
            (e.expected_loss, m.expected_loss, se[1]),
            (e.expected_max_imbalance, m.expected_max_imbalance, se[2]),
            (
                e.correct_guess_convergence,
                m.correct_guess_convergence,
                se[3],
            ),
            (
                e.correct_guess_divergence,
                m.correct_guess_divergence,
                se[4],
            ),
        ];
        for (j, (x, y, s_e)) in pairs.iter().enumerate() {
            assert!(
                (x - y).abs() <= 4.0 * s_e + 1e-9,
                "{s} figure {j}: exact {x} sim {y} se {s_e}"
            );
        }
    }
    // unequal ratio
    let e = assess_exact(&d("pbr:3"), &[2, 1], 21).unwrap();
    let m = assess_simulated(&d("pbr:3"), &[2, 1], 21, 20_000, 3, 2, &|_| {}).unwrap();
    let se = m.standard_errors.unwrap();
    assert!((e.correct_guess_convergence - m.correct_guess_convergence).abs() < 4.0 * se[3] + 1e-9);
    assert!(e.expected_abs_imbalance.abs() < 1e-12);
}

#[test]
fn simulation_is_reproducible_and_thread_independent() {
    let a = assess_simulated(&d("ebc:0.667"), &[1, 1], 30, 25_000, 11, 1, &|_| {}).unwrap();
    let b = assess_simulated(&d("ebc:0.667"), &[1, 1], 30, 25_000, 11, 2, &|_| {}).unwrap();
    assert_eq!(a, b);
}

#[test]
fn exact_needs_two_arms() {
    let e = assess_exact(&d("pbr:3"), &[1, 1, 1], 30)
        .unwrap_err()
        .to_string();
    assert!(e.contains("simulation"), "{e}");
    assert!(assess_simulated(&d("pbr:3"), &[1, 1, 1], 30, 100, 1, 1, &|_| {}).is_ok());
}

/// Without bias every sequence's test has exactly level alpha; with
/// selection bias under permuted blocks of 2 the type-I error is inflated
/// (the second patient of every block is predictable), under complete
/// randomisation it stays near alpha.
fn req(eta: Option<f64>, theta: Option<f64>) -> rct_random::bias::BiasRequest {
    rct_random::bias::BiasRequest {
        eta,
        theta,
        trend: rct_random::bias::Trend::Linear,
        alpha: 0.05,
    }
}

#[test]
fn bias_type_one_error() {
    use rct_random::bias::assess_bias_simulated;
    let none = assess_bias_simulated(
        &d("pbr:4"),
        &[1, 1],
        24,
        2000,
        1,
        &req(Some(0.0), Some(0.0)),
        2,
        &|_| {},
    )
    .unwrap();
    assert!((none.type1_error_selection_bias.unwrap() - 0.05).abs() < 1e-9);
    assert!((none.type1_error_chronological_bias.unwrap() - 0.05).abs() < 1e-9);
    let pbr = assess_bias_simulated(
        &d("pbr:2"),
        &[1, 1],
        24,
        2000,
        1,
        &req(Some(0.5), None),
        2,
        &|_| {},
    )
    .unwrap();
    let cr = assess_bias_simulated(
        &d("cr"),
        &[1, 1],
        24,
        2000,
        1,
        &req(Some(0.5), None),
        2,
        &|_| {},
    )
    .unwrap();
    assert!(
        pbr.type1_error_selection_bias.unwrap() > cr.type1_error_selection_bias.unwrap() + 0.02
    );
    assert!(pbr.type1_error_chronological_bias.is_none());
}
