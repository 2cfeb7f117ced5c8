//! Monitoring: the record status grid (participants by visit and form),
//! source data verification of a form by the monitor, the participant's
//! printable casebook (every value with its history, verifications and
//! signatures) and the investigator's signature of it (21 CFR 11.50: the
//! manifestation shows the printed name, date and time, and meaning;
//! 11.200: user id and password at signing). Every rule is the record's
//! (`Command::VerifyForm`, `Command::SignCasebook`); the password check is
//! the edge's, as at login.

use std::collections::BTreeMap;

use axum::extract::Path;
use axum::Form;
use maud::{html, Markup};
use rct_record::view::ParticipantView;
use rct_record::{Action, Command};
use serde_json::Value;

use crate::capture::*;
use crate::commands::execute;
use crate::entry;
use crate::html::{csrf, value_text};
use crate::{Access, WebError};

use super::*;

/// The meanings a casebook signature may carry (21 CFR 11.50(a)(3)).
pub const MEANINGS: &[&str] = &[
    "Approval: I have reviewed this casebook and confirm that it is complete and accurate",
    "Review: I have reviewed this casebook",
];

/// Where one form of one participant stands, for the grid: `queried` (an
/// open query on it), `signed` (values covered by a current signature),
/// `verified` (source data verified, unchanged since), else the form's
/// status (`complete`, `incomplete`, `not_started`).
pub fn cell_status(
    a: &Access<'_>,
    p: &ParticipantView,
    visit: &str,
    form: &rct_core::protocol::Form,
) -> &'static str {
    let fid = form.id.get_ref();
    let key = format!("{visit}/{fid}");
    let base = entry::form_status(form, visit, &p.values);
    let queried = a.view.queries.iter().any(|q| {
        q.participant == p.id
            && q.status != rct_record::QueryStatus::Closed
            && q.item
                .as_deref()
                .is_some_and(|i| i.starts_with(&format!("{key}/")))
    });
    let signed = p.signatures.last().is_some_and(|s| !s.needs_renewal);
    let verified = p.verified.get(&key).is_some_and(|v| v.current);
    if queried {
        "queried"
    } else if base != "not_started" && signed {
        "signed"
    } else if verified {
        "verified"
    } else {
        base
    }
}

/// The (visit, form) columns of the grid: every visit's forms the user may
/// see.
fn columns<'p>(a: &'p Access<'_>) -> Vec<(String, &'p rct_core::protocol::Form)> {
    let mut out = Vec::new();
    for v in &a.protocol.visits {
        for f in &v.forms {
            if let Some(form) = a.protocol.form(f.get_ref()) {
                if visible_form(a, f.get_ref()) {
                    out.push((v.id.get_ref().clone(), form));
                }
            }
        }
    }
    out
}

pub async fn status_page(t: TrialReq) -> PageResult {
    let trial = t.trial.clone();
    t.run(move |_app, a| {
        let cols = columns(a);
        let shown: Vec<&ParticipantView> = a
            .view
            .participants
            .iter()
            .filter(|p| p.screening.is_some())
            .take(crate::PAGE_SIZE)
            .collect();
        Ok(trial_page(
            a,
            "Record status",
            html! {
                h1 { "Record status" }
                p { "Each participant's forms by visit. "
                    span.status-not_started { "not started" } " · "
                    span.status-incomplete { "incomplete" } " · "
                    span.status-complete { "complete" } " · "
                    span.status-queried { "queried" } " (an open query) · "
                    span.status-verified { "verified" } " (source data verified, unchanged since) · "
                    span.status-signed { "signed" } " (the investigator's signature holds)." }
                @if shown.len() < a.view.participants.len() { p.hint { "The first " (shown.len()) " participants." } }
                table.grid {
                    caption { "Forms by participant and visit" }
                    thead {
                        tr { th scope="col" { "Participant" }
                            @for (v, f) in &cols { th scope="col" { (visit_label(&a.protocol, v)) br; span.hint { (f.label) } } } }
                    }
                    tbody { @for p in &shown { tr {
                        th scope="row" { a href={"/t/" (trial) "/p/" (p.id)} { (p.id) } }
                        @for (v, f) in &cols {
                            @let st = cell_status(a, p, v, f);
                            td class={"status-" (st)} { a href={"/t/" (trial) "/p/" (p.id) "/visit/" (v) "/" (f.id.get_ref())} { (st.replace('_', " ")) span.sr { ": " (p.id) ", " (f.label) } } }
                        }
                    } } }
                }
            },
        ))
    })
    .await
}

