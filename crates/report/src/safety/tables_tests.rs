use super::*;
use crate::safety::{PrespecifiedOutcome, SafetyArmSpec};

fn arm(id: &str, control: bool) -> SafetyArmSpec {
    SafetyArmSpec {
        id: id.into(),
        label: id.to_uppercase(),
        control,
    }
}

fn ev(soc: &str, pt: &str, grade: u8, day: u32) -> SafetyEvent {
    SafetyEvent {
        soc: soc.into(),
        pt: pt.into(),
        grade,
        serious: grade >= 4,
        led_to_discontinuation: grade == 5,
        onset_day: day,
    }
}

fn person(id: &str, arm: &str, events: Vec<SafetyEvent>) -> SafetyParticipant {
    SafetyParticipant {
        id: id.into(),
        arm_randomised: Some(arm.into()),
        arm_treated: Some(arm.into()),
        doses: 1,
        exposure_days: 365.25,
        events,
    }
}

fn input(participants: Vec<SafetyParticipant>) -> SafetyInput {
    SafetyInput {
        rule: SafetySetRule::Randomised,
        arms: vec![arm("pbo", true), arm("act", false)],
        participants,
        prespecified: vec![PrespecifiedOutcome {
            id: "infections".into(),
            label: "Infections".into(),
            socs: vec!["Infections".into()],
            pts: vec![],
        }],
    }
}

#[test]
fn counts_rates_and_differences_by_hand() {
    let t = safety_tables(&input(vec![
        person("p1", "pbo", vec![]),
        person("p2", "pbo", vec![ev("Infections", "Cold", 1, 10)]),
        person(
            "a1",
            "act",
            vec![
                ev("Infections", "Cold", 2, 30),
                ev("Infections", "Cold", 1, 100),
                ev("Skin", "Rash", 3, 5),
            ],
        ),
        person("a2", "act", vec![ev("Infections", "Pneumonia", 4, 60)]),
    ]))
    .unwrap();
    assert_eq!((t.arms[0].n, t.arms[1].n), (2, 2));
    let any = &t.overview[0];
    assert_eq!((any.arms[0].participants, any.arms[0].events), (1, 1));
    assert_eq!((any.arms[1].participants, any.arms[1].events), (2, 4));
    assert_eq!(any.arms[1].percent, Some(100.0));
    // Time at risk in the active arm: a1 to day 5, a2 to day 60.
    let r = any.arms[1].rate.unwrap();
    assert!((r.person_years_at_risk - 65.0 / 365.25).abs() < 1e-15);
    assert!((r.per_100_py - 200.0 / (65.0 / 365.25)).abs() < 1e-9);
    // Placebo: p1 a whole year, p2 to day 10.
    let r = any.arms[0].rate.unwrap();
    assert!((r.person_years_at_risk - (365.25 + 10.0) / 365.25).abs() < 1e-15);
    let d = &any.differences[0];
    assert_eq!((d.arm.as_str(), d.control.as_str()), ("act", "pbo"));
    assert_eq!(d.difference, Some(0.5));
    let i = rct_stats::binary::newcombe_interval(2, 2, 1, 2).unwrap();
    assert_eq!((d.ci_low, d.ci_high), (Some(i.low), Some(i.high)));
    // Grade >= 3, serious (grade >= 4 here), discontinuation (grade 5: none).
    assert_eq!(t.overview[2].arms[1].participants, 2);
    assert_eq!(t.overview[1].arms[1].participants, 1);
    assert_eq!(t.overview[3].arms[1].participants, 0);
    assert_eq!(t.overview[3].arms[1].rate.unwrap().per_100_py, 0.0);
    // SOCs by participants: Infections (3) before Skin (1); terms likewise.
    assert_eq!(t.by_soc[0].soc.key, "Infections");
    assert_eq!(t.by_soc[0].terms[0].label, "Cold");
    assert_eq!(t.by_soc[0].terms[0].arms[1].events, 2);
    assert_eq!(t.by_soc[1].terms[0].key, "Skin / Rash");
    // Fisher on infections: act 2/2 vs pbo 1/2.
    let f = &t.prespecified[0].tests[0];
    let want = rct_stats::binary::fisher_exact(2, 0, 1, 1).unwrap();
    assert_eq!(f.p, Some(want.p));
    assert_eq!(f.odds_ratio, None, "infinite odds ratio is left out");
    assert!(t.notes.is_empty(), "{:?}", t.notes);
}

