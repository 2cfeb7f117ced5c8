//! Each rule accepted and refused, with its message.

use super::*;
use crate::event::{FormRule, Verdict};
use crate::state::QueryStatus;
use serde_json::json;

pub(crate) fn at(minute: u32) -> DateTime<Utc> {
    format!("2026-03-01T09:{:02}:00Z", minute % 60)
        .parse()
        .unwrap()
}

pub(crate) fn arms() -> Vec<Arm> {
    vec![
        Arm {
            id: "hiit".into(),
            name: "High-intensity interval training".into(),
        },
        Arm {
            id: "usual".into(),
            name: "Usual care".into(),
        },
    ]
}

pub(crate) fn design() -> TrialDesign {
    let mut d = TrialDesign::new("pbr:4");
    d.stratify_by = vec!["site".into()];
    d.forms = vec![
        FormRule {
            form: "hiit_session".into(),
            arm: Some("hiit".into()),
            entered_by: None,
        },
        FormRule {
            form: "fss".into(),
            arm: None,
            entered_by: Some(Role::OutcomeAssessor),
        },
        FormRule {
            form: "ifn".into(),
            arm: None,
            entered_by: Some(Role::DataManager),
        },
    ];
    d
}

/// A well-formed argon2id PHC string (the record checks the shape only).
pub(crate) const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";

pub(crate) fn admin() -> Actor {
    Actor::new("ada", Role::Admin, None)
}
pub(crate) fn inv() -> Actor {
    Actor::new("ian", Role::Investigator, Some("rh"))
}
pub(crate) fn inv2() -> Actor {
    Actor::new("ivy", Role::Investigator, Some("gh"))
}
pub(crate) fn monitor() -> Actor {
    Actor::new("mo", Role::Monitor, None)
}
pub(crate) fn dm() -> Actor {
    Actor::new("dan", Role::DataManager, None)
}
pub(crate) fn oa() -> Actor {
    Actor::new("oli", Role::OutcomeAssessor, Some("rh"))
}
pub(crate) fn physio() -> Actor {
    Actor::new("phil", Role::InterventionStaff, Some("rh"))
}

/// A registered blinded trial with sites rh and gh and one user per role.
pub(crate) fn trial() -> TrialState {
    trial_with(design())
}

/// [`trial`] with another design.
pub(crate) fn trial_with(design: TrialDesign) -> TrialState {
    let mut s = TrialState::new("lupex");
    let ok = |s: &mut TrialState, a: &Actor, c: Command| {
        s.execute(a, at(0), None, &c).unwrap();
    };
    ok(
        &mut s,
        &admin(),
        Command::RegisterTrial {
            title: "LUPEX".into(),
            blinded: true,
            arms: arms(),
            design,
            seed: crate::TrialSecrets::insecure_for_tests(20260301).seed,
            seal_key: crate::TrialSecrets::insecure_for_tests(20260301).seal_key_hex(),
        },
    );
    for (site, name) in [("rh", "Royal Hospital"), ("gh", "General Hospital")] {
        ok(
            &mut s,
            &admin(),
            Command::AddSite {
                site: site.into(),
                name: name.into(),
            },
        );
    }
    let only = |s: &str| Sites::Only(vec![s.to_string()]);
    for (user, role, sites) in [
        ("ian", Role::Investigator, only("rh")),
        ("ivy", Role::Investigator, only("gh")),
        ("nina", Role::ResearchNurse, only("rh")),
        ("mo", Role::Monitor, Sites::All),
        ("dan", Role::DataManager, Sites::All),
        ("oli", Role::OutcomeAssessor, only("rh")),
        ("phil", Role::InterventionStaff, only("rh")),
        ("pam", Role::Pharmacist, Sites::All),
        ("stan", Role::Statistician, Sites::All),
    ] {
        ok(
            &mut s,
            &admin(),
            Command::CreateUser {
                user: user.into(),
                display_name: user.into(),
                password_hash: HASH.into(),
            },
        );
        ok(
            &mut s,
            &admin(),
            Command::GrantRole {
                user: user.into(),
                role,
                sites,
            },
        );
    }
    s
}

/// Creates `user`'s account (if new) and grants `role` on `sites`, as the
/// administrator: roles go only to existing accounts.
pub(crate) fn grant_new(s: &mut TrialState, user: &str, role: Role, sites: Sites) {
    if !s.users.contains_key(user) {
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
    }
    s.execute(
        &admin(),
        at(0),
        None,
        &Command::GrantRole {
            user: user.into(),
            role,
            sites,
        },
    )
    .unwrap();
}

/// The screening date of the tests.
pub(crate) fn day() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
}

/// Screens `id`: the record computes the verdict (a trial registered
/// without a protocol has no criteria: eligible).
pub(crate) fn screen(s: &mut TrialState, a: &Actor, id: &str) {
    s.execute(
        a,
        at(1),
        None,
        &Command::Screen {
            participant: id.into(),
            site: None,
            date: day(),
            facts: BTreeMap::new(),
        },
    )
    .unwrap();
}

/// The test protocol (criterion I1: age >= 18; a stratum `sex`).
pub(crate) const TEST_PROTOCOL: &str = include_str!("test_protocol.toml");

