//! BILAG-2004: the numerical score (Yee et al., Rheumatology 2010;49:1665:
//! A = 12, B = 8, C = 1, D = E = 0) on hand-worked profiles, and the
//! grade-against-items checks at each domain's boundary (an item at 1 versus
//! all items at 0), as the grade definitions fix them.

use super::*;
use serde_json::{json, Value};

fn input(domains: Value) -> BilagInput {
    crate::parse_input(SCORE, &json!({ "domains": domains })).unwrap()
}

fn all(g: &str) -> serde_json::Map<String, Value> {
    Domain::ALL
        .iter()
        .map(|d| (d.as_str().to_string(), json!(g)))
        .collect()
}

fn with(g: &str, changes: Value) -> Value {
    let mut m = all(g);
    if let Value::Object(o) = changes {
        m.extend(o);
    }
    Value::Object(m)
}

/// Every item of `d` at 0, with `overrides`.
fn items(d: Domain, overrides: Value) -> Value {
    let mut m: serde_json::Map<String, Value> = d
        .items()
        .iter()
        .map(|i| (i.name.to_string(), json!(0)))
        .collect();
    if let Value::Object(o) = overrides {
        m.extend(o);
    }
    Value::Object(m)
}

#[test]
fn numerical_score_follows_yee_2010() {
    // Yee 2010 coding: one A, two B, three C, three D/E = 12 + 16 + 3 = 31.
    let r = score(&input(with(
        "E",
        json!({"renal": "A", "mucocutaneous": "B", "musculoskeletal": "B",
               "constitutional": "C", "haematological": "C", "cardiorespiratory": "C",
               "neuropsychiatric": "D"}),
    )))
    .unwrap();
    assert_eq!(r.total, 31);
    assert_eq!((r.count_a, r.count_b), (1, 2));
    assert_eq!(r.highest, Grade::A);
    assert_eq!(score(&input(Value::Object(all("A")))).unwrap().total, 108);
    assert_eq!(score(&input(Value::Object(all("B")))).unwrap().total, 72);
    assert_eq!(score(&input(Value::Object(all("C")))).unwrap().total, 9);
    assert_eq!(score(&input(Value::Object(all("D")))).unwrap().total, 0);
    let r = score(&input(Value::Object(all("E")))).unwrap();
    assert_eq!((r.total, r.highest), (0, Grade::E));
}

#[test]
fn every_domain_must_be_given_and_graded() {
    let mut m = all("E");
    m.remove("renal");
    m.remove("ophthalmic");
    let e = score(&input(Value::Object(m))).unwrap_err();
    assert_eq!(
        e.missing_fields().unwrap(),
        ["domains.ophthalmic", "domains.renal"]
    );
    let e = score(&input(with(
        "E",
        json!({"renal": {"items": {"systolic_bp": 120}}}),
    )))
    .unwrap_err();
    assert_eq!(e.missing_fields().unwrap(), ["domains.renal.grade"]);
    assert!(e.to_string().contains("scoring sheet"), "{e}");
}

#[test]
fn unknown_domains_items_and_grades_are_named() {
    let v = json!({"domains": with("E", json!({"skin": "A"}))});
    let e = crate::parse_input::<BilagInput>(SCORE, &v)
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown field `skin`"), "{e}");
    let v = json!({"domains": with("E", json!({"renal": "F"}))});
    let e = crate::parse_input::<BilagInput>(SCORE, &v)
        .unwrap_err()
        .to_string();
    assert!(e.contains("grade `F`"), "{e}");
    assert!(e.contains("domains.renal"), "{e}");
    let e = score(&input(with(
        "E",
        json!({"musculoskeletal": {"grade": "C", "items": {"arthritis": 2}}}),
    )))
    .unwrap_err()
    .to_string();
    assert!(e.contains("unknown item `arthritis`"), "{e}");
    assert!(e.contains("arthritis_mild_arthralgia_myalgia"), "{e}");
}

