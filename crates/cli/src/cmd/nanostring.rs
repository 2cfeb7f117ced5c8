//! `rct nanostring qc|normalise` (placeholder; the store helper replaces it).

use std::process::ExitCode;

/// NanoString files.
#[derive(clap::Subcommand, Debug)]
pub enum NanostringCmd {
    /// Not built yet.
    #[command(hide = true)]
    Todo,
}

/// Runs a nanostring command.
pub fn run(_cmd: NanostringCmd) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`rct nanostring` is not built yet")
}
