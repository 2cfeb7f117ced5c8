use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct AnalyseArgs {}

pub fn run(_args: AnalyseArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
