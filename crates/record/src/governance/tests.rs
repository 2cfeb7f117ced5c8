//! Governance rules, each accepted and refused.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::GovernanceError;
use crate::command::tests::{admin, at, dm, enrol, inv, inv2, trial};
use crate::command::{Actor, Command, CommandError};
use crate::event::{Event, Payload, Role, Sites};
use crate::state::TrialState;

const DIGEST1: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const DIGEST2: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

fn stan() -> Actor {
    Actor::new("stan", Role::Statistician, None)
}
fn sue() -> Actor {
    Actor::new("sue", Role::Sponsor, None)
}
fn dee() -> Actor {
    Actor::new("dee", Role::Dmc, None)
}
fn vic() -> Actor {
    Actor::new("vic", Role::Pharmacovigilance, None)
}
fn pam() -> Actor {
    Actor::new("pam", Role::Pharmacist, None)
}

fn grant(s: &mut TrialState, user: &str, role: Role, sites: Sites) {
    crate::command::tests::grant_new(s, user, role, sites);
}

/// The command tests' trial with P1, P2 (rh) and P3 (gh) randomised, and
/// a sponsor, a data monitoring committee member and two pharmacovigilance
/// users.
fn governed() -> (TrialState, Vec<Event>) {
    let mut s = trial();
    grant(&mut s, "sue", Role::Sponsor, Sites::All);
    grant(&mut s, "dee", Role::Dmc, Sites::All);
    grant(&mut s, "vic", Role::Pharmacovigilance, Sites::All);
    grant(&mut s, "val", Role::Pharmacovigilance, Sites::All);
    let mut events = vec![
        enrol(&mut s, &inv(), "P1"),
        enrol(&mut s, &inv(), "P2"),
        enrol(&mut s, &inv2(), "P3"),
    ];
    for c in aes("P1", "week2", true) {
        events.extend(s.execute(&inv(), at(4), None, &c).unwrap());
    }
    (s, events)
}

/// The values of one adverse-event form entry.
fn aes(pid: &str, visit: &str, serious: bool) -> Vec<Command> {
    [("term", json!("rash")), ("serious", json!(serious))]
        .into_iter()
        .map(|(field, value)| Command::EnterValue {
            participant: pid.into(),
            visit: visit.into(),
            form: "adverse_events".into(),
            field: field.into(),
            value,
        })
        .collect()
}

fn run(
    s: &mut TrialState,
    a: &Actor,
    reason: Option<&str>,
    c: Command,
) -> Result<(), CommandError> {
    s.execute(a, at(10), reason, &c).map(|_| ())
}

fn finalise(s: &mut TrialState, version: &str, digest: &str) -> Result<(), CommandError> {
    run(
        s,
        &stan(),
        None,
        Command::FinaliseSap {
            version: version.into(),
            digest: digest.into(),
        },
    )
}

fn gov(e: CommandError) -> GovernanceError {
    match e {
        CommandError::Governance(g) => g,
        other => panic!("expected a governance refusal, got {other}"),
    }
}

fn sees_any_arm(s: &TrialState, user: &str) -> bool {
    let v = s.view(user);
    v.arms.is_some() || v.participants.iter().any(|p| p.allocation.is_some())
}

#[test]
fn the_lock_alone_unblinds_nobody() {
    let (mut s, _) = governed();
    finalise(&mut s, "1.0", DIGEST1).unwrap();
    run(&mut s, &dm(), Some("end of follow-up"), Command::Lock).unwrap();
    assert!(s.locked);
    for user in ["stan", "sue", "dee", "vic", "nina", "dan", "mo"] {
        assert!(!sees_any_arm(&s, user), "{user} sees an arm after the lock");
    }
    assert!(s.view("stan").randomisation.seed.is_none());
}

