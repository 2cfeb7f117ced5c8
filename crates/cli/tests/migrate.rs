#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `rct audit migrate`: a trial recorded in chain format 1 (values in plain
//! in the hashed bodies, as rct wrote records before commitments) is
//! verified, re-sealed in one audited step and written back; `rct audit
//! verify` then passes, the state folded before and after is the same, no
//! hashed body holds an arm, and the blinded audit trail shows the
//! migration with the old head.
//!
//! The format-1 record is the web demo's LUPEX trial (accounts, roles,
//! screening, consents, randomisations) with a HIIT session value entered
//! by the physiologist, rewritten event by event as format 1
//! (`rct_record::legacy::chain_v1`) into a SQLite file.

use std::collections::BTreeSet;
use std::sync::Arc;

use assert_cmd::Command;
use rct_record::legacy::{self, comparable};
use rct_record::{Actor, EventDraft, Role, TrialState};
use rct_store::Store;
use serde_json::{json, Value};

const TRIAL: &str = "lupex";

fn rct() -> Command {
    let mut c = Command::cargo_bin("rct").unwrap();
    c.env_remove("RCT_SIGNING_KEY").env_remove("RCT_DB");
    c
}

/// The demo's LUPEX events (format 2, with their openings) after the
/// physiologist entered a HIIT session for every HIIT participant.
fn demo_events() -> Vec<rct_record::Event> {
    let now: chrono::DateTime<chrono::Utc> = "2026-03-01T10:00:00Z".parse().unwrap();
    let app = rct_web::App::new(
        Box::new(rct_store::MemStore::new()),
        rct_web::demo::seed_protocols().unwrap(),
        rct_web::Passwords::new(64),
        Arc::new(move || now),
    );
    rct_web::demo::seed_with(&app, 0, |_| {
        Ok(rct_record::TrialSecrets::insecure_for_tests(4242))
    })
    .unwrap();
    let state = app.ledger.state(TRIAL).unwrap();
    let physio = Actor::new("physio", Role::InterventionStaff, None);
    for p in state.participants.values() {
        if p.allocation.as_ref().is_some_and(|a| a.arm == "hiit") {
            let cmd = rct_record::Command::EnterValue {
                participant: p.id.clone(),
                visit: "intervention".into(),
                form: "exercise_session".into(),
                field: "compliant_bouts".into(),
                value: json!(3),
            };
            app.ledger
                .execute(TRIAL, |s| s.check(&physio, now, None, &cmd))
                .unwrap();
        }
    }
    app.ledger
        .store()
        .load(TRIAL, 0)
        .unwrap()
        .iter()
        .map(|r| r.event().unwrap())
        .collect()
}

fn drafts(events: &[rct_record::Event]) -> Vec<EventDraft> {
    events
        .iter()
        .map(|e| EventDraft {
            software: e.software.clone(),
            trial: e.trial.clone(),
            at: e.at,
            actor: e.actor.clone(),
            role: e.role,
            site: e.site.clone(),
            reason: e.reason.clone(),
            payload: e.payload.clone(),
        })
        .collect()
}

