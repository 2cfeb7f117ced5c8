//! Runs the protocol's analysis plan on the analysis data set: every model
//! in every population, complete-case and (where the protocol asks) by
//! multiple imputation, the rank-sum check, the effect of treatment across
//! an effect modifier, and subgroup effects.

use std::collections::BTreeMap;

use rct_core::protocol::{OutcomeKind, Protocol};
use rct_stats::formula::{design, Formula};
use rct_stats::mi::{self, Equation, MiSettings, Pooled};
use rct_stats::multiplicity;
use rct_stats::nonparam::{rank_sum, Alternative, Method, RankSum};
use rct_stats::{fit, Column, CovType, Frame, OlsFit};

use crate::population::{subset, AnalysisData};
use crate::ReportError;

/// One estimate row of a results table.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Estimate {
    pub term: String,
    pub estimate: f64,
    pub std_error: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub p: f64,
    pub df: f64,
}

/// A model fitted one way in one population.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelResult {
    pub model: String,
    pub label: String,
    pub outcome: String,
    pub kind: Option<OutcomeKind>,
    pub formula: String,
    pub population: String,
    /// `complete-case`, `multiple-imputation (m = 20)`.
    pub method: String,
    /// Whether this is the protocol's primary handling of missing data.
    pub primary_method: bool,
    /// Rows in the population.
    pub n_population: usize,
    /// Rows used (complete cases; all rows under imputation).
    pub nobs: usize,
    /// The tested terms' coefficients.
    pub estimates: Vec<Estimate>,
    /// Joint tests of tested terms with several columns: (term, F, df1, df2, p).
    pub joint: Vec<(String, f64, f64, f64, f64)>,
    /// Why the model could not be fitted, if it could not.
    pub error: Option<String>,
    /// Many-to-one comparisons of a tested `arm` term with several columns
    /// (complete case only).
    pub comparisons: Vec<Comparisons>,
    /// `gaussian` (linear model), `binomial` (logistic) or `poisson`; for
    /// the GLMs the estimates are on the link scale with z inference (`df`
    /// null) and `joint` holds likelihood-ratio chi-squared tests.
    pub family: String,
    /// A binary outcome's arm comparisons (standardised risks, CMH).
    pub binary: Option<crate::binary::BinaryEffects>,
    /// A repeated-measures model's (MMRM) visit-by-visit comparisons.
    pub repeated: Option<crate::repeated::RepeatedEffects>,
}

/// Each level of a tested term against its reference level (each arm
/// against the control), with p-values adjusted for the number compared.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Comparisons {
    pub term: String,
    /// Model columns compared, e.g. `arm[T.il2_0_2]`.
    pub names: Vec<String>,
    /// Holm-adjusted p-values.
    pub p_holm: Vec<f64>,
    /// Dunnett single-step adjusted p-values (multivariate t with the
    /// model's residual df and the estimates' correlation).
    pub p_dunnett: Option<Vec<f64>>,
    /// How the Dunnett p-values were computed (exact one-factor quadrature
    /// or Genz's quasi-Monte Carlo) and their absolute error bound.
    pub dunnett_method: Option<multiplicity::DunnettMethod>,
    pub dunnett_abs_error: Option<f64>,
    /// Why Dunnett's adjustment could not be computed, if it could not.
    pub dunnett_error: Option<String>,
}

/// Many-to-one comparisons of the tested `arm` term of `f`, when it has
/// several columns (several arms against the control).
fn comparisons(f: &OlsFit, tests: &[String]) -> Result<Vec<Comparisons>, ReportError> {
    let mut out = Vec::new();
    for t in tests.iter().filter(|t| t.as_str() == "arm") {
        let Some(ti) = f.term_info.iter().find(|x| &x.name == t) else {
            continue;
        };
        let cols: Vec<usize> = ti.columns.clone().collect();
        if cols.len() < 2 {
            continue;
        }
        let p: Vec<f64> = cols.iter().map(|&c| f.terms[c].p).collect();
        let (p_dunnett, dunnett_method, dunnett_abs_error, dunnett_error) =
            match multiplicity::dunnett_fit(f, &cols, multiplicity::Alternative::TwoSided) {
                Ok(d) => (Some(d.p), Some(d.method), Some(d.abs_error), None),
                Err(e) => (None, None, None, Some(e.to_string())),
            };
        out.push(Comparisons {
            term: t.clone(),
            names: cols.iter().map(|&c| f.terms[c].name.clone()).collect(),
            p_holm: multiplicity::holm(&p)?,
            p_dunnett,
            dunnett_method,
            dunnett_abs_error,
            dunnett_error,
        });
    }
    Ok(out)
}

