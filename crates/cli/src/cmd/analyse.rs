//! `rct analyse`: a regression model on a CSV file (`--data`), or the
//! protocol's whole analysis plan on the trial record (`--db`, built in
//! `analyse_plan`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use rct_core::protocol::{self, Protocol};
use rct_stats::formula::{Formula, ModelSpec};
use rct_stats::multiplicity::{dunnett_fit, holm, Alternative};
use rct_stats::ols::{CovType, OlsFit, WaldTest, Workspace};
use rct_stats::{Frame, StatsError};
use serde_json::{json, Map, Value};

/// Fit a linear model to a CSV file, or run a protocol's analysis plan.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Examples:
  rct analyse --data trial.csv --model 'vo2max_w12 ~ arm + vo2max_w0 + sex'
  rct analyse --data trial.csv --model 'y ~ arm * ifn_score + vo2max_w0 + sex' \\
      --robust hc3 --test arm,arm:ifn_score --json
  rct analyse --data il2.csv --model 'y ~ arm' --protocol protocols/il2-sle.toml --compare arm
  rct analyse --db sqlite:trial.db --out report/
  rct analyse --data il2.csv --model 'responder_w24 ~ arm + sledai_w0 + site' \\
      --family binomial --protocol protocols/il2-sle.toml --compare arm --cmh site
  rct analyse --data flares.csv --model 'flares ~ arm + sledai_w0' --family poisson \\
      --exposure years
  rct analyse --data fev_data.csv --model 'FEV1 ~ RACE + SEX + ARMCD * AVISIT' \\
      --repeated 'AVISIT | USUBJID' --covariance us --reference ARMCD=PBO --compare ARMCD

Formulas are R/patsy notation: `a + b`, `a:b`, `a*b`, `-1`, `log(x)`, `log2(x)`,
`C(x)`. Text columns are categorical with treatment coding; the reference level is
the protocol's control arm (with --protocol) or the first level in sorted order,
and `--reference VAR=LEVEL` overrides either. Column names follow patsy
(`arm[T.hiit]`, `arm[T.hiit]:ifn_score`). Rows with a missing value (empty, NA,
NaN, NULL, .) in a model variable are dropped and counted. Numbers agree with
statsmodels' smf.ols (classical and HC0-HC3 covariance, t inference).

