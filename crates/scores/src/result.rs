//! The common result every score converts into (what `score_by_name`
//! returns and `rct score --json` prints).

use std::fmt::Write as _;

use serde::Serialize;

use crate::ScoreName;

/// One descriptor, item or criterion and what it contributed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakdownLine {
    /// The input field name (e.g. `proteinuria`, `item 3`).
    pub item: String,
    /// Domain or kind (`renal`, `clinical`, ...), when the score has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The value as given (`present`, `absent`, `1.2 g/24h (> 0.5)`, `5`).
    pub value: String,
    /// Whether the finding is present / the criterion met.
    pub present: bool,
    /// The weight it carries when it counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    /// What it adds to the total.
    pub points: f64,
    /// Why it did or did not count, when that is not obvious.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A domain or group subtotal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupScore {
    pub name: String,
    /// `clinical` or `immunologic`, when the score distinguishes them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub points: f64,
    /// The item that gave the group its points, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counted: Option<String>,
}

/// The result of any score, with its breakdown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreResult {
    pub score: ScoreName,
    /// The score's value: SLEDAI points, EULAR points, number of SLICC or ACR
    /// criteria met, FSS mean.
    pub total: f64,
    /// The highest possible total.
    pub max_total: f64,
    /// For classification criteria: whether the person is classified as SLE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classified: Option<bool>,
    /// A category label (SLEDAI activity band, FSS fatigue or not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// SLEDAI with a previous score: whether the increase is a flare (> 3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flare: Option<bool>,
    /// FSS: whether missing items were prorated (always false otherwise).
    pub prorated: bool,
    /// Plain words: why classified or not, which rule or band applied.
    pub summary: String,
    pub groups: Vec<GroupScore>,
    pub breakdown: Vec<BreakdownLine>,
}

impl ScoreResult {
    /// The plain-text report `rct score` prints.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{}", self.score.title());
        let _ = writeln!(
            s,
            "total: {} (of {})",
            fmt_num(self.total),
            fmt_num(self.max_total)
        );
        // classification summaries start with "classified:" / "not classified:"
        if self.classified.is_some() {
            let _ = writeln!(s, "{}", self.summary);
        }
        if let Some(c) = &self.category {
            let _ = writeln!(s, "category: {c}");
        }
        if let Some(f) = self.flare {
            let _ = writeln!(s, "flare: {}", if f { "yes" } else { "no" });
        }
        if self.prorated {
            let _ = writeln!(s, "prorated: yes");
        }
        if self.classified.is_none() {
            let _ = writeln!(s, "{}", self.summary);
        }
        if !self.groups.is_empty() {
            let _ = writeln!(s);
            let w = self
                .groups
                .iter()
                .map(|g| g.name.len())
                .max()
                .unwrap_or(0)
                .max(6);
            let _ = writeln!(
                s,
                "{:<w$}  {:<11}  {:>6}  counted",
                "domain", "kind", "points"
            );
            for g in &self.groups {
                let _ = writeln!(
                    s,
                    "{:<w$}  {:<11}  {:>6}  {}",
                    g.name,
                    g.kind.as_deref().unwrap_or("-"),
                    fmt_num(g.points),
                    g.counted.as_deref().unwrap_or("-")
                );
            }
        }
        if self.breakdown.is_empty() {
            return s;
        }
        let _ = writeln!(s);
        let wi = self
            .breakdown
            .iter()
            .map(|b| b.item.len())
            .max()
            .unwrap_or(0)
            .max(4);
        let wv = self
            .breakdown
            .iter()
            .map(|b| b.value.len())
            .max()
            .unwrap_or(0)
            .max(5);
        let wg = self
            .breakdown
            .iter()
            .map(|b| b.group.as_deref().map_or(0, str::len))
            .max()
            .unwrap_or(0);
        if wg > 0 {
            let _ = writeln!(
                s,
                "{:<wi$}  {:<wg$}  {:<wv$}  {:>6}  {:>6}",
                "item", "group", "value", "weight", "points"
            );
        } else {
            let _ = writeln!(
                s,
                "{:<wi$}  {:<wv$}  {:>6}  {:>6}",
                "item", "value", "weight", "points"
            );
        }
        for b in &self.breakdown {
            let weight = b.weight.map_or_else(|| "-".to_string(), fmt_num);
            let mut line = if wg > 0 {
                format!(
                    "{:<wi$}  {:<wg$}  {:<wv$}  {:>6}  {:>6}",
                    b.item,
                    b.group.as_deref().unwrap_or("-"),
                    b.value,
                    weight,
                    fmt_num(b.points)
                )
            } else {
                format!(
                    "{:<wi$}  {:<wv$}  {:>6}  {:>6}",
                    b.item,
                    b.value,
                    weight,
                    fmt_num(b.points)
                )
            };
            if let Some(n) = &b.note {
                line.push_str("  ");
                line.push_str(n);
            }
            let _ = writeln!(s, "{}", line.trim_end());
        }
        s
    }
}

/// Whole numbers without decimals, others to 3 decimals (trailing zeros cut).
pub(crate) fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        let s = format!("{x:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_plainly() {
        assert_eq!(fmt_num(4.0), "4");
        assert_eq!(fmt_num(4.5), "4.5");
        assert_eq!(fmt_num(40.0 / 9.0), "4.444");
    }
}
