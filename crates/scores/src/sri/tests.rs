//! Hand-worked cases at every boundary of the SRI rule (Furie et al.,
//! Arthritis Rheum 2009;61:1143): SLEDAI-2K reduction 3 versus 4 (and 4/5/6
//! for SRI-5 and SRI-6), one new B versus two new B, a new A, PGA +0.29
//! versus +0.30.

use super::*;
use serde_json::{json, Value};

use Grade::{A, B, C, D, E};

fn comp(sledai: u32, bilag: [Grade; 9], pga_hundredths: u16) -> Components {
    Components {
        sledai2k: sledai,
        bilag,
        pga: Pga::from_hundredths(pga_hundredths).unwrap(),
    }
}

/// Baseline: SLEDAI 10; mucocutaneous B, musculoskeletal B, renal C,
/// haematological C, the rest D/E; PGA 1.50.
fn baseline() -> Components {
    comp(10, [D, B, E, B, D, E, E, C, C], 150)
}

#[test]
fn sledai_reduction_3_fails_and_4_passes() {
    // 10 -> 7 is a reduction of 3: not an SRI-4 responder; 10 -> 6 is 4.
    let b = baseline();
    let r = evaluate(&b, &comp(7, b.bilag, 150), SriLevel::Sri4);
    assert_eq!(r.sledai_reduction, 3);
    assert!(!r.responder);
    assert_eq!(r.failed, [Criterion::SledaiReduction]);
    let r = evaluate(&b, &comp(6, b.bilag, 150), SriLevel::Sri4);
    assert_eq!(r.sledai_reduction, 4);
    assert!(r.responder, "{r:?}");
    assert!(r.failed.is_empty());
}

#[test]
fn sri5_and_sri6_raise_the_sledai_threshold() {
    let b = baseline();
    for (visit, sri4, sri5, sri6) in [
        (6, true, false, false),
        (5, true, true, false),
        (4, true, true, true),
    ] {
        let v = comp(visit, b.bilag, 150);
        assert_eq!(
            evaluate(&b, &v, SriLevel::Sri4).responder,
            sri4,
            "visit {visit}"
        );
        assert_eq!(
            evaluate(&b, &v, SriLevel::Sri5).responder,
            sri5,
            "visit {visit}"
        );
        assert_eq!(
            evaluate(&b, &v, SriLevel::Sri6).responder,
            sri6,
            "visit {visit}"
        );
    }
    assert!(SriLevel::from_reduction(7).is_err());
    assert_eq!(SriLevel::from_reduction(5).unwrap(), SriLevel::Sri5);
}

#[test]
fn a_sledai_increase_is_a_negative_reduction() {
    let b = baseline();
    let r = evaluate(&b, &comp(14, b.bilag, 150), SriLevel::Sri4);
    assert_eq!(r.sledai_reduction, -4);
    assert!(!r.sledai_met);
}

#[test]
fn one_new_b_passes_two_new_b_fail() {
    let b = baseline();
    // constitutional D -> B: one new B
    let one = comp(6, [B, B, E, B, D, E, E, C, C], 150);
    let r = evaluate(&b, &one, SriLevel::Sri4);
    assert_eq!(r.new_b, [Domain::Constitutional]);
    assert!(r.bilag_met && r.responder);
    // and renal C -> B: two new B
    let two = comp(6, [B, B, E, B, D, E, E, B, C], 150);
    let r = evaluate(&b, &two, SriLevel::Sri4);
    assert_eq!(r.new_b, [Domain::Constitutional, Domain::Renal]);
    assert!(!r.bilag_met && !r.responder);
    assert_eq!(r.failed, [Criterion::AtMostOneNewBilagB]);
}

#[test]
fn a_domain_that_stays_b_or_improves_from_a_to_b_is_not_new() {
    let b = comp(10, [A, B, E, B, D, E, E, C, C], 150);
    let v = comp(6, [B, B, E, B, D, E, E, C, C], 150);
    let r = evaluate(&b, &v, SriLevel::Sri4);
    assert!(r.new_a.is_empty() && r.new_b.is_empty());
    assert!(r.responder);
}

#[test]
fn a_new_a_fails_whatever_it_was_before() {
    let b = baseline();
    // mucocutaneous B -> A is a new A (it was not A at baseline)
    let r = evaluate(
        &b,
        &comp(6, [D, A, E, B, D, E, E, C, C], 150),
        SriLevel::Sri4,
    );
    assert_eq!(r.new_a, [Domain::Mucocutaneous]);
    assert!(r.new_b.is_empty());
    assert_eq!(r.failed, [Criterion::NoNewBilagA]);
    // renal C -> A as well; an A that was A at baseline is not new
    let b2 = comp(10, [D, A, E, B, D, E, E, C, C], 150);
    let r = evaluate(
        &b2,
        &comp(6, [D, A, E, B, D, E, E, A, C], 150),
        SriLevel::Sri4,
    );
    assert_eq!(r.new_a, [Domain::Renal]);
    assert!(!r.responder);
}

