//! Server-rendered pages. Every page about a trial is rendered from the
//! user's view (`TrialState::view`, `TrialState::view_event`); every write
//! is a `rct_record::Command` checked by `TrialState::check`.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use rct_core::protocol::{Protocol, ValueType};
use rct_record::{Action, Command, CriterionResult, Role, Sites, Verdict};
use serde_json::Value;

use crate::auth::{random_token, LoginOutcome};
use crate::commands::{execute, execute_all, Who};
use crate::entry;
use crate::html::{csrf, page, value_text, TrialNav, CSS, JS};
use crate::{Access, App, AppState, CurrentUser, WebError, LOGIN_COOKIE, SESSION_COOKIE};

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

// ---- login ------------------------------------------------------------------

fn cookie_header(app: &App, name: &str, value: &str, max_age: Option<i64>) -> String {
    let secure = if app.secure_cookies { "; Secure" } else { "" };
    let age = max_age
        .map(|a| format!("; Max-Age={a}"))
        .unwrap_or_default();
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict{secure}{age}")
}

fn login_form(app: &App, message: Option<&str>, status: StatusCode) -> Response {
    let token = random_token();
    let body = html! {
        h1 { "Log in" }
        @if let Some(m) = message { p.alert role="alert" { (m) } }
        form method="post" action="/login" {
            input type="hidden" name="csrf" value=(token);
            label for="user" { "User name" }
            input id="user" name="user" autocomplete="username" required;
            label for="password" { "Password" }
            input id="password" name="password" type="password" autocomplete="current-password" required;
            p { button type="submit" { "Log in" } }
        }
    };
    (
        status,
        [(
            header::SET_COOKIE,
            cookie_header(app, LOGIN_COOKIE, &token, Some(600)),
        )],
        crate::html::bare("Log in", body),
    )
        .into_response()
}

pub async fn login_page(State(s): State<AppState>) -> Response {
    login_form(&s, None, StatusCode::OK)
}

pub async fn login(
    State(s): State<AppState>,
    client: crate::ClientAddr,
    Form(input): Input,
) -> PageResult {
    let user = field(&input, "user").to_string();
    let password = input.get("password").cloned().unwrap_or_default();
    // Over-long input is refused before any lookup or hashing.
    if let Err(e) = crate::auth::check_login_lengths(&user, &password) {
        return Ok(login_form(
            &s,
            Some(&e.to_string()),
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    }
    App::run(&s, move |app| {
        match crate::accounts::login(app, &user, &password, client.0)? {
            LoginOutcome::Ok => {
                let token = app.sessions.start(app.ledger.store(), &user, app.now())?;
                let mut res = Redirect::to("/").into_response();
                let h = res.headers_mut();
                for c in [
                    cookie_header(app, SESSION_COOKIE, &token, None),
                    cookie_header(app, LOGIN_COOKIE, "", Some(0)),
                ] {
                    if let Ok(v) = c.parse() {
                        h.append(header::SET_COOKIE, v);
                    }
                }
                Ok(res)
            }
            LoginOutcome::Failed => Ok(login_form(
                app,
                Some(&crate::auth::AuthError::BadCredentials.to_string()),
                StatusCode::UNAUTHORIZED,
            )),
            LoginOutcome::Throttled(seconds) => {
                let msg = crate::auth::AuthError::Throttled(seconds).to_string();
                let mut res = login_form(app, Some(&msg), StatusCode::TOO_MANY_REQUESTS);
                res.headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
                Ok(res)
            }
            LoginOutcome::Locked => Ok(login_form(
                app,
                Some(&crate::auth::AuthError::Locked.to_string()),
                StatusCode::FORBIDDEN,
            )),
        }
    })
    .await
}

pub async fn logout(State(s): State<AppState>, user: CurrentUser) -> PageResult {
    App::run(&s, move |app| {
        app.sessions.end(app.ledger.store(), &user.token)?;
        crate::accounts::logout(app, &user.name)?;
        Ok((
            [(
                header::SET_COOKIE,
                cookie_header(app, SESSION_COOKIE, "", Some(0)),
            )],
            Redirect::to("/login"),
        )
            .into_response())
    })
    .await
}

// ---- home and dashboard -----------------------------------------------------

pub async fn home(State(s): State<AppState>, user: CurrentUser) -> PageResult {
    App::run(&s, move |app| {
        let mut rows = Vec::new();
        for t in app.trial_ids()? {
            if let Ok(a) = app.access(&user, &t) {
                let breaks = a.view.unblindings.as_ref().map_or(0, Vec::len);
                rows.push((t.clone(), a.view.title.clone(), a.roles_text(), breaks));
            }
        }
        Ok(page(
            "Trials",
            Some(&user),
            None,
            html! {
                h1 { "Your trials" }
                @if rows.is_empty() { p { "You hold no role in any trial yet; ask an administrator." } }
                ul { @for (id, title, roles, breaks) in &rows {
                    li { a href={"/t/" (id)} { (title) } " — " (roles)
                        @if *breaks > 0 { " — " strong { "Notice: " (breaks) " emergency unblinding" @if *breaks != 1 { "s" } } } }
                } }
            },
        )
        .into_response())
    })
    .await
}

pub async fn dashboard(
    State(s): State<AppState>,
    user: CurrentUser,
    Path(trial): Path<String>,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        let v = &a.view;
        let f = &v.flow;
        let now = app.now();
        let target = u64::from(*a.protocol.trial.target_enrolment.get_ref());
        let pct = percent(f.randomised, target);
        let site_name = |id: &str| {
            v.sites
                .iter()
                .find(|s| s.site == id)
                .map_or_else(|| id.to_string(), |s| s.name.clone())
        };
        Ok(trial_page(
            &a,
            &v.title,
            html! {
                h1 { (v.title) }
                @if let Some(list) = v.unblindings.as_ref().filter(|l| !l.is_empty()) {
                    div.alert role="alert" {
                        p { strong { "Notice: " (list.len()) " emergency unblinding" @if list.len() != 1 { "s" } }
                            @if let Some(u) = list.last() { " — latest " (u.at.format("%Y-%m-%d %H:%M")) " UTC by " (u.user) " for " (u.participant) }
                            ". " a href="#unblindings" { "Details below" } "." }
                    }
                }
                @if v.locked { p.warning { strong { "Locked: " } "the database is locked; no data can be entered or changed." } }
                (crate::notices::unblinded_grants(v))
                (crate::unblinding::reminders(v, &user, now))
                h2 { "Enrolment against target" }
                p { (f.randomised) " of " (target) " randomised (" (pct) "% of the target) "
                    span.bar aria-hidden="true" { span style={"width:" (pct.min(100)) "%"} {} } }
                table {
                    caption { "By site (share of the trial's target of " (target) ")" }
                    thead { tr { th scope="col" { "Site" } th scope="col" { "Screened" } th scope="col" { "Eligible" } th scope="col" { "Consented" } th scope="col" { "Randomised" } th scope="col" { "% of target" } } }
                    tbody { @for (site, sf) in &v.by_site { tr {
                        th scope="row" { (site_name(site)) " " span.hint { "(" (site) ")" } }
                        td { (sf.screened) } td { (sf.eligible) } td { (sf.consented) } td { (sf.randomised) }
                        td { (percent(sf.randomised, target)) "%" }
                    } } }
                }
                table {
                    caption { "Randomised by stratum" }
                    thead { tr { th scope="col" { "Stratum" } th scope="col" { "Randomised" } th scope="col" { "% of target" } } }
                    tbody {
                        @if v.by_stratum.is_empty() { tr { td colspan="3" { "Nobody randomised yet." } } }
                        @for (st, n) in &v.by_stratum { tr { th scope="row" { (st) } td { (n) } td { (percent(*n, target)) "%" } } }
                    }
                }
                @if let Some(by_arm) = &v.by_arm {
                    table {
                        caption { "Randomised by arm" }
                        thead { tr { th scope="col" { "Arm" } th scope="col" { "Randomised" } } }
                        tbody { @for (arm, n) in by_arm { tr { td { (arm) } td { (n) } } } }
                    }
                }
                h2 { "CONSORT flow so far" }
                table {
                    tbody {
                        tr { th scope="row" { "Assessed for eligibility" } td { (f.screened) } }
                        tr { th scope="row" { "Excluded: not meeting criteria" } td { (f.excluded_ineligible) } }
                        tr { th scope="row" { "Excluded: declined to participate" } td { (f.excluded_declined) } }
                        tr { th scope="row" { "Excluded: other reasons (withdrew before randomisation)" } td { (f.excluded_other) } }
                        tr { th scope="row" { "Still in screening or awaiting consent" } td { (f.in_screening) } }
                        tr { th scope="row" { "Randomised" } td { (f.randomised) } }
                        tr { th scope="row" { "Consent withdrawn (all, before or after randomisation)" } td { (f.withdrawn) } }
                    }
                }
                @if let Some(list) = &v.unblindings {
                    h2 id="unblindings" { "Emergency unblindings" }
                    @if list.is_empty() { p { "None." } }
                    ul { @for u in list { li.warning { (u.at.format("%Y-%m-%d %H:%M")) " UTC: " (u.user) " broke the code for " (u.participant)
                        @if let Some(c) = &u.category { " (" (c) ")" }
                        " — " (crate::unblinding::explanation_state(u, now)) } } }
                }
                p { (open_queries(&a)) " open queries · " a href={"/t/" (v.trial) "/audit"} { "audit trail" } }
            },
        ))
    })
    .await
}

