//! The same behaviour from every backend: append and load, conflicts,
//! refused broken appends, snapshot, import, backup, migrations, and raw-SQL
//! tampering detected by verification and by the state fold.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use rct_record::{BreakKind, Event, Payload, Role, StoredEvent, GENESIS_HASH};
use rct_store::{open, Ledger, Store, StoreError};
use support::*;

fn registration() -> rct_record::EventDraft {
    batch(&rct_record::TrialState::new(TRIAL), &setup_commands()[..1])
        .unwrap()
        .remove(0)
}

fn draft(payload: Payload, actor: &str, role: Role, site: Option<&str>) -> rct_record::EventDraft {
    rct_record::EventDraft {
        software: None,
        trial: TRIAL.into(),
        at: at(),
        actor: actor.into(),
        role,
        site: site.map(str::to_string),
        reason: None,
        payload,
    }
}

fn consent(i: usize) -> rct_record::EventDraft {
    draft(
        Payload::Consented {
            participant: pid(i),
            version: None,
            given_at: None,
            obtained_by: None,
        },
        "nurse",
        Role::ResearchNurse,
        Some("01"),
    )
}

/// A trial with a registration and `n` consents.
fn seeded(url: &str, n: usize) -> Ledger<Box<dyn Store>> {
    let ledger = Ledger::new(open(url).unwrap());
    ledger
        .execute(TRIAL, |_| Ok::<_, String>(vec![registration()]))
        .unwrap();
    for i in 1..=n {
        ledger
            .execute(TRIAL, |_| Ok::<_, String>(vec![consent(i)]))
            .unwrap();
    }
    ledger
}

#[test]
fn append_load_conflict_and_refusals() {
    for db in databases("basic") {
        let store = open(&db.url).unwrap();
        assert_eq!(store.backend(), db.kind);
        assert!(store.trials().unwrap().is_empty());
        let e1 = registration().seal(1, GENESIS_HASH);
        let e2 = consent(1).seal(2, &e1.hash);
        let e3 = consent(2).seal(3, &e2.hash);
        store.append(TRIAL, &[e1.clone(), e2.clone()]).unwrap();
        assert_eq!(store.head(TRIAL).unwrap(), 2);
        // A stale writer (expects to write event 2 again) conflicts.
        let stale = consent(9).seal(2, &e1.hash);
        assert!(
            matches!(
                store.append(TRIAL, &[stale]),
                Err(StoreError::Conflict { seq: 2, .. })
            ),
            "{}",
            db.kind
        );
        // A gap, a broken link and an unsealed event are refused.
        let gap = consent(3).seal(4, &e2.hash);
        assert!(matches!(
            store.append(TRIAL, &[gap]),
            Err(StoreError::BadAppend { .. })
        ));
        let unlinked = consent(3).seal(3, GENESIS_HASH);
        assert!(matches!(
            store.append(TRIAL, &[unlinked]),
            Err(StoreError::BadAppend { .. })
        ));
        let mut forged = e3.clone();
        forged.actor = "eve".into();
        assert!(matches!(
            store.append(TRIAL, &[forged]),
            Err(StoreError::BadAppend { .. })
        ));
        // Nothing of the refused appends was written.
        assert_eq!(store.head(TRIAL).unwrap(), 2);
        store.append(TRIAL, std::slice::from_ref(&e3)).unwrap();
        let rows = store.load(TRIAL, 0).unwrap();
        assert_eq!(
            rows,
            [&e1, &e2, &e3].map(StoredEvent::from_event).to_vec(),
            "{}: stored bytes are the canonical bodies",
            db.kind
        );
        assert_eq!(store.load(TRIAL, 2).unwrap(), rows[2..].to_vec());
        assert_eq!(store.trials().unwrap(), vec![TRIAL.to_string()]);
        assert!(store.load("other", 0).unwrap().is_empty());
    }
}

#[test]
fn ledger_state_is_the_fold_of_the_stored_events() {
    for db in databases("fold") {
        let ledger = seeded(&db.url, 20);
        let state = ledger.state(TRIAL).unwrap();
        assert_eq!(state.seq, 21);
        assert_eq!(state.participants.len(), 20);
        // A second ledger (another process) reads the same state.
        let other = Ledger::new(open(&db.url).unwrap());
        let fresh = other.state(TRIAL).unwrap();
        assert_eq!(*fresh, *state);
        let events: Vec<Event> = ledger
            .store()
            .load(TRIAL, 0)
            .unwrap()
            .iter()
            .map(|r| r.event().unwrap())
            .collect();
        let folded = rct_record::TrialState::from_events(TRIAL, &events).unwrap();
        assert_eq!(folded, *state, "{}", db.kind);
        assert_eq!(ledger.verify(TRIAL).unwrap().events, 21);
    }
}

