//! Mixed models for repeated measures (MMRM): a linear model whose errors
//! are correlated within a subject across visits with an unstructured,
//! compound-symmetry, AR(1) or Toeplitz covariance ([`cov`]), fitted by REML
//! or ML ([`engine`]); t tests of coefficients and contrasts with
//! Satterthwaite or Kenward-Roger degrees of freedom, type III F tests and
//! least-squares means ([`infer`]). Every observed visit is used (missing
//! at random); subjects need not have every visit.
//!
//! The conventions are SAS PROC MIXED's (`REPEATED visit / SUBJECT=id
//! TYPE=...`, `DDFM=SATTERTHWAITE|KR`), which R's mmrm package reproduces:
//! covariance parameters as SAS names them, `-2 log REML` with the
//! `(n - p) log 2 pi` constant, Satterthwaite df from the observed Hessian of
//! the REML objective, type III tests and LS means with equal weights over
//! the levels of other factors and numeric covariates at their means.

#![allow(clippy::needless_range_loop)]

pub mod cov;
pub(crate) mod engine;
pub mod infer;

use std::collections::BTreeMap;

use nalgebra::{DMatrix, DVector};

use crate::formula::{Design, ModelSpec};
use crate::frame::{Column, Frame};
use crate::StatsError;
pub use cov::CovStructure;
use engine::{Problem, Subject};
pub use infer::{Contrast, FTest, LsMean};

/// Degrees of freedom of tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DfMethod {
    /// Satterthwaite's approximation (SAS `DDFM=SATTERTHWAITE`).
    Satterthwaite,
    /// Kenward and Roger (1997): adjusted covariance of the estimates and
    /// their df (SAS `DDFM=KR`).
    KenwardRoger,
}

impl DfMethod {
    /// Parses `satterthwaite` and `kenward-roger` (or `kr`).
    pub fn parse(s: &str) -> Result<DfMethod, StatsError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "satterthwaite" | "satt" => Ok(DfMethod::Satterthwaite),
            "kenward-roger" | "kr" | "kenwardroger" | "kenward_roger" => Ok(DfMethod::KenwardRoger),
            o => Err(StatsError::Invalid(format!(
                "unknown df method `{o}`; expected satterthwaite or kenward-roger"
            ))),
        }
    }
}

/// Options of a fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MmrmOptions {
    pub structure: CovStructure,
    /// REML (default) or ML.
    pub reml: bool,
    pub df: DfMethod,
    pub max_iter: usize,
}

impl Default for MmrmOptions {
    fn default() -> Self {
        MmrmOptions {
            structure: CovStructure::Us,
            reml: true,
            df: DfMethod::Satterthwaite,
            max_iter: 100,
        }
    }
}

/// The repeated-measures layout of a design's rows.
#[derive(Debug, Clone)]
pub struct Repeated {
    /// Subject of each design row (index into `subjects`).
    pub subject: Vec<usize>,
    /// Visit of each design row (index into `visits`).
    pub visit: Vec<usize>,
    pub subjects: Vec<String>,
    /// Visits in time order.
    pub visits: Vec<String>,
    /// Subjects in the data, with or without an outcome (SAS's count for BIC).
    pub subjects_in_data: usize,
}

/// Orders labels naturally: digit runs compare as numbers (`week6` before
/// `week12`, `VIS2` before `VIS10`).
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<(bool, String)> {
        let mut out: Vec<(bool, String)> = Vec::new();
        for c in s.chars() {
            let d = c.is_ascii_digit();
            match out.last_mut() {
                Some((isd, buf)) if *isd == d => buf.push(c),
                _ => out.push((d, c.to_string())),
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for ((da, sa), (db, sb)) in ca.iter().zip(&cb) {
        let o = match (da, db) {
            (true, true) => {
                let (ta, tb) = (sa.trim_start_matches('0'), sb.trim_start_matches('0'));
                ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb))
            }
            _ => sa.cmp(sb),
        };
        if o != std::cmp::Ordering::Equal {
            return o;
        }
    }
    ca.len().cmp(&cb.len()).then_with(|| a.cmp(b))
}

fn labels(frame: &Frame, var: &str) -> Result<Vec<String>, StatsError> {
    match frame.column(var) {
        Some(Column::Text(v)) => Ok(v.clone()),
        Some(Column::Num(v)) => Ok(v
            .iter()
            .map(|x| {
                if x.is_nan() {
                    String::new()
                } else {
                    format!("{x}")
                }
            })
            .collect()),
        None => Err(StatsError::UnknownColumn(
            var.to_string(),
            frame.names().join(", "),
        )),
    }
}

