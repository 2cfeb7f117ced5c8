//! `rct analyse --family binomial|poisson`: a GLM on a CSV file, with
//! likelihood-ratio tests, and for a binary outcome compared across arms
//! (`--compare arm`): the model's odds ratios, standardised risk differences,
//! risk ratios and odds ratios with sandwich intervals (Holm and Dunnett by
//! the multivariate normal), the unadjusted risk difference with Newcombe and
//! Miettinen-Nurminen intervals, Fisher's exact test and, with `--cmh VAR`,
//! the Cochran-Mantel-Haenszel test over the levels of VAR.

use anyhow::{anyhow, bail};
use rct_stats::binary::{
    cmh, counterfactual_designs, fisher_exact, miettinen_nurminen_interval, newcombe_interval,
    standardise, Cmh, Fisher, Interval, Marginal, Table2,
};
use rct_stats::formula::{Design, ModelSpec};
use rct_stats::glm::{fit_glm, lr_test, Family, GlmFit, GlmOptions, LrTest};
use rct_stats::multiplicity::{adjusted_p, holm, Alternative};
use rct_stats::{Column, Frame};
use serde_json::{json, Map, Value};

/// What `run` needs from the command line.
pub struct GlmRequest<'a> {
    pub family: Family,
    pub firth: bool,
    pub offset: Option<&'a str>,
    pub exposure: Option<&'a str>,
    pub tests: &'a [String],
    pub compare: Option<&'a str>,
    pub cmh: Option<&'a str>,
    pub model: &'a str,
    pub source: &'a str,
    pub rows_read: usize,
    pub json: bool,
}

/// One arm against the reference.
#[derive(serde::Serialize)]
pub struct ArmComparison {
    pub level: String,
    pub reference: String,
    /// Model (conditional) odds ratio exp(b) and its Wald interval.
    pub model_odds_ratio: f64,
    pub model_or_ci: [f64; 2],
    pub model_p: f64,
    pub unadjusted: Option<Unadjusted>,
    pub cmh: Option<Cmh>,
}

/// The two arms' raw counts and effects.
#[derive(serde::Serialize)]
pub struct Unadjusted {
    pub events: [u64; 2],
    pub n: [u64; 2],
    pub risk_difference: f64,
    pub newcombe: Interval,
    pub miettinen_nurminen: Interval,
    pub fisher: Fisher,
}

fn offset_values(
    frame: &Frame,
    d: &Design,
    col: &str,
    log: bool,
    source: &str,
) -> anyhow::Result<Vec<f64>> {
    let Some(Column::Num(v)) = frame.column(col) else {
        bail!("{source}: the offset/exposure column `{col}` is missing or not numeric");
    };
    d.rows
        .iter()
        .map(|&i| {
            let x = v[i];
            let o = if log { x.ln() } else { x };
            if o.is_finite() {
                Ok(o)
            } else {
                Err(anyhow!(
                    "{source}: line {}: `{col}` is {x}; {}",
                    i + 2,
                    if log {
                        "an exposure must be a positive number"
                    } else {
                        "an offset must be a finite number"
                    }
                ))
            }
        })
        .collect()
}

/// Fits and prints.
pub fn run(spec: &ModelSpec, frame: &Frame, d: &Design, req: &GlmRequest) -> anyhow::Result<()> {
    let offset = match (req.offset, req.exposure) {
        (Some(_), Some(_)) => bail!("give --offset or --exposure, not both"),
        (Some(c), None) => Some(offset_values(frame, d, c, false, req.source)?),
        (None, Some(c)) => Some(offset_values(frame, d, c, true, req.source)?),
        (None, None) => None,
    };
    let opts = GlmOptions {
        firth: req.firth,
        ..GlmOptions::default()
    };
    let fit = fit_glm(d, req.family, offset.as_deref(), opts)?;
    let mut tests = Vec::new();
    for t in req.tests {
        let cols = fit.columns_of(t.trim())?;
        tests.push((
            t.trim().to_string(),
            lr_test(&fit, d, offset.as_deref(), &cols, opts)?,
        ));
    }
    let comparison = match req.compare {
        Some(var) => Some(compare(
            spec,
            frame,
            d,
            &fit,
            var,
            req.cmh,
            offset.as_deref(),
        )?),
        None => None,
    };
    if req.json {
        let v = to_json(&fit, req, &tests, comparison.as_ref());
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print(&fit, req, &tests, comparison.as_ref());
    }
    Ok(())
}

