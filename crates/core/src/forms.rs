//! Form validation: one field's value, or a whole form entry, checked against
//! the protocol's form definition.
//!
//! - **Types**: `number`, `integer`, `text`, `date` (`YYYY-MM-DD`), `boolean`
//!   (`true`/`false`, also `yes`/`no`, `1`/`0`, `on` from a checkbox) and
//!   `choice` (a code of the field's code list). Numbers may come as JSON
//!   numbers or as text (`"72.5"`, `"72,5"`, `"72.5 kg"`), as
//!   `{"value": 1200, "unit": "mg/day"}`; empty text and `null` mean "no value".
//! - **Units**: a value given in another unit is converted to the field's unit
//!   where the rules' unit table converts them (`mg/day` to `g/24h`, `g` to
//!   `kg`); units that do not convert are refused, naming both.
//! - **Hard ranges refuse** (an error naming the field, the value and the
//!   range); **soft ranges warn** (the value is accepted with a warning).
//! - **Required** fields must have a value; **derived** fields are read-only
//!   and computed from the entered ones by their rule (docs/rules.md), with
//!   units (`vo2max_abs / weight` in mL/min ÷ kg gives mL/min/kg, converted to
//!   the field's mL/kg/min; a field without a unit takes the rule's number as
//!   written) and named scores (`sledai2k()`, `fss()`, computed by
//!   `rct-scores` from the form's items, see [`crate::rules::scores`]).
//!
//! Everything here is pure: values in, a [`FormCheck`] out.
//!
//! ```
//! use std::collections::BTreeMap;
//! use rct_core::{forms, protocol};
//! let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../protocols/lupex.toml")).unwrap();
//! let p = protocol::parse(&src, "lupex.toml").unwrap();
//! let entry: BTreeMap<String, serde_json::Value> = serde_json::from_str(
//!     r#"{"vo2max_abs": "2800 mL/min", "weight": 70}"#).unwrap();
//! let check = forms::validate_entry(&p, "cpet", &entry).unwrap();
//! assert!(check.errors.is_empty());
//! // 2800 mL/min / 70 kg = 40 mL/kg/min
//! assert_eq!(check.derived["vo2max_rel"].value, Some(forms::FieldValue::Number(40.0)));
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::protocol::{Field, Form, Protocol, ValueType};
use crate::rules::{self, units::conversion_factor, Env, Fact, Value};

/// A checked value, in the field's type and unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FieldValue {
    /// `boolean`.
    Boolean(bool),
    /// `integer`.
    Integer(i64),
    /// `number`, in the field's unit.
    Number(f64),
    /// `date`.
    Date(NaiveDate),
    /// `text` or `choice` (the code).
    Text(String),
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Boolean(b) => write!(f, "{}", if *b { "yes" } else { "no" }),
            FieldValue::Integer(i) => write!(f, "{i}"),
            FieldValue::Number(x) => write!(f, "{}", fmt_num(*x)),
            FieldValue::Date(d) => write!(f, "{d}"),
            FieldValue::Text(s) => write!(f, "{s}"),
        }
    }
}

impl FieldValue {
    /// The value as JSON (numbers, booleans, `YYYY-MM-DD` dates, text).
    pub fn to_json(&self) -> Json {
        serde_json::to_value(self).unwrap_or(Json::Null)
    }

    /// The value as rules see it: numbers carry the field's unit.
    pub fn to_rule_value(&self, unit: Option<&str>) -> Value {
        let num = |x: f64| match unit {
            Some(u) => Value::Quantity {
                value: x,
                unit: u.to_string(),
            },
            None => Value::Number(x),
        };
        match self {
            FieldValue::Boolean(b) => Value::Bool(*b),
            FieldValue::Integer(i) => num(*i as f64),
            FieldValue::Number(x) => num(*x),
            FieldValue::Date(d) => Value::Date(*d),
            FieldValue::Text(s) => Value::Str(s.clone()),
        }
    }

