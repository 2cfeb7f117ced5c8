//! `rct-report`: analysis populations and the trial report. Pure: no I/O,
//! no clock; every function takes the trial state and protocol and returns
//! data or strings.
//!
//! - [`population::analysis_data`]: one row per randomised participant, arm
//!   as allocated (ITT), stratification factors, analysis variables, trial
//!   variables and membership of each protocol population (per protocol from
//!   the recorded sessions' compliance).
//! - [`analysis::run_plan`]: every model in every population, complete-case
//!   and by multiple imputation where the protocol asks, the rank-sum check,
//!   effect curves across effect modifiers, subgroup effects.
//! - [`build_report`]: Markdown and self-contained HTML with the CONSORT
//!   diagram, Table 1, results, the interaction plot and the forest plot.

pub mod analysis;
pub mod binary;
pub mod demo;
pub mod estimands;
pub mod flow;
pub mod population;
pub mod render;
pub mod repeated;
pub mod safety;
pub mod svg;

use rct_core::protocol::{OutcomeKind, Protocol};
use rct_record::TrialState;
use rct_stats::Column;

pub use analysis::{run_plan, AnalysisSettings, PlanResults};
pub use population::{analysis_data, AnalysisData, PopulationSettings};
use render::{fmt_p, num, Block};

/// Why a report cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("analysis plan: {0}")]
    Plan(String),
    #[error(transparent)]
    Stats(#[from] rct_stats::StatsError),
    #[error(transparent)]
    Safety(#[from] safety::SafetyError),
}

/// Options of the report.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReportOptions {
    pub population: PopulationSettings,
    pub analysis: AnalysisSettings,
    /// Shown in the header, e.g. the time the report was made (given by the caller).
    pub stamp: Option<String>,
}

/// The report: its texts, figures and the numbers behind them.
#[derive(Debug, Clone)]
pub struct Report {
    pub markdown: String,
    pub html: String,
    /// SVG figures: (file name, SVG text).
    pub figures: Vec<(String, String)>,
    pub flow: flow::Flow,
    pub results: PlanResults,
    /// The safety tables, when the caller handed their input.
    pub safety: Option<safety::SafetyTables>,
}

fn arm_label(protocol: &Protocol, id: &str) -> String {
    protocol
        .arms
        .iter()
        .find(|a| a.id.get_ref() == id)
        .map_or_else(|| id.to_string(), |a| a.label.clone())
}

fn var_label(protocol: &Protocol, id: &str) -> String {
    protocol
        .analysis
        .variables
        .iter()
        .find(|v| v.id.get_ref() == id)
        .and_then(|v| v.label.clone())
        .unwrap_or_else(|| id.to_string())
}

fn mean_sd(v: &[f64]) -> Option<(f64, f64, usize)> {
    let x: Vec<f64> = v.iter().copied().filter(|a| a.is_finite()).collect();
    let n = x.len();
    if n == 0 {
        return None;
    }
    let m = x.iter().sum::<f64>() / n as f64;
    let sd = if n > 1 {
        (x.iter().map(|a| (a - m).powi(2)).sum::<f64>() / (n as f64 - 1.0)).sqrt()
    } else {
        f64::NAN
    };
    Some((m, sd, n))
}

