//! Ordinary least squares by Householder QR, with classical or
//! heteroskedasticity-consistent (HC0-HC3) covariance, t inference and Wald
//! F tests. Conventions follow statsmodels (`OLS(...).fit(cov_type=...,
//! use_t=True)`): a model has a constant when a column is constant and
//! non-zero, or when the columns span the constant (e.g. `y ~ arm - 1`,
//! an "implicit" constant); then R^2 is centred, the model F test leaves the
//! constant out and `df_model = p - 1`. With robust covariance and an implicit
//! constant the model F test is undefined (statsmodels gives NaN; here `None`).
//!
//! [`Workspace`] keeps every buffer between fits, so refitting (bootstrap,
//! power simulation) allocates nothing once the sizes are known.

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

impl CovType {
    /// Parses `nonrobust`, `hc0` .. `hc3` (any case).
    pub fn parse(s: &str) -> Result<Self, StatsError> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "nonrobust" | "classical" | "none" => CovType::NonRobust,
            "hc0" => CovType::Hc0,
            "hc1" => CovType::Hc1,
            "hc2" => CovType::Hc2,
            "hc3" => CovType::Hc3,
            _ => {
                return Err(StatsError::Invalid(format!(
                    "unknown covariance `{s}`; expected nonrobust, hc0, hc1, hc2 or hc3"
                )))
            }
        })
    }
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
    pub df_model: f64,
    /// Whether the model has a constant (explicit or implicit).
    pub has_constant: bool,
    pub f_stat: Option<f64>,
    pub f_p: Option<f64>,
    pub dropped_rows: usize,
    pub cov_type: CovType,
    pub terms: Vec<Coef>,
    /// Covariance of the estimates, `p * p` row-major.
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

/// Buffers of a fit, kept between fits of the same (or smaller) size.
#[derive(Debug, Clone, Default)]
pub struct Workspace {
    n: usize,
    p: usize,
    /// Column-major `n * p`: R on and above the diagonal, Householder
    /// vectors (without their first entry) below it.
    a: Vec<f64>,
    vhead: Vec<f64>,
    tau: Vec<f64>,
    qy: Vec<f64>,
    beta: Vec<f64>,
    /// R^{-1}, `p * p` row-major (upper triangular).
    rinv: Vec<f64>,
    resid: Vec<f64>,
    work: Vec<f64>,
    meat: Vec<f64>,
    tmp: Vec<f64>,
    cov: Vec<f64>,
    small: Vec<f64>,
    rhs: Vec<f64>,
    /// The last (df, t quantile for the 95 % CI), reused by refits.
    quantile: Option<(f64, f64)>,
}

fn reset(v: &mut Vec<f64>, len: usize) {
    v.clear();
    v.resize(len, 0.0);
}

/// Relative size below which a column's remainder counts as zero.
const ALIAS_TOL: f64 = 1e-10;

impl Workspace {
    pub fn new() -> Self {
        Self::default()
    }

    /// Householder QR of `x` (column-major `n * p`) applied to `y`.
    /// Returns the first column that is a linear combination of the ones
    /// before it.
    fn decompose(&mut self, x: &[f64], y: &[f64], n: usize, p: usize) -> Result<(), usize> {
        self.n = n;
        self.p = p;
        self.a.clear();
        self.a.extend_from_slice(&x[..n * p]);
        self.qy.clear();
        self.qy.extend_from_slice(&y[..n]);
        reset(&mut self.vhead, p);
        reset(&mut self.tau, p);
        for j in 0..p {
            let (left, right) = self.a.split_at_mut((j + 1) * n);
            let col = &mut left[j * n..];
            let orig: f64 = x[j * n..(j + 1) * n].iter().map(|v| v * v).sum::<f64>();
            let norm2: f64 = col[j..].iter().map(|v| v * v).sum::<f64>();
            if orig == 0.0 || norm2.sqrt() <= ALIAS_TOL * orig.sqrt() {
                return Err(j);
            }
            let norm = norm2.sqrt();
            let alpha = if col[j] > 0.0 { -norm } else { norm };
            let v0 = col[j] - alpha;
            let vnorm2 = norm2 - col[j] * col[j] + v0 * v0;
            let tau = 2.0 / vnorm2;
            col[j] = alpha;
            self.vhead[j] = v0;
            self.tau[j] = tau;
            let v = &col[j + 1..];
            let apply = |w: &mut [f64]| {
                let mut s = v0 * w[j];
                for (vi, wi) in v.iter().zip(&w[j + 1..]) {
                    s += vi * wi;
                }
                s *= tau;
                w[j] -= s * v0;
                for (vi, wi) in v.iter().zip(&mut w[j + 1..]) {
                    *wi -= s * vi;
                }
            };
            for k in 0..p - j - 1 {
                apply(&mut right[k * n..(k + 1) * n]);
            }
            apply(&mut self.qy);
        }
        Ok(())
    }

