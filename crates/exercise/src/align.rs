//! Automatic alignment: the whole-second start where a session template fits
//! a recording best (most seconds in zone over all phases).
//!
//! The recording is laid on a 1 s grid: an interval `[a, b)` of constant heart
//! rate covers the seconds `floor(a)` to `ceil(b)`, a later interval
//! overwriting an earlier one where they share a second. A phase `p` starting
//! `a_p` and ending `e_p` whole seconds into the session scores
//! `C_p(s + e_p) - C_p(s + a_p)` at start `s`, where `C_p(x)` counts the
//! seconds before `x` in the phase's zone. The total score is piecewise linear
//! in `s`; its slope changes only where `s + a_p` or `s + e_p` meets the edge
//! of a run of seconds in zone, so sweeping those events in order (a heap over
//! two sorted streams per phase) finds the first best start in
//! O(R x P x log P) time and O(R + P) memory for R runs and P phases, whatever
//! the time span of the recording. The result equals an exhaustive search of
//! every start on the 1 s grid (the unit tests compare the two).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::compliance::{in_zone, Interval, PlannedPhase, SessionTemplate};

/// A run of whole seconds `[from, to)` with one heart rate (None: missing).
type Run = (i64, i64, Option<f64>);

/// The recording's intervals (sorted by time) as runs on the 1 s grid, cut at
/// `total` seconds.
fn runs(iv: &[Interval], total: i64) -> Vec<Run> {
    let mut out: Vec<Run> = Vec::with_capacity(iv.len());
    for &(a, b, hr) in iv {
        // `as` saturates (and maps NaN to 0), as the grid's indices did.
        let from = a.max(0.0).floor() as i64;
        let to = (b.max(0.0).ceil() as i64).min(total);
        if from >= to {
            continue;
        }
        while out.last().is_some_and(|r| r.0 >= from) {
            out.pop();
        }
        if let Some(last) = out.last_mut() {
            last.1 = last.1.min(from);
        }
        out.push((from, to, hr));
    }
    out
}

/// Whole seconds `(a_p, e_p)` of a phase on the session clock, as the grid
/// search truncated them (negative and NaN to 0, `a_p <= e_p`).
fn phase_cells(p: &PlannedPhase) -> (i64, i64) {
    let e = (p.start + p.duration).max(0.0) as i64;
    let a = (p.start.max(0.0) as i64).min(e);
    (a, e)
}

/// One sorted stream of slope changes: the edges of the runs in phase
/// `phase`'s zone, shifted by `shift` seconds, each changing the slope by
/// `sign` at a run's start and by `-sign` at its end.
struct Stream {
    phase: usize,
    shift: i64,
    sign: i128,
    run: usize,
    at_end: bool,
}

