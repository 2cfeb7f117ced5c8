//! Exact intervals for a Poisson count: Garwood (Biometrika 1936;28:437),
//! the "exact" interval of a rate, from chi-squared (equivalently gamma)
//! quantiles: lower = chi2(alpha/2; 2x) / 2, upper = chi2(1 - alpha/2;
//! 2x + 2) / 2, with lower = 0 when x = 0. The gamma quantile is solved here
//! to full double precision (safeguarded Newton on the regularised
//! incomplete gamma function), not taken from an approximate inverse.

use statrs::function::gamma::{gamma_lr, gamma_ur, ln_gamma};

use crate::binary::Interval;
use crate::StatsError;

/// The quantile `x` of the Gamma(`shape`, 1) distribution with lower tail
/// probability `p` (0 < p < 1, shape > 0).
pub fn gamma_quantile(shape: f64, p: f64) -> Result<f64, StatsError> {
    let valid = shape > 0.0 && shape.is_finite() && p > 0.0 && p < 1.0;
    if !valid {
        return Err(StatsError::Invalid(format!(
            "gamma quantile: needs a positive shape and 0 < p < 1, got shape {shape} and p {p}"
        )));
    }
    // f(x) decreasing or increasing in x with the tail that keeps precision:
    // P(a, x) - p for p <= 1/2, (1 - p) - Q(a, x) otherwise (both increase).
    let upper = p > 0.5;
    let q = 1.0 - p;
    let f = |x: f64| {
        if upper {
            q - gamma_ur(shape, x)
        } else {
            gamma_lr(shape, x) - p
        }
    };
    let density = |x: f64| ((shape - 1.0) * x.ln() - x - ln_gamma(shape)).exp();
    // Bracket the root.
    let mut lo = 0.0f64;
    let mut hi = shape.max(1.0);
    let mut guard = 0;
    while f(hi) < 0.0 {
        lo = hi;
        hi *= 2.0;
        guard += 1;
        if guard > 2000 {
            return Err(StatsError::Invalid(format!(
                "gamma quantile: no bracket for shape {shape}, p {p}"
            )));
        }
    }
    let mut x = 0.5 * (lo + hi);
    for _ in 0..500 {
        let fx = f(x);
        if fx == 0.0 {
            return Ok(x);
        }
        if fx < 0.0 {
            lo = x;
        } else {
            hi = x;
        }
        let d = density(x);
        let newton = if d > 0.0 && d.is_finite() {
            x - fx / d
        } else {
            f64::NAN
        };
        let next = if newton > lo && newton < hi {
            newton
        } else {
            0.5 * (lo + hi)
        };
        if (next - x).abs() <= 4.0 * f64::EPSILON * x.abs() || hi - lo <= f64::MIN_POSITIVE {
            return Ok(next);
        }
        x = next;
    }
    Ok(x)
}

/// Garwood's exact two-sided interval for the mean of a Poisson count
/// `events`, at confidence `level` (e.g. 0.95).
pub fn garwood_interval(events: u64, level: f64) -> Result<Interval, StatsError> {
    if !(level > 0.0 && level < 1.0) {
        return Err(StatsError::Invalid(format!(
            "Garwood interval: the confidence level must be between 0 and 1, got {level}"
        )));
    }
    let alpha = 1.0 - level;
    let x = events as f64;
    let low = if events == 0 {
        0.0
    } else {
        gamma_quantile(x, alpha / 2.0)?
    };
    let high = gamma_quantile(x + 1.0, 1.0 - alpha / 2.0)?;
    Ok(Interval { low, high })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garwood_published_values() {
        // scipy 1.17.1: chi2.ppf(0.025, 2x) / 2 and chi2.ppf(0.975, 2x + 2) / 2.
        let cases = [
            (0u64, 0.0, 3.688_879_454_113_935_4),
            (1, 0.025_317_807_984_289_876, 5.571_643_390_938_898),
            (10, 4.795_388_696_132_433_5, 18.390_356_042_017_78),
        ];
        for (x, lo, hi) in cases {
            let i = garwood_interval(x, 0.95).unwrap();
            assert!((i.low - lo).abs() < 1e-11, "{x}: {} vs {lo}", i.low);
            assert!((i.high - hi).abs() < 1e-11, "{x}: {} vs {hi}", i.high);
        }
    }

    #[test]
    fn quantile_inverts_the_distribution() {
        for shape in [0.5, 1.0, 3.0, 27.0, 400.0] {
            for p in [1e-6, 0.025, 0.5, 0.975, 1.0 - 1e-6] {
                let x = gamma_quantile(shape, p).unwrap();
                let back = gamma_lr(shape, x);
                assert!((back - p).abs() < 1e-12, "shape {shape} p {p}: {back}");
            }
        }
        // Shape 1 is the exponential: -ln(1 - p).
        let x = gamma_quantile(1.0, 0.975).unwrap();
        assert!((x - (40.0f64).ln()).abs() < 1e-13);
        assert!(gamma_quantile(0.0, 0.5).is_err());
        assert!(gamma_quantile(1.0, 1.0).is_err());
        assert!(garwood_interval(3, 1.0).is_err());
    }
}