/// `n` as a whole percentage of `of` (0 when `of` is 0).
fn percent(n: u64, of: u64) -> u64 {
    (n * 100).checked_div(of).unwrap_or(0)
}

// ---- participants -----------------------------------------------------------

/// Participants per page of the list.
pub const PAGE_SIZE: usize = 100;

pub async fn participants(
    State(s): State<AppState>,
    user: CurrentUser,
    Path(trial): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        let v = &a.view;
        let total = v.participants.len();
        let pages = total.div_ceil(PAGE_SIZE).max(1);
        let page = q
            .get("page")
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(1)
            .clamp(1, pages);
        let shown = &v.participants[((page - 1) * PAGE_SIZE).min(total)..(page * PAGE_SIZE).min(total)];
        let any_arm = shown.iter().any(|p| p.allocation.is_some());
        Ok(trial_page(
            &a,
            "Participants",
            html! {
                h1 { "Participants" }
                p { (total) " participants at your sites; page " (page) " of " (pages) "." }
                @if pages > 1 {
                    nav aria-label="Pages" { p {
                        @if page > 1 { a href={"/t/" (v.trial) "/participants?page=" (page - 1)} { "Previous page" } " " }
                        @if page < pages { a href={"/t/" (v.trial) "/participants?page=" (page + 1)} { "Next page" } }
                    } }
                }
                table {
                    thead { tr {
                        th scope="col" { "Participant" } th scope="col" { "Site" } th scope="col" { "Screening" }
                        th scope="col" { "Consent" } th scope="col" { "Randomised" } th scope="col" { "Kit" }
                        @if any_arm { th scope="col" { "Arm" } }
                    } }
                    tbody { @for p in shown { tr {
                        td { a href={"/t/" (v.trial) "/p/" (p.id)} { (p.id) } }
                        td { (p.site.clone().unwrap_or_default()) }
                        td { @if let Some(s) = &p.screening { (s.verdict) } }
                        td { @if let Some(c) = p.consented { (c.format("%Y-%m-%d")) } }
                        td { @if let Some(r) = p.randomised_at { (r.format("%Y-%m-%d")) } }
                        td { (p.kit.clone().unwrap_or_default()) }
                        @if any_arm { td { @if let Some(arm) = &p.allocation { (arm.arm_name) } } }
                    } } }
                }
            },
        ))
    })
    .await
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

/// Forms of the protocol the user may see (arm-specific forms only when
/// the view lists them).
fn visible_form(a: &Access<'_>, form: &str) -> bool {
    match a.protocol.form(form) {
        Some(f) if f.arm.is_some() => a.view.forms.iter().any(|r| r.form == form),
        Some(_) => true,
        None => false,
    }
}

