//! The embedded backend: one SQLite file in WAL mode with `synchronous=FULL`.
//!
//! Appends (and the ledger's check-and-append rounds, [`Store::write_locked`])
//! run in `BEGIN IMMEDIATE` transactions, so the head is read and the new
//! events written under SQLite's single write lock; a process waiting for
//! the lock waits up to the busy timeout. Reads see a consistent snapshot and
//! never block the writer. Each store keeps a small pool of connections, and
//! any number of stores (in one process or many) may open the same file.

/// The SQLite bindings, for callers that need the file directly (tests, tools).
pub use rusqlite;
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, Transaction, TransactionBehavior};

use chrono::{DateTime, Utc};
use rct_record::{Checkpoint, Event, StoredEvent, GENESIS_HASH};

use crate::migrate::{check_numbering, latest, too_new, Migration, MIGRATIONS};
use crate::pool::{Pool, PoolConn};
use crate::security::{self, SecurityEntry};
use crate::{
    check_append, check_checkpoint, check_links, check_signs_last, checkpoint_time_text,
    parse_checkpoint_time, sessions, tokens, Locked, LoginToken, Snapshot, StateSnapshot, Store,
    StoreError, WebSession,
};

/// How many times a writer polls for another connection's write lock
/// (at most about 1 ms, soon some 50 µs apart: 30 s or more in all).
const BUSY_POLLS: i32 = 600_000;

/// Busy handler: wait a short random time and poll again. SQLite's default
/// handler sleeps up to 100 ms between polls, so a writer that just
/// committed would take the lock again and again while the others sleep.
/// Here a writer that has waited longer polls more often (from up to about
/// 1 ms between polls down to about 50 µs), so the lock tends to go to the
/// writers that have waited longest: close to a queue.
fn busy(polls: i32) -> bool {
    if polls >= BUSY_POLLS {
        return false;
    }
    let ceiling = (1_000 / (1 + polls.max(0) as u64 / 4)).max(50);
    let jitter = std::collections::hash_map::RandomState::new().hash_one(polls) % ceiling;
    std::thread::sleep(Duration::from_micros(20 + jitter));
    true
}

/// A pooled connection; the flag is false once its `synchronous` setting
/// could not be restored (it is then dropped, not reused).
struct SqliteConn(Connection, bool);

impl PoolConn for SqliteConn {
    fn healthy(&mut self) -> bool {
        self.1 && self.0.is_autocommit()
    }
}