/// [`trial`] registered with [`TEST_PROTOCOL`] and stratified by sex.
pub(crate) fn trial_with_protocol() -> TrialState {
    let mut d = design();
    d.protocol = Some(TEST_PROTOCOL.to_string());
    d.stratify_by = vec!["sex".into()];
    trial_with(d)
}

pub(crate) fn enrol(s: &mut TrialState, a: &Actor, id: &str) -> crate::event::Event {
    screen(s, a, id);
    s.execute(
        a,
        at(2),
        None,
        &Command::Consent {
            participant: id.into(),
            version: None,
            given_at: None,
            obtained_by: None,
        },
    )
    .unwrap();
    s.execute(
        a,
        at(3),
        None,
        &Command::Randomise {
            participant: id.into(),
        },
    )
    .unwrap()
    .remove(0)
}

fn refuse(s: &TrialState, a: &Actor, reason: Option<&str>, c: Command) -> String {
    s.check(a, at(5), reason, &c).unwrap_err().to_string()
}

fn randomise(id: &str) -> Command {
    Command::Randomise {
        participant: id.into(),
    }
}

fn enter(id: &str, form: &str, value: Value) -> Command {
    Command::EnterValue {
        participant: id.into(),
        visit: "week12".into(),
        form: form.into(),
        field: "x".into(),
        value,
    }
}

fn change(id: &str, form: &str, value: Value) -> Command {
    Command::ChangeValue {
        participant: id.into(),
        visit: "week12".into(),
        form: form.into(),
        field: "x".into(),
        value,
    }
}

#[test]
fn registration_once_by_an_admin_with_a_valid_design() {
    let s = TrialState::new("t");
    let reg = |design: TrialDesign| Command::RegisterTrial {
        title: "T".into(),
        blinded: true,
        arms: arms(),
        design,
        seed: crate::TrialSecrets::insecure_for_tests(1).seed,
        seal_key: crate::TrialSecrets::insecure_for_tests(1).seal_key_hex(),
    };
    assert_eq!(
        refuse(&s, &inv(), None, reg(design())),
        "the role investigator may not register the trial (allowed: admin)"
    );
    assert!(refuse(&s, &admin(), None, reg(TrialDesign::new("pbr:3"))).contains("pbr:3"));
    assert_eq!(
        refuse(
            &s,
            &inv(),
            None,
            Command::Consent {
                participant: "P1".into(),
                version: None,
                given_at: None,
                obtained_by: None,
            }
        ),
        "trial `t` is not registered yet; register it first"
    );
    let t = trial();
    assert_eq!(
        refuse(&t, &admin(), None, reg(design())),
        "trial `lupex` is already registered"
    );
    assert_eq!(t.grant("ada", Role::Admin), Some(&Sites::All));
    assert_eq!(t.config.as_ref().unwrap().forms.len(), 3);
}

#[test]
fn randomisation_needs_eligible_consented_unwithdrawn_unrandomised() {
    let mut s = trial();
    assert_eq!(
        refuse(&s, &inv(), None, randomise("P1")),
        "participant P1 has not been screened; screen them before you randomise"
    );
    screen(&mut s, &inv(), "P7");
    assert_eq!(
        refuse(&s, &inv(), None, randomise("P7")),
        "participant P7 has not consented; record consent before randomisation"
    );
    s.execute(
        &inv(),
        at(2),
        None,
        &Command::Consent {
            participant: "P7".into(),
            version: None,
            given_at: None,
            obtained_by: None,
        },
    )
    .unwrap();
    assert_eq!(
        refuse(
            &s,
            &inv(),
            None,
            Command::Consent {
                participant: "P7".into(),
                version: None,
                given_at: None,
                obtained_by: None,
            }
        ),
        "participant P7 consented on 2026-03-01 09:02:00 UTC; consent is recorded once per consent form version"
    );
    let e = s.execute(&inv(), at(3), None, &randomise("P7")).unwrap();
    let Payload::Randomised {
        arm,
        position,
        stratum,
        factors,
        kit,
        ..
    } = &e[0].payload
    else {
        panic!("{:?}", e[0].payload)
    };
    assert!(arm == "hiit" || arm == "usual");
    assert_eq!((*position, stratum.as_str(), kit), (1, "site=rh", &None));
    assert_eq!(factors.get("site").map(String::as_str), Some("rh"));
    assert_eq!(e[0].site.as_deref(), Some("rh"));
    assert_eq!(
        refuse(&s, &inv(), None, randomise("P7")),
        "participant P7 was already randomised on 2026-03-01 09:03:00 UTC; a participant is randomised once"
    );
    assert_eq!(
        refuse(
            &s,
            &inv(),
            None,
            Command::Screen {
                participant: "P7".into(),
                site: None,
                date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                facts: Default::default(),
            }
        ),
        "participant P7 is already randomised; screening cannot be repeated"
    );
    // Withdrawn before randomisation.
    screen(&mut s, &inv(), "P9");
    s.execute(
        &inv(),
        at(2),
        None,
        &Command::Consent {
            participant: "P9".into(),
            version: None,
            given_at: None,
            obtained_by: None,
        },
    )
    .unwrap();
    assert_eq!(
        refuse(
            &s,
            &inv(),
            None,
            Command::Withdraw {
                participant: "P9".into()
            }
        ),
        "a reason is required to withdraw a participant"
    );
    s.execute(
        &inv(),
        at(4),
        Some("moved away"),
        &Command::Withdraw {
            participant: "P9".into(),
        },
    )
    .unwrap();
    assert_eq!(
        refuse(&s, &inv(), None, randomise("P9")),
        "participant P9 was withdrawn on 2026-03-01 09:04:00 UTC; a withdrawn participant cannot randomise"
    );
}

