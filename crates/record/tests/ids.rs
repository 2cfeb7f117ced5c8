#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Participant identifiers and reasons are refused by the record itself
//! (`TrialState::check`), whatever edge sends the command: the hostile
//! identifiers the command line used to accept (markup, a path, a query
//! string, line breaks) and a lock or unlock with a blank reason.

use chrono::{DateTime, Utc};
use rct_record::{
    check_participant_id, Actor, Arm, Command, CommandError, Role, Sites, TrialDesign, TrialState,
};

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";

fn at(minute: u32) -> DateTime<Utc> {
    format!("2026-03-01T09:{minute:02}:00Z").parse().unwrap()
}

fn admin() -> Actor {
    Actor::new("ada", Role::Admin, None)
}

fn nurse() -> Actor {
    Actor::new("nina", Role::ResearchNurse, None)
}

fn dm() -> Actor {
    Actor::new("dan", Role::DataManager, None)
}

/// A registered trial with one site, a research nurse and a data manager.
fn trial() -> TrialState {
    let mut s = TrialState::new("T");
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
    let setup = [
        Command::RegisterTrial {
            title: "T".into(),
            blinded: true,
            arms,
            design: TrialDesign::new("pbr:4"),
            seed: 1.into(),
            seal_key: rct_record::TrialSecrets::insecure_for_tests(1).seal_key_hex(),
        },
        Command::AddSite {
            site: "rh".into(),
            name: "Rigshospitalet".into(),
        },
    ];
    for c in &setup {
        s.execute(&admin(), at(0), None, c).unwrap();
    }
    for (user, role) in [("nina", Role::ResearchNurse), ("dan", Role::DataManager)] {
        s.execute(
            &admin(),
            at(0),
            None,
            &Command::CreateUser {
                user: user.into(),
                display_name: user.into(),
                password_hash: HASH.into(),
            },
        )
        .unwrap();
        s.execute(
            &admin(),
            at(0),
            None,
            &Command::GrantRole {
                user: user.into(),
                role,
                sites: Sites::All,
            },
        )
        .unwrap();
    }
    s
}

fn screen(id: &str) -> Command {
    Command::Screen {
        participant: id.into(),
        site: Some("rh".into()),
        date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        facts: Default::default(),
    }
}

/// The identifiers the command line accepted and the web refused (issue 15),
/// and the other shapes the rule excludes.
const HOSTILE: [&str; 10] = [
    "<script>",
    "<script>alert(1)</script>",
    "A/../../x",
    "A?x=1#y",
    "A\r\nB",
    "A\nB",
    ".",
    "..",
    "A B",
    "P0000000000000000000000000000001x",
];

#[test]
fn screening_refuses_each_hostile_id_and_writes_nothing() {
    let s = trial();
    for id in HOSTILE {
        let err = s.check(&nurse(), at(1), None, &screen(id)).unwrap_err();
        assert!(
            matches!(err, CommandError::BadParticipantId { .. }),
            "{id:?}: {err}"
        );
        assert_eq!(err, check_participant_id(id).unwrap_err(), "{id:?}");
        let msg = err.to_string();
        assert!(
            msg.starts_with("participant identifier \"")
                && msg.contains("is not allowed: use 1 to 32 letters, digits"),
            "{msg}"
        );
        assert!(!msg.contains('\r') && !msg.contains('\n'), "{msg:?}");
    }
    assert_eq!(s.participants.len(), 0);
}

#[test]
fn screening_accepts_ids_within_the_rule() {
    let mut s = trial();
    for (i, id) in ["P001", "pkuph-003", "L_01", "a.b", &"9".repeat(32)]
        .into_iter()
        .enumerate()
    {
        s.execute(&nurse(), at(1 + i as u32), None, &screen(id))
            .unwrap_or_else(|e| panic!("{id}: {e}"));
    }
    assert_eq!(s.participants.len(), 5);
}

#[test]
fn the_rule_is_checked_before_anything_else_about_the_participant() {
    // An unknown site would be refused too; the id is named first, so the
    // message is the same from every edge whatever else is wrong.
    let s = trial();
    let c = Command::Screen {
        participant: "A/../../x".into(),
        site: Some("nowhere".into()),
        date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        facts: Default::default(),
    };
    let err = s.check(&nurse(), at(1), None, &c).unwrap_err();
    assert!(
        matches!(err, CommandError::BadParticipantId { .. }),
        "{err}"
    );
}

#[test]
fn lock_and_unlock_refuse_a_blank_reason() {
    let mut s = trial();
    for reason in [None, Some(""), Some("   "), Some("\t\r\n")] {
        let err = s.check(&dm(), at(2), reason, &Command::Lock).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a reason is required to lock the database",
            "{reason:?}"
        );
    }
    let events = s
        .execute(&dm(), at(3), Some("  end of follow-up "), &Command::Lock)
        .unwrap();
    assert_eq!(events[0].reason.as_deref(), Some("end of follow-up"));
    for reason in [None, Some(""), Some(" \n ")] {
        let err = s.check(&dm(), at(4), reason, &Command::Unlock).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a reason is required to unlock the database",
            "{reason:?}"
        );
    }
    s.execute(
        &dm(),
        at(5),
        Some("late laboratory values"),
        &Command::Unlock,
    )
    .unwrap();
    assert!(!s.locked);
}
