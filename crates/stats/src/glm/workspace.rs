//! A fitted design kept for refits with new responses (simulations, power,
//! bootstraps): the design's column structure, the IRLS buffers and the
//! output arrays are built once by [`GlmWorkspace::new`]; each
//! [`GlmWorkspace::refit`] then runs IRLS and computes the whole table
//! (estimates, standard errors, z, p, 95 % intervals, log-likelihood,
//! deviances, AIC, the separation check) without allocating, unless the
//! data are separated (the report is text). `fit_glm` and `refit_glm` are
//! this workspace used once, so a refit equals a fresh fit of the same data.

use nalgebra::DMatrix;

use super::firth::firth;
use super::separation::{separation_report, zero_rate_report};
use super::{irls, loglik, null_loglik, Family, GlmCoef, GlmFit, GlmOptions, Prepared, Z_975};
use crate::formula::Design;
use crate::mvt::norm_cdf;
use crate::StatsError;

/// A design prepared for repeated GLM fits with new responses.
pub struct GlmWorkspace<'d> {
    d: &'d Design,
    family: Family,
    opts: GlmOptions,
    off: Vec<f64>,
    y: Vec<f64>,
    cols: irls::Columns,
    bufs: irls::Buffers,
    eta: Vec<f64>,
    mu: Vec<f64>,
    beta: Vec<f64>,
    cov: Vec<f64>,
    se: Vec<f64>,
    z: Vec<f64>,
    pval: Vec<f64>,
    lo: Vec<f64>,
    hi: Vec<f64>,
    sat: f64,
    llf: f64,
    null_llf: f64,
    penalized: Option<f64>,
    iterations: usize,
    converged: bool,
    separation: Option<String>,
}

/// The table of one refit, borrowed from the workspace: every statistic
/// `GlmFit` holds, without the names (those of the design's columns).
#[derive(Debug, Clone, Copy)]
pub struct GlmRefit<'w> {
    pub estimates: &'w [f64],
    pub std_errors: &'w [f64],
    pub z: &'w [f64],
    pub p: &'w [f64],
    pub ci_low: &'w [f64],
    pub ci_high: &'w [f64],
    /// Covariance of the estimates, `p * p` row-major.
    pub cov: &'w [f64],
    /// Fitted means.
    pub mu: &'w [f64],
    pub llf: f64,
    pub deviance: f64,
    pub null_deviance: f64,
    pub aic: f64,
    pub iterations: usize,
    pub converged: bool,
    /// Why the maximum-likelihood estimates do not exist, when they do not.
    pub separation: Option<&'w str>,
}

impl<'d> GlmWorkspace<'d> {
    /// Checks the columns of `d` (aliased columns, too few rows) once and
    /// prepares its refits with `family`, `offset` (one value per design
    /// row, or none) and `opts`.
    pub fn new(
        d: &'d Design,
        family: Family,
        offset: Option<&[f64]>,
        opts: GlmOptions,
    ) -> Result<Self, StatsError> {
        if d.ncols() == 0 {
            return Err(StatsError::Invalid("the model has no columns".into()));
        }
        crate::ols::check_columns(d)?;
        Self::prepare(d, family, offset, opts)
    }

    /// As `new`, without the column check (done by the caller).
    pub(super) fn prepare(
        d: &'d Design,
        family: Family,
        offset: Option<&[f64]>,
        opts: GlmOptions,
    ) -> Result<Self, StatsError> {
        let (n, p) = (d.nobs, d.ncols());
        if opts.firth && family != Family::Binomial {
            return Err(StatsError::Invalid(
                "Firth's penalised likelihood is available for the binomial family only".into(),
            ));
        }
        let off = match offset {
            Some(o) if o.len() != n => {
                return Err(StatsError::Invalid(format!(
                    "the offset has {} values for {n} rows",
                    o.len()
                )))
            }
            Some(o) if o.iter().any(|v| !v.is_finite()) => {
                return Err(StatsError::Invalid(
                    "the offset has a missing or infinite value; exposures must be positive".into(),
                ))
            }
            Some(o) => o.to_vec(),
            None => vec![0.0; n],
        };
        Ok(GlmWorkspace {
            d,
            family,
            opts,
            off,
            y: vec![0.0; n],
            cols: irls::Columns::new(&d.x, n, p),
            bufs: irls::Buffers::new(n, p),
            eta: vec![0.0; n],
            mu: vec![0.0; n],
            beta: Vec::with_capacity(p),
            cov: vec![0.0; p * p],
            se: vec![0.0; p],
            z: vec![0.0; p],
            pval: vec![0.0; p],
            lo: vec![0.0; p],
            hi: vec![0.0; p],
            sat: 0.0,
            llf: f64::NAN,
            null_llf: f64::NAN,
            penalized: None,
            iterations: 0,
            converged: false,
            separation: None,
        })
    }

