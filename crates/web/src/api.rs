//! The JSON API under `/api/`: every answer is serialised from the role's
//! view, never from the trial state.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::capture::{save_form, screen_lenient, visit_form};
use crate::error::ApiError;
use crate::routes::ROUTES;
use crate::{App, AppState, CurrentUser, WebError};

type ApiResult = Result<Json<Value>, ApiError>;

async fn run<F>(s: &AppState, f: F) -> ApiResult
where
    F: FnOnce(&App) -> Result<Value, WebError> + Send + 'static,
{
    App::run(s, f).await.map(Json).map_err(ApiError)
}

pub async fn me(State(s): State<AppState>, user: CurrentUser) -> ApiResult {
    run(&s, move |app| {
        let mut trials = Vec::new();
        for t in app.trial_ids()? {
            if let Ok(a) = app.access(&user, &t) {
                trials.push(json!({"trial": t, "roles": a.view.roles}));
            }
        }
        Ok(json!({"user": user.name, "trials": trials}))
    })
    .await
}

pub async fn trials(State(s): State<AppState>, user: CurrentUser) -> ApiResult {
    run(&s, move |app| {
        let mut out = Vec::new();
        for t in app.trial_ids()? {
            if let Ok(a) = app.access(&user, &t) {
                let v = &a.view;
                out.push(json!({"trial": v.trial, "title": v.title, "roles": v.roles, "blinded": v.blinded, "locked": v.locked}));
            }
        }
        Ok(Value::Array(out))
    })
    .await
}

pub async fn trial(
    State(s): State<AppState>,
    user: CurrentUser,
    Path(trial): Path<String>,
) -> ApiResult {
    run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        let mut v = serde_json::to_value(&a.view).unwrap_or(Value::Null);
        // The trial answer is the view without its long lists (they have routes of their own).
        if let Value::Object(m) = &mut v {
            m.shift_remove("participants");
            m.shift_remove("queries");
            m.insert(
                "target_enrolment".into(),
                json!(a.protocol.trial.target_enrolment.get_ref()),
            );
        }
        Ok(v)
    })
    .await
}

/// Largest page of the participants answer.
pub const MAX_PER_PAGE: usize = 1000;

/// The participants of the user's sites: all of them, or with `?page=N`
/// (1-based) one page of `per_page` (default 100, at most
/// [`MAX_PER_PAGE`]). The header `X-Total-Count` carries the number of
/// participants either way. Serialised straight from the cached view.
pub async fn participants(
    State(s): State<AppState>,
    user: CurrentUser,
    Path(trial): Path<String>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    App::run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        let all = &a.view.participants;
        let number = |key: &str, default: usize| -> Result<usize, WebError> {
            match q.get(key) {
                None => Ok(default),
                Some(v) => v.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    WebError::BadRequest(format!("{key} must be a whole number from 1, not `{v}`"))
                }),
            }
        };
        let shown = if q.contains_key("page") {
            let page = number("page", 1)?;
            let per = number("per_page", crate::PAGE_SIZE)?.min(MAX_PER_PAGE);
            let start = (page - 1).saturating_mul(per).min(all.len());
            &all[start..start.saturating_add(per).min(all.len())]
        } else {
            &all[..]
        };
        let body =
            serde_json::to_vec(shown).map_err(|e| WebError::Internal(format!("encoding: {e}")))?;
        Ok((
            [
                (header::CONTENT_TYPE, "application/json".to_string()),
                (
                    header::HeaderName::from_static("x-total-count"),
                    all.len().to_string(),
                ),
            ],
            body,
        )
            .into_response())
    })
    .await
    .map_err(ApiError)
}

pub async fn participant(
    State(s): State<AppState>,
    user: CurrentUser,
    Path((trial, pid)): Path<(String, String)>,
) -> ApiResult {
    run(&s, move |app| {
        let a = app.access_to(&user, &trial, &pid)?;
        let p = a.participant(&pid)?;
        let schedule = p.randomised_at.map(|r| {
            crate::entry::schedule(
                &a.protocol,
                r.date_naive(),
                app.now().date_naive(),
                &p.values,
            )
        });
        Ok(json!({"participant": p, "schedule": schedule}))
    })
    .await
}

pub async fn queries(
    State(s): State<AppState>,
    user: CurrentUser,
    Path(trial): Path<String>,
) -> ApiResult {
    run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        Ok(serde_json::to_value(&a.view.queries).unwrap_or(Value::Null))
    })
    .await
}

