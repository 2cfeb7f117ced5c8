use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum RandomiseCmd {}

pub fn run(c: RandomiseCmd) -> anyhow::Result<ExitCode> {
    match c {}
}