/// The rank-sum check of an outcome in one population.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RankSumResult {
    pub model: String,
    pub response: String,
    pub population: String,
    pub arm: String,
    pub control: String,
    pub result: Option<RankSum>,
    pub error: Option<String>,
}

/// The treatment effect across an effect modifier.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EffectCurve {
    pub model: String,
    pub label: String,
    pub population: String,
    pub arm: String,
    pub modifier: String,
    /// Points (modifier value, effect, low, high).
    pub points: Vec<(f64, f64, f64, f64)>,
    /// Observed modifier values (for the rug).
    pub observed: Vec<f64>,
    pub interaction: Estimate,
}

/// One row of the subgroup forest plot.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Subgroup {
    pub factor: String,
    pub level: String,
    pub n: usize,
    pub estimate: Option<Estimate>,
    pub error: Option<String>,
}

/// Everything the plan produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlanResults {
    pub control: String,
    pub models: Vec<ModelResult>,
    pub rank_sums: Vec<RankSumResult>,
    pub curves: Vec<EffectCurve>,
    /// The model and population the subgroups use.
    pub subgroup_model: Option<(String, String)>,
    pub subgroups: Vec<Subgroup>,
    /// Notes on choices the protocol leaves open.
    pub notes: Vec<String>,
}

/// Settings of the analysis the protocol does not fix.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisSettings {
    /// Imputations.
    pub m: usize,
    /// Chained-equation cycles.
    pub iterations: usize,
    /// Seed of the imputations.
    pub seed: u64,
}

impl Default for AnalysisSettings {
    fn default() -> Self {
        AnalysisSettings {
            m: 20,
            iterations: 10,
            seed: 20_260_101,
        }
    }
}

fn cov_type(robust: Option<&str>) -> Result<CovType, ReportError> {
    match robust {
        None => Ok(CovType::NonRobust),
        Some(r) => match r.to_ascii_lowercase().as_str() {
            "nonrobust" | "none" => Ok(CovType::NonRobust),
            "hc0" => Ok(CovType::Hc0),
            "hc1" => Ok(CovType::Hc1),
            "hc2" => Ok(CovType::Hc2),
            "hc3" => Ok(CovType::Hc3),
            _ => Err(ReportError::Plan(format!(
                "model robust = `{r}`: expected nonrobust, hc0, hc1, hc2 or hc3"
            ))),
        },
    }
}

fn est_of_coef(c: &rct_stats::ols::Coef, df: f64) -> Estimate {
    Estimate {
        term: c.name.clone(),
        estimate: c.estimate,
        std_error: c.std_error,
        ci_low: c.ci_low,
        ci_high: c.ci_high,
        p: c.p,
        df,
    }
}

fn est_of_pooled(p: &Pooled) -> Estimate {
    Estimate {
        term: p.name.clone(),
        estimate: p.estimate,
        std_error: p.std_error,
        ci_low: p.ci_low,
        ci_high: p.ci_high,
        p: p.p,
        df: p.df,
    }
}

/// Whether design column `col` belongs to a tested term `test`.
fn in_test(fit: &OlsFit, test: &str, col: usize) -> bool {
    fit.term_info
        .iter()
        .any(|t| t.name == test && t.columns.contains(&col))
}

fn numeric_missing(frame: &Frame, name: &str) -> bool {
    matches!(frame.column(name), Some(Column::Num(v)) if v.iter().any(|x| x.is_nan()))
}

