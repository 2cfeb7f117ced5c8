//! Unblinding governance pages: the analysis plan and the trial's
//! unblinding (`/t/{trial}/governance`), the data monitoring committee's
//! safety tables (`/t/{trial}/dmc` and its API answer, for the `dmc` role
//! only) and the pharmacovigilance code-break of one participant
//! (`/t/{trial}/p/{pid}/safety-unblind`). Rendered from
//! `TrialState::governance_view` and `TrialState::safety_view`; every
//! write is a checked `rct_record::Command`.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::{Form, Json};
use maud::html;
use rct_record::{sha256_hex, Action, Command, Role};
use serde_json::Value;

use crate::commands::execute;
use crate::error::ApiError;
use crate::html::csrf;
use crate::pages::trial_page;
use crate::{Access, App, AppState, CurrentUser, WebError};

use crate::pages::{field, Input, PageResult};

/// Largest analysis plan text accepted in the form (the digest is what is
/// recorded; the plan itself is kept elsewhere).
pub const MAX_PLAN_TEXT: usize = 200 * 1024;

/// The user's password, checked again before a code-break or an
/// unblinding (as for emergency unblinding).
fn check_password(
    app: &App,
    user: &CurrentUser,
    input: &BTreeMap<String, String>,
) -> Result<(), WebError> {
    let found = crate::accounts::find(app, &user.name)?.ok_or(WebError::Unauthenticated)?;
    let password = input.get("password").map_or("", String::as_str);
    if found.locked || !crate::accounts::verify(app, &found, password) {
        return Err(WebError::Forbidden(
            "the password is wrong; nothing was recorded or revealed".into(),
        ));
    }
    Ok(())
}

fn may_act(a: &Access<'_>) -> (bool, bool) {
    (
        a.may(Action::FinaliseSap),
        a.may(Action::RequestUnblinding) || a.may(Action::ApproveUnblinding),
    )
}

/// The analysis plan versions, the unblinding's state and its flags.
pub async fn governance_page(
    State(s): State<AppState>,
    user: CurrentUser,
    Path(trial): Path<String>,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        let g = a
            .state
            .governance_view(&user.name)
            .ok_or_else(|| WebError::NotFound(format!("no trial `{trial}`")))?;
        let (may_sap, may_unblind) = may_act(&a);
        let when = |t: &chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M").to_string();
        Ok(trial_page(
            &a,
            "Analysis plan and unblinding",
            html! {
                h1 { "Analysis plan and unblinding" }
                @for f in &g.flags { p.alert role="alert" { strong { "Flag: " } (f) } }
                h2 { "Statistical analysis plan" }
                @if g.saps.is_empty() { p { "No version is recorded as final yet." } }
                @else {
                    table {
                        thead { tr { th scope="col" { "Version" } th scope="col" { "SHA-256" } th scope="col" { "Recorded by" } th scope="col" { "When (UTC)" } th scope="col" { "Note" } } }
                        tbody { @for v in &g.saps { tr {
                            td { (v.version) } td { code { (v.digest) } } td { (v.by) } td.date { (when(&v.at)) }
                            td { @if v.after_unblinding { span.bad { "after unblinding" } } }
                        } } }
                    }
                }
                @if may_sap {
                    form method="post" action={"/t/" (trial) "/governance/sap"} {
                        (csrf(&user))
                        label for="version" { "Version" }
                        input id="version" name="version" size="12" required;
                        label for="digest" { "SHA-256 of the plan's file " span.hint { "(64 hex digits, e.g. from sha256sum; or paste the text below)" } }
                        input id="digest" name="digest" size="70";
                        label for="text" { "Or the plan's text" }
                        textarea id="text" name="text" rows="6" cols="70" {}
                        p { button type="submit" { "Record this version as final" } }
                    }
                }
                h2 { "Unblinding of the trial" }
                @if !g.blinded { p { "The trial is open-label; there is nothing to unblind." } }
                @else if let Some(u) = &g.unblinding {
                    p.notice { "Unblinded at " (when(&u.approved.at)) " UTC under analysis plan version " (u.approved.sap_version)
                        ": requested by " (u.requested.user) " (" (u.requested.role) "), approved by " (u.approved.user) " (" (u.approved.role) ")." }
                } @else {
                    p { "Locking the database unblinds nobody. The trial is unblinded when the analysis plan is final, the database is locked, "
                        "and two people in two roles (the sponsor's representative and the trial statistician) authorise it: one requests, the other approves." }
                    @if !g.missing.is_empty() { ul { @for m in &g.missing { li { "Still needed: " (m) } } } }
                    @if let Some(p) = &g.pending {
                        p.warning { "Requested by " (p.user) " (" (p.role) ") at " (when(&p.at)) " UTC under plan version " (p.sap_version) "; waiting for the approval of another person in another role." }
                    }
                    @if may_unblind {
                        form method="post" action={"/t/" (trial) "/governance/unblind"} {
                            (csrf(&user))
                            label for="reason" { "Reason " span.hint { "(optional)" } }
                            input id="reason" name="reason" size="60";
                            label for="confirm" { "Type the trial id (" (trial) ") to confirm" }
                            input id="confirm" name="confirm" required;
                            label for="password" { "Your password, again" }
                            input id="password" name="password" type="password" autocomplete="current-password" required;
                            p { button.danger type="submit" {
                                @if g.pending.is_some() { "Approve the unblinding" } @else { "Request the unblinding" } } }
                        }
                    }
                }
                @if !g.code_break_lists.is_empty() {
                    h2 { "Sealed code-break lists produced" }
                    ul { @for l in &g.code_break_lists { li { (when(&l.at)) " UTC by " (l.by) ": " (l.entries) " entries" } } }
                }
            },
        ))
    })
    .await
}

