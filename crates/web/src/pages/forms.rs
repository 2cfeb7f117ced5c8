//! Data entry: a form at a visit and a field's history.

use std::collections::BTreeMap;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Form;
use maud::html;
use rct_core::protocol::ValueType;
use rct_record::Action;
use serde_json::Value;

use crate::capture::*;
use crate::entry;
use crate::html::{csrf, value_text};
use crate::{Access, WebError};

use super::*;

pub async fn entry_page(
    t: TrialReq,
    Path((_, pid, visit, form)): Path<(String, String, String, String)>,
) -> PageResult {
    let (_user, _trial) = (t.user.clone(), t.trial.clone());
    t.run_for(&pid.clone(), move |_app, a| {
        let f = visit_form(a, &visit, &form)?;
        Ok(entry_form(
            a,
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
    let status = entry::form_status(f, visit, &stored);
    // The next form: the next one of this visit the user may see, else the
    // first of the next visit.
    let next: Option<(String, String, String)> = {
        let visible = |vis: &rct_core::protocol::Visit| -> Vec<String> {
            vis.forms
                .iter()
                .map(|x| x.get_ref().clone())
                .filter(|x| visible_form(a, x))
                .collect()
        };
        let visits = &a.protocol.visits;
        visits
            .iter()
            .position(|x| x.id.get_ref() == visit)
            .and_then(|i| {
                let here = visible(&visits[i]);
                let after = here
                    .iter()
                    .position(|x| x == form)
                    .map_or(here.len(), |j| j + 1);
                here.get(after)
                    .map(|x| (visit.to_string(), x.clone()))
                    .or_else(|| {
                        visits[i + 1..].iter().find_map(|vis| {
                            visible(vis)
                                .first()
                                .map(|x| (vis.id.get_ref().clone(), x.clone()))
                        })
                    })
                    .and_then(|(vis, fm)| {
                        a.protocol.form(&fm).map(|ff| {
                            (
                                vis.clone(),
                                fm.clone(),
                                format!("{} · {}", visit_label(&a.protocol, &vis), ff.label),
                            )
                        })
                    })
            })
    };
    // Open queries on this form's fields.
    let queried: BTreeMap<String, Vec<String>> = {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for q in v
            .queries
            .iter()
            .filter(|q| q.participant == pid && q.status != rct_record::QueryStatus::Closed)
        {
            if let Some(fld) = q
                .item
                .as_deref()
                .and_then(|i| i.strip_prefix(&format!("{visit}/{form}/")))
            {
                m.entry(fld.to_string()).or_default().push(q.id.clone());
            }
        }
        m
    };
    let mut r = trial_page(
        a,
        &f.label,
        html! {
            h1 { (f.label) }
            p { "Participant " a href={"/t/" (t) "/p/" (pid)} { (pid) } " · " (visit_label(&a.protocol, visit))
                " · form status: " span class={"status-" (status)} #form-status { (status.replace('_', " ")) } }
            @if let Some((nv, nf, label)) = &next { p { "Next form: " a #next-form href={"/t/" (t) "/p/" (pid) "/visit/" (nv) "/" (nf)} { (label) } } }
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
                            @if let Some(qs) = queried.get(id) { " " span.qmark title="open query" { "⚑ query " (qs.join(", ")) } }
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
            (verification_block(a, pid, visit, form, has_values))
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

pub async fn entry_post(
    t: TrialReq,
    Path((_, pid, visit, form)): Path<(String, String, String, String)>,
    Form(input): Input,
) -> PageResult {
    let t = t.keep(&input);
    let (user, trial) = (t.user.clone(), t.trial.clone());
    t.run_for(&pid.clone(), move |app, a| {
        let f = visit_form(a, &visit, &form)?;
        if entry_role(a, f).is_none() {
            return Err(WebError::Forbidden(format!(
                "none of your roles may enter {form}"
            )));
        }
        match save_form(app, a, &pid, &visit, f, &input) {
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
                a, &pid, &visit, f, &input, &errors, &warnings, None,
            )),
        }
    })
    .await
}

pub async fn field_history_page(
    t: TrialReq,
    Path((_, pid, visit, form, fld)): Path<(String, String, String, String, String)>,
) -> PageResult {
    let (_user, trial) = (t.user.clone(), t.trial.clone());
    t.run_for(&pid.clone(), move |app, a| {
        let f = visit_form(a, &visit, &form)?;
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
            a,
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
