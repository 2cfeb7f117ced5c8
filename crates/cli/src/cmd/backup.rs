//! `rct backup` (placeholder).

use std::process::ExitCode;

/// Arguments of `rct backup` (not built yet).
#[derive(clap::Args, Debug)]
pub struct BackupArgs {}

/// Runs `rct backup`.
pub fn run(_args: BackupArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`rct backup` is not built yet")
}

/// Arguments of `rct restore` (not built yet).
#[derive(clap::Args, Debug)]
pub struct RestoreArgs {}

/// Runs `rct restore`.
pub fn run_restore(_args: RestoreArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`rct restore` is not built yet")
}