    /// The value as a rule fact (numbers with the field's unit).
    pub fn to_fact(&self, unit: Option<&str>) -> Fact {
        let mut fact = Fact::of(match self {
            FieldValue::Integer(i) => Value::Number(*i as f64),
            FieldValue::Number(x) => Value::Number(*x),
            other => other.to_rule_value(None),
        });
        if matches!(self, FieldValue::Integer(_) | FieldValue::Number(_)) {
            fact.unit = unit.map(str::to_string);
        }
        fact
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            FieldValue::Integer(i) => Some(*i as f64),
            FieldValue::Number(x) => Some(*x),
            _ => None,
        }
    }
}

/// Numbers as people write them: `40`, `22.86`, not `40.0`.
fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

fn with_unit(x: f64, unit: &Option<String>) -> String {
    match unit {
        Some(u) => format!("{} {u}", fmt_num(x)),
        None => fmt_num(x),
    }
}

fn range_text(low: f64, high: f64, unit: &Option<String>) -> String {
    match unit {
        Some(u) => format!("[{}, {}] {u}", fmt_num(low), fmt_num(high)),
        None => format!("[{}, {}]", fmt_num(low), fmt_num(high)),
    }
}

/// A value that is refused, or an entry that does not fit the form.
/// Every variant names the form and the field.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldError {
    /// The form is not in the protocol.
    #[error("form `{form}` is not in protocol `{protocol}`; expected one of: {expected}")]
    UnknownForm {
        /// The form id given.
        form: String,
        /// The protocol's id.
        protocol: String,
        /// The forms it defines.
        expected: String,
    },
    /// A value for a field the form does not have.
    #[error("{form}.{field}: not a field of form `{form}`; expected one of: {expected}")]
    UnknownField {
        /// Form id.
        form: String,
        /// The field id given.
        field: String,
        /// The form's fields.
        expected: String,
    },
    /// A required field without a value.
    #[error("{form}.{field}: {label} is required")]
    Required {
        /// Form id.
        form: String,
        /// Field id.
        field: String,
        /// The field's label.
        label: String,
    },
    /// A value of the wrong type.
    #[error("{form}.{field}: expected {expected}, found {found}")]
    Type {
        /// Form id.
        form: String,
        /// Field id.
        field: String,
        /// What the field takes.
        expected: String,
        /// What was given.
        found: String,
    },
    /// A number with more decimal places than the field declares.
    #[error("{form}.{field}: `{found}` has {places} decimal places; the field takes at most {decimals} (round it as the source document does, or correct the protocol's `decimals`)")]
    Decimals {
        /// Form id.
        form: String,
        /// Field id.
        field: String,
        /// The value given.
        found: String,
        /// Its decimal places.
        places: usize,
        /// The field's `decimals`.
        decimals: u8,
    },
    /// A choice outside the field's code list.
    #[error("{form}.{field}: `{value}` is not a code of list `{code_list}`; expected one of: {expected}")]
    Code {
        /// Form id.
        form: String,
        /// Field id.
        field: String,
        /// The value given.
        value: String,
        /// The code list.
        code_list: String,
        /// Its codes.
        expected: String,
    },
    /// A unit that does not convert into the field's unit.
    #[error("{form}.{field}: {message}")]
    Unit {
        /// Form id.
        form: String,
        /// Field id.
        field: String,
        /// The units involved and what to do.
        message: String,
    },
    /// A value outside the hard range: refused.
    #[error(
        "{form}.{field}: {} is outside the hard range {}: refused; check the value and its unit",
        with_unit(*.value, .unit),
        range_text(*.low, *.high, .unit)
    )]
    HardRange {
        /// Form id.
        form: String,
        /// Field id.
        field: String,
        /// The value, in the field's unit.
        value: f64,
        /// The field's unit.
        unit: Option<String>,
        /// Lowest value accepted.
        low: f64,
        /// Highest value accepted.
        high: f64,
    },
    /// A value given for a derived (computed, read-only) field.
    #[error("{form}.{field}: is derived (`{rule}`) and cannot be entered")]
    ReadOnly {
        /// Form id.
        form: String,
        /// Field id.
        field: String,
        /// Its rule.
        rule: String,
    },
    /// A derived field whose rule cannot be evaluated on these values.
    #[error("{form}.{field}: derived `{rule}`: {message}")]
    Derived {
        /// Form id.
        form: String,
        /// Field id.
        field: String,
        /// Its rule.
        rule: String,
        /// What went wrong.
        message: String,
    },
}

