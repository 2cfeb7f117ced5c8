use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum AuditCmd {}

pub fn run(c: AuditCmd) -> anyhow::Result<ExitCode> {
    match c {}
}

#[derive(clap::Args, Debug)]
pub struct BackupArgs {}
#[derive(clap::Args, Debug)]
pub struct RestoreArgs {}
#[derive(clap::Subcommand, Debug)]
pub enum ExportCmd {}

pub fn backup(_a: BackupArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
pub fn restore(_a: RestoreArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not built yet")
}
pub fn export(c: ExportCmd) -> anyhow::Result<ExitCode> {
    match c {}
}
