//! `rct analyse --db URL --protocol FILE --out DIR`: the protocol's whole
//! analysis plan on the trial record (placeholder; the report helper builds it).

use std::path::Path;
use std::process::ExitCode;

/// Runs the analysis plan of `protocol` on the record in `db` and writes the
/// report into `out`.
#[allow(dead_code)] // analyse.rs calls it once `rct analyse` is built
pub fn run(_db: &str, _protocol: &Path, _out: &Path) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`rct analyse --db` is not built yet")
}
