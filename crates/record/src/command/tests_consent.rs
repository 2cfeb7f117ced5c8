//! Consent as trials run it: the date and time, the consent form version
//! and who obtained it; randomisation needs consent on the current version.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;

use super::tests::{at, design, inv, screen_facts, trial_with, TEST_PROTOCOL};
use super::Command;
use crate::event::{Payload, Verdict};
use crate::state::TrialState;

/// The test protocol with consent form versions 1.0 (older) and 2.0.
fn trial_with_versions() -> TrialState {
    let mut d = design();
    d.protocol = Some(format!(
        "{TEST_PROTOCOL}\n[consent]\nversions = [\"1.0\", \"2.0\"]\n"
    ));
    d.stratify_by = vec!["sex".into()];
    trial_with(d)
}

fn consent(version: Option<&str>, given_at: Option<u32>, by: Option<&str>) -> Command {
    Command::Consent {
        participant: "P1".into(),
        version: version.map(str::to_string),
        given_at: given_at.map(at),
        obtained_by: by.map(str::to_string),
    }
}

fn refuse(s: &TrialState, c: &Command) -> String {
    s.check(&inv(), at(5), None, c).unwrap_err().to_string()
}

#[test]
fn randomisation_needs_consent_on_the_current_version() {
    let mut s = trial_with_versions();
    assert_eq!(
        screen_facts(&mut s, "P1", json!({"age": 40, "sex": "female"})),
        Verdict::Eligible
    );
    let randomise = Command::Randomise {
        participant: "P1".into(),
    };
    // A version the protocol does not declare is refused.
    assert_eq!(
        refuse(&s, &consent(Some("3.0"), None, None)),
        "consent form version `3.0` is not one of the protocol's: expected one of 1.0, 2.0 ([consent] versions)"
    );
    // Consent dated after it is recorded is refused.
    assert!(
        refuse(&s, &consent(Some("2.0"), Some(9), None)).contains("after the time it is recorded")
    );
    // Consent on the older version: recorded with date, version and who
    // obtained it, but randomisation is refused.
    let e = s
        .execute(
            &inv(),
            at(3),
            None,
            &consent(Some("1.0"), Some(2), Some("nurse nora")),
        )
        .unwrap();
    match &e[0].payload {
        Payload::Consented {
            version,
            given_at,
            obtained_by,
            ..
        } => {
            assert_eq!(version.as_deref(), Some("1.0"));
            assert_eq!(*given_at, Some(at(2)));
            assert_eq!(obtained_by.as_deref(), Some("nurse nora"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.participants["P1"].consented, Some(at(2)));
    assert_eq!(
        refuse(&s, &randomise),
        "participant P1 consented on form version 1.0, not the current version 2.0: record consent on version 2.0 before randomising"
    );
    // The same version again is refused; the current one (the default) is
    // taken, by the acting user when nobody else is named.
    assert!(refuse(&s, &consent(Some("1.0"), None, None))
        .contains("recorded once per consent form version"));
    let e = s
        .execute(&inv(), at(4), None, &consent(None, None, None))
        .unwrap();
    let Payload::Consented {
        version,
        obtained_by,
        given_at,
        ..
    } = &e[0].payload
    else {
        panic!()
    };
    assert_eq!(
        (version.as_deref(), obtained_by.as_deref(), *given_at),
        (Some("2.0"), Some(inv().user.as_str()), Some(at(4)))
    );
    s.execute(&inv(), at(5), None, &randomise).unwrap();
}

#[test]
fn consent_events_written_before_versions_still_fold() {
    // An old consent event: no version, date or person; it folds as the
    // first version, given at the event's time.
    let old: Payload =
        serde_json::from_value(json!({"type": "consented", "participant": "P1"})).unwrap();
    let Payload::Consented { version, .. } = &old else {
        panic!()
    };
    assert!(version.is_none());
    // And it encodes as before (no new keys), so stored hashes still hold.
    assert_eq!(
        serde_json::to_value(&old).unwrap(),
        json!({"type": "consented", "participant": "P1"})
    );
}

/// The test protocol with a fact from a trial-specific procedure (a
/// screening exercise test) that an exclusion reads.
fn trial_with_trial_specific_fact() -> TrialState {
    let mut d = design();
    d.protocol = Some(format!(
        "{TEST_PROTOCOL}\n[[facts]]\nid = \"exercise_test_abnormal\"\nlabel = \"Screening exercise test abnormal\"\ntype = \"boolean\"\ntrial_specific = true\n\n[[criteria]]\nid = \"E9\"\nkind = \"exclusion\"\ntext = \"Abnormal screening exercise test\"\nrule = \"exercise_test_abnormal\"\n"
    ));
    d.stratify_by = vec!["sex".into()];
    trial_with(d)
}

fn screen(facts: serde_json::Value) -> Command {
    Command::Screen {
        participant: "P1".into(),
        site: None,
        date: super::tests::day(),
        facts: serde_json::from_value(facts).unwrap(),
    }
}

#[test]
fn a_trial_specific_fact_is_refused_before_consent_and_taken_after() {
    let mut s = trial_with_trial_specific_fact();
    // Before consent, from any edge (they all send this command): refused,
    // naming the fact; nothing is recorded.
    assert_eq!(
        refuse(
            &s,
            &screen(json!({"age": 40, "sex": "female", "exercise_test_abnormal": false}))
        ),
        "participant P1 has not consented: exercise_test_abnormal come from trial-specific procedures ([[facts]] trial_specific), which need informed consent first (ICH E6 4.8.8); record the consent, or screen now with facts from existing records only"
    );
    // Pre-screening from existing records needs no consent: incomplete.
    assert_eq!(
        screen_facts(&mut s, "P1", json!({"age": 40, "sex": "female"})),
        Verdict::Undetermined
    );
    s.execute(&inv(), at(2), None, &consent(None, None, None))
        .unwrap();
    // After consent the screening is completed, without a re-screening
    // reason (the pre-screening was undecided), and is eligible.
    let e = s
        .execute(
            &inv(),
            at(3),
            None,
            &screen(json!({"age": 40, "sex": "female", "exercise_test_abnormal": false})),
        )
        .unwrap();
    assert!(matches!(
        e[0].payload,
        Payload::Screened {
            verdict: Verdict::Eligible,
            ..
        }
    ));
    // Both screenings are kept: the pre-screening is in the history.
    assert_eq!(s.participants["P1"].earlier_screenings.len(), 1);
    // A decided screening again is a re-screening: it needs a reason.
    assert!(refuse(
        &s,
        &screen(json!({"age": 41, "sex": "female", "exercise_test_abnormal": true}))
    )
    .contains("re-screening needs a reason"));
}

#[test]
fn the_flow_counts_consort_exclusions_with_reasons() {
    let mut s = super::tests::trial_with_protocol();
    let female = |age: i64| json!({"age": age, "sex": "female"});
    for (id, age) in [("P1", 40), ("P2", 10), ("P3", 50), ("P4", 60)] {
        screen_facts(&mut s, id, female(age));
    }
    screen_facts(&mut s, "P5", json!({"sex": "female"}));
    let run = |s: &mut TrialState, c: Command, reason: Option<&str>| {
        s.execute(&inv(), at(3), reason, &c).unwrap();
    };
    let consent_of = |id: &str| Command::Consent {
        participant: id.into(),
        version: None,
        given_at: None,
        obtained_by: None,
    };
    // P1 declines; declining again after a consent is refused.
    run(
        &mut s,
        Command::DeclineConsent {
            participant: "P1".into(),
        },
        None,
    );
    // P3 consents, then withdraws before randomisation.
    run(&mut s, consent_of("P3"), None);
    assert!(s
        .check(
            &inv(),
            at(4),
            None,
            &Command::DeclineConsent {
                participant: "P3".into()
            }
        )
        .unwrap_err()
        .to_string()
        .contains("consented"));
    run(
        &mut s,
        Command::Withdraw {
            participant: "P3".into(),
        },
        Some("moved away"),
    );
    // P4 is randomised.
    run(&mut s, consent_of("P4"), None);
    run(
        &mut s,
        Command::Randomise {
            participant: "P4".into(),
        },
        None,
    );
    let f = s.view("ian").flow;
    assert_eq!(f.screened, 5);
    assert_eq!(f.randomised, 1);
    assert_eq!(
        (
            f.excluded_ineligible,
            f.excluded_declined,
            f.excluded_other,
            f.in_screening
        ),
        (1, 1, 1, 1),
        "P2 ineligible, P1 declined, P3 withdrew, P5 incomplete: {f:?}"
    );
    // Every screened person is randomised, excluded, or still in screening.
    assert_eq!(
        f.randomised
            + f.excluded_ineligible
            + f.excluded_declined
            + f.excluded_other
            + f.in_screening,
        f.screened
    );
    // A person who declined may change their mind: the consent is taken and
    // they leave the exclusions.
    run(&mut s, consent_of("P1"), None);
    let f = s.view("ian").flow;
    assert_eq!((f.excluded_declined, f.in_screening), (0, 2));
}
