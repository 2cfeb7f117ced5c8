//! BILAG-2004, the British Isles Lupus Assessment Group 2004 index.
//!
//! Sources, and what each gives this module:
//!
//! - **Items and their scale**: the BILAG-2004 index form (revision 1 Sep
//!   2009) and its glossary (Isenberg et al., Rheumatology 2005;44:902; the
//!   glossary's scoring guidance): the nine domains and their 97 items
//!   ([`items`]); items 1-77 are recorded ND (not done), 0 not present,
//!   1 improving, 2 same, 3 worse, 4 new, and only when due to SLE activity.
//! - **Grades**: A (severe/very active), B (moderate), C (mild, stable),
//!   D (inactive, previously involved), E (never involved), per domain
//!   (Isenberg 2005; Yee et al., Arthritis Rheum 2007;56:4113).
//! - **Numerical score**: A = 12, B = 8, C = 1, D = 0, E = 0, summed over the
//!   nine domains (Yee et al., Rheumatology 2010;49:1665), so 0-108.
//!
//! **What is left out.** The per-domain grading rules of the BILAG-2004
//! scoring sheet (which item values make a domain A, B or C) were not
//! available to us from any source we could consult, for any of the nine
//! domains; we do not reconstruct them. The grade of each domain is
//! therefore an input (the assessor's grade from the official scoring
//! sheet or software), not computed from the items. What the sources do fix
//! is checked: when a domain's items are given, a domain whose items are all
//! on the activity scale cannot be D or E while an item records a current
//! manifestation (1-4: improving, same, worse or new), and cannot be A, B or
//! C when every one of its items is 0 (not present), since A-C mean current
//! activity and D-E its absence. Renal and haematological items (laboratory
//! values, yes/no findings) are recorded and shown, not checked against the
//! grade, because that needs the rules left out.

pub mod items;

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use crate::result::{BreakdownLine, GroupScore, ScoreResult};
use crate::{ScoreError, ScoreName};
pub use items::{Domain, ItemDef, ItemKind};

const SCORE: &str = "bilag2004";

/// Highest numerical score: nine domains graded A.
pub const MAX_TOTAL: u32 = 9 * 12;

/// A domain grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Grade {
    A,
    B,
    C,
    D,
    E,
}

impl Grade {
    /// Yee et al. 2010: A = 12, B = 8, C = 1, D = E = 0.
    pub fn points(self) -> u32 {
        match self {
            Grade::A => 12,
            Grade::B => 8,
            Grade::C => 1,
            Grade::D | Grade::E => 0,
        }
    }