pub async fn audit(
    State(s): State<AppState>,
    user: CurrentUser,
    Path(trial): Path<String>,
) -> ApiResult {
    run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        let events = crate::capture::load_events(app, &trial)?;
        Ok(Value::Array(a.audit(&events)))
    })
    .await
}

/// Body of the live screening call.
#[derive(Debug, Deserialize)]
pub struct EvaluateBody {
    /// Form fields by fact id (as typed).
    #[serde(default)]
    pub facts: BTreeMap<String, String>,
    /// Upper limits of normal by fact id (as typed).
    #[serde(default)]
    pub uln: BTreeMap<String, String>,
    /// Screening date (defaults to today).
    #[serde(default)]
    pub screening_date: Option<String>,
}

pub async fn evaluate(
    State(s): State<AppState>,
    user: CurrentUser,
    Path(trial): Path<String>,
    Json(body): Json<EvaluateBody>,
) -> ApiResult {
    run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        a.who(app, rct_record::Action::Screen, None)?;
        let input: BTreeMap<String, String> = body
            .facts
            .iter()
            .map(|(k, v)| (format!("f.{k}"), v.clone()))
            .chain(body.uln.iter().map(|(k, v)| (format!("u.{k}"), v.clone())))
            .collect();
        let date = body
            .screening_date
            .clone()
            .filter(|d| !d.trim().is_empty())
            .or_else(|| body.facts.get("screening_date").cloned())
            .unwrap_or_else(|| app.now().date_naive().to_string());
        // Facts typed so that they do not read are left out and reported,
        // so the verdict never rests on a value shown as wrong.
        let (verdict, criteria, problems) = screen_lenient(&a, &input, &date)?;
        let criteria: Vec<Value> = criteria
            .iter()
            .map(|c| json!({"id": c.criterion, "result": c.result}))
            .collect();
        Ok(json!({"verdict": verdict.word(), "criteria": criteria, "problems": problems}))
    })
    .await
}

/// Body of a command call: one `rct_record::Command` as JSON (the record's
/// own shape, e.g. `{"command": "randomise", "participant": "P1"}`) and the
/// reason, where the command needs one.
#[derive(Debug, Deserialize)]
pub struct CommandBody {
    /// The command.
    pub command: rct_record::Command,
    /// Why (changes, withdrawals, the explanation of a code-break, lock).
    #[serde(default)]
    pub reason: Option<String>,
    /// The user's password again: an emergency unblinding needs it.
    #[serde(default)]
    pub password: Option<String>,
}

/// Runs one command as the user, in the first role they hold that may take
/// it: the record checks it exactly as for the pages and the command line.
/// Accepted: the last event's number and the record's soft-range
/// warnings. Refused: the record's reason. Only data commands are taken
/// (screening, consent, randomisation, values, kits, queries, sessions,
/// withdrawal), and emergency unblinding with `password` (the user's, again)
/// and its later explanation.
pub async fn command(
    State(s): State<AppState>,
    user: CurrentUser,
    Path(trial): Path<String>,
    Json(body): Json<CommandBody>,
) -> ApiResult {
    use rct_record::Command as C;
    run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        // Data commands and emergency unblinding (with the password again)
        // only: registration, accounts, logins, the lock and governance keep
        // their pages, which ask for what these need besides the command
        // (the trial's name typed, two people).
        if !matches!(
            body.command,
            C::Screen { .. }
                | C::Consent { .. }
                | C::Randomise { .. }
                | C::EnterValue { .. }
                | C::ChangeValue { .. }
                | C::DispenseOtherKit { .. }
                | C::RaiseQuery { .. }
                | C::AnswerQuery { .. }
                | C::CloseQuery { .. }
                | C::RecordSession { .. }
                | C::DeclineConsent { .. }
                | C::Withdraw { .. }
                | C::StopIntervention { .. }
                | C::EmergencyUnblind { .. }
                | C::ExplainUnblinding { .. }
        ) {
            return Err(WebError::BadRequest(format!(
                "`{}` is not taken by this call; use its page",
                body.command.action().describe()
            )));
        }
        let who = a.who(app, body.command.action(), body.reason.clone())?;
        if matches!(body.command, C::EmergencyUnblind { .. }) {
            crate::unblinding::password_again(
                app,
                &user.name,
                body.password.as_deref().unwrap_or(""),
            )?;
        }
        let warnings = a.warnings(std::slice::from_ref(&body.command));
        let seq = crate::commands::execute(app, &trial, &who, &body.command)?;
        Ok(json!({"accepted": true, "seq": seq, "warnings": warnings}))
    })
    .await
}

