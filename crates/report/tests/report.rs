#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The report for a generated LUPEX-like trial of 60 participants: events
//! built with a fixed seed, folded to a TrialState, analysed under
//! protocols/lupex.toml. Snapshot of the Markdown (tables), checks of the
//! populations and the figures. Set RCT_REPORT_DUMP=DIR to write the
//! report's files there for viewing.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use rct_core::protocol::{self, Protocol};
use rct_record::{
    Arm, CriterionResult, Event, EventDraft, Payload, Role, TrialState, Verdict, GENESIS_HASH,
};
use rct_report::{
    analysis_data, build_report, AnalysisSettings, PopulationSettings, ReportOptions,
};
use rct_stats::Column;
use serde_json::json;

fn lupex() -> Protocol {
    let src = include_str!("../../../protocols/lupex.toml");
    protocol::parse(src, "protocols/lupex.toml").unwrap()
}

struct Log {
    events: Vec<Event>,
    t0: DateTime<Utc>,
}

impl Log {
    fn push(&mut self, day: i64, role: Role, reason: Option<&str>, payload: Payload) {
        let (seq, prev) = match self.events.last() {
            Some(e) => (e.seq + 1, e.hash.clone()),
            None => (1, GENESIS_HASH.to_string()),
        };
        let d = EventDraft {
            trial: "lupex".into(),
            at: self.t0 + Duration::days(day) + Duration::seconds(seq as i64),
            actor: "generator".into(),
            role,
            site: Some("rh".into()),
            reason: reason.map(str::to_string),
            payload,
        };
        self.events.push(d.seal(seq, &prev));
    }
    fn value(
        &mut self,
        day: i64,
        p: &str,
        visit: &str,
        form: &str,
        field: &str,
        v: serde_json::Value,
    ) {
        self.push(
            day,
            Role::OutcomeAssessor,
            None,
            Payload::ValueEntered {
                participant: p.into(),
                visit: visit.into(),
                form: form.into(),
                field: field.into(),
                value: v,
            },
        );
    }
}

