//! Versioned schema migrations, shared by the SQLite and PostgreSQL backends.
//!
//! Each database holds a `schema_migrations(version, name, applied_at)` table.
//! On open, a backend applies every migration newer than the highest recorded
//! version, each in the transaction that records it, while holding the
//! database's write lock (SQLite `BEGIN IMMEDIATE`, PostgreSQL an advisory
//! lock), so several processes opening one database at once apply each step
//! exactly once. A database whose version is newer than the binary's is
//! refused: an older `rct` must not write to a schema it does not know.

use crate::StoreError;

/// One schema step.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Version reached after this step (1, 2, ...).
    pub version: i64,
    /// What it does, recorded in `schema_migrations.name`.
    pub name: &'static str,
    /// SQL for SQLite (may hold several statements).
    pub sqlite: &'static str,
    /// SQL for PostgreSQL (may hold several statements).
    pub postgres: &'static str,
}

/// Every migration this binary knows, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "events: append-only log per trial",
        sqlite: "CREATE TABLE events (
        trial TEXT NOT NULL,
        seq INTEGER NOT NULL,
        body TEXT NOT NULL,
        hash TEXT NOT NULL,
        PRIMARY KEY (trial, seq)
    ) WITHOUT ROWID;",
        postgres: "CREATE TABLE events (
        trial TEXT NOT NULL,
        seq BIGINT NOT NULL,
        body TEXT NOT NULL,
        hash TEXT NOT NULL,
        CONSTRAINT events_trial_seq UNIQUE (trial, seq)
    );",
    },
    Migration {
        version: 2,
        name: "checkpoints: signed heads per trial",
        sqlite: "CREATE TABLE checkpoints (
        trial TEXT NOT NULL,
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL,
        at TEXT NOT NULL,
        public_key TEXT NOT NULL,
        signature TEXT NOT NULL,
        PRIMARY KEY (trial, seq, public_key)
    ) WITHOUT ROWID;",
        postgres: "CREATE TABLE checkpoints (
        trial TEXT NOT NULL,
        seq BIGINT NOT NULL,
        hash TEXT NOT NULL,
        at TEXT NOT NULL,
        public_key TEXT NOT NULL,
        signature TEXT NOT NULL,
        CONSTRAINT checkpoints_trial_seq_key UNIQUE (trial, seq, public_key)
    );",
    },
    Migration {
        version: 3,
        name: "security_log: failed logins with unknown user names, outside every trial's record",
        sqlite: crate::security::SQLITE_TABLE,
        postgres: crate::security::POSTGRES_TABLE,
    },
    Migration {
        version: 4,
        name: "login_tokens: SHA-256 of each command-line login token, its user and expiry",
        sqlite: "CREATE TABLE login_tokens (
        token_sha256 TEXT PRIMARY KEY,
        user_name TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    );
    CREATE INDEX login_tokens_expiry ON login_tokens (expires_at);",
        postgres: "CREATE TABLE login_tokens (
        token_sha256 TEXT PRIMARY KEY,
        user_name TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    );
    CREATE INDEX login_tokens_expiry ON login_tokens (expires_at);",
    },
    Migration {
        version: 5,
        name: "events: openings of sealed values beside the hashed body (chain format 2)",
        sqlite: "ALTER TABLE events ADD COLUMN openings TEXT;",
        postgres: "ALTER TABLE events ADD COLUMN openings TEXT;",
    },
    Migration {
        version: 6,
        name: "snapshots: folded states of a trial, by the event they end at",
        sqlite: "CREATE TABLE snapshots (
        trial TEXT NOT NULL,
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL,
        digest TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (trial, seq)
    ) WITHOUT ROWID;",
        postgres: "CREATE TABLE snapshots (
        trial TEXT NOT NULL,
        seq BIGINT NOT NULL,
        hash TEXT NOT NULL,
        digest TEXT NOT NULL,
        body TEXT NOT NULL,
        CONSTRAINT snapshots_trial_seq UNIQUE (trial, seq)
    );",
    },
    Migration {
        version: 7,
        name: "sessions: SHA-256 of each web session token, its user, CSRF token, times and idle timeout",
        sqlite: "CREATE TABLE sessions (
        token_sha256 TEXT PRIMARY KEY,
        user_name TEXT NOT NULL,
        csrf TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        idle_secs INTEGER NOT NULL
    );
    CREATE INDEX sessions_user ON sessions (user_name);",
        postgres: "CREATE TABLE sessions (
        token_sha256 TEXT PRIMARY KEY,
        user_name TEXT NOT NULL,
        csrf TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        last_seen_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        idle_secs BIGINT NOT NULL
    );
    CREATE INDEX sessions_user ON sessions (user_name);",
    },
];

/// The schema version this binary writes.
pub fn latest(migrations: &[Migration]) -> i64 {
    migrations.last().map_or(0, |m| m.version)
}

/// The error for a database newer than the binary.
pub(crate) fn too_new(found: i64, supported: i64, what: &str) -> StoreError {
    StoreError::Schema(format!(
        "{what} has schema version {found}, but this rct supports versions up to {supported}; \
         upgrade rct to open it (the database was not changed)"
    ))
}

/// Checks that `migrations` are numbered 1, 2, 3... (a programming error otherwise).
pub(crate) fn check_numbering(migrations: &[Migration]) -> Result<(), StoreError> {
    for (i, m) in migrations.iter().enumerate() {
        if m.version != i as i64 + 1 {
            return Err(StoreError::Schema(format!(
                "migration `{}` is numbered {} but is step {}",
                m.name,
                m.version,
                i + 1
            )));
        }
    }
    Ok(())
}
