//! Chain format 1 (records written before commitments) and its migration.
//!
//! A format-1 body is the event (every field but `hash`) with every value in
//! plain, arms, list positions, the seed and the design included, without
//! `"v"`, written by [`crate::canonical::to_canonical_v1`]; its hash is the
//! SHA-256 of those bytes. Anyone holding such a chain's hashes can test
//! guesses of what a view withheld, so this version reads format 1 only to
//! verify it and re-seal it ([`migrate_v1`], behind `rct audit migrate`):
//!
//! 1. the old chain is verified as [`crate::verify_chain`] verifies format 2
//!    (hashes, canonical bytes, trial, numbering, links) and folded;
//! 2. the migrating user must hold the administrator role in it and give a
//!    reason;
//! 3. every event is sealed again, in order, with the same content (time,
//!    actor, role, site, reason, payload) under the format-2 rule of
//!    [`crate::TrialState::sealing`]: the registration gains the trial's new
//!    sealing key (drawn by the edge) and the public part of its design,
//!    both of which format 1 did not have;
//! 4. one `chain_migrated` event follows, by the migrating user, naming the
//!    old format and the old head's sequence number and hash.
//!
//! The result folds to the state the old chain folded to (apart from the
//! head, the event count and the sealing key).

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::canonical::to_canonical_v1;
use crate::chain::{verify_rows, ChainBreak, ChainSummary, StoredEvent};
use crate::design::TrialDesign;
use crate::event::{sha256_hex, Event, EventDraft, EventError, Payload, Role, CHAIN_FORMAT};
use crate::state::{ApplyError, TrialState};

/// The format number of chains written before commitments.
pub const FORMAT_1: u64 = 1;

/// The format-1 body of `event`: every field except `hash`, values in
/// plain, in format 1's canonical JSON.
pub fn body_v1(event: &Event) -> String {
    let mut value = serde_json::to_value(event).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.shift_remove("hash");
    }
    to_canonical_v1(&value)
}

/// Reads a format-1 body (one without `"v"`) into an event carrying `hash`.
pub fn event_v1(body: &str, hash: &str) -> Result<Event, EventError> {
    let mut value: Value = serde_json::from_str(body)?;
    let Value::Object(map) = &mut value else {
        return Err(EventError::Json(serde::de::Error::custom(
            "an event must be a JSON object",
        )));
    };
    if map.contains_key("v") {
        return Err(EventError::Json(serde::de::Error::custom(
            "the body carries `v`: it is not a format-1 body",
        )));
    }
    map.insert("hash".into(), Value::String(hash.into()));
    Ok(serde_json::from_value(value)?)
}

/// The chain format of a stored body: the number in its `"v"`, 1 when it
/// has none; `None` when the body is not a JSON object.
pub fn body_format(body: &str) -> Option<u64> {
    let value: Value = serde_json::from_str(body).ok()?;
    let map = value.as_object()?;
    map.get("v").map_or(Some(FORMAT_1), Value::as_u64)
}

/// Writes `drafts` as the format-1 chain of a new trial, as rct wrote
/// records before commitments (nothing sealed, no sealing key or public
/// design in the registration): to test reading, verifying and migrating
/// old records.
pub fn chain_v1(drafts: impl IntoIterator<Item = EventDraft>) -> Vec<StoredEvent> {
    let mut prev = crate::event::GENESIS_HASH.to_string();
    let mut out = Vec::new();
    for (i, mut d) in drafts.into_iter().enumerate() {
        if let Payload::TrialRegistered {
            seal_key,
            public_design,
            ..
        } = &mut d.payload
        {
            *seal_key = None;
            *public_design = None;
        }
        let mut e = d.seal(i as u64 + 1, &prev);
        let body = body_v1(&e);
        e.hash = sha256_hex(body.as_bytes());
        prev = e.hash.clone();
        out.push(StoredEvent {
            seq: e.seq,
            body,
            hash: e.hash,
            openings: None,
        });
    }
    out
}

/// Verifies a format-1 chain as [`crate::verify_chain`] verifies format 2,
/// returning its events.
pub fn verify_v1(
    trial: &str,
    stored: &[StoredEvent],
) -> Result<(ChainSummary, Vec<Event>), ChainBreak> {
    verify_rows(trial, stored, |row| event_v1(&row.body, &row.hash), body_v1)
}

/// Folds format-1 events (nothing sealed) into a state.
pub fn fold_v1<'a>(
    trial: &str,
    events: impl IntoIterator<Item = &'a Event>,
) -> Result<TrialState, ApplyError> {
    let mut state = TrialState::new(trial);
    for e in events {
        state.apply_unsealed(e)?;
    }
    Ok(state)
}

/// Who migrates a chain, when and why, and the new sealing key.
#[derive(Debug, Clone)]
pub struct Migration {
    /// The migrating user (an administrator of the trial).
    pub actor: String,
    /// When (the edge's clock).
    pub at: DateTime<Utc>,
    /// Why (required).
    pub reason: String,
    /// The trial's new 256-bit sealing key (drawn by the edge).
    pub seal_key: [u8; 32],
    /// The software that migrates (see [`crate::Event::software`]; the
    /// migrated events keep theirs, none for format 1).
    pub software: Option<String>,
}