pub async fn participant(
    State(s): State<AppState>,
    user: CurrentUser,
    Path((trial, pid)): Path<(String, String)>,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access_to(&user, &trial, &pid)?;
        let p = a.participant(&pid)?;
        let v = &a.view;
        let t = &v.trial;
        let today = app.now().date_naive();
        let sched = p
            .randomised_at
            .map(|r| entry::schedule(&a.protocol, r.date_naive(), today, &p.values));
        let eligible = p.screening.as_ref().map(|s| s.verdict) == Some(Verdict::Eligible);
        let open: Vec<_> = v
            .queries
            .iter()
            .filter(|q| q.participant == pid && q.status != rct_record::QueryStatus::Closed)
            .collect();
        let results: Vec<(String, String)> = p
            .screening
            .as_ref()
            .map(|s| s.criteria.iter().map(|c| (c.criterion.clone(), c.result.clone())).collect())
            .unwrap_or_default();
        let arm_forms: Vec<&rct_core::protocol::Form> = a
            .protocol
            .forms
            .iter()
            .filter(|f| f.arm.is_some() && visible_form(&a, f.id.get_ref()))
            .filter(|f| p.allocation.as_ref().is_some_and(|al| f.arm.as_ref().is_some_and(|x| x.get_ref() == &al.arm)))
            .collect();
        let forms_of = |visit: &rct_core::protocol::Visit| -> Vec<String> {
            visit.forms.iter().map(|f| f.get_ref().clone()).filter(|f| visible_form(&a, f)).collect()
        };
        Ok(trial_page(
            &a,
            &format!("Participant {pid}"),
            html! {
                h1 { "Participant " (pid) }
                dl {
                    dt { "Site" } dd { @match &p.site {
                        Some(id) => { (v.sites.iter().find(|x| &x.site == id).map_or(id.as_str(), |x| x.name.as_str())) " (" (id) ")" }
                        None => "none",
                    } }
                    dt { "Screening" } dd { @if let Some(s) = &p.screening { (s.verdict) " on " (s.at.format("%Y-%m-%d")) } @else { "not screened" } }
                    @if !p.earlier_screenings.is_empty() {
                        dt { "Earlier screenings" }
                        dd { @for s in &p.earlier_screenings { (s.verdict) " on " (s.at.format("%Y-%m-%d")) "; " } }
                    }
                    dt { "Consent" } dd { @if let Some(c) = p.consented { "given " (c.format("%Y-%m-%d")) } @else if let Some(d) = p.declined { "declined " (d.format("%Y-%m-%d")) } @else { "not recorded" } }
                    dt { "Randomisation" } dd {
                        @if let Some(r) = p.randomised_at {
                            "randomised " (r.format("%Y-%m-%d"))
                            @if let Some(st) = &p.stratum { " in stratum " (st) }
                            @if let Some(k) = &p.kit { ", kit " strong { (k) } }
                            @if let Some(arm) = &p.allocation { ", arm " strong { (arm.arm_name) }
                                @if p.unblinded_by_emergency { " (revealed to you by emergency unblinding)" } }
                        } @else { "not randomised" }
                    }
                    @if let Some(w) = &p.intervention_stopped { dt { "Intervention stopped" } dd { (w.at.format("%Y-%m-%d")) " " (w.reason.clone().unwrap_or_default()) "; follow-up continues" } }
                    @if let Some(w) = &p.withdrawn { dt { "Consent withdrawn" } dd { (w.at.format("%Y-%m-%d")) " " (w.reason.clone().unwrap_or_default()) "; no new data" } }
                }
                @if a.may(Action::Consent) && !v.locked && p.screening.is_some() && p.consented.is_none() {
                    form method="post" action={"/t/" (t) "/p/" (pid) "/consent"} {
                        (csrf(&user))
                        label for="given_at" { "Date and time consent was given (UTC; now when left empty)" }
                        input id="given_at" name="given_at" type="datetime-local";
                        label for="version" { "Consent form version" }
                        select id="version" name="version" {
                            @let versions = a.protocol.consent.versions();
                            @for (i, ver) in versions.iter().enumerate() {
                                option value=(ver) selected[i + 1 == versions.len()] { (ver) @if i + 1 == versions.len() { " (current)" } }
                            }
                        }
                        label for="obtained_by" { "Obtained by" }
                        input id="obtained_by" name="obtained_by" value=(user.name) required;
                        p { button type="submit" { "Record informed consent" } }
                    }
                    form method="post" action={"/t/" (t) "/p/" (pid) "/decline-consent"} {
                        (csrf(&user))
                        p { button type="submit" { "Record that consent was declined" } }
                    }
                }
                @if (a.may(Action::Withdraw) || a.may(Action::StopIntervention)) && !v.locked && p.screening.is_some() && p.withdrawn.is_none() {
                    p { a href={"/t/" (t) "/p/" (pid) "/withdraw"} { "Withdrawal or stopping the intervention" } }
                }
                @if a.may(Action::Randomise) && !v.locked && eligible && p.consented.is_some() && !p.randomised {
                    p { a href={"/t/" (t) "/p/" (pid) "/randomise"} { "Randomise" } }
                }
                @if a.may(Action::EmergencyUnblind) && v.blinded && p.randomised && p.allocation.is_none() {
                    p { a href={"/t/" (t) "/p/" (pid) "/unblind"} { "Emergency unblinding" } }
                }
                @if a.may(Action::SafetyCodeBreak) && v.blinded && p.randomised && p.allocation.is_none() {
                    p { a href={"/t/" (t) "/p/" (pid) "/safety-unblind"} { "Code-break for an expedited safety report" } }
                }
                @if let Some(sched) = &sched {
                    h2 { "Visit schedule" }
                    @let overdue = sched.iter().filter(|x| x.status == rct_core::schedule::VisitStatus::Overdue).count();
                    @if overdue > 0 { p.warning { strong { "Overdue: " } (overdue) " visit" @if overdue != 1 { "s" } " past the window with forms missing." } }
                    table {
                        caption { "Due dates from randomisation on " @if let Some(r) = p.randomised_at { (r.format("%Y-%m-%d")) } " (day 0), as of " (today) }
                        thead { tr { th scope="col" { "Visit" } th scope="col" { "Day" } th scope="col" { "Due" } th scope="col" { "Window" } th scope="col" { "Status" } th scope="col" { "Forms" } } }
                        tbody { @for sv in sched {
                            @let visit = a.protocol.visits.iter().find(|x| x.id.get_ref() == &sv.id);
                            tr {
                                th scope="row" { (sv.label) }
                                td { (sv.day) }
                                td.date { (sv.due) }
                                td { span.date { (sv.window_start) } " to " span.date { (sv.window_end) } }
                                td class=(sv.status.as_str()) { (sv.status.as_str())
                                    @match sv.status {
                                        rct_core::schedule::VisitStatus::Due => { " (" (sv.days_left) " days left)" }
                                        rct_core::schedule::VisitStatus::Overdue => { " (window closed " (-sv.days_left) " days ago)" }
                                        _ => {}
                                    } }
                                td { @if let Some(visit) = visit { @for f in forms_of(visit) {
                                    a href={"/t/" (t) "/p/" (pid) "/visit/" (sv.id) "/" (f)} { (f) }
                                    @if sv.forms_entered.contains(&f) { " (entered)" } " "
                                } } }
                            }
                        } }
                    }
                } @else if p.screening.is_some() {
                    h2 { "Screening visit forms" }
                    ul { @for visit in a.protocol.visits.iter().filter(|x| *x.day.get_ref() < 0) {
                        @for f in forms_of(visit) {
                            li { a href={"/t/" (t) "/p/" (pid) "/visit/" (visit.id.get_ref()) "/" (f)} { (visit.label) ": " (f) } }
                        }
                    } }
                }
                @if !arm_forms.is_empty() {
                    h2 { "Intervention" }
                    ul { @for f in &arm_forms { li { a href={"/t/" (t) "/p/" (pid) "/visit/intervention/" (f.id.get_ref())} { (f.label) } } } }
                    @if let Some(sessions) = &p.sessions { p { (sessions.len()) " sessions recorded." } }
                }
                @if !results.is_empty() { h2 { "Eligibility" } (criteria_table(&a.protocol, &results)) }
                h2 { "Open queries" }
                @if open.is_empty() { p { "None." } }
                ul { @for q in &open { li { (q.id) " (" (q.item.clone().unwrap_or_default()) "): " (q.text) } } }
                @if a.may(Action::RaiseQuery) && !v.locked {
                    h2 { "Raise a query" }
                    (raise_query_form(&user, t, &pid, None))
                }
            },
        ))
    })
    .await
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

// ---- screening ----------------------------------------------------------------

fn fact_input(
    protocol: &Protocol,
    f: &rct_core::protocol::Fact,
    input: &BTreeMap<String, String>,
) -> Markup {
    let id = f.id.get_ref();
    let name = format!("f.{id}");
    let html_id = format!("fact-{id}");
    let value = field(input, &name);
    let msg = format!("fact-msg-{id}");
    html! {
        label for=(html_id) { (f.label) " " span.hint { "(" (id)
            @if let Some(u) = &f.unit { ", " (u.get_ref()) } ")" } }
        @match f.kind {
            ValueType::Boolean => {
                select id=(html_id) name=(name) aria-describedby=(msg) {
                    option value="" selected[value.is_empty()] { "unknown" }
                    option value="true" selected[value == "true"] { "yes" }
                    option value="false" selected[value == "false"] { "no" }
                }
            }
            ValueType::Choice => {
                select id=(html_id) name=(name) aria-describedby=(msg) {
                    option value="" { "unknown" }
                    @for (code, label) in entry::codes(protocol, f.code_list.as_ref().map(|c| c.get_ref().as_str())) {
                        option value=(code) selected[value == code] { (label) }
                    }
                }
            }
            ValueType::Date => { input id=(html_id) name=(name) aria-describedby=(msg) type="date" value=(value); }
            ValueType::Number | ValueType::Integer => { input id=(html_id) name=(name) aria-describedby=(msg) inputmode="decimal" value=(value); }
            ValueType::Text => { input id=(html_id) name=(name) aria-describedby=(msg) value=(value); }
        }
        @if f.uln {
            label for={"uln-" (id)} { "Upper limit of normal for " (id) }
            input id={"uln-" (id)} name={"u." (id)} inputmode="decimal" value=(field(input, &format!("u.{id}")));
        }
        span.hint id=(msg) aria-live="polite" {}
    }
}

fn screening_sites(a: &Access<'_>) -> Vec<(String, String)> {
    a.view
        .sites
        .iter()
        .filter(|s| {
            a.grants
                .iter()
                .any(|(r, sites)| Action::Screen.permits(*r) && sites.covers(&s.site))
        })
        .map(|s| (s.site.clone(), s.name.clone()))
        .collect()
}

pub async fn screen_page(
    State(s): State<AppState>,
    user: CurrentUser,
    Path(trial): Path<String>,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        a.who(app, Action::Screen, None)?;
        Ok(screen_form(app, &a, &BTreeMap::new(), None))
    })
    .await
}

