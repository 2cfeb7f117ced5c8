//! The safety section of the report.

use super::{SafetyCell, SafetyRow, SafetySetRule, SafetyTables};
use crate::render::{fmt_p, markdown, num, Block};

/// ICH E9 section 6.4, said where the differences are shown.
pub const DESCRIPTIVE_NOTE: &str = "Differences between arms are descriptive (ICH E9, section \
    6.4): no test is made for each term. Risk differences are each arm minus the control arm \
    with Newcombe's hybrid score 95 % interval (Newcombe 1998, method 10); incidence rates are \
    participants with the event per 100 person-years at risk (to the first event), with \
    Garwood's exact Poisson 95 % interval. Fisher's exact test (two-sided, not adjusted for \
    multiplicity) is reported only for the safety outcomes the protocol pre-specifies.";

fn count(c: &SafetyCell) -> String {
    match c.percent {
        Some(p) => format!("{} ({} %) · {} ev", c.participants, num(p, 1), c.events),
        None => "–".into(),
    }
}

fn rate(c: &SafetyCell) -> String {
    c.rate.map_or_else(
        || "–".into(),
        |r| {
            format!(
                "{} ({} to {})",
                num(r.per_100_py, 1),
                num(r.ci_low, 1),
                num(r.ci_high, 1)
            )
        },
    )
}

fn difference(row: &SafetyRow, k: usize) -> String {
    match row.differences.get(k) {
        Some(d) => match (d.difference, d.ci_low, d.ci_high) {
            (Some(x), Some(l), Some(h)) => format!(
                "{} ({} to {})",
                num(100.0 * x, 1),
                num(100.0 * l, 1),
                num(100.0 * h, 1)
            ),
            _ => "–".into(),
        },
        None => "–".into(),
    }
}

/// The header: a label column, one per arm with its N, one per comparison.
fn header(t: &SafetyTables, first: &str, with_differences: bool) -> Vec<String> {
    let mut h = vec![first.to_string()];
    h.extend(t.arms.iter().map(|a| format!("{} (N = {})", a.label, a.n)));
    if with_differences {
        h.extend(
            comparisons(t)
                .into_iter()
                .map(|c| format!("{c}: RD, % (95 % CI)")),
        );
    }
    h
}

fn comparisons(t: &SafetyTables) -> Vec<String> {
    let control = t.arms.iter().find(|a| a.control);
    let Some(c) = control else {
        return Vec::new();
    };
    t.arms
        .iter()
        .filter(|a| !a.control)
        .map(|a| format!("{} vs {}", a.label, c.label))
        .collect()
}

fn count_row(label: String, row: &SafetyRow, n_cmp: usize) -> Vec<String> {
    let mut r = vec![label];
    r.extend(row.arms.iter().map(count));
    r.extend((0..n_cmp).map(|k| difference(row, k)));
    r
}

/// The safety section as report blocks.
pub fn safety_blocks(t: &SafetyTables) -> Vec<Block> {
    let n_cmp = comparisons(t).len();
    let mut blocks = vec![Block::Heading(2, "Safety".into())];
    let set = match t.rule {
        SafetySetRule::Randomised => "everyone randomised, by the arm randomised",
        SafetySetRule::Dosed => {
            "everyone who received at least one dose, by the arm actually given"
        }
    };
    let arms = t
        .arms
        .iter()
        .map(|a| {
            let mut s = format!(
                "{} {} ({} person-years",
                a.label,
                a.n,
                num(a.person_years, 2)
            );
            if a.treated_other_than_randomised > 0 {
                s.push_str(&format!(
                    "; {} randomised to another arm",
                    a.treated_other_than_randomised
                ));
            }
            s.push(')');
            s
        })
        .collect::<Vec<_>>()
        .join(", ");
    blocks.push(Block::Para(format!(
        "Safety set: {set}. Participants: {arms}. Cells are participants with at least one event \
         (% of N) and the number of events."
    )));
    blocks.push(Block::Table {
        header: header(t, "Participants with", true),
        rows: t
            .overview
            .iter()
            .map(|r| count_row(r.label.clone(), r, n_cmp))
            .collect(),
    });
    blocks.push(Block::Para(
        "Exposure-adjusted incidence rates: participants with the event per 100 person-years at \
         risk (Garwood 95 % CI)."
            .into(),
    ));
    blocks.push(Block::Table {
        header: header(t, "Participants with", false),
        rows: t
            .overview
            .iter()
            .map(|r| {
                let mut v = vec![r.label.clone()];
                v.extend(r.arms.iter().map(rate));
                v
            })
            .collect(),
    });
    if !t.by_soc.is_empty() {
        blocks.push(Block::Para(
            "By system organ class and preferred term (most participants first).".into(),
        ));
        let mut rows = Vec::new();
        for s in &t.by_soc {
            rows.push(count_row(format!("**{}**", s.soc.label), &s.soc, n_cmp));
            for term in &s.terms {
                rows.push(count_row(format!("· {}", term.label), term, n_cmp));
            }
        }
        blocks.push(Block::Table {
            header: header(t, "System organ class · preferred term", true),
            rows,
        });
    }
    if !t.prespecified.is_empty() {
        blocks.push(Block::Para(
            "Pre-specified safety outcomes (protocol): Fisher's exact test, two-sided.".into(),
        ));
        let mut h = header(t, "Outcome", false);
        let control = t.arms.iter().find(|a| a.control);
        h.extend(t.arms.iter().filter(|a| !a.control).map(|a| {
            format!(
                "{} vs {}: p",
                a.label,
                control.map_or("control", |c| c.label.as_str())
            )
        }));
        let rows = t
            .prespecified
            .iter()
            .map(|p| {
                let mut v = vec![p.row.label.clone()];
                v.extend(p.row.arms.iter().map(count));
                v.extend(
                    p.tests
                        .iter()
                        .map(|f| f.p.map_or_else(|| "–".into(), fmt_p)),
                );
                v
            })
            .collect();
        blocks.push(Block::Table { header: h, rows });
    }
    blocks.push(Block::Para(DESCRIPTIVE_NOTE.into()));
    for n in &t.notes {
        blocks.push(Block::Para(n.clone()));
    }
    blocks
}

/// The safety section as Markdown.
pub fn safety_markdown(t: &SafetyTables) -> String {
    markdown(&safety_blocks(t))
}