/// Screens with facts under the test protocol.
pub(crate) fn screen_facts(s: &mut TrialState, id: &str, facts: Value) -> Verdict {
    let facts: BTreeMap<String, Value> = serde_json::from_value(facts).unwrap();
    let e = s
        .execute(
            &inv(),
            at(1),
            None,
            &Command::Screen {
                participant: id.into(),
                site: None,
                date: day(),
                facts,
            },
        )
        .unwrap();
    let Payload::Screened { verdict, .. } = &e[0].payload else {
        panic!("{:?}", e[0].payload)
    };
    *verdict
}

fn consent(s: &mut TrialState, id: &str) {
    s.execute(
        &inv(),
        at(2),
        None,
        &Command::Consent {
            participant: id.into(),
            version: None,
            given_at: None,
            obtained_by: None,
        },
    )
    .unwrap();
}

#[test]
fn the_record_computes_the_verdict_and_reads_strata_from_the_facts() {
    let mut s = trial_with_protocol();
    // test_protocol.toml: I1 `age >= 18`.
    assert_eq!(screen_facts(&mut s, "P1", json!({})), Verdict::Undetermined);
    assert_eq!(
        refuse(&s, &inv(), None, randomise("P1")),
        "participant P1 is not eligible (verdict: incomplete); screening must say eligible before randomisation"
    );
    assert_eq!(
        screen_facts(&mut s, "P2", json!({"age": 16, "sex": "male"})),
        Verdict::Ineligible
    );
    assert!(refuse(&s, &inv(), None, randomise("P2")).contains("(verdict: ineligible)"));
    // Every declared fact is needed for a verdict.
    assert_eq!(
        screen_facts(&mut s, "P3", json!({"age": 40})),
        Verdict::Undetermined
    );
    // A screening recorded without the stratification fact (a bare design
    // has no criteria, and records written before the record kept facts
    // have none) refuses, naming the fact.
    let mut d = design();
    d.stratify_by = vec!["sex".into()];
    let mut bare = trial_with(d);
    screen(&mut bare, &inv(), "P3");
    consent(&mut bare, "P3");
    assert_eq!(
        refuse(&bare, &inv(), None, randomise("P3")),
        "participant P3 cannot be randomised: the stratification factor `sex` needs the screening fact `sex`, which was not recorded; screen again with it"
    );
    // A man is randomised into the male stratum: the edge gives no strata.
    assert_eq!(
        screen_facts(&mut s, "P4", json!({"age": 40, "sex": "male"})),
        Verdict::Eligible
    );
    consent(&mut s, "P4");
    let e = s.execute(&inv(), at(3), None, &randomise("P4")).unwrap();
    let Payload::Randomised {
        stratum, factors, ..
    } = &e[0].payload
    else {
        panic!("{:?}", e[0].payload)
    };
    assert_eq!(stratum, "sex=male");
    assert_eq!(factors.get("sex").map(String::as_str), Some("male"));
    // A fact of the wrong type is refused, naming it.
    let bad = Command::Screen {
        participant: "P5".into(),
        site: None,
        date: day(),
        facts: BTreeMap::from([("sex".to_string(), json!("robot"))]),
    };
    assert!(refuse(&s, &inv(), None, bad).contains("sex"));
}

#[test]
fn stratum_levels_must_match_the_site_and_be_complete() {
    // The site factor is the participant's own site, never the edge's.
    let mut s = trial();
    screen(&mut s, &inv(), "P1");
    consent(&mut s, "P1");
    let e = s.execute(&inv(), at(3), None, &randomise("P1")).unwrap();
    let Payload::Randomised { stratum, .. } = &e[0].payload else {
        panic!("{:?}", e[0].payload)
    };
    assert_eq!(stratum, "site=rh");
}

#[test]
fn values_enter_once_change_with_reason() {
    let mut s = trial();
    enrol(&mut s, &inv(), "P1");
    assert_eq!(
        refuse(&s, &inv(), Some("typo"), change("P1", "vitals", json!(1))),
        "participant P1 has no value for week12/vitals/x; enter it first (change is for values already entered)"
    );
    s.execute(&inv(), at(6), None, &enter("P1", "vitals", json!(72.5)))
        .unwrap();
    assert_eq!(
        refuse(&s, &inv(), None, enter("P1", "vitals", json!(73))),
        "participant P1 already has a value for week12/vitals/x (72.5); change it with a reason instead"
    );
    assert_eq!(
        refuse(&s, &inv(), None, change("P1", "vitals", json!(73))),
        "a reason is required to change a value"
    );
    assert_eq!(
        refuse(&s, &inv(), Some("  "), change("P1", "vitals", json!(73))),
        "a reason is required to change a value"
    );
    assert_eq!(
        refuse(&s, &inv(), Some("typo"), change("P1", "vitals", json!(72.5))),
        "the new value of week12/vitals/x for participant P1 equals the current one; nothing to change"
    );
    let e = s
        .execute(
            &inv(),
            at(7),
            Some("transcription error"),
            &change("P1", "vitals", json!(73)),
        )
        .unwrap();
    assert_eq!(
        e[0].payload,
        Payload::ValueChanged {
            participant: "P1".into(),
            visit: "week12".into(),
            form: "vitals".into(),
            field: "x".into(),
            old: json!(72.5),
            new: json!(73),
        }
    );
    assert_eq!(e[0].reason.as_deref(), Some("transcription error"));
    assert_eq!(s.participants["P1"].values["week12/vitals/x"], json!(73));
}

