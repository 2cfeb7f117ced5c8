//! Screening: a protocol's eligibility criteria evaluated against a person's
//! facts at the screening date, with the reason for every result.
//!
//! Nobody is called eligible while a criterion that applies to them is
//! unknown: the verdict is then `incomplete`, naming the missing facts.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::protocol::{CriterionKind, Protocol, ValueType};
use crate::rules::{self, Env, Fact, Truth, Value};

/// A person to screen: facts with their dates, and the screening date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Person {
    /// Screening id.
    pub id: Option<String>,
    /// The date eligibility is judged at (never the machine's clock).
    pub screening_date: NaiveDate,
    /// Facts by id.
    pub facts: BTreeMap<String, Fact>,
}

/// The screening verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every applicable criterion is satisfied.
    Eligible,
    /// An inclusion criterion is not met or an exclusion criterion is met.
    Ineligible,
    /// Nothing excludes the person yet, but some criterion is unknown.
    Incomplete,
}

/// One criterion's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CriterionResult {
    /// The criterion's condition holds (for an exclusion: the person is excluded).
    Met,
    /// The condition does not hold.
    NotMet,
    /// A fact it needs is missing.
    Unknown,
    /// A sub-study criterion for someone who did not opt in.
    NotApplicable,
}

/// A criterion with its result and reasons.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CriterionOutcome {
    /// Criterion id.
    pub id: String,
    /// Inclusion or exclusion.
    pub kind: CriterionKind,
    /// Verbatim text.
    pub text: String,
    /// The machine rule.
    pub rule: String,
    /// The result.
    pub result: CriterionResult,
    /// Facts the rule read, with the values used.
    pub values: BTreeMap<String, Value>,
    /// Facts whose absence made it unknown.
    pub missing: Vec<String>,
}

impl CriterionOutcome {
    /// True when this criterion makes the person ineligible.
    pub fn excludes(&self) -> bool {
        matches!(
            (self.kind, self.result),
            (CriterionKind::Inclusion, CriterionResult::NotMet)
                | (CriterionKind::Exclusion, CriterionResult::Met)
        )
    }
}

/// The screening of one person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Screening {
    /// Screening id, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// Every criterion in protocol order.
    pub criteria: Vec<CriterionOutcome>,
    /// Every fact whose absence leaves a criterion unknown, and stratification
    /// facts randomisation will need.
    pub missing: Vec<String>,
}

/// Facts that do not fit the protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScreenError {
    /// A fact the protocol does not define.
    #[error("facts.{fact}: not a fact of protocol `{protocol}`; expected one of: {expected}")]
    UnknownFact {
        /// The fact id given.
        fact: String,
        /// The protocol.
        protocol: String,
        /// The facts it defines.
        expected: String,
    },
    /// A value of the wrong type or outside its code list.
    #[error("facts.{fact}: {message}")]
    BadValue {
        /// The fact id.
        fact: String,
        /// What was expected.
        message: String,
    },
    /// A rule that cannot be evaluated on these facts.
    #[error("criterion {criterion}: {message}")]
    Rule {
        /// Criterion id.
        criterion: String,
        /// What went wrong.
        message: String,
    },
    /// The person record itself is malformed.
    #[error("{0}")]
    Input(String),
}

struct PersonEnv<'a>(&'a Person);

impl Env for PersonEnv<'_> {
    fn fact(&self, name: &str) -> Option<&Fact> {
        self.0.facts.get(name)
    }
    fn evaluation_date(&self) -> Option<NaiveDate> {
        Some(self.0.screening_date)
    }
}

/// Screens `person` against the protocol's criteria.
pub fn screen(p: &Protocol, person: &Person) -> Result<Screening, ScreenError> {
    Screener::new(p)?.screen(person)
}

/// A protocol's criteria with their rules parsed once, for screening many people.
#[derive(Debug, Clone)]
pub struct Screener<'p> {
    protocol: &'p Protocol,
    rules: Vec<rules::Expr>,
}

