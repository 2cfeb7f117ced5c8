//! The protocol model: what a protocol TOML file holds. Every table denies
//! unknown keys; ids and references keep their source span so that the
//! checker can point at the line and column of a mistake.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

/// A whole protocol, as written in its TOML file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Protocol {
    /// Identity, registration, sponsor and status.
    pub trial: Trial,
    /// Treatment arms with allocation weights.
    pub arms: Vec<Arm>,
    /// Who is blinded, and whether kit codes conceal allocation.
    pub masking: Masking,
    /// Emergency unblinding: the reason categories and the time allowed
    /// for the written explanation.
    #[serde(default)]
    pub unblinding: Unblinding,
    /// Informed consent: the consent form versions.
    #[serde(default)]
    pub consent: Consent,
    /// Roles of the trial and what each may see.
    #[serde(default)]
    pub roles: Vec<Role>,
    /// Recruiting sites.
    #[serde(default)]
    pub sites: Vec<Site>,
    /// Stratification factors and their levels.
    #[serde(default)]
    pub strata: Vec<Factor>,
    /// The randomisation design.
    pub randomisation: Randomisation,
    /// Units that quantities in rules and fields may carry.
    #[serde(default)]
    pub units: Vec<Spanned<String>>,
    /// Facts collected at screening, which eligibility rules read.
    #[serde(default)]
    pub facts: Vec<Fact>,
    /// Optional sub-studies (opt-in) with criteria of their own.
    #[serde(default)]
    pub substudies: Vec<Substudy>,
    /// Inclusion and exclusion criteria.
    #[serde(default)]
    pub criteria: Vec<Criterion>,
    /// The visit schedule, relative to randomisation.
    #[serde(default)]
    pub visits: Vec<Visit>,
    /// Case report forms.
    #[serde(default)]
    pub forms: Vec<Form>,
    /// Named code lists for choice fields.
    #[serde(default)]
    pub code_lists: Vec<CodeList>,
    /// Intervention sessions (for example a heart-rate-defined exercise session).
    #[serde(default)]
    pub sessions: Vec<Session>,
    /// Primary, co-primary and secondary outcomes.
    #[serde(default)]
    pub outcomes: Vec<Outcome>,
    /// Populations and pre-specified models.
    #[serde(default)]
    pub analysis: Analysis,
    /// What the trial estimates (ICH E9(R1)): treatment, population,
    /// variable, intercurrent events with their strategies, summary.
    #[serde(default)]
    pub estimands: Vec<super::estimand::Estimand>,
    /// Values chosen where the sources are silent, for the trial team to confirm.
    #[serde(default)]
    pub assumptions: Vec<Assumption>,
}

/// Identity and registration of the trial.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Trial {
    /// Short machine id, e.g. `lupex`.
    pub id: Spanned<String>,
    /// Full scientific title.
    pub title: String,
    /// Acronym or short title.
    #[serde(default)]
    pub short_title: Option<String>,
    /// Registry identifiers, e.g. `NCT05478018`.
    #[serde(default)]
    pub registry_ids: Vec<String>,
    /// Ethics committee approval number.
    #[serde(default)]
    pub ethics: Option<String>,
    /// Sponsor.
    pub sponsor: String,
    /// Conditions studied.
    #[serde(default)]
    pub conditions: Vec<String>,
    /// Trial phase.
    pub phase: Phase,
    /// Recruitment status.
    pub status: Status,
    /// Target number of participants.
    pub target_enrolment: Spanned<u32>,
    /// Primary purpose, e.g. basic science, treatment.
    #[serde(default)]
    pub primary_purpose: Option<String>,
    /// Intended duration of participation, e.g. `12 weeks`.
    #[serde(default)]
    pub duration: Option<String>,
}

