//! `rct-store`: the trial record kept as events, on SQLite or PostgreSQL.
//!
//! The interface every backend implements is [`Store`]: an append-only log
//! per trial with optimistic concurrency (an append names the sequence number
//! it expects to take; if another writer took it first the append fails with
//! [`StoreError::Conflict`] and the caller retries against the new state).
//! [`Ledger`] wraps a store with the command loop every edge uses: fold the
//! state, check the command against it, seal the drafts onto the chain, append,
//! and retry on conflict.
//!
//! Backends: [`SqliteStore`] (one file, the embedded default),
//! [`PgStore`] (PostgreSQL, several processes on one database) and
//! [`MemStore`] (tests). [`open`] picks one from a URL.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rct_record::{
    sha256_hex, verify_chain, ApplyError, BreakKind, ChainBreak, ChainSummary, Checkpoint, Event,
    EventDraft, StoredEvent, TrialState,
};

mod checkpoints;
pub mod dump;
pub mod mem;
pub mod migrate;
pub mod pg;
mod pool;
pub mod secrets;
pub mod security;
pub mod signing;
pub mod sqlite;
pub mod tokens;

pub use checkpoints::{check_checkpoint, check_signs_last, copy_checkpoints};
pub(crate) use checkpoints::{checkpoint_time_text, parse_checkpoint_time};
use checkpoints::{Plan, Signing};
pub use mem::MemStore;
pub use pg::PgStore;
pub use security::SecurityEntry;
pub use signing::{CheckpointSigner, KeySigner};
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

/// The outcome of [`Ledger::execute`] when it does not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ExecuteError<E> {
    /// The command was refused by the check against the state.
    #[error("{0}")]
    Rejected(E),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How many times [`Ledger::execute`] tries before giving up with
/// [`StoreError::Contended`]. Writers in one process take turns (see
/// [`Ledger::execute`]), so conflicts come only from other processes.
pub const MAX_ATTEMPTS: u32 = 256;

/// A store plus a cache of folded states: the command loop of every edge.
pub struct Ledger<S: Store> {
    store: S,
    cache: Mutex<HashMap<String, Arc<TrialState>>>,
    lanes: Mutex<HashMap<String, Arc<LaneCell>>>,
    signing: Option<Signing>,
}

/// The write pipeline of one trial in one ledger (group commit).
///
/// Writers run their command against the *tentative* state (the committed
/// state plus events queued or being written), queue the sealed events and
/// wait; one of them at a time appends everything queued as one batch, so
/// one durable commit acknowledges many commands. A failed batch (another
/// process wrote first) voids every queued event; their writers run their
/// commands again against the store's new state.
struct LaneCell {
    lane: Mutex<Lane>,
    flushed: Condvar,
}

impl LaneCell {
    fn new() -> Self {
        LaneCell {
            lane: Mutex::new(Lane {
                next_batch: 1,
                ..Lane::default()
            }),
            flushed: Condvar::new(),
        }
    }
}

#[derive(Default)]
struct Lane {
    /// The state as last known to be stored (valid while nothing is queued
    /// or being written, and as the base to fall back to when a batch fails).
    committed: Option<Arc<TrialState>>,
    /// `committed` plus queued and in-flight events; `None`: same as committed.
    tentative: Option<TrialState>,
    /// Sealed events for the next batch.
    pending: Vec<Event>,
    /// Number of the batch `pending` will be written in.
    next_batch: u64,
    /// Every batch up to this number is durable.
    done_through: u64,
    /// Batches that failed, most recent last: (first, last batch number
    /// voided, was it a conflict, message).
    voided: VecDeque<(u64, u64, bool, String)>,
    /// A writer is appending a batch.
    flushing: bool,
    /// Every event up to this one is covered by a checkpoint of this
    /// ledger's key or was written by this ledger after such an event
    /// (0: the chain is empty so far, as far as this ledger vouches).
    vouched: u64,
    /// The hash of event `vouched`.
    vouched_hash: String,
    /// The last event this ledger signed (or found signed) a checkpoint of.
    signed: u64,
    /// The signer was told that this trial is written without signing.
    told: bool,
}

