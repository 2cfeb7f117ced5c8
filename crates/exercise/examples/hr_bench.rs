//! Benchmark driver used by bench/exercise/compare.sh: reads FIT files and
//! computes session compliance `reps` times, then processes a generated
//! whole trial (60 participants x 36 sessions x 45 min at 1 Hz).
//! Usage: hr_bench REPS HRMAX FILE...
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::time::Instant;

use rct_exercise::{compliance, read_fit, Alignment, Recording, Sample, SessionTemplate};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let reps: usize = args[1].parse().unwrap();
    let hrmax: f64 = args[2].parse().unwrap();
    let files: Vec<(String, Vec<u8>)> = args[3..]
        .iter()
        .map(|f| (f.clone(), std::fs::read(f).unwrap()))
        .collect();
    let t = SessionTemplate::lupex();
    let t0 = Instant::now();
    let mut above = 0.0;
    for _ in 0..reps {
        for (name, bytes) in &files {
            let rec = read_fit(bytes, name).unwrap();
            // The same sum fitdecode's script makes: seconds above 85 % HRmax.
            let r = compliance(&rec, &t, hrmax, Alignment::Start(0.0), 5.0).unwrap();
            assert_eq!(r.bouts, 4);
            above += seconds_above(&rec, 0.85 * hrmax, 5.0);
        }
    }
    let fit_secs = t0.elapsed().as_secs_f64();
    println!("fit_compliance_seconds {fit_secs:.6} total_above {above:.0}");

    // A whole trial, generated: 60 x 36 sessions of 45 min at 1 Hz.
    let mut sessions = Vec::with_capacity(60 * 36);
    let mut x: u64 = 42;
    for _ in 0..60 * 36 {
        let mut samples = Vec::with_capacity(2700);
        for s in 0..2700 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            samples.push(Sample {
                t: s as f64,
                hr: Some(100.0 + (x % 90) as f64),
            });
        }
        sessions.push(Recording {
            start_unix: None,
            samples,
            laps: vec![],
            notes: vec![],
        });
    }
    let t1 = Instant::now();
    let mut bouts = 0;
    for rec in &sessions {
        bouts += compliance(rec, &t, 190.0, Alignment::Auto, 5.0)
            .unwrap()
            .compliant_bouts;
    }
    println!(
        "trial_sessions {} trial_seconds {:.6} compliant_bouts {bouts}",
        sessions.len(),
        t1.elapsed().as_secs_f64()
    );
}

/// Seconds above a threshold, samples weighted by duration, gaps over the limit missing.
fn seconds_above(rec: &Recording, thr: f64, gap: f64) -> f64 {
    let s = &rec.samples;
    let mut total = 0.0;
    for i in 0..s.len() {
        let dt = s.get(i + 1).map_or(1.0, |n| n.t - s[i].t);
        if dt <= gap && s[i].hr.is_some_and(|h| h > thr) {
            total += dt;
        }
    }
    total
}
