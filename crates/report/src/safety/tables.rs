//! Computing the safety tables from [`SafetyInput`].

use std::collections::{BTreeMap, BTreeSet};

use rct_stats::binary::{fisher_exact, newcombe_interval};
use rct_stats::garwood_interval;

use super::{
    FisherTest, PrespecifiedResult, Rate, RiskDifference, SafetyArm, SafetyCell, SafetyError,
    SafetyEvent, SafetyInput, SafetyParticipant, SafetyRow, SafetySetRule, SafetyTables, SocRows,
};

/// Days in a year for person-years (the Julian year, as most safety
/// analysis plans define it).
pub const DAYS_PER_YEAR: f64 = 365.25;
/// Longest exposure accepted: 100 years.
const MAX_EXPOSURE_DAYS: f64 = 36_525.0;

fn participant_err(p: &SafetyParticipant, field: &'static str, message: String) -> SafetyError {
    SafetyError::Participant {
        participant: p.id.clone(),
        field,
        message,
    }
}

fn check_event(p: &SafetyParticipant, k: usize, e: &SafetyEvent) -> Result<(), SafetyError> {
    let err = |field: &'static str, message: String| SafetyError::Event {
        participant: p.id.clone(),
        event: k + 1,
        field,
        message,
    };
    if e.soc.trim().is_empty() {
        return Err(err(
            "soc",
            "the system organ class is empty (code the event first)".into(),
        ));
    }
    if e.pt.trim().is_empty() {
        return Err(err(
            "pt",
            "the preferred term is empty (code the event first)".into(),
        ));
    }
    if !(1..=5).contains(&e.grade) {
        return Err(err(
            "grade",
            format!("{} is not a CTCAE grade 1 to 5", e.grade),
        ));
    }
    if e.onset_day == 0 {
        return Err(err(
            "onset_day",
            "day 0 does not exist: day 1 is the first day of exposure".into(),
        ));
    }
    Ok(())
}

/// The arm index each participant of the safety set counts in.
fn members<'a>(
    input: &'a SafetyInput,
    index: &BTreeMap<&str, usize>,
) -> Result<Vec<(usize, &'a SafetyParticipant)>, SafetyError> {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::new();
    for p in &input.participants {
        if p.id.trim().is_empty() {
            return Err(SafetyError::Arms("a participant has an empty id".into()));
        }
        if !seen.insert(p.id.as_str()) {
            return Err(participant_err(p, "id", "listed twice".into()));
        }
        for (field, arm) in [
            ("arm_randomised", &p.arm_randomised),
            ("arm_treated", &p.arm_treated),
        ] {
            if let Some(a) = arm {
                if !index.contains_key(a.as_str()) {
                    return Err(participant_err(
                        p,
                        field,
                        format!("`{a}` is not an arm of the trial"),
                    ));
                }
            }
        }
        if !(p.exposure_days.is_finite() && (0.0..=MAX_EXPOSURE_DAYS).contains(&p.exposure_days)) {
            return Err(participant_err(
                p,
                "exposure_days",
                format!(
                    "{} is not a number of days between 0 and {MAX_EXPOSURE_DAYS}",
                    p.exposure_days
                ),
            ));
        }
        for (k, e) in p.events.iter().enumerate() {
            check_event(p, k, e)?;
        }
        let arm = match input.rule {
            SafetySetRule::Randomised => p.arm_randomised.as_deref(),
            SafetySetRule::Dosed if p.doses == 0 => None,
            SafetySetRule::Dosed => Some(p.arm_treated.as_deref().ok_or_else(|| {
                participant_err(
                    p,
                    "arm_treated",
                    format!(
                        "received {} dose(s) but the arm given is not known; the safety set \
                         counts participants by the arm actually given",
                        p.doses
                    ),
                )
            })?),
        };
        if let Some(a) = arm.and_then(|a| index.get(a)) {
            out.push((*a, p));
        }
    }
    Ok(out)
}

struct Ctx<'a> {
    /// The safety set's participants by arm index.
    by_arm: Vec<Vec<&'a SafetyParticipant>>,
    arms: Vec<SafetyArm>,
    control: Option<usize>,
}

