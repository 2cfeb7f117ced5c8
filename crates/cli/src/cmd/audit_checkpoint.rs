//! `rct audit checkpoint`: sign each trial's current head with the Ed25519
//! key and store the checkpoint.

use std::process::ExitCode;

use anyhow::Context;
use rct_record::checkpoint::{fingerprint, public_key_hex};
use rct_record::{audit_checkpoints, verify_chain, Checkpoint, FindingKind};
use serde::Serialize;

use super::audit::{finding_name, kind_name};
use super::db::{self, DbArgs};
use super::print_json;
use super::signing::{self, KeyArgs};

/// Arguments of `rct audit checkpoint`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "The signed text is five lines: `rct checkpoint v1`, `trial ID`, `seq N`, \
`hash HEX`, `at YYYY-MM-DDTHH:MM:SSZ`, each ending in a line feed (docs/audit.md). Events that no \
earlier checkpoint covered are named before they are signed: signing vouches for them, so run \
`rct audit verify` first."
)]
pub struct CheckpointArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    key: KeyArgs,
    /// Only this trial (default: every trial in the database).
    #[arg(long)]
    trial: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Signed {
    trial: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    checkpoint: Option<Checkpoint>,
    /// Events this checkpoint covers that no earlier one did.
    newly_covered: Option<(u64, u64)>,
    /// Why nothing was signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    refused: Option<String>,
}

/// Runs `rct audit checkpoint`.
#[allow(clippy::disallowed_methods)]
pub fn run(args: CheckpointArgs) -> anyhow::Result<ExitCode> {
    let url = args.db.url();
    let store = db::open_existing(&url)?;
    let trials = db::trials(store.as_ref(), args.trial.as_deref())?;
    let path = args.key.path(&url).ok_or_else(|| {
        anyhow::anyhow!("an in-memory database has no default key file; give --key FILE")
    })?;
    let key = signing::load_or_create(&path)?;
    let public = key.verifying_key();
    let now = chrono::Utc::now();
    let mut out = Vec::with_capacity(trials.len());
    for trial in trials {
        let rows = store
            .load(&trial, 0)
            .with_context(|| format!("reading trial `{trial}`"))?;
        let refuse = |why: String| Signed {
            trial: trial.clone(),
            checkpoint: None,
            newly_covered: None,
            refused: Some(why),
        };
        let summary = match verify_chain(&trial, &rows) {
            Ok((summary, _)) => summary,
            Err(b) => {
                out.push(refuse(format!(
                    "the chain is broken at event {} ({}): {}",
                    b.seq,
                    kind_name(b.kind),
                    b.detail
                )));
                continue;
            }
        };
        if summary.events == 0 {
            continue;
        }
        // Never sign a chain that contradicts a checkpoint signed before
        // (by any key whose signature holds).
        let cps = store.checkpoints(&trial)?;
        let audit = audit_checkpoints(&trial, &rows, &cps, None, &[]);
        let contradiction = audit.findings.iter().find(|f| {
            matches!(
                f.kind,
                FindingKind::Truncated | FindingKind::Rewritten | FindingKind::Missing
            )
        });
        if let Some(f) = contradiction {
            out.push(refuse(format!(
                "event {} ({}): {}",
                f.seq,
                finding_name(f.kind),
                f.detail
            )));
            continue;
        }
        let mine = fingerprint(&public);
        if audit.unsigned.is_none() && audit.latest.as_ref().is_some_and(|l| l.key == mine) {
            // The head is signed with this key already: keep that checkpoint.
            let existing = cps
                .into_iter()
                .rev()
                .find(|c| c.seq == summary.events && c.key_fingerprint() == mine);
            out.push(Signed {
                trial: trial.clone(),
                checkpoint: existing,
                newly_covered: None,
                refused: None,
            });
            continue;
        }
        let cp = Checkpoint::sign(&key, &trial, summary.events, &summary.head, now)?;
        store
            .add_checkpoint(&cp)
            .with_context(|| format!("storing the checkpoint of trial `{trial}`"))?;
        out.push(Signed {
            trial: trial.clone(),
            checkpoint: Some(cp),
            newly_covered: audit.unsigned,
            refused: None,
        });
    }
    let refused = out.iter().any(|s| s.refused.is_some());
    if args.json {
        print_json(&serde_json::json!({
            "database": url,
            "key_file": path.display().to_string(),
            "public_key": public_key_hex(&public),
            "fingerprint": fingerprint(&public),
            "trials": out,
        }))?;
    } else {
        println!(
            "public key {} (fingerprint {}), key file {}",
            public_key_hex(&public),
            fingerprint(&public),
            path.display()
        );
        for s in &out {
            match (&s.checkpoint, &s.refused) {
                (Some(cp), _) => {
                    println!(
                        "{}: signed event {} (hash {}) at {}",
                        s.trial,
                        cp.seq,
                        cp.hash,
                        cp.at.format("%Y-%m-%dT%H:%M:%SZ")
                    );
                    if let Some((first, last)) = s.newly_covered {
                        println!("  events {first}-{last} were not covered by a checkpoint before; this one vouches for them");
                    }
                }
                (None, Some(why)) => println!("{}: NOT SIGNED: {why}", s.trial),
                (None, None) => {}
            }
        }
    }
    Ok(if refused {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