/// Records an analysis plan version as final (statistician).
pub async fn sap_post(
    State(s): State<AppState>,
    user: CurrentUser,
    Path(trial): Path<String>,
    Form(input): Input,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        let who = a.who(app, Action::FinaliseSap, None)?;
        let text = input.get("text").map_or("", String::as_str);
        let given = field(&input, "digest");
        let digest = if !given.is_empty() {
            given.to_ascii_lowercase()
        } else if !text.trim().is_empty() {
            if text.len() > MAX_PLAN_TEXT {
                return Err(WebError::BadRequest(format!(
                    "the plan's text is longer than {} kB; give the SHA-256 of its file instead",
                    MAX_PLAN_TEXT / 1024
                )));
            }
            sha256_hex(text.as_bytes())
        } else {
            return Err(WebError::BadRequest(
                "give the plan's SHA-256 or its text".into(),
            ));
        };
        let cmd = Command::FinaliseSap {
            version: field(&input, "version").to_string(),
            digest,
        };
        execute(app, &trial, &who, &cmd)?;
        Ok(Redirect::to(&format!("/t/{trial}/governance")).into_response())
    })
    .await
}

/// Requests the trial's unblinding, or approves a request standing
/// (sponsor, statistician), after the password and the typed trial id.
pub async fn unblind_trial_post(
    State(s): State<AppState>,
    user: CurrentUser,
    Path(trial): Path<String>,
    Form(input): Input,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        let pending = a.state.governance.pending.is_some();
        let (action, cmd) = if pending {
            (Action::ApproveUnblinding, Command::ApproveUnblinding)
        } else {
            (Action::RequestUnblinding, Command::RequestUnblinding)
        };
        let mut who = a.who(app, action, Some(field(&input, "reason").to_string()))?;
        // Approving as the role the request was not made in, when the user
        // holds both (the record then refuses the same person anyway).
        if let Some(p) = &a.state.governance.pending {
            if let Some(other) = a
                .grants
                .iter()
                .map(|(r, _)| *r)
                .find(|r| *r != p.role && action.permits(*r))
            {
                who.actor.role = other;
            }
        }
        if field(&input, "confirm") != trial {
            return Err(WebError::BadRequest(
                "type the trial id to confirm the unblinding".into(),
            ));
        }
        check_password(app, &user, &input)?;
        execute(app, &trial, &who, &cmd)?;
        Ok(Redirect::to(&format!("/t/{trial}/governance")).into_response())
    })
    .await
}

fn dmc_only(
    a: &Access<'_>,
    user: &CurrentUser,
) -> Result<rct_record::governance::SafetyView, WebError> {
    if !a.holds(&[Role::Dmc]) {
        return Err(WebError::Forbidden(
            "the committee's safety tables are for the data monitoring committee only".into(),
        ));
    }
    a.state
        .safety_view(&user.name)
        .ok_or_else(|| WebError::Forbidden("no data monitoring committee grant".into()))
}

