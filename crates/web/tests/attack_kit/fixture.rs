//! The fixture `tests/attack.rs` and `tests/twins.rs` share: the demo of
//! `rct serve --demo` with more randomised participants, and the activity
//! each role performs in a trial (values entered by the blinded staff, the
//! HIIT form entered by the physiologist for the HIIT arm only, kits
//! dispensed by the pharmacist, a query, one emergency unblinding per trial
//! by the investigator), then the blinded and unblinded exports.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::http::StatusCode;
use chrono::Duration;
use rct_web::{demo, router, App, AppState, Passwords};
use serde_json::{json, Value};

use super::{Answer, Corpus, Public};
use crate::common::*;

pub const TRIALS: [&str; 2] = ["lupex", "il2-sle"];
/// More randomised IL-2 participants (`rct serve --demo
/// --demo-participants 40`: 20 per site) and LUPEX participants: grouping
/// is judged by how unlikely an exact match with the arms is by chance, and
/// that needs about 20 participants per reader.
pub const IL2_EXTRA: usize = 40;
pub const LUPEX_EXTRA: usize = 24;

/// Blinded users of `trial` (every demo account with a blinded role there).
pub fn blinded_users(trial: &str) -> Vec<&'static str> {
    demo::demo_users()
        .into_iter()
        .filter(|u| !u.role.is_unblinded())
        .filter(|u| !(trial == "lupex" && u.user == "investigator2"))
        .map(|u| u.user)
        .collect()
}

pub fn unblinded_user(trial: &str) -> &'static str {
    if trial == "lupex" {
        "physio"
    } else {
        "pharmacist"
    }
}

/// The participants whose code `investigator` breaks.
pub fn broken(trial: &str) -> &'static str {
    if trial == "lupex" {
        "L001"
    } else {
        "X002"
    }
}

/// The demo of `rct serve --demo --demo-participants 40` with each trial's
/// secrets from `secrets`, 24 more LUPEX participants, then [`activity`].
pub async fn app(
    secrets: impl FnMut(&str) -> Result<rct_record::TrialSecrets, rct_web::WebError>,
) -> (axum::Router, Arc<App>) {
    let now: chrono::DateTime<chrono::Utc> = NOW.parse().unwrap();
    let app = App::new(
        Box::new(rct_store::MemStore::new()),
        demo::seed_protocols().unwrap(),
        Passwords::new(64),
        Arc::new(move || now),
    );
    demo::seed_with(&app, IL2_EXTRA, secrets).unwrap();
    let start = now - Duration::days(70);
    for k in 0..LUPEX_EXTRA {
        let sex = if k % 2 == 0 { "female" } else { "male" };
        let plan = demo::Plan {
            trial: "lupex",
            pid: format!("L{:03}", k + 101),
            site: "rh",
            facts: demo::lupex_facts(sex, true),
            randomise: true,
            at: start + Duration::days(40) + Duration::hours(k as i64),
        };
        demo::enrol(&app, &plan, "investigator").unwrap();
    }
    let app = Arc::new(app);
    let router = router(AppState(app.clone()));
    activity(&router, &app).await;
    (router, app)
}

pub async fn post_values(
    c: &Client,
    trial: &str,
    pid: &str,
    visit: &str,
    form: &str,
    values: Value,
) {
    let path = format!("/api/trials/{trial}/participants/{pid}/visits/{visit}/{form}");
    let a = c
        .post_json(&path, &json!({ "values": values }), Some(&c.csrf))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{} {path}: {}", c.user, a.body);
}

/// Values, sessions, dispensing, a query and the code-breaks, each by the
/// role that does it in a trial.
pub async fn activity(router: &axum::Router, app: &App) {
    let inv = demo_login(router, "investigator").await;
    let inv2 = demo_login(router, "investigator2").await;
    let physio = demo_login(router, "physio").await;
    let pharmacist = demo_login(router, "pharmacist").await;
    let monitor = demo_login(router, "monitor").await;
    let lupex = app.ledger.state("lupex").unwrap();
    for p in lupex.participants.values() {
        if p.allocation.is_some() {
            let v = json!({"systolic_bp": "120", "fev1_pct": "95"});
            post_values(&inv, "lupex", &p.id, "baseline", "examination", v).await;
        }
    }
    // The HIIT form exists only for the HIIT arm: entered after the
    // blinded staff's entries, as sessions happen later.
    for p in lupex.participants.values() {
        if p.allocation.as_ref().is_some_and(|a| a.arm == "hiit") {
            let v = json!({"date": "2026-02-20", "attended": "true", "compliant_bouts": "3"});
            post_values(
                &physio,
                "lupex",
                &p.id,
                "intervention",
                "exercise_session",
                v,
            )
            .await;
        }
    }
    let il2 = app.ledger.state("il2-sle").unwrap();
    for p in il2.participants.values() {
        if let Some(a) = &p.allocation {
            let c = if p.site.as_deref() == Some("site2") {
                &inv2
            } else {
                &inv
            };
            post_values(
                c,
                "il2-sle",
                &p.id,
                "screening",
                "vitals",
                json!({"weight": "61"}),
            )
            .await;
            let kit = a.kit.clone().unwrap();
            let v = json!({"kit": kit, "date": "2026-01-10"});
            post_values(&pharmacist, "il2-sle", &p.id, "baseline", "dispensing", v).await;
        }
    }
    for (t, pid) in [("lupex", "L003"), ("il2-sle", "X003")] {
        let a = monitor
            .post(
                &format!("/t/{t}/queries"),
                &[
                    ("participant", pid),
                    ("item", "baseline/sledai/total"),
                    ("text", "Source document?"),
                ],
            )
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    }
    for t in TRIALS {
        let a = inv
            .post(
                &format!("/t/{t}/p/{}/unblind", broken(t)),
                &[
                    ("category", "serious adverse event"),
                    ("reason", "anaphylaxis after the first dose"),
                    ("password", "investigator-demo-pw"),
                ],
            )
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    }
}

/// The CSV tables and the ODM file of `trial`, blinded and unblinded.
pub fn exports(app: &App, public: &Public, trial: &str) -> (Corpus, Corpus) {
    let events: Vec<rct_record::Event> = app
        .ledger
        .store()
        .load(trial, 0)
        .unwrap()
        .iter()
        .map(|s| s.event().unwrap())
        .collect();
    let make = |blinded: bool| {
        let mut answers = Vec::new();
        for t in rct_interop::tables::export(&public.protocol, &events, blinded).unwrap() {
            answers.push(Answer {
                source: format!("export csv {}", t.name),
                pid: None,
                status: 200,
                body: t.csv,
            });
        }
        let opts = rct_interop::odm::ExportOptions {
            unblinded: !blinded,
            source_version: "attack".into(),
        };
        let (xml, _) = rct_interop::odm::export(&public.protocol, &events, &opts).unwrap();
        answers.push(Answer {
            source: "export odm".into(),
            pid: None,
            status: 200,
            body: xml,
        });
        Corpus {
            reader: format!("export (blinded: {blinded})"),
            trial: trial.to_string(),
            answers,
            known: BTreeSet::new(),
        }
    };
    (make(true), make(false))
}