/// Runs the plan.
pub fn run_plan(
    protocol: &Protocol,
    data: &AnalysisData,
    settings: &AnalysisSettings,
) -> Result<PlanResults, ReportError> {
    let control = protocol
        .control_arm()
        .map(|a| a.id.get_ref().clone())
        .or_else(|| protocol.arms.first().map(|a| a.id.get_ref().clone()))
        .ok_or_else(|| ReportError::Plan("the protocol has no arms".into()))?;
    let reference: BTreeMap<String, String> =
        [("arm".to_string(), control.clone())].into_iter().collect();
    let mut out = PlanResults {
        control: control.clone(),
        models: Vec::new(),
        rank_sums: Vec::new(),
        curves: Vec::new(),
        subgroup_model: None,
        subgroups: Vec::new(),
        notes: Vec::new(),
    };
    for model in &protocol.analysis.models {
        let id = model.id.get_ref().clone();
        let formula_src = model.formula.get_ref().clone();
        let formula = Formula::parse(&formula_src)?;
        let response = formula.response.var.clone();
        let kind = protocol
            .outcomes
            .iter()
            .find(|o| o.id.get_ref() == model.outcome.get_ref())
            .map(|o| o.kind);
        let cov = cov_type(model.robust.as_deref())?;
        let family = crate::binary::family_of(model)?;
        let uses_mi = model
            .missing
            .as_deref()
            .is_some_and(|m| m.starts_with("multiple"));
        for pop in &model.populations {
            let pop_id = pop.get_ref().clone();
            let frame = data.population(&pop_id)?;
            let n_pop = frame.nrows();
            let base = |method: String, primary: bool| ModelResult {
                model: id.clone(),
                label: model.label.clone(),
                outcome: model.outcome.get_ref().clone(),
                kind,
                formula: formula_src.clone(),
                population: pop_id.clone(),
                method,
                primary_method: primary,
                n_population: n_pop,
                nobs: 0,
                estimates: Vec::new(),
                joint: Vec::new(),
                error: None,
                comparisons: Vec::new(),
                family: model
                    .family
                    .as_ref()
                    .map_or_else(|| "gaussian".to_string(), |f| f.get_ref().clone()),
                binary: None,
                repeated: None,
            };
            if let Some(r) = &model.repeated {
                // An MMRM: every observed visit of everyone in the population
                // (missing at random; no imputation).
                let mut mm = base("mixed model for repeated measures".into(), false);
                match crate::repeated::fit_plan_mmrm(protocol, model, r, &frame, &control) {
                    Ok((estimates, effects)) => {
                        mm.nobs = effects.n_subjects;
                        mm.estimates = estimates;
                        mm.repeated = Some(effects);
                    }
                    Err(e) => mm.error = Some(e.to_string()),
                }
                out.models.push(mm);
                continue;
            }
            if let Some(fam) = family {
                // A GLM: complete cases (multiple imputation is for linear models).
                let mut cc = base("complete-case".into(), true);
                match crate::binary::fit_plan_glm(
                    fam,
                    &formula_src,
                    &frame,
                    &reference,
                    &model.test,
                    model.cmh.as_ref().map(|c| c.get_ref().as_str()),
                ) {
                    Ok(g) => {
                        cc.nobs = g.nobs;
                        cc.estimates = g.estimates;
                        cc.joint = g
                            .joint
                            .into_iter()
                            .map(|(t, chi2, df, p)| (t, chi2, df, f64::INFINITY, p))
                            .collect();
                        cc.binary = g.binary;
                    }
                    Err(e) => cc.error = Some(e.to_string()),
                }
                if uses_mi {
                    out.notes.push(format!(
                        "model `{id}`: multiple imputation is available for linear models only; \
                         the {} model is fitted to complete cases",
                        cc.family
                    ));
                }
                out.models.push(cc);
                continue;
            }
            // Complete case.
            let mut cc = base("complete-case".into(), !uses_mi);
            let cc_fit = design(&formula_src, &frame, &reference).and_then(|d| fit(&d, cov));
            match &cc_fit {
                Ok(f) => {
                    cc.nobs = f.nobs;
                    for (j, c) in f.terms.iter().enumerate() {
                        if model.test.iter().any(|t| in_test(f, t, j)) {
                            cc.estimates.push(est_of_coef(c, f.df_resid));
                        }
                    }
                    for t in &model.test {
                        if let Some(ti) = f.term_info.iter().find(|x| &x.name == t) {
                            if ti.columns.len() > 1 {
                                let w = f.term_test(t)?;
                                cc.joint.push((t.clone(), w.f, w.df_num, w.df_den, w.p));
                            }
                        }
                    }
                    cc.comparisons = comparisons(f, &model.test)?;
                }
                Err(e) => cc.error = Some(e.to_string()),
            }
            // Multiple imputation.
            let mi_result = if uses_mi {
                let mut r = base(format!("multiple imputation (m = {})", settings.m), true);
                let vars = formula.variables();
                let mut eqs = Vec::new();
                for v in &vars {
                    if numeric_missing(&frame, v) {
                        let preds: Vec<&str> = vars
                            .iter()
                            .filter(|o| *o != v)
                            .map(String::as_str)
                            .collect();
                        eqs.push(Equation::new(v, &preds));
                    }
                }
                let ms = MiSettings {
                    m: settings.m,
                    iterations: if eqs.len() > 1 {
                        settings.iterations
                    } else {
                        1
                    },
                    seed: settings.seed,
                };
                match mi::analyse(&frame, &formula_src, &reference, cov, &eqs, &ms) {
                    Ok((pooled, fits)) => {
                        r.nobs = fits.first().map_or(0, |f| f.nobs);
                        if let Some(f0) = fits.first() {
                            for (j, p) in pooled.iter().enumerate() {
                                if model.test.iter().any(|t| in_test(f0, t, j)) {
                                    r.estimates.push(est_of_pooled(p));
                                }
                            }
                            for t in &model.test {
                                if let Some(ti) = f0.term_info.iter().find(|x| &x.name == t) {
                                    if ti.columns.len() > 1 {
                                        let cols: Vec<usize> = ti.columns.clone().collect();
                                        let w = mi::pool_wald(&fits, &cols)?;
                                        r.joint.push((t.clone(), w.d1, w.df_num, w.df_den, w.p));
                                    }
                                }
                            }
                        }
                    }
                    Err(e) => r.error = Some(e.to_string()),
                }
                Some(r)
            } else {
                None
            };
            if let Some(r) = mi_result {
                out.models.push(r);
            }
            out.models.push(cc);

            // Rank-sum check of primary and co-primary outcomes.
            if matches!(kind, Some(OutcomeKind::Primary | OutcomeKind::CoPrimary))
                && !formula_src.contains(['*', ':'])
            {
                for arm in protocol.arms.iter().map(|a| a.id.get_ref()) {
                    if arm == &control {
                        continue;
                    }
                    let (xs, ys) = arm_values(&frame, &response, arm, &control);
                    let (result, error) =
                        match rank_sum(&xs, &ys, Method::Auto, Alternative::TwoSided, 0.95) {
                            Ok(r) => (Some(r), None),
                            Err(e) => (None, Some(e.to_string())),
                        };
                    out.rank_sums.push(RankSumResult {
                        model: id.clone(),
                        response: response.clone(),
                        population: pop_id.clone(),
                        arm: arm.clone(),
                        control: control.clone(),
                        result,
                        error,
                    });
                }
            }

            // Effect across a numeric modifier, in the first population only.
            if pop_id == model.populations[0].get_ref().as_str() {
                if let Ok(f) = &cc_fit {
                    out.curves
                        .extend(curves(&id, &model.label, &pop_id, f, &frame, &model.test));
                }
            }
        }
    }
    subgroups(protocol, data, &reference, &mut out)?;
    Ok(out)
}

