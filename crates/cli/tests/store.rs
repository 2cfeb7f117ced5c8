//! `rct audit verify|log`, `rct backup`, `rct restore` and `rct export events`
//! on SQLite and (when RCT_TEST_POSTGRES is set) PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU32, Ordering};

use assert_cmd::Command;
use rct_record::{Actor, Arm, Command as Cmd, Role, Sites, TrialDesign, TrialState};
use rct_store::{open, Ledger, Store};

const TRIAL: &str = "LUPEX";

struct Db {
    url: String,
    kind: &'static str,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some((server, name)) = &self.pg {
            if let Ok(mut c) = postgres_client(server) {
                let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

fn postgres_client(
    url: &str,
) -> Result<rct_store::pg::postgres::Client, rct_store::pg::postgres::Error> {
    rct_store::pg::postgres::Client::connect(url, rct_store::pg::postgres::NoTls)
}

fn sqlite() -> Db {
    let dir = tempfile::tempdir().unwrap();
    Db {
        url: format!("sqlite:{}", dir.path().join("trial.sqlite").display()),
        kind: "sqlite",
        _dir: Some(dir),
        pg: None,
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn postgres() -> Option<Db> {
    let server = match std::env::var("RCT_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            if std::env::var_os("CI").is_some() {
                panic!("RCT_TEST_POSTGRES is not set but CI is: .ci/run must start PostgreSQL");
            }
            eprintln!("note: RCT_TEST_POSTGRES is not set; skipping the PostgreSQL backend (run `source .ci/postgres.sh`)");
            return None;
        }
    };
    let name = format!(
        "rct_cli_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    postgres_client(&server)
        .unwrap()
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let (root, _) = server.split('?').next().unwrap().rsplit_once('/').unwrap();
    Some(Db {
        url: format!("{root}/{name}"),
        kind: "postgres",
        _dir: None,
        pg: Some((server, name)),
    })
}

fn databases() -> Vec<Db> {
    let mut v = vec![sqlite()];
    v.extend(postgres());
    v
}

fn at(minute: u32) -> chrono::DateTime<chrono::Utc> {
    format!("2026-11-23T09:{minute:02}:00Z").parse().unwrap()
}

/// A small trial: two sites, users, six participants randomised, a value
/// entered and changed with a reason.
fn seed(url: &str) -> Ledger<Box<dyn Store>> {
    let ledger = Ledger::new(open(url).unwrap());
    let admin = Actor::new("ada", Role::Admin, None);
    // The nurse's edge names its software; the administrator's does not
    // (as events written before software was recorded).
    let nurse =
        Actor::new("nina", Role::ResearchNurse, Some("01")).running("rct 9.9.9 (git 0123456789ab)");
    let run = |actor: &Actor, minute: u32, reason: Option<&str>, cmd: Cmd| {
        ledger
            .execute(TRIAL, |s: &TrialState| {
                s.check(actor, at(minute), reason, &cmd)
            })
            .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    };
    let mut design = TrialDesign::new("pbr:4");
    design.stratify_by = vec!["site".into()];
    run(
        &admin,
        0,
        None,
        Cmd::RegisterTrial {
            title: "LUPEX".into(),
            blinded: true,
            arms: vec![
                Arm {
                    id: "hiit".into(),
                    name: "HIIT".into(),
                },
                Arm {
                    id: "usual".into(),
                    name: "Usual care".into(),
                },
            ],
            design,
            seed: rct_record::TrialSecrets::insecure_for_tests(7).seed,
            seal_key: rct_record::TrialSecrets::insecure_for_tests(7).seal_key_hex(),
        },
    );
    run(
        &admin,
        1,
        None,
        Cmd::AddSite {
            site: "01".into(),
            name: "Royal".into(),
        },
    );
    for (user, role) in [
        ("nina", Role::ResearchNurse),
        ("mo", Role::Monitor),
        ("pam", Role::Pharmacist),
    ] {
        run(
            &admin,
            2,
            None,
            Cmd::CreateUser {
                user: user.into(),
                display_name: user.into(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
            },
        );
        run(
            &admin,
            2,
            None,
            Cmd::GrantRole {
                user: user.into(),
                role,
                sites: Sites::All,
            },
        );
    }
    for i in 1..=6 {
        let p = format!("P{i:05}");
        run(
            &nurse,
            10 + i,
            None,
            Cmd::Screen {
                participant: p.clone(),
                site: None,
                date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                facts: Default::default(),
            },
        );
        run(
            &nurse,
            20 + i,
            None,
            Cmd::Consent {
                participant: p.clone(),
                version: None,
                given_at: None,
                obtained_by: None,
            },
        );
        run(&nurse, 30 + i, None, Cmd::Randomise { participant: p });
    }
    run(
        &nurse,
        40,
        None,
        Cmd::EnterValue {
            participant: "P00003".into(),
            visit: "baseline".into(),
            form: "vitals".into(),
            field: "weight_kg".into(),
            value: serde_json::json!(71.5),
        },
    );
    run(
        &nurse,
        41,
        Some("transcription error, source says 75.1"),
        Cmd::ChangeValue {
            participant: "P00003".into(),
            visit: "baseline".into(),
            form: "vitals".into(),
            field: "weight_kg".into(),
            value: serde_json::json!(75.1),
        },
    );
    // The head is signed, as the server or `rct audit checkpoint` would.
    let state = ledger.state(TRIAL).unwrap();
    let cp = rct_record::Checkpoint::sign(&signing_key(), TRIAL, state.seq, &state.head, at(59))
        .unwrap();
    ledger.store().add_checkpoint(&cp).unwrap();
    ledger
}

/// The key the seeded heads are signed with.
fn signing_key() -> rct_record::ed25519_dalek::SigningKey {
    rct_record::ed25519_dalek::SigningKey::from_bytes(&[5; 32])
}

fn public_key() -> String {
    rct_record::checkpoint::public_key_hex(&signing_key().verifying_key())
}

fn rct() -> Command {
    let mut c = Command::cargo_bin("rct").unwrap();
    c.env_remove("RCT_DB");
    c
}

fn raw_sql(db: &Db, statements: &[String]) {
    if db.kind == "postgres" {
        let mut c = postgres_client(&db.url).unwrap();
        for s in statements {
            c.batch_execute(s).unwrap();
        }
    } else {
        let path = db.url.strip_prefix("sqlite:").unwrap();
        let c = rct_store::sqlite::rusqlite::Connection::open(path).unwrap();
        for s in statements {
            c.execute_batch(s).unwrap();
        }
    }
}

fn verify(db: &Db) -> (i32, String) {
    let out = rct()
        .args([
            "audit",
            "verify",
            "--db",
            &db.url,
            "--public-key",
            &public_key(),
        ])
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[test]
fn audit_verify_names_each_kind_of_tampering() {
    for kind in ["sqlite", "postgres"] {
        let fresh = || {
            if kind == "sqlite" {
                Some(sqlite())
            } else {
                postgres()
            }
        };
        let Some(db) = fresh() else { continue };
        seed(&db.url);
        let (code, out) = verify(&db);
        assert_eq!(code, 0, "{out}");
        assert!(out.starts_with("LUPEX: intact, 28 events, head "), "{out}");
        drop(db);

        // Events: 1-8 registration, site, accounts and grants; then screened,
        // consented, randomised for P00001 (9-11), P00002 (12-14), P00003
        // (15-17)...
        let cases: Vec<(&str, Vec<String>, &str)> = vec![
            (
                "one byte of a payload",
                vec![
                    "UPDATE events SET body = replace(body, 'P00003', 'P00004') WHERE seq = 16"
                        .into(),
                ],
                "BROKEN at event 16 (edited)",
            ),
            (
                "a deleted event",
                vec!["DELETE FROM events WHERE seq = 12".into()],
                "BROKEN at event 12 (deleted)",
            ),
            (
                "two swapped events",
                vec![
                    "UPDATE events SET seq = 1000 WHERE seq = 14".into(),
                    "UPDATE events SET seq = 14 WHERE seq = 15".into(),
                    "UPDATE events SET seq = 15 WHERE seq = 1000".into(),
                ],
                "BROKEN at event 14 (reordered)",
            ),
            ("an inserted event", vec![], "BROKEN at event 11 (inserted)"),
        ];
        for (what, sql, expected) in cases {
            let db = fresh().unwrap();
            let ledger = seed(&db.url);
            if sql.is_empty() {
                // A forged consent linked to event 10, slipped in as event 11.
                let rows = ledger.store().load(TRIAL, 0).unwrap();
                let mut forged = rows[10].event().unwrap();
                forged.actor = "eve".into();
                let forged = rct_record::EventDraft {
                    software: None,
                    trial: forged.trial,
                    at: forged.at,
                    actor: forged.actor,
                    role: forged.role,
                    site: forged.site,
                    reason: forged.reason,
                    payload: forged.payload,
                }
                .seal(11, &rows[9].hash);
                let body = forged.canonical_body().replace('\'', "''");
                raw_sql(
                    &db,
                    &[
                        "UPDATE events SET seq = -seq - 1 WHERE seq >= 11".into(),
                        "UPDATE events SET seq = -seq WHERE seq < 0".into(),
                        format!(
                            "INSERT INTO events (trial, seq, body, hash) VALUES ('{TRIAL}', 11, '{body}', '{}')",
                            forged.hash
                        ),
                    ],
                );
            } else {
                raw_sql(&db, &sql);
            }
            let (code, out) = verify(&db);
            assert_eq!(code, 1, "{kind}, {what}: {out}");
            assert!(
                out.starts_with(&format!("LUPEX: {expected}")),
                "{kind}, {what}: {out}"
            );
            let json = rct()
                .args(["audit", "verify", "--json", "--db", &db.url])
                .output()
                .unwrap();
            assert_eq!(json.status.code(), Some(1));
            let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
            assert_eq!(v["intact"], false);
            let seq: u64 = expected.split_whitespace().nth(3).unwrap().parse().unwrap();
            assert_eq!(v["trials"][0]["broken"]["seq"], seq, "{kind}, {what}");
        }
    }
}

fn export(url: &str) -> Vec<u8> {
    let out = rct()
        .args(["export", "events", "--db", url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn export_restore_export_is_byte_identical() {
    for db in databases() {
        seed(&db.url);
        let first = export(&db.url);
        let text = String::from_utf8(first.clone()).unwrap();
        assert_eq!(text.lines().count(), 28);
        assert!(text
            .lines()
            .all(|l| l.starts_with("{\"actor\":") && l.contains("\"hash\":\"")));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("events.jsonl");
        std::fs::write(&file, &first).unwrap();
        for target in databases() {
            rct()
                .args(["restore", "--db", &target.url, file.to_str().unwrap()])
                .assert()
                .success();
            assert_eq!(export(&target.url), first, "{} -> {}", db.kind, target.kind);
            // A second restore into the now non-empty database is refused...
            let out = rct()
                .args(["restore", "--db", &target.url, file.to_str().unwrap()])
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(2));
            assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
            // ...unless forced.
            rct()
                .args([
                    "restore",
                    "--force",
                    "--db",
                    &target.url,
                    file.to_str().unwrap(),
                ])
                .assert()
                .success();
            assert_eq!(export(&target.url), first);
        }
        // An edited line is refused and named; nothing is written.
        let edited = text.replacen("P00003", "P00004", 1);
        let bad = dir.path().join("edited.jsonl");
        std::fs::write(&bad, edited).unwrap();
        let empty = sqlite();
        let out = rct()
            .args(["restore", "--db", &empty.url, bad.to_str().unwrap()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("broken at event 15 (edited)"), "{err}");
    }
}

#[test]
fn backup_is_consistent_and_restores() {
    for db in databases() {
        seed(&db.url);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("backup.sqlite");
        let out = rct()
            .args(["backup", "--db", &db.url, file.to_str().unwrap()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("1 trial(s), 28 events") && text.contains("chains verified"),
            "{text}"
        );
        // Not over an existing file.
        rct()
            .args(["backup", "--db", &db.url, file.to_str().unwrap()])
            .assert()
            .code(2);
        let target = sqlite();
        rct()
            .args(["restore", "--db", &target.url, file.to_str().unwrap()])
            .assert()
            .success();
        assert_eq!(export(&target.url), export(&db.url), "{}", db.kind);
    }
}

#[test]
fn audit_log_shows_the_trail_without_arms_to_blinded_roles() {
    let db = sqlite();
    seed(&db.url);
    let log = |extra: &[&str]| {
        let out = rct()
            .args(["audit", "log", "--db", &db.url])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let monitor = log(&["--participant", "P00003"]);
    let lines: Vec<&str> = monitor.lines().collect();
    assert_eq!(lines.len(), 5, "{monitor}");
    assert!(
        lines[0]
            .contains("#15 2026-11-23T09:13:00Z nina (research_nurse) site 01: screened P00003"),
        "{monitor}"
    );
    assert!(lines[2].contains(": randomised P00003"), "{monitor}");
    assert!(
        !monitor.contains("hiit") && !monitor.contains("usual"),
        "{monitor}"
    );
    assert!(
        lines[2].contains("not shown to this viewer: arm, position"),
        "{monitor}"
    );
    assert!(
        lines[4].contains("value_changed P00003 baseline/vitals/weight_kg: 71.5 -> 75.1; reason: transcription error, source says 75.1"),
        "{monitor}"
    );
    assert!(
        lines[4].ends_with("; written by rct 9.9.9 (git 0123456789ab)"),
        "{monitor}"
    );
    // The pharmacist (unblinded) sees the arm.
    let pharmacist = log(&["--participant", "P00003", "--as-role", "pharmacist"]);
    assert!(
        pharmacist.contains("arm=hiit") || pharmacist.contains("arm=usual"),
        "{pharmacist}"
    );
    // JSON entries are the record's views: no arm for the monitor.
    let json: serde_json::Value = serde_json::from_str(&log(&["--json", "--as", "mo"])).unwrap();
    let entries = json.as_array().unwrap();
    assert_eq!(entries.len(), 28);
    let randomised: Vec<&serde_json::Value> = entries
        .iter()
        .filter(|e| e["payload"]["type"] == "randomised")
        .collect();
    assert_eq!(randomised.len(), 6);
    assert!(randomised.iter().all(|e| e["payload"].get("arm").is_none()));
    // A missing database is an error, not a new empty one.
    let missing = tempfile::tempdir().unwrap();
    let path = missing.path().join("none.sqlite");
    rct()
        .args(["audit", "log", "--db", path.to_str().unwrap()])
        .assert()
        .code(2);
    assert!(!path.exists());
}

#[test]
fn db_defaults_to_rct_db_then_rct_sqlite() {
    let db = sqlite();
    seed(&db.url);
    rct()
        .env("RCT_DB", &db.url)
        .args(["audit", "verify"])
        .assert()
        .success()
        .stdout(predicates::str::contains("LUPEX: intact"));
    let dir = tempfile::tempdir().unwrap();
    let out = rct()
        .current_dir(dir.path())
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rct.sqlite"));
}
