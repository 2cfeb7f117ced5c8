#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Form validation against the seed protocols and a SLEDAI-2K form itemised
//! for `rct-scores`. Expected numbers are computed by hand in each test.

use std::collections::BTreeMap;

use rct_core::forms::{
    validate_entry, validate_entry_with, validate_field, FieldError, FieldValue, FieldWarning,
};
use rct_core::protocol::{self, Protocol};
use rct_core::rules::{Fact, Value};
use serde_json::{json, Value as Json};

fn load(name: &str) -> Protocol {
    let path = format!("{}/../../protocols/{name}", env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(&path).unwrap();
    protocol::parse(&src, &path).unwrap()
}

fn entry(v: Json) -> BTreeMap<String, Json> {
    serde_json::from_value(v).unwrap()
}

fn number(v: &Option<FieldValue>) -> f64 {
    match v {
        Some(FieldValue::Number(x)) => *x,
        other => panic!("expected a number, found {other:?}"),
    }
}

#[test]
fn demographics_accepted_with_bmi_derived() {
    let p = load("lupex.toml");
    let c = validate_entry(
        &p,
        "demographics",
        &entry(json!({"weight": 70, "height": "175"})),
    )
    .unwrap();
    assert!(c.is_valid(), "{:?}", c.errors);
    assert!(c.warnings.is_empty());
    assert_eq!(c.values["weight"], FieldValue::Number(70.0));
    assert_eq!(c.values["height"], FieldValue::Number(175.0));
    // 70 / 1.75^2 = 22.857142857...
    assert!((number(&c.derived["bmi"].value) - 70.0 / (1.75 * 1.75)).abs() < 1e-9);
}

#[test]
fn hard_range_refuses_naming_field_value_and_range() {
    let p = load("lupex.toml");
    let c = validate_entry(
        &p,
        "demographics",
        &entry(json!({"weight": 300, "height": 175})),
    )
    .unwrap();
    assert!(!c.is_valid());
    assert_eq!(c.errors.len(), 1);
    let e = &c.errors[0];
    assert!(
        matches!(e, FieldError::HardRange { low, high, value, .. } if *low == 30.0 && *high == 250.0 && *value == 300.0)
    );
    assert_eq!(e.field(), Some("weight"));
    assert_eq!(
        e.to_string(),
        "demographics.weight: 300 kg is outside the hard range [30, 250] kg: refused; check the value and its unit"
    );
    assert!(!c.values.contains_key("weight"));
    // BMI cannot be computed without an accepted weight
    assert_eq!(c.derived["bmi"].value, None);
    assert_eq!(c.derived["bmi"].missing, ["weight"]);
}

#[test]
fn soft_range_warns_but_accepts() {
    let p = load("lupex.toml");
    let c = validate_entry(
        &p,
        "demographics",
        &entry(json!({"weight": 160, "height": 200})),
    )
    .unwrap();
    assert!(c.is_valid(), "{:?}", c.errors);
    assert_eq!(c.values["weight"], FieldValue::Number(160.0));
    assert_eq!(c.warnings.len(), 1);
    let w = &c.warnings[0];
    assert_eq!(w.field(), "weight");
    assert!(
        matches!(w, FieldWarning::SoftRange { low, high, .. } if *low == 40.0 && *high == 150.0)
    );
    assert_eq!(
        w.to_string(),
        "demographics.weight: 160 kg is outside the expected range [40, 150] kg: accepted; please confirm it"
    );
    // 160 / 2^2 = 40
    assert!((number(&c.derived["bmi"].value) - 40.0).abs() < 1e-9);
}

#[test]
fn required_fields_must_have_values() {
    let p = load("lupex.toml");
    let c = validate_entry(
        &p,
        "demographics",
        &entry(json!({"weight": "70", "height": ""})),
    )
    .unwrap();
    assert_eq!(c.errors.len(), 1);
    assert_eq!(
        c.errors[0].to_string(),
        "demographics.height: Height is required"
    );
    assert_eq!(c.derived["bmi"].missing, ["height"]);
    // an optional field may be left out
    let c = validate_entry(
        &p,
        "cpet",
        &entry(json!({"vo2max_abs": 2800, "weight": 70})),
    )
    .unwrap();
    assert!(c.is_valid(), "{:?}", c.errors);
    assert!(!c.values.contains_key("hrmax"));
}

#[test]
fn vo2max_relative_is_derived_with_units() {
    let p = load("lupex.toml");
    // 2800 mL/min / 70 kg = 40 mL/kg/min
    let c = validate_entry(
        &p,
        "cpet",
        &entry(json!({"vo2max_abs": 2800, "weight": 70})),
    )
    .unwrap();
    assert!(c.is_valid(), "{:?}", c.errors);
    let d = &c.derived["vo2max_rel"];
    assert_eq!(d.value, Some(FieldValue::Number(40.0)));
    assert_eq!(d.unit.as_deref(), Some("mL/kg/min"));
    // 2.45 L/min is 2450 mL/min; 70000 g is 70 kg: 2450 / 70 = 35 mL/kg/min
    let c = validate_entry(
        &p,
        "cpet",
        &entry(json!({"vo2max_abs": "2.45 L/min", "weight": {"value": 70000, "unit": "g"}})),
    )
    .unwrap();
    assert!(c.is_valid(), "{:?}", c.errors);
    assert!((number(&Some(c.values["vo2max_abs"].clone())) - 2450.0).abs() < 1e-9);
    assert!((number(&Some(c.values["weight"].clone())) - 70.0).abs() < 1e-9);
    assert!((number(&c.derived["vo2max_rel"].value) - 35.0).abs() < 1e-9);
}

#[test]
fn units_convert_where_the_unit_table_allows_and_are_refused_otherwise() {
    let p = load("lupex.toml");
    // 1200 mg/day = 1.2 g/24h
    let f = validate_field(&p, "sledai", "proteinuria", &json!("1200 mg/day")).unwrap();
    assert!((number(&f.value) - 1.2).abs() < 1e-12);
    assert!(f.warnings.is_empty());
    let e = validate_field(&p, "demographics", "weight", &json!("154 lb")).unwrap_err();
    assert!(matches!(e, FieldError::Unit { .. }));
    assert_eq!(
        e.to_string(),
        "demographics.weight: 'lb' does not convert into the field's unit 'kg': give the value in kg"
    );
    let e = validate_field(&p, "cpet", "rer_peak", &json!("1.1 kg")).unwrap_err();
    assert!(e.to_string().contains("without a unit"), "{e}");
    // hard and soft ranges apply after conversion: 12 g/24h warns, 40 000 mg/day (40 g) is refused
    let f = validate_field(&p, "sledai", "proteinuria", &json!("12 g/24h")).unwrap();
    assert_eq!(f.warnings.len(), 1);
    let e = validate_field(&p, "sledai", "proteinuria", &json!("40000 mg/day")).unwrap_err();
    assert!(matches!(e, FieldError::HardRange { value, .. } if (value - 40.0).abs() < 1e-9));
}

#[test]
fn types_are_checked() {
    let p = load("lupex.toml");
    let e = validate_field(&p, "demographics", "weight", &json!("heavy")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "demographics.weight: expected a number (in kg), found \"heavy\""
    );
    let e = validate_field(&p, "sledai", "total", &json!(7.5)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "sledai.total: expected a whole number, found 7.5"
    );
    assert_eq!(
        validate_field(&p, "sledai", "total", &json!("12"))
            .unwrap()
            .value,
        Some(FieldValue::Integer(12))
    );
    let e = validate_field(&p, "exercise_session", "date", &json!("2026-02-30")).unwrap_err();
    assert!(e.to_string().contains("a date (YYYY-MM-DD)"), "{e}");
    assert_eq!(
        validate_field(&p, "exercise_session", "date", &json!("2026-02-28"))
            .unwrap()
            .value,
        Some(FieldValue::Date(
            chrono::NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()
        ))
    );
    assert_eq!(
        validate_field(&p, "exercise_session", "attended", &json!("yes"))
            .unwrap()
            .value,
        Some(FieldValue::Boolean(true))
    );
    assert!(validate_field(&p, "exercise_session", "attended", &json!("perhaps")).is_err());
    assert_eq!(
        validate_field(&p, "examination", "notes", &json!("normal"))
            .unwrap()
            .value,
        Some(FieldValue::Text("normal".into()))
    );
    assert!(validate_field(&p, "examination", "notes", &json!(3)).is_err());
}

#[test]
fn choices_must_be_codes_of_the_list() {
    let p = load("il2-sle.toml");
    let f = validate_field(&p, "response", "sri4", &json!("responder")).unwrap();
    assert_eq!(f.value, Some(FieldValue::Text("responder".into())));
    let e = validate_field(&p, "response", "sri4", &json!("partial")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "response.sri4: `partial` is not a code of list `sri4`; expected one of: responder (SRI-4 responder), non_responder (Non-responder)"
    );
}

#[test]
fn unknown_forms_fields_and_entered_derived_values_are_refused() {
    let p = load("lupex.toml");
    let e = validate_entry(&p, "vitals", &BTreeMap::new()).unwrap_err();
    assert!(matches!(e, FieldError::UnknownForm { .. }));
    assert!(
        e.to_string().starts_with(
            "form `vitals` is not in protocol `lupex`; expected one of: demographics, sledai, cpet"
        ),
        "{e}"
    );
    let c = validate_entry(
        &p,
        "demographics",
        &entry(json!({"weight": 70, "height": 175, "bmi": 25, "waist": 80})),
    )
    .unwrap();
    let msgs: Vec<String> = c.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        msgs,
        [
            "demographics.waist: not a field of form `demographics`; expected one of: weight, height, bmi",
            "demographics.bmi: is derived (`weight / ((height / 100) * (height / 100))`) and cannot be entered",
        ]
    );
}

