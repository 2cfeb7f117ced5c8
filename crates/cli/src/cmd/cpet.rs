use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum CpetCmd {}

pub fn run(c: CpetCmd) -> anyhow::Result<ExitCode> {
    match c {}
}