#[test]
fn pga_plus_0_29_passes_plus_0_30_fails() {
    let b = baseline(); // PGA 1.50
    let r = evaluate(&b, &comp(6, b.bilag, 179), SriLevel::Sri4);
    assert_eq!(r.pga_change_hundredths, 29);
    assert!(r.pga_met && r.responder);
    let r = evaluate(&b, &comp(6, b.bilag, 180), SriLevel::Sri4);
    assert_eq!(r.pga_change_hundredths, 30);
    assert!(!r.pga_met && !r.responder);
    assert_eq!(r.failed, [Criterion::PgaWorsening]);
    // improvement passes
    assert!(evaluate(&b, &comp(6, b.bilag, 0), SriLevel::Sri4).pga_met);
}

#[test]
fn pga_boundary_through_json_decimals() {
    // 0.1 -> 0.4 is +0.30 (0.4 - 0.1 = 0.30000000000000004 in binary);
    // 0.1 -> 0.39 is +0.29 (0.39 - 0.1 = 0.29000000000000004).
    let visit = |pga: Value| -> SriVisit {
        serde_json::from_value(json!({
            "sledai2k": 4,
            "bilag2004": {"domains": all_grades("D")},
            "pga": pga
        }))
        .unwrap()
    };
    let base: SriVisit = serde_json::from_value(json!({
        "sledai2k": 8,
        "bilag2004": {"domains": all_grades("D")},
        "pga": 0.1
    }))
    .unwrap();
    let r = sri(&base, &visit(json!(0.4)), SriLevel::Sri4).unwrap();
    assert_eq!(r.pga_change_hundredths, 30);
    assert!(!r.responder);
    let r = sri(&base, &visit(json!(0.39)), SriLevel::Sri4).unwrap();
    assert_eq!(r.pga_change_hundredths, 29);
    assert!(r.responder);
}

fn all_grades(g: &str) -> Value {
    let mut m = serde_json::Map::new();
    for d in Domain::ALL {
        m.insert(d.as_str().to_string(), json!(g));
    }
    Value::Object(m)
}

#[test]
fn every_failed_criterion_is_listed_in_order() {
    let b = baseline();
    let v = comp(9, [A, B, B, B, B, E, E, C, C], 200);
    let r = evaluate(&b, &v, SriLevel::Sri4);
    assert_eq!(
        r.failed,
        [
            Criterion::SledaiReduction,
            Criterion::NoNewBilagA,
            Criterion::AtMostOneNewBilagB,
            Criterion::PgaWorsening
        ]
    );
    let t = r.to_text();
    assert!(t.contains("responder: no"), "{t}");
    assert!(t.contains("new A: constitutional"), "{t}");
    assert!(t.contains("change +0.50"), "{t}");
}

#[test]
fn sledai_can_be_given_as_descriptors() {
    let mut ds = serde_json::Map::new();
    for def in crate::sledai::DESCRIPTORS {
        ds.insert(def.name.to_string(), json!(false));
    }
    ds.insert("arthritis".into(), json!(true));
    ds.insert("rash".into(), json!(true));
    let v: SriVisit = serde_json::from_value(json!({
        "sledai2k": {"descriptors": ds},
        "bilag2004": {"domains": all_grades("E")},
        "pga": "0.5"
    }))
    .unwrap();
    assert_eq!(v.components().unwrap().sledai2k, 6);
}

#[test]
fn bad_visits_are_clear_errors() {
    let e = serde_json::from_value::<SriVisit>(json!({
        "sledai2k": 106, "bilag2004": {"domains": all_grades("E")}, "pga": 1
    }))
    .unwrap_err()
    .to_string();
    assert!(e.contains("0-105"), "{e}");
    let e = serde_json::from_value::<SriVisit>(json!({
        "sledai2k": 4, "bilag2004": {"domains": all_grades("E")}, "pga": 3.5
    }))
    .unwrap_err()
    .to_string();
    assert!(e.contains("outside the PGA scale"), "{e}");
    let e = serde_json::from_value::<SriVisit>(json!({
        "sledai2k": 4, "bilag2004": {"domains": all_grades("E")}, "pga": 1, "sga": 2
    }))
    .unwrap_err()
    .to_string();
    assert!(e.contains("unknown field `sga`"), "{e}");
}
