//! The safety analysis: adverse events by arm in the protocol's safety set.
//!
//! Input ([`SafetyInput`]) is plain data the caller gathers from the record
//! (the adverse event log's instances, coded, and each participant's arms,
//! doses and exposure); [`safety_tables`] computes, per arm:
//!
//! - N in the safety set, person-years of exposure;
//! - participants with at least one AE, one serious AE, one AE of CTCAE grade
//!   3 or more, one AE leading to discontinuation (n, %, events);
//! - participants and events by system organ class and preferred term;
//! - the exposure-adjusted incidence rate of each row: participants with an
//!   event per 100 person-years at risk (time to the first such event for
//!   those who had one, the whole exposure for the others; 365.25 days a
//!   year) with Garwood's exact Poisson interval;
//! - each active arm against the control arm: the risk difference with
//!   Newcombe's hybrid score interval (Stat Med 1998;17:873, method 10,
//!   95 %), descriptive only (ICH E9 section 6.4: no test for each term);
//! - Fisher's exact test (two-sided) only for the safety outcomes the
//!   protocol pre-specifies ([`PrespecifiedOutcome`]), unadjusted.
//!
//! [`SafetyEvent::from_adverse_event`] turns the record's coded
//! [`rct_core::safety::AdverseEvent`] into a row (study day from the first
//! day of exposure; `None` before it). [`safety_blocks`] renders the section; `build_report_with` puts it in the
//! report and `report.json` when the caller hands the input.

mod from_event;
mod render;
mod tables;

pub use render::{safety_blocks, safety_markdown};
pub use tables::safety_tables;

use serde::{Deserialize, Serialize};

/// Which participants form the safety set, and by which arm they count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SafetySetRule {
    /// Everyone randomised, by the arm randomised (LUPEX: its control arm
    /// receives no intervention).
    Randomised,
    /// Everyone who received at least one dose, by the arm actually given
    /// (IL-2: by the kit dispensed).
    Dosed,
}

/// An arm of the trial, in the protocol's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetyArmSpec {
    pub id: String,
    pub label: String,
    /// The comparator (placebo or control) every other arm is compared with.
    pub control: bool,
}

impl SafetyArmSpec {
    /// The protocol's arms in its order, its control arm marked.
    pub fn from_protocol(protocol: &rct_core::protocol::Protocol) -> Vec<SafetyArmSpec> {
        protocol
            .arms
            .iter()
            .map(|a| SafetyArmSpec {
                id: a.id.get_ref().clone(),
                label: a.label.clone(),
                control: a.control,
            })
            .collect()
    }
}

/// One adverse event as the tables need it (treatment-emergent, coded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetyEvent {
    /// Primary system organ class (name as coded).
    pub soc: String,
    /// Preferred term (name as coded).
    pub pt: String,
    /// CTCAE v5.0 grade, 1 to 5.
    pub grade: u8,
    pub serious: bool,
    /// Action taken: the intervention was withdrawn.
    pub led_to_discontinuation: bool,
    /// Study day of onset: day 1 is the first day of exposure.
    pub onset_day: u32,
}

/// One participant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SafetyParticipant {
    pub id: String,
    /// The arm randomised; `None` for someone never randomised (never in
    /// the safety set).
    pub arm_randomised: Option<String>,
    /// The arm actually given (from the kits dispensed); `None` when no dose
    /// was given or the trial does not record it.
    pub arm_treated: Option<String>,
    /// Doses received.
    pub doses: u32,
    /// Days of exposure (time on study for an arm without intervention).
    pub exposure_days: f64,
    pub events: Vec<SafetyEvent>,
}

/// A safety outcome the protocol pre-specifies for a test (IL-2:
/// infections): events in one of these system organ classes or with one of
/// these preferred terms (names as coded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrespecifiedOutcome {
    pub id: String,
    pub label: String,
    #[serde(default)]
    pub socs: Vec<String>,
    #[serde(default)]
    pub pts: Vec<String>,
}