impl<'p> Screener<'p> {
    /// Parses every criterion's rule.
    pub fn new(protocol: &'p Protocol) -> Result<Self, ScreenError> {
        let rules = protocol
            .criteria
            .iter()
            .map(|c| {
                rules::parse(c.rule.get_ref()).map_err(|e| ScreenError::Rule {
                    criterion: c.id.get_ref().clone(),
                    message: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Screener { protocol, rules })
    }

    /// Screens one person.
    pub fn screen(&self, person: &Person) -> Result<Screening, ScreenError> {
        screen_with(self.protocol, &self.rules, person)
    }
}

fn screen_with(
    p: &Protocol,
    parsed: &[rules::Expr],
    person: &Person,
) -> Result<Screening, ScreenError> {
    let env = PersonEnv(person);
    let mut criteria = Vec::with_capacity(p.criteria.len());
    for (c, expr) in p.criteria.iter().zip(parsed) {
        let src = c.rule.get_ref();
        let rule_err = |message: String| ScreenError::Rule {
            criterion: c.id.get_ref().clone(),
            message,
        };
        // Applicability: a sub-study criterion applies to those who opted in.
        let mut applicable = Truth::True;
        let mut missing = BTreeSet::new();
        let mut values = BTreeMap::new();
        if let Some(pop) = &c.population {
            let sub = p
                .substudy(pop.get_ref())
                .ok_or_else(|| rule_err(format!("undefined sub-study `{}`", pop.get_ref())))?;
            let opt_in = sub.opt_in.get_ref();
            applicable = match person.facts.get(opt_in).map(|f| &f.value) {
                Some(Value::Bool(true)) => Truth::True,
                Some(Value::Bool(false)) => Truth::False,
                Some(v) => {
                    return Err(ScreenError::BadValue {
                        fact: opt_in.clone(),
                        message: format!("expected true or false, found {v}"),
                    })
                }
                None => {
                    missing.insert(opt_in.clone());
                    Truth::Unknown
                }
            };
            if let Some(v) = person.facts.get(opt_in) {
                values.insert(opt_in.clone(), v.value.clone());
            }
        }
        let result = if applicable == Truth::False {
            CriterionResult::NotApplicable
        } else {
            let ev = rules::eval(expr, src, &env).map_err(|e| rule_err(e.to_string()))?;
            let truth = ev.truth().map_err(rule_err)?;
            values.extend(ev.used);
            missing.extend(ev.missing);
            let harmful = matches!(
                (c.kind, truth),
                (CriterionKind::Inclusion, Truth::False) | (CriterionKind::Exclusion, Truth::True)
            );
            match truth {
                // Whether someone opted in matters only if the criterion
                // would exclude them.
                _ if harmful && applicable == Truth::Unknown => CriterionResult::Unknown,
                Truth::True => CriterionResult::Met,
                Truth::False => CriterionResult::NotMet,
                Truth::Unknown => CriterionResult::Unknown,
            }
        };
        if result != CriterionResult::Unknown {
            missing.clear();
        }
        criteria.push(CriterionOutcome {
            id: c.id.get_ref().clone(),
            kind: c.kind,
            text: c.text.clone(),
            rule: src.clone(),
            result,
            values,
            missing: missing.into_iter().collect(),
        });
    }
    let mut missing: BTreeSet<String> = criteria
        .iter()
        .filter(|c| c.result == CriterionResult::Unknown)
        .flat_map(|c| c.missing.iter().cloned())
        .collect();
    // Randomisation needs the stratification facts (the site comes with the
    // participant's record, not from screening facts).
    for f in &p.strata {
        let fact = f.fact_id();
        if fact != "site" && !person.facts.contains_key(fact) {
            missing.insert(fact.to_string());
        }
    }
    let verdict = if criteria.iter().any(CriterionOutcome::excludes) {
        Verdict::Ineligible
    } else if !missing.is_empty() {
        Verdict::Incomplete
    } else {
        Verdict::Eligible
    };
    Ok(Screening {
        id: person.id.clone(),
        verdict,
        criteria,
        missing: missing.into_iter().collect(),
    })
}

/// Reads a person from the facts JSON format (documented in `rct screen --help`):
/// `{"id": "P001", "screening_date": "2025-03-01", "facts": {"birth_date":
/// "1980-05-02", "sex": "female", "alt": {"value": 50, "unit": "U/L", "uln": 40,
/// "date": "2025-02-20"}, "pet_substudy": true}}`. Values are checked against
/// the protocol's fact types; `null` means missing.
pub fn person_from_json(p: &Protocol, v: &serde_json::Value) -> Result<Person, ScreenError> {
    let obj = v.as_object().ok_or_else(|| {
        ScreenError::Input("expected a JSON object with screening_date and facts".into())
    })?;
    for k in obj.keys() {
        if !matches!(k.as_str(), "id" | "screening_date" | "facts") {
            return Err(ScreenError::Input(format!(
                "unknown key `{k}`: expected id, screening_date and facts"
            )));
        }
    }
    let id = match obj.get("id") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(other) => {
            return Err(ScreenError::Input(format!(
                "id: expected a string, found {other}"
            )))
        }
    };
    let screening_date = obj
        .get("screening_date")
        .and_then(|d| d.as_str())
        .ok_or_else(|| ScreenError::Input("screening_date: required, as \"YYYY-MM-DD\"".into()))
        .and_then(|s| {
            s.parse::<NaiveDate>().map_err(|_| {
                ScreenError::Input(format!(
                    "screening_date: `{s}` is not a date; write YYYY-MM-DD"
                ))
            })
        })?;
    let mut facts = BTreeMap::new();
    if let Some(f) = obj.get("facts") {
        let f = f.as_object().ok_or_else(|| {
            ScreenError::Input("facts: expected an object of fact id to value".into())
        })?;
        for (k, raw) in f {
            if let Some(fact) = fact_from_json(p, k, raw)? {
                facts.insert(k.clone(), fact);
            }
        }
    }
    Ok(Person {
        id,
        screening_date,
        facts,
    })
}

fn fact_from_json(
    p: &Protocol,
    id: &str,
    raw: &serde_json::Value,
) -> Result<Option<Fact>, ScreenError> {
    let def = p.fact(id).ok_or_else(|| ScreenError::UnknownFact {
        fact: id.to_string(),
        protocol: p.trial.id.get_ref().clone(),
        expected: p
            .facts
            .iter()
            .map(|f| f.id.get_ref().as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })?;
    let bad = |message: String| ScreenError::BadValue {
        fact: id.to_string(),
        message,
    };
    let (value, date, unit, uln, lln) = match raw {
        serde_json::Value::Null => return Ok(None),
        serde_json::Value::Object(o) => {
            for k in o.keys() {
                if !matches!(k.as_str(), "value" | "date" | "unit" | "uln" | "lln") {
                    return Err(bad(format!(
                        "unknown key `{k}`: expected value, date, unit, uln, lln"
                    )));
                }
            }
            let date = match o.get("date") {
                None | Some(serde_json::Value::Null) => None,
                Some(d) => Some(
                    d.as_str()
                        .and_then(|s| s.parse::<NaiveDate>().ok())
                        .ok_or_else(|| {
                            bad(format!("date: `{d}` is not a date; write YYYY-MM-DD"))
                        })?,
                ),
            };
            let num = |k: &str| -> Result<Option<f64>, ScreenError> {
                match o.get(k) {
                    None | Some(serde_json::Value::Null) => Ok(None),
                    Some(v) => v
                        .as_f64()
                        .map(Some)
                        .ok_or_else(|| bad(format!("{k}: expected a number, found {v}"))),
                }
            };
            let unit = match o.get("unit") {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(s)) => Some(s.clone()),
                Some(v) => return Err(bad(format!("unit: expected a string, found {v}"))),
            };
            match o.get("value") {
                None | Some(serde_json::Value::Null) => return Ok(None),
                Some(v) => (v.clone(), date, unit, num("uln")?, num("lln")?),
            }
        }
        v => (v.clone(), None, None, None, None),
    };
    let value = match def.kind {
        ValueType::Boolean => Value::Bool(
            value
                .as_bool()
                .ok_or_else(|| bad(format!("expected true or false, found {value}")))?,
        ),
        ValueType::Number | ValueType::Integer => {
            let x = value
                .as_f64()
                .ok_or_else(|| bad(format!("expected a number, found {value}")))?;
            if def.kind == ValueType::Integer && x.fract() != 0.0 {
                return Err(bad(format!("expected a whole number, found {x}")));
            }
            Value::Number(x)
        }
        ValueType::Date => {
            let s = value
                .as_str()
                .ok_or_else(|| bad(format!("expected a date \"YYYY-MM-DD\", found {value}")))?;
            Value::Date(
                s.parse()
                    .map_err(|_| bad(format!("`{s}` is not a date; write YYYY-MM-DD")))?,
            )
        }
        ValueType::Text | ValueType::Choice => {
            let s = value
                .as_str()
                .ok_or_else(|| bad(format!("expected a string, found {value}")))?;
            if let Some(list) = &def.code_list {
                if let Some(cl) = p
                    .code_lists
                    .iter()
                    .find(|l| l.id.get_ref() == list.get_ref())
                {
                    if !cl.items.iter().any(|i| i.code.get_ref() == s) {
                        let codes: Vec<&str> =
                            cl.items.iter().map(|i| i.code.get_ref().as_str()).collect();
                        return Err(bad(format!(
                            "`{s}` is not in code list `{}` ({})",
                            list.get_ref(),
                            codes.join(", ")
                        )));
                    }
                }
            }
            Value::Str(s.to_string())
        }
    };
    let declared = def.unit.as_ref().map(|u| u.get_ref().clone());
    let unit = match (unit, declared) {
        (Some(u), Some(d)) => {
            if rules::units::conversion_factor(&u, &d).is_err() {
                return Err(bad(format!(
                    "unit `{u}` does not convert to the protocol's unit `{d}`"
                )));
            }
            Some(u)
        }
        (Some(u), None) => {
            return Err(bad(format!(
                "has no unit in the protocol, but `{u}` was given"
            )))
        }
        (None, d) => d,
    };
    if uln.is_some() && !def.uln {
        return Err(bad(
            "carries a uln, which the protocol does not define for it".into(),
        ));
    }
    Ok(Some(Fact {
        value,
        date,
        unit,
        uln,
        lln,
    }))
}

/// CONSORT screening counts over many people.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScreeningLog {
    /// Assessed for eligibility.
    pub assessed: usize,
    /// Excluded (ineligible).
    pub excluded: usize,
    /// For each criterion that excluded someone, how many it excluded
    /// (a person can fail several).
    pub excluded_by: BTreeMap<String, usize>,
    /// Eligible.
    pub eligible: usize,
    /// Incomplete (a fact is missing).
    pub incomplete: usize,
}

impl ScreeningLog {
    /// Counts one screening.
    pub fn add(&mut self, s: &Screening) {
        self.assessed += 1;
        match s.verdict {
            Verdict::Eligible => self.eligible += 1,
            Verdict::Incomplete => self.incomplete += 1,
            Verdict::Ineligible => {
                self.excluded += 1;
                for c in s.criteria.iter().filter(|c| c.excludes()) {
                    *self.excluded_by.entry(c.id.clone()).or_default() += 1;
                }
            }
        }
    }
}