#[test]
fn an_empty_arm_gives_no_nan_and_a_note() {
    let mut i = input(vec![person(
        "p1",
        "pbo",
        vec![ev("Infections", "Cold", 1, 3)],
    )]);
    i.arms.push(arm("empty", false));
    let t = safety_tables(&i).unwrap();
    let any = &t.overview[0];
    assert_eq!(any.arms[1].percent, None);
    assert_eq!(any.arms[1].rate, None);
    assert_eq!(any.differences[0].difference, None);
    assert_eq!(t.prespecified[0].tests[0].p, None);
    assert!(t
        .notes
        .iter()
        .any(|n| n.contains("`act` has no participant")));
    // Serialises without NaN (serde_json would write null, but none is there).
    let json = serde_json::to_string(&t).unwrap();
    assert!(!json.contains("NaN"));
    let md = crate::safety::safety_markdown(&t);
    assert!(md.contains("ACT (N = 0) |"), "{md}");
}

#[test]
fn zero_events_everywhere() {
    let t = safety_tables(&input(vec![
        person("p1", "pbo", vec![]),
        person("a1", "act", vec![]),
    ]))
    .unwrap();
    assert!(t.by_soc.is_empty());
    let any = &t.overview[0];
    assert_eq!(any.differences[0].difference, Some(0.0));
    let r = any.arms[0].rate.unwrap();
    assert_eq!((r.per_100_py, r.ci_low), (0.0, 0.0));
    // Garwood upper for 0 events in one person-year: 3.689 per person-year.
    assert!((r.ci_high - 368.887_945_411_393_5).abs() < 1e-9);
    assert_eq!(t.prespecified[0].tests[0].p, Some(1.0));
}

#[test]
fn the_dosed_set_counts_by_the_arm_given() {
    let mut i = input(vec![
        person("p1", "pbo", vec![]),
        person("a1", "act", vec![]),
    ]);
    i.rule = SafetySetRule::Dosed;
    // Randomised to active, given placebo.
    i.participants[1].arm_treated = Some("pbo".into());
    // Never dosed: outside the set.
    let mut undosed = person("a2", "act", vec![]);
    undosed.doses = 0;
    undosed.arm_treated = None;
    i.participants.push(undosed);
    let t = safety_tables(&i).unwrap();
    assert_eq!((t.arms[0].n, t.arms[1].n), (2, 0));
    assert_eq!(t.arms[0].treated_other_than_randomised, 1);
    // Randomised set: by the arm randomised, the undosed one included.
    i.rule = SafetySetRule::Randomised;
    let t = safety_tables(&i).unwrap();
    assert_eq!((t.arms[0].n, t.arms[1].n), (1, 2));
    // Dosed without a known arm given.
    i.rule = SafetySetRule::Dosed;
    i.participants[0].arm_treated = None;
    let e = safety_tables(&i).unwrap_err();
    assert!(e
        .to_string()
        .starts_with("safety analysis: participant `p1`: arm_treated: received 1 dose(s)"));
}

#[test]
fn no_control_arm_no_differences() {
    let mut i = input(vec![person("p1", "pbo", vec![])]);
    i.arms[0].control = false;
    let t = safety_tables(&i).unwrap();
    assert!(t.overview[0].differences.is_empty());
    assert!(t.prespecified[0].tests.is_empty());
    assert!(t.notes[0].starts_with("No arm is the control arm"));
}

