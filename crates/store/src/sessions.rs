//! Web login sessions, kept in the database so that a restart keeps users
//! logged in and any `rct serve` process on the database serves any user.
//!
//! The database keeps only the SHA-256 of a session token (hex), with its
//! user, the session's CSRF token, when it was made, when it was last used,
//! when it expires at the latest and how long it may stay idle; the token
//! itself lives in the browser's cookie. Someone who reads the table cannot
//! act as anyone. Sessions are not part of the trial record: backups and
//! exports leave them out, and a restored database has none (everyone logs
//! in again), like command-line login tokens ([`crate::tokens`]).
//!
//! An append that records a password change, a role revocation or a lock
//! of a user ends every session of that user in the same transaction
//! ([`ended_by`]), whichever edge (web or command line) wrote it.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use rct_record::{Event, Payload};

use crate::tokens::{secs, time};
use crate::StoreError;

/// One stored web session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    /// Lower-case hex SHA-256 of the session token (64 characters).
    pub sha256: String,
    /// The user it authenticates.
    pub user: String,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    /// When it was made.
    pub created: DateTime<Utc>,
    /// When it was last used (kept to the minute, see [`TOUCH_EVERY_SECS`]).
    pub last_seen: DateTime<Utc>,
    /// When it stops being accepted, however busy.
    pub expires: DateTime<Utc>,
    /// How long it may go unused, in seconds.
    pub idle_secs: i64,
}

/// A session's last use is written when it is at least this old, so a
/// busy session costs one write a minute, not one per request; the idle
/// timeout is thus exact to within this many seconds (ending early, never
/// late: [`WebSession::valid_at`] measures from the stored time).
pub const TOUCH_EVERY_SECS: i64 = 60;

impl WebSession {
    /// Whether the session is still good at `now`: before its expiry and
    /// used within its idle timeout (both bounds exclusive).
    pub fn valid_at(&self, now: DateTime<Utc>) -> bool {
        now < self.expires && now < self.last_seen + Duration::seconds(self.idle_secs)
    }

    /// Whether a use at `now` should be written back ([`TOUCH_EVERY_SECS`]).
    pub fn needs_touch(&self, now: DateTime<Utc>) -> bool {
        now - self.last_seen >= Duration::seconds(TOUCH_EVERY_SECS)
    }
}

/// The users whose sessions `events` end: those whose password changed,
/// whose role was revoked or whose account was locked.
pub fn ended_by(events: &[Event]) -> BTreeSet<String> {
    events
        .iter()
        .filter_map(|e| match &e.payload {
            Payload::PasswordChanged { user, .. }
            | Payload::RoleRevoked { user, .. }
            | Payload::UserLocked { user } => Some(user.clone()),
            _ => None,
        })
        .collect()
}

/// The error of a backend that keeps no sessions.
pub(crate) fn unsupported(backend: &str) -> StoreError {
    StoreError::Backend(format!(
        "the {backend} store keeps no web sessions; use a SQLite or PostgreSQL database"
    ))
}

/// The columns every query reads, in [`WebSession`]'s order after the hash.
const COLUMNS: &str = "user_name, csrf, created_at, last_seen_at, expires_at, idle_secs";

/// SQLite statements (run on the caller's connection or transaction).
pub(crate) mod sqlite {
    use super::*;
    use rusqlite::{params, Connection};

    /// Deletes expired and idle sessions at `now`, then keeps `s`.
    pub(crate) fn put(
        conn: &Connection,
        s: &WebSession,
        now: DateTime<Utc>,
    ) -> rusqlite::Result<()> {
        conn.execute(
            "DELETE FROM sessions WHERE expires_at <= ?1 OR last_seen_at + idle_secs <= ?1",
            [secs(now)],
        )?;
        conn.execute(
            &format!("INSERT INTO sessions (token_sha256, {COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
            params![
                s.sha256,
                s.user,
                s.csrf,
                secs(s.created),
                secs(s.last_seen),
                secs(s.expires),
                s.idle_secs
            ],
        )?;
        Ok(())
    }

    /// The session whose SHA-256 is `sha256`, as stored.
    pub(crate) fn get(conn: &Connection, sha256: &str) -> rusqlite::Result<Option<WebSession>> {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM sessions WHERE token_sha256 = ?1"
        ))?;
        let mut rows = stmt.query([sha256])?;
        let Some(r) = rows.next()? else {
            return Ok(None);
        };
        Ok(Some(WebSession {
            sha256: sha256.to_string(),
            user: r.get(0)?,
            csrf: r.get(1)?,
            created: time(r.get(2)?),
            last_seen: time(r.get(3)?),
            expires: time(r.get(4)?),
            idle_secs: r.get(5)?,
        }))
    }

    /// Records a use at `now`.
    pub(crate) fn touch(
        conn: &Connection,
        sha256: &str,
        now: DateTime<Utc>,
    ) -> rusqlite::Result<()> {
        conn.execute(
            "UPDATE sessions SET last_seen_at = ?2 WHERE token_sha256 = ?1 AND last_seen_at < ?2",
            params![sha256, secs(now)],
        )?;
        Ok(())
    }

    /// Deletes one session; whether there was one.
    pub(crate) fn delete(conn: &Connection, sha256: &str) -> rusqlite::Result<bool> {
        Ok(conn.execute("DELETE FROM sessions WHERE token_sha256 = ?1", [sha256])? > 0)
    }

    /// Deletes every session of `users`; how many there were.
    pub(crate) fn end_users<'a>(
        conn: &Connection,
        users: impl IntoIterator<Item = &'a String>,
    ) -> rusqlite::Result<usize> {
        let mut n = 0;
        for u in users {
            n += conn.execute("DELETE FROM sessions WHERE user_name = ?1", [u])?;
        }
        Ok(n)
    }
}