#[test]
fn form_rules_narrow_data_entry() {
    let mut s = trial();
    let hiit_arm = {
        let e = enrol(&mut s, &inv(), "P1");
        let Payload::Randomised { arm, .. } = e.payload else {
            panic!()
        };
        arm
    };
    // Outcome assessor: only the forms it enters.
    assert_eq!(
        refuse(&s, &oa(), None, enter("P1", "vitals", json!(1))),
        "form `vitals` is entered by the site (investigator, research_nurse); the outcome_assessor may not write it"
    );
    assert_eq!(
        refuse(&s, &inv(), None, enter("P1", "fss", json!(1))),
        "form `fss` is entered by the outcome_assessor only; the investigator may not write it"
    );
    s.execute(&oa(), at(6), None, &enter("P1", "fss", json!(4.2)))
        .unwrap();
    // Arm-specific form: blinded roles never; unblinded only for that arm.
    assert_eq!(
        refuse(&s, &inv(), None, enter("P1", "hiit_session", json!(1))),
        "form `hiit_session` is arm-specific; in a blinded trial only unblinded roles (intervention_staff, pharmacist) write it"
    );
    let r = s.check(
        &physio(),
        at(6),
        None,
        &enter("P1", "hiit_session", json!(1)),
    );
    if hiit_arm == "hiit" {
        assert!(r.is_ok());
    } else {
        assert_eq!(
            r.unwrap_err().to_string(),
            "form `hiit_session` belongs to arm `hiit`; participant P1 is not allocated to it"
        );
    }
    // Data manager: only the forms whose rule names it (laboratory results).
    s.execute(&dm(), at(7), None, &enter("P1", "ifn", json!(2.5)))
        .unwrap();
    assert_eq!(
        refuse(&s, &dm(), None, enter("P1", "vitals", json!(1))),
        "form `vitals` is entered by the site (investigator, research_nurse); the data_manager may not write it"
    );
    assert_eq!(
        refuse(&s, &inv(), None, enter("P1", "ifn", json!(1))),
        "form `ifn` is entered by the data_manager only; the investigator may not write it"
    );
    assert_eq!(
        refuse(&s, &physio(), None, enter("P1", "vitals", json!(1))),
        "form `vitals` is entered by the site (investigator, research_nurse); the intervention_staff may not write it"
    );
}

#[test]
fn roles_and_sites_are_enforced() {
    let mut s = trial();
    enrol(&mut s, &inv(), "P1");
    assert_eq!(
        refuse(&s, &monitor(), None, randomise("P1")),
        "the role monitor may not randomise (allowed: investigator, research_nurse)"
    );
    assert_eq!(
        refuse(&s, &Actor::new("eve", Role::Investigator, Some("rh")), None, randomise("P1")),
        "user `eve` does not hold the role investigator in this trial; an administrator grants roles"
    );
    // ivy holds site gh only.
    assert_eq!(
        refuse(&s, &inv2(), None, enter("P1", "vitals", json!(1))),
        "user `ivy` (investigator) has no access to site `rh`"
    );
    let screen_rh = Command::Screen {
        participant: "P2".into(),
        site: Some("rh".into()),
        date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        facts: Default::default(),
    };
    assert_eq!(
        refuse(&s, &inv2(), None, screen_rh),
        "user `ivy` (investigator) has no access to site `rh`"
    );
    let screen_xx = Command::Screen {
        participant: "P2".into(),
        site: Some("xx".into()),
        date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        facts: Default::default(),
    };
    assert_eq!(
        refuse(&s, &inv2(), None, screen_xx),
        "site `xx` is not a site of this trial (sites: gh, rh); an administrator adds sites"
    );
    let no_site = Command::Screen {
        participant: "P3".into(),
        site: None,
        date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        facts: Default::default(),
    };
    assert_eq!(
        refuse(
            &s,
            &Actor::new("ivy", Role::Investigator, None),
            None,
            no_site
        ),
        "screening participant P3 needs a site: name one, or act from a site"
    );
    // Revoked roles stop working.
    s.execute(
        &admin(),
        at(9),
        None,
        &Command::RevokeRole {
            user: "ian".into(),
            role: Role::Investigator,
        },
    )
    .unwrap();
    assert!(refuse(&s, &inv(), None, enter("P1", "vitals", json!(1))).contains("does not hold"));
    assert_eq!(
        refuse(
            &s,
            &admin(),
            None,
            Command::RevokeRole {
                user: "ian".into(),
                role: Role::Investigator
            }
        ),
        "user `ian` does not hold the role investigator"
    );
    assert_eq!(
        refuse(
            &s,
            &admin(),
            None,
            Command::GrantRole {
                user: "x".into(),
                role: Role::System,
                sites: Sites::All
            }
        ),
        "the role system is not granted to people"
    );
}

