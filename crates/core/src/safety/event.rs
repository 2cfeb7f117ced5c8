//! One adverse event as the investigator records it, and the checks that
//! hold its fields together.
//!
//! Definitions: ICH E2A (1994) section II.B for seriousness ("results in
//! death, is life-threatening, requires inpatient hospitalisation or
//! prolongation of existing hospitalisation, results in persistent or
//! significant disability/incapacity, or is a congenital anomaly/birth
//! defect", and "important medical events" by medical judgement); CTCAE
//! v5.0 for the grades (1 mild, 2 moderate, 3 severe or medically
//! significant, 4 life-threatening, 5 death related to the AE); CDISC SDTM
//! controlled terminology for action taken (AEACN) and outcome (AEOUT).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// An ICH E2A seriousness criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriousnessCriterion {
    /// Results in death.
    Death,
    /// Is life-threatening (at risk of death at the time of the event).
    LifeThreatening,
    /// Requires inpatient hospitalisation or prolongs an existing one.
    Hospitalisation,
    /// Results in persistent or significant disability or incapacity.
    Disability,
    /// Is a congenital anomaly or birth defect.
    CongenitalAnomaly,
    /// Another important medical event, by medical and scientific judgement.
    OtherImportantMedicalEvent,
}

impl SeriousnessCriterion {
    /// Every criterion, in ICH E2A's order.
    pub const ALL: [SeriousnessCriterion; 6] = [
        Self::Death,
        Self::LifeThreatening,
        Self::Hospitalisation,
        Self::Disability,
        Self::CongenitalAnomaly,
        Self::OtherImportantMedicalEvent,
    ];

    /// The wording shown on forms.
    pub fn label(self) -> &'static str {
        match self {
            Self::Death => "results in death",
            Self::LifeThreatening => "is life-threatening",
            Self::Hospitalisation => "requires or prolongs hospitalisation",
            Self::Disability => "results in persistent or significant disability/incapacity",
            Self::CongenitalAnomaly => "is a congenital anomaly/birth defect",
            Self::OtherImportantMedicalEvent => "other important medical event",
        }
    }
}

/// The investigator's assessment of the relationship to the intervention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relationship {
    NotRelated,
    Unlikely,
    Possible,
    Probable,
    Definite,
}

impl Relationship {
    /// Related for expedited reporting and tables: possible, probable or
    /// definite (a reasonable possibility of a causal relationship, ICH E2A
    /// III.A.1).
    pub fn is_related(self) -> bool {
        matches!(self, Self::Possible | Self::Probable | Self::Definite)
    }
}

/// Action taken with the intervention (CDISC AEACN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    DoseNotChanged,
    DoseReduced,
    DoseIncreased,
    DrugInterrupted,
    /// The intervention was stopped for good (discontinuation).
    DrugWithdrawn,
    NotApplicable,
    Unknown,
}

impl Action {
    /// The event led to discontinuation of the intervention.
    pub fn is_discontinuation(self) -> bool {
        self == Self::DrugWithdrawn
    }
}

/// Outcome of the event (CDISC AEOUT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Recovered,
    Recovering,
    NotRecovered,
    RecoveredWithSequelae,
    Fatal,
    Unknown,
}

/// When the event ended, or that it is ongoing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventEnd {
    Ended(NaiveDate),
    Ongoing,
}

/// The coder's choice: the lowest level term selected, the preferred term and
/// primary system organ class it belongs to, and the dictionary's name and
/// version (all kept, so a later dictionary version does not rewrite history).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coding {
    pub llt: super::Term,
    pub pt: super::Term,
    pub soc: super::Term,
    pub dictionary: String,
    pub version: String,
}

/// One adverse event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdverseEvent {
    /// The site's verbatim term.
    pub term: String,
    pub onset: NaiveDate,
    pub end: EventEnd,
    /// CTCAE v5.0 grade, 1 to 5 (kept as entered so that a wrong one can be
    /// reported).
    pub grade: u8,
    pub serious: bool,
    /// ICH E2A criteria met (none unless serious).
    pub criteria: Vec<SeriousnessCriterion>,
    pub relationship: Relationship,
    pub action: Action,
    pub outcome: Outcome,
    /// When the site became aware of the event: the reporting clock of a
    /// serious event runs from here.
    pub aware: DateTime<Utc>,
    /// Set by the coder, absent until then.
    pub coding: Option<Coding>,
}

impl AdverseEvent {
    /// The event led to discontinuation of the intervention.
    pub fn led_to_discontinuation(&self) -> bool {
        self.action.is_discontinuation()
    }

    /// Severe: CTCAE grade 3 or more.
    pub fn grade_3_or_more(&self) -> bool {
        self.grade >= 3
    }
}

/// A field of [`AdverseEvent`], as problems name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AeField {
    Term,
    Onset,
    End,
    Grade,
    Serious,
    Criteria,
    Relationship,
    Action,
    Outcome,
    Aware,
    Coding,
}

impl AeField {
    /// The field's name in forms and messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Term => "term",
            Self::Onset => "onset",
            Self::End => "end",
            Self::Grade => "grade",
            Self::Serious => "serious",
            Self::Criteria => "criteria",
            Self::Relationship => "relationship",
            Self::Action => "action",
            Self::Outcome => "outcome",
            Self::Aware => "aware",
            Self::Coding => "coding",
        }
    }
}

/// One problem with an adverse event: the field it belongs to and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AeProblem {
    pub field: AeField,
    pub message: String,
}

