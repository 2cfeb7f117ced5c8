//! `rct export events`: every event as one line of canonical JSON (the
//! stored public body plus its hash and, unless `--blinded`, the openings of
//! its sealed values), re-importable by `rct restore` into an identical
//! chain.

use std::io::Write;
use std::process::ExitCode;

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

/// Runs `rct export events`. Streams: each trial's chain is verified first
/// (read in chunks), then read again up to the verified head and written
/// line by line, so memory stays bounded whatever the trial's length and a
/// broken chain exports nothing. Each trial is exported up to the head it
/// had when it was verified (events appended meanwhile are left out).
pub fn run(args: ExportEventsArgs) -> anyhow::Result<ExitCode> {
    let url = args.db.url();
    let store = db::open_existing(&url)?;
    let trials = db::trials(store.as_ref(), args.trial.as_deref())?;
    let mut heads = Vec::with_capacity(trials.len());
    for trial in &trials {
        match rct_store::scan_verified(store.as_ref(), trial, None, &mut |_| Ok(())) {
            Ok(summary) => heads.push(summary),
            Err(rct_store::StoreError::Chain { source: b, .. }) => anyhow::bail!(
                "trial `{trial}`: the audit chain is broken at event {} ({}): {}; not exported (take a forensic copy with `rct backup`)",
                b.seq,
                kind_name(b.kind),
                b.detail
            ),
            Err(e) => return Err(e.into()),
        }
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (trial, head) in trials.iter().zip(&heads) {
        let mut failed: Option<std::io::Error> = None;
        let again = rct_store::scan_verified(store.as_ref(), trial, Some(head.events), &mut |e| {
            if failed.is_none() {
                if let Err(err) = writeln!(out, "{}", e.to_json_line(!args.blinded)) {
                    failed = Some(err);
                }
            }
            Ok(())
        })?;
        if let Some(err) = failed {
            return Err(err.into());
        }
        if again.head != head.head {
            anyhow::bail!("trial `{trial}`: the chain changed while it was exported; export again");
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