fn arm_values(frame: &Frame, response: &str, arm: &str, control: &str) -> (Vec<f64>, Vec<f64>) {
    let (Some(Column::Num(y)), Some(Column::Text(a))) =
        (frame.column(response), frame.column("arm"))
    else {
        return (Vec::new(), Vec::new());
    };
    let pick = |which: &str| -> Vec<f64> {
        y.iter()
            .zip(a)
            .filter(|(v, g)| g.as_str() == which && !v.is_nan())
            .map(|(v, _)| *v)
            .collect()
    };
    (pick(arm), pick(control))
}

/// For each tested interaction `arm:<numeric>`, the effect of each arm
/// across the modifier: `b_arm + s b_int` with variance `V_aa + s^2 V_ii +
/// 2 s V_ai` and the model's t quantile.
fn curves(
    id: &str,
    label: &str,
    pop: &str,
    f: &OlsFit,
    frame: &Frame,
    tests: &[String],
) -> Vec<EffectCurve> {
    let mut out = Vec::new();
    let p = f.terms.len();
    for t in tests {
        let Some((a, modifier)) = t.split_once(':') else {
            continue;
        };
        let (modifier, arm_var) = if a == "arm" {
            (modifier, a)
        } else if modifier == "arm" {
            (a, modifier)
        } else {
            continue;
        };
        let Some(Column::Num(vals)) = frame.column(modifier) else {
            continue;
        };
        let observed: Vec<f64> = vals.iter().copied().filter(|v| v.is_finite()).collect();
        if observed.len() < 2 {
            continue;
        }
        let lo = observed.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = observed.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let q = rct_stats::dist::t_upper_quantile(0.025, f.df_resid);
        for (ja, c) in f.terms.iter().enumerate() {
            let Some(level) = c
                .name
                .strip_prefix(&format!("{arm_var}[T."))
                .and_then(|s| s.strip_suffix(']'))
            else {
                continue;
            };
            let int_names = [
                format!("{}:{modifier}", c.name),
                format!("{modifier}:{}", c.name),
            ];
            let Some(ji) = f.terms.iter().position(|x| int_names.contains(&x.name)) else {
                continue;
            };
            let (ba, bi) = (f.terms[ja].estimate, f.terms[ji].estimate);
            let (vaa, vii, vai) = (f.cov[ja * p + ja], f.cov[ji * p + ji], f.cov[ja * p + ji]);
            let points = (0..=60)
                .map(|k| {
                    let s = lo + (hi - lo) * k as f64 / 60.0;
                    let e = ba + s * bi;
                    let se = (vaa + s * s * vii + 2.0 * s * vai).max(0.0).sqrt();
                    (s, e, e - q * se, e + q * se)
                })
                .collect();
            out.push(EffectCurve {
                model: id.to_string(),
                label: label.to_string(),
                population: pop.to_string(),
                arm: level.to_string(),
                modifier: modifier.to_string(),
                points,
                observed: observed.clone(),
                interaction: est_of_coef(&f.terms[ji], f.df_resid),
            });
        }
    }
    out
}

