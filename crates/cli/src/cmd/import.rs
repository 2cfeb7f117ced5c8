//! `rct import redcap-dictionary|odm` (docs/interop.md).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use rct_interop::IssueKind;
use rct_record::Event;

/// Imports.
#[derive(clap::Subcommand, Debug)]
pub enum ImportCmd {
    /// A REDCap data dictionary (CSV) into protocol `[[forms]]` and
    /// `[[code_lists]]`; branching logic and calculations are translated into
    /// the rule language, and whatever cannot be is listed with its CSV row.
    RedcapDictionary {
        /// The data dictionary (CSV as REDCap downloads it).
        file: PathBuf,
        /// Where to write the forms (TOML); standard output if absent.
        #[arg(long, short, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Print the report (counts and every issue) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// A CDISC ODM 1.3.2 file: its metadata into a protocol skeleton, its
    /// clinical data with audit records (or, for a snapshot, as a migration
    /// with --attribute-to and --reason) into the event log of a new trial.
    /// Prints subjects, forms, values imported and skipped by reason; when
    /// any value would be skipped nothing is written and the exit status is
    /// 1, unless --allow-skips.
    Odm {
        /// The ODM file.
        file: PathBuf,
        /// Trial database to append the events to (the trial must not exist).
        #[arg(long, value_name = "URL", required_unless_present = "events_out")]
        db: Option<String>,
        /// Write the events as JSON lines here (instead of, or besides, --db).
        #[arg(long, value_name = "FILE")]
        events_out: Option<PathBuf>,
        /// Where to write the protocol skeleton (TOML).
        #[arg(long, value_name = "FILE")]
        protocol_out: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Import a snapshot without audit records (REDCap, OpenClinica) as a
        /// migration by this rct user: each value is attributed to them as
        /// the person who migrated it, never as its author.
        #[arg(long, value_name = "USER", requires = "reason")]
        attribute_to: Option<String>,
        /// Why the snapshot is migrated ("migration from REDCap project 123").
        #[arg(long, value_name = "TEXT", requires = "attribute_to")]
        reason: Option<String>,
        /// Site recorded on migrated values.
        #[arg(
            long,
            value_name = "SITE",
            default_value = "imported",
            requires = "attribute_to"
        )]
        site: String,
        /// Exit 0 even when some values were skipped (they are still listed).
        #[arg(long)]
        allow_skips: bool,
    },
}

