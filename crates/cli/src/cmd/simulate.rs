//! `rct simulate power` (placeholder; the store helper replaces it).

use std::process::ExitCode;

/// Simulations.
#[derive(clap::Subcommand, Debug)]
pub enum SimulateCmd {
    /// Not built yet.
    #[command(hide = true)]
    Todo,
}

/// Runs a simulate command.
pub fn run(_cmd: SimulateCmd) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`rct simulate` is not built yet")
}
