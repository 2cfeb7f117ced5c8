//! `rct serve --demo`: both seed protocols, one account per role, a few
//! participants screened, consented and randomised through the same
//! commands the pages use.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rct_core::protocol::{parse, Protocol};
use rct_record::{registration, Actor, Command, Role, Sites};

use crate::capture::screen_input;
use crate::commands::{execute, Who};
use crate::{App, WebError};

/// The LUPEX protocol (HIIT in lupus; investigator and assessors blinded).
pub const LUPEX: &str = include_str!("../../../protocols/lupex.toml");
/// The low-dose IL-2 protocol (double-blind, kit codes, three sites).
pub const IL2: &str = include_str!("../../../protocols/il2-sle.toml");

/// The seed protocol files: name and text.
pub const SEEDS: [(&str, &str); 2] = [
    ("protocols/lupex.toml", LUPEX),
    ("protocols/il2-sle.toml", IL2),
];

/// The seed protocols, parsed.
pub fn seed_protocols() -> Result<Vec<Protocol>, WebError> {
    SEEDS
        .iter()
        .map(|(name, src)| parse(src, name).map_err(|d| WebError::Internal(format!("{name}: {d}"))))
        .collect()
}

/// A demo account: user name, password, and its role in every trial with the sites.
pub struct DemoUser {
    /// Login.
    pub user: &'static str,
    /// Password.
    pub password: String,
    /// Role.
    pub role: Role,
    /// Sites of the IL-2 trial (LUPEX has one site).
    pub il2_sites: Option<&'static [&'static str]>,
}

/// One account per role (and a second investigator at another site, to
/// show site scoping).
pub fn demo_users() -> Vec<DemoUser> {
    let u = |user: &'static str, role, il2_sites| DemoUser {
        user,
        password: format!("{user}-demo-pw"),
        role,
        il2_sites,
    };
    vec![
        u("admin", Role::Admin, None),
        u("investigator", Role::Investigator, Some(&["pkuph"])),
        u("investigator2", Role::Investigator, Some(&["site2"])),
        u("nurse", Role::ResearchNurse, Some(&["pkuph"])),
        u("physio", Role::InterventionStaff, None),
        u("pharmacist", Role::Pharmacist, None),
        u("assessor", Role::OutcomeAssessor, None),
        u("datamanager", Role::DataManager, None),
        u("monitor", Role::Monitor, None),
        u("statistician", Role::Statistician, None),
        u("sponsor", Role::Sponsor, None),
        u("dmc", Role::Dmc, None),
        u("pharmacovigilance", Role::Pharmacovigilance, None),
    ]
}

/// Where a demo login stands in each trial of the record: the trial, the
/// protocol's label of its role there, and whether it sees arms (what the
/// record's views decide for that user), e.g. `lupex: Investigator
/// (blinded)`. Trials the login has no role in are left out.
pub fn login_trials(app: &App, user: &str) -> Result<Vec<String>, WebError> {
    let mut out = Vec::new();
    for trial in app.trial_ids()? {
        let state = app.ledger.state(&trial)?;
        let Some(grants) = state.grants.get(user) else {
            continue;
        };
        let protocol = app.protocol(&trial)?;
        let roles: Vec<String> = grants
            .keys()
            .map(|r| crate::pages::role_label(&protocol, *r))
            .collect();
        let sight = if state.sees_arms(user) {
            "sees arms"
        } else {
            "blinded"
        };
        out.push(format!("{trial}: {} ({sight})", roles.join(", ")));
    }
    Ok(out)
}

/// A trial's secrets from the operating system (the demo's too: a fixed
/// demo seed would let anyone who reads this code predict its lists).
fn draw_secrets() -> Result<rct_record::TrialSecrets, WebError> {
    rct_store::secrets::draw(None).map_err(WebError::from)
}