#[test]
fn unblinding_needs_a_final_plan_and_the_lock() {
    let (mut s, _) = governed();
    let e = run(&mut s, &stan(), None, Command::RequestUnblinding).unwrap_err();
    assert_eq!(gov(e), GovernanceError::NoFinalSap);
    finalise(&mut s, "1.0", DIGEST1).unwrap();
    let e = run(&mut s, &stan(), None, Command::RequestUnblinding).unwrap_err();
    assert_eq!(gov(e), GovernanceError::NotLocked);
    run(&mut s, &dm(), Some("end of follow-up"), Command::Lock).unwrap();
    // Without a final plan even after the lock (a fresh trial).
    let (mut t, _) = governed();
    run(&mut t, &dm(), Some("end of follow-up"), Command::Lock).unwrap();
    let e = run(&mut t, &sue(), None, Command::RequestUnblinding).unwrap_err();
    assert_eq!(gov(e), GovernanceError::NoFinalSap);
    assert!(e_msg(&mut t).contains("analysis plan"));
    // Who may: the sponsor and the statistician, no one else.
    for a in [inv(), dm(), dee(), vic(), admin()] {
        let e = run(&mut s, &a, None, Command::RequestUnblinding).unwrap_err();
        assert!(
            matches!(e, CommandError::NotPermitted { .. }),
            "{}: {e}",
            a.role
        );
    }
    run(&mut s, &stan(), None, Command::RequestUnblinding).unwrap();
    assert!(!s.trial_unblinded());
}

fn e_msg(s: &mut TrialState) -> String {
    run(s, &sue(), None, Command::RequestUnblinding)
        .unwrap_err()
        .to_string()
}

#[test]
fn one_person_cannot_authorise_both_steps() {
    let (mut s, _) = governed();
    // sam holds both roles; sid is a second sponsor.
    grant(&mut s, "sam", Role::Sponsor, Sites::All);
    grant(&mut s, "sam", Role::Statistician, Sites::All);
    grant(&mut s, "sid", Role::Sponsor, Sites::All);
    finalise(&mut s, "1.0", DIGEST1).unwrap();
    run(&mut s, &dm(), Some("end of follow-up"), Command::Lock).unwrap();
    let e = run(&mut s, &stan(), None, Command::ApproveUnblinding).unwrap_err();
    assert_eq!(gov(e), GovernanceError::NoRequest);
    run(
        &mut s,
        &Actor::new("sam", Role::Sponsor, None),
        Some("end of study"),
        Command::RequestUnblinding,
    )
    .unwrap();
    // A second request waits for the first's approval.
    let e = run(&mut s, &sue(), None, Command::RequestUnblinding).unwrap_err();
    assert!(matches!(gov(e), GovernanceError::RequestPending { .. }));
    // The same person in the other role: refused.
    let e = run(
        &mut s,
        &Actor::new("sam", Role::Statistician, None),
        None,
        Command::ApproveUnblinding,
    )
    .unwrap_err();
    assert_eq!(gov(e), GovernanceError::SamePerson { user: "sam".into() });
    // Another person in the same role: refused.
    let e = run(
        &mut s,
        &Actor::new("sid", Role::Sponsor, None),
        None,
        Command::ApproveUnblinding,
    )
    .unwrap_err();
    assert_eq!(
        gov(e),
        GovernanceError::SameRole {
            role: Role::Sponsor
        }
    );
    assert!(!s.trial_unblinded());
    assert!(!sees_any_arm(&s, "stan"));
    // Another person in another role: the trial is unblinded.
    run(&mut s, &stan(), None, Command::ApproveUnblinding).unwrap();
    assert!(s.trial_unblinded());
    let v = s.view("stan");
    assert!(v.arms.is_some());
    assert!(v.participants.iter().all(|p| p.allocation.is_some()));
    assert_eq!(v.randomisation.seed, Some(20260301.into()));
    // The statistician role only (sam holds it too): the sponsor and the
    // site stay blind.
    assert!(sees_any_arm(&s, "sam"));
    for user in ["sue", "sid", "nina", "ian", "dee", "vic", "mo"] {
        assert!(!sees_any_arm(&s, user), "{user}");
    }
    let e = run(&mut s, &sue(), None, Command::RequestUnblinding).unwrap_err();
    assert!(matches!(gov(e), GovernanceError::AlreadyUnblinded { .. }));
    let u = s.governance.unblinding.as_ref().unwrap();
    assert_eq!(
        (u.requested.user.as_str(), u.approved.user.as_str()),
        ("sam", "stan")
    );
    assert_eq!(u.requested.reason.as_deref(), Some("end of study"));
}

