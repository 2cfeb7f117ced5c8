//! `rct audit verify|log|checkpoint|migrate`: check the hash chain of every trial
//! against its signed checkpoints, print the audit trail a monitor reads
//! (through the record's role-based views), and sign the heads.

use std::process::ExitCode;

use anyhow::Context;
use rct_record::{verify_chain, Event, Role};
use serde::Serialize;
use serde_json::Value;

use super::audit_scan::scan_trial;
use super::db::{self, DbArgs};
use super::print_json;
use super::signing::KeyArgs;

/// Audit trail commands.
#[derive(clap::Subcommand, Debug)]
pub enum AuditCmd {
    /// Check every event's hash and link; name the first broken event
    /// (edited, deleted, reordered, inserted). Exits 1 if a chain is broken.
    Verify(VerifyArgs),
    /// Print the audit trail: who, role, site, when, what, why, old -> new.
    /// Shown as a user or role may see it (a blinded role never sees an arm).
    Log(LogArgs),
    /// Sign each trial's current head (trial, event number, hash, time) with
    /// the Ed25519 key and store the checkpoint; the key file is created
    /// (mode 0600) if missing. Refuses a chain that is broken or contradicts
    /// a stored checkpoint.
    Checkpoint(super::audit_checkpoint::CheckpointArgs),
    /// Re-seal a trial's chain written before commitments (format 1, values
    /// in plain in the hashed bodies) under the current rule, in one audited
    /// step: the old chain is verified, every event keeps its content with
    /// concealed values as salted commitments, and a `chain_migrated` event
    /// records the old head, the user and the reason.
    Migrate(super::audit_migrate::MigrateArgs),
}

/// Arguments of `rct audit verify`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Besides the chain, every stored checkpoint's signature is checked (under the \
trusted key: --public-key, else the public half of --key or of the default key file, else the key \
each checkpoint names), the latest valid checkpoint's event must be stored with the signed hash \
(truncation and recomputed chains show here), and events after it are an error (a forged append) \
unless --allow-unsigned-tail. Exit 1 on any finding."
)]
pub struct VerifyArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Only this trial (default: every trial in the database).
    #[arg(long)]
    trial: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    key: KeyArgs,
    /// The server's public key (64 hex digits, as `rct serve` prints it):
    /// checkpoints must be signed by it.
    #[arg(long, value_name = "HEX", conflicts_with = "key")]
    public_key: Option<String>,
    /// A head published elsewhere (e.g. sent to the sponsor): the stored
    /// event SEQ must have hash HASH. Repeatable; needs one trial.
    #[arg(long = "head", value_name = "SEQ:HASH")]
    heads: Vec<rct_record::PublishedHead>,
    /// Report events after the latest checkpoint without failing.
    #[arg(long)]
    allow_unsigned_tail: bool,
}

/// Arguments of `rct audit log`.
#[derive(clap::Args, Debug)]
pub struct LogArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Only this trial (default: every trial in the database).
    #[arg(long)]
    trial: Option<String>,
    /// Only events about this participant.
    #[arg(long)]
    participant: Option<String>,
    /// Show the trail as a holder of this role at every site sees it
    /// (investigator, research_nurse, monitor, data_manager, pharmacist, ...).
    #[arg(
        long = "as-role",
        value_name = "ROLE",
        default_value = "monitor",
        conflicts_with = "user"
    )]
    role: Role,
    /// Show the trail as this user sees it (their own roles and sites).
    #[arg(long = "as", value_name = "USER")]
    user: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs an audit command.
pub fn run(cmd: AuditCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCmd::Verify(a) => verify(a),
        AuditCmd::Log(a) => log(a),
        AuditCmd::Checkpoint(a) => super::audit_checkpoint::run(a),
        AuditCmd::Migrate(a) => super::audit_migrate::run(a),
    }
}

#[derive(Serialize)]
struct TrialCheck {
    trial: String,
    intact: bool,
    events: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    head: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    broken: Option<rct_record::ChainBreak>,
    /// The latest checkpoint that verifies and matches the chain.
    checkpoint: Option<rct_record::checkpoint::CheckpointSummary>,
    /// Events after it (first, last).
    unsigned: Option<(u64, u64)>,
    /// Checkpoint findings (the unsigned tail included unless allowed).
    findings: Vec<rct_record::Finding>,
}

