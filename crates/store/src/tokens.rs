//! Login tokens of the command line (`rct login`): short-lived bearer
//! tokens that let later commands act as the user who typed the password.
//!
//! The database keeps only the SHA-256 of a token (hex), with its user, when
//! it was made and when it expires; the token itself lives in the user's
//! token file. Someone who reads the table cannot act as anyone. Tokens are
//! not part of the trial record: backups and exports leave them out, and a
//! restored database has none (everyone logs in again).

use chrono::{DateTime, Utc};

/// One stored login token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginToken {
    /// Lower-case hex SHA-256 of the token (64 characters).
    pub sha256: String,
    /// The user it authenticates.
    pub user: String,
    /// When it was made.
    pub created: DateTime<Utc>,
    /// When it stops being accepted.
    pub expires: DateTime<Utc>,
}

impl LoginToken {
    /// Whether the token is still good at `now`.
    pub fn valid_at(&self, now: DateTime<Utc>) -> bool {
        now < self.expires
    }
}

/// Seconds since 1970 for a database column (both backends store integers,
/// so expiry compares the same everywhere).
pub(crate) fn secs(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

/// A column's seconds back to a time (a value out of range reads as 1970,
/// which has long expired: fail closed).
pub(crate) fn time(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// The error of a backend that keeps no tokens.
pub(crate) fn unsupported(backend: &str) -> crate::StoreError {
    crate::StoreError::Backend(format!(
        "the {backend} store keeps no login tokens; use a SQLite or PostgreSQL database"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_exclusive_and_bad_times_fail_closed() {
        let t0: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        let tok = LoginToken {
            sha256: "0".repeat(64),
            user: "ada".into(),
            created: t0,
            expires: t0 + chrono::Duration::hours(12),
        };
        assert!(tok.valid_at(t0 + chrono::Duration::hours(11)));
        assert!(!tok.valid_at(t0 + chrono::Duration::hours(12)));
        assert_eq!(time(secs(t0)), t0);
        assert_eq!(time(i64::MAX), DateTime::<Utc>::default());
    }
}
