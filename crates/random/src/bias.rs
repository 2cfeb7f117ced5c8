//! Type-I error of the two-sample t-test under selection and chronological
//! bias, as randomizeR defines them (Uschner et al. 2018; Langer 2014):
//!
//! - selection bias, convergence strategy: the expected response of
//!   participant i is shifted by `eta * sign(N_B - N_A)` counted before i
//!   (the investigator expects the arm behind and steers a better patient to
//!   A); 0 for the first participant and when balanced.
//! - chronological bias, linear trend: participant i (1-based) is shifted by
//!   `theta * i`.
//!
//! For one sequence with shifts b, sigma = 1 and the pooled t statistic, T has
//! a doubly noncentral t distribution with df = n - 2,
//! `delta = sqrt(nA nB / n) (mean_A b - mean_B b)` and `lambda` = within-group
//! sum of squares of b; the rejection probability at level alpha is
//! `P(T < -c) + P(T > c)` with c the t quantile, evaluated as the Poisson
//! (lambda/2) mixture of noncentral t distributions. A sequence with an empty
//! arm has rejection probability 0. The expected type-I error is the mean over
//! sequences.

#![allow(clippy::needless_range_loop)]

use statrs::distribution::{ContinuousCDF, StudentsT};
use statrs::function::beta::beta_reg;
use statrs::function::erf::erfc;
use statrs::function::gamma::ln_gamma;

fn phi(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// CDF of the noncentral t distribution, Lenth's algorithm AS 243 (1989),
/// with a normal approximation when |delta| > 37 (where exp(-delta^2/2)
/// underflows).
pub fn nct_cdf(t: f64, df: f64, delta: f64) -> f64 {
    if delta.abs() > 37.0 {
        let z = (t * (1.0 - 1.0 / (4.0 * df)) - delta) / (1.0 + t * t / (2.0 * df)).sqrt();
        return phi(z);
    }
    let (tt, del, neg) = if t < 0.0 {
        (-t, -delta, true)
    } else {
        (t, delta, false)
    };
    let mut out = 0.0;
    let x = tt * tt / (tt * tt + df);
    if x > 0.0 {
        let lambda = del * del;
        let mut p = 0.5 * (-0.5 * lambda).exp();
        let mut q = (2.0 / std::f64::consts::PI).sqrt() * p * del;
        let mut s = 0.5 - p;
        let mut a = 0.5;
        let b = 0.5 * df;
        let rxb = (1.0 - x).powf(b);
        let albeta = ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b);
        let mut xodd = beta_reg(a, b, x);
        let mut godd = 2.0 * rxb * (a * x.ln() - albeta).exp();
        let mut xeven = 1.0 - rxb;
        let mut geven = b * x * rxb;
        out = p * xodd + q * xeven;
        let mut en = 1.0;
        loop {
            a += 1.0;
            xodd -= godd;
            xeven -= geven;
            godd *= x * (a + b - 1.0) / a;
            geven *= x * (a + b - 0.5) / (a + 0.5);
            p *= lambda / (2.0 * en);
            q *= lambda / (2.0 * en + 1.0);
            s -= p;
            en += 1.0;
            out += p * xodd + q * xeven;
            let errbd = 2.0 * s * (xodd - godd);
            if errbd.abs() < 1e-13 || en > 2000.0 {
                break;
            }
        }
    }
    out += phi(-del);
    let out = if neg { 1.0 - out } else { out };
    out.clamp(0.0, 1.0)
}

