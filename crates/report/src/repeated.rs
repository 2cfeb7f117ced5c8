//! Repeated-measures models in the analysis plan: a model with `repeated =
//! { visits = [...] }` is a mixed model for repeated measures (MMRM). The
//! wide analysis data (one row per participant, the outcome at each visit in
//! its own variable) is made long (one row per participant and visit, the
//! formula's response holding the outcome, `visit` the visit); the MMRM is
//! fitted by REML with the plan's covariance and df method, and each arm is
//! compared with the control by the difference of least-squares means at
//! every visit; the effect is the contrast at the last visit.

use std::collections::BTreeMap;

use rct_core::protocol::{Model, Protocol, RepeatedPlan};
use rct_stats::formula::{Formula, ModelSpec};
use rct_stats::mmrm::infer::{ls_mean_differences, type3, FTest, Grid};
use rct_stats::mmrm::{fit_mmrm, repeated, CovStructure, DfMethod, MmrmOptions};
use rct_stats::{Column, Frame};

use crate::analysis::Estimate;
use crate::ReportError;

/// One arm against the control at one visit (difference of LS means).
#[derive(Debug, Clone, serde::Serialize)]
pub struct VisitDifference {
    pub arm: String,
    pub visit: String,
    pub estimate: f64,
    pub std_error: f64,
    pub df: f64,
    pub p: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// What an MMRM in one population gives the report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RepeatedEffects {
    /// `us`, `cs`, `ar1` or `toep`.
    pub covariance: String,
    /// `kenward-roger` or `satterthwaite`.
    pub df_method: String,
    /// Visit levels in time order (the last is the effect's).
    pub visits: Vec<String>,
    pub n_subjects: usize,
    pub nobs: usize,
    /// `-2 log REML`.
    pub neg2_reml: f64,
    /// Covariance parameters (SAS's names).
    pub cov_params: Vec<(String, f64)>,
    /// Each arm against the control at each visit, in visit order.
    pub differences: Vec<VisitDifference>,
    /// Type III F tests of the model's terms.
    pub type3: Vec<FTest>,
}

/// The visit levels of a repeated plan: each visit variable's visit (the
/// variable's id when it names none), in the order listed.
pub fn visit_levels(protocol: &Protocol, r: &RepeatedPlan) -> Vec<(String, String)> {
    r.visits
        .iter()
        .map(|v| {
            let level = protocol
                .analysis
                .variables
                .iter()
                .find(|x| x.id.get_ref() == v.get_ref())
                .and_then(|x| x.visit.as_ref().map(|s| s.get_ref().clone()))
                .unwrap_or_else(|| v.get_ref().clone());
            (v.get_ref().clone(), level)
        })
        .collect()
}

/// The long frame: every column of `frame` repeated once per visit, plus
/// `response` (the visit variable's value), `visit` and `subject` (the
/// participant).
pub fn long_frame(
    frame: &Frame,
    response: &str,
    visits: &[(String, String)],
) -> Result<Frame, ReportError> {
    let n = frame.nrows();
    let mut out = Frame::new();
    let mut y = Vec::with_capacity(n * visits.len());
    let mut vis = Vec::with_capacity(n * visits.len());
    for (var, level) in visits {
        match frame.column(var) {
            Some(Column::Num(v)) => y.extend_from_slice(v),
            _ => {
                return Err(ReportError::Plan(format!(
                    "repeated visit variable `{var}` is not a numeric column of the analysis data"
                )))
            }
        }
        vis.extend(std::iter::repeat_n(level.clone(), n));
    }
    for name in frame.names() {
        if name == response || name == "visit" {
            continue;
        }
        let col = match frame.column(name) {
            Some(Column::Num(v)) => Column::Num(v.repeat(visits.len())),
            Some(Column::Text(v)) => {
                Column::Text((0..visits.len()).flat_map(|_| v.iter().cloned()).collect())
            }
            None => continue,
        };
        out.push(name, col)?;
    }
    out.push(response, Column::Num(y))?;
    out.push("visit", Column::Text(vis))?;
    Ok(out)
}

