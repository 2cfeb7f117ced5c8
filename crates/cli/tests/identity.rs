#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Identity on the command line (issue 15, items 9 and 10): in a trial with
//! accounts a command acts as the user who logged in with their password,
//! never as whatever `--user` says; tokens are short-lived, private files
//! whose SHA-256 alone is in the database; participant identifiers follow
//! the record's one rule; output into a closed pipe ends quietly.

mod support;

use std::path::Path;

use assert_cmd::Command;
use support::{password, Logins};

fn protocol(name: &str) -> String {
    format!("{}/../../protocols/{name}.toml", env!("CARGO_MANIFEST_DIR"))
}

/// A LUPEX trial created by `ada` (administrator) with `nina` granted the
/// research nurse role; nobody logged in yet.
fn lupex(dir: &Path) -> Logins {
    let l = Logins::new(&dir.join("t.sqlite").display().to_string(), dir);
    l.trial(
        "ada",
        "admin",
        &["create", "--protocol", &protocol("lupex"), "--seed", "7"],
    )
    .assert()
    .success();
    assert!(l.login("ada"));
    l.trial(
        "ada",
        "admin",
        &["grant", "--to", "nina", "--as", "research_nurse"],
    )
    .assert()
    .success();
    std::fs::remove_file(l.token_file("ada")).unwrap();
    l
}

fn stderr(c: &mut Command) -> String {
    let out = c.output().unwrap();
    assert!(!out.status.success(), "not refused");
    String::from_utf8(out.stderr).unwrap()
}

fn facts(dir: &Path) -> String {
    let f = dir.join("facts.json");
    std::fs::write(
        &f,
        r#"{"screening_date": "2025-03-01", "facts": {"sex": "female"}}"#,
    )
    .unwrap();
    f.display().to_string()
}

#[test]
fn user_alone_is_refused_in_a_trial_with_accounts() {
    let tmp = tempfile::tempdir().unwrap();
    let l = lupex(tmp.path());
    // No login: --user names nina, and that is not enough.
    let err = stderr(l.bare("nina").args([
        "trial",
        "status",
        "--user",
        "nina",
        "--role",
        "research_nurse",
    ]));
    assert!(
        err.contains("trial lupex has user accounts: log in first with `rct login --user nina`"),
        "{err}"
    );
    // Writes too.
    let err = stderr(l.bare("nina").args([
        "trial",
        "screen",
        "--user",
        "nina",
        "--role",
        "research_nurse",
        "--participant",
        "P01",
        "--site",
        "rh",
        "--facts",
        &facts(tmp.path()),
    ]));
    assert!(err.contains("log in first"), "{err}");
    // Logged in, the same command works (and --user may be left out).
    assert!(l.login("nina"));
    l.bare("nina")
        .args(["trial", "status", "--role", "research_nurse"])
        .assert()
        .success()
        .stdout(predicates::str::contains("viewer: nina"));
}

#[test]
fn a_wrong_password_or_unknown_user_is_refused_and_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let l = lupex(tmp.path());
    for (user, pw) in [("nina", "not-her-password"), ("nobody", "whatever-it-is")] {
        let err = stderr(
            l.bare(user)
                .args(["login", "--user", user, "--password-stdin"])
                .write_stdin(format!("{pw}\n")),
        );
        assert!(err.contains("wrong user name or password"), "{err}");
        assert!(!l.token_file(user).exists());
    }
    let ledger = rct_store::Ledger::new(rct_store::open(&l.db).unwrap());
    let state = ledger.state("lupex").unwrap();
    assert_eq!(state.users["nina"].failed_logins, 1);
    // The right password logs in and is recorded.
    assert!(l.login("nina"));
    let state = ledger.state("lupex").unwrap();
    assert_eq!(state.users["nina"].failed_logins, 0);
}

