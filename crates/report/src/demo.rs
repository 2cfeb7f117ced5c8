//! A generated LUPEX-like trial for tests, demonstrations and benchmarks:
//! the events of 75 people screened and 60 randomised, built from a seed.
//! Pure: returns events, writes nothing.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rct_record::{
    Arm, CriterionResult, Event, EventDraft, Payload, Role, TrialSecrets, TrialState, Verdict,
};
use serde_json::json;

fn sample(d: &StandardNormal, rng: &mut ChaCha8Rng) -> f64 {
    d.sample(rng)
}

struct Log {
    events: Vec<Event>,
    t0: DateTime<Utc>,
    /// The record as generated so far: events are sealed as the trial's
    /// blinding requires (a generated event that does not fold shows up
    /// when the consumer folds the log).
    state: TrialState,
}

impl Log {
    fn push(&mut self, day: i64, role: Role, reason: Option<&str>, payload: Payload) {
        let seq = self.state.seq + 1;
        let d = EventDraft {
            software: None,
            trial: "lupex".into(),
            at: self.t0 + Duration::days(day) + Duration::seconds(seq as i64),
            actor: "generator".into(),
            role,
            site: Some("rh".into()),
            reason: reason.map(str::to_string),
            payload,
        };
        let e = self.state.seal(d);
        let _ = self.state.apply(&e);
        self.events.push(e);
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

/// 75 people screened (8 ineligible, 3 undetermined, 3 declined to
/// participate, 1 eligible but not randomised), 60 randomised 1:1 in sex strata by blocks of 2; HIIT raises
/// VO2max by 4 - 1.5 (IFN score - 2) mL/kg/min and lowers FSS by 0.6; 36
/// planned sessions with participant-specific adherence; FSS at week 6 for
/// everyone not withdrawn by then (HIIT lowers it by 0.35); HIIT participants
/// with adherence under 0.5 stop the intervention after the last planned
/// session and stay in follow-up; 4 withdrawals and 2 more missed follow-ups;
/// database locked.
pub fn generated_lupex_trial(seed: u64) -> Vec<Event> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rng6 = ChaCha8Rng::seed_from_u64(seed ^ 0x6655_7736);
    let mut log = Log {
        events: Vec::new(),
        t0: DateTime::from_timestamp(1_673_254_800, 0).unwrap_or_default(), // 2023-01-09T09:00:00Z
        state: TrialState::new("lupex"),
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
            seed: 7.into(),
            seal_key: Some(TrialSecrets::insecure_for_tests(7).seal_key_hex()),
            public_design: Some(
                json!({"stratify_by": [], "minimise_on": [], "kits": false, "forms": []}),
            ),
        },
    );
    let noise = StandardNormal;
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
                facts: Default::default(),
                date: None,
            },
        );
        if verdict != Verdict::Eligible || randomised == 60 {
            continue;
        }
        if matches!(i, 10 | 30 | 50) {
            // Eligible, declined to participate.
            log.push(
                day,
                Role::Investigator,
                None,
                Payload::ConsentDeclined {
                    participant: p.clone(),
                },
            );
            continue;
        }
        log.push(
            day,
            Role::Investigator,
            None,
            Payload::Consented {
                participant: p.clone(),
                version: None,
                given_at: None,
                obtained_by: None,
            },
        );
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
        let weight = r2(68.0 + 10.0 * male + 9.0 * sample(&noise, &mut rng));
        let vo2_rel0 = 26.0 + 5.0 * male + 4.0 * sample(&noise, &mut rng);
        let ifn = r2((0.6 + 0.7 * sample(&noise, &mut rng)).exp());
        let fss0 = r2((4.6 + 1.1 * sample(&noise, &mut rng)).clamp(1.0, 7.0));
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
            // The least adherent stop exercising after the last planned
            // session and stay in follow-up (intention to treat).
            if adherence < 0.5 {
                log.push(
                    day + 100,
                    Role::InterventionStaff,
                    Some("could not keep up the sessions"),
                    Payload::InterventionStopped {
                        participant: p.clone(),
                    },
                );
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
        // Week-6 FSS (from its own generator, so the other values are those
        // of the seed as before); the two who miss follow-up still have it.
        let fss6 = r2((fss0 - 0.05 - if hiit { 0.35 } else { 0.0 }
            + 0.6 * sample(&noise, &mut rng6))
        .clamp(1.0, 7.0));
        log.value(day + 56, &p, "week6", "fss", "score", json!(fss6));
        if matches!(randomised, 13 | 44) {
            continue;
        }
        let effect = if hiit {
            (4.0 - 1.5 * (ifn - 2.0)) * (0.5 + adherence / 2.0)
        } else {
            0.0
        };
        let vo2_rel1 = vo2_rel0 + 0.5 + effect + 1.8 * sample(&noise, &mut rng);
        let weight1 = r2(weight + 0.8 * sample(&noise, &mut rng));
        let fss1 = r2(
            (fss0 - 0.1 - if hiit { 0.6 } else { 0.0 } + 0.7 * sample(&noise, &mut rng))
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
    log.push(400, Role::DataManager, None, Payload::DatabaseLocked);
    log.events
}