/// Trial phase, as registries write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Not a drug trial (behavioural, device).
    NotApplicable,
    /// Early phase 1.
    Early1,
    /// Phase 1.
    #[serde(rename = "1")]
    P1,
    /// Phase 1/2.
    #[serde(rename = "1-2")]
    P1_2,
    /// Phase 2.
    #[serde(rename = "2")]
    P2,
    /// Phase 2/3.
    #[serde(rename = "2-3")]
    P2_3,
    /// Phase 3.
    #[serde(rename = "3")]
    P3,
    /// Phase 4.
    #[serde(rename = "4")]
    P4,
}

/// Recruitment status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Not yet recruiting.
    NotYetRecruiting,
    /// Recruiting.
    Recruiting,
    /// Active, not recruiting.
    ActiveNotRecruiting,
    /// Completed.
    Completed,
    /// Suspended.
    Suspended,
    /// Terminated.
    Terminated,
    /// Withdrawn.
    Withdrawn,
}

/// A treatment arm.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Arm {
    /// Machine id, e.g. `hiit`.
    pub id: Spanned<String>,
    /// Label shown to unblinded roles.
    pub label: String,
    /// Kind of arm.
    pub kind: ArmKind,
    /// Integer allocation weight (the ratio).
    pub weight: Spanned<u32>,
    /// Description of the intervention.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether this arm is the control for comparisons and the reference level in models.
    #[serde(default)]
    pub control: bool,
}

/// Kind of arm, as registries classify them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArmKind {
    /// Experimental intervention.
    Experimental,
    /// Placebo comparator.
    Placebo,
    /// No intervention.
    NoIntervention,
    /// Active comparator.
    Active,
    /// Sham comparator.
    Sham,
}

/// Who is masked to allocation.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Masking {
    /// Masked parties: `participant`, `investigator`, `outcome-assessor`, `care-provider`.
    #[serde(default)]
    pub blinded: Vec<Spanned<MaskedParty>>,
    /// Whether allocation is concealed behind kit codes (double-blind drug trials).
    #[serde(default)]
    pub kit_codes: bool,
    /// Free-text description of how blinding is maintained.
    #[serde(default)]
    pub description: Option<String>,
}

/// The reason categories of an emergency code-break offered when the
/// protocol declares none.
pub const DEFAULT_UNBLINDING_CATEGORIES: [&str; 4] = [
    "serious adverse event",
    "overdose",
    "pregnancy",
    "other medical emergency",
];

/// The hours allowed for a code-break's written explanation when the
/// protocol sets none.
pub const DEFAULT_EXPLAIN_WITHIN_HOURS: u32 = 24;

/// `[unblinding]`: how an emergency code-break is recorded.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Unblinding {
    /// Reason categories a code-break must name (for example `serious
    /// adverse event`); empty means [`DEFAULT_UNBLINDING_CATEGORIES`].
    #[serde(default)]
    pub categories: Vec<Spanned<String>>,
    /// Hours within which the free-text explanation must follow the
    /// code-break; absent means [`DEFAULT_EXPLAIN_WITHIN_HOURS`].
    #[serde(default)]
    pub explain_within_hours: Option<Spanned<u32>>,
}

impl Unblinding {
    /// The categories in force: the declared ones, else the defaults.
    pub fn categories(&self) -> Vec<String> {
        if self.categories.is_empty() {
            DEFAULT_UNBLINDING_CATEGORIES
                .iter()
                .map(|c| (*c).to_string())
                .collect()
        } else {
            self.categories
                .iter()
                .map(|c| c.get_ref().trim().to_string())
                .collect()
        }
    }

    /// The hours allowed for the explanation.
    pub fn explain_within_hours(&self) -> u32 {
        self.explain_within_hours
            .as_ref()
            .map_or(DEFAULT_EXPLAIN_WITHIN_HOURS, |h| *h.get_ref())
    }
}

/// `[consent]`: the consent form versions, oldest first; the current one is
/// the last. None declared means one version, `1`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    /// Versions of the consent form, oldest first.
    #[serde(default)]
    pub versions: Vec<Spanned<String>>,
}

impl Consent {
    /// The versions in force (`["1"]` when none are declared).
    pub fn versions(&self) -> Vec<String> {
        if self.versions.is_empty() {
            vec!["1".to_string()]
        } else {
            self.versions
                .iter()
                .map(|v| v.get_ref().trim().to_string())
                .collect()
        }
    }