    /// Applies Q^T (all reflections) to `self.work` in place.
    fn apply_qt_to_work(&mut self) {
        let (n, p) = (self.n, self.p);
        for j in 0..p {
            let v = &self.a[j * n + j + 1..(j + 1) * n];
            let v0 = self.vhead[j];
            let w = &mut self.work;
            let mut s = v0 * w[j];
            for (vi, wi) in v.iter().zip(&w[j + 1..n]) {
                s += vi * wi;
            }
            s *= self.tau[j];
            w[j] -= s * v0;
            for (vi, wi) in v.iter().zip(&mut w[j + 1..n]) {
                *wi -= s * vi;
            }
        }
    }

    fn r(&self, i: usize, j: usize) -> f64 {
        self.a[j * self.n + i]
    }

    /// Back substitution for beta and R^{-1}.
    fn solve(&mut self) {
        let p = self.p;
        reset(&mut self.beta, p);
        for i in (0..p).rev() {
            let mut s = self.qy[i];
            for k in i + 1..p {
                s -= self.r(i, k) * self.beta[k];
            }
            self.beta[i] = s / self.r(i, i);
        }
        reset(&mut self.rinv, p * p);
        for c in 0..p {
            for i in (0..=c).rev() {
                let mut s = if i == c { 1.0 } else { 0.0 };
                for k in i + 1..=c {
                    s -= self.r(i, k) * self.rinv[k * p + c];
                }
                self.rinv[i * p + c] = s / self.r(i, i);
            }
        }
    }

    /// Residuals from the original data and their sum of squares.
    fn residuals(&mut self, x: &[f64], y: &[f64]) -> f64 {
        let (n, p) = (self.n, self.p);
        self.resid.clear();
        self.resid.extend_from_slice(&y[..n]);
        for j in 0..p {
            let b = self.beta[j];
            for (r, xv) in self.resid.iter_mut().zip(&x[j * n..(j + 1) * n]) {
                *r -= b * xv;
            }
        }
        self.resid.iter().map(|e| e * e).sum()
    }

