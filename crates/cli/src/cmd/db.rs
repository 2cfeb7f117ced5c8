//! `--db URL`: which trial database a command works on, shared by every
//! command that reads or writes the trial record.
//!
//! The URL is `postgres://USER@HOST:PORT/DB` (or `postgresql://`),
//! `sqlite:PATH`, a plain file path (SQLite) or `memory:`. Without `--db`
//! the environment variable `RCT_DB` is used, else `rct.sqlite` in the
//! current directory.

use std::path::Path;

use anyhow::Context;
use rct_store::{Ledger, Store};

/// The environment variable naming the default database.
pub const DB_ENV: &str = "RCT_DB";
/// The database used when neither `--db` nor `RCT_DB` is given.
pub const DEFAULT_DB: &str = "rct.sqlite";

/// The `--db` option.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct DbArgs {
    /// Trial database: postgres://USER@HOST:PORT/DB, sqlite:PATH or a file
    /// path [default: $RCT_DB, else rct.sqlite]
    #[arg(long = "db", value_name = "URL")]
    pub db: Option<String>,
}

impl DbArgs {
    /// The URL to use: `--db`, else `$RCT_DB`, else `rct.sqlite`.
    pub fn url(&self) -> String {
        resolve(self.db.as_deref())
    }
}

/// `--db` if given, else `$RCT_DB`, else `rct.sqlite`.
pub fn resolve(db: Option<&str>) -> String {
    match db {
        Some(url) => url.to_string(),
        None => std::env::var(DB_ENV)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_DB.to_string()),
    }
}

/// The SQLite file a URL names, if it names one.
pub fn sqlite_path(url: &str) -> Option<&str> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") || url == "memory:" {
        return None;
    }
    match url.strip_prefix("sqlite:") {
        Some(rest) => Some(rest.strip_prefix("//").unwrap_or(rest)),
        None if !url.contains("://") => Some(url),
        None => None,
    }
}

/// Opens the store at `url`, creating an empty SQLite file if needed.
pub fn open_store(url: &str) -> anyhow::Result<Box<dyn Store>> {
    rct_store::open(url).with_context(|| format!("opening the trial database `{url}`"))
}

/// Opens the store at `url` for reading: a SQLite file must already exist
/// (a mistyped path is an error, not a new empty database).
pub fn open_existing(url: &str) -> anyhow::Result<Box<dyn Store>> {
    if let Some(path) = sqlite_path(url) {
        if !Path::new(path).exists() {
            anyhow::bail!(
                "no trial database at `{path}`; give --db URL (or set {DB_ENV}) to name an existing one"
            );
        }
    }
    open_store(url)
}

/// The command loop over the existing database at `url`, signing a
/// checkpoint of each write when the key file `key` names (or its default
/// place beside the database) exists: every command-line writer goes
/// through here, so no write leaves the chain's tail unsigned.
pub fn open_writer(
    url: &str,
    key: &super::signing::KeyArgs,
) -> anyhow::Result<Ledger<Box<dyn Store>>> {
    let mut ledger = Ledger::new(open_existing(url)?);
    super::signing::attach(&mut ledger, key.path(url).as_deref(), false)?;
    Ok(ledger)
}

/// The trials to work on: `only` (which must exist) or every trial.
pub fn trials(store: &dyn Store, only: Option<&str>) -> anyhow::Result<Vec<String>> {
    let all = store.trials()?;
    match only {
        Some(t) if all.iter().any(|x| x == t) => Ok(vec![t.to_string()]),
        Some(t) => anyhow::bail!(
            "trial `{t}` is not in the database (it holds: {})",
            if all.is_empty() {
                "no trials".to_string()
            } else {
                all.join(", ")
            }
        ),
        None => Ok(all),
    }
}