    /// The current version: the last declared, else `1`.
    pub fn current(&self) -> String {
        self.versions().pop().unwrap_or_else(|| "1".to_string())
    }
}

/// A party that can be masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MaskedParty {
    /// The participant.
    Participant,
    /// The investigator.
    Investigator,
    /// The outcome assessor.
    OutcomeAssessor,
    /// The care provider.
    CareProvider,
}

/// A role and what it may see.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// One of the system's roles: investigator, intervention_staff, pharmacist,
    /// outcome_assessor, data_manager, statistician, administrator.
    pub id: Spanned<String>,
    /// Label.
    #[serde(default)]
    pub label: Option<String>,
    /// Whether the role sees arm allocations.
    #[serde(default)]
    pub sees_arms: bool,
    /// Whether the role sees the kit-to-arm mapping.
    #[serde(default)]
    pub sees_kits: bool,
}

/// The roles the system knows.
pub const KNOWN_ROLES: &[&str] = &[
    "investigator",
    "intervention_staff",
    "pharmacist",
    "outcome_assessor",
    "data_manager",
    "statistician",
    "administrator",
];

/// A recruiting site.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// Machine id.
    pub id: Spanned<String>,
    /// Name.
    pub name: String,
    /// Country.
    #[serde(default)]
    pub country: Option<String>,
}

/// A stratification factor.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Factor {
    /// Machine id, e.g. `sex`.
    pub id: Spanned<String>,
    /// Label.
    #[serde(default)]
    pub label: Option<String>,
    /// Levels, e.g. `["female", "male"]`.
    #[serde(default)]
    pub levels: Vec<Spanned<String>>,
    /// The screening fact the level is read from (defaults to the factor id).
    /// `site` takes the participant's site.
    #[serde(default)]
    pub fact: Option<Spanned<String>>,
    /// Weight in minimisation.
    #[serde(default)]
    pub weight: Option<f64>,
}

impl Factor {
    /// The fact this factor's level comes from.
    pub fn fact_id(&self) -> &str {
        self.fact
            .as_ref()
            .map_or(self.id.get_ref(), |f| f.get_ref())
    }
}

/// The randomisation design.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Randomisation {
    /// Design in the syntax of `rct randomise assess`: `pbr:4`, `rpbr:4,6`, `psm:range:0.8`, ...
    pub design: Spanned<String>,
    /// Factors that define strata (an independent list per combination of levels).
    #[serde(default)]
    pub stratify_by: Vec<Spanned<String>>,
    /// Factors balanced by minimisation.
    #[serde(default)]
    pub minimise_on: Vec<Spanned<String>>,
    /// How the seed is generated and kept.
    #[serde(default)]
    pub seed_policy: Option<String>,
    /// Unit of randomisation (participant).
    #[serde(default)]
    pub unit: Option<String>,
}

/// Type of a fact or a form field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ValueType {
    /// A real number (optionally with a unit).
    Number,
    /// A whole number.
    Integer,
    /// Free text.
    Text,
    /// A calendar date.
    Date,
    /// Yes / no.
    Boolean,
    /// One code from a code list.
    Choice,
}

/// A screening fact: a value with its date, read by eligibility rules.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fact {
    /// Machine id used in rules.
    pub id: Spanned<String>,
    /// Label, or the question an investigator answers.
    pub label: String,
    /// Type of the value.
    #[serde(rename = "type")]
    pub kind: ValueType,
    /// Unit, for numbers.
    #[serde(default)]
    pub unit: Option<Spanned<String>>,
    /// Code list, for choices.
    #[serde(default)]
    pub code_list: Option<Spanned<String>>,
    /// Whether the fact is a clinician's yes/no judgement.
    #[serde(default)]
    pub judgement: bool,
    /// Whether the fact carries the lab's upper limit of normal (`x.uln`).
    #[serde(default)]
    pub uln: bool,
    /// Whether the fact comes from a procedure done only for the trial (a
    /// screening test, a trial-specific assessment) rather than from the
    /// person's existing records: ICH E6(R2) 4.8.8 needs consent before
    /// it, so the record refuses it in a screening before consent.
    #[serde(default)]
    pub trial_specific: bool,
}

