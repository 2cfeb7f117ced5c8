//! `rct-store`: the trial record kept as events, on SQLite or PostgreSQL.
//!
//! The interface every backend implements is [`Store`]: an append-only log
//! per trial with optimistic concurrency (an append names the sequence number
//! it expects to take; if another writer took it first the append fails with
//! [`StoreError::Conflict`] and the caller retries against the new state).
//! [`Ledger`] wraps a store with the command loop every edge uses: fold the
//! state, check the command against it, seal the drafts onto the chain, append,
//! and retry on conflict.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rct_record::{
    verify_chain, ApplyError, ChainBreak, ChainSummary, Event, EventDraft, StoredEvent, TrialState,
};

pub mod mem;

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
    /// Too many conflicts in a row.
    #[error("trial `{trial}`: gave up after {attempts} conflicting attempts")]
    Contended {
        /// Trial.
        trial: String,
        /// Attempts made.
        attempts: u32,
    },
}

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

/// How many times [`Ledger::execute`] retries after a conflict.
pub const MAX_ATTEMPTS: u32 = 64;

/// A store plus a cache of folded states: the command loop of every edge.
pub struct Ledger<S: Store> {
    store: S,
    cache: Mutex<HashMap<String, TrialState>>,
}

impl<S: Store> Ledger<S> {
    /// Wraps a store.
    pub fn new(store: S) -> Self {
        Ledger {
            store,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The current state of `trial`, brought up to date with the store.
    pub fn state(&self, trial: &str) -> Result<TrialState, StoreError> {
        let cached = self.cached(trial);
        let mut state = cached.unwrap_or_else(|| TrialState::new(trial));
        let fresh = self.store.load(trial, state.seq)?;
        for stored in &fresh {
            let event =
                Event::from_body(&stored.body, &stored.hash).map_err(|e| StoreError::Chain {
                    trial: trial.into(),
                    source: ChainBreak {
                        seq: stored.seq,
                        kind: rct_record::BreakKind::Malformed,
                        detail: e.to_string(),
                    },
                })?;
            if event.computed_hash() != stored.hash {
                return Err(StoreError::Chain {
                    trial: trial.into(),
                    source: ChainBreak {
                        seq: stored.seq,
                        kind: rct_record::BreakKind::Edited,
                        detail: "the stored hash does not match the stored body".into(),
                    },
                });
            }
            state.apply(&event).map_err(|source| StoreError::Apply {
                trial: trial.into(),
                source,
            })?;
        }
        if !fresh.is_empty() {
            self.remember(&state);
        }
        Ok(state)
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

    /// Runs a command: folds the current state, asks `command` for the events
    /// to write (or a refusal), seals them onto the chain and appends them.
    /// On a conflict the state is refreshed and `command` asked again, so a
    /// command is always checked against the state it is written after.
    /// Returns the events written; when it returns, they are durable.
    pub fn execute<E>(
        &self,
        trial: &str,
        mut command: impl FnMut(&TrialState) -> Result<Vec<EventDraft>, E>,
    ) -> Result<Vec<Event>, ExecuteError<E>> {
        for _ in 0..MAX_ATTEMPTS {
            let state = self.state(trial)?;
            let drafts = command(&state).map_err(ExecuteError::Rejected)?;
            let mut events = Vec::with_capacity(drafts.len());
            let mut seq = state.seq;
            let mut head = state.head.clone();
            for draft in drafts {
                seq += 1;
                let event = draft.seal(seq, &head);
                head = event.hash.clone();
                events.push(event);
            }
            if events.is_empty() {
                return Ok(events);
            }
            match self.store.append(trial, &events) {
                Ok(()) => {
                    let mut next = state;
                    for e in &events {
                        next.apply(e).map_err(|source| StoreError::Apply {
                            trial: trial.into(),
                            source,
                        })?;
                    }
                    self.remember(&next);
                    return Ok(events);
                }
                Err(StoreError::Conflict { .. }) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(StoreError::Contended {
            trial: trial.into(),
            attempts: MAX_ATTEMPTS,
        }
        .into())
    }

    fn cached(&self, trial: &str) -> Option<TrialState> {
        self.cache
            .lock()
            .ok()
            .and_then(|cache| cache.get(trial).cloned())
    }

    fn remember(&self, state: &TrialState) {
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
        }
    };
}

forward_store!(Box);
forward_store!(Arc);
