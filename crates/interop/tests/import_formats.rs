#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! REDCap dictionary and ClinicalTrials.gov record imports on fixtures
//! written for the tests (tests/fixtures): the REDCap dictionary uses every
//! field type and every text validation type the REDCap data dictionary
//! documentation lists; the CT.gov record follows the documented API v2
//! schema with the LUPEX registration's content (NCT05478018).

use rct_interop::{ctgov, redcap, IssueKind};

const DICT: &str = include_str!("fixtures/redcap_all_types.csv");
const STUDY: &str = include_str!("fixtures/ctgov_lupex_v2.json");

/// The smallest protocol the forms can be inserted into.
const BASE: &str = r#"
units = ["kg", "cm"]
[trial]
id = "t"
title = "Test"
sponsor = "Test"
phase = "2"
status = "recruiting"
target_enrolment = 10
[[arms]]
id = "a"
label = "A"
kind = "experimental"
weight = 1
[[arms]]
id = "b"
label = "B"
kind = "placebo"
weight = 1
[masking]
[randomisation]
design = "pbr:4"
"#;

fn import() -> redcap::DictionaryImport {
    redcap::import_dictionary(DICT, "redcap_all_types.csv").unwrap()
}

#[test]
fn redcap_forms_pass_the_protocol_checker() {
    let out = import();
    let doc = format!("{BASE}\n{}", out.toml);
    match rct_core::protocol::parse(&doc, "merged.toml") {
        Ok(p) => {
            assert_eq!(p.forms.len(), 2);
            assert_eq!(p.forms[0].id.get_ref(), "enrolment");
            assert_eq!(p.forms[1].id.get_ref(), "visit");
        }
        Err(d) => panic!("{d}\n---\n{}", out.toml),
    }
}

fn field<'a>(
    p: &'a rct_core::protocol::Protocol,
    form: &str,
    id: &str,
) -> &'a rct_core::protocol::Field {
    p.form(form)
        .unwrap()
        .fields
        .iter()
        .find(|f| f.id.get_ref() == id)
        .unwrap_or_else(|| panic!("no field {form}.{id}"))
}

#[test]
fn redcap_types_validations_and_ranges_map_as_documented() {
    use rct_core::protocol::ValueType as T;
    let out = import();
    let p = rct_core::protocol::parse(&format!("{BASE}\n{}", out.toml), "m.toml").unwrap();
    let e = "enrolment";
    for (id, t) in [
        ("record_id", T::Text),
        ("initials", T::Text),
        ("dob", T::Date),
        ("visit_dmy", T::Date),
        ("visit_mdy", T::Date),
        ("dt_ymd", T::Text),
        ("dts_mdy", T::Text),
        ("email", T::Text),
        ("t_hms", T::Text),
        ("sex", T::Choice),
        ("age", T::Integer),
        ("weight", T::Number),
        ("height", T::Number),
        ("comma1", T::Number),
        ("bmi", T::Number),
        ("ethnicity", T::Choice),
        ("pregnant", T::Boolean),
        ("consent_ok", T::Boolean),
        ("symptoms___1", T::Boolean),
        ("symptoms___3", T::Boolean),
        ("consent_doc", T::Text),
    ] {
        assert_eq!(field(&p, e, id).kind, t, "{id}");
    }
    assert_eq!(field(&p, "visit", "pain").kind, T::Integer);
    assert_eq!(
        *field(&p, "visit", "pain").hard.as_ref().unwrap().get_ref(),
        [0.0, 10.0]
    );
    // REDCap ranges warn but accept: soft ranges.
    assert_eq!(
        *field(&p, e, "age").soft.as_ref().unwrap().get_ref(),
        [18.0, 100.0]
    );
    assert_eq!(
        *field(&p, e, "height").soft.as_ref().unwrap().get_ref(),
        [100.0, redcap::OPEN_BOUND]
    );
    // number_Ndp validations fix the decimals shown.
    let dec = |id: &str| field(&p, e, id).decimals.as_ref().map(|d| *d.get_ref());
    assert_eq!(dec("height"), Some(1));
    assert_eq!(dec("creat"), Some(2));
    assert_eq!(dec("comma1"), Some(1));
    assert_eq!(dec("weight"), None);
    assert!(field(&p, e, "age").required);
    assert!(field(&p, e, "sex").required);
    assert!(!field(&p, e, "weight").required);
    // Matrix group shares one code list.
    assert_eq!(
        field(&p, "visit", "q_fatigue")
            .code_list
            .as_ref()
            .unwrap()
            .get_ref(),
        "symptom_grid"
    );
    assert_eq!(
        field(&p, "visit", "q_sleep")
            .code_list
            .as_ref()
            .unwrap()
            .get_ref(),
        "symptom_grid"
    );
    let sex = p
        .code_lists
        .iter()
        .find(|c| c.id.get_ref() == "sex")
        .unwrap();
    assert_eq!(sex.items[1].code.get_ref(), "2");
    assert_eq!(sex.items[1].label, "Male");
    // Calculations.
    assert_eq!(
        field(&p, e, "bmi").derived.as_ref().unwrap().get_ref(),
        "weight / (height / 100 * (height / 100))"
    );
    assert_eq!(
        field(&p, "visit", "days_since_dob")
            .derived
            .as_ref()
            .unwrap()
            .get_ref(),
        "days_between(enrolment.dob, visit_date)"
    );
    assert_eq!(
        field(&p, "visit", "score_sum")
            .derived
            .as_ref()
            .unwrap()
            .get_ref(),
        "q_fatigue + q_sleep"
    );
    assert!(field(&p, "visit", "flag").derived.is_none());
    assert!(field(&p, "visit", "age_at_visit").derived.is_none());
    // Descriptive text is not a field.
    assert!(p
        .form("visit")
        .unwrap()
        .fields
        .iter()
        .all(|f| f.id.get_ref() != "intro"));
    // Branching logic kept, translated, as a comment above the field.
    assert!(out.toml.contains("# shown only if: sex == \"1\" and age < 55\n# REDCap yesno: stored 1 = yes, 0 = no\n[[forms.fields]]\nid = \"pregnant\""));
    assert!(out
        .toml
        .contains("# shown only if: symptoms___1 == true\n[[forms.fields]]\nid = \"fever_days\""));
    assert!(out
        .toml
        .contains("# shown only if: known(visit_date) and pain >= 5"));
    assert!(out
        .toml
        .contains("# shown only if: known(q_fatigue) or known(q_sleep)"));
}

