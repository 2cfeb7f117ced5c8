//! `rct-store`: the trial record kept as events, on SQLite or PostgreSQL.
//!
//! The interface every backend implements is [`Store`]: an append-only log
//! per trial (an append names the sequence number it expects to take; if
//! another writer took it first the append fails with
//! [`StoreError::Conflict`]), and [`Store::write_locked`], a transaction
//! holding the trial's writer lock across processes. [`Ledger`] wraps a
//! store with the command loop every edge uses: take the trial's lock, bring
//! the state up to the stored head, check the commands against it, seal the
//! drafts onto the chain and append, all in that one transaction.
//!
//! Backends: [`SqliteStore`] (one file, the embedded default),
//! [`PgStore`] (PostgreSQL, several processes on one database) and
//! [`MemStore`] (tests). [`open`] picks one from a URL.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rct_record::{sha256_hex, ApplyError, ChainBreak, Checkpoint, Event, StoredEvent};

mod checkpoints;
pub mod dump;
mod fast;
pub use fast::{scan_verified, verify_scan, RowScan};
mod ledger;
mod locked;
pub mod mem;
pub mod migrate;
pub mod pg;
mod pool;
pub mod secrets;
pub mod security;
pub mod sessions;
pub mod signing;
pub mod snapshot;
pub mod sqlite;
pub mod tokens;

pub use checkpoints::{check_checkpoint, check_signs_last, copy_checkpoints};
pub(crate) use checkpoints::{checkpoint_time_text, parse_checkpoint_time};
use ledger::{lock_lane, Lane, LaneCell};
pub use ledger::{ExecuteError, Ledger, MAX_ATTEMPTS, SNAPSHOT_EVERY};
pub use locked::{trial_lock_key, Locked};
pub use mem::MemStore;
pub use pg::PgStore;
pub use security::SecurityEntry;
pub use sessions::WebSession;
pub use signing::{CheckpointSigner, KeySigner};
pub use snapshot::StateSnapshot;
pub use sqlite::SqliteStore;
pub use tokens::LoginToken;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another writer appended first: the expected sequence number is taken.
    #[error("trial `{trial}`: event {seq} was written by another writer first; retry against the new state")]
    Conflict {
        /// Trial.
        trial: String,
        /// The sequence number that was already taken.
        seq: u64,
    },
    /// The stored chain is broken (tampering or corruption).
    #[error("trial `{trial}`: the audit chain is broken at {source}")]
    Chain {
        /// Trial.
        trial: String,
        /// The first break.
        #[source]
        source: ChainBreak,
    },
    /// The stored events do not fold into a state.
    #[error("trial `{trial}`: {source}")]
    Apply {
        /// Trial.
        trial: String,
        /// Why.
        #[source]
        source: ApplyError,
    },
    /// An append's events are not a contiguous run starting at the head.
    #[error("trial `{trial}`: {message}")]
    BadAppend {
        /// Trial.
        trial: String,
        /// What is wrong.
        message: String,
    },
    /// The database said no (connection, I/O, constraint other than the
    /// sequence, ...).
    #[error("database: {0}")]
    Backend(String),
    /// The database schema cannot be used by this binary (too new, or a
    /// migration failed).
    #[error("schema: {0}")]
    Schema(String),
    /// A restore target already holds events.
    #[error("refusing to overwrite: {what}")]
    NotEmpty {
        /// What is there.
        what: String,
    },
    /// An import file is not what it should be.
    #[error("{origin}: {message}")]
    Import {
        /// File and line, or trial and event.
        origin: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// The URL names no known backend.
    #[error("`{url}` is not a database URL: {message}")]
    Url {
        /// The URL given.
        url: String,
        /// What is expected.
        message: String,
    },
    /// Too many conflicts in a row.
    #[error("trial `{trial}`: gave up after {attempts} conflicting attempts")]
    Contended {
        /// Trial.
        trial: String,
        /// Attempts made.
        attempts: u32,
    },
}

/// A consistent copy of the store: each trial with its stored rows in order.
pub type Snapshot = Vec<(String, Vec<StoredEvent>)>;