--json prints {\"nobs\", \"df_resid\", \"r_squared\", \"sigma\", \"terms\": [{\"name\",
\"estimate\", \"std_error\", \"t\", \"p\", \"ci_low\", \"ci_high\"}], ...} followed by
adj_r_squared, df_model, f_stat, f_p, cov_type, rows_read, rows_dropped, tests,
comparisons.

--family binomial|poisson fits a GLM (IRLS; statsmodels' GLM conventions): the JSON
has the same `terms` with `z` in place of `t`, plus `llf`, `deviance`, `aic` and
`separation` (why maximum-likelihood estimates do not exist, with --firth as the
remedy); --test gives likelihood-ratio tests. With --compare ARM a binary outcome
also gets each arm's standardised risk difference, risk ratio and odds ratio
(sandwich intervals; Holm and Dunnett by the multivariate normal), the unadjusted
difference with Newcombe and Miettinen-Nurminen intervals and Fisher's test, and
with --cmh VAR the Cochran-Mantel-Haenszel test over VAR.

--repeated 'VISIT | SUBJECT' fits a mixed model for repeated measures (MMRM) to a long
file (one row per subject and visit; every observed visit is used): REML (or --ml),
--covariance us|cs|ar1|toep, --df satterthwaite|kenward-roger, as SAS PROC MIXED.
It prints the coefficients with their df, the covariance parameters, -2 log REML,
type III F tests, and with --compare ARM the LS means by arm and visit and each arm's
difference from the reference at every visit. A fit that does not converge is an
error that says what to try.")]
pub struct AnalyseArgs {
    /// CSV file with a header row and one row per participant.
    #[arg(long, value_name = "FILE.csv", conflicts_with = "db")]
    data: Option<PathBuf>,
    /// Model formula, e.g. `y ~ arm + baseline + sex`.
    #[arg(long, value_name = "FORMULA")]
    model: Option<String>,
    /// Reference level of a categorical variable (repeatable).
    #[arg(long = "reference", value_name = "VAR=LEVEL")]
    reference: Vec<String>,
    /// Heteroskedasticity-consistent standard errors.
    #[arg(long, value_name = "hc0|hc1|hc2|hc3")]
    robust: Option<String>,
    /// Joint Wald F tests of whole terms (or single columns), comma-separated.
    #[arg(long, value_name = "TERM,TERM", value_delimiter = ',')]
    test: Vec<String>,
    /// Compare each level of this term with its reference (many-to-one),
    /// with Holm and Dunnett adjusted p-values (Dunnett single-step for any
    /// model, covariates included: multivariate t with the correlation of
    /// the estimates, as R's multcomp::glht).
    #[arg(long, value_name = "TERM")]
    compare: Option<String>,
    /// Protocol file: its control arm becomes the reference level of `arm`
    /// (with --data). With --db the analysis plan is the protocol the record
    /// holds; a file given must be the same text (a difference is refused).
    #[arg(long, value_name = "FILE")]
    protocol: Option<PathBuf>,
    /// Trial database URL (runs the registered protocol's analysis plan; needs --out).
    #[arg(long, value_name = "URL")]
    db: Option<String>,
    /// Trial id with --db (default: the protocol's, else the database's only trial).
    #[arg(long, value_name = "ID", requires = "db")]
    trial: Option<String>,
    /// Output folder of the report (with --db).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Generalised linear model: `binomial` (0/1 outcome, logistic) or
    /// `poisson` (counts, log link). --test then gives likelihood-ratio tests.
    #[arg(long, value_name = "binomial|poisson")]
    family: Option<String>,
    /// Firth's penalised likelihood (binomial; the remedy for separation).
    #[arg(long, requires = "family")]
    firth: bool,
    /// Offset column added to the linear predictor (already on the log scale).
    #[arg(long, value_name = "COLUMN", requires = "family")]
    offset: Option<String>,
    /// Exposure column (e.g. follow-up years); its log is the offset.
    #[arg(long, value_name = "COLUMN", requires = "family")]
    exposure: Option<String>,
    /// With --family binomial --compare: Cochran-Mantel-Haenszel test of each
    /// arm against the reference over the levels of this variable.
    #[arg(long, value_name = "VAR", requires = "compare")]
    cmh: Option<String>,
    /// Mixed model for repeated measures: the visit and subject variables of
    /// a long file (one row per subject and visit), e.g. 'AVISIT | USUBJID'.
    #[arg(long, value_name = "VISIT | SUBJECT")]
    repeated: Option<String>,
    /// MMRM covariance across visits: us (unstructured), cs, ar1, toep.
    #[arg(
        long,
        value_name = "us|cs|ar1|toep",
        default_value = "us",
        requires = "repeated"
    )]
    covariance: String,
    /// MMRM degrees of freedom: satterthwaite or kenward-roger.
    #[arg(
        long = "df",
        value_name = "satterthwaite|kenward-roger",
        default_value = "satterthwaite",
        requires = "repeated"
    )]
    df_method: String,
    /// MMRM by maximum likelihood instead of REML.
    #[arg(long, requires = "repeated")]
    ml: bool,
    /// MMRM visit order, comma-separated (default: numeric or natural order).
    #[arg(long, value_name = "V1,V2,...", requires = "repeated")]
    visits: Option<String>,
}