#[test]
fn a_locked_account_cannot_log_in_or_act() {
    let tmp = tempfile::tempdir().unwrap();
    let l = lupex(tmp.path());
    assert!(l.login("nina"));
    let ledger = rct_store::Ledger::new(rct_store::open(&l.db).unwrap());
    // The administrator locks the account (nothing locks one on its own).
    let ada = rct_record::Actor::new("ada", rct_record::Role::Admin, None);
    let at = "2026-01-01T00:00:00Z".parse().unwrap();
    ledger
        .execute("lupex", |s| {
            s.check(
                &ada,
                at,
                None,
                &rct_record::Command::LockUser {
                    user: "nina".into(),
                },
            )
        })
        .unwrap();
    let err = stderr(
        l.bare("nina")
            .args(["trial", "status", "--role", "research_nurse"]),
    );
    assert!(
        err.contains("the account nina is locked in trial lupex"),
        "{err}"
    );
    std::fs::remove_file(l.token_file("nina")).unwrap();
    let err = stderr(
        l.bare("nina")
            .args(["login", "--user", "nina", "--password-stdin"])
            .write_stdin(format!("{}\n", password("nina"))),
    );
    assert!(err.contains("is locked"), "{err}");
}

#[test]
fn an_expired_or_deleted_token_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let l = lupex(tmp.path());
    assert!(l.login("nina"));
    let status = |l: &Logins| {
        let mut c = l.bare("nina");
        c.args(["trial", "status", "--role", "research_nurse"]);
        c
    };
    status(&l).assert().success();
    // Expired: the database says so (as 12 hours later would).
    let path = l.db.clone();
    let c = rct_store::sqlite::rusqlite::Connection::open(&path).unwrap();
    c.execute("UPDATE login_tokens SET expires_at = created_at", [])
        .unwrap();
    let err = stderr(&mut status(&l));
    assert!(err.contains("your login as nina expired at"), "{err}");
    // Deleted: `rct logout` removes the token from the database and the
    // file; a copy kept of the file is refused.
    assert!(l.login("nina"));
    let kept = std::fs::read_to_string(l.token_file("nina")).unwrap();
    l.bare("nina")
        .arg("logout")
        .assert()
        .success()
        .stdout(predicates::str::contains("logged out nina"));
    assert!(!l.token_file("nina").exists());
    write_private(&l.token_file("nina"), &kept);
    let err = stderr(&mut status(&l));
    assert!(
        err.contains("is not valid for this database (logged out"),
        "{err}"
    );
    // Logins and the logout are in the audit trail.
    let ledger = rct_store::Ledger::new(rct_store::open(&l.db).unwrap());
    let kinds: Vec<String> = ledger
        .store()
        .load("lupex", 0)
        .unwrap()
        .iter()
        .map(|e| e.event().unwrap().payload.kind().to_string())
        .collect();
    assert!(kinds.iter().any(|k| k == "logged_out"), "{kinds:?}");
    assert!(kinds.iter().filter(|k| *k == "logged_in").count() >= 2);
}

fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn the_token_file_is_private_and_the_database_keeps_only_its_hash() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let l = lupex(tmp.path());
    // The default place, in a folder made for it (0700).
    let home = tmp.path().join("home");
    std::fs::create_dir(&home).unwrap();
    Command::cargo_bin("rct")
        .unwrap()
        .env_remove("RCT_TOKEN_FILE")
        .env("HOME", &home)
        .args(["login", "--db", &l.db, "--user", "nina", "--password-stdin"])
        .write_stdin(format!("{}\n", password("nina")))
        .assert()
        .success();
    let file = home.join(".config/rct/token");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&home.join(".config/rct")), 0o700);
    let token = std::fs::read_to_string(&file).unwrap().trim().to_string();
    assert_eq!(token.len(), 64, "256 bits as hex");
    // The database has the SHA-256 of the token, never the token.
    let c = rct_store::sqlite::rusqlite::Connection::open(&l.db).unwrap();
    let (sha, user, created, expires): (String, String, i64, i64) = c
        .query_row(
            "SELECT token_sha256, user_name, created_at, expires_at FROM login_tokens \
             WHERE user_name = 'nina'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(sha, rct_record::sha256_hex(token.as_bytes()));
    assert_eq!(user, "nina");
    assert_eq!(expires - created, 12 * 3600);
    let bytes = std::fs::read(&l.db).unwrap();
    let wal = std::fs::read(format!("{}-wal", l.db)).unwrap_or_default();
    for b in [&bytes, &wal] {
        assert!(!b.windows(64).any(|w| w == token.as_bytes()));
    }
    // A token file others could read is refused (and one overwritten by a
    // new login is narrowed back to 0600).
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = stderr(
        Command::cargo_bin("rct")
            .unwrap()
            .env_remove("RCT_TOKEN_FILE")
            .env("HOME", &home)
            .args(["trial", "status", "--db", &l.db, "--role", "research_nurse"]),
    );
    assert!(err.contains("may be read by others (mode 0644)"), "{err}");
    Command::cargo_bin("rct")
        .unwrap()
        .env_remove("RCT_TOKEN_FILE")
        .env("HOME", &home)
        .args(["login", "--db", &l.db, "--user", "nina", "--password-stdin"])
        .write_stdin(format!("{}\n", password("nina")))
        .assert()
        .success();
    assert_eq!(mode(&file), 0o600);
}

#[test]
fn a_token_of_one_user_cannot_act_as_another() {
    let tmp = tempfile::tempdir().unwrap();
    let l = lupex(tmp.path());
    assert!(l.login("nina"));
    // nina's token, claiming to be ada.
    let err = stderr(l.bare("nina").args([
        "trial",
        "grant",
        "--user",
        "ada",
        "--role",
        "admin",
        "--to",
        "eve",
        "--as",
        "pharmacist",
    ]));
    assert!(
        err.contains("you are logged in as nina, not ada: run `rct login --user ada`"),
        "{err}"
    );
    // nina's token, in ada's role: the record refuses, as nina.
    let err = stderr(l.bare("nina").args([
        "trial",
        "grant",
        "--role",
        "admin",
        "--to",
        "eve",
        "--as",
        "pharmacist",
    ]));
    assert!(err.contains("nina"), "{err}");
    let ledger = rct_store::Ledger::new(rct_store::open(&l.db).unwrap());
    assert!(!ledger.state("lupex").unwrap().users.contains_key("eve"));
    // The token of another database is not valid here.
    let other = tempfile::tempdir().unwrap();
    let m = lupex(other.path());
    std::fs::copy(l.token_file("nina"), m.token_file("nina")).unwrap();
    let err = stderr(
        m.bare("nina")
            .args(["trial", "status", "--role", "research_nurse"]),
    );
    assert!(err.contains("not valid for this database"), "{err}");
}