/// An append-only event log per trial.
///
/// Implementations must make [`Store::append`] atomic (all events or none)
/// and durable when it returns `Ok`, and must reject an append whose first
/// sequence number is not exactly one past the stored head with
/// [`StoreError::Conflict`].
pub trait Store: Send + Sync {
    /// A short name of the backend (`sqlite`, `postgres`, `memory`).
    fn backend(&self) -> &'static str;
    /// Identifiers of every trial in the store, sorted.
    fn trials(&self) -> Result<Vec<String>, StoreError>;
    /// Stored events of `trial` with sequence number greater than `after`,
    /// in sequence order, exactly as stored (body text and hash).
    fn load(&self, trial: &str, after: u64) -> Result<Vec<StoredEvent>, StoreError>;
    /// Appends sealed events (contiguous sequence numbers, the first one past
    /// the stored head) atomically and durably.
    fn append(&self, trial: &str, events: &[Event]) -> Result<(), StoreError>;

    /// As [`Store::load`], handing each event to `visit` as it is read
    /// (backends stream, so a long trial is never held twice in memory).
    fn scan(
        &self,
        trial: &str,
        after: u64,
        visit: &mut dyn FnMut(StoredEvent) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        for e in self.load(trial, after)? {
            visit(e)?;
        }
        Ok(())
    }

    /// [`Store::load`] for a backend that streams: collects [`Store::scan`].
    fn load_by_scan(&self, trial: &str, after: u64) -> Result<Vec<StoredEvent>, StoreError> {
        let mut out = Vec::new();
        self.scan(trial, after, &mut |e| {
            out.push(e);
            Ok(())
        })?;
        Ok(out)
    }

    /// Sequence number of the last stored event of `trial` (0 when none).
    fn head(&self, trial: &str) -> Result<u64, StoreError> {
        Ok(self.load(trial, 0)?.last().map_or(0, |e| e.seq))
    }

    /// Every trial (or only `only`) with its stored rows, read as one
    /// consistent snapshot where the backend supports it.
    fn snapshot(&self, only: Option<&str>) -> Result<Snapshot, StoreError> {
        let trials = match only {
            Some(t) => vec![t.to_string()],
            None => self.trials()?,
        };
        trials
            .into_iter()
            .map(|t| {
                let rows = self.load(&t, 0)?;
                Ok((t, rows))
            })
            .collect()
    }