fn screen_form(
    app: &App,
    a: &Access<'_>,
    input: &BTreeMap<String, String>,
    message: Option<&str>,
) -> Response {
    let t = &a.view.trial;
    let today = app.now().date_naive().to_string();
    let date = input.get("screening_date").cloned().unwrap_or(today);
    let mut r = trial_page(
        a,
        "Screening",
        html! {
            h1 { "Screen a person" }
            @if let Some(m) = message { p.alert role="alert" { (m) } }
            form method="post" action={"/t/" (t) "/screen"} data-live-screen={"/api/trials/" (t) "/screening/evaluate"} {
                (csrf(&a.user))
                fieldset {
                    legend { "Who and when" }
                    label for="pid" { "Screening number" }
                    input id="pid" name="participant" required value=(field(input, "participant"));
                    label for="site" { "Site" }
                    select id="site" name="site" { @for (id, name) in screening_sites(a) { option value=(id) selected[field(input, "site") == id] { (name) } } }
                    label for="sdate" { "Screening date" }
                    input id="sdate" name="screening_date" type="date" value=(date) required;
                }
                fieldset {
                    legend { "Facts" }
                    @for f in &a.protocol.facts { (fact_input(&a.protocol, f, input)) }
                }
                p { "Verdict so far: " strong id="verdict" aria-live="polite" { "—" } }
                (criteria_table(&a.protocol, &[]))
                label for="reason" { "Reason for re-screening " span.hint { "(needed when the participant was screened before; the earlier screening is kept)" } }
                input id="reason" name="reason" size="60" value=(field(input, "reason"));
                p { button type="submit" { "Record screening" } }
            }
        },
    );
    if message.is_some() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

/// Reads screening form input (`f.<fact>`, `u.<fact>`) and its date into
/// what `Command::Screen` carries: the edge parses, the record screens.
pub fn screen_input(
    protocol: &Protocol,
    input: &BTreeMap<String, String>,
    date: &str,
) -> Result<(chrono::NaiveDate, BTreeMap<String, serde_json::Value>), WebError> {
    let (facts, problems) = screen_facts(protocol, input);
    if let Some((fact, msg)) = problems.iter().next() {
        return Err(WebError::BadRequest(format!("{fact}: {msg}")));
    }
    Ok((screening_date(date)?, facts))
}

/// The screening date typed (`YYYY-MM-DD`).
fn screening_date(date: &str) -> Result<chrono::NaiveDate, WebError> {
    chrono::NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").map_err(|_| {
        WebError::BadRequest(format!(
            "screening_date: `{date}` is not a date (YYYY-MM-DD)"
        ))
    })
}

/// Problems with typed facts, by fact id.
pub type Problems = BTreeMap<String, String>;

/// Facts typed on the form, by fact id, and the ones that did not read.
fn screen_facts(
    protocol: &Protocol,
    input: &BTreeMap<String, String>,
) -> (BTreeMap<String, serde_json::Value>, Problems) {
    let (facts, problems) = entry::facts_json(protocol, input);
    let facts = match facts {
        serde_json::Value::Object(m) => m.into_iter().collect(),
        _ => BTreeMap::new(),
    };
    (facts, problems)
}

/// Live screening: the verdict the record would compute (its own
/// function), with a fact typed so that it does not read left out (so the
/// criteria needing it are unknown) and reported with the problems.
pub fn screen_lenient(
    a: &Access<'_>,
    input: &BTreeMap<String, String>,
    date: &str,
) -> Result<(Verdict, Vec<CriterionResult>, Problems), WebError> {
    let (facts, problems) = screen_facts(&a.protocol, input);
    let (verdict, criteria, _) =
        rct_record::evaluate_screening(a.config()?, "", screening_date(date)?, &facts)
            .map_err(|e| WebError::BadRequest(e.to_string()))?;
    Ok((verdict, criteria, problems))
}

pub async fn screen_post(
    State(s): State<AppState>,
    user: CurrentUser,
    Path(trial): Path<String>,
    Form(input): Input,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        // A reason is needed (and kept) when the participant was screened before.
        let who = a.who(app, Action::Screen, input.get("reason").cloned())?;
        let pid = field(&input, "participant").to_string();
        let site = field(&input, "site").to_string();
        let (date, facts) = match screen_input(&a.protocol, &input, field(&input, "screening_date"))
        {
            Ok(x) => x,
            Err(e) => return Ok(screen_form(app, &a, &input, Some(&e.to_string()))),
        };
        // The record computes the verdict from the facts.
        let cmd = Command::Screen {
            participant: pid.clone(),
            site: Some(site),
            date,
            facts,
        };
        // The record decides what a participant id may be (and the rest);
        // its refusal is shown on the form, to be corrected.
        match execute(app, &trial, &who, &cmd) {
            Ok(_) => Ok(redirect(&format!("/t/{trial}/p/{pid}"))),
            Err(WebError::BadRequest(why)) => Ok(screen_form(app, &a, &input, Some(&why))),
            Err(e) => Err(e),
        }
    })
    .await
}

pub async fn consent(
    State(s): State<AppState>,
    user: CurrentUser,
    Path((trial, pid)): Path<(String, String)>,
    Form(input): Input,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access_to(&user, &trial, &pid)?;
        a.participant(&pid)?;
        let who = a.who(app, Action::Consent, None)?;
        let given_at = match field(&input, "given_at") {
            "" => None,
            t => Some(
                chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M")
                    .map_err(|_| {
                        WebError::BadRequest(format!(
                            "given_at `{t}`: expected a date and time such as 2025-03-01T09:30"
                        ))
                    })?
                    .and_utc(),
            ),
        };
        let text = |k: &str| Some(field(&input, k).to_string()).filter(|v| !v.is_empty());
        execute(
            app,
            &trial,
            &who,
            &Command::Consent {
                participant: pid.clone(),
                version: text("version"),
                given_at,
                obtained_by: text("obtained_by"),
            },
        )?;
        Ok(redirect(&format!("/t/{trial}/p/{pid}")))
    })
    .await
}

// ---- randomisation ------------------------------------------------------------

pub async fn randomise_page(
    State(s): State<AppState>,
    user: CurrentUser,
    Path((trial, pid)): Path<(String, String)>,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access_to(&user, &trial, &pid)?;
        let p = a.participant(&pid)?;
        a.who(app, Action::Randomise, None)?;
        let eligible = p.screening.as_ref().map(|s| s.verdict) == Some(Verdict::Eligible);
        let ready = eligible && p.consented.is_some() && !p.randomised && !a.view.locked;
        let strata = a.strata(&pid);
        Ok(trial_page(
            &a,
            "Randomise",
            html! {
                h1 { "Randomise " (pid) }
                @if !ready {
                    p.alert role="alert" { "Randomisation needs an eligible screening and recorded consent, once, before the database is locked." }
                } @else {
                    // The stratum is the record's, read from the screening
                    // facts: shown, never asked for.
                    @match &strata {
                        Ok(levels) => {
                            @if !levels.is_empty() {
                                dl.stratum {
                                    @for (factor, level) in levels { dt { (factor) } dd { (level) } }
                                }
                            }
                            form method="post" action={"/t/" (trial) "/p/" (pid) "/randomise"} {
                                (csrf(&user))
                                p { button type="submit" { "Randomise now" } }
                            }
                        }
                        Err(why) => { p.alert role="alert" { (why) } }
                    }
                }
            },
        ))
    })
    .await
}

pub async fn randomise_post(
    State(s): State<AppState>,
    user: CurrentUser,
    Path((trial, pid)): Path<(String, String)>,
    Form(_input): Input,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access_to(&user, &trial, &pid)?;
        a.participant(&pid)?;
        let who = a.who(app, Action::Randomise, None)?;
        execute(app, &trial, &who, &Command::Randomise { participant: pid.clone() })?;
        // Read back through the view: the result shown is what the user may see.
        let a = app.access_to(&user, &trial, &pid)?;
        let p = a.participant(&pid)?;
        Ok(trial_page(
            &a,
            "Randomised",
            html! {
                h1 { (pid) " is randomised" }
                p.notice role="status" {
                    @if let Some(at) = p.randomised_at { "Randomised " (at.format("%Y-%m-%d %H:%M")) " UTC" }
                    @if let Some(st) = &p.stratum { ", stratum " (st) }
                    "."
                    @if let Some(k) = &p.kit { " Dispense kit " strong { (k) } "." }
                    @if let Some(arm) = &p.allocation { " Arm: " strong { (arm.arm_name) } "." }
                    @else { " The allocation is concealed from you." }
                }
                p { a href={"/t/" (trial) "/p/" (pid)} { "Back to the participant" } }
            },
        ))
    })
    .await
}

// ---- data entry ---------------------------------------------------------------

