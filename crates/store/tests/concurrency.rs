//! 16 clients randomising 2,000 participants at once on one database:
//! no list position used twice or skipped, every stratum follows its list
//! (the reference: `rct_random::generate_list`) within the block bound, and
//! the chain verifies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};

use rct_store::{open, Ledger, Store};
use support::*;

const CLIENTS: usize = 16;
const PARTICIPANTS: usize = 2_000;
/// Clients with their own connections each pay one durable commit per
/// allocation (about 6 ms on this machine's disk), so a debug build races
/// fewer participants; release builds (the benchmark) race all 2,000.
const PARTICIPANTS_OWN: usize = if cfg!(debug_assertions) { 128 } else { 2_000 };

/// Each client takes the next participant from a shared counter. With
/// `shared`, the clients are threads of one process sharing a ledger (a web
/// server); otherwise each has its own connection and ledger, like separate
/// processes, and they race for every sequence number.
fn race(url: &str, shared: bool) {
    let n = if shared {
        PARTICIPANTS
    } else {
        PARTICIPANTS_OWN
    };
    let first = Ledger::new(open(url).unwrap());
    setup(&first, n);
    let setup_events = first.state(TRIAL).unwrap().seq;
    let next = AtomicUsize::new(1);
    std::thread::scope(|s| {
        for _ in 0..CLIENTS {
            let own = (!shared).then(|| Ledger::new(open(url).unwrap()));
            let next = &next;
            let first = &first;
            s.spawn(move || {
                let ledger: &Ledger<Box<dyn Store>> = own.as_ref().unwrap_or(first);
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i > n {
                        break;
                    }
                    let written = randomise(ledger, i).unwrap();
                    assert_eq!(written.len(), 1);
                }
            });
        }
    });
    let fresh = Ledger::new(open(url).unwrap());
    let summary = fresh.verify(TRIAL).unwrap();
    assert_eq!(summary.events, setup_events + n as u64);
    let state = fresh.state(TRIAL).unwrap();
    assert_eq!(check_allocations(&state), n);
    assert_eq!(state.head, summary.head);
}

#[test]
fn sixteen_threads_sharing_a_ledger() {
    for db in databases("race_shared") {
        race(&db.url, true);
    }
}

#[test]
fn sixteen_clients_with_their_own_connections() {
    for db in databases("race_own") {
        race(&db.url, false);
    }
}
