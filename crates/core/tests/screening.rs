//! Screening against both seed protocols: for every criterion a person who
//! meets it and one who fails it; one missing fact gives `incomplete` naming
//! that fact; property tests that more or fewer facts never turn an
//! ineligible person eligible.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use rct_core::eligibility::{person_from_json, screen, CriterionResult, Person, Verdict};
use rct_core::protocol::{parse, CriterionKind, Protocol};
use serde_json::{json, Value};

fn load(name: &str) -> Protocol {
    let path = format!("{}/../../protocols/{name}", env!("CARGO_MANIFEST_DIR"));
    parse(&std::fs::read_to_string(&path).unwrap(), &path).unwrap()
}

/// An eligible LUPEX participant who opted into the PET sub-study.
fn lupex_ok() -> Value {
    json!({"id": "L1", "screening_date": "2025-03-01", "facts": {
        "birth_date": "1985-06-15", "sex": "female", "able_to_consent": true,
        "sle_diagnosed": true, "eular_acr_2019_classified": true, "slicc_2012_classified": false,
        "exercise_contraindicated": false, "major_bone_fracture": false,
        "exercise_exacerbated_myalgia": false, "active_infection": false,
        "severe_pleuritis_pericarditis": false,
        "prednisolone_dose": {"value": 7.5, "unit": "mg/day"},
        "diabetes_diagnosed": false, "pregnant": false, "sledai_2k_selena": 4,
        "pet_substudy": true, "pet_scan_date": "2025-03-20",
        "adenosine_pet_contraindicated": false, "fever": false,
        "myocarditis_or_endocarditis": false, "heart_transplant": false,
        "dysregulated_tachyarrhythmia": false, "copd": false, "fev1_pct_predicted": 95,
        "heart_block_degree": 0, "bronchospasm_at_scan": false, "systolic_bp_at_scan": 125,
        "theophylline_ever": false
    }})
}

/// For each LUPEX criterion: fact changes that make the person fail it.
fn lupex_fail(id: &str) -> Value {
    match id {
        "I1" => json!({"birth_date": "2007-03-02"}),
        "I2" => json!({"able_to_consent": false}),
        "I3" => json!({"eular_acr_2019_classified": false}),
        "E1" => json!({"exercise_contraindicated": true}),
        "E1a" => json!({"major_bone_fracture": true}),
        "E1b" => json!({"exercise_exacerbated_myalgia": true}),
        "E1c" => json!({"active_infection": true}),
        "E1d" => json!({"severe_pleuritis_pericarditis": true}),
        "E2" => json!({"prednisolone_dose": {"value": 10.5, "unit": "mg/day"}}),
        "E3" => json!({"diabetes_diagnosed": true}),
        "E4" => json!({"pregnant": true}),
        "E5" => json!({"sledai_2k_selena": 11}),
        "P1" => json!({"adenosine_pet_contraindicated": true}),
        "P1a" => json!({"fever": true}),
        "P1b" => json!({"heart_transplant": true}),
        "P1c" => json!({"dysregulated_tachyarrhythmia": true}),
        "P1d" => json!({"copd": true, "fev1_pct_predicted": 45}),
        "P1e" => json!({"heart_block_degree": 2}),
        "P1f" => json!({"bronchospasm_at_scan": true}),
        "P1g" => json!({"systolic_bp_at_scan": 205}),
        "P1h" => json!({"theophylline_ever": true, "theophylline_last_dose": "2025-03-14"}),
        _ => panic!("no failing case for LUPEX criterion {id}"),
    }
}

fn il2_ok() -> Value {
    json!({"id": "X1", "screening_date": "2025-03-01", "facts": {
        "birth_date": "1990-01-01", "sex": "female", "acr_1997_criteria_met": 5,
        "sledai_2k": 10, "weight": {"value": 60, "unit": "kg"},
        "inadequate_response": true, "standard_treatment_start": "2024-06-01",
        "urine_pregnancy_test": "negative", "written_consent": true,
        "allergy_study_drugs": false, "active_severe_npsle": false,
        "alt": {"value": 30, "unit": "U/L", "uln": 40}, "ast": {"value": 25, "unit": "U/L", "uln": 40},
        "pregnant": false, "lactating": false, "active_cancer": false, "cancer_history": false,
        "serious_infection": false, "chronic_infection_history": false,
        "active_specified_infection": false, "vision_disorder_history": false, "cataract": false,
        "severe_comorbidity": false, "nyha_class": 0, "active_peptic_ulcer": false,
        "other_autoimmune_disease": false, "biologic_ever": false,
        "other_immunosuppressant": false, "other_trial_ever": false
    }})
}