/// Table 1: baseline characteristics by arm (mean (SD) for numbers, n (%)
/// for stratification factors), over everyone randomised.
pub fn table_one(protocol: &Protocol, data: &AnalysisData) -> Block {
    let arms: Vec<String> = protocol
        .arms
        .iter()
        .map(|a| a.id.get_ref().clone())
        .collect();
    let arm_col = match data.frame.column("arm") {
        Some(Column::Text(v)) => v.clone(),
        _ => Vec::new(),
    };
    let groups: Vec<Vec<usize>> = arms
        .iter()
        .map(|a| (0..arm_col.len()).filter(|&i| &arm_col[i] == a).collect())
        .chain(std::iter::once((0..arm_col.len()).collect()))
        .collect();
    let mut header = vec!["Characteristic".to_string()];
    for (a, g) in arms.iter().zip(&groups) {
        header.push(format!("{} (n = {})", arm_label(protocol, a), g.len()));
    }
    header.push(format!("Total (n = {})", arm_col.len()));
    let mut rows = Vec::new();
    for s in &protocol.strata {
        let id = s.id.get_ref();
        let Some(Column::Text(v)) = data.frame.column(id) else {
            continue;
        };
        let label = s.label.clone().unwrap_or_else(|| id.clone());
        rows.push(
            std::iter::once(format!("{label}, n (%)"))
                .chain(groups.iter().map(|_| String::new()))
                .collect(),
        );
        for level in &s.levels {
            let l = level.get_ref();
            let mut r = vec![format!("  {l}")];
            for g in &groups {
                let k = g.iter().filter(|&&i| &v[i] == l).count();
                let pct = if g.is_empty() {
                    0.0
                } else {
                    100.0 * k as f64 / g.len() as f64
                };
                r.push(format!("{k} ({})", num(pct, 1)));
            }
            rows.push(r);
        }
    }
    for v in &protocol.analysis.variables {
        let Some(visit) = &v.visit else { continue };
        let day = protocol
            .visits
            .iter()
            .find(|x| x.id.get_ref() == visit.get_ref())
            .map(|x| *x.day.get_ref());
        if day.is_none_or(|d| d > 0) {
            continue;
        }
        let Some(Column::Num(x)) = data.frame.column(v.id.get_ref()) else {
            continue;
        };
        let mut r = vec![format!(
            "{}, mean (SD)",
            var_label(protocol, v.id.get_ref())
        )];
        for g in &groups {
            let vals: Vec<f64> = g.iter().map(|&i| x[i]).collect();
            r.push(match mean_sd(&vals) {
                Some((m, sd, n)) if n < g.len() => {
                    format!("{} ({}) [n = {n}]", num(m, 2), num(sd, 2))
                }
                Some((m, sd, _)) => format!("{} ({})", num(m, 2), num(sd, 2)),
                None => "–".into(),
            });
        }
        rows.push(r);
    }
    Block::Table { header, rows }
}

fn estimate_rows(protocol: &Protocol, res: &PlanResults, interaction: bool) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for m in &res.models {
        let is_int = m.formula.contains(['*', ':']) && m.repeated.is_none();
        if is_int != interaction {
            continue;
        }
        let pop_label = m.population.to_uppercase();
        let method = if m.primary_method {
            format!("{} (primary)", m.method)
        } else {
            format!("{} (sensitivity)", m.method)
        };
        let kind = match m.kind {
            Some(OutcomeKind::Primary) => "primary",
            Some(OutcomeKind::CoPrimary) => "co-primary",
            Some(OutcomeKind::Secondary) => "secondary",
            Some(OutcomeKind::Exploratory) => "exploratory",
            None => "",
        };
        if let Some(e) = &m.error {
            rows.push(vec![
                m.model.clone(),
                kind.into(),
                pop_label,
                method,
                "–".into(),
                format!("not estimable: {e}"),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]);
            continue;
        }
        let scale = match m.family.as_str() {
            "binomial" => " (log odds ratio)",
            "poisson" => " (log rate ratio)",
            _ => "",
        };
        for e in &m.estimates {
            rows.push(vec![
                m.model.clone(),
                kind.into(),
                pop_label.clone(),
                method.clone(),
                format!("{}/{}", m.nobs, m.n_population),
                format!("`{}`{scale}", e.term),
                num(e.estimate, 3),
                num(e.std_error, 3),
                format!("{} to {}", num(e.ci_low, 3), num(e.ci_high, 3)),
                fmt_p(e.p),
            ]);
        }
        for (term, f, d1, d2, p) in &m.joint {
            if m.family != "gaussian" {
                rows.push(vec![
                    m.model.clone(),
                    kind.into(),
                    m.population.to_uppercase(),
                    method.clone(),
                    format!("{}/{}", m.nobs, m.n_population),
                    format!("`{term}` (likelihood-ratio test)"),
                    format!("chi2 = {}", num(*f, 3)),
                    String::new(),
                    format!("df {}", num(*d1, 0)),
                    fmt_p(*p),
                ]);
                continue;
            }
            rows.push(vec![
                m.model.clone(),
                kind.into(),
                m.population.to_uppercase(),
                method.clone(),
                format!("{}/{}", m.nobs, m.n_population),
                format!("`{term}` (joint test)"),
                format!("F = {}", num(*f, 3)),
                String::new(),
                format!("df {} and {}", num(*d1, 0), num(*d2, 1)),
                fmt_p(*p),
            ]);
        }
        let _ = protocol;
    }
    rows
}

