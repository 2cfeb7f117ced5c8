//! Binary (and count) outcomes in the analysis plan: a model with
//! `family = "binomial"` is a logistic regression; the tested `arm` term is
//! reported as each arm's odds ratio and, by standardisation over the fitted
//! model, its marginal risk difference (sandwich SE; Holm and Dunnett by the
//! multivariate normal), risk ratio and odds ratio, with a
//! Cochran-Mantel-Haenszel check over the protocol's `cmh` variable.
//! `family = "poisson"` gives a log-linear model (rate ratios).

use std::collections::BTreeMap;

use rct_stats::binary::{cmh, counterfactual_designs, standardise, Cmh, Marginal, Table2};
use rct_stats::formula::{Formula, ModelSpec};
use rct_stats::glm::{fit_glm, lr_test, Family, GlmFit, GlmOptions};
use rct_stats::multiplicity::{adjusted_p, holm, Alternative};
use rct_stats::{Column, Frame};

use crate::analysis::Estimate;
use crate::ReportError;

/// The arm comparisons of a binary outcome.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BinaryEffects {
    /// Standardised risks and contrasts (the first risk is the control's).
    pub marginal: Option<Marginal>,
    pub marginal_error: Option<String>,
    /// Holm- and Dunnett-adjusted p-values of the risk differences.
    pub p_holm: Vec<f64>,
    pub p_dunnett: Option<Vec<f64>>,
    /// Model (conditional) odds ratios exp(b) with Wald intervals, per arm.
    pub odds_ratios: Vec<(String, f64, f64, f64)>,
    /// The variable the CMH check stratifies by.
    pub cmh_by: Option<String>,
    /// (arm, CMH result or why not).
    pub cmh: Vec<(String, Option<Cmh>, Option<String>)>,
    /// Why the maximum-likelihood estimates do not exist, when they do not.
    pub separation: Option<String>,
}

/// The family of a plan model.
pub fn family_of(model: &rct_core::protocol::Model) -> Result<Option<Family>, ReportError> {
    match model.family.as_ref().map(|f| f.get_ref().as_str()) {
        None | Some("gaussian") => Ok(None),
        Some(f) => Family::parse(f)
            .map(Some)
            .map_err(|e| ReportError::Plan(format!("model `{}`: {e}", model.id.get_ref()))),
    }
}

/// What a GLM in one population gives the report.
pub struct GlmOutcome {
    pub nobs: usize,
    pub estimates: Vec<Estimate>,
    /// (term, chi2, df, p) likelihood-ratio tests of multi-column terms.
    pub joint: Vec<(String, f64, f64, f64)>,
    pub binary: Option<BinaryEffects>,
}

/// Fits a GLM plan model in one population (complete cases).
pub fn fit_plan_glm(
    family: Family,
    formula_src: &str,
    frame: &Frame,
    reference: &BTreeMap<String, String>,
    tests: &[String],
    cmh_by: Option<&str>,
) -> Result<GlmOutcome, ReportError> {
    let formula = Formula::parse(formula_src)?;
    let spec = ModelSpec::new(&formula, frame, reference)?;
    let d = spec.design(frame)?;
    let opts = GlmOptions::default();
    let fit = fit_glm(&d, family, None, opts)?;
    let in_test = |j: usize| {
        tests.iter().any(|t| {
            fit.term_info
                .iter()
                .any(|ti| &ti.name == t && ti.columns.contains(&j))
        })
    };
    let estimates = fit
        .terms
        .iter()
        .enumerate()
        .filter(|(j, _)| in_test(*j))
        .map(|(_, c)| Estimate {
            term: c.name.clone(),
            estimate: c.estimate,
            std_error: c.std_error,
            ci_low: c.ci_low,
            ci_high: c.ci_high,
            p: c.p,
            df: f64::INFINITY,
        })
        .collect();
    let mut joint = Vec::new();
    for t in tests {
        if let Some(ti) = fit.term_info.iter().find(|x| &x.name == t) {
            if ti.columns.len() > 1 {
                let cols: Vec<usize> = ti.columns.clone().collect();
                let lr = lr_test(&fit, &d, None, &cols, opts)?;
                joint.push((t.clone(), lr.chi2, lr.df, lr.p));
            }
        }
    }
    let binary = if family == Family::Binomial && tests.iter().any(|t| t == "arm") {
        Some(arm_effects(&fit, &spec, frame, &d, cmh_by)?)
    } else {
        None
    };
    Ok(GlmOutcome {
        nobs: fit.nobs,
        estimates,
        joint,
        binary,
    })
}

