//! Ordinary least squares by Householder QR, with classical or
//! heteroskedasticity-consistent (HC0-HC3) covariance, t inference and Wald
//! F tests. Conventions follow statsmodels (`OLS(...).fit(cov_type=...,
//! use_t=True)`): R^2 centred when the model has an intercept.

use crate::dist::{f_sf, t_two_sided_p, t_upper_quantile};
use crate::formula::{Design, TermInfo};
use crate::StatsError;

/// Covariance estimator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CovType {
    NonRobust,
    Hc0,
    Hc1,
    Hc2,
    Hc3,
}

/// One coefficient row.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Coef {
    pub name: String,
    pub estimate: f64,
    pub std_error: f64,
    pub t: f64,
    pub p: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// A fitted model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OlsFit {
    pub nobs: usize,
    pub df_resid: f64,
    pub r_squared: f64,
    pub adj_r_squared: f64,
    pub sigma: f64,
    pub f_stat: Option<f64>,
    pub f_p: Option<f64>,
    pub dropped_rows: usize,
    pub cov_type: CovType,
    pub terms: Vec<Coef>,
    #[serde(skip)]
    pub cov: Vec<f64>,
    #[serde(skip)]
    pub term_info: Vec<TermInfo>,
}

/// A joint Wald F test.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WaldTest {
    pub columns: Vec<String>,
    pub f: f64,
    pub df_num: f64,
    pub df_den: f64,
    pub p: f64,
}

/// Fits `d` by least squares.
pub fn fit(d: &Design, cov_type: CovType) -> Result<OlsFit, StatsError> {
    let (n, p) = (d.nobs, d.ncols());
    if n <= p {
        return Err(StatsError::TooFewRows {
            nobs: n,
            params: p,
            dropped: d.dropped,
        });
    }
    let mut a = d.x.clone();
    let mut qy = d.y.clone();
    let mut taus = vec![0.0; p];
    // Householder QR without pivoting; a column whose remainder vanishes is aliased.
    for j in 0..p {
        let orig: f64 = d.col(j).iter().map(|v| v * v).sum::<f64>().sqrt();
        let col = &mut a[j * n..(j + 1) * n];
        let norm: f64 = col[j..].iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm <= 1e-10 * orig.max(f64::MIN_POSITIVE) || orig == 0.0 {
            return Err(StatsError::RankDeficient(format!(
                "`{}` is a linear combination of the columns before it",
                d.column_names[j]
            )));
        }
        let alpha = if col[j] > 0.0 { -norm } else { norm };
        col[j] -= alpha;
        let vnorm2: f64 = col[j..].iter().map(|v| v * v).sum();
        taus[j] = 2.0 / vnorm2;
        let v: Vec<f64> = col[j..].to_vec();
        col[j] = alpha;
        for v_i in col[j + 1..].iter_mut() {
            *v_i = 0.0;
        }
        let apply = |w: &mut [f64]| {
            let s: f64 = v.iter().zip(&w[j..]).map(|(a, b)| a * b).sum::<f64>() * taus[j];
            for (wi, vi) in w[j..].iter_mut().zip(&v) {
                *wi -= s * vi;
            }
        };
        for k in j + 1..p {
            apply(&mut a[k * n..(k + 1) * n]);
        }
        apply(&mut qy);
    }
    let r = |i: usize, j: usize| a[j * n + i];
    // Back substitution and R^{-1}.
    let mut beta = vec![0.0; p];
    for i in (0..p).rev() {
        let s: f64 = (i + 1..p).map(|k| r(i, k) * beta[k]).sum();
        beta[i] = (qy[i] - s) / r(i, i);
    }
    let mut rinv = vec![0.0; p * p]; // row-major upper
    for c in 0..p {
        for i in (0..=c).rev() {
            let e = if i == c { 1.0 } else { 0.0 };
            let s: f64 = (i + 1..=c).map(|k| r(i, k) * rinv[k * p + c]).sum();
            rinv[i * p + c] = (e - s) / r(i, i);
        }
    }
    let resid: Vec<f64> = (0..n)
        .map(|i| d.y[i] - (0..p).map(|j| d.x[j * n + i] * beta[j]).sum::<f64>())
        .collect();
    let ssr: f64 = resid.iter().map(|e| e * e).sum();
    let df_resid = (n - p) as f64;
    let s2 = ssr / df_resid;
    // Q1 = X R^{-1} (n x p, row-major).
    let mut q1 = vec![0.0; n * p];
    for i in 0..n {
        for c in 0..p {
            q1[i * p + c] = (0..=c).map(|k| d.x[k * n + i] * rinv[k * p + c]).sum();
        }
    }
    let mut meat = vec![0.0; p * p];
    for i in 0..n {
        let h: f64 = (0..p).map(|c| q1[i * p + c].powi(2)).sum();
        let e2 = resid[i] * resid[i];
        let w = match cov_type {
            CovType::NonRobust => s2,
            CovType::Hc0 => e2,
            CovType::Hc1 => e2 * n as f64 / df_resid,
            CovType::Hc2 => e2 / (1.0 - h),
            CovType::Hc3 => e2 / ((1.0 - h) * (1.0 - h)),
        };
        if matches!(cov_type, CovType::NonRobust) {
            continue;
        }
        if 1.0 - h <= 1e-12 {
            return Err(StatsError::Invalid(format!(
                "robust covariance undefined: row {} has leverage 1 (a level observed once?)",
                d.rows[i] + 1
            )));
        }
        for a_ in 0..p {
            for b in 0..p {
                meat[a_ * p + b] += w * q1[i * p + a_] * q1[i * p + b];
            }
        }
    }
    if matches!(cov_type, CovType::NonRobust) {
        for c in 0..p {
            meat[c * p + c] = s2;
        }
    }
    // cov = R^{-1} meat R^{-T}.
    let mut cov = vec![0.0; p * p];
    for i in 0..p {
        for j in 0..p {
            let mut s = 0.0;
            for k in i..p {
                for l in j..p {
                    s += rinv[i * p + k] * meat[k * p + l] * rinv[j * p + l];
                }
            }
            cov[i * p + j] = s;
        }
    }
    let q = t_upper_quantile(0.025, df_resid);
    let terms = (0..p)
        .map(|j| {
            let se = cov[j * p + j].sqrt();
            let t = beta[j] / se;
            Coef {
                name: d.column_names[j].clone(),
                estimate: beta[j],
                std_error: se,
                t,
                p: t_two_sided_p(t, df_resid),
                ci_low: beta[j] - q * se,
                ci_high: beta[j] + q * se,
            }
        })
        .collect();
    let k_const = usize::from(d.has_intercept);
    let ybar = d.y.iter().sum::<f64>() / n as f64;
    let tss: f64 = if d.has_intercept {
        d.y.iter().map(|v| (v - ybar).powi(2)).sum()
    } else {
        d.y.iter().map(|v| v * v).sum()
    };
    let r2 = 1.0 - ssr / tss;
    let df_model = (p - k_const) as f64;
    let mut out = OlsFit {
        nobs: n,
        df_resid,
        r_squared: r2,
        adj_r_squared: 1.0 - (n - k_const) as f64 / df_resid * (1.0 - r2),
        sigma: s2.sqrt(),
        f_stat: None,
        f_p: None,
        dropped_rows: d.dropped,
        cov_type,
        terms,
        cov,
        term_info: d.terms.clone(),
    };
    if df_model > 0.0 {
        let cols: Vec<usize> = (0..p)
            .filter(|&j| !(d.has_intercept && d.column_names[j] == "Intercept"))
            .collect();
        let f = if matches!(cov_type, CovType::NonRobust) {
            ((tss - ssr) / df_model) / s2
        } else {
            out.wald(&cols)?.f
        };
        out.f_stat = Some(f);
        out.f_p = Some(f_sf(f, df_model, df_resid));
    }
    Ok(out)
}