/// P(|T| > c) for a doubly noncentral t with these parameters, c the
/// upper alpha/2 quantile of the central t with `df` degrees of freedom.
pub fn doubly_t_rejection(df: f64, delta: f64, lambda: f64, c: f64) -> f64 {
    let mu = lambda / 2.0;
    if mu < 1e-14 {
        return nct_cdf(-c, df, delta) + 1.0 - nct_cdf(c, df, delta);
    }
    // Poisson weights summed outward from the mode until the mass left < 1e-12.
    let mode = mu.floor();
    let mut total = 0.0;
    let mut mass = 0.0;
    let log_w = |j: f64| -mu + j * mu.ln() - ln_gamma(j + 1.0);
    let term = |j: f64| {
        let dfj = df + 2.0 * j;
        let cj = c * (1.0 + 2.0 * j / df).sqrt();
        nct_cdf(-cj, dfj, delta) + 1.0 - nct_cdf(cj, dfj, delta)
    };
    let mut j = mode;
    while j >= 0.0 {
        let w = log_w(j).exp();
        total += w * term(j);
        mass += w;
        if w < 1e-16 && j < mode {
            break;
        }
        j -= 1.0;
    }
    let mut j = mode + 1.0;
    while 1.0 - mass > 1e-12 && j < mode + 10_000.0 {
        let w = log_w(j).exp();
        total += w * term(j);
        mass += w;
        j += 1.0;
    }
    total
}

/// Rejection probability of the two-sided t-test at level `alpha` for one
/// allocation sequence (`true` = arm A) with response shifts `shift`.
pub fn rejection_probability(seq: &[bool], shift: &[f64], alpha: f64) -> f64 {
    let n = seq.len();
    let na = seq.iter().filter(|a| **a).count();
    let nb = n - na;
    if na == 0 || nb == 0 || n < 3 {
        return 0.0;
    }
    let (mut sa, mut sb) = (0.0, 0.0);
    for (a, b) in seq.iter().zip(shift) {
        if *a {
            sa += b;
        } else {
            sb += b;
        }
    }
    let (ma, mb) = (sa / na as f64, sb / nb as f64);
    let mut lambda = 0.0;
    for (a, b) in seq.iter().zip(shift) {
        let m = if *a { ma } else { mb };
        lambda += (b - m) * (b - m);
    }
    let delta = ((na * nb) as f64 / n as f64).sqrt() * (ma - mb);
    let df = (n - 2) as f64;
    let c = StudentsT::new(0.0, 1.0, df).map_or(1.96, |t| t.inverse_cdf(1.0 - alpha / 2.0));
    doubly_t_rejection(df, delta, lambda, c)
}

/// Selection-bias shifts (convergence strategy) of a sequence.
pub fn selection_shifts(seq: &[bool], eta: f64) -> Vec<f64> {
    let mut d: i64 = 0;
    seq.iter()
        .map(|a| {
            let s = match d.cmp(&0) {
                std::cmp::Ordering::Less => eta,
                std::cmp::Ordering::Greater => -eta,
                std::cmp::Ordering::Equal => 0.0,
            };
            d += if *a { 1 } else { -1 };
            s
        })
        .collect()
}

/// Linear time-trend shifts `theta * i`, i = 1..n.
pub fn chronological_shifts(n: usize, theta: f64) -> Vec<f64> {
    (1..=n).map(|i| theta * i as f64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_bias_gives_alpha() {
        let seq = [
            true, false, true, true, false, false, true, false, false, true,
        ];
        let z = vec![0.0; seq.len()];
        assert!((rejection_probability(&seq, &z, 0.05) - 0.05).abs() < 1e-9);
        // a constant shift does not bias the test either
        let c = vec![3.0; seq.len()];
        assert!((rejection_probability(&seq, &c, 0.05) - 0.05).abs() < 1e-9);
    }

    #[test]
    fn selection_shifts_follow_the_convergence_guess() {
        // A, A, B, B: before 2nd D=1 -> guess B -> -eta; before 3rd D=2 -> -eta;
        // before 4th D=1 -> -eta.
        assert_eq!(
            selection_shifts(&[true, true, false, false], 1.0),
            vec![0.0, -1.0, -1.0, -1.0]
        );
        assert_eq!(selection_shifts(&[false, true], 0.5), vec![0.0, 0.5]);
    }
}

/// Expected type-I errors under bias, by simulation.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BiasAssessment {
    /// Simulated sequences.
    pub sims: u64,
    /// Significance level.
    pub alpha: f64,
    /// Expected type-I error under selection bias (convergence strategy).
    pub type1_error_selection_bias: Option<f64>,
    /// Its Monte Carlo standard error.
    pub type1_error_selection_bias_se: Option<f64>,
    /// Expected type-I error under a linear time trend.
    pub type1_error_chronological_bias: Option<f64>,
    /// Its Monte Carlo standard error.
    pub type1_error_chronological_bias_se: Option<f64>,
}

