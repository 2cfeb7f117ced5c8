//! `rct trial unlock-user --user NAME`: the operator's recovery of a locked
//! account (for example the only administrator's).
//!
//! Whoever runs the command line holds the database, so it acts as the
//! operator: the `user_unlocked` event is written by the `system` role
//! (actor `operator`) in every trial where the account is locked (or only
//! in `--trial`), with the reason given. Failed logins never lock an
//! account; they only slow it down, and that throttle lives in the running
//! server's memory (a restart clears it), so there is nothing to clear here.

use std::process::ExitCode;

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use rct_record::{Actor, Command, Role};
use rct_store::ExecuteError;

use super::db::{self, DbArgs};

/// The name the operator's events carry.
pub const OPERATOR: &str = "operator";

/// Arguments of `rct trial unlock-user`.
#[derive(clap::Args, Debug, Clone)]
pub struct UnlockUserArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    key: super::signing::KeyArgs,
    /// The account to unlock.
    #[arg(long, value_name = "NAME")]
    user: String,
    /// Only this trial [default: every trial where the account is locked]
    #[arg(long)]
    trial: Option<String>,
    /// Why (kept on each event).
    #[arg(long, default_value = "operator recovery on the command line")]
    reason: String,
    /// Time of the action (RFC 3339) [default: now]
    #[arg(long, value_name = "RFC3339")]
    at: Option<String>,
}

/// The clock, read only here.
#[allow(clippy::disallowed_methods)]
fn now() -> DateTime<Utc> {
    Utc::now()
}

/// Runs `rct trial unlock-user`.
pub fn run(a: UnlockUserArgs) -> anyhow::Result<ExitCode> {
    let at = match &a.at {
        None => now(),
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .with_context(|| {
                format!("--at `{s}`: expected an RFC 3339 time such as 2025-03-01T09:00:00Z")
            })?,
    };
    let ledger = db::open_writer(&a.db.url(), &a.key)?;
    let trials = db::trials(ledger.store().as_ref(), a.trial.as_deref())?;
    let operator = Actor::new(OPERATOR, Role::System, None).running(rct_web::SOFTWARE);
    let mut holding = Vec::new();
    let mut unlocked = Vec::new();
    for trial in &trials {
        let state = ledger.state(trial)?;
        let Some(account) = state.users.get(&a.user) else {
            continue;
        };
        holding.push(trial.clone());
        if !account.locked {
            continue;
        }
        let cmd = Command::UnlockUser {
            user: a.user.clone(),
        };
        match ledger.execute(trial, |s| s.check(&operator, at, Some(&a.reason), &cmd)) {
            Ok(_) => unlocked.push(trial.clone()),
            Err(ExecuteError::Rejected(e)) => bail!("trial {trial}: refused: {e}"),
            Err(ExecuteError::Store(e)) => return Err(e.into()),
        }
    }
    if holding.is_empty() {
        bail!(
            "there is no account `{}` in {}",
            a.user,
            match &a.trial {
                Some(t) => format!("trial {t}"),
                None => "any trial of the database".to_string(),
            }
        );
    }
    if unlocked.is_empty() {
        println!(
            "`{}` is not locked (trials holding the account: {})",
            a.user,
            holding.join(", ")
        );
    } else {
        println!("`{}` unlocked in {}", a.user, unlocked.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}
