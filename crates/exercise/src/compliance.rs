//! Session compliance: a protocol's heart-rate template laid over a recording.
//!
//! Time is weighted by sample duration: a sample's heart rate holds from its
//! time until the next sample. An interval longer than the gap limit counts as
//! missing (and is reported), as does a sample with no valid heart rate; the
//! last sample holds for one second. A bout is compliant when the seconds with
//! heart rate strictly above `threshold x HRmax` are more than `min_fraction`
//! of the bout's planned duration (LUPEX: more than 120 of 240 s).

use serde::Serialize;

use crate::recording::{Recording, MAX_SPAN_SECONDS};
use crate::ExerciseError;

/// One planned phase of a session, on the session's clock.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedPhase {
    /// Phase id, numbered for repeats (`bout1`, `bout2`, ...).
    pub id: String,
    /// Label.
    pub label: String,
    /// Seconds from the session start.
    pub start: f64,
    /// Planned seconds.
    pub duration: f64,
    /// Target zone as fractions of HRmax.
    pub zone: [f64; 2],
    /// A high-intensity bout checked for compliance.
    pub bout: bool,
}

/// A session template: phases in order with the compliance rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionTemplate {
    /// Phases in time order.
    pub phases: Vec<PlannedPhase>,
    /// Bout threshold as a fraction of HRmax (0.85).
    pub threshold: f64,
    /// Share of a bout that must be above the threshold, strictly more (0.5).
    pub min_fraction: f64,
}

/// Most phases a session template lays out, repeats included.
pub const MAX_PHASES: usize = 1000;

/// A phase as a protocol writes it, before repeats are laid out.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseSpec {
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Planned minutes.
    pub minutes: f64,
    /// Zone as fractions of HRmax.
    pub zone: [f64; 2],
    /// Repeats.
    pub repeat: u32,
    /// Id of the phase between repeats.
    pub between: Option<String>,
    /// Bout.
    pub bout: bool,
}

impl SessionTemplate {
    /// Lays out phases in order; a phase named as another's `between` is
    /// placed only between that phase's repeats.
    pub fn from_specs(
        specs: &[PhaseSpec],
        threshold: f64,
        min_fraction: f64,
    ) -> Result<Self, ExerciseError> {
        let laid_out: u64 = specs.iter().map(|s| 2 * u64::from(s.repeat.max(1))).sum();
        if laid_out > 2 * MAX_PHASES as u64 {
            return Err(ExerciseError::Invalid(format!(
                "the session's repeats lay out more than {MAX_PHASES} phases; check `repeat`"
            )));
        }
        let betweens: Vec<&str> = specs.iter().filter_map(|s| s.between.as_deref()).collect();
        let mut phases = Vec::new();
        let mut t = 0.0;
        let mut push = |s: &PhaseSpec, id: String, t: &mut f64| {
            let d = s.minutes * 60.0;
            phases.push(PlannedPhase {
                id,
                label: s.label.clone(),
                start: *t,
                duration: d,
                zone: s.zone,
                bout: s.bout,
            });
            *t += d;
        };
        for s in specs.iter().filter(|s| !betweens.contains(&s.id.as_str())) {
            let between = match &s.between {
                Some(b) => Some(specs.iter().find(|x| &x.id == b).ok_or_else(|| {
                    ExerciseError::Invalid(format!(
                        "phase `{}` names undefined phase `{b}` as between",
                        s.id
                    ))
                })?),
                None => None,
            };
            for r in 1..=s.repeat.max(1) {
                let id = if s.repeat > 1 {
                    format!("{}{r}", s.id)
                } else {
                    s.id.clone()
                };
                push(s, id, &mut t);
                if let (Some(b), true) = (between, r < s.repeat) {
                    push(b, format!("{}{r}", b.id), &mut t);
                }
            }
        }
        if phases.is_empty() {
            return Err(ExerciseError::Invalid("the session has no phases".into()));
        }
        Ok(SessionTemplate {
            phases,
            threshold,
            min_fraction,
        })
    }

