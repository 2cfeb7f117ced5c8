//! Verifying the chain without any secret: from the public bodies alone (a
//! blinded copy of the record, or the entries of an audit view).
//!
//! Each body is canonical JSON (RFC 8785) with `"v": 2`; its SHA-256 is the
//! event's hash, and its `prev_hash` names the hash of the event before. No
//! opening is needed: concealed values appear as commitments. An auditor can
//! do the same with any JCS library and `sha256sum`.

use serde_json::Value;

use crate::canonical::to_canonical;
use crate::chain::{BreakKind, ChainBreak, ChainSummary, StoredEvent};
use crate::event::{sha256_hex, CHAIN_FORMAT, GENESIS_HASH};

/// The body an audit-trail entry's hash covers: the entry without `hash`,
/// `redacted` and `opened`, with the opened values taken out again (they
/// stand as commitments in the body; `opened` gives each opened value's
/// `nonce` and `commitment`), and with `"v": 2`. `None` when the
/// entry is not an object.
pub fn entry_body(entry: &Value) -> Option<String> {
    let mut value = entry.clone();
    let map = value.as_object_mut()?;
    map.shift_remove("hash");
    map.shift_remove("redacted");
    let opened = map.shift_remove("opened");
    if let Some(Value::Object(opened)) = opened {
        for (field, opening) in &opened {
            if field == crate::seal::WHOLE {
                for k in ["actor", "reason", "role", "site"] {
                    map.shift_remove(k);
                }
                let commitment = opening.get("commitment").cloned().unwrap_or(Value::Null);
                map.insert(
                    "payload".into(),
                    serde_json::json!({"sealed": {(crate::seal::WHOLE): commitment}, "type": "sealed"}),
                );
            } else if let Some(Value::Object(p)) = map.get_mut("payload") {
                p.shift_remove(field.as_str());
            }
        }
    }
    map.insert("v".into(), Value::from(CHAIN_FORMAT));
    Some(to_canonical(&value))
}

/// Checks the stored bodies of one trial, in order, without openings: each
/// body is canonical, hashes to its stored hash, belongs to `trial`, carries
/// the next sequence number and links to the event before.
pub fn verify_public(trial: &str, stored: &[StoredEvent]) -> Result<ChainSummary, ChainBreak> {
    let mut prev_hash = GENESIS_HASH.to_string();
    for (i, row) in stored.iter().enumerate() {
        let position = i as u64 + 1;
        let brk = |kind: BreakKind, detail: String| ChainBreak {
            seq: row.seq,
            kind,
            detail,
        };
        let value: Value = serde_json::from_str(&row.body)
            .map_err(|e| brk(BreakKind::Malformed, format!("not JSON ({e})")))?;
        if value.get("v") != Some(&Value::from(CHAIN_FORMAT)) {
            return Err(brk(
                BreakKind::Malformed,
                "not a chain format 2 body (run `rct audit migrate`)".into(),
            ));
        }
        if to_canonical(&value) != row.body || sha256_hex(row.body.as_bytes()) != row.hash {
            return Err(brk(
                BreakKind::Edited,
                "content does not match its hash: the event was edited".into(),
            ));
        }
        if value.get("trial").and_then(Value::as_str) != Some(trial) {
            return Err(brk(
                BreakKind::Inserted,
                format!("event does not belong to trial `{trial}`"),
            ));
        }
        let seq = value.get("seq").and_then(Value::as_u64);
        if seq != Some(position) || row.seq != position {
            return Err(ChainBreak {
                seq: position,
                kind: BreakKind::Deleted,
                detail: format!(
                    "expected event {position}, found event {} stored as {}",
                    seq.map_or("?".to_string(), |s| s.to_string()),
                    row.seq
                ),
            });
        }
        if value.get("prev_hash").and_then(Value::as_str) != Some(prev_hash.as_str()) {
            return Err(brk(
                BreakKind::Inserted,
                "does not link to the event before it".into(),
            ));
        }
        prev_hash = row.hash.clone();
    }
    Ok(ChainSummary {
        events: stored.len() as u64,
        head: prev_hash,
    })
}