/// An opt-in sub-study.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Substudy {
    /// Machine id, used as a criterion's population.
    pub id: Spanned<String>,
    /// Label.
    pub label: String,
    /// The boolean fact that says a person opted in.
    pub opt_in: Spanned<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
}

/// Inclusion or exclusion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CriterionKind {
    /// Must be met to be eligible.
    Inclusion,
    /// Must not be met to be eligible.
    Exclusion,
}

/// An eligibility criterion.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// Machine id, e.g. `I1`.
    pub id: Spanned<String>,
    /// Inclusion or exclusion.
    pub kind: CriterionKind,
    /// The criterion's text, verbatim from the protocol.
    pub text: String,
    /// The machine rule (true means the criterion is met).
    pub rule: Spanned<String>,
    /// The sub-study it applies to; absent means everyone.
    #[serde(default)]
    pub population: Option<Spanned<String>>,
    /// A note on how the rule encodes the text.
    #[serde(default)]
    pub note: Option<String>,
}

/// A scheduled visit.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Visit {
    /// Machine id.
    pub id: Spanned<String>,
    /// Label.
    pub label: String,
    /// Target day relative to randomisation (day 0); negative before it.
    pub day: Spanned<i32>,
    /// Allowed window `[earliest, latest]` in days relative to randomisation.
    pub window: Spanned<[i32; 2]>,
    /// Forms collected at this visit.
    #[serde(default)]
    pub forms: Vec<Spanned<String>>,
    /// Assessments performed (free text, from the protocol).
    #[serde(default)]
    pub assessments: Vec<String>,
}

/// A case report form.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Form {
    /// Machine id.
    pub id: Spanned<String>,
    /// Label.
    pub label: String,
    /// Role that enters it (e.g. `outcome_assessor`).
    #[serde(default)]
    pub entered_by: Option<Spanned<String>>,
    /// Arm-specific forms (e.g. exercise sessions) are hidden from blinded roles.
    #[serde(default)]
    pub arm: Option<Spanned<String>>,
    /// Fields.
    #[serde(default)]
    pub fields: Vec<Field>,
}

/// A field on a form.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// Machine id, unique within the form.
    pub id: Spanned<String>,
    /// Label.
    pub label: String,
    /// Type.
    #[serde(rename = "type")]
    pub kind: ValueType,
    /// Unit.
    #[serde(default)]
    pub unit: Option<Spanned<String>>,
    /// Code list, for choices.
    #[serde(default)]
    pub code_list: Option<Spanned<String>>,
    /// Whether a value is required.
    #[serde(default)]
    pub required: bool,
    /// Values outside are refused.
    #[serde(default)]
    pub hard: Option<Spanned<[f64; 2]>>,
    /// Values outside raise a warning.
    #[serde(default)]
    pub soft: Option<Spanned<[f64; 2]>>,
    /// A rule computing the value from other fields (the field is then read-only).
    #[serde(default)]
    pub derived: Option<Spanned<String>>,
    /// Decimal places a number is shown with (a derived value is rounded to
    /// them for display; the record keeps the value as computed or entered).
    #[serde(default)]
    pub decimals: Option<Spanned<u8>>,
}

impl Field {
    /// Decimal places to show a value of this field with: as declared, else
    /// none for whole numbers and two for other numbers (enough for a BMI or
    /// a mean item score, and never a binary artefact such as
    /// `0.30000000000000004`).
    pub fn shown_decimals(&self) -> usize {
        match (&self.decimals, self.kind) {
            (Some(d), _) => usize::from(*d.get_ref()),
            (None, ValueType::Integer) => 0,
            (None, _) => 2,
        }
    }
}

