//! `rct export odm`: the trial as CDISC ODM 1.3.2 XML (docs/interop.md).
//! Also holds what the interop commands share: reading a trial's events from
//! a store or an events file, and deciding whether an export may show arms.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use rct_core::protocol::Protocol;
use rct_record::{Event, Role, TrialState};

/// Where a trial's events come from.
#[derive(clap::Args, Debug, Clone)]
pub struct Source {
    /// The protocol file (optional): the record holds the protocol the
    /// trial was registered with, and that is the metadata of the export;
    /// a file given here must be the same text (a difference is refused,
    /// naming the first line that differs).
    #[arg(long, value_name = "FILE")]
    pub protocol: Option<PathBuf>,
    /// Trial database URL (`sqlite:PATH`, a file path, `postgres://...`).
    #[arg(
        long,
        value_name = "URL",
        required_unless_present = "events",
        conflicts_with = "events"
    )]
    pub db: Option<String>,
    /// Events as JSON lines (one event with its hash per line, as
    /// `rct export events` writes them) instead of a database.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Trial id (default: the protocol's `trial.id`, else the database's
    /// only trial).
    #[arg(long, value_name = "ID")]
    pub trial: Option<String>,
}

/// Who the export is for.
#[derive(clap::Args, Debug, Clone)]
pub struct Audience {
    /// Blinded export: no arms, allocations or arm-specific forms, whatever
    /// the role.
    #[arg(long, conflicts_with = "as_role")]
    pub blinded: bool,
    /// Export as this role sees the trial: arms and allocations only for a
    /// role entitled to them (intervention_staff, pharmacist; the
    /// statistician once the trial is unblinded; anyone in an open-label
    /// trial). Without it an open-label trial is exported whole and a blinded
    /// one blinded.
    #[arg(long, value_name = "ROLE")]
    pub as_role: Option<Role>,
}

/// Reads the protocol and the verified events of the trial.
pub(crate) fn load(src: &Source) -> anyhow::Result<(Protocol, Vec<Event>, TrialState)> {
    let given = super::registered::given(src.protocol.as_deref())?;
    let events = if let Some(url) = &src.db {
        let store = rct_store::open(url).with_context(|| format!("cannot open {url}"))?;
        let trial = super::registered::trial_id(
            src.trial.as_deref(),
            given.as_ref(),
            || Ok(store.trials()?),
            url,
        )?;
        let stored = store.load(&trial, 0)?;
        if stored.is_empty() {
            let known = store.trials().unwrap_or_default();
            anyhow::bail!(
                "{url} holds no trial `{trial}` (it holds: {}); pass --trial ID",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            );
        }
        let (_, events) = rct_record::verify_chain(&trial, &stored).map_err(|b| {
            anyhow::anyhow!("{url}: trial `{trial}`: the audit chain is broken: {b}")
        })?;
        events
    } else if let Some(path) = &src.events {
        let trial = super::registered::trial_id(
            src.trial.as_deref(),
            given.as_ref(),
            || anyhow::bail!("give --trial ID with --events"),
            &path.display().to_string(),
        )?;
        read_events(path, &trial)?
    } else {
        anyhow::bail!("give --db URL or --events FILE");
    };
    let trial = events.first().map(|e| e.trial.clone()).unwrap_or_default();
    let state = TrialState::from_events(&trial, events.iter())
        .map_err(|e| anyhow::anyhow!("trial `{trial}`: {e}"))?;
    let protocol = super::registered::protocol(&state, given)?;
    Ok(((*protocol).clone(), events, state))
}

/// Reads events (JSON lines) of `trial` from a file.
pub(crate) fn read_events(path: &Path, trial: &str) -> anyhow::Result<Vec<Event>> {
    let name = path.display().to_string();
    let text = super::input::read_text_bounded(
        path,
        rct_store::dump::MAX_DUMP_BYTES,
        "events as JSON lines",
    )?;
    let mut events = Vec::new();
    for (k, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let e = Event::from_json_line(line).with_context(|| {
            format!(
                "{name}:{}: not an event (expected one JSON event per line)",
                k + 1
            )
        })?;
        if e.trial == trial {
            if e.computed_hash() != e.hash {
                anyhow::bail!(
                    "{name}:{}: event {} does not match its hash (edited?)",
                    k + 1,
                    e.seq
                );
            }
            events.push(e);
        }
    }
    if events.is_empty() {
        anyhow::bail!("{name} holds no event of trial `{trial}`; pass --trial ID");
    }
    Ok(events)
}

/// The file an export folder carries governance flags in (only when there
/// are any).
pub(crate) const FLAGS_FILE: &str = "analysis_plan_flags.txt";

/// Whether the export may carry arms.
pub(crate) fn unblinded(aud: &Audience, protocol: &Protocol, state: &TrialState) -> bool {
    if aud.blinded {
        return false;
    }
    let trial_blinded = state
        .config
        .as_ref()
        .map_or(protocol.is_blinded(), |c| c.blinded);
    if !trial_blinded {
        return true;
    }
    match aud.as_role {
        Some(r) => r.is_unblinded() || (r == Role::Statistician && state.trial_unblinded()),
        None => false,
    }
}

