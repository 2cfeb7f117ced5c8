//! `rct export events|odm|csv`: the trial record leaves the system. Each
//! format lives in its own module.

use std::process::ExitCode;

use super::{export_csv, export_events, export_odm};

/// Export formats.
#[derive(clap::Subcommand, Debug)]
pub enum ExportCmd {
    /// Every event as JSON lines, re-importable into an identical chain.
    Events(export_events::ExportEventsArgs),
    /// CDISC ODM 1.3.2 XML.
    Odm(export_odm::ExportOdmArgs),
    /// Analysis-ready CSV tables with a data dictionary.
    Csv(export_csv::ExportCsvArgs),
}

/// Runs an export.
pub fn run(cmd: ExportCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        ExportCmd::Events(a) => export_events::run(a),
        ExportCmd::Odm(a) => export_odm::run(a),
        ExportCmd::Csv(a) => export_csv::run(a),
    }
}
