//! `--key FILE`: the checkpoint signing key shared by `rct serve`, `rct audit
//! checkpoint|verify` and the writing `rct trial` commands.
//!
//! The key file is `--key`, else `$RCT_SIGNING_KEY`, else `rct-signing.key`
//! beside a SQLite database (in the working directory for PostgreSQL).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use rct_record::checkpoint::{fingerprint, public_key_hex};
use rct_record::ed25519_dalek::SigningKey;
use rct_store::signing::{self, default_key_path, KEY_ENV};
use rct_store::{KeySigner, Ledger, Store};

/// The `--key` option.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct KeyArgs {
    /// Ed25519 checkpoint signing key file (mode 0600) [default:
    /// $RCT_SIGNING_KEY, else rct-signing.key beside the SQLite database,
    /// ./rct-signing.key for PostgreSQL]
    #[arg(long = "key", value_name = "FILE")]
    pub key: Option<PathBuf>,
}

impl KeyArgs {
    /// The key file for the database at `db_url`, if one is named or has a
    /// default place (`memory:` has none).
    pub fn path(&self, db_url: &str) -> Option<PathBuf> {
        self.key
            .clone()
            .or_else(|| {
                std::env::var_os(KEY_ENV)
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .or_else(|| default_key_path(db_url))
    }
}

/// The key at `path`, created if missing (saying so, with its public half,
/// on standard error).
pub fn load_or_create(path: &Path) -> anyhow::Result<SigningKey> {
    let (key, created) = signing::load_or_create_key(path)?;
    if created {
        eprintln!(
            "created signing key {} (mode 0600); public key {} (fingerprint {})",
            path.display(),
            public_key_hex(&key.verifying_key()),
            fingerprint(&key.verifying_key())
        );
    }
    Ok(key)
}

/// The key at `path` if there is a file.
pub fn load_if_present(path: &Path) -> anyhow::Result<Option<SigningKey>> {
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(signing::load_key(path).with_context(|| {
        format!(
            "the signing key {} cannot be used; fix it, or name another with --key",
            path.display()
        )
    })?))
}

/// A signer with the wall clock that warns on standard error.
#[allow(clippy::disallowed_methods)]
pub fn signer(key: SigningKey) -> Arc<KeySigner> {
    Arc::new(
        KeySigner::new(key, Arc::new(chrono::Utc::now))
            .with_warnings(|m| eprintln!("warning: not signing a checkpoint: {m}")),
    )
}

/// Lets `ledger` sign a checkpoint of each batch (the writing `rct trial`
/// commands): with the key at `path`, created first when `create`.
pub fn attach(
    ledger: &mut Ledger<Box<dyn Store>>,
    path: Option<&Path>,
    create: bool,
) -> anyhow::Result<()> {
    let Some(path) = path else { return Ok(()) };
    let key = if create {
        Some(load_or_create(path)?)
    } else {
        load_if_present(path)?
    };
    if let Some(key) = key {
        ledger.set_signer(signer(key), 1);
    }
    Ok(())
}
