//! Screening a person.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use maud::{html, Markup};
use rct_core::protocol::{Protocol, ValueType};
use rct_record::{Action, Command};

use crate::capture::*;
use crate::commands::execute;
use crate::entry;
use crate::html::csrf;
use crate::{Access, App, WebError};

use super::*;

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
        label for=(html_id) { (plain_label(&f.label))
            @if let Some(u) = &f.unit { " " span.hint { "(" (u.get_ref()) ")" } } }
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
            label for={"uln-" (id)} { "Upper limit of normal for " (plain_label(&f.label)) }
            input id={"uln-" (id)} name={"u." (id)} inputmode="decimal" value=(field(input, &format!("u.{id}")));
        }
        span.hint id=(msg) aria-live="polite" {}
    }
}

/// A fact's label without the command hints some protocols add
/// ("(rct score ...)"): the form asks the question, the manual names tools.
fn plain_label(label: &str) -> String {
    match label.find(" (rct ") {
        Some(i) if label.ends_with(')') => label[..i].to_string(),
        _ => label.to_string(),
    }
}

/// The opt-in fact of the sub-study a fact belongs to: a fact read only by
/// criteria of one sub-study (never the opt-in fact itself).
fn substudy_of<'p>(protocol: &'p Protocol, fact: &str) -> Option<&'p str> {
    let mentions = |rule: &str| {
        rule.split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|w| w == fact)
    };
    let users: Vec<_> = protocol
        .criteria
        .iter()
        .filter(|c| mentions(c.rule.get_ref()))
        .collect();
    let pop = users.first()?.population.as_ref()?.get_ref();
    if !users
        .iter()
        .all(|c| c.population.as_ref().map(|p| p.get_ref()) == Some(pop))
    {
        return None;
    }
    let sub = protocol.substudies.iter().find(|s| s.id.get_ref() == pop)?;
    let opt_in = sub.opt_in.get_ref();
    (opt_in != fact).then_some(opt_in.as_str())
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

pub async fn screen_page(t: TrialReq) -> PageResult {
    let (_user, _trial) = (t.user.clone(), t.trial.clone());
    t.run(move |app, a| {
        a.who(app, Action::Screen, None)?;
        Ok(screen_form(app, a, &BTreeMap::new(), None))
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
                // The verdict stays in view while the facts are typed.
                p.verdict { "Verdict so far: " strong id="verdict" aria-live="polite" { "—" } }
                fieldset {
                    legend { "Facts" }
                    @for f in a.protocol.facts.iter().filter(|f| substudy_of(&a.protocol, f.id.get_ref()).is_none()) { (fact_input(&a.protocol, f, input)) }
                }
                // A sub-study's facts only for people who opted in.
                @for sub in &a.protocol.substudies {
                    @let opt_in = sub.opt_in.get_ref();
                    @let opted = field(input, &format!("f.{opt_in}")) == "true";
                    fieldset data-opt-in=(opt_in) hidden[!opted] {
                        legend { (sub.label) " (opted in)" }
                        @for f in a.protocol.facts.iter().filter(|f| substudy_of(&a.protocol, f.id.get_ref()) == Some(opt_in.as_str())) { (fact_input(&a.protocol, f, input)) }
                    }
                }
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

pub async fn screen_post(t: TrialReq, Form(input): Input) -> PageResult {
    let t = t.keep(&input);
    let (_user, trial) = (t.user.clone(), t.trial.clone());
    t.run(move |app, a| {
        // A reason is needed (and kept) when the participant was screened before.
        let who = a.who(app, Action::Screen, input.get("reason").cloned())?;
        let pid = field(&input, "participant").to_string();
        let site = field(&input, "site").to_string();
        let (date, facts) = match screen_input(&a.protocol, &input, field(&input, "screening_date"))
        {
            Ok(x) => x,
            Err(e) => return Ok(screen_form(app, a, &input, Some(&e.to_string()))),
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
            Err(WebError::BadRequest(why)) => Ok(screen_form(app, a, &input, Some(&why))),
            Err(e) => Err(e),
        }
    })
    .await
}
