//! Passwords (argon2id), sessions (random 256-bit tokens from the operating
//! system's generator, one CSRF token each, kept in the store by SHA-256) and the rules for names and
//! passwords (user names by the record's rule; at most
//! [`MAX_LOGIN_USER_BYTES`] and [`MAX_PASSWORD_BYTES`] bytes, checked before
//! any work). The accounts themselves are events of the trial record (see
//! `crate::accounts`); failed logins slow down, never lock (see
//! `crate::throttle`).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Duration, Utc};
use rand::rngs::OsRng;
use rand::RngCore;
use rct_record::sha256_hex;
use rct_store::{Store, StoreError, WebSession};

/// The longest user name a login accepts, in bytes (the record's rule,
/// [`rct_record::MAX_USER_NAME`]); checked before any lookup or hashing.
pub const MAX_LOGIN_USER_BYTES: usize = rct_record::MAX_USER_NAME;
/// The longest password accepted, in bytes; checked before any hashing.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Argon2id memory cost in KiB for production (OWASP's minimum, 19 MiB).
pub const ARGON_KIB: u32 = 19_456;
/// A session ends after this long without a request.
pub const IDLE_TIMEOUT_MINUTES: i64 = 120;
/// A session ends this long after login, however busy.
pub const SESSION_HOURS: i64 = 12;

/// Why an account operation failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// Wrong name or password (deliberately not saying which).
    #[error("wrong user name or password")]
    BadCredentials,
    /// The account was locked by an administrator.
    #[error("this account is locked; ask an administrator to unlock it")]
    Locked,
    /// Too many failed logins for this account or from this address.
    #[error(
        "too many failed logins for this account or from this address; try again in {0} seconds"
    )]
    Throttled(u64),
    /// A user name or password longer than any that can exist.
    #[error("{what} is longer than {max} bytes; nothing was checked")]
    TooLong {
        /// "the user name" or "the password".
        what: &'static str,
        /// The limit.
        max: usize,
    },
    /// The name is taken.
    #[error("user `{0}` exists already")]
    Exists(String),
    /// The name is not allowed (the record's rule).
    #[error("{0}")]
    BadName(String),
    /// The password is too short.
    #[error("passwords need at least 10 characters")]
    WeakPassword,
    /// No such user.
    #[error("no user `{0}`")]
    NoUser(String),
    /// Hashing failed, or the record refused.
    #[error("{0}")]
    Internal(String),
}

/// What a login attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// Logged in.
    Ok,
    /// Wrong name or password.
    Failed,
    /// The account is locked (by an administrator).
    Locked,
    /// Refused before any check: a delay after failed logins still runs
    /// for this account or this client; whole seconds to wait.
    Throttled(u64),
}

/// Refuses a login's user name or password longer than any that can exist,
/// before any lookup or hashing.
pub fn check_login_lengths(user: &str, password: &str) -> Result<(), AuthError> {
    if user.len() > MAX_LOGIN_USER_BYTES {
        return Err(AuthError::TooLong {
            what: "the user name",
            max: MAX_LOGIN_USER_BYTES,
        });
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AuthError::TooLong {
            what: "the password",
            max: MAX_PASSWORD_BYTES,
        });
    }
    Ok(())
}

