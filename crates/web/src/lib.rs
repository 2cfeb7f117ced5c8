//! `rct-web`: the web application behind `rct serve`.
//!
//! Server-rendered pages (maud: HTML checked at compile time, every
//! interpolation escaped) and a JSON API under `/api/`, both built from one
//! route table ([`routes::ROUTES`]) that also produces the OpenAPI document and
//! drives the blinding test. Every page and answer about a trial is rendered
//! from the role's view of the trial state (a blinded role's view has no arm);
//! every write goes through the ledger's command loop.
//!
//! The store is synchronous (SQLite, PostgreSQL's blocking client), so each
//! handler runs its body on tokio's blocking pool ([`App::run`]).

pub mod accounts;
mod api;
pub mod auth;
mod capture;
mod commands;
pub mod demo;
mod entry;
mod error;
mod governance;
mod html;
mod leaving;
mod notices;
pub mod ops;
mod pages;
pub mod routes;
pub mod throttle;
mod unblinding;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Router;
use chrono::{DateTime, Utc};
use rct_core::protocol::Protocol;
use rct_record::view::{ParticipantView, TrialView};
use rct_record::{Action, Role, Sites, TrialState};
use rct_store::{Ledger, Store};

pub use auth::{Passwords, Sessions};
pub use commands::Who;
pub use error::WebError;
pub use throttle::{Throttle, ThrottleConfig};

/// Participants per page of a list (pages and the JSON API).
pub const PAGE_SIZE: usize = 100;

/// The software this build is, as every event it writes records it:
/// `rct VERSION (git COMMIT)`, the commit read by `build.rs` when the build
/// was made in a git checkout, else `unknown`. The command line and the web
/// application (one workspace version) both name it.
pub const SOFTWARE: &str = concat!(
    "rct ",
    env!("CARGO_PKG_VERSION"),
    " (git ",
    env!("RCT_GIT_COMMIT"),
    ")"
);

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "rct_session";
/// Name of the cookie carrying the login form's CSRF token (before a session exists).
pub const LOGIN_COOKIE: &str = "rct_login";
/// Header a JSON POST carries its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Largest request body accepted.
pub const MAX_BODY: usize = 256 * 1024;

/// A clock: the only place the server learns the time.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The wall clock (the server is an edge; domain code takes time as a parameter).
#[allow(clippy::disallowed_methods)]
pub fn wall_clock() -> Clock {
    Arc::new(Utc::now)
}

/// Everything a request may need.
pub struct App {
    /// The event store with its command loop.
    pub ledger: Ledger<Box<dyn Store>>,
    /// Protocols offered for registration (`--bootstrap-admin` registers
    /// those the database does not hold yet), by trial id. A registered
    /// trial is served with the protocol its record holds, never with
    /// these.
    pub protocols: BTreeMap<String, Protocol>,
    /// Password hashing.
    pub passwords: Passwords,
    /// The session rules (idle timeout, lifetime); the sessions are in
    /// the store.
    pub sessions: Sessions,
    /// Delays after failed logins, per user name and per client address
    /// (replace it to change the schedule, e.g. in tests).
    pub throttle: Throttle,
    /// The clock.
    pub clock: Clock,
    /// Whether cookies carry `Secure` (on by default; browsers accept it on loopback).
    pub secure_cookies: bool,
    /// Protocol files' text by trial id, where the caller has it: a trial
    /// registered by [`demo::bootstrap`] keeps its protocol text in the
    /// record (as `rct trial create` does), so the command line's `rct
    /// trial` and `rct analyse --db` work on the same database.
    pub protocol_texts: BTreeMap<String, String>,
    /// Whole-trial views by (trial, user), each with the event it was
    /// built at: a view is a pure function of the state and the user, so
    /// it is reused until the next event.
    views: std::sync::Mutex<ViewCache>,
}

/// Whole-trial views by (trial, user): the event sequence number each was
/// built at, and the view.
type ViewCache = BTreeMap<(String, String), (u64, Arc<TrialView>)>;

/// Shared handle on the [`App`].
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

impl App {
    /// Builds the application over a store.
    pub fn new(
        store: Box<dyn Store>,
        protocols: Vec<Protocol>,
        passwords: Passwords,
        clock: Clock,
    ) -> App {
        App {
            ledger: Ledger::new(store),
            protocols: protocols
                .into_iter()
                .map(|p| (p.trial.id.get_ref().clone(), p))
                .collect(),
            passwords,
            sessions: Sessions::default(),
            throttle: Throttle::default(),
            clock,
            secure_cookies: true,
            protocol_texts: BTreeMap::new(),
            views: std::sync::Mutex::default(),
        }
    }