/// Everything `--compare` gives.
pub struct Comparison {
    pub term: String,
    pub arms: Vec<ArmComparison>,
    pub marginal: Option<Marginal>,
    pub marginal_error: Option<String>,
    pub p_holm: Option<Vec<f64>>,
    pub p_dunnett: Option<Vec<f64>>,
}

fn levels_of(spec: &ModelSpec, var: &str) -> anyhow::Result<Vec<String>> {
    spec.levels_of(var).ok_or_else(|| {
        anyhow!("--compare {var}: `{var}` is not a categorical variable of the model")
    })
}

fn compare(
    spec: &ModelSpec,
    frame: &Frame,
    d: &Design,
    fit: &GlmFit,
    var: &str,
    cmh_var: Option<&str>,
    offset: Option<&[f64]>,
) -> anyhow::Result<Comparison> {
    let levels = levels_of(spec, var)?;
    let arm_col = match frame.column(var) {
        Some(Column::Text(v)) => v.clone(),
        _ => bail!("--compare {var}: `{var}` must be a text column"),
    };
    let strata = match cmh_var {
        Some(s) => match frame.column(s) {
            Some(Column::Text(v)) => Some(v.clone()),
            Some(Column::Num(v)) => Some(v.iter().map(|x| format!("{x}")).collect()),
            None => bail!("--cmh {s}: no column `{s}` in the data"),
        },
        None => None,
    };
    let reference = levels[0].clone();
    let mut arms = Vec::new();
    for lv in &levels[1..] {
        // the model column of this level
        let col = fit
            .terms
            .iter()
            .position(|t| t.name == format!("{var}[T.{lv}]"));
        let (or, ci, p) = col.map_or((f64::NAN, [f64::NAN; 2], f64::NAN), |j| {
            let t = &fit.terms[j];
            (t.estimate.exp(), [t.ci_low.exp(), t.ci_high.exp()], t.p)
        });
        let mut unadjusted = None;
        let mut cm = None;
        if fit.family == Family::Binomial {
            let (mut ev, mut nn) = ([0u64; 2], [0u64; 2]);
            let mut tabs: std::collections::BTreeMap<String, [f64; 4]> = Default::default();
            for (k, &i) in d.rows.iter().enumerate() {
                let g = if arm_col[i] == *lv {
                    0
                } else if arm_col[i] == reference {
                    1
                } else {
                    continue;
                };
                let yv = d.y[k];
                nn[g] += 1;
                ev[g] += u64::from(yv == 1.0);
                if let Some(s) = &strata {
                    let t = tabs.entry(s[i].clone()).or_insert([0.0; 4]);
                    t[2 * g + usize::from(yv != 1.0)] += 1.0;
                }
            }
            if nn[0] > 0 && nn[1] > 0 {
                unadjusted = Some(Unadjusted {
                    events: ev,
                    n: nn,
                    risk_difference: ev[0] as f64 / nn[0] as f64 - ev[1] as f64 / nn[1] as f64,
                    newcombe: newcombe_interval(ev[0], nn[0], ev[1], nn[1])?,
                    miettinen_nurminen: miettinen_nurminen_interval(ev[0], nn[0], ev[1], nn[1])?,
                    fisher: fisher_exact(ev[0], nn[0] - ev[0], ev[1], nn[1] - ev[1])?,
                });
            }
            if strata.is_some() {
                let t: Vec<Table2> = tabs
                    .values()
                    .map(|t| Table2 {
                        treated_events: t[0],
                        treated_non_events: t[1],
                        control_events: t[2],
                        control_non_events: t[3],
                    })
                    .collect();
                cm = cmh(&t).ok();
            }
        }
        arms.push(ArmComparison {
            level: lv.clone(),
            reference: reference.clone(),
            model_odds_ratio: or,
            model_or_ci: ci,
            model_p: p,
            unadjusted,
            cmh: cm,
        });
    }
    let (mut marginal, mut marginal_error, mut p_holm, mut p_dunnett) = (None, None, None, None);
    if fit.family == Family::Binomial && !fit.firth {
        let m = counterfactual_designs(spec, frame, d, var, &levels)
            .and_then(|cf| standardise(fit, &d.x, &d.y, offset, &cf));
        match m {
            Ok(m) => {
                let ps: Vec<f64> = m.contrasts.iter().map(|c| c.rd_p).collect();
                p_holm = holm(&ps).ok();
                let k = ps.len();
                let z: Vec<f64> = m.contrasts.iter().map(|c| c.rd_z).collect();
                let mut corr = vec![0.0; k * k];
                for a in 0..k {
                    for b in 0..k {
                        corr[a * k + b] = m.rd_cov[a * k + b]
                            / (m.rd_cov[a * k + a] * m.rd_cov[b * k + b]).sqrt();
                    }
                }
                p_dunnett = adjusted_p(&z, &corr, f64::INFINITY, Alternative::TwoSided)
                    .ok()
                    .map(|r| r.0);
                marginal = Some(m);
            }
            Err(e) => marginal_error = Some(e.to_string()),
        }
    } else if fit.firth {
        marginal_error = Some("marginal risks are given for maximum-likelihood fits".into());
    }
    Ok(Comparison {
        term: var.to_string(),
        arms,
        marginal,
        marginal_error,
        p_holm,
        p_dunnett,
    })
}