/// The first whole-second start with the highest score, or 0 when the
/// template is as long as the recording or nothing is in zone.
pub(crate) fn best_start(iv: &[Interval], t: &SessionTemplate, hrmax: f64) -> f64 {
    let Some(last) = iv.last() else { return 0.0 };
    let total = last.1.max(0.0).ceil() as i64;
    let len = t.length().max(0.0).ceil() as i64;
    if len >= total {
        return 0.0;
    }
    let last_start = i128::from(total) - i128::from(len);
    let runs = runs(iv, total);
    let zone = |p: &PlannedPhase, r: &Run| r.2.is_some_and(|h| in_zone(p, h, hrmax, t.threshold));
    let cells: Vec<(i64, i64)> = t.phases.iter().map(phase_cells).collect();

    // Score at start 0: seconds in zone inside each phase's window.
    let mut score: i128 = 0;
    for (p, &(a, e)) in t.phases.iter().zip(&cells) {
        for r in runs.iter().filter(|r| zone(p, r)) {
            score += i128::from((r.1.min(e) - r.0.max(a)).max(0));
        }
    }

    let next_in_zone = |phase: usize, from: usize| -> Option<usize> {
        let p = &t.phases[phase];
        (from..runs.len()).find(|&j| zone(p, &runs[j]))
    };
    let position = |s: &Stream| -> i128 {
        let r = &runs[s.run];
        i128::from(if s.at_end { r.1 } else { r.0 }) - i128::from(s.shift)
    };
    let mut streams: Vec<Stream> = Vec::with_capacity(2 * t.phases.len());
    for (k, &(a, e)) in cells.iter().enumerate() {
        if let Some(run) = next_in_zone(k, 0) {
            for (shift, sign) in [(e, 1), (a, -1)] {
                streams.push(Stream {
                    phase: k,
                    shift,
                    sign,
                    run,
                    at_end: false,
                });
            }
        }
    }
    let mut heap: BinaryHeap<Reverse<(i128, usize)>> = streams
        .iter()
        .enumerate()
        .map(|(i, s)| Reverse((position(s), i)))
        .collect();

    // Sweep: `slope` is score(s + 1) - score(s) for s from `at` on.
    let (mut at, mut slope) = (0i128, 0i128);
    let mut best = (score, 0i128);
    while let Some(Reverse((pos, i))) = heap.pop() {
        if pos > last_start {
            break;
        }
        if pos > at {
            score += slope * (pos - at);
            at = pos;
            if score > best.0 {
                best = (score, at);
            }
        }
        let s = &mut streams[i];
        slope += if s.at_end { -s.sign } else { s.sign };
        if s.at_end {
            match next_in_zone(s.phase, s.run + 1) {
                Some(run) => {
                    s.run = run;
                    s.at_end = false;
                }
                None => continue,
            }
        } else {
            s.at_end = true;
        }
        heap.push(Reverse((position(&streams[i]), i)));
    }
    if last_start > at {
        score += slope * (last_start - at);
        if score > best.0 {
            best = (score, last_start);
        }
    }
    best.1 as f64
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::compliance::PhaseSpec;
    use proptest::prelude::*;

    /// The exhaustive search this module replaces: every whole-second start on
    /// a per-second grid of the whole recording (O(time span x phases)).
    fn grid_best_start(iv: &[Interval], t: &SessionTemplate, hrmax: f64) -> f64 {
        let Some(last) = iv.last() else { return 0.0 };
        let total = last.1.ceil().max(0.0) as usize;
        let mut grid: Vec<Option<f64>> = vec![None; total + 1];
        for &(a, b, hr) in iv {
            let (a, b) = (
                a.max(0.0).floor() as usize,
                (b.max(0.0).ceil() as usize).min(total),
            );
            for g in grid.iter_mut().take(b).skip(a) {
                *g = hr;
            }
        }
        let len = t.length().ceil() as usize;
        if len >= total {
            return 0.0;
        }
        let prefix: Vec<Vec<u32>> = t
            .phases
            .iter()
            .map(|p| {
                let mut v = vec![0];
                let mut acc = 0;
                for h in &grid {
                    if h.is_some_and(|h| in_zone(p, h, hrmax, t.threshold)) {
                        acc += 1;
                    }
                    v.push(acc);
                }
                v
            })
            .collect();
        let mut best = (0u32, 0usize);
        for s in 0..=(total - len) {
            let mut score = 0;
            for (p, pre) in t.phases.iter().zip(&prefix) {
                let a = s + p.start as usize;
                let b = (s + (p.start + p.duration) as usize).min(total + 1);
                score += pre[b] - pre[a.min(b)];
            }
            if score > best.0 {
                best = (score, s);
            }
        }
        best.1 as f64
    }

    fn intervals(samples: &[(f64, Option<f64>)], gap: f64) -> Vec<Interval> {
        samples
            .iter()
            .enumerate()
            .map(|(i, &(t, hr))| {
                let end = samples.get(i + 1).map_or(t + 1.0, |n| n.0);
                (t, end, if end - t > gap { None } else { hr })
            })
            .collect()
    }

    fn template(minutes: &[(f64, bool)]) -> SessionTemplate {
        let specs: Vec<PhaseSpec> = minutes
            .iter()
            .enumerate()
            .map(|(i, &(m, bout))| PhaseSpec {
                id: format!("p{i}"),
                label: String::new(),
                minutes: m,
                zone: [0.4, 0.6],
                repeat: 1,
                between: None,
                bout,
            })
            .collect();
        SessionTemplate::from_specs(&specs, 0.85, 0.5).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Random irregular traces (fractional times, gaps, missing values)
        /// and templates: the sweep finds the same start as the grid.
        #[test]
        fn sweep_equals_the_exhaustive_grid(
            steps in prop::collection::vec((0.1f64..9.0, prop::option::weighted(0.9, 60.0f64..200.0)), 1..120),
            first in -3.0f64..30.0,
            phases in prop::collection::vec((0.05f64..2.0, any::<bool>()), 1..5),
            gap in 1.0f64..6.0,
        ) {
            let mut t = first;
            let samples: Vec<(f64, Option<f64>)> = steps
                .iter()
                .map(|&(d, hr)| {
                    t += d;
                    (t, hr)
                })
                .collect();
            let iv = intervals(&samples, gap);
            let tpl = template(&phases);
            prop_assert_eq!(best_start(&iv, &tpl, 200.0), grid_best_start(&iv, &tpl, 200.0));
        }
    }

    #[test]
    fn whole_second_traces_match_the_grid_on_the_lupex_template() {
        // 1 Hz trace, in zone in a pattern of primes, 3000 s.
        let samples: Vec<(f64, Option<f64>)> = (0..3000)
            .map(|i| {
                let hr = if i % 7 < 3 || i % 11 == 0 {
                    175.0
                } else {
                    100.0
                };
                (f64::from(i), Some(hr))
            })
            .collect();
        let iv = intervals(&samples, 5.0);
        let t = SessionTemplate::lupex();
        assert_eq!(best_start(&iv, &t, 200.0), grid_best_start(&iv, &t, 200.0));
    }

    #[test]
    fn a_sample_far_in_the_future_costs_nothing() {
        // The shapes that once ran forever (1e300 s) or asked for 1.6 TB (1e11 s).
        let t = SessionTemplate::lupex();
        for far in [1e11, 1e300, f64::MAX] {
            let mut samples: Vec<(f64, Option<f64>)> =
                (0..2000).map(|i| (f64::from(i), Some(175.0))).collect();
            samples.push((far, Some(175.0)));
            let iv = intervals(&samples, 5.0);
            let s = best_start(&iv, &t, 200.0);
            assert!(s.is_finite() && s >= 0.0, "{far}: {s}");
        }
    }
}
