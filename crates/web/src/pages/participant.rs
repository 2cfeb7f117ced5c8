//! One participant: its page, consent and randomisation.

use axum::extract::Path;
use axum::Form;
use maud::html;
use rct_record::{Action, Command, Verdict};

use crate::capture::*;
use crate::commands::execute;
use crate::entry;
use crate::html::csrf;
use crate::WebError;

use super::*;

pub async fn participant(t: TrialReq, Path((_, pid)): Path<(String, String)>) -> PageResult {
    let (user, _trial) = (t.user.clone(), t.trial.clone());
    t.run_for(&pid.clone(), move |app, a| {
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
            .filter(|f| f.arm.is_some() && visible_form(a, f.id.get_ref()))
            .filter(|f| p.allocation.as_ref().is_some_and(|al| f.arm.as_ref().is_some_and(|x| x.get_ref() == &al.arm)))
            .collect();
        let forms_of = |visit: &rct_core::protocol::Visit| -> Vec<String> {
            visit.forms.iter().map(|f| f.get_ref().clone()).filter(|f| visible_form(a, f)).collect()
        };
        Ok(trial_page(
            a,
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
                p { a #casebook href={"/t/" (t) "/p/" (pid) "/casebook"} { "Casebook (values, history, verification, signatures; printable)" }
                    @if let Some(s) = p.signatures.last() { " — " @if s.needs_renewal { strong.bad { "signature needs renewal" } } @else { "signed by " (s.name) } } }
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
                                        rct_core::schedule::VisitStatus::Due if sv.day < 0 => { " (before randomisation: forms to enter)" }
                                        rct_core::schedule::VisitStatus::Due => { " (" (plural(sv.days_left, "day")) " left)" }
                                        rct_core::schedule::VisitStatus::Overdue => { " (window closed " (plural(-sv.days_left, "day")) " ago)" }
                                        _ => {}
                                    } }
                                td { @if let Some(visit) = visit { ul.forms { @for f in forms_of(visit) {
                                    @if let Some(form) = a.protocol.form(&f) {
                                        @let st = entry::form_status(form, &sv.id, &p.values);
                                        li { a href={"/t/" (t) "/p/" (pid) "/visit/" (sv.id) "/" (f)} { (form.label) }
                                            " " span class={"status-" (st)} { "(" (st.replace('_', " ")) ")" } }
                                    }
                                } } } }
                            }
                        } }
                    }
                } @else if p.screening.is_some() {
                    h2 { "Screening visit forms" }
                    ul { @for visit in a.protocol.visits.iter().filter(|x| *x.day.get_ref() < 0) {
                        @for f in forms_of(visit) {
                            @if let Some(form) = a.protocol.form(&f) {
                                @let st = entry::form_status(form, visit.id.get_ref(), &p.values);
                                li { a href={"/t/" (t) "/p/" (pid) "/visit/" (visit.id.get_ref()) "/" (f)} { (visit.label) ": " (form.label) }
                                    " " span class={"status-" (st)} { "(" (st.replace('_', " ")) ")" } }
                            }
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
                ul { @for q in &open { li { (q.id) " (" (item_label(&a.protocol, q.item.as_deref())) "): " (q.text) } } }
                @if a.may(Action::RaiseQuery) && !v.locked {
                    h2 { "Raise a query" }
                    (raise_query_form(&user, t, &pid, None))
                }
            },
        ))
    })
    .await
}

pub async fn consent(
    t: TrialReq,
    Path((_, pid)): Path<(String, String)>,
    Form(input): Input,
) -> PageResult {
    let t = t.keep(&input);
    let (_user, trial) = (t.user.clone(), t.trial.clone());
    t.run_for(&pid.clone(), move |app, a| {
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

pub async fn randomise_page(t: TrialReq, Path((_, pid)): Path<(String, String)>) -> PageResult {
    let (user, trial) = (t.user.clone(), t.trial.clone());
    t.run_for(&pid.clone(), move |app, a| {
        let p = a.participant(&pid)?;
        a.who(app, Action::Randomise, None)?;
        let eligible = p.screening.as_ref().map(|s| s.verdict) == Some(Verdict::Eligible);
        let ready = eligible && p.consented.is_some() && !p.randomised && !a.view.locked;
        let strata = a.strata(&pid);
        Ok(trial_page(
            a,
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
    t: TrialReq,
    Path((_, pid)): Path<(String, String)>,
    Form(_input): Input,
) -> PageResult {
    let (user, trial) = (t.user.clone(), t.trial.clone());
    t.run_for(&pid.clone(), move |app, a| {
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
