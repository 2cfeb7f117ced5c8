//! The security log: one table per database (migration 4,
//! `security_log`) for what belongs to no trial, such as failed logins with
//! user names that have no account. Writing these into every trial's record
//! would let anyone without credentials grow every audit trail; here they
//! are rows of bounded size (the name tried is cut to
//! [`SECURITY_USER_BYTES`] bytes, the client address and the kind of entry
//! are short), written through [`crate::Store::log_security`].

use chrono::{DateTime, SecondsFormat, Utc};

use crate::StoreError;

/// The longest user name kept in an entry, in bytes.
pub const SECURITY_USER_BYTES: usize = 64;
/// The longest client address kept, in bytes (an IPv6 address with a
/// port and a zone fits).
pub const SECURITY_CLIENT_BYTES: usize = 64;
/// The longest kind of entry kept, in bytes.
pub const SECURITY_WHAT_BYTES: usize = 64;
/// Entries the in-memory store keeps (the oldest go first).
pub const MEMORY_SECURITY_ENTRIES: usize = 100_000;

/// One entry of the security log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SecurityEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// The client's address as the server saw it (behind a reverse proxy,
    /// the proxy's), or `unknown`.
    pub client: String,
    /// The user name tried, cut to [`SECURITY_USER_BYTES`] bytes.
    pub user: String,
    /// What happened, e.g. `login_failed_unknown_user`.
    pub what: String,
}

/// `text` cut to at most `max` bytes at a character boundary.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

impl SecurityEntry {
    /// An entry with every text cut to its bound.
    pub fn new(at: DateTime<Utc>, client: &str, user: &str, what: &str) -> SecurityEntry {
        SecurityEntry {
            at,
            client: truncate(client, SECURITY_CLIENT_BYTES),
            user: truncate(user, SECURITY_USER_BYTES),
            what: truncate(what, SECURITY_WHAT_BYTES),
        }
    }

    /// The same entry with its texts cut to their bounds (what the stores write).
    pub fn bounded(&self) -> SecurityEntry {
        SecurityEntry::new(self.at, &self.client, &self.user, &self.what)
    }

    pub(crate) fn at_text(&self) -> String {
        self.at.to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    pub(crate) fn from_row(
        at: &str,
        client: String,
        user: String,
        what: String,
    ) -> Result<SecurityEntry, StoreError> {
        let at = DateTime::parse_from_rfc3339(at)
            .map_err(|e| StoreError::Backend(format!("security log: bad time `{at}`: {e}")))?
            .with_timezone(&Utc);
        Ok(SecurityEntry {
            at,
            client,
            user,
            what,
        })
    }
}

/// The SQL of the `security_log` migration for SQLite.
pub(crate) const SQLITE_TABLE: &str = "CREATE TABLE security_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    client TEXT NOT NULL,
    user_name TEXT NOT NULL,
    what TEXT NOT NULL
);";

/// The SQL of the `security_log` migration for PostgreSQL.
pub(crate) const POSTGRES_TABLE: &str = "CREATE TABLE security_log (
    id BIGSERIAL PRIMARY KEY,
    at TEXT NOT NULL,
    client TEXT NOT NULL,
    user_name TEXT NOT NULL,
    what TEXT NOT NULL
);";

/// Inserts one entry (SQLite).
pub(crate) const SQLITE_INSERT: &str =
    "INSERT INTO security_log (at, client, user_name, what) VALUES (?1, ?2, ?3, ?4)";
/// The newest `limit` entries, oldest first (SQLite).
pub(crate) const SQLITE_SELECT: &str = "SELECT at, client, user_name, what FROM \
    (SELECT id, at, client, user_name, what FROM security_log ORDER BY id DESC LIMIT ?1) \
    ORDER BY id";
/// Inserts one entry (PostgreSQL).
pub(crate) const POSTGRES_INSERT: &str =
    "INSERT INTO security_log (at, client, user_name, what) VALUES ($1, $2, $3, $4)";
/// The newest `limit` entries, oldest first (PostgreSQL).
pub(crate) const POSTGRES_SELECT: &str = "SELECT at, client, user_name, what FROM \
    (SELECT id, at, client, user_name, what FROM security_log ORDER BY id DESC LIMIT $1) AS t \
    ORDER BY id";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_cut_to_their_bounds_at_character_boundaries() {
        let at: DateTime<Utc> = "2026-03-01T10:00:00Z".parse().unwrap();
        let e = SecurityEntry::new(at, "10.0.0.1", &"é".repeat(100), &"w".repeat(100));
        assert_eq!(e.user, "é".repeat(32));
        assert_eq!(e.what.len(), SECURITY_WHAT_BYTES);
        assert_eq!(truncate("abc", 2), "ab");
        assert_eq!(truncate("aé", 2), "a");
        let back = SecurityEntry::from_row(
            &e.at_text(),
            e.client.clone(),
            e.user.clone(),
            e.what.clone(),
        )
        .unwrap();
        assert_eq!(back, e);
    }
}