/// Runs `rct analyse`.
pub fn run(args: AnalyseArgs) -> anyhow::Result<ExitCode> {
    if let Some(db) = &args.db {
        let Some(out) = &args.out else {
            bail!("`rct analyse --db URL` needs --out DIR (the protocol comes from the record; --protocol FILE is optional and must match it)");
        };
        return super::analyse_plan::run(db, args.protocol.as_deref(), args.trial.as_deref(), out);
    }
    let Some(data) = &args.data else {
        bail!("give --data FILE.csv --model FORMULA, or --db URL --out DIR");
    };
    let Some(model) = &args.model else {
        bail!("--data needs --model FORMULA, e.g. --model 'y ~ arm + baseline'");
    };
    let formula = Formula::parse(model)?;
    let mut reference = BTreeMap::new();
    if let Some(p) = &args.protocol {
        let proto = read_protocol(p)?;
        // The protocol's control arm is the reference of the model's `arm`.
        if let Some(c) = proto.control_arm() {
            if formula.variables().iter().any(|v| v == "arm") {
                reference.insert("arm".to_string(), c.id.get_ref().clone());
            }
        }
    }
    for r in &args.reference {
        let (v, l) = r
            .split_once('=')
            .ok_or_else(|| anyhow!("--reference `{r}`: expected VAR=LEVEL, e.g. arm=control"))?;
        reference.insert(v.trim().to_string(), l.trim().to_string());
    }
    let cov = match &args.robust {
        Some(s) => CovType::parse(s)?,
        None => CovType::NonRobust,
    };
    let (headers, rows) = read_csv(data)?;
    let name = data.display().to_string();
    let frame = Frame::from_text_rows(&headers, &rows, &name)?;
    check_mixed_columns(&formula, &headers, &rows, &name)?;
    let spec = ModelSpec::new(&formula, &frame, &reference)
        .map_err(|e| explain(e, &headers, &rows, &name))?;
    let design = spec
        .design(&frame)
        .map_err(|e| explain(e, &headers, &rows, &name))?;
    if let Some(rep) = &args.repeated {
        if args.family.is_some() || args.robust.is_some() {
            bail!("--repeated fits a linear mixed model; it does not take --family or --robust");
        }
        let req = super::analyse_mmrm::MmrmRequest {
            repeated: rep,
            covariance: &args.covariance,
            df: &args.df_method,
            ml: args.ml,
            visits: args.visits.as_deref(),
            compare: args.compare.as_deref(),
            model,
            source: &name,
            rows_read: rows.len(),
            json: args.json,
        };
        super::analyse_mmrm::run(&spec, &frame, &design, &req)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(fam) = &args.family {
        if args.robust.is_some() {
            bail!(
                "--robust applies to linear models; GLMs use model-based (Fisher) standard errors"
            );
        }
        let family = rct_stats::glm::Family::parse(fam).map_err(|e| anyhow!("--family: {e}"))?;
        let req = super::analyse_glm::GlmRequest {
            family,
            firth: args.firth,
            offset: args.offset.as_deref(),
            exposure: args.exposure.as_deref(),
            tests: &args.test,
            compare: args.compare.as_deref(),
            cmh: args.cmh.as_deref(),
            model,
            source: &name,
            rows_read: rows.len(),
            json: args.json,
        };
        super::analyse_glm::run(&spec, &frame, &design, &req)?;
        return Ok(ExitCode::SUCCESS);
    }
    let fit = Workspace::new().fit(&design, cov)?;
    let mut tests = Vec::new();
    for t in &args.test {
        tests.push((t.clone(), fit.term_test(t.trim())?));
    }
    let comparisons = match &args.compare {
        Some(t) => Some(compare(&fit, t)?),
        None => None,
    };
    if args.json {
        let v = to_json(&fit, model, cov, rows.len(), &tests, comparisons.as_ref());
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print_table(
            &fit,
            model,
            &name,
            cov,
            rows.len(),
            &tests,
            comparisons.as_ref(),
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn read_protocol(path: &Path) -> anyhow::Result<Protocol> {
    let src = super::input::read_protocol(path)?;
    protocol::parse(&src, &path.display().to_string()).map_err(|d| anyhow!("{d}"))
}

/// Reads a CSV file; every record must have the header's number of fields.
fn read_csv(path: &Path) -> anyhow::Result<(Vec<String>, Vec<Vec<String>>)> {
    let name = path.display().to_string();
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .with_context(|| format!("cannot read {name}"))?;
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| csv_error(&name, &e))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if headers.iter().all(String::is_empty) {
        bail!("{name}: line 1: the file has no header row; the first line must name the columns");
    }
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| csv_error(&name, &e))?;
        let line = rec.position().map_or(0, |p| p.line());
        if rec.len() != headers.len() {
            bail!(
                "{name}: line {line}: expected {} fields as in the header, found {}; \
                 check for a missing or extra comma",
                headers.len(),
                rec.len()
            );
        }
        rows.push(rec.iter().map(str::to_string).collect());
    }
    if rows.is_empty() {
        bail!("{name}: no data rows after the header");
    }
    Ok((headers, rows))
}

fn csv_error(name: &str, e: &csv::Error) -> anyhow::Error {
    match e.position() {
        Some(p) => anyhow!("{name}: line {}: {e}", p.line()),
        None => anyhow!("{name}: {e}"),
    }
}

const MISSING: [&str; 8] = ["", "NA", "NaN", "nan", "N/A", "NULL", "null", "."];

fn is_number(c: &str) -> bool {
    c.parse::<f64>().is_ok_and(f64::is_finite)
}

/// A model column whose cells are mostly numbers but not all is almost
/// certainly a typo, not a categorical variable: name the first bad cell.
/// (Wrap the variable in `C()` to use such a column as categorical.)
fn check_mixed_columns(
    formula: &Formula,
    headers: &[String],
    rows: &[Vec<String>],
    name: &str,
) -> anyhow::Result<()> {
    let mut vars = vec![formula.response.var.clone()];
    for f in &formula.factors {
        if !f.name.starts_with("C(") && !vars.contains(&f.var) {
            vars.push(f.var.clone());
        }
    }
    for v in vars {
        let Some(j) = headers.iter().position(|h| *h == v) else {
            continue;
        };
        let cells: Vec<&str> = rows
            .iter()
            .map(|r| r[j].trim())
            .filter(|c| !MISSING.contains(c))
            .collect();
        let numbers = cells.iter().filter(|c| is_number(c)).count();
        if numbers * 2 > cells.len() && numbers < cells.len() {
            if let Some((i, c)) = rows
                .iter()
                .enumerate()
                .map(|(i, r)| (i, r[j].trim()))
                .find(|(_, c)| !MISSING.contains(c) && !is_number(c))
            {
                bail!(
                    "{name}: line {}, column {} (`{v}`): `{c}` is not a number, but the other                      cells of `{v}` are; fix the cell or leave it empty (missing), or write                      C({v}) in the model to treat `{v}` as categorical",
                    i + 2,
                    j + 1
                );
            }
        }
    }
    Ok(())
}

/// Turns "column holds text" into the file, line and column of the first
/// cell that is not a number.
fn explain(e: StatsError, headers: &[String], rows: &[Vec<String>], name: &str) -> anyhow::Error {
    if let StatsError::NotNumeric { column, context } = &e {
        if let Some(j) = headers.iter().position(|h| h == column) {
            for (i, r) in rows.iter().enumerate() {
                let c = r[j].trim();
                if !MISSING.contains(&c) && !is_number(c) {
                    return anyhow!(
                        "{name}: line {}, column {} (`{column}`): `{c}` is not a number, but \
                         {context} needs a numeric column; fix the cell or leave it empty (missing)",
                        i + 2,
                        j + 1
                    );
                }
            }
        }
    }
    anyhow!("{e}")
}

struct Comparisons {
    term: String,
    dunnett: Option<rct_stats::multiplicity::Dunnett>,
    dunnett_error: Option<String>,
    names: Vec<String>,
    estimate: Vec<f64>,
    p: Vec<f64>,
    holm: Vec<f64>,
}

fn compare(fit: &OlsFit, term: &str) -> anyhow::Result<Comparisons> {
    let t = fit
        .term_info
        .iter()
        .find(|t| t.name == term)
        .ok_or_else(|| anyhow!("--compare: no term `{term}` in the model"))?;
    let cols: Vec<usize> = t.columns.clone().collect();
    let p: Vec<f64> = cols.iter().map(|&c| fit.terms[c].p).collect();
    let (dunnett, dunnett_error) = match dunnett_fit(fit, &cols, Alternative::TwoSided) {
        Ok(d) => (Some(d), None),
        Err(e) => (None, Some(e.to_string())),
    };
    Ok(Comparisons {
        term: term.to_string(),
        names: cols.iter().map(|&c| fit.terms[c].name.clone()).collect(),
        estimate: cols.iter().map(|&c| fit.terms[c].estimate).collect(),
        holm: holm(&p)?,
        p,
        dunnett,
        dunnett_error,
    })
}

fn cov_name(c: CovType) -> &'static str {
    match c {
        CovType::NonRobust => "nonrobust",
        CovType::Hc0 => "hc0",
        CovType::Hc1 => "hc1",
        CovType::Hc2 => "hc2",
        CovType::Hc3 => "hc3",
    }
}