    /// Now, by the application's clock.
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// Trials registered in the store with their protocol in the record.
    pub fn trial_ids(&self) -> Result<Vec<String>, WebError> {
        let stored = self.ledger.store().trials()?;
        let mut out = Vec::new();
        for t in stored {
            if self.protocol(&t).is_ok() {
                out.push(t);
            }
        }
        Ok(out)
    }

    /// The protocol of `trial`, as its record holds it (registered with
    /// the trial, parsed when the registration is folded).
    pub fn protocol(&self, trial: &str) -> Result<Arc<Protocol>, WebError> {
        let state = self.ledger.state(trial)?;
        state
            .config
            .as_ref()
            .and_then(|c| c.protocol.as_ref())
            .map(|p| p.0.clone())
            .ok_or_else(|| WebError::NotFound(format!("no trial `{trial}`")))
    }

    /// What `user` may see and do in `trial`: its grants, the state and
    /// its view. A user without a grant gets "not found", so that trials one
    /// has no part in are not even confirmed to exist.
    pub fn access(&self, user: &CurrentUser, trial: &str) -> Result<Access<'_>, WebError> {
        self.access_scoped(user, trial, None)
    }

    /// [`App::access`] for a request about one participant: the view's
    /// participant list holds only `pid` (if the user may see it), which
    /// keeps such a request's cost independent of the trial's size.
    pub fn access_to(
        &self,
        user: &CurrentUser,
        trial: &str,
        pid: &str,
    ) -> Result<Access<'_>, WebError> {
        self.access_scoped(user, trial, Some(pid))
    }

    fn access_scoped(
        &self,
        user: &CurrentUser,
        trial: &str,
        only: Option<&str>,
    ) -> Result<Access<'_>, WebError> {
        let state = self.ledger.state(trial)?;
        let protocol = state
            .config
            .as_ref()
            .and_then(|c| c.protocol.as_ref())
            .map(|p| p.0.clone())
            .ok_or_else(|| WebError::NotFound(format!("no trial `{trial}`")))?;
        let grants: Vec<(Role, Sites)> = state
            .grants
            .get(&user.name)
            .map(|g| g.iter().map(|(r, s)| (*r, s.clone())).collect())
            .unwrap_or_default();
        if state.config.is_none() || grants.is_empty() {
            return Err(WebError::NotFound(format!("no trial `{trial}`")));
        }
        let view = match only {
            Some(pid) => Arc::new(state.view_scoped(&user.name, Some(pid))),
            None => self.whole_view(&state, &user.name),
        };
        Ok(Access {
            user: user.clone(),
            grants,
            state,
            protocol,
            _request: std::marker::PhantomData,
            view,
        })
    }

    /// The whole view of `state` for `user`, from the cache when no event
    /// has been written since it was built.
    fn whole_view(&self, state: &TrialState, user: &str) -> Arc<TrialView> {
        let key = (state.trial.clone(), user.to_string());
        if let Ok(views) = self.views.lock() {
            if let Some((seq, view)) = views.get(&key) {
                if *seq == state.seq {
                    return view.clone();
                }
            }
        }
        let view = Arc::new(state.view(user));
        if let Ok(mut views) = self.views.lock() {
            let newer = views.get(&key).is_none_or(|(seq, _)| *seq < state.seq);
            if newer {
                views.insert(key, (state.seq, view.clone()));
            }
        }
        view
    }

    /// Runs a blocking piece of work (store access, password hashing) on
    /// the blocking pool.
    pub async fn run<T, F>(state: &AppState, f: F) -> Result<T, WebError>
    where
        T: Send + 'static,
        F: FnOnce(&App) -> Result<T, WebError> + Send + 'static,
    {
        let app = state.0.clone();
        tokio::task::spawn_blocking(move || f(&app))
            .await
            .map_err(|e| WebError::Internal(format!("worker: {e}")))?
    }
}

impl AppState {
    /// The logged-in user of a session token, looked up in the store on
    /// the blocking pool (`None`: no such live session).
    pub async fn session(&self, token: String) -> Result<Option<CurrentUser>, WebError> {
        App::run(self, move |app| {
            let found = app.sessions.get(app.ledger.store(), &token, app.now())?;
            Ok(found.map(|s| CurrentUser {
                name: s.user,
                csrf: s.csrf,
                token,
            }))
        })
        .await
    }
}

/// A user's standing in one trial for one request.
pub struct Access<'a> {
    /// The user.
    pub user: CurrentUser,
    /// Roles held, with their sites.
    pub grants: Vec<(Role, Sites)>,
    /// The trial state: for checks only, never rendered.
    state: Arc<TrialState>,
    /// The protocol, from the record.
    pub protocol: Arc<Protocol>,
    /// Ties the access to the request that made it.
    _request: std::marker::PhantomData<&'a ()>,
    /// The user's view of the trial: what pages and answers are built from.
    pub view: Arc<TrialView>,
}