    /// The LUPEX HIIT session: 10 min at 40-60 %, 4 x 4 min above 85 % with
    /// 3 min at 40-60 % between, 3 min cool-down at 45-55 % HRmax.
    pub fn lupex() -> Self {
        let p = |id: &str,
                 label: &str,
                 minutes: f64,
                 zone: [f64; 2],
                 repeat: u32,
                 between: Option<&str>,
                 bout: bool| PhaseSpec {
            id: id.into(),
            label: label.into(),
            minutes,
            zone,
            repeat,
            between: between.map(str::to_string),
            bout,
        };
        let specs = [
            p("warmup", "Warm-up", 10.0, [0.40, 0.60], 1, None, false),
            p(
                "bout",
                "High intensity bout",
                4.0,
                [0.85, 1.0],
                4,
                Some("recovery"),
                true,
            ),
            p("recovery", "Recovery", 3.0, [0.40, 0.60], 1, None, false),
            p("cooldown", "Cool-down", 3.0, [0.45, 0.55], 1, None, false),
        ];
        // The specs above are valid by construction.
        Self::from_specs(&specs, 0.85, 0.5).unwrap_or(SessionTemplate {
            phases: vec![],
            threshold: 0.85,
            min_fraction: 0.5,
        })
    }

    /// Planned length in seconds.
    pub fn length(&self) -> f64 {
        self.phases.last().map_or(0.0, |p| p.start + p.duration)
    }
}

/// Where the template starts on the recording.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Alignment {
    /// At this many seconds into the recording.
    Start(f64),
    /// At the first lap marker.
    Laps,
    /// Where the template fits the trace best (most seconds in zone).
    Auto,
}

/// One phase's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhaseResult {
    /// Phase id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Planned window on the recording's clock, seconds.
    pub window: [f64; 2],
    /// Target zone in bpm.
    pub zone_bpm: [f64; 2],
    /// Seconds with a valid heart rate.
    pub seconds_with_data: f64,
    /// Seconds in the target zone (for bouts: strictly above the threshold).
    pub seconds_in_zone: f64,
    /// seconds_in_zone / planned duration.
    pub fraction: f64,
    /// For bouts, whether compliant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compliant: Option<bool>,
}

/// The session's compliance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComplianceReport {
    /// HRmax used.
    pub hrmax: f64,
    /// Session start on the recording's clock.
    pub start: f64,
    /// How the start was chosen.
    pub alignment: String,
    /// Every phase.
    pub phases: Vec<PhaseResult>,
    /// Compliant bouts.
    pub compliant_bouts: usize,
    /// Bouts planned.
    pub bouts: usize,
    /// Gaps longer than the limit inside the session, `[from, to]` seconds.
    pub gaps: Vec<[f64; 2]>,
    /// Whether the recording holds any heart rate at all: with none, no bout
    /// is judged (each `compliant` is `None`), the session is not "not
    /// compliant" but unassessable.
    pub heart_rate: HeartRateStatus,
}

/// Whether a recording holds heart-rate data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum HeartRateStatus {
    /// At least one sample has a valid heart rate.
    #[serde(rename = "recorded")]
    Recorded,
    /// No sample has a valid heart rate (no strap, or the device wrote 0 or
    /// "invalid" throughout).
    #[serde(rename = "no heart-rate data")]
    NoData,
}

/// An interval of constant heart rate: (from, to, hr or None when missing).
pub(crate) type Interval = (f64, f64, Option<f64>);

/// The recording's intervals and its gaps longer than the limit.
fn intervals(rec: &Recording, gap_limit: f64) -> (Vec<Interval>, Vec<[f64; 2]>) {
    let s = &rec.samples;
    let mut out = Vec::with_capacity(s.len());
    let mut gaps = Vec::new();
    for (i, x) in s.iter().enumerate() {
        let end = s.get(i + 1).map_or(x.t + 1.0, |n| n.t);
        if end - x.t > gap_limit {
            gaps.push([x.t, end]);
            out.push((x.t, end, None));
        } else {
            out.push((x.t, end, x.hr));
        }
    }
    (out, gaps)
}

fn overlap(a0: f64, a1: f64, b0: f64, b1: f64) -> f64 {
    (a1.min(b1) - a0.max(b0)).max(0.0)
}

pub(crate) fn in_zone(p: &PlannedPhase, hr: f64, hrmax: f64, threshold: f64) -> bool {
    if p.bout {
        hr > threshold * hrmax
    } else {
        hr >= p.zone[0] * hrmax && hr <= p.zone[1] * hrmax
    }
}