#[test]
fn fss_score_is_computed_by_rct_scores() {
    let p = load("lupex.toml");
    // 4+5+6+3+4+5+6+7+2 = 42; 42 / 9 = 4.667
    let answers = [4, 5, 6, 3, 4, 5, 6, 7, 2];
    let mut e = BTreeMap::new();
    for (i, a) in answers.iter().enumerate() {
        e.insert(format!("q{}", i + 1), json!(a));
    }
    let c = validate_entry(&p, "fss", &e).unwrap();
    assert!(c.is_valid(), "{:?}", c.errors);
    assert!((number(&c.derived["score"].value) - 42.0 / 9.0).abs() < 1e-12);
    // an item outside 1-7 is refused by the field's hard range; the score then waits for it
    e.insert("q3".into(), json!(8));
    let c = validate_entry(&p, "fss", &e).unwrap();
    assert_eq!(c.errors.len(), 1);
    assert_eq!(c.derived["score"].value, None);
    assert_eq!(c.derived["score"].missing, ["q3"]);
}

/// A protocol whose SLEDAI-2K form holds the 24 descriptors; the total is
/// derived by rct-scores with the SELENA proteinuria rule, and a second total
/// with the original rule.
const SLEDAI_PROTOCOL: &str = r#"
units = ["g/24h", "C", "10^9/L", "kg", "cm"]