/// Drops the additive term `var` from a formula's right-hand side, when it
/// appears alone there.
fn drop_term(formula: &str, var: &str) -> String {
    let Some((lhs, rhs)) = formula.split_once('~') else {
        return formula.to_string();
    };
    let kept: Vec<&str> = rhs
        .split('+')
        .map(str::trim)
        .filter(|t| *t != var)
        .collect();
    format!("{} ~ {}", lhs.trim(), kept.join(" + "))
}

/// A subgroup level: its label and row mask.
type Level = (String, Vec<bool>);

/// Subgroup effects of the primary model in its first population: overall,
/// by each stratification factor's levels, and by each numeric effect
/// modifier of a tested interaction split at its median.
fn subgroups(
    protocol: &Protocol,
    data: &AnalysisData,
    reference: &BTreeMap<String, String>,
    out: &mut PlanResults,
) -> Result<(), ReportError> {
    let Some(model) =
        protocol
            .analysis
            .models
            .iter()
            .find(|m| {
                protocol.outcomes.iter().any(|o| {
                    o.id.get_ref() == m.outcome.get_ref() && o.kind == OutcomeKind::Primary
                }) && !m.formula.get_ref().contains(['*', ':'])
                    && m.family.as_ref().is_none_or(|f| f.get_ref() == "gaussian")
            })
            .or_else(|| protocol.analysis.models.first())
    else {
        return Ok(());
    };
    let Some(pop) = model.populations.first().map(|p| p.get_ref().clone()) else {
        return Ok(());
    };
    let frame = data.population(&pop)?;
    let formula = model.formula.get_ref().clone();
    let cov = cov_type(model.robust.as_deref())?;
    out.subgroup_model = Some((model.id.get_ref().clone(), pop.clone()));
    let arm_effect = |fr: &Frame, fml: &str| -> (usize, Option<Estimate>, Option<String>) {
        match design(fml, fr, reference).and_then(|d| fit(&d, cov)) {
            Ok(f) => {
                let e = f
                    .terms
                    .iter()
                    .find(|c| c.name.starts_with("arm[T."))
                    .map(|c| est_of_coef(c, f.df_resid));
                (f.nobs, e, None)
            }
            Err(e) => (0, None, Some(e.to_string())),
        }
    };
    let (n, estimate, error) = arm_effect(&frame, &formula);
    let shown = estimate.as_ref().map(|e| e.term.clone());
    out.subgroups.push(Subgroup {
        factor: "All".into(),
        level: "overall".into(),
        n,
        estimate,
        error,
    });
    let mut factors: Vec<(String, Vec<Level>)> = Vec::new();
    for s in &protocol.strata {
        let sid = s.id.get_ref().clone();
        if let Some(Column::Text(v)) = frame.column(&sid) {
            let levels = s
                .levels
                .iter()
                .map(|l| {
                    let l = l.get_ref().clone();
                    let mask = v.iter().map(|x| *x == l).collect();
                    (l, mask)
                })
                .collect();
            factors.push((sid, levels));
        }
    }
    let mut modifiers: Vec<String> = Vec::new();
    for m in &protocol.analysis.models {
        for t in &m.test {
            if let Some((a, b)) = t.split_once(':') {
                let v = if a == "arm" { b } else { a };
                if !modifiers.iter().any(|x| x == v) {
                    modifiers.push(v.to_string());
                }
            }
        }
    }
    for v in &modifiers {
        if let Some(Column::Num(vals)) = frame.column(v) {
            let mut obs: Vec<f64> = vals.iter().copied().filter(|x| x.is_finite()).collect();
            if obs.len() < 4 {
                continue;
            }
            obs.sort_by(f64::total_cmp);
            let k = obs.len();
            let med = if k % 2 == 1 {
                obs[k / 2]
            } else {
                0.5 * (obs[k / 2 - 1] + obs[k / 2])
            };
            let below = vals.iter().map(|x| x.is_finite() && *x <= med).collect();
            let above = vals.iter().map(|x| x.is_finite() && *x > med).collect();
            factors.push((
                v.clone(),
                vec![
                    (format!("<= median ({})", crate::render::num(med, 3)), below),
                    (format!("> median ({})", crate::render::num(med, 3)), above),
                ],
            ));
        }
    }
    for (factor, levels) in factors {
        let fml = drop_term(&formula, &factor);
        for (level, mask) in levels {
            let sub = subset(&frame, &mask)?;
            let (n, estimate, error) = arm_effect(&sub, &fml);
            out.subgroups.push(Subgroup {
                factor: factor.clone(),
                level,
                n,
                estimate,
                error,
            });
        }
    }
    let mut note = format!(
        "The protocol names no subgroups; the forest plot shows the arm effect of model `{}` ({}) within the levels of each stratification factor and on either side of the median of each pre-specified effect modifier, complete cases.",
        model.id.get_ref(),
        pop
    );
    if let (true, Some(term)) = (protocol.arms.len() > 2, shown) {
        note.push_str(&format!(
            " With {} arms, the effect shown is `{term}` (the first arm against the control); the comparisons table gives every arm.",
            protocol.arms.len()
        ));
    }
    out.notes.push(note);
    Ok(())
}
