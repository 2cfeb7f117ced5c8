//! `rct serve` (placeholder).

use std::process::ExitCode;

/// Arguments of `rct serve` (not built yet).
#[derive(clap::Args, Debug)]
pub struct ServeArgs {}

/// Runs `rct serve`.
pub fn run(_args: ServeArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`rct serve` is not built yet")
}