/// The form at a visit, if the user may see it there. Arm-specific forms
/// live at the pseudo-visit `intervention`, visible only when the view
/// lists them.
pub fn visit_form<'p>(
    a: &'p Access<'_>,
    visit: &str,
    form: &str,
) -> Result<&'p rct_core::protocol::Form, WebError> {
    let missing = || WebError::NotFound(format!("no form `{form}` at visit `{visit}`"));
    let f = a.protocol.form(form).ok_or_else(missing)?;
    if !visible_form(a, form) {
        return Err(missing());
    }
    let ok = if f.arm.is_some() {
        visit == "intervention"
    } else {
        a.protocol
            .visits
            .iter()
            .any(|v| v.id.get_ref() == visit && v.forms.iter().any(|x| x.get_ref() == form))
    };
    if ok {
        Ok(f)
    } else {
        Err(missing())
    }
}

/// The role the user enters `form` in: the role the registered form rule
/// names if held (an investigator's forms also by research nurses), else
/// the first role that may enter values.
pub fn entry_role(a: &Access<'_>, form: &rct_core::protocol::Form) -> Option<Role> {
    // The rule the trial was registered with (rct_record::registration).
    let wanted = a
        .view
        .forms
        .iter()
        .find(|r| &r.form == form.id.get_ref())
        .and_then(|r| r.entered_by);
    match wanted {
        Some(Role::Investigator) => a
            .grants
            .iter()
            .map(|(r, _)| *r)
            .find(|r| matches!(r, Role::Investigator | Role::ResearchNurse)),
        Some(w) => a.grants.iter().map(|(r, _)| *r).find(|r| *r == w),
        None => a.role_for(Action::EnterValue),
    }
}

pub async fn entry_page(
    State(s): State<AppState>,
    user: CurrentUser,
    Path((trial, pid, visit, form)): Path<(String, String, String, String)>,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access_to(&user, &trial, &pid)?;
        a.participant(&pid)?;
        let f = visit_form(&a, &visit, &form)?;
        Ok(entry_form(
            &a,
            &pid,
            &visit,
            f,
            &BTreeMap::new(),
            &[],
            &[],
            None,
        ))
    })
    .await
}

#[allow(clippy::too_many_arguments)]
fn entry_form(
    a: &Access<'_>,
    pid: &str,
    visit: &str,
    f: &rct_core::protocol::Form,
    input: &BTreeMap<String, String>,
    errors: &[String],
    warnings: &[String],
    saved: Option<usize>,
) -> Response {
    let v = &a.view;
    let t = &v.trial;
    let form = f.id.get_ref();
    let stored = a
        .participant(pid)
        .map(|p| p.values.clone())
        .unwrap_or_default();
    let current = |field: &str| stored.get(&format!("{visit}/{form}/{field}")).cloned();
    let derived = {
        // What the form shows: typed input over stored values.
        let mut shown = BTreeMap::new();
        for fld in &f.fields {
            let id = fld.id.get_ref();
            let key = format!("f.{id}");
            if let Some(raw) = input.get(&key) {
                shown.insert(key, raw.clone());
            } else if let Some(x) = current(id) {
                shown.insert(key, value_text(&x));
            }
        }
        entry::check_entry(&a.protocol, f, &shown).shown
    };
    let editable = entry_role(a, f).is_some() && !v.locked;
    let has_values = f.fields.iter().any(|x| current(x.id.get_ref()).is_some());
    let mut r = trial_page(
        a,
        &f.label,
        html! {
            h1 { (f.label) }
            p { "Participant " a href={"/t/" (t) "/p/" (pid)} { (pid) } ", visit " (visit) }
            @if let Some(n) = saved { p.notice role="status" { "Saved " (n) " change(s)." } }
            @if !errors.is_empty() { div.alert role="alert" { p { "Nothing was saved:" } ul { @for e in errors { li { (e) } } } } }
            @if !warnings.is_empty() { div.warning role="status" { ul { @for w in warnings { li { (w) } } } } }
            form method="post" action={"/t/" (t) "/p/" (pid) "/visit/" (visit) "/" (form)}
                data-live-derive={"/api/trials/" (t) "/participants/" (pid) "/visits/" (visit) "/" (form) "/derive"} {
                (csrf(&a.user))
                @for fld in &f.fields {
                    @let id = fld.id.get_ref();
                    @let html_id = format!("field-{id}");
                    @let saved = current(id).map(|x| entry::field_text(fld, &x));
                    @let now = input.get(&format!("f.{id}")).cloned().or_else(|| saved.clone()).unwrap_or_default();
                    @let unit = fld.unit.as_ref().map(|u| u.get_ref().clone());
                    @if fld.derived.is_some() {
                        p { strong { (fld.label) } " (computed): "
                            output id={"derived-" (id)} aria-live="polite" { @match derived.get(id).cloned().flatten() { Some(x) => (x), None => "—" } }
                            @if let Some(u) = &unit { " " (u) } }
                    } @else {
                        @let msg = format!("msg-{id}");
                        label for=(html_id) { (fld.label) @if fld.required { " (required)" }
                            span.hint { @if let Some(u) = &unit { " in " (u) }
                                @if let Some(h) = &fld.hard { "; allowed " (entry::number_text(h.get_ref()[0])) "–" (entry::number_text(h.get_ref()[1])) }
                                @if let Some(h) = &fld.soft { "; expected " (entry::number_text(h.get_ref()[0])) "–" (entry::number_text(h.get_ref()[1])) } } }
                        @match fld.kind {
                            ValueType::Boolean => select id=(html_id) name={"f." (id)} disabled[!editable] aria-required=[fld.required.then_some("true")] aria-describedby=(msg) data-saved=[saved.as_deref()] {
                                option value="" { "—" }
                                option value="true" selected[now == "true"] { "yes" }
                                option value="false" selected[now == "false"] { "no" }
                            },
                            ValueType::Choice => select id=(html_id) name={"f." (id)} disabled[!editable] aria-required=[fld.required.then_some("true")] aria-describedby=(msg) data-saved=[saved.as_deref()] {
                                option value="" { "—" }
                                @for (code, label) in entry::codes(&a.protocol, fld.code_list.as_ref().map(|c| c.get_ref().as_str())) {
                                    option value=(code) selected[now == code] { (label) }
                                }
                            },
                            ValueType::Date => input id=(html_id) name={"f." (id)} type="date" value=(now) disabled[!editable] aria-required=[fld.required.then_some("true")] aria-describedby=(msg) data-saved=[saved.as_deref()];,
                            ValueType::Text => input id=(html_id) name={"f." (id)} value=(now) disabled[!editable] aria-required=[fld.required.then_some("true")] aria-describedby=(msg) data-saved=[saved.as_deref()];,
                            ValueType::Integer => input id=(html_id) name={"f." (id)} inputmode="numeric" value=(now) disabled[!editable] aria-required=[fld.required.then_some("true")] aria-describedby=(msg) data-saved=[saved.as_deref()];,
                            ValueType::Number => input id=(html_id) name={"f." (id)} inputmode="decimal" value=(now) disabled[!editable] aria-required=[fld.required.then_some("true")] aria-describedby=(msg) data-saved=[saved.as_deref()];,
                        }
                        " " span.hint id=(msg) aria-live="polite" {}
                        " " a href={"/t/" (t) "/p/" (pid) "/visit/" (visit) "/" (form) "/" (id) "/history"} { "history" span.sr { " of " (fld.label) } }
                    }
                }
                @if editable {
                    label for="reason" { "Reason for change " span.hint id="reason-hint" aria-live="polite" { @if has_values { "(required when a saved value changes)" } @else { "(needed only when changing a saved value)" } } }
                    input id="reason" name="reason" size="60" aria-describedby="reason-hint";
                    @if f.fields.iter().any(|x| x.id.get_ref() == "kit") {
                        // The record refuses a kit other than the assigned one
                        // unless this is ticked (with a reason): then it is
                        // recorded as given and flagged for the pharmacy.
                        p {
                            input id="confirm_other_kit" name="confirm_other_kit" type="checkbox" value="yes";
                            label for="confirm_other_kit" { " Another kit than the assigned one was given: record it as given (needs a reason)" }
                        }
                    }
                    p { button type="submit" { "Save" } }
                } @else {
                    p.hint { "You may view but not enter this form." }
                }
            }
            @if a.may(Action::RaiseQuery) && !v.locked {
                h2 { "Raise a query on this form" }
                @let fields: Vec<(String, String)> = f.fields.iter().map(|x| (format!("{visit}/{form}/{}", x.id.get_ref()), x.label.clone())).collect();
                (raise_query_form(&a.user, t, pid, Some(&fields)))
            }
        },
    );
    if !errors.is_empty() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

/// Messages of a save: errors (nothing saved) or warnings.
pub type Messages = Vec<String>;

/// Saves a data-entry form: every field checked, a reason for any change,
/// all or nothing. The number of events written and the warnings, or the
/// errors and warnings.
pub fn save_form(
    app: &App,
    a: &Access<'_>,
    pid: &str,
    visit: &str,
    f: &rct_core::protocol::Form,
    input: &BTreeMap<String, String>,
) -> Result<(usize, Messages), (Messages, Messages)> {
    let entry::Checked {
        values,
        errors,
        warnings,
        ..
    } = entry::check_entry(&a.protocol, f, input);
    if !errors.is_empty() {
        return Err((errors, warnings));
    }
    let Some(role) = entry_role(a, f) else {
        return Err((
            vec![format!("none of your roles may enter {}", f.label)],
            warnings,
        ));
    };
    let stored = a
        .participant(pid)
        .map(|p| p.values.clone())
        .unwrap_or_default();
    let form = f.id.get_ref();
    let mut cmds = Vec::new();
    for (field_id, value) in values {
        let key = format!("{visit}/{form}/{field_id}");
        let (participant, visit, form, field) = (
            pid.to_string(),
            visit.to_string(),
            form.clone(),
            field_id.clone(),
        );
        match stored.get(&key) {
            None if value.is_null() => {}
            None => cmds.push(Command::EnterValue {
                participant,
                visit,
                form,
                field,
                value,
            }),
            Some(old) if *old == rct_record::canonical::canonical_value(&value) => {}
            Some(_) => cmds.push(Command::ChangeValue {
                participant,
                visit,
                form,
                field,
                value,
            }),
        }
    }
    // A kit other than the assigned one is refused by the record unless
    // the person confirms it was given (the box the refusal asks for).
    if input
        .get("confirm_other_kit")
        .is_some_and(|v| !v.trim().is_empty())
    {
        for c in &mut cmds {
            if let Command::EnterValue {
                participant,
                visit,
                form,
                field,
                value,
            }
            | Command::ChangeValue {
                participant,
                visit,
                form,
                field,
                value,
            } = c
            {
                if field == "kit" {
                    *c = Command::DispenseOtherKit {
                        participant: participant.clone(),
                        visit: visit.clone(),
                        form: form.clone(),
                        field: field.clone(),
                        value: value.clone(),
                    };
                }
            }
        }
    }
    let changes = cmds.iter().any(|c| {
        matches!(
            c,
            Command::ChangeValue { .. } | Command::DispenseOtherKit { .. }
        )
    });
    let reason = input
        .get("reason")
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    if changes && reason.is_none() {
        return Err((
            vec!["Changing a saved value needs a reason; nothing was saved.".into()],
            warnings,
        ));
    }
    let who = Who {
        actor: rct_record::Actor::new(&a.user.name, role, None).running(crate::SOFTWARE),
        at: app.now(),
        reason,
    };
    if cmds.is_empty() {
        return Ok((0, warnings));
    }
    // The record's soft-range warnings, the same on every edge.
    let warnings = a.warnings(&cmds);
    match execute_all(app, &a.view.trial, &who, &cmds) {
        Ok(_) => Ok((cmds.len(), warnings)),
        Err(e) => Err((vec![e.to_string()], warnings)),
    }
}

pub async fn entry_post(
    State(s): State<AppState>,
    user: CurrentUser,
    Path((trial, pid, visit, form)): Path<(String, String, String, String)>,
    Form(input): Input,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access_to(&user, &trial, &pid)?;
        a.participant(&pid)?;
        let f = visit_form(&a, &visit, &form)?;
        if entry_role(&a, f).is_none() {
            return Err(WebError::Forbidden(format!(
                "none of your roles may enter {form}"
            )));
        }
        match save_form(app, &a, &pid, &visit, f, &input) {
            Ok((n, warnings)) => {
                let a = app.access_to(&user, &trial, &pid)?;
                Ok(entry_form(
                    &a,
                    &pid,
                    &visit,
                    f,
                    &BTreeMap::new(),
                    &[],
                    &warnings,
                    Some(n),
                ))
            }
            Err((errors, warnings)) => Ok(entry_form(
                &a, &pid, &visit, f, &input, &errors, &warnings, None,
            )),
        }
    })
    .await
}

