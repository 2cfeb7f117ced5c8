//! Hostile shapes that once hung or aborted the readers, generated here, and
//! the readers' limits: each must be a clear error (or a quick answer), never
//! a panic, an abort or a hang.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Timing a test is the point here: a hang is the bug.
#![allow(clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use rct_exercise::{
    compliance, read_csv, read_fit, Alignment, ExerciseError, Recording, Sample, SessionTemplate,
    MAX_CSV_BYTES, MAX_FIT_BYTES, MAX_SPAN_SECONDS,
};

/// A 1 Hz heart-rate CSV of `n` rows, then one row at `last` seconds.
fn csv_with_last_time(n: usize, last: &str) -> String {
    let mut s = String::from("time,hr\n");
    for i in 0..n {
        s.push_str(&format!("{i},{}\n", 100 + i % 80));
    }
    s.push_str(&format!("{last},150\n"));
    s
}

#[test]
fn far_timestamps_in_a_csv_are_refused_with_the_line() {
    // 1e300 made `hr compliance --align auto` run forever; 1e11 asked for
    // 1.6 TB (the per-second grid of the alignment search).
    for last in [
        "1e300",
        "100000000000",
        "-1e300",
        "1e10",
        "604801",
        "00:00:1e300",
    ] {
        let text = csv_with_last_time(100, last);
        let started = Instant::now();
        let e = read_csv(&text, "h.csv", None, None).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        let msg = e.to_string();
        assert!(msg.starts_with("h.csv:102:"), "{last}: {msg}");
        assert!(
            msg.contains("out of range") || msg.contains("7 days") || msg.contains("seconds"),
            "{last}: {msg}"
        );
    }
    // A week is still read.
    let rec = read_csv(&csv_with_last_time(10, "604800"), "h.csv", None, None).unwrap();
    assert_eq!(rec.samples.last().unwrap().t, MAX_SPAN_SECONDS);
}

#[test]
fn a_csv_spanning_more_than_a_week_either_side_of_its_first_row_is_refused() {
    // Each row is within 7 days of the first, but the sorted span is 8 days.
    let text = "time,hr\n0,100\n-345600,100\n345600,100\n";
    let e = read_csv(text, "s.csv", None, None).unwrap_err().to_string();
    assert!(e.starts_with("s.csv: the times span 691200 s"), "{e}");
}

#[test]
fn auto_alignment_costs_samples_not_time_span() {
    // A recording built by hand (no reader): a week long, 2,000 samples, the
    // last one at the far end. The search must answer at once.
    let mut samples: Vec<Sample> = (0..2000)
        .map(|i| Sample {
            t: f64::from(i),
            hr: Some(175.0),
        })
        .collect();
    samples.push(Sample {
        t: MAX_SPAN_SECONDS,
        hr: Some(175.0),
    });
    let rec = Recording {
        start_unix: None,
        samples,
        laps: vec![],
    };
    let started = Instant::now();
    let r = compliance(&rec, &SessionTemplate::lupex(), 200.0, Alignment::Auto, 5.0).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.bouts, 4);
    // A hand-built recording beyond the limits is an error, not a hang.
    let mut far = rec.clone();
    far.samples.last_mut().unwrap().t = 1e300;
    let e = compliance(&far, &SessionTemplate::lupex(), 200.0, Alignment::Auto, 5.0);
    assert!(matches!(e, Err(ExerciseError::Invalid(_))), "{e:?}");
    let mut unsorted = rec;
    unsorted.samples.swap(0, 5);
    let e = compliance(
        &unsorted,
        &SessionTemplate::lupex(),
        200.0,
        Alignment::Auto,
        5.0,
    );
    assert!(matches!(e, Err(ExerciseError::Invalid(_))), "{e:?}");
}

#[test]
fn oversized_inputs_are_refused_before_decoding() {
    let big = vec![b'0'; MAX_FIT_BYTES + 1];
    let e = read_fit(&big, "big.fit").unwrap_err().to_string();
    assert!(
        e.starts_with("big.fit: the file is 16777217 bytes, over the 16777216-byte limit"),
        "{e}"
    );
    let text = "time,hr\n".to_string() + &"1,100\n".repeat(MAX_CSV_BYTES / 6 + 1);
    let e = read_csv(&text, "big.csv", None, None)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("big.csv: the file is"), "{e}");
}
