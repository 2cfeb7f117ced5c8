#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The visit schedule of the LUPEX protocol from a randomisation date. Dates
//! are counted by hand on the 2026 calendar (January 31 days, February 28).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use rct_core::protocol::{self, Protocol};
use rct_core::schedule::{schedule, visits_on, ScheduledVisit, VisitStatus};

fn lupex() -> Protocol {
    let path = format!("{}/../../protocols/lupex.toml", env!("CARGO_MANIFEST_DIR"));
    protocol::parse(&std::fs::read_to_string(&path).unwrap(), &path).unwrap()
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn entered(items: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
    items
        .iter()
        .map(|(v, fs)| (v.to_string(), fs.iter().map(|f| f.to_string()).collect()))
        .collect()
}

fn find<'a>(vs: &'a [ScheduledVisit], id: &str) -> &'a ScheduledVisit {
    vs.iter().find(|v| v.id == id).unwrap()
}

const ALL_BASELINE: &[&str] = &[
    "demographics",
    "cpet",
    "fss",
    "ifn",
    "examination",
    "sledai",
];

#[test]
fn due_dates_and_windows_from_the_randomisation_date() {
    let p = lupex();
    let vs = schedule(&p, d(2026, 1, 1), &BTreeMap::new(), d(2026, 1, 1)).unwrap();
    let got: Vec<(&str, i32, NaiveDate, NaiveDate, NaiveDate)> = vs
        .iter()
        .map(|v| (v.id.as_str(), v.day, v.due, v.window_start, v.window_end))
        .collect();
    assert_eq!(
        got,
        [
            // day -21 = 2025-12-11; window -42..-7 = 2025-11-20..2025-12-25
            (
                "screening",
                -21,
                d(2025, 12, 11),
                d(2025, 11, 20),
                d(2025, 12, 25)
            ),
            // day -7 = 2025-12-25; window -21..0 = 2025-12-11..2026-01-01
            (
                "baseline",
                -7,
                d(2025, 12, 25),
                d(2025, 12, 11),
                d(2026, 1, 1)
            ),
            // day 42 = 2026-02-12; window 35..49 = 02-05..02-19
            ("week6", 42, d(2026, 2, 12), d(2026, 2, 5), d(2026, 2, 19)),
            // day 88 = 2026-03-30 (day 59 = March 1); window 84..105 = 03-26..04-16
            (
                "followup",
                88,
                d(2026, 3, 30),
                d(2026, 3, 26),
                d(2026, 4, 16)
            ),
        ]
    );
}

#[test]
fn statuses_as_of_a_date() {
    let p = lupex();
    let done = entered(&[
        ("screening", &["demographics", "sledai"]),
        ("baseline", ALL_BASELINE),
    ]);
    // 2026-02-15 is day 45: week 6 is in its window, follow-up ahead
    let vs = schedule(&p, d(2026, 1, 1), &done, d(2026, 2, 15)).unwrap();
    let st: Vec<(&str, VisitStatus)> = vs.iter().map(|v| (v.id.as_str(), v.status)).collect();
    assert_eq!(
        st,
        [
            ("screening", VisitStatus::Done),
            ("baseline", VisitStatus::Done),
            ("week6", VisitStatus::Due),
            ("followup", VisitStatus::Upcoming),
        ]
    );
    assert_eq!(find(&vs, "week6").days_left, 4);
    // 2026-02-20: the week 6 window closed the day before
    let vs = schedule(&p, d(2026, 1, 1), &done, d(2026, 2, 20)).unwrap();
    assert_eq!(find(&vs, "week6").status, VisitStatus::Overdue);
    assert_eq!(find(&vs, "week6").days_left, -1);
    // entered: done whatever the date
    let mut done2 = done.clone();
    done2.insert("week6".into(), BTreeSet::from(["fss".to_string()]));
    let vs = schedule(&p, d(2026, 1, 1), &done2, d(2026, 2, 20)).unwrap();
    assert_eq!(find(&vs, "week6").status, VisitStatus::Done);
}

#[test]
fn window_edges_are_inside() {
    let p = lupex();
    let none = BTreeMap::new();
    let at = |as_of| find(&schedule(&p, d(2026, 1, 1), &none, as_of).unwrap(), "week6").status;
    assert_eq!(at(d(2026, 2, 4)), VisitStatus::Upcoming);
    assert_eq!(at(d(2026, 2, 5)), VisitStatus::Due);
    assert_eq!(at(d(2026, 2, 19)), VisitStatus::Due);
    assert_eq!(at(d(2026, 2, 20)), VisitStatus::Overdue);
}

#[test]
fn a_visit_with_some_forms_missing_is_not_done() {
    let p = lupex();
    let partial = entered(&[("baseline", &["demographics", "cpet"])]);
    let vs = schedule(&p, d(2026, 1, 1), &partial, d(2026, 2, 15)).unwrap();
    let b = find(&vs, "baseline");
    assert_eq!(b.status, VisitStatus::Overdue);
    assert_eq!(b.forms_entered, ["demographics", "cpet"]);
    assert_eq!(b.forms.len(), 6);
    // forms entered at another visit do not count for this one
    assert!(find(&vs, "screening").forms_entered.is_empty());
}

#[test]
fn visits_on_a_date() {
    let p = lupex();
    let vs = schedule(&p, d(2026, 1, 1), &BTreeMap::new(), d(2026, 1, 1)).unwrap();
    // 2025-12-20 is inside both the screening (to 12-25) and baseline (from 12-11) windows
    let ids: Vec<&str> = visits_on(&vs, d(2025, 12, 20))
        .iter()
        .map(|v| v.id.as_str())
        .collect();
    assert_eq!(ids, ["screening", "baseline"]);
    assert!(visits_on(&vs, d(2026, 1, 15)).is_empty());
}

#[test]
fn dates_beyond_the_calendar_are_errors() {
    let p = lupex();
    let e = schedule(&p, NaiveDate::MAX, &BTreeMap::new(), NaiveDate::MAX).unwrap_err();
    assert!(
        e.to_string().starts_with("visit `week6`: day 42 from"),
        "{e}"
    );
}

#[test]
fn statuses_serialise_as_words() {
    let p = lupex();
    let vs = schedule(&p, d(2026, 1, 1), &BTreeMap::new(), d(2026, 2, 15)).unwrap();
    let j = serde_json::to_value(&vs).unwrap();
    assert_eq!(j[2]["status"], "due");
    assert_eq!(j[2]["window_start"], "2026-02-05");
    assert_eq!(VisitStatus::Overdue.as_str(), "overdue");
}
