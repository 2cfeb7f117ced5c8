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