#[test]
fn snapshot_import_and_backup_copy_the_exact_rows() {
    for db in databases("copy") {
        let ledger = seeded(&db.url, 5);
        let store = ledger.store();
        let snap = store.snapshot(None).unwrap();
        assert_eq!(snap.len(), 1);
        assert_eq!(snap[0].1, store.load(TRIAL, 0).unwrap());

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("backup.sqlite");
        store.backup_to(&file).unwrap();
        let copy = rct_store::SqliteStore::open(&file).unwrap();
        assert_eq!(copy.snapshot(None).unwrap(), snap, "{}", db.kind);
        // A second backup to the same file is refused.
        assert!(matches!(
            store.backup_to(&file),
            Err(StoreError::NotEmpty { .. })
        ));

        // Import into a non-empty trial is refused unless replacing.
        let target = open(&db.url).unwrap();
        assert!(matches!(
            target.import(TRIAL, &snap[0].1[..2], false),
            Err(StoreError::NotEmpty { .. })
        ));
        target.import(TRIAL, &snap[0].1[..2], true).unwrap();
        assert_eq!(target.head(TRIAL).unwrap(), 2);
        target.import(TRIAL, &snap[0].1, true).unwrap();
        assert_eq!(target.snapshot(None).unwrap(), snap);
    }
}

#[test]
fn postgres_migrations_apply_once_and_refuse_a_newer_schema() {
    let Some(db) = pg_db("migrate") else { return };
    let known = rct_store::migrate::latest(rct_store::migrate::MIGRATIONS);
    let store = rct_store::PgStore::open(&db.url).unwrap();
    assert_eq!(store.schema_version().unwrap(), known);
    drop(store);
    let next = known + 1;
    let mut more = rct_store::migrate::MIGRATIONS.to_vec();
    more.push(rct_store::migrate::Migration {
        version: next,
        name: "test index",
        sqlite: "",
        postgres: "CREATE INDEX events_hash ON events(hash);",
    });
    // Several processes opening at once apply the new step exactly once.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| rct_store::PgStore::open_with(&db.url, &more).unwrap());
        }
    });
    let mut c = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    let rows = c
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .unwrap();
    let versions: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(versions, (1..=next).collect::<Vec<i64>>());
    let err = rct_store::PgStore::open(&db.url).unwrap_err().to_string();
    assert!(
        err.contains(&format!("schema version {next}")) && err.contains(&format!("up to {known}")),
        "{err}"
    );
}

#[test]
fn open_understands_urls() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("a.sqlite");
    assert_eq!(open(plain.to_str().unwrap()).unwrap().backend(), "sqlite");
    let prefixed = format!("sqlite:{}", dir.path().join("b.sqlite").display());
    assert_eq!(open(&prefixed).unwrap().backend(), "sqlite");
    assert_eq!(open("memory:").unwrap().backend(), "memory");
    let err = open("mysql://x/y").unwrap_err().to_string();
    assert!(err.contains("unknown scheme `mysql`"), "{err}");
    assert!(open("sqlite:").is_err());
    let err = open("postgres://nobody@127.0.0.1:1/none")
        .unwrap_err()
        .to_string();
    assert!(err.contains("127.0.0.1:1"), "{err}");
}

/// Raw SQL against each backend: (description, statements, expected event, kind).
fn tamperings() -> Vec<(&'static str, Vec<String>, u64, BreakKind)> {
    vec![
        (
            "one byte of a payload",
            vec!["UPDATE events SET body = replace(body, 'P00005', 'P00006') WHERE seq = 6".into()],
            6,
            BreakKind::Edited,
        ),
        (
            "a deleted event",
            vec!["DELETE FROM events WHERE seq = 4".into()],
            4,
            BreakKind::Deleted,
        ),
        (
            "two swapped events",
            vec![
                "UPDATE events SET seq = 100 WHERE seq = 7".into(),
                "UPDATE events SET seq = 7 WHERE seq = 8".into(),
                "UPDATE events SET seq = 8 WHERE seq = 100".into(),
            ],
            7,
            BreakKind::Reordered,
        ),
        (
            "an inserted event",
            vec![
                "UPDATE events SET seq = -seq - 1 WHERE seq >= 5".into(),
                "UPDATE events SET seq = -seq WHERE seq < 0".into(),
                // The forged event is written by the test below at seq 5.
            ],
            5,
            BreakKind::Inserted,
        ),
    ]
}

