//! The serious adverse event's reporting clock: the site reports a serious
//! adverse event to the sponsor within 24 hours of becoming aware of it
//! (ICH E6(R3) and ICH E2A's expedited reporting to the sponsor). The clock
//! runs from the time the site became aware until the report is recorded as
//! sent. The record has no clock: "now" is the reader's.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// Hours from the site's awareness to the report being due.
pub const SAE_REPORT_HOURS: i64 = 24;

/// Where a serious adverse event's report stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum SaeReportStatus {
    /// Not sent, not yet due: `remaining_seconds` until due.
    Pending { remaining_seconds: i64 },
    /// Not sent and past due by `overdue_seconds`.
    Overdue { overdue_seconds: i64 },
    /// Sent at or before the due time.
    SentOnTime,
    /// Sent after the due time, `late_seconds` late.
    SentLate { late_seconds: i64 },
}

/// The clock of one serious adverse event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SaeClock {
    pub aware: DateTime<Utc>,
    /// `aware` + 24 hours.
    pub due: DateTime<Utc>,
    pub sent: Option<DateTime<Utc>>,
    pub status: SaeReportStatus,
}

impl SaeClock {
    /// Still unsent past its due time: an alert stays up.
    pub fn is_overdue(&self) -> bool {
        matches!(self.status, SaeReportStatus::Overdue { .. })
    }

    /// Missed its due time, sent or not (for a deviation listing).
    pub fn missed(&self) -> bool {
        matches!(
            self.status,
            SaeReportStatus::Overdue { .. } | SaeReportStatus::SentLate { .. }
        )
    }
}

/// Why a clock cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error("sent: the report is recorded as sent ({sent}) before the site became aware of the event ({aware})")]
    SentBeforeAware {
        sent: DateTime<Utc>,
        aware: DateTime<Utc>,
    },
    #[error("aware: {aware} is too close to the end of the calendar to add 24 hours")]
    OutOfRange { aware: DateTime<Utc> },
}

/// The reporting clock of a serious adverse event the site became aware of
/// at `aware`, whose report was sent at `sent` (if it was), read at `now`.
/// Due exactly 24 hours after `aware`; a report sent at the due instant is on
/// time, and an unsent one is overdue only once `now` is past due.
pub fn sae_clock(
    aware: DateTime<Utc>,
    sent: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<SaeClock, ClockError> {
    let due = aware
        .checked_add_signed(Duration::hours(SAE_REPORT_HOURS))
        .ok_or(ClockError::OutOfRange { aware })?;
    let status = match sent {
        Some(s) if s < aware => return Err(ClockError::SentBeforeAware { sent: s, aware }),
        Some(s) if s <= due => SaeReportStatus::SentOnTime,
        Some(s) => SaeReportStatus::SentLate {
            late_seconds: (s - due).num_seconds(),
        },
        None if now <= due => SaeReportStatus::Pending {
            remaining_seconds: (due - now).num_seconds(),
        },
        None => SaeReportStatus::Overdue {
            overdue_seconds: (now - due).num_seconds(),
        },
    };
    Ok(SaeClock {
        aware,
        due,
        sent,
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn t(day: u32, h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, day, h, m, 0).unwrap()
    }

    #[test]
    fn due_is_aware_plus_24_hours() {
        let c = sae_clock(t(10, 14, 30), None, t(10, 15, 0)).unwrap();
        assert_eq!(c.due, t(11, 14, 30));
        assert_eq!(
            c.status,
            SaeReportStatus::Pending {
                remaining_seconds: 23 * 3600 + 30 * 60
            }
        );
        assert!(!c.is_overdue() && !c.missed());
    }

    #[test]
    fn overdue_only_after_the_due_instant() {
        let at_due = sae_clock(t(10, 14, 30), None, t(11, 14, 30)).unwrap();
        assert_eq!(
            at_due.status,
            SaeReportStatus::Pending {
                remaining_seconds: 0
            }
        );
        let after = sae_clock(t(10, 14, 30), None, t(11, 16, 0)).unwrap();
        assert_eq!(
            after.status,
            SaeReportStatus::Overdue {
                overdue_seconds: 5400
            }
        );
        assert!(after.is_overdue() && after.missed());
    }

    #[test]
    fn sent_on_time_and_late_whatever_now_is() {
        let on_time = sae_clock(t(10, 14, 30), Some(t(11, 14, 30)), t(20, 0, 0)).unwrap();
        assert_eq!(on_time.status, SaeReportStatus::SentOnTime);
        assert!(!on_time.missed());
        let late = sae_clock(t(10, 14, 30), Some(t(11, 15, 30)), t(11, 15, 31)).unwrap();
        assert_eq!(
            late.status,
            SaeReportStatus::SentLate { late_seconds: 3600 }
        );
        assert!(!late.is_overdue() && late.missed());
    }

    #[test]
    fn sent_before_aware_is_an_error() {
        let e = sae_clock(t(10, 14, 30), Some(t(10, 14, 0)), t(12, 0, 0)).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("sent: the report is recorded as sent"));
        let end = DateTime::<Utc>::MAX_UTC;
        assert_eq!(
            sae_clock(end, None, end).unwrap_err(),
            ClockError::OutOfRange { aware: end }
        );
    }

    proptest! {
        #[test]
        fn clock_invariants(aware_s in 0i64..4_000_000_000, sent_off in prop::option::of(0i64..400_000), now_off in -100_000i64..400_000) {
            let aware = Utc.timestamp_opt(aware_s, 0).unwrap();
            let sent = sent_off.map(|o| aware + Duration::seconds(o));
            let now = aware + Duration::seconds(now_off);
            let c = sae_clock(aware, sent, now).unwrap();
            prop_assert_eq!(c.due - c.aware, Duration::hours(24));
            match (sent, c.status) {
                (Some(s), SaeReportStatus::SentOnTime) => prop_assert!(s <= c.due),
                (Some(s), SaeReportStatus::SentLate { late_seconds }) => {
                    prop_assert!(s > c.due);
                    prop_assert_eq!(Duration::seconds(late_seconds), s - c.due);
                }
                (None, SaeReportStatus::Pending { remaining_seconds }) => {
                    prop_assert!(now <= c.due);
                    prop_assert!(remaining_seconds >= 0);
                }
                (None, SaeReportStatus::Overdue { overdue_seconds }) => {
                    prop_assert!(now > c.due);
                    prop_assert!(overdue_seconds >= 0);
                }
                (s, st) => prop_assert!(false, "sent {:?} gave {:?}", s, st),
            }
            prop_assert_eq!(c.is_overdue(), sent.is_none() && now > c.due);
        }
    }
}
