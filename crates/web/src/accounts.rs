//! Accounts kept as events of the trial record (`user_created`,
//! `password_changed`, `user_locked`, ...), so that they are durable, shared
//! by every server process on the same database, and audited.
//!
//! An account exists in each trial it was created in (with the same hash).
//! Logging in is refused unless the password matches in every trial that
//! holds the account and no trial has it locked (fail safe: a password
//! changed in one trial only does not leave the old one valid in another).
//! Login, logout and failures are written to every trial holding the
//! account; failures with a name that has no account go to the store's
//! security log only (`rct_store::Store::log_security`), so that nobody
//! without credentials can grow a trial's record. Failures slow the name
//! and the client down (`crate::throttle`); they never lock an account.

use std::net::SocketAddr;

use chrono::{DateTime, Utc};
use rct_record::{Actor, Command, Role, TrialState};
use rct_store::SecurityEntry;

use crate::auth::{check_login_lengths, LoginOutcome, Passwords};
use crate::commands::{execute, Who};
use crate::throttle::{client_text, retry_after_seconds, Key};
use crate::{App, WebError};

/// An account as found across the trials.
#[derive(Debug, Clone)]
pub struct Found {
    /// Trials holding it.
    pub trials: Vec<String>,
    /// Distinct password hashes (normally one).
    pub hashes: Vec<String>,
    /// Locked in some trial.
    pub locked: bool,
}

/// Looks `user` up in every trial.
pub fn find(app: &App, user: &str) -> Result<Option<Found>, WebError> {
    let mut states = Vec::new();
    for trial in app.trial_ids()? {
        let state = app.ledger.state(&trial)?;
        states.push((trial, state));
    }
    Ok(find_in(states, user))
}

/// Looks `user` up in `states` (trial id and state): the web passes the
/// trials it serves, `rct login` every trial in the database.
pub fn find_in(
    states: impl IntoIterator<Item = (String, std::sync::Arc<TrialState>)>,
    user: &str,
) -> Option<Found> {
    let mut found: Option<Found> = None;
    for (trial, state) in states {
        if let Some(acc) = state.users.get(user) {
            let f = found.get_or_insert_with(|| Found {
                trials: Vec::new(),
                hashes: Vec::new(),
                locked: false,
            });
            f.trials.push(trial.clone());
            if !f.hashes.contains(&acc.password_hash) {
                f.hashes.push(acc.password_hash.clone());
            }
            f.locked |= acc.locked;
        }
    }
    found
}

fn system(at: DateTime<Utc>) -> Who {
    Who {
        actor: Actor::new("system", Role::System, None).running(crate::SOFTWARE),
        at,
        reason: None,
    }
}

/// Whether `password` is the password of `user` (every hash matches).
pub fn verify(app: &App, found: &Found, password: &str) -> bool {
    found.verify(&app.passwords, password)
}

impl Found {
    /// Whether `password` matches every hash of the account (fail safe: an
    /// account without a hash matches nothing).
    pub fn verify(&self, passwords: &Passwords, password: &str) -> bool {
        !self.hashes.is_empty() && self.hashes.iter().all(|h| passwords.verify(h, password))
    }
}

/// What the security log calls a failed login with a name that has no account.
pub const UNKNOWN_USER_FAILURE: &str = "login_failed_unknown_user";

/// Checks a login from `client` and writes what it came to. Before any
/// lookup or hashing: the lengths ([`crate::auth::check_login_lengths`],
/// an error) and the throttle ([`crate::throttle`]: refused while a delay
/// runs for the name or the client). Then a name without an account is
/// written to the store's security log (never into a trial's record), a
/// failure for an account as `login_failed` in each trial holding it, a
/// success as `logged_in`. Failures never lock an account.
pub fn login(
    app: &App,
    user: &str,
    password: &str,
    client: Option<SocketAddr>,
) -> Result<LoginOutcome, WebError> {
    check_login_lengths(user, password).map_err(|e| WebError::BadRequest(e.to_string()))?;
    let at = app.now();
    let account_key = Key::Account(user.to_string());
    let client_key = Key::client(client);
    if let Err(wait) = app
        .throttle
        .begin(&[account_key.clone(), client_key.clone()], at)
    {
        return Ok(LoginOutcome::Throttled(retry_after_seconds(wait)));
    }
    let who = system(at);
    let failed = Command::LoginFailed {
        user: user.to_string(),
    };
    let Some(found) = find(app, user)? else {
        // Spend the same time as a real check, so names cannot be probed by timing.
        let _ = app.passwords.hash(password);
        app.ledger.store().log_security(&SecurityEntry::new(
            at,
            &client_text(client),
            user,
            UNKNOWN_USER_FAILURE,
        ))?;
        return Ok(LoginOutcome::Failed);
    };
    if found.locked {
        for t in &found.trials {
            execute(app, t, &who, &failed)?;
        }
        return Ok(LoginOutcome::Locked);
    }
    if verify(app, &found, password) {
        let ok = Command::Login {
            user: user.to_string(),
        };
        for t in &found.trials {
            execute(app, t, &who, &ok)?;
        }
        app.throttle.succeeded(&account_key, &client_key, at);
        return Ok(LoginOutcome::Ok);
    }
    for t in &found.trials {
        execute(app, t, &who, &failed)?;
    }
    Ok(LoginOutcome::Failed)
}