fn arm_effects(
    fit: &GlmFit,
    spec: &ModelSpec,
    frame: &Frame,
    d: &rct_stats::Design,
    cmh_by: Option<&str>,
) -> Result<BinaryEffects, ReportError> {
    let levels = spec
        .levels_of("arm")
        .ok_or_else(|| ReportError::Plan("`arm` is not categorical in the model".into()))?;
    let odds_ratios = levels[1..]
        .iter()
        .filter_map(|lv| {
            let name = format!("arm[T.{lv}]");
            fit.terms.iter().find(|t| t.name == name).map(|t| {
                (
                    lv.clone(),
                    t.estimate.exp(),
                    t.ci_low.exp(),
                    t.ci_high.exp(),
                )
            })
        })
        .collect();
    let (mut marginal, mut marginal_error, mut p_holm, mut p_dunnett) =
        (None, None, Vec::new(), None);
    match counterfactual_designs(spec, frame, d, "arm", &levels)
        .and_then(|cf| standardise(fit, &d.x, &d.y, None, &cf))
    {
        Ok(m) => {
            let ps: Vec<f64> = m.contrasts.iter().map(|c| c.rd_p).collect();
            p_holm = holm(&ps)?;
            let k = ps.len();
            let z: Vec<f64> = m.contrasts.iter().map(|c| c.rd_z).collect();
            let corr: Vec<f64> = (0..k * k)
                .map(|ab| {
                    let (a, b) = (ab / k, ab % k);
                    m.rd_cov[ab] / (m.rd_cov[a * k + a] * m.rd_cov[b * k + b]).sqrt()
                })
                .collect();
            p_dunnett = adjusted_p(&z, &corr, f64::INFINITY, Alternative::TwoSided)
                .ok()
                .map(|r| r.0);
            marginal = Some(m);
        }
        Err(e) => marginal_error = Some(e.to_string()),
    }
    let mut cmh_out = Vec::new();
    if let Some(by) = cmh_by {
        let arm = match frame.column("arm") {
            Some(Column::Text(v)) => v.clone(),
            _ => Vec::new(),
        };
        let strata: Vec<String> = match frame.column(by) {
            Some(Column::Text(v)) => v.clone(),
            Some(Column::Num(v)) => v.iter().map(|x| format!("{x}")).collect(),
            None => Vec::new(),
        };
        for lv in &levels[1..] {
            let mut tabs: BTreeMap<&str, [f64; 4]> = BTreeMap::new();
            for (k, &i) in d.rows.iter().enumerate() {
                let (Some(a), Some(s)) = (arm.get(i), strata.get(i)) else {
                    continue;
                };
                if s.is_empty() {
                    continue;
                }
                let g = if a == lv {
                    0
                } else if *a == levels[0] {
                    1
                } else {
                    continue;
                };
                tabs.entry(s.as_str()).or_insert([0.0; 4])[2 * g + usize::from(d.y[k] != 1.0)] +=
                    1.0;
            }
            let t: Vec<Table2> = tabs
                .values()
                .map(|t| Table2 {
                    treated_events: t[0],
                    treated_non_events: t[1],
                    control_events: t[2],
                    control_non_events: t[3],
                })
                .collect();
            match cmh(&t) {
                Ok(c) => cmh_out.push((lv.clone(), Some(c), None)),
                Err(e) => cmh_out.push((lv.clone(), None, Some(e.to_string()))),
            }
        }
    }
    Ok(BinaryEffects {
        marginal,
        marginal_error,
        p_holm,
        p_dunnett,
        odds_ratios,
        cmh_by: cmh_by.map(str::to_string),
        cmh: cmh_out,
        separation: fit.separation.clone(),
    })
}
