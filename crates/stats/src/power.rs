//! Power by simulation: generate trials from a design, fit the model, test
//! a term, count rejections.
//!
//! Each simulated trial draws its covariates (normal with a given mean and
//! SD, or categorical with given level weights), allocates the arm variable
//! through an [`Allocator`] (balanced permuted blocks here; the CLI plugs in
//! the protocol's randomisation design from `rct-random`), builds the design
//! matrix from the formula exactly as an analysis would, sets
//! `y = X beta + e` with `e ~ N(0, sd^2)` and `beta` from the named effects
//! (0 for the others), and tests the named term. Simulation `i` draws from
//! ChaCha20 seeded by `seed` on stream `i`, so results do not depend on the
//! order in which simulations run. Power is the share of `p < alpha` with its
//! Monte Carlo standard error `sqrt(power (1 - power) / sims)`.
//!
//! Besides the linear model ([`SimOutcome::Gaussian`]), a binary outcome
//! ([`SimOutcome::Logistic`]: `y ~ Bernoulli(1 / (1 + exp(-X beta)))`,
//! logistic regression, Wald test) and repeated measures
//! ([`SimOutcome::Repeated`]: one row per participant and visit, the
//! formula's `visit` factor with the LAST visit as its reference level, so
//! that `arm[T.x]` is the effect at the last visit; errors multivariate
//! normal with SD `sd` and an exchangeable correlation; MMRM fit, t or F
//! test with Satterthwaite or Kenward-Roger df). A simulated trial whose
//! model cannot be fitted (a level absent, separation in a logistic model,
//! an MMRM that does not converge) counts as failed, not as a rejection.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rand_distr::StandardNormal;

use crate::formula::{Formula, ModelSpec};
use crate::frame::{Column, Frame};
use crate::glm::{refit_glm, Family, GlmOptions};
use crate::mmrm::{fit_mmrm, CovStructure, DfMethod, MmrmOptions, Repeated};
use crate::ols::{CovType, Workspace};
use crate::StatsError;

/// The outcome model of a power simulation.
#[derive(Debug, Clone, PartialEq)]
pub enum SimOutcome {
    /// `y = X beta + N(0, sd^2)`, least squares, t or F test.
    Gaussian,
    /// `y ~ Bernoulli(logistic(X beta))`, logistic regression, Wald z (one
    /// column) or chi-squared (several) test; `sd` is not used.
    Logistic,
    /// One row per participant and visit: the formula names `visit`, whose
    /// levels are `visits` in time order (the last is the reference level);
    /// errors multivariate normal with SD `sd` at every visit and
    /// correlation `correlation` (in [0, 1)) between any two visits; MMRM
    /// with `structure` covariance and `df` degrees of freedom.
    Repeated {
        visits: Vec<String>,
        correlation: f64,
        structure: CovStructure,
        df: DfMethod,
    },
}

/// How a simulated variable is drawn.
#[derive(Debug, Clone, PartialEq)]
pub enum VarSpec {
    /// Normal with this mean and standard deviation.
    Normal { mean: f64, sd: f64 },
    /// Categorical: levels (the first is the reference) with relative weights.
    Categorical { levels: Vec<(String, f64)> },
}

/// Allocates participants to arms within strata.
pub trait Allocator {
    /// Starts simulation `sim` (fresh lists).
    fn reset(&mut self, sim: u64);
    /// The arm index of the next participant of stratum `stratum`.
    fn next(&mut self, stratum: usize) -> usize;
}

/// Permuted blocks of one of each arm, within each stratum (exactly
/// balanced when the stratum size is a multiple of the number of arms).
#[derive(Debug, Clone)]
pub struct BalancedAllocator {
    arms: usize,
    seed: u64,
    rng: ChaCha20Rng,
    blocks: Vec<Vec<usize>>,
}

impl BalancedAllocator {
    pub fn new(arms: usize, seed: u64) -> Self {
        Self {
            arms: arms.max(1),
            seed,
            rng: ChaCha20Rng::seed_from_u64(seed),
            blocks: Vec::new(),
        }
    }
}

