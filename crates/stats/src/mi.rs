//! Multiple imputation of missing values by chained regression equations,
//! and Rubin's rules with the Barnard-Rubin (1999) small-sample degrees of
//! freedom.
//!
//! Each imputed variable is drawn from the posterior predictive distribution
//! of a Bayesian linear regression on its predictors (Rubin 1987, p. 167;
//! `mice.impute.norm`): fit least squares on the rows where the variable is
//! observed (`beta_hat`, residual sum of squares `S`, `df = n_obs - p`), draw
//! `sigma*^2 = S / g` with `g ~ chi^2(df)`, draw `beta* = beta_hat + sigma* R^-1 z`
//! (`X = QR`, `z ~ N(0, I)`, so `beta* ~ N(beta_hat, sigma*^2 (X'X)^-1)`), then
//! `y_mis = X_mis beta* + sigma* e`, `e ~ N(0, 1)`. With several variables the
//! equations are cycled (chained), starting from random draws of observed
//! values. Imputation `i` uses ChaCha20 seeded with `seed` on stream `i`, so
//! each data set is reproducible on its own.

use std::collections::BTreeMap;

use nalgebra::{DMatrix, DVector};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_distr::{ChiSquared, Distribution, StandardNormal};

use crate::dist::{t_two_sided_p, t_upper_quantile};
use crate::formula::{Formula, ModelSpec};
use crate::ols::{fit, CovType, OlsFit};
use crate::{Column, Frame, StatsError};

/// One imputation equation: `target` regressed on `predictors` (numeric or
/// text columns; text is treatment-coded as in formulas).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Equation {
    pub target: String,
    pub predictors: Vec<String>,
}

impl Equation {
    pub fn new(target: &str, predictors: &[&str]) -> Self {
        Equation {
            target: target.to_string(),
            predictors: predictors.iter().map(|s| s.to_string()).collect(),
        }
    }
    fn formula(&self) -> String {
        if self.predictors.is_empty() {
            format!("{} ~ 1", self.target)
        } else {
            format!("{} ~ {}", self.target, self.predictors.join(" + "))
        }
    }
}

/// Settings of an imputation run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MiSettings {
    /// Number of imputed data sets.
    pub m: usize,
    /// Cycles through the equations (1 is enough when only one variable is missing).
    pub iterations: usize,
    pub seed: u64,
}

fn numeric<'a>(frame: &'a Frame, name: &str) -> Result<&'a [f64], StatsError> {
    match frame.column(name) {
        Some(Column::Num(v)) => Ok(v),
        Some(Column::Text(_)) => Err(StatsError::NotNumeric {
            column: name.to_string(),
            context: "imputation by linear regression".to_string(),
        }),
        None => Err(StatsError::UnknownColumn(
            name.to_string(),
            frame.names().join(", "),
        )),
    }
}