/// Visits in order: `order` if given (each must be a level), else numeric
/// order for a numeric column and natural order for text.
pub fn visit_levels(
    frame: &Frame,
    visit_var: &str,
    order: Option<&[String]>,
) -> Result<Vec<String>, StatsError> {
    let vals = labels(frame, visit_var)?;
    let mut levels: Vec<String> = vals.iter().filter(|s| !s.is_empty()).cloned().collect();
    if let Some(Column::Num(v)) = frame.column(visit_var) {
        let mut nums: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
        nums.sort_by(f64::total_cmp);
        nums.dedup();
        levels = nums.iter().map(|x| format!("{x}")).collect();
    } else {
        levels.sort_by(|a, b| natural_cmp(a, b));
        levels.dedup();
    }
    if let Some(o) = order {
        for l in &levels {
            if !o.contains(l) {
                return Err(StatsError::Invalid(format!(
                    "visit `{l}` of `{visit_var}` is not in the visit order given ({})",
                    o.join(", ")
                )));
            }
        }
        return Ok(o.iter().filter(|l| levels.contains(l)).cloned().collect());
    }
    Ok(levels)
}

/// The repeated layout of `d`'s rows: `visit_var | subject_var`.
pub fn repeated(
    frame: &Frame,
    d: &Design,
    visit_var: &str,
    subject_var: &str,
    order: Option<&[String]>,
) -> Result<Repeated, StatsError> {
    let visits = visit_levels(frame, visit_var, order)?;
    if visits.len() > 60 {
        return Err(StatsError::Invalid(format!(
            "`{visit_var}` has {} visits; the covariance would have too many parameters \
             (60 at most)",
            visits.len()
        )));
    }
    let vl = labels(frame, visit_var)?;
    let sl = labels(frame, subject_var)?;
    let mut sid: BTreeMap<&str, usize> = BTreeMap::new();
    let mut subjects = Vec::new();
    let (mut subject, mut visit) = (Vec::new(), Vec::new());
    let mut seen = std::collections::HashSet::new();
    for &r in &d.rows {
        let (v, s) = (&vl[r], &sl[r]);
        if v.is_empty() || s.is_empty() {
            return Err(StatsError::Invalid(format!(
                "data row {}: the {} is missing; every row with an outcome needs a subject and a visit",
                r + 1,
                if s.is_empty() { "subject" } else { "visit" }
            )));
        }
        let vi = visits.iter().position(|x| x == v).unwrap_or(0);
        let next = subjects.len();
        let si = *sid.entry(s.as_str()).or_insert_with(|| {
            subjects.push(s.clone());
            next
        });
        if !seen.insert((si, vi)) {
            return Err(StatsError::Invalid(format!(
                "subject `{s}` has two rows at visit `{v}` (data row {}); each subject has \
                 at most one row per visit",
                r + 1
            )));
        }
        subject.push(si);
        visit.push(vi);
    }
    let subjects_in_data = sl
        .iter()
        .filter(|s| !s.is_empty())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    Ok(Repeated {
        subject,
        visit,
        subjects,
        visits,
        subjects_in_data,
    })
}

/// One coefficient.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MmrmCoef {
    pub name: String,
    pub estimate: f64,
    pub std_error: f64,
    pub df: f64,
    pub t: f64,
    pub p: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// A fitted MMRM.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MmrmFit {
    pub structure: CovStructure,
    pub reml: bool,
    pub df_method: DfMethod,
    pub nobs: usize,
    pub n_subjects: usize,
    pub visits: Vec<String>,
    /// `-2 log REML` (or `-2 log L` for ML).
    pub neg2_loglik: f64,
    pub aic: f64,
    pub bic: f64,
    pub iterations: usize,
    pub terms: Vec<MmrmCoef>,
    /// Covariance parameters (SAS's names and order).
    pub cov_param_names: Vec<String>,
    pub cov_params: Vec<f64>,
    /// The estimated covariance across visits, m x m row-major.
    pub sigma: Vec<f64>,
    pub dropped_rows: usize,
    /// Covariance of the estimates (`(X' V^-1 X)^-1`, or the Kenward-Roger
    /// adjusted one), p x p row-major.
    #[serde(skip)]
    pub cov: Vec<f64>,
    #[serde(skip)]
    pub(crate) state: infer::State,
    #[serde(skip)]
    pub term_info: Vec<crate::formula::TermInfo>,
}

