//! Effects on binary outcomes: marginal risks by standardisation over a
//! fitted logistic model (risk difference, risk ratio and odds ratio with
//! sandwich standard errors), unadjusted risk differences with Newcombe's
//! hybrid score and Miettinen-Nurminen intervals, the Cochran-Mantel-Haenszel
//! test and common odds ratio over strata, and Fisher's exact test.
//!
//! **Standardisation** (g-computation; Ge et al., Drug Inf J 2011; FDA
//! guidance on covariate adjustment, 2023): `p_a = mean_i expit(x_i(a)' b)`
//! with `x_i(a)` participant i's design row with the arm set to `a`. Its
//! standard error comes from the influence function of the stacked
//! estimating equations (the logistic score and `mu_i(a) - p_a`),
//! `IF_i(a) = mu_i(a) - p_a + G_a' (X'WX)^{-1} x_i (y_i - mu_i)` with
//! `G_a = sum_i mu_i(a) (1 - mu_i(a)) x_i(a)`, and `Var(p_a) = sum IF^2 / n^2`:
//! the delta method with the sandwich, which also counts the sampling of the
//! covariates (the model-based delta method of Ge et al. treats them as
//! fixed and is smaller). Contrasts use `IF_a - IF_0` (difference),
//! `IF_a / p_a - IF_0 / p_0` (log risk ratio) and
//! `IF_a / (p_a (1 - p_a)) - IF_0 / (p_0 (1 - p_0))` (log odds ratio).

#![allow(clippy::needless_range_loop)]

use crate::formula::{Design, ModelSpec};
use crate::frame::{Column, Frame};
use crate::glm::{Family, GlmFit, Z_975};
use crate::mvt::norm_cdf;
use crate::StatsError;

/// A standardised risk.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MarginalRisk {
    pub level: String,
    pub risk: f64,
    pub std_error: f64,
}

/// One level against the reference, on three scales.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MarginalContrast {
    pub level: String,
    pub reference: String,
    pub risk_difference: f64,
    pub rd_std_error: f64,
    pub rd_ci_low: f64,
    pub rd_ci_high: f64,
    pub rd_z: f64,
    pub rd_p: f64,
    pub risk_ratio: f64,
    pub log_rr_std_error: f64,
    pub rr_ci_low: f64,
    pub rr_ci_high: f64,
    pub odds_ratio: f64,
    pub log_or_std_error: f64,
    pub or_ci_low: f64,
    pub or_ci_high: f64,
}

/// Standardised risks and contrasts against the first level.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Marginal {
    pub risks: Vec<MarginalRisk>,
    pub contrasts: Vec<MarginalContrast>,
    /// Covariance of the risk differences, `k * k` row-major (k contrasts).
    pub rd_cov: Vec<f64>,
}

