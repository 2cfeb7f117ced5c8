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
    /// What the reader could not use: a damaged later part of a chained FIT
    /// file (and what was kept), heart rate held where rct does not read it.
    pub notes: Vec<String>,
}

fn valid_hr(x: f64) -> Option<f64> {
    if x.is_finite() && x > 0.0 && x < 255.0 {
        Some(x)
    } else {
        None
    }
}

/// Largest FIT file read (16 MiB: about 30 hours of 1 s records).
pub const MAX_FIT_BYTES: usize = 16 << 20;
/// Largest heart-rate CSV file read (32 MiB).
pub const MAX_CSV_BYTES: usize = 32 << 20;
/// Most samples in one recording (a week at 1 s is 604,800).
pub const MAX_SAMPLES: usize = 1_000_000;
/// Longest recording, first to last sample: 7 days in seconds.
pub const MAX_SPAN_SECONDS: f64 = 7.0 * 86_400.0;
/// Largest time value in a CSV, seconds (about the year 2286 as Unix time).
pub const MAX_TIME_SECONDS: f64 = 1e10;

/// The error for an input larger than `limit` bytes.
pub(crate) fn size_error(file: &str, len: usize, limit: usize, what: &str) -> ExerciseError {
    ExerciseError::Limit {
        file: file.to_string(),
        message: format!(
            "the file is {len} bytes, over the {limit}-byte limit for {what}; check that it is the right file, or split it"
        ),
    }
}

fn samples_error(file: &str) -> ExerciseError {
    ExerciseError::Limit {
        file: file.to_string(),
        message: format!(
            "more than {MAX_SAMPLES} heart-rate samples; split the recording into sessions"
        ),
    }
}

