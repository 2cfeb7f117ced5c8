//! The server backend: PostgreSQL through the synchronous `postgres` client.
//!
//! An append (and a ledger's check-and-append round, [`Store::write_locked`])
//! runs in one transaction that first takes the trial's advisory lock
//! (`pg_advisory_xact_lock` on [`trial_lock_key`], waiting at most 30 s),
//! then reads the head and inserts the new rows, so writers of one trial in
//! any number of processes take turns. The `UNIQUE (trial, seq)` constraint
//! stays as a second guard: a writer that bypassed the lock and read the
//! same head fails with a unique violation, reported as
//! [`StoreError::Conflict`] (as is a serialization failure). Any number of
//! processes may share one database. Backups read every trial inside one
//! `REPEATABLE READ` transaction, so they are a single consistent snapshot.

/// The PostgreSQL client, for callers that need the database directly (tests, tools).
pub use postgres;
use std::path::Path;

use postgres::error::SqlState;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Client, Config, GenericClient, IsolationLevel, NoTls};

use chrono::{DateTime, Utc};
use rct_record::{Checkpoint, Event, StoredEvent, GENESIS_HASH};

use crate::migrate::{check_numbering, latest, too_new, Migration, MIGRATIONS};
use crate::pool::{Pool, PoolConn};
use crate::security::{self, SecurityEntry};
use crate::{
    check_append, check_checkpoint, check_links, check_signs_last, checkpoint_time_text,
    parse_checkpoint_time, sessions, tokens, trial_lock_key, Locked, LoginToken, Snapshot,
    StateSnapshot, Store, StoreError, WebSession,
};

/// The advisory lock key held while migrating (any constant unique to rct).
const MIGRATION_LOCK: i64 = 0x0072_6374_5f6d_6967; // "rct_mig"

/// How long a writer waits for a trial's lock before giving up.
const LOCK_TIMEOUT: &str = "30s";

/// Rows per INSERT statement when importing.
const CHUNK: usize = 5_000;

struct PgConn(Client);

impl PoolConn for PgConn {
    fn healthy(&mut self) -> bool {
        !self.0.is_closed()
    }
}

/// An event store in a PostgreSQL database.
pub struct PgStore {
    target: String,
    pool: Pool<PgConn>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("target", &self.target)
            .finish()
    }
}

fn describe(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres {}:{port}/{}",
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    )
}

fn pg_err(target: &str, e: postgres::Error) -> StoreError {
    StoreError::Backend(format!("{target}: {e}"))
}

fn is_conflict(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::UNIQUE_VIOLATION || *c == SqlState::T_R_SERIALIZATION_FAILURE
    )
}