    /// The covariance of the estimates into `self.cov` (`p * p`, row-major).
    fn covariance(&mut self, x: &[f64], cov_type: CovType, s2: f64) -> Result<(), usize> {
        let (n, p) = (self.n, self.p);
        reset(&mut self.cov, p * p);
        if cov_type == CovType::NonRobust {
            for i in 0..p {
                for j in i..p {
                    let mut s = 0.0;
                    for k in j..p {
                        s += self.rinv[i * p + k] * self.rinv[j * p + k];
                    }
                    self.cov[i * p + j] = s * s2;
                    self.cov[j * p + i] = s * s2;
                }
            }
            return Ok(());
        }
        let df_resid = (n - p) as f64;
        reset(&mut self.meat, p * p);
        reset(&mut self.work, p);
        for i in 0..n {
            // q = row i of X R^{-1}
            for c in 0..p {
                let mut s = 0.0;
                for k in 0..=c {
                    s += x[k * n + i] * self.rinv[k * p + c];
                }
                self.work[c] = s;
            }
            let h: f64 = self.work.iter().map(|v| v * v).sum();
            let e2 = self.resid[i] * self.resid[i];
            let w = match cov_type {
                CovType::NonRobust | CovType::Hc0 => e2,
                CovType::Hc1 => e2 * n as f64 / df_resid,
                CovType::Hc2 | CovType::Hc3 if 1.0 - h <= 1e-12 => return Err(i),
                CovType::Hc2 => e2 / (1.0 - h),
                CovType::Hc3 => e2 / ((1.0 - h) * (1.0 - h)),
            };
            for a in 0..p {
                let wa = w * self.work[a];
                for b in a..p {
                    self.meat[a * p + b] += wa * self.work[b];
                }
            }
        }
        for a in 0..p {
            for b in 0..a {
                self.meat[a * p + b] = self.meat[b * p + a];
            }
        }
        // tmp = R^{-1} meat, cov = tmp R^{-T}
        reset(&mut self.tmp, p * p);
        for i in 0..p {
            for j in 0..p {
                let mut s = 0.0;
                for k in i..p {
                    s += self.rinv[i * p + k] * self.meat[k * p + j];
                }
                self.tmp[i * p + j] = s;
            }
        }
        for i in 0..p {
            for j in 0..p {
                let mut s = 0.0;
                for l in j..p {
                    s += self.tmp[i * p + l] * self.rinv[j * p + l];
                }
                self.cov[i * p + j] = s;
            }
        }
        Ok(())
    }

    /// Whether the columns span the constant vector.
    fn spans_constant(&mut self) -> bool {
        let (n, p) = (self.n, self.p);
        reset(&mut self.work, n);
        self.work.iter_mut().for_each(|v| *v = 1.0);
        self.apply_qt_to_work();
        let rest: f64 = self.work[p..n].iter().map(|v| v * v).sum();
        rest.sqrt() <= 1e-9 * (n as f64).sqrt()
    }

    /// Wald F statistic of the columns `cols` from `self.cov`/`self.beta`.
    fn wald_f(&mut self, cols: &[usize]) -> Option<f64> {
        let p = self.p;
        let q = cols.len();
        reset(&mut self.small, q * q);
        reset(&mut self.rhs, q);
        for (a, &i) in cols.iter().enumerate() {
            self.rhs[a] = self.beta[i];
            for (b, &j) in cols.iter().enumerate() {
                self.small[a * q + b] = self.cov[i * p + j];
            }
        }
        // Cholesky in place (lower), then solve L L^T z = b; F = b.z / q.
        let m = &mut self.small;
        for j in 0..q {
            let mut d = m[j * q + j];
            for k in 0..j {
                d -= m[j * q + k] * m[j * q + k];
            }
            if d <= 0.0 || !d.is_finite() {
                return None;
            }
            let d = d.sqrt();
            m[j * q + j] = d;
            for i in j + 1..q {
                let mut s = m[i * q + j];
                for k in 0..j {
                    s -= m[i * q + k] * m[j * q + k];
                }
                m[i * q + j] = s / d;
            }
        }
        // Forward: L u = b; then F*q = |u|^2.
        let mut quad = 0.0;
        for i in 0..q {
            let mut s = self.rhs[i];
            for k in 0..i {
                s -= m[i * q + k] * self.rhs[k];
            }
            self.rhs[i] = s / m[i * q + i];
            quad += self.rhs[i] * self.rhs[i];
        }
        Some(quad / q as f64)
    }