    /// A, B and C record current activity; D and E its absence.
    pub fn active(self) -> bool {
        matches!(self, Grade::A | Grade::B | Grade::C)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Grade::A => "A",
            Grade::B => "B",
            Grade::C => "C",
            Grade::D => "D",
            Grade::E => "E",
        }
    }

    fn parse(s: &str) -> Result<Grade, String> {
        match s {
            "A" => Ok(Grade::A),
            "B" => Ok(Grade::B),
            "C" => Ok(Grade::C),
            "D" => Ok(Grade::D),
            "E" => Ok(Grade::E),
            _ => Err(format!(
                "grade `{s}` is not one of \"A\", \"B\", \"C\", \"D\", \"E\""
            )),
        }
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A domain as given: `"B"`, or `{"grade": "B", "items": {...}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DomainInput {
    pub grade: Option<Grade>,
    /// Item name to value as given (checked by [`score`]).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub items: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DomainObject {
    #[serde(default)]
    grade: Option<String>,
    #[serde(default)]
    items: BTreeMap<String, serde_json::Value>,
}

impl<'de> Deserialize<'de> for DomainInput {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        match value {
            serde_json::Value::String(s) => Ok(DomainInput {
                grade: Some(Grade::parse(&s).map_err(de::Error::custom)?),
                items: BTreeMap::new(),
            }),
            serde_json::Value::Object(_) => {
                let o: DomainObject = serde_json::from_value(value).map_err(de::Error::custom)?;
                let grade = o
                    .grade
                    .map(|g| Grade::parse(&g))
                    .transpose()
                    .map_err(de::Error::custom)?;
                Ok(DomainInput {
                    grade,
                    items: o.items,
                })
            }
            _ => Err(de::Error::custom(
                "expected a grade (\"A\" to \"E\") or {\"grade\": \"A\"-\"E\", \"items\": {...}}",
            )),
        }
    }
}

/// The nine domains. Every one must be given; one left out is an error.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Domains {
    pub constitutional: Option<DomainInput>,
    pub mucocutaneous: Option<DomainInput>,
    pub neuropsychiatric: Option<DomainInput>,
    pub musculoskeletal: Option<DomainInput>,
    pub cardiorespiratory: Option<DomainInput>,
    pub gastrointestinal: Option<DomainInput>,
    pub ophthalmic: Option<DomainInput>,
    pub renal: Option<DomainInput>,
    #[serde(alias = "hematological")]
    pub haematological: Option<DomainInput>,
}

impl Domains {
    fn get(&self, d: Domain) -> Option<&DomainInput> {
        match d {
            Domain::Constitutional => self.constitutional.as_ref(),
            Domain::Mucocutaneous => self.mucocutaneous.as_ref(),
            Domain::Neuropsychiatric => self.neuropsychiatric.as_ref(),
            Domain::Musculoskeletal => self.musculoskeletal.as_ref(),
            Domain::Cardiorespiratory => self.cardiorespiratory.as_ref(),
            Domain::Gastrointestinal => self.gastrointestinal.as_ref(),
            Domain::Ophthalmic => self.ophthalmic.as_ref(),
            Domain::Renal => self.renal.as_ref(),
            Domain::Haematological => self.haematological.as_ref(),
        }
    }
}

/// The BILAG-2004 input (see docs/scores.md).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BilagInput {
    pub domains: Domains,
}

/// An item value after checking.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemValue {
    /// Activity scale 0-4.
    Activity(u8),
    NotDone,
    YesNo(bool),
    Value(f64),
}

impl ItemValue {
    pub fn describe(self, def: &ItemDef) -> String {
        match (self, def.kind) {
            (ItemValue::Activity(n), _) => format!(
                "{n} ({})",
                ["not present", "improving", "same", "worse", "new"][usize::from(n.min(4))]
            ),
            (ItemValue::NotDone, _) => "ND (not done)".to_string(),
            (ItemValue::YesNo(b), _) => if b { "yes" } else { "no" }.to_string(),
            (ItemValue::Value(x), ItemKind::Value { unit, .. }) => {
                format!("{} {unit}", crate::finding::num(x))
            }
            (ItemValue::Value(x), _) => crate::finding::num(x),
        }
    }
}

/// One domain as graded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DomainResult {
    pub domain: Domain,
    pub grade: Grade,
    /// Yee 2010 numerical value of the grade.
    pub points: u32,
    /// The items given, in form order.
    pub items: Vec<(&'static str, ItemValue)>,
    /// What was checked of the grade against the items.
    pub check: String,
}

/// A BILAG-2004 result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BilagResult {
    pub domains: Vec<DomainResult>,
    /// Numerical score (Yee 2010), 0-108.
    pub total: u32,
    pub count_a: usize,
    pub count_b: usize,
    /// The highest grade of any domain.
    pub highest: Grade,
}

impl BilagResult {
    /// The grade of domain `d`.
    pub fn grade(&self, d: Domain) -> Grade {
        self.domains
            .iter()
            .find(|r| r.domain == d)
            .map_or(Grade::E, |r| r.grade)
    }

    /// The nine grades in [`Domain::ALL`] order.
    pub fn grades(&self) -> [Grade; 9] {
        Domain::ALL.map(|d| self.grade(d))
    }
}

fn item_path(d: Domain, item: &str) -> String {
    format!("domains.{}.items.{item}", d.as_str())
}

fn check_item(d: Domain, def: &ItemDef, v: &serde_json::Value) -> Result<ItemValue, ScoreError> {
    let field = item_path(d, def.name);
    let out_of_range = |expected: &str| ScoreError::OutOfRange {
        score: SCORE,
        field: field.clone(),
        value: v.to_string(),
        expected: expected.to_string(),
    };
    match def.kind {
        ItemKind::Activity => match v {
            serde_json::Value::String(s) if s == "ND" => Ok(ItemValue::NotDone),
            serde_json::Value::Number(n) => match n.as_u64() {
                Some(k) if k <= 4 => Ok(ItemValue::Activity(k as u8)),
                _ => Err(out_of_range(
                    "0 (not present), 1 (improving), 2 (same), 3 (worse), 4 (new) or \"ND\"",
                )),
            },
            _ => Err(out_of_range(
                "0 (not present), 1 (improving), 2 (same), 3 (worse), 4 (new) or \"ND\"",
            )),
        },
        ItemKind::YesNo => match v {
            serde_json::Value::Bool(b) => Ok(ItemValue::YesNo(*b)),
            _ => Err(out_of_range("true or false")),
        },
        ItemKind::Value { unit, max } => {
            let expected = match max {
                Some(m) => format!("a whole number 0-{m} ({unit})"),
                None => format!("a number >= 0 ({unit})"),
            };
            let Some(x) = v.as_f64() else {
                return Err(out_of_range(&expected));
            };
            let whole = x.fract() == 0.0;
            if !x.is_finite() || x < 0.0 || max.is_some_and(|m| !whole || x > f64::from(m)) {
                return Err(out_of_range(&expected));
            }
            Ok(ItemValue::Value(x))
        }
    }
}

fn grade_domain(d: Domain, input: &DomainInput) -> Result<DomainResult, ScoreError> {
    let defs = d.items();
    for name in input.items.keys() {
        if !defs.iter().any(|i| i.name == name) {
            let known: Vec<&str> = defs.iter().map(|i| i.name).collect();
            return Err(ScoreError::Input {
                score: SCORE,
                path: format!("domains.{}.items", d.as_str()),
                message: format!(
                    "unknown item `{name}`; the {} items are: {}",
                    d.as_str(),
                    known.join(", ")
                ),
            });
        }
    }
    let mut items = Vec::new();
    for def in defs {
        if let Some(v) = input.items.get(def.name) {
            items.push((def.name, check_item(d, def, v)?));
        }
    }
    let Some(grade) = input.grade else {
        return Err(ScoreError::Missing {
            score: SCORE,
            fields: vec![format!("domains.{}.grade", d.as_str())],
            hint: Some(
                "grade the domain A-E with the BILAG-2004 scoring sheet; rct checks the grade against the items but does not derive it (docs/scores.md)"
                    .to_string(),
            ),
        });
    };
    let check = check_grade(d, grade, &items)?;
    Ok(DomainResult {
        domain: d,
        grade,
        points: grade.points(),
        items,
        check,
    })
}

/// Checks what the grade definitions fix (see the module docs).
fn check_grade(
    d: Domain,
    grade: Grade,
    items: &[(&'static str, ItemValue)],
) -> Result<String, ScoreError> {
    if items.is_empty() {
        return Ok("grade as given (no items)".to_string());
    }
    if !d.activity_scale_only() {
        return Ok("grade as given (items recorded, not checked)".to_string());
    }
    let invalid = |message: String| ScoreError::Invalid {
        score: SCORE,
        field: format!("domains.{}.grade", d.as_str()),
        message,
    };
    if let Some((name, ItemValue::Activity(n))) = items
        .iter()
        .find(|(_, v)| matches!(v, ItemValue::Activity(1..=4)))
    {
        if !grade.active() {
            return Err(invalid(format!(
                "grade {grade} but item `{name}` is {n}: an item recorded 1-4 is current activity, which is graded A, B or C (D: inactive, previously involved; E: never involved)"
            )));
        }
        return Ok(format!("{grade}: current activity ({name} {n})"));
    }
    let complete = items.len() == d.items().len();
    let all_zero = items
        .iter()
        .all(|(_, v)| matches!(v, ItemValue::Activity(0)));
    if complete && all_zero {
        if grade.active() {
            return Err(invalid(format!(
                "grade {grade} but every {} item is 0 (not present): with no current manifestation the domain is D (previously involved) or E (never involved)",
                d.as_str()
            )));
        }
        return Ok(format!("{grade}: no current manifestation"));
    }
    Ok("grade as given (items incomplete or not done)".to_string())
}

/// Scores BILAG-2004: checks each domain's grade against its items and sums
/// the numerical score. Every domain must be given.
pub fn score(input: &BilagInput) -> Result<BilagResult, ScoreError> {
    let missing: Vec<(&'static str, bool)> = Domain::ALL
        .iter()
        .map(|d| (d.as_str(), input.domains.get(*d).is_some()))
        .collect();
    crate::require_all(SCORE, "domains.", &missing).map_err(|e| match e {
        ScoreError::Missing { score, fields, .. } => ScoreError::Missing {
            score,
            fields,
            hint: Some("give every domain's grade, E when never involved".to_string()),
        },
        other => other,
    })?;
    let mut domains = Vec::with_capacity(9);
    let mut missing_grades = Vec::new();
    for d in Domain::ALL {
        let Some(di) = input.domains.get(d) else {
            continue;
        };
        match grade_domain(d, di) {
            Ok(r) => domains.push(r),
            Err(ScoreError::Missing { fields, .. }) => missing_grades.extend(fields),
            Err(e) => return Err(e),
        }
    }
    if !missing_grades.is_empty() {
        return Err(ScoreError::Missing {
            score: SCORE,
            fields: missing_grades,
            hint: Some(
                "grade each domain A-E with the BILAG-2004 scoring sheet; rct checks grades against items but does not derive them (docs/scores.md)"
                    .to_string(),
            ),
        });
    }
    let total = domains.iter().map(|r| r.points).sum();
    let count = |g| domains.iter().filter(|r| r.grade == g).count();
    let highest = domains.iter().map(|r| r.grade).min().unwrap_or(Grade::E);
    Ok(BilagResult {
        total,
        count_a: count(Grade::A),
        count_b: count(Grade::B),
        highest,
        domains,
    })
}

impl From<BilagResult> for ScoreResult {
    fn from(r: BilagResult) -> Self {
        let grades: Vec<String> = r
            .domains
            .iter()
            .map(|d| format!("{} {}", d.domain.as_str(), d.grade))
            .collect();
        let summary = format!(
            "numerical score A=12 B=8 C=1 D=E=0 (Yee 2010); {} A, {} B; grades: {}",
            r.count_a,
            r.count_b,
            grades.join(", ")
        );
        let mut breakdown = Vec::new();
        for d in &r.domains {
            let defs = d.domain.items();
            for (name, value) in &d.items {
                let def = defs.iter().find(|i| i.name == *name);
                breakdown.push(BreakdownLine {
                    item: (*name).to_string(),
                    group: Some(d.domain.as_str().to_string()),
                    value: def.map_or_else(String::new, |def| value.describe(def)),
                    present: matches!(value, ItemValue::Activity(1..=4) | ItemValue::YesNo(true)),
                    weight: None,
                    points: 0.0,
                    note: None,
                });
            }
        }
        ScoreResult {
            score: ScoreName::Bilag2004,
            total: f64::from(r.total),
            max_total: f64::from(MAX_TOTAL),
            classified: None,
            category: Some(format!("highest grade {}", r.highest)),
            flare: None,
            prorated: false,
            summary,
            groups: r
                .domains
                .iter()
                .map(|d| GroupScore {
                    name: d.domain.as_str().to_string(),
                    kind: None,
                    points: f64::from(d.points),
                    counted: Some(format!("{} ({})", d.grade, d.check)),
                })
                .collect(),
            breakdown,
        }
    }
}

#[cfg(test)]
mod tests;
