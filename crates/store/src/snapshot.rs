//! Snapshots of folded state, so a start folds only the events written since.
//!
//! A snapshot is the whole [`TrialState`] after event `seq` (JSON of the
//! [`mirror`] types), saved with the hash of that event and its own digest:
//! the SHA-256 of a fixed label, the trial, `seq`, the event's hash and the
//! body, in the chain's terms (lower-case hex SHA-256 over exact bytes). A
//! ledger uses a snapshot only when its digest matches its bytes, its body
//! reads back into a state at `seq` with that head, and the stored event
//! `seq` still carries that hash (so a snapshot of a chain that was since
//! replaced or edited is not used); anything else is ignored and the ledger
//! tries the next older snapshot, then folds from the first event. Snapshots
//! are a cache: `rct audit verify` never reads them.

mod mirror;

use rct_record::{sha256_hex, TrialState};

/// How many snapshots of a trial a store keeps (older ones are deleted when
/// a new one is saved).
pub const KEEP: usize = 2;

/// A saved state as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateSnapshot {
    /// Trial.
    pub trial: String,
    /// The last event folded into the state.
    pub seq: u64,
    /// That event's hash.
    pub hash: String,
    /// SHA-256 of the label, trial, seq, hash and body (see [`digest`]).
    pub digest: String,
    /// The state as JSON.
    pub body: String,
}

/// The digest of a snapshot's content.
pub fn digest(trial: &str, seq: u64, hash: &str, body: &str) -> String {
    let mut bytes = Vec::with_capacity(body.len() + trial.len() + 96);
    bytes.extend_from_slice(b"rct-state-snapshot-v1\n");
    bytes.extend_from_slice(trial.as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(seq.to_string().as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(hash.as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(body.as_bytes());
    sha256_hex(&bytes)
}

/// Why a snapshot is not used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("snapshot of trial `{trial}` at event {seq} ignored: {why}")]
pub struct BadSnapshot {
    /// Trial.
    pub trial: String,
    /// Its event.
    pub seq: u64,
    /// What is wrong.
    pub why: String,
}

impl StateSnapshot {
    /// The snapshot of `state` (after at least one event).
    pub fn of(state: &TrialState) -> Result<StateSnapshot, serde_json::Error> {
        let body = serde_json::to_string(&mirror::State::from(state))?;
        Ok(StateSnapshot {
            trial: state.trial.clone(),
            seq: state.seq,
            hash: state.head.clone(),
            digest: digest(&state.trial, state.seq, &state.head, &body),
            body,
        })
    }

    /// The state, if the snapshot is intact (the stored event is checked by
    /// the caller).
    pub fn state(&self) -> Result<TrialState, BadSnapshot> {
        let bad = |why: String| BadSnapshot {
            trial: self.trial.clone(),
            seq: self.seq,
            why,
        };
        if digest(&self.trial, self.seq, &self.hash, &self.body) != self.digest {
            return Err(bad(
                "its digest does not match its content (edited or corrupted)".into(),
            ));
        }
        let mirror: mirror::State = serde_json::from_str(&self.body)
            .map_err(|e| bad(format!("its body does not read as a state ({e})")))?;
        let state = TrialState::from(mirror);
        if state.trial != self.trial || state.seq != self.seq || state.head != self.hash {
            return Err(bad(
                "its state is not the trial, event and hash it is filed under".into(),
            ));
        }
        Ok(state)
    }
}
