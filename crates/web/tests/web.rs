//! The web application end to end over the router: blinding on every route,
//! site scoping, CSRF, data entry checks, randomisation and emergency
//! unblinding (login throttling and the security log: tests/login.rs). The demo data (both seed protocols, one account per
//! role) is the fixture.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use common::*;
use rct_web::routes::ROUTES;
use serde_json::json;

/// Users whose roles are blinded in both (blinded) seed trials.
const BLINDED: &[&str] = &[
    "admin",
    "investigator",
    "nurse",
    "assessor",
    "datamanager",
    "monitor",
    "statistician",
    "sponsor",
    "pharmacovigilance",
    "dmc",
];
/// Users whose roles see arms (physio in LUPEX, pharmacist in IL-2).
const UNBLINDED: &[&str] = &["physio", "pharmacist"];

/// Words that name an arm: arm ids (as whole tokens) and arm labels, of
/// both seed trials.
fn arm_words() -> &'static (Vec<String>, Vec<String>) {
    static WORDS: std::sync::OnceLock<(Vec<String>, Vec<String>)> = std::sync::OnceLock::new();
    WORDS.get_or_init(arm_words_of_protocols)
}

fn arm_words_of_protocols() -> (Vec<String>, Vec<String>) {
    let mut ids = Vec::new();
    let mut labels = Vec::new();
    for p in rct_web::demo::seed_protocols().unwrap() {
        for a in &p.arms {
            ids.push(a.id.get_ref().clone());
            labels.push(a.label.clone());
        }
    }
    (ids, labels)
}

/// Protocol text every role may read (titles, criteria, labels): removed
/// before looking for arm words, so that e.g. "Placebo-controlled" in the
/// IL-2 title is not taken for an allocation.
fn public_text() -> &'static [String] {
    static TEXT: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    TEXT.get_or_init(public_text_of_protocols)
}

fn public_text_of_protocols() -> Vec<String> {
    let mut out = Vec::new();
    for p in rct_web::demo::seed_protocols().unwrap() {
        out.push(p.trial.title.clone());
        out.extend(p.trial.short_title.clone());
        out.extend(p.criteria.iter().map(|c| c.text.clone()));
        out.extend(p.facts.iter().map(|f| f.label.clone()));
        for f in p.forms.iter().filter(|f| f.arm.is_none()) {
            out.push(f.label.clone());
            out.extend(f.fields.iter().map(|x| x.label.clone()));
        }
    }
    // Longest first, so that a label inside a longer text goes with it;
    // each also as HTML-escaped.
    let escaped: Vec<String> = out
        .iter()
        .map(|p| maud::html! { (p) }.into_string())
        .collect();
    out.extend(escaped);
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out.dedup();
    out
}

/// The arm words found in `body` (after removing public protocol text).
fn leaks(body: &str) -> Vec<String> {
    // Fast path: no arm word at all.
    if raw_arm_words(body).is_empty() {
        return Vec::new();
    }
    let mut text = body.to_string();
    for p in public_text() {
        if text.contains(p.as_str()) {
            text = text.replace(p.as_str(), " ");
        }
    }
    raw_arm_words(&text)
}

/// Arm words in `text` as it is.
fn raw_arm_words(text: &str) -> Vec<String> {
    let (ids, labels) = arm_words();
    let mut found = BTreeSet::new();
    for l in labels {
        for variant in [l.clone(), maud::html! { (l) }.into_string()] {
            if text.contains(&variant) {
                found.insert(format!("label `{l}`"));
            }
        }
    }
    let tokens: BTreeSet<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    for id in ids {
        if tokens.contains(id.as_str()) {
            found.insert(format!("arm id `{id}`"));
        }
    }
    found.into_iter().collect()
}

/// A concrete path for a route pattern, in `trial`.
fn fill(pattern: &str, trial: &str) -> String {
    let (pid, visit, form, field) = if trial == "lupex" {
        ("L001", "baseline", "sledai", "total")
    } else {
        ("X001", "baseline", "sledai", "total")
    };
    pattern
        .replace("{trial}", trial)
        .replace("{pid}", pid)
        .replace("{visit}", visit)
        .replace("{form}", form)
        .replace("{field}", field)
        .replace("{query}", "Q1")
        .replace("{user}", "investigator2")
}

/// A form body that exercises each POST (refused where it would
/// legitimately reveal an arm: wrong password for unblinding, wrong
/// confirmation for the lock).
fn form_body(trial: &str) -> Vec<(&'static str, String)> {
    let (pid, stratum_key, stratum) = if trial == "lupex" {
        ("L001", "s.sex", "female")
    } else {
        ("X001", "s.site", "pkuph")
    };
    vec![
        ("participant", pid.to_string()),
        (
            "site",
            if trial == "lupex" {
                "rh".into()
            } else {
                "pkuph".into()
            },
        ),
        ("screening_date", "2026-02-27".into()),
        ("f.sex", "female".into()),
        ("f.birth_date", "1980-01-01".into()),
        ("f.total", "9".into()),
        (stratum_key, stratum.into()),
        ("item", "baseline/sledai/total".into()),
        ("text", "Please check the source".into()),
        ("reason", "blinding sweep".into()),
        ("password", "not the password".into()),
        ("confirm", "not-the-trial".into()),
        ("user", "assessor".into()),
        ("display_name", "Someone".into()),
        ("role", "monitor".into()),
        ("all_sites", "yes".into()),
        ("name", "Site nine".into()),
    ]
}

/// Whether `route` is one `user` may be shown arms on: the data monitoring
/// committee's safety tables by arm, to the committee.
fn entitled(user: &str, route: &str) -> bool {
    user == "dmc" && route.ends_with("/dmc")
}