/// Imputes the missing values of every equation's target, returning `m`
/// completed copies of `frame` (the originals where nothing is missing).
pub fn impute(
    frame: &Frame,
    equations: &[Equation],
    settings: &MiSettings,
) -> Result<Vec<Frame>, StatsError> {
    if settings.m == 0 {
        return Err(StatsError::Invalid(
            "multiple imputation needs m >= 1 imputations".into(),
        ));
    }
    let targets: Vec<&str> = equations.iter().map(|e| e.target.as_str()).collect();
    let mut missing: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for e in equations {
        let v = numeric(frame, &e.target)?;
        if e.predictors.iter().any(|p| p == &e.target) {
            return Err(StatsError::Invalid(format!(
                "`{}` cannot predict itself in its imputation equation",
                e.target
            )));
        }
        let idx: Vec<usize> = (0..v.len()).filter(|&i| v[i].is_nan()).collect();
        if idx.len() == v.len() {
            return Err(StatsError::Invalid(format!(
                "`{}` has no observed value to impute from",
                e.target
            )));
        }
        missing.insert(e.target.clone(), idx);
        for p in &e.predictors {
            let col = frame
                .column(p)
                .ok_or_else(|| StatsError::UnknownColumn(p.clone(), frame.names().join(", ")))?;
            let incomplete = (0..col.len()).any(|i| col.is_missing(i));
            if incomplete && !targets.contains(&p.as_str()) {
                return Err(StatsError::Invalid(format!(
                    "predictor `{p}` of `{}` has missing values but no imputation equation of its own; add one or drop the predictor",
                    e.target
                )));
            }
        }
    }
    let mut out = Vec::with_capacity(settings.m);
    for i in 0..settings.m {
        let mut rng = ChaCha20Rng::seed_from_u64(settings.seed);
        rng.set_stream(i as u64);
        let mut f = frame.clone();
        if missing.values().all(Vec::is_empty) {
            out.push(f);
            continue;
        }
        // Start from random draws of the observed values.
        for e in equations {
            let obs: Vec<f64> = numeric(frame, &e.target)?
                .iter()
                .copied()
                .filter(|v| !v.is_nan())
                .collect();
            if let Some(Column::Num(v)) = f.column_mut(&e.target) {
                for &r in &missing[&e.target] {
                    v[r] = *obs.choose(&mut rng).unwrap_or(&0.0);
                }
            }
        }
        for _ in 0..settings.iterations.max(1) {
            for e in equations {
                let rows = &missing[&e.target];
                if rows.is_empty() {
                    continue;
                }
                let draws = draw_equation(frame, &f, e, rows, &mut rng)?;
                if let Some(Column::Num(v)) = f.column_mut(&e.target) {
                    for (&r, d) in rows.iter().zip(draws) {
                        v[r] = d;
                    }
                }
            }
        }
        out.push(f);
    }
    Ok(out)
}

/// One Bayesian linear regression draw of `e.target` at `rows`, fitted on the
/// rows where the target was observed in `original`, predictors from `current`.
fn draw_equation(
    original: &Frame,
    current: &Frame,
    e: &Equation,
    rows: &[usize],
    rng: &mut ChaCha20Rng,
) -> Result<Vec<f64>, StatsError> {
    // Fitting frame: current predictors, target as observed (NaN where missing).
    let mut fit_frame = current.clone();
    let orig = numeric(original, &e.target)?.to_vec();
    if let Some(Column::Num(v)) = fit_frame.column_mut(&e.target) {
        v.clone_from(&orig);
    }
    let formula = Formula::parse(&e.formula())?;
    let spec = ModelSpec::new(&formula, &fit_frame, &BTreeMap::new())?;
    let d = spec.design(&fit_frame)?;
    let (n, p) = (d.nobs, d.ncols());
    if n <= p {
        return Err(StatsError::TooFewRows {
            nobs: n,
            params: p,
            dropped: d.dropped,
        });
    }
    let x = DMatrix::from_column_slice(n, p, &d.x);
    let y = DVector::from_column_slice(&d.y);
    let qr = x.clone().qr();
    let r = qr.r();
    for j in 0..p {
        if r[(j, j)].abs() <= 1e-10 * x.column(j).norm().max(f64::MIN_POSITIVE) {
            return Err(StatsError::RankDeficient(format!(
                "imputation of `{}`: `{}` is a linear combination of the columns before it",
                e.target, d.column_names[j]
            )));
        }
    }
    let qty = qr.q().transpose() * &y;
    let beta_hat = r
        .solve_upper_triangular(&qty)
        .ok_or_else(|| StatsError::RankDeficient(format!("imputation of `{}`", e.target)))?;
    let resid = &y - &x * &beta_hat;
    let ssr = resid.dot(&resid);
    let df = (n - p) as f64;
    let chi = ChiSquared::new(df).map_err(|err| StatsError::Invalid(err.to_string()))?;
    let g: f64 = chi.sample(rng);
    let sigma = (ssr / g).sqrt();
    let z = DVector::from_iterator(p, (0..p).map(|_| StandardNormal.sample(rng)));
    let rz = r
        .solve_upper_triangular(&z)
        .ok_or_else(|| StatsError::RankDeficient(format!("imputation of `{}`", e.target)))?;
    let beta = beta_hat + rz * sigma;
    // Prediction rows: the target filled with 0 so that no row is dropped.
    let mut pred_frame = current.clone();
    if let Some(Column::Num(v)) = pred_frame.column_mut(&e.target) {
        for &r_ in rows {
            v[r_] = 0.0;
        }
    }
    let dp = spec.design(&pred_frame)?;
    let mut out = Vec::with_capacity(rows.len());
    for &r_ in rows {
        let k = dp.rows.iter().position(|&q| q == r_).ok_or_else(|| {
            StatsError::Invalid(format!(
                "imputation of `{}`: row {} has a missing predictor",
                e.target,
                r_ + 1
            ))
        })?;
        let mean: f64 = (0..p).map(|j| dp.x[j * dp.nobs + k] * beta[j]).sum();
        let eps: f64 = StandardNormal.sample(rng);
        out.push(mean + sigma * eps);
    }
    Ok(out)
}

