//! Login abuse and separation of duties over the router: failed logins with
//! unknown names go to the security log only, over-long names and passwords
//! are refused before any work, wrong passwords slow an account and a
//! client down (429 with Retry-After) and never lock it, and the record's
//! refusals (last administrator, grant to oneself, to a name without an
//! account) reach the administrator's page. The demo data is the fixture;
//! the clock is moved by the test instead of sleeping.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, Duration, Utc};
use common::*;
use rct_web::{demo, router, App, AppState, Passwords};

/// The demo app with a clock the test moves (milliseconds after `NOW`).
fn demo_app_with_clock() -> (Router, Arc<App>, Arc<AtomicI64>) {
    let start: DateTime<Utc> = NOW.parse().unwrap();
    let offset = Arc::new(AtomicI64::new(0));
    let o = offset.clone();
    let app = App::new(
        Box::new(rct_store::MemStore::new()),
        demo::seed_protocols().unwrap(),
        Passwords::new(64),
        Arc::new(move || start + Duration::milliseconds(o.load(Ordering::SeqCst))),
    );
    demo::seed(&app, 0).unwrap();
    let app = Arc::new(app);
    (router(AppState(app.clone())), app, offset)
}

fn advance(clock: &AtomicI64, by: Duration) {
    clock.fetch_add(by.num_milliseconds(), Ordering::SeqCst);
}

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

/// One login attempt from `client`: the login form, then the post.
async fn attempt(router: &Router, user: &str, password: &str, client: SocketAddr) -> Answer {
    let page = send(router, Request::get("/login").body(Body::empty()).unwrap()).await;
    let token = csrf_in(&page.body).unwrap();
    let body = enc(&[("csrf", &token), ("user", user), ("password", password)]);
    let mut req = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("{}={token}", rct_web::LOGIN_COOKIE))
        .body(Body::from(body))
        .unwrap();
    req.extensions_mut().insert(ConnectInfo(client));
    send(router, req).await
}

