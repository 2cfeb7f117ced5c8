#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Invariants of the scores over generated inputs.

use proptest::prelude::*;
use rct_scores::{eular, fss, score_by_name, sledai, ScoreResult};
use serde_json::{json, Map, Value};

/// A SLEDAI descriptor value: a judgement or a measurement around its threshold.
fn sledai_value(name: &'static str) -> BoxedStrategy<Value> {
    let b = any::<bool>().prop_map(Value::Bool).boxed();
    match name {
        "haematuria" => {
            prop_oneof![b, (0.0..20.0f64).prop_map(|x| json!({"rbc_per_hpf": x}))].boxed()
        }
        "pyuria" => prop_oneof![b, (0.0..20.0f64).prop_map(|x| json!({"wbc_per_hpf": x}))].boxed(),
        "fever" => {
            prop_oneof![b, (35.0..41.0f64).prop_map(|x| json!({"temperature_c": x}))].boxed()
        }
        "thrombocytopenia" => prop_oneof![
            b,
            (0.0..400.0f64).prop_map(|x| json!({"platelets_10e9_per_l": x}))
        ]
        .boxed(),
        "leukopenia" => {
            prop_oneof![b, (0.0..12.0f64).prop_map(|x| json!({"wbc_10e9_per_l": x}))].boxed()
        }
        // a bare `true` is not enough for the SELENA rule (tested elsewhere)
        "proteinuria" => prop_oneof![
            Just(json!(false)),
            (0.0..5.0f64, 0.0..5.0f64)
                .prop_map(|(g, p)| json!({"g_per_24h": g, "previous_g_per_24h": p})),
            (any::<bool>(), any::<bool>())
                .prop_map(|(p, n)| json!({"present": p, "new_or_increased": n})),
        ]
        .boxed(),
        _ => b,
    }
}

fn sledai_input() -> impl Strategy<Value = Value> {
    let parts: Vec<BoxedStrategy<Value>> = sledai::DESCRIPTORS
        .iter()
        .map(|d| sledai_value(d.name))
        .collect();
    (parts, any::<bool>(), proptest::option::of(0u32..60)).prop_map(|(vals, selena, prev)| {
        let mut ds = Map::new();
        for (d, v) in sledai::DESCRIPTORS.iter().zip(vals) {
            ds.insert(d.name.to_string(), v);
        }
        let mut input = json!({
            "descriptors": ds,
            "proteinuria_rule": if selena { "selena" } else { "sledai2k" },
        });
        if let Some(p) = prev {
            input["previous_score"] = json!(p);
        }
        input
    })
}

const EULAR_BOOL_ITEMS: [&str; 18] = [
    "autoimmune_haemolysis",
    "delirium",
    "psychosis",
    "seizure",
    "non_scarring_alopecia",
    "oral_ulcers",
    "subacute_cutaneous_or_discoid_lupus",
    "acute_cutaneous_lupus",
    "pleural_or_pericardial_effusion",
    "acute_pericarditis",
    "joint_involvement",
    "lupus_nephritis_class_ii_or_v",
    "lupus_nephritis_class_iii_or_iv",
    "antiphospholipid_antibodies",
    "low_c3",
    "low_c4",
    "anti_dsdna",
    "anti_sm",
];

fn eular_input() -> impl Strategy<Value = Value> {
    (
        proptest::collection::vec(any::<bool>(), 18),
        36.0..40.0f64,
        0.0..10.0f64,
        0.0..300.0f64,
        0.0..2.0f64,
        prop_oneof![
            Just(json!(true)),
            (0u32..700).prop_map(|t| json!(format!("1:{t}")))
        ],
    )
        .prop_map(|(bools, t, w, p, g, ana)| {
            let mut items = Map::new();
            for (n, b) in EULAR_BOOL_ITEMS.iter().zip(bools) {
                items.insert((*n).to_string(), Value::Bool(b));
            }
            items.insert("fever".into(), json!({"temperature_c": t}));
            items.insert("leukopenia".into(), json!({"wbc_10e9_per_l": w}));
            items.insert(
                "thrombocytopenia".into(),
                json!({"platelets_10e9_per_l": p}),
            );
            items.insert("proteinuria".into(), json!({"g_per_24h": g}));
            json!({"ana": ana, "items": items})
        })
}