fn to_i64(seq: u64) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError::Backend(format!("sequence number {seq} too large")))
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`), brings the schema
    /// up to date and keeps the connection for reuse.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, MIGRATIONS)
    }

    /// As [`PgStore::open`] with an explicit migration list (tests).
    pub fn open_with(url: &str, migrations: &[Migration]) -> Result<Self, StoreError> {
        check_numbering(migrations)?;
        let config: Config = url.parse().map_err(|e| {
            StoreError::Backend(format!(
                "`{url}` is not a PostgreSQL connection URL ({e}); expected postgres://USER@HOST:PORT/DATABASE"
            ))
        })?;
        let target = describe(&config);
        let connect = {
            let config = config.clone();
            let target = target.clone();
            move || {
                config
                    .connect(NoTls)
                    .map(PgConn)
                    .map_err(|e| pg_err(&target, e))
            }
        };
        let mut first = connect()?;
        migrate(&mut first.0, migrations, &target)?;
        let pool = Pool::new(32, connect);
        pool.put(first);
        Ok(PgStore { target, pool })
    }

    /// The schema version recorded in the database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        let mut conn = self.pool.get()?;
        recorded_version(&mut conn.0, &self.target)
    }

    fn err(&self, e: postgres::Error) -> StoreError {
        pg_err(&self.target, e)
    }
}

fn recorded_version(client: &mut impl GenericClient, target: &str) -> Result<i64, StoreError> {
    let exists: bool = client
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .map_err(|e| pg_err(target, e))?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let row = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
            &[],
        )
        .map_err(|e| pg_err(target, e))?;
    Ok(row.get(0))
}

fn migrate(client: &mut Client, migrations: &[Migration], target: &str) -> Result<(), StoreError> {
    let supported = latest(migrations);
    let what = format!("database {target}");
    let current = recorded_version(client, target)?;
    if current > supported {
        return Err(too_new(current, supported, &what));
    }
    if current == supported {
        return Ok(());
    }
    let mut tx = client.transaction().map_err(|e| pg_err(target, e))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(|e| pg_err(target, e))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )",
    )
    .map_err(|e| pg_err(target, e))?;
    let current = recorded_version(&mut tx, target)?;
    if current > supported {
        return Err(too_new(current, supported, &what));
    }
    for m in migrations.iter().filter(|m| m.version > current) {
        tx.batch_execute(m.postgres).map_err(|e| {
            StoreError::Schema(format!(
                "{what}: migration {} ({}) failed: {e}",
                m.version, m.name
            ))
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
            &[&m.version, &m.name],
        )
        .map_err(|e| pg_err(target, e))?;
    }
    tx.commit().map_err(|e| pg_err(target, e))
}

fn head_of(
    client: &mut impl GenericClient,
    trial: &str,
    target: &str,
) -> Result<(u64, String), StoreError> {
    let row = client
        .query_opt(
            "SELECT seq, hash FROM events WHERE trial = $1 ORDER BY seq DESC LIMIT 1",
            &[&trial],
        )
        .map_err(|e| pg_err(target, e))?;
    Ok(match row {
        Some(r) => (u64::try_from(r.get::<_, i64>(0)).unwrap_or(0), r.get(1)),
        None => (0, GENESIS_HASH.to_string()),
    })
}

fn read_rows(
    client: &mut impl GenericClient,
    trial: &str,
    after: u64,
    target: &str,
    visit: &mut dyn FnMut(StoredEvent) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let after = to_i64(after)?;
    let params: [&(dyn ToSql + Sync); 2] = [&trial, &after];
    let mut rows = client
        .query_raw(
            "SELECT seq, body, hash, openings FROM events WHERE trial = $1 AND seq > $2 ORDER BY seq",
            params,
        )
        .map_err(|e| pg_err(target, e))?;
    while let Some(row) = rows.next().map_err(|e| pg_err(target, e))? {
        let seq: i64 = row.get(0);
        visit(StoredEvent {
            seq: u64::try_from(seq).map_err(|_| {
                StoreError::Backend(format!("trial `{trial}`: negative sequence number {seq}"))
            })?,
            body: row.get(1),
            hash: row.get(2),
            openings: row.get(3),
        })?;
    }
    Ok(())
}

fn insert_rows(
    client: &mut impl GenericClient,
    trial: &str,
    rows: &[(i64, &str, &str, Option<&str>)],
    target: &str,
) -> Result<(), StoreError> {
    for chunk in rows.chunks(CHUNK) {
        let seqs: Vec<i64> = chunk.iter().map(|r| r.0).collect();
        let bodies: Vec<&str> = chunk.iter().map(|r| r.1).collect();
        let hashes: Vec<&str> = chunk.iter().map(|r| r.2).collect();
        let openings: Vec<Option<&str>> = chunk.iter().map(|r| r.3).collect();
        client
            .execute(
                "INSERT INTO events (trial, seq, body, hash, openings) \
                 SELECT $1, s, b, h, o FROM unnest($2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::TEXT[]) AS u(s, b, h, o)",
                &[&trial, &seqs, &bodies, &hashes, &openings],
            )
            .map_err(|e| {
                if is_conflict(&e) {
                    StoreError::Conflict {
                        trial: trial.into(),
                        seq: chunk.first().map_or(0, |r| r.0 as u64),
                    }
                } else {
                    pg_err(target, e)
                }
            })?;
    }
    Ok(())
}

/// Inserts a checkpoint after checking it against the stored event (inside
/// the caller's transaction).
fn insert_checkpoint(
    client: &mut impl GenericClient,
    checkpoint: &Checkpoint,
    target: &str,
) -> Result<(), StoreError> {
    let seq = to_i64(checkpoint.seq)?;
    let stored: Option<String> = client
        .query_opt(
            "SELECT hash FROM events WHERE trial = $1 AND seq = $2",
            &[&checkpoint.trial, &seq],
        )
        .map_err(|e| pg_err(target, e))?
        .map(|r| r.get(0));
    check_checkpoint(checkpoint, stored.as_deref())?;
    client
        .execute(
            "INSERT INTO checkpoints (trial, seq, hash, at, public_key, signature) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &[
                &checkpoint.trial,
                &seq,
                &checkpoint.hash,
                &checkpoint_time_text(checkpoint),
                &checkpoint.public_key,
                &checkpoint.signature,
            ],
        )
        .map_err(|e| pg_err(target, e))?;
    Ok(())
}

fn read_checkpoints(
    client: &mut impl GenericClient,
    trial: &str,
    latest_only: bool,
    target: &str,
) -> Result<Vec<Checkpoint>, StoreError> {
    let sql = if latest_only {
        "SELECT seq, hash, at, public_key, signature FROM checkpoints WHERE trial = $1 \
         ORDER BY seq DESC, at DESC LIMIT 1"
    } else {
        "SELECT seq, hash, at, public_key, signature FROM checkpoints WHERE trial = $1 \
         ORDER BY seq, at"
    };
    let rows = client
        .query(sql, &[&trial])
        .map_err(|e| pg_err(target, e))?;
    rows.iter()
        .map(|r| {
            let seq: i64 = r.get(0);
            let seq = u64::try_from(seq).map_err(|_| {
                StoreError::Backend(format!(
                    "trial `{trial}`: negative checkpoint sequence number {seq}"
                ))
            })?;
            let at: String = r.get(2);
            Ok(Checkpoint {
                trial: trial.to_string(),
                seq,
                hash: r.get(1),
                at: parse_checkpoint_time(trial, seq, &at)?,
                public_key: r.get(3),
                signature: r.get(4),
            })
        })
        .collect()
}

fn list_trials(client: &mut impl GenericClient, target: &str) -> Result<Vec<String>, StoreError> {
    Ok(client
        .query("SELECT DISTINCT trial FROM events ORDER BY trial", &[])
        .map_err(|e| pg_err(target, e))?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// A transaction holding the trial's advisory lock.
struct PgLocked<'a, 'c> {
    tx: &'a mut postgres::Transaction<'c>,
    trial: &'a str,
    target: &'a str,
}

impl Locked for PgLocked<'_, '_> {
    fn scan(
        &mut self,
        after: u64,
        visit: &mut dyn FnMut(StoredEvent) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        read_rows(&mut *self.tx, self.trial, after, self.target, visit)
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
        let (head, head_hash) = head_of(&mut *self.tx, trial, self.target)?;
        check_append(trial, head, events)?;
        check_links(trial, &head_hash, events, &bodies)?;
        let openings: Vec<Option<String>> = events.iter().map(Event::openings_text).collect();
        let rows: Vec<(i64, &str, &str, Option<&str>)> = events
            .iter()
            .zip(&bodies)
            .zip(&openings)
            .map(|((e, b), o)| Ok((to_i64(e.seq)?, b.as_str(), e.hash.as_str(), o.as_deref())))
            .collect::<Result<_, StoreError>>()?;
        insert_rows(&mut *self.tx, trial, &rows, self.target)?;
        if let Some(c) = checkpoint {
            insert_checkpoint(&mut *self.tx, c, self.target)?;
        }
        sessions::pg::end_users(&mut *self.tx, &sessions::ended_by(events))
            .map_err(|e| pg_err(self.target, e))?;
        Ok(())
    }

    fn latest_checkpoint(&mut self) -> Result<Option<Checkpoint>, StoreError> {
        Ok(read_checkpoints(&mut *self.tx, self.trial, true, self.target)?.pop())
    }
}

impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn log_security(&self, entry: &SecurityEntry) -> Result<(), StoreError> {
        let e = entry.bounded();
        let mut conn = self.pool.get()?;
        conn.0
            .execute(
                security::POSTGRES_INSERT,
                &[&e.at_text(), &e.client, &e.user, &e.what],
            )
            .map_err(|err| self.err(err))?;
        Ok(())
    }

    fn security_log(&self, limit: usize) -> Result<Vec<SecurityEntry>, StoreError> {
        let mut conn = self.pool.get()?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = conn
            .0
            .query(security::POSTGRES_SELECT, &[&limit])
            .map_err(|e| self.err(e))?;
        let text = |r: &postgres::Row, i: usize| -> Result<String, StoreError> {
            r.try_get::<_, String>(i).map_err(|e| self.err(e))
        };
        rows.iter()
            .map(|r| SecurityEntry::from_row(&text(r, 0)?, text(r, 1)?, text(r, 2)?, text(r, 3)?))
            .collect()
    }

    fn trials(&self) -> Result<Vec<String>, StoreError> {
        let mut conn = self.pool.get()?;
        list_trials(&mut conn.0, &self.target)
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
        let mut conn = self.pool.get()?;
        read_rows(&mut conn.0, trial, after, &self.target, visit)
    }

    fn head(&self, trial: &str) -> Result<u64, StoreError> {
        let mut conn = self.pool.get()?;
        Ok(head_of(&mut conn.0, trial, &self.target)?.0)
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
        let mut tx = conn.0.transaction().map_err(|e| self.err(e))?;
        // One round trip: a bounded wait, then the trial's lock (held to
        // the end of the transaction).
        // The commit does not wait for the WAL flush (`synchronous_commit
        // = off` for this transaction only), so the trial's lock is held for
        // the work alone; durability is waited for after the lock is
        // released, below, where the flushes of several writers are one.
        tx.batch_execute(&format!(
            "SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'; SET LOCAL synchronous_commit = off; \
             SELECT pg_advisory_xact_lock({})",
            trial_lock_key(trial)
        ))
        .map_err(|e| self.err(e))?;
        write(&mut PgLocked {
            tx: &mut tx,
            trial,
            target: &self.target,
        })?;
        tx.commit().map_err(|e| {
            if is_conflict(&e) {
                StoreError::Conflict {
                    trial: trial.into(),
                    seq: 0,
                }
            } else {
                self.err(e)
            }
        })?;
        // A transaction with a transaction id commits synchronously: it
        // returns once the WAL is flushed up to its commit record, which
        // comes after ours. Only then is the write acknowledged.
        conn.0
            .batch_execute("BEGIN; SELECT pg_current_xact_id(); COMMIT")
            .map_err(|e| {
                StoreError::Backend(format!(
                    "{}: the write was committed but could not be confirmed durable: {e}",
                    self.target
                ))
            })
    }

    fn add_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        let mut conn = self.pool.get()?;
        let mut tx = conn.0.transaction().map_err(|e| self.err(e))?;
        insert_checkpoint(&mut tx, checkpoint, &self.target)?;
        tx.commit().map_err(|e| self.err(e))
    }

    fn checkpoints(&self, trial: &str) -> Result<Vec<Checkpoint>, StoreError> {
        let mut conn = self.pool.get()?;
        read_checkpoints(&mut conn.0, trial, false, &self.target)
    }

    fn latest_checkpoint(&self, trial: &str) -> Result<Option<Checkpoint>, StoreError> {
        let mut conn = self.pool.get()?;
        Ok(read_checkpoints(&mut conn.0, trial, true, &self.target)?.pop())
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
        let mut tx = conn.0.transaction().map_err(|e| self.err(e))?;
        let seq = to_i64(snap.seq)?;
        tx.execute(
            "INSERT INTO snapshots (trial, seq, hash, digest, body) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (trial, seq) DO UPDATE SET hash = $3, digest = $4, body = $5",
            &[&snap.trial, &seq, &snap.hash, &snap.digest, &snap.body],
        )
        .map_err(|e| self.err(e))?;
        tx.execute(
            "DELETE FROM snapshots WHERE trial = $1 AND seq NOT IN \
             (SELECT seq FROM snapshots WHERE trial = $1 ORDER BY seq DESC LIMIT $2)",
            &[&snap.trial, &(crate::snapshot::KEEP as i64)],
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    fn latest_snapshots(
        &self,
        trial: &str,
        limit: usize,
    ) -> Result<Vec<StateSnapshot>, StoreError> {
        let mut conn = self.pool.get()?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = conn
            .0
            .query(
                "SELECT seq, hash, digest, body FROM snapshots WHERE trial = $1 ORDER BY seq DESC LIMIT $2",
                &[&trial, &limit],
            )
            .map_err(|e| self.err(e))?;
        Ok(rows
            .iter()
            .map(|r| StateSnapshot {
                trial: trial.to_string(),
                seq: u64::try_from(r.get::<_, i64>(0)).unwrap_or(0),
                hash: r.get(1),
                digest: r.get(2),
                body: r.get(3),
            })
            .collect())
    }

    fn snapshot(&self, only: Option<&str>) -> Result<Snapshot, StoreError> {
        let mut conn = self.pool.get()?;
        let mut tx = conn
            .0
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(|e| self.err(e))?;
        let trials = match only {
            Some(t) => vec![t.to_string()],
            None => list_trials(&mut tx, &self.target)?,
        };
        let mut out = Vec::with_capacity(trials.len());
        for trial in trials {
            let mut rows = Vec::new();
            read_rows(&mut tx, &trial, 0, &self.target, &mut |e| {
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
        let mut tx = conn.0.transaction().map_err(|e| self.err(e))?;
        if replace {
            tx.execute("DELETE FROM events WHERE trial = $1", &[&trial])
                .map_err(|e| self.err(e))?;
            // Checkpoints of the replaced chain do not sign the new one.
            tx.execute("DELETE FROM checkpoints WHERE trial = $1", &[&trial])
                .map_err(|e| self.err(e))?;
            tx.execute("DELETE FROM snapshots WHERE trial = $1", &[&trial])
                .map_err(|e| self.err(e))?;
        } else {
            let (head, _) = head_of(&mut tx, trial, &self.target)?;
            if head > 0 {
                return Err(StoreError::NotEmpty {
                    what: format!("trial `{trial}` already has {head} events"),
                });
            }
        }
        let rows: Vec<(i64, &str, &str, Option<&str>)> = rows
            .iter()
            .map(|r| {
                Ok((
                    to_i64(r.seq)?,
                    r.body.as_str(),
                    r.hash.as_str(),
                    r.openings.as_deref(),
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        insert_rows(&mut tx, trial, &rows, &self.target)?;
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
        let mut tx = conn.0.transaction().map_err(|e| self.err(e))?;
        tx.batch_execute(&format!(
            "SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'; SELECT pg_advisory_xact_lock({})",
            trial_lock_key(trial)
        ))
        .map_err(|e| self.err(e))?;
        let (seq, hash) = head_of(&mut tx, trial, &self.target)?;
        if (seq, hash.as_str()) != old_head {
            return Err(StoreError::Conflict {
                trial: trial.into(),
                seq,
            });
        }
        for table in ["events", "checkpoints", "snapshots"] {
            tx.execute(&format!("DELETE FROM {table} WHERE trial = $1"), &[&trial])
                .map_err(|e| self.err(e))?;
        }
        let rows: Vec<(i64, &str, &str, Option<&str>)> = rows
            .iter()
            .map(|r| {
                Ok((
                    to_i64(r.seq)?,
                    r.body.as_str(),
                    r.hash.as_str(),
                    r.openings.as_deref(),
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        insert_rows(&mut tx, trial, &rows, &self.target)?;
        if let Some(cp) = checkpoint {
            insert_checkpoint(&mut tx, cp, &self.target)?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    fn backup_to(&self, file: &Path) -> Result<(), StoreError> {
        crate::backup_via_snapshot(self, file)
    }

    fn put_token(&self, token: &LoginToken, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut conn = self.pool.get()?;
        let mut tx = conn.0.transaction().map_err(|e| self.err(e))?;
        tx.execute(
            "DELETE FROM login_tokens WHERE expires_at <= $1",
            &[&tokens::secs(now)],
        )
        .map_err(|e| self.err(e))?;
        tx.execute(
            "INSERT INTO login_tokens (token_sha256, user_name, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
            &[
                &token.sha256,
                &token.user,
                &tokens::secs(token.created),
                &tokens::secs(token.expires),
            ],
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    fn token(&self, sha256: &str) -> Result<Option<LoginToken>, StoreError> {
        let mut conn = self.pool.get()?;
        let row = conn
            .0
            .query_opt(
                "SELECT user_name, created_at, expires_at FROM login_tokens WHERE token_sha256 = $1",
                &[&sha256],
            )
            .map_err(|e| self.err(e))?;
        Ok(row.map(|r| LoginToken {
            sha256: sha256.to_string(),
            user: r.get(0),
            created: tokens::time(r.get(1)),
            expires: tokens::time(r.get(2)),
        }))
    }

    fn delete_token(&self, sha256: &str) -> Result<bool, StoreError> {
        let mut conn = self.pool.get()?;
        let n = conn
            .0
            .execute(
                "DELETE FROM login_tokens WHERE token_sha256 = $1",
                &[&sha256],
            )
            .map_err(|e| self.err(e))?;
        Ok(n > 0)
    }

    fn put_session(&self, session: &WebSession, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut conn = self.pool.get()?;
        let mut tx = conn.0.transaction().map_err(|e| self.err(e))?;
        sessions::pg::put(&mut tx, session, now).map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    fn session(&self, sha256: &str) -> Result<Option<WebSession>, StoreError> {
        let mut conn = self.pool.get()?;
        sessions::pg::get(&mut conn.0, sha256).map_err(|e| self.err(e))
    }

    fn touch_session(&self, sha256: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut conn = self.pool.get()?;
        sessions::pg::touch(&mut conn.0, sha256, now).map_err(|e| self.err(e))
    }

    fn delete_session(&self, sha256: &str) -> Result<bool, StoreError> {
        let mut conn = self.pool.get()?;
        sessions::pg::delete(&mut conn.0, sha256).map_err(|e| self.err(e))
    }

    fn end_sessions(&self, user: &str) -> Result<usize, StoreError> {
        let mut conn = self.pool.get()?;
        let users = std::iter::once(user.to_string()).collect();
        sessions::pg::end_users(&mut conn.0, &users).map_err(|e| self.err(e))
    }
}
