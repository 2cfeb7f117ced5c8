//! Server-rendered pages, one module per page family. Every page about a
//! trial is rendered from the user's view (`TrialState::view`,
//! `TrialState::view_event`); every write is a `rct_record::Command`
//! checked by `TrialState::check`. The preamble every trial page shares
//! (the logged-in user, the trial of the path, the user's access to it on
//! the blocking pool) is the [`TrialReq`] extractor.

mod admin;
mod audit;
mod dashboard;
mod forms;
mod login;
mod participant;
mod queries;
mod screening;

pub use admin::*;
pub use audit::*;
pub use dashboard::*;
pub use forms::*;
pub use login::*;
pub use participant::*;
pub use queries::*;
pub use screening::*;

use std::collections::BTreeMap;

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use rct_core::protocol::Protocol;
use rct_record::{Action, Role};

use crate::commands::Who;
use crate::html::{csrf, page, TrialNav, CSS, JS};
use crate::{Access, App, AppState, CurrentUser, WebError};

type Input = Form<BTreeMap<String, String>>;
type PageResult = Result<Response, WebError>;

fn field<'a>(input: &'a BTreeMap<String, String>, name: &str) -> &'a str {
    input.get(name).map_or("", |s| s.trim())
}

fn redirect(to: &str) -> Response {
    Redirect::to(to).into_response()
}

pub(crate) fn trial_page(a: &Access<'_>, title: &str, body: Markup) -> Response {
    let header = html! {
        p.hint { (a.view.title) " · your roles: " strong { (a.roles_text()) } }
    };
    let nav = TrialNav {
        trial: &a.view.trial,
        screen: a.may(Action::Screen),
        queries: a.may(Action::RaiseQuery)
            || a.may(Action::AnswerQuery)
            || a.may(Action::CloseQuery),
        lock: a.may(Action::Lock) || a.may(Action::Unlock),
        admin: a.may(Action::GrantRole),
        governance: a.may(Action::FinaliseSap)
            || a.may(Action::RequestUnblinding)
            || a.may(Action::ApproveUnblinding),
        dmc: a.holds(&[Role::Dmc]),
    };
    page(title, Some(&a.user), Some(&nav), html! { (header) (body) }).into_response()
}

fn open_queries(a: &Access<'_>) -> usize {
    a.view
        .queries
        .iter()
        .filter(|q| q.status != rct_record::QueryStatus::Closed)
        .count()
}

// ---- static -----------------------------------------------------------------

pub async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response()
}

pub async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        JS,
    )
        .into_response()
}

fn criteria_table(protocol: &Protocol, results: &[(String, String)]) -> Markup {
    html! {
        table {
            caption { "Criteria" }
            thead { tr { th scope="col" { "Criterion" } th scope="col" { "Text" } th scope="col" { "Result" } } }
            tbody { @for c in &protocol.criteria {
                @let id = c.id.get_ref();
                @let r = results.iter().find(|(k, _)| k == id).map_or("unknown", |(_, r)| r.as_str());
                tr {
                    td { (id) " " span.hint { (format!("{:?}", c.kind).to_lowercase()) } }
                    td { (c.text) }
                    td id={"crit-" (id)} class=(r) aria-live="polite" { (r.replace('_', " ")) }
                }
            } }
        }
    }
}

/// The form raising a query on `pid`: on a field chosen from `fields`
/// (`visit/form/field` and label) when given, else on an item typed in.
fn raise_query_form(
    user: &CurrentUser,
    trial: &str,
    pid: &str,
    fields: Option<&[(String, String)]>,
) -> Markup {
    html! {
        form method="post" action={"/t/" (trial) "/queries"} {
            (csrf(user))
            input type="hidden" name="participant" value=(pid);
            @if let Some(fields) = fields {
                label for="q-item" { "Field" }
                select id="q-item" name="item" {
                    @for (item, label) in fields { option value=(item) { (label) } }
                    option value="" { "The participant as a whole" }
                }
            } @else {
                label for="q-item" { "Item " span.hint { "visit/form/field, optional" } }
                input id="q-item" name="item";
            }
            label for="q-text" { "Question" }
            textarea id="q-text" name="text" rows="2" cols="60" required {}
            p { button type="submit" { "Raise query" } }
        }
    }
}

/// The preamble of every trial page: the logged-in user (a visitor without
/// a session is sent to the login page) and the trial named by the path
/// (`/t/{trial}/...`). [`TrialReq::run`] then gives the handler's body the
/// user's [`Access`] to the trial on the blocking pool, and
/// [`TrialReq::acting`] also the actor for one action (refused when no
/// role held permits it).
pub struct TrialReq {
    state: AppState,
    /// The logged-in user.
    pub user: CurrentUser,
    /// The trial of the path.
    pub trial: String,
}

impl axum::extract::FromRequestParts<AppState> for TrialReq {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Response> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        let Path(params) = Path::<BTreeMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let trial = params
            .get("trial")
            .cloned()
            .ok_or_else(|| WebError::NotFound("no trial in the path".into()).into_response())?;
        Ok(TrialReq {
            state: state.clone(),
            user,
            trial,
        })
    }
}

impl TrialReq {
    /// Runs `f` with the user's access to the whole trial.
    pub async fn run<T, F>(self, f: F) -> Result<T, WebError>
    where
        T: Send + 'static,
        F: FnOnce(&App, &Access<'_>) -> Result<T, WebError> + Send + 'static,
    {
        let TrialReq { state, user, trial } = self;
        App::run(&state, move |app| f(app, &app.access(&user, &trial)?)).await
    }

    /// Runs `f` with the user's access scoped to participant `pid`, which
    /// must be one the user may see ("not found" otherwise).
    pub async fn run_for<T, F>(self, pid: &str, f: F) -> Result<T, WebError>
    where
        T: Send + 'static,
        F: FnOnce(&App, &Access<'_>) -> Result<T, WebError> + Send + 'static,
    {
        let TrialReq { state, user, trial } = self;
        let pid = pid.to_string();
        App::run(&state, move |app| {
            let a = app.access_to(&user, &trial, &pid)?;
            a.participant(&pid)?;
            f(app, &a)
        })
        .await
    }

    /// Runs `f` with the user's access to the whole trial and the actor
    /// for `action` (with `reason`).
    pub async fn acting<T, F>(
        self,
        action: Action,
        reason: Option<String>,
        f: F,
    ) -> Result<T, WebError>
    where
        T: Send + 'static,
        F: FnOnce(&App, &Access<'_>, Who) -> Result<T, WebError> + Send + 'static,
    {
        self.run(move |app, a| {
            let who = a.who(app, action, reason)?;
            f(app, a, who)
        })
        .await
    }
}