/// Standardises `fit` (a binomial ML fit of design `x`/`y` with `nobs`
/// rows, column-major) over `levels`: (name, the design with every row set
/// to that level, column-major with the same columns). The first level is
/// the reference.
pub fn standardise(
    fit: &GlmFit,
    x: &[f64],
    y: &[f64],
    offset: Option<&[f64]>,
    levels: &[(String, Vec<f64>)],
) -> Result<Marginal, StatsError> {
    if fit.family != Family::Binomial || fit.firth {
        return Err(StatsError::Invalid(
            "marginal risks need a maximum-likelihood logistic fit (not Firth)".into(),
        ));
    }
    if let Some(s) = &fit.separation {
        return Err(StatsError::Invalid(format!("no marginal risks: {s}")));
    }
    let p = fit.terms.len();
    let n = y.len();
    if levels.len() < 2 || x.len() != n * p || levels.iter().any(|(_, m)| m.len() != n * p) {
        return Err(StatsError::Invalid(
            "standardisation needs two or more levels with designs of the model's shape".into(),
        ));
    }
    let beta: Vec<f64> = fit.terms.iter().map(|t| t.estimate).collect();
    let off = |i: usize| offset.map_or(0.0, |o| o[i]);
    // C x_i (y_i - mu_i), computed once: `lev[i]` is p-vector.
    let mut cx = vec![0.0; n * p];
    for i in 0..n {
        let r = y[i] - fit.mu[i];
        for a in 0..p {
            let mut s = 0.0;
            for b in 0..p {
                s += fit.cov[a * p + b] * x[b * n + i];
            }
            cx[i * p + a] = s * r;
        }
    }
    let mut risks = Vec::with_capacity(levels.len());
    let mut ifs: Vec<Vec<f64>> = Vec::with_capacity(levels.len());
    for (name, xa) in levels {
        let mut mu_a = vec![0.0; n];
        let mut g = vec![0.0; p];
        for i in 0..n {
            let mut eta = off(i);
            for j in 0..p {
                eta += beta[j] * xa[j * n + i];
            }
            let m = 1.0 / (1.0 + (-eta).exp());
            mu_a[i] = m;
            for j in 0..p {
                g[j] += m * (1.0 - m) * xa[j * n + i];
            }
        }
        let pa = mu_a.iter().sum::<f64>() / n as f64;
        let inf: Vec<f64> = (0..n)
            .map(|i| {
                let corr: f64 = (0..p).map(|j| g[j] * cx[i * p + j]).sum();
                mu_a[i] - pa + corr
            })
            .collect();
        let var = inf.iter().map(|v| v * v).sum::<f64>() / (n as f64 * n as f64);
        risks.push(MarginalRisk {
            level: name.clone(),
            risk: pa,
            std_error: var.sqrt(),
        });
        ifs.push(inf);
    }
    let nn = n as f64 * n as f64;
    let (p0, if0) = (risks[0].risk, &ifs[0]);
    let k = levels.len() - 1;
    let mut contrasts = Vec::with_capacity(k);
    let mut rd_if: Vec<Vec<f64>> = Vec::with_capacity(k);
    for a in 1..levels.len() {
        let pa = risks[a].risk;
        let ia = &ifs[a];
        let rd: Vec<f64> = ia.iter().zip(if0).map(|(u, v)| u - v).collect();
        let lrr: Vec<f64> = ia.iter().zip(if0).map(|(u, v)| u / pa - v / p0).collect();
        let lor: Vec<f64> = ia
            .iter()
            .zip(if0)
            .map(|(u, v)| u / (pa * (1.0 - pa)) - v / (p0 * (1.0 - p0)))
            .collect();
        let se = |v: &[f64]| (v.iter().map(|x| x * x).sum::<f64>() / nn).sqrt();
        let (rd_se, rr_se, or_se) = (se(&rd), se(&lrr), se(&lor));
        let d = pa - p0;
        let rr = pa / p0;
        let or = (pa / (1.0 - pa)) / (p0 / (1.0 - p0));
        let z = d / rd_se;
        contrasts.push(MarginalContrast {
            level: levels[a].0.clone(),
            reference: levels[0].0.clone(),
            risk_difference: d,
            rd_std_error: rd_se,
            rd_ci_low: d - Z_975 * rd_se,
            rd_ci_high: d + Z_975 * rd_se,
            rd_z: z,
            rd_p: 2.0 * norm_cdf(-z.abs()),
            risk_ratio: rr,
            log_rr_std_error: rr_se,
            rr_ci_low: (rr.ln() - Z_975 * rr_se).exp(),
            rr_ci_high: (rr.ln() + Z_975 * rr_se).exp(),
            odds_ratio: or,
            log_or_std_error: or_se,
            or_ci_low: (or.ln() - Z_975 * or_se).exp(),
            or_ci_high: (or.ln() + Z_975 * or_se).exp(),
        });
        rd_if.push(rd);
    }
    let mut rd_cov = vec![0.0; k * k];
    for a in 0..k {
        for b in 0..k {
            rd_cov[a * k + b] = rd_if[a]
                .iter()
                .zip(&rd_if[b])
                .map(|(u, v)| u * v)
                .sum::<f64>()
                / nn;
        }
    }
    Ok(Marginal {
        risks,
        contrasts,
        rd_cov,
    })
}