    /// Fits `d` by least squares.
    pub fn fit(&mut self, d: &Design, cov_type: CovType) -> Result<OlsFit, StatsError> {
        let (n, p) = (d.nobs, d.ncols());
        if n <= p {
            return Err(StatsError::TooFewRows {
                nobs: n,
                params: p,
                dropped: d.dropped,
            });
        }
        if self.decompose(&d.x, &d.y, n, p).is_err() {
            return Err(StatsError::RankDeficient(describe_aliasing(d)));
        }
        self.solve();
        let ssr = self.residuals(&d.x, &d.y);
        let df_resid = (n - p) as f64;
        let s2 = ssr / df_resid;
        self.covariance(&d.x, cov_type, s2).map_err(|i| {
            StatsError::Invalid(format!(
                "robust covariance undefined: row {} has leverage 1 (a level observed once?)",
                d.rows.get(i).map_or(i, |r| r + 1)
            ))
        })?;
        let const_idx = (0..p).find(|&j| {
            let c = d.col(j);
            c[0] != 0.0 && c.iter().all(|v| *v == c[0])
        });
        let has_constant = const_idx.is_some() || self.spans_constant();
        let q = match self.quantile {
            Some((df, q)) if df == df_resid => q,
            _ => {
                let q = t_upper_quantile(0.025, df_resid);
                self.quantile = Some((df_resid, q));
                q
            }
        };
        let terms = (0..p)
            .map(|j| {
                let se = self.cov[j * p + j].sqrt();
                let t = self.beta[j] / se;
                Coef {
                    name: d.column_names[j].clone(),
                    estimate: self.beta[j],
                    std_error: se,
                    t,
                    p: t_two_sided_p(t, df_resid),
                    ci_low: self.beta[j] - q * se,
                    ci_high: self.beta[j] + q * se,
                }
            })
            .collect();
        let k_const = usize::from(has_constant);
        let ybar = d.y.iter().sum::<f64>() / n as f64;
        let tss: f64 = if has_constant {
            d.y.iter().map(|v| (v - ybar).powi(2)).sum()
        } else {
            d.y.iter().map(|v| v * v).sum()
        };
        let r2 = 1.0 - ssr / tss;
        let df_model = (p - k_const) as f64;
        let (mut f_stat, mut f_p) = (None, None);
        if df_model > 0.0 {
            let f = if cov_type == CovType::NonRobust {
                Some(((tss - ssr) / df_model) / s2)
            } else if has_constant && const_idx.is_none() {
                None
            } else {
                let cols: Vec<usize> = (0..p).filter(|&j| Some(j) != const_idx).collect();
                self.wald_f(&cols)
            };
            if let Some(f) = f {
                f_stat = Some(f);
                f_p = Some(f_sf(f, df_model, df_resid));
            }
        }
        Ok(OlsFit {
            nobs: n,
            df_resid,
            r_squared: r2,
            adj_r_squared: 1.0 - (n - k_const) as f64 / df_resid * (1.0 - r2),
            sigma: s2.sqrt(),
            df_model,
            has_constant,
            f_stat,
            f_p,
            dropped_rows: d.dropped,
            cov_type,
            terms,
            cov: self.cov.clone(),
            term_info: d.terms.clone(),
        })
    }

