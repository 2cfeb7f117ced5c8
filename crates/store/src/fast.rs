//! Reading stored events fast: checking hashes on several
//! threads (each event's hash depends only on its own bytes; the links
//! between events are then checked in order on one thread).

use rct_record::{
    sha256_hex, verify_chain, BreakKind, ChainBreak, ChainSummary, Event, StoredEvent, GENESIS_HASH,
};

use crate::{Store, StoreError};

/// Rows handed to the worker threads at a time.
pub(crate) const CHUNK: usize = 8_192;

/// Decodes a stored row and checks that its hash is the SHA-256 of its
/// bytes (links are checked by folding, [`rct_record::TrialState::apply`]).
pub(crate) fn decode_checked(trial: &str, row: &StoredEvent) -> Result<Event, StoreError> {
    let broken = |kind: BreakKind, detail: String| StoreError::Chain {
        trial: trial.into(),
        source: ChainBreak {
            seq: row.seq,
            kind,
            detail,
        },
    };
    if sha256_hex(row.body.as_bytes()) != row.hash {
        return Err(broken(
            BreakKind::Edited,
            "the stored hash does not match the stored body".into(),
        ));
    }
    row.event()
        .map_err(|e| broken(BreakKind::Malformed, e.to_string()))
}

/// Threads to use for per-event work: `RCT_THREADS` if set (0 runs the
/// checks on the reading thread; in [`par_map`] 0 and 1 both mean the
/// calling thread), else one less than the available cores (the calling
/// thread reads rows and checks links meanwhile), at most 8. On two cores
/// that is one worker beside the reader: measured on a shared 2-core
/// machine, splitting each chunk over two threads was slower than one
/// (bench/store/run.sh, `RCT_THREADS=2`).
fn threads() -> usize {
    if let Some(n) = std::env::var("RCT_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        return n.min(64);
    }
    std::thread::available_parallelism().map_or(1, |n| (n.get() - 1).clamp(1, 8))
}

/// `f` over `items` on up to [`threads`] threads, results in order.
pub(crate) fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    par_map_on(threads(), items, f)
}

/// `f` over `items` on up to `n` threads, results in order.
fn par_map_on<T: Sync, R: Send>(n: usize, items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if n <= 1 || items.len() < 256 {
        return items.iter().map(f).collect();
    }
    let per = items.len().div_ceil(n);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(per)
            .map(|part| s.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for h in handles {
            match h.join() {
                Ok(part) => out.extend(part),
                // A worker cannot panic (no unwrap in `f`); if one did, the
                // caller's work is redone on this thread.
                Err(_) => return items.iter().map(f).collect(),
            }
        }
        out
    })
}

/// What one row must satisfy on its own (as in [`verify_chain`]): its hash
/// is the SHA-256 of its bytes, it decodes, its bytes are the canonical
/// encoding of what it decodes to, and it names the trial and its own
/// sequence number. Returns the decoded event.
fn row_ok(trial: &str, row: &StoredEvent) -> Option<Event> {
    if sha256_hex(row.body.as_bytes()) != row.hash {
        return None;
    }
    let event = row.event().ok()?;
    if event.trial != trial || event.seq != row.seq || event.canonical_body() != row.body {
        return None;
    }
    Some(event)
}

/// A store's rows of one trial in order, from the first (a [`Store::scan`]).
pub type RowScan<'a> =
    &'a dyn Fn(&mut dyn FnMut(StoredEvent) -> Result<(), StoreError>) -> Result<(), StoreError>;

/// Checks a trial's chain as [`verify_chain`] does, reading rows through
/// `scan` in chunks of [`CHUNK`] (memory stays bounded): each row's own
/// checks (hash, decoding, canonical bytes) run on several threads, then the
/// positions and links in order, and each checked event is handed to
/// `visit` in order. Rows after `upto` are ignored. On the first failure the
/// whole chain is read again (`reload`) and [`verify_chain`] names the
/// break exactly as it always has (`visit` has then seen the events before
/// the failing chunk).
pub fn verify_scan(
    trial: &str,
    upto: Option<u64>,
    scan: RowScan<'_>,
    reload: &dyn Fn() -> Result<Vec<StoredEvent>, StoreError>,
    visit: &mut dyn FnMut(Event) -> Result<(), StoreError>,
) -> Result<ChainSummary, StoreError> {
    verify_scan_on(threads(), trial, upto, scan, reload, visit)
}