/// Sequence numbers of the head of every trial.
fn heads(app: &App) -> Vec<(String, u64)> {
    app.trial_ids()
        .unwrap()
        .into_iter()
        .map(|t| {
            let seq = app.ledger.state(&t).unwrap().seq;
            (t, seq)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_failed_logins_with_unknown_names_touch_no_trial_record() {
    let (router, app, _) = demo_app_with_clock();
    let before = heads(&app);
    assert_eq!(before.len(), 2);
    // Each from its own address (so none is throttled) with its own name;
    // one with markup, one of the full 64 bytes.
    for i in 0..1000u32 {
        let user = match i {
            0 => "<script>alert(1)</script>".to_string(),
            1 => "g".repeat(64),
            _ => format!("ghost{i}"),
        };
        let client = addr(&format!("10.{}.{}.1:40000", i / 256, i % 256));
        let ans = attempt(&router, &user, "wrong password", client).await;
        assert_eq!(ans.status, StatusCode::UNAUTHORIZED, "attempt {i}");
        assert!(ans.body.contains("wrong user name or password"));
    }
    assert_eq!(heads(&app), before, "no trial's record grew");
    let log = app.ledger.store().security_log(5000).unwrap();
    assert_eq!(log.len(), 1000);
    assert!(log.iter().all(|e| e.what == "login_failed_unknown_user"));
    assert_eq!(log[0].user, "<script>alert(1)</script>");
    assert_eq!(log[1].user, "g".repeat(64));
    assert_eq!(log[999].user, "ghost999");
    assert_eq!(log[999].client, "10.3.231.1");
    assert_eq!(log[0].at, NOW.parse::<DateTime<Utc>>().unwrap());
    // From one address, the fourth failure starts the delays: the fifth
    // attempt is refused at once, and refused attempts are not logged.
    let one = addr("192.0.2.9:1234");
    for i in 0..4 {
        let ans = attempt(&router, &format!("nobody{i}"), "x", one).await;
        assert_eq!(ans.status, StatusCode::UNAUTHORIZED);
    }
    let ans = attempt(&router, "nobody9", "x", one).await;
    assert_eq!(ans.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(ans.headers[header::RETRY_AFTER], "1");
    assert_eq!(app.ledger.store().security_log(5000).unwrap().len(), 1004);
    assert_eq!(heads(&app), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_long_names_and_passwords_are_refused_before_any_work() {
    let (router, app, _) = demo_app_with_clock();
    let before = heads(&app);
    let client = addr("192.0.2.1:1");
    // The 250 kB name of issue 15, a 65-byte name, a 1025-byte password.
    for (user, password, what) in [
        (
            "u".repeat(250_000),
            "x".to_string(),
            "the user name is longer than 64 bytes",
        ),
        (
            "u".repeat(65),
            "x".to_string(),
            "the user name is longer than 64 bytes",
        ),
        (
            "nurse".to_string(),
            "p".repeat(1025),
            "the password is longer than 1024 bytes",
        ),
    ] {
        let ans = attempt(&router, &user, &password, client).await;
        assert_eq!(ans.status, StatusCode::UNPROCESSABLE_ENTITY, "{what}");
        assert!(ans.body.contains(what), "{}", ans.body);
        assert!(ans.body.len() < 10_000, "the name is not echoed back");
    }
    // Nothing after the length check ran: the throttle (charged before any
    // lookup or hashing) holds no count, the security log (written after
    // the hashing) no entry, and no trial grew.
    assert!(app.throttle.is_empty());
    assert!(app.ledger.store().security_log(10).unwrap().is_empty());
    assert_eq!(heads(&app), before);
    // The limits themselves are accepted (and fail as wrong credentials).
    let ans = attempt(&router, "nurse", &"p".repeat(1024), client).await;
    assert_eq!(ans.status, StatusCode::UNAUTHORIZED);
}

fn kinds_about(app: &App, trial: &str, user: &str) -> Vec<String> {
    let admin = app.ledger.state(trial).unwrap();
    let events = app.ledger.store().load(trial, 0).unwrap();
    events
        .iter()
        .map(|s| s.event().unwrap())
        .filter_map(|e| admin.view_event(&e, "admin"))
        .filter(|v| v["payload"]["user"] == user)
        .map(|v| v["payload"]["type"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_slow_an_account_down_and_never_lock_it() {
    let (router, app, clock) = demo_app_with_clock();
    let here = addr("192.0.2.10:5000");
    // Five wrong passwords, each after the previous delay has run out.
    for i in 1..=5 {
        let ans = attempt(&router, "nurse", "wrong password", here).await;
        assert_eq!(
            ans.status,
            StatusCode::UNAUTHORIZED,
            "attempt {i}: {}",
            ans.body
        );
        assert!(!ans.body.contains("locked"), "{}", ans.body);
        advance(&clock, Duration::seconds(if i < 5 { 60 } else { 0 }));
    }
    // The sixth comes too soon: refused before the password is looked at
    // (free for three failures, then 1 s, 2 s, ...: two seconds after the fifth).
    let ans = attempt(&router, "nurse", "wrong password", here).await;
    assert_eq!(ans.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(ans.headers[header::RETRY_AFTER], "2");
    assert!(ans.body.contains("try again in 2 seconds"), "{}", ans.body);
    // So is the right password, from anywhere, until the delay has passed.
    let ans = attempt(&router, "nurse", "nurse-demo-pw", addr("198.51.100.7:1")).await;
    assert_eq!(ans.status, StatusCode::TOO_MANY_REQUESTS);
    for trial in ["lupex", "il2-sle"] {
        assert!(!app.ledger.state(trial).unwrap().users["nurse"].locked);
    }
    advance(&clock, Duration::seconds(2));
    let ans = attempt(&router, "nurse", "nurse-demo-pw", here).await;
    assert_eq!(ans.status, StatusCode::SEE_OTHER, "{}", ans.body);
    // Five failures and the login are in the record; refused attempts and
    // locks are not.
    let kinds = kinds_about(&app, "il2-sle", "nurse");
    assert_eq!(
        kinds.iter().filter(|k| *k == "login_failed").count(),
        5,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"logged_in".to_string()));
    assert!(!kinds.contains(&"user_locked".to_string()));
    // The success reset the account's count: three failures from another
    // address are free again.
    let there = addr("203.0.113.5:9");
    for _ in 0..3 {
        let ans = attempt(&router, "nurse", "wrong again", there).await;
        assert_eq!(ans.status, StatusCode::UNAUTHORIZED);
    }
    // One client is slowed down across names: four failures from one
    // address, then any name is refused from there.
    let prober = addr("[2001:db8:5:6::1]:80");
    for user in ["assessor", "monitor", "nobody", "statistician"] {
        let ans = attempt(&router, user, "guess", prober).await;
        assert_eq!(ans.status, StatusCode::UNAUTHORIZED);
    }
    let ans = attempt(
        &router,
        "datamanager",
        "guess",
        addr("[2001:db8:5:6::99]:80"),
    )
    .await;
    assert_eq!(
        ans.status,
        StatusCode::TOO_MANY_REQUESTS,
        "same /64 network"
    );
    // Others log in as usual.
    let ans = attempt(&router, "datamanager", "datamanager-demo-pw", here).await;
    assert_eq!(ans.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_record_refusals_reach_the_administrator_page() {
    let (router, app, _) = demo_app_with_clock();
    let admin = demo_login(&router, "admin").await;
    // The only administrator cannot be revoked.
    let ans = admin
        .post(
            "/t/il2-sle/admin/roles/revoke",
            &[("user", "admin"), ("role", "admin"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(ans.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", ans.body);
    assert!(
        ans.body.contains("is the last administrator of this trial"),
        "{}",
        ans.body
    );
    assert!(
        app.ledger.state("il2-sle").unwrap().grants["admin"].contains_key(&rct_record::Role::Admin)
    );
    // Nor grant itself the pharmacist role (issue 15, item 3).
    let ans = admin
        .post(
            "/t/il2-sle/admin/roles",
            &[
                ("user", "admin"),
                ("role", "pharmacist"),
                ("all_sites", "yes"),
            ],
        )
        .await;
    assert_eq!(ans.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(ans
        .body
        .contains("cannot grant the role pharmacist to themselves"));
    // Nor give the blinded nurse an unblinded role.
    let ans = admin
        .post(
            "/t/il2-sle/admin/roles",
            &[
                ("user", "nurse"),
                ("role", "pharmacist"),
                ("all_sites", "yes"),
            ],
        )
        .await;
    assert_eq!(ans.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        ans.body.contains("holds the role research_nurse"),
        "{}",
        ans.body
    );
    // Nor grant to a name without an account (markup is escaped, not run).
    let ans = admin
        .post(
            "/t/il2-sle/admin/roles",
            &[
                ("user", "<b>x</b>"),
                ("role", "monitor"),
                ("all_sites", "yes"),
            ],
        )
        .await;
    assert_eq!(ans.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(ans.body.contains("is not allowed"), "{}", ans.body);
    assert!(!ans.body.contains("<b>x</b>"));
    let ans = admin
        .post(
            "/t/il2-sle/admin/roles",
            &[("user", "ghost"), ("role", "monitor"), ("all_sites", "yes")],
        )
        .await;
    assert!(
        ans.body.contains("here is no account `ghost`"),
        "{}",
        ans.body
    );
    // Administrators and monitors see every unblinded grant; others do not.
    let pharmacist_grant = "pharmacist</strong> pharmacist on ";
    for page in ["/t/il2-sle", "/t/il2-sle/admin"] {
        let body = admin.get(page).await.body;
        assert!(body.contains("Unblinded roles granted"), "{page}");
        assert!(body.contains(pharmacist_grant), "{page}: {body}");
        assert!(body.contains(" UTC by admin"), "{page}");
    }
    let monitor = demo_login(&router, "monitor").await;
    let body = monitor.get("/t/lupex").await.body;
    assert!(body.contains("Unblinded roles granted"));
    assert!(
        body.contains("physio</strong> intervention_staff on "),
        "{body}"
    );
    for user in ["investigator", "nurse", "datamanager", "pharmacist"] {
        let c = demo_login(&router, user).await;
        let body = c.get("/t/il2-sle").await.body;
        assert!(!body.contains("Unblinded roles granted"), "{user}");
        c.post("/logout", &[]).await;
    }
    // Logins and logouts are audited; no answer carries a password hash.
    let audit = admin.get("/api/trials/il2-sle/audit").await.body;
    assert!(audit.contains("logged_in") && audit.contains("logged_out"));
    assert!(!audit.contains("$argon2id$"));
    assert!(!admin
        .get("/t/il2-sle/admin")
        .await
        .body
        .contains("$argon2id$"));
}