fn family_name(f: Family) -> &'static str {
    match f {
        Family::Binomial => "binomial",
        Family::Poisson => "poisson",
    }
}

/// The JSON of a fit: the linear model's shape (`terms[].estimate,
/// std_error, z, p, ci_low, ci_high`) plus `llf`, deviance and AIC.
pub fn to_json(
    fit: &GlmFit,
    req: &GlmRequest,
    tests: &[(String, LrTest)],
    comparison: Option<&Comparison>,
) -> Value {
    let mut m = Map::new();
    m.insert("nobs".into(), json!(fit.nobs));
    m.insert("df_resid".into(), json!(fit.df_resid));
    m.insert("family".into(), json!(family_name(fit.family)));
    m.insert(
        "link".into(),
        json!(match fit.family {
            Family::Binomial => "logit",
            Family::Poisson => "log",
        }),
    );
    m.insert("firth".into(), json!(fit.firth));
    m.insert(
        "terms".into(),
        Value::Array(
            fit.terms
                .iter()
                .map(|c| {
                    json!({"name": c.name, "estimate": c.estimate, "std_error": c.std_error,
                           "z": c.z, "p": c.p, "ci_low": c.ci_low, "ci_high": c.ci_high,
                           "exp_estimate": c.estimate.exp(), "exp_ci_low": c.ci_low.exp(),
                           "exp_ci_high": c.ci_high.exp()})
                })
                .collect(),
        ),
    );
    m.insert("llf".into(), json!(fit.llf));
    m.insert("penalized_llf".into(), json!(fit.penalized_llf));
    m.insert("deviance".into(), json!(fit.deviance));
    m.insert("null_deviance".into(), json!(fit.null_deviance));
    m.insert("aic".into(), json!(fit.aic));
    m.insert("df_model".into(), json!(fit.df_model));
    m.insert("iterations".into(), json!(fit.iterations));
    m.insert("converged".into(), json!(fit.converged));
    m.insert("separation".into(), json!(fit.separation));
    m.insert("formula".into(), json!(req.model));
    m.insert("rows_read".into(), json!(req.rows_read));
    m.insert("rows_dropped".into(), json!(fit.dropped_rows));
    m.insert(
        "tests".into(),
        Value::Array(
            tests
                .iter()
                .map(|(t, w)| {
                    json!({"term": t, "columns": w.columns, "test": if fit.firth {
                        "penalised likelihood ratio" } else { "likelihood ratio" },
                        "chi2": w.chi2, "df": w.df, "p": w.p})
                })
                .collect(),
        ),
    );
    if let Some(c) = comparison {
        m.insert(
            "comparisons".into(),
            json!({
                "term": c.term,
                "arms": c.arms,
                "marginal": c.marginal,
                "marginal_error": c.marginal_error,
                "rd_p_holm": c.p_holm,
                "rd_p_dunnett": c.p_dunnett,
            }),
        );
    }
    Value::Object(m)
}

fn fmt_p(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.2e}")
    } else {
        format!("{p:.4}")
    }
}

