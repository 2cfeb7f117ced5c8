#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `rct trial unlock-user`: the operator unlocks a locked administrator
//! from the command line (the only way back when no other administrator
//! can act), and the event says who did it and why.

use assert_cmd::Command;
use rct_record::{Actor, Command as Cmd, Payload, Role, Sites};
use rct_store::{open, Ledger};

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";

fn protocol() -> String {
    format!("{}/../../protocols/lupex.toml", env!("CARGO_MANIFEST_DIR"))
}

fn rct(db: &str) -> Command {
    let mut c = Command::cargo_bin("rct").unwrap();
    c.env_remove("RCT_TRIAL")
        .env_remove("RCT_USER")
        .env_remove("RCT_ROLE")
        .env("RCT_DB", db);
    c
}

#[test]
fn the_operator_unlocks_a_locked_administrator() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("t.sqlite").display().to_string();
    rct(&db)
        .args(["trial", "create", "--protocol", &protocol(), "--seed", "1"])
        .args(["--user", "ada", "--role", "admin", "--password-stdin"])
        .write_stdin("ada-test-password\n")
        .assert()
        .success();
    // ada and bea administer; bea locks ada's account.
    let ledger = Ledger::new(open(&db).unwrap());
    let ada = Actor::new("ada", Role::Admin, None);
    let bea = Actor::new("bea", Role::Admin, None);
    let at = "2026-03-01T09:00:00Z".parse().unwrap();
    let run = |a: &Actor, c: Cmd| {
        ledger
            .execute("lupex", |s| s.check(a, at, None, &c))
            .unwrap();
    };
    // (`create` made ada's account.)
    run(
        &ada,
        Cmd::CreateUser {
            user: "bea".into(),
            display_name: "bea".into(),
            password_hash: HASH.into(),
        },
    );
    run(
        &ada,
        Cmd::GrantRole {
            user: "bea".into(),
            role: Role::Admin,
            sites: Sites::All,
        },
    );
    run(&bea, Cmd::LockUser { user: "ada".into() });
    drop(ledger);

    let out = rct(&db)
        .args(["trial", "unlock-user", "--user", "ada"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(text.trim(), "`ada` unlocked in lupex");
    let ledger = Ledger::new(open(&db).unwrap());
    let state = ledger.state("lupex").unwrap();
    assert!(!state.users["ada"].locked);
    let rows = ledger.store().load("lupex", state.seq - 1).unwrap();
    let e = rows[0].event().unwrap();
    assert_eq!(e.payload, Payload::UserUnlocked { user: "ada".into() });
    assert_eq!((e.actor.as_str(), e.role), ("operator", Role::System));
    assert_eq!(
        e.reason.as_deref(),
        Some("operator recovery on the command line")
    );

    // Again: nothing to do. An unknown account is an error.
    let out = rct(&db)
        .args(["trial", "unlock-user", "--user", "ada"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.contains("`ada` is not locked"), "{text}");
    let out = rct(&db)
        .args(["trial", "unlock-user", "--user", "ghost"])
        .assert()
        .failure();
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(err.contains("there is no account `ghost`"), "{err}");
}
