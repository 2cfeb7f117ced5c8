//! Type-I error of the two-sample t-test under selection and chronological
//! bias, as randomizeR defines them (Uschner et al. 2018, J Stat Softw 85(8);
//! Langer 2014; randomizeR's `selBias` and `chronBias`):
//!
//! - selection bias, convergence strategy (`selBias(type = "CS", eta)`): the
//!   expected response of participant i is shifted by `eta` when the arm
//!   behind before i is A (the investigator expects A and steers a better
//!   patient in), by `-eta` when B is behind, and by 0 for the first
//!   participant and whenever the arms are balanced.
//! - chronological bias (`chronBias(type, theta, saltus)`), participant i of N
//!   (1-based) is shifted by
//!   - linear trend (`linT`): `f(i) = theta * (i - 1) / (N - 1)`,
//!   - logarithmic trend (`logT`): `f(i) = theta * ln(i) / ln(N)`,
//!   - step trend (`stepT`, saltus c): `f(i) = theta` for `c <= i <= N`, else 0.
//!
//! For one sequence with shifts b, sigma = 1 and the pooled t statistic, T has
//! a doubly noncentral t distribution with df = n - 2,
//! `delta = sqrt(nA nB / n) (mean_A b - mean_B b)` and `lambda` = within-group
//! sum of squares of b; the rejection probability at level alpha is
//! `P(T < -c) + P(T > c)` with c the t quantile, evaluated as the Poisson
//! (lambda/2) mixture of noncentral t distributions (randomizeR's `doublyT`).
//! A sequence with an empty arm has rejection probability 0 (the test cannot
//! be run). The expected type-I error is the mean over sequences weighted by
//! their probabilities under the design: exactly by [`crate::bias_exact`]
//! where the enumeration is small enough, else by simulation here.

#![allow(clippy::needless_range_loop)]

use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::RandomError;
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

/// The upper `alpha / 2` quantile of the central t distribution with `df`
/// degrees of freedom.
pub fn t_critical(df: f64, alpha: f64) -> f64 {
    StudentsT::new(0.0, 1.0, df).map_or(1.96, |t| t.inverse_cdf(1.0 - alpha / 2.0))
}

/// Rejection probability of the two-sided pooled t-test (critical value `c`)
/// for groups of `na` and `nb` whose shifts have sums `sa`, `sb` and
/// within-group sums of squares adding to `lambda`.
pub fn rejection_from_moments(na: usize, nb: usize, sa: f64, sb: f64, lambda: f64, c: f64) -> f64 {
    let n = na + nb;
    if na == 0 || nb == 0 || n < 3 {
        return 0.0;
    }
    let (ma, mb) = (sa / na as f64, sb / nb as f64);
    let delta = ((na * nb) as f64 / n as f64).sqrt() * (ma - mb);
    doubly_t_rejection((n - 2) as f64, delta, lambda.max(0.0), c)
}

/// Rejection probability of the two-sided t-test at level `alpha` for one
/// allocation sequence (`true` = arm A) with response shifts `shift`.
pub fn rejection_probability(seq: &[bool], shift: &[f64], alpha: f64) -> f64 {
    let n = seq.len();
    if n < 3 {
        return 0.0;
    }
    rejection_with_critical(seq, shift, t_critical((n - 2) as f64, alpha))
}