fn print(fit: &GlmFit, req: &GlmRequest, tests: &[(String, LrTest)], c: Option<&Comparison>) {
    println!(
        "Model: {} ({} GLM, {} link{})",
        req.model,
        family_name(fit.family),
        if fit.family == Family::Binomial {
            "logit"
        } else {
            "log"
        },
        if fit.firth {
            ", Firth's penalised likelihood"
        } else {
            ""
        }
    );
    println!(
        "Data: {}: {} rows, {} dropped for missing values, {} used",
        req.source, req.rows_read, fit.dropped_rows, fit.nobs
    );
    if let Some(s) = &fit.separation {
        println!();
        println!("WARNING: {s}");
    }
    println!();
    let w = fit
        .terms
        .iter()
        .map(|t| t.name.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let ex = if fit.family == Family::Binomial {
        "OR"
    } else {
        "RR"
    };
    println!(
        "{:<w$}  {:>11}  {:>10}  {:>8}  {:>10}  {:>10}  {:>10}  {:>10}",
        "", "Estimate", "Std. Error", "z value", "Pr(>|z|)", ex, "2.5 %", "97.5 %"
    );
    for t in &fit.terms {
        println!(
            "{:<w$}  {:>11.5}  {:>10.5}  {:>8.3}  {:>10}  {:>10.4}  {:>10.4}  {:>10.4}",
            t.name,
            t.estimate,
            t.std_error,
            t.z,
            fmt_p(t.p),
            t.estimate.exp(),
            t.ci_low.exp(),
            t.ci_high.exp()
        );
    }
    println!();
    println!(
        "Log-likelihood {:.4}{}; deviance {:.4} on {} df (null {:.4}); AIC {:.4}",
        fit.llf,
        fit.penalized_llf
            .map_or(String::new(), |v| format!(" (penalised {v:.4})")),
        fit.deviance,
        fit.df_resid,
        fit.null_deviance,
        fit.aic
    );
    if !tests.is_empty() {
        println!();
        println!(
            "{} tests:",
            if fit.firth {
                "Penalised likelihood-ratio"
            } else {
                "Likelihood-ratio"
            }
        );
        for (t, lr) in tests {
            println!(
                "  {t}: chi2 = {:.4} on {} df, p = {}",
                lr.chi2,
                lr.df,
                fmt_p(lr.p)
            );
        }
    }
    let Some(c) = c else { return };
    println!();
    println!(
        "Each level of `{}` against {}:",
        c.term,
        c.arms.first().map_or("", |a| a.reference.as_str())
    );
    for (k, a) in c.arms.iter().enumerate() {
        println!(
            "  {}: model odds ratio {:.4} ({:.4} to {:.4}), p = {}",
            a.level,
            a.model_odds_ratio,
            a.model_or_ci[0],
            a.model_or_ci[1],
            fmt_p(a.model_p)
        );
        if let Some(m) = &c.marginal {
            let mc = &m.contrasts[k];
            println!(
                "    standardised: risk {:.4} vs {:.4}; difference {:.4} ({:.4} to {:.4}), p = {}{}{}",
                m.risks[k + 1].risk,
                m.risks[0].risk,
                mc.risk_difference,
                mc.rd_ci_low,
                mc.rd_ci_high,
                fmt_p(mc.rd_p),
                c.p_holm
                    .as_ref()
                    .map_or(String::new(), |h| format!(", Holm {}", fmt_p(h[k]))),
                c.p_dunnett
                    .as_ref()
                    .map_or(String::new(), |h| format!(", Dunnett {}", fmt_p(h[k])))
            );
            println!(
                "    risk ratio {:.4} ({:.4} to {:.4}); odds ratio {:.4} ({:.4} to {:.4})",
                mc.risk_ratio,
                mc.rr_ci_low,
                mc.rr_ci_high,
                mc.odds_ratio,
                mc.or_ci_low,
                mc.or_ci_high
            );
        }
        if let Some(u) = &a.unadjusted {
            println!(
                "    unadjusted: {}/{} vs {}/{}; difference {:.4}, Newcombe {:.4} to {:.4}, \
                 Miettinen-Nurminen {:.4} to {:.4}; Fisher p = {}",
                u.events[0],
                u.n[0],
                u.events[1],
                u.n[1],
                u.risk_difference,
                u.newcombe.low,
                u.newcombe.high,
                u.miettinen_nurminen.low,
                u.miettinen_nurminen.high,
                fmt_p(u.fisher.p)
            );
        }
        if let Some(m) = &a.cmh {
            println!(
                "    CMH over {} strata: chi2 = {:.4}, p = {}; MH odds ratio {:.4} ({:.4} to {:.4})",
                m.strata,
                m.statistic,
                fmt_p(m.p),
                m.odds_ratio,
                m.ci_low,
                m.ci_high
            );
        }
    }
    if let Some(e) = &c.marginal_error {
        println!("  standardised risks not computed: {e}");
    }
    if c.marginal.is_some() {
        println!(
            "  Standardised risks average each participant's predicted risk under each arm; \
             standard errors by the sandwich (delta method over the model's estimating \
             equations); Dunnett by the multivariate normal."
        );
    }
}
