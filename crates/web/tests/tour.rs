#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The faults a new user's tour of the demo found (issue 20), one test per
//! fault; each failed before the fix. References are the demo's data and
//! protocols/lupex.toml (E3 is the exclusion "diabetes", met for L005).

mod common;

use axum::http::StatusCode;
use common::*;

/// A met exclusion excludes: red (class `excludes`), with a summary of why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_met_exclusion_is_shown_as_excluding_with_the_reason() {
    let (router, _) = demo_app();
    let c = demo_login(&router, "investigator").await;
    let body = c.get("/t/lupex/p/L005").await.body;
    assert!(
        body.contains(r#"id="crit-E3" class="excludes""#),
        "E3 (diabetes) is met for L005 and excludes: {body}"
    );
    assert!(body.contains("met (excludes)"), "{body}");
    assert!(
        body.contains("Excluded because: </strong>E3 (exclusion met)"),
        "{body}"
    );
    // A not-met exclusion fits (green), never red.
    let fits = body
        .matches(r#"class="fits" data-kind="exclusion""#)
        .count();
    assert!(fits > 0, "{body}");
    // An eligible participant has no summary.
    let ok = c.get("/t/lupex/p/L001").await.body;
    assert!(!ok.contains("Excluded because"), "{ok}");
}

/// The content security policy blocks inline styles: the enrolment bar is
/// a `<progress>` element, and no page carries a `style` attribute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_enrolment_bar_needs_no_inline_style() {
    let (router, _) = demo_app();
    let c = demo_login(&router, "investigator").await;
    let body = c.get("/t/lupex").await.body;
    assert!(body.contains("<progress max="), "{body}");
    assert!(!body.contains(" style="), "{body}");
}

