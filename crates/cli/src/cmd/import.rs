//! `rct import redcap-dictionary|odm` (placeholder; the store helper replaces it).

use std::process::ExitCode;

/// Imports.
#[derive(clap::Subcommand, Debug)]
pub enum ImportCmd {
    /// Not built yet.
    #[command(hide = true)]
    Todo,
}

/// Runs an import command.
pub fn run(_cmd: ImportCmd) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`rct import` is not built yet")
}
