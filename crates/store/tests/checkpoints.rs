//! Signed checkpoints on every backend: stored with the batch that they
//! sign, checked against the chain on write, copied by backups, dropped when
//! a trial is replaced; and the tamperings the hash chain alone misses
//! (truncation, a correctly linked forged append, a chain recomputed from an
//! edit onward) caught against them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::{Arc, Mutex};

use rct_record::ed25519_dalek::SigningKey;
use rct_record::{
    audit_checkpoints, verify_chain, Checkpoint, CheckpointAudit, EventDraft, FindingKind, Payload,
    PublishedHead, Role, StoredEvent,
};
use rct_store::{open, CheckpointSigner, KeySigner, Ledger, Store, StoreError};
use support::*;

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

/// A signer with a fixed key and clock that records what it is told.
fn signer(told: &Arc<Mutex<Vec<String>>>) -> Arc<KeySigner> {
    let told = told.clone();
    Arc::new(KeySigner::new(key(), Arc::new(at)).with_warnings(move |m| {
        told.lock().unwrap().push(m.to_string());
    }))
}

fn consent(i: usize) -> EventDraft {
    EventDraft {
        software: None,
        trial: TRIAL.into(),
        at: at(),
        actor: "nina".into(),
        role: Role::ResearchNurse,
        site: Some("01".into()),
        reason: None,
        payload: Payload::Consented {
            participant: pid(i),
            version: None,
            given_at: None,
            obtained_by: None,
        },
    }
}

/// A signing ledger on `url` with the trial set up and `n` more events
/// written one command at a time (each its own signed batch).
fn signed(url: &str, n: usize) -> Ledger<Box<dyn Store>> {
    let told = Arc::new(Mutex::new(Vec::new()));
    let mut ledger = Ledger::new(open(url).unwrap());
    ledger.set_signer(signer(&told), 1);
    setup(&ledger, 0);
    for i in 1..=n {
        ledger
            .execute(TRIAL, |_| Ok::<_, String>(vec![consent(i)]))
            .unwrap();
    }
    assert!(told.lock().unwrap().is_empty(), "{told:?}");
    ledger
}

/// How many events the shared setup writes (its batch is the first
/// signed); the tests number events from it.
fn setup_len() -> u64 {
    let ledger = Ledger::new(Box::new(rct_store::MemStore::new()) as Box<dyn Store>);
    setup(&ledger, 0);
    ledger.store().head(TRIAL).unwrap()
}

