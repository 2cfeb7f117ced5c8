//! Crash test: writer processes randomising in a loop are killed with SIGKILL
//! in the middle of the load. Every allocation a process acknowledged (printed
//! after `Ledger::execute` returned) must be in the database afterwards, the
//! lists must have no duplicate or skipped position, and the chain verifies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rct_record::Payload;
use rct_store::{open, ExecuteError, Ledger};
use support::*;

const CHILD_URL: &str = "RCT_STORE_CRASH_URL";
const CHILD_INDEX: &str = "RCT_STORE_CRASH_INDEX";
const CHILDREN: usize = 3;
const PARTICIPANTS: usize = 900;

/// The writer process: randomises participants `k+1, k+1+CHILDREN, ...` and
/// prints `ACK participant arm position stratum seq` once each is durable.
#[test]
#[ignore = "a child process of the crash tests"]
fn crash_child() {
    let (Ok(url), Ok(k)) = (std::env::var(CHILD_URL), std::env::var(CHILD_INDEX)) else {
        return;
    };
    let k: usize = k.parse().unwrap();
    let ledger = Ledger::new(open(&url).unwrap());
    let stdout = std::io::stdout();
    for i in (k + 1..=PARTICIPANTS).step_by(CHILDREN) {
        match randomise(&ledger, i) {
            Ok(events) => {
                for e in events {
                    if let Payload::Randomised {
                        participant,
                        arm,
                        position,
                        stratum,
                        ..
                    } = &e.payload
                    {
                        let mut out = stdout.lock();
                        writeln!(
                            out,
                            "ACK {participant} {arm} {position} {stratum} {}",
                            e.seq
                        )
                        .unwrap();
                        out.flush().unwrap();
                    }
                }
            }
            Err(ExecuteError::Rejected(e)) => panic!("{e}"),
            Err(e) => panic!("{e}"),
        }
    }
}

fn crash(url: &str) {
    let ledger = Ledger::new(open(url).unwrap());
    setup(&ledger, PARTICIPANTS);
    drop(ledger);
    let acks = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut children = Vec::new();
    let mut readers = Vec::new();
    for k in 0..CHILDREN {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "crash_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_URL, url)
            .env(CHILD_INDEX, k.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(
                    std::env::temp_dir().join(format!("rct-crash-{}-{k}.log", std::process::id())),
                )
                .unwrap(),
            ))
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let acks = acks.clone();
        readers.push(std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let line = line.unwrap();
                if line.starts_with("ACK ") {
                    acks.lock().unwrap().push(line);
                }
            }
        }));
        children.push(child);
    }
    // Let the load run until some allocations are acknowledged, then kill
    // every writer mid-flight.
    for _ in 0..400 {
        if acks.lock().unwrap().len() >= 30 {
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    for child in &mut children {
        assert!(
            child.try_wait().unwrap().is_none(),
            "a writer finished before it was killed; the test needs a longer load"
        );
        child.kill().unwrap(); // SIGKILL
    }
    for mut child in children {
        child.wait().unwrap();
    }
    for r in readers {
        r.join().unwrap();
    }
    let acks = acks.lock().unwrap().clone();
    let log = std::fs::read_to_string(
        std::env::temp_dir().join(format!("rct-crash-{}-0.log", std::process::id())),
    )
    .unwrap_or_default();
    for k in 0..CHILDREN {
        let _ = std::fs::remove_file(
            std::env::temp_dir().join(format!("rct-crash-{}-{k}.log", std::process::id())),
        );
    }
    assert!(
        acks.len() >= 5,
        "only {} acknowledgements; writer 0 said:\n{log}",
        acks.len()
    );

    let fresh = Ledger::new(open(url).unwrap());
    fresh.verify(TRIAL).unwrap();
    let state = fresh.state(TRIAL).unwrap();
    for ack in &acks {
        let f: Vec<&str> = ack.split(' ').collect();
        let p = &state.participants[f[1]];
        let a = p
            .allocation
            .as_ref()
            .unwrap_or_else(|| panic!("acknowledged but lost: {ack}"));
        assert_eq!(
            (
                a.arm.as_str(),
                a.position.to_string(),
                a.stratum.as_str(),
                a.seq.to_string()
            ),
            (f[2], f[3].to_string(), f[4], f[5].to_string()),
            "{ack}"
        );
    }
    let allocated = check_allocations(&state);
    assert!(allocated >= acks.len() && allocated < PARTICIPANTS);
}

#[test]
fn killed_writers_lose_no_acknowledged_allocation_sqlite() {
    crash(&sqlite_db().url);
}

#[test]
fn killed_writers_lose_no_acknowledged_allocation_postgres() {
    if let Some(db) = pg_db("crash") {
        crash(&db.url);
    }
}