/// Why a chain cannot be migrated.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// Nothing stored.
    #[error("trial `{trial}` has no events")]
    Empty {
        /// Trial.
        trial: String,
    },
    /// Already in the current format.
    #[error("trial `{trial}` is already in chain format {CHAIN_FORMAT}: nothing to migrate")]
    Current {
        /// Trial.
        trial: String,
    },
    /// The old chain does not verify.
    #[error("trial `{trial}`: the format-1 chain is broken at {source}; nothing was changed (find out what happened with the rct that wrote it)")]
    Broken {
        /// Trial.
        trial: String,
        /// The first break.
        #[source]
        source: ChainBreak,
    },
    /// The old or the new chain does not fold.
    #[error("trial `{trial}`: {source}")]
    Fold {
        /// Trial.
        trial: String,
        /// Why.
        #[source]
        source: ApplyError,
    },
    /// No reason given.
    #[error("a migration needs a reason (it is recorded in the new chain)")]
    NoReason,
    /// The re-sealed chain does not fold to the old chain's state.
    #[error("trial `{trial}`: the re-sealed chain does not fold to the state of the old one; nothing was changed (please report this)")]
    Changed {
        /// Trial.
        trial: String,
    },
    /// The user is not an administrator of the trial.
    #[error("`{user}` is not an administrator of trial `{trial}`; only an administrator migrates its record")]
    NotAdmin {
        /// User.
        user: String,
        /// Trial.
        trial: String,
    },
}

/// `state` without what a migration changes: the head, the event count
/// and the sealing key (format 1 had none).
pub fn comparable(state: &TrialState) -> TrialState {
    let mut s = state.clone();
    s.seq = 0;
    s.head = String::new();
    if let Some(c) = &mut s.config {
        c.seal_key = [0; 32];
    }
    s
}

/// A migrated chain.
#[derive(Debug, Clone)]
pub struct Migrated {
    /// The old chain's summary (its head is recorded in the new chain).
    pub old: ChainSummary,
    /// The new chain: the re-sealed events, then `chain_migrated`.
    pub events: Vec<Event>,
    /// The state the old chain folds to.
    pub before: TrialState,
    /// The state the new chain folds to.
    pub after: TrialState,
}

/// Verifies the format-1 chain `stored` of `trial` and re-seals it under
/// the format-2 rule, followed by a `chain_migrated` event (see the module
/// documentation).
pub fn migrate_v1(
    trial: &str,
    stored: &[StoredEvent],
    m: &Migration,
) -> Result<Migrated, MigrateError> {
    let Some(first) = stored.first() else {
        return Err(MigrateError::Empty {
            trial: trial.into(),
        });
    };
    if body_format(&first.body) == Some(CHAIN_FORMAT) {
        return Err(MigrateError::Current {
            trial: trial.into(),
        });
    }
    if m.reason.trim().is_empty() {
        return Err(MigrateError::NoReason);
    }
    let (old, events) = verify_v1(trial, stored).map_err(|source| MigrateError::Broken {
        trial: trial.into(),
        source,
    })?;
    let fold_err = |source| MigrateError::Fold {
        trial: trial.into(),
        source,
    };
    let before = fold_v1(trial, &events).map_err(fold_err)?;
    let admin = before
        .grants
        .get(&m.actor)
        .is_some_and(|g| g.contains_key(&Role::Admin));
    if !admin {
        return Err(MigrateError::NotAdmin {
            user: m.actor.clone(),
            trial: trial.into(),
        });
    }
    let mut state = TrialState::new(trial);
    let mut out = Vec::with_capacity(events.len() + 1);
    let mut drafts: Vec<EventDraft> = events
        .into_iter()
        .map(|e| {
            let mut payload = e.payload;
            if let Payload::TrialRegistered {
                blinded,
                design,
                seal_key,
                public_design,
                ..
            } = &mut payload
            {
                *seal_key = Some(hex::encode(m.seal_key));
                if public_design.is_none() {
                    *public_design = TrialDesign::from_value(design)
                        .ok()
                        .map(|d| d.public_value(*blinded));
                }
            }
            EventDraft {
                software: e.software,
                trial: e.trial,
                at: e.at,
                actor: e.actor,
                role: e.role,
                site: e.site,
                reason: e.reason,
                payload,
            }
        })
        .collect();
    drafts.push(EventDraft {
        software: m.software.clone(),
        trial: trial.into(),
        at: m.at,
        actor: m.actor.clone(),
        role: Role::Admin,
        site: None,
        reason: Some(m.reason.trim().to_string()),
        payload: Payload::ChainMigrated {
            from_format: FORMAT_1,
            old_head_seq: old.events,
            old_head_hash: old.head.clone(),
        },
    });
    for d in drafts {
        let e = state.seal(d);
        state.apply(&e).map_err(fold_err)?;
        out.push(e);
    }
    if comparable(&before) != comparable(&state) {
        return Err(MigrateError::Changed {
            trial: trial.into(),
        });
    }
    Ok(Migrated {
        old,
        events: out,
        before,
        after: state,
    })
}

#[cfg(test)]
mod tests;