[trial]
id = "sledai-form"
title = "A form test"
sponsor = "test"
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
blinded = []

[randomisation]
design = "pbr:4"

[[facts]]
id = "birth_date"
label = "Date of birth"
type = "date"

[[forms]]
id = "sledai"
label = "SLEDAI-2K"
fields = [
  { id = "seizure", label = "Seizure", type = "boolean", required = true },
  { id = "psychosis", label = "Psychosis", type = "boolean", required = true },
  { id = "organic_brain_syndrome", label = "Organic brain syndrome", type = "boolean", required = true },
  { id = "visual_disturbance", label = "Visual disturbance", type = "boolean", required = true },
  { id = "cranial_nerve_disorder", label = "Cranial nerve disorder", type = "boolean", required = true },
  { id = "lupus_headache", label = "Lupus headache", type = "boolean", required = true },
  { id = "cva", label = "CVA", type = "boolean", required = true },
  { id = "vasculitis", label = "Vasculitis", type = "boolean", required = true },
  { id = "arthritis", label = "Arthritis", type = "boolean", required = true },
  { id = "myositis", label = "Myositis", type = "boolean", required = true },
  { id = "urinary_casts", label = "Urinary casts", type = "boolean", required = true },
  { id = "haematuria", label = "Haematuria (RBC/hpf)", type = "number", required = true, hard = [0, 1000] },
  { id = "proteinuria", label = "Proteinuria", type = "number", unit = "g/24h", required = true, hard = [0, 30] },
  { id = "proteinuria_previous", label = "Proteinuria, previous", type = "number", unit = "g/24h", hard = [0, 30] },
  { id = "pyuria", label = "Pyuria (WBC/hpf)", type = "number", required = true, hard = [0, 1000] },
  { id = "rash", label = "Rash", type = "boolean", required = true },
  { id = "alopecia", label = "Alopecia", type = "boolean", required = true },
  { id = "mucosal_ulcers", label = "Mucosal ulcers", type = "boolean", required = true },
  { id = "pleurisy", label = "Pleurisy", type = "boolean", required = true },
  { id = "pericarditis", label = "Pericarditis", type = "boolean", required = true },
  { id = "low_complement", label = "Low complement", type = "boolean", required = true },
  { id = "increased_dna_binding", label = "Increased DNA binding", type = "boolean", required = true },
  { id = "fever", label = "Temperature", type = "number", unit = "C", required = true, hard = [30, 45] },
  { id = "thrombocytopenia", label = "Platelets", type = "number", unit = "10^9/L", required = true, hard = [0, 2000] },
  { id = "leukopenia", label = "White cells", type = "number", unit = "10^9/L", required = true, hard = [0, 500] },
  { id = "total", label = "SLEDAI-2K (SELENA)", type = "integer", derived = "sledai2k(\"selena\")", hard = [0, 105], soft = [0, 20] },
  { id = "total_2k", label = "SLEDAI-2K (original proteinuria rule)", type = "integer", derived = "sledai2k()" },
  { id = "high", label = "High activity (> 10)", type = "boolean", derived = "total > 10" },
]

