//! Shared by the store's integration tests: one database per backend, a
//! registered trial and a randomisation command built on `rct_random`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use rct_random::Arm as RandomArm;
use rct_record::{
    Actor, Arm, Command, CommandError, Event, EventDraft, Role, Sites, TrialDesign, TrialState,
};
use rct_store::{ExecuteError, Ledger, Store};

/// The trial every test registers.
pub const TRIAL: &str = "LUPEX";
/// Its design: permuted blocks of 4, 1:1, stratified by sex and site.
pub const DESIGN: &str = "pbr:4";
/// Its seed.
pub const SEED: u64 = 20_261_123;
/// Stratification factors.
pub const STRATA: [&str; 2] = ["sex", "site"];

/// A database for one test; PostgreSQL databases are dropped afterwards.
pub struct TestDb {
    /// URL for `rct_store::open` and `--db`.
    pub url: String,
    /// `sqlite` or `postgres`.
    pub kind: &'static str,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg {
            if let Ok(mut c) = postgres::Client::connect(admin, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// The PostgreSQL server URL from `RCT_TEST_POSTGRES`; `None` (with a note)
/// when unset, a failure when `CI` is set.
pub fn pg_server() -> Option<String> {
    match std::env::var("RCT_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var_os("CI").is_some() {
                panic!("RCT_TEST_POSTGRES is not set but CI is: .ci/run must start PostgreSQL (source .ci/postgres.sh)");
            }
            eprintln!("note: RCT_TEST_POSTGRES is not set; skipping the PostgreSQL backend (run `source .ci/postgres.sh` to test it)");
            None
        }
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh SQLite file.
pub fn sqlite_db() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("trial.sqlite").display());
    TestDb {
        url,
        kind: "sqlite",
        _dir: Some(dir),
        pg: None,
    }
}