#[test]
fn a_format_1_record_migrates_and_verifies() {
    let events = demo_events();
    let hiit: BTreeSet<String> = events
        .iter()
        .filter_map(|e| match &e.payload {
            rct_record::Payload::Randomised {
                participant, arm, ..
            } if arm == "hiit" => Some(participant.clone()),
            _ => None,
        })
        .collect();
    assert!(!hiit.is_empty());
    let rows = legacy::chain_v1(drafts(&events));
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("old.sqlite").display());
    let store = rct_store::open(&db).unwrap();
    store.import(TRIAL, &rows, false).unwrap();
    let old_head = rows.last().unwrap().hash.clone();
    // The old bodies hold the arms in plain.
    assert!(rows.iter().any(|r| r.body.contains("\"arm\":\"hiit\"")));
    assert!(rows[0].body.contains("\"seed\":4242"), "{}", rows[0].body);
    assert!(rows.iter().any(|r| r.body.contains("exercise_session")));
    let (_, old_events) = legacy::verify_v1(TRIAL, &rows).unwrap();
    let before = legacy::fold_v1(TRIAL, &old_events).unwrap();

    // Today's rct reads format 2 only and says what to do.
    let out = rct()
        .args(["audit", "verify", "--db", &db, "--trial", TRIAL])
        .assert()
        .code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string()
        + &String::from_utf8_lossy(&out.get_output().stderr);
    assert!(text.contains("rct audit migrate"), "{text}");

    let migrate = |user: &str, password: &str, reason: &str| {
        let mut c = rct();
        c.args(["audit", "migrate", "--db", &db, "--trial", TRIAL])
            .args(["--user", user, "--reason", reason, "--password-stdin"])
            .write_stdin(format!("{password}\n"));
        c
    };
    // A wrong password, a user who is not an administrator and an empty
    // reason change nothing.
    migrate("admin", "wrong", "format 2").assert().failure();
    migrate("monitor", "monitor-demo-pw", "format 2")
        .assert()
        .failure();
    migrate("admin", "admin-demo-pw", " ").assert().failure();
    assert_eq!(store.load(TRIAL, 0).unwrap(), rows);

    let out = migrate("admin", "admin-demo-pw", "re-seal under chain format 2")
        .arg("--json")
        .assert()
        .success();
    let report: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(report["migrated"], true);
    assert_eq!(report["old_head"]["hash"], old_head.as_str());
    assert_eq!(report["old_head"]["seq"], rows.len());
    assert_eq!(report["new_head"]["seq"], rows.len() + 1);

    // The new chain verifies, with the checkpoint the migration signed.
    let out = rct()
        .args(["audit", "verify", "--db", &db, "--trial", TRIAL, "--json"])
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let check = &v["trials"][0];
    assert_eq!(check["intact"], true, "{v}");
    assert_eq!(check["events"], rows.len() + 1);
    assert_eq!(check["checkpoint"]["seq"], rows.len() + 1, "{v}");

    // Same state before and after; no arm in any hashed body; every HIIT
    // session sealed whole.
    let new_rows = store.load(TRIAL, 0).unwrap();
    let (_, new_events) = rct_record::verify_chain(TRIAL, &new_rows).unwrap();
    let after = TrialState::from_events(TRIAL, &new_events).unwrap();
    assert_eq!(comparable(&before), comparable(&after));
    assert_eq!(after.seq, before.seq + 1);
    for r in &new_rows {
        for word in [
            "\"hiit\"",
            "\"control\"",
            "exercise_session",
            "\"seed\":4242",
        ] {
            assert!(!r.body.contains(word), "{word} in {}", r.body);
        }
    }
    let sealed = new_events.iter().filter(|e| e.is_sealed_whole()).count();
    assert_eq!(sealed, hiit.len());

    // The monitor's trail: the migration, with the old head, by whom and
    // why; no arm; the sealed sessions as sealed entries.
    let out = rct()
        .args(["audit", "log", "--db", &db, "--trial", TRIAL])
        .args(["--as-role", "monitor", "--json"])
        .assert()
        .success();
    let log: Vec<Value> = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let last = log.last().unwrap();
    assert_eq!(last["payload"]["type"], "chain_migrated");
    assert_eq!(last["payload"]["old_head_hash"], old_head.as_str());
    assert_eq!(last["payload"]["from_format"], 1);
    assert_eq!(last["actor"], "admin");
    assert_eq!(last["reason"], "re-seal under chain format 2");
    let text = serde_json::to_string(&log).unwrap();
    assert!(!text.contains("\"hiit\""), "an arm in the monitor's trail");
    assert_eq!(
        log.iter()
            .filter(|e| e["payload"]["type"] == "sealed")
            .count(),
        hiit.len()
    );

    // Migrating again: nothing to do.
    let out = migrate("admin", "admin-demo-pw", "again")
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains("nothing to migrate"));
    assert_eq!(store.load(TRIAL, 0).unwrap(), new_rows);
}