#[test]
fn redcap_untranslatable_items_are_listed_with_their_rows() {
    let out = import();
    let un: Vec<(usize, &str, &str)> = out
        .issues
        .iter()
        .filter(|i| i.kind == IssueKind::Untranslated)
        .map(|i| (i.row, i.variable.as_str(), i.column.as_str()))
        .collect();
    // Rows count the header as row 1.
    for want in [
        (4, "dob", "Text Validation Min/Max"),
        (44, "intro", "Field Label"),
        (47, "q_sleep", "Matrix Ranking?"),
        (48, "site_list", "Choices, Calculations, OR Slider Labels"),
        (
            51,
            "age_at_visit",
            "Choices, Calculations, OR Slider Labels",
        ),
        (53, "flag", "Choices, Calculations, OR Slider Labels"),
    ] {
        assert!(un.contains(&want), "missing {want:?} in {un:#?}");
    }
    assert_eq!(un.len(), 6, "{un:#?}");
    let flag = out
        .issues
        .iter()
        .find(|i| i.variable == "flag" && i.kind == IssueKind::Untranslated)
        .unwrap();
    assert_eq!(flag.text, "if([pain] > 7, 1, 0)");
    assert!(flag.reason.contains("conditional"));
    // The untranslated text stays in the TOML as a comment.
    assert!(out
        .toml
        .contains("# calculation (untranslated): if([pain] > 7, 1, 0)"));
    // Every validation type with a format the protocol cannot check is noted.
    for v in [
        "email",
        "phone",
        "zipcode",
        "ssn",
        "mrn_10d",
        "vmrn",
        "postalcode_germany",
        "alpha_only",
        "time_mm_ss",
        "datetime_seconds_dmy",
        "number_comma_decimal",
    ] {
        assert!(
            out.issues
                .iter()
                .any(|i| i.text == v && i.kind == IssueKind::Approximated),
            "{v}"
        );
    }
    // sum() and arithmetic on choice codes are flagged.
    assert!(out
        .issues
        .iter()
        .any(|i| i.variable == "score_sum" && i.reason.contains("blank")));
}