fn to_json(
    fit: &OlsFit,
    model: &str,
    cov: CovType,
    rows_read: usize,
    tests: &[(String, WaldTest)],
    comparisons: Option<&Comparisons>,
) -> Value {
    let mut m = Map::new();
    m.insert("nobs".into(), json!(fit.nobs));
    m.insert("df_resid".into(), json!(fit.df_resid));
    m.insert("r_squared".into(), json!(fit.r_squared));
    m.insert("sigma".into(), json!(fit.sigma));
    m.insert(
        "terms".into(),
        Value::Array(
            fit.terms
                .iter()
                .map(|c| {
                    json!({"name": c.name, "estimate": c.estimate, "std_error": c.std_error,
                           "t": c.t, "p": c.p, "ci_low": c.ci_low, "ci_high": c.ci_high})
                })
                .collect(),
        ),
    );
    m.insert("adj_r_squared".into(), json!(fit.adj_r_squared));
    m.insert("df_model".into(), json!(fit.df_model));
    m.insert("f_stat".into(), json!(fit.f_stat));
    m.insert("f_p".into(), json!(fit.f_p));
    m.insert("cov_type".into(), json!(cov_name(cov)));
    m.insert("formula".into(), json!(model));
    m.insert("rows_read".into(), json!(rows_read));
    m.insert("rows_dropped".into(), json!(fit.dropped_rows));
    m.insert(
        "tests".into(),
        Value::Array(
            tests
                .iter()
                .map(|(t, w)| {
                    json!({"term": t, "columns": w.columns, "f": w.f, "df_num": w.df_num,
                           "df_den": w.df_den, "p": w.p})
                })
                .collect(),
        ),
    );
    if let Some(c) = comparisons {
        m.insert(
            "comparisons".into(),
            json!({
                "term": c.term,
                "names": c.names,
                "estimate": c.estimate,
                "p": c.p,
                "p_holm": c.holm,
                "p_dunnett": c.dunnett.as_ref().map(|d| d.p.clone()),
                "dunnett_method": c.dunnett.as_ref().map(|d| d.method),
                "dunnett_abs_error": c.dunnett.as_ref().map(|d| d.abs_error),
                "dunnett_error": c.dunnett_error,
            }),
        );
    }
    Value::Object(m)
}

