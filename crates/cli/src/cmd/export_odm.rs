//! `rct export odm` (placeholder).

use std::process::ExitCode;

/// Arguments of `rct export odm` (not built yet).
#[derive(clap::Args, Debug)]
pub struct ExportOdmArgs {}

/// Runs `rct export odm`.
pub fn run(_args: ExportOdmArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`rct export odm` is not built yet")
}