#[test]
fn queries_raise_answer_close() {
    let mut s = trial();
    enrol(&mut s, &inv(), "P1");
    let raise = Command::RaiseQuery {
        participant: "P1".into(),
        item: Some("week12/vitals/x".into()),
        text: "Please confirm".into(),
    };
    assert_eq!(
        refuse(&s, &inv(), None, raise.clone()),
        "the role investigator may not raise a query (allowed: monitor, data_manager)"
    );
    let e = s.execute(&monitor(), at(10), None, &raise).unwrap();
    assert!(matches!(&e[0].payload, Payload::QueryRaised { query, .. } if query == "Q1"));
    assert_eq!(
        refuse(
            &s,
            &monitor(),
            None,
            Command::AnswerQuery {
                query: "Q1".into(),
                text: "ok".into()
            }
        ),
        "the role monitor may not answer a query (allowed: investigator, research_nurse, outcome_assessor, intervention_staff, pharmacist, data_manager)"
    );
    assert_eq!(
        refuse(
            &s,
            &inv2(),
            None,
            Command::AnswerQuery {
                query: "Q1".into(),
                text: "ok".into()
            }
        ),
        "user `ivy` (investigator) has no access to site `rh`"
    );
    assert_eq!(
        refuse(
            &s,
            &inv(),
            None,
            Command::AnswerQuery {
                query: "Q9".into(),
                text: "ok".into()
            }
        ),
        "there is no query Q9"
    );
    s.execute(
        &inv(),
        at(11),
        None,
        &Command::AnswerQuery {
            query: "Q1".into(),
            text: "confirmed".into(),
        },
    )
    .unwrap();
    s.execute(
        &dm(),
        at(12),
        None,
        &Command::CloseQuery { query: "Q1".into() },
    )
    .unwrap();
    assert_eq!(s.queries["Q1"].status, QueryStatus::Closed);
    assert_eq!(
        refuse(
            &s,
            &inv(),
            None,
            Command::AnswerQuery {
                query: "Q1".into(),
                text: "again".into()
            }
        ),
        "query Q1 is closed"
    );
    let bad = Command::RaiseQuery {
        participant: "P1".into(),
        item: Some("vitals".into()),
        text: "?".into(),
    };
    assert_eq!(
        refuse(&s, &monitor(), None, bad),
        "query item `vitals` must be written visit/form/field"
    );
    let hidden = Command::RaiseQuery {
        participant: "P1".into(),
        item: Some("week1/hiit_session/minutes".into()),
        text: "?".into(),
    };
    assert_eq!(
        refuse(&s, &monitor(), None, hidden),
        "item `week1/hiit_session/minutes` is on an arm-specific form, which blinded roles cannot see or query"
    );
}

#[test]
fn values_are_checked_against_the_registered_protocol() {
    // test_protocol.toml: form `lab` at visit `baseline` only; `crp` a
    // number, required, hard [0, 500], soft [0, 100].
    let mut s = trial_with_protocol();
    screen_facts(&mut s, "P1", json!({"age": 40, "sex": "male"}));
    let lab = |visit: &str, field: &str, value: Value| Command::EnterValue {
        participant: "P1".into(),
        visit: visit.into(),
        form: "lab".into(),
        field: field.into(),
        value,
    };
    assert!(refuse(&s, &inv(), None, lab("baseline", "crp", json!(600))).contains("lab.crp"));
    assert!(refuse(&s, &inv(), None, lab("baseline", "crp", json!("high"))).contains("lab.crp"));
    assert_eq!(
        refuse(&s, &inv(), None, lab("baseline", "crp", Value::Null)),
        "lab.crp: a value is required"
    );
    assert!(refuse(&s, &inv(), None, lab("baseline", "pct", json!(1)))
        .contains("not a field of form `lab`"));
    assert_eq!(
        refuse(&s, &inv(), None, lab("week9", "crp", json!(5))),
        "visit `week9` is not in the protocol; expected one of: baseline, week4"
    );
    assert_eq!(
        refuse(&s, &inv(), None, lab("week4", "crp", json!(5))),
        "form `lab` is not collected at visit `week4` (its forms: ); the protocol collects `lab` at: baseline"
    );
    // Accepted, typed as the field is ("150" is the number 150), with the
    // record's soft-range warning for every edge to show.
    let c = lab("baseline", "crp", json!("150"));
    let warnings = s.warnings(std::slice::from_ref(&c));
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].contains("outside the expected range"),
        "{warnings:?}"
    );
    s.execute(&inv(), at(5), None, &c).unwrap();
    assert_eq!(s.participants["P1"].values["baseline/lab/crp"], json!(150));
    assert!(s.warnings(&[lab("baseline", "crp", json!(50))]).is_empty());
}

