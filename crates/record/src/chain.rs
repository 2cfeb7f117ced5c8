//! Verifying the hash chain of one trial's stored events.

use serde::Serialize;

use crate::event::{sha256_hex, Event, GENESIS_HASH};

/// An event as a store keeps it: its sequence number column, the canonical
/// body text and the hash column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// The store's sequence number column.
    pub seq: u64,
    /// Canonical JSON body (see [`Event::canonical_body`]).
    pub body: String,
    /// Stored SHA-256 hex.
    pub hash: String,
    /// The openings of the event's sealed values (canonical JSON; see
    /// [`crate::seal`]), kept beside the body and not hashed; `None` when
    /// the event seals nothing, or in a blinded copy of the record.
    pub openings: Option<String>,
}

/// The `seq` a stored body claims (read from the public body alone: a
/// sealed event cannot be rebuilt without its openings).
fn body_seq(body: &str) -> Option<u64> {
    serde_json::from_str::<serde_json::Value>(body).ok()?["seq"].as_u64()
}

impl StoredEvent {
    /// The stored form of an event.
    pub fn from_event(event: &Event) -> StoredEvent {
        StoredEvent {
            seq: event.seq,
            body: event.canonical_body(),
            hash: event.hash.clone(),
            openings: event.openings_text(),
        }
    }

    /// The full event: the stored body with its openings, each checked
    /// against its commitment.
    pub fn event(&self) -> Result<Event, crate::event::EventError> {
        Event::from_stored(&self.body, &self.hash, self.openings.as_deref())
    }
}

/// How the chain is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// Content changed after it was written.
    Edited,
    /// An event is missing.
    Deleted,
    /// Events are out of order.
    Reordered,
    /// An event was added that was not written in order.
    Inserted,
    /// The stored body is not a valid event.
    Malformed,
}

/// The first place where the chain fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("event {seq}: {kind:?}: {detail}")]
pub struct ChainBreak {
    /// Sequence number of the event named as broken.
    pub seq: u64,
    /// What kind of break.
    pub kind: BreakKind,
    /// Explanation for a person.
    pub detail: String,
}

/// Summary of an intact chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainSummary {
    /// Number of events.
    pub events: u64,
    /// Hash of the last event (publish it to anchor the chain).
    pub head: String,
}

/// Walks the stored events of one trial in the store's order (by sequence
/// column), recomputing each hash and link, and returns the decoded events,
/// or names the first broken event.
pub fn verify_chain(
    trial: &str,
    stored: &[StoredEvent],
) -> Result<(ChainSummary, Vec<Event>), ChainBreak> {
    verify_rows(
        trial,
        stored,
        |row| Event::from_stored(&row.body, &row.hash, row.openings.as_deref()),
        Event::canonical_body,
    )
}

/// [`verify_chain`] with the decoding of a stored row and the canonical
/// body of an event given (chain format 2, or format 1 in
/// [`crate::legacy`]).
pub(crate) fn verify_rows(
    trial: &str,
    stored: &[StoredEvent],
    decode: impl Fn(&StoredEvent) -> Result<Event, crate::event::EventError>,
    canonical_body: impl Fn(&Event) -> String,
) -> Result<(ChainSummary, Vec<Event>), ChainBreak> {
    let mut events: Vec<Event> = Vec::with_capacity(stored.len());
    let mut prev_hash = GENESIS_HASH.to_string();
    for (i, row) in stored.iter().enumerate() {
        let position = i as u64 + 1;
        let brk = |seq: u64, kind: BreakKind, detail: String| ChainBreak { seq, kind, detail };
        let event = match decode(row) {
            Ok(e) => e,
            Err(err @ crate::event::EventError::BadOpening { .. }) => {
                return Err(brk(
                    row.seq,
                    BreakKind::Edited,
                    format!("{err}: the event was edited"),
                ))
            }
            Err(err) => {
                return Err(brk(
                    row.seq,
                    BreakKind::Malformed,
                    format!(
                        "stored content is not a valid event ({err}); it was edited or corrupted"
                    ),
                ))
            }
        };
        let content_hash = sha256_hex(row.body.as_bytes());
        let canonical = canonical_body(&event);
        if canonical != row.body || content_hash != row.hash {
            return Err(brk(
                row.seq,
                BreakKind::Edited,
                format!(
                    "content does not match its hash (stored {}, content hashes to {}): the event was edited",
                    short(&row.hash),
                    short(&content_hash)
                ),
            ));
        }
        if event.trial != trial {
            return Err(brk(
                row.seq,
                BreakKind::Inserted,
                format!("event belongs to trial `{}`, not `{trial}`", event.trial),
            ));
        }
        if event.seq != row.seq {
            return Err(reorder_or_insert(stored, i, &event, &prev_hash));
        }
        if row.seq != position {
            // The stored numbering skips: the event(s) in between are gone.
            return Err(brk(
                position,
                BreakKind::Deleted,
                format!(
                    "event {position} is missing (the next stored event is {}): deleted",
                    row.seq
                ),
            ));
        }
        if event.prev_hash != prev_hash {
            return Err(link_break(stored, i, &event, &prev_hash));
        }
        prev_hash = row.hash.clone();
        events.push(event);
    }
    Ok((
        ChainSummary {
            events: events.len() as u64,
            head: prev_hash,
        },
        events,
    ))
}

