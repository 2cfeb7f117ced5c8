//! The free text of a ClinicalTrials.gov record: eligibility criteria split
//! into inclusion and exclusion under every heading variant the registry's
//! records use, CT.gov's markdown escapes, and outcome time frames.

use serde::Serialize;

/// One eligibility criterion line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CriterionLine {
    /// Inclusion (true) or exclusion.
    pub inclusion: bool,
    /// Nesting depth of the bullet (0 = top level).
    pub depth: usize,
    /// Text without the bullet, markdown escapes removed, prefixed by the
    /// sub-heading it sits under (`For parent participants: ...`).
    pub text: String,
}

/// Criteria split from the registry's text, and what the split could not do.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Criteria {
    /// The criteria in order.
    pub lines: Vec<CriterionLine>,
    /// Why some lines may sit on the wrong side, or were left out.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Heading {
    Inclusion,
    Exclusion,
    /// "Inclusion/Exclusion criteria": names both sides.
    Both,
    /// "Eligibility criteria": names neither side.
    Neither,
}

/// Removes CT.gov's markdown escapes: a backslash before ASCII punctuation
/// (`\>= 18`, `=\< 1.5 x ULN`, `\[Eichenfeld 2004\]`).
pub fn unescape_markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\\' {
            if let Some(&n) = it.peek() {
                if n.is_ascii_punctuation() {
                    out.push(n);
                    it.next();
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

/// Markdown emphasis, heading marks and leading numbering removed
/// (`**Key Inclusion Criteria:**`, `## 2. Exclusion criteria`).
fn bare(line: &str) -> String {
    let l = line.replace("**", "").replace("__", "");
    let l = l.trim().trim_start_matches('#').trim();
    let l = strip_bullet(l);
    // Roman numerals and letters as numbering ("I.", "B)").
    let l = match l.split_once(['.', ')']) {
        Some((n, rest))
            if !n.is_empty()
                && n.len() <= 4
                && n.chars()
                    .all(|c| "ivxIVX".contains(c) || c.is_ascii_digit())
                && rest.starts_with(' ') =>
        {
            rest.trim_start()
        }
        _ => l,
    };
    l.trim().to_string()
}

fn heading(line: &str) -> Option<Heading> {
    let b = bare(line).to_lowercase();
    let b = b.trim_end_matches(':').trim();
    if b.len() > 60 {
        return None;
    }
    let mut words: Vec<&str> = b
        .split(|c: char| c.is_whitespace() || c == '/')
        .filter(|w| !w.is_empty())
        .collect();
    while let Some(w) = words.first() {
        if matches!(
            *w,
            "key"
                | "main"
                | "major"
                | "principal"
                | "general"
                | "study"
                | "patient"
                | "participant"
        ) {
            words.remove(0);
        } else {
            break;
        }
    }
    let kind = match words.as_slice() {
        ["inclusion", "and" | "&" | "or", "exclusion", rest @ ..]
        | ["inclusion", "exclusion", rest @ ..] => (Heading::Both, rest),
        ["inclusion", rest @ ..] => (Heading::Inclusion, rest),
        ["exclusion", rest @ ..] => (Heading::Exclusion, rest),
        ["eligibility", rest @ ..] => (Heading::Neither, rest),
        _ => return None,
    };
    // What follows is "criteria" (and perhaps "for part A"), or nothing.
    match kind.1 {
        [] => Some(kind.0),
        [c, tail @ ..]
            if (c.starts_with("criteri") || *c == "requirements")
                && (tail.is_empty() || tail[0] == "for" || tail[0].starts_with('(')) =>
        {
            Some(kind.0)
        }
        _ => None,
    }
}

fn is_bullet(line: &str) -> bool {
    strip_bullet(line).len() != line.len()
}

fn strip_bullet(line: &str) -> &str {
    let l = line
        .trim_start_matches(['*', '-', '•', '·', '◦', '▪', '+'])
        .trim_start();
    // "1." / "1)" / "a." numbering.
    let digits = l.chars().take_while(|c| c.is_ascii_alphanumeric()).count();
    if digits > 0 && digits <= 3 {
        let rest = &l[digits..];
        if let Some(r) = rest.strip_prefix('.').or_else(|| rest.strip_prefix(')')) {
            if r.starts_with(' ') {
                return r.trim_start();
            }
        }
    }
    l.trim()
}

/// CT.gov's closing remark on "Key" criteria lists, which is no criterion.
fn is_disclaimer(line: &str) -> bool {
    let l = line.to_lowercase();
    l.starts_with("the information listed above is not intended")
}

/// Splits CT.gov eligibility text into one criterion per line, inclusion or
/// exclusion by the heading above it: `Inclusion Criteria:`, `Key Exclusion
/// Criteria:`, `Main ...`, `**Inclusion criteria**`, `2. Exclusion criteria`,
/// `Inclusion/Exclusion Criteria` and `Eligibility criteria:` (the last two
/// name no side: their lines count as inclusion, with a warning). A line that
/// is no bullet and ends in `:` (`For parent participants:`) prefixes the
/// criteria under it. When no heading splits the text, every line is
/// inclusion and a warning says so.
pub fn split_criteria(text: &str) -> Criteria {
    let mut side: Option<Heading> = None;
    let mut sub: Option<String> = None;
    let mut out = Criteria::default();
    let mut saw_inclusion = false;
    let mut saw_exclusion = false;
    let mut unsided = 0usize;
    for raw in text.lines() {
        let indent = raw.len() - raw.trim_start().len();
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(h) = heading(line) {
            saw_inclusion |= h == Heading::Inclusion;
            saw_exclusion |= h == Heading::Exclusion;
            side = Some(h);
            sub = None;
            continue;
        }
        let text = unescape_markdown(line);
        if is_disclaimer(&text) {
            out.warnings.push(format!(
                "the remark `{}` is not a criterion and was left out",
                shorten(&text)
            ));
            continue;
        }
        if !is_bullet(line) && text.ends_with(':') && text.chars().count() <= 80 {
            sub = Some(text.replace("**", "").trim().to_string());
            continue;
        }
        let body = strip_bullet(&text).replace("**", "");
        let body = body.trim();
        if body.is_empty() {
            continue;
        }
        let inclusion = side != Some(Heading::Exclusion);
        if !matches!(side, Some(Heading::Inclusion | Heading::Exclusion)) {
            unsided += 1;
        }
        out.lines.push(CriterionLine {
            inclusion,
            depth: indent / 2,
            text: match &sub {
                Some(s) => format!("{s} {body}"),
                None => body.to_string(),
            },
        });
    }
    if unsided > 0 {
        let why = if saw_inclusion || saw_exclusion {
            "before the first inclusion or exclusion heading, or under a heading that names both or neither"
        } else {
            "under no `Inclusion Criteria:` / `Exclusion Criteria:` heading"
        };
        out.warnings.push(format!(
            "the criteria could not be split: {unsided} line(s) {why} were imported as inclusion criteria; move the exclusion criteria to kind = \"exclusion\""
        ));
    }
    out
}

fn shorten(s: &str) -> String {
    if s.chars().count() <= 60 {
        s.to_string()
    } else {
        s.chars().take(57).collect::<String>() + "..."
    }
}

/// A visit named in an outcome time frame.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeVisit {
    /// Visit id (`baseline`, `week12`, `hour2`).
    pub id: String,
    /// Label (`Week 12`).
    pub label: String,
    /// Study day.
    pub day: i32,
}

/// Longest time frame honoured (20 years, in days).
const MAX_DAYS: i64 = 20 * 366;

fn unit(word: &str) -> Option<(&'static str, f64)> {
    // Days per unit.
    Some(match word {
        "minute" | "minutes" | "min" | "mins" => ("minute", 1.0 / 1440.0),
        "hour" | "hours" | "hr" | "hrs" | "h" => ("hour", 1.0 / 24.0),
        "day" | "days" => ("day", 1.0),
        "week" | "weeks" | "wk" | "wks" => ("week", 7.0),
        "month" | "months" | "mo" => ("month", 30.0),
        "year" | "years" | "yr" | "yrs" => ("year", 365.0),
        _ => return None,
    })
}

/// Visits named in an outcome time frame: `Baseline`, `12 weeks`,
/// `Week 16`, `Day 0 - 84`, `Weeks 1, 2 and 4`, `2 hours`. Day 0 of any unit
/// is baseline; hours and minutes fall on the day they reach.
pub fn timeframe_visits(tf: &str) -> Vec<TimeVisit> {
    let lower = tf.to_lowercase();
    let mut out: Vec<TimeVisit> = Vec::new();
    let push = |out: &mut Vec<TimeVisit>, name: &str, n: i64, per_day: f64| {
        let days = (n as f64 * per_day).floor() as i64;
        if n < 0 || days > MAX_DAYS {
            return;
        }
        let v = if days == 0 && name != "hour" && name != "minute" {
            TimeVisit {
                id: "baseline".into(),
                label: "Baseline".into(),
                day: 0,
            }
        } else {
            TimeVisit {
                id: format!("{name}{n}"),
                label: format!("{} {n}", capital(name)),
                day: days as i32,
            }
        };
        if !out.iter().any(|x| x.id == v.id) {
            out.push(v);
        }
    };
    if lower.contains("baseline") {
        push(&mut out, "day", 0, 1.0);
    }
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let num = |w: &str| -> Option<i64> {
        if w.len() > 6 {
            return None;
        }
        w.parse::<i64>().ok()
    };
    let mut k = 0;
    while k < words.len() {
        // "12 weeks"
        if let (Some(n), Some((name, per))) =
            (num(words[k]), words.get(k + 1).and_then(|w| unit(w)))
        {
            push(&mut out, name, n, per);
            k += 2;
            continue;
        }
        // "Week 12", "Day 0 - 84", "Weeks 1, 2 and 4"
        if let Some((name, per)) = unit(words[k]) {
            let mut j = k + 1;
            let mut any = false;
            while j < words.len() {
                if let Some(n) = num(words[j]) {
                    // "Day 1 2 hours": the number belongs to the next unit.
                    if words.get(j + 1).and_then(|w| unit(w)).is_some() {
                        break;
                    }
                    push(&mut out, name, n, per);
                    any = true;
                } else if !(any && matches!(words[j], "to" | "and" | "through" | "or" | "thru")) {
                    break;
                }
                j += 1;
            }
            k = j.max(k + 1);
            continue;
        }
        k += 1;
    }
    out
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sides(text: &str) -> Vec<(bool, String)> {
        split_criteria(text)
            .lines
            .into_iter()
            .map(|l| (l.inclusion, l.text))
            .collect()
    }

    #[test]
    fn every_heading_variant_splits() {
        for (inc, exc) in [
            ("Inclusion Criteria:", "Exclusion Criteria:"),
            ("Key Inclusion Criteria:", "Key Exclusion Criteria:"),
            ("Main inclusion criteria", "Main exclusion criteria"),
            ("**Inclusion Criteria:**", "**Exclusion Criteria:**"),
            ("1. Inclusion criteria", "2. Exclusion criteria"),
            ("INCLUSION CRITERIA:", "EXCLUSION CRITERIA:"),
            ("## Inclusion", "## Exclusion"),
        ] {
            let t = format!("{inc}\n\n* Adult\n* Consent\n\n{exc}\n\n1. Pregnancy\n2. Cancer\n");
            let s = split_criteria(&t);
            assert_eq!(
                s.lines.iter().map(|l| l.inclusion).collect::<Vec<_>>(),
                [true, true, false, false],
                "{inc} / {exc}"
            );
            assert!(s.warnings.is_empty(), "{inc}: {:?}", s.warnings);
        }
    }

    #[test]
    fn sub_headings_prefix_and_disclaimer_is_dropped_with_a_warning() {
        let t = "Eligibility criteria:\n\nFor parents:\n\n* Consent\n\nExclusion criteria:\n\nFor parents:\n\n* Intoxicated\n\nThe information listed above is not intended to contain all considerations.";
        let s = split_criteria(t);
        assert_eq!(
            sides(t),
            [
                (true, "For parents: Consent".to_string()),
                (false, "For parents: Intoxicated".to_string())
            ]
        );
        assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
        assert!(s.warnings[1].contains("could not be split"));
    }

    #[test]
    fn unsplittable_text_warns() {
        let s = split_criteria("* Adult\n* No pregnancy");
        assert_eq!(s.lines.len(), 2);
        assert!(s.warnings[0].contains("2 line(s)"), "{:?}", s.warnings);
        // A criterion that merely mentions exclusion criteria is no heading.
        assert!(heading("* Exclusion criteria of the parent study apply to all").is_none());
    }

    #[test]
    fn markdown_escapes_are_removed() {
        assert_eq!(
            unescape_markdown(r"Age \>= 18, =\< 1.5 x ULN \[1\]"),
            "Age >= 18, =< 1.5 x ULN [1]"
        );
        assert_eq!(unescape_markdown(r"C:\path"), r"C:\path");
        let s = sides("Inclusion Criteria:\n\n* Age \\>= 18 years");
        assert_eq!(s[0].1, "Age >= 18 years");
    }

    #[test]
    fn time_frames() {
        let ids = |t: &str| -> Vec<(String, i32)> {
            timeframe_visits(t)
                .into_iter()
                .map(|v| (v.id, v.day))
                .collect()
        };
        assert_eq!(ids("Week 12"), [("week12".to_string(), 84)]);
        assert_eq!(
            ids("Day 0 - 84"),
            [("baseline".to_string(), 0), ("day84".to_string(), 84)]
        );
        assert_eq!(ids("2 hours"), [("hour2".to_string(), 0)]);
        assert_eq!(ids("Baseline (Week 0)"), [("baseline".to_string(), 0)]);
        assert_eq!(
            ids("Weeks 1, 2 and 4"),
            [
                ("week1".to_string(), 7),
                ("week2".to_string(), 14),
                ("week4".to_string(), 28)
            ]
        );
        assert_eq!(
            ids("Baseline and after 12 weeks"),
            [("baseline".to_string(), 0), ("week12".to_string(), 84)]
        );
        assert_eq!(ids("Up to 2 years"), [("year2".to_string(), 730)]);
        assert!(ids("After 5 doses of medication...").is_empty());
        // Huge numbers neither overflow nor make a visit.
        assert!(ids("999999 years").is_empty());
        assert!(ids("99999999999999999999 days").is_empty());
    }
}