fn admin_who(admin: &str, at: DateTime<Utc>) -> Who {
    Who {
        actor: Actor::new(admin, Role::Admin, None).running(crate::SOFTWARE),
        at,
        reason: None,
    }
}

/// Registers a trial from its protocol (first event, by `admin`) and adds
/// the protocol's sites. The commands are `rct_record::registration`'s (the
/// one mapping from a protocol to its registration, also behind `rct trial
/// create`); the registration keeps the protocol file's `text`, the one
/// place every edge (pages, API, `rct trial ...`, `rct analyse --db`) reads
/// the protocol from.
pub fn register(
    app: &App,
    p: &Protocol,
    text: &str,
    admin: &str,
    secrets: rct_record::TrialSecrets,
    at: DateTime<Utc>,
) -> Result<(), WebError> {
    let trial = p.trial.id.get_ref().clone();
    let who = admin_who(admin, at);
    // The record keeps the protocol text: every page, the API and the
    // command line read the protocol from it.
    let first = registration::register_command_with_text(p, text, secrets);
    execute(app, &trial, &who, &first)?;
    // Each site after the registration it needs (one command at a time).
    for cmd in registration::site_commands(p) {
        execute(app, &trial, &who, &cmd)?;
    }
    Ok(())
}

/// Screening facts (as form input) of a LUPEX demo participant.
pub fn lupex_facts(sex: &str, eligible: bool) -> BTreeMap<String, String> {
    let mut m: BTreeMap<String, String> = [
        ("birth_date", "1985-06-15"),
        ("sex", sex),
        ("able_to_consent", "true"),
        ("sle_diagnosed", "true"),
        ("eular_acr_2019_classified", "true"),
        ("slicc_2012_classified", "false"),
        ("exercise_contraindicated", "false"),
        ("major_bone_fracture", "false"),
        ("exercise_exacerbated_myalgia", "false"),
        ("active_infection", "false"),
        ("severe_pleuritis_pericarditis", "false"),
        ("prednisolone_dose", "7.5"),
        ("diabetes_diagnosed", "false"),
        ("pregnant", "false"),
        ("sledai_2k_selena", "4"),
        ("pet_substudy", "false"),
    ]
    .iter()
    .map(|(k, v)| (format!("f.{k}"), v.to_string()))
    .collect();
    if !eligible {
        m.insert("f.diabetes_diagnosed".into(), "true".into());
    }
    m
}

/// Screening facts (as form input) of an IL-2 demo participant.
pub fn il2_facts(eligible: bool) -> BTreeMap<String, String> {
    let mut m: BTreeMap<String, String> = [
        ("birth_date", "1990-01-01"),
        ("sex", "female"),
        ("acr_1997_criteria_met", "5"),
        ("sledai_2k", "10"),
        ("weight", "60"),
        ("inadequate_response", "true"),
        ("standard_treatment_start", "2024-06-01"),
        ("urine_pregnancy_test", "negative"),
        ("written_consent", "true"),
        ("allergy_study_drugs", "false"),
        ("active_severe_npsle", "false"),
        ("alt", "30"),
        ("ast", "25"),
        ("pregnant", "false"),
        ("lactating", "false"),
        ("active_cancer", "false"),
        ("cancer_history", "false"),
        ("serious_infection", "false"),
        ("chronic_infection_history", "false"),
        ("active_specified_infection", "false"),
        ("vision_disorder_history", "false"),
        ("cataract", "false"),
        ("severe_comorbidity", "false"),
        ("nyha_class", "0"),
        ("active_peptic_ulcer", "false"),
        ("other_autoimmune_disease", "false"),
        ("biologic_ever", "false"),
        ("other_immunosuppressant", "false"),
        ("other_trial_ever", "false"),
    ]
    .iter()
    .map(|(k, v)| (format!("f.{k}"), v.to_string()))
    .collect();
    m.insert("u.alt".into(), "40".into());
    m.insert("u.ast".into(), "40".into());
    if !eligible {
        m.insert("f.sledai_2k".into(), "6".into());
    }
    m
}

