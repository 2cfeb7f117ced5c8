#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Randomisation through `TrialState::check` + `apply` against the
//! randomisation crate called directly (the reference: `rct_random`'s
//! `generate_list` and `allocate`, themselves checked against published
//! designs in crates/random).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use rct_random::{
    allocate, generate_list, AllocationRequest, DesignSpec, ListRequest, PriorAllocation,
};
use rct_record::{Actor, Arm, Command, Payload, Role, Sites, TrialDesign, TrialState};

fn t0() -> DateTime<Utc> {
    "2026-04-01T08:00:00Z".parse().unwrap()
}

fn arms() -> Vec<Arm> {
    vec![
        Arm {
            id: "active".into(),
            name: "IL-2".into(),
        },
        Arm {
            id: "placebo".into(),
            name: "Placebo".into(),
        },
    ]
}

fn setup(design: TrialDesign, seed: u64) -> TrialState {
    let mut s = TrialState::new("il2");
    let admin = Actor::new("ada", Role::Admin, None);
    let reg = Command::RegisterTrial {
        title: "IL-2".into(),
        blinded: true,
        arms: arms(),
        design,
        seed: rct_record::TrialSecrets::insecure_for_tests(seed).seed,
        seal_key: rct_record::TrialSecrets::insecure_for_tests(seed).seal_key_hex(),
    };
    s.execute(&admin, t0(), None, &reg).unwrap();
    for site in ["rh", "gh"] {
        s.execute(
            &admin,
            t0(),
            None,
            &Command::AddSite {
                site: site.into(),
                name: site.into(),
            },
        )
        .unwrap();
    }
    s.execute(
        &admin,
        t0(),
        None,
        &Command::CreateUser {
            user: "ian".into(),
            display_name: "Ian".into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
        },
    )
    .unwrap();
    s.execute(
        &admin,
        t0(),
        None,
        &Command::GrantRole {
            user: "ian".into(),
            role: Role::Investigator,
            sites: Sites::All,
        },
    )
    .unwrap();
    s
}

/// Screens, consents and randomises one person; returns the randomised payload.
fn enrol(
    s: &mut TrialState,
    id: &str,
    site: &str,
    factors: &[(&str, &str)],
    minute: i64,
) -> Payload {
    let inv = Actor::new("ian", Role::Investigator, Some(site));
    let at = t0() + Duration::minutes(minute);
    // The factors are screening facts (the site is the participant's own).
    let facts = factors
        .iter()
        .filter(|(k, _)| *k != "site")
        .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
        .collect();
    let screen = Command::Screen {
        participant: id.into(),
        site: None,
        date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        facts,
    };
    s.execute(&inv, at, None, &screen).unwrap();
    s.execute(
        &inv,
        at,
        None,
        &Command::Consent {
            participant: id.into(),
            version: None,
            given_at: None,
            obtained_by: None,
        },
    )
    .unwrap();
    let c = Command::Randomise {
        participant: id.into(),
    };
    s.execute(&inv, at, None, &c).unwrap().remove(0).payload
}

fn sex_of(i: u64) -> &'static str {
    // A fixed, irregular pattern so strata fill at different speeds.
    if (i * 7 + i / 3) % 5 < 2 {
        "F"
    } else {
        "M"
    }
}

#[test]
fn two_hundred_allocations_equal_the_generated_lists() {
    // Reference: rct_random::generate_list for each stratum with the same
    // seed, design, arms and kit setting.
    let mut design = TrialDesign::new("rpbr:4,6");
    design.stratify_by = vec!["site".into(), "sex".into()];
    design.kits = true;
    let seed = 314159;
    let mut s = setup(design, seed);
    let mut by_stratum: BTreeMap<String, Vec<(u64, String, Option<String>)>> = BTreeMap::new();
    for i in 0..200u64 {
        let site = if i % 3 == 0 { "gh" } else { "rh" };
        let p = enrol(
            &mut s,
            &format!("P{i:03}"),
            site,
            &[("sex", sex_of(i))],
            i as i64,
        );
        let Payload::Randomised {
            arm,
            kit,
            position,
            stratum,
            ..
        } = p
        else {
            panic!()
        };
        by_stratum
            .entry(stratum)
            .or_default()
            .push((position, arm, kit));
    }
    assert_eq!(by_stratum.len(), 4);
    let mut total = 0;
    for (stratum, rows) in &by_stratum {
        let list = generate_list(&ListRequest {
            design: "rpbr:4,6".parse::<DesignSpec>().unwrap(),
            arms: vec![
                rct_random::Arm::new("active", 1),
                rct_random::Arm::new("placebo", 1),
            ],
            seed: seed.into(),
            stratum: stratum.clone(),
            n: rows.len() as u32,
            kits: true,
        })
        .unwrap();
        for (k, (position, arm, kit)) in rows.iter().enumerate() {
            assert_eq!(
                *position,
                k as u64 + 1,
                "{stratum}: positions run 1, 2, 3..."
            );
            assert_eq!(arm, &list.rows[k].arm, "{stratum} position {position}");
            assert_eq!(kit, &list.rows[k].kit, "{stratum} position {position}");
        }
        total += rows.len();
    }
    assert_eq!(total, 200);
    assert_eq!(s.history.len(), 200);
}