/// Body of the live derived-fields call and of the JSON save.
#[derive(Debug, Deserialize)]
pub struct ValuesBody {
    /// Field values as typed.
    #[serde(default)]
    pub values: BTreeMap<String, String>,
    /// Reason for changes (saves only).
    #[serde(default)]
    pub reason: Option<String>,
}

pub async fn derive(
    State(s): State<AppState>,
    user: CurrentUser,
    Path((trial, pid, visit, form)): Path<(String, String, String, String)>,
    Json(body): Json<ValuesBody>,
) -> ApiResult {
    run(&s, move |app| {
        let a = app.access_to(&user, &trial, &pid)?;
        a.participant(&pid)?;
        let f = visit_form(&a, &visit, &form)?;
        let input: BTreeMap<String, String> = body
            .values
            .iter()
            .map(|(k, v)| (format!("f.{k}"), v.clone()))
            .collect();
        let checked = crate::entry::check_entry(&a.protocol, f, &input);
        // Messages only for fields typed so far (an empty form is not an error).
        let messages: BTreeMap<&String, &String> = checked
            .messages
            .iter()
            .filter(|(k, _)| body.values.get(*k).is_some_and(|v| !v.trim().is_empty()))
            .collect();
        // Derived values rounded to the field's decimals, and as the page shows them.
        let derived: BTreeMap<&String, Value> = f
            .fields
            .iter()
            .filter_map(|fld| {
                let id = fld.id.get_ref();
                let v = checked.derived.get(id)?;
                Some((id, v.as_ref().map_or(Value::Null, |x| crate::entry::rounded(fld, x))))
            })
            .collect();
        let refused: Vec<&String> = checked
            .refused
            .iter()
            .filter(|k| messages.contains_key(k))
            .collect();
        Ok(json!({"derived": derived, "shown": checked.shown, "messages": messages, "refused": refused}))
    })
    .await
}

pub async fn save_values(
    State(s): State<AppState>,
    user: CurrentUser,
    Path((trial, pid, visit, form)): Path<(String, String, String, String)>,
    Json(body): Json<ValuesBody>,
) -> ApiResult {
    run(&s, move |app| {
        let a = app.access_to(&user, &trial, &pid)?;
        a.participant(&pid)?;
        let f = visit_form(&a, &visit, &form)?;
        if crate::capture::entry_role(&a, f).is_none() {
            return Err(WebError::Forbidden(format!(
                "none of your roles may enter {form}"
            )));
        }
        let mut input: BTreeMap<String, String> = body
            .values
            .iter()
            .map(|(k, v)| (format!("f.{k}"), v.clone()))
            .collect();
        if let Some(r) = &body.reason {
            input.insert("reason".into(), r.clone());
        }
        match save_form(app, &a, &pid, &visit, f, &input) {
            Ok((n, warnings)) => Ok(json!({"saved": n, "warnings": warnings})),
            Err((errors, _)) => Err(WebError::BadRequest(errors.join("; "))),
        }
    })
    .await
}

/// The OpenAPI 3 document, generated from the route table.
pub async fn openapi() -> Json<Value> {
    Json(openapi_document())
}

/// Builds the OpenAPI document listing every `/api/` route of [`ROUTES`].
pub fn openapi_document() -> Value {
    let mut paths = serde_json::Map::new();
    for r in ROUTES.iter().filter(|r| r.path.starts_with("/api/")) {
        let params: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut op = json!({
            "summary": r.summary,
            "operationId": format!("{}_{}", r.method.to_lowercase(), r.path.trim_start_matches("/api/").replace(['/', '{', '}'], "_")),
            "parameters": params,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                "401": {"description": "Not logged in"},
                "403": {"description": "Not allowed, or CSRF token missing"},
                "404": {"description": "No such resource, or not in the user's sites"}
            }
        });
        if r.public {
            op["security"] = json!([]);
        }
        if r.method == "POST" {
            op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"type": "object"}}}});
            if let Some(p) = op["parameters"].as_array_mut() {
                p.push(json!({"name": "X-CSRF-Token", "in": "header", "required": true, "schema": {"type": "string"}}));
            }
        }
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        entry[r.method.to_lowercase()] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "rct", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Randomised controlled trials: every answer is the caller's role view (blinded roles never receive arms)."},
        "components": {"securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": crate::SESSION_COOKIE}}},
        "security": [{"session": []}],
        "paths": paths,
    })
}