#[test]
fn item_values_outside_their_scale_are_errors() {
    let run = |d: &str, item: &str, v: Value| {
        score(&input(with(
            "E",
            json!({ d: {"grade": "C", "items": { item: v }} }),
        )))
        .unwrap_err()
        .to_string()
    };
    let e = run("constitutional", "pyrexia", json!(5));
    assert!(e.contains("domains.constitutional.items.pyrexia"), "{e}");
    assert!(e.contains("4 (new)"), "{e}");
    assert!(run("constitutional", "pyrexia", json!(-1)).contains("expected"));
    assert!(run("constitutional", "pyrexia", json!("2")).contains("expected"));
    assert!(run("constitutional", "pyrexia", json!(1.5)).contains("expected"));
    assert!(run("renal", "urine_dipstick_protein", json!(4)).contains("0-3"));
    assert!(run("renal", "urine_dipstick_protein", json!(1.5)).contains("0-3"));
    assert!(run("renal", "creatinine", json!(-3)).contains(">= 0"));
    assert!(run("renal", "nephrotic_syndrome", json!(1)).contains("true or false"));
    assert!(run("haematological", "ttp", json!(true)).contains("4 (new)"));
    // in range: accepted
    let r = score(&input(with(
        "E",
        json!({"renal": {"grade": "B", "items": {"urine_dipstick_protein": 2,
               "urine_protein_creatinine_ratio": 120.5, "nephrotic_syndrome": false}}}),
    )))
    .unwrap();
    let renal = &r.domains[7];
    assert_eq!(renal.items.len(), 3);
    assert!(renal.check.contains("not checked"), "{}", renal.check);
}

/// For each domain whose items are all on the activity scale: an item at 1
/// (improving) makes D and E impossible and A-C possible; every item at 0
/// makes A-C impossible and D-E possible.
#[test]
fn grade_against_items_at_each_domain_boundary() {
    for d in Domain::ALL.into_iter().filter(|d| d.activity_scale_only()) {
        let first = d.items()[0].name;
        let last = d.items()[d.items().len() - 1].name;
        for (item, value) in [(first, 1), (last, 1), (first, 4)] {
            let its = items(d, json!({ item: value }));
            for g in ["A", "B", "C"] {
                let r = score(&input(with(
                    "E",
                    json!({ d.as_str(): {"grade": g, "items": its.clone()} }),
                )));
                assert!(r.is_ok(), "{d:?} {g} with {item}={value}: {r:?}");
            }
            for g in ["D", "E"] {
                let e = score(&input(with(
                    "E",
                    json!({ d.as_str(): {"grade": g, "items": its.clone()} }),
                )))
                .unwrap_err()
                .to_string();
                assert!(e.contains(&format!("domains.{}.grade", d.as_str())), "{e}");
                assert!(e.contains(&format!("item `{item}` is {value}")), "{e}");
            }
        }
        let zeros = items(d, json!({}));
        for g in ["D", "E"] {
            assert!(score(&input(with(
                "E",
                json!({ d.as_str(): {"grade": g, "items": zeros.clone()} })
            )))
            .is_ok());
        }
        for g in ["A", "B", "C"] {
            let e = score(&input(with(
                "E",
                json!({ d.as_str(): {"grade": g, "items": zeros.clone()} }),
            )))
            .unwrap_err()
            .to_string();
            assert!(e.contains("every"), "{e}");
        }
        // one item not done: all-zero cannot be concluded, the grade stands
        let nd = items(d, json!({ first: "ND" }));
        let r = score(&input(with(
            "E",
            json!({ d.as_str(): {"grade": "C", "items": nd} }),
        )))
        .unwrap();
        assert!(r.domains.iter().any(|x| x.check.contains("incomplete")));
    }
}

#[test]
fn haematological_ttp_is_recorded_not_checked() {
    // haematological mixes laboratory values and the TTP activity item, so
    // its grade is not checked against items (the grading rule is left out).
    let r = score(&input(with(
        "E",
        json!({"haematological": {"grade": "E", "items": {"ttp": 3, "platelets": 40}}}),
    )))
    .unwrap();
    assert_eq!(r.grade(Domain::Haematological), Grade::E);
}

#[test]
fn result_converts_with_domains_as_groups() {
    let r: ScoreResult = score(&input(with(
        "E",
        json!({"musculoskeletal": {"grade": "B", "items": {"arthritis_moderate_tendonitis_tenosynovitis": 4}}}),
    )))
    .unwrap()
    .into();
    assert_eq!(r.total, 8.0);
    assert_eq!(r.max_total, 108.0);
    assert_eq!(r.groups.len(), 9);
    assert_eq!(r.groups[3].points, 8.0);
    assert_eq!(r.breakdown[0].value, "4 (new)");
    assert!(r.breakdown[0].present);
    assert_eq!(r.category.as_deref(), Some("highest grade B"));
}