impl<S: Store> Ledger<S> {
    /// Wraps a store.
    pub fn new(store: S) -> Self {
        Ledger {
            store,
            cache: Mutex::new(HashMap::new()),
            lanes: Mutex::new(HashMap::new()),
            signing: None,
        }
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The current state of `trial`, brought up to date with the store. The
    /// state is shared (cheap to return); events written since the cached
    /// state are read and folded, each one checked against its hash.
    pub fn state(&self, trial: &str) -> Result<Arc<TrialState>, StoreError> {
        let cached = self.cached(trial);
        let after = cached.as_ref().map_or(0, |s| s.seq);
        let mut fresh: Option<TrialState> = None;
        self.store.scan(trial, after, &mut |stored| {
            let state = fresh.get_or_insert_with(|| match &cached {
                Some(s) => TrialState::clone(s),
                None => TrialState::new(trial),
            });
            fold_stored(state, trial, &stored)
        })?;
        match fresh {
            Some(state) => {
                let state = Arc::new(state);
                self.remember(&state);
                Ok(state)
            }
            None => Ok(cached.unwrap_or_else(|| Arc::new(TrialState::new(trial)))),
        }
    }

    /// Checks the whole chain of `trial` from the first event.
    pub fn verify(&self, trial: &str) -> Result<ChainSummary, StoreError> {
        let stored = self.store.load(trial, 0)?;
        verify_chain(trial, &stored)
            .map(|(summary, _)| summary)
            .map_err(|source| StoreError::Chain {
                trial: trial.into(),
                source,
            })
    }

    /// Runs a command: asks `command` for the events to write (or a
    /// refusal) against the current state, seals them onto the chain and
    /// appends them. On a conflict the state is refreshed and `command`
    /// asked again, so a command is always checked against the state it is
    /// written after. Returns the events written; when it returns, they are
    /// durable.
    ///
    /// Commands on one trial through one ledger are checked one at a time,
    /// each against the state left by the ones before, and written together
    /// (group commit: threads of one process never race each other, and one
    /// durable commit acknowledges many commands). Writers in other
    /// processes (or other ledgers) race optimistically; the loser waits a
    /// short random time and tries again.
    pub fn execute<E>(
        &self,
        trial: &str,
        mut command: impl FnMut(&TrialState) -> Result<Vec<EventDraft>, E>,
    ) -> Result<Vec<Event>, ExecuteError<E>> {
        let cell = self.lane(trial);
        for attempt in 0..MAX_ATTEMPTS {
            let mut lane = lock_lane(&cell)?;
            if lane.pending.is_empty() && !lane.flushing {
                // Nothing in flight: catch up with other writers of the store.
                let base = match lane.tentative.take() {
                    Some(t) => Some(Arc::new(t)),
                    None => lane.committed.take(),
                };
                let fresh = self.catch_up(trial, base)?;
                self.remember(&fresh);
                lane.committed = Some(fresh);
            }
            let events = {
                let Lane {
                    committed,
                    tentative,
                    ..
                } = &mut *lane;
                let Some(committed) = committed.as_ref() else {
                    return Err(StoreError::Backend("write pipeline lost its state".into()).into());
                };
                let drafts = command(tentative.as_ref().unwrap_or(committed))
                    .map_err(ExecuteError::Rejected)?;
                if drafts.is_empty() {
                    return Ok(Vec::new());
                }
                let state = tentative.get_or_insert_with(|| TrialState::clone(committed));
                let mut events = Vec::with_capacity(drafts.len());
                let mut refused = None;
                for draft in drafts {
                    let event = state.seal(draft);
                    if let Err(source) = state.apply(&event) {
                        refused = Some(source);
                        break;
                    }
                    events.push(event);
                }
                if let Some(source) = refused {
                    // The tentative state is half-updated: void everything
                    // queued (those writers retry) and fall back.
                    void_queued(&mut lane, true, "another command was refused".into());
                    cell.flushed.notify_all();
                    return Err(StoreError::Apply {
                        trial: trial.into(),
                        source,
                    }
                    .into());
                }
                events
            };
            lane.pending.extend(events.iter().cloned());
            let my_batch = lane.next_batch;
            loop {
                let void = lane
                    .voided
                    .iter()
                    .find(|(first, last, ..)| (*first..=*last).contains(&my_batch));
                if let Some((_, _, conflict, message)) = void {
                    if !conflict {
                        return Err(StoreError::Backend(message.clone()).into());
                    }
                    break;
                }
                if lane.done_through >= my_batch {
                    return Ok(events);
                }
                if !lane.flushing && !lane.pending.is_empty() {
                    lane = self.flush(trial, &cell, lane)?;
                } else {
                    lane = cell
                        .flushed
                        .wait(lane)
                        .map_err(|_| StoreError::Backend("write pipeline poisoned".into()))?;
                }
            }
            drop(lane);
            backoff(attempt);
        }
        Err(StoreError::Contended {
            trial: trial.into(),
            attempts: MAX_ATTEMPTS,
        }
        .into())
    }

    /// Appends the queued events as one batch (the lane unlocked meanwhile)
    /// and records the outcome for the waiting writers.
    fn flush<'a>(
        &self,
        trial: &str,
        cell: &'a LaneCell,
        mut lane: MutexGuard<'a, Lane>,
    ) -> Result<MutexGuard<'a, Lane>, StoreError> {
        let batch = std::mem::take(&mut lane.pending);
        let number = lane.next_batch;
        lane.next_batch += 1;
        lane.flushing = true;
        let plan = match &self.signing {
            Some(signing) => self.plan_checkpoint(trial, signing, &batch, &lane),
            None => Ok(Plan::default()),
        };
        drop(lane);
        let (outcome, plan) = match plan {
            Ok(plan) => {
                let outcome = match &plan.checkpoint {
                    Some(cp) => self.store.append_signed(trial, &batch, cp),
                    None => self.store.append(trial, &batch),
                };
                (outcome, plan)
            }
            Err(e) => (Err(e), Plan::default()),
        };
        let mut lane = lock_lane(cell)?;
        lane.flushing = false;
        if let (Some(why), Some(signing)) = (&plan.tell, &self.signing) {
            lane.told = true;
            signing.signer.not_signed(trial, why);
        }
        match outcome {
            Ok(()) => {
                lane.done_through = number;
                if let Some(last) = batch.last() {
                    if plan.vouched {
                        lane.vouched = last.seq;
                        lane.vouched_hash = last.hash.clone();
                        lane.signed = plan.signed;
                    }
                    if plan.checkpoint.is_some() {
                        lane.signed = last.seq;
                    }
                }
            }
            Err(e) => {
                // This batch and everything queued after it is void; fall
                // back to the committed state and re-read the store.
                let conflict = matches!(e, StoreError::Conflict { .. });
                void_queued_from(&mut lane, number, conflict, e.to_string());
            }
        }
        cell.flushed.notify_all();
        Ok(lane)
    }

    /// `base` (or the cached state) brought up to date with the store.
    fn catch_up(
        &self,
        trial: &str,
        base: Option<Arc<TrialState>>,
    ) -> Result<Arc<TrialState>, StoreError> {
        let Some(mut base) = base else {
            return self.state(trial);
        };
        let after = base.seq;
        self.store.scan(trial, after, &mut |stored| {
            fold_stored(Arc::make_mut(&mut base), trial, &stored)
        })?;
        Ok(base)
    }

    fn lane(&self, trial: &str) -> Arc<LaneCell> {
        match self.lanes.lock() {
            Ok(mut lanes) => lanes
                .entry(trial.to_string())
                .or_insert_with(|| Arc::new(LaneCell::new()))
                .clone(),
            Err(_) => Arc::new(LaneCell::new()),
        }
    }

    fn cached(&self, trial: &str) -> Option<Arc<TrialState>> {
        self.cache
            .lock()
            .ok()
            .and_then(|cache| cache.get(trial).cloned())
    }

    fn remember(&self, state: &Arc<TrialState>) {
        if let Ok(mut cache) = self.cache.lock() {
            let newer = cache
                .get(&state.trial)
                .is_none_or(|old| old.seq < state.seq);
            if newer {
                cache.insert(state.trial.clone(), state.clone());
            }
        }
    }
}

