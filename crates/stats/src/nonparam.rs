//! Non-parametric two-sample comparison: the Wilcoxon rank-sum (Mann-Whitney
//! U) test and the Hodges-Lehmann shift estimate with its distribution-free
//! confidence interval (Bauer 1972; the Moses method).
//!
//! Conventions follow `scipy.stats.mannwhitneyu`: the statistic is `U1`, the
//! number of pairs `(x_i, y_j)` with `x_i > y_j` plus half the ties. The exact
//! null distribution is used when there are no ties and one sample has at
//! most 8 values ([`Method::Auto`], scipy's rule); otherwise the normal
//! approximation with the tie-corrected variance and a continuity correction.
//!
//! The Hodges-Lehmann estimate of the shift `x - y` is the median of the
//! `n1 n2` differences `x_i - y_j`. With the differences sorted `D(1) <= ... <=
//! D(N)`, the interval is `[D(k), D(N + 1 - k)]`, where `k` is the smallest
//! `u` with `P(U <= u) >= alpha/2` under the null (the exact distribution, as
//! R's `wilcox.test(conf.int = TRUE)` does without ties; at least 1), or, for
//! the normal approximation, `k = ceil(n1 n2 / 2 - z sigma - 1/2)` with the
//! tie-corrected `sigma`. Coverage is at least `1 - alpha` for the exact
//! interval.

use crate::StatsError;

/// How the p-value is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Exact when there are no ties and a sample has at most 8 values, else asymptotic.
    Auto,
    /// The exact null distribution (refused when there are ties).
    Exact,
    /// The normal approximation with tie and continuity correction.
    Asymptotic,
}

/// The alternative hypothesis about `x` relative to `y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Alternative {
    TwoSided,
    /// `x` tends to be smaller than `y`.
    Less,
    /// `x` tends to be larger than `y`.
    Greater,
}

/// The result of a rank-sum test with the Hodges-Lehmann estimate.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RankSum {
    pub n1: usize,
    pub n2: usize,
    /// `U1`, for the first sample (scipy's statistic).
    pub u: f64,
    /// The z statistic of the normal approximation (None when exact).
    pub z: Option<f64>,
    pub p: f64,
    /// The method used (`exact` or `asymptotic`).
    pub method: Method,
    pub alternative: Alternative,
    /// Whether the pooled sample has ties.
    pub ties: bool,
    /// Hodges-Lehmann estimate of the shift `x - y`.
    pub hl_estimate: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// Nominal confidence level of the interval.
    pub conf_level: f64,
    /// Order statistic index `k` of the interval's lower end (1-based).
    pub ci_k: usize,
    /// Whether the interval came from the exact distribution.
    pub ci_exact: bool,
}

/// Complementary error function to near machine precision: the positive
/// series `erf(x) = 2x/sqrt(pi) e^{-x^2} sum (2x^2)^n / (1*3*...*(2n+1))` below
/// 1.5 (no cancellation in the sum), the continued fraction
/// `erfc(x) = e^{-x^2}/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))`
/// (modified Lentz) above. (statrs' erfc is good to only ~1e-11 relative.)
fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    let sqrt_pi = std::f64::consts::PI.sqrt();
    if x < 1.5 {
        let x2 = x * x;
        let (mut term, mut sum) = (1.0f64, 1.0f64);
        let mut n = 0.0;
        while term > 1e-17 * sum {
            n += 1.0;
            term *= 2.0 * x2 / (2.0 * n + 1.0);
            sum += term;
        }
        return 1.0 - 2.0 * x / sqrt_pi * (-x2).exp() * sum;
    }
    // Lentz on b0 + a1/(b1 + a2/(b2 + ...)), b = x, a_k = k/2.
    let tiny = 1e-300;
    let mut f = x;
    let mut c = x;
    let mut d = 0.0;
    for k in 1..5000 {
        let a = k as f64 / 2.0;
        d = x + a * d;
        if d.abs() < tiny {
            d = tiny;
        }
        c = x + a / c;
        if c.abs() < tiny {
            c = tiny;
        }
        d = 1.0 / d;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    (-x * x).exp() / sqrt_pi / f
}

fn norm_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// Upper quantile of the standard normal (`norm_sf(z) = p`), by bisection
/// refined with Newton steps.
fn norm_upper_quantile(p: f64) -> f64 {
    let (mut lo, mut hi) = (-40.0f64, 40.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if norm_sf(mid) > p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-15 {
            break;
        }
    }
    let mut z = 0.5 * (lo + hi);
    for _ in 0..3 {
        let pdf = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
        if pdf > 0.0 {
            z += (norm_sf(z) - p) / pdf;
        }
    }
    z
}

