//! Source data verification by the monitor and the investigator's casebook
//! signature: who may, what each needs, and a later change undoing them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;

use super::tests::{at, enrol, inv, monitor, oa, trial};
use super::Command;
use crate::event::Payload;

fn value(form: &str, v: f64) -> Command {
    Command::EnterValue {
        participant: "P1".into(),
        visit: "week12".into(),
        form: form.into(),
        field: "x".into(),
        value: json!(v),
    }
}

fn change(form: &str, v: f64) -> Command {
    Command::ChangeValue {
        participant: "P1".into(),
        visit: "week12".into(),
        form: form.into(),
        field: "x".into(),
        value: json!(v),
    }
}

fn verify(form: &str) -> Command {
    Command::VerifyForm {
        participant: "P1".into(),
        visit: "week12".into(),
        form: form.into(),
    }
}

fn sign() -> Command {
    Command::SignCasebook {
        participant: "P1".into(),
        meaning: "approval of the casebook as complete and accurate".into(),
    }
}

#[test]
fn the_monitor_verifies_a_form_until_it_changes() {
    let mut s = trial();
    enrol(&mut s, &inv(), "P1");
    // Nothing to verify yet.
    let e = s
        .check(&monitor(), at(6), None, &verify("vitals"))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "participant P1 has no value on week12/vitals to verify"
    );
    s.execute(&inv(), at(6), None, &value("vitals", 72.5))
        .unwrap();
    // Only the monitor verifies.
    for a in [inv(), oa()] {
        let e = s.check(&a, at(7), None, &verify("vitals")).unwrap_err();
        assert!(e.to_string().contains("may not verify a form"), "{e}");
    }
    let ev = s
        .execute(&monitor(), at(7), None, &verify("vitals"))
        .unwrap();
    assert!(matches!(
        &ev[0].payload,
        Payload::FormVerified { participant, visit, form }
            if participant == "P1" && visit == "week12" && form == "vitals"
    ));
    assert!(s.participants["P1"].verification_current("week12/vitals"));
    let e = s
        .check(&monitor(), at(8), None, &verify("vitals"))
        .unwrap_err();
    assert!(e.to_string().contains("verified and unchanged"), "{e}");
    // A change undoes the verification; it can be verified again.
    s.execute(&inv(), at(8), Some("typo"), &change("vitals", 73.0))
        .unwrap();
    assert!(!s.participants["P1"].verification_current("week12/vitals"));
    s.execute(&monitor(), at(9), None, &verify("vitals"))
        .unwrap();
    assert!(s.participants["P1"].verification_current("week12/vitals"));
}

#[test]
fn the_investigator_signs_and_a_later_change_asks_for_renewal() {
    let mut s = trial();
    enrol(&mut s, &inv(), "P1");
    s.execute(&inv(), at(6), None, &value("vitals", 72.5))
        .unwrap();
    let e = s.check(&monitor(), at(7), None, &sign()).unwrap_err();
    assert!(e.to_string().contains("may not sign a casebook"), "{e}");
    let blank = Command::SignCasebook {
        participant: "P1".into(),
        meaning: "  ".into(),
    };
    let e = s.check(&inv(), at(7), None, &blank).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the meaning of the signature must not be empty"
    );
    let ev = s.execute(&inv(), at(7), None, &sign()).unwrap();
    let Payload::CasebookSigned { name, meaning, .. } = &ev[0].payload else {
        panic!("{:?}", ev[0].payload);
    };
    assert_eq!(meaning, "approval of the casebook as complete and accurate");
    assert!(!name.is_empty());
    let p = &s.participants["P1"];
    assert_eq!(p.signatures.len(), 1);
    assert!(!p.signature_stale(&p.signatures[0]));
    // Signing again while nothing changed: refused.
    let e = s.check(&inv(), at(8), None, &sign()).unwrap_err();
    assert!(e.to_string().contains("nothing changed since"), "{e}");
    // A later change marks the signature as needing renewal; a new
    // signature renews it, the old one stays in the history.
    s.execute(&inv(), at(8), Some("typo"), &change("vitals", 73.0))
        .unwrap();
    let p = &s.participants["P1"];
    assert!(p.signature_stale(&p.signatures[0]));
    s.execute(&inv(), at(9), None, &sign()).unwrap();
    let p = &s.participants["P1"];
    assert_eq!(p.signatures.len(), 2);
    assert!(!p.signature_stale(&p.signatures[1]));
}
