#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Cost of the command check (randomisation replays the stratum's list from
//! the seed) and of folding a trial's events into state.
//!
//! `CARGO_TARGET_DIR=/work/target-record cargo bench -p rct-record`

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use rct_record::{Actor, Arm, Command, Event, Role, Sites, TrialDesign, TrialState};

fn t0() -> DateTime<Utc> {
    "2026-07-01T08:00:00Z".parse().unwrap()
}

/// A trial with `n` randomised participants over 4 strata (site x sex).
fn trial(n: usize) -> (TrialState, Vec<Event>) {
    let mut s = TrialState::new("bench");
    let mut events = Vec::new();
    let admin = Actor::new("ada", Role::Admin, None);
    let mut design = TrialDesign::new("rpbr:4,6");
    design.stratify_by = vec!["site".into(), "sex".into()];
    design.kits = true;
    let arms = vec![
        Arm {
            id: "a".into(),
            name: "A".into(),
        },
        Arm {
            id: "b".into(),
            name: "B".into(),
        },
    ];
    let mut run = |s: &mut TrialState, a: &Actor, at: DateTime<Utc>, c: Command| {
        events.extend(s.execute(a, at, None, &c).unwrap());
    };
    run(
        &mut s,
        &admin,
        t0(),
        Command::RegisterTrial {
            title: "B".into(),
            blinded: true,
            arms,
            design,
            seed: rct_record::TrialSecrets::insecure_for_tests(1).seed,
            seal_key: rct_record::TrialSecrets::insecure_for_tests(1).seal_key_hex(),
        },
    );
    run(
        &mut s,
        &admin,
        t0(),
        Command::CreateUser {
            user: "ian".into(),
            display_name: "Ian".into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
        },
    );
    run(
        &mut s,
        &admin,
        t0(),
        Command::GrantRole {
            user: "ian".into(),
            role: Role::Investigator,
            sites: Sites::All,
        },
    );
    for i in 0..n {
        let site = if i % 2 == 0 { "s1" } else { "s2" };
        let inv = Actor::new("ian", Role::Investigator, Some(site));
        let at = t0() + Duration::seconds(i as i64);
        let id = format!("P{i}");
        run(
            &mut s,
            &inv,
            at,
            Command::Screen {
                participant: id.clone(),
                site: None,
                date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                facts: BTreeMap::from([(
                    "sex".to_string(),
                    serde_json::json!(if i % 3 == 0 { "F" } else { "M" }),
                )]),
            },
        );
        run(
            &mut s,
            &inv,
            at,
            Command::Consent {
                participant: id.clone(),
                version: None,
                given_at: None,
                obtained_by: None,
            },
        );
        run(&mut s, &inv, at, Command::Randomise { participant: id });
    }
    (s, events)
}

fn bench(c: &mut Criterion) {
    let (mut s, events) = trial(2000);
    let inv = Actor::new("ian", Role::Investigator, Some("s1"));
    s.execute(
        &inv,
        t0(),
        None,
        &Command::Screen {
            participant: "X".into(),
            site: None,
            date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            facts: BTreeMap::from([("sex".to_string(), serde_json::json!("F"))]),
        },
    )
    .unwrap();
    s.execute(
        &inv,
        t0(),
        None,
        &Command::Consent {
            participant: "X".into(),
            version: None,
            given_at: None,
            obtained_by: None,
        },
    )
    .unwrap();
    let cmd = Command::Randomise {
        participant: "X".into(),
    };
    c.bench_function("check randomise after 2000 allocations", |b| {
        b.iter(|| s.check(&inv, t0(), None, &cmd).unwrap())
    });
    c.bench_function("fold 6002 events", |b| {
        b.iter(|| TrialState::from_events("bench", &events).unwrap())
    });
    c.bench_function("view of 2000 participants (blinded investigator)", |b| {
        b.iter(|| s.view("ian"))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
