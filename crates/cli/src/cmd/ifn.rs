//! `rct ifn score`: interferon gene signature scores from RCC files.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use rct_omics::ifn::{score, Aggregator, Cutoff, Expression, GeneSet, Reference, ScoreReport};
use rct_omics::normalise::Normalised;
use rct_omics::sample::file_stem;
use rct_omics::svg::score_distribution;

use super::nanostring::{normalise_inputs, read_inputs, table, NormArgs};

#[derive(clap::Subcommand, Debug)]
pub enum IfnCmd {
    /// Score every sample of a batch: normalise the RCC files, build a
    /// healthy-control reference (control samples of the batch, or a saved
    /// reference), aggregate the gene set's fold changes or z-scores, and call
    /// each sample high or low against the cut-off.
    Score(Box<ScoreArgs>),
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum AggregatorArg {
    /// Median over genes of (sample / control median): Rice et al. 2017.
    MedianFold,
    /// Mean over genes of z = (log2 x - control mean) / control SD.
    MeanZ,
    /// Sum over genes of the same z-scores.
    SumZ,
    /// Geometric mean over genes of the fold changes.
    Geomean,
}

impl From<AggregatorArg> for Aggregator {
    fn from(a: AggregatorArg) -> Self {
        match a {
            AggregatorArg::MedianFold => Aggregator::MedianFoldChange,
            AggregatorArg::MeanZ => Aggregator::MeanZ,
            AggregatorArg::SumZ => Aggregator::SumZ,
            AggregatorArg::Geomean => Aggregator::GeometricMean,
        }
    }
}

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("baseline").required(true).args(["controls", "sample_sheet", "reference"])))]
pub struct ScoreArgs {
    /// RCC files, or folders whose *.RCC files are read (not recursively).
    #[arg(required = true, value_name = "FILES_OR_DIR")]
    pub inputs: Vec<PathBuf>,
    /// Gene set: rice6 (IFI27, IFI44L, IFIT1, ISG15, RSAD2, SIGLEC1), ifngs4
    /// (IFI27, IFI44, IFI44L, RSAD2), or a comma-separated list. Default rice6,
    /// or the saved reference's genes with --reference.
    #[arg(long, value_name = "rice6|ifngs4|G1,G2,...")]
    pub genes: Option<String>,
    /// Healthy-control samples of the batch: sample ids (the file name without
    /// extension; `<file>_<row>` for PlexSet rows) or file names.
    #[arg(long, value_delimiter = ',', value_name = "ID,ID")]
    pub controls: Vec<String>,
    /// CSV sample sheet marking the controls (with --control-column).
    #[arg(long, value_name = "FILE", requires = "control_column")]
    pub sample_sheet: Option<PathBuf>,
    /// Column of the sample sheet that marks controls.
    #[arg(long, value_name = "COL", requires = "sample_sheet")]
    pub control_column: Option<String>,
    /// Value of --control-column that marks a control (case-insensitive).
    /// Default: any of yes, y, true, 1, control, hc, healthy.
    #[arg(long, value_name = "VALUE", requires = "sample_sheet")]
    pub control_value: Option<String>,
    /// Column of the sample sheet naming the sample or RCC file (default:
    /// the first column).
    #[arg(long, value_name = "COL", requires = "sample_sheet")]
    pub sample_column: Option<String>,
    /// A reference saved earlier with --save-reference, so this batch is scored
    /// against the same controls.
    #[arg(long, value_name = "saved.json")]
    pub reference: Option<PathBuf>,
    /// How per-gene values become one score.
    #[arg(long, value_enum, default_value = "median-fold")]
    pub aggregator: AggregatorArg,
    /// High/low rule: `mean+KSD` (controls' mean + K SD of their scores) or a
    /// fixed value.
    #[arg(long, default_value = "mean+2sd", value_name = "mean+2sd|VALUE")]
    pub cutoff: String,
    /// Save the control reference (per-gene medians, log2 means and SDs, the
    /// controls' score distribution) as JSON for later batches.
    #[arg(long, value_name = "OUT.json")]
    pub save_reference: Option<PathBuf>,
    /// Write the score distribution with the cut-off as SVG.
    #[arg(long, value_name = "OUT.svg")]
    pub plot: Option<PathBuf>,
    #[command(flatten)]
    pub norm: NormArgs,
    #[command(flatten)]
    pub attach: AttachArgs,
    /// Print JSON instead of text.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV (sample,score,call,control) instead of text.
    #[arg(long)]
    pub csv: bool,
}

