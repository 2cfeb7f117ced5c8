#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Blinding: over a generated trial of each kind (blinded, open), every view
//! and every audit entry of every role is serialised and searched for the
//! arm identifiers and names, the arm-specific form, and the hashes of
//! randomised events (a hash commits to the arm and could be tested against
//! guesses). A blinded role of a blinded trial must never receive them; the
//! positive controls (unblinded roles, open trial) must.

use chrono::{DateTime, Duration, Utc};
use rct_record::{
    Actor, Arm, Command, Event, FormRule, Payload, Role, Sites, TrialDesign, TrialState,
};
use serde_json::json;

const FORBIDDEN: [&str; 4] = ["armzulu", "armyankee", "Zulu Regimen", "Yankee Regimen"];
const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";

fn user_of(role: Role) -> String {
    format!("u_{role}")
}

/// A small deterministic generator (so the trial is the same every run).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

struct Trial {
    state: TrialState,
    events: Vec<Event>,
    t: DateTime<Utc>,
}

impl Trial {
    fn run(&mut self, actor: &Actor, reason: Option<&str>, c: Command) -> bool {
        self.t += Duration::minutes(1);
        match self.state.execute(actor, self.t, reason, &c) {
            Ok(events) => {
                self.events.extend(events);
                true
            }
            Err(_) => false,
        }
    }
}