[[forms]]
id = "anthro"
label = "Anthropometry with age"
fields = [
  { id = "weight", label = "Weight", type = "number", unit = "kg", required = true, hard = [30, 250] },
  { id = "height", label = "Height", type = "number", unit = "cm", required = true, hard = [100, 230] },
  { id = "visit_date", label = "Visit date", type = "date", required = true },
  { id = "age", label = "Age at the visit", type = "integer", derived = "years_between(birth_date, visit_date)" },
]
"#;

/// The SLEDAI-2K example of docs/scores.md (crates/scores/testdata/sledai2k.json):
/// arthritis 4 + haematuria 8/hpf 4 + rash 2 + low complement 2 + DNA binding
/// 2 + leukopenia 2.8 1 = 15 under SELENA (proteinuria 1.2 vs 1.1 g/24h is
/// stable: 0), 19 with the original rule (proteinuria > 0.5 scores 4).
fn sledai_example() -> BTreeMap<String, Json> {
    let mut e = BTreeMap::new();
    for d in [
        "seizure",
        "psychosis",
        "organic_brain_syndrome",
        "visual_disturbance",
        "cranial_nerve_disorder",
        "lupus_headache",
        "cva",
        "vasculitis",
        "myositis",
        "urinary_casts",
        "alopecia",
        "mucosal_ulcers",
        "pleurisy",
        "pericarditis",
    ] {
        e.insert(d.to_string(), json!("no"));
    }
    for d in [
        "arthritis",
        "rash",
        "low_complement",
        "increased_dna_binding",
    ] {
        e.insert(d.to_string(), json!("yes"));
    }
    e.insert("haematuria".into(), json!(8));
    e.insert("proteinuria".into(), json!("1.2"));
    e.insert("proteinuria_previous".into(), json!("1100 mg/day"));
    e.insert("pyuria".into(), json!(2));
    e.insert("fever".into(), json!("37.2"));
    e.insert("thrombocytopenia".into(), json!(180));
    e.insert("leukopenia".into(), json!(2.8));
    e
}

