//! Checkpoints in the store: checks every backend makes before storing one,
//! copying them with a backup, and how a [`Ledger`] signs the heads it writes.

use std::collections::HashMap;
use std::sync::Arc;

use rct_record::{Checkpoint, Event, StoredEvent};

use crate::{lock_lane, CheckpointSigner, Lane, LaneCell, Ledger, Locked, Store, StoreError};

/// Checks that `checkpoint` signs the last of `events` (backends call it
/// before an [`Store::append_signed`]).
pub fn check_signs_last(
    trial: &str,
    events: &[Event],
    checkpoint: &Checkpoint,
) -> Result<(), StoreError> {
    match events.last() {
        Some(last)
            if checkpoint.trial == trial
                && checkpoint.seq == last.seq
                && checkpoint.hash == last.hash =>
        {
            Ok(())
        }
        _ => Err(StoreError::BadAppend {
            trial: trial.into(),
            message: format!(
                "the checkpoint of event {} does not sign the last appended event",
                checkpoint.seq
            ),
        }),
    }
}

/// Checks that the stored hash of the event a checkpoint names (`stored`,
/// `None` when there is no such event) is the one it signs.
pub fn check_checkpoint(checkpoint: &Checkpoint, stored: Option<&str>) -> Result<(), StoreError> {
    if stored == Some(checkpoint.hash.as_str()) {
        return Ok(());
    }
    Err(StoreError::BadAppend {
        trial: checkpoint.trial.clone(),
        message: match stored {
            None => format!(
                "no event {} is stored: a checkpoint signs a stored head",
                checkpoint.seq
            ),
            Some(_) => format!(
                "the checkpoint of event {} signs another hash than the stored event's",
                checkpoint.seq
            ),
        },
    })
}

/// A stored checkpoint's time (RFC 3339 text in both backends).
pub(crate) fn parse_checkpoint_time(
    trial: &str,
    seq: u64,
    text: &str,
) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
    text.parse().map_err(|_| {
        StoreError::Backend(format!(
            "trial `{trial}`: the checkpoint of event {seq} has an unreadable time `{}`: the checkpoints table was edited",
            text.chars().take(40).collect::<String>()
        ))
    })
}