/// Everything the safety analysis reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SafetyInput {
    pub rule: SafetySetRule,
    pub arms: Vec<SafetyArmSpec>,
    pub participants: Vec<SafetyParticipant>,
    #[serde(default)]
    pub prespecified: Vec<PrespecifiedOutcome>,
}

/// An arm's column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SafetyArm {
    pub id: String,
    pub label: String,
    pub control: bool,
    /// Participants in the safety set counted in this arm.
    pub n: u64,
    /// Their exposure in person-years.
    pub person_years: f64,
    /// Of them, how many were randomised to another arm (safety set by
    /// dose only).
    pub treated_other_than_randomised: u64,
}

/// An exposure-adjusted incidence rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    /// Participants with the event per 100 person-years at risk.
    pub per_100_py: f64,
    /// Garwood's exact 95 % interval.
    pub ci_low: f64,
    pub ci_high: f64,
    /// Person-years at risk (to the first event, or the whole exposure).
    pub person_years_at_risk: f64,
}

/// One row's figures in one arm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SafetyCell {
    /// Participants with at least one such event.
    pub participants: u64,
    /// Such events.
    pub events: u64,
    /// `participants / n * 100`; none when the arm is empty.
    pub percent: Option<f64>,
    /// None when the arm has no time at risk.
    pub rate: Option<Rate>,
}

/// An active arm against the control arm: `p_arm - p_control`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskDifference {
    pub arm: String,
    pub control: String,
    /// None when either arm is empty (see the tables' notes).
    pub difference: Option<f64>,
    /// Newcombe's hybrid score 95 % interval (method 10).
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

/// One row of a table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SafetyRow {
    /// `any`, `serious`, `grade_3_or_more`, `discontinuation`; the SOC name
    /// or `SOC / PT` for coded rows; the outcome id for pre-specified ones.
    pub key: String,
    pub label: String,
    /// In the order of [`SafetyTables::arms`].
    pub arms: Vec<SafetyCell>,
    /// One per active arm, in the order of the arms.
    pub differences: Vec<RiskDifference>,
}

/// A system organ class and its preferred terms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SocRows {
    pub soc: SafetyRow,
    pub terms: Vec<SafetyRow>,
}

/// Fisher's exact test of an active arm against the control arm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FisherTest {
    pub arm: String,
    pub control: String,
    /// Two-sided p; none when either arm is empty.
    pub p: Option<f64>,
    /// Sample odds ratio (arm vs control); none when undefined.
    pub odds_ratio: Option<f64>,
}

/// A pre-specified safety outcome: its row and its tests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrespecifiedResult {
    pub row: SafetyRow,
    pub tests: Vec<FisherTest>,
}

/// The safety analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SafetyTables {
    pub rule: SafetySetRule,
    pub arms: Vec<SafetyArm>,
    /// Participants with any AE, a serious AE, grade 3 or more, an AE
    /// leading to discontinuation.
    pub overview: Vec<SafetyRow>,
    /// By system organ class (most participants first, then by name), each
    /// with its preferred terms in the same order.
    pub by_soc: Vec<SocRows>,
    pub prespecified: Vec<PrespecifiedResult>,
    /// Why a figure is missing (an empty arm, no control arm, no time at
    /// risk).
    pub notes: Vec<String>,
}

/// Why the safety analysis cannot run: the participant and field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SafetyError {
    #[error("safety analysis: {0}")]
    Arms(String),
    #[error("safety analysis: participant `{participant}`: {field}: {message}")]
    Participant {
        participant: String,
        field: &'static str,
        message: String,
    },
    #[error(
        "safety analysis: participant `{participant}`, adverse event {event}: {field}: {message}"
    )]
    Event {
        participant: String,
        event: usize,
        field: &'static str,
        message: String,
    },
    #[error("safety analysis: pre-specified outcome `{0}` names no system organ class and no preferred term")]
    EmptyOutcome(String),
    #[error("safety analysis: {0}")]
    Stats(String),
}
