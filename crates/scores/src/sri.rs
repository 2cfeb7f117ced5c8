//! The SLE Responder Index (SRI; Furie et al., Arthritis Rheum
//! 2009;61:1143), a pure rule comparing a visit with baseline.
//!
//! A responder meets all three:
//!
//! 1. SLEDAI-2K reduced by at least 4 points from baseline (SRI-4; SRI-5 and
//!    SRI-6 require 5 and 6: [`SriLevel`]);
//! 2. no new BILAG-2004 A domain and no more than one new B domain versus
//!    baseline. *New A*: a domain graded A at the visit that was not A at
//!    baseline (B, C, D or E). *New B*: a domain graded B at the visit that
//!    was C, D or E at baseline (a domain improving from A to B is not new);
//! 3. physician's global assessment (0-3) worsened by less than 0.3 points:
//!    change = visit - baseline < 0.30, compared in exact hundredths
//!    ([`crate::pga::Pga`]), so +0.29 passes and +0.30 fails.
//!
//! The result keeps every component and names each criterion that failed.

use std::fmt::Write as _;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use crate::bilag::{self, BilagInput, Domain, Grade};
use crate::pga::{fmt_hundredths, Pga};
use crate::sledai::{self, SledaiInput};
use crate::ScoreError;

const SCORE: &str = "sri";

/// PGA worsening that fails the rule, in hundredths (0.3).
pub const PGA_WORSENING_LIMIT: i32 = 30;

/// SRI-4, SRI-5 or SRI-6: the required SLEDAI-2K reduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum SriLevel {
    #[default]
    #[serde(rename = "SRI-4")]
    Sri4,
    #[serde(rename = "SRI-5")]
    Sri5,
    #[serde(rename = "SRI-6")]
    Sri6,
}

impl SriLevel {
    /// From the required reduction (4, 5 or 6).
    pub fn from_reduction(n: u32) -> Result<SriLevel, ScoreError> {
        match n {
            4 => Ok(SriLevel::Sri4),
            5 => Ok(SriLevel::Sri5),
            6 => Ok(SriLevel::Sri6),
            _ => Err(ScoreError::OutOfRange {
                score: SCORE,
                field: "level".to_string(),
                value: n.to_string(),
                expected: "4, 5 or 6 (SRI-4, SRI-5, SRI-6)".to_string(),
            }),
        }
    }

    pub fn required_reduction(self) -> u32 {
        match self {
            SriLevel::Sri4 => 4,
            SriLevel::Sri5 => 5,
            SriLevel::Sri6 => 6,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SriLevel::Sri4 => "SRI-4",
            SriLevel::Sri5 => "SRI-5",
            SriLevel::Sri6 => "SRI-6",
        }
    }
}

/// SLEDAI-2K at a visit: the total (0-105), or the descriptors to score.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SledaiEntry {
    Total(u32),
    Descriptors(Box<SledaiInput>),
}

impl<'de> Deserialize<'de> for SledaiEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(deserializer)?;
        match &v {
            serde_json::Value::Number(n) => match n.as_u64() {
                Some(t) if t <= u64::from(sledai::MAX_TOTAL) => Ok(SledaiEntry::Total(t as u32)),
                _ => Err(de::Error::custom(format!(
                    "SLEDAI-2K total {n} is not a whole number 0-{}",
                    sledai::MAX_TOTAL
                ))),
            },
            serde_json::Value::Object(_) => serde_json::from_value(v)
                .map(|i| SledaiEntry::Descriptors(Box::new(i)))
                .map_err(de::Error::custom),
            _ => Err(de::Error::custom(
                "expected a SLEDAI-2K total (0-105) or a sledai2k input {\"descriptors\": {...}}",
            )),
        }
    }
}

/// One visit's SRI components as entered (see docs/scores.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SriVisit {
    pub sledai2k: SledaiEntry,
    pub bilag2004: BilagInput,
    pub pga: Pga,
}

/// One visit's components once scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Components {
    pub sledai2k: u32,
    /// Grades in [`Domain::ALL`] order.
    pub bilag: [Grade; 9],
    pub pga: Pga,
}

impl SriVisit {
    /// Scores SLEDAI-2K (when descriptors are given) and checks BILAG-2004.
    pub fn components(&self) -> Result<Components, ScoreError> {
        let sledai2k = match &self.sledai2k {
            SledaiEntry::Total(t) => *t,
            SledaiEntry::Descriptors(i) => sledai::score(i)?.total,
        };
        Ok(Components {
            sledai2k,
            bilag: bilag::score(&self.bilag2004)?.grades(),
            pga: self.pga,
        })
    }
}

/// An SRI criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    SledaiReduction,
    NoNewBilagA,
    AtMostOneNewBilagB,
    PgaWorsening,
}

impl Criterion {
    pub fn describe(self, level: SriLevel) -> String {
        match self {
            Criterion::SledaiReduction => {
                format!("SLEDAI-2K reduction >= {}", level.required_reduction())
            }
            Criterion::NoNewBilagA => "no new BILAG-2004 A domain".to_string(),
            Criterion::AtMostOneNewBilagB => "no more than one new BILAG-2004 B domain".to_string(),
            Criterion::PgaWorsening => "PGA worsening < 0.30".to_string(),
        }
    }
}