fn argon(cost_kib: u32) -> Argon2<'static> {
    let params = Params::new(cost_kib, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Random bytes from the operating system as lower-case hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Hashes and verifies passwords with argon2id.
pub struct Passwords {
    argon: Argon2<'static>,
}

/// Checks a new user name by the record's one rule
/// ([`rct_record::check_user_name`]: 1 to 64 letters, digits, `.`, `_`,
/// `-`, `@`).
pub fn check_user_name(name: &str) -> Result<(), AuthError> {
    rct_record::check_user_name(name).map_err(|e| AuthError::BadName(e.to_string()))
}

/// Checks a new password: at least 10 characters, at most
/// [`MAX_PASSWORD_BYTES`] bytes.
pub fn check_password(password: &str) -> Result<(), AuthError> {
    if password.len() > MAX_PASSWORD_BYTES {
        Err(AuthError::TooLong {
            what: "the password",
            max: MAX_PASSWORD_BYTES,
        })
    } else if password.chars().count() < 10 {
        Err(AuthError::WeakPassword)
    } else {
        Ok(())
    }
}

impl Passwords {
    /// Argon2id with `cost_kib` KiB of memory ([`ARGON_KIB`] in production;
    /// tests pass less to stay fast), 2 iterations, 1 lane.
    pub fn new(cost_kib: u32) -> Passwords {
        Passwords {
            argon: argon(cost_kib),
        }
    }

    /// Hashes a password with a fresh random salt (a PHC string).
    pub fn hash(&self, password: &str) -> Result<String, AuthError> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AuthError::Internal(format!("hashing: {e}")))
    }

    /// Whether `password` matches the PHC string `hash` (verified with the
    /// parameters stored in the hash).
    pub fn verify(&self, hash: &str, password: &str) -> bool {
        PasswordHash::new(hash)
            .map(|parsed| {
                self.argon
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    }
}

/// A logged-in session.
#[derive(Debug, Clone)]
pub struct Session {
    /// User name.
    pub user: String,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    /// Last request (as stored: written back at most once a minute).
    pub seen: DateTime<Utc>,
}

/// The session rules: how long a session may stay idle and how long it
/// lives at most. The sessions themselves are kept by the store
/// ([`rct_store::sessions`]: only each token's SHA-256, with its user, CSRF
/// token and times), so a restart keeps users logged in and every process
/// on the database serves every user.
#[derive(Debug, Clone, Copy)]
pub struct Sessions {
    /// A session ends after this long without a request.
    pub idle: Duration,
    /// A session ends this long after login, however busy.
    pub lifetime: Duration,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            idle: Duration::minutes(IDLE_TIMEOUT_MINUTES),
            lifetime: Duration::hours(SESSION_HOURS),
        }
    }
}

impl Sessions {
    /// Starts a session for `user` (and purges every ended one); returns
    /// its token, which only the cookie holds.
    pub fn start(
        &self,
        store: &dyn Store,
        user: &str,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let token = random_token();
        store.put_session(
            &WebSession {
                sha256: sha256_hex(token.as_bytes()),
                user: user.to_string(),
                csrf: random_token(),
                created: now,
                last_seen: now,
                expires: now + self.lifetime,
                idle_secs: self.idle.num_seconds(),
            },
            now,
        )?;
        Ok(token)
    }

    /// The live session of `token`, recording the use (at most once a
    /// minute, [`rct_store::sessions::TOUCH_EVERY_SECS`]); an ended one is
    /// deleted. A token that is not 64 hex digits is not looked up.
    pub fn get(
        &self,
        store: &dyn Store,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError> {
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let sha = sha256_hex(token.as_bytes());
        let Some(s) = store.session(&sha)? else {
            return Ok(None);
        };
        if !s.valid_at(now) {
            store.delete_session(&sha)?;
            return Ok(None);
        }
        if s.needs_touch(now) {
            store.touch_session(&sha, now)?;
        }
        Ok(Some(Session {
            user: s.user,
            csrf: s.csrf,
            seen: s.last_seen,
        }))
    }

    /// Ends a session (logout); whether there was one.
    pub fn end(&self, store: &dyn Store, token: &str) -> Result<bool, StoreError> {
        store.delete_session(&sha256_hex(token.as_bytes()))
    }

    /// Ends every session of `user`; how many there were. (Appending a
    /// password change, role revocation or lock does this by itself.)
    pub fn end_user(&self, store: &dyn Store, user: &str) -> Result<usize, StoreError> {
        store.end_sessions(user)
    }
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let p = Passwords::new(64);
        let h1 = p.hash("correct horse").unwrap();
        let h2 = p.hash("correct horse").unwrap();
        assert!(h1.starts_with("$argon2id$v=19$m=64,t=2,p=1$"), "{h1}");
        assert_ne!(h1, h2, "each hash has its own salt");
        assert!(p.verify(&h1, "correct horse"));
        assert!(!p.verify(&h1, "correct horsf"));
        assert!(!p.verify("not a phc string", "correct horse"));
    }

