#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Allocation of participants: agreement with the lists, replay checks, and
//! Pocock-Simon minimisation on hand-worked cases.

use std::collections::BTreeMap;

use rct_random::minimisation::{scores, MinimisationInput};
use rct_random::{
    allocate, generate_list, stratum_key, AllocationRequest, Arm, DesignSpec, ImbalanceMeasure,
    ListRequest, PriorAllocation, RandomError,
};

fn levels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn base(design: &str, arms: &[(&str, u32)]) -> AllocationRequest {
    AllocationRequest {
        design: design.parse().unwrap(),
        arms: arms.iter().map(|(id, w)| Arm::new(*id, *w)).collect(),
        seed: 20260401.into(),
        factors: BTreeMap::new(),
        strata: vec![],
        factor_weights: BTreeMap::new(),
        history: vec![],
        list_length: None,
        kits: false,
    }
}

/// Allocating participants one by one, interleaving two strata, gives row k
/// of each stratum's list at the stratum's k-th allocation (kit codes too).
#[test]
fn allocation_equals_the_stratum_list_for_every_list_design() {
    let designs = [
        ("cr", vec![("a", 1), ("b", 1)]),
        ("cr", vec![("a", 2), ("b", 1), ("c", 1)]),
        ("rar", vec![("a", 1), ("b", 1)]),
        ("pbr:4", vec![("a", 1), ("b", 1)]),
        ("pbr:8", vec![("a", 1), ("b", 1), ("c", 1), ("d", 1)]),
        ("rpbr:3,6", vec![("a", 2), ("b", 1)]),
        ("rpbr:2,4,6:pascal", vec![("a", 1), ("b", 1)]),
        ("bsd:3", vec![("a", 1), ("b", 1)]),
        ("mp:2", vec![("a", 1), ("b", 1)]),
        ("ebc:0.667", vec![("a", 1), ("b", 1)]),
        ("chen:3,0.667", vec![("a", 1), ("b", 1)]),
        ("urn:0,1", vec![("a", 1), ("b", 1)]),
    ];
    let n = 24u32;
    for (design, arms) in designs {
        let mut req = base(design, &arms);
        req.strata = vec!["sex".into()];
        req.list_length = Some(n);
        req.kits = true;
        let lists: BTreeMap<&str, _> = ["F", "M"]
            .iter()
            .map(|lv| {
                let l = generate_list(&ListRequest {
                    design: req.design.clone(),
                    arms: req.arms.clone(),
                    seed: req.seed,
                    stratum: format!("sex={lv}"),
                    n,
                    kits: true,
                })
                .unwrap();
                (*lv, l)
            })
            .collect();
        // interleave: F, M, F, F, M, ... deterministic pattern
        let mut pos = BTreeMap::from([("F", 0usize), ("M", 0usize)]);
        for i in 0..(2 * n as usize) {
            let lv = if (i * 7) % 3 == 0 { "M" } else { "F" };
            let lv = if pos[lv] == n as usize {
                if lv == "F" {
                    "M"
                } else {
                    "F"
                }
            } else {
                lv
            };
            req.factors = levels(&[("sex", lv)]);
            let a = allocate(&req).unwrap();
            let row = &lists[lv].rows[pos[lv]];
            assert_eq!(a.arm, row.arm, "{design} {lv} position {}", pos[lv] + 1);
            assert_eq!(a.position, row.seq);
            assert_eq!(a.block, row.block);
            assert_eq!(a.kit, row.kit);
            assert_eq!(a.stratum, format!("sex={lv}"));
            *pos.get_mut(lv).unwrap() += 1;
            req.history.push(PriorAllocation {
                arm: a.arm,
                stratum: a.stratum,
                factors: req.factors.clone(),
                kit: a.kit,
            });
        }
    }
}

#[test]
fn altered_history_is_detected() {
    let mut req = base("pbr:4", &[("a", 1), ("b", 1)]);
    let first = allocate(&req).unwrap();
    let other = if first.arm == "a" { "b" } else { "a" };
    req.history.push(PriorAllocation {
        arm: other.into(),
        stratum: "all".into(),
        factors: BTreeMap::new(),
        kit: None,
    });
    match allocate(&req) {
        Err(RandomError::HistoryMismatch { position, .. }) => assert_eq!(position, 1),
        other => panic!("expected a mismatch, got {other:?}"),
    }
    req.history[0].arm = "zzz".into();
    assert!(allocate(&req).unwrap_err().to_string().contains("zzz"));
}

