//! Adherence over a participant's sessions, and the per-protocol rule
//! (LUPEX, as assumed in its protocol: >= 70 % of the planned sessions with
//! >= 3 compliant bouts).

use serde::Serialize;

use crate::compliance::{ComplianceReport, HeartRateStatus};

/// One attended session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionSummary {
    /// Where it came from (file name).
    pub source: String,
    /// Unix start time, where the file gives one.
    pub start_unix: Option<i64>,
    /// Week of the programme (1-based), from the first session's start.
    pub week: Option<u32>,
    /// Compliant bouts.
    pub compliant_bouts: usize,
    /// Bouts planned.
    pub bouts: usize,
    /// Whether the recording held heart rate: a session without is attended
    /// but unassessed (it counts as no compliant bout, and is listed).
    pub heart_rate: HeartRateStatus,
}

/// The participant's adherence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdherenceReport {
    /// Sessions planned (per week x weeks).
    pub planned: u32,
    /// Sessions attended (recordings given).
    pub attended: usize,
    /// Sessions attended in each week 1..=weeks (sessions without a date are not counted here).
    pub per_week: Vec<u32>,
    /// attended / planned.
    pub attended_fraction: f64,
    /// Compliant bouts / bouts planned over all planned sessions.
    pub compliant_bouts_fraction: f64,
    /// Sessions with at least `min_bouts` compliant bouts.
    pub compliant_sessions: usize,
    /// compliant_sessions / planned.
    pub compliant_sessions_fraction: f64,
    /// The rule applied.
    pub rule: String,
    /// Whether the participant meets the per-protocol rule.
    pub per_protocol: bool,
    /// Every session.
    pub sessions: Vec<SessionSummary>,
    /// Attended sessions whose recording holds no heart rate (unassessed).
    pub no_heart_rate_sessions: usize,
}

/// Longest weekly table: ten years.
pub const MAX_WEEKS: u32 = 520;

/// Summarises sessions: `per_week` x `weeks` planned, a session compliant
/// with at least `min_bouts` compliant bouts, per protocol when compliant
/// sessions are at least `min_fraction` of those planned.
pub fn adherence(
    sessions: &[(String, Option<i64>, ComplianceReport)],
    per_week: u32,
    weeks: u32,
    min_bouts: usize,
    min_fraction: f64,
) -> AdherenceReport {
    let planned = per_week.saturating_mul(weeks);
    let first = sessions.iter().filter_map(|s| s.1).min();
    // The weekly table stops at MAX_WEEKS, however many weeks a protocol plans.
    let mut per_week_counts = vec![0u32; weeks.min(MAX_WEEKS) as usize];
    let mut out = Vec::with_capacity(sessions.len());
    let (mut bouts_ok, mut bouts_per_session) = (0usize, 0usize);
    let mut compliant_sessions = 0;
    for (source, start, r) in sessions {
        let week = match (start, first) {
            (Some(s), Some(f)) => Some(
                u32::try_from(s.saturating_sub(f) / (7 * 86_400))
                    .map_or(u32::MAX, |w| w.saturating_add(1)),
            ),
            _ => None,
        };
        if let Some(w) = week {
            if let Some(c) = per_week_counts.get_mut((w as usize).saturating_sub(1)) {
                *c += 1;
            }
        }
        bouts_ok += r.compliant_bouts;
        bouts_per_session = bouts_per_session.max(r.bouts);
        if r.compliant_bouts >= min_bouts {
            compliant_sessions += 1;
        }
        out.push(SessionSummary {
            source: source.clone(),
            start_unix: *start,
            week,
            compliant_bouts: r.compliant_bouts,
            bouts: r.bouts,
            heart_rate: r.heart_rate,
        });
    }
    let frac = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let compliant_sessions_fraction = frac(compliant_sessions as f64, planned as f64);
    AdherenceReport {
        planned,
        attended: sessions.len(),
        per_week: per_week_counts,
        attended_fraction: frac(sessions.len() as f64, planned as f64),
        compliant_bouts_fraction: frac(
            bouts_ok as f64,
            bouts_per_session as f64 * f64::from(planned),
        ),
        compliant_sessions,
        compliant_sessions_fraction,
        rule: format!(
            ">= {:.0} % of {planned} planned sessions with >= {min_bouts} compliant bouts",
            min_fraction * 100.0
        ),
        per_protocol: compliant_sessions_fraction >= min_fraction,
        no_heart_rate_sessions: out
            .iter()
            .filter(|x| x.heart_rate == HeartRateStatus::NoData)
            .count(),
        sessions: out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(ok: usize) -> ComplianceReport {
        ComplianceReport {
            hrmax: 190.0,
            start: 0.0,
            alignment: "given".into(),
            phases: vec![],
            compliant_bouts: ok,
            bouts: 4,
            gaps: vec![],
            heart_rate: crate::compliance::HeartRateStatus::Recorded,
        }
    }

    #[test]
    fn sessions_without_heart_rate_are_listed_as_unassessed() {
        let mut none = report(0);
        none.heart_rate = HeartRateStatus::NoData;
        let s = vec![
            ("a.fit".to_string(), Some(0), report(4)),
            ("b.fit".to_string(), Some(86_400), none),
        ];
        let a = adherence(&s, 3, 12, 3, 0.7);
        assert_eq!(
            (a.attended, a.compliant_sessions, a.no_heart_rate_sessions),
            (2, 1, 1)
        );
        assert_eq!(a.sessions[1].heart_rate, HeartRateStatus::NoData);
    }

    #[test]
    fn the_per_protocol_rule_holds_at_its_edge() {
        // 36 planned; 70 % is 25.2, so 26 compliant sessions pass and 25 fail.
        let day = 86_400;
        let mk = |n: usize, ok: usize| -> Vec<(String, Option<i64>, ComplianceReport)> {
            (0..n)
                .map(|i| (format!("s{i}"), Some(i as i64 * 2 * day), report(ok)))
                .collect()
        };
        let a = adherence(&mk(26, 3), 3, 12, 3, 0.7);
        assert!(a.per_protocol);
        assert_eq!(a.compliant_sessions, 26);
        let b = adherence(&mk(25, 4), 3, 12, 3, 0.7);
        assert!(!b.per_protocol);
        let c = adherence(&mk(36, 2), 3, 12, 3, 0.7);
        assert!(!c.per_protocol, "2 compliant bouts are not enough");
        assert!((c.compliant_bouts_fraction - 0.5).abs() < 1e-12);
        // Sessions every 2 days: weeks 1.. get 4, 3, 4, ...
        assert_eq!(a.per_week[0], 4);
        assert_eq!(a.per_week.iter().sum::<u32>(), 26);
    }
}