/// One demo participant's path.
pub struct Plan<'a> {
    /// Trial.
    pub trial: &'a str,
    /// Participant id.
    pub pid: String,
    /// Site.
    pub site: &'a str,
    /// Facts as form input.
    pub facts: BTreeMap<String, String>,
    /// Consent and randomise (if eligible).
    pub randomise: bool,
    /// When screened.
    pub at: DateTime<Utc>,
}

/// Screens, consents and randomises one participant as `user` (an
/// investigator), through the commands the pages use.
pub fn enrol(app: &App, plan: &Plan<'_>, user: &str) -> Result<(), WebError> {
    let p = app.protocol(plan.trial)?;
    let (date, facts) = screen_input(&p, &plan.facts, "2025-03-01")?;
    let who = |days: i64| Who {
        actor: Actor::new(user, Role::Investigator, None).running(crate::SOFTWARE),
        at: plan.at + Duration::days(days),
        reason: None,
    };
    execute(
        app,
        plan.trial,
        &who(0),
        &Command::Screen {
            participant: plan.pid.clone(),
            site: Some(plan.site.to_string()),
            date,
            facts,
        },
    )?;
    let eligible = app
        .ledger
        .state(plan.trial)?
        .participants
        .get(&plan.pid)
        .and_then(|p| p.screening.as_ref())
        .is_some_and(|s| s.verdict == rct_record::Verdict::Eligible);
    if plan.randomise && eligible {
        execute(
            app,
            plan.trial,
            &who(1),
            &Command::Consent {
                participant: plan.pid.clone(),
                version: None,
                given_at: None,
                obtained_by: None,
            },
        )?;
        execute(
            app,
            plan.trial,
            &who(2),
            &Command::Randomise {
                participant: plan.pid.clone(),
            },
        )?;
    }
    Ok(())
}

/// Fills the store: both trials (unless registered already), the demo
/// accounts, roles and sites, a handful of demo participants, and `extra`
/// more randomised IL-2 participants (the benchmark uses thousands).
/// Returns the demo users.
pub fn seed(app: &App, extra: usize) -> Result<Vec<DemoUser>, WebError> {
    seed_with(app, extra, |_| draw_secrets())
}