fn il2_fail(id: &str) -> Value {
    match id {
        "I1" => json!({"acr_1997_criteria_met": 3}),
        "I2" => json!({"sledai_2k": 7}),
        "I3" => json!({"weight": {"value": 80.5, "unit": "kg"}}),
        "I4" => json!({"standard_treatment_start": "2024-12-02"}),
        "I5" => json!({"urine_pregnancy_test": "positive"}),
        "I6" => json!({"written_consent": false}),
        "E1" => json!({"allergy_study_drugs": true}),
        "E2" => json!({"active_severe_npsle": true}),
        "E3" => json!({"alt": {"value": 80, "unit": "U/L", "uln": 40}}),
        "E4" => json!({"lactating": true}),
        "E5" => json!({"cancer_history": true, "cancer_cured_date": "2021-01-01"}),
        "E6" => json!({"chronic_infection_history": true}),
        "E7" => json!({"active_specified_infection": true}),
        "E8" => json!({"cataract": true}),
        "E9" => json!({"nyha_class": 3}),
        "E10" => json!({"active_peptic_ulcer": true}),
        "E11" => json!({"other_autoimmune_disease": true}),
        "E12" => json!({"biologic_ever": true, "biologic_last_dose": "2024-10-01"}),
        "E13" => json!({"other_immunosuppressant": true}),
        "E14" => json!({"other_trial_ever": true, "other_trial_last_date": "2025-02-10"}),
        _ => panic!("no failing case for IL-2 criterion {id}"),
    }
}

fn with(base: &Value, patch: &Value) -> Value {
    let mut v = base.clone();
    for (k, x) in patch.as_object().unwrap() {
        v["facts"][k] = x.clone();
    }
    v
}

fn person(p: &Protocol, v: &Value) -> Person {
    person_from_json(p, v).unwrap()
}

fn check_every_criterion(p: &Protocol, ok: Value, fail: fn(&str) -> Value) {
    let base = screen(p, &person(p, &ok)).unwrap();
    assert_eq!(base.verdict, Verdict::Eligible, "{base:#?}");
    for c in &p.criteria {
        let id = c.id.get_ref();
        // Meets it: the eligible person satisfies every criterion.
        let r = base.criteria.iter().find(|x| &x.id == id).unwrap();
        let satisfied = match c.kind {
            CriterionKind::Inclusion => CriterionResult::Met,
            CriterionKind::Exclusion => CriterionResult::NotMet,
        };
        assert_eq!(r.result, satisfied, "{id} for the eligible person");
        // Fails it: the patch makes exactly this criterion exclude.
        let s = screen(p, &person(p, &with(&ok, &fail(id)))).unwrap();
        assert_eq!(s.verdict, Verdict::Ineligible, "{id}");
        let failing: Vec<&str> = s
            .criteria
            .iter()
            .filter(|x| x.excludes())
            .map(|x| x.id.as_str())
            .collect();
        assert!(
            failing.contains(&id.as_str()),
            "{id} should fail, failing: {failing:?}"
        );
    }
}

#[test]
fn lupex_every_criterion_is_met_by_one_person_and_failed_by_another() {
    check_every_criterion(&load("lupex.toml"), lupex_ok(), lupex_fail);
}

#[test]
fn il2_every_criterion_is_met_by_one_person_and_failed_by_another() {
    check_every_criterion(&load("il2-sle.toml"), il2_ok(), il2_fail);
}

#[test]
fn one_missing_fact_gives_incomplete_naming_it() {
    for (file, ok) in [("lupex.toml", lupex_ok()), ("il2-sle.toml", il2_ok())] {
        let p = load(file);
        let facts: Vec<String> = ok["facts"].as_object().unwrap().keys().cloned().collect();
        for f in facts {
            let mut v = ok.clone();
            v["facts"].as_object_mut().unwrap().remove(&f);
            let s = screen(&p, &person(&p, &v)).unwrap();
            // A fact may be logically redundant given the others (FEV1 only
            // matters with COPD; one classification suffices when the other
            // is met): then Kleene logic rightly stays eligible. Check it is
            // truly redundant: the opposite value must also be eligible.
            match s.verdict {
                Verdict::Incomplete => assert!(
                    s.missing.contains(&f),
                    "{file} without {f}: {:?}",
                    s.missing
                ),
                Verdict::Eligible => {
                    let flipped = match &ok["facts"][&f] {
                        Value::Bool(b) => json!(!b),
                        Value::Number(_) if f == "fev1_pct_predicted" => json!(30),
                        Value::String(_) if f == "pet_scan_date" => json!("2025-01-01"),
                        Value::String(_) if f == "sex" => json!("male"),
                        other => panic!(
                            "{file}: removing {f} (= {other}) should make the screening incomplete"
                        ),
                    };
                    let v = with(&ok, &json!({ f.clone(): flipped }));
                    let s2 = screen(&p, &person(&p, &v)).unwrap();
                    assert_eq!(
                        s2.verdict,
                        Verdict::Eligible,
                        "{file}: {f} is not redundant, yet its absence gave eligible"
                    );
                }
                Verdict::Ineligible => panic!("{file}: removing {f} made the person ineligible"),
            }
        }
    }
}