/// The exact null distribution of `U` for samples of sizes `m` and `n`
/// without ties: `P(U = u)` for `u = 0..=m n`. Built by the positive
/// recurrence `p(i, j) = i/(i+j) p(i-1, j) shifted by j + j/(i+j) p(i, j-1)`,
/// so no cancellation occurs.
pub fn u_null_distribution(m: usize, n: usize) -> Vec<f64> {
    let (m, n) = if m <= n { (m, n) } else { (n, m) };
    // row[j] = distribution for (i, j), length i*j + 1.
    let mut row: Vec<Vec<f64>> = (0..=n).map(|_| vec![1.0]).collect();
    for i in 1..=m {
        let mut next: Vec<Vec<f64>> = Vec::with_capacity(n + 1);
        next.push(vec![1.0]); // (i, 0): U = 0 surely
        for j in 1..=n {
            let mut d = vec![0.0; i * j + 1];
            let a = i as f64 / (i + j) as f64;
            let b = j as f64 / (i + j) as f64;
            // x_i largest: contributes j to U.
            for (u, v) in row[j].iter().enumerate() {
                d[u + j] += a * v;
            }
            for (u, v) in next[j - 1].iter().enumerate() {
                d[u] += b * v;
            }
            next.push(d);
        }
        row = next;
    }
    row.pop().unwrap_or_else(|| vec![1.0])
}

/// Mid-ranks (1-based) of `v` and the tie group sizes.
fn midranks(v: &[f64]) -> (Vec<f64>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut ranks = vec![0.0; v.len()];
    let mut groups = Vec::new();
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = r;
        }
        groups.push(j - i + 1);
        i = j + 1;
    }
    (ranks, groups)
}

fn check_sample(v: &[f64], name: &str) -> Result<(), StatsError> {
    if v.is_empty() {
        return Err(StatsError::Invalid(format!(
            "the rank-sum test needs at least one value in {name}"
        )));
    }
    if v.iter().any(|x| !x.is_finite()) {
        return Err(StatsError::Invalid(format!(
            "{name} holds a missing or infinite value; drop missing values first"
        )));
    }
    Ok(())
}

