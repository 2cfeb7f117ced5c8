//! [`Ledger`]: a store plus a cache of folded states, and the write pipeline
//! every edge sends its commands through.

use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use rct_record::{ChainSummary, Event, EventDraft, StoredEvent, TrialState};

use crate::checkpoints::{Plan, Signing};
use crate::fast::{decode_checked, par_map, CHUNK};
use crate::snapshot::{BadSnapshot, StateSnapshot};
use crate::{Store, StoreError};

/// A start that folds at least this many events after the snapshot it
/// began from saves a new snapshot.
pub const SNAPSHOT_EVERY: u64 = 10_000;

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
/// [`StoreError::Contended`]. Commands are checked while the trial's writer
/// lock is held, so a retry happens only on a store without a lock
/// ([`Store::write_locked`]'s default) or when a batch failed.
pub const MAX_ATTEMPTS: u32 = 256;

/// A store plus a cache of folded states: the command loop of every edge.
pub struct Ledger<S: Store> {
    pub(crate) store: S,
    cache: Mutex<HashMap<String, Arc<TrialState>>>,
    pub(crate) lanes: Mutex<HashMap<String, Arc<LaneCell>>>,
    pub(crate) signing: Option<Signing>,
    snapshot_every: Option<u64>,
}

/// The write pipeline of one trial in one ledger (group commit under the
/// trial's writer lock).
///
/// Writes go in rounds. The writer that finds no round running leads one:
/// it takes the trial's writer lock in a store transaction
/// ([`Store::write_locked`]), folds what other processes appended since,
/// and opens the round. While it is open, every writer of this process
/// checks its command against the state (the stored head plus the events
/// queued before it) and queues its sealed events; the leader waits until
/// the writers that were waiting for the round have had their turn, closes
/// it, appends the batch and commits, so one durable commit acknowledges
/// many commands and no command is ever checked against a stale state.
pub(crate) struct LaneCell {
    pub(crate) lane: Mutex<Lane>,
    pub(crate) flushed: Condvar,
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

/// A failed batch: the first and last batch number voided, whether another
/// writer was first (the writers retry) and the message.
type Voided = (u64, u64, bool, String);

#[derive(Default)]
pub(crate) struct Lane {
    /// The state as last known to be stored.
    committed: Option<Arc<TrialState>>,
    /// `committed` plus the queued events; `None`: same as committed.
    tentative: Option<TrialState>,
    /// Sealed events for the round's batch.
    pending: Vec<Event>,
    /// Number of the batch `pending` will be written in.
    next_batch: u64,
    /// Every batch up to this number is durable.
    done_through: u64,
    /// Batches that failed, most recent last.
    voided: VecDeque<Voided>,
    /// A round is running: its leader holds (or is taking) the writer lock.
    pub(crate) flushing: bool,
    /// The round is open: the lock is held and `committed` is the stored
    /// state, so writers may check and queue.
    open: bool,
    /// Writers waiting for the next round to open.
    waiting: usize,
    /// Every event up to this one is covered by a checkpoint of this
    /// ledger's key or was written by this ledger after such an event
    /// (0: the chain is empty so far, as far as this ledger vouches).
    pub(crate) vouched: u64,
    /// The hash of event `vouched`.
    pub(crate) vouched_hash: String,
    /// The last event this ledger signed (or found signed) a checkpoint of.
    pub(crate) signed: u64,
    /// The signer was told that this trial is written without signing.
    pub(crate) told: bool,
}

/// What became of one writer's attempt.
enum Outcome {
    /// Written (durable) or nothing to write.
    Done(Vec<Event>),
    /// Voided because another writer was first: check again.
    Retry,
}

/// A writer's queued events and the batch they go in.
type Queued = Option<(Vec<Event>, u64)>;

impl<S: Store> Ledger<S> {
    /// Wraps a store.
    pub fn new(store: S) -> Self {
        Ledger {
            store,
            cache: Mutex::new(HashMap::new()),
            lanes: Mutex::new(HashMap::new()),
            signing: None,
            snapshot_every: Some(SNAPSHOT_EVERY),
        }
    }

