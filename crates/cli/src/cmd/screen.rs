use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct ScreenArgs {}

pub fn run(_args: ScreenArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