/// Where and as whom scores are entered into the trial record.
#[derive(clap::Args, Debug)]
pub struct AttachArgs {
    /// Enter each mapped sample's score at the participant's visit in the
    /// trial record (form `--form`, fields `score`, `call`, `method`).
    #[arg(long, requires_all = ["db", "trial", "visit", "sample_map", "user"])]
    pub attach: bool,
    /// Trial database: sqlite:PATH, a file path, or postgres://...
    #[arg(long, value_name = "URL", requires = "attach")]
    pub db: Option<String>,
    /// Trial identifier in the database.
    #[arg(long, value_name = "T", requires = "attach")]
    pub trial: Option<String>,
    /// Visit the samples were taken at (e.g. baseline).
    #[arg(long, value_name = "V", requires = "attach")]
    pub visit: Option<String>,
    /// CSV with columns sample,participant mapping sample ids (or RCC file
    /// names) to participants; samples not listed are not entered.
    #[arg(long, value_name = "FILE.csv", requires = "attach")]
    pub sample_map: Option<PathBuf>,
    /// Form the values are entered in.
    #[arg(long, default_value = "ifn", requires = "attach")]
    pub form: String,
    /// User entering the values.
    #[arg(long, value_name = "NAME", requires = "attach")]
    pub user: Option<String>,
    /// Role the user acts in (e.g. investigator, outcome_assessor).
    #[arg(long, default_value = "investigator", requires = "attach")]
    pub role: String,
    /// Site the user works at, if any.
    #[arg(long, requires = "attach")]
    pub site: Option<String>,
    /// In a trial with accounts, the user must be logged in (`rct login`).
    #[command(flatten)]
    pub token: super::identity::TokenArgs,
}

/// Parse `mean+2sd`, `mean+2.5SD`, `mean + 2 sd` or a number.
pub fn parse_cutoff(s: &str) -> anyhow::Result<Cutoff> {
    let t: String = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    if let Some(k) = t.strip_prefix("mean+").and_then(|r| r.strip_suffix("sd")) {
        let k: f64 = if k.is_empty() {
            1.0
        } else {
            k.parse()
                .with_context(|| format!("--cutoff {s:?}: expected mean+KSD with K a number"))?
        };
        if !(k.is_finite() && k >= 0.0) {
            bail!("--cutoff {s:?}: K must be >= 0");
        }
        return Ok(Cutoff::ControlSd(k));
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Cutoff::Fixed(v)),
        _ => bail!("--cutoff {s:?}: expected mean+KSD (e.g. mean+2sd) or a number (e.g. 2.466)"),
    }
}

/// Samples of the batch matched by one entry (sample id, file name or path).
fn matching(n: &Normalised, entry: &str) -> Vec<String> {
    let e = entry.trim();
    let stem = file_stem(e);
    let exact: Vec<String> = n
        .samples
        .iter()
        .filter(|s| s.id == e || s.id == stem)
        .map(|s| s.id.clone())
        .collect();
    if !exact.is_empty() {
        return exact;
    }
    // A lane's file names all of its PlexSet rows.
    n.samples
        .iter()
        .filter(|s| file_stem(&s.file) == stem)
        .map(|s| s.id.clone())
        .collect()
}