/// A checkpoint's time as stored (RFC 3339 UTC, whole seconds).
pub(crate) fn checkpoint_time_text(checkpoint: &Checkpoint) -> String {
    checkpoint
        .at
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Copies the checkpoints of `trial` from `from` to `to` that sign one of
/// `rows` (the rows copied; checkpoints written since are left out).
pub fn copy_checkpoints<A: Store + ?Sized, B: Store + ?Sized>(
    from: &A,
    to: &B,
    trial: &str,
    rows: &[StoredEvent],
) -> Result<usize, StoreError> {
    let hashes: HashMap<u64, &str> = rows.iter().map(|r| (r.seq, r.hash.as_str())).collect();
    let mut copied = 0;
    for cp in from.checkpoints(trial)? {
        if hashes.get(&cp.seq) == Some(&cp.hash.as_str()) {
            to.add_checkpoint(&cp)?;
            copied += 1;
        }
    }
    Ok(copied)
}

/// How a ledger signs checkpoints (see [`Ledger::set_signer`]).
pub(crate) struct Signing {
    pub(crate) signer: Arc<dyn CheckpointSigner>,
    /// Sign when at least this many events were written since the last
    /// checkpoint.
    pub(crate) every: u64,
    /// The signer's public key as stored in checkpoints.
    pub(crate) public_key: String,
}

impl<S: Store> Ledger<S> {
    /// Signs a checkpoint of the head with `signer` in the transaction of
    /// each batch that leaves at least `every` events (at least 1) after
    /// the last checkpoint, so a forged append or a truncation shows against
    /// a signature (see [`rct_record::audit_checkpoints`]).
    ///
    /// The ledger only signs a head when every event before its batch is
    /// vouched for: covered by a checkpoint of the same key (checked against
    /// the stored hash) or written by this ledger after such an event. If
    /// someone else wrote events without signing them, the ledger writes
    /// unsigned and tells the signer once ([`CheckpointSigner::not_signed`]):
    /// blessing those events is an operator's decision (`rct audit
    /// checkpoint` after `rct audit verify`).
    pub fn set_signer(&mut self, signer: Arc<dyn CheckpointSigner>, every: u64) {
        let public_key = rct_record::checkpoint::public_key_hex(&signer.public_key());
        self.signing = Some(Signing {
            signer,
            every: every.max(1),
            public_key,
        });
    }

    /// Signs the head of every trial this ledger wrote to whose latest
    /// events it vouches for but has not signed yet (at shutdown, when
    /// checkpoints are signed every N > 1 events). Returns the checkpoints
    /// stored.
    pub fn checkpoint_heads(&self) -> Result<Vec<Checkpoint>, StoreError> {
        let Some(signing) = &self.signing else {
            return Ok(Vec::new());
        };
        let lanes: Vec<(String, Arc<LaneCell>)> = match self.lanes.lock() {
            Ok(lanes) => lanes.iter().map(|(t, c)| (t.clone(), c.clone())).collect(),
            Err(_) => return Err(StoreError::Backend("write pipeline poisoned".into())),
        };
        let mut out = Vec::new();
        for (trial, cell) in lanes {
            let mut lane = lock_lane(&cell)?;
            while lane.flushing {
                lane = cell
                    .flushed
                    .wait(lane)
                    .map_err(|_| StoreError::Backend("write pipeline poisoned".into()))?;
            }
            if lane.vouched == 0 || lane.vouched <= lane.signed {
                continue;
            }
            match signing
                .signer
                .sign(&trial, lane.vouched, &lane.vouched_hash)
            {
                Ok(cp) => {
                    self.store.add_checkpoint(&cp)?;
                    lane.signed = cp.seq;
                    out.push(cp);
                }
                Err(e) => signing.signer.not_signed(&trial, &e.to_string()),
            }
        }
        Ok(out)
    }

    /// Whether this ledger may sign a head after `batch`: the events before
    /// it are vouched for. Also tells when they are not (once).
    pub(crate) fn plan_checkpoint(
        &self,
        trial: &str,
        signing: &Signing,
        batch: &[Event],
        lane: &Lane,
        locked: &mut dyn Locked,
    ) -> Result<Plan, StoreError> {
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            return Ok(Plan::default());
        };
        let before = first.seq - 1;
        let mut signed = lane.signed;
        let vouched =
            before == 0 || (lane.vouched == before && lane.vouched_hash == first.prev_hash);
        let vouched = vouched || {
            // Written by others since: vouched for only if they signed it
            // with the same key.
            let found = locked.latest_checkpoint()?;
            let ok = found.is_some_and(|cp| {
                cp.seq == before
                    && cp.hash == first.prev_hash
                    && cp.public_key == signing.public_key
                    && cp.verify().is_ok()
            });
            if ok {
                signed = before;
            }
            ok
        };
        let mut plan = Plan {
            vouched,
            signed,
            ..Plan::default()
        };
        if !vouched {
            if !lane.told {
                plan.tell = Some(format!(
                    "events up to {before} were written without a checkpoint of this key; \
                     writing on without signing (check them with `rct audit verify`, then sign with `rct audit checkpoint`)"
                ));
            }
            return Ok(plan);
        }
        if last.seq.saturating_sub(signed) >= signing.every {
            match signing.signer.sign(trial, last.seq, &last.hash) {
                Ok(cp) => plan.checkpoint = Some(cp),
                Err(e) if !lane.told => plan.tell = Some(e.to_string()),
                Err(_) => {}
            }
        }
        Ok(plan)
    }
}

/// What to do about a checkpoint with a batch.
#[derive(Default)]
pub(crate) struct Plan {
    /// The events before the batch are vouched for.
    pub(crate) vouched: bool,
    /// The last event signed, as known when planning.
    pub(crate) signed: u64,
    /// The checkpoint to write with the batch.
    pub(crate) checkpoint: Option<Checkpoint>,
    /// What to tell the signer (why nothing is signed).
    pub(crate) tell: Option<String>,
}