/// The SRI at one visit, with every component.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SriResult {
    pub level: SriLevel,
    pub responder: bool,
    pub sledai_baseline: u32,
    pub sledai_visit: u32,
    /// baseline - visit (positive = improvement).
    pub sledai_reduction: i64,
    pub sledai_met: bool,
    pub new_a: Vec<Domain>,
    pub new_b: Vec<Domain>,
    pub bilag_met: bool,
    pub pga_baseline: Pga,
    pub pga_visit: Pga,
    /// visit - baseline in hundredths (positive = worse).
    pub pga_change_hundredths: i32,
    pub pga_met: bool,
    /// The criteria not met, in the order above.
    pub failed: Vec<Criterion>,
}

/// Domains newly graded A (not A at baseline) and newly graded B (C, D or E
/// at baseline).
pub fn new_a_b(baseline: &[Grade; 9], visit: &[Grade; 9]) -> (Vec<Domain>, Vec<Domain>) {
    let mut new_a = Vec::new();
    let mut new_b = Vec::new();
    for ((d, b), v) in Domain::ALL.iter().zip(baseline).zip(visit) {
        if *v == Grade::A && *b != Grade::A {
            new_a.push(*d);
        }
        if *v == Grade::B && matches!(b, Grade::C | Grade::D | Grade::E) {
            new_b.push(*d);
        }
    }
    (new_a, new_b)
}

/// The SRI rule on scored components.
pub fn evaluate(baseline: &Components, visit: &Components, level: SriLevel) -> SriResult {
    let reduction = i64::from(baseline.sledai2k) - i64::from(visit.sledai2k);
    let sledai_met = reduction >= i64::from(level.required_reduction());
    let (new_a, new_b) = new_a_b(&baseline.bilag, &visit.bilag);
    let pga_change = i32::from(visit.pga.hundredths()) - i32::from(baseline.pga.hundredths());
    let pga_met = pga_change < PGA_WORSENING_LIMIT;
    let mut failed = Vec::new();
    if !sledai_met {
        failed.push(Criterion::SledaiReduction);
    }
    if !new_a.is_empty() {
        failed.push(Criterion::NoNewBilagA);
    }
    if new_b.len() > 1 {
        failed.push(Criterion::AtMostOneNewBilagB);
    }
    if !pga_met {
        failed.push(Criterion::PgaWorsening);
    }
    SriResult {
        level,
        responder: failed.is_empty(),
        sledai_baseline: baseline.sledai2k,
        sledai_visit: visit.sledai2k,
        sledai_reduction: reduction,
        sledai_met,
        bilag_met: new_a.is_empty() && new_b.len() <= 1,
        new_a,
        new_b,
        pga_baseline: baseline.pga,
        pga_visit: visit.pga,
        pga_change_hundredths: pga_change,
        pga_met,
        failed,
    }
}

/// The SRI from two visits as entered.
pub fn sri(
    baseline: &SriVisit,
    visit: &SriVisit,
    level: SriLevel,
) -> Result<SriResult, ScoreError> {
    Ok(evaluate(
        &baseline.components()?,
        &visit.components()?,
        level,
    ))
}

fn names(ds: &[Domain]) -> String {
    if ds.is_empty() {
        "none".to_string()
    } else {
        ds.iter().map(|d| d.as_str()).collect::<Vec<_>>().join(", ")
    }
}

impl SriResult {
    /// The plain-text report `rct score sri` prints.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{} (Furie et al. 2009)", self.level.as_str());
        let _ = writeln!(
            s,
            "responder: {}",
            if self.responder { "yes" } else { "no" }
        );
        if !self.failed.is_empty() {
            let f: Vec<String> = self.failed.iter().map(|c| c.describe(self.level)).collect();
            let _ = writeln!(s, "failed: {}", f.join("; "));
        }
        let _ = writeln!(s);
        let mark = |ok: bool| if ok { "met" } else { "not met" };
        let _ = writeln!(
            s,
            "SLEDAI-2K: baseline {}, visit {}, reduction {} (needs >= {}): {}",
            self.sledai_baseline,
            self.sledai_visit,
            self.sledai_reduction,
            self.level.required_reduction(),
            mark(self.sledai_met)
        );
        let _ = writeln!(
            s,
            "BILAG-2004: new A: {}; new B: {} ({}; needs no new A and at most one new B): {}",
            names(&self.new_a),
            names(&self.new_b),
            self.new_b.len(),
            mark(self.bilag_met)
        );
        let _ = writeln!(
            s,
            "PGA: baseline {}, visit {}, change {}{} (needs < +0.30): {}",
            self.pga_baseline,
            self.pga_visit,
            if self.pga_change_hundredths > 0 {
                "+"
            } else {
                ""
            },
            fmt_hundredths(self.pga_change_hundredths),
            mark(self.pga_met)
        );
        s
    }
}

#[cfg(test)]
mod tests;
