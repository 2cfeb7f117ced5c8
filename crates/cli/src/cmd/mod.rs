//! One module per subcommand family. Each owns its clap arguments and a
//! `run` function returning the process exit code.

pub mod analyse;
pub mod analyse_glm;
pub mod analyse_mmrm;
pub mod analyse_plan;
pub mod audit;
pub mod audit_checkpoint;
pub mod audit_migrate;
pub mod audit_scan;
pub mod backup;
pub mod cpet;
pub mod ctgov;
pub mod db;
pub mod export;
pub mod export_csv;
pub mod export_events;
pub mod export_odm;
pub mod governance;
pub mod hr;
pub mod identity;
pub mod ifn;
pub mod import;
pub mod input;
pub mod login;
pub mod nanostring;
pub mod protocol;
pub mod randomise;
pub(crate) mod registered;
pub mod score;
pub mod screen;
pub mod serve;
pub mod signing;
pub mod simulate;
pub mod trial;
pub mod unlock_user;

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
