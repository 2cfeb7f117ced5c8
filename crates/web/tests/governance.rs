//! Unblinding governance over the router: the trial's unblinding by two
//! people after a final analysis plan, the data monitoring committee's
//! page, and the pharmacovigilance code-break hidden from the site. The
//! demo data is the fixture.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::Value;

const T: &str = "il2-sle";

/// The IL-2 arms' labels (what a page shows for an allocation).
fn labels() -> Vec<String> {
    rct_web::demo::seed_protocols().unwrap()[1]
        .arms
        .iter()
        .map(|a| a.label.clone())
        .collect()
}

/// Whether `body` names an IL-2 arm by label.
fn names_an_arm(body: &str) -> bool {
    labels()
        .iter()
        .any(|l| body.contains(l.as_str()) || body.contains(&maud::html! { (l) }.into_string()))
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap()
}

async fn lock(router: &axum::Router) {
    let dm = demo_login(router, "datamanager").await;
    let a = dm
        .post(
            &format!("/t/{T}/lock"),
            &[("reason", "end of study"), ("confirm", T)],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
}

async fn unblind(c: &Client, password: &str) -> Answer {
    c.post(
        &format!("/t/{T}/governance/unblind"),
        &[
            ("confirm", T),
            ("password", password),
            ("reason", "database locked"),
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trial_is_unblinded_by_two_people_after_a_final_plan() {
    let (router, app) = demo_app();
    let stat = demo_login(&router, "statistician").await;
    let sponsor = demo_login(&router, "sponsor").await;
    let inv = demo_login(&router, "investigator").await;
    let participants = format!("/t/{T}/participants");
    lock(&router).await;
    // The lock alone: the statistician still sees no arm.
    assert!(!names_an_arm(&stat.get(&participants).await.body));
    // Without a final plan: refused.
    let a = unblind(&sponsor, "sponsor-demo-pw").await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert!(a.body.contains("analysis plan"), "{}", a.body);
    // The plan recorded as final (its text's SHA-256 is what is kept).
    let a = sponsor
        .post(
            &format!("/t/{T}/governance/sap"),
            &[("version", "1.0"), ("text", "SAP")],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "only the statistician");
    let plan = "Statistical analysis plan, version 1.0";
    let a = stat
        .post(
            &format!("/t/{T}/governance/sap"),
            &[("version", "1.0"), ("text", plan)],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let page = stat.get(&format!("/t/{T}/governance")).await.body;
    assert!(
        page.contains(&rct_record::sha256_hex(plan.as_bytes())),
        "{page}"
    );
    // The request: wrong password, wrong confirmation, then right.
    assert_eq!(
        unblind(&sponsor, "not mine").await.status,
        StatusCode::FORBIDDEN
    );
    let a = sponsor
        .post(
            &format!("/t/{T}/governance/unblind"),
            &[("confirm", "nope"), ("password", "sponsor-demo-pw")],
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        unblind(&sponsor, "sponsor-demo-pw").await.status,
        StatusCode::SEE_OTHER
    );
    assert!(!app.ledger.state(T).unwrap().trial_unblinded());
    // The same person cannot approve their own request.
    let a = unblind(&sponsor, "sponsor-demo-pw").await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert!(a.body.contains("another person"), "{}", a.body);
    // Blinded roles other than the two may not take part.
    for user in [
        "investigator",
        "datamanager",
        "dmc",
        "pharmacovigilance",
        "admin",
    ] {
        let c = demo_login(&router, user).await;
        let a = unblind(&c, &format!("{user}-demo-pw")).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{user}: {}", a.body);
    }
    assert!(!names_an_arm(&stat.get(&participants).await.body));
    // The statistician approves: the trial is unblinded, to the statistician.
    let a = unblind(&stat, "statistician-demo-pw").await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert!(app.ledger.state(T).unwrap().trial_unblinded());
    assert!(names_an_arm(&stat.get(&participants).await.body));
    for c in [&sponsor, &inv] {
        assert!(
            !names_an_arm(&c.get(&participants).await.body),
            "{}",
            c.user
        );
    }
    let page = inv.get(&format!("/t/{T}/governance")).await.body;
    assert!(
        page.contains("requested by sponsor") && page.contains("approved by statistician"),
        "{page}"
    );
    // A plan changed after unblinding is flagged to everyone.
    let a = stat
        .post(
            &format!("/t/{T}/governance/sap"),
            &[("version", "2.0"), ("text", "a different plan")],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let page = inv.get(&format!("/t/{T}/governance")).await.body;
    assert!(
        page.contains("analysis plan changed after unblinding"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_committee_page_shows_counts_by_arm_to_the_committee_only() {
    let (router, app) = demo_app();
    for user in [
        "admin",
        "investigator",
        "investigator2",
        "nurse",
        "physio",
        "pharmacist",
        "assessor",
        "datamanager",
        "monitor",
        "statistician",
        "sponsor",
        "pharmacovigilance",
    ] {
        let c = demo_login(&router, user).await;
        for trial in ["lupex", T] {
            for path in [
                format!("/t/{trial}/dmc"),
                format!("/api/trials/{trial}/dmc"),
            ] {
                let a = c.get(&path).await;
                // 404 where the user has no role in the trial at all.
                let member = app.ledger.state(trial).unwrap().grants.contains_key(user);
                let expected = if member {
                    StatusCode::FORBIDDEN
                } else {
                    StatusCode::NOT_FOUND
                };
                assert_eq!(a.status, expected, "{user} GET {path}");
                assert!(!names_an_arm(&a.body), "{user} GET {path}");
            }
        }
    }
    // Reference: the pharmacist's own view counts randomised per arm.
    let ph = demo_login(&router, "pharmacist").await;
    let by_arm = json(&ph.get(&format!("/api/trials/{T}")).await.body)["by_arm"].clone();
    let inv = demo_login(&router, "investigator").await;
    // (Logging in is recorded; looking at the tables is not.)
    let dmc = demo_login(&router, "dmc").await;
    let before = (
        inv.get(&format!("/api/trials/{T}/audit")).await.body,
        inv.get(&format!("/api/trials/{T}/participants")).await.body,
    );
    let seq = app.ledger.state(T).unwrap().seq;
    let page = dmc.get(&format!("/t/{T}/dmc")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(names_an_arm(&page.body), "{}", page.body);
    let api = json(&dmc.get(&format!("/api/trials/{T}/dmc")).await.body);
    let arms = api["arms"].as_array().unwrap();
    assert_eq!(arms.len(), 4);
    for a in arms {
        let id = a["arm"].as_str().unwrap();
        assert_eq!(
            a["randomised"],
            by_arm.get(id).cloned().unwrap_or(Value::from(0)),
            "{id}"
        );
        assert!(a["adverse_event_entries"].is_u64());
    }
    // Looking is not recorded; nobody else's answers change.
    assert_eq!(app.ledger.state(T).unwrap().seq, seq);
    let after = (
        inv.get(&format!("/api/trials/{T}/audit")).await.body,
        inv.get(&format!("/api/trials/{T}/participants")).await.body,
    );
    assert_eq!(before, after);
    // The committee's other pages stay blind.
    assert!(!names_an_arm(
        &dmc.get(&format!("/t/{T}/participants")).await.body
    ));
}

/// What the site's investigator reads about X001 and the trail.
async fn site_answers(c: &Client) -> Vec<String> {
    let mut out = Vec::new();
    for p in [
        format!("/api/trials/{T}/audit"),
        format!("/api/trials/{T}/participants"),
        format!("/api/trials/{T}/participants/X001"),
        format!("/t/{T}/p/X001"),
    ] {
        out.push(c.get(&p).await.body);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pharmacovigilance_code_break_is_shown_to_that_user_only() {
    let (router, app) = demo_app();
    let inv = demo_login(&router, "investigator").await;
    let before = site_answers(&inv).await;
    let pv = demo_login(&router, "pharmacovigilance").await;
    let path = format!("/t/{T}/p/X001/safety-unblind");
    let form = pv.get(&path).await;
    assert_eq!(form.status, StatusCode::OK);
    // The investigator may not use it (their code-break is the emergency one).
    assert_eq!(inv.get(&path).await.status, StatusCode::FORBIDDEN);
    let a = pv
        .post(
            &path,
            &[("reason", "SUSAR report 17"), ("password", "nope")],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = pv
        .post(&path, &[("password", "pharmacovigilance-demo-pw")])
        .await;
    assert_eq!(
        a.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a reason is required"
    );
    let a = pv
        .post(
            &path,
            &[
                ("reason", "SUSAR report 17"),
                ("password", "pharmacovigilance-demo-pw"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    // The pharmacovigilance user sees X001's arm, and no one else's.
    assert!(names_an_arm(&pv.get(&format!("/t/{T}/p/X001")).await.body));
    assert!(!names_an_arm(&pv.get(&format!("/t/{T}/p/X002")).await.body));
    // The site: every answer identical to before.
    assert_eq!(site_answers(&inv).await, before);
    let nurse = demo_login(&router, "nurse").await;
    assert!(!nurse
        .get(&format!("/api/trials/{T}/audit"))
        .await
        .body
        .contains("safety_code_broken"));
    // The administrator reads that a code was broken, not for whom.
    let admin = demo_login(&router, "admin").await;
    let trail = json(&admin.get(&format!("/api/trials/{T}/audit")).await.body);
    let entry = trail
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["payload"]["type"] == "safety_code_broken")
        .unwrap();
    assert!(entry["payload"].get("participant").is_none(), "{entry}");
    assert!(!entry.to_string().contains("X001") && !entry.to_string().contains("SUSAR"));
    assert!(entry.get("hash").is_none());
    assert!(app.ledger.state(T).unwrap().unblindings.is_empty());
}
