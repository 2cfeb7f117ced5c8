use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum IfnCmd {}

pub fn run(c: IfnCmd) -> anyhow::Result<ExitCode> {
    match c {}
}
