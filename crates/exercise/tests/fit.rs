//! FIT and CSV reading on the real files in $RCT_SHARED_DATA/fit, and
//! compliance on generated traces with known answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use rct_exercise::{
    compliance, read_csv, read_fit, Alignment, ExerciseError, Recording, Sample, SessionTemplate,
};

fn shared() -> Option<PathBuf> {
    rct_testdata::shared_data("")
}

fn fit(name: &str) -> Option<Result<Recording, ExerciseError>> {
    let dir = shared()?;
    let bytes = std::fs::read(dir.join("fit").join(name)).unwrap();
    Some(read_fit(&bytes, name))
}

#[test]
fn fenix_heart_rates_and_timestamps_equal_the_oracle_csv() {
    let Some(rec) = fit("garmin-fenix-5-run.fit") else {
        return;
    };
    let rec = rec.unwrap();
    let csv = std::fs::read_to_string(shared().unwrap().join("fit/garmin-fenix-5-run-records.csv"))
        .unwrap();
    let mut rows = 0;
    for (i, line) in csv.lines().skip(1).enumerate() {
        let cols: Vec<&str> = line.split(',').collect();
        // "Sun Jun 11 07:34:09 PDT 2017": Pacific daylight time is UTC-7.
        let local =
            chrono::NaiveDateTime::parse_from_str(cols[0], "%a %b %d %H:%M:%S PDT %Y").unwrap();
        let unix = local.and_utc().timestamp() + 7 * 3600;
        let hr: f64 = cols[1].parse().unwrap();
        let s = rec.samples[i];
        assert_eq!(
            rec.start_unix.unwrap() + s.t as i64,
            unix,
            "row {i} timestamp"
        );
        assert_eq!(s.hr, Some(hr), "row {i} heart rate");
        rows += 1;
    }
    assert_eq!(
        rows,
        rec.samples.len(),
        "every FIT record is in the oracle and vice versa"
    );
}

#[test]
fn damaged_files_give_clear_errors_not_panics() {
    for name in ["activity-filecrc.fit", "activity-unexpected-eof.fit"] {
        let Some(r) = fit(name) else { return };
        let e = r.unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with(name), "{msg}");
        assert!(
            msg.contains("not a readable FIT file") && msg.contains("Export the activity again"),
            "{msg}"
        );
    }
}

/// `activity-settings-corruptheader.fit` chains an activity (part 1, good
/// CRC) and a settings file whose header is damaged (part 2, from byte 771).
/// The first part is kept, with a note naming the damaged part; before the
/// reader went part by part the whole file was refused.
#[test]
fn a_damaged_later_part_keeps_the_good_parts_and_says_so() {
    let Some(r) = fit("activity-settings-corruptheader.fit") else {
        return;
    };
    let rec = r.unwrap();
    // 14 records: the count python-fitparse reads from the first part
    // (tools/wild/wild_reference.py reads it from the same bytes).
    assert_eq!(rec.samples.len(), 14);
    assert_eq!(rec.notes.len(), 1, "{:?}", rec.notes);
    let n = &rec.notes[0];
    assert!(
        n.contains("part 2") && n.contains("byte 771") && n.contains("kept the 1 complete part"),
        "{n}"
    );
    // A chain of two good parts reads both.
    let Some(dir) = rct_testdata::shared_data("wild/fit") else {
        return;
    };
    let one = std::fs::read(dir.join("fitparse-rs-garmin-fenix-5-bike.fit")).unwrap();
    let mut two = one.clone();
    two.extend_from_slice(&one);
    let a = read_fit(&one, "one.fit").unwrap();
    let b = read_fit(&two, "two.fit").unwrap();
    assert_eq!(b.samples.len(), 2 * a.samples.len());
    assert!(b.notes.is_empty());
    // A truncated second part is dropped with a note; the first is kept.
    let cut = &two[..one.len() + one.len() / 2];
    let c = read_fit(cut, "cut.fit").unwrap();
    assert_eq!(c.samples.len(), a.samples.len());
    assert!(c.notes[0].contains("part 2"), "{:?}", c.notes);
}

#[test]
fn real_recordings_read_with_plausible_heart_rates() {
    for name in [
        "2013-02-06-12-11-14.fit",
        "sample-activity-indoor-trainer.fit",
    ] {
        let Some(r) = fit(name) else { return };
        let rec = r.unwrap();
        assert!(
            rec.samples.len() > 100,
            "{name}: {} samples",
            rec.samples.len()
        );
        let hrs: Vec<f64> = rec.samples.iter().filter_map(|s| s.hr).collect();
        assert!(!hrs.is_empty());
        assert!(hrs.iter().all(|h| (30.0..230.0).contains(h)), "{name}");
        assert!(rec.samples.windows(2).all(|w| w[0].t <= w[1].t));
        // A compliance report on a real file never fails with a plausible HRmax.
        let r = compliance(&rec, &SessionTemplate::lupex(), 190.0, Alignment::Auto, 5.0).unwrap();
        assert_eq!(r.bouts, 4);
    }
}

