//! `rct analyse --repeated 'VISIT | SUBJECT'`: a mixed model for repeated
//! measures on a long CSV file (one row per subject and visit), with
//! Satterthwaite or Kenward-Roger df, type III tests, and with `--compare
//! ARM` the LS means by arm and visit and each arm's difference from the
//! reference at every visit.

use anyhow::{anyhow, bail};
use rct_stats::formula::{Design, ModelSpec};
use rct_stats::mmrm::infer::{ls_mean_differences, ls_means, type3, Contrast, FTest, Grid, LsMean};
use rct_stats::mmrm::{fit_mmrm, repeated, CovStructure, DfMethod, MmrmFit, MmrmOptions};
use rct_stats::Frame;
use serde_json::{json, Map, Value};

/// What `run` needs from the command line.
pub struct MmrmRequest<'a> {
    pub repeated: &'a str,
    pub covariance: &'a str,
    pub df: &'a str,
    pub ml: bool,
    pub visits: Option<&'a str>,
    pub compare: Option<&'a str>,
    pub model: &'a str,
    pub source: &'a str,
    pub rows_read: usize,
    pub json: bool,
}

/// Splits `VISIT | SUBJECT`.
pub fn parse_repeated(s: &str) -> anyhow::Result<(String, String)> {
    let (v, u) = s.split_once('|').ok_or_else(|| {
        anyhow!("--repeated `{s}`: expected 'VISIT | SUBJECT', e.g. 'AVISIT | USUBJID'")
    })?;
    let (v, u) = (v.trim(), u.trim());
    if v.is_empty() || u.is_empty() {
        bail!("--repeated `{s}`: name both the visit and the subject variable");
    }
    Ok((v.to_string(), u.to_string()))
}

/// Everything the fit gives beyond the coefficients.
pub struct Extras {
    pub type3: Vec<FTest>,
    pub ls_means: Vec<LsMean>,
    pub differences: Vec<(String, String, Contrast)>,
    pub compare: Option<(String, String)>,
}

/// Fits, tests and prints.
pub fn run(spec: &ModelSpec, frame: &Frame, d: &Design, req: &MmrmRequest) -> anyhow::Result<()> {
    let (visit_var, subject_var) = parse_repeated(req.repeated)?;
    let order: Option<Vec<String>> = req
        .visits
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    let rep = repeated(frame, d, &visit_var, &subject_var, order.as_deref())
        .map_err(|e| anyhow!("{}: {e}", req.source))?;
    let opts = MmrmOptions {
        structure: CovStructure::parse(req.covariance)?,
        reml: !req.ml,
        df: DfMethod::parse(req.df)?,
        ..MmrmOptions::default()
    };
    let fit = fit_mmrm(d, &rep, opts)?;
    let grid = Grid::new(spec, frame, d)?;
    let t3 = type3(&fit, spec, &grid)?;
    let mut extras = Extras {
        type3: t3,
        ls_means: Vec::new(),
        differences: Vec::new(),
        compare: None,
    };
    if let Some(arm) = req.compare {
        let levels = spec
            .levels_of(arm)
            .ok_or_else(|| anyhow!("--compare {arm}: not a categorical variable of the model"))?;
        let visit_in_model = spec.levels_of(&visit_var).is_some();
        if visit_in_model {
            extras.ls_means = ls_means(&fit, &grid, &[arm, &visit_var])?;
            for lv in &levels[1..] {
                for (v, c) in ls_mean_differences(&fit, &grid, arm, lv, &levels[0], &visit_var)? {
                    extras.differences.push((lv.clone(), v, c));
                }
            }
        } else {
            extras.ls_means = ls_means(&fit, &grid, &[arm])?;
        }
        extras.compare = Some((arm.to_string(), levels[0].clone()));
    }
    if req.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&to_json(&fit, req, &extras))?
        );
    } else {
        print(&fit, req, &extras, &visit_var, &subject_var);
    }
    Ok(())
}

fn df_name(m: DfMethod) -> &'static str {
    match m {
        DfMethod::Satterthwaite => "satterthwaite",
        DfMethod::KenwardRoger => "kenward-roger",
    }
}