fn audit(url: &str, heads: &[PublishedHead]) -> CheckpointAudit {
    let store = open(url).unwrap();
    let rows = store.load(TRIAL, 0).unwrap();
    let cps = store.checkpoints(TRIAL).unwrap();
    audit_checkpoints(TRIAL, &rows, &cps, Some(&key().verifying_key()), heads)
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

fn insert_sql(e: &rct_record::Event) -> String {
    format!(
        "INSERT INTO events (trial, seq, body, hash) VALUES ('{TRIAL}', {}, '{}', '{}')",
        e.seq,
        e.canonical_body().replace('\'', "''"),
        e.hash
    )
}

#[test]
fn every_batch_is_signed_in_its_own_transaction() {
    let b = setup_len();
    for db in databases("cpsign") {
        let ledger = signed(&db.url, 4);
        let store = ledger.store();
        let rows = store.load(TRIAL, 0).unwrap();
        let cps = store.checkpoints(TRIAL).unwrap();
        // The setup batch (b events) and the four consents: 5 checkpoints,
        // each of the last event of its batch, each verifying.
        let seqs: Vec<u64> = cps.iter().map(|c| c.seq).collect();
        assert_eq!(seqs, [b, b + 1, b + 2, b + 3, b + 4], "{}", db.kind);
        for cp in &cps {
            assert_eq!(cp.verify().unwrap(), key().verifying_key());
            assert_eq!(cp.hash, rows[cp.seq as usize - 1].hash);
        }
        assert_eq!(store.latest_checkpoint(TRIAL).unwrap().unwrap().seq, b + 4);
        let a = audit(&db.url, &[]);
        assert!(a.ok(false), "{}: {a:?}", db.kind);
        assert_eq!(a.latest.unwrap().seq, b + 4);

        // A checkpoint must sign a stored event with its stored hash.
        let mut wrong = Checkpoint::sign(&key(), TRIAL, b + 3, &"ab".repeat(32), at()).unwrap();
        assert!(matches!(
            store.add_checkpoint(&wrong),
            Err(StoreError::BadAppend { .. })
        ));
        wrong = Checkpoint::sign(&key(), TRIAL, b + 5, &rows[b as usize + 3].hash, at()).unwrap();
        assert!(store.add_checkpoint(&wrong).is_err());
        // Signing a head again is idempotent.
        let again =
            Checkpoint::sign(&key(), TRIAL, b + 4, &rows[b as usize + 3].hash, at()).unwrap();
        store.add_checkpoint(&again).unwrap();
        assert_eq!(store.checkpoints(TRIAL).unwrap().len(), 5);

        // append_signed is all or nothing: a checkpoint that does not sign
        // the appended head leaves no event behind.
        let next = consent(50).seal(b + 5, &rows[b as usize + 3].hash);
        let bad = Checkpoint::sign(&key(), TRIAL, b + 5, &"cd".repeat(32), at()).unwrap();
        assert!(store.append_signed(TRIAL, &[next], &bad).is_err());
        assert_eq!(store.head(TRIAL).unwrap(), b + 4, "{}", db.kind);
    }
}

#[test]
fn truncating_the_last_events_is_caught_against_a_checkpoint() {
    let b = setup_len();
    for db in databases("cptrunc") {
        signed(&db.url, 4);
        raw_sql(&db, &[format!("DELETE FROM events WHERE seq > {}", b + 2)]);
        // The chain alone is intact...
        let rows = open(&db.url).unwrap().load(TRIAL, 0).unwrap();
        assert!(verify_chain(TRIAL, &rows).is_ok());
        // ...but the checkpoint of the last event names what is gone.
        let a = audit(&db.url, &[]);
        let f = &a.findings[0];
        assert_eq!(
            (f.kind, f.seq),
            (FindingKind::Truncated, b + 3),
            "{}",
            db.kind
        );
        assert!(
            f.detail
                .contains(&format!("events {}-{} were deleted", b + 3, b + 4)),
            "{}",
            f.detail
        );
        assert!(!a.ok(true));
    }
}

#[test]
fn a_correctly_linked_forged_append_is_not_covered_by_a_signature() {
    let b = setup_len();
    for db in databases("cpforge") {
        let ledger = signed(&db.url, 4);
        let rows = ledger.store().load(TRIAL, 0).unwrap();
        let forged = consent(66).seal(b + 5, &rows[b as usize + 3].hash);
        raw_sql(&db, &[insert_sql(&forged)]);
        let rows = open(&db.url).unwrap().load(TRIAL, 0).unwrap();
        assert!(
            verify_chain(TRIAL, &rows).is_ok(),
            "the chain alone is fooled"
        );
        let a = audit(&db.url, &[]);
        assert!(a.findings.is_empty());
        assert_eq!(a.unsigned, Some((b + 5, b + 5)), "{}", db.kind);
        assert!(!a.ok(false));

        // A signing server that starts on this database does not vouch for
        // the forged event by signing over it: it says so and writes unsigned.
        let told = Arc::new(Mutex::new(Vec::new()));
        let mut server = Ledger::new(open(&db.url).unwrap());
        server.set_signer(signer(&told), 1);
        server
            .execute(TRIAL, |_| Ok::<_, String>(vec![consent(67)]))
            .unwrap();
        server
            .execute(TRIAL, |_| Ok::<_, String>(vec![consent(68)]))
            .unwrap();
        assert_eq!(server.checkpoint_heads().unwrap(), Vec::new());
        let told = told.lock().unwrap().clone();
        assert_eq!(told.len(), 1, "told once: {told:?}");
        assert!(
            told[0].contains(&format!("events up to {}", b + 5)),
            "{told:?}"
        );
        let a = audit(&db.url, &[]);
        assert_eq!(a.unsigned, Some((b + 5, b + 7)), "{}", db.kind);
    }
}

#[test]
fn a_chain_recomputed_from_an_edit_onward_is_caught() {
    let b = setup_len();
    let u = b as usize;
    for db in databases("cprehash") {
        let ledger = signed(&db.url, 4);
        let rows = ledger.store().load(TRIAL, 0).unwrap();
        let before_hash = rows[u + 3].hash.clone();
        // Replace the second consent and re-seal it and the two after it so that every
        // hash and link holds again.
        let mut prev = rows[u].hash.clone();
        let mut statements = vec![format!("DELETE FROM events WHERE seq >= {}", b + 2)];
        for (seq, who) in [(b + 2, 90usize), (b + 3, 3), (b + 4, 4)] {
            let e = consent(who).seal(seq, &prev);
            prev = e.hash.clone();
            statements.push(insert_sql(&e));
        }
        raw_sql(&db, &statements);
        let rows = open(&db.url).unwrap().load(TRIAL, 0).unwrap();
        assert!(
            verify_chain(TRIAL, &rows).is_ok(),
            "the chain alone is fooled"
        );
        let a = audit(&db.url, &[]);
        let f = &a.findings[0];
        assert_eq!(
            (f.kind, f.seq),
            (FindingKind::Rewritten, b + 2),
            "{}",
            db.kind
        );
        assert!(
            f.detail.contains(&format!("from {0} to {0}", b + 2)),
            "{}",
            f.detail
        );
        assert_eq!(a.latest.as_ref().unwrap().seq, b + 1);
        // A head published to the sponsor before the rewrite disagrees too.
        let published = PublishedHead {
            seq: b + 4,
            hash: before_hash.clone(),
        };
        let a = audit(&db.url, &[published]);
        assert!(a
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::Rewritten && f.seq == b + 4));
    }
}

