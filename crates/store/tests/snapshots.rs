//! State snapshots on both backends: a start from a snapshot gives exactly
//! the state folded from the first event (the reference: a fresh fold of the
//! stored events with `TrialState::from_events`), and a tampered, stale or
//! misfiled snapshot is ignored.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use rct_record::{Event, TrialState};
use rct_store::{open, Ledger, StateSnapshot, Store};
use support::*;

/// The state folded from every stored event, without any snapshot.
fn reference(store: &dyn Store) -> TrialState {
    let events: Vec<Event> = store
        .load(TRIAL, 0)
        .unwrap()
        .iter()
        .map(|r| r.event().unwrap())
        .collect();
    TrialState::from_events(TRIAL, events.iter()).unwrap()
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
fn a_start_from_a_snapshot_folds_only_the_tail_into_the_same_state() {
    for db in databases("snap") {
        let ledger = Ledger::new(open(&db.url).unwrap());
        setup(&ledger, 16);
        for i in 1..=6 {
            randomise(&ledger, i).unwrap();
        }
        let at = ledger.save_snapshot(TRIAL).unwrap();
        assert!(at > 0);
        let saved = ledger.store().latest_snapshots(TRIAL, 5).unwrap();
        assert_eq!(saved.len(), 1, "{}", db.kind);
        assert_eq!(saved[0].seq, at);
        // More events after the snapshot: the tail.
        for i in 7..=12 {
            randomise(&ledger, i).unwrap();
        }
        let fresh = Ledger::new(open(&db.url).unwrap());
        let state = fresh.state(TRIAL).unwrap();
        assert_eq!(*state, reference(fresh.store()), "{}", db.kind);
        // The snapshot itself reads back to the state it was taken of
        // (password hashes included, which the record's Serialize omits).
        let snap_state = saved[0].state().unwrap();
        let upto: Vec<Event> = fresh
            .store()
            .load(TRIAL, 0)
            .unwrap()
            .iter()
            .take(at as usize)
            .map(|r| r.event().unwrap())
            .collect();
        let expected = TrialState::from_events(TRIAL, upto.iter()).unwrap();
        assert_eq!(snap_state, expected, "{}", db.kind);
        assert!(expected.users.values().any(|u| !u.password_hash.is_empty()));
        // Only the newest few are kept.
        for i in 13..=16 {
            randomise(&ledger, i).unwrap();
            ledger.save_snapshot(TRIAL).unwrap();
        }
        assert_eq!(
            ledger.store().latest_snapshots(TRIAL, 10).unwrap().len(),
            rct_store::snapshot::KEEP
        );
    }
}

#[test]
fn tampered_or_stale_snapshots_are_ignored() {
    for db in databases("snaptamper") {
        let ledger = Ledger::new(open(&db.url).unwrap());
        setup(&ledger, 4);
        for i in 1..=4 {
            randomise(&ledger, i).unwrap();
        }
        let at = ledger.save_snapshot(TRIAL).unwrap();
        let good = ledger.store().latest_snapshots(TRIAL, 1).unwrap().remove(0);
        let truth = reference(ledger.store());
        let arm_of = |s: &TrialState| {
            s.participants[&pid(1)]
                .allocation
                .as_ref()
                .unwrap()
                .arm
                .clone()
        };
        let real_arm = arm_of(&truth);
        let other_arm = if real_arm == "hiit" { "usual" } else { "hiit" };
        assert!(good.body.contains(&format!("\"arm\":\"{real_arm}\"")));

        // 1. The body edited (participant 1's arm swapped), digest left.
        let edited = good.body.replacen(
            &format!("\"arm\":\"{real_arm}\""),
            &format!("\"arm\":\"{other_arm}\""),
            1,
        );
        raw_sql(
            &db,
            &[format!(
                "UPDATE snapshots SET body = '{}' WHERE trial = '{TRIAL}' AND seq = {at}",
                edited.replace('\'', "''")
            )],
        );
        let fresh = Ledger::new(open(&db.url).unwrap());
        assert_eq!(
            arm_of(&fresh.state(TRIAL).unwrap()),
            real_arm,
            "{}",
            db.kind
        );
        assert_eq!(*fresh.state(TRIAL).unwrap(), truth);

        // 2. A well-formed snapshot (own digest right) filed under an event
        // whose stored hash is another: stale (e.g. the chain was replaced).
        let mut stale = StateSnapshot::of(&truth).unwrap();
        stale.hash = "ab".repeat(32);
        stale.digest = rct_store::snapshot::digest(TRIAL, stale.seq, &stale.hash, &stale.body);
        raw_sql(
            &db,
            &[format!("DELETE FROM snapshots WHERE trial = '{TRIAL}'")],
        );
        ledger.store().save_snapshot(&stale).unwrap();
        assert!(stale.state().is_err(), "its state does not carry that head");
        let fresh = Ledger::new(open(&db.url).unwrap());
        assert_eq!(*fresh.state(TRIAL).unwrap(), truth, "{}", db.kind);

        // 3. A snapshot claiming a later event than is stored.
        let mut ahead = good.clone();
        ahead.seq = at + 50;
        ahead.digest = rct_store::snapshot::digest(TRIAL, ahead.seq, &ahead.hash, &ahead.body);
        ledger.store().save_snapshot(&ahead).unwrap();
        let fresh = Ledger::new(open(&db.url).unwrap());
        assert_eq!(*fresh.state(TRIAL).unwrap(), truth, "{}", db.kind);
    }
}

#[test]
fn a_long_fold_saves_a_snapshot_for_the_next_start() {
    let db = sqlite_db();
    let ledger = Ledger::new(open(&db.url).unwrap());
    setup(&ledger, 1);
    // Enough events past any snapshot: written straight to the store.
    let state = ledger.state(TRIAL).unwrap();
    let mut head = state.head.clone();
    let mut seq = state.seq;
    let mut batch = Vec::new();
    let n = rct_store::SNAPSHOT_EVERY + 10;
    for k in 0..n {
        let draft = rct_record::EventDraft {
            software: None,
            trial: TRIAL.into(),
            at: at(),
            actor: "nina".into(),
            role: rct_record::Role::ResearchNurse,
            site: Some("01".into()),
            reason: None,
            payload: rct_record::Payload::ValueEntered {
                participant: pid(1),
                visit: "week0".into(),
                form: "vitals".into(),
                field: format!("f{}", k % 50),
                value: serde_json::json!(k),
            },
        };
        seq += 1;
        let e = draft.seal(seq, &head);
        head = e.hash.clone();
        batch.push(e);
    }
    ledger.store().append(TRIAL, &batch).unwrap();
    assert!(ledger
        .store()
        .latest_snapshots(TRIAL, 1)
        .unwrap()
        .is_empty());
    let fresh = Ledger::new(open(&db.url).unwrap());
    assert_eq!(fresh.state(TRIAL).unwrap().seq, seq);
    let saved = fresh.store().latest_snapshots(TRIAL, 1).unwrap();
    assert_eq!(saved.first().map(|s| s.seq), Some(seq));
}