#[test]
fn re_screening_needs_a_reason_and_keeps_the_earlier_screening() {
    let mut s = trial_with_protocol();
    assert_eq!(
        screen_facts(&mut s, "P1", json!({"age": 40})),
        Verdict::Undetermined
    );
    // A screening that changes an earlier fact is a re-screening.
    let again = Command::Screen {
        participant: "P1".into(),
        site: None,
        date: day(),
        facts: BTreeMap::from([
            ("age".to_string(), json!(41)),
            ("sex".to_string(), json!("female")),
        ]),
    };
    assert_eq!(
        refuse(&s, &inv(), None, again.clone()),
        "participant P1 was screened before; re-screening needs a reason (the earlier screening stays in the record)"
    );
    // One that keeps every earlier fact and adds the missing ones completes
    // the undecided screening: no reason needed (the check passes).
    let complete = Command::Screen {
        participant: "P1".into(),
        site: None,
        date: day(),
        facts: BTreeMap::from([
            ("age".to_string(), json!(40)),
            ("sex".to_string(), json!("female")),
        ]),
    };
    assert!(s.check(&inv(), at(4), None, &complete).is_ok());
    let e = s
        .execute(&inv(), at(4), Some("age corrected"), &again)
        .unwrap();
    assert_eq!(e[0].reason.as_deref(), Some("age corrected"));
    let p = &s.participants["P1"];
    assert_eq!(p.screening.as_ref().unwrap().verdict, Verdict::Eligible);
    assert_eq!(p.earlier_screenings.len(), 1);
    assert_eq!(p.earlier_screenings[0].verdict, Verdict::Undetermined);
}

#[test]
fn a_query_goes_to_the_role_that_enters_the_form() {
    // `fss` is entered by the outcome assessor (design()): a query on it
    // goes to the assessor, who answers it; the investigator may not.
    let mut s = trial();
    enrol(&mut s, &inv(), "P1");
    let raise = |item: &str| Command::RaiseQuery {
        participant: "P1".into(),
        item: Some(item.into()),
        text: "Please check".into(),
    };
    s.execute(&monitor(), at(10), None, &raise("week12/fss/x"))
        .unwrap();
    s.execute(&monitor(), at(10), None, &raise("week12/vitals/x"))
        .unwrap();
    let answer = |q: &str| Command::AnswerQuery {
        query: q.into(),
        text: "checked".into(),
    };
    assert_eq!(
        refuse(&s, &inv(), None, answer("Q1")),
        "query Q1 goes to the outcome_assessor, who enter that form; the investigator may not answer it"
    );
    s.execute(&oa(), at(11), None, &answer("Q1")).unwrap();
    assert!(
        refuse(&s, &oa(), None, answer("Q2")).contains("goes to the investigator, research_nurse")
    );
    s.execute(&inv(), at(11), None, &answer("Q2")).unwrap();
    // The assessor's list shows the query addressed to them.
    let v = s.view("oli");
    let q1 = v.queries.iter().find(|q| q.id == "Q1").unwrap();
    assert_eq!(q1.to, vec![Role::OutcomeAssessor]);
    let q2 = s
        .view("ian")
        .queries
        .iter()
        .find(|q| q.id == "Q2")
        .cloned()
        .unwrap();
    assert_eq!(q2.to, vec![Role::Investigator, Role::ResearchNurse]);
}

#[test]
fn lock_stops_data_writes_until_unlocked_with_a_reason() {
    let mut s = trial();
    enrol(&mut s, &inv(), "P1");
    assert_eq!(
        refuse(&s, &inv(), None, Command::Lock),
        "the role investigator may not lock the database (allowed: data_manager)"
    );
    s.grants
        .get_mut("dan")
        .unwrap()
        .insert(Role::DataManager, Sites::Only(vec!["rh".into()]));
    assert_eq!(
        refuse(&s, &dm(), Some("end of follow-up"), Command::Lock),
        "user `dan` (data_manager) may lock the database only with a grant for all sites"
    );
    s.grants
        .get_mut("dan")
        .unwrap()
        .insert(Role::DataManager, Sites::All);
    let q = Command::RaiseQuery {
        participant: "P1".into(),
        item: None,
        text: "Source document?".into(),
    };
    s.execute(&monitor(), at(19), None, &q).unwrap();
    assert_eq!(
        refuse(&s, &dm(), Some("end of follow-up"), Command::Lock),
        "queries Q1 are not closed; close every query before locking the database"
    );
    s.execute(
        &dm(),
        at(19),
        None,
        &Command::CloseQuery { query: "Q1".into() },
    )
    .unwrap();
    assert_eq!(
        refuse(&s, &dm(), None, Command::Lock),
        "a reason is required to lock the database"
    );
    assert_eq!(
        refuse(&s, &dm(), Some(" \t\n "), Command::Lock),
        "a reason is required to lock the database"
    );
    s.execute(&dm(), at(20), Some("end of follow-up"), &Command::Lock)
        .unwrap();
    assert_eq!(
        refuse(&s, &dm(), Some("end of follow-up"), Command::Lock),
        "the database is already locked"
    );
    assert_eq!(
        refuse(&s, &inv(), None, enter("P1", "vitals", json!(1))),
        "the database is locked; you cannot enter a value until a data manager unlocks it with a reason"
    );
    assert!(refuse(
        &s,
        &inv(),
        None,
        Command::Screen {
            participant: "P2".into(),
            site: None,
            date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            facts: Default::default(),
        }
    )
    .starts_with("the database is locked; you cannot screen"));
    assert_eq!(
        refuse(&s, &dm(), None, Command::Unlock),
        "a reason is required to unlock the database"
    );
    assert_eq!(
        refuse(&s, &dm(), Some("   "), Command::Unlock),
        "a reason is required to unlock the database"
    );
    s.execute(&dm(), at(21), Some("late lab values"), &Command::Unlock)
        .unwrap();
    assert_eq!(
        refuse(&s, &dm(), Some("x"), Command::Unlock),
        "the database is not locked"
    );
    s.execute(&inv(), at(22), None, &enter("P1", "vitals", json!(1)))
        .unwrap();
}

