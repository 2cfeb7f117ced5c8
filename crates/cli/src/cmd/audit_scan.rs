//! One streaming pass over a trial's stored rows for `rct audit verify`:
//! the chain checked as [`rct_record::verify_chain`] checks it (every hash
//! recomputed from the stored bytes, every body decoded and re-encoded,
//! every position and link), through [`rct_store::verify_scan`] (bounded
//! memory, per-row checks on worker threads), while the hashes the
//! checkpoint audit needs are picked out of the same rows.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use rct_record::{checkpoint_seqs, ChainBreak, ChainSummary, Checkpoint, PublishedHead};
use rct_store::{Store, StoreError};

/// What one pass over a trial's rows found.
#[derive(Debug)]
pub struct Scanned {
    /// The chain's summary, or its first break (named as
    /// [`rct_record::verify_chain`] names it).
    pub chain: Result<ChainSummary, ChainBreak>,
    /// Rows stored for the trial.
    pub rows: u64,
    /// The highest stored sequence number (0 when none).
    pub head: u64,
    /// The stored hash of each sequence number a checkpoint or published
    /// head names (the last row of that number, as the store orders them).
    pub hashes: BTreeMap<u64, String>,
}

/// Reads `trial` once, checking its chain and keeping the hashes named by
/// `checkpoints` and `heads`. A break in the chain is a finding (in
/// [`Scanned::chain`]); only a failure to read is an error.
pub fn scan_trial(
    store: &dyn Store,
    trial: &str,
    checkpoints: &[Checkpoint],
    heads: &[PublishedHead],
) -> Result<Scanned, StoreError> {
    let wanted = checkpoint_seqs(checkpoints, heads);
    scan_rows(
        trial,
        &wanted,
        &|visit| store.scan(trial, 0, visit),
        &|| store.load(trial, 0),
    )
}

