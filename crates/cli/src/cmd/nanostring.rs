use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum NanostringCmd {}

pub fn run(c: NanostringCmd) -> anyhow::Result<ExitCode> {
    match c {}
}
