//! Events as JSON lines: the export format that re-imports into an identical
//! chain.
//!
//! Each line is the canonical JSON (RFC 8785) of one event's public body
//! (what its hash covers; see `rct_record::seal`) with two more keys: `hash`,
//! and, in an unblinded export, `openings` (the nonces and values of its
//! sealed parts). A blinded export leaves `openings` out: it verifies, but
//! cannot be folded into a trial state. Lines of one trial appear in
//! sequence order; trials follow each other sorted by identifier.

use rct_record::canonical::to_canonical;
use rct_record::StoredEvent;
use serde_json::Value;

use crate::{Snapshot, StoreError};

/// Largest events file read as JSON lines (512 MiB).
pub const MAX_DUMP_BYTES: usize = 512 << 20;
/// Longest line (one event) read (16 MiB: a registration event carries the
/// protocol text, at most 1 MiB, escaped).
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// The export line of one stored event (with its openings when
/// `with_openings`).
pub fn export_line(
    trial: &str,
    row: &StoredEvent,
    with_openings: bool,
) -> Result<String, StoreError> {
    let bad = |what: &str, e: serde_json::Error| StoreError::Import {
        origin: format!("trial `{trial}`, event {}", row.seq),
        message: format!("the stored {what} is not valid JSON: {e}"),
    };
    let mut value: Value = serde_json::from_str(&row.body).map_err(|e| bad("body", e))?;
    if let Value::Object(map) = &mut value {
        map.insert("hash".into(), Value::String(row.hash.clone()));
        if let (true, Some(text)) = (with_openings, &row.openings) {
            let openings: Value = serde_json::from_str(text).map_err(|e| bad("openings", e))?;
            map.insert("openings".into(), openings);
        }
    }
    Ok(to_canonical(&value))
}

/// Reads JSON lines (as [`export_line`] writes them) back into stored rows,
/// grouped by trial in order of first appearance. A row's sequence column is
/// its position among the trial's lines, so a moved, missing or added line
/// shows up when the chain is verified. `file` names the input in errors.
pub fn parse_lines(text: &str, file: &str) -> Result<Snapshot, StoreError> {
    if text.len() > MAX_DUMP_BYTES {
        return Err(StoreError::Import {
            origin: file.to_string(),
            message: format!(
                "the file is {} bytes, over the {MAX_DUMP_BYTES}-byte limit for events as JSON lines; restore from a backup (`rct backup`) instead",
                text.len()
            ),
        });
    }
    let mut out: Snapshot = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.len() > MAX_LINE_BYTES {
            return Err(StoreError::Import {
                origin: format!("{file}:{line_no}"),
                message: format!(
                    "the line is {} bytes, over the {MAX_LINE_BYTES}-byte limit for one event; the file is damaged or not an export",
                    line.len()
                ),
            });
        }
        if line.trim().is_empty() {
            continue;
        }
        let err = |message: String| StoreError::Import {
            origin: format!("{file}:{line_no}"),
            message,
        };
        if line.len() > MAX_LINE_BYTES {
            return Err(err(format!(
                "the line is {} bytes, more than the {MAX_LINE_BYTES} an event can be; this is not an `rct export events` file",
                line.len()
            )));
        }
        let mut value: Value = serde_json::from_str(line).map_err(|e| {
            err(format!("not an exported event ({e}); expected one JSON event per line as `rct export events` writes"))
        })?;
        if to_canonical(&value) != line {
            return Err(err("the line is not in canonical form (RFC 8785: keys sorted, no spaces); it was edited after export".into()));
        }
        let Value::Object(map) = &mut value else {
            return Err(err("an exported event is a JSON object".into()));
        };
        let Some(Value::String(hash)) = map.shift_remove("hash") else {
            return Err(err("the event has no `hash`".into()));
        };
        let openings = map.shift_remove("openings").map(|o| to_canonical(&o));
        let Some(trial) = map.get("trial").and_then(Value::as_str).map(str::to_string) else {
            return Err(err("the event has no `trial`".into()));
        };
        let rows = match out.iter_mut().find(|(t, _)| *t == trial) {
            Some((_, rows)) => rows,
            None => {
                out.push((trial, Vec::new()));
                let last = out.len() - 1;
                &mut out[last].1
            }
        };
        rows.push(StoredEvent {
            seq: rows.len() as u64 + 1,
            body: to_canonical(&value),
            hash,
            openings,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rct_record::{Event, EventDraft, Payload, Role, GENESIS_HASH};

    fn event(seq: u64, prev: &str, p: &str) -> Event {
        EventDraft {
            software: None,
            trial: "t".into(),
            at: "2026-01-02T03:04:05Z".parse().unwrap(),
            actor: "ann".into(),
            role: Role::ResearchNurse,
            site: None,
            reason: Some("why \"quoted\"\nnew line".into()),
            payload: Payload::Consented {
                participant: p.into(),
                version: None,
                given_at: None,
                obtained_by: None,
            },
        }
        .seal(seq, prev)
    }

    #[test]
    fn lines_round_trip_to_the_same_rows() {
        let e1 = event(1, GENESIS_HASH, "P1");
        let e2 = event(2, &e1.hash, "P2");
        let rows: Vec<StoredEvent> = [&e1, &e2].map(StoredEvent::from_event).to_vec();
        let text: String = rows
            .iter()
            .map(|r| export_line("t", r, true).unwrap() + "\n")
            .collect();
        assert!(text.contains(r#""hash":""#));
        let back = parse_lines(&text, "x.jsonl").unwrap();
        assert_eq!(back, vec![("t".to_string(), rows)]);
    }

    #[test]
    fn oversized_files_and_lines_are_refused() {
        let long = format!("{}\n", " ".repeat(MAX_LINE_BYTES + 1));
        let err = parse_lines(&format!("\n{long}"), "x.jsonl")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("x.jsonl:2") && err.contains("over the 16777216-byte limit"),
            "{err}"
        );
        let big = "\n".repeat(MAX_DUMP_BYTES + 1);
        let err = parse_lines(&big, "y.jsonl").unwrap_err().to_string();
        assert!(
            err.contains("y.jsonl") && err.contains("rct backup"),
            "{err}"
        );
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let e1 = event(1, GENESIS_HASH, "P1");
        let line = e1.to_json_line(true);
        let err = parse_lines(&format!("{line}\nnot json\n"), "x.jsonl")
            .unwrap_err()
            .to_string();
        assert!(err.contains("x.jsonl:2"), "{err}");
        let spaced = line.replacen(":", ": ", 1);
        let err = parse_lines(&spaced, "y.jsonl").unwrap_err().to_string();
        assert!(
            err.contains("y.jsonl:1") && err.contains("canonical"),
            "{err}"
        );
    }
}