/// PostgreSQL statements (run on the caller's client or transaction).
pub(crate) mod pg {
    use super::*;
    use postgres::GenericClient;

    /// Deletes expired and idle sessions at `now`, then keeps `s`.
    pub(crate) fn put(
        client: &mut impl GenericClient,
        s: &WebSession,
        now: DateTime<Utc>,
    ) -> Result<(), postgres::Error> {
        client.execute(
            "DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at + idle_secs <= $1",
            &[&secs(now)],
        )?;
        client.execute(
            &format!("INSERT INTO sessions (token_sha256, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
            &[
                &s.sha256,
                &s.user,
                &s.csrf,
                &secs(s.created),
                &secs(s.last_seen),
                &secs(s.expires),
                &s.idle_secs,
            ],
        )?;
        Ok(())
    }

    /// The session whose SHA-256 is `sha256`, as stored.
    pub(crate) fn get(
        client: &mut impl GenericClient,
        sha256: &str,
    ) -> Result<Option<WebSession>, postgres::Error> {
        let row = client.query_opt(
            &format!("SELECT {COLUMNS} FROM sessions WHERE token_sha256 = $1"),
            &[&sha256],
        )?;
        Ok(row.map(|r| WebSession {
            sha256: sha256.to_string(),
            user: r.get(0),
            csrf: r.get(1),
            created: time(r.get(2)),
            last_seen: time(r.get(3)),
            expires: time(r.get(4)),
            idle_secs: r.get(5),
        }))
    }

    /// Records a use at `now`.
    pub(crate) fn touch(
        client: &mut impl GenericClient,
        sha256: &str,
        now: DateTime<Utc>,
    ) -> Result<(), postgres::Error> {
        client.execute(
            "UPDATE sessions SET last_seen_at = $2 WHERE token_sha256 = $1 AND last_seen_at < $2",
            &[&sha256, &secs(now)],
        )?;
        Ok(())
    }

    /// Deletes one session; whether there was one.
    pub(crate) fn delete(
        client: &mut impl GenericClient,
        sha256: &str,
    ) -> Result<bool, postgres::Error> {
        Ok(client.execute("DELETE FROM sessions WHERE token_sha256 = $1", &[&sha256])? > 0)
    }

    /// Deletes every session of `users`; how many there were.
    pub(crate) fn end_users(
        client: &mut impl GenericClient,
        users: &BTreeSet<String>,
    ) -> Result<usize, postgres::Error> {
        if users.is_empty() {
            return Ok(0);
        }
        let list: Vec<&str> = users.iter().map(String::as_str).collect();
        let n = client.execute(
            "DELETE FROM sessions WHERE user_name = ANY($1::TEXT[])",
            &[&list],
        )?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(last_seen_min: i64) -> WebSession {
        let t0: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        WebSession {
            sha256: "0".repeat(64),
            user: "ada".into(),
            csrf: "c".repeat(64),
            created: t0,
            last_seen: t0 + Duration::minutes(last_seen_min),
            expires: t0 + Duration::hours(12),
            idle_secs: 7200,
        }
    }

    #[test]
    fn idle_and_absolute_bounds_are_exclusive() {
        let t0 = session(0).created;
        let s = session(0);
        assert!(s.valid_at(t0 + Duration::seconds(7199)));
        assert!(!s.valid_at(t0 + Duration::seconds(7200)));
        // Used at 11 h, still idle-good at 11 h 59 min but past 12 h it ends.
        let busy = session(660);
        assert!(busy.valid_at(t0 + Duration::minutes(719)));
        assert!(!busy.valid_at(t0 + Duration::hours(12)));
    }

    #[test]
    fn touches_are_at_most_one_a_minute() {
        let s = session(0);
        assert!(!s.needs_touch(s.last_seen + Duration::seconds(59)));
        assert!(s.needs_touch(s.last_seen + Duration::seconds(60)));
    }
}