/// The JSON: the linear model's `terms` (with `df` per term), the
/// covariance parameters, `-2 log REML`, type III tests, LS means.
pub fn to_json(fit: &MmrmFit, req: &MmrmRequest, x: &Extras) -> Value {
    let mut m = Map::new();
    m.insert("nobs".into(), json!(fit.nobs));
    m.insert("subjects".into(), json!(fit.n_subjects));
    m.insert("visits".into(), json!(fit.visits));
    m.insert("terms".into(), json!(fit.terms));
    m.insert("covariance".into(), json!(fit.structure));
    m.insert(
        "covariance_parameters".into(),
        Value::Array(
            fit.cov_param_names
                .iter()
                .zip(&fit.cov_params)
                .map(|(n, v)| json!({"name": n, "estimate": v}))
                .collect(),
        ),
    );
    m.insert("sigma".into(), json!(fit.sigma));
    m.insert("method".into(), json!(if fit.reml { "REML" } else { "ML" }));
    m.insert(
        if fit.reml {
            "neg2_log_reml"
        } else {
            "neg2_log_likelihood"
        }
        .into(),
        json!(fit.neg2_loglik),
    );
    m.insert("aic".into(), json!(fit.aic));
    m.insert("bic".into(), json!(fit.bic));
    m.insert("df_method".into(), json!(df_name(fit.df_method)));
    m.insert("iterations".into(), json!(fit.iterations));
    m.insert("type3".into(), json!(x.type3));
    m.insert("ls_means".into(), json!(x.ls_means));
    m.insert(
        "differences".into(),
        Value::Array(
            x.differences
                .iter()
                .map(|(lv, v, c)| {
                    json!({"level": lv, "reference": x.compare.as_ref().map(|c| c.1.clone()),
                           "at": v, "estimate": c.estimate, "std_error": c.std_error, "df": c.df,
                           "t": c.t, "p": c.p, "ci_low": c.ci_low, "ci_high": c.ci_high})
                })
                .collect(),
        ),
    );
    m.insert("formula".into(), json!(req.model));
    m.insert("repeated".into(), json!(req.repeated));
    m.insert("rows_read".into(), json!(req.rows_read));
    m.insert("rows_dropped".into(), json!(fit.dropped_rows));
    Value::Object(m)
}

fn fmt_p(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.2e}")
    } else {
        format!("{p:.4}")
    }
}

fn print(fit: &MmrmFit, req: &MmrmRequest, x: &Extras, visit: &str, subject: &str) {
    println!(
        "Model: {} with {} covariance of `{visit}` within `{subject}` ({}, {} df)",
        req.model,
        match fit.structure {
            CovStructure::Us => "unstructured",
            CovStructure::Cs => "compound-symmetry",
            CovStructure::Ar1 => "AR(1)",
            CovStructure::Toep => "Toeplitz",
        },
        if fit.reml { "REML" } else { "ML" },
        match fit.df_method {
            DfMethod::Satterthwaite => "Satterthwaite",
            DfMethod::KenwardRoger => "Kenward-Roger",
        }
    );
    println!(
        "Data: {}: {} rows, {} without an outcome or covariate, {} observations of {} subjects at visits {}",
        req.source,
        req.rows_read,
        fit.dropped_rows,
        fit.nobs,
        fit.n_subjects,
        fit.visits.join(", ")
    );
    println!();
    let w = fit
        .terms
        .iter()
        .map(|t| t.name.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "{:<w$}  {:>11}  {:>10}  {:>8}  {:>8}  {:>10}  {:>10}  {:>10}",
        "", "Estimate", "Std. Error", "df", "t value", "Pr(>|t|)", "2.5 %", "97.5 %"
    );
    for t in &fit.terms {
        println!(
            "{:<w$}  {:>11.5}  {:>10.5}  {:>8.2}  {:>8.3}  {:>10}  {:>10.4}  {:>10.4}",
            t.name,
            t.estimate,
            t.std_error,
            t.df,
            t.t,
            fmt_p(t.p),
            t.ci_low,
            t.ci_high
        );
    }
    println!();
    println!("Covariance parameters:");
    for (n, v) in fit.cov_param_names.iter().zip(&fit.cov_params) {
        println!("  {n:<10} {v:>12.4}");
    }
    println!(
        "{} {:.4}; AIC {:.4}; BIC {:.4}",
        if fit.reml { "-2 log REML" } else { "-2 log L" },
        fit.neg2_loglik,
        fit.aic,
        fit.bic
    );
    println!();
    println!("Type III tests:");
    for t in &x.type3 {
        println!(
            "  {:<20} F = {:>10.4} on {} and {:.2} df, p = {}",
            t.term,
            t.f,
            t.num_df,
            t.den_df,
            fmt_p(t.p)
        );
    }
    if !x.ls_means.is_empty() {
        println!();
        println!("Least-squares means:");
        for l in &x.ls_means {
            let cell: Vec<String> = l.cell.iter().map(|(v, lv)| format!("{v}={lv}")).collect();
            println!(
                "  {:<28} {:>10.4}  SE {:>8.4}  df {:>7.2}  95 % CI {:.4} to {:.4}",
                cell.join(", "),
                l.value.estimate,
                l.value.std_error,
                l.value.df,
                l.value.ci_low,
                l.value.ci_high
            );
        }
    }
    if let Some((arm, reference)) = &x.compare {
        if !x.differences.is_empty() {
            println!();
            println!("Each level of `{arm}` against {reference} at each visit:");
            for (lv, v, c) in &x.differences {
                println!(
                    "  {lv} at {v:<10} {:>10.4}  SE {:>8.4}  df {:>7.2}  95 % CI {:.4} to {:.4}  p = {}",
                    c.estimate,
                    c.std_error,
                    c.df,
                    c.ci_low,
                    c.ci_high,
                    fmt_p(c.p)
                );
            }
        }
    }
}