#[test]
fn emergency_unblinding_needs_category_and_randomised_participant() {
    let mut s = trial();
    screen(&mut s, &inv(), "P1");
    let c = Command::EmergencyUnblind {
        participant: "P1".into(),
        category: "serious adverse event".into(),
    };
    assert_eq!(
        refuse(&s, &inv(), None, c.clone()),
        "participant P1 has not been randomised; you cannot unblind in an emergency before randomisation"
    );
    s.execute(
        &inv(),
        at(2),
        None,
        &Command::Consent {
            participant: "P1".into(),
            version: None,
            given_at: None,
            obtained_by: None,
        },
    )
    .unwrap();
    s.execute(&inv(), at(3), None, &randomise("P1")).unwrap();
    assert_eq!(
        refuse(&s, &monitor(), None, c.clone()),
        "the role monitor may not unblind in an emergency (allowed: investigator)"
    );
    // A category outside the protocol's list (here the defaults) is refused.
    assert_eq!(
        refuse(
            &s,
            &inv(),
            None,
            Command::EmergencyUnblind {
                participant: "P1".into(),
                category: "curiosity".into(),
            }
        ),
        "the unblinding category `curiosity` is not one of the protocol's: expected one of \
         serious adverse event, overdose, pregnancy, other medical emergency ([unblinding] categories)"
    );
    // An explanation of "x" is refused, naming the minimum.
    assert_eq!(
        refuse(&s, &inv(), Some("x"), c.clone()),
        "the explanation of the code-break of participant P1 is too short (`x`): write at least \
         10 characters and two words saying why the treatment had to be known"
    );
    // One long word is not an explanation either.
    assert!(refuse(&s, &inv(), Some("anaphylaxis"), c.clone()).contains("two words"));
    // Nothing slower than the category: the explanation may follow.
    s.execute(&inv(), at(4), None, &c).unwrap();
    assert!(s.unblinded.contains(&("ian".to_string(), "P1".to_string())));
    let u = &s.unblindings[0];
    assert_eq!(u.category.as_deref(), Some("serious adverse event"));
    assert!(u.awaits_explanation());
    // Due 24 hours (the default) after the code-break.
    let hours = |h| at(4) + chrono::Duration::hours(h);
    assert_eq!(u.explain_by, hours(24));
    assert!(!u.overdue(hours(24)));
    assert!(u.overdue(hours(25)));
    // The reminder: to the user who broke the code (who and when, no arm).
    let mine = s.view("ian").my_unexplained_unblindings;
    assert_eq!((mine.len(), mine[0].at), (1, at(4)));
    assert!(s.view("mona").my_unexplained_unblindings.is_empty());
    let explain = |text: &str| Command::ExplainUnblinding {
        participant: "P1".into(),
        explanation: text.into(),
    };
    assert!(refuse(&s, &inv(), None, explain("x")).contains("at least 10 characters and two words"));
    s.execute(
        &inv(),
        at(6),
        None,
        &explain("anaphylaxis after the second dose"),
    )
    .unwrap();
    let u = &s.unblindings[0];
    assert_eq!(
        u.reason.as_deref(),
        Some("anaphylaxis after the second dose")
    );
    assert_eq!(u.explained_at, Some(at(6)));
    assert!(!u.overdue(hours(48)));
    assert_eq!(
        refuse(
            &s,
            &inv(),
            None,
            explain("anaphylaxis after the second dose")
        ),
        "user `ian` has no code-break of participant P1 awaiting an explanation"
    );
    assert_eq!(
        refuse(&s, &inv(), None, c),
        "participant P1 is already unblinded to user `ian`"
    );
}

#[test]
fn sessions_need_intervention_staff_and_randomisation() {
    let mut s = trial();
    screen(&mut s, &inv(), "P1");
    let c = Command::RecordSession {
        participant: "P1".into(),
        session: "S1".into(),
        summary: json!({"compliance": 0.92}),
    };
    assert_eq!(
        refuse(&s, &inv(), None, c.clone()),
        "the role investigator may not record a session (allowed: intervention_staff)"
    );
    assert_eq!(
        refuse(&s, &physio(), None, c.clone()),
        "participant P1 has not been randomised; you cannot record a session before randomisation"
    );
    s.execute(
        &inv(),
        at(2),
        None,
        &Command::Consent {
            participant: "P1".into(),
            version: None,
            given_at: None,
            obtained_by: None,
        },
    )
    .unwrap();
    s.execute(&inv(), at(3), None, &randomise("P1")).unwrap();
    s.execute(&physio(), at(4), None, &c).unwrap();
    assert_eq!(s.participants["P1"].sessions.len(), 1);
}