    /// After a start that folded at least `every` events past the snapshot
    /// it began from, save a new one (`None`: never save on its own; the
    /// default is [`SNAPSHOT_EVERY`]).
    pub fn set_snapshot_every(&mut self, every: Option<u64>) {
        self.snapshot_every = every;
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The underlying store, dropping the cached states.
    pub fn into_store(self) -> S {
        self.store
    }

    /// The current state of `trial`, brought up to date with the store. The
    /// state is shared (cheap to return); events written since the cached
    /// state are read and folded, each one checked against its hash. With
    /// nothing cached, the latest good snapshot is the start (see
    /// [`crate::snapshot`]) and only the events after it are folded; when
    /// that was more than [`SNAPSHOT_EVERY`] events, a new snapshot is saved.
    pub fn state(&self, trial: &str) -> Result<Arc<TrialState>, StoreError> {
        let (base, from_snapshot) = match self.cached(trial) {
            Some(s) => (s, None),
            None => {
                let (state, seq) = self.start_state(trial)?;
                (Arc::new(state), Some(seq))
            }
        };
        let before = base.seq;
        let mut state = base;
        fold_scan(&self.store, trial, &mut state)?;
        if let Some(snap_seq) = from_snapshot {
            let due = self
                .snapshot_every
                .is_some_and(|every| state.seq >= snap_seq + every.max(1));
            if due {
                if let Err(e) = self.save_state_snapshot(&state) {
                    tracing::warn!(trial, error = %e, "could not save a state snapshot");
                }
            }
        }
        if state.seq != before || from_snapshot.is_some() {
            self.remember(&state);
        }
        Ok(state)
    }

    /// The newest good snapshot's state and its sequence number, or the
    /// empty state and 0. Bad snapshots are logged and skipped.
    fn start_state(&self, trial: &str) -> Result<(TrialState, u64), StoreError> {
        for snap in self.store.latest_snapshots(trial, crate::snapshot::KEEP)? {
            let checked = snap.state().and_then(|state| {
                let mut stored = None;
                self.store
                    .scan(trial, snap.seq.saturating_sub(1), &mut |row| {
                        if stored.is_none() {
                            stored = Some((row.seq, row.hash));
                        }
                        Err(StoreError::Backend(String::new()))
                    })
                    .ok();
                match stored {
                    Some((seq, hash)) if seq == snap.seq && hash == snap.hash => Ok(state),
                    _ => Err(BadSnapshot {
                        trial: trial.into(),
                        seq: snap.seq,
                        why: "the stored event it ends at is missing or has another hash".into(),
                    }),
                }
            });
            match checked {
                Ok(state) => return Ok((state, snap.seq)),
                Err(bad) => {
                    tracing::warn!(trial, seq = snap.seq, reason = %bad.why, "state snapshot ignored")
                }
            }
        }
        Ok((TrialState::new(trial), 0))
    }

    /// Saves a snapshot of the current state of `trial` (for a fast next
    /// start). Returns the event it ends at (0: the trial has no events).
    pub fn save_snapshot(&self, trial: &str) -> Result<u64, StoreError> {
        let state = self.state(trial)?;
        if state.seq == 0 {
            return Ok(0);
        }
        self.save_state_snapshot(&state)?;
        Ok(state.seq)
    }

    fn save_state_snapshot(&self, state: &TrialState) -> Result<(), StoreError> {
        let snap = StateSnapshot::of(state).map_err(|e| {
            StoreError::Backend(format!("trial `{}`: state snapshot: {e}", state.trial))
        })?;
        self.store.save_snapshot(&snap)
    }

    /// Checks the whole chain of `trial` from the first event (each event's
    /// own checks on several threads, the links in order).
    pub fn verify(&self, trial: &str) -> Result<ChainSummary, StoreError> {
        crate::fast::scan_verified(&self.store, trial, None, &mut |_| Ok(()))
    }

    /// Runs a command: asks `command` for the events to write (or a
    /// refusal) against the current state, seals them onto the chain and
    /// appends them. Returns the events written; when it returns, they are
    /// durable.
    ///
    /// The command is checked while the trial's writer lock is held
    /// ([`Store::write_locked`]) against the state at the stored head, so a
    /// writer in another process cannot slip in between check and append:
    /// writers in several processes take turns instead of racing, and a
    /// refusal is final. Commands of one process are checked one at a time,
    /// each against the state left by the ones before, and written together
    /// (group commit: one durable commit acknowledges many). On a store
    /// without a lock a batch may still lose a race; its commands are then
    /// checked again against the new state after a short random wait.
    pub fn execute<E>(
        &self,
        trial: &str,
        mut command: impl FnMut(&TrialState) -> Result<Vec<EventDraft>, E>,
    ) -> Result<Vec<Event>, ExecuteError<E>> {
        let cell = self.lane(trial);
        for attempt in 0..MAX_ATTEMPTS {
            let mut lane = lock_lane(&cell)?;
            let mut counted = false;
            while lane.flushing && !lane.open {
                if !counted {
                    lane.waiting += 1;
                    counted = true;
                }
                lane = wait(&cell, lane)?;
            }
            if counted {
                lane.waiting -= 1;
            }
            let outcome = if lane.open {
                let queued = queue(trial, &mut lane, &mut command);
                cell.flushed.notify_all();
                match queued? {
                    None => Outcome::Done(Vec::new()),
                    Some((events, batch)) => await_batch(&cell, lane, events, batch)?,
                }
            } else {
                self.lead(trial, &cell, lane, &mut command)?
            };
            match outcome {
                Outcome::Done(events) => return Ok(events),
                Outcome::Retry => {
                    tracing::info!(trial, attempt, "write batch lost a race; checking again");
                    backoff(attempt);
                }
            }
        }
        Err(StoreError::Contended {
            trial: trial.into(),
            attempts: MAX_ATTEMPTS,
        }
        .into())
    }

    /// Runs one round (see [`LaneCell`]) with this writer as its leader.
    fn lead<E>(
        &self,
        trial: &str,
        cell: &LaneCell,
        mut lane: MutexGuard<'_, Lane>,
        command: &mut dyn FnMut(&TrialState) -> Result<Vec<EventDraft>, E>,
    ) -> Result<Outcome, ExecuteError<E>> {
        lane.flushing = true;
        let base = lane.committed.clone();
        drop(lane);
        // Catching up with what other processes wrote happens before the
        // lock is taken (a first load, or the events since the last round),
        // so the lock is held only for what is written in between.
        let base = match base {
            Some(mut b) => fold_scan(&self.store, trial, &mut b).map(|()| b),
            None => self.state(trial),
        };
        let mut own: Option<Result<Queued, ExecuteError<E>>> = None;
        let mut taken: Option<(u64, Plan)> = None;
        let result = match base {
            Err(e) => Err(e),
            Ok(base) => self.store.write_locked(trial, &mut |locked| {
                let mut fresh = base.clone();
                locked.scan(fresh.seq, &mut |stored| {
                    fold_stored(Arc::make_mut(&mut fresh), trial, &stored)
                })?;
                let mut lane = lock_lane(cell)?;
                lane.committed = Some(fresh.clone());
                lane.tentative = None;
                lane.open = true;
                cell.flushed.notify_all();
                own = Some(queue(trial, &mut lane, command));
                // The writers that waited for this round check in turn.
                while lane.waiting > 0 {
                    lane = wait(cell, lane)?;
                }
                lane.open = false;
                let batch = std::mem::take(&mut lane.pending);
                if batch.is_empty() {
                    return Ok(());
                }
                let number = lane.next_batch;
                lane.next_batch += 1;
                taken = Some((number, Plan::default()));
                let plan = match &self.signing {
                    Some(signing) => self.plan_checkpoint(trial, signing, &batch, &lane, locked)?,
                    None => Plan::default(),
                };
                drop(lane);
                let written = locked.append(&batch, plan.checkpoint.as_ref());
                taken = Some((number, plan));
                written
            }),
        };
        let mut lane = lock_lane(cell)?;
        lane.flushing = false;
        lane.open = false;
        match (&result, taken) {
            (Ok(()), Some((number, plan))) => {
                lane.done_through = number;
                if let Some(state) = lane.tentative.take() {
                    let state = Arc::new(state);
                    self.after_batch(trial, &mut lane, &state, &plan);
                    self.remember(&state);
                    lane.committed = Some(state);
                }
            }
            (Ok(()), None) => {
                if let Some(state) = &lane.committed {
                    self.remember(state);
                }
            }
            (Err(e), Some((number, plan))) => {
                self.tell(trial, &mut lane, &plan);
                let conflict = matches!(e, StoreError::Conflict { .. });
                void_queued_from(&mut lane, number, conflict, e.to_string());
            }
            (Err(e), None) => {
                let conflict = matches!(e, StoreError::Conflict { .. });
                void_queued(&mut lane, conflict, e.to_string());
            }
        }
        cell.flushed.notify_all();
        let own = match (own, result) {
            (Some(own), _) => own?,
            (None, Err(e)) => return Err(e.into()),
            (None, Ok(())) => {
                return Err(StoreError::Backend("write round ended without a check".into()).into())
            }
        };
        match own {
            None => Ok(Outcome::Done(Vec::new())),
            Some((events, batch)) => Ok(await_batch(cell, lane, events, batch)?),
        }
    }

    /// Records what a written batch means for signing.
    fn after_batch(&self, trial: &str, lane: &mut Lane, state: &TrialState, plan: &Plan) {
        self.tell(trial, lane, plan);
        if plan.vouched {
            lane.vouched = state.seq;
            lane.vouched_hash = state.head.clone();
            lane.signed = plan.signed;
        }
        if plan.checkpoint.is_some() {
            lane.signed = state.seq;
        }
    }

    fn tell(&self, trial: &str, lane: &mut Lane, plan: &Plan) {
        if let (Some(why), Some(signing)) = (&plan.tell, &self.signing) {
            if !lane.told {
                lane.told = true;
                signing.signer.not_signed(trial, why);
            }
        }
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

/// Checks `command` against the open round's state and queues its events.
fn queue<E>(
    trial: &str,
    lane: &mut Lane,
    command: &mut dyn FnMut(&TrialState) -> Result<Vec<EventDraft>, E>,
) -> Result<Queued, ExecuteError<E>> {
    let Lane {
        committed,
        tentative,
        ..
    } = lane;
    let Some(committed) = committed.as_ref() else {
        return Err(StoreError::Backend("write pipeline lost its state".into()).into());
    };
    let drafts =
        command(tentative.as_ref().unwrap_or(committed)).map_err(ExecuteError::Rejected)?;
    if drafts.is_empty() {
        return Ok(None);
    }
    let state = tentative.get_or_insert_with(|| TrialState::clone(committed));
    let mut events = Vec::with_capacity(drafts.len());
    for draft in drafts {
        let event = state.seal(draft);
        if let Err(source) = state.apply(&event) {
            // The tentative state is half-updated: void everything queued
            // (those writers check again) and fall back.
            void_queued(lane, true, "another command was refused".into());
            return Err(StoreError::Apply {
                trial: trial.into(),
                source,
            }
            .into());
        }
        events.push(event);
    }
    lane.pending.extend(events.iter().cloned());
    Ok(Some((events, lane.next_batch)))
}

/// Waits until batch `batch` is written or voided.
fn await_batch<'a>(
    cell: &'a LaneCell,
    mut lane: MutexGuard<'a, Lane>,
    events: Vec<Event>,
    batch: u64,
) -> Result<Outcome, StoreError> {
    loop {
        let void = lane
            .voided
            .iter()
            .find(|(first, last, ..)| (*first..=*last).contains(&batch));
        if let Some((_, _, conflict, message)) = void {
            if !conflict {
                return Err(StoreError::Backend(message.clone()));
            }
            return Ok(Outcome::Retry);
        }
        if lane.done_through >= batch {
            return Ok(Outcome::Done(events));
        }
        lane = wait(cell, lane)?;
    }
}

fn wait<'a>(
    cell: &'a LaneCell,
    lane: MutexGuard<'a, Lane>,
) -> Result<MutexGuard<'a, Lane>, StoreError> {
    cell.flushed
        .wait(lane)
        .map_err(|_| StoreError::Backend("write pipeline poisoned".into()))
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

pub(crate) fn lock_lane(cell: &LaneCell) -> Result<MutexGuard<'_, Lane>, StoreError> {
    cell.lane
        .lock()
        .map_err(|_| StoreError::Backend("write pipeline poisoned by a panic".into()))
}

/// Decodes one stored event, checks it against its hash and folds it.
pub(crate) fn fold_stored(
    state: &mut TrialState,
    trial: &str,
    stored: &StoredEvent,
) -> Result<(), StoreError> {
    let event = decode_checked(trial, stored)?;
    apply(state, trial, &event)
}

fn apply(state: &mut TrialState, trial: &str, event: &Event) -> Result<(), StoreError> {
    state.apply(event).map_err(|source| StoreError::Apply {
        trial: trial.into(),
        source,
    })
}

/// Folds every stored event after `state` into it: rows are read in
/// chunks, decoded and hash-checked on several threads, then applied in
/// order (which checks each link).
fn fold_scan<S: Store + ?Sized>(
    store: &S,
    trial: &str,
    state: &mut Arc<TrialState>,
) -> Result<(), StoreError> {
    let mut chunk: Vec<StoredEvent> = Vec::new();
    let flush = |chunk: &mut Vec<StoredEvent>, state: &mut Arc<TrialState>| {
        let decoded = par_map(chunk, |row| decode_checked(trial, row));
        chunk.clear();
        let state = Arc::make_mut(state);
        for event in decoded {
            apply(state, trial, &event?)?;
        }
        Ok::<(), StoreError>(())
    };
    store.scan(trial, state.seq, &mut |row| {
        chunk.push(row);
        if chunk.len() == CHUNK {
            flush(&mut chunk, state)?;
        }
        Ok(())
    })?;
    if !chunk.is_empty() {
        flush(&mut chunk, state)?;
    }
    Ok(())
}

/// Sleeps a random time that grows with the attempt (at most ~10 ms), so
/// writers that lost a race do not collide again in lockstep.
fn backoff(attempt: u32) {
    let ceiling_us = 50u64 << attempt.min(8);
    let jitter = std::collections::hash_map::RandomState::new().hash_one(attempt);
    std::thread::sleep(Duration::from_micros(jitter % ceiling_us.min(10_000)));
}
