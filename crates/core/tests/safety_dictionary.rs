//! The coding dictionary on a small file made for the tests
//! (tests/data/test_dictionary.csv: invented terms and codes under the
//! public system organ class names; no MedDRA is shipped).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rct_core::safety::{validate, Dictionary};

const FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/test_dictionary.csv"
);

fn dictionary() -> Dictionary {
    Dictionary::parse(&std::fs::read(FILE).unwrap(), "test_dictionary.csv").unwrap()
}

#[test]
fn the_test_dictionary_parses() {
    let d = dictionary();
    assert_eq!(d.name, "rct test terms (invented; not MedDRA)");
    assert_eq!(d.version, "1.0");
    assert_eq!(d.entries().len(), 27);
    let socs: std::collections::BTreeSet<&str> =
        d.entries().iter().map(|e| e.soc.name.as_str()).collect();
    assert_eq!(socs.len(), 8);
    assert!(socs.contains("Respiratory, thoracic and mediastinal disorders"));
}

#[test]
fn the_coders_picker_finds_a_verbatim_term() {
    let d = dictionary();
    // A site wrote "chest infection, productive cough"; the coder types "chest".
    let hits: Vec<&str> = d
        .search("CHEST", 5)
        .iter()
        .map(|e| e.llt.code.as_str())
        .collect();
    assert_eq!(hits, ["T0004"]);
    // "infection" reaches LLTs by name, then through their preferred terms.
    let hits: Vec<&str> = d
        .search("infection", 20)
        .iter()
        .map(|e| e.llt.name.as_str())
        .collect();
    assert_eq!(
        hits,
        [
            "Chest infection",
            "Urinary infection",
            "Cold",
            "Common cold",
            "Cystitis",
            "URTI"
        ]
    );
    let coding = d.code("T0007").unwrap();
    assert_eq!(
        (coding.pt.name.as_str(), coding.soc.name.as_str()),
        ("Urinary tract infection", "Infections and infestations")
    );
    assert_eq!(coding.dictionary, d.name);
}

#[test]
fn a_coded_event_validates() {
    use chrono::{NaiveDate, TimeZone, Utc};
    use rct_core::safety::{
        Action, AdverseEvent, EventEnd, Outcome, Relationship, SeriousnessCriterion,
    };
    let d = dictionary();
    let onset = NaiveDate::from_ymd_opt(2026, 4, 1).unwrap();
    let ae = AdverseEvent {
        term: "pneumonia right lower lobe".into(),
        onset,
        end: EventEnd::Ended(NaiveDate::from_ymd_opt(2026, 4, 15).unwrap()),
        grade: 3,
        serious: true,
        criteria: vec![SeriousnessCriterion::Hospitalisation],
        relationship: Relationship::Possible,
        action: Action::DrugInterrupted,
        outcome: Outcome::Recovered,
        aware: Utc.with_ymd_and_hms(2026, 4, 2, 9, 0, 0).unwrap(),
        coding: d.code("T0005"),
    };
    assert_eq!(validate(&ae), vec![]);
}