/// A named code list.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CodeList {
    /// Machine id.
    pub id: Spanned<String>,
    /// Codes and labels.
    pub items: Vec<CodeItem>,
}

/// One code.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CodeItem {
    /// Stored code.
    pub code: Spanned<String>,
    /// Label shown.
    pub label: String,
}

/// An intervention session template.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    /// Machine id.
    pub id: Spanned<String>,
    /// Label.
    pub label: String,
    /// Arm receiving it.
    pub arm: Spanned<String>,
    /// Sessions planned per week.
    pub per_week: Spanned<u32>,
    /// Weeks of intervention.
    pub weeks: Spanned<u32>,
    /// Where HRmax comes from, e.g. `baseline CPET, else 220 - age`.
    #[serde(default)]
    pub hrmax_source: Option<String>,
    /// Phases in order.
    pub phases: Vec<SessionPhase>,
    /// When a bout counts as compliant.
    #[serde(default)]
    pub compliance: Option<Compliance>,
}

/// A phase of a session .
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SessionPhase {
    /// Machine id.
    pub id: Spanned<String>,
    /// Label.
    pub label: String,
    /// Planned duration in minutes (the minimum where `max_minutes` is given).
    pub minutes: Spanned<f64>,
    /// Longest planned duration, where the protocol gives a range.
    #[serde(default)]
    pub max_minutes: Option<f64>,
    /// Heart-rate target as fractions of HRmax `[low, high]`; `high` may be 1.0 for "above low".
    pub zone: Spanned<[f64; 2]>,
    /// How many times the phase repeats (interleaved with `between`).
    #[serde(default = "one")]
    pub repeat: u32,
    /// The phase between repeats, by id.
    #[serde(default)]
    pub between: Option<Spanned<String>>,
    /// Whether this phase is a high-intensity bout checked for compliance.
    #[serde(default)]
    pub bout: bool,
}

fn one() -> u32 {
    1
}

/// When a bout counts as compliant.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Compliance {
    /// Heart-rate threshold as a fraction of HRmax (0.85).
    pub threshold: Spanned<f64>,
    /// Share of the bout that must be above it; compliant when strictly more (0.5).
    pub min_fraction: Spanned<f64>,
}

/// Outcome kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutcomeKind {
    /// Primary.
    Primary,
    /// Co-primary.
    CoPrimary,
    /// Secondary.
    Secondary,
    /// Exploratory.
    Exploratory,
}

/// An outcome.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// Machine id.
    pub id: Spanned<String>,
    /// Kind.
    pub kind: OutcomeKind,
    /// Label.
    pub label: String,
    /// The field measuring it, `form.field`.
    pub measure: Spanned<String>,
    /// Visits at which it is measured.
    pub timepoints: Vec<Spanned<String>>,
}

/// The analysis plan.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Analysis {
    /// Analysis variables: a form field at a visit, named for formulas.
    #[serde(default)]
    pub variables: Vec<Variable>,
    /// Analysis populations.
    #[serde(default)]
    pub populations: Vec<Population>,
    /// Pre-specified models.
    #[serde(default)]
    pub models: Vec<Model>,
}

/// A variable of the analysis data set.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    /// Name used in formulas, e.g. `vo2max_w12`.
    pub id: Spanned<String>,
    /// `form.field`, a fact id, or a trial variable (see docs/protocol.md).
    pub from: Spanned<String>,
    /// Visit, for form fields.
    #[serde(default)]
    pub visit: Option<Spanned<String>>,
    /// Label.
    #[serde(default)]
    pub label: Option<String>,
}

/// An analysis population.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Population {
    /// Machine id, e.g. `itt`.
    pub id: Spanned<String>,
    /// Label.
    pub label: String,
    /// Rule over trial variables deciding membership.
    pub rule: Spanned<String>,
}

