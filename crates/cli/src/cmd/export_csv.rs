//! `rct export csv` (placeholder).

use std::process::ExitCode;

/// Arguments of `rct export csv` (not built yet).
#[derive(clap::Args, Debug)]
pub struct ExportCsvArgs {}

/// Runs `rct export csv`.
pub fn run(_args: ExportCsvArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`rct export csv` is not built yet")
}