/// Voids the queued (not yet written) batch.
fn void_queued(lane: &mut Lane, conflict: bool, message: String) {
    let first = lane.next_batch;
    void_queued_from(lane, first, conflict, message);
}

/// Voids batches `first..=next_batch` (in flight from `first`, and queued),
/// dropping the tentative state.
fn void_queued_from(lane: &mut Lane, first: u64, conflict: bool, message: String) {
    let last = lane.next_batch;
    lane.voided.push_back((first, last, conflict, message));
    if lane.voided.len() > 1024 {
        lane.voided.pop_front();
    }
    lane.pending.clear();
    lane.tentative = None;
    lane.next_batch = last + 1;
}

fn lock_lane(cell: &LaneCell) -> Result<MutexGuard<'_, Lane>, StoreError> {
    cell.lane
        .lock()
        .map_err(|_| StoreError::Backend("write pipeline poisoned by a panic".into()))
}

/// Decodes one stored event, checks it against its hash and folds it.
fn fold_stored(
    state: &mut TrialState,
    trial: &str,
    stored: &StoredEvent,
) -> Result<(), StoreError> {
    let broken = |kind: BreakKind, detail: String| StoreError::Chain {
        trial: trial.into(),
        source: ChainBreak {
            seq: stored.seq,
            kind,
            detail,
        },
    };
    let event = Event::from_stored(&stored.body, &stored.hash, stored.openings.as_deref())
        .map_err(|e| broken(BreakKind::Malformed, e.to_string()))?;
    if event.computed_hash() != stored.hash {
        return Err(broken(
            BreakKind::Edited,
            "the stored hash does not match the stored body".into(),
        ));
    }
    state.apply(&event).map_err(|source| StoreError::Apply {
        trial: trial.into(),
        source,
    })
}

/// Sleeps a random time that grows with the attempt (at most ~10 ms), so
/// writers that lost a race do not collide again in lockstep.
fn backoff(attempt: u32) {
    let ceiling_us = 50u64 << attempt.min(8);
    let jitter = std::collections::hash_map::RandomState::new().hash_one(attempt);
    std::thread::sleep(Duration::from_micros(jitter % ceiling_us.min(10_000)));
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
        }
    };
}

forward_store!(Box);
forward_store!(Arc);