/// Fits a repeated-measures plan model in one population.
pub fn fit_plan_mmrm(
    protocol: &Protocol,
    model: &Model,
    r: &RepeatedPlan,
    frame: &Frame,
    control: &str,
) -> Result<(Vec<Estimate>, RepeatedEffects), ReportError> {
    let id = model.id.get_ref();
    let formula = Formula::parse(model.formula.get_ref())?;
    let response = formula.response.var.clone();
    let visits = visit_levels(protocol, r);
    let (Some(first), Some(last)) = (visits.first(), visits.last()) else {
        return Err(ReportError::Plan(format!(
            "model `{id}`: repeated lists no visit variables"
        )));
    };
    let (first, last) = (first.1.clone(), last.1.clone());
    for (var, level) in &visits {
        if let Some(Column::Num(v)) = frame.column(var) {
            if v.iter().all(|x| x.is_nan()) {
                return Err(ReportError::Plan(format!(
                    "model `{id}`: no one in this population has `{var}` (visit `{level}`) \
                     recorded; the repeated-measures model needs an outcome at every listed visit"
                )));
            }
        }
    }
    let long = long_frame(frame, &response, &visits)?;
    let order: Vec<String> = visits.iter().map(|(_, l)| l.clone()).collect();
    let reference: BTreeMap<String, String> = [
        ("arm".to_string(), control.to_string()),
        ("visit".to_string(), first),
    ]
    .into_iter()
    .collect();
    let spec = ModelSpec::new(&formula, &long, &reference)?;
    let d = spec.design(&long)?;
    let rep = repeated(&long, &d, "visit", "participant", Some(&order))?;
    let structure = r.covariance.as_ref().map_or("us", |c| c.get_ref().as_str());
    let df =
        r.df.as_ref()
            .map_or("kenward-roger", |c| c.get_ref().as_str());
    let opts = MmrmOptions {
        structure: CovStructure::parse(structure)?,
        df: DfMethod::parse(df)?,
        ..MmrmOptions::default()
    };
    let fit = fit_mmrm(&d, &rep, opts)?;
    let grid = Grid::new(&spec, &long, &d)?;
    let arms = spec.levels_of("arm").ok_or_else(|| {
        ReportError::Plan(format!(
            "model `{id}`: the repeated model needs `arm` as a factor of its formula"
        ))
    })?;
    if spec.levels_of("visit").is_none() {
        return Err(ReportError::Plan(format!(
            "model `{id}`: the repeated model needs `visit` in its formula (e.g. arm * visit)"
        )));
    }
    let mut differences = Vec::new();
    for arm in arms.iter().filter(|a| a.as_str() != control) {
        let mut at = ls_mean_differences(&fit, &grid, "arm", arm, control, "visit")?;
        at.sort_by_key(|(v, _)| order.iter().position(|o| o == v));
        for (visit, c) in at {
            differences.push(VisitDifference {
                arm: arm.clone(),
                visit,
                estimate: c.estimate,
                std_error: c.std_error,
                df: c.df,
                p: c.p,
                ci_low: c.ci_low,
                ci_high: c.ci_high,
            });
        }
    }
    let estimates = differences
        .iter()
        .filter(|dd| dd.visit == last)
        .map(|dd| Estimate {
            term: format!("arm[T.{}] at {last}", dd.arm),
            estimate: dd.estimate,
            std_error: dd.std_error,
            ci_low: dd.ci_low,
            ci_high: dd.ci_high,
            p: dd.p,
            df: dd.df,
        })
        .collect();
    let effects = RepeatedEffects {
        covariance: structure.to_string(),
        df_method: df.to_string(),
        visits: order.clone(),
        n_subjects: fit.n_subjects,
        nobs: fit.nobs,
        neg2_reml: fit.neg2_loglik,
        cov_params: fit
            .cov_param_names
            .iter()
            .cloned()
            .zip(fit.cov_params.iter().copied())
            .collect(),
        differences,
        type3: type3(&fit, &spec, &grid)?,
    };
    Ok((estimates, effects))
}

/// The report's paragraph before the repeated-measures table.
pub const NOTE: &str = "Repeated-measures models (MMRM: REML, every observed post-baseline visit of everyone in the population, missing at random): each arm against the control as the difference of least-squares means at each visit, with the model's covariance across visits and degrees of freedom (Kenward-Roger: the adjusted covariance of the estimates, as SAS PROC MIXED DDFM=KR); the effect is the contrast at the last visit.";

/// The report's repeated-measures table header.
pub const HEADER: [&str; 9] = [
    "Model",
    "Population",
    "Comparison",
    "Visit",
    "Difference (95 % CI)",
    "SE",
    "df",
    "p",
    "Covariance, -2 log REML, participants",
];

/// Rows of the repeated-measures table: each arm against the control at
/// each visit.
pub fn rows(res: &crate::analysis::PlanResults) -> Vec<Vec<String>> {
    use crate::render::{fmt_p, num};
    let mut rows = Vec::new();
    for m in &res.models {
        let Some(r) = &m.repeated else { continue };
        let fit = format!(
            "{} ({}), {}, {}",
            r.covariance,
            r.df_method,
            num(r.neg2_reml, 2),
            r.n_subjects
        );
        for d in &r.differences {
            rows.push(vec![
                m.model.clone(),
                m.population.to_uppercase(),
                format!("{} vs {}", d.arm, res.control),
                d.visit.clone(),
                format!(
                    "{} ({} to {})",
                    num(d.estimate, 3),
                    num(d.ci_low, 3),
                    num(d.ci_high, 3)
                ),
                num(d.std_error, 3),
                num(d.df, 1),
                fmt_p(d.p),
                fit.clone(),
            ]);
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_frame_repeats_each_participant_per_visit() {
        let mut f = Frame::new();
        f.push("participant", Column::Text(vec!["P1".into(), "P2".into()]))
            .unwrap();
        f.push("y_a", Column::Num(vec![1.0, f64::NAN])).unwrap();
        f.push("y_b", Column::Num(vec![3.0, 4.0])).unwrap();
        let visits = [
            ("y_a".to_string(), "a".to_string()),
            ("y_b".into(), "b".into()),
        ];
        let l = long_frame(&f, "y", &visits).unwrap();
        assert_eq!(l.nrows(), 4);
        let Some(Column::Text(p)) = l.column("participant") else {
            panic!()
        };
        assert_eq!(p, &["P1", "P2", "P1", "P2"]);
        let Some(Column::Text(v)) = l.column("visit") else {
            panic!()
        };
        assert_eq!(v, &["a", "a", "b", "b"]);
        let Some(Column::Num(y)) = l.column("y") else {
            panic!()
        };
        assert!(y[0] == 1.0 && y[1].is_nan() && y[2] == 3.0 && y[3] == 4.0);
        assert!(long_frame(&f, "y", &[("nope".into(), "a".into())]).is_err());
    }
}
