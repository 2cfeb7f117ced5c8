//! From the record's adverse events ([`rct_core::safety::AdverseEvent`]) to
//! the rows the tables read.

use chrono::NaiveDate;
use rct_core::safety::{validate, AdverseEvent};

use super::{SafetyError, SafetyEvent};

impl SafetyEvent {
    /// The tables' view of the `index`-th (0-based) adverse event `ae` of
    /// `participant`, whose exposure began on `day_one` (the first dose, or
    /// randomisation for an arm without intervention). `Ok(None)` for an
    /// event that began before `day_one` (not treatment-emergent). An event
    /// that does not validate or is not coded yet is an error naming the
    /// participant, the event and the field: the safety tables run on a
    /// clean, coded database.
    pub fn from_adverse_event(
        participant: &str,
        index: usize,
        ae: &AdverseEvent,
        day_one: NaiveDate,
    ) -> Result<Option<SafetyEvent>, SafetyError> {
        let err = |field: &'static str, message: String| SafetyError::Event {
            participant: participant.to_string(),
            event: index + 1,
            field,
            message,
        };
        if let Some(p) = validate(ae).first() {
            return Err(err(p.field.name(), p.message.clone()));
        }
        let Some(coding) = &ae.coding else {
            return Err(err(
                "coding",
                format!("`{}` is not coded yet", ae.term.trim()),
            ));
        };
        let days = (ae.onset - day_one).num_days();
        if days < 0 {
            return Ok(None);
        }
        let onset_day = u32::try_from(days + 1)
            .map_err(|_| err("onset", format!("{} is too far from {day_one}", ae.onset)))?;
        Ok(Some(SafetyEvent {
            soc: coding.soc.name.clone(),
            pt: coding.pt.name.clone(),
            grade: ae.grade,
            serious: ae.serious,
            led_to_discontinuation: ae.led_to_discontinuation(),
            onset_day,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use rct_core::safety::{
        Action, Coding, EventEnd, Outcome, Relationship, SeriousnessCriterion, Term,
    };

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    fn ae() -> AdverseEvent {
        let t = |c: &str, n: &str| Term {
            code: c.into(),
            name: n.into(),
        };
        AdverseEvent {
            term: "shingles left flank".into(),
            onset: d(3, 10),
            end: EventEnd::Ended(d(3, 30)),
            grade: 3,
            serious: true,
            criteria: vec![SeriousnessCriterion::Hospitalisation],
            relationship: Relationship::Possible,
            action: Action::DrugWithdrawn,
            outcome: Outcome::Recovered,
            aware: Utc.with_ymd_and_hms(2026, 3, 11, 8, 0, 0).unwrap(),
            coding: Some(Coding {
                llt: t("T0008", "Shingles"),
                pt: t("P0105", "Herpes zoster"),
                soc: t("S01", "Infections and infestations"),
                dictionary: "rct test terms".into(),
                version: "1.0".into(),
            }),
        }
    }

    #[test]
    fn study_day_one_is_the_first_day_of_exposure() {
        let e = SafetyEvent::from_adverse_event("P001", 0, &ae(), d(3, 1))
            .unwrap()
            .unwrap();
        assert_eq!(e.onset_day, 10);
        assert_eq!(
            (e.soc.as_str(), e.pt.as_str()),
            ("Infections and infestations", "Herpes zoster")
        );
        assert!(e.serious && e.led_to_discontinuation && e.grade == 3);
        let same_day = SafetyEvent::from_adverse_event("P001", 0, &ae(), d(3, 10));
        assert_eq!(same_day.unwrap().unwrap().onset_day, 1);
        // Before the first dose: not treatment-emergent.
        assert_eq!(
            SafetyEvent::from_adverse_event("P001", 0, &ae(), d(3, 11)).unwrap(),
            None
        );
    }

    #[test]
    fn uncoded_or_invalid_events_are_named() {
        let mut a = ae();
        a.coding = None;
        let e = SafetyEvent::from_adverse_event("P001", 2, &a, d(3, 1)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "safety analysis: participant `P001`, adverse event 3: coding: `shingles left flank` is not coded yet"
        );
        let mut a = ae();
        a.criteria.clear();
        let e = SafetyEvent::from_adverse_event("P001", 0, &a, d(3, 1)).unwrap_err();
        assert!(e
            .to_string()
            .contains("adverse event 1: criteria: a serious adverse event needs"));
    }
}