/// The rows of one chunk and each one's own check (in order).
type Checked = (Vec<StoredEvent>, Vec<Option<Event>>);

/// [`verify_scan`] with `n` threads checking rows. With `n` >= 1 the rows'
/// own checks run on worker threads while the calling thread reads the
/// next chunk and checks positions and links (and visits) in order: a
/// pipeline, so reading and checking overlap even with one worker. With
/// `n` = 0 everything runs on the calling thread.
fn verify_scan_on(
    n: usize,
    trial: &str,
    upto: Option<u64>,
    scan: RowScan<'_>,
    reload: &dyn Fn() -> Result<Vec<StoredEvent>, StoreError>,
    visit: &mut dyn FnMut(Event) -> Result<(), StoreError>,
) -> Result<ChainSummary, StoreError> {
    let mut prev = GENESIS_HASH.to_string();
    let mut count: u64 = 0;
    let mut ok = true;
    // Positions and links of a checked chunk, in order.
    let mut settle =
        |(rows, events): Checked, prev: &mut String, count: &mut u64| -> Result<bool, StoreError> {
            for (row, event) in rows.iter().zip(events) {
                *count += 1;
                match event {
                    Some(event) if row.seq == *count && event.prev_hash == *prev => {
                        prev.clone_from(&row.hash);
                        visit(event)?;
                    }
                    _ => return Ok(false),
                }
            }
            Ok(true)
        };
    let check = |rows: Vec<StoredEvent>| -> Checked {
        let events = par_map_on(n, &rows, |row| row_ok(trial, row));
        (rows, events)
    };
    std::thread::scope(|s| -> Result<(), StoreError> {
        let mut chunk: Vec<StoredEvent> = Vec::with_capacity(CHUNK);
        let mut pending: Option<std::thread::ScopedJoinHandle<'_, Checked>> = None;
        // A worker cannot panic (no unwrap in `row_ok`); if one did, the
        // chain counts as broken here and is checked again below.
        let join = |h: std::thread::ScopedJoinHandle<'_, Checked>| h.join().ok();
        scan(&mut |row| {
            if !ok || upto.is_some_and(|u| row.seq > u) {
                return Ok(());
            }
            chunk.push(row);
            if chunk.len() < CHUNK {
                return Ok(());
            }
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
            if n == 0 {
                ok = settle(check(full), &mut prev, &mut count)?;
                return Ok(());
            }
            let next = s.spawn(move || check(full));
            if let Some(done) = pending.replace(next) {
                ok = match join(done) {
                    Some(checked) => settle(checked, &mut prev, &mut count)?,
                    None => false,
                };
            }
            Ok(())
        })?;
        if ok {
            if let Some(done) = pending.take() {
                ok = match join(done) {
                    Some(checked) => settle(checked, &mut prev, &mut count)?,
                    None => false,
                };
            }
        }
        if ok && !chunk.is_empty() {
            ok = settle(check(chunk), &mut prev, &mut count)?;
        }
        Ok(())
    })?;
    if ok {
        return Ok(ChainSummary {
            events: count,
            head: prev,
        });
    }
    let mut rows = reload()?;
    if let Some(u) = upto {
        rows.retain(|r| r.seq <= u);
    }
    match verify_chain(trial, &rows) {
        Ok((summary, _)) => Ok(summary),
        Err(source) => Err(StoreError::Chain {
            trial: trial.into(),
            source,
        }),
    }
}