/// Designs of `d`'s rows with `var` set to each of `levels` (for
/// [`standardise`]): the frame is rebuilt with the variable replaced, so
/// interactions with it are recoded too.
pub fn counterfactual_designs(
    spec: &ModelSpec,
    frame: &Frame,
    d: &Design,
    var: &str,
    levels: &[String],
) -> Result<Vec<(String, Vec<f64>)>, StatsError> {
    let n = frame.nrows();
    let mut out = Vec::with_capacity(levels.len());
    for lv in levels {
        let mut f = frame.clone();
        match f.column_mut(var) {
            Some(c @ Column::Text(_)) => *c = Column::Text(vec![lv.clone(); n]),
            Some(Column::Num(_)) => {
                return Err(StatsError::Invalid(format!(
                    "`{var}` is numeric; marginal risks need a categorical arm variable"
                )))
            }
            None => {
                return Err(StatsError::UnknownColumn(
                    var.to_string(),
                    frame.names().join(", "),
                ))
            }
        }
        let cd = spec.design(&f)?;
        let pos: std::collections::HashMap<usize, usize> =
            cd.rows.iter().enumerate().map(|(k, r)| (*r, k)).collect();
        let p = cd.ncols();
        let mut x = vec![0.0; d.nobs * p];
        for (k, r) in d.rows.iter().enumerate() {
            let Some(&src) = pos.get(r) else {
                return Err(StatsError::Invalid(format!(
                    "row {} drops out when `{var}` is set to `{lv}`",
                    r + 1
                )));
            };
            for j in 0..p {
                x[j * d.nobs + k] = cd.x[j * cd.nobs + src];
            }
        }
        out.push((lv.clone(), x));
    }
    Ok(out)
}

/// An interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

fn check_counts(x: u64, n: u64, what: &str) -> Result<(), StatsError> {
    if n == 0 || x > n {
        return Err(StatsError::Invalid(format!(
            "{what}: {x} events among {n} participants is not a proportion; each arm needs at \
             least one participant and no more events than participants"
        )));
    }
    Ok(())
}

/// Wilson score interval of one proportion.
pub fn wilson(x: u64, n: u64, z: f64) -> Interval {
    let (x, n) = (x as f64, n as f64);
    let p = x / n;
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Interval {
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
    }
}

/// Newcombe's hybrid score interval (1998, method 10) for `x1/n1 - x2/n2`.
pub fn newcombe_interval(x1: u64, n1: u64, x2: u64, n2: u64) -> Result<Interval, StatsError> {
    check_counts(x1, n1, "first group")?;
    check_counts(x2, n2, "second group")?;
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let (a, b) = (wilson(x1, n1, Z_975), wilson(x2, n2, Z_975));
    let d = p1 - p2;
    Ok(Interval {
        low: d - ((p1 - a.low).powi(2) + (b.high - p2).powi(2)).sqrt(),
        high: d + ((a.high - p1).powi(2) + (p2 - b.low).powi(2)).sqrt(),
    })
}

/// Maximum-likelihood (p1, p2) under the constraint `p1 - p2 = delta`
/// (Miettinen and Nurminen 1985, closed form of the cubic).
fn constrained_mle(p1: f64, p2: f64, n1: f64, n2: f64, delta: f64) -> (f64, f64) {
    let theta = n2 / n1;
    let a = 1.0 + theta;
    let b = -(1.0 + theta + p1 + theta * p2 + delta * (theta + 2.0));
    let c = delta * delta + delta * (2.0 * p1 + theta + 1.0) + p1 + theta * p2;
    let d = -p1 * delta * (1.0 + delta);
    let v = b.powi(3) / (27.0 * a.powi(3)) - b * c / (6.0 * a * a) + d / (2.0 * a);
    let u0 = (b * b / (9.0 * a * a) - c / (3.0 * a)).max(0.0).sqrt();
    let u = if v < 0.0 { -u0 } else { u0 };
    let ratio = if u == 0.0 {
        0.0
    } else {
        (v / u.powi(3)).clamp(-1.0, 1.0)
    };
    let w = (std::f64::consts::PI + ratio.acos()) / 3.0;
    let q1 = (2.0 * u * w.cos() - b / (3.0 * a)).clamp(0.0, 1.0);
    let q2 = (q1 - delta).clamp(0.0, 1.0);
    (q1, q2)
}