impl Allocator for BalancedAllocator {
    fn reset(&mut self, sim: u64) {
        self.rng = ChaCha20Rng::seed_from_u64(self.seed ^ 0x5bd1_e995);
        self.rng.set_stream(sim);
        self.blocks.iter_mut().for_each(Vec::clear);
    }
    fn next(&mut self, stratum: usize) -> usize {
        if self.blocks.len() <= stratum {
            self.blocks.resize(stratum + 1, Vec::new());
        }
        if self.blocks[stratum].is_empty() {
            let b = &mut self.blocks[stratum];
            b.extend(0..self.arms);
            for i in (1..b.len()).rev() {
                let j = self.rng.gen_range(0..=i);
                b.swap(i, j);
            }
        }
        self.blocks[stratum].pop().unwrap_or(0)
    }
}

/// A power simulation.
#[derive(Debug, Clone)]
pub struct PowerSpec {
    /// Model formula, e.g. `y ~ arm + vo2max_w0 + sex`.
    pub formula: String,
    /// Coefficients by design column name (`arm[T.hiit]`, `vo2max_w0`).
    pub effects: Vec<(String, f64)>,
    /// Residual standard deviation.
    pub sd: f64,
    /// Term (or design column) tested.
    pub test: String,
    pub alpha: f64,
    pub cov_type: CovType,
    /// The allocated variable (`arm`) and its levels, reference first.
    pub arm: (String, Vec<String>),
    /// Categorical variables that define strata for allocation.
    pub strata: Vec<String>,
    /// How every other variable is drawn; numeric variables not listed are
    /// standard normal.
    pub vars: BTreeMap<String, VarSpec>,
    /// The outcome model.
    pub outcome: SimOutcome,
}

/// The result for one sample size.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PowerResult {
    pub n: usize,
    pub sims: usize,
    /// Simulations whose model could not be fitted (e.g. a level absent).
    pub failed: usize,
    pub rejections: usize,
    pub power: f64,
    pub mc_se: f64,
}

/// A compiled simulation: frame, model and buffers reused across trials.
pub struct Simulator {
    spec: PowerSpec,
    n: usize,
    frame: Frame,
    model: ModelSpec,
    beta: Vec<f64>,
    test_cols: Vec<usize>,
    ws: Workspace,
    /// (name, spec) of every generated variable other than the arm.
    gen: Vec<(String, VarSpec)>,
    strata_idx: Vec<usize>,
    /// Repeated measures: the visit levels and the fixed layout of the long
    /// rows (visit-major: row `k n + i` is participant i at visit k).
    visits: Vec<String>,
    layout: Option<Repeated>,
}

/// The long frame of a repeated-measures simulation: every column of
/// `frame` once per visit (visit-major), plus `visit`.
fn long_frame(frame: &Frame, visits: &[String]) -> Result<Frame, StatsError> {
    let (n, m) = (frame.nrows(), visits.len());
    let mut out = Frame::new();
    for name in frame.names() {
        let col = match frame.column(name) {
            Some(Column::Num(v)) => Column::Num(v.repeat(m)),
            Some(Column::Text(v)) => Column::Text((0..m).flat_map(|_| v.iter().cloned()).collect()),
            None => continue,
        };
        out.push(name, col)?;
    }
    let vis = visits
        .iter()
        .flat_map(|v| std::iter::repeat_n(v.clone(), n))
        .collect();
    out.push("visit", Column::Text(vis))?;
    Ok(out)
}

