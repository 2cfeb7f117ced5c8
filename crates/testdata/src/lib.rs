//! Test support shared by every crate's tests and benches: the folder of real
//! instrument files (`../shared/data` beside the repository, or the folder
//! named by `RCT_SHARED_DATA`).
//!
//! Tests call [`shared_data`] with a sub-folder; it returns `None` (and says
//! so on stderr) when the folder is absent on a developer's machine, so the
//! test returns early, and panics when the environment variable `CI` is set,
//! because CI must never skip a test on real files.

use std::path::PathBuf;

/// The shared data root: `$RCT_SHARED_DATA`, else `<repo>/../shared/data`.
pub fn shared_root() -> PathBuf {
    std::env::var_os("RCT_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"))
        })
}

/// The sub-folder `sub` of the shared data (`""` for the root), or `None`
/// when it is missing outside CI.
///
/// # Panics
/// When the folder is missing and the environment variable `CI` is set.
#[allow(clippy::panic)]
pub fn shared_data(sub: &str) -> Option<PathBuf> {
    let dir = shared_root().join(sub);
    if dir.is_dir() {
        Some(dir)
    } else if std::env::var_os("CI").is_some() {
        panic!(
            "the shared data folder {} is missing; CI must set RCT_SHARED_DATA to the folder of real instrument files",
            dir.display()
        );
    } else {
        eprintln!(
            "skipping: no shared data at {} (set RCT_SHARED_DATA)",
            dir.display()
        );
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_ends_in_shared_data_unless_overridden() {
        if std::env::var_os("RCT_SHARED_DATA").is_none() {
            assert!(shared_root().ends_with("shared/data"));
        }
    }
}