impl FieldError {
    /// The field the error belongs to (`None` for an unknown form).
    pub fn field(&self) -> Option<&str> {
        match self {
            FieldError::UnknownForm { .. } => None,
            FieldError::UnknownField { field, .. }
            | FieldError::Required { field, .. }
            | FieldError::Type { field, .. }
            | FieldError::Code { field, .. }
            | FieldError::Decimals { field, .. }
            | FieldError::Unit { field, .. }
            | FieldError::HardRange { field, .. }
            | FieldError::ReadOnly { field, .. }
            | FieldError::Derived { field, .. } => Some(field),
        }
    }
}

/// A value that is accepted but unusual: outside the soft range.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldWarning {
    /// Outside the soft (expected) range, inside the hard range.
    SoftRange {
        /// Form id.
        form: String,
        /// Field id.
        field: String,
        /// The value, in the field's unit.
        value: f64,
        /// The field's unit.
        unit: Option<String>,
        /// Lowest expected value.
        low: f64,
        /// Highest expected value.
        high: f64,
    },
}

impl FieldWarning {
    /// The field the warning belongs to.
    pub fn field(&self) -> &str {
        match self {
            FieldWarning::SoftRange { field, .. } => field,
        }
    }
}

impl fmt::Display for FieldWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldWarning::SoftRange {
                form,
                field,
                value,
                unit,
                low,
                high,
            } => write!(
                f,
                "{form}.{field}: {} is outside the expected range {}: accepted; please confirm it",
                with_unit(*value, unit),
                range_text(*low, *high, unit)
            ),
        }
    }
}

/// One field's checked value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldCheck {
    /// The value in the field's type and unit; `None` when none was given.
    pub value: Option<FieldValue>,
    /// Soft-range warnings.
    pub warnings: Vec<FieldWarning>,
}

/// A derived field's value, or what it still needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Derived {
    /// The computed value in the field's type and unit; `None` while a value
    /// it needs is missing.
    pub value: Option<FieldValue>,
    /// The field's unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Fields (or facts) it still needs.
    pub missing: Vec<String>,
}

/// A whole form entry, checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FormCheck {
    /// The form id.
    pub form: String,
    /// Accepted entered values, in each field's type and unit.
    pub values: BTreeMap<String, FieldValue>,
    /// Refusals: the entry may be saved only when this is empty.
    pub errors: Vec<FieldError>,
    /// Accepted values outside their soft ranges.
    pub warnings: Vec<FieldWarning>,
    /// Derived fields, computed from the accepted values.
    pub derived: BTreeMap<String, Derived>,
}