impl Simulator {
    /// Prepares simulations of trials of `n` participants.
    pub fn new(spec: &PowerSpec, n: usize) -> Result<Self, StatsError> {
        let formula = Formula::parse(&spec.formula)?;
        let needs_sd = spec.outcome != SimOutcome::Logistic;
        if needs_sd && (spec.sd.is_nan() || spec.sd <= 0.0)
            || spec.alpha.is_nan()
            || spec.alpha <= 0.0
            || spec.alpha >= 1.0
        {
            return Err(StatsError::Invalid(
                "the residual SD must be positive and alpha in (0, 1)".into(),
            ));
        }
        let visits: Vec<String> = match &spec.outcome {
            SimOutcome::Repeated {
                visits,
                correlation,
                ..
            } => {
                if visits.len() < 2 || visits.len() > 60 {
                    return Err(StatsError::Invalid(
                        "a repeated-measures simulation needs 2 to 60 visits".into(),
                    ));
                }
                if !(0.0..1.0).contains(correlation) {
                    return Err(StatsError::Invalid(
                        "the correlation between visits must be in [0, 1)".into(),
                    ));
                }
                if !formula.variables().iter().any(|v| v == "visit") {
                    return Err(StatsError::Invalid(
                        "a repeated-measures model names `visit` in its formula, e.g. \
                         y ~ arm * visit + baseline"
                            .into(),
                    ));
                }
                visits.clone()
            }
            _ => Vec::new(),
        };
        let (arm_var, arm_levels) = &spec.arm;
        let mut names = formula.variables();
        names.retain(|v| visits.is_empty() || v != "visit");
        for s in &spec.strata {
            if !names.contains(s) {
                names.push(s.clone());
            }
        }
        let mut gen = Vec::new();
        let mut frame = Frame::new();
        for v in &names {
            if v == arm_var {
                if arm_levels.len() < 2 {
                    return Err(StatsError::Invalid(format!(
                        "the allocated variable `{v}` needs two or more levels"
                    )));
                }
                // Each level once so the model learns all of them.
                let col = (0..n)
                    .map(|i| arm_levels[i % arm_levels.len()].clone())
                    .collect();
                frame.push(v, Column::Text(col))?;
                continue;
            }
            if v == &formula.response.var {
                frame.push(v, Column::Num(vec![1.0; n]))?;
                continue;
            }
            let vs = spec
                .vars
                .get(v)
                .cloned()
                .unwrap_or(VarSpec::Normal { mean: 0.0, sd: 1.0 });
            match &vs {
                VarSpec::Normal { .. } => frame.push(v, Column::Num(vec![0.0; n]))?,
                VarSpec::Categorical { levels } => {
                    if levels.is_empty() || levels.iter().any(|l| l.1.is_nan() || l.1 < 0.0) {
                        return Err(StatsError::Invalid(format!(
                            "variable `{v}` needs levels with non-negative weights"
                        )));
                    }
                    let col = (0..n).map(|i| levels[i % levels.len()].0.clone()).collect();
                    frame.push(v, Column::Text(col))?;
                }
            }
            gen.push((v.clone(), vs));
        }
        let mut reference = BTreeMap::new();
        reference.insert(arm_var.clone(), arm_levels[0].clone());
        for (v, s) in &gen {
            if let VarSpec::Categorical { levels } = s {
                if formula.factors.iter().any(|f| &f.var == v) {
                    reference.insert(v.clone(), levels[0].0.clone());
                }
            }
        }
        if !formula.factors.iter().any(|f| &f.var == arm_var) {
            reference.remove(arm_var);
        }
        if let Some(last) = visits.last() {
            reference.insert("visit".into(), last.clone());
        }
        let model = if visits.is_empty() {
            ModelSpec::new(&formula, &frame, &reference)?
        } else {
            ModelSpec::new(&formula, &long_frame(&frame, &visits)?, &reference)?
        };
        let d = if visits.is_empty() {
            model.design(&frame)?
        } else {
            model.design(&long_frame(&frame, &visits)?)?
        };
        let mut beta = vec![0.0; d.ncols()];
        for (name, v) in &spec.effects {
            let j = d
                .column_names
                .iter()
                .position(|c| c == name)
                .ok_or_else(|| {
                    StatsError::Invalid(format!(
                        "--effect `{name}` is not a column of the model; its columns are: {}",
                        d.column_names.join(", ")
                    ))
                })?;
            beta[j] = *v;
        }
        let test_cols: Vec<usize> = if let Some(t) = d.terms.iter().find(|t| t.name == spec.test) {
            t.columns.clone().collect()
        } else if let Some(j) = d.column_names.iter().position(|c| c == &spec.test) {
            vec![j]
        } else {
            let terms: Vec<&str> = d.terms.iter().map(|t| t.name.as_str()).collect();
            return Err(StatsError::Invalid(format!(
                "the tested term `{}` is not in the model; its terms are: {}",
                spec.test,
                terms.join(", ")
            )));
        };
        let mut strata_idx = Vec::new();
        for s in &spec.strata {
            let k = gen.iter().position(|g| &g.0 == s).ok_or_else(|| {
                StatsError::Invalid(format!("stratum variable `{s}` is not generated"))
            })?;
            if !matches!(gen[k].1, VarSpec::Categorical { .. }) {
                return Err(StatsError::Invalid(format!(
                    "stratum variable `{s}` must be categorical"
                )));
            }
            strata_idx.push(k);
        }
        let layout = if visits.is_empty() {
            None
        } else {
            let m = visits.len();
            Some(Repeated {
                subject: (0..n * m).map(|r| r % n).collect(),
                visit: (0..n * m).map(|r| r / n).collect(),
                subjects: (0..n).map(|i| format!("{}", i + 1)).collect(),
                visits: visits.clone(),
                subjects_in_data: n,
            })
        };
        Ok(Simulator {
            spec: spec.clone(),
            n,
            frame,
            model,
            beta,
            test_cols,
            ws: Workspace::new(),
            gen,
            strata_idx,
            visits,
            layout,
        })
    }