/// As [`seed`], with each trial's secrets from `secrets` (given the trial
/// id) instead of the operating system: for tests that need known lists
/// (e.g. two records that differ only in their allocations).
pub fn seed_with(
    app: &App,
    extra: usize,
    mut secrets: impl FnMut(&str) -> Result<rct_record::TrialSecrets, WebError>,
) -> Result<Vec<DemoUser>, WebError> {
    let now = app.now();
    let users = demo_users();
    let start = now - Duration::days(70);
    let mut hashes = BTreeMap::new();
    for u in &users {
        let h = app
            .passwords
            .hash(&u.password)
            .map_err(|e| WebError::Internal(e.to_string()))?;
        hashes.insert(u.user, h);
    }
    let mut fresh = Vec::new();
    for (seed, (_, seed_text)) in seed_protocols()?.iter().zip(SEEDS) {
        let trial = seed.trial.id.get_ref().clone();
        if app.ledger.state(&trial)?.seq > 0 {
            continue;
        }
        fresh.push(trial.clone());
        // A protocol text the caller loaded for this trial (a local
        // version of a seed protocol) is the one registered.
        let (p, text) = match (app.protocols.get(&trial), app.protocol_texts.get(&trial)) {
            (Some(p), Some(text)) => (p, text.as_str()),
            _ => (seed, seed_text),
        };
        register(app, p, text, "admin", secrets(&trial)?, start)?;
        let admin = admin_who("admin", start);
        for u in &users {
            // LUPEX has no pharmacist and one site; IL-2 has no exercise staff.
            let skip = (trial == "lupex" && u.role == Role::Pharmacist)
                || (trial == "il2-sle" && u.role == Role::InterventionStaff)
                || (trial == "lupex" && u.user == "investigator2");
            if skip {
                continue;
            }
            execute(
                app,
                &trial,
                &admin,
                &Command::CreateUser {
                    user: u.user.into(),
                    display_name: format!("Demo {}", u.role),
                    password_hash: hashes.get(u.user).cloned().unwrap_or_default(),
                },
            )?;
            if u.role == Role::Admin {
                continue;
            }
            let sites = match (trial.as_str(), u.il2_sites) {
                ("il2-sle", Some(s)) => Sites::Only(s.iter().map(|x| x.to_string()).collect()),
                _ => Sites::All,
            };
            execute(
                app,
                &trial,
                &admin,
                &Command::GrantRole {
                    user: u.user.into(),
                    role: u.role,
                    sites,
                },
            )?;
        }
    }
    let mut plans = Vec::new();
    for k in 0..6usize {
        let sex = if k % 2 == 0 { "female" } else { "male" };
        plans.push(Plan {
            trial: "lupex",
            pid: format!("L{:03}", k + 1),
            site: "rh",
            facts: lupex_facts(sex, k != 4),
            randomise: k != 5,
            at: start + Duration::days(7 * k as i64),
        });
    }
    for k in 0..7usize {
        let site = if k < 4 { "pkuph" } else { "site2" };
        plans.push(Plan {
            trial: "il2-sle",
            pid: format!("X{:03}", k + 1),
            site,
            facts: il2_facts(k != 6),
            randomise: true,
            at: start + Duration::days(6 * k as i64),
        });
    }
    for k in 0..extra {
        let site = ["pkuph", "site2"][k % 2];
        plans.push(Plan {
            trial: "il2-sle",
            pid: format!("B{:05}", k + 1),
            site,
            facts: il2_facts(true),
            randomise: true,
            at: start + Duration::days(60),
        });
    }
    for plan in plans.iter().filter(|p| fresh.iter().any(|t| t == p.trial)) {
        let who = match (plan.trial, plan.site) {
            ("il2-sle", "site2") => "investigator2",
            _ => "investigator",
        };
        enrol(app, plan, who)?;
    }
    Ok(users)
}

/// Registers every served protocol that the store does not hold yet, with
/// `admin` as the registering administrator (a fresh account with
/// `password`, or the existing one) and a seed from the operating system's
/// generator. Returns the trials registered.
pub fn bootstrap(app: &App, admin: &str, password: &str) -> Result<Vec<String>, WebError> {
    crate::auth::check_user_name(admin).map_err(|e| WebError::BadRequest(e.to_string()))?;
    let existing = crate::accounts::find(app, admin)?;
    let hash = match existing.and_then(|f| f.hashes.first().cloned()) {
        Some(h) => h,
        None => {
            crate::auth::check_password(password)
                .map_err(|e| WebError::BadRequest(e.to_string()))?;
            app.passwords
                .hash(password)
                .map_err(|e| WebError::Internal(e.to_string()))?
        }
    };
    let mut done = Vec::new();
    let protocols: Vec<Protocol> = app.protocols.values().cloned().collect();
    for p in &protocols {
        let trial = p.trial.id.get_ref().clone();
        if app.ledger.state(&trial)?.seq > 0 {
            continue;
        }
        let at = app.now();
        let Some(text) = app.protocol_texts.get(&trial) else {
            return Err(WebError::Internal(format!(
                "the text of protocol `{trial}` is not known; the record keeps the protocol text, so load it from its file"
            )));
        };
        register(app, p, text, admin, draw_secrets()?, at)?;
        execute(
            app,
            &trial,
            &admin_who(admin, at),
            &Command::CreateUser {
                user: admin.into(),
                display_name: admin.into(),
                password_hash: hash.clone(),
            },
        )?;
        done.push(trial);
    }
    Ok(done)
}