/// A 1 Hz trace that follows the LUPEX template at `start`, with `above`
/// seconds of each bout above 85 % of HRmax 200 (170 bpm).
fn trace(start: usize, above: usize) -> Recording {
    let t = SessionTemplate::lupex();
    let total = start + t.length() as usize + 60;
    let mut samples = Vec::with_capacity(total);
    for s in 0..total {
        let rel = s as f64 - start as f64;
        let phase = t
            .phases
            .iter()
            .find(|p| rel >= p.start && rel < p.start + p.duration);
        let hr = match phase {
            Some(p) if p.bout => {
                if (rel - p.start) < above as f64 {
                    180.0
                } else {
                    160.0
                }
            }
            Some(p) => (p.zone[0] + p.zone[1]) / 2.0 * 200.0,
            None => 70.0,
        };
        samples.push(Sample {
            t: s as f64,
            hr: Some(hr),
        });
    }
    Recording {
        start_unix: None,
        samples,
        laps: vec![start as f64],
        notes: vec![],
    }
}

#[test]
fn exactly_120_seconds_above_is_not_compliant_121_is() {
    let t = SessionTemplate::lupex();
    let r = compliance(&trace(0, 120), &t, 200.0, Alignment::Start(0.0), 5.0).unwrap();
    assert_eq!(r.compliant_bouts, 0);
    let bout = r.phases.iter().find(|p| p.id == "bout1").unwrap();
    assert_eq!(bout.seconds_in_zone, 120.0);
    assert_eq!(bout.compliant, Some(false));
    let r = compliance(&trace(0, 121), &t, 200.0, Alignment::Start(0.0), 5.0).unwrap();
    assert_eq!(r.compliant_bouts, 4);
    assert!(
        r.phases
            .iter()
            .filter(|p| p.compliant.is_none())
            .all(|p| p.fraction == 1.0),
        "{r:#?}"
    );
}

#[test]
fn auto_and_lap_alignment_find_the_session() {
    let t = SessionTemplate::lupex();
    let rec = trace(317, 200);
    let r = compliance(&rec, &t, 200.0, Alignment::Auto, 5.0).unwrap();
    assert_eq!(r.start, 317.0);
    assert_eq!(r.compliant_bouts, 4);
    let r = compliance(&rec, &t, 200.0, Alignment::Laps, 5.0).unwrap();
    assert_eq!(r.start, 317.0);
}

#[test]
fn irregular_samples_are_weighted_by_duration_and_gaps_are_missing() {
    let t = SessionTemplate::lupex();
    // Bout 1 runs 600-840 s. Samples every 4 s above threshold for 0-124 s of
    // it hold 4 s each (124 s), then one 20 s gap (over the 5 s limit), then
    // below threshold to the end.
    let mut samples = vec![Sample {
        t: 0.0,
        hr: Some(100.0),
    }];
    let mut s = 1.0;
    while s < 600.0 {
        samples.push(Sample {
            t: s,
            hr: Some(100.0),
        });
        s += 1.0;
    }
    let mut s = 600.0;
    while s < 724.0 {
        samples.push(Sample {
            t: s,
            hr: Some(175.0),
        });
        s += 4.0;
    }
    samples.push(Sample {
        t: 724.0,
        hr: Some(175.0),
    }); // holds 20 s: a gap
    let mut s = 744.0;
    while s < 2000.0 {
        samples.push(Sample {
            t: s,
            hr: Some(150.0),
        });
        s += 1.0;
    }
    let rec = Recording {
        start_unix: None,
        samples,
        laps: vec![],
        notes: vec![],
    };
    let r = compliance(&rec, &t, 200.0, Alignment::Start(0.0), 5.0).unwrap();
    let b = r.phases.iter().find(|p| p.id == "bout1").unwrap();
    assert_eq!(b.seconds_in_zone, 124.0);
    assert_eq!(b.seconds_with_data, 220.0);
    assert_eq!(b.compliant, Some(true));
    assert_eq!(r.gaps, vec![[724.0, 744.0]]);
    // With a 30 s gap limit the 20 s interval counts: 144 s above.
    let r = compliance(&rec, &t, 200.0, Alignment::Start(0.0), 30.0).unwrap();
    let b = r.phases.iter().find(|p| p.id == "bout1").unwrap();
    assert_eq!(b.seconds_in_zone, 144.0);
}

#[test]
fn zero_and_255_bpm_are_missing_in_csv() {
    let csv = "time,HR (bpm)\n0,120\n1,0\n2,255\n00:00:03,121\n";
    let r = read_csv(csv, "x.csv", None, None).unwrap();
    let hrs: Vec<Option<f64>> = r.samples.iter().map(|s| s.hr).collect();
    assert_eq!(hrs, vec![Some(120.0), None, None, Some(121.0)]);
    let e = read_csv("when,pulse_rate\n0,1\n", "y.csv", None, None).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("y.csv:1: cannot tell which column is the time"),
        "{e}"
    );
    let e = read_csv("time,hr\n0,abc\n", "z.csv", None, None).unwrap_err();
    assert_eq!(e.to_string(), "z.csv:2: heart rate `abc` is not a number");
}
