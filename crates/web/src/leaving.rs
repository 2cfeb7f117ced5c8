//! Leaving the trial's path, as CONSORT counts it: a person who declines to
//! consent, a participant whose intervention stops early (follow-up
//! continues; intention to treat keeps the data), and a withdrawal of
//! consent (no more data). The record decides every rule; these pages
//! parse the form and show the record's refusal beside it.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Form;
use maud::html;
use rct_record::{Action, Command};

use crate::commands::execute;
use crate::html::csrf;
use crate::pages::trial_page;
use crate::{App, AppState, CurrentUser, WebError};

use crate::pages::{field, redirect, Input, PageResult};

/// The page offering to stop the intervention or to withdraw consent, each
/// with its reason; `message` is the record's refusal of the last attempt,
/// shown with what was typed.
fn leave_form(
    a: &crate::Access<'_>,
    user: &CurrentUser,
    pid: &str,
    input: &BTreeMap<String, String>,
    message: Option<&str>,
) -> Response {
    let t = &a.view.trial;
    let chosen = field(input, "scope");
    let mut r = trial_page(
        a,
        "Withdrawal",
        html! {
            h1 { "Withdrawal of " (pid) }
            @if let Some(m) = message { p.alert role="alert" { "Nothing was recorded: " (m) } }
            p { "Two different things, counted apart in the CONSORT flow:" }
            ul {
                li { strong { "Stop the intervention" } ": the participant stays in the trial; follow-up visits and outcomes are still recorded and analysed as randomised (intention to treat). No more kits or intervention sessions are taken." }
                li { strong { "Withdraw consent" } ": no new data are collected after today. What was recorded stays in the record; values of visits done before today can still be entered and corrected." }
            }
            form method="post" action={"/t/" (t) "/p/" (pid) "/withdraw"} {
                (csrf(user))
                fieldset {
                    legend { "What happens" }
                    @if a.may(Action::StopIntervention) {
                        input id="scope-intervention" type="radio" name="scope" value="intervention" required checked[chosen == "intervention"];
                        label for="scope-intervention" { " Stop the intervention; follow-up continues" }
                    }
                    @if a.may(Action::Withdraw) {
                        input id="scope-consent" type="radio" name="scope" value="consent" required checked[chosen == "consent"];
                        label for="scope-consent" { " Withdraw consent; no more data" }
                    }
                }
                label for="reason" { "Reason" }
                textarea id="reason" name="reason" rows="3" cols="60" required { (field(input, "reason")) }
                p { button.danger type="submit" { "Record" } }
            }
            p { a href={"/t/" (t) "/p/" (pid)} { "Back to the participant" } }
        },
    );
    if message.is_some() {
        *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

pub async fn withdraw_page(
    State(s): State<AppState>,
    user: CurrentUser,
    Path((trial, pid)): Path<(String, String)>,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access_to(&user, &trial, &pid)?;
        a.participant(&pid)?;
        if !a.may(Action::Withdraw) && !a.may(Action::StopIntervention) {
            a.who(app, Action::Withdraw, None)?;
        }
        Ok(leave_form(&a, &user, &pid, &BTreeMap::new(), None))
    })
    .await
}

pub async fn withdraw_post(
    State(s): State<AppState>,
    user: CurrentUser,
    Path((trial, pid)): Path<(String, String)>,
    Form(input): Input,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access_to(&user, &trial, &pid)?;
        a.participant(&pid)?;
        let (action, cmd) = match field(&input, "scope") {
            "intervention" => (
                Action::StopIntervention,
                Command::StopIntervention {
                    participant: pid.clone(),
                },
            ),
            "consent" => (
                Action::Withdraw,
                Command::Withdraw {
                    participant: pid.clone(),
                },
            ),
            other => {
                return Err(WebError::BadRequest(format!(
                    "scope `{other}`: expected `intervention` (stop the intervention) or `consent` (withdraw consent)"
                )))
            }
        };
        let reason = Some(field(&input, "reason").to_string()).filter(|r| !r.is_empty());
        let who = a.who(app, action, reason)?;
        match execute(app, &trial, &who, &cmd) {
            Ok(_) => Ok(redirect(&format!("/t/{trial}/p/{pid}"))),
            Err(WebError::BadRequest(why)) => Ok(leave_form(&a, &user, &pid, &input, Some(&why))),
            Err(e) => Err(e),
        }
    })
    .await
}

pub async fn decline_consent(
    State(s): State<AppState>,
    user: CurrentUser,
    Path((trial, pid)): Path<(String, String)>,
    Form(_input): Input,
) -> PageResult {
    App::run(&s, move |app| {
        let a = app.access_to(&user, &trial, &pid)?;
        a.participant(&pid)?;
        let who = a.who(app, Action::Consent, None)?;
        execute(
            app,
            &trial,
            &who,
            &Command::DeclineConsent {
                participant: pid.clone(),
            },
        )?;
        Ok(redirect(&format!("/t/{trial}/p/{pid}")))
    })
    .await
}