/// Runs an import command.
pub fn run(cmd: ImportCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        ImportCmd::RedcapDictionary { file, out, json } => {
            let name = file.display().to_string();
            let src = super::input::read_text_bounded(
                &file,
                rct_interop::redcap::MAX_DICTIONARY_BYTES,
                "a REDCap data dictionary",
            )?;
            let r = rct_interop::redcap::import_dictionary(&src, &name)?;
            match &out {
                Some(path) => std::fs::write(path, &r.toml)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None if !json => print!("{}", r.toml),
                None => {}
            }
            let untranslated = r
                .issues
                .iter()
                .filter(|i| i.kind == IssueKind::Untranslated)
                .count();
            if json {
                super::print_json(&r)?;
            } else {
                let to = if out.is_some() {
                    &mut std::io::stdout() as &mut dyn std::io::Write
                } else {
                    &mut std::io::stderr()
                };
                writeln!(to, "{name}: {} form(s), {} field(s), {} code list(s); {untranslated} item(s) not translated", r.forms, r.fields, r.code_lists)?;
                for i in &r.issues {
                    let kind = match i.kind {
                        IssueKind::Untranslated => "untranslated",
                        IssueKind::Approximated => "approximated",
                        IssueKind::Comment => "comment",
                    };
                    writeln!(
                        to,
                        "  row {} {} [{}] {kind}: {}",
                        i.row, i.variable, i.column, i.reason
                    )?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ImportCmd::Odm {
            file,
            db,
            events_out,
            protocol_out,
            json,
            attribute_to,
            reason,
            site,
            allow_skips,
        } => {
            let name = file.display().to_string();
            let bytes =
                super::input::read_bounded(&file, rct_interop::odm::MAX_ODM_BYTES, "an ODM file")?;
            let src = rct_interop::odm::decode(&bytes, &name)?;
            let migration = match (attribute_to, reason) {
                (Some(user), Some(reason)) => Some(rct_interop::odm::Migration {
                    user,
                    reason,
                    // The migration's own time: the one clock read of an import.
                    #[allow(clippy::disallowed_methods)]
                    at: chrono::Utc::now(),
                    site,
                }),
                _ => None,
            };
            let secrets = rct_store::secrets::draw(None)?;
            let imp = rct_interop::odm::import_with(
                &src,
                &name,
                &rct_interop::odm::ImportOptions { migration },
                secrets,
            )?;
            let skipped: usize = imp.skipped.values().sum();
            if skipped > 0 && !allow_skips {
                eprintln!(
                    "{name}: {} participant(s), {} form(s), {} value(s) readable, {skipped} value(s) that would be skipped:",
                    imp.subjects, imp.forms, imp.item_data
                );
                for (why, n) in &imp.skipped {
                    eprintln!("  skipped: {n} value(s): {why}");
                }
                eprintln!(
                    "{name}: nothing was written: an import must not drop values silently. Pass --allow-skips to import the rest without them"
                );
                return Ok(ExitCode::from(1));
            }
            if let Err(d) =
                rct_core::protocol::parse(&imp.protocol_toml, &protocol_out.display().to_string())
            {
                eprintln!("warning: the protocol skeleton does not pass the checker yet:\n{d}");
            }
            std::fs::write(&protocol_out, &imp.protocol_toml)
                .with_context(|| format!("cannot write {}", protocol_out.display()))?;
            let events: Vec<Event> =
                rct_record::seal_drafts(&imp.trial, imp.events.iter().cloned())
                    .with_context(|| format!("{name}: the imported record does not fold"))?;
            if let Some(path) = &events_out {
                let mut text = String::new();
                for e in &events {
                    text.push_str(&e.to_json_line(true));
                    text.push('\n');
                }
                std::fs::write(path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            if let Some(url) = &db {
                let store = rct_store::open(url).with_context(|| format!("cannot open {url}"))?;
                if !store.load(&imp.trial, 0)?.is_empty() {
                    anyhow::bail!("{url} already holds trial `{}`; import into a new database or remove it first", imp.trial);
                }
                // Signed with the key beside the database when there is one
                // (the import vouches for the new trial's events).
                let key = super::signing::KeyArgs::default().path(url);
                let key = match key {
                    Some(path) => super::signing::load_if_present(&path)?,
                    None => None,
                };
                match (key, events.last()) {
                    (Some(key), Some(last)) => {
                        #[allow(clippy::disallowed_methods)]
                        let now = chrono::Utc::now();
                        let cp = rct_record::Checkpoint::sign(
                            &key, &imp.trial, last.seq, &last.hash, now,
                        )?;
                        store.append_signed(&imp.trial, &events, &cp)?;
                    }
                    _ => store.append(&imp.trial, &events)?,
                }
            }
            if json {
                super::print_json(&serde_json::json!({
                    "trial": imp.trial,
                    "events": events.len(),
                    "subjects": imp.subjects,
                    "forms": imp.forms,
                    "item_data": imp.item_data,
                    "skipped": imp.skipped,
                    "allocations": imp.allocations,
                    "protocol": protocol_out.display().to_string(),
                    "notes": imp.notes,
                }))?;
            } else {
                println!(
                    "{name}: trial `{}`: {} event(s) ({} participant(s), {} form(s), {} value(s) imported, {skipped} skipped, {} allocation(s)); protocol skeleton in {}",
                    imp.trial, events.len(), imp.subjects, imp.forms, imp.item_data, imp.allocations, protocol_out.display()
                );
                for (why, n) in &imp.skipped {
                    println!("  skipped: {n} value(s): {why}");
                }
                for n in &imp.notes {
                    println!("  note: {n}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
