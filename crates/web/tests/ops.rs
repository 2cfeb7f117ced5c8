//! Operations: the request log (one JSON line per request with its id,
//! method, route pattern, user, status and latency; login failures and
//! refusals as their own lines), the health endpoints, and the blinding of
//! the log: after randomisations, code-breaks and unblinded pages, no log
//! line names an arm (id or label) or a kit code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use serde_json::Value;

/// Everything logged by this test binary (one global subscriber).
fn captured() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUF.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || Sink(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        buf
    })
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn lines() -> Vec<Value> {
    let text = String::from_utf8(captured().lock().unwrap().clone()).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn raw_log() -> String {
    String::from_utf8(captured().lock().unwrap().clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_logged_and_health_endpoints_answer_and_the_log_is_blind() {
    captured();
    let (router, app) = demo_app();

    // Health: no login needed.
    let h = send(
        &router,
        Request::get("/healthz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(h.status, StatusCode::OK);
    assert!(h.body.contains("\"ok\""), "{}", h.body);
    let r = send(
        &router,
        Request::get("/readyz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(h.headers.contains_key("x-request-id"));

    // A failed login, then real activity by blinded and unblinded users.
    let (bad, _) = try_login(&router, "nurse", "not the password").await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    let nurse = demo_login(&router, "nurse").await;
    let pharmacist = demo_login(&router, "pharmacist").await;
    let physio = demo_login(&router, "physio").await;
    for (c, t) in [
        (&nurse, "lupex"),
        (&nurse, "il2-sle"),
        (&pharmacist, "il2-sle"),
        (&physio, "lupex"),
    ] {
        for path in [
            format!("/t/{t}"),
            format!("/t/{t}/participants"),
            format!("/api/trials/{t}/participants"),
        ] {
            let a = c.get(&path).await;
            assert!(!a.status.is_server_error(), "{path}: {}", a.status);
        }
    }
    // A refused command (a nurse may not lock the database).
    let refused = nurse
        .post("/t/lupex/lock", &[("reason", "end of follow-up")])
        .await;
    assert!(
        refused.status.is_client_error(),
        "{}: {}",
        refused.status,
        refused.body
    );

    let log = lines();
    // One request line per request, with every field.
    let requests: Vec<&Value> = log.iter().filter(|l| l["message"] == "request").collect();
    assert!(requests.len() >= 15, "{} request lines", requests.len());
    for l in &requests {
        for k in [
            "request_id",
            "method",
            "route",
            "user",
            "status",
            "latency_ms",
        ] {
            assert!(l.get(k).is_some(), "{k} missing in {l}");
        }
        assert_eq!(l["request_id"].as_str().unwrap().len(), 16, "{l}");
    }
    assert!(requests
        .iter()
        .any(|l| l["route"] == "/t/{trial}/participants"
            && l["user"] == "nurse"
            && l["status"] == 200));
    assert!(requests
        .iter()
        .any(|l| l["route"] == "/healthz" && l["user"] == ""));
    // Routes are patterns: no trial id or participant id in them.
    assert!(requests
        .iter()
        .all(|l| !l["route"].as_str().unwrap().contains("lupex")));
    // Request ids differ.
    let mut ids: Vec<&str> = requests
        .iter()
        .map(|l| l["request_id"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), requests.len());
    // The failed login and the refusal have their own lines.
    assert!(log
        .iter()
        .any(|l| l["message"] == "login failed" && l["level"] == "WARN"));
    assert!(log
        .iter()
        .any(|l| l["message"] == "command refused" && l["user"] == "nurse"));

    // Blinding: no arm id (whole word), arm label or kit code anywhere.
    let text = raw_log();
    let mut secrets: Vec<String> = Vec::new();
    for t in ["lupex", "il2-sle"] {
        let state = app.ledger.state(t).unwrap();
        let config = state.config.as_ref().unwrap();
        for a in &config.arms {
            secrets.push(a.id.clone());
            secrets.push(a.name.clone());
        }
        let mut randomised = 0;
        for p in state.participants.values() {
            if let Some(al) = &p.allocation {
                randomised += 1;
                if let Some(k) = &al.kit {
                    secrets.push(k.clone());
                }
            }
        }
        assert!(randomised > 0, "{t}: the demo has randomised participants");
    }
    let named = |text: &str| -> Option<String> {
        let words: Vec<&str> = text
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
            .collect();
        secrets
            .iter()
            .find(|s| {
                if s.contains(' ') {
                    text.contains(s.as_str())
                } else {
                    words.contains(&s.as_str())
                }
            })
            .cloned()
    };
    assert_eq!(named(&text), None, "the log names a secret:\n{text}");
    // The check can fail: a line that did carry an arm is caught.
    let planted = format!(
        "{text}{{\"message\":\"request\",\"arm\":\"{}\"}}\n",
        secrets[0]
    );
    assert!(named(&planted).is_some());
}