/// The monitor's part of a form page: the verification as it stands and
/// the button to verify.
pub(crate) fn verification_block(
    a: &Access<'_>,
    pid: &str,
    visit: &str,
    form: &str,
    has_values: bool,
) -> Markup {
    let key = format!("{visit}/{form}");
    let v = a
        .participant(pid)
        .ok()
        .and_then(|p| p.verified.get(&key).cloned());
    let may = a.may(Action::VerifySource) && !a.view.locked;
    html! {
        h2 { "Source data verification" }
        p #sdv-status { @match &v {
            Some(v) if v.current => { span.status-verified { "Verified" } " by " (v.by) " on " (v.at.format("%Y-%m-%d %H:%M:%S UTC")) "." },
            Some(v) => { span.status-incomplete { "Changed since verification" } " (verified by " (v.by) " on " (v.at.format("%Y-%m-%d %H:%M:%S UTC")) ")." },
            None => "Not verified.",
        } }
        @if may && has_values && !v.as_ref().is_some_and(|v| v.current) {
            form method="post" action={"/t/" (a.view.trial) "/p/" (pid) "/visit/" (visit) "/" (form) "/verify"} {
                (csrf(&a.user))
                p { button type="submit" { "Verify against the source" } }
            }
        }
    }
}

pub async fn verify_post(
    t: TrialReq,
    Path((_, pid, visit, form)): Path<(String, String, String, String)>,
) -> PageResult {
    let trial = t.trial.clone();
    t.run_for(&pid.clone(), move |app, a| {
        visit_form(a, &visit, &form)?;
        let who = a.who(app, Action::VerifySource, None)?;
        execute(
            app,
            &trial,
            &who,
            &Command::VerifyForm {
                participant: pid.clone(),
                visit: visit.clone(),
                form: form.clone(),
            },
        )?;
        Ok(redirect(&format!(
            "/t/{trial}/p/{pid}/visit/{visit}/{form}"
        )))
    })
    .await
}

/// History of every readable item of `pid`: `visit/form/field` to (time,
/// user, value, reason), oldest first.
type History = BTreeMap<String, Vec<(String, String, String, String)>>;

fn history(a: &Access<'_>, events: &[rct_record::Event], pid: &str) -> History {
    let mut out: History = BTreeMap::new();
    for e in a.audit(events) {
        let p = &e["payload"];
        let kind = p["type"].as_str().unwrap_or("");
        if !matches!(kind, "value_entered" | "value_changed") || p["participant"] != pid {
            continue;
        }
        let key = format!(
            "{}/{}/{}",
            value_text(&p["visit"]),
            value_text(&p["form"]),
            value_text(&p["field"])
        );
        let v: &Value = if kind == "value_entered" {
            &p["value"]
        } else {
            &p["new"]
        };
        out.entry(key).or_default().push((
            value_text(&e["at"])
                .get(..19)
                .unwrap_or("")
                .replace('T', " ")
                + " UTC",
            value_text(&e["actor"]),
            value_text(v),
            value_text(&e["reason"]),
        ));
    }
    out
}