impl std::fmt::Display for AeProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field.name(), self.message)
    }
}

/// Longest verbatim term accepted (MedDRA terms are at most 100 characters;
/// a verbatim description may be longer, not unbounded).
pub const MAX_TERM_CHARS: usize = 500;

/// Every problem with `ae`, by field; empty when the event is consistent.
///
/// Rules: a verbatim term; the end not before the onset; grade 1 to 5; a
/// serious event meets at least one ICH E2A criterion and a criterion makes
/// the event serious; death as criterion, CTCAE grade 5 (death related to
/// the AE) and outcome fatal go together; a fatal, recovered or
/// recovered-with-sequelae event has an end date and one not (yet)
/// recovered is ongoing; the site cannot become aware before the onset;
/// a coding names its terms and dictionary version.
pub fn validate(ae: &AdverseEvent) -> Vec<AeProblem> {
    let mut out = Vec::new();
    let mut add = |field: AeField, message: String| out.push(AeProblem { field, message });

    let term = ae.term.trim();
    if term.is_empty() {
        add(AeField::Term, "the verbatim term is required".into());
    } else if ae.term.chars().count() > MAX_TERM_CHARS {
        add(
            AeField::Term,
            format!("the verbatim term is longer than {MAX_TERM_CHARS} characters"),
        );
    }

    if let EventEnd::Ended(end) = ae.end {
        if end < ae.onset {
            add(
                AeField::End,
                format!("the end date {end} is before the onset {}", ae.onset),
            );
        }
    }

    let grade_ok = (1..=5).contains(&ae.grade);
    if !grade_ok {
        add(
            AeField::Grade,
            format!(
                "grade {} is not a CTCAE v5.0 grade (1 mild, 2 moderate, 3 severe, 4 \
                 life-threatening, 5 death)",
                ae.grade
            ),
        );
    }

    let mut seen: Vec<SeriousnessCriterion> = Vec::new();
    for c in &ae.criteria {
        if seen.contains(c) {
            add(
                AeField::Criteria,
                format!("the criterion `{}` is given twice", c.label()),
            );
        } else {
            seen.push(*c);
        }
    }
    if ae.serious && ae.criteria.is_empty() {
        add(
            AeField::Criteria,
            "a serious adverse event needs at least one ICH E2A seriousness criterion".into(),
        );
    }
    if !ae.serious && !ae.criteria.is_empty() {
        add(
            AeField::Serious,
            format!(
                "the event meets the seriousness criterion `{}` and so is serious (ICH E2A)",
                ae.criteria
                    .iter()
                    .map(|c| c.label())
                    .collect::<Vec<_>>()
                    .join("`, `")
            ),
        );
    }

    // CTCAE v5.0: grade 5 is death related to the AE. Death as a
    // seriousness criterion, grade 5 and a fatal outcome go together.
    let death = ae.criteria.contains(&SeriousnessCriterion::Death);
    let fatal = ae.outcome == Outcome::Fatal;
    let grade5 = ae.grade == 5;
    if grade_ok && grade5 != fatal {
        add(
            AeField::Outcome,
            if grade5 {
                "grade 5 is death related to the event (CTCAE v5.0): the outcome must be fatal"
                    .into()
            } else {
                format!(
                    "a fatal outcome is grade 5 (CTCAE v5.0), not grade {}",
                    ae.grade
                )
            },
        );
    }
    if death != (grade5 || fatal) {
        add(
            AeField::Criteria,
            if death {
                "the criterion `results in death` needs grade 5 and a fatal outcome".into()
            } else {
                "a fatal event (grade 5 or outcome fatal) meets the seriousness criterion \
                 `results in death`"
                    .into()
            },
        );
    }

    match (ae.outcome, ae.end) {
        (
            Outcome::Fatal | Outcome::Recovered | Outcome::RecoveredWithSequelae,
            EventEnd::Ongoing,
        ) => add(
            AeField::End,
            format!(
                "an event with outcome `{}` has ended: give its end date",
                outcome_name(ae.outcome)
            ),
        ),
        (Outcome::Recovering | Outcome::NotRecovered, EventEnd::Ended(_)) => add(
            AeField::Outcome,
            format!(
                "an event that has an end date is not `{}`",
                outcome_name(ae.outcome)
            ),
        ),
        _ => {}
    }

    let aware = ae.aware.date_naive();
    if aware < ae.onset {
        add(
            AeField::Aware,
            format!(
                "the site cannot become aware ({aware}) before the onset ({})",
                ae.onset
            ),
        );
    }

    if let Some(c) = &ae.coding {
        for (what, t) in [
            ("lowest level term", &c.llt),
            ("preferred term", &c.pt),
            ("system organ class", &c.soc),
        ] {
            if t.code.trim().is_empty() || t.name.trim().is_empty() {
                add(
                    AeField::Coding,
                    format!("the {what} needs a code and a name"),
                );
            }
        }
        if c.dictionary.trim().is_empty() || c.version.trim().is_empty() {
            add(
                AeField::Coding,
                "the coding names its dictionary and version".into(),
            );
        }
    }
    out
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Recovered => "recovered/resolved",
        Outcome::Recovering => "recovering/resolving",
        Outcome::NotRecovered => "not recovered/not resolved",
        Outcome::RecoveredWithSequelae => "recovered/resolved with sequelae",
        Outcome::Fatal => "fatal",
        Outcome::Unknown => "unknown",
    }
}

#[cfg(test)]
#[path = "event_tests.rs"]
mod tests;