/// Writes a logout.
pub fn logout(app: &App, user: &str) -> Result<(), WebError> {
    if let Some(found) = find(app, user)? {
        let who = system(app.now());
        for t in &found.trials {
            execute(
                app,
                t,
                &who,
                &Command::Logout {
                    user: user.to_string(),
                },
            )?;
        }
    }
    Ok(())
}

/// Creates `user` in `trial` as administrator `admin`. An account that
/// exists in another trial keeps its password (the one given is ignored).
/// Returns whether an existing password was kept.
pub fn create(
    app: &App,
    trial: &str,
    admin: &Who,
    user: &str,
    display_name: &str,
    password: &str,
) -> Result<bool, WebError> {
    crate::auth::check_user_name(user).map_err(|e| WebError::BadRequest(e.to_string()))?;
    let existing = find(app, user)?;
    let (hash, kept) = match existing.as_ref().and_then(|f| f.hashes.first()) {
        Some(h) => (h.clone(), true),
        None => {
            crate::auth::check_password(password)
                .map_err(|e| WebError::BadRequest(e.to_string()))?;
            (
                app.passwords
                    .hash(password)
                    .map_err(|e| WebError::Internal(e.to_string()))?,
                false,
            )
        }
    };
    let display = if display_name.trim().is_empty() {
        user
    } else {
        display_name.trim()
    };
    execute(
        app,
        trial,
        admin,
        &Command::CreateUser {
            user: user.to_string(),
            display_name: display.to_string(),
            password_hash: hash,
        },
    )?;
    Ok(kept)
}

/// Trials holding `user` in which `admin_user` is an administrator.
fn administered(app: &App, admin_user: &str, user: &str) -> Result<Vec<String>, WebError> {
    let mut out = Vec::new();
    for t in app.trial_ids()? {
        let s = app.ledger.state(&t)?;
        if s.users.contains_key(user) && s.grant(admin_user, Role::Admin).is_some() {
            out.push(t);
        }
    }
    if out.is_empty() {
        return Err(WebError::NotFound(format!(
            "no user `{user}` you administer"
        )));
    }
    Ok(out)
}

/// Sets a new password in every trial `admin` administers that holds the account.
pub fn set_password(app: &App, admin: &Who, user: &str, password: &str) -> Result<(), WebError> {
    crate::auth::check_password(password).map_err(|e| WebError::BadRequest(e.to_string()))?;
    let hash = app
        .passwords
        .hash(password)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    for t in administered(app, &admin.actor.user, user)? {
        execute(
            app,
            &t,
            admin,
            &Command::ChangePassword {
                user: user.to_string(),
                password_hash: hash.clone(),
            },
        )?;
    }
    // The password change ended the user's sessions in the append's own
    // transaction (`rct_store::sessions::ended_by`); this catches none left.
    app.sessions.end_user(app.ledger.store(), user)?;
    Ok(())
}

/// Unlocks the account in every trial `admin` administers where it is locked.
pub fn unlock(app: &App, admin: &Who, user: &str) -> Result<(), WebError> {
    for t in administered(app, &admin.actor.user, user)? {
        let locked = app
            .ledger
            .state(&t)?
            .users
            .get(user)
            .is_some_and(|u| u.locked);
        if locked {
            execute(
                app,
                &t,
                admin,
                &Command::UnlockUser {
                    user: user.to_string(),
                },
            )?;
        }
    }
    Ok(())
}
