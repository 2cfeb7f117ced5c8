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
    /// clinical data with audit records into the event log of a new trial.
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
    },
}

/// Runs an import command.
pub fn run(cmd: ImportCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        ImportCmd::RedcapDictionary { file, out, json } => {
            let name = file.display().to_string();
            let src =
                std::fs::read_to_string(&file).with_context(|| format!("cannot read {name}"))?;
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
        } => {
            let name = file.display().to_string();
            let src =
                std::fs::read_to_string(&file).with_context(|| format!("cannot read {name}"))?;
            let secrets = rct_store::secrets::draw(None)?;
            let imp = rct_interop::odm::import(&src, &name, secrets)?;
            if let Err(d) =
                rct_core::protocol::parse(&imp.protocol_toml, &protocol_out.display().to_string())
            {
                eprintln!("warning: the protocol skeleton does not pass the checker yet:\n{d}");
            }
            std::fs::write(&protocol_out, &imp.protocol_toml)
                .with_context(|| format!("cannot write {}", protocol_out.display()))?;
            let events: Vec<Event> = rct_record::seal_drafts(&imp.trial, imp.events.iter().cloned())
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
                store.append(&imp.trial, &events)?;
            }
            if json {
                super::print_json(&serde_json::json!({
                    "trial": imp.trial,
                    "events": events.len(),
                    "subjects": imp.subjects,
                    "item_data": imp.item_data,
                    "allocations": imp.allocations,
                    "protocol": protocol_out.display().to_string(),
                    "notes": imp.notes,
                }))?;
            } else {
                println!(
                    "{name}: trial `{}`: {} event(s) ({} participant(s), {} value(s), {} allocation(s)); protocol skeleton in {}",
                    imp.trial, events.len(), imp.subjects, imp.item_data, imp.allocations, protocol_out.display()
                );
                for n in &imp.notes {
                    println!("  note: {n}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
