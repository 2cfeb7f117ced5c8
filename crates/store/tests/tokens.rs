//! Command-line login tokens on every backend: kept by their SHA-256 only,
//! found, deleted, expired ones purged when a new one is kept, left out of
//! backups, and carried through `Box<dyn Store>` (what every edge holds).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use chrono::{DateTime, Duration, Utc};
use rct_store::{open, LoginToken, MemStore, Store};
use support::*;

fn t0() -> DateTime<Utc> {
    "2026-11-23T09:00:00Z".parse().unwrap()
}

fn token(n: u8, user: &str, created: DateTime<Utc>, hours: i64) -> LoginToken {
    LoginToken {
        sha256: rct_record::sha256_hex(&[n]),
        user: user.into(),
        created,
        expires: created + Duration::hours(hours),
    }
}

fn exercise(store: &dyn Store, kind: &str) {
    let a = token(1, "ada", t0(), 12);
    let b = token(2, "nina", t0(), 12);
    assert_eq!(store.token(&a.sha256).unwrap(), None, "{kind}");
    store.put_token(&a, t0()).unwrap();
    store.put_token(&b, t0()).unwrap();
    assert_eq!(store.token(&a.sha256).unwrap(), Some(a.clone()), "{kind}");
    assert_eq!(store.token(&b.sha256).unwrap().unwrap().user, "nina");
    // Deleting one leaves the other.
    assert!(store.delete_token(&a.sha256).unwrap(), "{kind}");
    assert!(!store.delete_token(&a.sha256).unwrap(), "{kind}");
    assert_eq!(store.token(&a.sha256).unwrap(), None, "{kind}");
    assert!(store.token(&b.sha256).unwrap().is_some(), "{kind}");
    // Keeping a token 13 hours later purges the expired one.
    let later = t0() + Duration::hours(13);
    let c = token(3, "ada", later, 12);
    store.put_token(&c, later).unwrap();
    assert_eq!(
        store.token(&b.sha256).unwrap(),
        None,
        "{kind}: expired token kept"
    );
    assert_eq!(store.token(&c.sha256).unwrap(), Some(c), "{kind}");
}

#[test]
fn tokens_are_kept_found_deleted_and_purged_on_every_backend() {
    exercise(&MemStore::new(), "memory");
    let boxed: Box<dyn Store> = Box::new(MemStore::new());
    exercise(&boxed, "boxed memory");
    for db in databases("tokens") {
        exercise(&open(&db.url).unwrap(), db.kind);
    }
}

#[test]
fn backups_leave_tokens_behind() {
    for db in databases("tokenbackup") {
        let store = open(&db.url).unwrap();
        let a = token(1, "ada", t0(), 12);
        store.put_token(&a, t0()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("backup.sqlite");
        store.backup_to(&file).unwrap();
        let copy = open(file.to_str().unwrap()).unwrap();
        assert_eq!(copy.token(&a.sha256).unwrap(), None, "{}", db.kind);
        assert!(store.token(&a.sha256).unwrap().is_some(), "{}", db.kind);
    }
}
