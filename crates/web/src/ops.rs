//! Operations: one structured log line per request, login failures and
//! refusals as their own lines, and the health endpoints a load balancer
//! polls (`/healthz`: the process answers; `/readyz`: the database answers
//! and its schema is this binary's).
//!
//! Log lines go through `tracing` ([`init_logging`] installs a subscriber
//! writing JSON or text to standard error). They carry a request id, the
//! method, the route *pattern* (`/t/{trial}/participants/{pid}`, never the
//! path with its values, never a query string), the user name, the status
//! and the latency; a refusal is logged by its kind (`forbidden`,
//! `conflict`, `invalid`), never by its message, which may quote what the
//! user sent. Nothing else from a request or an answer is logged, so a
//! blinded reader of the logs learns no arm, kit code or list position.

use std::time::Instant;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::RngCore;

use crate::{App, AppState, CurrentUser};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One JSON object per line (for a log collector).
    #[default]
    Json,
    /// Human-readable lines.
    Text,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "json" => Ok(LogFormat::Json),
            "text" => Ok(LogFormat::Text),
            other => Err(format!("unknown log format `{other}`; use json or text")),
        }
    }
}

/// Installs the process's log subscriber (standard error; level from
/// `RUST_LOG`-style `filter` is not parsed: `info` and above are written).
/// Does nothing if one is installed already (tests, a second server).
pub fn init_logging(format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .with_target(false);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Text => builder.with_ansi(false).try_init(),
    };
}

/// A request id: 16 random hex digits, also sent back as `X-Request-Id`.
fn request_id() -> String {
    format!("{:016x}", rand::thread_rng().next_u64())
}

/// The kind of a refusal, from its status (the message is not logged).
fn refusal(status: StatusCode) -> Option<&'static str> {
    match status {
        StatusCode::FORBIDDEN => Some("forbidden"),
        StatusCode::CONFLICT => Some("conflict"),
        StatusCode::UNPROCESSABLE_ENTITY => Some("invalid"),
        _ => None,
    }
}

/// Middleware: logs one line per request (and one per login failure or
/// refused command), and sets `X-Request-Id` on the answer. (The latency is
/// measured with the monotonic clock: an edge, outside any domain logic.)
#[allow(clippy::disallowed_methods)]
pub async fn log_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(no route)".to_string(), |p| p.as_str().to_string());
    let (mut parts, body) = req.into_parts();
    let user = CurrentUser::from_request_parts(&mut parts, &state)
        .await
        .map(|u| u.name)
        .unwrap_or_default();
    let mut res = next.run(Request::from_parts(parts, body)).await;
    let status = res.status();
    let latency_ms = started.elapsed().as_secs_f64() * 1e3;
    let method_text = method.as_str();
    if method == Method::POST && route.ends_with("/login") {
        match status {
            StatusCode::UNAUTHORIZED => {
                tracing::warn!(request_id = %id, route = %route, "login failed")
            }
            StatusCode::TOO_MANY_REQUESTS => {
                tracing::warn!(request_id = %id, route = %route, "login refused: throttled")
            }
            _ => {}
        }
    } else if method == Method::POST {
        if let Some(kind) = refusal(status) {
            tracing::info!(request_id = %id, route = %route, user = %user, kind, "command refused");
        }
    }
    if status.is_server_error() {
        tracing::error!(
            request_id = %id,
            method = method_text,
            route = %route,
            user = %user,
            status = status.as_u16(),
            latency_ms,
            "request failed"
        );
    } else {
        tracing::info!(
            request_id = %id,
            method = method_text,
            route = %route,
            user = %user,
            status = status.as_u16(),
            latency_ms,
            "request"
        );
    }
    if let Ok(v) = id.parse() {
        res.headers_mut().insert("x-request-id", v);
    }
    res
}

/// `GET /healthz`: the process is up and answering.
pub async fn healthz() -> Response {
    Json(serde_json::json!({ "status": "ok" })).into_response()
}

/// `GET /readyz`: the database answers and its schema is the one this
/// binary writes (503 otherwise; the reason goes to the log, not to the
/// unauthenticated caller, as it may name the database's host).
pub async fn readyz(State(state): State<AppState>) -> Response {
    let app = state.0.clone();
    let checked = tokio::task::spawn_blocking(move || ready(&app)).await;
    match checked {
        Ok(Ok(())) => Json(serde_json::json!({ "status": "ready" })).into_response(),
        Ok(Err(why)) => {
            tracing::warn!(reason = %why, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "unavailable" })),
            )
                .into_response()
        }
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

fn ready(app: &App) -> Result<(), String> {
    app.ledger.store().check_ready().map_err(|e| e.to_string())
}
