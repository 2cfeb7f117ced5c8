//! Withdrawal of consent (no more data) against stopping the intervention
//! early (follow-up continues; intention to treat keeps the data), and what
//! blinded staff may learn of a stop.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;

use super::tests::{at, design, enrol, inv, oa, physio, trial, trial_with};
use super::Command;
use crate::event::Payload;
use crate::state::TrialState;

fn stop(id: &str) -> Command {
    Command::StopIntervention {
        participant: id.into(),
    }
}

fn session(id: &str, n: &str) -> Command {
    Command::RecordSession {
        participant: id.into(),
        session: n.into(),
        summary: json!({"compliance": 0.9}),
    }
}

fn fss(id: &str, visit: &str, value: i64) -> Command {
    Command::EnterValue {
        participant: id.into(),
        visit: visit.into(),
        form: "fss".into(),
        field: "total".into(),
        value: json!(value),
    }
}

#[test]
fn a_stopped_intervention_keeps_follow_up_and_refuses_sessions() {
    let mut s = trial();
    enrol(&mut s, &inv(), "P1");
    // A reason is required, as for a withdrawal.
    let err = s.check(&physio(), at(10), None, &stop("P1")).unwrap_err();
    assert!(err.to_string().contains("reason"), "{err}");
    let e = s
        .execute(&physio(), at(10), Some("recurrent knee pain"), &stop("P1"))
        .unwrap();
    assert!(matches!(e[0].payload, Payload::InterventionStopped { .. }));
    assert_eq!(
        s.participants["P1"].intervention_stopped,
        Some((at(10), Some("recurrent knee pain".into())))
    );
    // Follow-up continues: the assessor's outcome is still taken.
    s.execute(&oa(), at(11), None, &fss("P1", "week12", 40))
        .unwrap();
    // No more intervention sessions; stopping twice is refused.
    let err = s
        .check(&physio(), at(12), None, &session("P1", "S1"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "participant P1's intervention stopped on 2026-03-01 09:10:00 UTC: cannot record a session (follow-up data are still taken)"
    );
    assert!(s
        .check(&physio(), at(12), Some("again"), &stop("P1"))
        .is_err());
}

/// The test protocol with a week-12 visit collecting the lab form.
fn trial_with_week12() -> TrialState {
    let mut d = design();
    d.protocol = Some(format!(
        "{}\n[[visits]]\nid = \"week12\"\nlabel = \"Week 12\"\nday = 84\nwindow = [80, 90]\nforms = [\"lab\"]\n",
        super::tests::TEST_PROTOCOL
    ));
    d.stratify_by = vec!["sex".into()];
    trial_with(d)
}

fn crp(visit: &str, value: f64) -> Command {
    Command::EnterValue {
        participant: "P1".into(),
        visit: visit.into(),
        form: "lab".into(),
        field: "crp".into(),
        value: json!(value),
    }
}

#[test]
fn withdrawal_of_consent_ends_new_data_but_keeps_late_entry_and_corrections() {
    let mut s = trial_with_week12();
    enrol_female(&mut s);
    // Withdrawn on the day of randomisation.
    s.execute(
        &inv(),
        at(13),
        Some("moved abroad"),
        &Command::Withdraw {
            participant: "P1".into(),
        },
    )
    .unwrap();
    // The baseline visit (day 0) could have been done before: entered late, taken.
    s.execute(&inv(), at(14), None, &crp("baseline", 4.0))
        .unwrap();
    // A correction of a recorded value is still taken.
    s.execute(
        &inv(),
        at(15),
        Some("transcription"),
        &Command::ChangeValue {
            participant: "P1".into(),
            visit: "baseline".into(),
            form: "lab".into(),
            field: "crp".into(),
            value: json!(5.0),
        },
    )
    .unwrap();
    // Week 12 opens on day 80, after the withdrawal: no new data.
    let err = s
        .check(&inv(), at(16), None, &crp("week12", 3.0))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "participant P1 was withdrawn on 2026-03-01 09:13:00 UTC; a withdrawn participant cannot enter a value"
    );
}