fn generate(blinded: bool, kits: bool, seed: u64) -> Trial {
    let mut trial = Trial {
        state: TrialState::new("gen"),
        events: Vec::new(),
        t: "2026-05-01T08:00:00Z".parse().unwrap(),
    };
    let admin = Actor::new("ada", Role::Admin, None);
    let mut design = TrialDesign::new("pbr:4");
    design.stratify_by = vec!["site".into()];
    design.kits = kits;
    design.forms = vec![
        FormRule {
            form: "armzulu_diary".into(),
            arm: Some("armzulu".into()),
            entered_by: None,
        },
        FormRule {
            form: "fatigue".into(),
            arm: None,
            entered_by: Some(Role::OutcomeAssessor),
        },
    ];
    let arms = vec![
        Arm {
            id: "armzulu".into(),
            name: "Zulu Regimen".into(),
        },
        Arm {
            id: "armyankee".into(),
            name: "Yankee Regimen".into(),
        },
    ];
    assert!(trial.run(
        &admin,
        None,
        Command::RegisterTrial {
            title: "Generated".into(),
            blinded,
            arms,
            design,
            seed: rct_record::TrialSecrets::insecure_for_tests(seed).seed,
            seal_key: rct_record::TrialSecrets::insecure_for_tests(seed).seal_key_hex(),
        },
    ));
    for site in ["s1", "s2"] {
        assert!(trial.run(
            &admin,
            None,
            Command::AddSite {
                site: site.into(),
                name: format!("Site {site}")
            }
        ));
    }
    for role in Role::ALL.into_iter().filter(|r| *r != Role::System) {
        let user = user_of(role);
        assert!(trial.run(
            &admin,
            None,
            Command::CreateUser {
                user: user.clone(),
                display_name: user.clone(),
                password_hash: HASH.into()
            },
        ));
        assert!(trial.run(
            &admin,
            None,
            Command::GrantRole {
                user,
                role,
                sites: Sites::All
            }
        ));
    }
    // A second investigator who breaks the code once, and one limited to s2.
    for (user, sites) in [
        ("ursula", Sites::All),
        ("sam", Sites::Only(vec!["s2".into()])),
    ] {
        assert!(trial.run(
            &admin,
            None,
            Command::CreateUser {
                user: user.into(),
                display_name: user.into(),
                password_hash: HASH.into()
            },
        ));
        assert!(trial.run(
            &admin,
            None,
            Command::GrantRole {
                user: user.into(),
                role: Role::Investigator,
                sites
            }
        ));
    }
    let system = Actor::new("rct", Role::System, None);
    assert!(trial.run(
        &system,
        None,
        Command::LoginFailed {
            user: user_of(Role::Investigator)
        }
    ));
    assert!(trial.run(
        &system,
        None,
        Command::Login {
            user: user_of(Role::Investigator)
        }
    ));

    let mut rng = Lcg(seed);
    let inv = |site: &str| Actor::new(&user_of(Role::Investigator), Role::Investigator, Some(site));
    let staff = Actor::new(
        &user_of(Role::InterventionStaff),
        Role::InterventionStaff,
        None,
    );
    let oa = Actor::new(&user_of(Role::OutcomeAssessor), Role::OutcomeAssessor, None);
    let monitor = Actor::new(&user_of(Role::Monitor), Role::Monitor, None);
    let dm = Actor::new(&user_of(Role::DataManager), Role::DataManager, None);
    for i in 0..40 {
        let id = format!("P{i:02}");
        let site = if rng.next(3) == 0 { "s2" } else { "s1" };
        let a = inv(site);
        // (The verdict is the record's now; the draw keeps the sequence.)
        let _ = rng.next(6);
        trial.run(
            &a,
            None,
            Command::Screen {
                participant: id.clone(),
                site: None,
                date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                facts: Default::default(),
            },
        );
        trial.run(
            &a,
            None,
            Command::Consent {
                participant: id.clone(),
                version: None,
                given_at: None,
                obtained_by: None,
            },
        );
        let randomised = trial.run(
            &a,
            None,
            Command::Randomise {
                participant: id.clone(),
            },
        );
        let value = |form: &str, v: f64| Command::EnterValue {
            participant: id.clone(),
            visit: "week4".into(),
            form: form.into(),
            field: "score".into(),
            value: json!(v),
        };
        trial.run(&a, None, value("vitals", 60.0 + i as f64 / 3.0));
        trial.run(&oa, None, value("fatigue", 4.5));
        if randomised {
            // Written only when the participant is in armzulu (check refuses otherwise).
            if trial.run(&staff, None, value("armzulu_diary", 30.0)) {
                trial.run(
                    &staff,
                    None,
                    Command::RecordSession {
                        participant: id.clone(),
                        session: format!("{id}-1"),
                        summary: json!({"compliance": 0.87}),
                    },
                );
                trial.run(
                    &monitor,
                    None,
                    Command::RaiseQuery {
                        participant: id.clone(),
                        item: Some("week4/armzulu_diary/score".into()),
                        text: "Check diary".into(),
                    },
                );
            }
        }
        if rng.next(4) == 0 {
            trial.run(
                &a,
                Some("transcription"),
                Command::ChangeValue {
                    participant: id.clone(),
                    visit: "week4".into(),
                    form: "vitals".into(),
                    field: "score".into(),
                    value: json!(99),
                },
            );
            trial.run(
                &monitor,
                None,
                Command::RaiseQuery {
                    participant: id.clone(),
                    item: Some("week4/vitals/score".into()),
                    text: "Please confirm".into(),
                },
            );
        }
        if rng.next(10) == 0 {
            trial.run(
                &a,
                Some("relocated"),
                Command::Withdraw {
                    participant: id.clone(),
                },
            );
        }
    }
    let open: Vec<String> = trial.state.queries.keys().cloned().collect();
    for q in open {
        trial.run(
            &inv("s1"),
            None,
            Command::AnswerQuery {
                query: q.clone(),
                text: "Confirmed".into(),
            },
        );
        trial.run(&dm, None, Command::CloseQuery { query: q });
    }
    if blinded {
        let first = trial
            .state
            .participants
            .values()
            .find(|p| p.allocation.is_some())
            .unwrap()
            .id
            .clone();
        let ursula = Actor::new("ursula", Role::Investigator, Some("s1"));
        assert!(trial.run(
            &ursula,
            Some("severe adverse event after dosing"),
            Command::EmergencyUnblind {
                participant: first,
                category: "serious adverse event".into(),
            }
        ));
    }
    trial
}

/// Everything `user` can receive: the view and every audit entry.
fn everything(trial: &Trial, user: &str) -> String {
    let mut out = serde_json::to_string(&trial.state.view(user)).unwrap();
    for e in &trial.events {
        if let Some(v) = trial.state.view_event(e, user) {
            out.push('\n');
            out.push_str(&v.to_string());
        }
    }
    out
}

/// The nonces that open the arm and position of each randomisation: a
/// blinded reader who had one could test a guess against its commitment.
fn randomised_nonces(trial: &Trial) -> Vec<String> {
    trial
        .events
        .iter()
        .filter(|e| matches!(e.payload, Payload::Randomised { .. }))
        .flat_map(|e| e.openings.values().map(|o| o.nonce.clone()))
        .collect()
}