/// Reads a FIT file's `record` (timestamp, heart_rate) and `lap` (start_time)
/// messages. The file is decoded message by message, keeping only those, so
/// memory grows with the samples, not with everything the watch wrote.
pub fn read_fit(bytes: &[u8], file: &str) -> Result<Recording, ExerciseError> {
    if bytes.len() > MAX_FIT_BYTES {
        return Err(size_error(file, bytes.len(), MAX_FIT_BYTES, "a FIT file"));
    }
    let fit_err = |e: fitparser::Error| ExerciseError::Fit {
        file: file.to_string(),
        message: e.to_string(),
    };
    // A FIT file may chain several parts (header, messages, CRC); each part
    // is kept once its checksum holds. A damaged later part ends the reading
    // with a note of what was kept; a damaged first part refuses the file.
    let mut raw: Vec<(i64, Option<f64>)> = Vec::new();
    let mut laps_abs: Vec<i64> = Vec::new();
    let mut part_raw: Vec<(i64, Option<f64>)> = Vec::new();
    let mut part_laps: Vec<i64> = Vec::new();
    let mut parts = 0usize;
    let mut part_start = 0usize;
    let mut hr_messages = 0usize;
    let mut notes: Vec<String> = Vec::new();
    let mut processor = fitparser::de::FitStreamProcessor::new();
    let mut buffer = bytes;
    let damaged = |parts: usize, at: usize, why: String, kept: usize| {
        format!(
            "part {} of the chained FIT file (from byte {at}) is damaged ({why}); kept the {parts} complete part(s) before it ({kept} record(s)) and ignored the rest",
            parts + 1
        )
    };
    while !buffer.is_empty() {
        let offset = bytes.len() - buffer.len();
        let step = processor.deserialize_next(buffer).map_err(fit_err);
        let step = step.and_then(|(rest, obj)| {
            if rest.len() >= buffer.len() {
                return Err(ExerciseError::Fit {
                    file: file.to_string(),
                    message: format!("the decoder stopped at byte {offset}"),
                });
            }
            let msg = match obj {
                fitparser::de::FitObject::DataMessage(msg) => {
                    Some(processor.decode_message(msg).map_err(fit_err)?)
                }
                fitparser::de::FitObject::Crc(_) => None,
                _ => return Ok((rest, None, false)),
            };
            let crc = msg.is_none();
            Ok((rest, msg, crc))
        });
        let (rest, msg, crc) = match step {
            Ok(x) => x,
            Err(e) if parts > 0 => {
                let why = match &e {
                    ExerciseError::Fit { message, .. } => message.clone(),
                    other => other.to_string(),
                };
                notes.push(damaged(parts, part_start, why, raw.len()));
                part_raw.clear();
                part_laps.clear();
                break;
            }
            Err(e) => return Err(e),
        };
        buffer = rest;
        if crc {
            processor.reset();
            parts += 1;
            if raw.len() + part_raw.len() > MAX_SAMPLES
                || laps_abs.len() + part_laps.len() > MAX_SAMPLES
            {
                return Err(samples_error(file));
            }
            raw.append(&mut part_raw);
            laps_abs.append(&mut part_laps);
            part_start = bytes.len() - buffer.len();
            continue;
        }
        let Some(r) = msg else { continue };
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
                    if raw.len() + part_raw.len() >= MAX_SAMPLES {
                        return Err(samples_error(file));
                    }
                    part_raw.push((ts, hr));
                }
            }
            fitparser::profile::MesgNum::Lap => {
                for f in r.fields() {
                    if let ("start_time", fitparser::Value::Timestamp(t)) = (f.name(), f.value()) {
                        if laps_abs.len() + part_laps.len() >= MAX_SAMPLES {
                            return Err(samples_error(file));
                        }
                        part_laps.push(t.timestamp());
                    }
                }
            }
            fitparser::profile::MesgNum::Hr => hr_messages += 1,
            _ => {}
        }
    }
    if !part_raw.is_empty() || !part_laps.is_empty() {
        if parts == 0 {
            // A single part that ends without its checksum: read as before.
            raw.append(&mut part_raw);
            laps_abs.append(&mut part_laps);
        } else {
            notes.push(format!(
                "part {} of the chained FIT file (from byte {part_start}) ends before its checksum; its {} record(s) were not kept, the {parts} complete part(s) before it were ({} record(s))",
                parts + 1,
                part_raw.len(),
                raw.len()
            ));
        }
    }
    if hr_messages > 0 && raw.iter().all(|x| x.1.is_none()) {
        notes.push(format!(
            "the heart rate is held in {hr_messages} `hr` message(s) (as pool-swim recordings store it), which rct does not read yet; only `record` messages are read, and they hold no heart rate"
        ));
    }
    raw.sort_by_key(|x| x.0);
    let (Some(&(t0, _)), Some(&(t1, _))) = (raw.first(), raw.last()) else {
        return Err(ExerciseError::NoHeartRate(file.to_string()));
    };
    if (t1 - t0) as f64 > MAX_SPAN_SECONDS {
        return Err(ExerciseError::Limit {
            file: file.to_string(),
            message: format!(
                "the record timestamps span {} s, more than {MAX_SPAN_SECONDS:.0} s (7 days): the file is damaged or holds more than one session; export the session again",
                t1 - t0
            ),
        });
    }
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
        notes,
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
    if text.len() > MAX_CSV_BYTES {
        return Err(size_error(
            file,
            text.len(),
            MAX_CSV_BYTES,
            "a heart-rate CSV file",
        ));
    }
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
        let t_text = t.trim();
        let t = parse_time(t_text)
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
        if t.abs() > MAX_TIME_SECONDS {
            return Err(err(
                line,
                format!("time `{t_text}` is out of range: expected seconds between -{MAX_TIME_SECONDS:e} and {MAX_TIME_SECONDS:e}"),
            ));
        }
        let t0 = *first.get_or_insert(t);
        if (t - t0).abs() > MAX_SPAN_SECONDS {
            return Err(err(
                line,
                format!("time `{t_text}` is {:.0} s from the first sample's; a recording may span at most {MAX_SPAN_SECONDS:.0} s (7 days): is the time column in seconds?", (t - t0).abs()),
            ));
        }
        if samples.len() >= MAX_SAMPLES {
            return Err(samples_error(file));
        }
        samples.push(Sample {
            t: t - t0,
            hr: hr.and_then(valid_hr),
        });
    }
    if samples.is_empty() {
        return Err(ExerciseError::NoHeartRate(file.to_string()));
    }
    samples.sort_by(|a, b| a.t.total_cmp(&b.t));
    if let (Some(a), Some(b)) = (samples.first(), samples.last()) {
        if b.t - a.t > MAX_SPAN_SECONDS {
            return Err(ExerciseError::Limit {
                file: file.to_string(),
                message: format!(
                    "the times span {:.0} s, more than {MAX_SPAN_SECONDS:.0} s (7 days): is the time column in seconds?",
                    b.t - a.t
                ),
            });
        }
    }
    Ok(Recording {
        start_unix: None,
        samples,
        laps: vec![],
        notes: vec![],
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
    total.is_finite().then_some(total)
}