#[test]
fn substudy_criteria_do_not_apply_to_those_who_did_not_opt_in() {
    let p = load("lupex.toml");
    let v = with(
        &lupex_ok(),
        &json!({"pet_substudy": false, "heart_transplant": true}),
    );
    let s = screen(&p, &person(&p, &v)).unwrap();
    assert_eq!(s.verdict, Verdict::Eligible);
    let c = s.criteria.iter().find(|c| c.id == "P1b").unwrap();
    assert_eq!(c.result, CriterionResult::NotApplicable);
    // Not knowing whether they opted in only matters when a PET criterion would exclude.
    let mut v = with(&lupex_ok(), &json!({"heart_transplant": true}));
    v["facts"].as_object_mut().unwrap().remove("pet_substudy");
    let s = screen(&p, &person(&p, &v)).unwrap();
    assert_eq!(s.verdict, Verdict::Incomplete);
    assert_eq!(s.missing, vec!["pet_substudy".to_string()]);
}

#[test]
fn theophylline_is_judged_relative_to_the_scan_date() {
    let p = load("lupex.toml");
    for (dose, verdict) in [
        ("2025-03-13", Verdict::Ineligible),
        ("2025-03-12", Verdict::Eligible),
        ("2025-03-27", Verdict::Ineligible),
    ] {
        let v = with(
            &lupex_ok(),
            &json!({"theophylline_ever": true, "theophylline_last_dose": dose}),
        );
        assert_eq!(
            screen(&p, &person(&p, &v)).unwrap().verdict,
            verdict,
            "dose {dose}, scan 2025-03-20"
        );
    }
}

#[test]
fn the_selena_sledai_threshold_is_strict() {
    let p = load("lupex.toml");
    let at10 = with(&lupex_ok(), &json!({"sledai_2k_selena": 10}));
    assert_eq!(
        screen(&p, &person(&p, &at10)).unwrap().verdict,
        Verdict::Eligible
    );
}

#[test]
fn bad_facts_are_clear_errors() {
    let p = load("lupex.toml");
    let e = person_from_json(&p, &with(&lupex_ok(), &json!({"pregnnt": true}))).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("facts.pregnnt: not a fact of protocol `lupex`"),
        "{e}"
    );
    let e = person_from_json(&p, &with(&lupex_ok(), &json!({"pregnant": "no"}))).unwrap_err();
    assert_eq!(
        e.to_string(),
        "facts.pregnant: expected true or false, found \"no\""
    );
    let e = person_from_json(&p, &with(&lupex_ok(), &json!({"sex": "f"}))).unwrap_err();
    assert!(
        e.to_string()
            .contains("not in code list `sex` (female, male)"),
        "{e}"
    );
    let e = person_from_json(
        &p,
        &with(
            &lupex_ok(),
            &json!({"prednisolone_dose": {"value": 5, "unit": "mmol/L"}}),
        ),
    )
    .unwrap_err();
    assert!(e.to_string().contains("does not convert"), "{e}");
    let mut v = lupex_ok();
    v["screening_date"] = json!("yesterday");
    assert!(person_from_json(&p, &v)
        .unwrap_err()
        .to_string()
        .contains("screening_date"));
}

/// Arbitrary LUPEX people: each fact present or absent with a random value.
fn arb_person() -> impl Strategy<Value = Value> {
    let ok = lupex_ok();
    let keys: Vec<String> = ok["facts"].as_object().unwrap().keys().cloned().collect();
    let n = keys.len();
    (
        prop::collection::vec(any::<bool>(), n),
        prop::collection::vec(any::<bool>(), n),
        0u32..30,
        1960i32..2010,
    )
        .prop_map(move |(present, flip, sledai, year)| {
            let mut v = ok.clone();
            let facts = v["facts"].as_object_mut().unwrap();
            for (i, k) in keys.iter().enumerate() {
                if !present[i] {
                    facts.remove(k);
                    continue;
                }
                if flip[i] {
                    let new = match &facts[k] {
                        Value::Bool(b) => json!(!b),
                        _ if k == "sledai_2k_selena" => json!(sledai),
                        _ if k == "birth_date" => json!(format!("{year}-05-05")),
                        _ if k == "systolic_bp_at_scan" => json!(80 + sledai * 5),
                        x => x.clone(),
                    };
                    facts.insert(k.clone(), new);
                }
            }
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn facts_never_turn_ineligible_into_eligible(full in arb_person(), drop in prop::collection::vec(any::<bool>(), 40)) {
        let p = load("lupex.toml");
        let all = screen(&p, &person(&p, &full)).unwrap();
        // Removing facts from an ineligible person never makes them eligible.
        let mut fewer = full.clone();
        let keys: Vec<String> = full["facts"].as_object().unwrap().keys().cloned().collect();
        for (i, k) in keys.iter().enumerate() {
            if drop.get(i).copied().unwrap_or(false) {
                fewer["facts"].as_object_mut().unwrap().remove(k);
            }
        }
        let less = screen(&p, &person(&p, &fewer)).unwrap();
        if all.verdict == Verdict::Ineligible {
            prop_assert_ne!(less.verdict, Verdict::Eligible);
        }
        // Adding facts to an ineligible person never makes them eligible.
        if less.verdict == Verdict::Ineligible {
            prop_assert_ne!(all.verdict, Verdict::Eligible);
        }
        // And an eligible verdict never has a missing fact.
        if all.verdict == Verdict::Eligible {
            prop_assert!(all.missing.is_empty());
        }
    }
}