fn assert_blind(trial: &Trial, user: &str) {
    let text = everything(trial, user);
    for word in FORBIDDEN {
        assert!(!text.contains(word), "user {user} received `{word}`");
    }
    let nonces = randomised_nonces(trial);
    assert!(!nonces.is_empty());
    for n in nonces {
        assert!(
            !text.contains(&n),
            "user {user} received the nonce that opens a randomisation"
        );
    }
    // Every entry the reader receives re-hashes from what it shows (the
    // chain holds for blinded readers too; concealed values are salted
    // commitments).
    for e in &trial.events {
        if let Some(v) = trial.state.view_event(e, user) {
            let body = rct_record::entry_body(&v).unwrap();
            assert_eq!(
                rct_record::sha256_hex(body.as_bytes()),
                e.hash,
                "{user}: entry {} does not re-hash",
                e.seq
            );
        }
    }
    assert!(
        !text.contains("argon2"),
        "user {user} received a password hash"
    );
}

fn assert_sees_arms(trial: &Trial, user: &str) {
    let text = everything(trial, user);
    assert!(
        text.contains("armzulu") && text.contains("Yankee Regimen"),
        "user {user} should see arms"
    );
    assert!(!text.contains("argon2"));
}

#[test]
fn blinded_roles_never_receive_an_arm() {
    for kits in [false, true] {
        let mut trial = generate(true, kits, 20260501 + u64::from(kits));
        let randomised = trial
            .state
            .participants
            .values()
            .filter(|p| p.allocation.is_some())
            .count();
        assert!(
            randomised >= 20,
            "the generated trial randomised {randomised}"
        );
        assert!(trial
            .events
            .iter()
            .any(|e| matches!(e.payload, Payload::SessionRecorded { .. })));
        let blinded = [
            Role::Investigator,
            Role::ResearchNurse,
            Role::OutcomeAssessor,
            Role::DataManager,
            Role::Monitor,
            Role::Statistician,
            Role::Admin,
            Role::Sponsor,
            Role::Dmc,
            Role::Pharmacovigilance,
        ];
        for role in blinded {
            assert_blind(&trial, &user_of(role));
        }
        assert_blind(&trial, "sam");
        for role in [Role::InterventionStaff, Role::Pharmacist] {
            assert_sees_arms(&trial, &user_of(role));
        }
        if kits {
            // Kit codes are blind and shown; the mapping is not.
            let v = trial.state.view(&user_of(Role::Investigator));
            assert!(v
                .participants
                .iter()
                .filter(|p| p.randomised)
                .all(|p| p.kit.is_some()));
        }
        // The code-break reveals one participant to ursula only.
        let v = trial.state.view("ursula");
        let seen: Vec<_> = v
            .participants
            .iter()
            .filter(|p| p.allocation.is_some())
            .collect();
        assert_eq!(seen.len(), 1);
        assert!(seen[0].unblinded_by_emergency);
        assert!(v.arms.is_none());
        // The lock unblinds nobody; the trial's unblinding (a final
        // analysis plan, then two people in two roles) unblinds the
        // statistician, nobody else.
        let dm = Actor::new(&user_of(Role::DataManager), Role::DataManager, None);
        assert!(trial.run(&dm, Some("end of follow-up"), Command::Lock));
        for role in blinded {
            assert_blind(&trial, &user_of(role));
        }
        let stat = Actor::new(&user_of(Role::Statistician), Role::Statistician, None);
        let sponsor = Actor::new(&user_of(Role::Sponsor), Role::Sponsor, None);
        let sap = Command::FinaliseSap {
            version: "1.0".into(),
            digest: rct_record::sha256_hex(b"statistical analysis plan"),
        };
        assert!(trial.run(&stat, None, sap));
        assert!(trial.run(&sponsor, None, Command::RequestUnblinding));
        assert!(trial.run(&stat, None, Command::ApproveUnblinding));
        assert_sees_arms(&trial, &user_of(Role::Statistician));
        for role in blinded.into_iter().filter(|r| *r != Role::Statistician) {
            assert_blind(&trial, &user_of(role));
        }
    }
}

#[test]
fn open_trials_show_arms_to_everyone_with_access() {
    let trial = generate(false, false, 77);
    for role in Role::ALL.into_iter().filter(|r| *r != Role::System) {
        assert_sees_arms(&trial, &user_of(role));
    }
    // Site scoping still holds: sam (s2) sees only s2 participants.
    let v = trial.state.view("sam");
    assert!(!v.participants.is_empty());
    assert!(v
        .participants
        .iter()
        .all(|p| p.site.as_deref() == Some("s2")));
}
