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
    /// Fit a regression model, or run a protocol's analysis plan.
    Analyse(cmd::analyse::AnalyseArgs),
    /// Simulate designs: power.
    #[command(subcommand)]
    Simulate(cmd::simulate::SimulateCmd),
    /// Check and read the audit trail.
    #[command(subcommand)]
    Audit(cmd::audit::AuditCmd),
    /// Copy a trial database online, consistently, to a file.
    Backup(cmd::backup::BackupArgs),
    /// Restore a trial database from a backup.
    Restore(cmd::backup::RestoreArgs),
    /// Export the trial record.
    #[command(subcommand)]
    Export(cmd::export::ExportCmd),
    /// Import from other systems.
    #[command(subcommand)]
    Import(cmd::import::ImportCmd),
    /// Run the web application.
    Serve(cmd::serve::ServeArgs),
    /// Run a trial from the command line: register, screen, consent, randomise, enter data, record sessions, lock.
    #[command(subcommand)]
    Trial(cmd::trial::TrialCmd),
    /// Log in: check your password and keep a login token (12 hours) that
    /// later commands on the trial record act with.
    Login(cmd::login::LoginArgs),
    /// Log out: delete the login token.
    Logout(cmd::login::LogoutArgs),
}

/// Restores the default action of SIGPIPE (Rust ignores it, so a write to a
/// closed pipe, as in `rct trial kits | head -1`, fails and `println!`
/// panics): the process then ends quietly when its reader goes away, as
/// Unix tools do. The server keeps SIGPIPE ignored, since a client that
/// disconnects must not end it.
#[cfg(unix)]
fn quiet_on_closed_pipe() {
    // SAFETY: `signal` with SIG_DFL installs no handler code; it runs once,
    // before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn quiet_on_closed_pipe() {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve(_)) {
        quiet_on_closed_pipe();
    }
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
        Command::Backup(a) => cmd::backup::run(a),
        Command::Restore(a) => cmd::backup::run_restore(a),
        Command::Export(c) => cmd::export::run(c),
        Command::Import(c) => cmd::import::run(c),
        Command::Serve(a) => cmd::serve::run(a),
        Command::Trial(c) => cmd::trial::run(c),
        Command::Login(a) => cmd::login::run_login(a),
        Command::Logout(a) => cmd::login::run_logout(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