#[test]
fn the_plan_may_not_change_between_request_and_approval() {
    let (mut s, _) = governed();
    finalise(&mut s, "1.0", DIGEST1).unwrap();
    run(&mut s, &dm(), Some("end of follow-up"), Command::Lock).unwrap();
    run(&mut s, &sue(), None, Command::RequestUnblinding).unwrap();
    finalise(&mut s, "1.1", DIGEST2).unwrap();
    let e = run(&mut s, &stan(), None, Command::ApproveUnblinding).unwrap_err();
    assert_eq!(
        gov(e),
        GovernanceError::SapChanged {
            requested: "1.0".into(),
            current: "1.1".into()
        }
    );
    assert!(s.governance_flags().is_empty());
}

#[test]
fn plan_versions_are_checked_and_a_plan_after_unblinding_is_flagged() {
    let (mut s, _) = governed();
    let bad = |s: &mut TrialState, v: &str, d: &str| gov(finalise(s, v, d).unwrap_err());
    assert!(matches!(
        bad(&mut s, "", DIGEST1),
        GovernanceError::BadVersion { .. }
    ));
    assert!(matches!(
        bad(&mut s, "1 <b>", DIGEST1),
        GovernanceError::BadVersion { .. }
    ));
    assert!(matches!(
        bad(&mut s, &"9".repeat(65), DIGEST1),
        GovernanceError::BadVersion { .. }
    ));
    assert!(matches!(
        bad(&mut s, "1.0", "abc"),
        GovernanceError::BadDigest { .. }
    ));
    assert!(matches!(
        bad(&mut s, "1.0", &DIGEST1.to_uppercase()),
        GovernanceError::BadDigest { .. }
    ));
    let e = run(
        &mut s,
        &sue(),
        None,
        Command::FinaliseSap {
            version: "1.0".into(),
            digest: DIGEST1.into(),
        },
    )
    .unwrap_err();
    assert!(matches!(e, CommandError::NotPermitted { .. }), "{e}");
    finalise(&mut s, "1.0", DIGEST1).unwrap();
    assert_eq!(
        bad(&mut s, "1.0", DIGEST1),
        GovernanceError::SapRecorded {
            version: "1.0".into()
        }
    );
    assert!(matches!(
        bad(&mut s, "1.0", DIGEST2),
        GovernanceError::SapVersionReused { .. }
    ));
    run(&mut s, &dm(), Some("end of follow-up"), Command::Lock).unwrap();
    run(&mut s, &sue(), None, Command::RequestUnblinding).unwrap();
    run(&mut s, &stan(), None, Command::ApproveUnblinding).unwrap();
    assert!(s.governance_flags().is_empty());
    // A new version after the unblinding is recorded, and flagged.
    finalise(&mut s, "2.0", DIGEST2).unwrap();
    let flags = s.governance_flags();
    assert_eq!(flags.len(), 1);
    assert!(flags[0].starts_with("analysis plan changed after unblinding: version 2.0"));
    assert!(flags[0].contains(DIGEST2));
    let v = s.governance_view("nina").unwrap();
    assert_eq!(v.flags, flags);
    assert_eq!(v.saps.len(), 2);
    assert!(v.saps[1].after_unblinding && !v.saps[0].after_unblinding);
    assert!(s.governance_view("nobody").is_none());
}

