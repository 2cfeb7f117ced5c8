#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Invariants over random command sequences by random actors: whatever is
//! asked, `check` never panics, every accepted command folds, the state
//! rebuilt from the events equals the state built command by command, and the
//! rules hold in the result (reference: the rules themselves, restated here
//! over the final state).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use rct_record::{
    verify_chain, Actor, Arm, Command, Event, Payload, Role, Sites, StoredEvent, TrialDesign,
    TrialState, Verdict,
};
use serde_json::json;

fn t0() -> DateTime<Utc> {
    "2026-06-01T08:00:00Z".parse().unwrap()
}

const USERS: [(&str, Role, Option<&str>); 7] = [
    ("ada", Role::Admin, None),
    ("ian", Role::Investigator, Some("s1")),
    ("ivy", Role::Investigator, Some("s2")),
    ("mo", Role::Monitor, None),
    ("dan", Role::DataManager, None),
    ("oli", Role::OutcomeAssessor, None),
    ("phil", Role::InterventionStaff, None),
];

fn command(kind: u8, p: u8, x: u8) -> Command {
    let participant = format!("P{}", p % 4);
    match kind % 16 {
        0 | 12 => Command::Screen {
            participant,
            site: None,
            date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            facts: Default::default(),
        },
        1 | 13 => Command::Consent {
            participant,
            version: None,
            given_at: None,
            obtained_by: None,
        },
        2 | 3 | 14 => Command::Randomise { participant },
        4 | 15 => Command::EnterValue {
            participant,
            visit: "v1".into(),
            form: ["vitals", "fatigue", "arma_log"][usize::from(x % 3)].into(),
            field: "x".into(),
            value: json!(f64::from(x) / 7.0),
        },
        5 => Command::ChangeValue {
            participant,
            visit: "v1".into(),
            form: ["vitals", "fatigue", "arma_log"][usize::from(x % 3)].into(),
            field: "x".into(),
            value: json!(x),
        },
        6 if x % 4 == 0 => Command::Withdraw { participant },
        6 => Command::Randomise { participant },
        7 => Command::RaiseQuery {
            participant,
            item: Some("v1/vitals/x".into()),
            text: "?".into(),
        },
        8 => Command::AnswerQuery {
            query: format!("Q{}", x % 3 + 1),
            text: "ok".into(),
        },
        9 => Command::CloseQuery {
            query: format!("Q{}", x % 3 + 1),
        },
        10 => {
            if x < 12 {
                Command::Lock
            } else {
                Command::Unlock
            }
        }
        _ => Command::EmergencyUnblind {
            participant,
            category: "serious adverse event".into(),
        },
    }
}

/// The user who would normally send this command (index into USERS).
fn usual_actor(c: &Command, p: u8) -> usize {
    let inv = if p % 2 == 0 { 1 } else { 2 };
    match c {
        Command::EnterValue { form, .. } | Command::ChangeValue { form, .. } => match form.as_str()
        {
            "fatigue" => 5,
            "arma_log" => 6,
            _ => inv,
        },
        Command::RaiseQuery { .. } => 3,
        Command::CloseQuery { .. } | Command::Lock | Command::Unlock => 4,
        _ => inv,
    }
}