/// Every event of a trial, parsed.
pub fn load_events(app: &App, trial: &str) -> Result<Vec<rct_record::Event>, WebError> {
    app.ledger
        .store()
        .load(trial, 0)?
        .iter()
        .map(|s| {
            s.event()
                .map_err(|e| WebError::Internal(format!("event {}: {e}", s.seq)))
        })
        .collect()
}

pub async fn field_history_page(
    State(s): State<AppState>,
    user: CurrentUser,
    Path((trial, pid, visit, form, fld)): Path<(String, String, String, String, String)>,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access_to(&user, &trial, &pid)?;
        a.participant(&pid)?;
        let f = visit_form(&a, &visit, &form)?;
        let def = f
            .fields
            .iter()
            .find(|x| x.id.get_ref() == &fld)
            .ok_or_else(|| WebError::NotFound(format!("no field `{fld}`")))?;
        let label = def.label.clone();
        // Stored values as the form shows them (derived ones rounded).
        let shown = |v: &Value| {
            if v.is_null() {
                String::new()
            } else {
                entry::field_text(def, v)
            }
        };
        let events = load_events(app, &trial)?;
        // Only audit entries the user may read, about this item.
        let hist: Vec<Value> = a
            .audit(&events)
            .into_iter()
            .filter(|e| {
                let p = &e["payload"];
                matches!(p["type"].as_str(), Some("value_entered" | "value_changed"))
                    && p["participant"] == pid.as_str()
                    && p["visit"] == visit.as_str()
                    && p["form"] == form.as_str()
                    && p["field"] == fld.as_str()
            })
            .collect();
        Ok(trial_page(
            &a,
            "Field history",
            html! {
                h1 { "History of " (label) }
                p { (pid) ", " (visit) "/" (form) "/" (fld) }
                table {
                    thead { tr { th scope="col" { "#" } th scope="col" { "When (UTC)" } th scope="col" { "Who" } th scope="col" { "Before" } th scope="col" { "After" } th scope="col" { "Reason" } } }
                    tbody { @for h in &hist {
                        @let p = &h["payload"];
                        tr {
                            td { (h["seq"]) } td { (value_text(&h["at"])) } td { (value_text(&h["actor"])) }
                            td { (shown(&p["old"])) }
                            td { @if p["type"] == "value_entered" { (shown(&p["value"])) } @else { (shown(&p["new"])) } }
                            td { (value_text(&h["reason"])) }
                        }
                    } }
                }
                p { a href={"/t/" (trial) "/p/" (pid) "/visit/" (visit) "/" (form)} { "Back to the form" } }
            },
        ))
    })
    .await
}