/// The key checkpoints must be signed by, and how it was found.
fn trusted_key(
    args: &VerifyArgs,
    url: &str,
) -> anyhow::Result<Option<(rct_record::ed25519_dalek::VerifyingKey, String)>> {
    if let Some(hex) = &args.public_key {
        let key = rct_record::checkpoint::parse_public_key(hex)?;
        return Ok(Some((key, "--public-key".into())));
    }
    let Some(path) = args.key.path(url) else {
        return Ok(None);
    };
    if args.key.key.is_none() && !path.exists() {
        return Ok(None);
    }
    let key = super::signing::load_if_present(&path)?
        .ok_or_else(|| anyhow::anyhow!("no key file at {}", path.display()))?;
    Ok(Some((key.verifying_key(), path.display().to_string())))
}

fn verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let url = args.db.url();
    let store = db::open_existing(&url)?;
    let trials = db::trials(store.as_ref(), args.trial.as_deref())?;
    if !args.heads.is_empty() && trials.len() != 1 {
        anyhow::bail!("--head names an event of one trial; give --trial ID");
    }
    let trusted = trusted_key(&args, &url)?;
    let mut checks = Vec::with_capacity(trials.len());
    for trial in trials {
        let cps = store
            .checkpoints(&trial)
            .with_context(|| format!("reading the checkpoints of trial `{trial}`"))?;
        let scanned = scan_trial(store.as_ref(), &trial, &cps, &args.heads)
            .with_context(|| format!("reading trial `{trial}`"))?;
        let hashes: std::collections::BTreeMap<u64, &str> = scanned
            .hashes
            .iter()
            .map(|(seq, h)| (*seq, h.as_str()))
            .collect();
        let audit = rct_record::audit_checkpoint_hashes(
            &trial,
            &hashes,
            scanned.head,
            &cps,
            trusted.as_ref().map(|(k, _)| k),
            &args.heads,
        );
        let mut findings = audit.findings.clone();
        if !args.allow_unsigned_tail {
            findings.extend(audit.unsigned_finding());
        }
        let (events, head, broken) = match scanned.chain {
            Ok(summary) => (summary.events, Some(summary.head), None),
            Err(brk) => (scanned.rows, None, Some(brk)),
        };
        checks.push(TrialCheck {
            trial,
            intact: broken.is_none() && findings.is_empty(),
            events,
            head,
            broken,
            checkpoint: audit.latest,
            unsigned: audit.unsigned,
            findings,
        });
    }
    let intact = checks.iter().all(|c| c.intact);
    if args.json {
        print_json(&serde_json::json!({
            "database": url,
            "intact": intact,
            "trusted_key": trusted.as_ref().map(|(k, from)| serde_json::json!({
                "public_key": rct_record::checkpoint::public_key_hex(k),
                "fingerprint": rct_record::checkpoint::fingerprint(k),
                "from": from,
            })),
            "trials": checks,
        }))?;
    } else if checks.is_empty() {
        println!("{url}: no trials");
    } else {
        for c in &checks {
            print_check(c, args.allow_unsigned_tail);
        }
        if trusted.is_none() && checks.iter().any(|c| c.checkpoint.is_some()) {
            println!(
                "note: no trusted key given: signatures were checked against the keys stored with them, \
                 which whoever can write the database could replace; give --public-key HEX (as `rct serve` prints it)"
            );
        }
    }
    Ok(if intact {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_check(c: &TrialCheck, allow_unsigned_tail: bool) {
    let mut problems = c.findings.iter();
    match (&c.broken, problems.next()) {
        (Some(b), _) => {
            problems = c.findings.iter();
            println!(
                "{}: BROKEN at event {} ({}): {}",
                c.trial,
                b.seq,
                kind_name(b.kind),
                b.detail
            );
        }
        (None, Some(f)) => println!(
            "{}: BROKEN at event {} ({}): {}",
            c.trial,
            f.seq,
            finding_name(f.kind),
            f.detail
        ),
        (None, None) => {
            let signed = match &c.checkpoint {
                Some(cp) => format!(
                    ", signed through event {} ({}, key {})",
                    cp.seq,
                    cp.at.format("%Y-%m-%dT%H:%M:%SZ"),
                    cp.key
                ),
                None => String::new(),
            };
            println!(
                "{}: intact, {} events, head {}{signed}",
                c.trial,
                c.events,
                c.head.as_deref().unwrap_or("")
            );
        }
    }
    for f in problems {
        println!(
            "  also at event {} ({}): {}",
            f.seq,
            finding_name(f.kind),
            f.detail
        );
    }
    if allow_unsigned_tail {
        if let Some((first, last)) = c.unsigned {
            println!("  note: events {first}-{last} are not covered by a signed checkpoint (allowed by --allow-unsigned-tail)");
        }
    }
}

/// The lower-case name of a checkpoint finding (as in the JSON output).
pub fn finding_name(kind: rct_record::FindingKind) -> &'static str {
    use rct_record::FindingKind::*;
    match kind {
        BadSignature => "bad_signature",
        UntrustedKey => "untrusted_key",
        Truncated => "truncated",
        Missing => "missing",
        Rewritten => "rewritten",
        UnsignedTail => "unsigned_tail",
    }
}

/// The lower-case name of a break kind (as in the JSON output).
pub fn kind_name(kind: rct_record::BreakKind) -> &'static str {
    use rct_record::BreakKind::*;
    match kind {
        Edited => "edited",
        Deleted => "deleted",
        Reordered => "reordered",
        Inserted => "inserted",
        Malformed => "malformed",
    }
}

