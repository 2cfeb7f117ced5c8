//! `rct login` and `rct logout`: prove who you are once, act as that user
//! for [`identity::TOKEN_HOURS`] hours (see [`identity`]).
//!
//! Login checks the password against the account in every trial of the
//! database that holds it (all must match, none may be locked: the web's
//! rule), records the login (or the failure) in each of those trials, and
//! writes the token file. Logout deletes the token from the database and
//! the file, and records the logout.

use std::process::ExitCode;

use anyhow::{anyhow, bail};
use rct_record::{Actor, Command, Role};
use rct_store::{Ledger, Store};

use super::db::{self, DbArgs};
use super::identity::{self, PasswordArgs, TokenArgs};

/// `rct login`.
#[derive(clap::Args, Debug)]
pub struct LoginArgs {
    #[command(flatten)]
    db: DbArgs,
    /// User name [default: $RCT_USER]
    #[arg(long)]
    user: Option<String>,
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    token: TokenArgs,
    #[command(flatten)]
    key: super::signing::KeyArgs,
}

/// `rct logout`.
#[derive(clap::Args, Debug)]
pub struct LogoutArgs {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    token: TokenArgs,
    #[command(flatten)]
    key: super::signing::KeyArgs,
}

/// Writes `cmd` (a login event) as the system to each of `trials`.
fn record(ledger: &Ledger<Box<dyn Store>>, trials: &[String], cmd: &Command) -> anyhow::Result<()> {
    let system = Actor::new("system", Role::System, None).running(rct_web::SOFTWARE);
    let at = identity::now();
    for t in trials {
        ledger
            .execute(t, |s| s.check(&system, at, None, cmd))
            .map_err(|e| anyhow!("trial {t}: {e}"))?;
    }
    Ok(())
}

/// Runs `rct login`.
pub fn run_login(a: LoginArgs) -> anyhow::Result<ExitCode> {
    let user = a
        .user
        .clone()
        .or_else(|| std::env::var("RCT_USER").ok())
        .filter(|u| !u.is_empty())
        .ok_or_else(|| anyhow!("who logs in? give --user U (or set RCT_USER)"))?;
    let ledger = db::open_writer(&a.db.url(), &a.key)?;
    let path = a.token.path()?;
    let password = a.password.read(&format!("Password for {user}: "), false)?;
    let passwords = identity::passwords();
    let Some(found) = identity::account(&ledger, &user)? else {
        // As long as a real check, so that names cannot be probed by timing.
        let _ = passwords.hash(&password);
        bail!("wrong user name or password");
    };
    if found.locked {
        bail!("the account {user} is locked; an administrator of the trial can unlock it");
    }
    if !found.verify(&passwords, &password) {
        record(
            &ledger,
            &found.trials,
            &Command::LoginFailed { user: user.clone() },
        )?;
        bail!("wrong user name or password");
    }
    let now = identity::now();
    // A new login replaces the token the file held.
    if let Ok(Some(old)) = identity::read_token_file(&path) {
        ledger.store().delete_token(&identity::token_sha256(&old))?;
    }
    let (token, rec) = identity::issue_token(ledger.store().as_ref(), &user, now)?;
    identity::write_token_file(&path, &token)?;
    record(
        &ledger,
        &found.trials,
        &Command::Login { user: user.clone() },
    )?;
    println!(
        "logged in as {user} until {} (token in {}; `rct logout` ends it)",
        rec.expires
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `rct logout`.
pub fn run_logout(a: LogoutArgs) -> anyhow::Result<ExitCode> {
    let path = a.token.path()?;
    let Some(token) = identity::read_token_file(&path)? else {
        println!("not logged in ({} does not exist)", path.display());
        return Ok(ExitCode::SUCCESS);
    };
    let ledger = db::open_writer(&a.db.url(), &a.key)?;
    let sha = identity::token_sha256(&token);
    let who = ledger.store().token(&sha)?;
    ledger.store().delete_token(&sha)?;
    std::fs::remove_file(&path)?;
    match who {
        Some(t) => {
            if let Some(found) = identity::account(&ledger, &t.user)? {
                record(
                    &ledger,
                    &found.trials,
                    &Command::Logout {
                        user: t.user.clone(),
                    },
                )?;
            }
            println!("logged out {}", t.user);
        }
        None => println!("logged out (the token was no longer valid)"),
    }
    Ok(ExitCode::SUCCESS)
}
