//! `rct export csv`: analysis-ready tables (docs/interop.md), streamed
//! from a database table by table.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use rct_record::TrialState;

use super::export_odm::{fold_light, load, unblinded, Audience, Source};

/// The file of the statistician's unblinded export that regenerates the
/// allocation lists (seed, design, arms, strata used).
pub(crate) const RECIPE_FILE: &str = "randomisation.json";

/// Arguments of `rct export csv`.
#[derive(clap::Args, Debug)]
pub struct ExportCsvArgs {
    #[command(flatten)]
    source: Source,
    #[command(flatten)]
    audience: Audience,
    /// Folder to write the tables into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Print the files written as JSON.
    #[arg(long)]
    json: bool,
}

/// Streams the tables from a database in one verified pass: a light fold
/// (values dropped as it goes) gives sites, arms and who may see them, and
/// the collector keeps only each item's current value; each table is then
/// written row by row to its file. Memory holds the current values
/// compactly, never the events or the folded values.
fn stream_from_db(
    url: &str,
    args: &ExportCsvArgs,
) -> anyhow::Result<(bool, Vec<rct_interop::tables::Table>, TrialState)> {
    let given = super::registered::given(args.source.protocol.as_deref())?;
    let store = rct_store::open(url).with_context(|| format!("cannot open {url}"))?;
    let trial = super::registered::trial_id(
        args.source.trial.as_deref(),
        given.as_ref(),
        || Ok(store.trials()?),
        url,
    )?;
    let mut collector = rct_interop::tables::TablesCollector::new();
    let (state, _) = fold_light(&*store, url, &trial, &mut |e| collector.push(e))?;
    let protocol = super::registered::protocol(&state, given)?;
    let open = unblinded(&args.audience, &protocol, &state);
    let tables = collector.finish(&protocol, &state, !open, &mut |name| {
        std::fs::File::create(args.out.join(name)).map(std::io::BufWriter::new)
    })?;
    Ok((open, tables, state))
}

/// Runs `rct export csv`.
pub fn run(args: ExportCsvArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let (open, tables, state) = match &args.source.db {
        Some(url) => stream_from_db(url, &args)
            .with_context(|| format!("exporting into {}", args.out.display()))?,
        None => {
            let (protocol, events, state) = load(&args.source)?;
            let open = unblinded(&args.audience, &protocol, &state);
            let tables = rct_interop::tables::export(&protocol, &events, !open)?;
            for t in &tables {
                let path = args.out.join(&t.name);
                std::fs::write(&path, &t.csv)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            (open, tables, state)
        }
    };
    // Governance flags (e.g. the analysis plan changed after unblinding)
    // travel with the tables.
    let flags = state.governance_flags();
    if !flags.is_empty() {
        let path = args.out.join(super::export_odm::FLAGS_FILE);
        std::fs::write(&path, format!("{}\n", flags.join("\n")))
            .with_context(|| format!("cannot write {}", path.display()))?;
        for f in &flags {
            eprintln!("flag: {f}");
        }
    }
    // What regenerates the lists: the statistician's export once the trial
    // is unblinded, never before (the record decides).
    let recipe = match args.audience.as_role {
        Some(role) if open => state.list_recipe(role),
        _ => None,
    };
    if let Some(r) = &recipe {
        let path = args.out.join(RECIPE_FILE);
        std::fs::write(&path, format!("{}\n", serde_json::to_string_pretty(r)?))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if args.json {
        super::print_json(&serde_json::json!({
            "dir": args.out.display().to_string(),
            "blinded": !open,
            "tables": tables,
            "flags": flags,
            "list_recipe": recipe.as_ref().map(|_| RECIPE_FILE),
        }))?;
    } else {
        println!(
            "{}: {} table(s){}",
            args.out.display(),
            tables.len(),
            if open {
                ""
            } else {
                " (blinded: no arm column, no arm-specific forms)"
            }
        );
        for t in &tables {
            println!("  {:<40} {:>7} row(s)", t.name, t.rows);
        }
        if recipe.is_some() {
            println!("  {RECIPE_FILE:<40} seed, design and arms: `rct randomise list` regenerates the lists");
        }
    }
    Ok(ExitCode::SUCCESS)
}