/// How the Dunnett p-values were computed and their largest error bound,
/// as a sentence (empty when none were computed).
fn dunnett_precision(res: &PlanResults) -> String {
    let mut methods: Vec<&str> = Vec::new();
    let mut bound = 0.0f64;
    for c in res.models.iter().flat_map(|m| &m.comparisons) {
        if let (Some(m), Some(e)) = (c.dunnett_method, c.dunnett_abs_error) {
            if !methods.contains(&m.describe()) {
                methods.push(m.describe());
            }
            bound = bound.max(e);
        }
    }
    if methods.is_empty() {
        return String::new();
    }
    format!(
        " Dunnett p-values by {}; absolute error below {:.0e}.",
        methods.join(" and "),
        bound.max(1e-10)
    )
}

/// Rows of the binary-outcome table: each arm against the control as a
/// standardised risk difference, risk ratio and odds ratio, the model's odds
/// ratio and the CMH check.
fn binary_rows(res: &PlanResults) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for m in &res.models {
        let Some(b) = &m.binary else { continue };
        if let Some(s) = &b.separation {
            rows.push(
                vec![
                    m.model.clone(),
                    m.population.to_uppercase(),
                    "–".into(),
                    format!("not estimable: {s}"),
                ]
                .into_iter()
                .chain(std::iter::repeat_n(String::new(), 7))
                .collect(),
            );
            continue;
        }
        for (k, (arm, or, lo, hi)) in b.odds_ratios.iter().enumerate() {
            let ci = |a: f64, b: f64| format!("{} to {}", num(a, 3), num(b, 3));
            let (risk, rd, rr, sor) = match &b.marginal {
                Some(mg) => {
                    let c = &mg.contrasts[k];
                    (
                        format!(
                            "{} vs {}",
                            num(mg.risks[k + 1].risk, 3),
                            num(mg.risks[0].risk, 3)
                        ),
                        format!(
                            "{} ({}), p {}",
                            num(c.risk_difference, 3),
                            ci(c.rd_ci_low, c.rd_ci_high),
                            fmt_p(c.rd_p)
                        ),
                        format!(
                            "{} ({})",
                            num(c.risk_ratio, 3),
                            ci(c.rr_ci_low, c.rr_ci_high)
                        ),
                        format!(
                            "{} ({})",
                            num(c.odds_ratio, 3),
                            ci(c.or_ci_low, c.or_ci_high)
                        ),
                    )
                }
                None => (
                    "–".into(),
                    b.marginal_error.clone().unwrap_or_default(),
                    String::new(),
                    String::new(),
                ),
            };
            let cm = b.cmh.iter().find(|(a, _, _)| a == arm).map_or_else(
                String::new,
                |(_, c, e)| match (c, e) {
                    (Some(c), _) => format!(
                        "p {}; MH OR {} ({})",
                        fmt_p(c.p),
                        num(c.odds_ratio, 3),
                        ci(c.ci_low, c.ci_high)
                    ),
                    (None, Some(e)) => e.clone(),
                    _ => String::new(),
                },
            );
            rows.push(vec![
                m.model.clone(),
                m.population.to_uppercase(),
                format!("{arm} vs {}", res.control),
                risk,
                rd,
                b.p_holm.get(k).map_or_else(|| "–".into(), |p| fmt_p(*p)),
                b.p_dunnett
                    .as_ref()
                    .and_then(|d| d.get(k))
                    .map_or_else(|| "–".into(), |p| fmt_p(*p)),
                rr,
                sor,
                format!("{} ({})", num(*or, 3), ci(*lo, *hi)),
                cm,
            ]);
        }
    }
    rows
}