impl Access<'_> {
    /// Whether the user holds one of `roles`.
    pub fn holds(&self, roles: &[Role]) -> bool {
        self.grants.iter().any(|(r, _)| roles.contains(r))
    }

    /// The first role held that may take `action`.
    pub fn role_for(&self, action: Action) -> Option<Role> {
        self.grants
            .iter()
            .map(|(r, _)| *r)
            .find(|r| action.permits(*r))
    }

    /// Whether the user may take `action` at all.
    pub fn may(&self, action: Action) -> bool {
        self.role_for(action).is_some()
    }

    /// The actor for `action` (refused when no role held permits it).
    pub fn who(&self, app: &App, action: Action, reason: Option<String>) -> Result<Who, WebError> {
        let role = self.role_for(action).ok_or_else(|| {
            WebError::Forbidden(format!(
                "none of your roles ({}) may {}",
                self.roles_text(),
                action.describe()
            ))
        })?;
        Ok(Who {
            actor: rct_record::Actor::new(&self.user.name, role, None).running(SOFTWARE),
            at: app.now(),
            reason: reason.filter(|r| !r.trim().is_empty()),
        })
    }

    /// The user's roles as text.
    pub fn roles_text(&self) -> String {
        self.grants
            .iter()
            .map(|(r, s)| match s {
                Sites::All => format!("{r} (all sites)"),
                Sites::Only(l) => format!("{r} ({})", l.join(", ")),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A participant of the view (participants of sites not granted are
    /// "not found", so their existence is not confirmed).
    pub fn participant(&self, pid: &str) -> Result<&ParticipantView, WebError> {
        self.view
            .participants
            .iter()
            .find(|p| p.id == pid)
            .ok_or_else(|| WebError::NotFound(format!("no participant `{pid}`")))
    }

    /// The audit-trail entries of `events` the user may read.
    pub fn audit(&self, events: &[rct_record::Event]) -> Vec<serde_json::Value> {
        events
            .iter()
            .filter_map(|e| self.state.view_event(e, &self.user.name))
            .collect()
    }

    /// The number of events in the record.
    pub fn seq(&self) -> u64 {
        self.state.seq
    }

    /// The trial's registration (the record's checks read it).
    pub fn config(&self) -> Result<&rct_record::TrialConfig, WebError> {
        self.state
            .config
            .as_ref()
            .ok_or_else(|| WebError::NotFound(format!("no trial `{}`", self.state.trial)))
    }

    /// The stratum levels the record reads for `pid` from its screening
    /// facts, or why it cannot (shown read-only on the randomise page).
    pub fn strata(&self, pid: &str) -> Result<BTreeMap<String, String>, String> {
        let config = self.config().map_err(|e| e.to_string())?;
        let p = self
            .state
            .participants
            .get(pid)
            .ok_or_else(|| format!("no participant `{pid}`"))?;
        let mut strata = rct_record::strata_of(config, p).map_err(|e| e.to_string())?;
        if let (Some(site), Ok(d)) = (&p.site, config.trial_design()) {
            if d.stratify_by.iter().any(|f| f == "site") || d.minimise_on.contains_key("site") {
                strata.insert("site".into(), site.clone());
            }
        }
        Ok(strata)
    }

    /// The record's soft-range warnings for `commands`.
    pub fn warnings(&self, commands: &[rct_record::Command]) -> Vec<String> {
        self.state.warnings(commands)
    }
}

/// The logged-in user of a request.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// Name.
    pub name: String,
    /// The session's CSRF token (put into every form).
    pub csrf: String,
    /// Session token.
    pub token: String,
}

/// Reads a cookie from the request headers.
pub fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let api = parts.uri.path().starts_with("/api/");
        let found = match cookie(&parts.headers, SESSION_COOKIE) {
            Some(token) => state.session(token).await,
            None => Ok(None),
        };
        match found {
            Ok(Some(u)) => Ok(u),
            Ok(None) if api => Err(WebError::Unauthenticated.into_api_response()),
            Ok(None) => Err(Redirect::to("/login").into_response()),
            Err(e) if api => Err(e.into_api_response()),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// The peer address of the request's connection, when the server was
/// started with it ([`serve`] is; a router driven directly, as in tests,
/// may add `ConnectInfo<SocketAddr>` to a request's extensions). Behind a
/// reverse proxy this is the proxy's address.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<std::net::SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}

/// Every POST must carry the CSRF token of its session (form field `csrf`,
/// or the `X-CSRF-Token` header for JSON), or for the login form the token
/// of the login cookie. Anything else is refused with 403 before a handler
/// sees it.
pub async fn csrf_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let expected = if parts.uri.path() == "/login" {
        cookie(&parts.headers, LOGIN_COOKIE)
    } else {
        match cookie(&parts.headers, SESSION_COOKIE) {
            Some(token) => match state.session(token).await {
                Ok(found) => found.map(|u| u.csrf),
                Err(e) if parts.uri.path().starts_with("/api/") => return e.into_api_response(),
                Err(e) => return e.into_response(),
            },
            None => None,
        }
    };
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response();
    };
    let given = parts
        .headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            let form: Vec<(String, String)> = serde_urlencoded_pairs(&bytes);
            form.into_iter().find(|(k, _)| k == "csrf").map(|(_, v)| v)
        });
    let ok = match (&expected, &given) {
        (Some(e), Some(g)) => !e.is_empty() && auth::constant_time_eq(e, g),
        _ => false,
    };
    if !ok {
        let api = parts.uri.path().starts_with("/api/");
        let err = WebError::Csrf;
        return if api {
            err.into_api_response()
        } else {
            err.into_response()
        };
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn serde_urlencoded_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(bytes).unwrap_or_default()
}