fn log(args: LogArgs) -> anyhow::Result<ExitCode> {
    let url = args.db.url();
    let store = db::open_existing(&url)?;
    let ledger = rct_store::Ledger::new(store);
    let trials = db::trials(ledger.store().as_ref(), args.trial.as_deref())?;
    let mut entries: Vec<Value> = Vec::new();
    for trial in &trials {
        let rows = ledger.store().load(trial, 0)?;
        let (_, events) = verify_chain(trial, &rows).map_err(|b| {
            anyhow::anyhow!(
                "trial `{trial}`: the audit chain is broken at event {} ({}): {}; run `rct audit verify`",
                b.seq,
                kind_name(b.kind),
                b.detail
            )
        })?;
        let state = rct_record::TrialState::from_events(trial, &events)
            .with_context(|| format!("folding trial `{trial}`"))?;
        let (state, viewer) = match &args.user {
            Some(user) => (state, user.clone()),
            // A grant of the role at every site, added to a copy of the
            // state only for building views.
            None => (
                state.with_role_viewer(args.role),
                rct_record::view::ROLE_VIEWER.to_string(),
            ),
        };
        for e in &events {
            if let Some(p) = &args.participant {
                if about(&state, e) != Some(p.as_str()) {
                    continue;
                }
            }
            if let Some(view) = state.view_event(e, &viewer) {
                entries.push(view);
            }
        }
    }
    if args.json {
        print_json(&entries)?;
    } else if entries.is_empty() {
        println!("no events visible");
    } else {
        for e in &entries {
            println!("{}", render(e));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The participant an event is about (queries through their participant).
fn about<'a>(state: &'a rct_record::TrialState, e: &'a Event) -> Option<&'a str> {
    use rct_record::Payload::*;
    match &e.payload {
        QueryAnswered { query, .. } | QueryClosed { query } => {
            state.queries.get(query).map(|q| q.participant.as_str())
        }
        p => p.participant(),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "(none)".into(),
        other => other.to_string(),
    }
}

/// One line of the text trail from a view entry.
fn render(view: &Value) -> String {
    let get = |k: &str| view.get(k).map(text).unwrap_or_default();
    let mut line = format!(
        "{} #{} {} {} ({})",
        get("trial"),
        get("seq"),
        get("at"),
        get("actor"),
        get("role")
    );
    if let Some(site) = view.get("site").filter(|s| !s.is_null()) {
        line.push_str(&format!(" site {}", text(site)));
    }
    let payload = view.get("payload").and_then(Value::as_object);
    let kind = payload
        .and_then(|p| p.get("type"))
        .map(text)
        .unwrap_or_default();
    line.push_str(&format!(": {kind}"));
    if let Some(p) = payload {
        if let Some(pid) = p.get("participant") {
            line.push_str(&format!(" {}", text(pid)));
        }
        if kind == "value_changed" {
            let item = ["visit", "form", "field"]
                .iter()
                .map(|k| p.get(*k).map(text).unwrap_or_default())
                .collect::<Vec<_>>()
                .join("/");
            let old = p.get("old").map(text).unwrap_or_default();
            let new = p.get("new").map(text).unwrap_or_default();
            line.push_str(&format!(" {item}: {old} -> {new}"));
        } else {
            for (k, v) in p {
                if matches!(k.as_str(), "type" | "participant") {
                    continue;
                }
                line.push_str(&format!(" {k}={}", compact(v)));
            }
        }
    }
    if let Some(reason) = view.get("reason").filter(|r| !r.is_null()) {
        line.push_str(&format!("; reason: {}", text(reason)));
    }
    if let Some(software) = view.get("software").filter(|s| !s.is_null()) {
        line.push_str(&format!("; written by {}", text(software)));
    }
    if let Some(r) = view.get("redacted").and_then(Value::as_array) {
        let names: Vec<String> = r.iter().map(text).collect();
        line.push_str(&format!(
            " [not shown to this viewer: {}]",
            names.join(", ")
        ));
    }
    line
}

fn compact(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
