//! `rct backup` and `rct restore`: an online, consistent copy of the trial
//! database into one SQLite file, and back.
//!
//! A backup is taken while others keep writing: SQLite copies the file with
//! `VACUUM INTO` inside one read transaction; PostgreSQL reads every event in
//! one `REPEATABLE READ` transaction into a new SQLite file. A restore accepts
//! such a file or the JSON lines of `rct export events`, verifies every
//! chain before writing and again after, and refuses a database that already
//! holds events unless `--force` (which replaces the restored trials).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use rct_record::{verify_chain, StoredEvent};
use rct_store::{Snapshot, Store};
use serde::Serialize;

use super::audit::kind_name;
use super::db::{self, DbArgs};
use super::print_json;

/// Arguments of `rct backup`.
#[derive(clap::Args, Debug)]
pub struct BackupArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The new backup file (SQLite); must not exist.
    file: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `rct restore`.
#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    #[command(flatten)]
    db: DbArgs,
    /// A backup file (from `rct backup`) or events as JSON lines (from
    /// `rct export events`).
    file: PathBuf,
    /// Restore into a database that already holds events, replacing the
    /// trials found in FILE.
    #[arg(long)]
    force: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct TrialCopy {
    trial: String,
    events: u64,
    head: String,
}

/// Verifies every trial of a snapshot; the first broken chain is an error.
fn verify_all(snapshot: &Snapshot, what: &str) -> anyhow::Result<Vec<TrialCopy>> {
    snapshot
        .iter()
        .map(|(trial, rows)| {
            let (summary, _) = verify_chain(trial, rows).map_err(|b| {
                anyhow::anyhow!(
                    "{what}: trial `{trial}`: the audit chain is broken at event {} ({}): {}",
                    b.seq,
                    kind_name(b.kind),
                    b.detail
                )
            })?;
            Ok(TrialCopy {
                trial: trial.clone(),
                events: summary.events,
                head: summary.head,
            })
        })
        .collect()
}

fn report(action: &str, file: &Path, trials: &[TrialCopy], json: bool) -> anyhow::Result<ExitCode> {
    if json {
        print_json(&serde_json::json!({
            action: file.display().to_string(),
            "verified": true,
            "trials": trials,
        }))?;
    } else {
        let events: u64 = trials.iter().map(|t| t.events).sum();
        println!(
            "{action} {} trial(s), {events} events: {}; chains verified",
            trials.len(),
            file.display()
        );
        for t in trials {
            println!("  {}: {} events, head {}", t.trial, t.events, t.head);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `rct backup`.
pub fn run(args: BackupArgs) -> anyhow::Result<ExitCode> {
    let url = args.db.url();
    let store = db::open_existing(&url)?;
    if args.file.exists() {
        anyhow::bail!(
            "{} already exists; a backup is written to a new file",
            args.file.display()
        );
    }
    store
        .backup_to(&args.file)
        .with_context(|| format!("backing up `{url}` to {}", args.file.display()))?;
    let copy = rct_store::SqliteStore::open(&args.file)
        .with_context(|| format!("reopening the backup {}", args.file.display()))?;
    let snapshot = copy.snapshot(None)?;
    let trials = verify_all(&snapshot, &format!("backup {}", args.file.display()))?;
    report("backed up to", &args.file, &trials, args.json)
}

/// Reads a backup file or JSON lines into a snapshot.
fn read_source(file: &Path) -> anyhow::Result<Snapshot> {
    // The first 16 bytes tell a SQLite backup (any size) from JSON lines (bounded).
    let mut magic = [0u8; 16];
    let n = std::io::Read::read(
        &mut std::fs::File::open(file).with_context(|| format!("reading {}", file.display()))?,
        &mut magic,
    )
    .with_context(|| format!("reading {}", file.display()))?;
    if magic[..n].starts_with(b"SQLite format 3\0") {
        let backup = rct_store::SqliteStore::open(file)
            .with_context(|| format!("opening the backup {}", file.display()))?;
        return Ok(backup.snapshot(None)?);
    }
    let bytes = super::input::read_bounded(
        file,
        rct_store::dump::MAX_DUMP_BYTES,
        "events as JSON lines",
    )?;
    let text = String::from_utf8(bytes).map_err(|_| {
        anyhow::anyhow!(
            "{} is neither a SQLite backup nor UTF-8 JSON lines; give a file written by `rct backup` or `rct export events`",
            file.display()
        )
    })?;
    Ok(rct_store::dump::parse_lines(
        &text,
        &file.display().to_string(),
    )?)
}

/// The backup file as a store, if it is a SQLite backup (not JSON lines).
fn open_backup(file: &Path) -> anyhow::Result<Option<rct_store::SqliteStore>> {
    let mut magic = [0u8; 16];
    let is_sqlite = std::fs::File::open(file)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok()
        && &magic == b"SQLite format 3\0";
    if !is_sqlite {
        return Ok(None);
    }
    Ok(Some(rct_store::SqliteStore::open(file).with_context(
        || format!("opening the backup {}", file.display()),
    )?))
}

/// Runs `rct restore`.
pub fn run_restore(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let url = args.db.url();
    let source = read_source(&args.file)?;
    if source.is_empty() {
        anyhow::bail!("{} holds no events", args.file.display());
    }
    let before = verify_all(&source, &args.file.display().to_string())?;
    let target = db::open_store(&url)?;
    let existing = target.trials()?;
    if !existing.is_empty() && !args.force {
        anyhow::bail!(
            "`{url}` already holds trial(s) {}; restore into an empty database, or give --force to replace the trials in {}",
            existing.join(", "),
            args.file.display()
        );
    }
    for (trial, rows) in &source {
        target
            .import(trial, rows, args.force)
            .with_context(|| format!("restoring trial `{trial}` into `{url}`"))?;
    }
    let restored: Snapshot = source
        .iter()
        .map(|(trial, _)| -> anyhow::Result<(String, Vec<StoredEvent>)> {
            Ok((trial.clone(), target.load(trial, 0)?))
        })
        .collect::<anyhow::Result<_>>()?;
    // A backup file carries the checkpoints that sign its events; JSON
    // lines do not (sign the restored heads with `rct audit checkpoint`).
    if let Some(backup) = open_backup(&args.file)? {
        for (trial, rows) in &source {
            rct_store::copy_checkpoints(&backup, target.as_ref(), trial, rows)
                .with_context(|| format!("restoring the checkpoints of trial `{trial}`"))?;
        }
    } else if !args.json {
        eprintln!(
            "note: {} holds no signed checkpoints; after checking the restored trials, sign their heads with `rct audit checkpoint`",
            args.file.display()
        );
    }
    let after = verify_all(&restored, &url)?;
    for (b, a) in before.iter().zip(&after) {
        if b.head != a.head || b.events != a.events {
            anyhow::bail!(
                "trial `{}`: restored {} events with head {}, but the source has {} with head {}",
                a.trial,
                a.events,
                a.head,
                b.events,
                b.head
            );
        }
    }
    report(
        &format!("restored into {url} from"),
        &args.file,
        &after,
        args.json,
    )
}