/// Reference: the allocations the record holds, counted by hand in the
/// test (one AE entry for P1, serious; one for P3 by its own site).
#[test]
fn the_committee_sees_safety_counts_by_arm_and_no_one_else_does() {
    let (mut s, _) = governed();
    for c in aes("P3", "week4", false) {
        s.execute(&inv2(), at(5), None, &c).unwrap();
    }
    s.execute(
        &inv(),
        at(6),
        Some("moved away"),
        &Command::Withdraw {
            participant: "P2".into(),
        },
    )
    .unwrap();
    let arm = |id: &str| s.participants[id].allocation.as_ref().unwrap().arm.clone();
    let mut expected: BTreeMap<String, [u64; 6]> = BTreeMap::new();
    for a in ["hiit", "usual"] {
        expected.insert(a.into(), [0; 6]);
    }
    for (pid, withdrawn, entries, serious) in [("P1", 0, 1, 1), ("P2", 1, 0, 0), ("P3", 0, 1, 0)] {
        let e = expected.get_mut(&arm(pid)).unwrap();
        e[0] += 1;
        e[1] += withdrawn;
        e[2] += u64::from(entries > 0);
        e[3] += entries;
        e[4] += serious;
        e[5] += u64::from(serious > 0);
    }
    let v = s.safety_view("dee").unwrap();
    assert_eq!(v.forms, vec!["adverse_events".to_string()]);
    let got: BTreeMap<String, [u64; 6]> = v
        .arms
        .iter()
        .map(|a| {
            (
                a.arm.clone(),
                [
                    a.randomised,
                    a.withdrawn,
                    a.with_adverse_event,
                    a.adverse_event_entries,
                    a.serious_entries,
                    a.with_serious_event,
                ],
            )
        })
        .collect();
    assert_eq!(got, expected);
    // Nobody else, unblinded roles included.
    let seq = s.seq;
    for user in s.grants.keys().filter(|u| *u != "dee") {
        assert!(s.safety_view(user).is_none(), "{user}");
    }
    // Looking writes nothing, and the committee's own view stays blind.
    assert_eq!(s.seq, seq);
    assert!(!sees_any_arm(&s, "dee"));
}

fn audit(s: &TrialState, events: &[Event], user: &str) -> Vec<Value> {
    events
        .iter()
        .filter_map(|e| s.view_event(e, user))
        .collect()
}

fn without_count(mut v: crate::view::TrialView) -> crate::view::TrialView {
    v.events = 0;
    v
}

#[test]
fn a_pharmacovigilance_code_break_reveals_nothing_to_the_site() {
    let (mut s, mut events) = governed();
    let before: Vec<_> = ["ian", "nina", "oli", "ivy"]
        .iter()
        .map(|u| (without_count(s.view(u)), audit(&s, &events, u)))
        .collect();
    let c = Command::SafetyCodeBreak {
        participant: "P1".into(),
    };
    let e = s.check(&vic(), at(20), None, &c).unwrap_err();
    assert_eq!(
        e,
        CommandError::ReasonRequired {
            action: crate::Action::SafetyCodeBreak
        }
    );
    for a in [inv(), stan(), sue(), dee(), pam(), admin()] {
        assert!(matches!(
            s.check(&a, at(20), Some("SUSAR"), &c),
            Err(CommandError::NotPermitted { .. })
        ));
    }
    let new = s
        .execute(&vic(), at(20), Some("SUSAR: hepatitis in P1"), &c)
        .unwrap();
    assert_eq!(new[0].site, None);
    events.extend(new);
    // The site: identical views and audit trail (the event is hidden).
    for (user, (view, trail)) in ["ian", "nina", "oli", "ivy"].iter().zip(&before) {
        assert_eq!(&without_count(s.view(user)), view, "{user}");
        assert_eq!(&audit(&s, &events, user), trail, "{user}");
    }
    // vic sees P1's arm, and only P1's.
    let v = s.view("vic");
    let seen: Vec<&str> = v
        .participants
        .iter()
        .filter(|p| p.allocation.is_some())
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(seen, vec!["P1"]);
    assert!(v.arms.is_none());
    let mine = s.view_event(events.last().unwrap(), "vic").unwrap();
    assert_eq!(mine["payload"]["participant"], "P1");
    // Overseers and the other pharmacovigilance user: the event without
    // participant, reason, site or hash; nobody else at all.
    for user in ["ada", "mo", "dan", "val"] {
        let entry = s.view_event(events.last().unwrap(), user).unwrap();
        let text = entry.to_string();
        assert!(!text.contains("P1"), "{user}: {text}");
        assert!(entry.get("hash").is_none(), "{user}");
        assert!(!sees_any_arm(&s, user));
        assert!(s
            .view(user)
            .unblindings
            .as_ref()
            .is_none_or(|u| u.is_empty()));
    }
    for user in ["stan", "sue", "dee", "pam", "phil"] {
        assert!(
            s.view_event(events.last().unwrap(), user).is_none(),
            "{user}"
        );
    }
    // The next event does not carry the hidden event's hash either.
    let later = s
        .execute(&dm(), at(22), Some("end of follow-up"), &Command::Lock)
        .unwrap();
    for user in ["ada", "ian", "mo"] {
        let entry = s.view_event(&later[0], user).unwrap();
        assert!(entry.get("prev_hash").is_none(), "{user}");
    }
    assert!(s
        .view_event(&later[0], "vic")
        .unwrap()
        .get("prev_hash")
        .is_some());
}