async fn sweep_gets(c: &Client, trials: &[&str], check: bool) -> usize {
    let mut n = 0;
    for route in ROUTES.iter().filter(|r| r.method == "GET") {
        let check = check && !entitled(&c.user, route.path);
        for trial in trials {
            let path = fill(route.path, trial);
            let ans = c.get(&path).await;
            assert_ne!(ans.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
            assert!(
                !ans.status.is_server_error(),
                "{} GET {path}: {} {}",
                c.user,
                ans.status,
                ans.body
            );
            if check {
                let l = leaks(&ans.body);
                assert!(
                    l.is_empty(),
                    "{} (blinded) GET {path} ({}) shows {l:?}:\n{}",
                    c.user,
                    ans.status,
                    ans.body
                );
            }
            n += 1;
        }
    }
    n
}

async fn sweep_posts(c: &Client, trials: &[&str], check: bool) -> usize {
    let mut n = 0;
    // Log out last: it ends the session.
    let mut posts: Vec<_> = ROUTES.iter().filter(|r| r.method == "POST").collect();
    posts.sort_by_key(|r| r.path == "/logout");
    for route in posts {
        for trial in trials {
            if route.path == "/logout" && *trial != trials[trials.len() - 1] {
                continue;
            }
            let path = fill(route.path, trial);
            let ans = if route.path.starts_with("/api/") {
                let body = json!({"facts": {"sex": "female"}, "values": {"total": "11"}, "reason": "sweep"});
                c.post_json(&path, &body, Some(&c.csrf)).await
            } else {
                let body = form_body(trial);
                let pairs: Vec<(&str, &str)> = body.iter().map(|(k, v)| (*k, v.as_str())).collect();
                c.post(&path, &pairs).await
            };
            assert_ne!(ans.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
            assert!(
                !ans.status.is_server_error(),
                "{} POST {path}: {} {}",
                c.user,
                ans.status,
                ans.body
            );
            if check {
                let l = leaks(&ans.body);
                assert!(
                    l.is_empty(),
                    "{} (blinded) POST {path} ({}) shows {l:?}:\n{}",
                    c.user,
                    ans.status,
                    ans.body
                );
            }
            n += 1;
        }
    }
    n
}

/// THE blinding test: every role, every route of the router's own table
/// (GET, then POST with a valid CSRF token, then GET again), both blinded
/// seed trials; no answer to a blinded role names an arm (id or label) or a
/// kit's arm. The unblinded roles' answers must name arms (so the check can
/// fail).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blinded_roles_never_receive_an_arm_on_any_route() {
    let (router, _) = demo_app();
    let trials = ["lupex", "il2-sle"];
    // Queries exist, so the {query} routes have a subject.
    let monitor = demo_login(&router, "monitor").await;
    for (t, pid) in [("lupex", "L001"), ("il2-sle", "X001")] {
        let a = monitor
            .post(
                &format!("/t/{t}/queries"),
                &[
                    ("participant", pid),
                    ("item", "baseline/sledai/total"),
                    ("text", "Source?"),
                ],
            )
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    }
    let mut requests = 0;
    for user in BLINDED {
        let c = demo_login(&router, user).await;
        requests += sweep_gets(&c, &trials, true).await;
        requests += sweep_posts(&c, &trials, true).await;
        let c = demo_login(&router, user).await;
        requests += sweep_gets(&c, &trials, true).await;
    }
    // Every route was requested for every blinded user in both trials.
    assert!(requests >= BLINDED.len() * ROUTES.len() * 2);
    // The unblinded roles do see arms: the check is able to fail.
    for user in UNBLINDED {
        let c = demo_login(&router, user).await;
        let trial = if *user == "physio" {
            "lupex"
        } else {
            "il2-sle"
        };
        let page = c.get(&format!("/t/{trial}/participants")).await;
        assert!(
            !leaks(&page.body).is_empty(),
            "{user} should see arms on the participant list"
        );
        let api = c.get(&format!("/api/trials/{trial}/participants")).await;
        assert!(
            !leaks(&api.body).is_empty(),
            "{user} should see arms in the API"
        );
        sweep_gets(&c, &trials, false).await;
    }
    // So does the committee on its own page (and only there: it is in
    // BLINDED for every other route).
    let dmc = demo_login(&router, "dmc").await;
    for trial in trials {
        let page = dmc.get(&format!("/t/{trial}/dmc")).await;
        assert!(
            !leaks(&page.body).is_empty(),
            "dmc should see arms on {trial}'s safety page"
        );
    }
}

#[tokio::test]
async fn the_leak_check_finds_arm_words_and_ignores_public_text() {
    assert_eq!(
        leaks("<td>IL-2 0.5 MIU</td>"),
        vec!["label `IL-2 0.5 MIU`".to_string()]
    );
    assert_eq!(
        leaks(r#"{"arm":"il2_1_0"}"#),
        vec!["arm id `il2_1_0`".to_string()]
    );
    assert!(leaks("Efficacy and Safety of Low-dose IL-2 in Patients With SLE: a Multicenter, Randomised, Placebo-controlled Trial").is_empty());
    assert!(leaks("uncontrolled hiit_session").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_route_is_in_the_openapi_document() {
    let (router, _) = demo_app();
    let c = demo_login(&router, "investigator").await;
    let doc: serde_json::Value =
        serde_json::from_str(&c.get("/api/openapi.json").await.body).unwrap();
    assert_eq!(doc["openapi"], "3.0.3");
    let api: Vec<_> = ROUTES
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .collect();
    assert!(api.len() >= 10);
    for r in api {
        let op = &doc["paths"][r.path][r.method.to_lowercase()];
        assert!(
            op.is_object(),
            "{} {} missing from the OpenAPI document",
            r.method,
            r.path
        );
    }
    // Path parameters are declared.
    let p = &doc["paths"]["/api/trials/{trial}/participants/{pid}"]["get"]["parameters"];
    assert_eq!(p[0]["name"], "trial");
    assert_eq!(p[1]["name"], "pid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_sees_only_granted_sites() {
    let (router, _) = demo_app();
    // investigator: IL-2 site pkuph only; X005..X007 are at site2.
    let c = demo_login(&router, "investigator").await;
    let list = c.get("/t/il2-sle/participants").await;
    assert!(list.body.contains("X001") && !list.body.contains("X005"));
    let api: serde_json::Value =
        serde_json::from_str(&c.get("/api/trials/il2-sle/participants").await.body).unwrap();
    let ids: Vec<&str> = api
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"X001") && !ids.contains(&"X005"), "{ids:?}");
    for path in [
        "/t/il2-sle/p/X005",
        "/api/trials/il2-sle/participants/X005",
        "/t/il2-sle/p/X005/visit/baseline/sledai",
        "/t/il2-sle/p/X005/randomise",
        "/t/il2-sle/p/X005/visit/baseline/sledai/total/history",
    ] {
        let a = c.get(path).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "GET {path}: {}", a.body);
        assert!(!a.body.contains("site2"));
    }
    for path in [
        "/t/il2-sle/p/X005/consent",
        "/t/il2-sle/p/X005/visit/baseline/sledai",
        "/t/il2-sle/p/X005/unblind",
    ] {
        let a = c
            .post(
                path,
                &[
                    ("f.total", "10"),
                    ("reason", "x"),
                    ("password", "investigator-demo-pw"),
                ],
            )
            .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "POST {path}: {}", a.body);
    }
    // Screening at a site not granted is refused by the record's check.
    let a = c
        .post(
            "/t/il2-sle/screen",
            &[
                ("participant", "Z1"),
                ("site", "site2"),
                ("screening_date", "2026-02-01"),
            ],
        )
        .await;
    assert!(
        a.status == StatusCode::NOT_FOUND || a.status == StatusCode::FORBIDDEN,
        "{}",
        a.status
    );
    // A user with no role in a trial does not learn that it exists.
    let physio = demo_login(&router, "physio").await;
    assert_eq!(physio.get("/t/il2-sle").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        physio.get("/api/trials/il2-sle").await.status,
        StatusCode::NOT_FOUND
    );
    // Not logged in: pages redirect to the login, the API answers 401.
    let anon = Client {
        router: router.clone(),
        user: "-".into(),
        cookie: String::new(),
        csrf: String::new(),
    };
    assert_eq!(
        anon.get("/t/il2-sle").await.location.as_deref(),
        Some("/login")
    );
    assert_eq!(
        anon.get("/api/trials").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_without_the_right_csrf_token_are_refused() {
    let (router, app) = demo_app();
    let c = demo_login(&router, "investigator").await;
    let other = demo_login(&router, "nurse").await;
    let before = app.ledger.state("il2-sle").unwrap().seq;
    let path = "/t/il2-sle/queries/Q1/answer";
    let missing = c.post_raw("/t/il2-sle/p/X001/consent", "").await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let wrong = c
        .post_raw("/t/il2-sle/p/X001/consent", "csrf=0123abcd")
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let foreign = c
        .post_raw(path, &enc(&[("csrf", &other.csrf), ("text", "x")]))
        .await;
    assert_eq!(
        foreign.status,
        StatusCode::FORBIDDEN,
        "another session's token"
    );
    let json = json!({"values": {"total": "12"}});
    let api = "/api/trials/il2-sle/participants/X001/visits/baseline/sledai";
    assert_eq!(
        c.post_json(api, &json, None).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        c.post_json(api, &json, Some("nope")).await.status,
        StatusCode::FORBIDDEN
    );
    // Login without the login form's cookie.
    let anon = Client {
        router: router.clone(),
        user: "-".into(),
        cookie: String::new(),
        csrf: String::new(),
    };
    let login = anon
        .post_raw(
            "/login",
            &enc(&[
                ("csrf", "x"),
                ("user", "investigator"),
                ("password", "investigator-demo-pw"),
            ]),
        )
        .await;
    assert_eq!(login.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.ledger.state("il2-sle").unwrap().seq,
        before,
        "nothing was written"
    );
    // The right token goes through.
    assert_eq!(
        c.post_json(api, &json, Some(&c.csrf)).await.status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_password_hashes_are_argon2id() {
    let (_, app) = demo_app();
    let state = app.ledger.state("lupex").unwrap();
    for (name, u) in &state.users {
        assert!(
            u.password_hash.starts_with("$argon2id$v=19$"),
            "{name}: {}",
            u.password_hash
        );
        assert!(!u.password_hash.contains(&format!("{name}-demo-pw")));
        assert!(app
            .passwords
            .verify(&u.password_hash, &format!("{name}-demo-pw")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_entry_refuses_hard_range_and_changes_without_reason() {
    let (router, app) = demo_app();
    let c = demo_login(&router, "investigator").await;
    let path = "/t/lupex/p/L001/visit/baseline/demographics";
    let seq = || app.ledger.state("lupex").unwrap().seq;
    let s0 = seq();
    // Weight's hard range is 30-250 kg: 300 is refused, nothing is written.
    let a = c
        .post(path, &[("f.weight", "300"), ("f.height", "170")])
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.body.contains("outside the hard range"), "{}", a.body);
    assert_eq!(seq(), s0);
    // Required field missing.
    let a = c.post(path, &[("f.weight", "70")]).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.body.contains("Height is required"), "{}", a.body);
    // Soft range (40-150) warns but saves; BMI is derived: 160 / 1.7^2 = 55.36.
    let a = c
        .post(path, &[("f.weight", "160"), ("f.height", "170")])
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("outside the expected range"), "{}", a.body);
    assert_eq!(seq(), s0 + 3, "weight, height and the derived BMI");
    let values = &app.ledger.state("lupex").unwrap().participants["L001"].values;
    let bmi = values["baseline/demographics/bmi"].as_f64().unwrap();
    assert!((bmi - 160.0 / 1.7 / 1.7).abs() < 1e-9, "{bmi}");
    // A change needs a reason.
    let a = c
        .post(path, &[("f.weight", "61"), ("f.height", "170")])
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.body.contains("needs a reason"), "{}", a.body);
    assert_eq!(seq(), s0 + 3);
    let a = c
        .post(
            path,
            &[
                ("f.weight", "61"),
                ("f.height", "170"),
                ("reason", "typo: 160 was 61"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(seq(), s0 + 5, "weight and BMI changed");
    // The field's history shows both values and the reason.
    let h = c
        .get("/t/lupex/p/L001/visit/baseline/demographics/weight/history")
        .await;
    assert!(
        h.body.contains("160") && h.body.contains("61") && h.body.contains("typo: 160 was 61"),
        "{}",
        h.body
    );
    // Live derived fields through the API.
    let d = c
        .post_json(
            "/api/trials/lupex/participants/L001/visits/baseline/demographics/derive",
            &json!({"values": {"weight": "70", "height": "175"}}),
            Some(&c.csrf),
        )
        .await;
    let d: serde_json::Value = serde_json::from_str(&d.body).unwrap();
    // 70 / 1.75^2 = 22.857..., rounded to the field's two decimals.
    assert_eq!(d["derived"]["bmi"], json!(22.86), "{d}");
    // A form entered by another role: the outcome assessor's CPET.
    let a = c
        .post(
            "/t/lupex/p/L001/visit/baseline/cpet",
            &[("f.vo2max_abs", "2000"), ("f.weight", "60")],
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screen_consent_randomise_shows_a_concealed_result_to_the_investigator() {
    let (router, app) = demo_app();
    let c = demo_login(&router, "investigator").await;
    // Live screening: one fact missing -> incomplete.
    let live = c
        .post_json(
            "/api/trials/il2-sle/screening/evaluate",
            &json!({"facts": {"sex": "female"}, "screening_date": "2026-02-27"}),
            Some(&c.csrf),
        )
        .await;
    let live: serde_json::Value = serde_json::from_str(&live.body).unwrap();
    assert_eq!(live["verdict"], "incomplete");
    assert!(live["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["result"] == "unknown"));
    let mut form: Vec<(String, String)> = vec![
        ("participant".into(), "N001".into()),
        ("site".into(), "pkuph".into()),
        ("screening_date".into(), "2025-03-01".into()),
    ];
    for (k, v) in [
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
    ] {
        form.push((format!("f.{k}"), v.into()));
    }
    form.push(("u.alt".into(), "40".into()));
    form.push(("u.ast".into(), "40".into()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let a = c.post("/t/il2-sle/screen", &pairs).await;
    assert_eq!(
        a.location.as_deref(),
        Some("/t/il2-sle/p/N001"),
        "{}",
        a.body
    );
    // Randomising before consent is refused.
    let a = c.post("/t/il2-sle/p/N001/randomise", &[]).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert_eq!(
        c.post("/t/il2-sle/p/N001/consent", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    let a = c.post("/t/il2-sle/p/N001/randomise", &[]).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("concealed from you"), "{}", a.body);
    assert!(
        a.body.contains("Dispense kit"),
        "kit codes are shown: {}",
        a.body
    );
    assert!(leaks(&a.body).is_empty(), "{:?}", leaks(&a.body));
    let arm = app.ledger.state("il2-sle").unwrap().participants["N001"]
        .allocation
        .clone()
        .unwrap()
        .arm;
    // The pharmacist (unblinded) sees the arm of the same participant.
    let ph = demo_login(&router, "pharmacist").await;
    let page = ph.get("/t/il2-sle/p/N001").await;
    let p = rct_web::demo::seed_protocols().unwrap();
    let label = p[1]
        .arms
        .iter()
        .find(|a| a.id.get_ref() == &arm)
        .unwrap()
        .label
        .clone();
    assert!(page.body.contains(&label), "{}", page.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emergency_unblinding_reveals_one_participant_to_one_user_and_is_recorded() {
    let (router, app) = demo_app();
    let c = demo_login(&router, "investigator").await;
    let sae = ("category", "serious adverse event");
    let pw = ("password", "investigator-demo-pw");
    let wrong = c
        .post(
            "/t/il2-sle/p/X002/unblind",
            &[sae, ("password", "not mine")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    // The form offers the protocol's categories (here the defaults).
    let form = c.get("/t/il2-sle/p/X002/unblind").await.body;
    assert!(
        form.contains("<option value=\"overdose\">") && form.contains("within 24 hours"),
        "{form}"
    );
    // No category, one outside the protocol's list, and an explanation of
    // "x" are refused, saying why; nothing is revealed.
    for (input, says) in [
        (vec![pw], "is not one of the protocol's"),
        (
            vec![("category", "curiosity"), pw],
            "`curiosity` is not one of the protocol's",
        ),
        (
            vec![sae, ("reason", "x"), pw],
            "at least 10 characters and two words",
        ),
    ] {
        let a = c.post("/t/il2-sle/p/X002/unblind", &input).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
        assert!(a.body.contains(says), "{}", a.body);
    }
    assert!(app.ledger.state("il2-sle").unwrap().unblindings.is_empty());
    // The category and the password suffice: the explanation may follow.
    let ok = c.post("/t/il2-sle/p/X002/unblind", &[sae, pw]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    // Until it is given, the dashboard reminds the user who broke the code,
    // and tells administrators it is awaited.
    let dash = c.get("/t/il2-sle").await.body;
    assert!(
        dash.contains("Reminder: </strong>explain your emergency code-break of X002"),
        "{dash}"
    );
    let admin = demo_login(&router, "admin").await;
    let a_dash = admin.get("/t/il2-sle").await.body;
    assert!(
        a_dash.contains("Code-breaks awaiting an explanation: </strong>1"),
        "{a_dash}"
    );
    assert!(leaks(&a_dash).is_empty());
    let x = c
        .post("/t/il2-sle/p/X002/unblind/explain", &[("explanation", "x")])
        .await;
    assert_eq!(x.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", x.body);
    assert!(
        x.body.contains("at least 10 characters and two words"),
        "{}",
        x.body
    );
    let ok = c
        .post(
            "/t/il2-sle/p/X002/unblind/explain",
            &[("explanation", "anaphylaxis after the first dose")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert!(!c.get("/t/il2-sle").await.body.contains("Reminder:"));
    let arm = app.ledger.state("il2-sle").unwrap().participants["X002"]
        .allocation
        .clone()
        .unwrap()
        .arm;
    let label = rct_web::demo::seed_protocols().unwrap()[1]
        .arms
        .iter()
        .find(|a| a.id.get_ref() == &arm)
        .unwrap()
        .label
        .clone();
    let page = c.get("/t/il2-sle/p/X002").await;
    assert!(
        page.body.contains(&label) && page.body.contains("emergency unblinding"),
        "{}",
        page.body
    );
    // Only that participant, only that user.
    assert!(leaks(&c.get("/t/il2-sle/p/X001").await.body).is_empty());
    let nurse = demo_login(&router, "nurse").await;
    assert!(leaks(&nurse.get("/t/il2-sle/p/X002").await.body).is_empty());
    // Administrators are told (who, when, why; no arm).
    let dash = admin.get("/t/il2-sle").await.body;
    assert!(
        dash.contains("broke the code for X002 (serious adverse event)")
            && dash.contains("anaphylaxis after the first dose"),
        "{dash}"
    );
    // ... at the top of the dashboard, as an alert.
    let notice = dash.split("role=\"alert\"").nth(1).unwrap_or_default();
    assert!(
        notice.starts_with(">")
            && notice.contains("Notice: 1 emergency unblinding")
            && notice.contains("by investigator for X002"),
        "{dash}"
    );
    assert!(
        dash.find("Notice: 1 emergency").unwrap() < dash.find("Enrolment against target").unwrap()
    );
    // ... and beside the trial on the administrator's start page.
    let home = admin.get("/").await.body;
    assert!(home.contains("Notice: 1 emergency unblinding"), "{home}");
    // Blinded staff without the right to see code-breaks are not told.
    assert!(!nurse
        .get("/t/il2-sle")
        .await
        .body
        .contains("emergency unblinding"));
    assert!(leaks(&dash).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_are_raised_answered_closed_and_the_lock_stops_writes() {
    let (router, app) = demo_app();
    let monitor = demo_login(&router, "monitor").await;
    let inv = demo_login(&router, "investigator").await;
    let a = monitor
        .post(
            "/t/il2-sle/queries",
            &[
                ("participant", "X001"),
                ("item", "baseline/sledai/total"),
                ("text", "SLEDAI missing?"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    // The investigator may not raise queries; the monitor may not answer them.
    assert_eq!(
        inv.post(
            "/t/il2-sle/queries",
            &[("participant", "X001"), ("text", "x")]
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        monitor
            .post("/t/il2-sle/queries/Q1/answer", &[("text", "x")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let list = inv.get("/t/il2-sle/queries").await.body;
    assert!(list.contains("SLEDAI missing?") && list.contains("Site pkuph"));
    // investigator2 (site2) does not see the pkuph query.
    let inv2 = demo_login(&router, "investigator2").await;
    assert!(!inv2
        .get("/t/il2-sle/queries")
        .await
        .body
        .contains("SLEDAI missing?"));
    assert_eq!(
        inv2.post("/t/il2-sle/queries/Q1/answer", &[("text", "x")])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        inv.post(
            "/t/il2-sle/queries/Q1/answer",
            &[("text", "Entered at visit 2")]
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        monitor
            .post("/t/il2-sle/queries/Q1/close", &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.ledger.state("il2-sle").unwrap().queries["Q1"].status,
        rct_record::QueryStatus::Closed
    );
    // Lock: only the data manager, with the trial id typed; then no writes.
    assert_eq!(
        monitor
            .post(
                "/t/il2-sle/lock",
                &[("reason", "end"), ("confirm", "il2-sle")]
            )
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let dm = demo_login(&router, "datamanager").await;
    assert_eq!(
        dm.post(
            "/t/il2-sle/lock",
            &[("reason", "end"), ("confirm", "wrong")]
        )
        .await
        .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        dm.post(
            "/t/il2-sle/lock",
            &[("reason", "end of study"), ("confirm", "il2-sle")]
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
    let a = inv
        .post(
            "/t/il2-sle/p/X001/visit/baseline/sledai",
            &[("f.total", "9")],
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.body.contains("locked"), "{}", a.body);
    // The lock alone unblinds nobody, the statistician included (the
    // trial's unblinding is its own step: tests/governance.rs).
    let stat = demo_login(&router, "statistician").await;
    assert!(leaks(&stat.get("/t/il2-sle/participants").await.body).is_empty());
    assert!(leaks(&inv.get("/t/il2-sle/participants").await.body).is_empty());
    // Unlocking: the data manager only, with a reason and the trial id typed.
    let lock_page = dm.get("/t/il2-sle/lock").await.body;
    assert!(lock_page.contains("Unlock the database"), "{lock_page}");
    assert!(!monitor
        .get("/t/il2-sle/lock")
        .await
        .body
        .contains("Unlock the database"));
    let unlock = |who: &'static str, reason: &'static str, confirm: &'static str| {
        let c = if who == "dm" { &dm } else { &monitor };
        async move {
            c.post(
                "/t/il2-sle/unlock",
                &[("reason", reason), ("confirm", confirm)],
            )
            .await
            .status
        }
    };
    assert_eq!(
        unlock("monitor", "late labs", "il2-sle").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        unlock("dm", "", "il2-sle").await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        unlock("dm", "late labs", "nope").await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert!(app.ledger.state("il2-sle").unwrap().locked);
    assert_eq!(
        unlock("dm", "late labs", "il2-sle").await,
        StatusCode::SEE_OTHER
    );
    assert!(!app.ledger.state("il2-sle").unwrap().locked);
    assert_eq!(unlock("dm", "again", "il2-sle").await, StatusCode::CONFLICT);
    let a = inv
        .post(
            "/t/il2-sle/p/X001/visit/baseline/sledai",
            &[("f.total", "9")],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "writes again: {}", a.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_labelled_and_carry_security_headers() {
    let (router, _) = demo_app();
    // A query, so the query list has its answer and close forms.
    let monitor = demo_login(&router, "monitor").await;
    let a = monitor
        .post(
            "/t/il2-sle/queries",
            &[
                ("participant", "X001"),
                ("item", "baseline/sledai/total"),
                ("text", "Source?"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let mut pages = 0;
    // Every page any role can open, in both trials.
    for user in [
        "investigator",
        "monitor",
        "datamanager",
        "admin",
        "physio",
        "pharmacist",
    ] {
        let c = demo_login(&router, user).await;
        for route in ROUTES.iter().filter(|r| {
            r.method == "GET"
                && !r.path.starts_with("/api/")
                && !r.path.starts_with("/static/")
                && !["/healthz", "/readyz"].contains(&r.path)
        }) {
            for trial in ["lupex", "il2-sle"] {
                let path = fill(route.path, trial);
                let ans = c.get(&path).await;
                if ans.status != StatusCode::OK {
                    continue;
                }
                let body = ans.body;
                pages += 1;
                // Every input, select and textarea that is not hidden has a
                // label for its id (a checkbox may sit inside its label).
                for tag in ["<input", "<select", "<textarea"] {
                    let mut rest = body.as_str();
                    while let Some(i) = rest.find(tag) {
                        let before = &rest[..i];
                        let head = rest[i..].split('>').next().unwrap();
                        rest = &rest[i + tag.len()..];
                        if head.contains("type=\"hidden\"") {
                            continue;
                        }
                        if head.contains("type=\"checkbox\"") {
                            assert!(
                                before.ends_with("<label>"),
                                "{user} {path}: checkbox outside a label: {head}"
                            );
                            continue;
                        }
                        let id = head
                            .split(" id=\"")
                            .nth(1)
                            .and_then(|r| r.split('"').next())
                            .unwrap_or_else(|| panic!("{user} {path}: {tag} without id: {head}"));
                        assert!(
                            body.contains(&format!("for=\"{id}\"")),
                            "{user} {path}: no label for {id}"
                        );
                        assert_eq!(
                            body.matches(&format!(" id=\"{id}\"")).count(),
                            1,
                            "{user} {path}: id {id} is not unique"
                        );
                    }
                }
                assert_eq!(body.matches("<h1>").count(), 1, "{user} {path}: one h1");
                assert!(body.contains("<html lang=\"en\">"), "{user} {path}");
            }
        }
    }
    assert!(pages >= 40, "{pages} pages checked");
    let res = send(
        &router,
        axum::http::Request::get("/login")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    let raw = router.clone().oneshot_headers("/login").await;
    assert!(raw.contains("default-src 'self'"));
}

trait HeadersOf {
    async fn oneshot_headers(self, path: &str) -> String;
}

impl HeadersOf for axum::Router {
    async fn oneshot_headers(self, path: &str) -> String {
        use tower::ServiceExt;
        let res = self
            .oneshot(
                axum::http::Request::get(path)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        format!("{:?}", res.headers())
    }
}

/// The trial menu of `path` for a logged-in user: the links' targets.
fn nav_links(body: &str) -> Vec<String> {
    let nav = body
        .split("<nav class=\"trial\"")
        .nth(1)
        .and_then(|r| r.split("</nav>").next())
        .unwrap_or_else(|| panic!("no trial menu in {body}"));
    nav.split("href=\"")
        .skip(1)
        .filter_map(|r| r.split('"').next())
        .map(str::to_string)
        .collect()
}

/// Each role's menu offers only the actions it may take. Reference: the
/// permission table of ../shared/DESIGN.md as `rct_record::Action::roles`
/// encodes it, written out here by hand: screening is for investigators
/// and research nurses; queries are raised and closed by monitors and data
/// managers and answered by the roles that enter the query's form (issue
/// 16: investigators and nurses, and the assessor, pharmacist or data
/// manager for the forms they enter); the data manager
/// locks; the administrator manages users; the statistician and the
/// sponsor record the analysis plan and authorise the trial's unblinding;
/// the data monitoring committee reads its safety tables. Everyone reads the dashboard,
/// the participant list and the audit entries they may see.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_sees_only_the_menu_entries_it_may_use() {
    let (router, _) = demo_app();
    let t = "/t/il2-sle";
    let cases: &[(&str, &[&str])] = &[
        (
            "investigator",
            &[
                "",
                "/participants",
                "/status",
                "/screen",
                "/queries",
                "/audit",
            ],
        ),
        (
            "nurse",
            &[
                "",
                "/participants",
                "/status",
                "/screen",
                "/queries",
                "/audit",
            ],
        ),
        (
            "pharmacist",
            &["", "/participants", "/status", "/queries", "/audit"],
        ),
        (
            "assessor",
            &["", "/participants", "/status", "/queries", "/audit"],
        ),
        (
            "datamanager",
            &[
                "",
                "/participants",
                "/status",
                "/queries",
                "/lock",
                "/audit",
            ],
        ),
        (
            "monitor",
            &["", "/participants", "/status", "/queries", "/audit"],
        ),
        (
            "statistician",
            &["", "/participants", "/status", "/audit", "/governance"],
        ),
        (
            "admin",
            &["", "/participants", "/status", "/audit", "/admin"],
        ),
        (
            "sponsor",
            &["", "/participants", "/status", "/audit", "/governance"],
        ),
        ("dmc", &["", "/participants", "/status", "/audit", "/dmc"]),
        (
            "pharmacovigilance",
            &["", "/participants", "/status", "/audit"],
        ),
    ];
    for (user, expected) in cases {
        let c = demo_login(&router, user).await;
        let links = nav_links(&c.get(t).await.body);
        let expected: Vec<String> = expected.iter().map(|s| format!("{t}{s}")).collect();
        assert_eq!(links, expected, "{user}'s menu");
        // Every link shown works for that user.
        for l in &links {
            let a = c.get(l).await;
            assert_eq!(a.status, StatusCode::OK, "{user} GET {l}: {}", a.body);
        }
    }
    // Hiding a link does not open the door: the refusals stay on the server.
    let inv = demo_login(&router, "investigator").await;
    assert_eq!(
        inv.get("/t/il2-sle/admin").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        inv.post(
            "/t/il2-sle/lock",
            &[("reason", "x"), ("confirm", "il2-sle")]
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    let admin = demo_login(&router, "admin").await;
    assert_eq!(
        admin.get("/t/il2-sle/screen").await.status,
        StatusCode::FORBIDDEN
    );
}

/// Derived values are shown rounded to the field's decimals (two for a
/// number: the protocol declares none) on the form, in the derive API and
/// in the field's history, while the record keeps the computed value.
/// Reference values by hand: 70 / 1.75^2 = 22.857142..., 160 / 1.7^2 =
/// 55.363321..., 2000 / 60 = 33.3333...
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn derived_values_are_rounded_where_they_are_shown() {
    let (router, app) = demo_app();
    let c = demo_login(&router, "investigator").await;
    let d = c
        .post_json(
            "/api/trials/lupex/participants/L001/visits/baseline/demographics/derive",
            &json!({"values": {"weight": "70", "height": "175"}}),
            Some(&c.csrf),
        )
        .await;
    let d: serde_json::Value = serde_json::from_str(&d.body).unwrap();
    assert_eq!(d["derived"]["bmi"], json!(22.86), "{d}");
    assert_eq!(d["shown"]["bmi"], "22.86", "{d}");
    assert_eq!(d["messages"], json!({}), "valid values have no messages");
    // A refused and a warned value: both have messages, only one is refused.
    let d = c
        .post_json(
            "/api/trials/lupex/participants/L001/visits/baseline/demographics/derive",
            &json!({"values": {"weight": "300", "height": "210"}}),
            Some(&c.csrf),
        )
        .await;
    let d: serde_json::Value = serde_json::from_str(&d.body).unwrap();
    assert!(
        d["messages"]["weight"]
            .as_str()
            .unwrap()
            .contains("hard range"),
        "{d}"
    );
    assert!(
        d["messages"]["height"]
            .as_str()
            .unwrap()
            .contains("expected range"),
        "{d}"
    );
    assert_eq!(d["refused"], json!(["weight"]), "{d}");
    assert_eq!(d["derived"]["bmi"], serde_json::Value::Null, "{d}");

    let path = "/t/lupex/p/L001/visit/baseline/demographics";
    let a = c
        .post(path, &[("f.weight", "160"), ("f.height", "170")])
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains(">55.36</output>"), "{}", a.body);
    assert!(
        !a.body.contains("55.363"),
        "unrounded BMI shown: {}",
        a.body
    );
    // Entered whole numbers are shown as typed, not as 160.0.
    assert!(a.body.contains("value=\"160\""), "{}", a.body);
    let stored = app.ledger.state("lupex").unwrap().participants["L001"].values
        ["baseline/demographics/bmi"]
        .as_f64()
        .unwrap();
    assert!((stored - 160.0 / 1.7 / 1.7).abs() < 1e-9, "{stored}");
    let h = c
        .get("/t/lupex/p/L001/visit/baseline/demographics/bmi/history")
        .await;
    assert!(h.body.contains("<td>55.36</td>"), "{}", h.body);
    assert!(!h.body.contains("55.363"), "{}", h.body);
    // The assessor's CPET: VO2max relative = 2000 / 60 = 33.33 mL/kg/min.
    let asr = demo_login(&router, "assessor").await;
    let a = asr
        .post(
            "/t/lupex/p/L001/visit/baseline/cpet",
            &[("f.vo2max_abs", "2000"), ("f.weight", "60")],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains(">33.33</output>"), "{}", a.body);
}

/// The demo registers both seed protocols through
/// `rct_record::registration` (the mapping `rct trial create` uses, with
/// the protocol text kept) and creates one account per role each trial
/// uses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_registers_both_seed_protocols_with_one_user_per_role() {
    use rct_record::Role;
    let (_, app) = demo_app();
    for (p, (_, text)) in rct_web::demo::seed_protocols()
        .unwrap()
        .iter()
        .zip(rct_web::demo::SEEDS)
    {
        let trial = p.trial.id.get_ref();
        let state = app.ledger.state(trial).unwrap();
        let config = state.config.as_ref().unwrap();
        let rct_record::Command::RegisterTrial {
            title,
            blinded,
            arms,
            design,
            ..
        } = rct_record::registration::register_command_with_text(
            p,
            text,
            rct_record::TrialSecrets::insecure_for_tests(0),
        )
        else {
            panic!("not a registration")
        };
        assert_eq!(config.title, title);
        assert_eq!(config.blinded, blinded);
        assert_eq!(config.arms, arms);
        assert_eq!(config.trial_design().unwrap(), design, "{trial}");
        let sites: Vec<String> = state
            .view("admin")
            .sites
            .iter()
            .map(|s| s.site.clone())
            .collect();
        let expected: Vec<String> = p.sites.iter().map(|s| s.id.get_ref().clone()).collect();
        assert_eq!(sites, expected, "{trial}");
        // One account per role the trial uses (LUPEX has no pharmacist,
        // IL-2 no exercise staff); the registering admin holds Admin.
        let unused = if trial == "lupex" {
            Role::Pharmacist
        } else {
            Role::InterventionStaff
        };
        for role in Role::ALL
            .into_iter()
            .filter(|r| *r != Role::System && *r != unused)
        {
            let holders: Vec<&String> = state
                .grants
                .iter()
                .filter(|(_, g)| g.iter().any(|(r, _)| *r == role))
                .map(|(u, _)| u)
                .collect();
            assert!(!holders.is_empty(), "{trial}: nobody holds {role}");
            for u in holders {
                assert!(state.users.contains_key(u), "{trial}: {u} has no account");
            }
        }
        // Demo participants were screened and randomised in both.
        assert!(
            state.participants.values().any(|x| x.allocation.is_some()),
            "{trial}"
        );
    }
}

/// The participant page's visit schedule. Reference by hand from
/// protocols/lupex.toml: L001 was randomised on 2025-12-23 (the demo starts
/// 70 days before 2026-03-01 and randomises two days after screening);
/// week 6 is day 42 (2026-02-03), window days 35-49 (2026-01-27 to
/// 2026-02-10), closed 19 days before 2026-03-01; follow-up is day 88
/// (2026-03-21), window from day 84 (2026-03-17): upcoming.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_participant_page_shows_due_dates_windows_and_overdue_visits() {
    let (router, _) = demo_app();
    let c = demo_login(&router, "investigator").await;
    let body = c.get("/t/lupex/p/L001").await.body;
    assert!(body.contains("randomisation on 2025-12-23"), "{body}");
    let row = |label: &str| {
        body.split("<tr>")
            .find(|r| r.contains(label))
            .unwrap_or_else(|| panic!("no row {label}: {body}"))
            .to_string()
    };
    let w6 = row("Mid-intervention");
    assert!(
        w6.contains("<td>42</td>") && w6.contains("2026-02-03"),
        "{w6}"
    );
    assert!(
        w6.contains("2026-01-27</span> to <span class=\"date\">2026-02-10"),
        "{w6}"
    );
    assert!(w6.contains("overdue (window closed 19 days ago)"), "{w6}");
    let fu = row("Follow-up testing");
    assert!(fu.contains("2026-03-21") && fu.contains("upcoming"), "{fu}");
    // Screening (day -21) and baseline (day -7) come before randomisation:
    // windows count from randomisation, so they are never overdue after it
    // (their forms are still to enter); week 6 is.
    assert!(body.contains("Overdue: </strong>1 visit past"), "{body}");
    let sc = row(">Screening</th>");
    assert!(
        sc.contains("due (before randomisation: forms to enter)") && !sc.contains("overdue"),
        "{sc}"
    );
    // Forms by title with their status, not by id.
    assert!(
        w6.contains(
            ">Fatigue Severity Scale</a> <span class=\"status-not_started\">(not started)</span>"
        ),
        "{w6}"
    );
    // Entering week 6's only form marks the visit done and its form entered.
    let asr = demo_login(&router, "assessor").await;
    let mut fss: Vec<(String, String)> = (1..=9)
        .map(|i| (format!("f.q{i}"), "4".to_string()))
        .collect();
    fss.push(("reason".into(), String::new()));
    let pairs: Vec<(&str, &str)> = fss.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let a = asr.post("/t/lupex/p/L001/visit/week6/fss", &pairs).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let body = c.get("/t/lupex/p/L001").await.body;
    let w6 = body
        .split("<tr>")
        .find(|r| r.contains("Mid-intervention"))
        .unwrap();
    assert!(w6.contains(">done<") || w6.contains(">done "), "{w6}");
    assert!(
        w6.contains(
            ">Fatigue Severity Scale</a> <span class=\"status-complete\">(complete)</span>"
        ),
        "{w6}"
    );
}

/// Randomisation only for an eligible, consented participant: L005 in the
/// demo is ineligible (diabetes); consenting does not make it randomisable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ineligible_participant_is_never_randomised() {
    let (router, app) = demo_app();
    let c = demo_login(&router, "investigator").await;
    let page = c.get("/t/lupex/p/L005").await.body;
    assert!(page.contains("ineligible"), "{page}");
    assert!(
        !page.contains("/p/L005/randomise"),
        "no randomise link: {page}"
    );
    let _ = c.post("/t/lupex/p/L005/consent", &[]).await;
    let page = c.get("/t/lupex/p/L005/randomise").await.body;
    assert!(page.contains("needs an eligible screening"), "{page}");
    let a = c
        .post("/t/lupex/p/L005/randomise", &[("s.sex", "female")])
        .await;
    assert!(a.status.is_client_error(), "{} {}", a.status, a.body);
    assert!(app.ledger.state("lupex").unwrap().participants["L005"]
        .allocation
        .is_none());
}

/// A query is raised on a field chosen from the form, must name a real
/// field, links back to the form from the list, and the dashboard shows
/// enrolment against the target per site and stratum.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_name_a_field_of_the_form_and_link_to_it() {
    let (router, app) = demo_app();
    let monitor = demo_login(&router, "monitor").await;
    let form = monitor
        .get("/t/il2-sle/p/X001/visit/baseline/sledai")
        .await
        .body;
    assert!(
        form.contains("<option value=\"baseline/sledai/total\">SLEDAI-2K total</option>")
            || form.contains("value=\"baseline/sledai/total\""),
        "{form}"
    );
    let a = monitor
        .post(
            "/t/il2-sle/queries",
            &[
                ("participant", "X001"),
                ("item", "baseline/sledai/nonsense"),
                ("text", "?"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    let a = monitor
        .post(
            "/t/il2-sle/queries",
            &[
                ("participant", "X001"),
                ("item", "baseline/sledai/total"),
                ("text", "Total?"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let q = app.ledger.state("il2-sle").unwrap().queries["Q1"].clone();
    assert_eq!(q.item.as_deref(), Some("baseline/sledai/total"));
    let list = monitor.get("/t/il2-sle/queries").await.body;
    assert!(
        list.contains("href=\"/t/il2-sle/p/X001/visit/baseline/sledai\""),
        "{list}"
    );
    // Dashboard: 6 of 100 randomised in IL-2 (target_enrolment in
    // protocols/il2-sle.toml) -> 6 %; per site 4 (pkuph) and 2 (site2).
    let target = rct_web::demo::seed_protocols().unwrap()[1]
        .trial
        .target_enrolment
        .get_ref()
        .to_owned();
    let dash = monitor.get("/t/il2-sle").await.body;
    let pct = |n: u64| format!("{}%", n * 100 / u64::from(target));
    assert!(
        dash.contains(&format!(
            "6 of {target} randomised ({} of the target)",
            pct(6)
        )),
        "{dash}"
    );
    let pk = dash.split("<tr>").find(|r| r.contains("(pkuph)")).unwrap();
    assert!(pk.contains(&format!("<td>{}</td>", pct(4))), "{pk}");
}

/// A derived SLEDAI-2K total computed as the descriptors are ticked: the
/// seed protocols enter the total by hand, so this test serves LUPEX with
/// one more baseline form whose total is `derived = "sledai2k()"` over the
/// 24 descriptors. Reference: the SLEDAI-2K weights (Gladman et al., J
/// Rheumatol 2002): arthritis 4 + rash 2 + low complement 2 + increased
/// DNA binding 2 + fever 1 = 11; with seizure (8) 19. An integer, shown
/// without decimals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_derived_sledai_total_is_computed_as_descriptors_are_entered() {
    use std::sync::Arc;
    const DESCRIPTORS: [&str; 24] = [
        "seizure",
        "psychosis",
        "organic_brain_syndrome",
        "visual_disturbance",
        "cranial_nerve_disorder",
        "lupus_headache",
        "cva",
        "vasculitis",
        "arthritis",
        "myositis",
        "urinary_casts",
        "haematuria",
        "proteinuria",
        "pyuria",
        "rash",
        "alopecia",
        "mucosal_ulcers",
        "pleurisy",
        "pericarditis",
        "low_complement",
        "increased_dna_binding",
        "fever",
        "thrombocytopenia",
        "leukopenia",
    ];
    let mut form = String::from(
        "[[forms]]\nid = \"sledai_descriptors\"\nlabel = \"SLEDAI-2K descriptors\"\nfields = [\n",
    );
    for d in DESCRIPTORS {
        form.push_str(&format!(
            "  {{ id = \"{d}\", label = \"{d}\", type = \"boolean\", required = true }},\n"
        ));
    }
    form.push_str(
        "  { id = \"total\", label = \"SLEDAI-2K total (descriptors)\", type = \"integer\", derived = \"sledai2k()\" },\n]\n\n",
    );
    let baseline = r#"forms = ["demographics", "cpet", "fss", "ifn", "examination", "sledai"]"#;
    let text = rct_web::demo::LUPEX
        .replacen("[[visits]]", &format!("{form}[[visits]]"), 1)
        .replacen(
            baseline,
            r#"forms = ["demographics", "cpet", "fss", "ifn", "examination", "sledai", "sledai_descriptors"]"#,
            1,
        );
    let lupex = rct_core::protocol::parse(&text, "lupex+descriptors.toml")
        .unwrap_or_else(|d| panic!("{d}"));
    let il2 = rct_web::demo::seed_protocols().unwrap().remove(1);
    let now: chrono::DateTime<chrono::Utc> = NOW.parse().unwrap();
    let mut app = rct_web::App::new(
        Box::new(rct_store::MemStore::new()),
        vec![lupex, il2],
        rct_web::Passwords::new(64),
        Arc::new(move || now),
    );
    // The record keeps the text it is registered with: the pages serve that.
    app.protocol_texts.insert("lupex".into(), text.clone());
    rct_web::demo::seed(&app, 0).unwrap();
    let app = Arc::new(app);
    let router = rct_web::router(rct_web::AppState(app.clone()));
    let c = demo_login(&router, "investigator").await;
    let page = c
        .get("/t/lupex/p/L001/visit/baseline/sledai_descriptors")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("id=\"derived-total\""), "{}", page.body);
    let ticked = |yes: &[&str]| -> Vec<(String, String)> {
        DESCRIPTORS
            .iter()
            .map(|d| {
                (
                    d.to_string(),
                    (if yes.contains(d) { "true" } else { "false" }).to_string(),
                )
            })
            .collect()
    };
    let api = "/api/trials/lupex/participants/L001/visits/baseline/sledai_descriptors/derive";
    let yes = [
        "arthritis",
        "rash",
        "low_complement",
        "increased_dna_binding",
        "fever",
    ];
    let values: serde_json::Map<String, serde_json::Value> = ticked(&yes)
        .into_iter()
        .map(|(k, v)| (k, json!(v)))
        .collect();
    let d = c
        .post_json(api, &json!({ "values": values }), Some(&c.csrf))
        .await;
    let d: serde_json::Value = serde_json::from_str(&d.body).unwrap();
    assert_eq!(d["derived"]["total"], json!(11), "{d}");
    assert_eq!(d["shown"]["total"], "11", "{d}");
    // One descriptor still unknown: no total yet.
    let mut partial = values.clone();
    partial.insert("seizure".into(), json!(""));
    let d = c
        .post_json(api, &json!({ "values": partial }), Some(&c.csrf))
        .await;
    let d: serde_json::Value = serde_json::from_str(&d.body).unwrap();
    assert_eq!(d["derived"]["total"], serde_json::Value::Null, "{d}");
    // Saved through the form: the page shows 19 and the record holds it.
    let mut form: Vec<(String, String)> = ticked(&[&yes[..], &["seizure"]].concat())
        .into_iter()
        .map(|(k, v)| (format!("f.{k}"), v))
        .collect();
    form.push(("reason".into(), String::new()));
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let a = c
        .post("/t/lupex/p/L001/visit/baseline/sledai_descriptors", &pairs)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains(">19</output>"), "{}", a.body);
    let stored = &app.ledger.state("lupex").unwrap().participants["L001"].values
        ["baseline/sledai_descriptors/total"];
    assert_eq!(stored.as_f64(), Some(19.0), "{stored}");
}

/// Live screening reads the upper limits of normal and the screening date
/// typed on the form, and reports a fact that does not read instead of
/// failing. Reference: IL-2 exclusion E3 (protocols/il2-sle.toml) is
/// `alt >= 2 * alt.uln or ast >= 2 * ast.uln`: ALT 90 with ULN 40 is
/// 2.25 x ULN (met); ALT 70 is 1.75 x ULN and AST 25 under 2 x 40 (not met);
/// without the ULNs it cannot be decided (unknown).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_screening_uses_the_limits_of_normal_and_reports_unreadable_facts() {
    let (router, _) = demo_app();
    let c = demo_login(&router, "investigator").await;
    let eval = |body: serde_json::Value| {
        let c = &c;
        async move {
            let a = c
                .post_json(
                    "/api/trials/il2-sle/screening/evaluate",
                    &body,
                    Some(&c.csrf),
                )
                .await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.body);
            serde_json::from_str::<serde_json::Value>(&a.body).unwrap()
        }
    };
    let e3 = |r: &serde_json::Value| {
        r["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == "E3")
            .unwrap()["result"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let facts = |alt: &str| json!({"alt": alt, "ast": "25"});
    let uln = json!({"alt": "40", "ast": "40"});
    let r = eval(json!({"facts": facts("90"), "uln": uln})).await;
    assert_eq!(e3(&r), "met", "{r}");
    let r = eval(json!({"facts": facts("70"), "uln": uln})).await;
    assert_eq!(e3(&r), "not_met", "{r}");
    let r = eval(json!({"facts": facts("70")})).await;
    assert_eq!(e3(&r), "unknown", "{r}");
    // An unreadable number: reported by fact, left out of the evaluation.
    let r = eval(json!({"facts": {"alt": "a lot", "ast": "25"}, "uln": uln})).await;
    assert!(
        r["problems"]["alt"]
            .as_str()
            .unwrap()
            .contains("not a number"),
        "{r}"
    );
    assert_eq!(e3(&r), "unknown", "{r}");
    assert_eq!(r["verdict"], "incomplete", "{r}");
    assert_eq!(
        eval(json!({"facts": facts("70"), "uln": uln})).await["problems"],
        json!({})
    );
    // The form's screening date is the one evaluated: born 2008-06-01 is
    // 17 on 2026-03-01 and 18 on 2026-06-01 (inclusion I3: age 18 to 75,
    // weight 45 to 80 kg).
    let age = |date: &'static str| {
        let body =
            json!({"facts": {"birth_date": "2008-06-01", "weight": "60"}, "screening_date": date});
        async move {
            let r = eval(body).await;
            let crit = r["criteria"].as_array().unwrap();
            crit.iter().find(|c| c["id"] == "I3").unwrap()["result"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    assert_eq!(age("2026-03-01").await, "not_met");
    assert_eq!(age("2026-06-01").await, "met");
}

/// The participants API pages on request: the monitor sees the 7 IL-2
/// demo participants (all sites), in pages of 3: X001-X003, X004-X006,
/// X007; the total in `X-Total-Count`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_participants_api_pages_on_request() {
    let (router, _) = demo_app();
    let c = demo_login(&router, "monitor").await;
    let ids = |body: &str| -> Vec<String> {
        serde_json::from_str::<serde_json::Value>(body)
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect()
    };
    let all = c.get("/api/trials/il2-sle/participants").await;
    assert_eq!(
        ids(&all.body),
        ["X001", "X002", "X003", "X004", "X005", "X006", "X007"]
    );
    assert_eq!(all.headers["x-total-count"], "7");
    assert_eq!(all.headers["content-type"], "application/json");
    let p = |n: &str| {
        let c = &c;
        let path = format!("/api/trials/il2-sle/participants?page={n}&per_page=3");
        async move { c.get(&path).await }
    };
    assert_eq!(ids(&p("1").await.body), ["X001", "X002", "X003"]);
    assert_eq!(ids(&p("3").await.body), ["X007"]);
    let past = p("9").await;
    assert_eq!(ids(&past.body), Vec::<String>::new());
    assert_eq!(past.headers["x-total-count"], "7");
    assert_eq!(p("0").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p("x").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Site scoping holds on every page: investigator (pkuph) has X001-X004.
    let inv = demo_login(&router, "investigator").await;
    let a = inv
        .get("/api/trials/il2-sle/participants?page=2&per_page=3")
        .await;
    assert_eq!(ids(&a.body), ["X004"]);
    assert_eq!(a.headers["x-total-count"], "4");
}

#[tokio::test]
async fn the_audit_page_shows_the_last_checkpoint_without_its_hash() {
    let (router, app) = demo_app();
    let monitor = demo_login(&router, "monitor").await;
    let page = monitor.get("/t/il2-sle/audit").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("No signed checkpoint yet."),
        "{}",
        page.body
    );
    let state = app.ledger.state("il2-sle").unwrap();
    let key = rct_record::ed25519_dalek::SigningKey::from_bytes(&[4; 32]);
    let cp = rct_record::Checkpoint::sign(
        &key,
        "il2-sle",
        state.seq,
        &state.head,
        "2026-11-23T10:00:00Z".parse().unwrap(),
    )
    .unwrap();
    app.ledger.store().add_checkpoint(&cp).unwrap();
    let page = monitor.get("/t/il2-sle/audit").await;
    let expected = format!(
        "Last signed checkpoint: event {} at 2026-11-23 10:00:00 UTC, key <code>{}</code>.",
        state.seq,
        cp.key_fingerprint()
    );
    assert!(page.body.contains(&expected), "{}", page.body);
    // The head hash commits to concealed arms: a blinded role never gets it.
    assert!(!page.body.contains(&state.head));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_names_the_software_that_wrote_it() {
    let (router, app) = demo_app();
    let c = demo_login(&router, "investigator").await;
    let s0 = app.ledger.state("lupex").unwrap().seq;
    let a = c
        .post(
            "/t/lupex/p/L001/visit/baseline/demographics",
            &[("f.weight", "70"), ("f.height", "170")],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // Reference: the workspace version, and the commit `git rev-parse`
    // names (`unknown` outside a checkout).
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let software = format!("rct {} (git {commit})", env!("CARGO_PKG_VERSION"));
    assert_eq!(rct_web::SOFTWARE, software);
    let trail: serde_json::Value =
        serde_json::from_str(&c.get("/api/trials/lupex/audit").await.body).unwrap();
    let new: Vec<&serde_json::Value> = trail
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["seq"].as_u64().unwrap() > s0)
        .collect();
    assert_eq!(new.len(), 3, "weight, height and the derived BMI");
    for e in &new {
        assert_eq!(e["software"], software.as_str(), "{e}");
    }
    let page = c.get("/t/lupex/audit").await;
    assert!(page.body.contains("Software"), "{}", page.body);
    assert!(page.body.contains(&software), "{}", page.body);
}
