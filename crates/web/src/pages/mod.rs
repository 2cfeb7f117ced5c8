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
mod monitoring;
mod participant;
mod queries;
mod screening;

pub use admin::*;
pub use audit::*;
pub use dashboard::*;
pub use forms::*;
pub use login::*;
pub use monitoring::*;
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

/// A page's form input.
pub(crate) type Input = Form<BTreeMap<String, String>>;
/// A page's answer.
pub(crate) type PageResult = Result<Response, WebError>;

/// A form field as typed, trimmed (empty when absent).
pub(crate) fn field<'a>(input: &'a BTreeMap<String, String>, name: &str) -> &'a str {
    input.get(name).map_or("", |s| s.trim())
}

/// A 303 to `to`.
pub(crate) fn redirect(to: &str) -> Response {
    Redirect::to(to).into_response()
}

pub(crate) fn trial_page(a: &Access<'_>, title: &str, body: Markup) -> Response {
    let header = html! {
        p.hint { (a.view.title) " · your roles: " strong { (roles_text(a)) } }
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

/// The user's roles with the protocol's labels and their sites.
pub(crate) fn roles_text(a: &Access<'_>) -> String {
    a.grants
        .iter()
        .map(|(r, s)| {
            let sites = match s {
                rct_record::Sites::All => "all sites".to_string(),
                rct_record::Sites::Only(l) => l.join(", "),
            };
            format!("{} ({sites})", role_label(&a.protocol, *r))
        })
        .collect::<Vec<_>>()
        .join(", ")
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

/// What a criterion's result means for eligibility: `fits` (an
/// inclusion met, an exclusion not met), `excludes` (an inclusion not met,
/// an exclusion met), else the result itself (`unknown`, `not_applicable`).
fn criterion_meaning(kind: rct_core::protocol::CriterionKind, result: &str) -> &'static str {
    use rct_core::protocol::CriterionKind::{Exclusion, Inclusion};
    match (kind, result) {
        (Inclusion, "met") | (Exclusion, "not_met") => "fits",
        (Inclusion, "not_met") | (Exclusion, "met") => "excludes",
        (_, "not_applicable") => "not_applicable",
        _ => "unknown",
    }
}

/// The words shown for a criterion's result, with what it means.
fn criterion_words(kind: rct_core::protocol::CriterionKind, result: &str) -> String {
    let r = result.replace('_', " ");
    match criterion_meaning(kind, result) {
        "fits" => format!("{r} (fits)"),
        "excludes" => format!("{r} (excludes)"),
        _ => r,
    }
}

/// The screening criteria with each result coloured by what it means (red:
/// it excludes the person), and a summary of why a person is excluded.
fn criteria_table(protocol: &Protocol, results: &[(String, String)]) -> Markup {
    let result = |id: &str| {
        results
            .iter()
            .find(|(k, _)| k == id)
            .map_or("unknown", |(_, r)| r.as_str())
            .to_string()
    };
    let excluding: Vec<&rct_core::protocol::Criterion> = protocol
        .criteria
        .iter()
        .filter(|c| criterion_meaning(c.kind, &result(c.id.get_ref())) == "excludes")
        .collect();
    html! {
        p #why-excluded aria-live="polite" {
            @if !excluding.is_empty() {
                strong.bad { "Excluded because: " }
                @for (i, c) in excluding.iter().enumerate() {
                    @if i > 0 { "; " }
                    (c.id.get_ref()) " " (if c.kind == rct_core::protocol::CriterionKind::Exclusion { "(exclusion met)" } else { "(inclusion not met)" }) ": " (c.text)
                }
            }
        }
        div.scroll {
        table {
            caption { "Criteria" }
            thead { tr { th scope="col" { "Criterion" } th scope="col" { "Text" } th scope="col" { "Result" } } }
            tbody { @for c in &protocol.criteria {
                @let id = c.id.get_ref();
                @let r = result(id);
                @let kind = format!("{:?}", c.kind).to_lowercase();
                tr {
                    td { (id) " " span.hint { (kind) } }
                    td #{"crit-text-" (id)} { (c.text) }
                    td id={"crit-" (id)} class=(criterion_meaning(c.kind, &r)) data-kind=(kind) aria-live="polite" { (criterion_words(c.kind, &r)) }
                }
            } }
        }
        }
    }
}

/// `n` and the noun, singular for one: "1 day", "2 days".
fn plural(n: i64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The protocol's label of a role (its `[[roles]]` label), else the role
/// in words.
pub(crate) fn role_label(protocol: &Protocol, role: Role) -> String {
    // The protocol names the administrator `administrator`.
    let id = match role {
        Role::Admin => "administrator",
        r => r.as_str(),
    };
    protocol
        .roles
        .iter()
        .find(|r| r.id.get_ref() == id)
        .and_then(|r| r.label.clone())
        .unwrap_or_else(|| {
            let s = id.replace('_', " ");
            let mut c = s.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
}

/// A visit's label from the protocol (the id when it has none, or for the
/// pseudo-visit `intervention`).
pub(crate) fn visit_label(protocol: &Protocol, visit: &str) -> String {
    match protocol.visits.iter().find(|v| v.id.get_ref() == visit) {
        Some(v) => v.label.clone(),
        None if visit == "intervention" => "Intervention".into(),
        None => visit.to_string(),
    }
}

/// A query's item (`visit/form/field`) in words: the visit's, form's and
/// field's labels from the protocol.
pub(crate) fn item_label(protocol: &Protocol, item: Option<&str>) -> String {
    let Some(item) = item else {
        return "the participant".into();
    };
    let mut parts = item.splitn(3, '/');
    let (Some(v), Some(f), Some(fld)) = (parts.next(), parts.next(), parts.next()) else {
        return item.to_string();
    };
    let Some(form) = protocol.form(f) else {
        return item.to_string();
    };
    let field = form
        .fields
        .iter()
        .find(|x| x.id.get_ref() == fld)
        .map_or_else(|| fld.to_string(), |x| x.label.clone());
    format!("{} · {} · {}", visit_label(protocol, v), form.label, field)
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
/// role held permits it). A refusal (403, 409, 422) is answered with a
/// page that keeps the trial's menu, says why in words, shows what was
/// typed ([`TrialReq::keep`]) and links back to the page it came from.
pub struct TrialReq {
    state: AppState,
    /// The logged-in user.
    pub user: CurrentUser,
    /// The trial of the path.
    pub trial: String,
    /// The page the request came from (same site, path only).
    back: Option<String>,
    /// What was typed, shown again on a refusal.
    kept: Vec<(String, String)>,
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
        // The page the request came from: the same path when a page is
        // shown there, else the nearest page above it (pages send no
        // Referer: the referrer policy is `no-referrer`).
        let back = Some(back_page(parts.uri.path()));
        Ok(TrialReq {
            state: state.clone(),
            user,
            trial,
            back,
            kept: Vec::new(),
        })
    }
}

/// The page a form posted to `path` came from: `path` itself when a page
/// (a GET route of the route table) is shown there, else the nearest path
/// above it that shows one.
fn back_page(path: &str) -> String {
    let matches = |pattern: &str, p: &str| {
        let (a, b): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), p.split('/').collect());
        a.len() == b.len()
            && a.iter()
                .zip(&b)
                .all(|(x, y)| x == y || (x.starts_with('{') && x.ends_with('}')))
    };
    let mut p = path.trim_end_matches('/').to_string();
    loop {
        if crate::routes::ROUTES
            .iter()
            .any(|r| r.method == "GET" && !r.path.starts_with("/api/") && matches(r.path, &p))
        {
            return p;
        }
        match p.rfind('/') {
            Some(0) | None => return "/".into(),
            Some(i) => p.truncate(i),
        }
    }
}

/// Form fields never shown again (secrets and the form's token).
const NOT_KEPT: &[&str] = &["csrf", "password", "password_again", "current_password"];

impl TrialReq {
    /// Keeps what was typed on the form, to show it again if refused.
    pub fn keep(mut self, input: &BTreeMap<String, String>) -> Self {
        self.kept = input
            .iter()
            .filter(|(k, v)| !NOT_KEPT.contains(&k.as_str()) && !v.trim().is_empty())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self
    }

    /// Runs `f` with the user's access to the whole trial.
    pub async fn run<F>(self, f: F) -> PageResult
    where
        F: FnOnce(&App, &Access<'_>) -> PageResult + Send + 'static,
    {
        let TrialReq {
            state,
            user,
            trial,
            back,
            kept,
        } = self;
        App::run(&state, move |app| {
            let a = app.access(&user, &trial)?;
            refusal_page(&a, f(app, &a), back.as_deref(), &kept)
        })
        .await
    }

    /// Runs `f` with the user's access scoped to participant `pid`, which
    /// must be one the user may see ("not found" otherwise).
    pub async fn run_for<F>(self, pid: &str, f: F) -> PageResult
    where
        F: FnOnce(&App, &Access<'_>) -> PageResult + Send + 'static,
    {
        let TrialReq {
            state,
            user,
            trial,
            back,
            kept,
        } = self;
        let pid = pid.to_string();
        App::run(&state, move |app| {
            let a = app.access_to(&user, &trial, &pid)?;
            a.participant(&pid)?;
            refusal_page(&a, f(app, &a), back.as_deref(), &kept)
        })
        .await
    }

    /// Runs `f` with the user's access to the whole trial and the actor
    /// for `action` (with `reason`).
    pub async fn acting<F>(self, action: Action, reason: Option<String>, f: F) -> PageResult
    where
        F: FnOnce(&App, &Access<'_>, Who) -> PageResult + Send + 'static,
    {
        self.run(move |app, a| {
            let who = a.who(app, action, reason)?;
            f(app, a, who)
        })
        .await
    }
}

/// A refusal (403, 409, 422) as a page of the trial: its menu, the reason
/// in words, what was typed and a way back. Other results pass through.
fn refusal_page(
    a: &Access<'_>,
    result: PageResult,
    back: Option<&str>,
    kept: &[(String, String)],
) -> PageResult {
    let e = match result {
        Err(e @ (WebError::BadRequest(_) | WebError::Conflict(_) | WebError::Forbidden(_))) => e,
        other => return other,
    };
    let status = e.status();
    let (title, lead) = match e {
        WebError::Conflict(_) => ("Not possible now", "The trial's state does not allow this:"),
        WebError::Forbidden(_) => ("Not permitted", "Your roles do not allow this:"),
        _ => ("Not saved", "This was refused and nothing was saved:"),
    };
    let why = e.to_string();
    let why = {
        let mut c = why.chars();
        c.next()
            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
            .unwrap_or_default()
    };
    let mut r = trial_page(
        a,
        title,
        html! {
            h1 { (title) }
            div.alert role="alert" { p { (lead) } p { strong { (why) "." } } }
            @if !kept.is_empty() {
                h2 { "What you typed" }
                p.hint { "Nothing was lost: copy it back into the form." }
                dl.kept { @for (k, v) in kept { dt { (k.trim_start_matches("f.").replace('_', " ")) } dd { (v) } } }
            }
            p {
                a #back href=(back.unwrap_or(&format!("/t/{}", a.view.trial))) { "Back to the form" }
                " · " a href={"/t/" (a.view.trial)} { "Dashboard" }
            }
        },
    );
    *r.status_mut() = status;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::back_page;

    #[test]
    fn a_refusal_links_back_to_the_page_of_the_form() {
        // POST paths of the route table and the GET page each form is on.
        assert_eq!(back_page("/t/lupex/lock"), "/t/lupex/lock");
        assert_eq!(back_page("/t/lupex/admin/roles/revoke"), "/t/lupex/admin");
        assert_eq!(back_page("/t/lupex/queries/Q1/answer"), "/t/lupex/queries");
        assert_eq!(back_page("/t/lupex/p/L001/consent"), "/t/lupex/p/L001");
        assert_eq!(
            back_page("/t/lupex/p/L001/visit/baseline/cpet"),
            "/t/lupex/p/L001/visit/baseline/cpet"
        );
    }
}
