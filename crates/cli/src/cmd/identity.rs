//! Who acts on the command line.
//!
//! A trial that has accounts (`user_created` events) is written to only by
//! a user who proved who they are: `rct login` checks the password against
//! the account's argon2 hash in every trial holding it (the web's own check,
//! [`rct_web::accounts`]) and writes a short-lived token to a file only the
//! user can read (mode 0600). Later commands read that file; the database
//! keeps only the token's SHA-256 with the user and its expiry
//! ([`rct_store::LoginToken`]). `--user` names the user only in a trial
//! without accounts (one made before accounts existed); elsewhere it must
//! agree with the token, and alone it is refused.

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use chrono::{DateTime, Duration, Utc};
use rct_record::TrialState;
use rct_store::{LoginToken, Store};
use rct_web::accounts::{find_in, Found};

/// The environment variable naming the token file.
pub const TOKEN_ENV: &str = "RCT_TOKEN_FILE";
/// How long a login lasts.
pub const TOKEN_HOURS: i64 = 12;
/// The longest password read (argon2 would take more, but nobody types it).
const MAX_PASSWORD: usize = 1024;

/// `--token-file FILE`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct TokenArgs {
    /// File holding the login token `rct login` wrote
    /// [default: $RCT_TOKEN_FILE, else ~/.config/rct/token]
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

impl TokenArgs {
    /// The token file: `--token-file`, else `$RCT_TOKEN_FILE`, else
    /// `~/.config/rct/token`.
    pub fn path(&self) -> anyhow::Result<PathBuf> {
        if let Some(p) = &self.token_file {
            return Ok(p.clone());
        }
        if let Some(p) = std::env::var_os(TOKEN_ENV).filter(|v| !v.is_empty()) {
            return Ok(PathBuf::from(p));
        }
        let home = std::env::var_os("HOME")
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                anyhow!(
                    "no home folder ($HOME is not set): give --token-file FILE or set {TOKEN_ENV}"
                )
            })?;
        Ok(Path::new(&home).join(".config").join("rct").join("token"))
    }
}

/// `--password-stdin`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct PasswordArgs {
    /// Read the password from the first line of standard input (for
    /// scripts) instead of asking on the terminal
    #[arg(long)]
    pub password_stdin: bool,
}

impl PasswordArgs {
    /// The password: the first line of standard input, or asked on the
    /// terminal without echo (twice when `confirm`).
    pub fn read(&self, prompt: &str, confirm: bool) -> anyhow::Result<String> {
        if self.password_stdin {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .take(MAX_PASSWORD as u64 + 2)
                .read_line(&mut line)
                .context("reading the password from standard input")?;
            let pw = line.strip_suffix('\n').unwrap_or(&line);
            let pw = pw.strip_suffix('\r').unwrap_or(pw);
            if pw.len() > MAX_PASSWORD {
                bail!("the password on standard input is longer than {MAX_PASSWORD} bytes");
            }
            return Ok(pw.to_string());
        }
        let ask = |p: &str| {
            rpassword::prompt_password(p).map_err(|e| {
                anyhow!("cannot ask for the password on a terminal ({e}); pipe it in with --password-stdin")
            })
        };
        let pw = ask(prompt)?;
        if pw.len() > MAX_PASSWORD {
            bail!("the password is longer than {MAX_PASSWORD} bytes");
        }
        if confirm && ask("Again: ")? != pw {
            bail!("the two passwords differ; nothing was changed");
        }
        Ok(pw)
    }

    /// A password for a new account of `user`, checked against the rule
    /// the web applies.
    pub fn new_password(&self, user: &str) -> anyhow::Result<String> {
        let pw = self.read(&format!("New password for {user}: "), true)?;
        rct_web::auth::check_password(&pw).map_err(|e| anyhow!("{e}"))?;
        Ok(pw)
    }
}

/// The wall clock (the command line is an edge).
#[allow(clippy::disallowed_methods)]
pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// Every trial of the database with its folded state.
pub fn all_states(
    ledger: &rct_store::Ledger<Box<dyn Store>>,
) -> anyhow::Result<Vec<(String, Arc<TrialState>)>> {
    let mut out = Vec::new();
    for t in ledger.store().trials()? {
        let s = ledger.state(&t)?;
        out.push((t, s));
    }
    Ok(out)
}

/// `user`'s account across every trial of the database.
pub fn account(
    ledger: &rct_store::Ledger<Box<dyn Store>>,
    user: &str,
) -> anyhow::Result<Option<Found>> {
    Ok(find_in(all_states(ledger)?, user))
}