impl FormCheck {
    /// True when nothing was refused.
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

fn find_form<'p>(p: &'p Protocol, form_id: &str) -> Result<&'p Form, FieldError> {
    p.form(form_id).ok_or_else(|| FieldError::UnknownForm {
        form: form_id.to_string(),
        protocol: p.trial.id.get_ref().clone(),
        expected: p
            .forms
            .iter()
            .map(|f| f.id.get_ref().as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

fn field_names(form: &Form) -> String {
    form.fields
        .iter()
        .map(|f| f.id.get_ref().as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks one value for field `field_id` of form `form_id`.
pub fn validate_field(
    p: &Protocol,
    form_id: &str,
    field_id: &str,
    value: &Json,
) -> Result<FieldCheck, FieldError> {
    let form = find_form(p, form_id)?;
    let field = form
        .fields
        .iter()
        .find(|f| f.id.get_ref() == field_id)
        .ok_or_else(|| FieldError::UnknownField {
            form: form_id.to_string(),
            field: field_id.to_string(),
            expected: field_names(form),
        })?;
    check_field(p, form, field, value)
}

/// Checks a whole entry (field id to value) for form `form_id`: every value,
/// the required fields, and the derived fields computed from the accepted
/// values. Only an unknown form is an `Err`; everything else is reported in
/// the [`FormCheck`].
pub fn validate_entry(
    p: &Protocol,
    form_id: &str,
    values: &BTreeMap<String, Json>,
) -> Result<FormCheck, FieldError> {
    validate_entry_with(p, form_id, values, &BTreeMap::new())
}

/// As [`validate_entry`], with facts derived rules may also read: screening
/// facts by id, other forms' fields as `form.field` (for example the
/// participant's `birth_date`, or `demographics.height` at the same visit).
pub fn validate_entry_with(
    p: &Protocol,
    form_id: &str,
    values: &BTreeMap<String, Json>,
    context: &BTreeMap<String, Fact>,
) -> Result<FormCheck, FieldError> {
    let form = find_form(p, form_id)?;
    let mut out = FormCheck {
        form: form_id.to_string(),
        values: BTreeMap::new(),
        errors: Vec::new(),
        warnings: Vec::new(),
        derived: BTreeMap::new(),
    };
    for key in values.keys() {
        if !form.fields.iter().any(|f| f.id.get_ref() == key) {
            out.errors.push(FieldError::UnknownField {
                form: form_id.to_string(),
                field: key.clone(),
                expected: field_names(form),
            });
        }
    }
    let mut given = BTreeSet::new();
    for field in &form.fields {
        let id = field.id.get_ref();
        let raw = values.get(id).unwrap_or(&Json::Null);
        if let Some(rule) = &field.derived {
            if !is_empty(raw) {
                out.errors.push(FieldError::ReadOnly {
                    form: form_id.to_string(),
                    field: id.clone(),
                    rule: rule.get_ref().clone(),
                });
            }
            continue;
        }
        if !is_empty(raw) {
            given.insert(id.clone());
        }
        match check_field(p, form, field, raw) {
            Ok(c) => {
                out.warnings.extend(c.warnings);
                match c.value {
                    Some(v) => {
                        out.values.insert(id.clone(), v);
                    }
                    None if field.required => out.errors.push(FieldError::Required {
                        form: form_id.to_string(),
                        field: id.clone(),
                        label: field.label.clone(),
                    }),
                    None => {}
                }
            }
            Err(e) => out.errors.push(e),
        }
    }
    derive(form, &mut out, context);
    Ok(out)
}

fn is_empty(v: &Json) -> bool {
    match v {
        Json::Null => true,
        Json::String(s) => s.trim().is_empty(),
        Json::Object(o) => o.get("value").is_none_or(is_empty),
        _ => false,
    }
}

fn describe(v: &Json) -> String {
    match v {
        Json::String(s) => format!("\"{s}\""),
        Json::Array(_) => "a list".to_string(),
        Json::Object(_) => "an object".to_string(),
        other => other.to_string(),
    }
}

fn check_field(
    p: &Protocol,
    form: &Form,
    field: &Field,
    raw: &Json,
) -> Result<FieldCheck, FieldError> {
    let form_id = form.id.get_ref().as_str();
    let id = field.id.get_ref().as_str();
    let none = FieldCheck {
        value: None,
        warnings: Vec::new(),
    };
    if is_empty(raw) {
        return Ok(none);
    }
    let type_err = |expected: &str| FieldError::Type {
        form: form_id.to_string(),
        field: id.to_string(),
        expected: expected.to_string(),
        found: describe(raw),
    };
    let value = match field.kind {
        ValueType::Number | ValueType::Integer => {
            let whole = field.kind == ValueType::Integer;
            let expected = match (whole, &field.unit) {
                (true, Some(u)) => format!("a whole number (in {})", u.get_ref()),
                (true, None) => "a whole number".to_string(),
                (false, Some(u)) => format!("a number (in {})", u.get_ref()),
                (false, None) => "a number".to_string(),
            };
            let (x, unit) = parse_quantity(raw).ok_or_else(|| type_err(&expected))?;
            let x =
                to_field_unit(x, unit.as_deref(), field).map_err(|message| FieldError::Unit {
                    form: form_id.to_string(),
                    field: id.to_string(),
                    message,
                })?;
            if !x.is_finite() {
                return Err(type_err(&expected));
            }
            // Decimal places are checked on the value as given (a value
            // converted from another unit has as many as the conversion
            // makes, and is rounded by no one: it is taken).
            let converted = unit
                .as_deref()
                .is_some_and(|u| Some(u) != field.unit.as_ref().map(|f| f.get_ref().as_str()));
            if let (Some(d), false, false) = (&field.decimals, converted, whole) {
                let places = decimal_places(x);
                if places > usize::from(*d.get_ref()) {
                    return Err(FieldError::Decimals {
                        form: form_id.to_string(),
                        field: id.to_string(),
                        found: describe(raw),
                        places,
                        decimals: *d.get_ref(),
                    });
                }
            }
            if whole {
                let r = x.round();
                if (x - r).abs() > 1e-9 || r.abs() > 9.0e15 {
                    return Err(type_err(&expected));
                }
                FieldValue::Integer(r as i64)
            } else {
                FieldValue::Number(x)
            }
        }
        ValueType::Text => match raw {
            Json::String(s) => FieldValue::Text(s.clone()),
            _ => return Err(type_err("text")),
        },
        ValueType::Date => {
            let s = raw
                .as_str()
                .ok_or_else(|| type_err("a date (YYYY-MM-DD)"))?;
            FieldValue::Date(
                NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                    .map_err(|_| type_err("a date (YYYY-MM-DD)"))?,
            )
        }
        ValueType::Boolean => {
            FieldValue::Boolean(parse_bool(raw).ok_or_else(|| type_err("true or false (yes/no)"))?)
        }
        ValueType::Choice => {
            let s = match raw {
                Json::String(s) => s.trim().to_string(),
                Json::Number(n) => n.to_string(),
                _ => return Err(type_err("a code")),
            };
            let list_id = field.code_list.as_ref().map(|c| c.get_ref().as_str());
            let list = list_id.and_then(|l| p.code_lists.iter().find(|c| c.id.get_ref() == l));
            let Some(list) = list else {
                return Err(type_err("a code (the field names no code list)"));
            };
            if !list.items.iter().any(|i| *i.code.get_ref() == s) {
                return Err(FieldError::Code {
                    form: form_id.to_string(),
                    field: id.to_string(),
                    value: s,
                    code_list: list.id.get_ref().clone(),
                    expected: list
                        .items
                        .iter()
                        .map(|i| format!("{} ({})", i.code.get_ref(), i.label))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            FieldValue::Text(s)
        }
    };
    let warnings = ranges(form_id, field, &value)?;
    Ok(FieldCheck {
        value: Some(value),
        warnings,
    })
}

/// Hard range (an error) and soft range (a warning) of a numeric value.
fn ranges(
    form_id: &str,
    field: &Field,
    value: &FieldValue,
) -> Result<Vec<FieldWarning>, FieldError> {
    let Some(x) = value.as_f64() else {
        return Ok(Vec::new());
    };
    let unit = field.unit.as_ref().map(|u| u.get_ref().clone());
    if let Some(h) = &field.hard {
        let [low, high] = *h.get_ref();
        if x < low || x > high {
            return Err(FieldError::HardRange {
                form: form_id.to_string(),
                field: field.id.get_ref().clone(),
                value: x,
                unit,
                low,
                high,
            });
        }
    }
    let mut out = Vec::new();
    if let Some(s) = &field.soft {
        let [low, high] = *s.get_ref();
        if x < low || x > high {
            out.push(FieldWarning::SoftRange {
                form: form_id.to_string(),
                field: field.id.get_ref().clone(),
                value: x,
                unit,
                low,
                high,
            });
        }
    }
    Ok(out)
}

fn parse_bool(raw: &Json) -> Option<bool> {
    match raw {
        Json::Bool(b) => Some(*b),
        Json::Number(n) => match n.as_u64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Json::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" | "on" => Some(true),
            "false" | "no" | "n" | "0" | "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Decimal places of `x` as written in its shortest form (`70.10` and
/// `70.1` both have one: trailing zeros carry no digit).
fn decimal_places(x: f64) -> usize {
    let text = format!("{x}");
    text.split_once('.').map_or(0, |(_, frac)| frac.len())
}

/// A number and its unit from `72.5`, `"72.5"`, `"72,5 kg"` or
/// `{"value": 72.5, "unit": "kg"}`.
fn parse_quantity(raw: &Json) -> Option<(f64, Option<String>)> {
    match raw {
        Json::Number(n) => n.as_f64().map(|x| (x, None)),
        Json::String(s) => parse_quantity_text(s),
        Json::Object(o) => {
            let unit = match o.get("unit") {
                None | Some(Json::Null) => None,
                Some(Json::String(u)) if u.trim().is_empty() => None,
                Some(Json::String(u)) => Some(u.trim().to_string()),
                Some(_) => return None,
            };
            if o.keys().any(|k| k != "value" && k != "unit") {
                return None;
            }
            let (x, inner) = parse_quantity(o.get("value")?)?;
            match (unit, inner) {
                (Some(_), Some(_)) => None,
                (u, i) => Some((x, u.or(i))),
            }
        }
        _ => None,
    }
}

fn parse_quantity_text(s: &str) -> Option<(f64, Option<String>)> {
    let s = s.trim();
    let end = s
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || matches!(c, '.' | ',' | '-' | '+' | 'e' | 'E')))
        .map_or(s.len(), |(i, _)| i);
    // `e` starts a unit unless digits follow it (1e3)
    let (mut num, mut rest) = s.split_at(end);
    if let Some(k) = num.find(['e', 'E']) {
        if !num[k + 1..].chars().any(|c| c.is_ascii_digit()) {
            (num, rest) = s.split_at(k);
        }
    }
    let num = num.trim();
    let num = if num.contains(',') && !num.contains('.') && num.matches(',').count() == 1 {
        num.replace(',', ".")
    } else {
        num.to_string()
    };
    let x: f64 = num.parse().ok()?;
    let unit = rest.trim();
    Some((x, (!unit.is_empty()).then(|| unit.to_string())))
}

fn to_field_unit(x: f64, unit: Option<&str>, field: &Field) -> Result<f64, String> {
    let field_unit = field.unit.as_ref().map(|u| u.get_ref().as_str());
    match (unit, field_unit) {
        (None, _) => Ok(x),
        (Some(u), Some(fu)) => conversion_factor(u, fu).map(|f| x * f).map_err(|_| {
            format!("'{u}' does not convert into the field's unit '{fu}': give the value in {fu}")
        }),
        (Some(u), None) => Err(format!(
            "the field takes a plain number without a unit, found '{u}'"
        )),
    }
}

/// The rule environment of a form entry: the form's accepted values (by
/// field id and as `form.field`), then the caller's context.
struct FormEnv<'a> {
    form: &'a str,
    facts: BTreeMap<String, Fact>,
    context: &'a BTreeMap<String, Fact>,
}

impl Env for FormEnv<'_> {
    fn fact(&self, name: &str) -> Option<&Fact> {
        let local = name
            .strip_prefix(self.form)
            .and_then(|r| r.strip_prefix('.'))
            .unwrap_or(name);
        self.facts.get(local).or_else(|| self.context.get(name))
    }
    fn evaluation_date(&self) -> Option<NaiveDate> {
        None
    }
}

/// Computes the derived fields in passes, so a derived field may read another.
fn derive(form: &Form, out: &mut FormCheck, context: &BTreeMap<String, Fact>) {
    let form_id = form.id.get_ref().as_str();
    let mut env = FormEnv {
        form: form_id,
        facts: BTreeMap::new(),
        context,
    };
    for field in &form.fields {
        if let Some(v) = out.values.get(field.id.get_ref()) {
            let unit = field.unit.as_ref().map(|u| u.get_ref().as_str());
            env.facts
                .insert(field.id.get_ref().clone(), v.to_fact(unit));
        }
    }
    let pending: Vec<&Field> = form.fields.iter().filter(|f| f.derived.is_some()).collect();
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut results: BTreeMap<String, Result<Derived, FieldError>> = BTreeMap::new();
    loop {
        let mut progress = false;
        for field in &pending {
            let id = field.id.get_ref();
            if done.contains(id) {
                continue;
            }
            let r = derive_one(form_id, field, &env);
            if let Ok(Derived { value: Some(v), .. }) = &r {
                let unit = field.unit.as_ref().map(|u| u.get_ref().as_str());
                env.facts.insert(id.clone(), v.to_fact(unit));
            }
            if !matches!(&r, Ok(Derived { value: None, .. })) {
                done.insert(id.clone());
                progress = true;
            }
            results.insert(id.clone(), r);
        }
        if !progress {
            break;
        }
    }
    for field in pending {
        let id = field.id.get_ref();
        match results.remove(id) {
            Some(Ok(d)) => {
                if let Some(v) = &d.value {
                    match ranges(form_id, field, v) {
                        Ok(w) => out.warnings.extend(w),
                        Err(e) => out.errors.push(e),
                    }
                }
                out.derived.insert(id.clone(), d);
            }
            Some(Err(e)) => out.errors.push(e),
            None => {}
        }
    }
}

fn derive_one(form_id: &str, field: &Field, env: &FormEnv<'_>) -> Result<Derived, FieldError> {
    let rule = field
        .derived
        .as_ref()
        .map(|d| d.get_ref().as_str())
        .unwrap_or_default();
    let unit = field.unit.as_ref().map(|u| u.get_ref().clone());
    let fail = |message: String| FieldError::Derived {
        form: form_id.to_string(),
        field: field.id.get_ref().clone(),
        rule: rule.to_string(),
        message,
    };
    let expr = rules::parse(rule).map_err(|e| fail(e.to_string()))?;
    let ev = rules::eval(&expr, rule, env).map_err(|e| fail(e.to_string()))?;
    let Some(v) = ev.value else {
        return Ok(Derived {
            value: None,
            unit,
            missing: ev.missing.into_iter().collect(),
        });
    };
    let number = |x: f64, from: Option<&str>| -> Result<f64, FieldError> {
        let x = match (from, unit.as_deref()) {
            (None, _) => x,
            (Some(u), Some(fu)) => {
                x * conversion_factor(u, fu).map_err(|_| {
                    fail(format!(
                    "gives a value in '{u}', which does not convert into the field's unit '{fu}'"
                ))
                })?
            }
            // A field without a unit takes the number as the rule writes it
            // (BMI as `weight / ((height / 100) * (height / 100))`).
            (Some(_), None) => x,
        };
        if x.is_finite() {
            Ok(x)
        } else {
            Err(fail("gives no finite number".to_string()))
        }
    };
    let kind = |found: &Value| {
        fail(format!(
            "gives {found}, which is not {}",
            type_name(field.kind)
        ))
    };
    let value = match (field.kind, &v) {
        (ValueType::Number, Value::Number(x)) => FieldValue::Number(number(*x, None)?),
        (ValueType::Number, Value::Quantity { value, unit: u }) => {
            FieldValue::Number(number(*value, Some(u))?)
        }
        (ValueType::Integer, Value::Number(x))
        | (ValueType::Integer, Value::Quantity { value: x, .. }) => {
            let from = match &v {
                Value::Quantity { unit: u, .. } => Some(u.as_str()),
                _ => None,
            };
            let x = number(*x, from)?;
            if x.fract() != 0.0 {
                return Err(kind(&v));
            }
            FieldValue::Integer(x as i64)
        }
        (ValueType::Boolean, Value::Bool(b)) => FieldValue::Boolean(*b),
        (ValueType::Date, Value::Date(d)) => FieldValue::Date(*d),
        (ValueType::Text | ValueType::Choice, Value::Str(s)) => FieldValue::Text(s.clone()),
        _ => return Err(kind(&v)),
    };
    Ok(Derived {
        value: Some(value),
        unit,
        missing: Vec::new(),
    })
}

fn type_name(t: ValueType) -> &'static str {
    match t {
        ValueType::Number => "a number",
        ValueType::Integer => "a whole number",
        ValueType::Text => "text",
        ValueType::Date => "a date",
        ValueType::Boolean => "true or false",
        ValueType::Choice => "a code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse_from_text() {
        assert_eq!(parse_quantity_text("72.5"), Some((72.5, None)));
        assert_eq!(
            parse_quantity_text("72,5 kg"),
            Some((72.5, Some("kg".into())))
        );
        assert_eq!(
            parse_quantity_text("1200mg/day"),
            Some((1200.0, Some("mg/day".into())))
        );
        assert_eq!(
            parse_quantity_text("1e3 mL/min"),
            Some((1000.0, Some("mL/min".into())))
        );
        assert_eq!(parse_quantity_text("-3"), Some((-3.0, None)));
        assert_eq!(parse_quantity_text("kg"), None);
        assert_eq!(parse_quantity_text("1,000.5"), None);
    }

    #[test]
    fn booleans_accept_form_spellings() {
        for (s, b) in [("yes", true), ("on", true), ("0", false), ("False", false)] {
            assert_eq!(parse_bool(&Json::String(s.into())), Some(b), "{s}");
        }
        assert_eq!(parse_bool(&Json::String("maybe".into())), None);
    }
}
