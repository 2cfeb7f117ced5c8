//! `rct`: the command-line edge of the system. Each subcommand lives in its
//! own module under `cmd/`, parses its arguments with clap, calls the pure
//! domain crates and prints plain text or, with `--json`, machine-readable
//! output. Errors go to stderr with a non-zero exit.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

/// Runs randomised controlled trials from protocol to analysis.
#[derive(Parser, Debug)]
#[command(name = "rct", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check and show protocol files.
    #[command(subcommand)]
    Protocol(cmd::protocol::ProtocolCmd),
    /// Compute a clinical score from a JSON input file.
    Score(cmd::score::ScoreArgs),
    /// Screen people against a protocol's eligibility criteria.
    Screen(cmd::screen::ScreenArgs),
    /// Randomisation lists, design assessment and CONSORT text.
    #[command(subcommand)]
    Randomise(cmd::randomise::RandomiseCmd),
    /// Heart-rate sessions: compliance and adherence.
    #[command(subcommand)]
    Hr(cmd::hr::HrCmd),
    /// Cardiopulmonary exercise tests.
    #[command(subcommand)]
    Cpet(cmd::cpet::CpetCmd),
    /// NanoString nCounter files: QC and normalisation.
    #[command(subcommand)]
    Nanostring(cmd::nanostring::NanostringCmd),
    /// Interferon gene signature scores.
    #[command(subcommand)]
    Ifn(cmd::ifn::IfnCmd),
    /// Fit a pre-specified model to a data file.
    Analyse(cmd::analyse::AnalyseArgs),
    /// Power simulation.
    #[command(subcommand)]
    Simulate(cmd::simulate::SimulateCmd),
    /// The audit trail: verify the hash chain, print the log.
    #[command(subcommand)]
    Audit(cmd::audit::AuditCmd),
    /// Online, consistent backup of a trial database.
    Backup(cmd::audit::BackupArgs),
    /// Restore a trial database from a backup.
    Restore(cmd::audit::RestoreArgs),
    /// Export trial data.
    #[command(subcommand)]
    Export(cmd::audit::ExportCmd),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Protocol(c) => cmd::protocol::run(c),
        Command::Score(a) => cmd::score::run(a),
        Command::Screen(a) => cmd::screen::run(a),
        Command::Randomise(c) => cmd::randomise::run(c),
        Command::Hr(c) => cmd::hr::run(c),
        Command::Cpet(c) => cmd::cpet::run(c),
        Command::Nanostring(c) => cmd::nanostring::run(c),
        Command::Ifn(c) => cmd::ifn::run(c),
        Command::Analyse(a) => cmd::analyse::run(a),
        Command::Simulate(c) => cmd::simulate::run(c),
        Command::Audit(c) => cmd::audit::run(c),
        Command::Backup(a) => cmd::audit::backup(a),
        Command::Restore(a) => cmd::audit::restore(a),
        Command::Export(c) => cmd::audit::export(c),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