/// A refusal keeps the menu, says why, shows what was typed and links back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_keeps_the_menu_and_what_was_typed() {
    let (router, _) = demo_app();
    let dm = demo_login(&router, "datamanager").await;
    let r = dm
        .post(
            "/t/lupex/lock",
            &[
                ("reason", "All queries answered at the close-out visit"),
                ("confirm", "wrong"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains(r#"<nav class="trial""#), "{}", r.body);
    assert!(
        r.body.contains("Type the trial id to confirm the lock."),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains("All queries answered at the close-out visit"),
        "{}",
        r.body
    );
    assert!(r.body.contains(r#"id="back""#), "{}", r.body);
    assert!(!r.body.contains("Unprocessable Entity"), "{}", r.body);
}

/// Pages name roles as the protocol does (LUPEX's intervention staff are
/// "Exercise physiologist").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_carry_the_protocols_labels() {
    let (router, _) = demo_app();
    let c = demo_login(&router, "physio").await;
    let body = c.get("/t/lupex").await.body;
    assert!(body.contains("Exercise physiologist (all sites)"), "{body}");
    assert!(!body.contains("intervention_staff"), "{body}");
}

/// Revoking a role asks first; the last administrator cannot be revoked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_asks_first_and_keeps_the_last_administrator() {
    let (router, app) = demo_app();
    let admin = demo_login(&router, "admin").await;
    let ask = admin
        .post(
            "/t/lupex/admin/roles/revoke",
            &[("user", "monitor"), ("role", "monitor")],
        )
        .await;
    assert_eq!(ask.status, StatusCode::OK, "{}", ask.body);
    assert!(ask.body.contains("Revoke a role?"), "{}", ask.body);
    let state = app.ledger.state("lupex").unwrap();
    assert!(state.grant("monitor", rct_record::Role::Monitor).is_some());
    let done = admin
        .post(
            "/t/lupex/admin/roles/revoke",
            &[("user", "monitor"), ("role", "monitor"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let state = app.ledger.state("lupex").unwrap();
    assert!(state.grant("monitor", rct_record::Role::Monitor).is_none());
    // The only administrator revoking its own role: refused by the record.
    let own = admin
        .post(
            "/t/lupex/admin/roles/revoke",
            &[("user", "admin"), ("role", "admin"), ("confirm", "yes")],
        )
        .await;
    assert_ne!(own.status, StatusCode::SEE_OTHER, "{}", own.body);
    assert!(own.body.contains("last administrator"), "{}", own.body);
    assert!(own.body.contains(r#"<nav class="trial""#), "{}", own.body);
    let state = app.ledger.state("lupex").unwrap();
    assert!(state.grant("admin", rct_record::Role::Admin).is_some());
}

/// A query on the CPET form: labelled in words, addressed to the assessor
/// (listed on its query page), marked on the field, listed once closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_speak_in_labels_reach_the_assessor_and_stay_listed_when_closed() {
    let (router, _) = demo_app();
    let mon = demo_login(&router, "monitor").await;
    let r = mon
        .post(
            "/t/lupex/queries",
            &[
                ("participant", "L001"),
                ("item", "baseline/cpet/vo2max_abs"),
                ("text", "Source says 2150"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let asr = demo_login(&router, "assessor").await;
    let list = asr.get("/t/lupex/queries").await.body;
    assert!(
        list.contains("Baseline testing · Cardiopulmonary exercise test · VO2max, absolute"),
        "{list}"
    );
    assert!(!list.contains(">baseline/cpet/vo2max_abs<"), "{list}");
    assert!(list.contains("1 open query is for you to answer"), "{list}");
    assert!(list.contains("<td>Outcome assessor</td>"), "{list}");
    let form = asr.get("/t/lupex/p/L001/visit/baseline/cpet").await.body;
    assert!(form.contains(r#"class="qmark""#), "{form}");
    assert!(form.contains("Baseline testing"), "{form}");
    let qid = list
        .split("/queries/")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap()
        .to_string();
    let closed = mon
        .post(&format!("/t/lupex/queries/{qid}/close"), &[])
        .await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER, "{}", closed.body);
    let open = mon.get("/t/lupex/queries").await.body;
    assert!(open.contains("No open queries."), "{open}");
    let listed = mon.get("/t/lupex/queries?status=closed").await.body;
    assert!(listed.contains("Source says 2150"), "{listed}");
    let form = asr.get("/t/lupex/p/L001/visit/baseline/cpet").await.body;
    assert!(!form.contains(r#"class="qmark""#), "{form}");
}

/// The screening form asks questions without variable names or command
/// hints, shows the PET sub-study's facts only to those who opted in, and
/// keeps its verdict beside the fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_screening_form_reads_as_questions() {
    let (router, _) = demo_app();
    let c = demo_login(&router, "investigator").await;
    let body = c.get("/t/lupex/screen").await.body;
    assert!(!body.contains("(rct score"), "{body}");
    assert!(!body.contains("(prednisolone_dose"), "{body}");
    assert!(
        body.contains(r#"<fieldset data-opt-in="pet_substudy" hidden>"#),
        "{body}"
    );
    let pet = body.split(r#"data-opt-in="pet_substudy""#).nth(1).unwrap();
    assert!(pet.contains("fact-adenosine_pet_contraindicated"), "{body}");
    let before = body.split(r#"data-opt-in="pet_substudy""#).next().unwrap();
    assert!(
        before.contains("fact-pet_substudy"),
        "the opt-in question is asked of everyone"
    );
    assert!(before.contains(r#"class="verdict""#), "{body}");
}

/// A form says its visit by label, its status, and the next form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_names_its_visit_status_and_next_form() {
    let (router, _) = demo_app();
    let c = demo_login(&router, "investigator").await;
    let body = c
        .get("/t/lupex/p/L001/visit/baseline/demographics")
        .await
        .body;
    assert!(body.contains("Baseline testing"), "{body}");
    assert!(body.contains(r#"id="form-status""#), "{body}");
    assert!(body.contains(r#"id="next-form""#), "{body}");
    assert!(!body.contains(", visit baseline"), "{body}");
}