    /// The p-value of the test that the coefficients of `cols` are zero, for
    /// response `y` on design `x` (column-major `n * p`): a t test for one
    /// column, a Wald F test for several. The lean path for simulations: no
    /// allocation once the workspace has seen these sizes.
    pub fn test_columns(
        &mut self,
        x: &[f64],
        y: &[f64],
        n: usize,
        p: usize,
        cols: &[usize],
        cov_type: CovType,
    ) -> Result<f64, StatsError> {
        if n <= p {
            return Err(StatsError::TooFewRows {
                nobs: n,
                params: p,
                dropped: 0,
            });
        }
        if cols.is_empty() || cols.iter().any(|&c| c >= p) {
            return Err(StatsError::Invalid("the test needs model columns".into()));
        }
        self.decompose(x, y, n, p).map_err(|j| {
            StatsError::RankDeficient(format!("column {} is aliased with earlier columns", j + 1))
        })?;
        self.solve();
        let df_resid = (n - p) as f64;
        let s2 = if cov_type == CovType::NonRobust {
            self.qy[p..n].iter().map(|v| v * v).sum::<f64>() / df_resid
        } else {
            self.residuals(x, y) / df_resid
        };
        if cov_type == CovType::NonRobust && cols.len() == 1 {
            let j = cols[0];
            let var: f64 = (j..p).map(|k| self.rinv[j * p + k].powi(2)).sum::<f64>() * s2;
            return Ok(t_two_sided_p(self.beta[j] / var.sqrt(), df_resid));
        }
        self.covariance(x, cov_type, s2).map_err(|i| {
            StatsError::Invalid(format!(
                "robust covariance undefined: row {} has leverage 1",
                i + 1
            ))
        })?;
        if cols.len() == 1 {
            let j = cols[0];
            return Ok(t_two_sided_p(
                self.beta[j] / self.cov[j * p + j].sqrt(),
                df_resid,
            ));
        }
        let f = self.wald_f(cols).ok_or_else(|| {
            StatsError::Invalid("covariance of the tested terms is singular".into())
        })?;
        Ok(f_sf(f, cols.len() as f64, df_resid))
    }
}

/// Explains which columns of `d` are linear combinations of earlier ones,
/// with the combination, e.g. ``column `x2` (term `x2`) = 2 * `x1` ``.
fn describe_aliasing(d: &Design) -> String {
    let n = d.nobs;
    let mut kept: Vec<usize> = Vec::new();
    let mut msgs = Vec::new();
    for j in 0..d.ncols() {
        let xj = nalgebra::DVector::from_column_slice(d.col(j));
        let term = d
            .terms
            .iter()
            .find(|t| t.columns.contains(&j))
            .map_or(String::new(), |t| format!(" (term `{}`)", t.name));
        if xj.norm() == 0.0 {
            msgs.push(format!(
                "column `{}`{term} is zero in every complete row",
                d.column_names[j]
            ));
            continue;
        }
        if !kept.is_empty() {
            let k = nalgebra::DMatrix::from_fn(n, kept.len(), |i, c| d.col(kept[c])[i]);
            if let Ok(c) = k.clone().svd(true, true).solve(&xj, 1e-12) {
                let res = (&k * &c - &xj).norm();
                if res <= 1e-8 * xj.norm() {
                    let parts: Vec<String> = c
                        .iter()
                        .zip(&kept)
                        .filter(|(v, _)| v.abs() > 1e-9)
                        .map(|(v, &i)| format!("{} * `{}`", fmt_coef(*v), d.column_names[i]))
                        .collect();
                    msgs.push(format!(
                        "column `{}`{term} = {}",
                        d.column_names[j],
                        parts.join(" + ")
                    ));
                    continue;
                }
            }
        }
        kept.push(j);
    }
    if msgs.is_empty() {
        "the columns are nearly collinear".to_string()
    } else {
        msgs.join("; ")
    }
}

fn fmt_coef(v: f64) -> String {
    let r = (v * 1e6).round() / 1e6;
    format!("{r}")
}

/// Fits `d` by least squares.
pub fn fit(d: &Design, cov_type: CovType) -> Result<OlsFit, StatsError> {
    Workspace::new().fit(d, cov_type)
}

