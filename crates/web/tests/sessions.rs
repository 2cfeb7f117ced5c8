//! Web sessions kept in the database, on SQLite and (when
//! `RCT_TEST_POSTGRES` is set) PostgreSQL: a login survives a restart of
//! the application on the same database, two application instances on one
//! database both accept the session, and logout, a password change and a
//! role revocation end it on every instance; idle timeout and lifetime end
//! it too. The clock is moved by the test instead of sleeping.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use axum::http::StatusCode;
use axum::Router;
use chrono::{DateTime, Duration, Utc};
use common::*;
use rct_web::auth::{IDLE_TIMEOUT_MINUTES, SESSION_HOURS};
use rct_web::{demo, router, App, AppState, Passwords};

/// A database for one test; a PostgreSQL database is dropped afterwards.
struct Db {
    url: String,
    kind: &'static str,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg {
            if let Ok(mut c) = postgres::Client::connect(admin, postgres::NoTls) {
                let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

fn databases(label: &str) -> Vec<Db> {
    let dir = tempfile::tempdir().unwrap();
    let mut out = vec![Db {
        url: format!("sqlite:{}", dir.path().join("web.sqlite").display()),
        kind: "sqlite",
        _dir: Some(dir),
        pg: None,
    }];
    match std::env::var("RCT_TEST_POSTGRES") {
        Ok(server) if !server.is_empty() => {
            let name = format!("rct_web_{label}_{}", std::process::id());
            let mut admin = postgres::Client::connect(&server, postgres::NoTls)
                .unwrap_or_else(|e| panic!("cannot connect to RCT_TEST_POSTGRES={server}: {e}"));
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .unwrap();
            admin
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .unwrap();
            let (base, query) = match server.split_once('?') {
                Some((b, q)) => (b.to_string(), format!("?{q}")),
                None => (server.clone(), String::new()),
            };
            let (root, _) = base.rsplit_once('/').unwrap();
            out.push(Db {
                url: format!("{root}/{name}{query}"),
                kind: "postgres",
                _dir: None,
                pg: Some((server, name)),
            });
        }
        _ => {
            if std::env::var_os("CI").is_some() {
                panic!("RCT_TEST_POSTGRES is not set but CI is");
            }
            eprintln!("note: RCT_TEST_POSTGRES is not set; skipping the PostgreSQL backend");
        }
    }
    out
}

/// One application instance on `url` with the shared test clock
/// (milliseconds after `NOW`), the demo seeded (once per database).
fn instance(url: &str, clock: &Arc<AtomicI64>) -> (Router, Arc<App>) {
    let start: DateTime<Utc> = NOW.parse().unwrap();
    let o = clock.clone();
    let app = App::new(
        rct_store::open(url).unwrap(),
        demo::seed_protocols().unwrap(),
        Passwords::new(64),
        Arc::new(move || start + Duration::milliseconds(o.load(Ordering::SeqCst))),
    );
    demo::seed(&app, 0).unwrap();
    let app = Arc::new(app);
    (router(AppState(app.clone())), app)
}

fn advance(clock: &AtomicI64, by: Duration) {
    clock.fetch_add(by.num_milliseconds(), Ordering::SeqCst);
}

/// The session of `client` used on `router`.
fn on(client: &Client, router: &Router) -> Client {
    Client {
        router: router.clone(),
        user: client.user.clone(),
        cookie: client.cookie.clone(),
        csrf: client.csrf.clone(),
    }
}

/// Whether the session is accepted: the home page answers 200 (an ended
/// session is sent to the login page) and the JSON API answers too.
async fn accepted(client: &Client) -> bool {
    let home = client.get("/").await;
    let api = client.get("/api/trials").await;
    match (home.status, api.status) {
        (StatusCode::OK, StatusCode::OK) => true,
        (StatusCode::SEE_OTHER, StatusCode::UNAUTHORIZED) => {
            assert_eq!(home.location.as_deref(), Some("/login"));
            false
        }
        other => panic!("unexpected answers {other:?}: {} / {}", home.body, api.body),
    }
}

/// A runtime for the requests; the blocking PostgreSQL client is opened
/// and dropped outside it.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn sessions_survive_restarts_and_serve_on_every_instance() {
    let rt = runtime();
    for db in databases("restart") {
        let kind = db.kind;
        let clock = Arc::new(AtomicI64::new(0));
        let (a, app_a) = instance(&db.url, &clock);
        let nurse = rt.block_on(demo_login(&a, "nurse"));
        let (b, app_b) = instance(&db.url, &clock);
        // Another instance on the database accepts the session, with the
        // same CSRF token: a form posted there passes the guard.
        let on_b = on(&nurse, &b);
        assert!(rt.block_on(accepted(&on_b)), "{kind}");
        let page = rt.block_on(on_b.get("/"));
        assert_eq!(csrf_in(&page.body).unwrap(), nurse.csrf, "{kind}");
        // A restart of the first instance (dropped, built again on the
        // database) keeps the user logged in.
        drop(a);
        drop(app_a);
        let (a2, app_a2) = instance(&db.url, &clock);
        let again = on(&nurse, &a2);
        assert!(rt.block_on(accepted(&again)), "{kind}: after a restart");
        // Logging out on B ends it on the restarted A too.
        let out = rt.block_on(on_b.post("/logout", &[]));
        assert_eq!(out.status, StatusCode::SEE_OTHER, "{kind}: {}", out.body);
        assert!(!rt.block_on(accepted(&again)), "{kind}: after logout");
        // The table holds only the token's SHA-256: the cookie's token
        // itself finds nothing, its hash found nothing after the logout.
        let token = nurse.cookie.split_once('=').unwrap().1;
        let store = rct_store::open(&db.url).unwrap();
        assert!(store.session(token).unwrap().is_none(), "{kind}");
        let sha = rct_record::sha256_hex(token.as_bytes());
        assert!(store.session(&sha).unwrap().is_none(), "{kind}");
        drop((b, a2, app_b, app_a2, store));
    }
}

#[test]
fn password_change_and_role_revocation_end_sessions_everywhere() {
    let rt = runtime();
    for db in databases("revoke") {
        let kind = db.kind;
        let clock = Arc::new(AtomicI64::new(0));
        let (a, app_a) = instance(&db.url, &clock);
        let (b, app_b) = instance(&db.url, &clock);
        let admin = rt.block_on(demo_login(&a, "admin"));
        let nurse = on(&rt.block_on(demo_login(&a, "nurse")), &b);
        let monitor = on(&rt.block_on(demo_login(&b, "monitor")), &a);
        let assessor = rt.block_on(demo_login(&b, "assessor"));
        assert!(rt.block_on(accepted(&nurse)), "{kind}");
        assert!(rt.block_on(accepted(&monitor)), "{kind}");
        // A password change (on A) ends the nurse's session on B.
        let ans = rt.block_on(admin.post(
            "/t/il2-sle/admin/users/nurse/password",
            &[("password", "a new password 1")],
        ));
        assert_eq!(ans.status, StatusCode::SEE_OTHER, "{kind}: {}", ans.body);
        assert!(
            !rt.block_on(accepted(&nurse)),
            "{kind}: after a password change"
        );
        // The new password logs in; the old one does not.
        let (ans, _) = rt.block_on(try_login(&b, "nurse", "nurse-demo-pw"));
        assert_eq!(ans.status, StatusCode::UNAUTHORIZED, "{kind}");
        let renewed = rt.block_on(login(&b, "nurse", "a new password 1"));
        assert!(rt.block_on(accepted(&renewed)), "{kind}");
        // Revoking the monitor's role (on A) ends the monitor's sessions.
        let ans = rt.block_on(admin.post(
            "/t/il2-sle/admin/roles/revoke",
            &[("user", "monitor"), ("role", "monitor"), ("confirm", "yes")],
        ));
        assert_eq!(ans.status, StatusCode::SEE_OTHER, "{kind}: {}", ans.body);
        assert!(
            !rt.block_on(accepted(&monitor)),
            "{kind}: after a role revocation"
        );
        // Others are untouched.
        assert!(rt.block_on(accepted(&admin)), "{kind}");
        assert!(rt.block_on(accepted(&assessor)), "{kind}");
        drop((a, b, app_a, app_b));
    }
}

#[test]
fn sessions_end_when_idle_and_when_old() {
    let rt = runtime();
    for db in databases("timeout") {
        let kind = db.kind;
        let clock = Arc::new(AtomicI64::new(0));
        let (a, app_a) = instance(&db.url, &clock);
        let (b, app_b) = instance(&db.url, &clock);
        // Idle: used just before the timeout it lives on; left idle for the
        // whole timeout it ends.
        let idle = rt.block_on(demo_login(&a, "nurse"));
        advance(
            &clock,
            Duration::minutes(IDLE_TIMEOUT_MINUTES) - Duration::seconds(1),
        );
        assert!(rt.block_on(accepted(&on(&idle, &b))), "{kind}");
        advance(&clock, Duration::minutes(IDLE_TIMEOUT_MINUTES));
        assert!(!rt.block_on(accepted(&idle)), "{kind}: idle");
        // Old: kept busy (a request every 90 minutes, on either instance)
        // it still ends SESSION_HOURS after login.
        let busy = rt.block_on(demo_login(&a, "nurse"));
        let mut used = Duration::zero();
        let mut turn = 0;
        while used + Duration::minutes(90) < Duration::hours(SESSION_HOURS) {
            advance(&clock, Duration::minutes(90));
            used += Duration::minutes(90);
            let here = if turn % 2 == 0 { &a } else { &b };
            assert!(rt.block_on(accepted(&on(&busy, here))), "{kind}: at {used}");
            turn += 1;
        }
        advance(&clock, Duration::hours(SESSION_HOURS) - used);
        assert!(!rt.block_on(accepted(&busy)), "{kind}: past the lifetime");
        drop((a, b, app_a, app_b));
    }
}