    /// Runs simulation `sim`: Ok(Some(p)) the test's p-value, Ok(None) when
    /// the simulated trial could not be fitted.
    pub fn run_one(&mut self, seed: u64, sim: u64, alloc: &mut dyn Allocator) -> Option<f64> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        rng.set_stream(sim);
        alloc.reset(sim);
        let n = self.n;
        // Draw the generated variables; remember categorical codes for strata.
        let mut codes: Vec<usize> = vec![0; n * self.strata_idx.len()];
        for (k, (name, vs)) in self.gen.iter().enumerate() {
            let col = self.frame.column_mut(name)?;
            match (vs, col) {
                (VarSpec::Normal { mean, sd }, Column::Num(v)) => {
                    for x in v.iter_mut() {
                        let z: f64 = rng.sample(StandardNormal);
                        *x = mean + sd * z;
                    }
                }
                (VarSpec::Categorical { levels }, Column::Text(v)) => {
                    let total: f64 = levels.iter().map(|l| l.1).sum();
                    let s = self.strata_idx.iter().position(|&i| i == k);
                    for (i, x) in v.iter_mut().enumerate() {
                        let mut u = rng.gen::<f64>() * total;
                        let mut c = levels.len() - 1;
                        for (j, l) in levels.iter().enumerate() {
                            if u < l.1 {
                                c = j;
                                break;
                            }
                            u -= l.1;
                        }
                        x.clone_from(&levels[c].0);
                        if let Some(s) = s {
                            codes[s * n + i] = c;
                        }
                    }
                }
                _ => return None,
            }
        }
        // Allocate in order of arrival, within strata.
        let (arm_var, arm_levels) = &self.spec.arm;
        let sizes: Vec<usize> = self
            .strata_idx
            .iter()
            .map(|&k| match &self.gen[k].1 {
                VarSpec::Categorical { levels } => levels.len(),
                VarSpec::Normal { .. } => 1,
            })
            .collect();
        if let Some(Column::Text(v)) = self.frame.column_mut(arm_var) {
            for (i, x) in v.iter_mut().enumerate() {
                let mut stratum = 0;
                for (s, size) in sizes.iter().enumerate() {
                    stratum = stratum * size + codes[s * n + i];
                }
                let a = alloc.next(stratum).min(arm_levels.len() - 1);
                x.clone_from(&arm_levels[a]);
            }
        }
        match &self.spec.outcome {
            SimOutcome::Gaussian => {
                let mut d = self.model.design(&self.frame).ok()?;
                let m = d.nobs;
                for i in 0..m {
                    let e: f64 = rng.sample(StandardNormal);
                    d.y[i] = linear(&self.beta, &d.x, m, i) + self.spec.sd * e;
                }
                self.ws
                    .test_columns(
                        &d.x,
                        &d.y,
                        m,
                        d.ncols(),
                        &self.test_cols,
                        self.spec.cov_type,
                    )
                    .ok()
            }
            SimOutcome::Logistic => {
                let mut d = self.model.design(&self.frame).ok()?;
                let m = d.nobs;
                for i in 0..m {
                    let eta = linear(&self.beta, &d.x, m, i);
                    let u: f64 = rng.gen();
                    d.y[i] = f64::from(u8::from(u * (1.0 + (-eta).exp()) < 1.0));
                }
                let g = refit_glm(
                    &d,
                    Family::Binomial,
                    None,
                    GlmOptions::default(),
                    &self.beta,
                )
                .ok()?;
                if g.separation.is_some() {
                    return None;
                }
                if let [j] = self.test_cols[..] {
                    Some(g.terms[j].p)
                } else {
                    g.wald(&self.test_cols).ok().map(|w| w.p)
                }
            }
            SimOutcome::Repeated {
                correlation,
                structure,
                df,
                ..
            } => {
                let long = long_frame(&self.frame, &self.visits).ok()?;
                let mut d = self.model.design(&long).ok()?;
                let (rows, m) = (d.nobs, self.visits.len());
                if rows != n * m {
                    return None;
                }
                // e_ik = sd (sqrt(rho) u_i + sqrt(1 - rho) z_ik).
                let shared: Vec<f64> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
                let (a, b) = (correlation.sqrt(), (1.0 - correlation).sqrt());
                for r in 0..rows {
                    let z: f64 = rng.sample(StandardNormal);
                    let e = self.spec.sd * (a * shared[r % n] + b * z);
                    d.y[r] = linear(&self.beta, &d.x, rows, r) + e;
                }
                let opts = MmrmOptions {
                    structure: *structure,
                    df: *df,
                    ..MmrmOptions::default()
                };
                let fit = fit_mmrm(&d, self.layout.as_ref()?, opts).ok()?;
                if let [j] = self.test_cols[..] {
                    Some(fit.terms[j].p)
                } else {
                    let p = fit.terms.len();
                    let l: Vec<Vec<f64>> = self
                        .test_cols
                        .iter()
                        .map(|&j| (0..p).map(|k| f64::from(u8::from(k == j))).collect())
                        .collect();
                    fit.f_test(&self.spec.test, &l).ok().map(|t| t.p)
                }
            }
        }
    }
}

