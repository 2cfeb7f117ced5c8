use super::*;
use crate::safety::Term;
use chrono::{Duration, TimeZone};
use proptest::prelude::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// A consistent non-serious grade 2 event that has resolved.
fn base() -> AdverseEvent {
    AdverseEvent {
        term: "Sore throat and runny nose".into(),
        onset: d(2026, 3, 2),
        end: EventEnd::Ended(d(2026, 3, 9)),
        grade: 2,
        serious: false,
        criteria: vec![],
        relationship: Relationship::Unlikely,
        action: Action::DoseNotChanged,
        outcome: Outcome::Recovered,
        aware: Utc.with_ymd_and_hms(2026, 3, 4, 10, 30, 0).unwrap(),
        coding: None,
    }
}

fn fields(ae: &AdverseEvent) -> Vec<AeField> {
    validate(ae).into_iter().map(|p| p.field).collect()
}

#[test]
fn a_consistent_event_has_no_problem() {
    assert_eq!(validate(&base()), vec![]);
    let mut sae = base();
    sae.serious = true;
    sae.grade = 3;
    sae.criteria = vec![SeriousnessCriterion::Hospitalisation];
    assert_eq!(validate(&sae), vec![]);
}

#[test]
fn end_before_onset_is_refused_same_day_is_not() {
    let mut ae = base();
    ae.end = EventEnd::Ended(d(2026, 3, 1));
    let p = validate(&ae);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].field, AeField::End);
    assert!(p[0]
        .message
        .contains("2026-03-01 is before the onset 2026-03-02"));
    ae.end = EventEnd::Ended(ae.onset);
    assert_eq!(validate(&ae), vec![]);
}

#[test]
fn grade_must_be_one_to_five() {
    for g in [0u8, 6, 255] {
        let mut ae = base();
        ae.grade = g;
        assert_eq!(fields(&ae), vec![AeField::Grade], "grade {g}");
    }
    for g in 1..=4u8 {
        let mut ae = base();
        ae.grade = g;
        assert_eq!(validate(&ae), vec![], "grade {g}");
    }
}

#[test]
fn serious_needs_a_criterion_and_a_criterion_needs_serious() {
    let mut ae = base();
    ae.serious = true;
    assert_eq!(fields(&ae), vec![AeField::Criteria]);
    let mut ae = base();
    ae.criteria = vec![SeriousnessCriterion::OtherImportantMedicalEvent];
    let p = validate(&ae);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].field, AeField::Serious);
    assert!(p[0].message.contains("other important medical event"));
    // Each criterion alone makes a consistent SAE (death with grade 5 and fatal).
    for c in SeriousnessCriterion::ALL {
        let mut ae = base();
        ae.serious = true;
        ae.criteria = vec![c];
        if c == SeriousnessCriterion::Death {
            ae.grade = 5;
            ae.outcome = Outcome::Fatal;
        }
        assert_eq!(validate(&ae), vec![], "{c:?}");
    }
}

#[test]
fn a_criterion_given_twice_is_named() {
    let mut ae = base();
    ae.serious = true;
    ae.criteria = vec![
        SeriousnessCriterion::Hospitalisation,
        SeriousnessCriterion::Hospitalisation,
    ];
    assert_eq!(fields(&ae), vec![AeField::Criteria]);
}

#[test]
fn death_grade_five_and_fatal_go_together() {
    // Grade 5 alone: the outcome and the criterion are missing.
    let mut ae = base();
    ae.grade = 5;
    assert_eq!(fields(&ae), vec![AeField::Outcome, AeField::Criteria]);
    // Fatal outcome at grade 4.
    let mut ae = base();
    ae.grade = 4;
    ae.outcome = Outcome::Fatal;
    ae.serious = true;
    ae.criteria = vec![SeriousnessCriterion::Death];
    let p = validate(&ae);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].field, AeField::Outcome);
    assert!(p[0].message.contains("not grade 4"));
    // Death criterion with a recovered grade 3 event.
    let mut ae = base();
    ae.grade = 3;
    ae.serious = true;
    ae.criteria = vec![SeriousnessCriterion::Death];
    assert_eq!(fields(&ae), vec![AeField::Criteria]);
    // All three together, serious.
    let mut ae = base();
    ae.grade = 5;
    ae.outcome = Outcome::Fatal;
    ae.serious = true;
    ae.criteria = vec![
        SeriousnessCriterion::LifeThreatening,
        SeriousnessCriterion::Death,
    ];
    assert_eq!(validate(&ae), vec![]);
}

#[test]
fn outcome_and_end_agree() {
    let mut ae = base();
    ae.end = EventEnd::Ongoing;
    assert_eq!(fields(&ae), vec![AeField::End]);
    ae.outcome = Outcome::NotRecovered;
    assert_eq!(validate(&ae), vec![]);
    ae.outcome = Outcome::Recovering;
    assert_eq!(validate(&ae), vec![]);
    ae.end = EventEnd::Ended(d(2026, 3, 5));
    assert_eq!(fields(&ae), vec![AeField::Outcome]);
    ae.outcome = Outcome::Unknown;
    assert_eq!(validate(&ae), vec![]);
}

#[test]
fn aware_not_before_onset() {
    let mut ae = base();
    ae.aware = Utc.with_ymd_and_hms(2026, 3, 1, 23, 59, 0).unwrap();
    let p = validate(&ae);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].field, AeField::Aware);
    assert_eq!(
        p[0].to_string(),
        "aware: the site cannot become aware (2026-03-01) before the onset (2026-03-02)"
    );
    ae.aware = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
    assert_eq!(validate(&ae), vec![]);
}