/// Assesses a recording against a template.
pub fn compliance(
    rec: &Recording,
    template: &SessionTemplate,
    hrmax: f64,
    alignment: Alignment,
    gap_limit: f64,
) -> Result<ComplianceReport, ExerciseError> {
    if !(hrmax.is_finite() && (60.0..=250.0).contains(&hrmax)) {
        return Err(ExerciseError::Invalid(format!(
            "HRmax {hrmax} bpm is implausible: expected 60-250"
        )));
    }
    if !(gap_limit.is_finite() && gap_limit > 0.0) {
        return Err(ExerciseError::Invalid(
            "the gap limit must be a positive number of seconds".into(),
        ));
    }
    check_recording(rec)?;
    check_template(template)?;
    let status = if rec.samples.iter().any(|x| x.hr.is_some()) {
        HeartRateStatus::Recorded
    } else {
        HeartRateStatus::NoData
    };
    let (iv, all_gaps) = intervals(rec, gap_limit);
    let (start, how) = match alignment {
        Alignment::Start(s) => (s, format!("given start {s} s")),
        Alignment::Laps => {
            let first = rec.laps.first().copied().ok_or_else(|| {
                ExerciseError::Invalid(
                    "--align laps: the recording has no lap markers; use --start or --align auto"
                        .into(),
                )
            })?;
            (first, "first lap marker".to_string())
        }
        Alignment::Auto => (
            crate::align::best_start(&iv, template, hrmax),
            "best fit of the template to the trace".to_string(),
        ),
    };
    let mut phases = Vec::with_capacity(template.phases.len());
    let mut compliant_bouts = 0;
    for p in &template.phases {
        let (w0, w1) = (start + p.start, start + p.start + p.duration);
        let (mut data, mut zone) = (0.0, 0.0);
        for &(a, b, hr) in &iv {
            if b <= w0 {
                continue;
            }
            if a >= w1 {
                break;
            }
            if let Some(h) = hr {
                let o = overlap(a, b, w0, w1);
                data += o;
                if in_zone(p, h, hrmax, template.threshold) {
                    zone += o;
                }
            }
        }
        let compliant = (p.bout && status == HeartRateStatus::Recorded)
            .then_some(zone > template.min_fraction * p.duration);
        if compliant == Some(true) {
            compliant_bouts += 1;
        }
        let zone_bpm = if p.bout {
            [template.threshold * hrmax, hrmax]
        } else {
            [p.zone[0] * hrmax, p.zone[1] * hrmax]
        };
        phases.push(PhaseResult {
            id: p.id.clone(),
            label: p.label.clone(),
            window: [w0, w1],
            zone_bpm,
            seconds_with_data: data,
            seconds_in_zone: zone,
            fraction: if p.duration > 0.0 {
                zone / p.duration
            } else {
                0.0
            },
            compliant,
        });
    }
    let end = start + template.length();
    let gaps = all_gaps
        .into_iter()
        .filter(|g| g[1] > start && g[0] < end)
        .collect();
    Ok(ComplianceReport {
        hrmax,
        start,
        alignment: how,
        phases,
        compliant_bouts,
        bouts: template.phases.iter().filter(|p| p.bout).count(),
        gaps,
        heart_rate: status,
    })
}

/// Samples must be finite, in time order and span at most
/// [`MAX_SPAN_SECONDS`] (the readers guarantee it; a `Recording` built by
/// hand is checked here).
fn check_recording(rec: &Recording) -> Result<(), ExerciseError> {
    if rec.samples.iter().any(|s| !s.t.is_finite()) {
        return Err(ExerciseError::Invalid(
            "the recording has a sample time that is not a finite number".into(),
        ));
    }
    if rec.samples.windows(2).any(|w| w[1].t < w[0].t) {
        return Err(ExerciseError::Invalid(
            "the recording's samples are not in time order".into(),
        ));
    }
    if let (Some(a), Some(b)) = (rec.samples.first(), rec.samples.last()) {
        if b.t - a.t > MAX_SPAN_SECONDS {
            return Err(ExerciseError::Invalid(format!(
                "the recording spans {:.0} s; at most {MAX_SPAN_SECONDS:.0} s (7 days) can be assessed",
                b.t - a.t
            )));
        }
    }
    Ok(())
}

/// Phases must have finite, non-negative starts and durations, and the
/// session must last at most [`MAX_SPAN_SECONDS`].
fn check_template(t: &SessionTemplate) -> Result<(), ExerciseError> {
    for p in &t.phases {
        let ok = |x: f64| x.is_finite() && (0.0..=MAX_SPAN_SECONDS).contains(&x);
        if !(ok(p.start) && ok(p.duration) && ok(p.start + p.duration)) {
            return Err(ExerciseError::Invalid(format!(
                "phase `{}`: start {} s and duration {} s must be between 0 and {MAX_SPAN_SECONDS:.0} s",
                p.id, p.start, p.duration
            )));
        }
    }
    Ok(())
}