fn r2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// 75 people screened (8 ineligible, 3 undetermined, 4 eligible but not
/// randomised), 60 randomised 1:1 in sex strata by blocks of 2; HIIT raises
/// VO2max by 4 - 1.5 (IFN score - 2) mL/kg/min and lowers FSS by 0.6; 36
/// planned sessions with participant-specific adherence; 4 withdrawals and 2
/// more missed follow-ups; database locked.
pub fn generated_trial(seed: u64) -> Vec<Event> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut log = Log {
        events: Vec::new(),
        t0: "2023-01-09T09:00:00Z".parse().unwrap(),
    };
    log.push(
        0,
        Role::Admin,
        None,
        Payload::TrialRegistered {
            title: "LUPEX".into(),
            blinded: true,
            arms: vec![
                Arm {
                    id: "hiit".into(),
                    name: "Exercise (HIIT)".into(),
                },
                Arm {
                    id: "control".into(),
                    name: "Non-exercise".into(),
                },
            ],
            design: json!("rpbr:2,4"),
            seed: 7,
        },
    );
    let noise = Normal::new(0.0, 1.0).unwrap();
    let mut blocks: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut positions: BTreeMap<String, u64> = BTreeMap::new();
    let mut randomised = 0;
    for i in 1..=75 {
        let p = format!("P{i:03}");
        let day = i as i64;
        let verdict = match i % 25 {
            7 | 18 => Verdict::Ineligible,
            12 => Verdict::Undetermined,
            _ => Verdict::Eligible,
        };
        let verdict = if i == 74 || i == 75 {
            Verdict::Ineligible
        } else {
            verdict
        };
        log.push(
            day,
            Role::Investigator,
            None,
            Payload::Screened {
                participant: p.clone(),
                verdict,
                criteria: vec![CriterionResult {
                    criterion: "I1".into(),
                    result: "met".into(),
                }],
            },
        );
        if verdict != Verdict::Eligible || randomised == 60 {
            continue;
        }
        log.push(
            day,
            Role::Investigator,
            None,
            Payload::Consented {
                participant: p.clone(),
            },
        );
        if matches!(i, 10 | 30 | 50) {
            continue; // eligible, declined randomisation
        }
        randomised += 1;
        let sex = if rng.gen_bool(0.8) { "female" } else { "male" };
        let stratum = format!("sex={sex}");
        let block = blocks.entry(stratum.clone()).or_default();
        if block.is_empty() {
            *block = if rng.gen_bool(0.5) {
                vec!["hiit", "control"]
            } else {
                vec!["control", "hiit"]
            };
        }
        let arm = block.remove(0);
        let pos = positions.entry(stratum.clone()).or_insert(0);
        *pos += 1;
        let mut factors = BTreeMap::new();
        factors.insert("sex".to_string(), sex.to_string());
        log.push(
            day + 14,
            Role::Investigator,
            None,
            Payload::Randomised {
                participant: p.clone(),
                arm: arm.into(),
                kit: None,
                position: *pos,
                stratum,
                factors,
            },
        );
        // Baseline.
        let male = f64::from(u8::from(sex == "male"));
        let weight = r2(68.0 + 10.0 * male + 9.0 * noise.sample(&mut rng));
        let vo2_rel0 = 26.0 + 5.0 * male + 4.0 * noise.sample(&mut rng);
        let ifn = r2((0.6 + 0.7 * noise.sample(&mut rng)).exp());
        let fss0 = r2((4.6 + 1.1 * noise.sample(&mut rng)).clamp(1.0, 7.0));
        log.value(
            day + 10,
            &p,
            "baseline",
            "cpet",
            "vo2max_abs",
            json!(r2(vo2_rel0 * weight)),
        );
        log.value(day + 10, &p, "baseline", "cpet", "weight", json!(weight));
        log.value(day + 10, &p, "baseline", "fss", "score", json!(fss0));
        log.value(day + 10, &p, "baseline", "ifn", "score", json!(ifn));
        // Sessions (HIIT only).
        let hiit = arm == "hiit";
        let adherence: f64 = if hiit { rng.gen_range(0.45..1.0) } else { 0.0 };
        if hiit {
            for s in 1..=36 {
                if rng.gen_bool(adherence) {
                    let ok = (0..4)
                        .filter(|_| rng.gen_bool(0.55 + 0.4 * adherence))
                        .count();
                    log.push(
                        day + 14 + s * 7 / 3,
                        Role::InterventionStaff,
                        None,
                        Payload::SessionRecorded {
                            participant: p.clone(),
                            session: format!("{p}-S{s:02}"),
                            summary: json!({"compliant_bouts": ok, "bouts": 4}),
                        },
                    );
                }
            }
        }
        // Withdrawal or missed follow-up.
        if matches!(randomised, 5 | 22 | 37 | 51) {
            let reason = ["moved away", "lost interest", "knee injury", "moved away"]
                [(randomised % 4) as usize];
            log.push(
                day + 40,
                Role::Investigator,
                Some(reason),
                Payload::Withdrawn {
                    participant: p.clone(),
                },
            );
            continue;
        }
        if matches!(randomised, 13 | 44) {
            continue;
        }
        let effect = if hiit {
            (4.0 - 1.5 * (ifn - 2.0)) * (0.5 + adherence / 2.0)
        } else {
            0.0
        };
        let vo2_rel1 = vo2_rel0 + 0.5 + effect + 1.8 * noise.sample(&mut rng);
        let weight1 = r2(weight + 0.8 * noise.sample(&mut rng));
        let fss1 = r2(
            (fss0 - 0.1 - if hiit { 0.6 } else { 0.0 } + 0.7 * noise.sample(&mut rng))
                .clamp(1.0, 7.0),
        );
        log.value(
            day + 100,
            &p,
            "followup",
            "cpet",
            "vo2max_abs",
            json!(r2(vo2_rel1 * weight1)),
        );
        log.value(day + 100, &p, "followup", "cpet", "weight", json!(weight1));
        log.value(day + 100, &p, "followup", "fss", "score", json!(fss1));
    }
    assert_eq!(randomised, 60);
    log.push(400, Role::DataManager, None, Payload::DatabaseLocked);
    log.events
}

fn state() -> TrialState {
    let events = generated_trial(20260601);
    TrialState::from_events("lupex", &events).unwrap()
}

fn options() -> ReportOptions {
    ReportOptions {
        population: PopulationSettings::default(),
        analysis: AnalysisSettings {
            m: 10,
            iterations: 5,
            seed: 42,
        },
        stamp: None,
    }
}