/// [`verify_scan`] over a store's trial.
pub fn scan_verified<S: Store + ?Sized>(
    store: &S,
    trial: &str,
    upto: Option<u64>,
    visit: &mut dyn FnMut(Event) -> Result<(), StoreError>,
) -> Result<ChainSummary, StoreError> {
    verify_scan(
        trial,
        upto,
        &|v| store.scan(trial, 0, v),
        &|| store.load(trial, 0),
        visit,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use rct_record::{EventDraft, Payload, Role};

    fn event(seq: u64, prev: &str, value: serde_json::Value) -> Event {
        EventDraft {
            software: None,
            trial: "T".into(),
            at: "2026-11-23T09:00:00Z".parse().unwrap(),
            actor: "nina".into(),
            role: Role::ResearchNurse,
            site: Some("01".into()),
            reason: Some("a \"quoted\" reason\nwith a line".into()),
            payload: Payload::ValueEntered {
                participant: "P1".into(),
                visit: "week0".into(),
                form: "vitals".into(),
                field: "hr".into(),
                value,
            },
        }
        .seal(seq, prev)
    }

    #[test]
    fn an_edited_body_is_refused_before_it_is_decoded() {
        let e = event(1, GENESIS_HASH, serde_json::json!(1));
        let mut row = StoredEvent::from_event(&e);
        row.body = row.body.replace("\"hr\"", "\"bp\"");
        let err = decode_checked("T", &row).unwrap_err();
        assert!(
            matches!(&err, StoreError::Chain { source, .. } if source.kind == BreakKind::Edited),
            "{err}"
        );
    }

    fn chain(n: u64) -> Vec<StoredEvent> {
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|seq| {
                let e = event(seq, &prev, serde_json::json!(seq as f64 / 3.0));
                prev = e.hash.clone();
                StoredEvent::from_event(&e)
            })
            .collect()
    }

    fn run(n: usize, rows: &[StoredEvent]) -> Result<ChainSummary, StoreError> {
        let mut seen = 0u64;
        verify_scan_on(
            n,
            "T",
            None,
            &|v| {
                for r in rows {
                    v(r.clone())?;
                }
                Ok(())
            },
            &|| Ok(rows.to_vec()),
            &mut |e| {
                seen += 1;
                assert_eq!(e.seq, seen);
                Ok(())
            },
        )
    }

    #[test]
    fn parallel_verification_agrees_with_verify_chain() {
        // The reference: the record's sequential `verify_chain`. Two full
        // chunks and a partial one, so the pipeline holds a chunk on a
        // worker while the next is read.
        let len = 2 * CHUNK + 100;
        let rows = chain(len as u64);
        let (expected, _) = verify_chain("T", &rows).unwrap();
        for n in [0, 1, 3] {
            assert_eq!(run(n, &rows).unwrap(), expected);
        }
        // An edit (in the second chunk), a swap (in the first), a
        // deletion (in the last, partial one), a link to another
        // predecessor (re-sealed, so its own hash holds) and an edit of
        // the last row are named as verify_chain names them.
        let mut edited = rows.clone();
        edited[CHUNK + 700].body = edited[CHUNK + 700].body.replace("\"hr\"", "\"bp\"");
        let mut swapped = rows.clone();
        swapped.swap(300, 301);
        let mut deleted = rows.clone();
        deleted.remove(2 * CHUNK + 50);
        let mut relinked = rows.clone();
        let mut moved = rows[CHUNK].event().unwrap();
        moved.prev_hash = GENESIS_HASH.into();
        relinked[CHUNK].body = moved.canonical_body();
        relinked[CHUNK].hash = sha256_hex(relinked[CHUNK].body.as_bytes());
        let mut last = rows.clone();
        last[len - 1].hash = "0".repeat(64);
        let cases = [
            (edited, CHUNK as u64 + 701),
            (swapped, 301),
            (deleted, 2 * CHUNK as u64 + 51),
            // verify_chain blames the predecessor the link no longer names.
            (relinked, CHUNK as u64),
            (last, len as u64),
        ];
        for (bad, seq) in cases {
            let reference = verify_chain("T", &bad).unwrap_err();
            assert_eq!(reference.seq, seq, "{reference}");
            for n in [0, 1, 3] {
                match run(n, &bad) {
                    Err(StoreError::Chain { source, .. }) => assert_eq!(source, reference),
                    other => panic!("{other:?}"),
                }
            }
        }
    }

    #[test]
    fn parallel_map_keeps_order() {
        let items: Vec<u64> = (0..10_000).collect();
        let out = par_map_on(3, &items, |x| x * 2);
        assert_eq!(out, items.iter().map(|x| x * 2).collect::<Vec<_>>());
    }
}