/// Arbitrary JSON, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<f64>().prop_map(|f| json!(f)),
        "[a-z_0-9:]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 10, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..10).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("descriptors".to_string()),
                    Just("items".to_string()),
                    Just("criteria".to_string()),
                    Just("ana".to_string()),
                    Just("proteinuria".to_string()),
                    "[a-z_]{1,10}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sledai_total_in_0_to_105_and_is_the_sum_of_points(input in sledai_input()) {
        let r: ScoreResult = score_by_name("sledai2k", &input).unwrap();
        prop_assert!((0.0..=105.0).contains(&r.total));
        let sum: f64 = r.breakdown.iter().map(|b| b.points).sum();
        prop_assert_eq!(sum, r.total);
        for b in &r.breakdown {
            prop_assert!(b.points == 0.0 || Some(b.points) == b.weight);
            prop_assert!(b.present || b.points == 0.0);
        }
    }

    #[test]
    fn selena_never_scores_more_than_sledai2k(input in sledai_input()) {
        let mut a = input.clone();
        a["proteinuria_rule"] = json!("sledai2k");
        let mut s = input;
        s["proteinuria_rule"] = json!("selena");
        let a = score_by_name("sledai2k", &a).unwrap().total;
        let s = score_by_name("sledai2k", &s).unwrap().total;
        prop_assert!(s <= a && a - s <= 4.0);
    }

    #[test]
    fn eular_domains_count_only_their_highest_present_item(input in eular_input()) {
        let typed: eular::EularInput = serde_json::from_value(input).unwrap();
        let r = eular::score(&typed).unwrap();
        prop_assert!(r.total <= eular::MAX_TOTAL);
        let mut sum = 0;
        for d in &r.domains {
            let best = d.criteria.iter().filter(|c| c.present).map(|c| c.weight).max().unwrap_or(0);
            let expected = if r.entry_criterion_met { best } else { 0 };
            prop_assert_eq!(d.points, expected, "domain {}", d.name);
            prop_assert!(d.criteria.iter().filter(|c| c.counted).count() <= 1);
            sum += d.points;
        }
        prop_assert_eq!(sum, r.total);
        let clinical = r.domains.iter().any(|d| d.kind == eular::DomainKind::Clinical && d.points > 0);
        prop_assert_eq!(r.classified, r.entry_criterion_met && r.total >= 10 && clinical);
    }

    #[test]
    fn fss_total_in_1_to_7(
        items in proptest::collection::vec(proptest::option::weighted(0.8, 1u8..=7), 9),
        max_missing in 0usize..9,
    ) {
        let input = json!({"items": items, "max_missing": max_missing});
        let missing = items.iter().filter(|i| i.is_none()).count();
        match score_by_name("fss", &input) {
            Ok(r) => {
                prop_assert!((1.0..=7.0).contains(&r.total));
                prop_assert_eq!(r.prorated, missing > 0);
                prop_assert!(missing <= max_missing);
            }
            Err(e) => {
                prop_assert!(missing > max_missing || missing == 9);
                prop_assert!(e.missing_fields().is_some());
            }
        }
        let typed: fss::FssInput = serde_json::from_value(input).unwrap();
        if let Ok(r) = fss::score(&typed) {
            let answered: Vec<f64> = items.iter().flatten().map(|&v| f64::from(v)).collect();
            let mean = answered.iter().sum::<f64>() / answered.len() as f64;
            prop_assert!((r.score - mean).abs() < 1e-12);
        }
    }

    #[test]
    fn arbitrary_json_never_panics(input in any_json()) {
        for name in ["sledai2k", "eular-acr-2019", "slicc-2012", "acr-1997", "fss", "bilag2004", "pga"] {
            if let Ok(r) = score_by_name(name, &input) {
                prop_assert!(r.total.is_finite());
                let _ = r.to_text();
            }
        }
    }

    /// BILAG-2004: the numerical score is 12 per A, 8 per B, 1 per C
    /// (Yee 2010), whatever the grades.
    #[test]
    fn bilag_total_is_the_yee_sum(grades in proptest::collection::vec(0usize..5, 9)) {
        let letters = ["A", "B", "C", "D", "E"];
        let domains: Map<String, Value> = rct_scores::bilag::Domain::ALL
            .iter()
            .zip(&grades)
            .map(|(d, g)| (d.as_str().to_string(), json!(letters[*g])))
            .collect();
        let r = score_by_name("bilag2004", &json!({"domains": domains})).unwrap();
        let want: u32 = grades.iter().map(|g| [12, 8, 1, 0, 0][*g]).sum();
        prop_assert_eq!(r.total, f64::from(want));
    }

    /// SRI: a responder exactly when no criterion failed; the SLEDAI and PGA
    /// criteria are the integer comparisons of the rule; new A and new B
    /// match a count over the nine domains.
    #[test]
    fn sri_components_follow_the_rule(
        sb in 0u32..=105, sv in 0u32..=105,
        gb in proptest::collection::vec(0usize..5, 9),
        gv in proptest::collection::vec(0usize..5, 9),
        pb in 0u16..=300, pv in 0u16..=300,
        level in 4u32..=6,
    ) {
        use rct_scores::bilag::Grade;
        use rct_scores::pga::Pga;
        use rct_scores::sri::{evaluate, Components, SriLevel};
        let g = [Grade::A, Grade::B, Grade::C, Grade::D, Grade::E];
        let comp = |s: u32, gs: &[usize], p: u16| Components {
            sledai2k: s,
            bilag: std::array::from_fn(|i| g[gs[i]]),
            pga: Pga::from_hundredths(p).unwrap(),
        };
        let r = evaluate(&comp(sb, &gb, pb), &comp(sv, &gv, pv), SriLevel::from_reduction(level).unwrap());
        prop_assert_eq!(r.sledai_met, i64::from(sb) - i64::from(sv) >= i64::from(level));
        prop_assert_eq!(r.pga_met, i32::from(pv) - i32::from(pb) < 30);
        let new_a = (0..9).filter(|&i| gv[i] == 0 && gb[i] != 0).count();
        let new_b = (0..9).filter(|&i| gv[i] == 1 && gb[i] >= 2).count();
        prop_assert_eq!(r.new_a.len(), new_a);
        prop_assert_eq!(r.new_b.len(), new_b);
        prop_assert_eq!(r.responder, r.sledai_met && new_a == 0 && new_b <= 1 && r.pga_met);
        prop_assert_eq!(r.responder, r.failed.is_empty());
    }

    #[test]
    fn sri_visits_from_arbitrary_json_never_panic(a in any_json(), b in any_json()) {
        use rct_scores::sri::{sri, SriLevel, SriVisit};
        if let (Ok(x), Ok(y)) = (
            serde_json::from_value::<SriVisit>(a),
            serde_json::from_value::<SriVisit>(b),
        ) {
            let _ = sri(&x, &y, SriLevel::Sri4);
        }
    }
}