/// Rows of the many-to-one comparisons table (Holm and Dunnett).
fn comparison_rows(res: &PlanResults) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for m in &res.models {
        for c in &m.comparisons {
            for (k, name) in c.names.iter().enumerate() {
                let Some(e) = m.estimates.iter().find(|e| &e.term == name) else {
                    continue;
                };
                rows.push(vec![
                    m.model.clone(),
                    m.population.to_uppercase(),
                    format!("`{name}`"),
                    num(e.estimate, 3),
                    fmt_p(e.p),
                    c.p_holm.get(k).map_or_else(|| "–".into(), |p| fmt_p(*p)),
                    match &c.p_dunnett {
                        Some(p) => p.get(k).map_or_else(|| "–".into(), |p| fmt_p(*p)),
                        None => format!(
                            "not computed: {}",
                            c.dunnett_error.as_deref().unwrap_or("unknown")
                        ),
                    },
                ]);
            }
        }
    }
    rows
}

const EST_HEADER: [&str; 10] = [
    "Model",
    "Outcome",
    "Population",
    "Analysis",
    "N used/in population",
    "Term",
    "Estimate",
    "SE",
    "95 % CI",
    "p",
];

/// The analysis plan version in force and the trial's unblinding, as one
/// sentence (empty when the record holds neither; see
/// `rct_record::governance`).
fn governance_note(state: &TrialState) -> String {
    let g = &state.governance;
    let mut out = String::new();
    if let Some(s) = g.final_sap() {
        out.push_str(&format!(
            " Analysis plan version {} recorded final (SHA-256 `{}`).",
            s.version,
            &s.digest[..s.digest.len().min(16)]
        ));
    }
    if let Some(u) = &g.unblinding {
        out.push_str(&format!(
            " Trial unblinded {} under plan version {}, requested by {} ({}) and approved by {} ({}).",
            u.approved.at.format("%Y-%m-%d %H:%M UTC"),
            u.approved.sap_version,
            u.requested.user,
            u.requested.role,
            u.approved.user,
            u.approved.role
        ));
    } else if g.final_sap().is_some() {
        out.push_str(" The trial's unblinding has not been authorised.");
    }
    out
}

/// Builds the report for `state` under `protocol`.
pub fn build_report(
    state: &TrialState,
    protocol: &Protocol,
    options: &ReportOptions,
) -> Result<Report, ReportError> {
    build_report_with(state, protocol, options, None)
}