pub async fn audit_page(
    State(s): State<AppState>,
    user: CurrentUser,
    Path(trial): Path<String>,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        let events = load_events(app, &trial)?;
        let entries = a.audit(&events);
        let shown: Vec<&Value> = entries.iter().rev().take(200).collect();
        // The last signed checkpoint: event number, time and key only (its
        // hash commits to concealed values, so it is not shown).
        let checkpoint = app.ledger.store().latest_checkpoint(&trial)?;
        Ok(trial_page(
            &a,
            "Audit trail",
            html! {
                h1 { "Audit trail" }
                @match &checkpoint {
                    Some(cp) => p.checkpoint {
                        "Last signed checkpoint: event " (cp.seq) " at "
                        (cp.at.format("%Y-%m-%d %H:%M:%S UTC")) ", key " code { (cp.key_fingerprint()) }
                        @if cp.verify().is_err() { strong { " (its signature does not verify: run rct audit verify)" } }
                        "."
                    },
                    None => p.checkpoint { "No signed checkpoint yet." },
                }
                p { "The latest " (shown.len()) " of the " (entries.len()) " entries you may read (of " (a.seq()) " events). "
                    "Entries about sites or arms you may not see are left out or shortened." }
                table {
                    thead { tr { th scope="col" { "#" } th scope="col" { "When (UTC)" } th scope="col" { "Who" } th scope="col" { "What" } th scope="col" { "Reason" } th scope="col" { "Software" } } }
                    tbody { @for e in &shown { tr {
                        td { (e["seq"]) } td { (value_text(&e["at"])) }
                        td { (value_text(&e["actor"])) " (" (value_text(&e["role"])) ")" }
                        td { code { (e["payload"].to_string()) } }
                        td { (value_text(&e["reason"])) }
                        td { (value_text(&e["software"])) }
                    } } }
                }
            },
        ))
    })
    .await
}

// ---- queries ------------------------------------------------------------------

pub async fn queries_page(
    State(s): State<AppState>,
    user: CurrentUser,
    Path(trial): Path<String>,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        let v = &a.view;
        let mut by_site: BTreeMap<String, Vec<&rct_record::view::QueryView>> = BTreeMap::new();
        for q in v.queries.iter().filter(|q| q.status != rct_record::QueryStatus::Closed) {
            by_site.entry(q.site.clone().unwrap_or_default()).or_default().push(q);
        }
        // A query goes to the roles that enter its form: only they answer it.
        let answer = |q: &rct_record::view::QueryView| q.to.iter().any(|r| a.holds(&[*r])) && !v.locked;
        let mine = v
            .queries
            .iter()
            .filter(|q| q.status != rct_record::QueryStatus::Closed && answer(q))
            .count();
        let close = a.may(Action::CloseQuery) && !v.locked;
        Ok(trial_page(
            &a,
            "Queries",
            html! {
                h1 { "Open queries" }
                @if by_site.is_empty() { p { "No open queries." } }
                @if mine > 0 { p.notice role="status" { (mine) " of them for you to answer." } }
                @for (site, qs) in &by_site {
                    h2 { "Site " (site) }
                    table {
                        thead { tr { th scope="col" { "Query" } th scope="col" { "Participant" } th scope="col" { "Item" } th scope="col" { "Question" } th scope="col" { "Answers" } th scope="col" { "To" } th scope="col" { "Status" } th scope="col" { "Action" } } }
                        tbody { @for q in qs { tr {
                            td { (q.id) } td { a href={"/t/" (trial) "/p/" (q.participant)} { (q.participant) } }
                            td { @match q.item.as_deref().and_then(|i| i.rsplit_once('/')) {
                                Some((vf, _)) => a href={"/t/" (trial) "/p/" (q.participant) "/visit/" (vf)} { (q.item.clone().unwrap_or_default()) },
                                None => "the participant",
                            } }
                            td { (q.text) }
                            td { ul { @for ans in &q.answers { li { (ans) } } } }
                            td { (q.to.iter().map(|r| r.as_str().replace('_', " ")).collect::<Vec<_>>().join(", ")) }
                            td { (format!("{:?}", q.status).to_lowercase()) }
                            td {
                                @if answer(q) {
                                    form method="post" action={"/t/" (trial) "/queries/" (q.id) "/answer"} {
                                        (csrf(&user))
                                        label for={"ans-" (q.id)} { "Answer" }
                                        input id={"ans-" (q.id)} name="text" required;
                                        button type="submit" { "Answer" }
                                    }
                                }
                                @if close {
                                    form method="post" action={"/t/" (trial) "/queries/" (q.id) "/close"} {
                                        (csrf(&user))
                                        button.secondary type="submit" { "Close " (q.id) }
                                    }
                                }
                            }
                        } } }
                    }
                }
            },
        ))
    })
    .await
}

pub async fn raise_query(
    State(s): State<AppState>,
    user: CurrentUser,
    Path(trial): Path<String>,
    Form(input): Input,
) -> PageResult {
    App::run(&s, move |app| {
        let pid = field(&input, "participant").to_string();
        let a = app.access_to(&user, &trial, &pid)?;
        a.participant(&pid)?;
        let who = a.who(app, Action::RaiseQuery, None)?;
        let item = Some(field(&input, "item").to_string()).filter(|s| !s.is_empty());
        // The record checks the item (a field of the protocol at that visit).
        let cmd = Command::RaiseQuery {
            participant: pid,
            item,
            text: field(&input, "text").to_string(),
        };
        execute(app, &trial, &who, &cmd)?;
        Ok(redirect(&format!("/t/{trial}/queries")))
    })
    .await
}

fn query_visible(a: &Access<'_>, query: &str) -> Result<(), WebError> {
    if a.view.queries.iter().any(|q| q.id == query) {
        Ok(())
    } else {
        Err(WebError::NotFound(format!("no query `{query}`")))
    }
}

pub async fn answer_query(
    State(s): State<AppState>,
    user: CurrentUser,
    Path((trial, query)): Path<(String, String)>,
    Form(input): Input,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        query_visible(&a, &query)?;
        // In the role the query goes to, where the user holds it.
        let mut who = a.who(app, Action::AnswerQuery, None)?;
        if let Some(role) = a
            .view
            .queries
            .iter()
            .find(|q| q.id == query)
            .and_then(|q| q.to.iter().find(|r| a.holds(&[**r])))
        {
            who.actor.role = *role;
        }
        let cmd = Command::AnswerQuery {
            query,
            text: field(&input, "text").to_string(),
        };
        execute(app, &trial, &who, &cmd)?;
        Ok(redirect(&format!("/t/{trial}/queries")))
    })
    .await
}

pub async fn close_query(
    State(s): State<AppState>,
    user: CurrentUser,
    Path((trial, query)): Path<(String, String)>,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        query_visible(&a, &query)?;
        let who = a.who(app, Action::CloseQuery, None)?;
        execute(app, &trial, &who, &Command::CloseQuery { query })?;
        Ok(redirect(&format!("/t/{trial}/queries")))
    })
    .await
}

// ---- database lock ------------------------------------------------------------

pub async fn lock_page(
    State(s): State<AppState>,
    user: CurrentUser,
    Path(trial): Path<String>,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        let open = open_queries(&a);
        let may = a.may(Action::Lock);
        let may_unlock = a.may(Action::Unlock);
        Ok(trial_page(
            &a,
            "Database lock",
            html! {
                h1 { "Database lock" }
                @if a.view.locked {
                    p.notice { strong { "Locked: " } "the database is locked; no data can be entered or changed." }
                    @if may_unlock {
                        h2 { "Unlock" }
                        p { "Unlocking reopens data entry; the reason is recorded in the audit trail." }
                        form method="post" action={"/t/" (trial) "/unlock"} {
                            (csrf(&user))
                            label for="reason" { "Reason" }
                            input id="reason" name="reason" size="60" required;
                            label for="confirm" { "Type the trial id (" (trial) ") to confirm" }
                            input id="confirm" name="confirm" required;
                            p { button.danger type="submit" { "Unlock the database" } }
                        }
                    }
                }
                @else {
                    p { (open) " queries are still open." }
                    @if may {
                        form method="post" action={"/t/" (trial) "/lock"} {
                            (csrf(&user))
                            label for="reason" { "Reason" }
                            input id="reason" name="reason" size="60" required;
                            label for="confirm" { "Type the trial id (" (trial) ") to confirm" }
                            input id="confirm" name="confirm" required;
                            p { button.danger type="submit" { "Lock the database" } }
                        }
                    } @else { p { "Only the data manager locks the database." } }
                }
            },
        ))
    })
    .await
}

pub async fn lock_post(
    State(s): State<AppState>,
    user: CurrentUser,
    Path(trial): Path<String>,
    Form(input): Input,
) -> PageResult {
    lock_change(s, user, trial, input, true).await
}

