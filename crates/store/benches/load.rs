//! Store benchmark (release build; run through bench/store/run.sh):
//! sustained randomisations per second and latency percentiles with 16
//! clients on each backend, and the time to fold a trial of 1,000,000
//! events into its state.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rct_record::{EventDraft, Payload, Role, StoredEvent, GENESIS_HASH};
use rct_store::{open, Ledger, Store};
use support::*;

const CLIENTS: usize = 16;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// `n` randomisations by 16 clients; `shared`: threads of one process on one
/// ledger (group commit), else one connection and ledger per client.
#[allow(clippy::disallowed_methods)]
fn allocations(kind: &str, url: &str, n: usize, shared: bool) {
    let first = Ledger::new(open(url).unwrap());
    setup(&first, n);
    let next = AtomicUsize::new(1);
    let latencies = Mutex::new(Vec::with_capacity(n));
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..CLIENTS {
            let own = (!shared).then(|| Ledger::new(open(url).unwrap()));
            let (next, first, latencies) = (&next, &first, &latencies);
            s.spawn(move || {
                let ledger: &Ledger<Box<dyn Store>> = own.as_ref().unwrap_or(first);
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i > n {
                        break;
                    }
                    let t = Instant::now();
                    randomise(ledger, i).unwrap();
                    mine.push(t.elapsed());
                }
                latencies.lock().unwrap().extend(mine);
            });
        }
    });
    let wall = start.elapsed();
    let mut lat = latencies.into_inner().unwrap();
    lat.sort();
    let fresh = Ledger::new(open(url).unwrap());
    assert_eq!(check_allocations(&fresh.state(TRIAL).unwrap()), n);
    fresh.verify(TRIAL).unwrap();
    println!(
        "{kind:8} {:28} {n:5} allocations in {:6.2} s: {:7.0} allocations/s, latency p50 {:6.1} ms, p99 {:6.1} ms, max {:6.1} ms",
        if shared { "16 threads, one ledger" } else { "16 clients, own connections" },
        wall.as_secs_f64(),
        n as f64 / wall.as_secs_f64(),
        percentile(&lat, 0.50).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().unwrap().as_secs_f64() * 1e3,
    );
}

/// Writes a trial of `n` events (registration, then data entry: 10,000
/// participants with up to 100 values each) and times folding it into state
/// through a fresh ledger (read, hash check, fold), and a full `verify`.
#[allow(clippy::disallowed_methods)]
fn million(kind: &str, url: &str, n: u64) {
    let store = open(url).unwrap();
    let mut head = GENESIS_HASH.to_string();
    let mut batch: Vec<StoredEvent> = Vec::with_capacity(20_000);
    let write_start = Instant::now();
    let registration = batch_drafts_registration();
    for seq in 1..=n {
        let draft = if seq == 1 {
            registration.clone()
        } else {
            let k = seq - 2;
            EventDraft {
                software: None,
                trial: TRIAL.into(),
                at: at(),
                actor: "nina".into(),
                role: Role::ResearchNurse,
                site: Some("01".into()),
                reason: None,
                payload: Payload::ValueEntered {
                    participant: pid((k % 10_000) as usize),
                    visit: format!("week{}", (k / 10_000) % 10),
                    form: "vitals".into(),
                    field: format!("f{}", k / 100_000),
                    value: serde_json::json!(k as f64 / 7.0),
                },
            }
        };
        // The registration seals what the record requires (its design,
        // seed and key); the data entries seal nothing.
        let event = if seq == 1 {
            rct_record::TrialState::new(TRIAL).seal(draft)
        } else {
            draft.seal(seq, &head)
        };
        head = event.hash.clone();
        batch.push(StoredEvent::from_event(&event));
        if batch.len() == 20_000 || seq == n {
            // Rows are sealed and linked here; import writes them as given.
            let replace = false;
            let first = batch[0].seq;
            if first == 1 {
                store.import(TRIAL, &batch, replace).unwrap();
            } else {
                let events: Vec<rct_record::Event> =
                    batch.iter().map(|r| r.event().unwrap()).collect();
                store.append(TRIAL, &events).unwrap();
            }
            batch.clear();
        }
    }
    let written = write_start.elapsed();
    drop(store);
    // `RCT_BENCH_KEEP=DIR` keeps a copy of the SQLite file (to time `rct
    // audit verify` on it).
    if let (Ok(dir), Some(path)) = (std::env::var("RCT_BENCH_KEEP"), url.strip_prefix("sqlite:")) {
        let to = std::path::Path::new(&dir).join(format!("million-{n}.sqlite"));
        std::fs::copy(path, &to).unwrap();
        println!("kept a copy at {}", to.display());
    }
    let t = Instant::now();
    let mut ledger = Ledger::new(open(url).unwrap());
    ledger.set_snapshot_every(None);
    let state = ledger.state(TRIAL).unwrap();
    let fold = t.elapsed();
    assert_eq!(state.seq, n);
    let t = Instant::now();
    let summary = ledger.verify(TRIAL).unwrap();
    let verify = t.elapsed();
    assert_eq!(summary.head, head);
    let t = Instant::now();
    ledger.save_snapshot(TRIAL).unwrap();
    let saved = t.elapsed();
    let t = Instant::now();
    let from_snapshot = Ledger::new(open(url).unwrap());
    let again = from_snapshot.state(TRIAL).unwrap();
    let restart = t.elapsed();
    assert_eq!(*again, *state);
    println!(
        "{kind:8} trial of {n} events: written in {:.1} s; loaded into state in {:.2} s ({:.1} µs/event); verified in {:.2} s; snapshot saved in {:.2} s; loaded from the snapshot in {:.2} s",
        written.as_secs_f64(),
        fold.as_secs_f64(),
        fold.as_secs_f64() * 1e6 / n as f64,
        verify.as_secs_f64(),
        saved.as_secs_f64(),
        restart.as_secs_f64()
    );
}

fn batch_drafts_registration() -> EventDraft {
    batch(&rct_record::TrialState::new(TRIAL), &setup_commands()[..1])
        .unwrap()
        .remove(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let writers_only = args.iter().any(|a| a == "--writers");
    let million_only = args.iter().any(|a| a == "--million");
    let n_alloc: usize = if quick { 400 } else { 4_000 };
    let n_events: u64 = if quick {
        50_000
    } else {
        args.iter()
            .find_map(|a| a.strip_prefix("--events=").and_then(|n| n.parse().ok()))
            .unwrap_or(1_000_000)
    };
    let mut dbs = vec![sqlite_db()];
    dbs.extend(pg_db("bench"));
    for db in dbs.iter().filter(|_| !million_only) {
        allocations(db.kind, &db.url, n_alloc, true);
    }
    let mut dbs = vec![sqlite_db()];
    dbs.extend(pg_db("bench"));
    for db in dbs.iter().filter(|_| !million_only) {
        allocations(db.kind, &db.url, n_alloc / 4, false);
    }
    if writers_only {
        return;
    }
    let mut dbs = vec![sqlite_db()];
    dbs.extend(pg_db("bench"));
    for db in &dbs {
        million(db.kind, &db.url, n_events);
    }
}