impl Ctx<'_> {
    fn cell(
        &self,
        arm: usize,
        pred: &dyn Fn(&SafetyEvent) -> bool,
    ) -> Result<SafetyCell, SafetyError> {
        let (mut participants, mut events, mut at_risk_days) = (0u64, 0u64, 0.0f64);
        for p in self.by_arm.get(arm).into_iter().flatten() {
            let mut first: Option<u32> = None;
            for e in p.events.iter().filter(|e| pred(e)) {
                events += 1;
                first = Some(first.map_or(e.onset_day, |f| f.min(e.onset_day)));
            }
            match first {
                Some(day) => {
                    participants += 1;
                    at_risk_days += f64::from(day).min(p.exposure_days);
                }
                None => at_risk_days += p.exposure_days,
            }
        }
        let n = self.arms.get(arm).map_or(0, |a| a.n);
        let py = at_risk_days / DAYS_PER_YEAR;
        let rate = if py > 0.0 {
            let g = garwood_interval(participants, 0.95)
                .map_err(|e| SafetyError::Stats(e.to_string()))?;
            Some(Rate {
                per_100_py: participants as f64 / py * 100.0,
                ci_low: g.low / py * 100.0,
                ci_high: g.high / py * 100.0,
                person_years_at_risk: py,
            })
        } else {
            None
        };
        Ok(SafetyCell {
            participants,
            events,
            percent: (n > 0).then(|| participants as f64 / n as f64 * 100.0),
            rate,
        })
    }

    fn row(
        &self,
        key: String,
        label: String,
        pred: &dyn Fn(&SafetyEvent) -> bool,
    ) -> Result<SafetyRow, SafetyError> {
        let cells = (0..self.arms.len())
            .map(|a| self.cell(a, pred))
            .collect::<Result<Vec<_>, _>>()?;
        let mut differences = Vec::new();
        if let Some(c) = self.control {
            for (a, arm) in self.arms.iter().enumerate().filter(|(a, _)| *a != c) {
                let (na, nc) = (arm.n, self.arms.get(c).map_or(0, |x| x.n));
                let (xa, xc) = (
                    cells.get(a).map_or(0, |x| x.participants),
                    cells.get(c).map_or(0, |x| x.participants),
                );
                let control = self.arms.get(c).map_or_else(String::new, |x| x.id.clone());
                let (difference, ci_low, ci_high) = if na > 0 && nc > 0 {
                    let i = newcombe_interval(xa, na, xc, nc)
                        .map_err(|e| SafetyError::Stats(e.to_string()))?;
                    (
                        Some(xa as f64 / na as f64 - xc as f64 / nc as f64),
                        Some(i.low),
                        Some(i.high),
                    )
                } else {
                    (None, None, None)
                };
                differences.push(RiskDifference {
                    arm: arm.id.clone(),
                    control,
                    difference,
                    ci_low,
                    ci_high,
                });
            }
        }
        Ok(SafetyRow {
            key,
            label,
            arms: cells,
            differences,
        })
    }

    fn fisher(&self, row: &SafetyRow) -> Result<Vec<FisherTest>, SafetyError> {
        let Some(c) = self.control else {
            return Ok(Vec::new());
        };
        let nc = self.arms.get(c).map_or(0, |x| x.n);
        let xc = row.arms.get(c).map_or(0, |x| x.participants);
        let mut out = Vec::new();
        for (a, arm) in self.arms.iter().enumerate().filter(|(a, _)| *a != c) {
            let xa = row.arms.get(a).map_or(0, |x| x.participants);
            let (p, odds_ratio) = if arm.n > 0 && nc > 0 {
                let f = fisher_exact(xa, arm.n - xa, xc, nc - xc)
                    .map_err(|e| SafetyError::Stats(e.to_string()))?;
                (Some(f.p), f.odds_ratio.is_finite().then_some(f.odds_ratio))
            } else {
                (None, None)
            };
            out.push(FisherTest {
                arm: arm.id.clone(),
                control: self.arms.get(c).map_or_else(String::new, |x| x.id.clone()),
                p,
                odds_ratio,
            });
        }
        Ok(out)
    }
}

fn total(row: &SafetyRow) -> u64 {
    row.arms.iter().map(|c| c.participants).sum()
}

