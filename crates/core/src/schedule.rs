//! The visit schedule of one participant: each protocol visit's due date and
//! window from the randomisation date, and its status as of a date the caller
//! passes in (never the machine's clock).
//!
//! A visit is **done** when every form it collects has values (a visit that
//! collects no forms is done when it has been recorded at all); otherwise it is
//! **upcoming** before its window opens, **due** inside its window and
//! **overdue** after it closes.
//!
//! ```
//! use std::collections::BTreeMap;
//! use chrono::NaiveDate;
//! use rct_core::{protocol, schedule};
//! let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../protocols/lupex.toml")).unwrap();
//! let p = protocol::parse(&src, "lupex.toml").unwrap();
//! let day0 = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
//! let as_of = NaiveDate::from_ymd_opt(2026, 2, 15).unwrap(); // day 45
//! let visits = schedule::schedule(&p, day0, &BTreeMap::new(), as_of).unwrap();
//! let week6 = visits.iter().find(|v| v.id == "week6").unwrap();
//! assert_eq!(week6.due, NaiveDate::from_ymd_opt(2026, 2, 12).unwrap()); // day 42
//! assert_eq!(week6.status, schedule::VisitStatus::Due);
//! ```

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::protocol::Protocol;

/// Where a visit stands as of a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VisitStatus {
    /// Every form of the visit has values.
    Done,
    /// The window has not opened yet.
    Upcoming,
    /// Inside the window, not done.
    Due,
    /// The window has closed and the visit is not done.
    Overdue,
}

impl VisitStatus {
    /// The status as a word (`done`, `upcoming`, `due`, `overdue`).
    pub fn as_str(self) -> &'static str {
        match self {
            VisitStatus::Done => "done",
            VisitStatus::Upcoming => "upcoming",
            VisitStatus::Due => "due",
            VisitStatus::Overdue => "overdue",
        }
    }
}

/// One visit as scheduled for a participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduledVisit {
    /// Visit id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Target day relative to randomisation.
    pub day: i32,
    /// Target date.
    pub due: NaiveDate,
    /// First day of the window.
    pub window_start: NaiveDate,
    /// Last day of the window.
    pub window_end: NaiveDate,
    /// Forms collected at the visit.
    pub forms: Vec<String>,
    /// Those with values.
    pub forms_entered: Vec<String>,
    /// Status as of the date asked.
    pub status: VisitStatus,
    /// Days from the date asked to the window's end (negative once overdue).
    pub days_left: i64,
}

/// A date the calendar cannot hold (a randomisation date near the end of time).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("visit `{visit}`: day {day} from {randomised} is outside the calendar")]
pub struct ScheduleError {
    /// The visit.
    pub visit: String,
    /// Its day offset.
    pub day: i32,
    /// The randomisation date.
    pub randomised: NaiveDate,
}

/// The participant's visits in protocol order. `entered` maps a visit id to
/// the forms that have values at that visit; `as_of` is the date statuses are
/// judged at.
pub fn schedule(
    p: &Protocol,
    randomised: NaiveDate,
    entered: &BTreeMap<String, BTreeSet<String>>,
    as_of: NaiveDate,
) -> Result<Vec<ScheduledVisit>, ScheduleError> {
    p.visits
        .iter()
        .map(|v| {
            let id = v.id.get_ref().clone();
            let at = |day: i32| {
                randomised
                    .checked_add_signed(Duration::days(i64::from(day)))
                    .ok_or_else(|| ScheduleError {
                        visit: id.clone(),
                        day,
                        randomised,
                    })
            };
            let day = *v.day.get_ref();
            let [lo, hi] = *v.window.get_ref();
            let (due, window_start, window_end) = (at(day)?, at(lo)?, at(hi)?);
            let forms: Vec<String> = v.forms.iter().map(|f| f.get_ref().clone()).collect();
            let have = entered.get(&id);
            let forms_entered: Vec<String> = forms
                .iter()
                .filter(|f| have.is_some_and(|h| h.contains(*f)))
                .cloned()
                .collect();
            let done = if forms.is_empty() {
                have.is_some()
            } else {
                forms_entered.len() == forms.len()
            };
            let status = if done {
                VisitStatus::Done
            } else if as_of < window_start {
                VisitStatus::Upcoming
            } else if as_of <= window_end {
                VisitStatus::Due
            } else {
                VisitStatus::Overdue
            };
            Ok(ScheduledVisit {
                label: v.label.clone(),
                day,
                due,
                window_start,
                window_end,
                forms,
                forms_entered,
                status,
                days_left: (window_end - as_of).num_days(),
                id,
            })
        })
        .collect()
}

/// The visits whose window contains `date` (for filing data entered that day).
pub fn visits_on(visits: &[ScheduledVisit], date: NaiveDate) -> Vec<&ScheduledVisit> {
    visits
        .iter()
        .filter(|v| v.window_start <= date && date <= v.window_end)
        .collect()
}