/// The document with one XML comment per governance flag after its XML
/// declaration (unchanged without flags, so that an export still reads
/// back byte-identically).
fn with_flags(xml: String, flags: &[String]) -> String {
    if flags.is_empty() {
        return xml;
    }
    let comments: String = flags
        .iter()
        .map(|f| format!("<!-- flag: {} -->\n", f.replace("--", "- -")))
        .collect();
    match xml.find("?>\n") {
        Some(k) if xml.starts_with("<?xml") => {
            format!("{}{comments}{}", &xml[..k + 3], &xml[k + 3..])
        }
        _ => format!("{comments}{xml}"),
    }
}

/// A writer that puts [`with_flags`]' comments after the XML declaration
/// of a streamed document (it holds back at most the declaration's line).
struct FlagsAfterDeclaration<'a> {
    inner: &'a mut dyn std::io::Write,
    /// The comments still to write (empty once written, or without flags).
    comments: String,
    /// The document's first bytes, held until the declaration's end is seen.
    head: Vec<u8>,
}

impl<'a> FlagsAfterDeclaration<'a> {
    /// The longest first line taken for a declaration.
    const MAX_HEAD: usize = 256;

    fn new(inner: &'a mut dyn std::io::Write, flags: &[String]) -> Self {
        let comments = flags
            .iter()
            .map(|f| format!("<!-- flag: {} -->\n", f.replace("--", "- -")))
            .collect();
        Self {
            inner,
            comments,
            head: Vec::new(),
        }
    }

    /// Writes what is held back (the comments first when the document had
    /// no declaration), then flushes.
    fn finish(&mut self) -> std::io::Result<()> {
        self.release(false)?;
        self.inner.flush()
    }

    /// Writes the held bytes with the comments: after the declaration when
    /// `after_declaration`, else before everything.
    fn release(&mut self, after_declaration: bool) -> std::io::Result<()> {
        if self.comments.is_empty() && self.head.is_empty() {
            return Ok(());
        }
        let comments = std::mem::take(&mut self.comments);
        let head = std::mem::take(&mut self.head);
        if after_declaration {
            self.inner.write_all(&head)?;
            self.inner.write_all(comments.as_bytes())
        } else {
            self.inner.write_all(comments.as_bytes())?;
            self.inner.write_all(&head)
        }
    }
}

