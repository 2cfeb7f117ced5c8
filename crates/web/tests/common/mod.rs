//! A small client over the router (tower's `oneshot`): cookies, CSRF
//! tokens read from the pages, form and JSON posts.
#![allow(dead_code)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use rct_web::{demo, router, App, AppState, Passwords};
use tower::ServiceExt;

/// The fixed time of every test request.
pub const NOW: &str = "2026-03-01T10:00:00Z";

/// The demo application on an in-memory store, seeded, with a fixed clock
/// and cheap argon2 parameters.
pub fn demo_app() -> (Router, Arc<App>) {
    let now: chrono::DateTime<chrono::Utc> = NOW.parse().unwrap();
    let app = App::new(
        Box::new(rct_store::MemStore::new()),
        demo::seed_protocols().unwrap(),
        Passwords::new(64),
        Arc::new(move || now),
    );
    demo::seed(&app, 0).unwrap();
    let app = Arc::new(app);
    (router(AppState(app.clone())), app)
}

/// An answer.
pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
    pub set_cookies: Vec<String>,
    pub location: Option<String>,
}

pub async fn send(router: &Router, req: Request<Body>) -> Answer {
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let set_cookies = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let location = res
        .headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        set_cookies,
        location,
    }
}

fn cookie_value(set_cookies: &[String], name: &str) -> Option<String> {
    set_cookies.iter().find_map(|c| {
        let first = c.split(';').next()?;
        let (k, v) = first.split_once('=')?;
        (k == name && !v.is_empty()).then(|| v.to_string())
    })
}

/// The value of the first `name="csrf" value="..."` or the csrf meta tag.
pub fn csrf_in(body: &str) -> Option<String> {
    for marker in ["name=\"csrf-token\" content=\"", "name=\"csrf\" value=\""] {
        if let Some(i) = body.find(marker) {
            let rest = &body[i + marker.len()..];
            return rest.split('"').next().map(str::to_string);
        }
    }
    None
}

pub fn enc(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

/// A logged-in user.
pub struct Client {
    pub router: Router,
    pub user: String,
    pub cookie: String,
    pub csrf: String,
}

/// Tries to log in; the answer of the POST and the session cookie if any.
pub async fn try_login(router: &Router, user: &str, password: &str) -> (Answer, Option<String>) {
    let page = send(router, Request::get("/login").body(Body::empty()).unwrap()).await;
    let login_cookie = cookie_value(&page.set_cookies, rct_web::LOGIN_COOKIE).unwrap();
    let token = csrf_in(&page.body).unwrap();
    assert_eq!(
        login_cookie, token,
        "the login form's token is its cookie's"
    );
    let body = enc(&[("csrf", &token), ("user", user), ("password", password)]);
    let ans = send(
        router,
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(
                header::COOKIE,
                format!("{}={login_cookie}", rct_web::LOGIN_COOKIE),
            )
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    let session = cookie_value(&ans.set_cookies, rct_web::SESSION_COOKIE);
    (ans, session)
}

pub async fn login(router: &Router, user: &str, password: &str) -> Client {
    let (ans, session) = try_login(router, user, password).await;
    assert_eq!(
        ans.status,
        StatusCode::SEE_OTHER,
        "login of {user}: {}",
        ans.body
    );
    let set = ans
        .set_cookies
        .iter()
        .find(|c| c.starts_with(rct_web::SESSION_COOKIE))
        .unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Secure"),
        "{set}"
    );
    let cookie = format!("{}={}", rct_web::SESSION_COOKIE, session.unwrap());
    let mut c = Client {
        router: router.clone(),
        user: user.to_string(),
        cookie,
        csrf: String::new(),
    };
    let home = c.get("/").await;
    c.csrf = csrf_in(&home.body).unwrap();
    c
}

pub async fn demo_login(router: &Router, user: &str) -> Client {
    login(router, user, &format!("{user}-demo-pw")).await
}

impl Client {
    pub async fn get(&self, path: &str) -> Answer {
        send(
            &self.router,
            Request::get(path)
                .header(header::COOKIE, &self.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    /// Posts a form with this session's CSRF token added.
    pub async fn post(&self, path: &str, pairs: &[(&str, &str)]) -> Answer {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(pairs);
        self.post_raw(path, &enc(&all)).await
    }

    /// Posts a form body as given (no token added).
    pub async fn post_raw(&self, path: &str, body: &str) -> Answer {
        send(
            &self.router,
            Request::post(path)
                .header(header::COOKIE, &self.cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }

    /// Posts JSON with the token in the header (`None`: no header).
    pub async fn post_json(
        &self,
        path: &str,
        json: &serde_json::Value,
        token: Option<&str>,
    ) -> Answer {
        let mut req = Request::post(path)
            .header(header::COOKIE, &self.cookie)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            req = req.header(rct_web::CSRF_HEADER, t);
        }
        send(
            &self.router,
            req.body(Body::from(json.to_string())).unwrap(),
        )
        .await
    }
}