#[test]
fn sledai_total_is_derived_by_rct_scores_from_the_items() {
    let p = protocol::parse(SLEDAI_PROTOCOL, "sledai-form.toml").unwrap();
    let c = validate_entry(&p, "sledai", &sledai_example()).unwrap();
    assert!(c.is_valid(), "{:?}", c.errors);
    assert_eq!(c.derived["total"].value, Some(FieldValue::Integer(15)));
    assert_eq!(c.derived["total_2k"].value, Some(FieldValue::Integer(19)));
    // a derived field reading another derived field: 15 > 10
    assert_eq!(c.derived["high"].value, Some(FieldValue::Boolean(true)));
    assert!(c.warnings.is_empty());
}

#[test]
fn sledai_waits_for_every_item_and_names_the_missing_ones() {
    let p = protocol::parse(SLEDAI_PROTOCOL, "sledai-form.toml").unwrap();
    let mut e = sledai_example();
    e.remove("seizure");
    e.insert("cva".into(), json!(""));
    let c = validate_entry(&p, "sledai", &e).unwrap();
    // both are required: two refusals
    assert_eq!(c.errors.len(), 2);
    assert_eq!(c.derived["total"].value, None);
    assert_eq!(c.derived["total"].missing, ["cva", "seizure"]);
    assert_eq!(c.derived["high"].value, None);
    // SELENA without the previous proteinuria cannot score proteinuria 1.2 g/24h
    let mut e = sledai_example();
    e.remove("proteinuria_previous");
    let c = validate_entry(&p, "sledai", &e).unwrap();
    assert!(c.is_valid(), "{:?}", c.errors);
    assert_eq!(c.derived["total"].missing, ["proteinuria_previous"]);
    assert_eq!(c.derived["total_2k"].value, Some(FieldValue::Integer(19)));
}

#[test]
fn sledai_soft_range_of_a_derived_field_warns() {
    let p = protocol::parse(SLEDAI_PROTOCOL, "sledai-form.toml").unwrap();
    let mut e = sledai_example();
    // + seizure 8 + psychosis 8 = 31 under SELENA, above the soft 20
    e.insert("seizure".into(), json!(true));
    e.insert("psychosis".into(), json!(true));
    let c = validate_entry(&p, "sledai", &e).unwrap();
    assert_eq!(c.derived["total"].value, Some(FieldValue::Integer(31)));
    assert_eq!(c.warnings.len(), 1);
    assert_eq!(c.warnings[0].field(), "total");
}

#[test]
fn derived_rules_may_read_context_facts() {
    let p = protocol::parse(SLEDAI_PROTOCOL, "sledai-form.toml").unwrap();
    let e = entry(json!({"weight": 70, "height": 175, "visit_date": "2026-03-01"}));
    let c = validate_entry(&p, "anthro", &e).unwrap();
    assert_eq!(c.derived["age"].missing, ["birth_date"]);
    let ctx = BTreeMap::from([(
        "birth_date".to_string(),
        Fact::of(Value::Date(
            chrono::NaiveDate::from_ymd_opt(1980, 3, 2).unwrap(),
        )),
    )]);
    let c = validate_entry_with(&p, "anthro", &e, &ctx).unwrap();
    // 1980-03-02 to 2026-03-01: the 46th birthday is a day away
    assert_eq!(c.derived["age"].value, Some(FieldValue::Integer(45)));
}