impl std::io::Write for FlagsAfterDeclaration<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.comments.is_empty() {
            return self.inner.write(buf);
        }
        self.head.extend_from_slice(buf);
        if !self.head.starts_with(&b"<?xml"[..self.head.len().min(5)]) {
            self.release(false)?;
        } else if let Some(k) = self.head.windows(3).position(|w| w == b"?>\n") {
            let rest = self.head.split_off(k + 3);
            self.release(true)?;
            self.inner.write_all(&rest)?;
        } else if self.head.len() > Self::MAX_HEAD {
            self.release(false)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Arguments of `rct export odm`.
#[derive(clap::Args, Debug)]
pub struct ExportOdmArgs {
    #[command(flatten)]
    source: Source,
    #[command(flatten)]
    audience: Audience,
    /// Write the XML here instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print a JSON summary (with --out; the XML goes to the file).
    #[arg(long, requires = "out")]
    json: bool,
}

/// Streams the export from a database in two passes over the events, each
/// read in chunks and checked against its hash and link: the first folds
/// the state (dropping each participant's values and sessions as it goes:
/// only configuration, lock and sites are needed) to decide what the
/// audience may see; the second feeds the events up to the same head to the
/// collector, which writes the XML one participant at a time. Memory holds
/// the exported values compactly, never the events or the folded values.
fn stream_from_db(
    url: &str,
    src: &Source,
    aud: &Audience,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<(bool, rct_interop::odm::ExportSummary, Vec<String>)> {
    let given = super::registered::given(src.protocol.as_deref())?;
    let store = rct_store::open(url).with_context(|| format!("cannot open {url}"))?;
    let trial = super::registered::trial_id(
        src.trial.as_deref(),
        given.as_ref(),
        || Ok(store.trials()?),
        url,
    )?;
    let (state, head) = fold_light(&*store, url, &trial, &mut |_| {})?;
    let broken = |b: rct_store::StoreError| {
        anyhow::anyhow!("{url}: trial `{trial}`: the audit chain is broken: {b}")
    };
    let protocol = super::registered::protocol(&state, given)?;
    let open = unblinded(aud, &protocol, &state);
    let opts = rct_interop::odm::ExportOptions {
        unblinded: open,
        source_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let sites = rct_interop::odm::participant_sites(&state);
    let flags = state.governance_flags();
    drop(state);
    let mut collector = rct_interop::odm::OdmCollector::new(&protocol, &opts);
    let again = rct_store::scan_verified(&*store, &trial, Some(head.events), &mut |e| {
        collector.push(&e);
        Ok(())
    })
    .map_err(broken)?;
    if again.head != head.head {
        anyhow::bail!(
            "{url}: trial `{trial}`: the chain changed while it was exported; export again"
        );
    }
    let mut out = FlagsAfterDeclaration::new(out, &flags);
    let summary = collector.finish(&sites, &mut out)?;
    out.finish()?;
    Ok((open, summary, flags))
}

/// Folds `trial` from the store in one verified pass, dropping each
/// participant's values and sessions as it goes (what an export needs of
/// the state: configuration, lock, sites, allocations), and shows each
/// event to `also` first. Fails on a broken chain or an empty trial.
pub(crate) fn fold_light(
    store: &dyn rct_store::Store,
    url: &str,
    trial: &str,
    also: &mut dyn FnMut(&Event),
) -> anyhow::Result<(TrialState, rct_record::ChainSummary)> {
    let mut state = TrialState::new(trial);
    let head = rct_store::scan_verified(store, trial, None, &mut |e| {
        also(&e);
        let pid = e.payload.participant().map(str::to_string);
        state
            .apply(&e)
            .map_err(|source| rct_store::StoreError::Apply {
                trial: trial.to_string(),
                source,
            })?;
        if let Some(p) = pid.and_then(|pid| state.participants.get_mut(&pid)) {
            let p = std::sync::Arc::make_mut(p);
            p.values.clear();
            p.sessions.clear();
        }
        Ok(())
    })
    .map_err(|b| anyhow::anyhow!("{url}: trial `{trial}`: the audit chain is broken: {b}"))?;
    if head.events == 0 {
        let known = store.trials().unwrap_or_default();
        anyhow::bail!(
            "{url} holds no trial `{trial}` (it holds: {}); pass --trial ID",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
    }
    Ok((state, head))
}

/// Runs `rct export odm`.
pub fn run(args: ExportOdmArgs) -> anyhow::Result<ExitCode> {
    let (open, summary, flags) = match &args.source.db {
        Some(url) => match &args.out {
            Some(path) => {
                let file = std::fs::File::create(path)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                let mut w = std::io::BufWriter::new(file);
                stream_from_db(url, &args.source, &args.audience, &mut w)?
            }
            None => {
                let stdout = std::io::stdout();
                let mut w = std::io::BufWriter::new(stdout.lock());
                stream_from_db(url, &args.source, &args.audience, &mut w)?
            }
        },
        None => {
            let (protocol, events, state) = load(&args.source)?;
            let open = unblinded(&args.audience, &protocol, &state);
            let opts = rct_interop::odm::ExportOptions {
                unblinded: open,
                source_version: env!("CARGO_PKG_VERSION").to_string(),
            };
            let (xml, summary) = rct_interop::odm::export(&protocol, &events, &opts)?;
            let flags = state.governance_flags();
            let xml = with_flags(xml, &flags);
            match &args.out {
                Some(path) => std::fs::write(path, &xml)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => print!("{xml}"),
            }
            (open, summary, flags)
        }
    };
    for f in &flags {
        eprintln!("flag: {f}");
    }
    match &args.out {
        Some(path) => {
            if args.json {
                super::print_json(&serde_json::json!({
                    "file": path.display().to_string(),
                    "unblinded": open,
                    "subjects": summary.subjects,
                    "item_data": summary.item_data,
                    "allocations": summary.allocations,
                    "skipped": summary.skipped,
                    "flags": flags,
                }))?;
            } else {
                println!(
                    "{}: ODM 1.3.2, {} participant(s), {} value(s) with audit records, {}{}",
                    path.display(),
                    summary.subjects,
                    summary.item_data,
                    if open {
                        format!("{} allocation(s) (unblinded)", summary.allocations)
                    } else {
                        "blinded (no arms)".to_string()
                    },
                    if summary.skipped > 0 {
                        format!("; {} value(s) for visits, forms or fields not in the protocol left out", summary.skipped)
                    } else {
                        String::new()
                    }
                );
            }
        }
        None => {
            if !open && args.audience.as_role.is_none() && !args.audience.blinded {
                eprintln!("note: blinded export (the trial is blinded); --as-role pharmacist or intervention_staff includes arms");
            }
            if summary.skipped > 0 {
                eprintln!(
                    "note: {} value(s) for visits, forms or fields not in the protocol left out",
                    summary.skipped
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// The streamed document with flags equals [`with_flags`] on the whole
    /// document, however the writes are cut.
    #[test]
    fn streamed_flags_land_where_with_flags_puts_them() {
        let flags = ["plan -- changed".to_string(), "second".to_string()];
        let docs = [
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ODM>\n</ODM>\n",
            "<ODM/>\n",
            "",
        ];
        for doc in docs {
            for cut in [1, 3, 7, 1000] {
                for f in [&flags[..], &[]] {
                    let mut out = Vec::new();
                    let mut w = FlagsAfterDeclaration::new(&mut out, f);
                    for chunk in doc.as_bytes().chunks(cut) {
                        w.write_all(chunk).unwrap();
                    }
                    w.finish().unwrap();
                    assert_eq!(
                        String::from_utf8(out).unwrap(),
                        with_flags(doc.to_string(), f),
                        "{doc:?} in chunks of {cut}"
                    );
                }
            }
        }
    }
}