/// A fresh PostgreSQL database on the test server, if there is one.
pub fn pg_db(label: &str) -> Option<TestDb> {
    let server = pg_server()?;
    let name = format!(
        "rct_{}_{}_{}",
        label.to_lowercase(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    let mut admin = postgres::Client::connect(&server, postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot connect to RCT_TEST_POSTGRES={server}: {e}"));
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let (base, query) = match server.split_once('?') {
        Some((b, q)) => (b.to_string(), format!("?{q}")),
        None => (server.clone(), String::new()),
    };
    let (root, _) = base.rsplit_once('/').unwrap();
    Some(TestDb {
        url: format!("{root}/{name}{query}"),
        kind: "postgres",
        _dir: None,
        pg: Some((server, name)),
    })
}

/// SQLite always, PostgreSQL when configured.
pub fn databases(label: &str) -> Vec<TestDb> {
    let mut out = vec![sqlite_db()];
    out.extend(pg_db(label));
    out
}

/// When every test event happens.
pub fn at() -> chrono::DateTime<chrono::Utc> {
    "2026-11-23T09:00:00Z".parse().unwrap()
}

/// The administrator who registers the trial.
pub fn admin() -> Actor {
    Actor::new("ada", Role::Admin, None)
}

/// The research nurse who screens, consents and randomises (all sites).
pub fn nurse() -> Actor {
    Actor::new("nina", Role::ResearchNurse, Some("01"))
}

/// The trial's design: permuted blocks of 4, 1:1, stratified by sex and site.
pub fn design() -> TrialDesign {
    let mut d = TrialDesign::new(DESIGN);
    d.stratify_by = STRATA.iter().map(|s| s.to_string()).collect();
    d
}

/// Runs several commands as one batch of drafts (each checked against the
/// state left by the ones before).
pub fn batch(
    state: &TrialState,
    commands: &[(Actor, Command)],
) -> Result<Vec<EventDraft>, CommandError> {
    let mut s = state.clone();
    let mut drafts = Vec::new();
    for (actor, command) in commands {
        for e in s.execute(actor, at(), None, command)? {
            drafts.push(EventDraft {
                software: None,
                trial: e.trial,
                at: e.at,
                actor: e.actor,
                role: e.role,
                site: e.site,
                reason: e.reason,
                payload: e.payload,
            });
        }
    }
    Ok(drafts)
}

/// Registration, two sites and the users.
pub fn setup_commands() -> Vec<(Actor, Command)> {
    let mut c = vec![(
        admin(),
        Command::RegisterTrial {
            title: "LUPEX store test".into(),
            blinded: true,
            arms: vec![
                Arm {
                    id: "hiit".into(),
                    name: "High-intensity interval training".into(),
                },
                Arm {
                    id: "usual".into(),
                    name: "Usual care".into(),
                },
            ],
            design: design(),
            seed: rct_record::TrialSecrets::insecure_for_tests(SEED).seed,
            seal_key: rct_record::TrialSecrets::insecure_for_tests(SEED).seal_key_hex(),
        },
    )];
    for site in ["01", "02"] {
        c.push((
            admin(),
            Command::AddSite {
                site: site.into(),
                name: format!("Site {site}"),
            },
        ));
    }
    for (user, role) in [
        ("nina", Role::ResearchNurse),
        ("mo", Role::Monitor),
        ("pam", Role::Pharmacist),
    ] {
        c.push((
            admin(),
            Command::CreateUser {
                user: user.into(),
                display_name: user.into(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
            },
        ));
        c.push((
            admin(),
            Command::GrantRole {
                user: user.into(),
                role,
                sites: Sites::All,
            },
        ));
    }
    c
}

/// Screening (eligible) and consent of participant `i` at its site.
pub fn enrol_commands(i: usize) -> Vec<(Actor, Command)> {
    let f = factors(i);
    vec![
        (
            nurse(),
            Command::Screen {
                participant: pid(i),
                site: f.get("site").cloned(),
                date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                // The stratification fact, read at randomisation.
                facts: BTreeMap::from([(
                    "sex".to_string(),
                    serde_json::Value::String(f["sex"].clone()),
                )]),
            },
        ),
        (
            nurse(),
            Command::Consent {
                participant: pid(i),
                version: None,
                given_at: None,
                obtained_by: None,
            },
        ),
    ]
}

/// A registered trial with participants `1..=n` screened and consented,
/// written in one append.
pub fn setup<S: Store>(ledger: &Ledger<S>, n: usize) {
    let mut commands = setup_commands();
    for i in 1..=n {
        commands.extend(enrol_commands(i));
    }
    ledger.execute(TRIAL, |s| batch(s, &commands)).unwrap();
}

/// Randomises participant `i` through the record's command check.
pub fn randomise<S: Store>(
    ledger: &Ledger<S>,
    i: usize,
) -> Result<Vec<Event>, ExecuteError<CommandError>> {
    let command = Command::Randomise {
        participant: pid(i),
    };
    ledger.execute(TRIAL, |s| s.check(&nurse(), at(), None, &command))
}

/// Factor levels of participant number `i` (four strata).
pub fn factors(i: usize) -> BTreeMap<String, String> {
    let mut f = BTreeMap::new();
    f.insert("sex".into(), if i % 2 == 0 { "F" } else { "M" }.into());
    f.insert(
        "site".into(),
        if (i / 2) % 2 == 0 { "01" } else { "02" }.into(),
    );
    f
}

/// Participant identifier of number `i`.
pub fn pid(i: usize) -> String {
    format!("P{i:05}")
}

fn random_arms() -> Vec<RandomArm> {
    vec![
        RandomArm {
            id: "hiit".into(),
            weight: 1,
        },
        RandomArm {
            id: "usual".into(),
            weight: 1,
        },
    ]
}

/// The reference: arms of the first `n` rows of a stratum's list.
pub fn list_arms(stratum: &str, n: usize) -> Vec<String> {
    let list = rct_random::generate_list(&rct_random::ListRequest {
        design: DESIGN.parse().unwrap(),
        arms: random_arms(),
        seed: SEED.into(),
        stratum: stratum.into(),
        n: n as u32,
        kits: false,
    })
    .unwrap();
    list.rows.into_iter().map(|r| r.arm).collect()
}

/// Checks the randomisation invariants of a state: per stratum the
/// positions are 1..n exactly once, the arms are the stratum's list (the
/// reference `rct_random::generate_list`), and the running imbalance never
/// exceeds 2 (permuted blocks of 4). Returns the number of allocations.
pub fn check_allocations(state: &TrialState) -> usize {
    let mut by_stratum: BTreeMap<String, Vec<(u64, String)>> = BTreeMap::new();
    for p in state.participants.values() {
        if let Some(a) = &p.allocation {
            by_stratum
                .entry(a.stratum.clone())
                .or_default()
                .push((a.position, a.arm.clone()));
        }
    }
    let mut total = 0;
    for (stratum, mut rows) in by_stratum {
        rows.sort();
        let positions: Vec<u64> = rows.iter().map(|r| r.0).collect();
        let expected: Vec<u64> = (1..=rows.len() as u64).collect();
        assert_eq!(
            positions, expected,
            "stratum {stratum}: positions duplicated or skipped"
        );
        let arms: Vec<String> = rows.iter().map(|r| r.1.clone()).collect();
        assert_eq!(
            arms,
            list_arms(&stratum, rows.len()),
            "stratum {stratum}: arms differ from the list"
        );
        let mut diff: i64 = 0;
        for arm in &arms {
            diff += if arm == "hiit" { 1 } else { -1 };
            assert!(
                diff.abs() <= 2,
                "stratum {stratum}: imbalance {diff} exceeds the block bound 2"
            );
        }
        total += rows.len();
    }
    total
}