/// The stored sequence column and the event's own sequence number disagree.
fn reorder_or_insert(
    stored: &[StoredEvent],
    i: usize,
    event: &Event,
    prev_hash: &str,
) -> ChainBreak {
    let row = &stored[i];
    let position = i as u64 + 1;
    if event.seq > position {
        // A later row claims this position: events were moved.
        let moved = stored[i + 1..]
            .iter()
            .position(|r| body_seq(&r.body) == Some(position));
        if let Some(j) = moved {
            return ChainBreak {
                seq: position,
                kind: BreakKind::Reordered,
                detail: format!(
                    "stored in place of event {position} is event {} (event {position} is stored at place {}): events were reordered",
                    event.seq,
                    i + j + 2
                ),
            };
        }
        return ChainBreak {
            seq: position,
            kind: BreakKind::Deleted,
            detail: format!(
                "event {position} is missing: the event stored in its place is event {} and the rest were renumbered: deleted",
                event.seq
            ),
        };
    }
    if event.seq + 1 == position && i >= 2 && event.prev_hash == stored[i - 2].hash {
        // From here on everything was renumbered up by one: the event before
        // this one was inserted.
        return ChainBreak {
            seq: position - 1,
            kind: BreakKind::Inserted,
            detail: format!(
                "event {} was inserted: the event stored after it says it is event {} and links to event {}",
                position - 1,
                event.seq,
                position - 2
            ),
        };
    }
    let _ = prev_hash;
    ChainBreak {
        seq: row.seq,
        kind: BreakKind::Reordered,
        detail: format!(
            "stored as event {} but its content says it is event {}: events were reordered or duplicated",
            row.seq, event.seq
        ),
    }
}