    #[test]
    fn production_cost_is_owasp_minimum() {
        let h = Passwords::new(ARGON_KIB).hash("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        // A hash made with other parameters still verifies (they are in the PHC string).
        assert!(Passwords::new(64).verify(&h, "correct horse"));
    }

    #[test]
    fn names_and_passwords_are_checked() {
        assert!(check_user_name("ann.smith-2").is_ok());
        assert!(check_user_name("").is_err());
        assert!(check_user_name("a b").is_err());
        assert!(check_user_name("<script>").is_err());
        assert!(check_user_name("ann@example.org").is_ok());
        assert!(check_user_name(&"a".repeat(65)).is_err());
        assert!(check_password("short").is_err());
        assert!(check_password("long enough").is_ok());
        assert!(check_password(&"p".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
    }

    #[test]
    fn login_lengths_are_bounded() {
        assert!(check_login_lengths(&"u".repeat(64), &"p".repeat(1024)).is_ok());
        assert_eq!(
            check_login_lengths(&"u".repeat(65), "x")
                .unwrap_err()
                .to_string(),
            "the user name is longer than 64 bytes; nothing was checked"
        );
        assert_eq!(
            check_login_lengths("u", &"p".repeat(1025))
                .unwrap_err()
                .to_string(),
            "the password is longer than 1024 bytes; nothing was checked"
        );
    }

    #[test]
    fn tokens_are_256_bit_and_distinct() {
        let a = random_token();
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, random_token());
    }

    #[test]
    fn sessions_expire_when_idle_or_old_and_end() {
        let store = rct_store::MemStore::new();
        let s = Sessions::default();
        let t0: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        let tok = s.start(&store, "ann", t0).unwrap();
        // Only the token's SHA-256 is stored.
        assert!(store.session(&tok).unwrap().is_none());
        let stored = store.session(&sha256_hex(tok.as_bytes())).unwrap().unwrap();
        assert_eq!(stored.expires, t0 + Duration::hours(SESSION_HOURS));
        let got = s
            .get(&store, &tok, t0 + Duration::minutes(10))
            .unwrap()
            .unwrap();
        assert_eq!(got.user, "ann");
        assert_eq!(got.csrf.len(), 64);
        assert_eq!(
            got.seen, t0,
            "the first use is written back from a minute on"
        );
        // Used at 10 min (written back), so idle from then on.
        let idle_end = t0 + Duration::minutes(10 + IDLE_TIMEOUT_MINUTES);
        assert!(s
            .get(&store, &tok, idle_end - Duration::seconds(1))
            .unwrap()
            .is_some());
        // Kept busy, it still ends after SESSION_HOURS.
        let mut t = t0;
        while t < t0 + Duration::hours(SESSION_HOURS) - Duration::minutes(30) {
            t += Duration::minutes(30);
            assert!(s.get(&store, &tok, t).unwrap().is_some(), "{t}");
        }
        assert!(s
            .get(&store, &tok, t0 + Duration::hours(SESSION_HOURS))
            .unwrap()
            .is_none());
        let tok2 = s.start(&store, "ann", t0).unwrap();
        assert!(s
            .get(&store, &tok2, t0 + Duration::minutes(IDLE_TIMEOUT_MINUTES))
            .unwrap()
            .is_none());
        let tok3 = s.start(&store, "ann", t0).unwrap();
        assert!(s.end(&store, &tok3).unwrap());
        assert!(s.get(&store, &tok3, t0).unwrap().is_none());
        assert!(s.get(&store, "not a token", t0).unwrap().is_none());
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