/// An event store in one SQLite file.
pub struct SqliteStore {
    path: PathBuf,
    pool: Pool<SqliteConn>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path` and brings its schema
    /// up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, MIGRATIONS)
    }

    /// As [`SqliteStore::open`] with an explicit migration list (tests).
    pub fn open_with(path: impl AsRef<Path>, migrations: &[Migration]) -> Result<Self, StoreError> {
        check_numbering(migrations)?;
        let path = path.as_ref().to_path_buf();
        let mut conn = connect(&path)?;
        migrate(&mut conn, migrations, &path)?;
        let for_pool = path.clone();
        let pool = Pool::new(32, move || connect(&for_pool).map(|c| SqliteConn(c, true)));
        pool.put(SqliteConn(conn, true));
        Ok(SqliteStore { path, pool })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version recorded in the file.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        let conn = self.pool.get()?;
        conn.0
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        sql_err(&self.path, e)
    }

    /// Makes every committed transaction durable: syncs the write-ahead log
    /// (where a commit's frames are, until a checkpoint copies them into the
    /// database file and syncs that). Without a WAL file (nothing to sync
    /// there), the database file is synced.
    fn sync_wal(&self) -> Result<(), StoreError> {
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        let file = match std::fs::File::open(&wal) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::File::open(&self.path).map_err(|e| self.io_err(e))?
            }
            Err(e) => return Err(self.io_err(e)),
        };
        file.sync_data().map_err(|e| self.io_err(e))
    }

    fn io_err(&self, e: std::io::Error) -> StoreError {
        StoreError::Backend(format!(
            "sqlite {}: could not sync the committed write to disk: {e}",
            self.path.display()
        ))
    }
}

fn sql_err(path: &Path, e: rusqlite::Error) -> StoreError {
    StoreError::Backend(format!("sqlite {}: {e}", path.display()))
}

fn is_constraint(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| sql_err(path, e))?;
    conn.busy_handler(Some(busy))
        .map_err(|e| sql_err(path, e))?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(|e| sql_err(path, e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(format!(
            "sqlite {}: could not switch to WAL mode (journal mode is `{mode}`); use a file on a local disk",
            path.display()
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(|e| sql_err(path, e))?;
    Ok(conn)
}

fn recorded_version(conn: &Connection, path: &Path) -> Result<i64, StoreError> {
    let exists: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
            [],
            |r| r.get(0),
        )
        .map_err(|e| sql_err(path, e))?;
    if exists == 0 {
        return Ok(0);
    }
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )
    .map_err(|e| sql_err(path, e))
}

fn migrate(conn: &mut Connection, migrations: &[Migration], path: &Path) -> Result<(), StoreError> {
    let supported = latest(migrations);
    let what = format!("sqlite database {}", path.display());
    let current = recorded_version(conn, path)?;
    if current > supported {
        return Err(too_new(current, supported, &what));
    }
    if current == supported {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| sql_err(path, e))?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at TEXT NOT NULL
        )",
    )
    .map_err(|e| sql_err(path, e))?;
    // Re-read under the write lock: another process may have migrated.
    let current = recorded_version(&tx, path)?;
    if current > supported {
        return Err(too_new(current, supported, &what));
    }
    for m in migrations.iter().filter(|m| m.version > current) {
        tx.execute_batch(m.sqlite).map_err(|e| {
            StoreError::Schema(format!(
                "{what}: migration {} ({}) failed: {e}",
                m.version, m.name
            ))
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) \
             VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
            params![m.version, m.name],
        )
        .map_err(|e| sql_err(path, e))?;
    }
    tx.commit().map_err(|e| sql_err(path, e))
}

fn to_i64(seq: u64) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError::Backend(format!("sequence number {seq} too large")))
}

fn head_of(tx: &Transaction<'_>, trial: &str, path: &Path) -> Result<(u64, String), StoreError> {
    let row: Option<(i64, String)> = tx
        .query_row(
            "SELECT seq, hash FROM events WHERE trial = ?1 ORDER BY seq DESC LIMIT 1",
            [trial],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            other => Err(other),
        })
        .map_err(|e| sql_err(path, e))?;
    Ok(match row {
        Some((seq, hash)) => (u64::try_from(seq).unwrap_or(0), hash),
        None => (0, GENESIS_HASH.to_string()),
    })
}

fn read_rows(
    conn: &Connection,
    trial: &str,
    after: u64,
    path: &Path,
    visit: &mut dyn FnMut(StoredEvent) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT seq, body, hash, openings FROM events WHERE trial = ?1 AND seq > ?2 ORDER BY seq",
        )
        .map_err(|e| sql_err(path, e))?;
    let mut rows = stmt
        .query(params![trial, to_i64(after)?])
        .map_err(|e| sql_err(path, e))?;
    while let Some(row) = rows.next().map_err(|e| sql_err(path, e))? {
        let seq: i64 = row.get(0).map_err(|e| sql_err(path, e))?;
        visit(StoredEvent {
            seq: u64::try_from(seq).map_err(|_| {
                StoreError::Backend(format!("trial `{trial}`: negative sequence number {seq}"))
            })?,
            body: row.get(1).map_err(|e| sql_err(path, e))?,
            hash: row.get(2).map_err(|e| sql_err(path, e))?,
            openings: row.get(3).map_err(|e| sql_err(path, e))?,
        })?;
    }
    Ok(())
}

fn insert_rows(
    tx: &Transaction<'_>,
    trial: &str,
    rows: impl Iterator<Item = (u64, String, String, Option<String>)>,
    path: &Path,
) -> Result<(), StoreError> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO events (trial, seq, body, hash, openings) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(|e| sql_err(path, e))?;
    for (seq, body, hash, openings) in rows {
        stmt.execute(params![trial, to_i64(seq)?, body, hash, openings])
            .map_err(|e| {
                if is_constraint(&e) {
                    StoreError::Conflict {
                        trial: trial.into(),
                        seq,
                    }
                } else {
                    sql_err(path, e)
                }
            })?;
    }
    Ok(())
}

/// Inserts a checkpoint after checking it against the stored event (inside
/// the caller's write transaction).
fn insert_checkpoint(
    tx: &Transaction<'_>,
    checkpoint: &Checkpoint,
    path: &Path,
) -> Result<(), StoreError> {
    let seq = to_i64(checkpoint.seq)?;
    let stored: Option<String> = tx
        .query_row(
            "SELECT hash FROM events WHERE trial = ?1 AND seq = ?2",
            params![checkpoint.trial, seq],
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            other => Err(other),
        })
        .map_err(|e| sql_err(path, e))?;
    check_checkpoint(checkpoint, stored.as_deref())?;
    tx.prepare_cached(
        "INSERT OR IGNORE INTO checkpoints (trial, seq, hash, at, public_key, signature) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            checkpoint.trial,
            seq,
            checkpoint.hash,
            checkpoint_time_text(checkpoint),
            checkpoint.public_key,
            checkpoint.signature
        ])
    })
    .map_err(|e| sql_err(path, e))?;
    Ok(())
}

fn read_checkpoints(
    conn: &Connection,
    trial: &str,
    latest_only: bool,
    path: &Path,
) -> Result<Vec<Checkpoint>, StoreError> {
    let sql = if latest_only {
        "SELECT seq, hash, at, public_key, signature FROM checkpoints WHERE trial = ?1 \
         ORDER BY seq DESC, at DESC LIMIT 1"
    } else {
        "SELECT seq, hash, at, public_key, signature FROM checkpoints WHERE trial = ?1 \
         ORDER BY seq, at"
    };
    let mut stmt = conn.prepare_cached(sql).map_err(|e| sql_err(path, e))?;
    let rows = stmt
        .query_map([trial], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .map_err(|e| sql_err(path, e))?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, hash, at, public_key, signature) = row.map_err(|e| sql_err(path, e))?;
        let seq = u64::try_from(seq).map_err(|_| {
            StoreError::Backend(format!(
                "trial `{trial}`: negative checkpoint sequence number {seq}"
            ))
        })?;
        out.push(Checkpoint {
            trial: trial.to_string(),
            seq,
            at: parse_checkpoint_time(trial, seq, &at)?,
            hash,
            public_key,
            signature,
        });
    }
    Ok(out)
}

fn list_trials(conn: &Connection, path: &Path) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT DISTINCT trial FROM events ORDER BY trial")
        .map_err(|e| sql_err(path, e))?;
    let rows = stmt
        .query_map([], |r| r.get(0))
        .map_err(|e| sql_err(path, e))?;
    rows.collect::<Result<Vec<String>, _>>()
        .map_err(|e| sql_err(path, e))
}

/// A `BEGIN IMMEDIATE` transaction: SQLite's single write lock is held, so
/// it is the writer lock of every trial in the file.
struct SqliteLocked<'a> {
    tx: &'a Transaction<'a>,
    trial: &'a str,
    path: &'a Path,
}

impl Locked for SqliteLocked<'_> {
    fn scan(
        &mut self,
        after: u64,
        visit: &mut dyn FnMut(StoredEvent) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        read_rows(self.tx, self.trial, after, self.path, visit)
    }

    /// The one append body of [`Store::append`], [`Store::append_signed`]
    /// and the ledger's rounds.
    fn append(
        &mut self,
        events: &[Event],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<(), StoreError> {
        let trial = self.trial;
        if let Some(c) = checkpoint {
            check_signs_last(trial, events, c)?;
        }
        let bodies: Vec<String> = events.iter().map(Event::canonical_body).collect();
        let (head, head_hash) = head_of(self.tx, trial, self.path)?;
        check_append(trial, head, events)?;
        check_links(trial, &head_hash, events, &bodies)?;
        insert_rows(
            self.tx,
            trial,
            events
                .iter()
                .zip(bodies)
                .map(|(e, body)| (e.seq, body, e.hash.clone(), e.openings_text())),
            self.path,
        )?;
        if let Some(c) = checkpoint {
            insert_checkpoint(self.tx, c, self.path)?;
        }
        sessions::sqlite::end_users(self.tx, &sessions::ended_by(events))
            .map_err(|e| sql_err(self.path, e))?;
        Ok(())
    }

    fn latest_checkpoint(&mut self) -> Result<Option<Checkpoint>, StoreError> {
        Ok(read_checkpoints(self.tx, self.trial, true, self.path)?.pop())
    }
}

impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn log_security(&self, entry: &SecurityEntry) -> Result<(), StoreError> {
        let e = entry.bounded();
        let conn = self.pool.get()?;
        conn.0
            .execute(
                security::SQLITE_INSERT,
                params![e.at_text(), e.client, e.user, e.what],
            )
            .map_err(|err| self.err(err))?;
        Ok(())
    }

    fn security_log(&self, limit: usize) -> Result<Vec<SecurityEntry>, StoreError> {
        let conn = self.pool.get()?;
        let mut stmt = conn
            .0
            .prepare_cached(security::SQLITE_SELECT)
            .map_err(|e| self.err(e))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map([limit], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (at, client, user, what) = row.map_err(|e| self.err(e))?;
            out.push(SecurityEntry::from_row(&at, client, user, what)?);
        }
        Ok(out)
    }

    fn trials(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.pool.get()?;
        list_trials(&conn.0, &self.path)
    }

    fn load(&self, trial: &str, after: u64) -> Result<Vec<StoredEvent>, StoreError> {
        self.load_by_scan(trial, after)
    }

    fn scan(
        &self,
        trial: &str,
        after: u64,
        visit: &mut dyn FnMut(StoredEvent) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let conn = self.pool.get()?;
        read_rows(&conn.0, trial, after, &self.path, visit)
    }

    fn head(&self, trial: &str) -> Result<u64, StoreError> {
        let conn = self.pool.get()?;
        let seq: i64 = conn
            .0
            .query_row(
                "SELECT COALESCE(MAX(seq), 0) FROM events WHERE trial = ?1",
                [trial],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        Ok(u64::try_from(seq).unwrap_or(0))
    }

    fn append(&self, trial: &str, events: &[Event]) -> Result<(), StoreError> {
        self.write_locked(trial, &mut |locked| locked.append(events, None))
    }

    fn write_locked(
        &self,
        trial: &str,
        write: &mut dyn FnMut(&mut dyn Locked) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut conn = self.pool.get()?;
        // The commit itself does not wait for the disk (`synchronous=NORMAL`
        // for this transaction), so the write lock is held for the work
        // only; the WAL is synced after the lock is released, before the
        // write is acknowledged. Writers of several processes thus overlap
        // their syncs instead of queueing behind each other's.
        conn.0
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| self.err(e))?;
        let written = (|| {
            let tx = conn
                .0
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| self.err(e))?;
            write(&mut SqliteLocked {
                tx: &tx,
                trial,
                path: &self.path,
            })?;
            tx.commit().map_err(|e| self.err(e))
        })();
        if conn.0.pragma_update(None, "synchronous", "FULL").is_err() {
            conn.1 = false;
        }
        drop(conn);
        written?;
        self.sync_wal()
    }

    fn add_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        let mut conn = self.pool.get()?;
        let tx = conn
            .0
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        insert_checkpoint(&tx, checkpoint, &self.path)?;
        tx.commit().map_err(|e| self.err(e))
    }

    fn checkpoints(&self, trial: &str) -> Result<Vec<Checkpoint>, StoreError> {
        let conn = self.pool.get()?;
        read_checkpoints(&conn.0, trial, false, &self.path)
    }

    fn latest_checkpoint(&self, trial: &str) -> Result<Option<Checkpoint>, StoreError> {
        let conn = self.pool.get()?;
        Ok(read_checkpoints(&conn.0, trial, true, &self.path)?.pop())
    }

    fn append_signed(
        &self,
        trial: &str,
        events: &[Event],
        checkpoint: &Checkpoint,
    ) -> Result<(), StoreError> {
        self.write_locked(trial, &mut |locked| locked.append(events, Some(checkpoint)))
    }

    fn check_ready(&self) -> Result<(), StoreError> {
        let found = self.schema_version()?;
        let wanted = latest(MIGRATIONS);
        if found == wanted {
            return Ok(());
        }
        Err(StoreError::Schema(format!(
            "the database has schema version {found}, this rct writes version {wanted}"
        )))
    }

    fn save_snapshot(&self, snap: &StateSnapshot) -> Result<(), StoreError> {
        let mut conn = self.pool.get()?;
        let tx = conn
            .0
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let seq = to_i64(snap.seq)?;
        tx.execute(
            "INSERT OR REPLACE INTO snapshots (trial, seq, hash, digest, body) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![snap.trial, seq, snap.hash, snap.digest, snap.body],
        )
        .map_err(|e| self.err(e))?;
        tx.execute(
            "DELETE FROM snapshots WHERE trial = ?1 AND seq NOT IN \
             (SELECT seq FROM snapshots WHERE trial = ?1 ORDER BY seq DESC LIMIT ?2)",
            params![snap.trial, crate::snapshot::KEEP as i64],
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    fn latest_snapshots(
        &self,
        trial: &str,
        limit: usize,
    ) -> Result<Vec<StateSnapshot>, StoreError> {
        let conn = self.pool.get()?;
        let mut stmt = conn
            .0
            .prepare_cached(
                "SELECT seq, hash, digest, body FROM snapshots WHERE trial = ?1 ORDER BY seq DESC LIMIT ?2",
            )
            .map_err(|e| self.err(e))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![trial, limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, hash, digest, body) = row.map_err(|e| self.err(e))?;
            out.push(StateSnapshot {
                trial: trial.to_string(),
                seq: u64::try_from(seq).unwrap_or(0),
                hash,
                digest,
                body,
            });
        }
        Ok(out)
    }

    fn snapshot(&self, only: Option<&str>) -> Result<Snapshot, StoreError> {
        let mut conn = self.pool.get()?;
        let tx = conn.0.transaction().map_err(|e| self.err(e))?;
        let trials = match only {
            Some(t) => vec![t.to_string()],
            None => list_trials(&tx, &self.path)?,
        };
        let mut out = Vec::with_capacity(trials.len());
        for trial in trials {
            let mut rows = Vec::new();
            read_rows(&tx, &trial, 0, &self.path, &mut |e| {
                rows.push(e);
                Ok(())
            })?;
            out.push((trial, rows));
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(out)
    }

    fn import(&self, trial: &str, rows: &[StoredEvent], replace: bool) -> Result<(), StoreError> {
        let mut conn = self.pool.get()?;
        let tx = conn
            .0
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        if replace {
            tx.execute("DELETE FROM events WHERE trial = ?1", [trial])
                .map_err(|e| self.err(e))?;
            // Checkpoints of the replaced chain do not sign the new one.
            tx.execute("DELETE FROM checkpoints WHERE trial = ?1", [trial])
                .map_err(|e| self.err(e))?;
            tx.execute("DELETE FROM snapshots WHERE trial = ?1", [trial])
                .map_err(|e| self.err(e))?;
        } else {
            let (head, _) = head_of(&tx, trial, &self.path)?;
            if head > 0 {
                return Err(StoreError::NotEmpty {
                    what: format!("trial `{trial}` already has {head} events"),
                });
            }
        }
        insert_rows(
            &tx,
            trial,
            rows.iter()
                .map(|r| (r.seq, r.body.clone(), r.hash.clone(), r.openings.clone())),
            &self.path,
        )?;
        tx.commit().map_err(|e| self.err(e))
    }

    fn replace_chain(
        &self,
        trial: &str,
        old_head: (u64, &str),
        rows: &[StoredEvent],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<(), StoreError> {
        let mut conn = self.pool.get()?;
        // `BEGIN IMMEDIATE`: the database's write lock, which is every
        // trial's writer lock on SQLite.
        let tx = conn
            .0
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let (seq, hash) = head_of(&tx, trial, &self.path)?;
        if (seq, hash.as_str()) != old_head {
            return Err(StoreError::Conflict {
                trial: trial.into(),
                seq,
            });
        }
        for table in ["events", "checkpoints", "snapshots"] {
            tx.execute(&format!("DELETE FROM {table} WHERE trial = ?1"), [trial])
                .map_err(|e| self.err(e))?;
        }
        insert_rows(
            &tx,
            trial,
            rows.iter()
                .map(|r| (r.seq, r.body.clone(), r.hash.clone(), r.openings.clone())),
            &self.path,
        )?;
        if let Some(cp) = checkpoint {
            insert_checkpoint(&tx, cp, &self.path)?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    fn backup_to(&self, file: &Path) -> Result<(), StoreError> {
        if file.exists() {
            return Err(StoreError::NotEmpty {
                what: format!("{} already exists; choose a new file", file.display()),
            });
        }
        let target = file.to_str().ok_or_else(|| {
            StoreError::Backend(format!("{}: the path is not valid UTF-8", file.display()))
        })?;
        let conn = self.pool.get()?;
        conn.0
            .execute("VACUUM INTO ?1", [target])
            .map_err(|e| self.err(e))?;
        // A backup is the trial record: login tokens and sessions stay behind.
        let copy = Connection::open(file).map_err(|e| self.err(e))?;
        copy.execute_batch("DELETE FROM login_tokens; DELETE FROM sessions")
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    fn put_token(&self, token: &LoginToken, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut conn = self.pool.get()?;
        let tx = conn
            .0
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        tx.execute(
            "DELETE FROM login_tokens WHERE expires_at <= ?1",
            [tokens::secs(now)],
        )
        .map_err(|e| self.err(e))?;
        tx.execute(
            "INSERT INTO login_tokens (token_sha256, user_name, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4)",
            params![
                token.sha256,
                token.user,
                tokens::secs(token.created),
                tokens::secs(token.expires)
            ],
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    fn token(&self, sha256: &str) -> Result<Option<LoginToken>, StoreError> {
        let conn = self.pool.get()?;
        conn.0
            .query_row(
                "SELECT user_name, created_at, expires_at FROM login_tokens WHERE token_sha256 = ?1",
                [sha256],
                |r| {
                    Ok(LoginToken {
                        sha256: sha256.to_string(),
                        user: r.get(0)?,
                        created: tokens::time(r.get(1)?),
                        expires: tokens::time(r.get(2)?),
                    })
                },
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                other => Err(self.err(other)),
            })
    }

    fn delete_token(&self, sha256: &str) -> Result<bool, StoreError> {
        let conn = self.pool.get()?;
        let n = conn
            .0
            .execute("DELETE FROM login_tokens WHERE token_sha256 = ?1", [sha256])
            .map_err(|e| self.err(e))?;
        Ok(n > 0)
    }

    fn put_session(&self, session: &WebSession, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut conn = self.pool.get()?;
        let tx = conn
            .0
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        sessions::sqlite::put(&tx, session, now).map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    fn session(&self, sha256: &str) -> Result<Option<WebSession>, StoreError> {
        let conn = self.pool.get()?;
        sessions::sqlite::get(&conn.0, sha256).map_err(|e| self.err(e))
    }

    fn touch_session(&self, sha256: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let conn = self.pool.get()?;
        sessions::sqlite::touch(&conn.0, sha256, now).map_err(|e| self.err(e))
    }

    fn delete_session(&self, sha256: &str) -> Result<bool, StoreError> {
        let conn = self.pool.get()?;
        sessions::sqlite::delete(&conn.0, sha256).map_err(|e| self.err(e))
    }

    fn end_sessions(&self, user: &str) -> Result<usize, StoreError> {
        let conn = self.pool.get()?;
        sessions::sqlite::end_users(&conn.0, [&user.to_string()]).map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests;