#[test]
fn populations_follow_the_protocol_rules() {
    let s = state();
    let p = lupex();
    let d = analysis_data(&s, &p, &PopulationSettings::default()).unwrap();
    assert_eq!(d.frame.nrows(), 60);
    let itt = &d.populations["itt"];
    assert!(itt.iter().all(|&b| b), "ITT is everyone randomised");
    let pp = &d.populations["pp"];
    let Some(Column::Text(arm)) = d.frame.column("arm") else {
        panic!()
    };
    for i in 0..60 {
        let a = &d.adherence[i];
        let expect =
            !d.withdrawn[i] && (arm[i] == "control" || a.compliant_sessions as f64 / 36.0 >= 0.7);
        assert_eq!(pp[i], expect, "{} {:?}", d.participants[i], a);
        if arm[i] == "hiit" {
            assert_eq!(a.planned, 36);
        } else {
            assert_eq!(a.planned, 0);
        }
    }
    let n_pp = pp.iter().filter(|&&b| b).count();
    assert!(n_pp < 56 && n_pp > 30, "{n_pp}");
    // The derived field: vo2max_rel = vo2max_abs / weight, computed from the entries.
    let Some(Column::Num(v0)) = d.frame.column("vo2max_w0") else {
        panic!()
    };
    let pid = &d.participants[0];
    let part = &s.participants[pid];
    let abs = part.values["baseline/cpet/vo2max_abs"].as_f64().unwrap();
    let w = part.values["baseline/cpet/weight"].as_f64().unwrap();
    assert!((v0[0] - abs / w).abs() < 1e-12);
    // Missing follow-up: 4 withdrawn + 2 missed.
    let Some(Column::Num(v1)) = d.frame.column("vo2max_w12") else {
        panic!()
    };
    assert_eq!(v1.iter().filter(|x| x.is_nan()).count(), 6);
}

#[test]
fn report_tables_snapshot() {
    let s = state();
    let r = build_report(&s, &lupex(), &options()).unwrap();
    insta::assert_snapshot!("lupex_generated_report_md", r.markdown);
    if let Ok(dir) = std::env::var("RCT_REPORT_DUMP") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(format!("{dir}/report.md"), &r.markdown).unwrap();
        std::fs::write(format!("{dir}/report.html"), &r.html).unwrap();
        for (name, svg) in &r.figures {
            std::fs::write(format!("{dir}/{name}"), svg).unwrap();
        }
    }
}

#[test]
fn report_flow_and_figures() {
    let s = state();
    let r = build_report(&s, &lupex(), &options()).unwrap();
    let f = &r.flow;
    assert_eq!(f.assessed, 75);
    assert_eq!(f.randomised, 60);
    assert_eq!(
        f.ineligible + f.undetermined + f.eligible_not_randomised,
        15
    );
    assert_eq!(f.arms.iter().map(|a| a.allocated).sum::<usize>(), 60);
    assert_eq!(f.arms.iter().map(|a| a.withdrawn).sum::<usize>(), 4);
    assert_eq!(f.arms.iter().map(|a| a.outcome_missing).sum::<usize>(), 6);
    let names: Vec<&str> = r.figures.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"consort.svg") && names.contains(&"forest.svg"));
    assert!(names
        .iter()
        .any(|n| n.starts_with("effect_ifn_vo2max_hiit")));
    for (n, svg) in &r.figures {
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{n}"
        );
        assert!(svg.trim_end().ends_with("</svg>"), "{n}");
        assert!(
            !svg.contains("NaN") && !svg.contains("inf"),
            "{n} has a non-finite coordinate"
        );
        assert!(
            r.html.contains(svg.trim_end()),
            "{n} is inlined in the HTML"
        );
    }
    // Self-contained: no external resources.
    assert!(!r.html.contains("src=\"http") && !r.html.contains("<link"));
    // The ITT primary analysis is MI over all 60 and complete-case over 54.
    let prim: Vec<_> = r
        .results
        .models
        .iter()
        .filter(|m| m.model == "primary" && m.population == "itt")
        .collect();
    assert_eq!(prim.len(), 2);
    assert!(prim[0].method.starts_with("multiple imputation") && prim[0].nobs == 60);
    assert_eq!(prim[1].nobs, 54);
    // The generated HIIT effect on VO2max is positive and the interaction with IFN negative.
    assert!(prim[0].estimates[0].estimate > 0.0);
    let c = &r.results.curves[0];
    assert!(c.interaction.estimate < 0.0);
}

#[test]
fn report_is_reproducible() {
    let s = state();
    let a = build_report(&s, &lupex(), &options()).unwrap();
    let b = build_report(&s, &lupex(), &options()).unwrap();
    assert_eq!(a.markdown, b.markdown);
    assert_eq!(a.html, b.html);
}