#[test]
fn fixed_length_designs_need_and_respect_the_length() {
    let mut req = base("rar", &[("a", 1), ("b", 1)]);
    assert!(allocate(&req)
        .unwrap_err()
        .to_string()
        .contains("length of the list"));
    req.list_length = Some(2);
    for _ in 0..2 {
        let a = allocate(&req).unwrap();
        req.history.push(PriorAllocation {
            arm: a.arm,
            stratum: a.stratum,
            factors: BTreeMap::new(),
            kit: None,
        });
    }
    assert!(matches!(
        allocate(&req),
        Err(RandomError::ListExhausted { length: 2, .. })
    ));
}

#[test]
fn two_arm_designs_refuse_three_arms() {
    let req = base("ebc:0.667", &[("a", 1), ("b", 1), ("c", 1)]);
    let e = allocate(&req).unwrap_err().to_string();
    assert!(e.contains("two arms with 1:1"), "{e}");
}

#[test]
fn stratum_keys_follow_the_strata_order() {
    let f = levels(&[("sex", "F"), ("site", "02")]);
    assert_eq!(stratum_key(&[], &f).unwrap(), "all");
    assert_eq!(
        stratum_key(&["site".into(), "sex".into()], &f).unwrap(),
        "site=02;sex=F"
    );
    assert!(stratum_key(&["age".into()], &f).is_err());
}

// ---- minimisation, hand-worked ----------------------------------------------

fn g(
    measure: ImbalanceMeasure,
    ratio: &[u32],
    weights: &[(&str, f64)],
    participant: &[(&str, &str)],
    history: &[(usize, BTreeMap<String, String>)],
) -> Vec<f64> {
    let fw: BTreeMap<String, f64> = weights.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    let p = levels(participant);
    let h: Vec<(usize, &BTreeMap<String, String>)> = history.iter().map(|(a, l)| (*a, l)).collect();
    scores(&MinimisationInput {
        measure,
        p: 1.0,
        ratio,
        factor_weights: &fw,
        participant: &p,
        history: &h,
    })
    .unwrap()
}

/// History: A (F, young), B (M, old), A (F, old); new participant F, old.
/// sex=F counts A 2, B 0; age=old counts A 1, B 1.
/// Range: G_A = |3-0| + |2-1| = 4, G_B = |2-1| + |1-2| = 2.
/// Variance (K-1 denominator): var(3,0) = 4.5, var(2,1) = 0.5: G_A = 5, G_B = 1.
/// Weights sex 2, age 1 (range): G_A = 7, G_B = 3.
#[test]
fn minimisation_scores_hand_worked_equal_ratio() {
    let hist = vec![
        (0, levels(&[("sex", "F"), ("age", "young")])),
        (1, levels(&[("sex", "M"), ("age", "old")])),
        (0, levels(&[("sex", "F"), ("age", "old")])),
    ];
    let who = [("sex", "F"), ("age", "old")];
    let w1 = [("sex", 1.0), ("age", 1.0)];
    assert_eq!(
        g(ImbalanceMeasure::Range, &[1, 1], &w1, &who, &hist),
        vec![4.0, 2.0]
    );
    assert_eq!(
        g(ImbalanceMeasure::Variance, &[1, 1], &w1, &who, &hist),
        vec![5.0, 1.0]
    );
    let w2 = [("sex", 2.0), ("age", 1.0)];
    assert_eq!(
        g(ImbalanceMeasure::Range, &[1, 1], &w2, &who, &hist),
        vec![7.0, 3.0]
    );

    // Through allocate with p = 1 the participant goes to B whatever the seed.
    for seed in 0..20 {
        let mut req = base("psm:range:1", &[("A", 1), ("B", 1)]);
        req.seed = seed.into();
        req.factors = levels(&who);
        req.factor_weights = w1.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        req.history = hist
            .iter()
            .map(|(a, l)| PriorAllocation {
                arm: ["A", "B"][*a].into(),
                stratum: "all".into(),
                factors: l.clone(),
                kit: None,
            })
            .collect();
        let a = allocate(&req).unwrap();
        assert_eq!(a.arm, "B");
        assert_eq!(a.imbalance, vec![4.0, 2.0]);
        assert_eq!(a.position, 4);
    }
}

