//! `rct export events`: every event as one line of canonical JSON (the
//! stored public body plus its hash and, unless `--blinded`, the openings of
//! its sealed values), re-importable by `rct restore` into an identical
//! chain.

use std::io::Write;
use std::process::ExitCode;

use rct_record::verify_chain;

use super::audit::kind_name;
use super::db::{self, DbArgs};

/// Arguments of `rct export events`.
#[derive(clap::Args, Debug)]
pub struct ExportEventsArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Only this trial (default: every trial, sorted by identifier).
    #[arg(long)]
    trial: Option<String>,
    /// Leave out the openings of sealed values (arms, positions, seed,
    /// arm-specific events): the file still verifies (`rct audit verify
    /// --file`), but cannot be restored into a working trial.
    #[arg(long)]
    blinded: bool,
}

/// Runs `rct export events`.
pub fn run(args: ExportEventsArgs) -> anyhow::Result<ExitCode> {
    let url = args.db.url();
    let store = db::open_existing(&url)?;
    let trials = db::trials(store.as_ref(), args.trial.as_deref())?;
    let snapshot = store.snapshot(args.trial.as_deref())?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let chosen: Vec<_> = snapshot
        .iter()
        .filter(|(t, _)| trials.contains(t))
        .collect();
    for (trial, rows) in &chosen {
        if let Err(b) = verify_chain(trial, rows) {
            anyhow::bail!(
                "trial `{trial}`: the audit chain is broken at event {} ({}): {}; not exported (take a forensic copy with `rct backup`)",
                b.seq,
                kind_name(b.kind),
                b.detail
            );
        }
    }
    for (trial, rows) in chosen {
        for row in rows {
            writeln!(
                out,
                "{}",
                rct_store::dump::export_line(trial, row, !args.blinded)?
            )?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