fn setup() -> (TrialState, Vec<Event>) {
    let mut s = TrialState::new("inv");
    let mut events = Vec::new();
    let ada = Actor::new("ada", Role::Admin, None);
    let mut design = TrialDesign::new("rpbr:2,4");
    design.stratify_by = vec!["site".into()];
    design.forms = vec![
        rct_record::FormRule {
            form: "arma_log".into(),
            arm: Some("a".into()),
            entered_by: None,
        },
        rct_record::FormRule {
            form: "fatigue".into(),
            arm: None,
            entered_by: Some(Role::OutcomeAssessor),
        },
    ];
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
    let mut run =
        |s: &mut TrialState, c: Command| events.extend(s.execute(&ada, t0(), None, &c).unwrap());
    run(
        &mut s,
        Command::RegisterTrial {
            title: "I".into(),
            blinded: true,
            arms,
            design,
            seed: rct_record::TrialSecrets::insecure_for_tests(5).seed,
            seal_key: rct_record::TrialSecrets::insecure_for_tests(5).seal_key_hex(),
        },
    );
    run(
        &mut s,
        Command::AddSite {
            site: "s1".into(),
            name: "S1".into(),
        },
    );
    run(
        &mut s,
        Command::AddSite {
            site: "s2".into(),
            name: "S2".into(),
        },
    );
    for (user, role, site) in USERS.into_iter().skip(1) {
        let sites = site.map_or(Sites::All, |s| Sites::Only(vec![s.into()]));
        run(
            &mut s,
            Command::CreateUser {
                user: user.into(),
                display_name: user.into(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
            },
        );
        run(
            &mut s,
            Command::GrantRole {
                user: user.into(),
                role,
                sites,
            },
        );
    }
    (s, events)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn random_commands_keep_the_rules(
        steps in prop::collection::vec((0usize..28, any::<u8>(), any::<u8>(), any::<u8>(), any::<bool>()), 1..150)
    ) {
        let (mut state, mut events) = setup();
        for (i, (who, kind, p, x, with_reason)) in steps.into_iter().enumerate() {
            let c = command(kind, p, x);
            // Mostly the usual sender, sometimes anyone.
            let who = if who < 7 { who } else { usual_actor(&c, p) };
            let (user, role, site) = USERS[who];
            let actor = Actor::new(user, role, site);
            let reason = with_reason.then_some("because of it");
            let at = t0() + Duration::minutes(i as i64);
            if let Ok(drafts) = state.check(&actor, at, reason, &c) {
                for d in drafts {
                    let e = state.seal(d);
                    state.apply(&e).unwrap();
                    events.push(e);
                }
            }
        }
        // The fold of the log is the state.
        let rebuilt = TrialState::from_events("inv", &events).unwrap();
        prop_assert_eq!(&rebuilt, &state);
        let stored: Vec<StoredEvent> = events.iter().map(StoredEvent::from_event).collect();
        prop_assert!(verify_chain("inv", &stored).is_ok());
        // Every randomised participant was eligible and consented before,
        // and positions in each stratum run 1..n.
        let mut positions: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for e in &events {
            if let Payload::Randomised { participant, position, stratum, .. } = &e.payload {
                let p = &rebuilt.participants[participant];
                let s = p.screening.as_ref().unwrap();
                prop_assert_eq!(s.verdict, Verdict::Eligible);
                prop_assert!(s.at <= e.at && p.consented.unwrap() <= e.at);
                positions.entry(stratum.clone()).or_default().push(*position);
            }
            // Changes always carry a reason; nothing is written while locked
            // (checked below by replaying the lock state).
            if matches!(e.payload, Payload::ValueChanged { .. } | Payload::Withdrawn { .. } | Payload::DatabaseLocked | Payload::DatabaseUnlocked) {
                prop_assert!(e.reason.is_some());
            }
        }
        for (s, ps) in positions {
            let expected: Vec<u64> = (1..=ps.len() as u64).collect();
            prop_assert_eq!(ps, expected, "stratum {}", s);
        }
        let mut locked = false;
        for e in &events {
            match e.payload {
                Payload::DatabaseLocked => locked = true,
                Payload::DatabaseUnlocked => locked = false,
                Payload::EmergencyUnblinded { .. } => {}
                ref p if p.participant().is_some() || matches!(p, Payload::QueryAnswered { .. } | Payload::QueryClosed { .. }) => {
                    prop_assert!(!locked, "{} written while locked", p.kind());
                }
                _ => {}
            }
        }
        // Site scoping: ivy (s2) never wrote about an s1 participant.
        for e in events.iter().filter(|e| e.actor == "ivy") {
            prop_assert_eq!(e.site.as_deref(), Some("s2"));
        }
        // Views never panic and blinded users never see arm `a`/`b` ids.
        for (user, role, _) in USERS {
            let v = state.view(user);
            if !role.is_unblinded() {
                for p in &v.participants {
                    let unblinded = state.unblinded.contains(&(user.to_string(), p.id.clone()));
                    prop_assert!(p.allocation.is_none() || unblinded);
                }
            }
            for e in &events {
                let _ = state.view_event(e, user);
            }
        }
    }
}
