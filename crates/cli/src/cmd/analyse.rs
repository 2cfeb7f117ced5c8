//! `rct analyse` (placeholder).

use std::process::ExitCode;

/// Arguments of `rct analyse` (not built yet).
#[derive(clap::Args, Debug)]
pub struct AnalyseArgs {}

/// Runs `rct analyse`.
pub fn run(_args: AnalyseArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`rct analyse` is not built yet")
}