/// Simulate `sims` sequences of a two-arm design and average the rejection
/// probabilities under selection bias `eta` and/or chronological bias
/// `theta`. Chunks of [`crate::assess::CHUNK`] sequences use ChaCha20 stream
/// number `chunk` under `seed`, so results do not depend on `threads`.
#[allow(clippy::too_many_arguments)]
pub fn assess_bias_simulated(
    design: &crate::DesignSpec,
    ratio: &[u32],
    n: u32,
    sims: u64,
    seed: u64,
    eta: Option<f64>,
    theta: Option<f64>,
    alpha: f64,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<BiasAssessment, crate::RandomError> {
    use crate::assess::CHUNK;
    if ratio.len() != 2 {
        return Err(crate::RandomError::Request(
            "type-I error under bias is defined for two arms (two-sample t-test)".into(),
        ));
    }
    if sims < 2 || n < 3 {
        return Err(crate::RandomError::Request(
            "bias assessment needs --sims of at least 2 and n of at least 3".into(),
        ));
    }
    let base = crate::sequence::Sequencer::new(design, ratio, Some(n))?;
    let chunks = sims.div_ceil(CHUNK);
    let results = std::sync::Mutex::new(vec![[0.0f64; 4]; chunks as usize]);
    let nextc = std::sync::atomic::AtomicU64::new(0);
    let done = std::sync::atomic::AtomicU64::new(0);
    let chron = theta.map(|t| chronological_shifts(n as usize, t));
    std::thread::scope(|sc| {
        for _ in 0..threads.max(1) {
            sc.spawn(|| loop {
                let c = nextc.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if c >= chunks {
                    break;
                }
                let count = CHUNK.min(sims - c * CHUNK);
                let mut rng = crate::stream::Stream::simulation(seed, c);
                let mut acc = [0.0f64; 4];
                let mut seq = Vec::with_capacity(n as usize);
                for _ in 0..count {
                    let mut s = base.clone();
                    seq.clear();
                    for _ in 0..n {
                        seq.push(s.next_step(&mut rng).arm == 0);
                    }
                    if let Some(e) = eta {
                        let r = rejection_probability(&seq, &selection_shifts(&seq, e), alpha);
                        acc[0] += r;
                        acc[1] += r * r;
                    }
                    if let Some(sh) = &chron {
                        let r = rejection_probability(&seq, sh, alpha);
                        acc[2] += r;
                        acc[3] += r * r;
                    }
                }
                if let Ok(mut v) = results.lock() {
                    v[c as usize] = acc;
                }
                let d = done.fetch_add(count, std::sync::atomic::Ordering::Relaxed) + count;
                progress(d);
            });
        }
    });
    let results = results
        .into_inner()
        .map_err(|_| crate::RandomError::Request("a simulation thread failed".into()))?;
    let mut tot = [0.0f64; 4];
    for r in &results {
        for j in 0..4 {
            tot[j] += r[j];
        }
    }
    let m = sims as f64;
    let stat = |s: f64, ss: f64| {
        let mean = s / m;
        let var = (ss / m - mean * mean).max(0.0) * m / (m - 1.0);
        (mean, (var / m).sqrt())
    };
    let (sel, sel_se) = stat(tot[0], tot[1]);
    let (chr, chr_se) = stat(tot[2], tot[3]);
    Ok(BiasAssessment {
        sims,
        alpha,
        type1_error_selection_bias: eta.map(|_| sel),
        type1_error_selection_bias_se: eta.map(|_| sel_se),
        type1_error_chronological_bias: theta.map(|_| chr),
        type1_error_chronological_bias_se: theta.map(|_| chr_se),
    })
}