/// Security headers on every answer.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: &'static str, v: &'static str| {
        h.insert(
            axum::http::HeaderName::from_static(k),
            axum::http::HeaderValue::from_static(v),
        );
    };
    set(
        h,
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; form-action 'self'",
    );
    set(h, "x-content-type-options", "nosniff");
    set(h, "referrer-policy", "no-referrer");
    set(h, "x-frame-options", "DENY");
    set(h, "cache-control", "no-store");
    res
}

/// The whole application: every route of [`routes::ROUTES`] plus the CSRF
/// guard and security headers.
pub fn router(state: AppState) -> Router {
    let mut r: Router<AppState> = Router::new();
    for route in routes::ROUTES {
        r = r.route(route.path, (route.handler)());
    }
    r.fallback(|| async { WebError::NotFound("no such page".into()) })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            csrf_guard,
        ))
        .layer(axum::middleware::from_fn(security_headers))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ops::log_requests,
        ))
        .with_state(state)
}

/// Opens the event store a URL names (`memory:`, `sqlite:PATH`,
/// `postgres://...`).
pub fn open_store(url: &str) -> Result<Box<dyn Store>, WebError> {
    rct_store::open(url).map_err(WebError::from)
}

/// Serves the application on `addr` until Ctrl-C (SIGINT) or SIGTERM. Once
/// the requests in flight have finished, the ledger signs a checkpoint of
/// every head it wrote and has not signed yet ([`Ledger::checkpoint_heads`];
/// nothing without a signer); those checkpoints are returned.
pub async fn serve(
    app: App,
    addr: std::net::SocketAddr,
) -> std::io::Result<Vec<rct_record::Checkpoint>> {
    serve_then(app, addr, || {}).await
}

/// [`serve`], calling `ready` once the signal handlers are installed and
/// the socket is bound (so whatever `ready` announces, a SIGTERM sent after
/// it stops the server cleanly).
pub async fn serve_then(
    app: App,
    addr: std::net::SocketAddr,
    ready: impl FnOnce(),
) -> std::io::Result<Vec<rct_record::Checkpoint>> {
    // The signal handlers are installed before the socket is bound, so a
    // SIGTERM that arrives as soon as the server listens stops it cleanly.
    let shutdown = shutdown_signal()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    ready();
    // Said once the socket listens and SIGTERM stops the server cleanly,
    // after whatever `ready` announced (scripts and tests wait for this
    // line).
    println!("listening on http://{}", listener.local_addr()?);
    let app = Arc::new(app);
    let router = router(AppState(app.clone()));
    // With each connection's peer address, for login throttling per client.
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await?;
    tokio::task::spawn_blocking(move || app.ledger.checkpoint_heads())
        .await
        .map_err(std::io::Error::other)?
        .map_err(std::io::Error::other)
}

/// Resolves on Ctrl-C (SIGINT) or, on Unix, SIGTERM.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    Ok(async move {
        let interrupt = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let terminate = async move {
            term.recv().await;
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = interrupt => {}
            _ = terminate => {}
        }
    })
}

/// [`serve`] on a runtime of its own (for the command line).
pub fn serve_blocking(
    app: App,
    addr: std::net::SocketAddr,
) -> std::io::Result<Vec<rct_record::Checkpoint>> {
    serve_blocking_then(app, addr, || {})
}

/// [`serve_then`] on a runtime of its own.
pub fn serve_blocking_then(
    app: App,
    addr: std::net::SocketAddr,
    ready: impl FnOnce(),
) -> std::io::Result<Vec<rct_record::Checkpoint>> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve_then(app, addr, ready))
}
