#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The record holds each rule once: the web forms and the JSON API reach
//! the same decision as the command line (crates/cli/tests/edges.rs).
//! These failed before the record owned the protocol: the randomise page
//! asked for the stratum (defaulting to female) and the dispensing form took
//! any kit code.

mod common;

use axum::http::StatusCode;
use common::*;
use rct_record::Payload;
use serde_json::{json, Value};

/// LUPEX screening facts as the JSON the record takes (typed), from the
/// demo's form input.
fn typed_facts(sex: &str) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in rct_web::demo::lupex_facts(sex, true) {
        let k = k.trim_start_matches("f.").to_string();
        let v = match v.as_str() {
            "true" => json!(true),
            "false" => json!(false),
            s => s.parse::<f64>().map_or_else(|_| json!(s), |x| json!(x)),
        };
        m.insert(k, v);
    }
    Value::Object(m)
}

fn stratum(app: &rct_web::App, trial: &str, pid: &str) -> Option<String> {
    app.ledger.state(trial).unwrap().participants[pid]
        .allocation
        .as_ref()
        .map(|a| a.stratum.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_man_is_never_randomised_into_the_female_stratum() {
    let (router, app) = demo_app();
    let c = demo_login(&router, "investigator").await;

    // Web forms: screen a man, consent, randomise. The page shows the
    // stratum read-only; a posted `s.sex=female` (the old form field) is
    // not read.
    let mut form: Vec<(String, String)> = rct_web::demo::lupex_facts("male", true)
        .into_iter()
        .collect();
    form.extend([
        ("participant".into(), "M01".into()),
        ("site".into(), "rh".into()),
        ("screening_date".into(), "2025-03-01".into()),
    ]);
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let a = c.post("/t/lupex/screen", &pairs).await;
    assert!(a.status.is_redirection(), "{} {}", a.status, a.body);
    let a = c.post("/t/lupex/p/M01/consent", &[("version", "9")]).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert!(
        a.body.contains("expected one of 1 ([consent] versions)"),
        "{}",
        a.body
    );
    let a = c
        .post(
            "/t/lupex/p/M01/consent",
            &[
                ("version", "1"),
                ("given_at", "2025-03-01T09:30"),
                ("obtained_by", "nurse nora"),
            ],
        )
        .await;
    assert!(a.status.is_redirection(), "{} {}", a.status, a.body);
    let held = app.ledger.state("lupex").unwrap().participants["M01"].clone();
    assert_eq!(
        (
            held.consent_version.as_deref(),
            held.consented.map(|t| t.to_rfc3339())
        ),
        (Some("1"), Some("2025-03-01T09:30:00+00:00".to_string()))
    );
    let page = c.get("/t/lupex/p/M01/randomise").await.body;
    assert!(!page.contains("name=\"s.sex\""), "no stratum input: {page}");
    assert!(page.contains("<dd>male</dd>"), "stratum shown: {page}");
    let a = c
        .post("/t/lupex/p/M01/randomise", &[("s.sex", "female")])
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(stratum(&app, "lupex", "M01").as_deref(), Some("sex=male"));

    // JSON API: the same commands; `strata` in the body is not a field of
    // the record's command and changes nothing.
    let api = "/api/trials/lupex/commands";
    let screen = json!({"command": {"command": "screen", "participant": "M02", "site": "rh",
        "date": "2025-03-01", "facts": typed_facts("male")}});
    let a = c.post_json(api, &screen, Some(&c.csrf)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // Consent names a version the protocol declares (none declared: `1`).
    let bad = json!({"command": {"command": "consent", "participant": "M02", "version": "9"}});
    let a = c.post_json(api, &bad, Some(&c.csrf)).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert!(
        a.body
            .contains("consent form version `9` is not one of the protocol's"),
        "{}",
        a.body
    );
    let consent = json!({"command": {"command": "consent", "participant": "M02",
        "version": "1", "given_at": "2025-03-01T09:30:00Z", "obtained_by": "nurse nora"}});
    assert_eq!(
        c.post_json(api, &consent, Some(&c.csrf)).await.status,
        StatusCode::OK
    );
    let randomise = json!({"command": {"command": "randomise", "participant": "M02",
        "strata": {"sex": "female"}}});
    let a = c.post_json(api, &randomise, Some(&c.csrf)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(stratum(&app, "lupex", "M02").as_deref(), Some("sex=male"));
    // Emergency unblinding through the API needs the password again; the
    // record refuses a category outside the protocol's list and an
    // explanation of "x", as for the page and the command line.
    let before = app.ledger.state("lupex").unwrap().unblindings.len();
    let unblind = |category: &str, reason: Option<&str>, password: Option<&str>| {
        json!({"command": {"command": "emergency_unblind", "participant": "M02",
            "category": category}, "reason": reason, "password": password})
    };
    let pw = Some("investigator-demo-pw");
    for (body, status, says) in [
        (
            unblind("serious adverse event", None, None),
            StatusCode::FORBIDDEN,
            "password",
        ),
        (
            unblind("curiosity", None, pw),
            StatusCode::UNPROCESSABLE_ENTITY,
            "`curiosity` is not one of the protocol's",
        ),
        (
            unblind("serious adverse event", Some("x"), pw),
            StatusCode::UNPROCESSABLE_ENTITY,
            "at least 10 characters and two words",
        ),
    ] {
        let a = c.post_json(api, &body, Some(&c.csrf)).await;
        assert_eq!(a.status, status, "{}", a.body);
        assert!(a.body.contains(says), "{}", a.body);
    }
    assert_eq!(app.ledger.state("lupex").unwrap().unblindings.len(), before);
    let a = c
        .post_json(
            api,
            &unblind("serious adverse event", None, pw),
            Some(&c.csrf),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let explain = |text: &str| {
        json!({"command": {"command": "explain_unblinding", "participant": "M02",
            "explanation": text}})
    };
    let a = c.post_json(api, &explain("x"), Some(&c.csrf)).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    let a = c
        .post_json(
            api,
            &explain("hypoglycaemia needing the dose known"),
            Some(&c.csrf),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let s = app.ledger.state("lupex").unwrap();
    assert_eq!(s.unblindings.len(), before + 1);
    assert_eq!(
        s.unblindings[before].reason.as_deref(),
        Some("hypoglycaemia needing the dose known")
    );

    // A screening without the stratification fact is incomplete: the
    // record refuses to randomise, on the page and through the API.
    let mut facts = typed_facts("female");
    facts.as_object_mut().unwrap().remove("sex");
    let screen = json!({"command": {"command": "screen", "participant": "M03", "site": "rh",
        "date": "2025-03-01", "facts": facts}});
    assert_eq!(
        c.post_json(api, &screen, Some(&c.csrf)).await.status,
        StatusCode::OK
    );
    let consent = json!({"command": {"command": "consent", "participant": "M03"}});
    assert_eq!(
        c.post_json(api, &consent, Some(&c.csrf)).await.status,
        StatusCode::OK
    );
    let randomise = json!({"command": {"command": "randomise", "participant": "M03"}});
    let a = c.post_json(api, &randomise, Some(&c.csrf)).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert!(a.body.contains("incomplete"), "{}", a.body);
    assert_eq!(stratum(&app, "lupex", "M03"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kit_other_than_the_assigned_one_is_never_silently_taken() {
    let (router, app) = demo_app();
    let c = demo_login(&router, "pharmacist").await;
    let pid = "X001";
    let assigned = app.ledger.state("il2-sle").unwrap().participants[pid]
        .allocation
        .as_ref()
        .and_then(|a| a.kit.clone())
        .expect("X001 has a kit");
    let item = "baseline/dispensing/kit";
    let kit_of = |app: &rct_web::App| {
        app.ledger.state("il2-sle").unwrap().participants[pid]
            .values
            .get(item)
            .cloned()
    };
    let page = format!("/t/il2-sle/p/{pid}/visit/baseline/dispensing");

    // Web form: refused, nothing stored.
    let a = c
        .post(&page, &[("f.kit", "WRONGKIT"), ("f.date", "2026-02-20")])
        .await;
    assert!(
        a.body.contains("is not the kit allocated to X001"),
        "{}",
        a.body
    );
    assert_eq!(kit_of(&app), None);
    // JSON API, both calls: refused.
    let a = c
        .post_json(
            &format!("/api/trials/il2-sle/participants/{pid}/visits/baseline/dispensing"),
            &json!({"values": {"kit": "WRONGKIT", "date": "2026-02-20"}}),
            Some(&c.csrf),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    let enter = json!({"command": {"command": "enter_value", "participant": pid,
        "visit": "baseline", "form": "dispensing", "field": "kit", "value": "WRONGKIT"}});
    let a = c
        .post_json("/api/trials/il2-sle/commands", &enter, Some(&c.csrf))
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert_eq!(kit_of(&app), None);

    // Confirmed on the form, with a reason: recorded as given, and a kit
    // deviation is written (sealed whole in this blinded trial).
    let a = c
        .post(
            &page,
            &[
                ("f.kit", "WRONGKIT"),
                ("f.date", "2026-02-20"),
                ("confirm_other_kit", "yes"),
                (
                    "reason",
                    "the assigned kit was damaged; pharmacy gave another",
                ),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(kit_of(&app), Some(json!("WRONGKIT")));
    let events: Vec<rct_record::Event> = app
        .ledger
        .store()
        .load("il2-sle", 0)
        .unwrap()
        .iter()
        .map(|s| s.event().unwrap())
        .collect();
    let deviation = events
        .iter()
        .find(|e| matches!(e.payload, Payload::KitDeviation { .. }))
        .expect("a kit deviation");
    assert_eq!(
        deviation.payload,
        Payload::KitDeviation {
            participant: pid.into(),
            assigned: assigned.clone(),
            given: "WRONGKIT".into(),
        }
    );
    assert!(
        !deviation.openings.is_empty(),
        "sealed in a blinded trial: {deviation:?}"
    );
    let state = app.ledger.state("il2-sle").unwrap();
    // Only unblinded roles read it: the investigator's audit view of the
    // event carries no kit codes.
    let seen = state.view_event(deviation, "investigator");
    assert!(
        seen.as_ref()
            .is_none_or(|v| !v.to_string().contains("WRONGKIT")),
        "{seen:?}"
    );
    let seen = state.view_event(deviation, "pharmacist").unwrap();
    assert!(seen.to_string().contains("WRONGKIT"), "{seen}");
}

/// A query on the CPET form (entered by the outcome assessor) goes to the
/// assessor: it is in their list with an answer form, they answer it, and
/// the investigator, who cannot edit CPET, may not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_on_the_cpet_form_reaches_the_assessor() {
    let (router, app) = demo_app();
    let monitor = demo_login(&router, "monitor").await;
    let a = monitor
        .post(
            "/t/lupex/queries",
            &[
                ("participant", "L001"),
                ("item", "baseline/cpet/vo2max_abs"),
                ("text", "VO2max looks low; please check the source"),
            ],
        )
        .await;
    assert!(a.status.is_redirection(), "{} {}", a.status, a.body);
    let q = app.ledger.state("lupex").unwrap().queries.len();
    let id = format!("Q{q}");
    let assessor = demo_login(&router, "assessor").await;
    let page = assessor.get("/t/lupex/queries").await.body;
    assert!(page.contains("for you to answer"), "{page}");
    assert!(
        page.contains(&format!("/t/lupex/queries/{id}/answer")),
        "{page}"
    );
    let inv = demo_login(&router, "investigator").await;
    let page = inv.get("/t/lupex/queries").await.body;
    assert!(
        !page.contains(&format!("/t/lupex/queries/{id}/answer")),
        "{page}"
    );
    let a = inv
        .post(&format!("/t/lupex/queries/{id}/answer"), &[("text", "ok")])
        .await;
    assert!(a.status.is_client_error(), "{} {}", a.status, a.body);
    let a = assessor
        .post(
            &format!("/t/lupex/queries/{id}/answer"),
            &[("text", "re-read from the CPET printout: correct")],
        )
        .await;
    assert!(a.status.is_redirection(), "{} {}", a.status, a.body);
    let state = app.ledger.state("lupex").unwrap();
    assert_eq!(state.queries[&id].answers.len(), 1);
}