fn resolve_controls(n: &Normalised, entries: &[String], from: &str) -> anyhow::Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for e in entries.iter().filter(|e| !e.trim().is_empty()) {
        let m = matching(n, e);
        if m.is_empty() {
            let ids: Vec<&str> = n.samples.iter().map(|s| s.id.as_str()).collect();
            bail!(
                "{from}: control {e:?} is not in the batch; samples are: {}",
                ids.join(", ")
            );
        }
        for id in m {
            if !out.contains(&id) {
                out.push(id);
            }
        }
    }
    Ok(out)
}

fn sheet_controls(a: &ScoreArgs, path: &PathBuf) -> anyhow::Result<Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(path)
        .with_context(|| format!("reading sample sheet {}", path.display()))?;
    let head = rdr
        .headers()
        .with_context(|| format!("{}: reading the header row", path.display()))?
        .clone();
    let col = |name: &str| -> anyhow::Result<usize> {
        head.iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .with_context(|| {
                format!(
                    "{}: no column {name:?}; columns are: {}",
                    path.display(),
                    head.iter().collect::<Vec<_>>().join(", ")
                )
            })
    };
    let control_col = col(a.control_column.as_deref().unwrap_or_default())?;
    let sample_col = match &a.sample_column {
        Some(c) => col(c)?,
        None => 0,
    };
    let is_control = |v: &str| match &a.control_value {
        Some(want) => v.eq_ignore_ascii_case(want.trim()),
        None => matches!(
            v.to_ascii_lowercase().as_str(),
            "yes" | "y" | "true" | "1" | "control" | "hc" | "healthy"
        ),
    };
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.with_context(|| format!("{}: row {}", path.display(), i + 2))?;
        let flag = rec.get(control_col).unwrap_or("");
        if is_control(flag) {
            match rec.get(sample_col) {
                Some(s) if !s.is_empty() => out.push(s.to_string()),
                _ => bail!(
                    "{}: line {}: control row without a sample name in column {}",
                    path.display(),
                    i + 2,
                    sample_col + 1
                ),
            }
        }
    }
    if out.is_empty() {
        bail!(
            "{}: no row marks a control in column {:?}{}",
            path.display(),
            &head[control_col],
            match &a.control_value {
                Some(v) => format!(" (looked for {v:?})"),
                None => " (looked for yes/true/1/control/hc/healthy; set --control-value)".into(),
            }
        );
    }
    Ok(out)
}

pub fn run(cmd: IfnCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        IfnCmd::Score(a) => run_score(*a),
    }
}