/// Ratio 2:1, one factor. Empty history: adding to A gives adjusted counts
/// (1/2, 0), range 1/2; to B gives (0, 1), range 1: A is preferred, as a 2:1
/// ratio wants. History A, A, B (all F), new F: A -> (3/2, 1) range 1/2,
/// B -> (1, 2) range 1: A again. History A, A (F): A -> (3/2, 0) = 1.5,
/// B -> (1, 1) = 0: B.
#[test]
fn minimisation_scores_hand_worked_unequal_ratio() {
    let w = [("sex", 1.0)];
    let f = [("sex", "F")];
    let lf = || levels(&[("sex", "F")]);
    assert_eq!(
        g(ImbalanceMeasure::Range, &[2, 1], &w, &f, &[]),
        vec![0.5, 1.0]
    );
    assert_eq!(
        g(
            ImbalanceMeasure::Range,
            &[2, 1],
            &w,
            &f,
            &[(0, lf()), (0, lf()), (1, lf())]
        ),
        vec![0.5, 1.0]
    );
    assert_eq!(
        g(
            ImbalanceMeasure::Range,
            &[2, 1],
            &w,
            &f,
            &[(0, lf()), (0, lf())]
        ),
        vec![1.5, 0.0]
    );
    // Deterministic minimisation (p = 1) with ratio 2:1 over 30 participants
    // of one level reaches exactly 20:10.
    let mut req = base("psm:range:1", &[("A", 2), ("B", 1)]);
    req.factors = lf();
    for _ in 0..30 {
        let a = allocate(&req).unwrap();
        req.history.push(PriorAllocation {
            arm: a.arm,
            stratum: a.stratum,
            factors: lf(),
            kit: None,
        });
    }
    let na = req.history.iter().filter(|h| h.arm == "A").count();
    assert_eq!(na, 20);
}

/// Ties are broken at random: with three arms and one earlier participant in
/// A, B and C tie (range 1 each, A has 2); over seeds both B and C are chosen
/// and A never (p = 1). With no history all arms tie and each is chosen.
#[test]
fn minimisation_breaks_ties_at_random() {
    let lf = || levels(&[("sex", "F")]);
    let mut seen = BTreeMap::new();
    for seed in 0..200 {
        let mut req = base("psm:range:1", &[("A", 1), ("B", 1), ("C", 1)]);
        req.seed = seed.into();
        req.factors = lf();
        req.history = vec![PriorAllocation {
            arm: "A".into(),
            stratum: "all".into(),
            factors: lf(),
            kit: None,
        }];
        let a = allocate(&req).unwrap();
        assert_eq!(a.imbalance, vec![2.0, 1.0, 1.0]);
        *seen.entry(a.arm).or_insert(0) += 1;
    }
    assert!(!seen.contains_key("A"));
    assert!(seen["B"] > 60 && seen["C"] > 60, "{seen:?}");

    let mut first = BTreeMap::new();
    for seed in 0..300 {
        let mut req = base("psm:variance:0.8", &[("A", 1), ("B", 1), ("C", 1)]);
        req.seed = seed.into();
        req.factors = lf();
        *first.entry(allocate(&req).unwrap().arm).or_insert(0) += 1;
    }
    assert_eq!(first.len(), 3, "{first:?}");
}

/// The random element: with p = 0.8 the best arm is chosen in about 80% of
/// decisions (binomial, 1000 seeds, 4 standard errors).
#[test]
fn minimisation_random_element_has_probability_p() {
    let lf = || levels(&[("sex", "F")]);
    let mut best = 0;
    for seed in 0..1000 {
        let mut req = base("psm:range:0.8", &[("A", 1), ("B", 1)]);
        req.seed = seed.into();
        req.factors = lf();
        req.history = vec![PriorAllocation {
            arm: "A".into(),
            stratum: "all".into(),
            factors: lf(),
            kit: None,
        }];
        if allocate(&req).unwrap().arm == "B" {
            best += 1;
        }
    }
    let se = (0.8f64 * 0.2 / 1000.0).sqrt() * 1000.0;
    assert!((f64::from(best) - 800.0).abs() < 4.0 * se, "{best}");
}

#[test]
fn minimisation_errors_are_clear() {
    let mut req = base("psm:range:0.8", &[("A", 1), ("B", 1)]);
    assert!(allocate(&req)
        .unwrap_err()
        .to_string()
        .contains("at least one factor"));
    req.factor_weights = BTreeMap::from([("age".to_string(), 1.0)]);
    req.factors = levels(&[("sex", "F")]);
    let e = allocate(&req).unwrap_err().to_string();
    assert!(e.contains("`age`"), "{e}");
    let d: DesignSpec = "psm:range:0.8".parse().unwrap();
    assert!(generate_list(&ListRequest {
        design: d,
        arms: req.arms.clone(),
        seed: 1.into(),
        stratum: "all".into(),
        n: 4,
        kits: false
    })
    .unwrap_err()
    .to_string()
    .contains("no list"));
}