#[test]
fn accounts_and_logins() {
    let mut s = trial();
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
    let create = Command::CreateUser {
        user: "zoe".into(),
        display_name: "Zoe Investigator".into(),
        password_hash: hash.into(),
    };
    assert_eq!(
        refuse(&s, &inv(), None, create.clone()),
        "the role investigator may not create a user (allowed: admin)"
    );
    assert_eq!(
        refuse(&s, &admin(), None, Command::CreateUser { user: "x".into(), display_name: "X".into(), password_hash: "secret".into() }),
        "the password hash must be an argon2 PHC string ($argon2id$...), computed by the server; never store a password itself"
    );
    s.execute(&admin(), at(1), None, &create).unwrap();
    assert_eq!(
        refuse(&s, &admin(), None, create),
        "user `zoe` already exists"
    );
    // A user changes their own password; not someone else's.
    let own = Command::ChangePassword {
        user: "ian".into(),
        password_hash: hash.into(),
    };
    s.execute(&inv(), at(2), None, &own).unwrap();
    assert_eq!(
        refuse(
            &s,
            &inv(),
            None,
            Command::ChangePassword {
                user: "ada".into(),
                password_hash: hash.into()
            }
        ),
        "the role investigator may not change a password (allowed: admin)"
    );
    let system = Actor::new("rct", Role::System, None);
    for _ in 0..3 {
        s.execute(
            &system,
            at(3),
            None,
            &Command::LoginFailed { user: "ian".into() },
        )
        .unwrap();
    }
    assert_eq!(s.users["ian"].failed_logins, 3);
    // Failures alone never lock an account: the administrator does.
    assert!(!s.users["ian"].locked);
    assert_eq!(
        refuse(&s, &system, None, Command::LockUser { user: "ian".into() }),
        "the role system may not lock a user account (allowed: admin)"
    );
    s.execute(
        &admin(),
        at(4),
        Some("3 failed logins"),
        &Command::LockUser { user: "ian".into() },
    )
    .unwrap();
    assert_eq!(
        refuse(&s, &system, None, Command::Login { user: "ian".into() }),
        "user `ian` is locked; an administrator can unlock the account"
    );
    assert_eq!(
        refuse(&s, &inv2(), None, Command::Login { user: "ian".into() }),
        "user `ivy` cannot record a login for user `ian`"
    );
    s.execute(
        &admin(),
        at(5),
        None,
        &Command::UnlockUser { user: "ian".into() },
    )
    .unwrap();
    assert_eq!(
        refuse(
            &s,
            &admin(),
            None,
            Command::UnlockUser { user: "ian".into() }
        ),
        "user `ian` is not locked"
    );
    s.execute(&system, at(6), None, &Command::Login { user: "ian".into() })
        .unwrap();
    assert_eq!(s.users["ian"].failed_logins, 0);
    assert_eq!(s.users["ian"].last_login, Some(at(6)));
    // The hash is never serialised with the state.
    let text = serde_json::to_string(&s).unwrap();
    assert!(!text.contains("argon2"), "{text}");
}

#[test]
fn sites_are_added_once_by_an_admin() {
    let s = trial();
    assert_eq!(
        refuse(
            &s,
            &admin(),
            None,
            Command::AddSite {
                site: "rh".into(),
                name: "R".into()
            }
        ),
        "site `rh` already exists"
    );
    assert_eq!(
        refuse(
            &s,
            &inv(),
            None,
            Command::AddSite {
                site: "zz".into(),
                name: "Z".into()
            }
        ),
        "the role investigator may not add a site (allowed: admin)"
    );
    assert_eq!(s.sites["gh"], "General Hospital");
}

#[test]
fn every_action_has_a_role_and_commands_serialise() {
    for a in Action::ALL {
        assert!(!a.roles().is_empty(), "{a:?}");
    }
    let c = randomise("P1");
    let text = serde_json::to_string(&c).unwrap();
    assert_eq!(text, r#"{"command":"randomise","participant":"P1"}"#);
    assert_eq!(serde_json::from_str::<Command>(&text).unwrap(), c);
}

#[test]
fn check_all_checks_each_command_after_the_earlier_ones() {
    let mut s = trial();
    enrol(&mut s, &inv(), "P1");
    let q = |text: &str| Command::RaiseQuery {
        participant: "P1".into(),
        item: None,
        text: text.into(),
    };
    let drafts = s
        .check_all(&monitor(), at(9), None, &[q("a"), q("b")])
        .unwrap();
    let ids: Vec<&str> = drafts
        .iter()
        .map(|d| match &d.payload {
            Payload::QueryRaised { query, .. } => query.as_str(),
            _ => "",
        })
        .collect();
    assert_eq!(ids, vec!["Q1", "Q2"]);
    assert!(s.queries.is_empty(), "the state itself is unchanged");
    let batch = [
        enter("P1", "vitals", json!(1)),
        change("P1", "vitals", json!(2)),
    ];
    assert_eq!(
        s.check_all(&inv(), at(9), Some("fix"), &batch)
            .unwrap()
            .len(),
        2
    );
    // All or nothing: the second entry over the first is refused.
    let twice = [
        enter("P1", "vitals", json!(1)),
        enter("P1", "vitals", json!(2)),
    ];
    assert!(s
        .check_all(&inv(), at(9), None, &twice)
        .unwrap_err()
        .to_string()
        .contains("already has a value"));
}
