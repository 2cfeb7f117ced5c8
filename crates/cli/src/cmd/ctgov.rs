//! `rct protocol import-ctgov`: a ClinicalTrials.gov API v2 study record into
//! a protocol skeleton (docs/interop.md).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

/// Arguments of `rct protocol import-ctgov`.
#[derive(clap::Args, Debug)]
pub struct ImportCtgovArgs {
    /// The study record (JSON from `GET https://clinicaltrials.gov/api/v2/studies/NCT...`).
    study: PathBuf,
    /// Where to write the protocol skeleton (TOML); standard output if absent.
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print the import report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `rct protocol import-ctgov`.
pub fn run(args: ImportCtgovArgs) -> anyhow::Result<ExitCode> {
    let name = args.study.display().to_string();
    let src = super::input::read_text_bounded(
        &args.study,
        rct_interop::ctgov::MAX_STUDY_BYTES,
        "a ClinicalTrials.gov study record",
    )?;
    let out = rct_interop::ctgov::import_study(&src, &name)?;
    // The skeleton must pass the checker; say so if it does not. Its
    // diagnostics locate lines of the generated TOML, never of the JSON input.
    let generated = match &args.out {
        Some(path) => path.display().to_string(),
        None => format!("protocol generated from {name}"),
    };
    let check = rct_core::protocol::parse(&out.toml, &generated).err();
    match &args.out {
        Some(path) => std::fs::write(path, &out.toml)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{}", out.toml),
    }
    if args.json {
        super::print_json(&serde_json::json!({
            "nct_id": out.nct_id,
            "arms": out.arms,
            "inclusion": out.inclusion,
            "exclusion": out.exclusion,
            "outcomes": out.outcomes,
            "notes": out.notes,
            "check": check.as_ref().map(|d| d.to_string()),
        }))?;
    } else if args.out.is_some() {
        println!(
            "{}: {} arm(s), {} inclusion and {} exclusion criteria, {} outcome(s); confirm the [[assumptions]]",
            out.nct_id, out.arms, out.inclusion, out.exclusion, out.outcomes
        );
        for n in &out.notes {
            println!("  note: {}: {}", n.path, n.message);
        }
    }
    if let Some(d) = check {
        eprintln!(
            "{name}: the record was read, but the protocol generated from it does not pass the checker (lines below are lines of {generated}); the record may be partial: complete the skeleton by hand"
        );
        for n in &out.notes {
            eprintln!("  note: {}: {}", n.path, n.message);
        }
        eprintln!("{d}");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
