//! Turning what a person typed into what the domain checks: screening facts
//! for `rct_core::eligibility`, form entries for `rct_core::forms`, and the
//! entered forms for `rct_core::schedule`.

use std::collections::BTreeMap;

use std::collections::BTreeSet;

use chrono::NaiveDate;
use rct_core::protocol::{Fact, Field, Form, Protocol, ValueType};
use serde_json::{json, Map, Value};

/// The code list's codes and labels of a fact or field, if it has one.
pub fn codes(protocol: &Protocol, list: Option<&str>) -> Vec<(String, String)> {
    list.and_then(|id| protocol.code_lists.iter().find(|l| l.id.get_ref() == id))
        .map(|l| {
            l.items
                .iter()
                .map(|i| (i.code.get_ref().clone(), i.label.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn number(text: &str) -> Option<f64> {
    text.trim()
        .replace(',', ".")
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
}

/// Builds the facts JSON `person_from_json` reads from form input: field
/// `f.<fact>` holds the value, `u.<fact>` the upper limit of normal. Empty
/// fields are missing facts; values that do not read as their type are
/// reported by fact.
pub fn facts_json(
    protocol: &Protocol,
    input: &BTreeMap<String, String>,
) -> (Value, BTreeMap<String, String>) {
    let mut facts = Map::new();
    let mut problems = BTreeMap::new();
    for fact in &protocol.facts {
        let id = fact.id.get_ref();
        let Some(raw) = input.get(&format!("f.{id}")).map(|s| s.trim()) else {
            continue;
        };
        if raw.is_empty() {
            continue;
        }
        match fact_value(fact, raw) {
            Ok(v) => {
                let uln = input
                    .get(&format!("u.{id}"))
                    .map(|s| s.trim())
                    .filter(|s| !s.is_empty());
                let value = match (&fact.unit, uln) {
                    (None, None) => v,
                    (unit, uln) => {
                        let mut o = Map::new();
                        o.insert("value".into(), v);
                        if let Some(u) = unit {
                            o.insert("unit".into(), json!(u.get_ref()));
                        }
                        if let Some(u) = uln {
                            match number(u) {
                                Some(x) => {
                                    o.insert("uln".into(), json!(x));
                                }
                                None => {
                                    problems.insert(
                                        id.clone(),
                                        format!("upper limit `{u}` is not a number"),
                                    );
                                }
                            }
                        }
                        Value::Object(o)
                    }
                };
                facts.insert(id.clone(), value);
            }
            Err(msg) => {
                problems.insert(id.clone(), msg);
            }
        }
    }
    (Value::Object(facts), problems)
}

fn fact_value(fact: &Fact, raw: &str) -> Result<Value, String> {
    typed_value(fact.kind, raw)
}

/// Reads `raw` as a value of type `kind`.
pub fn typed_value(kind: ValueType, raw: &str) -> Result<Value, String> {
    match kind {
        ValueType::Boolean => match raw {
            "true" | "yes" => Ok(json!(true)),
            "false" | "no" => Ok(json!(false)),
            _ => Err(format!("`{raw}`: choose yes or no")),
        },
        ValueType::Number => number(raw)
            .map(|x| json!(x))
            .ok_or_else(|| format!("`{raw}` is not a number")),
        ValueType::Integer => match number(raw) {
            Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => Ok(json!(x as i64)),
            _ => Err(format!("`{raw}` is not a whole number")),
        },
        ValueType::Date => raw
            .parse::<NaiveDate>()
            .map(|d| json!(d.to_string()))
            .map_err(|_| format!("`{raw}` is not a date; write YYYY-MM-DD")),
        ValueType::Text | ValueType::Choice => Ok(json!(raw)),
    }
}

/// A submitted form entry as `rct_core::forms` checks it.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// Every field (entered and derived) with its value; `null` for none.
    pub values: Vec<(String, Value)>,
    /// Refusals (hard ranges, types, required fields), as sentences.
    pub errors: Vec<String>,
    /// Warnings (soft ranges).
    pub warnings: Vec<String>,
    /// Derived fields' values as computed (`None` where an input is
    /// missing): what is stored.
    pub derived: BTreeMap<String, Option<Value>>,
    /// Derived fields' values as shown: rounded to the field's decimals
    /// ([`Field::shown_decimals`]).
    pub shown: BTreeMap<String, Option<String>>,
    /// Fields whose value is refused (hard range, type), as opposed to
    /// those that only warn.
    pub refused: BTreeSet<String>,
    /// Per field: its error or warning, for messages beside the inputs.
    pub messages: BTreeMap<String, String>,
}

/// Checks the entry of `form` from form input (`f.<field>` as typed).
pub fn check_entry(protocol: &Protocol, form: &Form, input: &BTreeMap<String, String>) -> Checked {
    let raw: BTreeMap<String, Value> = form
        .fields
        .iter()
        .filter(|f| f.derived.is_none())
        .map(|f| {
            let id = f.id.get_ref();
            let typed = input.get(&format!("f.{id}")).map_or("", |s| s.trim());
            (id.clone(), Value::String(typed.to_string()))
        })
        .collect();
    let mut out = Checked::default();
    let check = match rct_core::forms::validate_entry(protocol, form.id.get_ref(), &raw) {
        Ok(c) => c,
        Err(e) => {
            out.errors.push(e.to_string());
            return out;
        }
    };
    for e in &check.errors {
        if let Some(f) = e.field() {
            out.messages.insert(f.to_string(), e.to_string());
            out.refused.insert(f.to_string());
        }
        out.errors.push(e.to_string());
    }
    for w in &check.warnings {
        out.messages
            .entry(w.field().to_string())
            .or_insert_with(|| w.to_string());
        out.warnings.push(w.to_string());
    }
    for f in &form.fields {
        let id = f.id.get_ref();
        let value = if f.derived.is_some() {
            let v = check
                .derived
                .get(id)
                .and_then(|d| d.value.as_ref())
                .map(|v| v.to_json());
            out.derived.insert(id.clone(), v.clone());
            out.shown
                .insert(id.clone(), v.as_ref().map(|x| field_text(f, x)));
            v
        } else {
            check.values.get(id).map(|v| v.to_json())
        };
        out.values.push((id.clone(), value.unwrap_or(Value::Null)));
    }
    out
}

/// `x` rounded to `decimals` places as text (no `-0.00`).
pub fn fixed(x: f64, decimals: usize) -> String {
    let text = format!("{x:.decimals$}");
    if text
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        text.trim_start_matches('-').to_string()
    } else {
        text
    }
}

/// A number as entered values are shown: whole numbers without a
/// fraction, others in their shortest exact form.
pub fn number_text(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        x.to_string()
    }
}

/// A stored or computed value of `field` as shown on a page: derived
/// numbers rounded to [`Field::shown_decimals`], other numbers without a trailing
/// `.0`, everything else as text.
pub fn field_text(field: &Field, value: &Value) -> String {
    match (value.as_f64(), field.kind) {
        (Some(x), ValueType::Number | ValueType::Integer) if field.derived.is_some() => {
            fixed(x, field.shown_decimals())
        }
        (Some(x), ValueType::Number | ValueType::Integer) => number_text(x),
        _ => crate::html::value_text(value),
    }
}

/// A derived value rounded as it is shown, as a JSON number (the API's
/// answer; `null` and non-numbers pass unchanged).
pub fn rounded(field: &Field, value: &Value) -> Value {
    match value.as_f64() {
        Some(x) if field.derived.is_some() => fixed(x, field.shown_decimals())
            .parse::<f64>()
            .ok()
            .and_then(|r| {
                if field.kind == ValueType::Integer {
                    Some(json!(r as i64))
                } else {
                    serde_json::Number::from_f64(r).map(Value::Number)
                }
            })
            .unwrap_or_else(|| value.clone()),
        _ => value.clone(),
    }
}

/// The visit schedule from the randomisation date as of `today`; a form
/// counts as entered at a visit when any of its values is.
pub fn schedule(
    protocol: &Protocol,
    day0: NaiveDate,
    today: NaiveDate,
    values: &BTreeMap<String, Value>,
) -> Vec<rct_core::schedule::ScheduledVisit> {
    let mut entered: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for key in values.keys() {
        let mut parts = key.split('/');
        if let (Some(v), Some(f)) = (parts.next(), parts.next()) {
            entered
                .entry(v.to_string())
                .or_default()
                .insert(f.to_string());
        }
    }
    let mut visits =
        rct_core::schedule::schedule(protocol, day0, &entered, today).unwrap_or_default();
    // Windows count from randomisation: a visit before it (screening,
    // baseline) took place before the participant could be randomised, so
    // its window cannot be missed afterwards; forms still to enter are due.
    for v in &mut visits {
        if v.day < 0 && v.status == rct_core::schedule::VisitStatus::Overdue {
            v.status = rct_core::schedule::VisitStatus::Due;
            v.days_left = 0;
        }
    }
    visits
}

/// Where a form at a visit stands: `not_started` (no value), `incomplete`
/// (a required field without a value) or `complete`.
pub fn form_status(
    form: &rct_core::protocol::Form,
    visit: &str,
    values: &BTreeMap<String, Value>,
) -> &'static str {
    let id = form.id.get_ref();
    let has = |f: &str| {
        values
            .get(&format!("{visit}/{id}/{f}"))
            .is_some_and(|v| !v.is_null())
    };
    let typed: Vec<_> = form.fields.iter().filter(|f| f.derived.is_none()).collect();
    if !typed.iter().any(|f| has(f.id.get_ref())) {
        "not_started"
    } else if typed.iter().any(|f| f.required && !has(f.id.get_ref())) {
        "incomplete"
    } else {
        "complete"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lupex() -> Protocol {
        rct_core::protocol::parse(
            include_str!("../../../protocols/lupex.toml"),
            "protocols/lupex.toml",
        )
        .unwrap()
    }

    fn input(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (format!("f.{k}"), v.to_string()))
            .collect()
    }

    #[test]
    fn form_input_reaches_the_core_checks() {
        let p = lupex();
        let form = p.form("demographics").unwrap();
        // Weight's hard range is 30-250 kg.
        let c = check_entry(&p, form, &input(&[("weight", "300"), ("height", "170")]));
        assert_eq!(c.errors.len(), 1, "{:?}", c.errors);
        assert!(c.messages.contains_key("weight"));
        // Soft range 40-150 warns; BMI is derived: 70 / 1.75^2 = 22.857...
        let c = check_entry(&p, form, &input(&[("weight", "160"), ("height", "175")]));
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        assert_eq!(c.warnings.len(), 1);
        let c = check_entry(&p, form, &input(&[("weight", "70"), ("height", "175")]));
        let bmi = c.derived["bmi"].as_ref().unwrap().as_f64().unwrap();
        assert!((bmi - 70.0 / 1.75 / 1.75).abs() < 1e-9, "{bmi}");
        // Required.
        let c = check_entry(&p, form, &input(&[("weight", "70")]));
        assert!(
            c.errors.iter().any(|e| e.contains("required")),
            "{:?}",
            c.errors
        );
    }

    #[test]
    fn derived_values_are_shown_rounded_to_the_fields_decimals() {
        let p = lupex();
        // BMI = 70 / 1.75^2 = 22.857142... kg/m^2 (by hand): shown 22.86,
        // the stored value keeps every digit.
        let form = p.form("demographics").unwrap();
        let c = check_entry(&p, form, &input(&[("weight", "70"), ("height", "175")]));
        assert_eq!(c.shown["bmi"].as_deref(), Some("22.86"));
        let bmi = form
            .fields
            .iter()
            .find(|f| f.id.get_ref() == "bmi")
            .unwrap();
        assert_eq!(
            rounded(bmi, c.derived["bmi"].as_ref().unwrap()),
            json!(22.86)
        );
        // FSS score = mean of 9 items: (8 x 5 + 6) / 9 = 5.111... -> 5.11.
        let fss = p.form("fss").unwrap();
        let mut items: Vec<(String, &str)> = (1..=8).map(|i| (format!("q{i}"), "5")).collect();
        items.push(("q9".into(), "6"));
        let pairs: Vec<(&str, &str)> = items.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let c = check_entry(&p, fss, &input(&pairs));
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        assert_eq!(c.shown["score"].as_deref(), Some("5.11"));
        // No binary artefacts, no negative zero.
        assert_eq!(fixed(0.1 + 0.2, 2), "0.30");
        assert_eq!(rounded(bmi, &json!(0.1 + 0.2)).to_string(), "0.3");
        assert_eq!(fixed(-0.001, 2), "0.00");
        // Entered numbers: whole numbers without `.0`.
        assert_eq!(number_text(70.0), "70");
        assert_eq!(number_text(7.5), "7.5");
        let weight = form
            .fields
            .iter()
            .find(|f| f.id.get_ref() == "weight")
            .unwrap();
        assert_eq!(field_text(weight, &json!(70.0)), "70");
    }

    #[test]
    fn schedule_counts_entered_forms() {
        let p = lupex();
        let day0: NaiveDate = "2026-01-01".parse().unwrap();
        let today: NaiveDate = "2026-02-25".parse().unwrap();
        let values = BTreeMap::from([("week6/fss/q1".to_string(), json!(3))]);
        let s = schedule(&p, day0, today, &values);
        let by: BTreeMap<_, _> = s
            .iter()
            .map(|v| (v.id.as_str(), v.status.as_str()))
            .collect();
        assert_eq!(by["week6"], "done", "its only form, fss, has a value");
        // Baseline (day -7) comes before randomisation: never overdue
        // after it, still due while its forms are missing.
        assert_eq!(by["baseline"], "due");
        assert_eq!(by["screening"], "due");
        assert_eq!(by["followup"], "upcoming");
        let w6 = s.iter().find(|v| v.id == "week6").unwrap();
        assert_eq!(w6.due.to_string(), "2026-02-12");
    }

    #[test]
    fn form_status_counts_required_fields() {
        let p = lupex();
        let demo = p.form("demographics").unwrap();
        let required: Vec<_> = demo
            .fields
            .iter()
            .filter(|f| f.required && f.derived.is_none())
            .collect();
        assert!(required.len() >= 2, "demographics has required fields");
        let mut values = BTreeMap::new();
        assert_eq!(form_status(demo, "baseline", &values), "not_started");
        values.insert(
            format!("baseline/demographics/{}", required[0].id.get_ref()),
            json!(1),
        );
        assert_eq!(form_status(demo, "baseline", &values), "incomplete");
        for f in &required {
            values.insert(
                format!("baseline/demographics/{}", f.id.get_ref()),
                json!(1),
            );
        }
        assert_eq!(form_status(demo, "baseline", &values), "complete");
        // Another visit's values do not count.
        assert_eq!(form_status(demo, "followup", &values), "not_started");
    }
}
