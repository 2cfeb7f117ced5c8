//! One module per subcommand family. Each owns its clap arguments and a
//! `run` function returning the process exit code.

pub mod cpet;
pub mod hr;
pub mod protocol;
pub mod randomise;
pub mod score;
pub mod screen;

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