/// One parameter pooled by Rubin's rules.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Pooled {
    pub name: String,
    pub m: usize,
    /// Q-bar: mean of the estimates.
    pub estimate: f64,
    /// U-bar: mean within-imputation variance.
    pub within: f64,
    /// B: between-imputation variance.
    pub between: f64,
    /// T = U-bar + (1 + 1/m) B.
    pub total: f64,
    pub std_error: f64,
    /// r = (1 + 1/m) B / U-bar: relative increase in variance.
    pub riv: f64,
    /// lambda = (1 + 1/m) B / T: proportion of variance due to missingness.
    pub lambda: f64,
    /// Fraction of missing information, (r + 2/(nu + 3)) / (1 + r).
    pub fmi: f64,
    /// Complete-data degrees of freedom.
    pub df_complete: f64,
    /// Barnard-Rubin degrees of freedom.
    pub df: f64,
    pub t: f64,
    pub p: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// Rubin's rules for one scalar: `estimates` and their squared standard
/// errors `variances` from `m >= 2` imputations, complete-data degrees of
/// freedom `df_complete` (the residual df of the analysis model).
///
/// `nu_old = (m - 1) / lambda^2`, `nu_obs = (nu_com + 1) / (nu_com + 3) nu_com
/// (1 - lambda)`, `nu = nu_old nu_obs / (nu_old + nu_obs)` (Barnard & Rubin 1999;
/// `nu = nu_obs` when B = 0).
pub fn pool_scalar(
    name: &str,
    estimates: &[f64],
    variances: &[f64],
    df_complete: f64,
) -> Result<Pooled, StatsError> {
    let m = estimates.len();
    if m < 2 || variances.len() != m {
        return Err(StatsError::Invalid(format!(
            "Rubin's rules need at least 2 imputations with one variance per estimate (got {m} estimates, {} variances)",
            variances.len()
        )));
    }
    if df_complete.is_nan() || df_complete <= 0.0 {
        return Err(StatsError::Invalid(
            "complete-data degrees of freedom must be positive".into(),
        ));
    }
    let mf = m as f64;
    let qbar = estimates.iter().sum::<f64>() / mf;
    let ubar = variances.iter().sum::<f64>() / mf;
    let b = estimates.iter().map(|q| (q - qbar).powi(2)).sum::<f64>() / (mf - 1.0);
    let t = ubar + (1.0 + 1.0 / mf) * b;
    let riv = (1.0 + 1.0 / mf) * b / ubar;
    let lambda = (1.0 + 1.0 / mf) * b / t;
    let nu_obs = (df_complete + 1.0) / (df_complete + 3.0) * df_complete * (1.0 - lambda);
    let df = if lambda > 0.0 {
        let nu_old = (mf - 1.0) / (lambda * lambda);
        nu_old * nu_obs / (nu_old + nu_obs)
    } else {
        nu_obs
    };
    let se = t.sqrt();
    let tstat = qbar / se;
    let q = t_upper_quantile(0.025, df);
    Ok(Pooled {
        name: name.to_string(),
        m,
        estimate: qbar,
        within: ubar,
        between: b,
        total: t,
        std_error: se,
        riv,
        lambda,
        fmi: (riv + 2.0 / (df + 3.0)) / (1.0 + riv),
        df_complete,
        df,
        t: tstat,
        p: t_two_sided_p(tstat, df),
        ci_low: qbar - q * se,
        ci_high: qbar + q * se,
    })
}

