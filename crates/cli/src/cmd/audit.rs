//! `rct audit verify|log` (placeholder; the store helper replaces it).

use std::process::ExitCode;

/// Audit trail commands.
#[derive(clap::Subcommand, Debug)]
pub enum AuditCmd {
    /// Not built yet.
    #[command(hide = true)]
    Todo,
}

/// Runs an audit command.
pub fn run(_cmd: AuditCmd) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`rct audit` is not built yet")
}