pub async fn casebook_page(t: TrialReq, Path((_, pid)): Path<(String, String)>) -> PageResult {
    let trial = t.trial.clone();
    t.run_for(&pid.clone(), move |app, a| {
        let p = a.participant(&pid)?;
        let events = load_events(app, &trial)?;
        let hist = history(a, &events, &pid);
        let may_sign = a.may(Action::SignCasebook);
        Ok(trial_page(
            a,
            &format!("Casebook {pid}"),
            html! {
                h1 { "Casebook of participant " (pid) }
                p.hint.noprint { "Print this page (or save it as PDF) from your browser's print menu: the menus and forms are left out of the print." }
                dl {
                    dt { "Trial" } dd { (a.view.title) }
                    dt { "Site" } dd { (p.site.clone().unwrap_or_default()) }
                    dt { "Screening" } dd { @if let Some(s) = &p.screening { (s.verdict) " on " (s.at.format("%Y-%m-%d")) } }
                    dt { "Consent" } dd { @if let Some(c) = p.consented { (c.format("%Y-%m-%d %H:%M:%S UTC")) } }
                    dt { "Randomised" } dd { @if let Some(r) = p.randomised_at { (r.format("%Y-%m-%d %H:%M:%S UTC")) } @else { "no" } }
                }
                h2 { "Signatures" }
                @if p.signatures.is_empty() { p #signature-state { "Not signed." } }
                @for (i, s) in p.signatures.iter().enumerate() {
                    div.sig {
                        p { strong { "Signed by " (s.name) } " (" (s.user) ")" }
                        p { "Date and time: " (s.at.format("%Y-%m-%d %H:%M:%S UTC")) }
                        p { "Meaning: " (s.meaning) }
                        @if i + 1 == p.signatures.len() {
                            p #signature-state { @if s.needs_renewal { strong.bad { "Needs renewal: " } "a value changed after this signature." } @else { strong.ok { "Current." } } }
                        } @else { p.hint { "Superseded by a later signature." } }
                    }
                }
                @if may_sign {
                    form.noprint method="post" action={"/t/" (trial) "/p/" (pid) "/sign"} {
                        (csrf(&a.user))
                        fieldset {
                            legend { "Sign this casebook" }
                            p.hint { "Your signature is recorded with your printed name, the date and time and its meaning, and is linked to this casebook. Enter your user name and password to sign." }
                            label for="sig-meaning" { "Meaning" }
                            select #sig-meaning name="meaning" { @for m in MEANINGS { option value=(m) { (m) } } }
                            label for="sig-user" { "User name" }
                            input #sig-user name="user" autocomplete="username" required;
                            label for="sig-password" { "Password" }
                            input #sig-password name="password" type="password" autocomplete="current-password" required;
                            p { button type="submit" { "Sign the casebook" } }
                        }
                    }
                }
                h2 { "Values" }
                @for v in &a.protocol.visits {
                    @for f in v.forms.iter().filter(|f| visible_form(a, f.get_ref())) {
                        @if let Some(form) = a.protocol.form(f.get_ref()) {
                            @let key = format!("{}/{}", v.id.get_ref(), f.get_ref());
                            @if form.fields.iter().any(|x| p.values.contains_key(&format!("{key}/{}", x.id.get_ref()))) {
                                h3 { (v.label) " · " (form.label) }
                                p.hint { @match p.verified.get(&key) {
                                    Some(sv) if sv.current => { "Source data verified by " (sv.by) " on " (sv.at.format("%Y-%m-%d %H:%M:%S UTC")) "." },
                                    Some(sv) => { "Changed since verification by " (sv.by) " on " (sv.at.format("%Y-%m-%d %H:%M:%S UTC")) "." },
                                    None => "Not verified.",
                                } }
                                table.casebook {
                                    thead { tr { th scope="col" { "Field" } th scope="col" { "Value" } th scope="col" { "History (when, who, value, reason)" } } }
                                    tbody { @for fld in &form.fields {
                                        @let item = format!("{key}/{}", fld.id.get_ref());
                                        @if let Some(val) = p.values.get(&item) {
                                            tr {
                                                th scope="row" { (fld.label) }
                                                td { (entry::field_text(fld, val)) @if let Some(u) = &fld.unit { " " (u.get_ref()) } }
                                                td { ol { @for (at, who, value, why) in hist.get(&item).into_iter().flatten() {
                                                    li { (at) ", " (who) ": " (value) @if !why.is_empty() { " (" (why) ")" } }
                                                } } }
                                            }
                                        }
                                    } }
                                }
                            }
                        }
                    }
                }
            },
        ))
    })
    .await
}

pub async fn sign_post(
    t: TrialReq,
    Path((_, pid)): Path<(String, String)>,
    Form(input): Input,
) -> PageResult {
    let t = t.keep(&input);
    let trial = t.trial.clone();
    t.run_for(&pid.clone(), move |app, a| {
        let who = a.who(app, Action::SignCasebook, None)?;
        // 21 CFR 11.200(a)(1): both components, the user id and the
        // password, at signing; the user id must be the session's own.
        let user = field(&input, "user");
        let password = input.get("password").map_or("", String::as_str);
        let found = crate::accounts::find(app, &a.user.name)?.ok_or(WebError::Unauthenticated)?;
        if user != a.user.name || found.locked || !crate::accounts::verify(app, &found, password) {
            return Err(WebError::Forbidden(
                "the user name or password is wrong; the casebook was not signed".into(),
            ));
        }
        execute(
            app,
            &trial,
            &who,
            &Command::SignCasebook {
                participant: pid.clone(),
                meaning: field(&input, "meaning").to_string(),
            },
        )?;
        Ok(redirect(&format!("/t/{trial}/p/{pid}/casebook")))
    })
    .await
}