/// The safety tables of `input` (see the module's documentation).
pub fn safety_tables(input: &SafetyInput) -> Result<SafetyTables, SafetyError> {
    if input.arms.is_empty() {
        return Err(SafetyError::Arms("the trial has no arms".into()));
    }
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for (k, a) in input.arms.iter().enumerate() {
        if index.insert(a.id.as_str(), k).is_some() {
            return Err(SafetyError::Arms(format!("arm `{}` is listed twice", a.id)));
        }
    }
    let controls: Vec<usize> = (0..input.arms.len())
        .filter(|k| input.arms.get(*k).is_some_and(|a| a.control))
        .collect();
    if controls.len() > 1 {
        return Err(SafetyError::Arms(format!(
            "{} arms are marked as the control arm; risk differences need one",
            controls.len()
        )));
    }
    for o in &input.prespecified {
        if o.socs.is_empty() && o.pts.is_empty() {
            return Err(SafetyError::EmptyOutcome(o.id.clone()));
        }
    }
    let members = members(input, &index)?;
    let mut arms: Vec<SafetyArm> = input
        .arms
        .iter()
        .map(|a| SafetyArm {
            id: a.id.clone(),
            label: a.label.clone(),
            control: a.control,
            n: 0,
            person_years: 0.0,
            treated_other_than_randomised: 0,
        })
        .collect();
    for (a, p) in &members {
        if let Some(arm) = arms.get_mut(*a) {
            arm.n += 1;
            arm.person_years += p.exposure_days / DAYS_PER_YEAR;
            if input.rule == SafetySetRule::Dosed
                && p.arm_randomised.as_deref() != Some(arm.id.as_str())
            {
                arm.treated_other_than_randomised += 1;
            }
        }
    }
    let mut notes = Vec::new();
    let control = controls.first().copied();
    match control {
        None => notes.push(
            "No arm is the control arm: no risk differences and no tests.".to_string(),
        ),
        Some(c) if arms.get(c).is_some_and(|a| a.n == 0) => notes.push(format!(
            "The control arm `{}` has no participant in the safety set: no risk differences and no tests.",
            arms.get(c).map_or("", |a| a.id.as_str())
        )),
        Some(_) => {}
    }
    for a in &arms {
        if a.n == 0 {
            notes.push(format!(
                "Arm `{}` has no participant in the safety set: no percentages, rates or \
                 differences for it.",
                a.id
            ));
        } else if a.person_years == 0.0 {
            notes.push(format!(
                "Arm `{}` has no exposure time: no incidence rates for it.",
                a.id
            ));
        }
    }
    let mut by_arm: Vec<Vec<&SafetyParticipant>> = vec![Vec::new(); arms.len()];
    for (a, p) in &members {
        if let Some(v) = by_arm.get_mut(*a) {
            v.push(*p);
        }
    }
    let ctx = Ctx {
        by_arm,
        arms,
        control,
    };

    let overview = vec![
        ctx.row("any".into(), "Any adverse event".into(), &|_| true)?,
        ctx.row("serious".into(), "Serious adverse event".into(), &|e| {
            e.serious
        })?,
        ctx.row(
            "grade_3_or_more".into(),
            "Adverse event of CTCAE grade 3 or more".into(),
            &|e| e.grade >= 3,
        )?,
        ctx.row(
            "discontinuation".into(),
            "Adverse event leading to discontinuation".into(),
            &|e| e.led_to_discontinuation,
        )?,
    ];

    // Terms of the safety set's events only.
    let mut terms: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for p in ctx.by_arm.iter().flatten() {
        for e in &p.events {
            terms
                .entry(e.soc.as_str())
                .or_default()
                .insert(e.pt.as_str());
        }
    }
    let mut by_soc = Vec::new();
    for (soc, pts) in &terms {
        let soc_row = ctx.row(soc.to_string(), soc.to_string(), &|e| e.soc == *soc)?;
        let mut term_rows = pts
            .iter()
            .map(|pt| {
                ctx.row(format!("{soc} / {pt}"), pt.to_string(), &|e| {
                    e.soc == *soc && e.pt == *pt
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        term_rows.sort_by(|a, b| total(b).cmp(&total(a)).then_with(|| a.label.cmp(&b.label)));
        by_soc.push(SocRows {
            soc: soc_row,
            terms: term_rows,
        });
    }
    by_soc.sort_by(|a, b| {
        total(&b.soc)
            .cmp(&total(&a.soc))
            .then_with(|| a.soc.label.cmp(&b.soc.label))
    });

    let mut prespecified = Vec::new();
    for o in &input.prespecified {
        let row = ctx.row(o.id.clone(), o.label.clone(), &|e| {
            o.socs.contains(&e.soc) || o.pts.contains(&e.pt)
        })?;
        let tests = ctx.fisher(&row)?;
        prespecified.push(PrespecifiedResult { row, tests });
    }

    Ok(SafetyTables {
        rule: input.rule,
        arms: ctx.arms,
        overview,
        by_soc,
        prespecified,
        notes,
    })
}

#[cfg(test)]
#[path = "tables_tests.rs"]
mod tests;
