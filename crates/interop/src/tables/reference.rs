//! The in-memory implementation the streaming tables replaced, kept
//! verbatim as the reference the streamed output must equal byte for byte
//! (tests only).

use std::collections::{BTreeMap, BTreeSet};

use rct_core::protocol::{Protocol, ValueType};
use rct_record::{Event, Payload, TrialState};
use serde_json::Value;

use super::{Table, TablesError};

fn csv_text(header: &[&str], rows: &[Vec<String>]) -> Result<String, TablesError> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(header)
        .map_err(|e| TablesError::Csv(e.to_string()))?;
    for r in rows {
        w.write_record(r)
            .map_err(|e| TablesError::Csv(e.to_string()))?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| TablesError::Csv(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| TablesError::Csv(e.to_string()))
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

fn type_name(t: ValueType) -> &'static str {
    match t {
        ValueType::Number => "number",
        ValueType::Integer => "integer",
        ValueType::Text => "text",
        ValueType::Date => "date",
        ValueType::Boolean => "boolean",
        ValueType::Choice => "choice",
    }
}

/// Makes the tables. `blinded` leaves out the arm column and the
/// arm-specific forms.
pub(super) fn reference_export(
    protocol: &Protocol,
    events: &[Event],
    blinded: bool,
) -> Result<Vec<Table>, TablesError> {
    let trial = events
        .first()
        .map_or(protocol.trial.id.get_ref().as_str(), |e| e.trial.as_str());
    let state = TrialState::from_events(trial, events.iter())
        .map_err(|e| TablesError::Events(e.to_string()))?;
    // The arm column (unblinded exports only).
    let arm_of = |pid: &str| -> Vec<String> {
        if blinded {
            return Vec::new();
        }
        vec![state
            .participants
            .get(pid)
            .and_then(|p| p.allocation.as_ref())
            .map(|a| a.arm.clone())
            .unwrap_or_default()]
    };
    let site_of = |pid: &str| {
        state
            .participants
            .get(pid)
            .and_then(|p| p.site.clone())
            .unwrap_or_default()
    };
    let visible = |form: &str| {
        protocol
            .form(form)
            .is_some_and(|f| !(blinded && f.arm.is_some()))
    };
    // Who last wrote each value, and when.
    let mut last: BTreeMap<(String, String, String, String), &Event> = BTreeMap::new();
    for e in events {
        if let Payload::ValueEntered {
            participant,
            visit,
            form,
            field,
            ..
        }
        | Payload::ValueChanged {
            participant,
            visit,
            form,
            field,
            ..
        } = &e.payload
        {
            last.insert(
                (
                    participant.clone(),
                    visit.clone(),
                    form.clone(),
                    field.clone(),
                ),
                e,
            );
        }
    }
    let arm_col: &[&str] = if blinded { &[] } else { &["arm"] };
    let mut tables = Vec::new();
    let mut dict: Vec<Vec<String>> = Vec::new();
    let fixed = |table: &str, dict: &mut Vec<Vec<String>>| {
        let arm = (!blinded).then_some(("arm", "Allocated arm"));
        for (c, l) in [
            ("participant", "Participant identifier"),
            ("site", "Site identifier"),
        ]
        .into_iter()
        .chain(arm)
        {
            dict.push(vec![
                table.into(),
                c.into(),
                l.into(),
                "text".into(),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
    };
    let code_text = |list: Option<&str>| -> String {
        list.and_then(|c| protocol.code_lists.iter().find(|l| l.id.get_ref() == c))
            .map(|l| {
                l.items
                    .iter()
                    .map(|i| format!("{}={}", i.code.get_ref(), i.label))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default()
    };
    // Wide tables: visits in protocol order, their forms.
    let mut done: BTreeSet<(String, String)> = BTreeSet::new();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for v in &protocol.visits {
        for f in &v.forms {
            pairs.push((v.id.get_ref().clone(), f.get_ref().clone()));
        }
    }
    for (p, v, f, _) in last.keys() {
        let _ = p;
        if !pairs.iter().any(|(a, b)| a == v && b == f) {
            pairs.push((v.clone(), f.clone()));
        }
    }
    for (visit, form_id) in pairs {
        if !visible(&form_id) || !done.insert((visit.clone(), form_id.clone())) {
            continue;
        }
        let Some(form) = protocol.form(&form_id) else {
            continue;
        };
        let name = format!("{visit}__{form_id}.csv");
        let mut header = vec!["participant", "site"];
        header.extend_from_slice(arm_col);
        header.extend(form.fields.iter().map(|f| f.id.get_ref().as_str()));
        let subjects: BTreeSet<&str> = last
            .keys()
            .filter(|(_, v, f, _)| *v == visit && *f == form_id)
            .map(|(p, _, _, _)| p.as_str())
            .collect();
        let mut rows = Vec::new();
        for pid in &subjects {
            let mut row = vec![pid.to_string(), site_of(pid)];
            row.extend(arm_of(pid));
            for fl in &form.fields {
                let v = state
                    .participants
                    .get(*pid)
                    .and_then(|p| {
                        p.values
                            .get(&format!("{visit}/{form_id}/{}", fl.id.get_ref()))
                    })
                    .map(cell)
                    .unwrap_or_default();
                row.push(v);
            }
            rows.push(row);
        }
        fixed(&name, &mut dict);
        for fl in &form.fields {
            dict.push(vec![
                name.clone(),
                fl.id.get_ref().clone(),
                fl.label.clone(),
                type_name(fl.kind).into(),
                fl.unit
                    .as_ref()
                    .map(|u| u.get_ref().clone())
                    .unwrap_or_default(),
                code_text(fl.code_list.as_ref().map(|c| c.get_ref().as_str())),
                fl.derived
                    .as_ref()
                    .map(|d| format!("derived: {}", d.get_ref()))
                    .unwrap_or_default(),
            ]);
        }
        tables.push(Table {
            name,
            rows: rows.len(),
            csv: csv_text(&header, &rows)?,
        });
    }
    // Long table.
    let mut long = Vec::new();
    for ((pid, visit, form_id, field), e) in &last {
        if !visible(form_id) {
            continue;
        }
        let fl = protocol
            .form(form_id)
            .and_then(|f| f.fields.iter().find(|x| x.id.get_ref() == field));
        let value = state
            .participants
            .get(pid)
            .and_then(|p| p.values.get(&format!("{visit}/{form_id}/{field}")))
            .map(cell)
            .unwrap_or_default();
        let mut row = vec![pid.clone(), site_of(pid)];
        row.extend(arm_of(pid));
        row.extend([
            visit.clone(),
            form_id.clone(),
            field.clone(),
            value,
            fl.and_then(|f| f.unit.as_ref().map(|u| u.get_ref().clone()))
                .unwrap_or_default(),
            fl.map(|f| f.label.clone()).unwrap_or_default(),
            e.at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            e.actor.clone(),
        ]);
        long.push(row);
    }
    let mut long_header = vec!["participant", "site"];
    long_header.extend_from_slice(arm_col);
    long_header.extend([
        "visit",
        "form",
        "field",
        "value",
        "unit",
        "label",
        "recorded_at",
        "recorded_by",
    ]);
    fixed("long.csv", &mut dict);
    for (c, l) in [
        ("visit", "Visit identifier"),
        ("form", "Form identifier"),
        ("field", "Field identifier"),
        (
            "value",
            "Current value (as text; see the wide tables' types)",
        ),
        ("unit", "Unit of the value"),
        ("label", "Field label"),
        ("recorded_at", "When the current value was recorded (UTC)"),
        ("recorded_by", "Who recorded the current value"),
    ] {
        dict.push(vec![
            "long.csv".into(),
            c.into(),
            l.into(),
            if c == "recorded_at" {
                "datetime"
            } else {
                "text"
            }
            .into(),
            String::new(),
            String::new(),
            String::new(),
        ]);
    }
    tables.push(Table {
        name: "long.csv".into(),
        rows: long.len(),
        csv: csv_text(&long_header, &long)?,
    });
    tables.push(Table {
        name: "dictionary.csv".into(),
        rows: dict.len(),
        csv: csv_text(
            &["table", "column", "label", "type", "unit", "codes", "note"],
            &dict,
        )?,
    });
    Ok(tables)
}
