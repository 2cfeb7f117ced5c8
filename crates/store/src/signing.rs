//! The signing key at the edge: the key file (created with OS randomness,
//! mode 0600, refused when others may read it), where it is by default, and
//! the [`CheckpointSigner`] a [`crate::Ledger`] signs its batches with.
//!
//! The key file is text: comment lines starting with `#`, and one line of
//! 64 hex digits, the 32-byte Ed25519 secret key (RFC 8032 "seed").

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rand::rngs::OsRng;
use rand::RngCore;
use rct_record::checkpoint::{fingerprint, public_key_hex};
use rct_record::ed25519_dalek::{SigningKey, VerifyingKey};
use rct_record::{Checkpoint, CheckpointError};

/// The environment variable naming the key file.
pub const KEY_ENV: &str = "RCT_SIGNING_KEY";
/// The key file's name beside a SQLite database, or in the working
/// directory for PostgreSQL.
pub const KEY_FILE: &str = "rct-signing.key";
/// Largest key file read (it holds one line of 64 hex digits and comments).
const MAX_KEY_FILE: u64 = 4096;

/// Why the key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing failed.
    #[error("signing key {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Group or others may read the file.
    #[error("signing key {path} may be read by group or others (mode {mode:04o}); a secret key must be readable by its owner only: run `chmod 600 {path}`")]
    Exposed {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file is not a key file.
    #[error("signing key {path}: {detail}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

/// Where the key of the database at `db_url` is kept by default: beside a
/// SQLite file (`rct-signing.key` in its directory), `./rct-signing.key`
/// for PostgreSQL, none for `memory:`.
pub fn default_key_path(db_url: &str) -> Option<PathBuf> {
    if db_url == "memory:" {
        return None;
    }
    if db_url.starts_with("postgres://") || db_url.starts_with("postgresql://") {
        return Some(PathBuf::from(KEY_FILE));
    }
    let path = match db_url.strip_prefix("sqlite:") {
        Some(rest) => rest.strip_prefix("//").unwrap_or(rest),
        None => db_url,
    };
    let dir = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty());
    Some(match dir {
        Some(d) => d.join(KEY_FILE),
        None => PathBuf::from(KEY_FILE),
    })
}

/// A new key from the operating system's random source.
pub fn generate_key() -> SigningKey {
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    let key = SigningKey::from_bytes(&seed);
    seed.fill(0);
    key
}

/// Reads the key at `path`, refusing a file group or others may read.
pub fn load_key(path: &Path) -> Result<SigningKey, KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let format = |detail: &str| KeyError::Format {
        path: path.to_path_buf(),
        detail: detail.into(),
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    check_private(path, &meta)?;
    if meta.len() > MAX_KEY_FILE {
        return Err(format(&format!(
            "{} bytes is too large for a key file (at most {MAX_KEY_FILE}); give the file written by `rct serve` or `rct audit checkpoint`",
            meta.len()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let [line] = lines.as_slice() else {
        return Err(format(
            "expected one line of 64 hex digits (the Ed25519 secret key) besides # comments",
        ));
    };
    let mut seed: [u8; 32] = hex::decode(line)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format("the key line is not 64 hex digits"))?;
    let key = SigningKey::from_bytes(&seed);
    seed.fill(0);
    Ok(key)
}

#[cfg(unix)]
fn check_private(path: &Path, meta: &std::fs::Metadata) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyError::Exposed {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _meta: &std::fs::Metadata) -> Result<(), KeyError> {
    Ok(())
}

/// The key at `path`, created (mode 0600, from OS randomness) when there
/// is no file; `true` when it was created. Two processes creating it at
/// once end up with the same key: the file is written under a temporary
/// name and linked into place only if nothing is there yet.
pub fn load_or_create_key(path: &Path) -> Result<(SigningKey, bool), KeyError> {
    if path.exists() {
        return Ok((load_key(path)?, false));
    }
    let io = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let key = generate_key();
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(KEY_FILE),
        std::process::id()
    ));
    let text = format!(
        "# rct Ed25519 checkpoint signing key (secret: keep it readable by its owner only)\n\
         # public key {}\n{}\n",
        public_key_hex(&key.verifying_key()),
        hex::encode(key.to_bytes())
    );
    write_private(&tmp, text.as_bytes()).map_err(io)?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok((key, true)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok((load_key(path)?, false)),
        Err(e) => Err(io(e)),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Signs checkpoints for a [`crate::Ledger`]: the key and the clock are the
/// edge's.
pub trait CheckpointSigner: Send + Sync {
    /// The public key checkpoints are signed with.
    fn public_key(&self) -> VerifyingKey;
    /// Signs the head `seq`/`hash` of `trial` now.
    fn sign(&self, trial: &str, seq: u64, hash: &str) -> Result<Checkpoint, CheckpointError>;
    /// Told (once per trial and ledger) why the ledger writes without
    /// signing: the events before its write are not covered by a checkpoint
    /// of this key, and signing would vouch for them.
    fn not_signed(&self, _trial: &str, _why: &str) {}
}

/// A clock for the signer (the edge's wall clock, or a fixed time in tests).
pub type SignClock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Where a signer says that a ledger writes without signing.
pub type Warn = Box<dyn Fn(&str) + Send + Sync>;

/// A [`CheckpointSigner`] holding a key.
pub struct KeySigner {
    key: SigningKey,
    clock: SignClock,
    warn: Option<Warn>,
}

impl std::fmt::Debug for KeySigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySigner")
            .field("key", &fingerprint(&self.key.verifying_key()))
            .finish()
    }
}

impl KeySigner {
    /// Signs with `key`, dating checkpoints by `clock`.
    pub fn new(key: SigningKey, clock: SignClock) -> Self {
        KeySigner {
            key,
            clock,
            warn: None,
        }
    }

    /// Where to say that a ledger writes without signing.
    pub fn with_warnings(mut self, warn: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.warn = Some(Box::new(warn));
        self
    }

    /// The key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }
}

impl CheckpointSigner for KeySigner {
    fn public_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    fn sign(&self, trial: &str, seq: u64, hash: &str) -> Result<Checkpoint, CheckpointError> {
        Checkpoint::sign(&self.key, trial, seq, hash, (self.clock)())
    }

    fn not_signed(&self, trial: &str, why: &str) {
        if let Some(warn) = &self.warn {
            warn(&format!("trial `{trial}`: {why}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_paths() {
        assert_eq!(
            default_key_path("sqlite:/var/rct/trial.sqlite"),
            Some(PathBuf::from("/var/rct/rct-signing.key"))
        );
        assert_eq!(
            default_key_path("trial.sqlite"),
            Some(PathBuf::from("rct-signing.key"))
        );
        assert_eq!(
            default_key_path("postgres://u@h/db"),
            Some(PathBuf::from("rct-signing.key"))
        );
        assert_eq!(default_key_path("memory:"), None);
    }

    #[cfg(unix)]
    #[test]
    fn created_key_is_private_and_reloads() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let (key, created) = load_or_create_key(&path).unwrap();
        assert!(created);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (again, created) = load_or_create_key(&path).unwrap();
        assert!(!created);
        assert_eq!(again.to_bytes(), key.to_bytes());
        // Readable by the group: refused, naming the fix.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = load_key(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        // Not a key file.
        let junk = dir.path().join("junk.key");
        write_private(&junk, b"hello\n").unwrap();
        assert!(matches!(load_key(&junk), Err(KeyError::Format { .. })));
    }

    #[test]
    fn two_keys_differ() {
        assert_ne!(generate_key().to_bytes(), generate_key().to_bytes());
    }
}