/// A joint test of several coefficients pooled over imputations: the D1
/// statistic (Li, Raghunathan & Rubin 1991; van Buuren, FIMD 2nd ed., 5.3.1).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PooledWald {
    pub columns: Vec<String>,
    /// D1 = Qbar' Ubar^-1 Qbar / (k (1 + r)).
    pub d1: f64,
    /// Average relative increase in variance, r = (1 + 1/m) tr(B Ubar^-1) / k.
    pub riv: f64,
    pub df_num: f64,
    /// Denominator df: with t = k (m - 1), `4 + (t - 4) (1 + (1 - 2/t)/r)^2`
    /// when t > 4, else `t (1 + 1/k) (1 + 1/r)^2 / 2`.
    pub df_den: f64,
    pub p: f64,
}

/// The D1 test that the coefficients of design columns `cols` are all zero,
/// from fits of the same model on `m >= 2` imputed data sets.
pub fn pool_wald(fits: &[OlsFit], cols: &[usize]) -> Result<PooledWald, StatsError> {
    let first = fits
        .first()
        .ok_or_else(|| StatsError::Invalid("no fits to pool".into()))?;
    let p = first.terms.len();
    if cols.is_empty() || cols.iter().any(|&c| c >= p) {
        return Err(StatsError::Invalid(
            "the pooled Wald test needs model columns".into(),
        ));
    }
    let mut ests = Vec::with_capacity(fits.len());
    let mut covs = Vec::with_capacity(fits.len());
    for f in fits {
        if f.terms.len() != p {
            return Err(StatsError::Invalid(
                "the imputed data sets gave models with different terms".into(),
            ));
        }
        ests.push(
            cols.iter()
                .map(|&i| f.terms[i].estimate)
                .collect::<Vec<_>>(),
        );
        covs.push(
            cols.iter()
                .flat_map(|&i| cols.iter().map(move |&j| (i, j)))
                .map(|(i, j)| f.cov[i * p + j])
                .collect::<Vec<_>>(),
        );
    }
    let names = cols.iter().map(|&c| first.terms[c].name.clone()).collect();
    pool_wald_raw(names, &ests, &covs)
}