pub async fn unlock_post(
    State(s): State<AppState>,
    user: CurrentUser,
    Path(trial): Path<String>,
    Form(input): Input,
) -> PageResult {
    lock_change(s, user, trial, input, false).await
}

/// Locks (`lock`) or unlocks the database: the role's permission, a reason,
/// and the trial id typed to confirm.
async fn lock_change(
    s: AppState,
    user: CurrentUser,
    trial: String,
    input: BTreeMap<String, String>,
    lock: bool,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        let (action, command, word) = if lock {
            (Action::Lock, Command::Lock, "lock")
        } else {
            (Action::Unlock, Command::Unlock, "unlock")
        };
        let who = a.who(app, action, Some(field(&input, "reason").to_string()))?;
        if field(&input, "confirm") != trial {
            return Err(WebError::BadRequest(format!(
                "type the trial id to confirm the {word}"
            )));
        }
        execute(app, &trial, &who, &command)?;
        Ok(redirect(&if lock {
            format!("/t/{trial}")
        } else {
            format!("/t/{trial}/lock")
        }))
    })
    .await
}

// ---- administration -----------------------------------------------------------

pub async fn admin_page(
    State(s): State<AppState>,
    user: CurrentUser,
    Path(trial): Path<String>,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        a.who(app, Action::GrantRole, None)?;
        let users = a.view.users.clone().unwrap_or_default();
        Ok(trial_page(
            &a,
            "Users, roles and sites",
            html! {
                h1 { "Users, roles and sites" }
                (crate::notices::unblinded_grants(&a.view))
                table {
                    caption { "Accounts" }
                    thead { tr { th scope="col" { "User" } th scope="col" { "Name" } th scope="col" { "Roles" } th scope="col" { "Failed logins" } th scope="col" { "Status" } th scope="col" { "Actions" } } }
                    tbody { @for u in &users { tr {
                        td { (u.user) } td { (u.display_name) }
                        td { ul { @for g in &u.roles { li {
                            (g.role) " — " @match &g.sites { Sites::All => "all sites", Sites::Only(l) => (l.join(", ")) }
                            form method="post" action={"/t/" (trial) "/admin/roles/revoke"} {
                                (csrf(&user))
                                input type="hidden" name="user" value=(u.user);
                                input type="hidden" name="role" value=(g.role.as_str());
                                button.secondary type="submit" { "Revoke " (g.role) }
                            }
                        } } } }
                        td { (u.failed_logins) }
                        td { @if u.locked { strong.bad { "locked" } } @else { "active" } }
                        td {
                            @if u.locked {
                                form method="post" action={"/t/" (trial) "/admin/users/" (u.user) "/unlock"} {
                                    (csrf(&user)) button type="submit" { "Unlock " (u.user) }
                                }
                            }
                            form method="post" action={"/t/" (trial) "/admin/users/" (u.user) "/password"} {
                                (csrf(&user))
                                label for={"pw-" (u.user)} { "New password for " (u.user) }
                                input id={"pw-" (u.user)} name="password" type="password" autocomplete="new-password" minlength="10" required;
                                button.secondary type="submit" { "Set" }
                            }
                        }
                    } } }
                }
                h2 { "Create an account" }
                form method="post" action={"/t/" (trial) "/admin/users"} {
                    (csrf(&user))
                    label for="n-user" { "User name" }
                    input id="n-user" name="user" required;
                    label for="n-name" { "Full name" }
                    input id="n-name" name="display_name";
                    label for="n-pw" { "Initial password " span.hint { "(at least 10 characters; an account that exists in another trial keeps its password)" } }
                    input id="n-pw" name="password" type="password" autocomplete="new-password";
                    p { button type="submit" { "Create" } }
                }
                h2 { "Grant a role" }
                form method="post" action={"/t/" (trial) "/admin/roles"} {
                    (csrf(&user))
                    label for="g-user" { "User" }
                    select id="g-user" name="user" { @for u in &users { option value=(u.user) { (u.user) } } }
                    label for="g-role" { "Role" }
                    select id="g-role" name="role" { @for r in Role::ALL.iter().filter(|r| **r != Role::System) { option value=(r.as_str()) { (r) } } }
                    fieldset {
                        legend { "Sites" }
                        label { input type="checkbox" name="all_sites" value="yes"; " All sites" }
                        @for site in &a.view.sites {
                            label { input type="checkbox" name={"site." (site.site)} value="yes"; " " (site.name) }
                        }
                    }
                    p { button type="submit" { "Grant" } }
                }
                h2 { "Sites" }
                ul { @for site in &a.view.sites { li { (site.site) ": " (site.name) } } }
                form method="post" action={"/t/" (trial) "/admin/sites"} {
                    (csrf(&user))
                    label for="s-id" { "Site identifier" }
                    input id="s-id" name="site" required;
                    label for="s-name" { "Site name" }
                    input id="s-name" name="name" required;
                    p { button type="submit" { "Add site" } }
                }
            },
        ))
    })
    .await
}

pub async fn grant_post(
    State(s): State<AppState>,
    user: CurrentUser,
    Path(trial): Path<String>,
    Form(input): Input,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        let who = a.who(app, Action::GrantRole, None)?;
        let target = field(&input, "user").to_string();
        let role: Role = field(&input, "role")
            .parse()
            .map_err(WebError::BadRequest)?;
        let sites = if field(&input, "all_sites") == "yes" {
            Sites::All
        } else {
            Sites::Only(
                a.view
                    .sites
                    .iter()
                    .map(|s| s.site.clone())
                    .filter(|id| field(&input, &format!("site.{id}")) == "yes")
                    .collect(),
            )
        };
        execute(
            app,
            &trial,
            &who,
            &Command::GrantRole {
                user: target,
                role,
                sites,
            },
        )?;
        Ok(redirect(&format!("/t/{trial}/admin")))
    })
    .await
}

pub async fn revoke_post(
    State(s): State<AppState>,
    user: CurrentUser,
    Path(trial): Path<String>,
    Form(input): Input,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        let who = a.who(app, Action::RevokeRole, None)?;
        let target = field(&input, "user").to_string();
        let role: Role = field(&input, "role")
            .parse()
            .map_err(WebError::BadRequest)?;
        execute(
            app,
            &trial,
            &who,
            &Command::RevokeRole { user: target, role },
        )?;
        Ok(redirect(&format!("/t/{trial}/admin")))
    })
    .await
}

pub async fn add_site(
    State(s): State<AppState>,
    user: CurrentUser,
    Path(trial): Path<String>,
    Form(input): Input,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        let who = a.who(app, Action::AddSite, None)?;
        let cmd = Command::AddSite {
            site: field(&input, "site").to_string(),
            name: field(&input, "name").to_string(),
        };
        execute(app, &trial, &who, &cmd)?;
        Ok(redirect(&format!("/t/{trial}/admin")))
    })
    .await
}

pub async fn create_user(
    State(s): State<AppState>,
    user: CurrentUser,
    Path(trial): Path<String>,
    Form(input): Input,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        let who = a.who(app, Action::CreateUser, None)?;
        let pw = input.get("password").map_or("", String::as_str);
        crate::accounts::create(
            app,
            &trial,
            &who,
            field(&input, "user"),
            field(&input, "display_name"),
            pw,
        )?;
        Ok(redirect(&format!("/t/{trial}/admin")))
    })
    .await
}

pub async fn unlock_user(
    State(s): State<AppState>,
    user: CurrentUser,
    Path((trial, name)): Path<(String, String)>,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        let who = a.who(app, Action::UnlockUser, None)?;
        crate::accounts::unlock(app, &who, &name)?;
        Ok(redirect(&format!("/t/{trial}/admin")))
    })
    .await
}

pub async fn set_password(
    State(s): State<AppState>,
    user: CurrentUser,
    Path((trial, name)): Path<(String, String)>,
    Form(input): Input,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        let who = a.who(app, Action::ChangePassword, None)?;
        let pw = input.get("password").map_or("", String::as_str);
        crate::accounts::set_password(app, &who, &name, pw)?;
        Ok(redirect(&format!("/t/{trial}/admin")))
    })
    .await
}