/// The data monitoring committee's safety tables by arm (dmc only; viewing
/// writes no event).
pub async fn dmc_page(
    State(s): State<AppState>,
    user: CurrentUser,
    Path(trial): Path<String>,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        let v = dmc_only(&a, &user)?;
        let row = |label: &str, f: fn(&rct_record::governance::SafetyArm) -> u64| {
            html! { tr { th scope="row" { (label) } @for c in &v.arms { td { (f(c)) } } } }
        };
        Ok(trial_page(
            &a,
            "Safety tables by arm",
            html! {
                h1 { "Safety tables by arm" }
                p.warning { "Confidential to the data monitoring committee: do not share with the trial team. "
                    "Looking at this page is not recorded in the trial's audit trail, so nobody else can tell." }
                table {
                    caption { "Counts by arm (adverse-event forms: "
                        @if v.forms.is_empty() { "none recorded yet" } @else { (v.forms.join(", ")) } ")" }
                    thead { tr { th scope="col" { "" } @for c in &v.arms { th scope="col" { (c.arm_name) " " span.hint { "(" (c.arm) ")" } } } } }
                    tbody {
                        (row("Randomised", |c| c.randomised))
                        (row("Withdrawn", |c| c.withdrawn))
                        (row("Participants with an adverse event", |c| c.with_adverse_event))
                        (row("Adverse-event form entries", |c| c.adverse_event_entries))
                        (row("Serious entries", |c| c.serious_entries))
                        (row("Participants with a serious event", |c| c.with_serious_event))
                    }
                }
            },
        ))
    })
    .await
}

/// The same tables as JSON (dmc only).
pub async fn dmc_api(
    State(s): State<AppState>,
    user: CurrentUser,
    Path(trial): Path<String>,
) -> Result<Json<Value>, ApiError> {
    App::run(&s, move |app| {
        let a = app.access(&user, &trial)?;
        let v = dmc_only(&a, &user)?;
        serde_json::to_value(&v).map_err(|e| WebError::Internal(format!("encoding: {e}")))
    })
    .await
    .map(Json)
    .map_err(ApiError)
}

/// The pharmacovigilance code-break form.
pub async fn safety_unblind_page(
    State(s): State<AppState>,
    user: CurrentUser,
    Path((trial, pid)): Path<(String, String)>,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access_to(&user, &trial, &pid)?;
        a.participant(&pid)?;
        a.who(app, Action::SafetyCodeBreak, None)?;
        Ok(trial_page(
            &a,
            "Code-break for an expedited safety report",
            html! {
                h1 { "Code-break of " (pid) " for an expedited safety report" }
                p.warning { "For a suspected unexpected serious adverse reaction (ICH E2A). The arm is shown to you alone; "
                    "the site is not told, and administrators, monitors and data managers see that a code was broken, not for whom." }
                form method="post" action={"/t/" (trial) "/p/" (pid) "/safety-unblind"} {
                    (csrf(&user))
                    label for="reason" { "Reason (the report's reference)" }
                    textarea id="reason" name="reason" rows="3" cols="60" required {}
                    label for="password" { "Your password, again" }
                    input id="password" name="password" type="password" autocomplete="current-password" required;
                    p { button.danger type="submit" { "Reveal the allocation to me" } }
                }
            },
        ))
    })
    .await
}

/// Breaks the code of one participant for pharmacovigilance.
pub async fn safety_unblind_post(
    State(s): State<AppState>,
    user: CurrentUser,
    Path((trial, pid)): Path<(String, String)>,
    Form(input): Input,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access_to(&user, &trial, &pid)?;
        a.participant(&pid)?;
        let who = a.who(
            app,
            Action::SafetyCodeBreak,
            Some(field(&input, "reason").to_string()),
        )?;
        check_password(app, &user, &input)?;
        execute(
            app,
            &trial,
            &who,
            &Command::SafetyCodeBreak {
                participant: pid.clone(),
            },
        )?;
        Ok(Redirect::to(&format!("/t/{trial}/p/{pid}")).into_response())
    })
    .await
}