/// [`scan_trial`] over any source of rows (`scan` in the store's order,
/// `reload` to read them all again when the chain breaks).
fn scan_rows(
    trial: &str,
    wanted: &BTreeSet<u64>,
    scan: rct_store::RowScan<'_>,
    reload: &dyn Fn() -> Result<Vec<rct_record::StoredEvent>, StoreError>,
) -> Result<Scanned, StoreError> {
    let seen = RefCell::new((0u64, 0u64, BTreeMap::new()));
    let counting = |visit: &mut dyn FnMut(rct_record::StoredEvent) -> Result<(), StoreError>| {
        scan(&mut |row| {
            {
                let mut s = seen.borrow_mut();
                s.0 += 1;
                s.1 = s.1.max(row.seq);
                if wanted.contains(&row.seq) {
                    s.2.insert(row.seq, row.hash.clone());
                }
            }
            visit(row)
        })
    };
    let chain = match rct_store::verify_scan(trial, None, &counting, reload, &mut |_| Ok(())) {
        Ok(summary) => Ok(summary),
        Err(StoreError::Chain { source, .. }) => Err(source),
        Err(other) => return Err(other),
    };
    let (rows, head, hashes) = seen.into_inner();
    Ok(Scanned {
        chain,
        rows,
        head,
        hashes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rct_record::{audit_checkpoint_hashes, audit_checkpoints, verify_chain, StoredEvent};
    use rct_record::{EventDraft, Payload, Role, GENESIS_HASH};

    fn chain(n: u64) -> Vec<StoredEvent> {
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|seq| {
                let e = EventDraft {
                    trial: "T".into(),
                    at: "2026-11-23T09:00:00Z".parse().unwrap(),
                    actor: "nina".into(),
                    role: Role::ResearchNurse,
                    site: Some("01".into()),
                    reason: None,
                    software: None,
                    payload: Payload::ValueEntered {
                        participant: format!("P{}", seq % 7),
                        visit: "week0".into(),
                        form: "vitals".into(),
                        field: "hr".into(),
                        value: serde_json::json!(seq as f64 / 3.0),
                    },
                }
                .seal(seq, &prev);
                prev = e.hash.clone();
                StoredEvent::from_event(&e)
            })
            .collect()
    }

    fn scan(rows: &[StoredEvent], wanted: &BTreeSet<u64>) -> Scanned {
        scan_rows(
            "T",
            wanted,
            &|v| {
                for r in rows {
                    v(r.clone())?;
                }
                Ok(())
            },
            &|| Ok(rows.to_vec()),
        )
        .unwrap()
    }

    /// The reference is the record's `verify_chain` over all rows in
    /// memory (what `rct audit verify` ran before): the same summary, and
    /// the same first break on a tampered body, a broken link, a reorder
    /// and a truncated chain.
    #[test]
    fn the_streaming_pass_names_what_verify_chain_names() {
        let rows = chain(20_000);
        let wanted = BTreeSet::new();
        let s = scan(&rows, &wanted);
        assert_eq!(s.chain.unwrap(), verify_chain("T", &rows).unwrap().0);
        assert_eq!((s.rows, s.head), (20_000, 20_000));

        let mut tampered = rows.clone();
        tampered[12_345].body = tampered[12_345].body.replace("\"hr\"", "\"bp\"");
        let mut relinked = rows.clone();
        // A row re-sealed onto another predecessor: its own hash holds,
        // its link does not.
        let mut draft = rows[15_000].event().unwrap();
        draft.prev_hash = GENESIS_HASH.into();
        let body = draft.canonical_body();
        relinked[15_000].hash = rct_record::sha256_hex(body.as_bytes());
        relinked[15_000].body = body;
        let mut swapped = rows.clone();
        swapped.swap(9_000, 9_001);
        let mut deleted = rows.clone();
        deleted.remove(3_000);
        let truncated = rows[..19_000].to_vec();
        let expected = [
            (tampered, 12_346),
            // verify_chain blames the predecessor the link no longer names.
            (relinked, 15_000),
            (swapped, 9_001),
            (deleted, 3_001),
        ];
        for (bad, seq) in expected {
            let reference = verify_chain("T", &bad).unwrap_err();
            assert_eq!(reference.seq, seq);
            let s = scan(&bad, &wanted);
            assert_eq!(s.chain.unwrap_err(), reference);
            assert_eq!(s.rows, bad.len() as u64);
        }
        // A truncated chain verifies as a chain (the checkpoint audit
        // finds the truncation); its head is the last row kept.
        let s = scan(&truncated, &wanted);
        assert_eq!(s.chain.unwrap(), verify_chain("T", &truncated).unwrap().0);
        assert_eq!(s.head, 19_000);
    }

    /// The checkpoint audit from the picked hashes equals the audit from
    /// all rows, on an intact chain and a truncated one.
    #[test]
    fn picked_hashes_give_the_same_checkpoint_audit() {
        use rct_record::ed25519_dalek::SigningKey;
        let rows = chain(3_000);
        let key = SigningKey::from_bytes(&[7; 32]);
        let at = "2026-11-23T10:00:00Z".parse().unwrap();
        let cps: Vec<Checkpoint> = [1_000u64, 2_500, 3_000]
            .iter()
            .map(|&seq| Checkpoint::sign(&key, "T", seq, &rows[seq as usize - 1].hash, at).unwrap())
            .collect();
        let heads: Vec<PublishedHead> = vec![format!("2000:{}", rows[1_999].hash).parse().unwrap()];
        let wanted = checkpoint_seqs(&cps, &heads);
        for kept in [3_000usize, 2_600, 900] {
            let part = &rows[..kept];
            let s = scan(part, &wanted);
            let picked: BTreeMap<u64, &str> =
                s.hashes.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let fast = audit_checkpoint_hashes("T", &picked, s.head, &cps, None, &heads);
            let reference = audit_checkpoints("T", part, &cps, None, &heads);
            assert_eq!(format!("{fast:?}"), format!("{reference:?}"));
        }
    }
}