#[test]
fn the_sealed_list_is_the_pharmacists_and_its_production_is_recorded() {
    let (mut s, _) = governed();
    for a in [inv(), stan(), sue(), dee(), vic(), admin(), dm()] {
        let e = s
            .check(&a, at(30), None, &Command::ProduceCodeBreakList)
            .unwrap_err();
        assert!(
            matches!(e, CommandError::NotPermitted { .. }),
            "{}: {e}",
            a.role
        );
        assert!(s.code_break_list(&a.user).is_none(), "{}", a.role);
    }
    // Intervention staff see arms, yet the list is the pharmacist's.
    let phil = Actor::new("phil", Role::InterventionStaff, None);
    assert!(s
        .check(&phil, at(30), None, &Command::ProduceCodeBreakList)
        .is_err());
    let e = s
        .execute(&pam(), at(30), None, &Command::ProduceCodeBreakList)
        .unwrap();
    assert_eq!(e[0].payload, Payload::CodeBreakListProduced { entries: 3 });
    let body = e[0].canonical_body();
    assert!(!body.contains("hiit") && !body.contains("usual"), "{body}");
    let list = s.code_break_list("pam").unwrap();
    let ids: Vec<&str> = list.iter().map(|x| x.participant.as_str()).collect();
    assert_eq!(ids, vec!["P1", "P2", "P3"]);
    for x in &list {
        assert_eq!(
            x.arm,
            s.participants[&x.participant]
                .allocation
                .as_ref()
                .unwrap()
                .arm
        );
    }
    let r = &s.governance.code_break_lists[0];
    assert_eq!((r.by.as_str(), r.entries), ("pam", 3));
    // Everyone with a role reads that it was produced (no arm in it).
    let entry = s.view_event(&e[0], "nina").unwrap();
    assert_eq!(entry["payload"]["entries"], 3);
}

/// The statistician's list recipe (seed, design, arms, strata used) exists
/// only once the trial is unblinded, for the statistician only; with it
/// the lists regenerate the recorded allocations.
#[test]
fn the_list_recipe_waits_for_the_trial_unblinding() {
    let (mut s, _) = governed();
    assert_eq!(s.list_recipe(Role::Statistician), None);
    finalise(&mut s, "1.0", DIGEST1).unwrap();
    run(&mut s, &dm(), Some("end of follow-up"), Command::Lock).unwrap();
    assert_eq!(s.list_recipe(Role::Statistician), None, "after the lock");
    run(&mut s, &sue(), None, Command::RequestUnblinding).unwrap();
    assert_eq!(s.list_recipe(Role::Statistician), None, "after one request");
    run(&mut s, &stan(), None, Command::ApproveUnblinding).unwrap();
    assert!(s.trial_unblinded());
    for role in Role::ALL.into_iter().filter(|r| *r != Role::Statistician) {
        assert_eq!(s.list_recipe(role), None, "{role}");
    }
    let r = s.list_recipe(Role::Statistician).unwrap();
    let config = s.config.clone().unwrap();
    assert_eq!(r.seed, config.seed);
    assert_eq!(r.design, config.design);
    assert_eq!(r.arms, config.arms);
    // Every allocation is its stratum's list row at its position.
    let design = crate::TrialDesign::from_value(&r.design).unwrap();
    for p in s.participants.values() {
        let Some(a) = &p.allocation else { continue };
        let used = r.strata.iter().find(|u| u.stratum == a.stratum).unwrap();
        assert!(a.position <= used.positions);
        let list = rct_random::generate_list(&rct_random::ListRequest {
            design: design.design_spec().unwrap(),
            arms: design.weighted_arms(&r.arms).unwrap(),
            seed: r.seed,
            stratum: a.stratum.clone(),
            n: used.positions as u32,
            kits: design.kits,
        })
        .unwrap();
        assert_eq!(list.rows[a.position as usize - 1].arm, a.arm, "{}", p.id);
    }
}