impl OlsFit {
    /// Joint Wald F test that the coefficients of `cols` are all zero.
    pub fn wald(&self, cols: &[usize]) -> Result<WaldTest, StatsError> {
        let p = self.terms.len();
        let q = cols.len();
        if q == 0 || cols.iter().any(|&c| c >= p) {
            return Err(StatsError::Invalid("Wald test needs model columns".into()));
        }
        let mut m = nalgebra::DMatrix::<f64>::zeros(q, q);
        for (a, &i) in cols.iter().enumerate() {
            for (b, &j) in cols.iter().enumerate() {
                m[(a, b)] = self.cov[i * p + j];
            }
        }
        let bvec =
            nalgebra::DVector::from_iterator(q, cols.iter().map(|&c| self.terms[c].estimate));
        let chol = nalgebra::Cholesky::new(m).ok_or_else(|| {
            StatsError::Invalid("covariance of the tested terms is singular".into())
        })?;
        let f = bvec.dot(&chol.solve(&bvec)) / q as f64;
        Ok(WaldTest {
            columns: cols.iter().map(|&c| self.terms[c].name.clone()).collect(),
            f,
            df_num: q as f64,
            df_den: self.df_resid,
            p: f_sf(f, q as f64, self.df_resid),
        })
    }

    /// Joint test of every column of a formula term (e.g. `arm` with 4 arms).
    pub fn term_test(&self, term: &str) -> Result<WaldTest, StatsError> {
        let t = self
            .term_info
            .iter()
            .find(|t| t.name == term)
            .ok_or_else(|| StatsError::Invalid(format!("no term `{term}` in the model")))?;
        self.wald(&t.columns.clone().collect::<Vec<_>>())
    }
}