/// The event's previous-hash does not name the event stored before it.
fn link_break(stored: &[StoredEvent], i: usize, event: &Event, prev_hash: &str) -> ChainBreak {
    let position = i as u64 + 1;
    // Does it link to the event two back? Then the one before was inserted.
    if i >= 2 && event.prev_hash == stored[i - 2].hash {
        return ChainBreak {
            seq: position - 1,
            kind: BreakKind::Inserted,
            detail: format!(
                "event {} was inserted: event {position} links to event {}",
                position - 1,
                position - 2
            ),
        };
    }
    if i == 1 && event.prev_hash == GENESIS_HASH {
        return ChainBreak {
            seq: 1,
            kind: BreakKind::Inserted,
            detail: "event 1 was inserted: event 2 claims to be the first event".into(),
        };
    }
    if i >= 1 && i + 1 == stored.len() {
        // Nothing follows: the event before is as its successor-to-be left
        // it (nothing contradicts it), so the one that does not fit is the
        // last one, appended without the right link.
        return ChainBreak {
            seq: position,
            kind: BreakKind::Inserted,
            detail: format!(
                "the last event, {position}, links to {} but event {} hashes to {}: event {position} was appended outside the chain \
                 (unless a checkpoint shows that event {} was edited and its hash rewritten)",
                short(&event.prev_hash),
                position - 1,
                short(prev_hash),
                position - 1
            ),
        };
    }
    if i >= 1 {
        return ChainBreak {
            seq: position - 1,
            kind: BreakKind::Edited,
            detail: format!(
                "event {position} links to {} but event {} now hashes to {}: event {} was edited and its hash rewritten, or an event was replaced",
                short(&event.prev_hash),
                position - 1,
                short(prev_hash),
                position - 1
            ),
        };
    }
    ChainBreak {
        seq: position,
        kind: BreakKind::Deleted,
        detail: format!(
            "the first stored event links to {} instead of the genesis hash: earlier events were deleted",
            short(&event.prev_hash)
        ),
    }
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use crate::event::{EventDraft, Payload, Role};

    /// An intact chain of `n` consents in trial `t`.
    pub(crate) fn chain(n: u64) -> Vec<StoredEvent> {
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|seq| {
                let e = EventDraft {
                    software: None,
                    trial: "t".into(),
                    at: "2026-01-02T03:04:05Z".parse().unwrap(),
                    actor: "ann".into(),
                    role: Role::ResearchNurse,
                    site: None,
                    reason: None,
                    payload: Payload::Consented {
                        participant: format!("P{seq}"),
                        version: None,
                        given_at: None,
                        obtained_by: None,
                    },
                }
                .seal(seq, &prev);
                prev = e.hash.clone();
                StoredEvent::from_event(&e)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::chain;
    use super::*;
    use crate::event::{EventDraft, Payload, Role};

    fn brk(rows: &[StoredEvent]) -> ChainBreak {
        verify_chain("t", rows).unwrap_err()
    }

    #[test]
    fn intact_chain_verifies() {
        let (summary, events) = verify_chain("t", &chain(8)).unwrap();
        assert_eq!(summary.events, 8);
        assert_eq!(summary.head, events[7].hash);
    }

    #[test]
    fn one_byte_edit_is_named() {
        let mut rows = chain(8);
        rows[4].body = rows[4].body.replace("P5", "P6");
        let b = brk(&rows);
        assert_eq!((b.seq, b.kind), (5, BreakKind::Edited));
    }

    #[test]
    fn deletion_is_named() {
        let mut rows = chain(8);
        rows.remove(4);
        let b = brk(&rows);
        assert_eq!((b.seq, b.kind), (5, BreakKind::Deleted));
    }

    #[test]
    fn swap_is_named() {
        let mut rows = chain(8);
        let (a, b) = (rows[4].clone(), rows[5].clone());
        rows[4] = StoredEvent { seq: 5, ..b };
        rows[5] = StoredEvent { seq: 6, ..a };
        let b = brk(&rows);
        assert_eq!((b.seq, b.kind), (5, BreakKind::Reordered));
    }

    #[test]
    fn badly_linked_append_names_itself() {
        let mut rows = chain(8);
        let forged = EventDraft {
            software: None,
            trial: "t".into(),
            at: "2026-01-02T03:04:05Z".parse().unwrap(),
            actor: "eve".into(),
            role: Role::ResearchNurse,
            site: None,
            reason: None,
            payload: Payload::Consented {
                participant: "X".into(),
                version: None,
                given_at: None,
                obtained_by: None,
            },
        }
        .seal(9, &"ab".repeat(32));
        rows.push(StoredEvent::from_event(&forged));
        let b = brk(&rows);
        assert_eq!((b.seq, b.kind), (9, BreakKind::Inserted), "{}", b.detail);
        // An edited event whose hash was rewritten, with events after it,
        // is still named by the event that no longer links to it.
        let mut rows = chain(8);
        rows[3].body = rows[3].body.replace("P4", "P9");
        rows[3].hash = sha256_hex(rows[3].body.as_bytes());
        let b = brk(&rows);
        assert_eq!((b.seq, b.kind), (4, BreakKind::Edited), "{}", b.detail);
    }

    #[test]
    fn insertion_is_named() {
        let mut rows = chain(8);
        let forged = EventDraft {
            software: None,
            trial: "t".into(),
            at: "2026-01-02T03:04:05Z".parse().unwrap(),
            actor: "eve".into(),
            role: Role::ResearchNurse,
            site: None,
            reason: None,
            payload: Payload::Consented {
                participant: "X".into(),
                version: None,
                given_at: None,
                obtained_by: None,
            },
        }
        .seal(6, &rows[4].hash);
        rows.insert(5, StoredEvent::from_event(&forged));
        for (i, r) in rows.iter_mut().enumerate() {
            r.seq = i as u64 + 1;
        }
        let b = brk(&rows);
        assert_eq!((b.seq, b.kind), (6, BreakKind::Inserted));
    }
}