/// p-values as R prints them, roughly.
fn fmt_p(p: f64) -> String {
    if p < 2.2e-16 {
        "< 2.2e-16".into()
    } else if p < 1e-3 {
        format!("{p:.2e}")
    } else {
        format!("{p:.4}")
    }
}

fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-4..1e6).contains(&a) {
        format!("{v:.4e}")
    } else {
        format!("{v:.5}")
    }
}

fn print_table(
    fit: &OlsFit,
    model: &str,
    source: &str,
    cov: CovType,
    rows_read: usize,
    tests: &[(String, WaldTest)],
    comparisons: Option<&Comparisons>,
) {
    println!("Model: {model}");
    println!(
        "Data: {source}: {rows_read} rows, {} dropped for missing values, {} used",
        fit.dropped_rows, fit.nobs
    );
    if cov != CovType::NonRobust {
        println!(
            "Standard errors: {} (heteroskedasticity-consistent)",
            cov_name(cov).to_uppercase()
        );
    }
    println!();
    println!("Coefficients:");
    let w = fit
        .terms
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "{:<w$}  {:>12}  {:>12}  {:>9}  {:>10}  {:>12}  {:>12}",
        "", "Estimate", "Std. Error", "t value", "Pr(>|t|)", "2.5 %", "97.5 %"
    );
    for c in &fit.terms {
        println!(
            "{:<w$}  {:>12}  {:>12}  {:>9.3}  {:>10}  {:>12}  {:>12}",
            c.name,
            fmt_num(c.estimate),
            fmt_num(c.std_error),
            c.t,
            fmt_p(c.p),
            fmt_num(c.ci_low),
            fmt_num(c.ci_high)
        );
    }
    println!();
    println!(
        "Residual standard error: {} on {} degrees of freedom",
        fmt_num(fit.sigma),
        fit.df_resid
    );
    println!(
        "R-squared: {:.4}, adjusted R-squared: {:.4}",
        fit.r_squared, fit.adj_r_squared
    );
    match (fit.f_stat, fit.f_p) {
        (Some(f), Some(p)) => println!(
            "F-statistic: {f:.4} on {} and {} DF, p-value: {}",
            fit.df_model,
            fit.df_resid,
            fmt_p(p)
        ),
        _ => println!("F-statistic: not defined for this model and covariance"),
    }
    if !tests.is_empty() {
        println!();
        println!("Wald tests:");
        for (t, wt) in tests {
            println!(
                "  {t}: F = {:.4} on {} and {} DF, p = {}  ({})",
                wt.f,
                wt.df_num,
                wt.df_den,
                fmt_p(wt.p),
                wt.columns.join(", ")
            );
        }
    }
    if let Some(c) = comparisons {
        println!();
        println!("Each level of `{}` against its reference:", c.term);
        let w = c.names.iter().map(String::len).max().unwrap_or(4);
        println!(
            "  {:<w$}  {:>12}  {:>10}  {:>10}  {:>11}",
            "", "Estimate", "p", "p (Holm)", "p (Dunnett)"
        );
        for i in 0..c.names.len() {
            let d = c
                .dunnett
                .as_ref()
                .map_or("-".to_string(), |d| fmt_p(d.p[i]));
            println!(
                "  {:<w$}  {:>12}  {:>10}  {:>10}  {:>11}",
                c.names[i],
                fmt_num(c.estimate[i]),
                fmt_p(c.p[i]),
                fmt_p(c.holm[i]),
                d
            );
        }
        if let Some(d) = &c.dunnett {
            println!(
                "  Dunnett: single-step, multivariate t on {} df with the estimates' correlation; \
                 {}, absolute error < {:.1e}",
                d.df,
                d.method.describe(),
                d.abs_error.max(1e-10)
            );
        }
        if let Some(e) = &c.dunnett_error {
            println!("  Dunnett not computed: {e}");
        }
    }
}