/// Miettinen-Nurminen score statistic for `p1 - p2 = delta`.
fn mn_score(x1: u64, n1: u64, x2: u64, n2: u64, delta: f64) -> f64 {
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let (p1, p2) = (x1 as f64 / n1f, x2 as f64 / n2f);
    let (q1, q2) = constrained_mle(p1, p2, n1f, n2f, delta);
    let var = (q1 * (1.0 - q1) / n1f + q2 * (1.0 - q2) / n2f) * (n1f + n2f) / (n1f + n2f - 1.0);
    let diff = p1 - p2 - delta;
    if var <= 0.0 {
        if diff == 0.0 {
            0.0
        } else {
            diff.signum() * f64::INFINITY
        }
    } else {
        diff / var.sqrt()
    }
}

/// Miettinen-Nurminen score interval for `x1/n1 - x2/n2` (with the
/// `N / (N - 1)` variance factor), by bisection on each side.
pub fn miettinen_nurminen_interval(
    x1: u64,
    n1: u64,
    x2: u64,
    n2: u64,
) -> Result<Interval, StatsError> {
    check_counts(x1, n1, "first group")?;
    check_counts(x2, n2, "second group")?;
    let d = x1 as f64 / n1 as f64 - x2 as f64 / n2 as f64;
    // score(delta) decreases in delta; find where it crosses +z and -z.
    let solve = |target: f64, mut lo: f64, mut hi: f64| {
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if mn_score(x1, n1, x2, n2, mid) > target {
                lo = mid;
            } else {
                hi = mid;
            }
            if hi - lo < 1e-15 {
                break;
            }
        }
        0.5 * (lo + hi)
    };
    let low = if mn_score(x1, n1, x2, n2, -1.0 + 1e-15) <= Z_975 {
        -1.0
    } else {
        solve(Z_975, -1.0 + 1e-15, d)
    };
    let high = if mn_score(x1, n1, x2, n2, 1.0 - 1e-15) >= -Z_975 {
        1.0
    } else {
        solve(-Z_975, d, 1.0 - 1e-15)
    };
    Ok(Interval { low, high })
}

/// One stratum's 2x2 table: events and non-events in the treated and the
/// control group.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Table2 {
    pub treated_events: f64,
    pub treated_non_events: f64,
    pub control_events: f64,
    pub control_non_events: f64,
}

/// Cochran-Mantel-Haenszel test and the Mantel-Haenszel common odds ratio.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Cmh {
    pub strata: usize,
    pub statistic: f64,
    pub p: f64,
    pub odds_ratio: f64,
    /// Robins-Breslow-Greenland standard error of the log odds ratio.
    pub log_or_std_error: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// The CMH test (no continuity correction, as statsmodels'
/// `StratifiedTable.test_null_odds()` and R's `mantelhaen.test(correct =
/// FALSE)`) and the MH odds ratio with the Robins-Breslow-Greenland interval.
pub fn cmh(tables: &[Table2]) -> Result<Cmh, StatsError> {
    let (mut sa, mut se, mut sv) = (0.0, 0.0, 0.0);
    let (mut r, mut s) = (0.0, 0.0);
    let (mut pr, mut psqr, mut qs) = (0.0, 0.0, 0.0);
    let mut used = 0;
    for t in tables {
        let (a, b, c, d) = (
            t.treated_events,
            t.treated_non_events,
            t.control_events,
            t.control_non_events,
        );
        if [a, b, c, d].iter().any(|v| !(*v >= 0.0 && v.is_finite())) {
            return Err(StatsError::Invalid(
                "CMH: every cell must be a count of 0 or more".into(),
            ));
        }
        let n = a + b + c + d;
        if n < 2.0 {
            continue;
        }
        used += 1;
        sa += a;
        se += (a + b) * (a + c) / n;
        sv += (a + b) * (c + d) * (a + c) * (b + d) / (n * n * (n - 1.0));
        let (ri, si) = (a * d / n, b * c / n);
        let (pi, qi) = ((a + d) / n, (b + c) / n);
        r += ri;
        s += si;
        pr += pi * ri;
        psqr += pi * si + qi * ri;
        qs += qi * si;
    }
    if used == 0 || sv <= 0.0 {
        return Err(StatsError::Invalid(
            "CMH: no stratum has both groups and both outcomes; the test is undefined".into(),
        ));
    }
    let statistic = (sa - se).powi(2) / sv;
    let or = r / s;
    let var = pr / (2.0 * r * r) + psqr / (2.0 * r * s) + qs / (2.0 * s * s);
    let sel = var.sqrt();
    Ok(Cmh {
        strata: used,
        statistic,
        p: crate::glm::chi2_sf(statistic, 1.0),
        odds_ratio: or,
        log_or_std_error: sel,
        ci_low: (or.ln() - Z_975 * sel).exp(),
        ci_high: (or.ln() + Z_975 * sel).exp(),
    })
}

