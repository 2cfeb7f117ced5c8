//! Several `rct serve` processes on one database (issue 22, "Done when"):
//! three processes on one PostgreSQL under a randomisation and data-entry
//! load, one killed with SIGKILL mid-run and restarted; and SIGTERM during
//! load. Every acknowledged write must be in the record, the list positions
//! of each stratum must be 1..n, the chain must verify under the servers'
//! key, and one login must work on every process and after the restart.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]
#![cfg(unix)]

mod cluster_kit;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cluster_kit::*;

/// A PostgreSQL database for this test on the `RCT_TEST_POSTGRES` server,
/// dropped afterwards; `None` (with the reason printed) when unset.
struct PgDb {
    url: String,
    server: String,
    name: String,
}

impl PgDb {
    fn create(label: &str) -> Option<PgDb> {
        let server = match std::env::var("RCT_TEST_POSTGRES") {
            Ok(url) if !url.is_empty() => url,
            _ => {
                if std::env::var_os("CI").is_some() {
                    panic!("RCT_TEST_POSTGRES is not set but CI is: .ci/run must start PostgreSQL");
                }
                eprintln!(
                    "skipped: RCT_TEST_POSTGRES is not set, and several processes on one \
                     database need PostgreSQL (run `source .ci/postgres.sh`)"
                );
                return None;
            }
        };
        let name = format!("rct_cluster_{label}_{}", std::process::id());
        let mut admin =
            rct_store::pg::postgres::Client::connect(&server, rct_store::pg::postgres::NoTls)
                .unwrap();
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let (root, _) = server.split('?').next().unwrap().rsplit_once('/').unwrap();
        Some(PgDb {
            url: format!("{root}/{name}"),
            server,
            name,
        })
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if let Ok(mut c) =
            rct_store::pg::postgres::Client::connect(&self.server, rct_store::pg::postgres::NoTls)
        {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// How long each load runs.
const LOAD: Duration = Duration::from_secs(4);

#[test]
fn three_servers_on_one_postgres_survive_a_sigkill_mid_load() {
    let Some(db) = PgDb::create("three") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("rct-signing.key");
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    // The first process seeds the demo (trials, accounts); the others find
    // it there. All share the checkpoint key.
    let mut servers = vec![start(&db.url, ports[0], &key, &["--demo"], dir.path())];
    for &p in &ports[1..] {
        servers.push(start(&db.url, p, &key, &[], dir.path()));
    }
    let public = servers[0].public_key.clone();
    assert!(servers.iter().all(|s| s.public_key == public));
    // One login per investigator, made on the first process; the same
    // sessions are then used on all three.
    let inv = login(ports[0], "investigator");
    let inv2 = login(ports[0], "investigator2");
    for s in [&inv, &inv2] {
        for &p in &ports {
            assert_eq!(s.me(p).unwrap(), 200, "{} on port {p}", s.user);
        }
    }
    // Six workers, two on each process, both sites on every process.
    let tally = Arc::new(Mutex::new(Tally::default()));
    let deadline = Instant::now() + LOAD;
    let victim = 1usize;
    let mut workers = Vec::new();
    for w in 0..6usize {
        let (session, site) = if w % 2 == 0 {
            (inv.clone(), "pkuph")
        } else {
            (inv2.clone(), "site2")
        };
        let target = w % 3;
        let port = ports[target];
        let tally = tally.clone();
        workers.push(std::thread::spawn(move || {
            enrol_until(
                &session,
                &move || port,
                &format!("K{w}"),
                site,
                deadline,
                &tally,
            );
        }));
    }
    // Mid-run: SIGKILL one process, then start it again on its port.
    std::thread::sleep(LOAD / 3);
    let mut killed = servers.remove(victim);
    killed.child.kill().unwrap();
    let status = killed.child.wait().unwrap();
    assert!(!status.success(), "SIGKILL ends the process: {status}");
    let on_victim = |t: &Tally| {
        t.acked
            .keys()
            .filter(|pid| {
                pid.starts_with(&format!("K{victim}"))
                    || pid.starts_with(&format!("K{}", victim + 3))
            })
            .count()
    };
    let victim_before = on_victim(&tally.lock().unwrap());
    std::thread::sleep(Duration::from_millis(300));
    let restarted = start(&db.url, ports[victim], &key, &[], dir.path());
    servers.insert(victim, restarted);
    for w in workers {
        w.join().unwrap();
    }
    let tally = tally.lock().unwrap();
    // The sessions made before the kill work on every process, the
    // restarted one included.
    for s in [&inv, &inv2] {
        for &p in &ports {
            assert_eq!(
                s.me(p).unwrap(),
                200,
                "{} on port {p} after the restart",
                s.user
            );
        }
    }
    for s in &mut servers {
        s.signal(libc::SIGTERM);
        let status = s.child.wait().unwrap();
        assert!(status.success(), "SIGTERM: {status}: {}", s.log());
    }
    let (acked, allocations) = check_record(&db.url, &tally);
    let verified = audit_verify(&db.url, &public);
    eprintln!(
        "three servers: {acked} acknowledged writes ({} participants; on the killed process {} \
         before the kill, {} in all), {} unanswered, {} refused, {allocations} allocations; {}",
        tally.acked.len(),
        victim_before,
        on_victim(&tally),
        tally.unanswered,
        tally.refused.len(),
        verified.lines().next().unwrap_or("")
    );
    assert!(
        tally.refused.is_empty(),
        "refusals under load: {:?}",
        tally.refused
    );
    assert!(
        tally.unanswered > 0,
        "no request went unanswered: the kill came too late to test anything"
    );
    let randomised = tally
        .acked
        .values()
        .filter(|s| s.contains(&Step::Randomised))
        .count();
    assert!(randomised >= 30, "too little load: {randomised} randomised");
    assert!(
        on_victim(&tally) > victim_before && victim_before > 0,
        "the killed process served writes before the kill and after the restart"
    );
}

/// SIGTERM during load: the process stops accepting, finishes the requests
/// in flight, signs a checkpoint of the head it left unsigned
/// (`--checkpoint-every` high, so only the shutdown signs) and exits 0;
/// every acknowledged write is in the record, which verifies with no
/// unsigned tail. On SQLite, and on PostgreSQL when configured.
#[test]
fn sigterm_during_load_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite:{}", dir.path().join("term.sqlite").display());
    let pg = PgDb::create("term");
    let mut dbs = vec![(sqlite.as_str(), "sqlite")];
    if let Some(pg) = &pg {
        dbs.push((pg.url.as_str(), "postgres"));
    }
    for (db, kind) in dbs {
        let key = dir.path().join(format!("{kind}.key"));
        let port = free_port();
        let mut server = start(
            db,
            port,
            &key,
            &["--demo", "--checkpoint-every", "1000000"],
            dir.path(),
        );
        let inv = login(port, "investigator");
        let inv2 = login(port, "investigator2");
        let tally = Arc::new(Mutex::new(Tally::default()));
        let deadline = Instant::now() + LOAD / 2;
        let mut workers = Vec::new();
        for w in 0..4usize {
            let (session, site) = if w % 2 == 0 {
                (inv.clone(), "pkuph")
            } else {
                (inv2.clone(), "site2")
            };
            let tally = tally.clone();
            workers.push(std::thread::spawn(move || {
                enrol_until(
                    &session,
                    &move || port,
                    &format!("T{w}"),
                    site,
                    deadline,
                    &tally,
                );
            }));
        }
        std::thread::sleep(LOAD / 4);
        let acked_at_term = tally
            .lock()
            .unwrap()
            .acked
            .values()
            .map(Vec::len)
            .sum::<usize>();
        server.signal(libc::SIGTERM);
        let status = server.child.wait().unwrap();
        for w in workers {
            w.join().unwrap();
        }
        let log = server.log();
        assert!(status.success(), "{kind}: SIGTERM: {status}: {log}");
        let tally = tally.lock().unwrap();
        let (acked, allocations) = check_record(db, &tally);
        let head = rct_store::open(db).unwrap().head(TRIAL).unwrap();
        assert!(
            log.contains(&format!(
                "{TRIAL}: signed a checkpoint of event {head} at shutdown"
            )),
            "{kind}: no shutdown checkpoint of event {head}: {log}"
        );
        let verified = audit_verify(db, &server.public_key);
        assert!(
            verified.contains(&format!("signed through event {head} ")),
            "{kind}: {verified}"
        );
        eprintln!(
            "SIGTERM on {kind}: {acked} acknowledged writes ({acked_at_term} before the signal), \
             {} unanswered after it ({} cut), {} refused, {allocations} allocations, \
             checkpoint at shutdown of event {head}",
            tally.unanswered,
            tally.cut,
            tally.refused.len()
        );
        assert!(tally.refused.is_empty(), "{kind}: {:?}", tally.refused);
        assert!(
            acked > acked_at_term && acked_at_term > 0,
            "{kind}: no load around the signal"
        );
        assert!(
            tally.unanswered > 0,
            "{kind}: the server kept answering after SIGTERM"
        );
    }
}

/// `rct backup` while a server writes (issue 22 item 6): the copy's chain
/// verifies under the server's key with no unsigned tail, it holds every
/// write acknowledged before the backup began, and a restore drill serves
/// it: `rct restore` into a new database, `rct serve` on that, a login
/// (sessions are not in backups: everyone logs in again) and a new
/// randomisation continuing the lists without a gap. On SQLite, and on
/// PostgreSQL when configured (restored into PostgreSQL too).
#[test]
fn a_backup_under_load_verifies_and_a_restore_drill_serves_it() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite:{}", dir.path().join("live.sqlite").display());
    let restored_sqlite = format!("sqlite:{}", dir.path().join("restored.sqlite").display());
    let pg = PgDb::create("backup");
    let pg_restored = PgDb::create("restored");
    let mut pairs = vec![(sqlite.as_str(), restored_sqlite.as_str(), "sqlite")];
    if let (Some(live), Some(restored)) = (&pg, &pg_restored) {
        pairs.push((live.url.as_str(), restored.url.as_str(), "postgres"));
    }
    for (db, restored, kind) in pairs {
        let key = dir.path().join(format!("{kind}-backup.key"));
        let port = free_port();
        let mut server = start(db, port, &key, &["--demo"], dir.path());
        let inv = login(port, "investigator");
        let inv2 = login(port, "investigator2");
        let tally = Arc::new(Mutex::new(Tally::default()));
        let deadline = Instant::now() + LOAD / 2;
        let mut workers = Vec::new();
        for w in 0..4usize {
            let (session, site) = if w % 2 == 0 {
                (inv.clone(), "pkuph")
            } else {
                (inv2.clone(), "site2")
            };
            let tally = tally.clone();
            workers.push(std::thread::spawn(move || {
                enrol_until(
                    &session,
                    &move || port,
                    &format!("B{w}"),
                    site,
                    deadline,
                    &tally,
                );
            }));
        }
        std::thread::sleep(LOAD / 6);
        // What was acknowledged before the backup began must be in it.
        let before: Tally = {
            let t = tally.lock().unwrap();
            Tally {
                acked: t.acked.clone(),
                ..Tally::default()
            }
        };
        let file = dir.path().join(format!("{kind}-backup.sqlite"));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_rct"))
            .args(["backup", "--db", db])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{kind}: rct backup under load: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for w in workers {
            w.join().unwrap();
        }
        let tally = tally.lock().unwrap();
        assert!(tally.refused.is_empty(), "{kind}: {:?}", tally.refused);
        let copy = format!("sqlite:{}", file.display());
        let (in_copy, _) = check_record(&copy, &before);
        let copy_head = rct_store::open(&copy).unwrap().head(TRIAL).unwrap();
        let live_head = rct_store::open(db).unwrap().head(TRIAL).unwrap();
        assert!(
            copy_head < live_head,
            "{kind}: the backup was not taken during the load ({copy_head} of {live_head})"
        );
        let verified = audit_verify(&copy, &server.public_key);
        // The restore drill: a new database from the backup, served.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_rct"))
            .args(["restore", "--db", restored])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{kind}: rct restore: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port2 = free_port();
        let mut drill = start(restored, port2, &key, &[], dir.path());
        // The live server's session is not in the backup.
        assert_eq!(inv.me(port2).unwrap(), 401, "{kind}");
        let again = login(port2, "investigator");
        let drill_tally = Mutex::new(Tally::default());
        enrol_until(
            &again,
            &move || port2,
            "R",
            "pkuph",
            Instant::now() + Duration::from_millis(300),
            &drill_tally,
        );
        let drill_tally = drill_tally.into_inner().unwrap();
        assert!(
            drill_tally.refused.is_empty(),
            "{kind}: {:?}",
            drill_tally.refused
        );
        let (drill_acked, allocations) = check_record(restored, &drill_tally);
        assert!(
            drill_acked >= 4,
            "{kind}: the restored server took no writes"
        );
        for s in [&mut server, &mut drill] {
            s.signal(libc::SIGTERM);
            assert!(s.child.wait().unwrap().success(), "{kind}: {}", s.log());
        }
        audit_verify(restored, &server.public_key);
        eprintln!(
            "backup on {kind}: copy at event {copy_head} of {live_head} written, {in_copy} writes \
             acknowledged before it all in it; {}; restored and served: {drill_acked} more writes, \
             {allocations} allocations without a gap",
            verified.lines().next().unwrap_or("")
        );
    }
}
