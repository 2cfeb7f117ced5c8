use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum HrCmd {}

pub fn run(c: HrCmd) -> anyhow::Result<ExitCode> {
    match c {}
}
