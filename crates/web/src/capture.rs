//! What the pages and the JSON API share: reading typed input into the
//! record's commands (screening facts, a form's values) and the forms a
//! user may see. Neither edge calls the other; both call these and the
//! record.

use std::collections::BTreeMap;

use rct_core::protocol::Protocol;
use rct_record::{Action, Command, CriterionResult, Role, Verdict};

use crate::commands::{execute_all, Who};
use crate::entry;
use crate::{Access, App, WebError};

/// Forms of the protocol the user may see (arm-specific forms only when
/// the view lists them).
pub fn visible_form(a: &Access<'_>, form: &str) -> bool {
    match a.protocol.form(form) {
        Some(f) if f.arm.is_some() => a.view.forms.iter().any(|r| r.form == form),
        Some(_) => true,
        None => false,
    }
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