#[test]
fn bad_input_is_named() {
    let msg = |i: SafetyInput| safety_tables(&i).unwrap_err().to_string();
    let mut i = input(vec![person(
        "p1",
        "pbo",
        vec![ev("Infections", "Cold", 6, 3)],
    )]);
    assert_eq!(
        msg(i.clone()),
        "safety analysis: participant `p1`, adverse event 1: grade: 6 is not a CTCAE grade 1 to 5"
    );
    i.participants[0].events[0].grade = 2;
    i.participants[0].events[0].onset_day = 0;
    assert!(msg(i.clone()).contains("onset_day: day 0 does not exist"));
    i.participants[0].events[0].onset_day = 1;
    i.participants[0].events[0].pt = " ".into();
    assert!(msg(i.clone()).contains("adverse event 1: pt: the preferred term is empty"));
    i.participants[0].events.clear();
    i.participants[0].exposure_days = f64::NAN;
    assert!(msg(i.clone()).contains("exposure_days: NaN is not a number of days"));
    i.participants[0].exposure_days = 1.0;
    i.participants.push(person("p1", "pbo", vec![]));
    assert!(msg(i.clone()).contains("participant `p1`: id: listed twice"));
    i.participants.pop();
    i.participants[0].arm_randomised = Some("x".into());
    assert!(msg(i.clone()).contains("arm_randomised: `x` is not an arm of the trial"));
    i.participants[0].arm_randomised = Some("pbo".into());
    i.arms[1].control = true;
    assert!(msg(i.clone()).contains("2 arms are marked as the control arm"));
    i.arms[1].control = false;
    i.prespecified[0].socs.clear();
    assert!(msg(i.clone()).contains("`infections` names no system organ class"));
    i.arms.clear();
    assert!(msg(i).contains("the trial has no arms"));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    const SOCS: [&str; 3] = ["Infections", "Skin", "Nervous"];

    fn event() -> impl Strategy<Value = SafetyEvent> {
        (
            0usize..3,
            0usize..2,
            1u8..=5,
            any::<bool>(),
            any::<bool>(),
            1u32..500,
        )
            .prop_map(|(s, t, grade, serious, disc, day)| SafetyEvent {
                soc: SOCS[s].into(),
                pt: format!("{}-{t}", SOCS[s]),
                grade,
                serious,
                led_to_discontinuation: disc,
                onset_day: day,
            })
    }

    fn participant(
    ) -> impl Strategy<Value = (Option<usize>, Option<usize>, u32, u32, Vec<SafetyEvent>)> {
        (
            prop::option::of(0usize..4),
            prop::option::of(0usize..4),
            0u32..3,
            0u32..400,
            prop::collection::vec(event(), 0..4),
        )
    }

    fn tables_input() -> impl Strategy<Value = SafetyInput> {
        (
            2usize..=4,
            any::<bool>(),
            prop::collection::vec(participant(), 0..30),
        )
            .prop_map(|(n_arms, dosed, people)| {
                let arms: Vec<SafetyArmSpec> =
                    (0..n_arms).map(|k| arm(&format!("a{k}"), k == 0)).collect();
                let participants = people
                    .into_iter()
                    .enumerate()
                    .map(|(k, (r, t, doses, exposure, events))| SafetyParticipant {
                        id: format!("p{k}"),
                        arm_randomised: r.map(|a| format!("a{}", a % n_arms)),
                        arm_treated: t.or(r).map(|a| format!("a{}", a % n_arms)),
                        // Someone dosed has a known arm given.
                        doses: if t.or(r).is_some() { doses } else { 0 },
                        exposure_days: f64::from(exposure),
                        events,
                    })
                    .collect();
                SafetyInput {
                    rule: if dosed {
                        SafetySetRule::Dosed
                    } else {
                        SafetySetRule::Randomised
                    },
                    arms,
                    participants,
                    prespecified: vec![PrespecifiedOutcome {
                        id: "infections".into(),
                        label: "Infections".into(),
                        socs: vec!["Infections".into()],
                        pts: vec![],
                    }],
                }
            })
    }

    fn check_row(t: &SafetyTables, r: &SafetyRow) -> Result<(), TestCaseError> {
        for (a, c) in t.arms.iter().zip(&r.arms) {
            prop_assert!(c.participants <= a.n && c.events >= c.participants);
            if let Some(p) = c.percent {
                prop_assert!((0.0..=100.0).contains(&p));
            } else {
                prop_assert_eq!(a.n, 0);
            }
            if let Some(rate) = c.rate {
                prop_assert!(rate.ci_low <= rate.per_100_py && rate.per_100_py <= rate.ci_high);
                prop_assert!(rate.ci_high.is_finite() && rate.person_years_at_risk > 0.0);
            }
        }
        for d in &r.differences {
            if let (Some(x), Some(l), Some(h)) = (d.difference, d.ci_low, d.ci_high) {
                prop_assert!(-1.0 <= l && l <= x + 1e-12 && x <= h + 1e-12 && h <= 1.0 + 1e-12);
            }
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn tables_hold_together(input in tables_input()) {
            let t = safety_tables(&input).unwrap();
            let any = &t.overview[0];
            for r in &t.overview {
                check_row(&t, r)?;
                for (c, a) in r.arms.iter().zip(&any.arms) {
                    prop_assert!(c.participants <= a.participants && c.events <= a.events);
                }
            }
            for s in &t.by_soc {
                check_row(&t, &s.soc)?;
                let mut events = 0;
                for term in &s.terms {
                    check_row(&t, term)?;
                    for (c, sc) in term.arms.iter().zip(&s.soc.arms) {
                        prop_assert!(c.participants <= sc.participants);
                    }
                    events += term.arms.iter().map(|c| c.events).sum::<u64>();
                }
                prop_assert_eq!(events, s.soc.arms.iter().map(|c| c.events).sum::<u64>());
            }
            // Every event of the safety set is in exactly one SOC.
            let soc_events: u64 = t.by_soc.iter().flat_map(|s| &s.soc.arms).map(|c| c.events).sum();
            prop_assert_eq!(soc_events, any.arms.iter().map(|c| c.events).sum::<u64>());
            for f in &t.prespecified[0].tests {
                if let Some(p) = f.p {
                    prop_assert!(p > 0.0 && p <= 1.0);
                }
            }
            // Comparisons above fail on NaN; person-years are finite too.
            prop_assert!(t.arms.iter().all(|a| a.person_years.is_finite()));
        }
    }
}
