//! Shared by the command-line tests that run a trial: acting as a user
//! means being logged in as that user (`rct login`), as on a real
//! machine. Each user has a token file of their own in the test's folder
//! and a password derived from their name; accounts get that password
//! when `rct trial create` or `rct trial grant` makes them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The password of `user` in the tests.
pub fn password(user: &str) -> String {
    format!("{user}-test-password")
}

/// The users of one trial database, each logged in through `rct login`.
pub struct Logins {
    /// The database (`RCT_DB`).
    pub db: String,
    /// Where the token files are.
    pub dir: PathBuf,
}

impl Logins {
    /// Logins to `db`, with token files under `dir`.
    pub fn new(db: &str, dir: &Path) -> Logins {
        let dir = dir.join("tokens");
        std::fs::create_dir_all(&dir).unwrap();
        Logins {
            db: db.to_string(),
            dir,
        }
    }

    /// `user`'s token file.
    pub fn token_file(&self, user: &str) -> PathBuf {
        self.dir.join(format!("{user}.token"))
    }

    /// `rct` on this database with `user`'s token file (nothing else set).
    pub fn bare(&self, user: &str) -> Command {
        let mut c = Command::cargo_bin("rct").unwrap();
        c.env_remove("RCT_TRIAL")
            .env_remove("RCT_USER")
            .env_remove("RCT_ROLE")
            .env("RCT_DB", &self.db)
            .env("RCT_TOKEN_FILE", self.token_file(user));
        c
    }

    /// Runs `rct login` for `user` with their password; whether it worked.
    pub fn login(&self, user: &str) -> bool {
        self.bare(user)
            .args(["login", "--user", user, "--password-stdin"])
            .write_stdin(format!("{}\n", password(user)))
            .output()
            .unwrap()
            .status
            .success()
    }

    /// `rct trial ARGS` as `user` in `role`: logged in first (once; before
    /// the trial exists there is no account to log in to, and `create`
    /// makes it), `--user` naming the same user. `create` and `grant` read
    /// the new account's password from standard input.
    pub fn trial(&self, user: &str, role: &str, args: &[&str]) -> Command {
        if !self.token_file(user).exists() {
            self.login(user);
        }
        let mut c = self.bare(user);
        c.env("RCT_USER", user)
            .env("RCT_ROLE", role)
            .arg("trial")
            .args(args);
        let new_account = match args.first() {
            Some(&"create") => Some(user),
            Some(&"grant") => args
                .iter()
                .position(|a| *a == "--to")
                .and_then(|i| args.get(i + 1))
                .copied(),
            _ => None,
        };
        if let Some(u) = new_account {
            c.arg("--password-stdin")
                .write_stdin(format!("{}\n", password(u)));
        } else if args.first() == Some(&"unblind") {
            // A code-break asks the user's password again.
            c.arg("--password-stdin")
                .write_stdin(format!("{}\n", password(user)));
        }
        c
    }
}

/// The trial's effective list seed as the record holds it: the opening of
/// the registration's sealed `seed` in `rct export events` (a typed
/// `--seed` is mixed with a sealed random secret, so it alone is not the
/// lists' seed). Printed as `rct randomise list --seed` takes it.
pub fn effective_seed(db: &str) -> String {
    let out = Command::cargo_bin("rct")
        .unwrap()
        .env_remove("RCT_TRIAL")
        .args(["export", "events", "--db", db])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    match &first["openings"]["seed"]["value"] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        other => panic!("no sealed seed in the registration: {other} in {first}"),
    }
}