/// [`build_report`] with the safety section (before the notes) from
/// `safety`, the adverse events of the safety set gathered from the record.
pub fn build_report_with(
    state: &TrialState,
    protocol: &Protocol,
    options: &ReportOptions,
    safety: Option<&safety::SafetyInput>,
) -> Result<Report, ReportError> {
    let data = analysis_data(state, protocol, &options.population)?;
    let results = run_plan(protocol, &data, &options.analysis)?;
    let primary_var = protocol
        .analysis
        .models
        .iter()
        .find(|m| {
            protocol
                .outcomes
                .iter()
                .any(|o| o.id.get_ref() == m.outcome.get_ref() && o.kind == OutcomeKind::Primary)
        })
        .and_then(|m| {
            m.formula
                .get_ref()
                .split('~')
                .next()
                .map(|s| s.trim().to_string())
        });
    let fl = flow::flow(state, protocol, &data, primary_var.as_deref());
    let title = format!(
        "{} trial report",
        protocol
            .trial
            .short_title
            .clone()
            .unwrap_or_else(|| protocol.trial.id.get_ref().clone())
    );
    let mut blocks = vec![Block::Heading(1, title.clone())];
    let mut intro = format!(
        "{}. Registry: {}. Trial record `{}`: {} events, head `{}`, database {}.",
        protocol.trial.title,
        if protocol.trial.registry_ids.is_empty() {
            "none".to_string()
        } else {
            protocol.trial.registry_ids.join(", ")
        },
        state.trial,
        state.seq,
        &state.head[..state.head.len().min(16)],
        if state.locked { "locked" } else { "NOT locked" }
    );
    if let Some(stamp) = &options.stamp {
        intro.push_str(&format!(" Report made {stamp}."));
    }
    intro.push_str(&governance_note(state));
    blocks.push(Block::Para(intro));
    for flag in state.governance_flags() {
        blocks.push(Block::Para(format!("**Flag:** {flag}.")));
    }
    blocks.extend(estimands::blocks(protocol));

    // CONSORT.
    let pops: Vec<(String, String)> = protocol
        .analysis
        .populations
        .iter()
        .map(|p| (p.id.get_ref().clone(), p.id.get_ref().to_uppercase()))
        .collect();
    let mut figures = Vec::new();
    let consort_svg = svg::consort(&fl, &pops);
    figures.push(("consort.svg".to_string(), consort_svg.clone()));
    blocks.push(Block::Heading(2, "Participant flow (CONSORT)".into()));
    blocks.push(Block::Figure {
        file: "consort.svg".into(),
        svg: consort_svg,
        caption: "CONSORT flow diagram".into(),
    });
    let mut header = vec!["Stage".to_string()];
    header.extend(fl.arms.iter().map(|a| a.label.clone()));
    let mut rows = vec![
        vec![format!(
            "Assessed {} · excluded {} (ineligible {}, undetermined {}, declined {}, not randomised {}) · randomised {}",
            fl.assessed,
            fl.ineligible + fl.undetermined + fl.declined + fl.eligible_not_randomised,
            fl.ineligible,
            fl.undetermined,
            fl.declined,
            fl.eligible_not_randomised,
            fl.randomised
        )]
        .into_iter()
        .chain(fl.arms.iter().map(|_| String::new()))
        .collect::<Vec<_>>(),
    ];
    rows.push(
        std::iter::once("Allocated".to_string())
            .chain(fl.arms.iter().map(|a| a.allocated.to_string()))
            .collect(),
    );
    rows.push(
        std::iter::once("Discontinued intervention (followed up)".to_string())
            .chain(fl.arms.iter().map(|a| {
                let r: Vec<String> = a
                    .discontinued_reasons
                    .iter()
                    .map(|(k, n)| format!("{k}: {n}"))
                    .collect();
                if r.is_empty() {
                    a.discontinued.to_string()
                } else {
                    format!("{} ({})", a.discontinued, r.join("; "))
                }
            }))
            .collect(),
    );
    rows.push(
        std::iter::once("Withdrawn".to_string())
            .chain(fl.arms.iter().map(|a| {
                if a.reasons.is_empty() {
                    a.withdrawn.to_string()
                } else {
                    let r: Vec<String> =
                        a.reasons.iter().map(|(k, n)| format!("{k}: {n}")).collect();
                    format!("{} ({})", a.withdrawn, r.join("; "))
                }
            }))
            .collect(),
    );
    let pv = primary_var
        .clone()
        .unwrap_or_else(|| "primary outcome".into());
    rows.push(
        std::iter::once(format!("`{pv}` recorded"))
            .chain(fl.arms.iter().map(|a| a.outcome_recorded.to_string()))
            .collect(),
    );
    rows.push(
        std::iter::once(format!("`{pv}` missing"))
            .chain(fl.arms.iter().map(|a| a.outcome_missing.to_string()))
            .collect(),
    );
    for (id, _) in &pops {
        rows.push(
            std::iter::once(format!("In population {}", id.to_uppercase()))
                .chain(
                    fl.arms
                        .iter()
                        .map(|a| a.populations.get(id).copied().unwrap_or(0).to_string()),
                )
                .collect(),
        );
    }
    blocks.push(Block::Table { header, rows });

    // Populations.
    blocks.push(Block::Heading(2, "Analysis populations".into()));
    let rows = protocol
        .analysis
        .populations
        .iter()
        .map(|p| {
            let id = p.id.get_ref();
            let n = data
                .populations
                .get(id)
                .map_or(0, |m| m.iter().filter(|&&b| b).count());
            let und = data.undecided.get(id).map_or(0, Vec::len);
            vec![
                id.to_uppercase(),
                p.label.clone(),
                format!("`{}`", p.rule.get_ref()),
                n.to_string(),
                und.to_string(),
            ]
        })
        .collect();
    blocks.push(Block::Table {
        header: [
            "Population",
            "Definition",
            "Rule",
            "n",
            "Undecided (left out)",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    });
    if !protocol.sessions.is_empty() {
        blocks.push(Block::Para(format!(
            "Adherence for the per-protocol rule comes from the recorded sessions: a session is compliant with at least {} compliant bouts; fractions are over the sessions the protocol plans for the arm.",
            options.population.min_bouts
        )));
    }

    // Table 1.
    blocks.push(Block::Heading(
        2,
        "Baseline characteristics (Table 1)".into(),
    ));
    blocks.push(table_one(protocol, &data));

    // Primary and co-primary.
    blocks.push(Block::Heading(2, "Primary and co-primary outcomes".into()));
    blocks.push(Block::Para(format!(
        "Differences against the control arm (`{}`) from the pre-specified ANCOVA models. Where the protocol asks for multiple imputation it is the primary analysis (m = {}, chained Bayesian linear regression, Rubin's rules, Barnard-Rubin df, seed {}); complete-case is the sensitivity analysis.",
        results.control, options.analysis.m, options.analysis.seed
    )));
    blocks.push(Block::Table {
        header: EST_HEADER.map(String::from).to_vec(),
        rows: estimate_rows(protocol, &results, false),
    });
    let comparison_rows = comparison_rows(&results);
    if !comparison_rows.is_empty() {
        blocks.push(Block::Para(format!(
            "Each arm against the control arm, complete cases: p-values adjusted for the number of arms compared by Holm's step-down method and by Dunnett's single-step test (multivariate t with the model's residual df and the correlation of the estimates).{}",
            dunnett_precision(&results)
        )));
        blocks.push(Block::Table {
            header: [
                "Model",
                "Population",
                "Comparison",
                "Estimate",
                "p",
                "p (Holm)",
                "p (Dunnett)",
            ]
            .map(String::from)
            .to_vec(),
            rows: comparison_rows,
        });
    }
    let binary_rows = binary_rows(&results);
    if !binary_rows.is_empty() {
        blocks.push(Block::Para(
            "Binary outcomes (logistic regression, complete cases): each arm against the control as a marginal risk difference, risk ratio and odds ratio by standardisation over the fitted model (each participant's predicted risk under each arm, averaged; sandwich standard errors from the model's estimating equations, as the FDA's 2023 guidance on covariate adjustment describes), with Holm and Dunnett (multivariate normal) adjusted p-values of the risk differences; the model's conditional odds ratio; and the Cochran-Mantel-Haenszel test with the Mantel-Haenszel odds ratio (Robins-Breslow-Greenland interval) over the strata as a check.".into(),
        ));
        blocks.push(Block::Table {
            header: [
                "Model",
                "Population",
                "Comparison",
                "Standardised risk",
                "Risk difference (95 % CI)",
                "p (Holm)",
                "p (Dunnett)",
                "Risk ratio (95 % CI)",
                "Marginal odds ratio (95 % CI)",
                "Model odds ratio (95 % CI)",
                "CMH check",
            ]
            .map(String::from)
            .to_vec(),
            rows: binary_rows,
        });
    }
    let repeated_rows = repeated::rows(&results);
    if !repeated_rows.is_empty() {
        blocks.push(Block::Para(repeated::NOTE.into()));
        blocks.push(Block::Table {
            header: repeated::HEADER.map(String::from).to_vec(),
            rows: repeated_rows,
        });
    }
    for m in &protocol.analysis.models {
        blocks.push(Block::Para(format!(
            "`{}`: {} — `{}`",
            m.id.get_ref(),
            m.label,
            m.formula.get_ref()
        )));
    }

    // Rank-sum check.
    if !results.rank_sums.is_empty() {
        blocks.push(Block::Heading(2, "Non-parametric check".into()));
        blocks.push(Block::Para(
            "Wilcoxon rank-sum test of the follow-up value between arms (complete cases) with the Hodges-Lehmann shift and its distribution-free 95 % CI.".into(),
        ));
        let rows = results
            .rank_sums
            .iter()
            .map(|r| match &r.result {
                Some(x) => vec![
                    format!("`{}`", r.response),
                    r.population.to_uppercase(),
                    format!("{} vs {}", r.arm, r.control),
                    format!("{}/{}", x.n1, x.n2),
                    num(x.u, 1),
                    format!("{:?}", x.method).to_lowercase(),
                    fmt_p(x.p),
                    num(x.hl_estimate, 3),
                    format!("{} to {}", num(x.ci_low, 3), num(x.ci_high, 3)),
                ],
                None => vec![
                    format!("`{}`", r.response),
                    r.population.to_uppercase(),
                    format!("{} vs {}", r.arm, r.control),
                    "–".into(),
                    "–".into(),
                    r.error.clone().unwrap_or_default(),
                    String::new(),
                    String::new(),
                    String::new(),
                ],
            })
            .collect();
        blocks.push(Block::Table {
            header: [
                "Variable",
                "Population",
                "Arms",
                "n",
                "U",
                "Method",
                "p",
                "HL shift",
                "95 % CI",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        });
    }

    // Interaction.
    blocks.push(Block::Heading(2, "Effect modification".into()));
    blocks.push(Block::Table {
        header: EST_HEADER.map(String::from).to_vec(),
        rows: estimate_rows(protocol, &results, true),
    });
    for (i, c) in results.curves.iter().enumerate() {
        let file = format!("effect_{}_{}.svg", c.model, c.arm);
        let svg_text = svg::effect_curve(
            c,
            &arm_label(protocol, &c.arm),
            &arm_label(protocol, &results.control),
            &var_label(protocol, &c.modifier),
        );
        figures.push((file.clone(), svg_text.clone()));
        blocks.push(Block::Figure {
            file,
            svg: svg_text,
            caption: format!(
                "Figure {}: model `{}` ({}, complete cases): effect of {} across {} with 95 % CI; interaction {} (95 % CI {} to {}), p = {}. Ticks at the bottom mark observed values.",
                i + 1,
                c.model,
                c.population.to_uppercase(),
                c.arm,
                c.modifier,
                num(c.interaction.estimate, 3),
                num(c.interaction.ci_low, 3),
                num(c.interaction.ci_high, 3),
                fmt_p(c.interaction.p)
            ),
        });
    }

    // Subgroups.
    if let Some((model, pop)) = &results.subgroup_model {
        blocks.push(Block::Heading(2, "Subgroups".into()));
        let rows = results
            .subgroups
            .iter()
            .map(|s| {
                let name = if s.factor == "All" {
                    "All participants".to_string()
                } else {
                    format!("{}: {}", s.factor, s.level)
                };
                match &s.estimate {
                    Some(e) => vec![
                        name,
                        s.n.to_string(),
                        num(e.estimate, 3),
                        format!("{} to {}", num(e.ci_low, 3), num(e.ci_high, 3)),
                        fmt_p(e.p),
                    ],
                    None => vec![
                        name,
                        s.n.to_string(),
                        "–".into(),
                        s.error.clone().unwrap_or_else(|| "not estimable".into()),
                        String::new(),
                    ],
                }
            })
            .collect();
        blocks.push(Block::Table {
            header: ["Subgroup", "n", "Estimate", "95 % CI", "p"]
                .map(String::from)
                .to_vec(),
            rows,
        });
        let title = format!("Subgroup effects, model {model} ({})", pop.to_uppercase());
        let f = svg::forest(&results.subgroups, &title);
        figures.push(("forest.svg".into(), f.clone()));
        blocks.push(Block::Figure {
            file: "forest.svg".into(),
            svg: f,
            caption: title,
        });
    }
    let safety = safety.map(safety::safety_tables).transpose()?;
    if let Some(t) = &safety {
        blocks.extend(safety::safety_blocks(t));
    }
    if !results.notes.is_empty() {
        blocks.push(Block::Heading(2, "Notes".into()));
        for n in &results.notes {
            blocks.push(Block::Para(n.clone()));
        }
    }
    Ok(Report {
        markdown: render::markdown(&blocks),
        html: render::html(&title, &blocks),
        figures,
        flow: fl,
        results,
        safety,
    })
}
