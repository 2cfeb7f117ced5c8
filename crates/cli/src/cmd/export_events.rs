//! `rct export events` (placeholder).

use std::process::ExitCode;

/// Arguments of `rct export events` (not built yet).
#[derive(clap::Args, Debug)]
pub struct ExportEventsArgs {}

/// Runs `rct export events`.
pub fn run(_args: ExportEventsArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`rct export events` is not built yet")
}