/// D1 from per-imputation estimate vectors (length k) and covariance
/// matrices (k x k, row-major).
pub fn pool_wald_raw(
    columns: Vec<String>,
    estimates: &[Vec<f64>],
    covariances: &[Vec<f64>],
) -> Result<PooledWald, StatsError> {
    let m = estimates.len();
    let k = columns.len();
    if m < 2
        || covariances.len() != m
        || estimates.iter().any(|e| e.len() != k)
        || covariances.iter().any(|c| c.len() != k * k)
    {
        return Err(StatsError::Invalid(format!(
            "the pooled Wald test needs >= 2 imputations, each with {k} estimates and a {k} x {k} covariance"
        )));
    }
    let mf = m as f64;
    let mut qbar = DVector::<f64>::zeros(k);
    let mut ubar = DMatrix::<f64>::zeros(k, k);
    for (e, c) in estimates.iter().zip(covariances) {
        for a in 0..k {
            qbar[a] += e[a] / mf;
            for b in 0..k {
                ubar[(a, b)] += c[a * k + b] / mf;
            }
        }
    }
    let mut bmat = DMatrix::<f64>::zeros(k, k);
    for e in estimates {
        let d = DVector::from_iterator(k, (0..k).map(|a| e[a] - qbar[a]));
        bmat += &d * d.transpose() / (mf - 1.0);
    }
    let uinv = ubar.clone().try_inverse().ok_or_else(|| {
        StatsError::Invalid("the pooled covariance of the tested terms is singular".into())
    })?;
    let kf = k as f64;
    let riv = (1.0 + 1.0 / mf) * (&bmat * &uinv).trace() / kf;
    let d1 = qbar.dot(&(&uinv * &qbar)) / (kf * (1.0 + riv));
    let t = kf * (mf - 1.0);
    let df_den = if riv <= 0.0 {
        f64::INFINITY
    } else if t > 4.0 {
        4.0 + (t - 4.0) * (1.0 + (1.0 - 2.0 / t) / riv).powi(2)
    } else {
        t * (1.0 + 1.0 / kf) * (1.0 + 1.0 / riv).powi(2) / 2.0
    };
    let pval = if df_den.is_finite() {
        crate::dist::f_sf(d1, kf, df_den)
    } else {
        // F(k, inf) = chi2(k) / k.
        statrs::function::gamma::checked_gamma_ur(kf / 2.0, kf * d1 / 2.0).unwrap_or(f64::NAN)
    };
    Ok(PooledWald {
        columns,
        d1,
        riv,
        df_num: kf,
        df_den,
        p: pval,
    })
}

/// Pools every coefficient of fits of the same model on the imputed data sets.
pub fn pool_fits(fits: &[OlsFit]) -> Result<Vec<Pooled>, StatsError> {
    let first = fits
        .first()
        .ok_or_else(|| StatsError::Invalid("no fits to pool".into()))?;
    let names: Vec<&str> = first.terms.iter().map(|c| c.name.as_str()).collect();
    for f in fits {
        let these: Vec<&str> = f.terms.iter().map(|c| c.name.as_str()).collect();
        if these != names {
            return Err(StatsError::Invalid(
                "the imputed data sets gave models with different terms (a level missing in one?)"
                    .into(),
            ));
        }
    }
    (0..names.len())
        .map(|j| {
            let est: Vec<f64> = fits.iter().map(|f| f.terms[j].estimate).collect();
            let var: Vec<f64> = fits.iter().map(|f| f.terms[j].std_error.powi(2)).collect();
            pool_scalar(names[j], &est, &var, first.df_resid)
        })
        .collect()
}

/// Imputes, fits `formula` on each completed data set and pools.
pub fn analyse(
    frame: &Frame,
    formula: &str,
    reference: &BTreeMap<String, String>,
    cov: CovType,
    equations: &[Equation],
    settings: &MiSettings,
) -> Result<(Vec<Pooled>, Vec<OlsFit>), StatsError> {
    if settings.m < 2 {
        return Err(StatsError::Invalid(
            "pooling by Rubin's rules needs m >= 2 imputations".into(),
        ));
    }
    let frames = impute(frame, equations, settings)?;
    let fits = frames
        .iter()
        .map(|f| crate::formula::design(formula, f, reference).and_then(|d| fit(&d, cov)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((pool_fits(&fits)?, fits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_refuses_one_imputation() {
        assert!(pool_scalar("b", &[1.0], &[0.1], 10.0).is_err());
        assert!(pool_scalar("b", &[1.0, 2.0], &[0.1], 10.0).is_err());
    }

    #[test]
    fn no_between_variance_gives_nu_obs() {
        let p = pool_scalar("b", &[2.0, 2.0, 2.0], &[0.25, 0.25, 0.25], 20.0).unwrap();
        assert_eq!(p.between, 0.0);
        assert!((p.df - 21.0 / 23.0 * 20.0).abs() < 1e-12);
    }
}