/// Wilcoxon rank-sum test of `x` against `y` with the Hodges-Lehmann
/// estimate of `x - y` and its `conf_level` interval (e.g. 0.95).
pub fn rank_sum(
    x: &[f64],
    y: &[f64],
    method: Method,
    alternative: Alternative,
    conf_level: f64,
) -> Result<RankSum, StatsError> {
    check_sample(x, "the first sample")?;
    check_sample(y, "the second sample")?;
    if !(conf_level > 0.0 && conf_level < 1.0) {
        return Err(StatsError::Invalid(format!(
            "confidence level {conf_level} must lie strictly between 0 and 1"
        )));
    }
    let (n1, n2) = (x.len(), y.len());
    let pooled: Vec<f64> = x.iter().chain(y).copied().collect();
    let (ranks, groups) = midranks(&pooled);
    let ties = groups.iter().any(|&g| g > 1);
    let r1: f64 = ranks[..n1].iter().sum();
    let (f1, f2) = (n1 as f64, n2 as f64);
    let u1 = r1 - f1 * (f1 + 1.0) / 2.0;
    let u2 = f1 * f2 - u1;
    let use_exact = match method {
        Method::Exact if ties => {
            return Err(StatsError::Invalid(
                "the exact rank-sum distribution assumes no ties; the data have ties, use the asymptotic method".into(),
            ))
        }
        Method::Exact => true,
        Method::Asymptotic => false,
        Method::Auto => !ties && (n1 <= 8 || n2 <= 8),
    };
    let u_stat = match alternative {
        Alternative::TwoSided => u1.max(u2),
        Alternative::Greater => u1,
        Alternative::Less => u2,
    };
    let n = f1 + f2;
    let tie_term: f64 = groups.iter().map(|&t| (t as f64).powi(3) - t as f64).sum();
    let sigma = (f1 * f2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)))).sqrt();
    let mu = f1 * f2 / 2.0;
    let null = if use_exact {
        Some(u_null_distribution(n1, n2))
    } else {
        None
    };
    let (p, z) = match &null {
        Some(dist) => {
            // P(U >= u_stat); U is integer-valued without ties.
            let k = u_stat.round() as usize;
            let sf: f64 = dist.iter().skip(k).sum();
            let p = if alternative == Alternative::TwoSided {
                2.0 * sf
            } else {
                sf
            };
            (p.min(1.0), None)
        }
        None => {
            let z = if sigma > 0.0 {
                (u_stat - mu - 0.5) / sigma
            } else {
                f64::NAN
            };
            let p = if alternative == Alternative::TwoSided {
                2.0 * norm_sf(z)
            } else {
                norm_sf(z)
            };
            (p.min(1.0), Some(z))
        }
    };

    let mut diffs: Vec<f64> = Vec::with_capacity(n1 * n2);
    for a in x {
        for b in y {
            diffs.push(a - b);
        }
    }
    diffs.sort_by(f64::total_cmp);
    let nd = diffs.len();
    let hl = if nd % 2 == 1 {
        diffs[nd / 2]
    } else {
        0.5 * (diffs[nd / 2 - 1] + diffs[nd / 2])
    };
    let alpha2 = (1.0 - conf_level) / 2.0;
    let k = match &null {
        Some(dist) => {
            let mut cum = 0.0;
            let mut k = dist.len() - 1;
            for (u, pr) in dist.iter().enumerate() {
                cum += pr;
                // Guard against rounding just below alpha/2.
                if cum >= alpha2 * (1.0 - 1e-12) {
                    k = u;
                    break;
                }
            }
            k.max(1)
        }
        None => {
            let z = norm_upper_quantile(alpha2);
            let k = (mu - z * sigma - 0.5).ceil();
            if k.is_finite() && k >= 1.0 {
                k as usize
            } else {
                1
            }
        }
    };
    let k = k.min(nd.div_ceil(2));
    Ok(RankSum {
        n1,
        n2,
        u: u1,
        z,
        p,
        method: if use_exact {
            Method::Exact
        } else {
            Method::Asymptotic
        },
        alternative,
        ties,
        hl_estimate: hl,
        ci_low: diffs[k - 1],
        ci_high: diffs[nd - k],
        conf_level,
        ci_k: k,
        ci_exact: use_exact,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_distribution_sums_to_one_and_matches_counts() {
        // m = 2, n = 2: the 6 arrangements give U = 0,1,2,2,3,4.
        let d = u_null_distribution(2, 2);
        let want = [1.0, 1.0, 2.0, 1.0, 1.0].map(|c| c / 6.0);
        for (a, b) in d.iter().zip(want) {
            assert!((a - b).abs() < 1e-15);
        }
        let d = u_null_distribution(7, 12);
        assert!((d.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(d.len(), 85);
    }

    #[test]
    fn midranks_average_ties() {
        let (r, g) = midranks(&[3.0, 1.0, 3.0, 2.0]);
        assert_eq!(r, vec![3.5, 1.0, 3.5, 2.0]);
        assert_eq!(g, vec![1, 1, 2]);
    }

    #[test]
    fn refuses_bad_input() {
        assert!(rank_sum(&[], &[1.0], Method::Auto, Alternative::TwoSided, 0.95).is_err());
        assert!(rank_sum(
            &[f64::NAN],
            &[1.0],
            Method::Auto,
            Alternative::TwoSided,
            0.95
        )
        .is_err());
        assert!(rank_sum(
            &[1.0, 2.0],
            &[2.0],
            Method::Exact,
            Alternative::TwoSided,
            0.95
        )
        .is_err());
    }

    #[test]
    fn erfc_matches_scipy() {
        // scipy.special.erfc at 0.3, 1.0, 2.2, 3.0, 6.0, -1.0, 1.49, 1.51
        let want = [
            (0.3, 0.6713732405408726),
            (1.0, 0.15729920705028516),
            (2.2, 0.00186284629798189),
            (3.0, 2.2090496998585445e-05),
            (6.0, 2.1519736712498913e-17),
            (-1.0, 1.8427007929497148),
            (1.49, 0.035102135156795784),
            (1.51, 0.032723251871288356),
        ];
        for (x, v) in want {
            assert!(
                (erfc(x) - v).abs() < 2e-14 * v,
                "erfc({x}) = {} vs {v}",
                erfc(x)
            );
        }
    }

    #[test]
    fn normal_quantile() {
        // scipy.stats.norm.ppf(0.975) = 1.959963984540054
        let z = norm_upper_quantile(0.025);
        assert!(
            (z - 1.959963984540054).abs() < 1e-12,
            "{z} {}",
            norm_sf(1.959963984540054)
        );
    }
}
