//! Emergency unblinding: the code-break form (a reason category from the
//! protocol and the password again, nothing slower), the written
//! explanation that may follow, and the reminders shown until it is given.
//! The record decides (categories, the explanation's minimum, who may
//! explain); these pages only parse and render. A reminder names who broke
//! the code, for whom and when, never the arm.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use rct_record::state::Unblinding;
use rct_record::{Action, Command, TrialView};

use crate::commands::execute;
use crate::html::csrf;
use crate::pages::trial_page;
use crate::{App, AppState, CurrentUser, WebError};

use crate::pages::{field, Input, PageResult};

/// Refuses unless `password` is the user's own (a code-break asks it again).
pub(crate) fn password_again(app: &App, user: &str, password: &str) -> Result<(), WebError> {
    let found = crate::accounts::find(app, user)?.ok_or(WebError::Unauthenticated)?;
    if found.locked || !crate::accounts::verify(app, &found, password) {
        return Err(WebError::Forbidden(
            "the password is wrong; nothing was revealed".into(),
        ));
    }
    Ok(())
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// One code-break's explanation state: given, awaited, or overdue at `now`.
pub fn explanation_state(u: &Unblinding, now: DateTime<Utc>) -> Markup {
    html! {
        @if let Some(r) = &u.reason { (r) }
        @else if u.overdue(now) {
            strong.bad { "explanation overdue" } " (due " (when(u.explain_by)) ")"
        } @else {
            "explanation awaited (due " (when(u.explain_by)) ")"
        }
    }
}

/// The reminders of `v`'s reader: their own code-breaks awaiting a written
/// explanation (each with its form), and, for monitors, data managers and
/// administrators, everyone's that are still unexplained.
pub fn reminders(v: &TrialView, user: &CurrentUser, now: DateTime<Utc>) -> Markup {
    let others: Vec<&Unblinding> = v
        .unblindings
        .iter()
        .flatten()
        .filter(|u| u.awaits_explanation() && u.user != user.name)
        .collect();
    html! {
        @for u in &v.my_unexplained_unblindings {
            div.alert role="alert" id={"explain-" (u.participant)} {
                p { strong { @if u.overdue(now) { "Overdue: " } @else { "Reminder: " } }
                    "explain your emergency code-break of " (u.participant) " on " (when(u.at))
                    @if let Some(c) = &u.category { " (" (c) ")" }
                    "; due " (when(u.explain_by)) "." }
                form method="post" action={"/t/" (v.trial) "/p/" (u.participant) "/unblind/explain"} {
                    (csrf(user))
                    label for={"explanation-" (u.participant)} { "Explanation (at least 10 characters and two words)" }
                    textarea id={"explanation-" (u.participant)} name="explanation" rows="3" cols="60" required {}
                    p { button type="submit" { "Record the explanation" } }
                }
            }
        }
        @if !others.is_empty() {
            div.warning role="status" id="unexplained-unblindings" {
                p { strong { "Code-breaks awaiting an explanation: " } (others.len()) }
                ul { @for u in &others { li {
                    (u.user) " for " (u.participant) " on " (when(u.at)) " — " (explanation_state(u, now))
                } } }
            }
        }
    }
}

pub async fn unblind_page(
    State(s): State<AppState>,
    user: CurrentUser,
    Path((trial, pid)): Path<(String, String)>,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access_to(&user, &trial, &pid)?;
        a.participant(&pid)?;
        a.who(app, Action::EmergencyUnblind, None)?;
        let hours = a.protocol.unblinding.explain_within_hours();
        Ok(trial_page(
            &a,
            "Emergency unblinding",
            html! {
                h1 { "Emergency unblinding of " (pid) }
                p.warning { "Break the code only when the participant's care depends on knowing the treatment. "
                    "The arm is shown to you alone, the code-break is recorded with its category, and administrators and monitors see it on their dashboard." }
                form method="post" action={"/t/" (trial) "/p/" (pid) "/unblind"} {
                    (csrf(&user))
                    label for="category" { "Reason" }
                    select id="category" name="category" required {
                        @for c in &a.view.unblinding_categories { option value=(c) { (c) } }
                    }
                    label for="password" { "Your password, again" }
                    input id="password" name="password" type="password" autocomplete="current-password" required;
                    label for="reason" { "Explanation (optional now; required within " (hours) " hours, at least 10 characters and two words)" }
                    textarea id="reason" name="reason" rows="3" cols="60" {}
                    p { button.danger type="submit" { "Reveal the allocation" } }
                }
            },
        ))
    })
    .await
}

pub async fn unblind_post(
    t: crate::pages::TrialReq,
    Path((_, pid)): Path<(String, String)>,
    Form(input): Input,
) -> PageResult {
    let (user, trial) = (t.user.clone(), t.trial.clone());
    let t = t.keep(&input);
    t.run_for(&pid.clone(), move |app, a| {
        let reason = Some(field(&input, "reason").to_string()).filter(|r| !r.is_empty());
        let who = a.who(app, Action::EmergencyUnblind, reason)?;
        password_again(
            app,
            &user.name,
            input.get("password").map_or("", String::as_str),
        )?;
        execute(
            app,
            &trial,
            &who,
            &Command::EmergencyUnblind {
                participant: pid.clone(),
                category: field(&input, "category").to_string(),
            },
        )?;
        Ok(Redirect::to(&format!("/t/{trial}/p/{pid}")).into_response())
    })
    .await
}

pub async fn explain_post(
    t: crate::pages::TrialReq,
    Path((_, pid)): Path<(String, String)>,
    Form(input): Input,
) -> PageResult {
    let (_user, trial) = (t.user.clone(), t.trial.clone());
    let t = t.keep(&input);
    t.run_for(&pid.clone(), move |app, a| {
        let who = a.who(app, Action::EmergencyUnblind, None)?;
        execute(
            app,
            &trial,
            &who,
            &Command::ExplainUnblinding {
                participant: pid.clone(),
                explanation: field(&input, "explanation").to_string(),
            },
        )?;
        Ok(Redirect::to(&format!("/t/{trial}/p/{pid}")).into_response())
    })
    .await
}
