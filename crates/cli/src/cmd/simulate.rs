use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum SimulateCmd {}

pub fn run(c: SimulateCmd) -> anyhow::Result<ExitCode> {
    match c {}
}