#[test]
fn term_is_required_and_bounded() {
    let mut ae = base();
    ae.term = "  ".into();
    assert_eq!(fields(&ae), vec![AeField::Term]);
    ae.term = "x".repeat(MAX_TERM_CHARS + 1);
    assert_eq!(fields(&ae), vec![AeField::Term]);
}

#[test]
fn coding_names_terms_and_version() {
    let t = |c: &str, n: &str| Term {
        code: c.into(),
        name: n.into(),
    };
    let mut ae = base();
    ae.coding = Some(Coding {
        llt: t("100001", "Sore throat"),
        pt: t("100002", "Oropharyngeal pain"),
        soc: t("100003", "Respiratory, thoracic and mediastinal disorders"),
        dictionary: "Test dictionary".into(),
        version: "1.0".into(),
    });
    assert_eq!(validate(&ae), vec![]);
    if let Some(c) = ae.coding.as_mut() {
        c.pt.name = String::new();
        c.version = " ".into();
    }
    assert_eq!(fields(&ae), vec![AeField::Coding, AeField::Coding]);
}

#[test]
fn every_problem_is_returned_at_once() {
    let mut ae = base();
    ae.term = String::new();
    ae.end = EventEnd::Ended(d(2026, 2, 1));
    ae.grade = 9;
    ae.serious = true;
    ae.aware = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    assert_eq!(
        fields(&ae),
        vec![
            AeField::Term,
            AeField::End,
            AeField::Grade,
            AeField::Criteria,
            AeField::Aware
        ]
    );
}

#[test]
fn json_names_are_snake_case() {
    let mut ae = base();
    ae.serious = true;
    ae.criteria = vec![SeriousnessCriterion::OtherImportantMedicalEvent];
    ae.action = Action::DrugWithdrawn;
    let v = serde_json::to_value(&ae).unwrap();
    assert_eq!(v["criteria"][0], "other_important_medical_event");
    assert_eq!(v["action"], "drug_withdrawn");
    assert_eq!(v["end"]["ended"], "2026-03-09");
    let back: AdverseEvent = serde_json::from_value(v).unwrap();
    assert_eq!(back, ae);
    assert!(back.led_to_discontinuation());
    assert!(!back.grade_3_or_more());
    assert!(Relationship::Possible.is_related() && !Relationship::Unlikely.is_related());
}

fn criterion() -> impl Strategy<Value = SeriousnessCriterion> {
    prop::sample::select(SeriousnessCriterion::ALL.to_vec())
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop::sample::select(vec![
        Outcome::Recovered,
        Outcome::Recovering,
        Outcome::NotRecovered,
        Outcome::RecoveredWithSequelae,
        Outcome::Fatal,
        Outcome::Unknown,
    ])
}

prop_compose! {
    fn any_event()(
        onset_off in 0i64..3000,
        end in prop::option::of(-30i64..60),
        grade in 0u8..8,
        serious in any::<bool>(),
        criteria in prop::collection::vec(criterion(), 0..3),
        outcome in outcome(),
        aware_min in -3000i64..100_000,
    ) -> AdverseEvent {
        let onset = d(2020, 1, 1) + Duration::days(onset_off);
        let onset_utc = Utc.from_utc_datetime(&onset.and_hms_opt(0, 0, 0).unwrap());
        AdverseEvent {
            term: "event".into(),
            onset,
            end: end.map_or(EventEnd::Ongoing, |e| EventEnd::Ended(onset + Duration::days(e))),
            grade,
            serious,
            criteria,
            relationship: Relationship::Possible,
            action: Action::DoseNotChanged,
            outcome,
            aware: onset_utc + Duration::minutes(aware_min),
            coding: None,
        }
    }
}

proptest! {
    /// Each rule is reported exactly when its condition fails, whatever
    /// else is wrong.
    #[test]
    fn rules_fire_exactly_when_violated(ae in any_event()) {
        let f = fields(&ae);
        let end_before = matches!(ae.end, EventEnd::Ended(e) if e < ae.onset);
        let end_rule = f.iter().filter(|x| **x == AeField::End).count();
        let outcome_needs_end = matches!(ae.outcome, Outcome::Fatal | Outcome::Recovered | Outcome::RecoveredWithSequelae) && ae.end == EventEnd::Ongoing;
        prop_assert_eq!(end_rule, usize::from(end_before) + usize::from(outcome_needs_end));
        prop_assert_eq!(f.contains(&AeField::Grade), !(1..=5).contains(&ae.grade));
        prop_assert_eq!(f.contains(&AeField::Aware), ae.aware.date_naive() < ae.onset);
        prop_assert_eq!(f.contains(&AeField::Serious), !ae.serious && !ae.criteria.is_empty());
        if ae.serious && ae.criteria.is_empty() {
            prop_assert!(f.contains(&AeField::Criteria));
        }
    }

    /// A valid event is a consistent one: serious iff a criterion, death iff
    /// grade 5 iff fatal, dates in order.
    #[test]
    fn valid_events_are_consistent(ae in any_event()) {
        if validate(&ae).is_empty() {
            prop_assert!((1..=5).contains(&ae.grade));
            prop_assert_eq!(ae.serious, !ae.criteria.is_empty());
            let death = ae.criteria.contains(&SeriousnessCriterion::Death);
            prop_assert_eq!(death, ae.grade == 5);
            prop_assert_eq!(death, ae.outcome == Outcome::Fatal);
            if let EventEnd::Ended(e) = ae.end { prop_assert!(e >= ae.onset); }
            prop_assert!(ae.aware.date_naive() >= ae.onset);
        }
    }
}