fn raw_sql(db: &TestDb, statements: &[String]) {
    if db.kind == "postgres" {
        let mut c = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
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

#[test]
fn raw_sql_tampering_is_named_by_verify_and_refused_by_the_fold() {
    for kind in ["sqlite", "postgres"] {
        for (what, statements, seq, expected) in tamperings() {
            let db = if kind == "sqlite" {
                sqlite_db()
            } else {
                match pg_db("tamper") {
                    Some(db) => db,
                    None => continue,
                }
            };
            let ledger = seeded(&db.url, 10);
            raw_sql(&db, &statements);
            if expected == BreakKind::Inserted {
                // The forger links the new event to event 4, as a forger would.
                let rows = ledger.store().load(TRIAL, 0).unwrap();
                let forged = consent(99).seal(5, &rows[3].hash);
                let body = forged.canonical_body().replace('\'', "''");
                raw_sql(
                    &db,
                    &[format!(
                        "INSERT INTO events (trial, seq, body, hash) VALUES ('{TRIAL}', 5, '{body}', '{}')",
                        forged.hash
                    )],
                );
            }
            let fresh = Ledger::new(open(&db.url).unwrap());
            match fresh.verify(TRIAL) {
                Err(StoreError::Chain { source, .. }) => {
                    assert_eq!(
                        (source.seq, source.kind),
                        (seq, expected),
                        "{kind}, {what}: {}",
                        source.detail
                    );
                }
                other => panic!("{kind}, {what}: verify gave {other:?}"),
            }
            assert!(
                fresh.state(TRIAL).is_err(),
                "{kind}, {what}: the fold must refuse"
            );
        }
    }
}

#[test]
fn the_security_log_keeps_bounded_entries_outside_every_trial() {
    use rct_store::SecurityEntry;
    for db in databases("security") {
        let store = open(&db.url).unwrap();
        for i in 0..3 {
            let when = at() + chrono::Duration::seconds(i);
            let e = SecurityEntry::new(
                when,
                "10.0.0.1",
                &format!("u{i}"),
                "login_failed_unknown_user",
            );
            store.log_security(&e).unwrap();
        }
        // An entry built by hand with a huge name is cut when written.
        let huge = SecurityEntry {
            at: at(),
            client: "2001:db8::1".into(),
            user: "x".repeat(250_000),
            what: "login_failed_unknown_user".into(),
        };
        store.log_security(&huge).unwrap();
        let all = store.security_log(10).unwrap();
        assert_eq!(all.len(), 4, "{}", db.kind);
        assert_eq!(all[0].user, "u0");
        assert_eq!(all[0].client, "10.0.0.1");
        assert_eq!(all[2].at, at() + chrono::Duration::seconds(2));
        assert_eq!(all[3].user, "x".repeat(64));
        // The newest two, oldest first.
        let last: Vec<String> = store
            .security_log(2)
            .unwrap()
            .into_iter()
            .map(|e| e.user)
            .collect();
        assert_eq!(last, vec!["u2".to_string(), "x".repeat(64)]);
        // No trial was touched.
        assert!(store.trials().unwrap().is_empty(), "{}", db.kind);
    }
}

/// `replace_chain` (behind `rct audit migrate`): a format-1 chain stored as
/// rows is replaced by its re-sealed chain in one step, only while the head
/// is the one read; the old chain's checkpoints go, the new head's is kept.
#[test]
fn replace_chain_swaps_a_chain_only_at_the_expected_head() {
    for db in databases("replace") {
        let store = open(&db.url).unwrap();
        let old = rct_record::legacy::chain_v1([registration(), consent(1), consent(2)]);
        store.import(TRIAL, &old, false).unwrap();
        let m = rct_record::legacy::migrate_v1(
            TRIAL,
            &old,
            &rct_record::legacy::Migration {
                actor: "ada".into(),
                at: at(),
                reason: "format 2".into(),
                seal_key: [3; 32],
                software: None,
            },
        )
        .unwrap();
        let new: Vec<StoredEvent> = m.events.iter().map(StoredEvent::from_event).collect();
        assert_eq!(new.len(), 4);
        // A stale head (someone appended meanwhile) changes nothing.
        let stale = store.replace_chain(TRIAL, (2, &old[1].hash), &new, None);
        assert!(
            matches!(stale, Err(StoreError::Conflict { seq: 3, .. })),
            "{}: {stale:?}",
            db.kind
        );
        assert_eq!(store.load(TRIAL, 0).unwrap(), old, "{}", db.kind);
        let key = rct_record::ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
        let cp = rct_record::Checkpoint::sign(&key, TRIAL, 4, &new[3].hash, at()).unwrap();
        store
            .replace_chain(TRIAL, (3, &old[2].hash), &new, Some(&cp))
            .unwrap();
        assert_eq!(store.load(TRIAL, 0).unwrap(), new, "{}", db.kind);
        assert_eq!(store.checkpoints(TRIAL).unwrap(), vec![cp], "{}", db.kind);
        rct_record::verify_chain(TRIAL, &store.load(TRIAL, 0).unwrap()).unwrap();
    }
}