    /// Writes stored rows exactly as given (restore). Without `replace` the
    /// trial must hold no events; with it, the trial's events are replaced
    /// in the same transaction. Callers verify the chain first.
    fn import(&self, trial: &str, rows: &[StoredEvent], replace: bool) -> Result<(), StoreError> {
        if replace || self.head(trial)? > 0 {
            return Err(StoreError::NotEmpty {
                what: format!(
                    "the {} store cannot replace trial `{trial}`",
                    self.backend()
                ),
            });
        }
        let events = rows
            .iter()
            .map(|r| {
                Event::from_stored(&r.body, &r.hash, r.openings.as_deref()).map_err(|e| {
                    StoreError::Import {
                        origin: format!("trial `{trial}`, event {}", r.seq),
                        message: e.to_string(),
                    }
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if events.is_empty() {
            return Ok(());
        }
        self.append(trial, &events)
    }

    /// Replaces the chain of `trial` with `rows` (a re-sealed chain, `rct
    /// audit migrate`) in one transaction holding the trial's writer lock,
    /// only if the stored head is still `old_head` (sequence number and
    /// hash; a [`StoreError::Conflict`] otherwise, and nothing changes). The
    /// trial's checkpoints and snapshots go with the old chain (they sign
    /// or cache it); `checkpoint`, when given, is stored for the new chain
    /// in the same transaction. Callers verify `rows` first. The default
    /// (stores that cannot replace a chain) refuses.
    fn replace_chain(
        &self,
        trial: &str,
        old_head: (u64, &str),
        rows: &[StoredEvent],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<(), StoreError> {
        let _ = (old_head, rows, checkpoint);
        Err(StoreError::NotEmpty {
            what: format!(
                "the {} store cannot replace the chain of trial `{trial}`",
                self.backend()
            ),
        })
    }

    /// Writes an online, consistent copy of the whole store to a new SQLite
    /// file at `file` (which must not exist).
    fn backup_to(&self, file: &Path) -> Result<(), StoreError> {
        backup_via_snapshot(self, file)
    }

    /// Appends one entry to the security log (outside every trial's
    /// record; see [`security`]). Texts longer than their bounds are cut.
    fn log_security(&self, entry: &SecurityEntry) -> Result<(), StoreError>;

    /// The newest `limit` entries of the security log, oldest first.
    fn security_log(&self, limit: usize) -> Result<Vec<SecurityEntry>, StoreError>;
    /// Stores a signed checkpoint. The event it names must be stored with
    /// the hash it signs ([`StoreError::BadAppend`] otherwise); a checkpoint
    /// of the same trial, event and key already stored is kept as it is.
    /// The signature is not checked here (see [`rct_record::audit_checkpoints`]).
    fn add_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), StoreError>;

    /// Every stored checkpoint of `trial`, by sequence number, then time.
    fn checkpoints(&self, trial: &str) -> Result<Vec<Checkpoint>, StoreError>;

    /// The stored checkpoint of `trial` with the highest sequence number
    /// (the latest of those).
    fn latest_checkpoint(&self, trial: &str) -> Result<Option<Checkpoint>, StoreError> {
        Ok(self.checkpoints(trial)?.pop())
    }

    /// Runs `write` in one transaction that holds `trial`'s writer lock
    /// (SQLite `BEGIN IMMEDIATE`, PostgreSQL `pg_advisory_xact_lock` on
    /// [`trial_lock_key`]): what it reads through [`Locked`] is the stored
    /// head, and nobody else appends to the trial until it returns. The
    /// transaction commits when `write` returns `Ok` and rolls back
    /// otherwise. The default (stores without a lock) reads and appends
    /// outside any lock, so its appends may fail with
    /// [`StoreError::Conflict`].
    fn write_locked(
        &self,
        trial: &str,
        write: &mut dyn FnMut(&mut dyn Locked) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        write(&mut locked::Optimistic { store: self, trial })
    }

    /// Whether the store can serve: the database answers and its schema is
    /// the version this binary writes (a `/readyz` probe). The default
    /// (memory) is always ready.
    fn check_ready(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Saves a snapshot of a trial's folded state (see [`snapshot`]),
    /// keeping only the newest [`snapshot::KEEP`] of the trial. The default
    /// keeps none.
    fn save_snapshot(&self, snapshot: &StateSnapshot) -> Result<(), StoreError> {
        let _ = snapshot;
        Ok(())
    }

    /// The newest `limit` snapshots of `trial`, newest first, as stored
    /// (the caller checks them).
    fn latest_snapshots(
        &self,
        trial: &str,
        limit: usize,
    ) -> Result<Vec<StateSnapshot>, StoreError> {
        let _ = (trial, limit);
        Ok(Vec::new())
    }

    /// [`Store::append`] and [`Store::add_checkpoint`] of the last appended
    /// event in one transaction: both or neither.
    fn append_signed(
        &self,
        trial: &str,
        events: &[Event],
        checkpoint: &Checkpoint,
    ) -> Result<(), StoreError> {
        check_signs_last(trial, events, checkpoint)?;
        self.append(trial, events)?;
        self.add_checkpoint(checkpoint)
    }

    /// Keeps a command-line login token (its SHA-256 only, see [`tokens`])
    /// and deletes every token expired at `now`.
    fn put_token(&self, token: &LoginToken, now: DateTime<Utc>) -> Result<(), StoreError> {
        let _ = (token, now);
        Err(tokens::unsupported(self.backend()))
    }

    /// The kept token whose SHA-256 is `sha256`, expired or not (the
    /// caller compares [`LoginToken::expires`] with its clock).
    fn token(&self, sha256: &str) -> Result<Option<LoginToken>, StoreError> {
        let _ = sha256;
        Err(tokens::unsupported(self.backend()))
    }

    /// Deletes the token whose SHA-256 is `sha256`; whether there was one.
    fn delete_token(&self, sha256: &str) -> Result<bool, StoreError> {
        let _ = sha256;
        Err(tokens::unsupported(self.backend()))
    }

    /// Keeps a web session (its token's SHA-256 only, see [`sessions`])
    /// and deletes every session expired or idle at `now`.
    fn put_session(&self, session: &WebSession, now: DateTime<Utc>) -> Result<(), StoreError> {
        let _ = (session, now);
        Err(sessions::unsupported(self.backend()))
    }

    /// The kept session whose token's SHA-256 is `sha256`, as stored (the
    /// caller checks [`WebSession::valid_at`] with its clock).
    fn session(&self, sha256: &str) -> Result<Option<WebSession>, StoreError> {
        let _ = sha256;
        Err(sessions::unsupported(self.backend()))
    }

    /// Records a use of the session at `now` (never moves it back).
    fn touch_session(&self, sha256: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let _ = (sha256, now);
        Err(sessions::unsupported(self.backend()))
    }

    /// Deletes one session (logout); whether there was one.
    fn delete_session(&self, sha256: &str) -> Result<bool, StoreError> {
        let _ = sha256;
        Err(sessions::unsupported(self.backend()))
    }

    /// Deletes every session of `user`; how many there were. (Appends of
    /// the events in [`sessions::ended_by`] do this themselves.)
    fn end_sessions(&self, user: &str) -> Result<usize, StoreError> {
        let _ = user;
        Err(sessions::unsupported(self.backend()))
    }
}

impl std::fmt::Debug for dyn Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Store({})", self.backend())
    }
}

/// Backup by snapshot: reads [`Store::snapshot`] and writes it into a new
/// SQLite file.
pub fn backup_via_snapshot<S: Store + ?Sized>(store: &S, file: &Path) -> Result<(), StoreError> {
    if file.exists() {
        return Err(StoreError::NotEmpty {
            what: format!("{} already exists; choose a new file", file.display()),
        });
    }
    let snapshot = store.snapshot(None)?;
    let target = SqliteStore::open(file)?;
    for (trial, rows) in &snapshot {
        target.import(trial, rows, false)?;
        copy_checkpoints(store, &target, trial, rows)?;
    }
    Ok(())
}

/// Opens a store from a URL: `postgres://...` or `postgresql://...` for
/// PostgreSQL, `sqlite:PATH` or a plain file path for SQLite, `memory:` for
/// an empty in-memory store.
pub fn open(url: &str) -> Result<Box<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Box::new(PgStore::open(url)?));
    }
    if url == "memory:" {
        return Ok(Box::new(MemStore::new()));
    }
    let path = if let Some(rest) = url.strip_prefix("sqlite:") {
        rest.strip_prefix("//").unwrap_or(rest)
    } else if let Some((scheme, _)) = url.split_once("://") {
        return Err(StoreError::Url {
            url: url.into(),
            message: format!(
                "unknown scheme `{scheme}`; use postgres://USER@HOST:PORT/DB, sqlite:PATH, a file path or memory:"
            ),
        });
    } else {
        url
    };
    if path.is_empty() {
        return Err(StoreError::Url {
            url: url.into(),
            message: "no file path; use sqlite:PATH or a file path".into(),
        });
    }
    Ok(Box::new(SqliteStore::open(path)?))
}