#[test]
fn only_a_randomised_participant_stops_an_intervention() {
    let mut s = trial();
    super::tests::screen(&mut s, &inv(), "P2");
    let err = s
        .check(&inv(), at(5), Some("why"), &stop("P2"))
        .unwrap_err();
    assert!(
        err.to_string().contains("not randomised") || err.to_string().contains("randomise"),
        "{err}"
    );
    // The assessor may not stop an intervention.
    enrol(&mut s, &inv(), "P1");
    let err = s.check(&oa(), at(6), Some("why"), &stop("P1")).unwrap_err();
    assert!(err.to_string().contains("may not stop"), "{err}");
}

/// A blinded trial without kits (LUPEX): only the exercise arm has an
/// intervention to stop, so the stop is sealed whole and blinded roles do
/// not see it; with kits for every arm (IL-2) it is open to all.
#[test]
fn a_stop_is_concealed_only_where_it_reveals_the_arm() {
    fn stopped(mut s: TrialState) -> (TrialState, crate::event::Event) {
        enrol(&mut s, &inv(), "P1");
        let e = s
            .execute(&physio(), at(10), Some("injury"), &stop("P1"))
            .unwrap()
            .remove(0);
        (s, e)
    }
    let (s, e) = stopped(trial());
    assert!(e.is_sealed_whole(), "no kits: sealed whole");
    // The assessor (blinded) sees neither the stop nor its reason.
    let view = s.view("oli");
    let p = view.participants.iter().find(|p| p.id == "P1").unwrap();
    assert!(p.intervention_stopped.is_none());
    let entry = s.view_event(&e, "oli").unwrap().to_string();
    assert!(
        !entry.contains("injury") && !entry.contains("intervention_stopped"),
        "{entry}"
    );
    // The physiologist (unblinded) sees it.
    let view = s.view("phil");
    let p = view.participants.iter().find(|p| p.id == "P1").unwrap();
    assert_eq!(
        p.intervention_stopped.as_ref().unwrap().reason.as_deref(),
        Some("injury")
    );

    let mut kits = design();
    kits.kits = true;
    let (s, e) = stopped(trial_with(kits));
    assert!(!e.is_sealed_whole(), "kits for every arm: open");
    let view = s.view("oli");
    let p = view.participants.iter().find(|p| p.id == "P1").unwrap();
    assert!(p.intervention_stopped.is_some());
}

/// The record reads the protocol's `[[roles]] sees_arms` and masking: the
/// care provider of a trial that masks it (IL-2's double-blind) does not
/// see arms although the record's default lets intervention staff see
/// them; the pharmacist, declared `sees_arms = true`, does.
#[test]
fn roles_see_arms_as_the_protocol_declares() {
    let mut d = design();
    d.forms.retain(|f| f.arm.is_none());
    d.protocol = Some(
        super::tests::TEST_PROTOCOL.replace(
            "blinded = [\"investigator\", \"outcome-assessor\"]",
            "blinded = [\"investigator\", \"outcome-assessor\", \"care-provider\"]\n\n[[roles]]\nid = \"pharmacist\"\nsees_arms = true",
        ),
    );
    d.stratify_by = vec!["sex".into()];
    let mut s = trial_with(d);
    super::tests::grant_new(&mut s, "pam", crate::Role::Pharmacist, crate::Sites::All);
    enrol_female(&mut s);
    // phil holds intervention_staff: masked as the care provider.
    assert!(!s.sees_arms("phil"));
    assert!(s.view("phil").participants[0].allocation.is_none());
    assert!(s.sees_arms("pam"));
    assert!(s.view("pam").participants[0].allocation.is_some());
    // Without the masking of the care provider, the default holds.
    assert!(trial().sees_arms("phil"));
}

/// Screens P1 (a woman of 40) on a protocol trial, records consent and
/// randomises her.
fn enrol_female(s: &mut TrialState) {
    super::tests::screen_facts(s, "P1", json!({"age": 40, "sex": "female"}));
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
    s.execute(
        &inv(),
        at(3),
        None,
        &Command::Randomise {
            participant: "P1".into(),
        },
    )
    .unwrap();
}