#[test]
fn create_and_grant_make_accounts_with_passwords() {
    let tmp = tempfile::tempdir().unwrap();
    let l = lupex(tmp.path());
    let ledger = rct_store::Ledger::new(rct_store::open(&l.db).unwrap());
    let state = ledger.state("lupex").unwrap();
    for u in ["ada", "nina"] {
        assert!(
            state.users[u].password_hash.starts_with("$argon2id$"),
            "{u}"
        );
    }
    // A short password is refused, and nothing is written.
    assert!(l.login("ada"));
    let err = stderr(
        l.bare("ada")
            .args([
                "trial",
                "grant",
                "--role",
                "admin",
                "--to",
                "olga",
                "--as",
                "outcome_assessor",
                "--password-stdin",
            ])
            .write_stdin("short\n"),
    );
    assert!(err.contains("at least 10 characters"), "{err}");
    assert!(!ledger.state("lupex").unwrap().users.contains_key("olga"));
    // A second trial in the same database: ada already has an account, so
    // she must be logged in to register it (her account is copied).
    std::fs::remove_file(l.token_file("ada")).unwrap();
    let err = stderr(
        l.bare("ada")
            .args([
                "trial",
                "create",
                "--user",
                "ada",
                "--trial",
                "il2",
                "--protocol",
                &protocol("il2-sle"),
                "--seed",
                "9",
                "--password-stdin",
            ])
            .write_stdin("a-new-password-1\n"),
    );
    assert!(
        err.contains("ada has an account in this database already"),
        "{err}"
    );
    assert!(l.login("ada"));
    l.bare("ada")
        .args([
            "trial",
            "create",
            "--trial",
            "il2",
            "--protocol",
            &protocol("il2-sle"),
            "--seed",
            "9",
        ])
        .assert()
        .success()
        .stdout(predicates::str::contains("administrator: ada"));
    let il2 = ledger.state("il2").unwrap();
    assert_eq!(
        il2.users["ada"].password_hash,
        ledger.state("lupex").unwrap().users["ada"].password_hash
    );
}

#[test]
fn hostile_participant_ids_are_refused_with_the_records_message() {
    let tmp = tempfile::tempdir().unwrap();
    let l = lupex(tmp.path());
    assert!(l.login("nina"));
    let facts = facts(tmp.path());
    for id in ["<script>", "A/../../x", "A?x=1#y", "A\r\nB", ".", ".."] {
        let err = stderr(l.bare("nina").args([
            "trial",
            "screen",
            "--role",
            "research_nurse",
            "--participant",
            id,
            "--site",
            "rh",
            "--facts",
            &facts,
        ]));
        let expected = rct_record::check_participant_id(id)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err.trim_end(),
            format!("error: refused: {expected}"),
            "{id:?}"
        );
    }
    let ledger = rct_store::Ledger::new(rct_store::open(&l.db).unwrap());
    assert!(ledger.state("lupex").unwrap().participants.is_empty());
}

/// Runs `c` with standard output a pipe whose reading end is already
/// closed (as `| head` leaves it); the exit status and stderr.
fn into_closed_pipe(c: &mut std::process::Command) -> (std::process::ExitStatus, String) {
    use std::os::fd::FromRawFd;
    let mut fds = [0i32; 2];
    // SAFETY: `pipe` fills two new descriptors, owned below.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: the descriptors are new and owned by nothing else.
    let (read, write) = unsafe {
        (
            std::os::fd::OwnedFd::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    };
    drop(read);
    let out = c
        .stdout(std::process::Stdio::from(write))
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    (out.status, String::from_utf8(out.stderr).unwrap())
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let tmp = tempfile::tempdir().unwrap();
    let l = Logins::new(
        &tmp.path().join("t.sqlite").display().to_string(),
        tmp.path(),
    );
    l.trial(
        "ada",
        "admin",
        &["create", "--protocol", &protocol("il2-sle"), "--seed", "7"],
    )
    .assert()
    .success();
    assert!(l.login("ada"));
    let rct = assert_cmd::cargo::cargo_bin("rct");
    let mut kits = std::process::Command::new(&rct);
    kits.env("RCT_DB", &l.db)
        .env("RCT_TOKEN_FILE", l.token_file("ada"))
        .args(["trial", "kits", "--role", "admin"]);
    let mut list = std::process::Command::new(&rct);
    list.args([
        "randomise",
        "list",
        "--protocol",
        &protocol("il2-sle"),
        "--seed",
        "7",
        "--stratum",
        "site=pkuph",
        "--n",
        "2000",
    ]);
    for (what, c) in [("trial kits", &mut kits), ("randomise list", &mut list)] {
        let (status, err) = into_closed_pipe(c);
        assert!(!err.contains("panicked"), "{what}: {err}");
        assert_eq!(
            status.signal(),
            Some(libc::SIGPIPE),
            "{what}: {status:?} {err}"
        );
    }
}
