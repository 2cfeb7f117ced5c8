//! Unit tests of the SQLite backend: migrations, WAL and sync settings.
use super::*;

#[test]
fn migrations_apply_once_and_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sqlite");
    let store = SqliteStore::open(&path).unwrap();
    let n = latest(MIGRATIONS);
    assert_eq!(store.schema_version().unwrap(), n);
    drop(store);
    // A further step applies on the next open, once.
    let mut more = MIGRATIONS.to_vec();
    more.push(Migration {
        version: n + 1,
        name: "test index",
        sqlite: "CREATE INDEX events_hash ON events(hash);",
        postgres: "",
    });
    let store = SqliteStore::open_with(&path, &more).unwrap();
    assert_eq!(store.schema_version().unwrap(), n + 1);
    drop(store);
    let store = SqliteStore::open_with(&path, &more).unwrap();
    assert_eq!(store.schema_version().unwrap(), n + 1);
    drop(store);
    // This binary refuses the newer file.
    let err = SqliteStore::open(&path).unwrap_err().to_string();
    assert!(
        err.contains(&format!("schema version {}", n + 1))
            && err.contains(&format!("supports versions up to {n}")),
        "{err}"
    );
}

#[test]
fn a_version_1_file_gains_the_checkpoints_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite");
    drop(SqliteStore::open_with(&path, &MIGRATIONS[..1]).unwrap());
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), latest(MIGRATIONS));
    assert!(store.checkpoints("T").unwrap().is_empty());
}

#[test]
fn misnumbered_migrations_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bad = [Migration {
        version: 2,
        ..MIGRATIONS[0]
    }];
    assert!(SqliteStore::open_with(dir.path().join("x.sqlite"), &bad).is_err());
}

#[test]
fn file_is_wal_with_full_sync() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("t.sqlite")).unwrap();
    let conn = store.pool.get().unwrap();
    let mode: String = conn
        .0
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    let sync: i64 = conn
        .0
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(sync, 2, "synchronous=FULL is 2");
}