/// As [`rejection_probability`] with the critical value given.
pub fn rejection_with_critical(seq: &[bool], shift: &[f64], c: f64) -> f64 {
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
    rejection_from_moments(na, nb, sa, sb, lambda, c)
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

/// A time trend of chronological bias, as randomizeR's `chronBias` types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase", tag = "type")]
pub enum Trend {
    /// `linT`: `theta * (i - 1) / (N - 1)`.
    Linear,
    /// `logT`: `theta * ln(i) / ln(N)`.
    Log,
    /// `stepT`: `theta` from participant `saltus` (1-based) on, 0 before.
    Step {
        /// Position of the step (1-based).
        saltus: u32,
    },
}

impl Trend {
    /// Parses `linear`, `log` or `step:K` (also randomizeR's `linT`, `logT`,
    /// `stepT:K`).
    pub fn parse(s: &str) -> Result<Trend, RandomError> {
        let t = s.trim();
        let err = |m: &str| RandomError::Spec {
            input: t.to_string(),
            message: m.to_string(),
        };
        match t.to_ascii_lowercase().as_str() {
            "linear" | "lint" | "lin" => return Ok(Trend::Linear),
            "log" | "logt" | "logarithmic" => return Ok(Trend::Log),
            _ => {}
        }
        let lower = t.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("step:")
            .or_else(|| lower.strip_prefix("stept:"))
            .ok_or_else(|| {
                err("expected a trend: linear, log or step:K (K = position of the step)")
            })?;
        let saltus: u32 = rest
            .trim()
            .parse()
            .map_err(|_| err("step:K needs K, the 1-based position of the step, e.g. step:13"))?;
        if saltus < 1 {
            return Err(err("the step position K in step:K starts at 1"));
        }
        Ok(Trend::Step { saltus })
    }

    /// The shift of participant `i` (1-based) of `n` for strength `theta`.
    pub fn shift(self, i: u32, n: u32, theta: f64) -> f64 {
        match self {
            Trend::Linear => {
                if n <= 1 {
                    0.0
                } else {
                    theta * f64::from(i - 1) / f64::from(n - 1)
                }
            }
            Trend::Log => {
                if n <= 1 {
                    0.0
                } else {
                    theta * f64::from(i).ln() / f64::from(n).ln()
                }
            }
            Trend::Step { saltus } => {
                if i >= saltus {
                    theta
                } else {
                    0.0
                }
            }
        }
    }

    /// Checks the trend against the sample size.
    pub fn check(self, n: u32) -> Result<(), RandomError> {
        if let Trend::Step { saltus } = self {
            if saltus > n {
                return Err(RandomError::Request(format!(
                    "the step of step:{saltus} lies after the last participant (n = {n}); \
                     give a position from 1 to {n}"
                )));
            }
        }
        Ok(())
    }
}

impl std::fmt::Display for Trend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trend::Linear => write!(f, "linear"),
            Trend::Log => write!(f, "log"),
            Trend::Step { saltus } => write!(f, "step:{saltus}"),
        }
    }
}

/// Chronological-bias shifts of participants 1..=n under `trend`.
pub fn chronological_shifts(n: usize, theta: f64, trend: Trend) -> Vec<f64> {
    let nn = n as u32;
    (1..=nn).map(|i| trend.shift(i, nn, theta)).collect()
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

/// Expected type-I errors under bias.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BiasAssessment {
    /// `exact` (every sequence with its probability, grouped by the
    /// statistics the rejection probability depends on) or `simulation`.
    pub method: String,
    /// Simulated sequences (simulation only).
    pub sims: Option<u64>,
    /// Seed of the simulation (simulation only).
    pub seed: Option<u64>,
    /// Distinct (group size, shift sums) classes evaluated (exact only).
    pub classes: Option<u64>,
    /// Significance level.
    pub alpha: f64,
    /// Selection effect eta, if assessed.
    pub eta: Option<f64>,
    /// Trend strength theta, if assessed.
    pub theta: Option<f64>,
    /// The time trend: `linear`, `log` or `step:K`.
    pub trend: String,
    /// Expected type-I error under selection bias (convergence strategy).
    pub type1_error_selection_bias: Option<f64>,
    /// Its Monte Carlo standard error (simulation only).
    pub type1_error_selection_bias_se: Option<f64>,
    /// Expected type-I error under the time trend.
    pub type1_error_chronological_bias: Option<f64>,
    /// Its Monte Carlo standard error (simulation only).
    pub type1_error_chronological_bias_se: Option<f64>,
}

/// What to assess: selection effect `eta` and/or trend strength `theta`
/// under `trend`, at level `alpha`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BiasRequest {
    /// Selection effect (convergence strategy).
    pub eta: Option<f64>,
    /// Strength of the time trend.
    pub theta: Option<f64>,
    /// Shape of the time trend.
    pub trend: Trend,
    /// Significance level of the t-test.
    pub alpha: f64,
}