/// Checks that the events of an append link to the stored head (`head_hash`)
/// and to each other, and that each hash is the SHA-256 of its canonical
/// body (`bodies[i]` is `events[i].canonical_body()`): a store never accepts
/// a broken chain. Backends call it inside the append's transaction.
pub fn check_links(
    trial: &str,
    head_hash: &str,
    events: &[Event],
    bodies: &[String],
) -> Result<(), StoreError> {
    let mut prev = head_hash;
    for (e, body) in events.iter().zip(bodies) {
        if e.prev_hash != prev {
            return Err(StoreError::BadAppend {
                trial: trial.into(),
                message: format!("event {} does not link to the event before it", e.seq),
            });
        }
        if sha256_hex(body.as_bytes()) != e.hash {
            return Err(StoreError::BadAppend {
                trial: trial.into(),
                message: format!(
                    "event {} is not sealed: its hash does not match its content",
                    e.seq
                ),
            });
        }
        prev = &e.hash;
    }
    Ok(())
}

/// Checks that `events` can follow a stored head of sequence number `head`:
/// non-empty, one trial, contiguous sequence numbers from `head + 1`. Backends
/// call it before writing; a first sequence number at or below the head is a
/// [`StoreError::Conflict`].
pub fn check_append(trial: &str, head: u64, events: &[Event]) -> Result<(), StoreError> {
    let Some(first) = events.first() else {
        return Err(StoreError::BadAppend {
            trial: trial.into(),
            message: "nothing to append".into(),
        });
    };
    for (i, e) in events.iter().enumerate() {
        if e.trial != trial {
            return Err(StoreError::BadAppend {
                trial: trial.into(),
                message: format!("event {} belongs to trial `{}`", e.seq, e.trial),
            });
        }
        if e.seq != first.seq + i as u64 {
            return Err(StoreError::BadAppend {
                trial: trial.into(),
                message: format!("event sequence numbers are not contiguous at {}", e.seq),
            });
        }
    }
    if first.seq <= head {
        return Err(StoreError::Conflict {
            trial: trial.into(),
            seq: first.seq,
        });
    }
    if first.seq != head + 1 {
        return Err(StoreError::BadAppend {
            trial: trial.into(),
            message: format!(
                "event {} would leave a gap after the stored head {head}",
                first.seq
            ),
        });
    }
    Ok(())
}