#[test]
fn a_published_head_must_match_the_stored_event() {
    for db in databases("cphead") {
        let ledger = signed(&db.url, 2);
        let rows = ledger.store().load(TRIAL, 0).unwrap();
        let good = PublishedHead {
            seq: 7,
            hash: rows[6].hash.clone(),
        };
        assert!(audit(&db.url, std::slice::from_ref(&good)).ok(false));
        let bad = PublishedHead {
            seq: 7,
            hash: rows[5].hash.clone(),
        };
        let a = audit(&db.url, &[bad]);
        assert_eq!(a.findings[0].kind, FindingKind::Rewritten, "{}", db.kind);
    }
}

#[test]
fn backups_carry_checkpoints_and_a_replaced_trial_loses_them() {
    for db in databases("cpcopy") {
        let ledger = signed(&db.url, 3);
        let store = ledger.store();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("backup.sqlite");
        store.backup_to(&file).unwrap();
        let copy = rct_store::SqliteStore::open(&file).unwrap();
        assert_eq!(
            copy.checkpoints(TRIAL).unwrap(),
            store.checkpoints(TRIAL).unwrap(),
            "{}",
            db.kind
        );
        // Replacing the trial's events drops checkpoints that no longer sign them.
        let rows: Vec<StoredEvent> = store.load(TRIAL, 0).unwrap();
        let target = open(&db.url).unwrap();
        target.import(TRIAL, &rows[..5], true).unwrap();
        assert!(target.checkpoints(TRIAL).unwrap().is_empty(), "{}", db.kind);
    }
}

#[test]
fn shutdown_signs_what_every_n_left_unsigned() {
    let b = setup_len();
    assert!(b >= 4, "the setup batch alone reaches the signing interval");
    let db = sqlite_db();
    let told = Arc::new(Mutex::new(Vec::new()));
    let mut ledger = Ledger::new(open(&db.url).unwrap());
    ledger.set_signer(signer(&told) as Arc<dyn CheckpointSigner>, 4);
    setup(&ledger, 0); // events 1-b: signed (b >= 4)
    for i in 1..=3 {
        ledger
            .execute(TRIAL, |_| Ok::<_, String>(vec![consent(i)]))
            .unwrap();
    }
    let seqs = |l: &Ledger<Box<dyn Store>>| -> Vec<u64> {
        l.store()
            .checkpoints(TRIAL)
            .unwrap()
            .iter()
            .map(|c| c.seq)
            .collect()
    };
    assert_eq!(seqs(&ledger), [b]);
    assert_eq!(audit(&db.url, &[]).unsigned, Some((b + 1, b + 3)));
    let done = ledger.checkpoint_heads().unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(seqs(&ledger), [b, b + 3]);
    assert!(audit(&db.url, &[]).ok(false));
    // Nothing new: nothing to sign.
    assert!(ledger.checkpoint_heads().unwrap().is_empty());
}

/// What signing every batch costs: randomisations per second by 16 threads
/// sharing one ledger on SQLite, without and with a signer. A measurement,
/// not a check: `cargo test -p rct-store --test checkpoints -- --ignored
/// --nocapture signing_cost`.
#[test]
#[ignore]
#[allow(clippy::disallowed_methods)]
fn signing_cost() {
    for signing in [false, true] {
        let db = sqlite_db();
        let mut ledger = Ledger::new(open(&db.url).unwrap());
        if signing {
            let told = Arc::new(Mutex::new(Vec::new()));
            ledger.set_signer(signer(&told), 1);
        }
        let n = 2_000;
        setup(&ledger, n);
        let next = std::sync::atomic::AtomicUsize::new(1);
        let start = std::time::Instant::now();
        std::thread::scope(|s| {
            for _ in 0..16 {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if i > n {
                        break;
                    }
                    randomise(&ledger, i).unwrap();
                });
            }
        });
        let secs = start.elapsed().as_secs_f64();
        let cps = ledger.store().checkpoints(TRIAL).unwrap().len();
        println!(
            "signing {signing}: {n} randomisations in {secs:.2} s ({:.0}/s), {cps} checkpoints",
            n as f64 / secs
        );
    }
}
