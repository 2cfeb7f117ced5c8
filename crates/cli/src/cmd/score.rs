use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct ScoreArgs {}

pub fn run(_args: ScoreArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
