//! `rct audit migrate`: re-seal a trial's chain written before commitments
//! (format 1) under the format-2 rule, in one audited step
//! ([`rct_record::legacy`]), and write it back atomically.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use rct_record::legacy::{self, Migration};
use rct_record::{verify_chain, Checkpoint, StoredEvent};
use serde_json::json;

use super::audit::kind_name;
use super::db::{self, DbArgs};
use super::identity::{self, PasswordArgs};
use super::print_json;
use super::signing::{self, KeyArgs};

/// Arguments of `rct audit migrate`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "The old chain is verified first (a broken chain is not migrated). \
Every event keeps its time, actor, role, site, reason and payload; concealed values become salted \
commitments with their openings stored beside the bodies, the registration gains a new sealing key \
from the operating system, and a `chain_migrated` event by USER records the old head's number and \
hash and the reason. The new chain replaces the old one in one transaction, only if nothing was \
appended meanwhile; the old chain's checkpoints go with it and the new head is signed with the \
checkpoint key. Keep a backup of the old database (`rct backup`) until the new chain is checked. \
See docs/audit.md."
)]
pub struct MigrateArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The trial to migrate.
    #[arg(long)]
    trial: String,
    /// The migrating user: an administrator of the trial. In a trial with
    /// accounts the password is asked for (or read with --password-stdin).
    #[arg(long)]
    user: String,
    /// Why (recorded in the new chain).
    #[arg(long)]
    reason: String,
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    key: KeyArgs,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `rct audit migrate`.
pub fn run(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let url = args.db.url();
    let store = db::open_existing(&url)?;
    let trial = db::trials(store.as_ref(), Some(&args.trial))?.remove(0);
    let rows = store
        .load(&trial, 0)
        .with_context(|| format!("reading trial `{trial}`"))?;
    let format = rows
        .first()
        .and_then(|r| legacy::body_format(&r.body))
        .ok_or_else(|| anyhow!("trial `{trial}`: the first stored event is not a JSON object"))?;
    if format == rct_record::event::CHAIN_FORMAT {
        let summary = verify_chain(&trial, &rows).map_err(|b| {
            anyhow!(
                "trial `{trial}` is in chain format {format} but broken at event {} ({}): {}",
                b.seq,
                kind_name(b.kind),
                b.detail
            )
        })?;
        if args.json {
            print_json(
                &json!({"trial": trial, "migrated": false, "format": format, "events": summary.0.events}),
            )?;
        } else {
            println!("{trial}: already in chain format {format}; nothing to migrate");
        }
        return Ok(ExitCode::SUCCESS);
    }
    // Who migrates: an account of the old record proves it with its
    // password; a record without accounts names its user.
    let (_, old_events) = legacy::verify_v1(&trial, &rows).map_err(|b| {
        anyhow!(
            "trial `{trial}`: the format-1 chain is broken at event {} ({}): {}; nothing was changed",
            b.seq,
            kind_name(b.kind),
            b.detail
        )
    })?;
    let old_state = legacy::fold_v1(&trial, &old_events)
        .with_context(|| format!("folding the format-1 chain of `{trial}`"))?;
    if !old_state.users.is_empty() {
        let found = rct_web::accounts::find_in([(trial.clone(), Arc::new(old_state))], &args.user)
            .ok_or_else(|| anyhow!("`{}` has no account in trial `{trial}`", args.user))?;
        if found.locked {
            bail!("the account `{}` is locked", args.user);
        }
        let pw = args
            .password
            .read(&format!("Password for {}: ", args.user), false)?;
        if !found.verify(&identity::passwords(), &pw) {
            bail!("wrong password for `{}`; nothing was changed", args.user);
        }
    }
    let now = identity::now();
    let seal_key = rct_store::secrets::random_key()?;
    let migrated = legacy::migrate_v1(
        &trial,
        &rows,
        &Migration {
            actor: args.user.clone(),
            at: now,
            reason: args.reason.clone(),
            seal_key,
            software: Some(rct_web::SOFTWARE.into()),
        },
    )?;
    let new_rows: Vec<StoredEvent> = migrated
        .events
        .iter()
        .map(StoredEvent::from_event)
        .collect();
    let (summary, _) = verify_chain(&trial, &new_rows)
        .map_err(|b| anyhow!("the re-sealed chain does not verify at {b}; nothing was changed"))?;
    let key = match args.key.path(&url) {
        Some(path) => Some((signing::load_or_create(&path)?, path)),
        None => None,
    };
    let checkpoint = match &key {
        Some((k, _)) => Some(Checkpoint::sign(
            k,
            &trial,
            summary.events,
            &summary.head,
            now,
        )?),
        None => None,
    };
    store
        .replace_chain(
            &trial,
            (migrated.old.events, &migrated.old.head),
            &new_rows,
            checkpoint.as_ref(),
        )
        .with_context(|| format!("writing the migrated chain of `{trial}`"))?;
    if args.json {
        print_json(&json!({
            "trial": trial,
            "migrated": true,
            "from_format": legacy::FORMAT_1,
            "old_head": {"seq": migrated.old.events, "hash": migrated.old.head},
            "new_head": {"seq": summary.events, "hash": summary.head},
            "checkpoint": checkpoint,
        }))?;
    } else {
        println!(
            "{trial}: migrated {} events from chain format 1 (old head: event {}, hash {}) to format {}",
            migrated.old.events,
            migrated.old.events,
            migrated.old.head,
            rct_record::event::CHAIN_FORMAT
        );
        println!(
            "  new head: event {} (chain_migrated by {}), hash {}",
            summary.events, args.user, summary.head
        );
        match (&checkpoint, &key) {
            (Some(_), Some((_, path))) => println!(
                "  checkpoint of the new head signed with {}",
                path.display()
            ),
            _ => println!("  no checkpoint signed (no key file for this database)"),
        }
    }
    Ok(ExitCode::SUCCESS)
}