/// Checks that `d` has more rows than columns and no aliased column (the
/// same errors as [`fit`], without the inference): for models fitted
/// otherwise (GLMs).
pub fn check_columns(d: &Design) -> Result<(), StatsError> {
    let (n, p) = (d.nobs, d.ncols());
    if n <= p {
        return Err(StatsError::TooFewRows {
            nobs: n,
            params: p,
            dropped: d.dropped,
        });
    }
    // Quick screen: a Cholesky factor of X'X whose every pivot keeps more
    // than 1e-4 of its column's norm (far above the QR's 1e-10 threshold,
    // where the factor's rounding does not matter) proves full rank;
    // anything closer is decided by the QR, which names the aliasing.
    let mut xtx = vec![0.0; p * p];
    for a in 0..p {
        for b in 0..=a {
            let s: f64 = d.col(a).iter().zip(d.col(b)).map(|(u, v)| u * v).sum();
            xtx[a * p + b] = s;
            xtx[b * p + a] = s;
        }
    }
    let mut l = vec![0.0; p * p];
    if crate::glm::irls::cholesky(&xtx, p, &mut l)
        && (0..p).all(|j| l[j * p + j] * l[j * p + j] >= 1e-8 * xtx[j * p + j])
    {
        return Ok(());
    }
    if Workspace::new().decompose(&d.x, &d.y, n, p).is_err() {
        return Err(StatsError::RankDeficient(describe_aliasing(d)));
    }
    Ok(())
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

    /// Joint test of every column of a formula term (e.g. `arm` with 4 arms),
    /// or of one design column given by its name (`arm[T.hiit]`).
    pub fn term_test(&self, term: &str) -> Result<WaldTest, StatsError> {
        if let Some(t) = self.term_info.iter().find(|t| t.name == term) {
            return self.wald(&t.columns.clone().collect::<Vec<_>>());
        }
        if let Some(j) = self.terms.iter().position(|c| c.name == term) {
            return self.wald(&[j]);
        }
        let names: Vec<&str> = self.term_info.iter().map(|t| t.name.as_str()).collect();
        Err(StatsError::Invalid(format!(
            "no term `{term}` in the model; its terms are: {}",
            names.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formula::design;
    use crate::frame::{Column, Frame};
    use std::collections::BTreeMap;

    fn frame() -> Frame {
        let mut f = Frame::new();
        let x1 = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
        f.push("x1", Column::Num(x1.clone())).unwrap();
        f.push("x2", Column::Num(x1.iter().map(|v| 2.0 * v).collect()))
            .unwrap();
        f.push("y", Column::Num(vec![1.0, 3.0, 2.0, 5.0, 4.0, 7.0, 6.5]))
            .unwrap();
        let g = ["a", "b", "a", "b", "a", "b", "a"];
        f.push("g", Column::Text(g.iter().map(|s| s.to_string()).collect()))
            .unwrap();
        let h = ["u", "v", "u", "v", "u", "v", "u"];
        f.push("h", Column::Text(h.iter().map(|s| s.to_string()).collect()))
            .unwrap();
        f
    }

    #[test]
    fn rank_deficiency_names_the_aliased_terms() {
        let d = design("y ~ x1 + x2", &frame(), &BTreeMap::new()).unwrap();
        let e = fit(&d, CovType::NonRobust).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, StatsError::RankDeficient(_)));
        assert!(msg.contains("column `x2` (term `x2`) = 2 * `x1`"), "{msg}");
        // g and h are the same split of the rows: h[T.v] = g[T.b].
        let d = design("y ~ g + h", &frame(), &BTreeMap::new()).unwrap();
        let msg = fit(&d, CovType::Hc3).unwrap_err().to_string();
        assert!(
            msg.contains("column `h[T.v]` (term `h`) = 1 * `g[T.b]`"),
            "{msg}"
        );
    }

    #[test]
    fn workspace_test_matches_full_fit() {
        let d = design("y ~ x1 + g", &frame(), &BTreeMap::new()).unwrap();
        let mut ws = Workspace::new();
        for cov in [CovType::NonRobust, CovType::Hc3] {
            let f = ws.fit(&d, cov).unwrap();
            let p1 = ws
                .test_columns(&d.x, &d.y, d.nobs, d.ncols(), &[1], cov)
                .unwrap();
            assert!((p1 - f.terms[1].p).abs() < 1e-12);
            let p2 = ws
                .test_columns(&d.x, &d.y, d.nobs, d.ncols(), &[1, 2], cov)
                .unwrap();
            assert!((p2 - f.wald(&[1, 2]).unwrap().p).abs() < 1e-12);
        }
    }
}