/// Password hashing with the server's parameters (argon2id, 19 MiB).
pub fn passwords() -> rct_web::Passwords {
    rct_web::Passwords::new(rct_web::auth::ARGON_KIB)
}

/// SHA-256 of a token as the database keeps it.
pub fn token_sha256(token: &str) -> String {
    rct_record::sha256_hex(token.as_bytes())
}

/// Writes `token` to `path` readable by its owner only (0600), creating a
/// missing folder (0700).
pub fn write_token_file(path: &Path, token: &str) -> anyhow::Result<()> {
    let name = path.display();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                b.mode(0o700);
            }
            b.create(dir)
                .with_context(|| format!("cannot create the folder {}", dir.display()))?;
        }
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot write the token file {name}"))?;
    // A file that existed keeps its mode on open: narrow it before writing.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot make {name} private (mode 0600)"))?;
    }
    use std::io::Write;
    writeln!(f, "{token}").with_context(|| format!("cannot write the token file {name}"))?;
    Ok(())
}

/// The token in `path`, if the file exists. A file others may read is
/// refused (the token acts as its user), as is one that holds no token.
pub fn read_token_file(path: &Path) -> anyhow::Result<Option<String>> {
    let name = path.display();
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read the token file {name}")),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = f.metadata()?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "the token file {name} may be read by others (mode {mode:04o}); \
                 run `chmod 600 {name}` or log in again"
            );
        }
    }
    let mut text = String::new();
    f.take(256)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read the token file {name}"))?;
    let token = text.trim();
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("{name} holds no login token (expected 64 hex digits as `rct login` writes); log in again");
    }
    Ok(Some(token.to_string()))
}

/// The user the token file authenticates in this database at `now`;
/// `None` when there is no token file. An unknown or expired token is an
/// error saying to log in again.
pub fn logged_in(
    store: &dyn Store,
    args: &TokenArgs,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<LoginToken>> {
    let path = args.path()?;
    let Some(token) = read_token_file(&path)? else {
        return Ok(None);
    };
    let Some(found) = store.token(&token_sha256(&token))? else {
        bail!(
            "the login token in {} is not valid for this database (logged out, \
             replaced, or made for another database): run `rct login --user USER`",
            path.display()
        );
    };
    if !found.valid_at(now) {
        bail!(
            "your login as {} expired at {}: run `rct login --user {}` again",
            found.user,
            found
                .expires
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            found.user
        );
    }
    Ok(Some(found))
}

/// The acting user for a command on `state`: in a trial with accounts the
/// user of the login token (`claimed`, from `--user`, must agree), whose
/// account in the trial must not be locked; in a trial without accounts
/// the user named by `--user`.
pub fn acting_user(
    store: &dyn Store,
    state: &TrialState,
    claimed: Option<String>,
    args: &TokenArgs,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    let trial = &state.trial;
    if state.users.is_empty() {
        if let Some(u) = claimed {
            return Ok(u);
        }
        return match logged_in(store, args, now)? {
            Some(t) => Ok(t.user),
            None => bail!("who is acting? give --user U (or set RCT_USER)"),
        };
    }
    let Some(tok) = logged_in(store, args, now)? else {
        bail!(
            "trial {trial} has user accounts: log in first with `rct login --user {}` \
             (commands then act as the logged-in user; --user alone is not accepted)",
            claimed.as_deref().unwrap_or("USER")
        );
    };
    if let Some(c) = claimed.filter(|c| *c != tok.user) {
        bail!(
            "you are logged in as {}, not {c}: run `rct login --user {c}` to act as {c}",
            tok.user
        );
    }
    match state.users.get(&tok.user) {
        None => bail!(
            "{} has no account in trial {trial}; an administrator of the trial can grant one a role (`rct trial grant`)",
            tok.user
        ),
        Some(acc) if acc.locked => bail!(
            "the account {} is locked in trial {trial}; an administrator can unlock it",
            tok.user
        ),
        Some(_) => Ok(tok.user),
    }
}

/// A new token for `user`: 256 bits from the operating system, kept in the
/// database as its SHA-256, valid [`TOKEN_HOURS`] hours from `now`.
pub fn issue_token(
    store: &dyn Store,
    user: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<(String, LoginToken)> {
    let token = rct_web::auth::random_token();
    let record = LoginToken {
        sha256: token_sha256(&token),
        user: user.to_string(),
        created: now,
        expires: now + Duration::hours(TOKEN_HOURS),
    };
    store.put_token(&record, now)?;
    Ok((token, record))
}