/// A pre-specified model.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// Machine id.
    pub id: Spanned<String>,
    /// Label.
    pub label: String,
    /// The outcome it analyses.
    pub outcome: Spanned<String>,
    /// Formula in R/patsy notation.
    pub formula: Spanned<String>,
    /// Populations it is run in.
    pub populations: Vec<Spanned<String>>,
    /// Terms tested, e.g. `arm` or `arm:ifn_score`.
    #[serde(default)]
    pub test: Vec<String>,
    /// Robust standard errors (`hc3`).
    #[serde(default)]
    pub robust: Option<String>,
    /// Missing data handling, e.g. `multiple-imputation` or `complete-case`.
    #[serde(default)]
    pub missing: Option<String>,
    /// Outcome distribution: `gaussian` (the default: linear model),
    /// `binomial` (logistic regression of a 0/1 outcome; the report adds
    /// standardised risk differences) or `poisson` (log-linear counts).
    #[serde(default)]
    pub family: Option<Spanned<String>>,
    /// For binomial models: a Cochran-Mantel-Haenszel check of each arm
    /// against the control over the levels of this variable (e.g. `site`).
    #[serde(default)]
    pub cmh: Option<Spanned<String>>,
    /// A mixed model for repeated measures (MMRM) over visits: the formula's
    /// response is the outcome at each visit listed, `visit` its visit.
    #[serde(default)]
    pub repeated: Option<RepeatedPlan>,
}

/// The visits of a repeated-measures model (`repeated = { visits = [...],
/// covariance = "us", df = "kenward-roger" }`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RepeatedPlan {
    /// Analysis variables holding the outcome at each visit, in time order
    /// (e.g. `["fss_w6", "fss_w12"]`); the visit levels are their visits.
    pub visits: Vec<Spanned<String>>,
    /// Covariance across visits: `us` (unstructured, the default), `cs`,
    /// `ar1` or `toep`.
    #[serde(default)]
    pub covariance: Option<Spanned<String>>,
    /// Degrees of freedom: `kenward-roger` (the default) or `satterthwaite`.
    #[serde(default)]
    pub df: Option<Spanned<String>>,
}

/// A value chosen where the sources are silent.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Assumption {
    /// What it concerns, e.g. `visit windows`.
    pub topic: String,
    /// The choice and why.
    pub text: String,
}

/// Trial variables that population rules may read besides facts and fields.
pub const TRIAL_VARIABLES: &[&str] = &[
    "randomised",
    "consented",
    "withdrawn",
    "arm",
    "sessions_planned",
    "sessions_attended",
    "sessions_attended_fraction",
    "compliant_sessions",
    "compliant_sessions_fraction",
    "compliant_bouts_fraction",
    "site",
];

impl Protocol {
    /// Arms' allocation weights in order.
    pub fn ratio(&self) -> Vec<u32> {
        self.arms.iter().map(|a| *a.weight.get_ref()).collect()
    }

    /// The arm marked as control, or the first placebo / no-intervention arm.
    pub fn control_arm(&self) -> Option<&Arm> {
        self.arms.iter().find(|a| a.control).or_else(|| {
            self.arms
                .iter()
                .find(|a| matches!(a.kind, ArmKind::Placebo | ArmKind::NoIntervention))
        })
    }

    /// Whether any party is masked.
    pub fn is_blinded(&self) -> bool {
        !self.masking.blinded.is_empty()
    }

    /// Fact ids by id.
    pub fn fact(&self, id: &str) -> Option<&Fact> {
        self.facts.iter().find(|f| f.id.get_ref() == id)
    }

    /// A form by id.
    pub fn form(&self, id: &str) -> Option<&Form> {
        self.forms.iter().find(|f| f.id.get_ref() == id)
    }

    /// The sub-study by id.
    pub fn substudy(&self, id: &str) -> Option<&Substudy> {
        self.substudies.iter().find(|s| s.id.get_ref() == id)
    }

    /// Levels of every stratification factor, as a map.
    pub fn strata_levels(&self) -> BTreeMap<String, Vec<String>> {
        self.strata
            .iter()
            .map(|f| {
                (
                    f.id.get_ref().clone(),
                    f.levels.iter().map(|l| l.get_ref().clone()).collect(),
                )
            })
            .collect()
    }
}