fn run_score(a: ScoreArgs) -> anyhow::Result<ExitCode> {
    let cutoff = parse_cutoff(&a.cutoff)?;
    let aggregator: Aggregator = a.aggregator.into();
    let rccs = read_inputs(&a.inputs)?;
    let n = normalise_inputs(&rccs, &a.norm)?;
    let expr = Expression::from(&n);
    let reference = if let Some(path) = &a.reference {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading reference {}", path.display()))?;
        let r = Reference::from_json(&text).with_context(|| path.display().to_string())?;
        if let Some(g) = &a.genes {
            let want = GeneSet::parse(g)?.genes();
            if want != r.gene_names() {
                bail!(
                    "{}: the reference was built for genes {}, not {}; drop --genes or build a new reference",
                    path.display(),
                    r.gene_names().join(", "),
                    want.join(", ")
                );
            }
        }
        r
    } else {
        let genes = GeneSet::parse(a.genes.as_deref().unwrap_or("rice6"))?.genes();
        let controls = match &a.sample_sheet {
            Some(sheet) => {
                let entries = sheet_controls(&a, sheet)?;
                resolve_controls(&n, &entries, &sheet.display().to_string())?
            }
            None => resolve_controls(&n, &a.controls, "--controls")?,
        };
        Reference::from_controls(&expr, &genes, &controls)?
    };
    let report = score(&expr, &reference, aggregator, cutoff)?;
    if let Some(p) = &a.save_reference {
        std::fs::write(p, serde_json::to_string_pretty(&reference)? + "\n")
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if let Some(p) = &a.plot {
        std::fs::write(p, score_distribution(&report))
            .with_context(|| format!("writing {}", p.display()))?;
    }
    print_report(&a, &report, &n)?;
    if a.attach.attach {
        attach(&a, &report, &n)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Read `sample,participant` rows.
fn sample_map(path: &PathBuf) -> anyhow::Result<Vec<(String, String)>> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .with_context(|| format!("reading sample map {}", path.display()))?;
    let head = rdr.headers()?.clone();
    let col = |name: &str| {
        head.iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .with_context(|| {
                format!(
                    "{}: expected columns sample,participant; found {}",
                    path.display(),
                    head.iter().collect::<Vec<_>>().join(",")
                )
            })
    };
    let (sc, pc) = (col("sample")?, col("participant")?);
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.with_context(|| format!("{}: line {}", path.display(), i + 2))?;
        let (s, p) = (rec.get(sc).unwrap_or(""), rec.get(pc).unwrap_or(""));
        if s.is_empty() || p.is_empty() {
            bail!(
                "{}: line {}: empty sample or participant",
                path.display(),
                i + 2
            );
        }
        out.push((s.to_string(), p.to_string()));
    }
    Ok(out)
}

/// The time of entry, read once at the edge.
#[allow(clippy::disallowed_methods)]
fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// Enter the mapped samples' scores in the trial record, all in one write.
fn attach(a: &ScoreArgs, r: &ScoreReport, n: &Normalised) -> anyhow::Result<()> {
    use rct_record::{Actor, Command, Role};
    let at = &a.attach;
    let (Some(db), Some(trial), Some(visit), Some(map), Some(user)) =
        (&at.db, &at.trial, &at.visit, &at.sample_map, &at.user)
    else {
        bail!("--attach needs --db, --trial, --visit, --sample-map and --user");
    };
    let role: Role = at
        .role
        .parse()
        .map_err(|e: String| anyhow::anyhow!("--role: {e}"))?;
    let method = format!(
        "{} over {}; cut-off {} ({})",
        r.aggregator.name(),
        r.genes.join(","),
        r.cutoff,
        match r.cutoff_rule {
            Cutoff::ControlSd(k) => format!("controls' mean + {k} SD"),
            Cutoff::Fixed(_) => "fixed".to_string(),
        }
    );
    let store = rct_store::open(db).with_context(|| format!("opening {db}"))?;
    let mut ledger = rct_store::Ledger::new(store);
    let key = super::signing::KeyArgs::default().path(db);
    super::signing::attach(&mut ledger, key.as_deref(), false)?;
    // The fields the registered protocol's form declares (all of score,
    // call and method for a trial registered without a protocol): the
    // record checks every value against the form, as from any edge.
    let declared: Option<Vec<String>> = ledger
        .state(trial)?
        .config
        .as_ref()
        .and_then(|c| c.protocol())
        .and_then(|p| p.form(&at.form))
        .map(|f| f.fields.iter().map(|x| x.id.get_ref().clone()).collect());
    let wanted = |field: &str| match &declared {
        Some(fields) => fields.iter().any(|f| f == field),
        None => field != "high",
    };
    let mut commands = Vec::new();
    let mut entered = Vec::new();
    for (sample, participant) in sample_map(map)? {
        let ids = matching(n, &sample);
        let [id] = ids.as_slice() else {
            bail!(
                "{}: sample {sample:?} matches {} samples of the batch; give one sample id",
                map.display(),
                ids.len()
            );
        };
        let Some(row) = r.rows.iter().find(|x| &x.sample_id == id) else {
            bail!("{}: sample {sample:?} has no score", map.display());
        };
        for (field, value) in [
            ("score", serde_json::json!(row.score)),
            (
                "call",
                serde_json::json!(if row.high { "high" } else { "low" }),
            ),
            ("method", serde_json::json!(method)),
            ("high", serde_json::json!(row.high)),
        ] {
            if !wanted(field) {
                continue;
            }
            commands.push(Command::EnterValue {
                participant: participant.clone(),
                visit: visit.clone(),
                form: at.form.clone(),
                field: field.to_string(),
                value,
            });
        }
        entered.push((id.clone(), participant));
    }
    if commands.is_empty() {
        bail!("{}: no rows", map.display());
    }
    let time = now();
    let user = super::identity::acting_user(
        ledger.store().as_ref(),
        &*ledger.state(trial)?,
        Some(user.clone()),
        &at.token,
        time,
    )?;
    let actor = Actor::new(&user, role, at.site.as_deref()).running(rct_web::SOFTWARE);
    let events = ledger
        .execute(trial, |state| {
            state.check_all(&actor, time, None, &commands)
        })
        .map_err(|e| anyhow::anyhow!("trial {trial}: {e}"))?;
    eprintln!(
        "entered {} values for {} participants at visit {visit} (form {}) in trial {trial}",
        events.len(),
        entered.len(),
        at.form
    );
    Ok(())
}

fn print_report(a: &ScoreArgs, r: &ScoreReport, n: &Normalised) -> anyhow::Result<()> {
    let call = |high: bool| if high { "high" } else { "low" };
    if a.json {
        return super::print_json(&serde_json::json!({
            "report": r,
            "normalisation": {
                "options": n.options,
                "notes": n.notes,
                "flags": n.samples.iter().filter(|s| !s.flags.is_empty())
                    .map(|s| serde_json::json!({"sample": s.id, "flags": s.flags}))
                    .collect::<Vec<_>>(),
            },
        }));
    }
    if a.csv {
        let mut w = csv::Writer::from_writer(std::io::stdout());
        w.write_record(["sample", "score", "call", "control"])?;
        for row in &r.rows {
            w.write_record([
                row.sample_id.as_str(),
                &row.score.to_string(),
                call(row.high),
                if r.controls.contains(&row.sample_id) {
                    "yes"
                } else {
                    "no"
                },
            ])?;
        }
        w.flush()?;
        return Ok(());
    }
    let rule = match r.cutoff_rule {
        Cutoff::ControlSd(k) => format!("controls' mean + {k} SD"),
        Cutoff::Fixed(_) => "fixed".to_string(),
    };
    println!(
        "IFN score: {} over {} genes ({})",
        r.aggregator.name(),
        r.genes.len(),
        r.genes.join(", ")
    );
    println!(
        "reference: {} controls ({})",
        r.controls.len(),
        r.controls.join(", ")
    );
    println!("cut-off: {:.4} ({rule})", r.cutoff);
    let rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| {
            vec![
                row.sample_id.clone(),
                format!("{:.4}", row.score),
                call(row.high).to_string(),
                if r.controls.contains(&row.sample_id) {
                    "control".to_string()
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    print!("{}", table(&["sample", "score", "call", ""], &rows));
    let high = r.rows.iter().filter(|x| x.high).count();
    println!("{high} of {} samples high", r.rows.len());
    for s in n.samples.iter().filter(|s| !s.flags.is_empty()) {
        println!("normalisation flag {}: {}", s.id, s.flags.join("; "));
    }
    for note in &n.notes {
        println!("note: {note}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoffs_parse() {
        assert_eq!(parse_cutoff("mean+2sd").unwrap(), Cutoff::ControlSd(2.0));
        assert_eq!(
            parse_cutoff("Mean + 2.5 SD").unwrap(),
            Cutoff::ControlSd(2.5)
        );
        assert_eq!(parse_cutoff("mean+sd").unwrap(), Cutoff::ControlSd(1.0));
        assert_eq!(parse_cutoff("2.466").unwrap(), Cutoff::Fixed(2.466));
        assert!(parse_cutoff("median").is_err());
        assert!(parse_cutoff("mean+xsd").is_err());
    }
}