/// Fits the MMRM of design `d` with the repeated layout `rep`.
pub fn fit_mmrm(d: &Design, rep: &Repeated, opts: MmrmOptions) -> Result<MmrmFit, StatsError> {
    let (n, p) = (d.nobs, d.ncols());
    if rep.subject.len() != n || rep.visit.len() != n {
        return Err(StatsError::Invalid(
            "the repeated layout does not match the design".into(),
        ));
    }
    // The least-squares fit names aliased columns and too few rows.
    let ols = crate::ols::fit(d, crate::ols::CovType::NonRobust)?;
    let m = rep.visits.len();
    let q = opts.structure.n_params(m);
    if n <= p {
        return Err(StatsError::TooFewRows {
            nobs: n,
            params: p,
            dropped: d.dropped,
        });
    }
    // Per-visit residual variances for the start.
    let beta0: Vec<f64> = ols.terms.iter().map(|t| t.estimate).collect();
    let mut ss = vec![0.0; m];
    let mut cnt = vec![0usize; m];
    for i in 0..n {
        let fitted: f64 = (0..p).map(|j| d.x[j * n + i] * beta0[j]).sum();
        let r = d.y[i] - fitted;
        ss[rep.visit[i]] += r * r;
        cnt[rep.visit[i]] += 1;
    }
    let total = ss.iter().sum::<f64>() / n as f64;
    let var: Vec<f64> = ss
        .iter()
        .zip(&cnt)
        .map(|(s, c)| {
            if *c > 1 {
                (s / *c as f64).max(1e-8 * total)
            } else {
                total.max(1e-8)
            }
        })
        .collect();
    if let Some(v) = cnt.iter().position(|c| *c == 0) {
        return Err(StatsError::Invalid(format!(
            "visit `{}` has no observed outcome; drop it from the visit order",
            rep.visits[v]
        )));
    }
    let mut rows_of: Vec<Vec<usize>> = vec![Vec::new(); rep.subjects.len()];
    for i in 0..n {
        rows_of[rep.subject[i]].push(i);
    }
    let subjects: Vec<Subject> = rows_of
        .iter()
        .filter(|r| !r.is_empty())
        .map(|rows| {
            let mut rows = rows.clone();
            rows.sort_by_key(|&i| rep.visit[i]);
            Subject {
                x: DMatrix::from_fn(rows.len(), p, |a, j| d.x[j * n + rows[a]]),
                y: DVector::from_iterator(rows.len(), rows.iter().map(|&i| d.y[i])),
                vis: rows.iter().map(|&i| rep.visit[i]).collect(),
            }
        })
        .collect();
    let n_subjects = subjects.len();
    let prob = Problem {
        subjects,
        n,
        p,
        m,
        structure: opts.structure,
        reml: opts.reml,
    };
    let (theta, ev, iterations) = prob
        .optimise(opts.structure.start(&var), opts.max_iter)
        .map_err(|why| {
            StatsError::Invalid(format!(
                "the MMRM did not converge ({why}) with {} covariance over {m} visits and \
                 {n_subjects} subjects; try a simpler covariance (--covariance ar1, cs or \
                 toep), drop visits with few observations, or check for a visit at which \
                 the outcome barely varies",
                match opts.structure {
                    CovStructure::Us => "unstructured",
                    CovStructure::Cs => "compound-symmetry",
                    CovStructure::Ar1 => "AR(1)",
                    CovStructure::Toep => "Toeplitz",
                }
            ))
        })?;
    let state = infer::State::new(&prob, &theta, &ev, opts.df)?;
    let sigma = opts.structure.sigma(&theta, m);
    let neg2 = ev.f;
    // SAS: AIC = -2LL + 2q, BIC = -2LL + q ln(subjects in the data, with
    // or without an outcome) (REML counts the covariance parameters; ML also
    // the fixed effects).
    let k = if opts.reml { q } else { q + p } as f64;
    let mut fit = MmrmFit {
        structure: opts.structure,
        reml: opts.reml,
        df_method: opts.df,
        nobs: n,
        n_subjects,
        visits: rep.visits.clone(),
        neg2_loglik: neg2,
        aic: neg2 + 2.0 * k,
        bic: neg2 + k * (rep.subjects_in_data.max(n_subjects) as f64).ln(),
        iterations,
        terms: Vec::new(),
        cov_param_names: opts.structure.names(m),
        cov_params: theta,
        sigma: (0..m * m).map(|t| sigma[(t / m, t % m)]).collect(),
        dropped_rows: d.dropped,
        cov: Vec::new(),
        state,
        term_info: d.terms.clone(),
    };
    fit.cov = fit.state.cov_rowmajor();
    for j in 0..p {
        let mut l = vec![0.0; p];
        l[j] = 1.0;
        let c = fit.contrast(&l)?;
        fit.terms.push(MmrmCoef {
            name: d.column_names[j].clone(),
            estimate: c.estimate,
            std_error: c.std_error,
            df: c.df,
            t: c.t,
            p: c.p,
            ci_low: c.ci_low,
            ci_high: c.ci_high,
        });
    }
    Ok(fit)
}

/// Fits from a frame: the formula's design, the `visit | subject` layout
/// and the options; also returns the model spec and design (for LS means).
pub fn fit_frame(
    formula: &str,
    frame: &Frame,
    reference: &BTreeMap<String, String>,
    visit_var: &str,
    subject_var: &str,
    order: Option<&[String]>,
    opts: MmrmOptions,
) -> Result<(MmrmFit, ModelSpec, Design), StatsError> {
    let f = crate::formula::Formula::parse(formula)?;
    let spec = ModelSpec::new(&f, frame, reference)?;
    let d = spec.design(frame)?;
    let rep = repeated(frame, &d, visit_var, subject_var, order)?;
    let fit = fit_mmrm(&d, &rep, opts)?;
    Ok((fit, spec, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_of_visits() {
        let mut v = vec!["week12", "week6", "baseline", "VIS10", "VIS2"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["VIS2", "VIS10", "baseline", "week6", "week12"]);
    }
}