#[test]
fn form_check_serialises_for_the_api() {
    let p = load("lupex.toml");
    let c = validate_entry(
        &p,
        "demographics",
        &entry(json!({"weight": 300, "height": 175})),
    )
    .unwrap();
    let j = serde_json::to_value(&c).unwrap();
    assert_eq!(j["errors"][0]["kind"], "hard_range");
    assert_eq!(j["errors"][0]["field"], "weight");
    assert_eq!(j["values"]["height"], 175.0);
    assert_eq!(j["derived"]["bmi"]["missing"][0], "weight");
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    fn any_json() -> impl Strategy<Value = Json> {
        prop_oneof![
            Just(Json::Null),
            any::<bool>().prop_map(Json::Bool),
            any::<f64>().prop_map(|x| json!(x)),
            any::<i64>().prop_map(|x| json!(x)),
            ".{0,12}".prop_map(Json::String),
            "[0-9.,eE+-]{1,8} ?(kg|g|mL/min|L/min|mg/day|g/24h|lb|%|)".prop_map(Json::String),
            (any::<f64>(), "(kg|g|cm|mL|)").prop_map(|(v, u)| json!({"value": v, "unit": u})),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn any_value_in_any_field_is_accepted_or_refused(
            form in 0usize..7,
            field in 0usize..10,
            v in any_json(),
        ) {
            let p = load("lupex.toml");
            let f = &p.forms[form % p.forms.len()];
            let fl = &f.fields[field % f.fields.len()];
            let id = fl.id.get_ref().clone();
            match validate_field(&p, f.id.get_ref(), &id, &v) {
                Ok(c) => {
                    if let Some(x) = c.value.as_ref().and_then(|v| match v {
                        FieldValue::Number(x) => Some(*x),
                        FieldValue::Integer(i) => Some(*i as f64),
                        _ => None,
                    }) {
                        prop_assert!(x.is_finite());
                        if let Some(h) = &fl.hard {
                            let [lo, hi] = *h.get_ref();
                            prop_assert!(lo <= x && x <= hi);
                        }
                    }
                }
                Err(e) => prop_assert_eq!(e.field(), Some(id.as_str())),
            }
            let entry = BTreeMap::from([(id.clone(), v)]);
            let c = validate_entry(&p, f.id.get_ref(), &entry).unwrap();
            for d in c.derived.values() {
                if let Some(FieldValue::Number(x)) = d.value {
                    prop_assert!(x.is_finite());
                }
            }
        }
    }
}

/// A field's `decimals` is enforced on the value as given (REDCap's
/// "number (1 decimal place)" validation does the same): 70.25 kg is
/// refused at one decimal place (also as `70.25 kg`), 70.2 and 70.20 are
/// taken; a value converted from another unit is not counted (the
/// conversion makes places no one typed).
#[test]
fn decimals_are_enforced_on_the_value_as_given() {
    let path = format!("{}/../../protocols/lupex.toml", env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(&path).unwrap().replacen(
        r#"{ id = "weight", label = "Body weight", type = "number", unit = "kg", required = true,"#,
        r#"{ id = "weight", label = "Body weight", type = "number", unit = "kg", decimals = 1, required = true,"#,
        1,
    );
    let p = protocol::parse(&src, &path).unwrap();
    let e = validate_field(&p, "demographics", "weight", &json!("70.25")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "demographics.weight: `\"70.25\"` has 2 decimal places; the field takes at most 1 (round it as the source document does, or correct the protocol's `decimals`)"
    );
    assert!(matches!(
        validate_field(&p, "demographics", "weight", &json!(70.25)),
        Err(FieldError::Decimals {
            places: 2,
            decimals: 1,
            ..
        })
    ));
    for ok in [json!("70.2"), json!("70.20"), json!(70), json!(70.2)] {
        assert!(
            validate_field(&p, "demographics", "weight", &ok).is_ok(),
            "{ok}"
        );
    }
    assert!(validate_field(&p, "demographics", "weight", &json!("70.25 kg")).is_err());
    let g = validate_field(&p, "cpet", "weight", &json!("70.25 kg"));
    assert!(g.is_ok(), "a field without decimals: {g:?}");
    // Without `decimals`, any number of places is taken (the seed protocols).
    let seed = load("lupex.toml");
    assert!(validate_field(&seed, "demographics", "weight", &json!("70.25")).is_ok());
}