pub(crate) fn check_request(ratio: &[u32], n: u32, req: &BiasRequest) -> Result<(), RandomError> {
    if ratio.len() != 2 {
        return Err(RandomError::Request(
            "type-I error under bias is defined for two arms (two-sample t-test)".into(),
        ));
    }
    if n < 3 {
        return Err(RandomError::Request(
            "bias assessment needs n of at least 3 (the t-test has n - 2 degrees of freedom)"
                .into(),
        ));
    }
    if !(req.alpha > 0.0 && req.alpha < 1.0) {
        return Err(RandomError::Request(format!(
            "alpha must lie strictly between 0 and 1, found {}",
            req.alpha
        )));
    }
    for (name, v) in [("eta", req.eta), ("theta", req.theta)] {
        if let Some(v) = v {
            if !v.is_finite() {
                return Err(RandomError::Request(format!(
                    "{name} must be a finite number, found {v}"
                )));
            }
        }
    }
    req.trend.check(n)
}

/// Simulate `sims` sequences of a two-arm design and average the rejection
/// probabilities under selection bias and/or the time trend of `req`.
/// Chunks of [`crate::assess::CHUNK`] sequences use ChaCha20 stream number
/// `chunk` under `seed`, so results do not depend on `threads`.
#[allow(clippy::too_many_arguments)]
pub fn assess_bias_simulated(
    design: &crate::DesignSpec,
    ratio: &[u32],
    n: u32,
    sims: u64,
    seed: u64,
    req: &BiasRequest,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<BiasAssessment, RandomError> {
    use crate::assess::CHUNK;
    check_request(ratio, n, req)?;
    if sims < 2 {
        return Err(RandomError::Request(
            "bias assessment by simulation needs --sims of at least 2".into(),
        ));
    }
    let (eta, theta) = (req.eta, req.theta);
    let base = crate::sequence::Sequencer::new(design, ratio, Some(n))?;
    let chunks = sims.div_ceil(CHUNK);
    let results = std::sync::Mutex::new(vec![[0.0f64; 4]; chunks as usize]);
    let nextc = std::sync::atomic::AtomicU64::new(0);
    let done = std::sync::atomic::AtomicU64::new(0);
    let chron = theta.map(|t| chronological_shifts(n as usize, t, req.trend));
    let c = t_critical(f64::from(n - 2), req.alpha);
    std::thread::scope(|sc| {
        for _ in 0..threads.max(1) {
            sc.spawn(|| loop {
                let ch = nextc.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if ch >= chunks {
                    break;
                }
                let count = CHUNK.min(sims - ch * CHUNK);
                let mut rng = crate::stream::Stream::simulation(seed, ch);
                let mut acc = [0.0f64; 4];
                let mut seq = Vec::with_capacity(n as usize);
                for _ in 0..count {
                    let mut s = base.clone();
                    seq.clear();
                    for _ in 0..n {
                        seq.push(s.next_step(&mut rng).arm == 0);
                    }
                    if let Some(e) = eta {
                        let r = rejection_with_critical(&seq, &selection_shifts(&seq, e), c);
                        acc[0] += r;
                        acc[1] += r * r;
                    }
                    if let Some(sh) = &chron {
                        let r = rejection_with_critical(&seq, sh, c);
                        acc[2] += r;
                        acc[3] += r * r;
                    }
                }
                if let Ok(mut v) = results.lock() {
                    v[ch as usize] = acc;
                }
                let d = done.fetch_add(count, std::sync::atomic::Ordering::Relaxed) + count;
                progress(d);
            });
        }
    });
    let results = results
        .into_inner()
        .map_err(|_| RandomError::Request("a simulation thread failed".into()))?;
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
        method: "simulation".into(),
        sims: Some(sims),
        seed: Some(seed),
        classes: None,
        alpha: req.alpha,
        eta,
        theta,
        trend: req.trend.to_string(),
        type1_error_selection_bias: eta.map(|_| sel),
        type1_error_selection_bias_se: eta.map(|_| sel_se),
        type1_error_chronological_bias: theta.map(|_| chr),
        type1_error_chronological_bias_se: theta.map(|_| chr_se),
    })
}
