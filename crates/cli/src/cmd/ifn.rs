//! `rct ifn score` (placeholder; the store helper replaces it).

use std::process::ExitCode;

/// Interferon signature.
#[derive(clap::Subcommand, Debug)]
pub enum IfnCmd {
    /// Not built yet.
    #[command(hide = true)]
    Todo,
}

/// Runs an ifn command.
pub fn run(_cmd: IfnCmd) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`rct ifn` is not built yet")
}