#[test]
fn minimisation_equals_allocate_called_directly() {
    // Reference: rct_random::allocate with the same history, factors and weights.
    let mut design = TrialDesign::new("psm:range:0.8");
    design.minimise_on = BTreeMap::from([("sex".to_string(), 1.0), ("site".to_string(), 2.0)]);
    let mut s = setup(design, 7);
    let mut history: Vec<PriorAllocation> = Vec::new();
    for i in 0..60u64 {
        let site = if i % 4 == 0 { "gh" } else { "rh" };
        let factors = BTreeMap::from([
            ("sex".to_string(), sex_of(i).to_string()),
            ("site".to_string(), site.to_string()),
        ]);
        let expected = allocate(&AllocationRequest {
            design: "psm:range:0.8".parse().unwrap(),
            arms: vec![
                rct_random::Arm::new("active", 1),
                rct_random::Arm::new("placebo", 1),
            ],
            seed: 7.into(),
            factors: factors.clone(),
            strata: vec![],
            factor_weights: BTreeMap::from([("sex".to_string(), 1.0), ("site".to_string(), 2.0)]),
            history: history.clone(),
            list_length: None,
            kits: false,
        })
        .unwrap();
        let p = enrol(
            &mut s,
            &format!("M{i}"),
            site,
            &[("sex", sex_of(i))],
            i as i64,
        );
        let Payload::Randomised {
            arm,
            position,
            stratum,
            factors: got,
            ..
        } = p
        else {
            panic!()
        };
        assert_eq!(arm, expected.arm, "participant {i}");
        assert_eq!(position, u64::from(expected.position));
        assert_eq!(stratum, "all");
        assert_eq!(
            got, factors,
            "the site level is filled from the participant's site"
        );
        history.push(PriorAllocation {
            arm,
            stratum,
            factors,
            kit: None,
        });
    }
}

#[test]
fn a_retried_check_takes_the_next_position() {
    // Two writers check the same state; one appends first; the other, re-run
    // against the new state, gets the next position (what Ledger::execute does).
    let mut s = setup(TrialDesign::new("pbr:4"), 11);
    let inv = Actor::new("ian", Role::Investigator, Some("rh"));
    for id in ["A", "B"] {
        let screen = Command::Screen {
            participant: id.into(),
            site: None,
            date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            facts: Default::default(),
        };
        s.execute(&inv, t0(), None, &screen).unwrap();
        s.execute(
            &inv,
            t0(),
            None,
            &Command::Consent {
                participant: id.into(),
                version: None,
                given_at: None,
                obtained_by: None,
            },
        )
        .unwrap();
    }
    let ra = Command::Randomise {
        participant: "A".into(),
    };
    let rb = Command::Randomise {
        participant: "B".into(),
    };
    let da = s.check(&inv, t0(), None, &ra).unwrap();
    let db = s.check(&inv, t0(), None, &rb).unwrap();
    let pos = |d: &[rct_record::EventDraft]| match &d[0].payload {
        Payload::Randomised { position, .. } => *position,
        _ => panic!(),
    };
    assert_eq!(
        (pos(&da), pos(&db)),
        (1, 1),
        "both computed against the same state"
    );
    assert_eq!(
        s.check(&inv, t0(), None, &ra).unwrap(),
        da,
        "check is a pure function of the state"
    );
    let e = s.seal(da.into_iter().next().unwrap());
    s.apply(&e).unwrap();
    let db2 = s.check(&inv, t0(), None, &rb).unwrap();
    assert_eq!(pos(&db2), 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// Reference: a permuted-block design keeps |n_a - n_b| <= B/2 in every
    /// stratum at every step (B the largest block size), 1:1 ratio.
    #[test]
    fn block_designs_never_exceed_half_the_largest_block(
        spec in prop_oneof![Just("pbr:4"), Just("pbr:6"), Just("rpbr:2,4,6"), Just("rpbr:4,8")],
        seed in any::<u64>(),
        people in prop::collection::vec((0u8..2, 0u8..2), 1..50),
    ) {
        let max_block: i64 = spec.rsplit([':', ',']).next().unwrap().parse().unwrap();
        let mut design = TrialDesign::new(spec);
        design.stratify_by = vec!["site".into(), "sex".into()];
        let mut s = setup(design, seed);
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        for (i, (site, sex)) in people.iter().enumerate() {
            let site = if *site == 0 { "rh" } else { "gh" };
            let sex = if *sex == 0 { "F" } else { "M" };
            let p = enrol(&mut s, &format!("P{i}"), site, &[("sex", sex)], i as i64);
            let Payload::Randomised { arm, stratum, .. } = p else { panic!() };
            *counts.entry(stratum).or_default() += if arm == "active" { 1 } else { -1 };
            for d in counts.values() {
                prop_assert!(d.abs() <= max_block / 2, "{spec}: imbalance {d}");
            }
        }
    }
}
