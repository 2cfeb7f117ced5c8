//! `rct analyse --db URL [--protocol FILE] --out DIR`: the registered protocol's whole
//! analysis plan on the locked trial record, written as `report.html`
//! (self-contained), `report.md`, the SVG figures and `report.json` (every
//! result at full precision).
//!
//! `--db` takes a store URL (`sqlite:PATH`, a file path, `postgres://...`)
//! or a JSON-lines events file (`*.jsonl`, as `rct export events` writes).

use std::fs;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use rct_report::{build_report, ReportOptions};
use rct_store::{Ledger, MemStore, Store};

/// Opens `db`: a JSON-lines export is loaded into memory, anything else is a
/// store URL.
fn open_db(db: &str) -> anyhow::Result<Box<dyn Store>> {
    if db.ends_with(".jsonl") || db.ends_with(".ndjson") {
        let text = super::input::read_text_bounded(
            std::path::Path::new(db),
            rct_store::dump::MAX_DUMP_BYTES,
            "events as JSON lines",
        )?;
        let snapshot = rct_store::dump::parse_lines(&text, db)?;
        let store = MemStore::new();
        for (trial, rows) in &snapshot {
            store.import(trial, rows, false)?;
        }
        return Ok(Box::new(store));
    }
    rct_store::open(db).with_context(|| format!("cannot open the trial database `{db}`"))
}

/// Runs the analysis plan of `protocol` on the record in `db` and writes the
/// report into `out`.
pub fn run(
    db: &str,
    protocol: Option<&Path>,
    trial: Option<&str>,
    out: &Path,
) -> anyhow::Result<ExitCode> {
    let given = super::registered::given(protocol)?;
    let ledger = Ledger::new(open_db(db)?);
    let trials = ledger.store().trials()?;
    let trial = super::registered::trial_id(trial, given.as_ref(), || Ok(trials.clone()), db)?;
    if !trials.iter().any(|t| t == &trial) {
        bail!(
            "`{db}` holds no trial `{trial}`; it holds: {}",
            if trials.is_empty() {
                "no trials".to_string()
            } else {
                trials.join(", ")
            }
        );
    }
    ledger
        .verify(&trial)
        .map_err(|e| anyhow!("trial `{trial}`: the event chain does not verify: {e}"))?;
    let state = ledger.state(&trial)?;
    if !state.locked {
        bail!(
            "trial `{trial}` is not locked: the analysis plan runs only on a locked database (a data manager locks it once queries are closed); nothing was written"
        );
    }
    if state.config.as_ref().is_some_and(|c| c.blinded) && !state.trial_unblinded() {
        eprintln!(
            "note: trial `{trial}` is blinded and its unblinding has not been authorised (`rct trial governance`); this report shows results by arm"
        );
    }
    for f in state.governance_flags() {
        eprintln!("flag: {f}");
    }
    let proto = super::registered::protocol(&state, given)?;
    let report = build_report(&state, &proto, &ReportOptions::default())
        .map_err(|e| anyhow!("trial `{trial}`: {e}"))?;
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let write = |name: &str, text: &str| -> anyhow::Result<()> {
        let path = out.join(name);
        fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    write("report.html", &report.html)?;
    write("report.md", &report.markdown)?;
    for (name, svg) in &report.figures {
        write(name, svg)?;
    }
    // The same results at full precision for programs (R, Python, a
    // validation script): the flow and every model, test and curve.
    let json = serde_json::json!({
        "trial": trial,
        "events": state.seq,
        "head": state.head,
        "flow": report.flow,
        "results": report.results,
        "safety": report.safety,
        "governance_flags": state.governance_flags(),
    });
    write("report.json", &serde_json::to_string_pretty(&json)?)?;
    println!(
        "trial {trial}: {} events verified (head {}), database locked",
        state.seq,
        &state.head[..state.head.len().min(16)]
    );
    println!(
        "randomised {} of {} assessed; {} figures",
        report.flow.randomised,
        report.flow.assessed,
        report.figures.len()
    );
    for m in &report.results.models {
        for e in &m.estimates {
            println!(
                "{:<12} {:<4} {:<32} {:<24} {:>9.3} ({:.3} to {:.3}) p = {:.4}",
                m.model, m.population, m.method, e.term, e.estimate, e.ci_low, e.ci_high, e.p
            );
        }
        if let Some(err) = &m.error {
            println!(
                "{:<12} {:<4} {:<32} not estimable: {err}",
                m.model, m.population, m.method
            );
        }
    }
    println!("wrote {}", out.join("report.html").display());
    Ok(ExitCode::SUCCESS)
}
