//! Heart-rate recordings: FIT `record` messages (timestamp, heart_rate) and
//! `lap` messages, or CSV exports with a time and a heart-rate column.

use serde::Serialize;

use crate::ExerciseError;

/// One heart-rate sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    /// Seconds since the first sample.
    pub t: f64,
    /// Beats per minute; `None` when the device recorded no valid value
    /// (FIT's invalid 0xFF, or 0).
    pub hr: Option<f64>,
}

/// A recording: samples in time order, laps, and the absolute start time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recording {
    /// Unix time of the first sample, where the file gives one.
    pub start_unix: Option<i64>,
    /// Samples, sorted by time.
    pub samples: Vec<Sample>,
    /// Lap start times in seconds since the first sample.
    pub laps: Vec<f64>,
}

fn valid_hr(x: f64) -> Option<f64> {
    if x.is_finite() && x > 0.0 && x < 255.0 {
        Some(x)
    } else {
        None
    }
}

/// Reads a FIT file's `record` (timestamp, heart_rate) and `lap` (start_time) messages.
pub fn read_fit(bytes: &[u8], file: &str) -> Result<Recording, ExerciseError> {
    let records = fitparser::from_bytes(bytes).map_err(|e| ExerciseError::Fit {
        file: file.to_string(),
        message: e.to_string(),
    })?;
    let mut raw: Vec<(i64, Option<f64>)> = Vec::new();
    let mut laps_abs: Vec<i64> = Vec::new();
    for r in &records {
        match r.kind() {
            fitparser::profile::MesgNum::Record => {
                let mut ts = None;
                let mut hr = None;
                for f in r.fields() {
                    match (f.name(), f.value()) {
                        ("timestamp", fitparser::Value::Timestamp(t)) => ts = Some(t.timestamp()),
                        ("heart_rate", v) => {
                            hr = TryInto::<f64>::try_into(v.clone()).ok().and_then(valid_hr);
                        }
                        _ => {}
                    }
                }
                if let Some(ts) = ts {
                    raw.push((ts, hr));
                }
            }
            fitparser::profile::MesgNum::Lap => {
                for f in r.fields() {
                    if let ("start_time", fitparser::Value::Timestamp(t)) = (f.name(), f.value()) {
                        laps_abs.push(t.timestamp());
                    }
                }
            }
            _ => {}
        }
    }
    if raw.is_empty() {
        return Err(ExerciseError::NoHeartRate(file.to_string()));
    }
    raw.sort_by_key(|x| x.0);
    let t0 = raw[0].0;
    let mut laps: Vec<f64> = laps_abs.iter().map(|l| (l - t0) as f64).collect();
    laps.sort_by(f64::total_cmp);
    Ok(Recording {
        start_unix: Some(t0),
        samples: raw
            .into_iter()
            .map(|(t, hr)| Sample {
                t: (t - t0) as f64,
                hr,
            })
            .collect(),
        laps,
    })
}

/// Column names recognised as time (seconds, or `HH:MM:SS`) and as heart rate.
const TIME_NAMES: &[&str] = &[
    "time",
    "elapsed",
    "seconds",
    "secs",
    "t",
    "elapsed_time",
    "time (s)",
    "timestamp",
];
const HR_NAMES: &[&str] = &[
    "hr",
    "heart_rate",
    "heartrate",
    "heart rate",
    "hr (bpm)",
    "heart rate (bpm)",
    "bpm",
    "pulse",
];

/// Reads a CSV export: a time column (seconds, or `[H:]MM:SS[.f]`) and a heart-rate column,
/// found by name (`time`, `elapsed`, `hr`, `heart_rate`, `HR (bpm)`, ...) or given.
pub fn read_csv(
    text: &str,
    file: &str,
    time_col: Option<&str>,
    hr_col: Option<&str>,
) -> Result<Recording, ExerciseError> {
    let err = |line: usize, message: String| ExerciseError::Csv {
        file: file.to_string(),
        line,
        message,
    };
    let delim = if text
        .lines()
        .next()
        .is_some_and(|l| l.contains(';') && !l.contains(','))
    {
        b';'
    } else {
        b','
    };
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delim)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| err(1, format!("cannot read the header row: {e}")))?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    let find = |given: Option<&str>, names: &[&str], what: &str| -> Result<usize, ExerciseError> {
        if let Some(g) = given {
            return headers
                .iter()
                .position(|h| h == &g.to_lowercase())
                .ok_or_else(|| {
                    err(
                        1,
                        format!("no column `{g}`; the columns are: {}", headers.join(", ")),
                    )
                });
        }
        headers.iter().position(|h| names.contains(&h.as_str())).ok_or_else(|| {
            err(1, format!("cannot tell which column is {what}: expected one named {} (or pass it explicitly); the columns are: {}", names.join(", "), headers.join(", ")))
        })
    };
    let ti = find(time_col, TIME_NAMES, "the time")?;
    let hi = find(hr_col, HR_NAMES, "the heart rate")?;
    let mut samples = Vec::new();
    let mut first: Option<f64> = None;
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| err(line, e.to_string()))?;
        let (Some(t), Some(h)) = (rec.get(ti), rec.get(hi)) else {
            return Err(err(
                line,
                format!("expected at least {} columns", ti.max(hi) + 1),
            ));
        };
        let t = parse_time(t.trim())
            .ok_or_else(|| err(line, format!("time `{t}` is neither seconds nor [H:]MM:SS")))?;
        let h = h.trim().replace(',', ".");
        let hr = if h.is_empty() {
            None
        } else {
            Some(
                h.parse::<f64>()
                    .map_err(|_| err(line, format!("heart rate `{h}` is not a number")))?,
            )
        };
        let t0 = *first.get_or_insert(t);
        samples.push(Sample {
            t: t - t0,
            hr: hr.and_then(valid_hr),
        });
    }
    if samples.is_empty() {
        return Err(ExerciseError::NoHeartRate(file.to_string()));
    }
    samples.sort_by(|a, b| a.t.total_cmp(&b.t));
    Ok(Recording {
        start_unix: None,
        samples,
        laps: vec![],
    })
}

/// Seconds from `12.5`, `04:17`, `00:04:17,2` or `1:02:03.5`.
pub fn parse_time(s: &str) -> Option<f64> {
    let s = s.replace(',', ".");
    if !s.contains(':') {
        return s.parse::<f64>().ok().filter(|x| x.is_finite());
    }
    let mut total = 0.0;
    for part in s.split(':') {
        let v: f64 = part.parse().ok()?;
        total = total * 60.0 + v;
    }
    Some(total)
}