    /// Fits the design to the response `y` (one value per design row),
    /// starting IRLS from `start` (e.g. a first fit's estimates: most refits
    /// then take a few iterations) or, with `None`, from statsmodels' start
    /// (as `fit_glm`). Firth fits (`opts.firth`) always start at zero.
    pub fn refit(&mut self, y: &[f64], start: Option<&[f64]>) -> Result<GlmRefit<'_>, StatsError> {
        self.run(y, start)?;
        let p = self.beta.len();
        Ok(GlmRefit {
            estimates: &self.beta,
            std_errors: &self.se,
            z: &self.z,
            p: &self.pval,
            ci_low: &self.lo,
            ci_high: &self.hi,
            cov: &self.cov,
            mu: &self.mu,
            llf: self.llf,
            deviance: 2.0 * (self.sat - self.llf),
            null_deviance: 2.0 * (self.sat - self.null_llf),
            aic: -2.0 * self.llf + 2.0 * p as f64,
            iterations: self.iterations,
            converged: self.converged,
            separation: self.separation.as_deref(),
        })
    }

    /// As `refit`, returning the full `GlmFit` (names, term structure).
    pub fn refit_full(&mut self, y: &[f64], start: Option<&[f64]>) -> Result<GlmFit, StatsError> {
        self.run(y, start)?;
        let (n, p) = (self.d.nobs, self.beta.len());
        let terms = (0..p)
            .map(|j| GlmCoef {
                name: self.d.column_names[j].clone(),
                estimate: self.beta[j],
                std_error: self.se[j],
                z: self.z[j],
                p: self.pval[j],
                ci_low: self.lo[j],
                ci_high: self.hi[j],
            })
            .collect();
        let intercept = usize::from(self.d.has_intercept);
        Ok(GlmFit {
            family: self.family,
            firth: self.opts.firth,
            nobs: n,
            df_model: (p - intercept) as f64,
            df_resid: (n - p) as f64,
            llf: self.llf,
            penalized_llf: self.penalized,
            deviance: 2.0 * (self.sat - self.llf),
            null_deviance: 2.0 * (self.sat - self.null_llf),
            aic: -2.0 * self.llf + 2.0 * p as f64,
            iterations: self.iterations,
            converged: self.converged,
            terms,
            separation: self.separation.clone(),
            dropped_rows: self.d.dropped,
            cov: self.cov.clone(),
            term_info: self.d.terms.clone(),
            mu: self.mu.clone(),
        })
    }

    fn check_response(&self, y: &[f64]) -> Result<(), StatsError> {
        let (family, d) = (self.family, self.d);
        if y.len() != d.nobs {
            return Err(StatsError::Invalid(format!(
                "the response has {} values for the {} rows of the design",
                y.len(),
                d.nobs
            )));
        }
        for (k, &v) in y.iter().enumerate() {
            let bad = match family {
                Family::Binomial => v != 0.0 && v != 1.0,
                Family::Poisson => !(v >= 0.0 && v.is_finite()),
            };
            if bad {
                let what = match family {
                    Family::Binomial => "0 or 1 (no / yes)",
                    Family::Poisson => "a count of 0 or more",
                };
                return Err(StatsError::Invalid(format!(
                    "the response `{}` must be {what} for the {family:?} family; data row {} has {v}",
                    d.response,
                    d.rows.get(k).map_or(k + 1, |r| r + 1)
                )));
            }
        }
        Ok(())
    }

    fn run(&mut self, y: &[f64], start: Option<&[f64]>) -> Result<(), StatsError> {
        self.check_response(y)?;
        let (family, opts, d) = (self.family, self.opts, self.d);
        let (n, p) = (d.nobs, d.ncols());
        if let Some(s) = start {
            if s.len() != p {
                return Err(StatsError::Invalid(format!(
                    "the starting values have {} entries for the {p} columns of the design",
                    s.len()
                )));
            }
        }
        self.y.copy_from_slice(y);
        self.separation = None;
        let pr = Prepared {
            x: &d.x,
            y: &self.y,
            off: &self.off,
            n,
            p,
        };
        let (eta, mu, bufs, cols) = (&mut self.eta, &mut self.mu, &mut self.bufs, &self.cols);
        let known_llf = if opts.firth {
            let (b, it, conv, pl) = firth(&pr, &vec![false; p], opts)?;
            self.beta.clear();
            self.beta.extend_from_slice(&b);
            self.iterations = it;
            self.converged = conv;
            self.penalized = Some(pl);
            None
        } else {
            let end = irls::irls(
                family,
                &pr,
                opts,
                start,
                cols,
                bufs,
                eta,
                mu,
                &mut self.beta,
            );
            self.iterations = end.iterations;
            self.converged = end.converged;
            self.penalized = None;
            end.llf
        };
        if self.beta.len() != p {
            return Err(StatsError::Invalid(
                "the Fisher information became singular during IRLS (every fitted probability \
                 is 0 or 1): the data are separated; fit with --firth"
                    .into(),
            ));
        }
        // eta and mu at the estimates (IRLS leaves them there when it ends
        // on the deviance).
        self.llf = match known_llf {
            Some(l) => l,
            None => {
                irls::eta_sparse(&pr, cols, &self.beta, eta);
                loglik(family, &pr, eta, mu)
            }
        };
        self.sat = match family {
            Family::Binomial => 0.0,
            Family::Poisson => self.y.iter().map(|&v| family.loglik_saturated(v)).sum(),
        };
        for (w, &m) in bufs.w.iter_mut().zip(mu.iter()) {
            *w = family.variance(m);
        }
        irls::normal_equations(
            &d.x,
            n,
            p,
            cols,
            &bufs.w,
            None,
            &mut bufs.xw,
            &mut bufs.info,
            &mut [],
        );
        if irls::cholesky(&bufs.info, p, &mut bufs.chol) {
            irls::chol_inverse(&bufs.chol, p, &mut self.cov, &mut bufs.rhs);
        } else {
            let inv = DMatrix::from_row_slice(p, p, &bufs.info)
                .try_inverse()
                .ok_or_else(|| {
                    StatsError::Invalid(
                        "the Fisher information is singular at the estimate (every fitted \
                         probability is 0 or 1); the data are separated: fit with --firth"
                            .into(),
                    )
                })?;
            for k in 0..p * p {
                self.cov[k] = inv[(k / p, k % p)];
            }
        }
        for j in 0..p {
            let b = self.beta[j];
            let se = self.cov[j * p + j].max(0.0).sqrt();
            let z = b / se;
            self.se[j] = se;
            self.z[j] = z;
            self.pval[j] = 2.0 * norm_cdf(-z.abs());
            self.lo[j] = b - Z_975 * se;
            self.hi[j] = b + Z_975 * se;
        }
        self.separation = match family {
            Family::Binomial if !opts.firth => {
                separation_report(d, &self.mu, &self.se, self.converged)
            }
            Family::Poisson => zero_rate_report(d, &self.y, &self.mu, &self.beta, &self.se),
            Family::Binomial => None,
        };
        if !self.converged && self.separation.is_none() {
            return Err(StatsError::Invalid(format!(
                "the {family:?} GLM did not converge in {} iterations; check the response and \
                 the scale of the covariates (centre or rescale large values)",
                opts.max_iter
            )));
        }
        self.null_llf = null_loglik(family, &pr);
        Ok(())
    }
}
