//! Web sessions on every backend: kept by their token's SHA-256 only,
//! found, touched (never backwards), deleted one by one or by user, ended
//! ones purged when a new one is kept, left out of backups, and carried
//! through `Box<dyn Store>` (what every edge holds).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use chrono::{DateTime, Duration, Utc};
use rct_store::{open, MemStore, Store, WebSession};
use support::*;

fn t0() -> DateTime<Utc> {
    "2026-11-23T09:00:00Z".parse().unwrap()
}

fn session(n: u8, user: &str, created: DateTime<Utc>) -> WebSession {
    WebSession {
        sha256: rct_record::sha256_hex(&[n]),
        user: user.into(),
        csrf: rct_record::sha256_hex(&[n, n]),
        created,
        last_seen: created,
        expires: created + Duration::hours(12),
        idle_secs: 7200,
    }
}

fn exercise(store: &dyn Store, kind: &str) {
    let a = session(1, "ada", t0());
    let b = session(2, "nina", t0());
    let c = session(3, "nina", t0());
    assert_eq!(store.session(&a.sha256).unwrap(), None, "{kind}");
    for s in [&a, &b, &c] {
        store.put_session(s, t0()).unwrap();
    }
    assert_eq!(store.session(&a.sha256).unwrap(), Some(a.clone()), "{kind}");
    // A use is recorded; an older one does not move it back.
    let later = t0() + Duration::minutes(90);
    store.touch_session(&a.sha256, later).unwrap();
    store.touch_session(&a.sha256, t0()).unwrap();
    assert_eq!(
        store.session(&a.sha256).unwrap().unwrap().last_seen,
        later,
        "{kind}"
    );
    // Logout deletes one; ending a user deletes all of theirs.
    assert!(store.delete_session(&a.sha256).unwrap(), "{kind}");
    assert!(!store.delete_session(&a.sha256).unwrap(), "{kind}");
    assert_eq!(store.end_sessions("nina").unwrap(), 2, "{kind}");
    assert_eq!(store.session(&b.sha256).unwrap(), None, "{kind}");
    // Keeping a session purges the idle ones (2 h unused) and the old ones.
    let d = session(4, "ada", t0());
    store.put_session(&d, t0()).unwrap();
    let e = session(5, "ada", t0() + Duration::hours(2));
    store.put_session(&e, e.created).unwrap();
    assert_eq!(store.session(&d.sha256).unwrap(), None, "{kind}: idle kept");
    assert_eq!(store.session(&e.sha256).unwrap(), Some(e), "{kind}");
}

#[test]
fn sessions_are_kept_found_touched_ended_and_purged_on_every_backend() {
    exercise(&MemStore::new(), "memory");
    let boxed: Box<dyn Store> = Box::new(MemStore::new());
    exercise(&boxed, "boxed memory");
    for db in databases("sessions") {
        exercise(&open(&db.url).unwrap(), db.kind);
    }
}

#[test]
fn backups_leave_sessions_behind() {
    for db in databases("sessionbackup") {
        let store = open(&db.url).unwrap();
        let a = session(1, "ada", t0());
        store.put_session(&a, t0()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("backup.sqlite");
        store.backup_to(&file).unwrap();
        let copy = open(file.to_str().unwrap()).unwrap();
        assert_eq!(copy.session(&a.sha256).unwrap(), None, "{}", db.kind);
        assert!(store.session(&a.sha256).unwrap().is_some(), "{}", db.kind);
    }
}