/// Row `i` of `X beta` (X column-major with `m` rows).
fn linear(beta: &[f64], x: &[f64], m: usize, i: usize) -> f64 {
    let mut y = 0.0;
    for (j, b) in beta.iter().enumerate() {
        if *b != 0.0 {
            y += b * x[j * m + i];
        }
    }
    y
}

/// Simulates `sims` trials of `n` participants. `progress` is called with
/// the number of simulations done, every 100 and at the end.
pub fn simulate_power(
    spec: &PowerSpec,
    n: usize,
    sims: usize,
    seed: u64,
    alloc: &mut dyn Allocator,
    progress: &mut dyn FnMut(usize),
) -> Result<PowerResult, StatsError> {
    if sims == 0 {
        return Err(StatsError::Invalid("--sims must be at least 1".into()));
    }
    let mut sim = Simulator::new(spec, n)?;
    let (mut rej, mut failed) = (0usize, 0usize);
    for i in 0..sims {
        match sim.run_one(seed, i as u64, alloc) {
            Some(p) if p.is_finite() => {
                if p < spec.alpha {
                    rej += 1;
                }
            }
            _ => failed += 1,
        }
        if (i + 1) % 100 == 0 || i + 1 == sims {
            progress(i + 1);
        }
    }
    let ok = sims - failed;
    if ok == 0 {
        return Err(StatsError::Invalid(format!(
            "none of the {sims} simulated trials of {n} could be fitted (too few participants \
             for the model's parameters?)"
        )));
    }
    let power = rej as f64 / ok as f64;
    Ok(PowerResult {
        n,
        sims,
        failed,
        rejections: rej,
        power,
        mc_se: (power * (1.0 - power) / ok as f64).sqrt(),
    })
}