/// Fisher's exact test of a 2x2 table `[[a, b], [c, d]]`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Fisher {
    /// The sample odds ratio `ad / bc` (as scipy.stats.fisher_exact).
    pub odds_ratio: f64,
    /// Two-sided p: the probability of tables no more likely than the one
    /// observed, under the hypergeometric with the margins fixed.
    pub p: f64,
}

fn ln_choose(n: u64, k: u64) -> f64 {
    use statrs::function::gamma::ln_gamma;
    ln_gamma(n as f64 + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma((n - k) as f64 + 1.0)
}

/// Fisher's exact test (two-sided, scipy's convention: tables whose
/// probability is at most the observed one times 1 + 1e-7).
pub fn fisher_exact(a: u64, b: u64, c: u64, d: u64) -> Result<Fisher, StatsError> {
    let (r1, r2, c1) = (a + b, c + d, a + c);
    let n = r1 + r2;
    if n == 0 {
        return Err(StatsError::Invalid("Fisher: the table is empty".into()));
    }
    if n > 10_000_000 {
        return Err(StatsError::Invalid(
            "Fisher: more than 10 million participants; use the chi-squared test".into(),
        ));
    }
    let lo = c1.saturating_sub(r2);
    let hi = c1.min(r1);
    let lpmf = |k: u64| ln_choose(r1, k) + ln_choose(r2, c1 - k) - ln_choose(n, c1);
    let obs = lpmf(a);
    let cut = obs + (1.0f64 + 1e-7).ln();
    let mut p = 0.0;
    for k in lo..=hi {
        let l = lpmf(k);
        if l <= cut {
            p += l.exp();
        }
    }
    let (af, bf, cf, df) = (a as f64, b as f64, c as f64, d as f64);
    let odds_ratio = if b == 0 || c == 0 {
        if a == 0 || d == 0 {
            f64::NAN
        } else {
            f64::INFINITY
        }
    } else {
        af * df / (bf * cf)
    };
    Ok(Fisher {
        odds_ratio,
        p: p.min(1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_and_newcombe_closed_forms() {
        // Newcombe (1998) Table II example (a): 56/70 vs 48/80 gives
        // -> 0.0524 to 0.3339 for the hybrid score method 10.
        let i = newcombe_interval(56, 70, 48, 80).unwrap();
        assert!(
            (i.low - 0.0524).abs() < 5e-5 && (i.high - 0.3339).abs() < 5e-5,
            "{i:?}"
        );
        // Same table, Miettinen-Nurminen (Newcombe's method 6): 0.0528 to 0.3382.
        let m = miettinen_nurminen_interval(56, 70, 48, 80).unwrap();
        assert!(
            (m.low - 0.0528).abs() < 5e-5 && (m.high - 0.3382).abs() < 5e-5,
            "{m:?}"
        );
    }

    #[test]
    fn fisher_symmetric_table() {
        // scipy.stats.fisher_exact([[3, 1], [1, 3]]) = (9.0, 0.48571428571428527)
        let f = fisher_exact(3, 1, 1, 3).unwrap();
        assert_eq!(f.odds_ratio, 9.0);
        assert!((f.p - 0.485_714_285_714_285_27).abs() < 1e-12);
    }
}