#[test]
fn ctgov_lupex_record_becomes_a_checked_skeleton() {
    let out = ctgov::import_study(STUDY, "lupex.json").unwrap();
    let p = match rct_core::protocol::parse(&out.toml, "lupex-skeleton.toml") {
        Ok(p) => p,
        Err(d) => panic!("{d}\n---\n{}", out.toml),
    };
    assert_eq!(p.trial.id.get_ref(), "lupex");
    assert_eq!(p.trial.short_title.as_deref(), Some("LUPEX"));
    assert_eq!(p.trial.registry_ids, vec!["NCT05478018", "H-21039032"]);
    assert_eq!(p.trial.phase, rct_core::protocol::Phase::NotApplicable);
    assert_eq!(p.trial.status, rct_core::protocol::Status::Completed);
    assert_eq!(*p.trial.target_enrolment.get_ref(), 55);
    assert_eq!(p.trial.primary_purpose.as_deref(), Some("basic-science"));
    assert_eq!(p.arms.len(), 2);
    assert_eq!(p.arms[0].id.get_ref(), "exercise");
    assert_eq!(p.arms[1].kind, rct_core::protocol::ArmKind::NoIntervention);
    assert!(p.arms[0]
        .description
        .as_deref()
        .unwrap()
        .contains("Intervention: Behavioral: High Intensity Interval Training (HIIT) - Three supervised sessions"));
    use rct_core::protocol::MaskedParty as M;
    let blinded: Vec<M> = p.masking.blinded.iter().map(|b| *b.get_ref()).collect();
    assert_eq!(blinded, vec![M::Investigator, M::OutcomeAssessor]);
    // 3 inclusion lines + the age rule; 9 exclusion lines (4 nested).
    assert_eq!((out.inclusion, out.exclusion), (4, 9));
    let inc: Vec<&str> = p
        .criteria
        .iter()
        .filter(|c| c.kind == rct_core::protocol::CriterionKind::Inclusion)
        .map(|c| c.text.as_str())
        .collect();
    assert_eq!(inc[0], "Age at least 18 Years");
    assert_eq!(inc[1], "Age ≥ 18 years by inclusion.");
    let age = p
        .criteria
        .iter()
        .find(|c| c.id.get_ref() == "age_min")
        .unwrap();
    assert_eq!(age.rule.get_ref(), "age_at(screening_date) >= 18");
    let e2 = p.criteria.iter().find(|c| c.id.get_ref() == "E2").unwrap();
    assert_eq!(e2.text, "Major bone fracture at inclusion");
    assert_eq!(e2.kind, rct_core::protocol::CriterionKind::Exclusion);
    let e9 = p.criteria.iter().find(|c| c.id.get_ref() == "E9").unwrap();
    assert!(e9.text.starts_with("SLEDAI-2k"));
    // sex = ALL gives no sex rule.
    assert!(p.criteria.iter().all(|c| c.id.get_ref() != "sex"));
    // Outcomes with visits from their time frames.
    assert_eq!(p.outcomes.len(), 3);
    assert_eq!(p.outcomes[0].kind, rct_core::protocol::OutcomeKind::Primary);
    let visits: Vec<(&str, i32)> = p
        .visits
        .iter()
        .map(|v| (v.id.get_ref().as_str(), *v.day.get_ref()))
        .collect();
    assert_eq!(visits, vec![("baseline", 0), ("week6", 42), ("week12", 84)]);
    let tps: Vec<&str> = p.outcomes[1]
        .timepoints
        .iter()
        .map(|t| t.get_ref().as_str())
        .collect();
    assert_eq!(tps, vec!["baseline", "week6", "week12"]);
    assert!(p
        .assumptions
        .iter()
        .any(|a| a.topic == "randomisation design"));
}

#[test]
fn ctgov_sex_and_age_limits_become_rules() {
    let mut v: serde_json::Value = serde_json::from_str(STUDY).unwrap();
    let el = &mut v["protocolSection"]["eligibilityModule"];
    el["sex"] = "FEMALE".into();
    el["maximumAge"] = "65 Years".into();
    el["minimumAge"] = "6 Months".into();
    let out = ctgov::import_study(&v.to_string(), "x.json").unwrap();
    let p = rct_core::protocol::parse(&out.toml, "x.toml").unwrap();
    let rule = |id: &str| {
        p.criteria
            .iter()
            .find(|c| c.id.get_ref() == id)
            .unwrap()
            .rule
            .get_ref()
            .clone()
    };
    assert_eq!(rule("sex"), "sex == \"female\"");
    assert_eq!(rule("age_max"), "age_at(screening_date) <= 65");
    assert_eq!(
        rule("age_min"),
        "months_between(birth_date, screening_date) >= 6"
    );
}
