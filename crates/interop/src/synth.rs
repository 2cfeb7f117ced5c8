//! A generated trial record for tests and benchmarks: a protocol's forms
//! filled with plausible values for `n` participants, as sealed events
//! (deterministic for a seed; no clock, no randomness source but the seed).

use chrono::{DateTime, Duration, Utc};
use rct_core::protocol::{Protocol, ValueType};
use rct_record::{Arm, Event, EventDraft, Payload, Role};
use serde_json::{json, Value};

/// A small deterministic generator (SplitMix64).
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

/// Text values include non-ASCII characters, so exports are checked to carry
/// Unicode as characters.
const TEXTS: &[&str] = &[
    "no findings",
    "mild oedema, ankles",
    "Ærøskøbing – naïve café visit",
    "患者自述疲劳",
    "rash <2 cm> & \"itch\"",
];

/// Sealed events of a generated trial: registration, then for each
/// participant consent, randomisation and every visit's forms filled (the
/// arm's own forms only for that arm), about one value in twelve corrected
/// afterwards with a reason.
pub fn generate(
    protocol: &Protocol,
    participants: usize,
    seed: u64,
    start: DateTime<Utc>,
) -> Vec<Event> {
    let trial = protocol.trial.id.get_ref().clone();
    let mut rng = Mix(seed);
    let mut drafts: Vec<EventDraft> = Vec::new();
    let draft = |at: DateTime<Utc>,
                 actor: &str,
                 role: Role,
                 site: Option<&str>,
                 reason: Option<&str>,
                 payload: Payload| EventDraft {
        software: None,
        trial: trial.clone(),
        at,
        actor: actor.into(),
        role,
        site: site.map(str::to_string),
        reason: reason.map(str::to_string),
        payload,
    };
    drafts.push(draft(
        start,
        "admin",
        Role::Admin,
        None,
        None,
        Payload::TrialRegistered {
            title: protocol.trial.title.clone(),
            blinded: protocol.is_blinded(),
            arms: protocol
                .arms
                .iter()
                .map(|a| Arm {
                    id: a.id.get_ref().clone(),
                    name: a.label.clone(),
                })
                .collect(),
            design: Value::String(protocol.randomisation.design.get_ref().clone()),
            seed: seed.into(),
            seal_key: Some(rct_record::TrialSecrets::insecure_for_tests(seed).seal_key_hex()),
            public_design: None,
        },
    ));
    let sites: Vec<String> = if protocol.sites.is_empty() {
        vec!["site1".into()]
    } else {
        protocol
            .sites
            .iter()
            .map(|s| s.id.get_ref().clone())
            .collect()
    };
    let users = ["ann.nurse", "bo.investigator", "søren.assessor"];
    for i in 0..participants {
        let pid = format!("P{:04}", i + 1);
        let site = sites[i % sites.len()].as_str();
        let t0 = start + Duration::hours(1 + i as i64);
        let user = users[i % users.len()];
        drafts.push(draft(
            t0,
            user,
            Role::Investigator,
            Some(site),
            None,
            Payload::Consented {
                participant: pid.clone(),
                version: None,
                given_at: None,
                obtained_by: None,
            },
        ));
        let arm = &protocol.arms[rng.below(protocol.arms.len() as u64) as usize];
        let arm_id = arm.id.get_ref().clone();
        let kit = protocol.masking.kit_codes.then(|| format!("K{}", 1001 + i));
        if let Ok(p) = serde_json::from_value::<Payload>(json!({
            "type": "randomised",
            "participant": pid,
            "arm": arm_id,
            "kit": kit,
            "position": i as u64 + 1,
            "stratum": "all",
        })) {
            drafts.push(draft(
                t0 + Duration::minutes(5),
                user,
                Role::Investigator,
                Some(site),
                None,
                p,
            ));
        }
        for v in &protocol.visits {
            let vt = t0 + Duration::days(i64::from(*v.day.get_ref()) + 30) + Duration::minutes(10);
            for fid in &v.forms {
                let Some(form) = protocol.form(fid.get_ref()) else {
                    continue;
                };
                if form.arm.as_ref().is_some_and(|a| *a.get_ref() != arm_id) {
                    continue;
                }
                for (k, field) in form.fields.iter().enumerate() {
                    if field.derived.is_some() {
                        continue;
                    }
                    let value = gen_value(&mut rng, protocol, field, vt);
                    let at = vt + Duration::seconds(k as i64 * 7);
                    drafts.push(draft(
                        at,
                        user,
                        Role::Investigator,
                        Some(site),
                        None,
                        Payload::ValueEntered {
                            participant: pid.clone(),
                            visit: v.id.get_ref().clone(),
                            form: fid.get_ref().clone(),
                            field: field.id.get_ref().clone(),
                            value: value.clone(),
                        },
                    ));
                    if rng.below(12) == 0 {
                        let new = gen_value(&mut rng, protocol, field, vt);
                        drafts.push(draft(
                            at + Duration::days(3),
                            "data.manager",
                            Role::DataManager,
                            Some(site),
                            Some("transcription error corrected against the source – query Q1"),
                            Payload::ValueChanged {
                                participant: pid.clone(),
                                visit: v.id.get_ref().clone(),
                                form: fid.get_ref().clone(),
                                field: field.id.get_ref().clone(),
                                old: value,
                                new,
                            },
                        ));
                    }
                }
            }
        }
    }
    let mut events = Vec::with_capacity(drafts.len());
    let mut state = rct_record::TrialState::new(&trial);
    for d in drafts {
        // Sealed as the trial's blinding requires; a generated event that
        // does not fold shows up when the consumer folds the log.
        let e = state.seal(d);
        let _ = state.apply(&e);
        events.push(e);
    }
    events
}

fn gen_value(
    rng: &mut Mix,
    protocol: &Protocol,
    field: &rct_core::protocol::Field,
    at: DateTime<Utc>,
) -> Value {
    let range = field
        .soft
        .as_ref()
        .or(field.hard.as_ref())
        .map(|r| *r.get_ref())
        .unwrap_or([0.0, 100.0]);
    match field.kind {
        ValueType::Number => {
            let x = range[0] + rng.unit() * (range[1] - range[0]);
            json!((x * 10.0).round() / 10.0)
        }
        ValueType::Integer => {
            let lo = range[0].ceil() as i64;
            let hi = range[1].floor() as i64;
            json!(lo + rng.below((hi - lo + 1).max(1) as u64) as i64)
        }
        ValueType::Text => json!(TEXTS[rng.below(TEXTS.len() as u64) as usize]),
        ValueType::Date => json!((at.date_naive() - Duration::days(rng.below(5) as i64))
            .format("%Y-%m-%d")
            .to_string()),
        ValueType::Boolean => json!(rng.below(2) == 1),
        ValueType::Choice => {
            let codes: Vec<String> = field
                .code_list
                .as_ref()
                .and_then(|c| {
                    protocol
                        .code_lists
                        .iter()
                        .find(|l| l.id.get_ref() == c.get_ref())
                })
                .map(|l| l.items.iter().map(|i| i.code.get_ref().clone()).collect())
                .unwrap_or_default();
            if codes.is_empty() {
                Value::Null
            } else {
                json!(codes[rng.below(codes.len() as u64) as usize])
            }
        }
    }
}
