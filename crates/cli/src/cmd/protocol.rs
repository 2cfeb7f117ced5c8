use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum ProtocolCmd {}

pub fn run(c: ProtocolCmd) -> anyhow::Result<ExitCode> {
    match c {}
}