macro_rules! forward_store {
    ($ptr:ident) => {
        impl<T: Store + ?Sized> Store for $ptr<T> {
            fn backend(&self) -> &'static str {
                (**self).backend()
            }
            fn trials(&self) -> Result<Vec<String>, StoreError> {
                (**self).trials()
            }
            fn load(&self, trial: &str, after: u64) -> Result<Vec<StoredEvent>, StoreError> {
                (**self).load(trial, after)
            }
            fn append(&self, trial: &str, events: &[Event]) -> Result<(), StoreError> {
                (**self).append(trial, events)
            }
            fn scan(
                &self,
                trial: &str,
                after: u64,
                visit: &mut dyn FnMut(StoredEvent) -> Result<(), StoreError>,
            ) -> Result<(), StoreError> {
                (**self).scan(trial, after, visit)
            }
            fn head(&self, trial: &str) -> Result<u64, StoreError> {
                (**self).head(trial)
            }
            fn snapshot(&self, only: Option<&str>) -> Result<Snapshot, StoreError> {
                (**self).snapshot(only)
            }
            fn import(
                &self,
                trial: &str,
                rows: &[StoredEvent],
                replace: bool,
            ) -> Result<(), StoreError> {
                (**self).import(trial, rows, replace)
            }
            fn replace_chain(
                &self,
                trial: &str,
                old_head: (u64, &str),
                rows: &[StoredEvent],
                checkpoint: Option<&Checkpoint>,
            ) -> Result<(), StoreError> {
                (**self).replace_chain(trial, old_head, rows, checkpoint)
            }
            fn backup_to(&self, file: &Path) -> Result<(), StoreError> {
                (**self).backup_to(file)
            }
            fn log_security(&self, entry: &SecurityEntry) -> Result<(), StoreError> {
                (**self).log_security(entry)
            }
            fn security_log(&self, limit: usize) -> Result<Vec<SecurityEntry>, StoreError> {
                (**self).security_log(limit)
            }
            fn add_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
                (**self).add_checkpoint(checkpoint)
            }
            fn checkpoints(&self, trial: &str) -> Result<Vec<Checkpoint>, StoreError> {
                (**self).checkpoints(trial)
            }
            fn latest_checkpoint(&self, trial: &str) -> Result<Option<Checkpoint>, StoreError> {
                (**self).latest_checkpoint(trial)
            }
            fn append_signed(
                &self,
                trial: &str,
                events: &[Event],
                checkpoint: &Checkpoint,
            ) -> Result<(), StoreError> {
                (**self).append_signed(trial, events, checkpoint)
            }
            fn put_token(&self, token: &LoginToken, now: DateTime<Utc>) -> Result<(), StoreError> {
                (**self).put_token(token, now)
            }
            fn token(&self, sha256: &str) -> Result<Option<LoginToken>, StoreError> {
                (**self).token(sha256)
            }
            fn delete_token(&self, sha256: &str) -> Result<bool, StoreError> {
                (**self).delete_token(sha256)
            }
            fn put_session(
                &self,
                session: &WebSession,
                now: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                (**self).put_session(session, now)
            }
            fn session(&self, sha256: &str) -> Result<Option<WebSession>, StoreError> {
                (**self).session(sha256)
            }
            fn touch_session(&self, sha256: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
                (**self).touch_session(sha256, now)
            }
            fn delete_session(&self, sha256: &str) -> Result<bool, StoreError> {
                (**self).delete_session(sha256)
            }
            fn end_sessions(&self, user: &str) -> Result<usize, StoreError> {
                (**self).end_sessions(user)
            }
            fn write_locked(
                &self,
                trial: &str,
                write: &mut dyn FnMut(&mut dyn Locked) -> Result<(), StoreError>,
            ) -> Result<(), StoreError> {
                (**self).write_locked(trial, write)
            }
            fn save_snapshot(&self, snapshot: &StateSnapshot) -> Result<(), StoreError> {
                (**self).save_snapshot(snapshot)
            }
            fn check_ready(&self) -> Result<(), StoreError> {
                (**self).check_ready()
            }
            fn latest_snapshots(
                &self,
                trial: &str,
                limit: usize,
            ) -> Result<Vec<StateSnapshot>, StoreError> {
                (**self).latest_snapshots(trial, limit)
            }
        }
    };
}

forward_store!(Box);
forward_store!(Arc);
