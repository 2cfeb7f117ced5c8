//! Breath-by-breath CPET exports (COSMED, CORTEX and Vyntus; xlsx, CSV or
//! tab-separated text, CORTEX's Excel 2003 XML) and VO2max from them. A ZAN
//! `.dat` export is recognised and refused by name.
//!
//! Layout detection: the header row is the first row holding both a time
//! column (`t`, `time`, `Tid`, `Zeit`, `Tempo`) and a `VO2` column (`VO2`,
//! `V'O2 (STPD)`); the cart is told by the header's content ([`layout_of`]:
//! COSMED in English, German or Italian, CORTEX, Vyntus); the row
//! below it is a unit row when its time cell is not a time. VO2 and VCO2 in
//! L/min (by the unit row) are converted to mL/min. RER is the `R`/`RER`
//! column, or VCO2/VO2 where absent. HR (`HR`, `HF`, `FC`) of 0 is missing. A
//! workload column (`Load1`, `Load`, `W`, `Watt`) is used only when its unit is
//! watts (CORTEX's `W` column is in kcal and is ignored). Data rows run until
//! the first row with an empty time cell
//! (blank rows before the first breath are skipped).
//!
//! VO2max ([`vo2max`]):
//! - rolling: for every breath i with `t_i - window_s >= t_first`, the plain
//!   mean of the breaths with time in `(t_i - window_s, t_i]`; the highest such
//!   mean (first on ties), reported at `t_i` (the window end). The window is
//!   seconds of data, open at its start: on an export of 10-s averages (each
//!   row the 10 s up to its time) a 30-s window takes three rows, never four.
//!   Times of day from a spreadsheet are rounded to the millisecond so that a
//!   boundary falls exactly where the export's clock says;
//! - block: bins `[k w, (k + 1) w)` from time 0 of the test clock, only bins
//!   ending at or before the last breath and holding at least one breath; the
//!   highest bin mean, reported at the bin end.
//!
//! Peak RER is the highest window average of RER by the same method and
//! window; HRmax is the highest single HR value. Plateau: the VO2 average of
//! the window just before the peak window (`(end - 2w, end - w]` for rolling,
//! the previous bin for block) is compared with the peak; a plateau is a rise
//! below 150 mL/min, and where a workload is recorded the mean workload must
//! also have risen ("despite more work"); without a workload column the
//! plateau is judged on VO2 alone and the report says so. The label is
//! "VO2max" when the plateau is met, or when both secondary criteria (RER >=
//! 1.10 and HRmax within 10 bpm of 220 - age) are met; otherwise "VO2peak".

use serde::Serialize;

use crate::ExerciseError;

/// One breath.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Breath {
    /// Seconds from the start of the test clock.
    pub t: f64,
    /// Oxygen uptake, mL/min.
    pub vo2: f64,
    /// CO2 output, mL/min, when recorded.
    pub vco2: Option<f64>,
    /// Respiratory exchange ratio (file's column, or VCO2/VO2).
    pub rer: Option<f64>,
    /// Heart rate, bpm (0 treated as missing).
    pub hr: Option<f64>,
    /// Workload, W, when recorded.
    pub work: Option<f64>,
}

/// A breath-by-breath test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breaths {
    /// The file name.
    pub file: String,
    /// Detected layout: "COSMED", "CORTEX" or "generic".
    pub layout: String,
    /// Breaths in file order.
    pub breaths: Vec<Breath>,
}

/// How the window average is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Time-based moving average ending at every breath.
    Rolling,
    /// Consecutive fixed bins from time 0.
    Block,
}

/// Which criteria were met.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Criteria {
    /// Plateau: < 150 mL/min rise over the previous window (and more work where recorded).
    pub plateau: bool,
    /// Rise of the peak window over the previous window, mL/min (None if no previous window).
    pub plateau_rise_ml_min: Option<f64>,
    /// Whether the mean workload rose into the peak window (None: not recorded).
    pub workload_rose: Option<bool>,
    /// Peak RER >= 1.10.
    pub rer_ge_1_10: bool,
    /// HRmax >= 220 - age - 10.
    pub hr_within_10_of_predicted: bool,
}

/// The VO2max assessment of one test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Vo2maxReport {
    /// The file.
    pub file: String,
    /// Detected layout.
    pub layout: String,
    /// Averaging method.
    pub method: Method,
    /// Window, seconds.
    pub window_s: f64,
    /// Number of breaths read.
    pub breaths: usize,
    /// Highest window average of VO2, mL/min.
    pub vo2max_ml_min: f64,
    /// The same per kg of body weight, mL/kg/min.
    pub vo2max_ml_kg_min: f64,
    /// End of the peak window, seconds from the test clock's start.
    pub at_seconds: f64,
    /// Highest HR, bpm (None when the file has no HR).
    pub hrmax: Option<f64>,
    /// Predicted maximum HR, 220 - age.
    pub hr_predicted: f64,
    /// Highest window average of RER (None when neither RER nor VCO2 is recorded).
    pub peak_rer: Option<f64>,
    /// Criteria.
    pub criteria: Criteria,
    /// "VO2max" or "VO2peak".
    pub label: String,
    /// How the window met the rows: pre-averaged rows (10-s, minute
    /// averages) and how many of them a window takes.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Empty,
    Num(f64),
    Text(String),
}

fn cpet_err(file: &str, row: usize, message: impl Into<String>) -> ExerciseError {
    ExerciseError::Csv {
        file: file.to_string(),
        line: row,
        message: message.into(),
    }
}

/// Largest CPET export read (16 MiB; a one-hour test is well under 1 MiB).
pub const MAX_CPET_BYTES: usize = 16 << 20;
/// Most breaths in one test (a one-hour test has about 3,600).
pub const MAX_BREATHS: usize = 20_000;

/// Read a breath-by-breath export: an xlsx workbook (`.xlsx`/`.xlsm` by the
/// file name, or any zip file), anything else as CSV (`;`, tab or `,`
/// separated; comma decimals allowed). `.xls`, `.xlsb` and `.ods` are refused:
/// their readers lay out whole sheets with no bound on repeated rows or cells
/// (docs/limits.md).
pub fn read_cpet(bytes: &[u8], file: &str) -> Result<Breaths, ExerciseError> {
    if bytes.len() > MAX_CPET_BYTES {
        return Err(crate::recording::size_error(
            file,
            bytes.len(),
            MAX_CPET_BYTES,
            "a CPET export",
        ));
    }
    let lower = file.to_ascii_lowercase();
    if [".xls", ".xlsb", ".ods"].iter().any(|e| lower.ends_with(e)) {
        return Err(ExerciseError::Invalid(format!(
            "{file}: only xlsx and CSV exports are read; save the test as .xlsx or .csv"
        )));
    }
    if let Some(format) = unsupported_format(bytes) {
        return Err(ExerciseError::Invalid(format!(
            "{file}: this is {format}, which rct does not read; export the test from the cart's software as breath-by-breath xlsx or CSV (a header row with a time column and VO2)"
        )));
    }
    let grid = if [".xlsx", ".xlsm"].iter().any(|e| lower.ends_with(e)) || bytes.starts_with(b"PK")
    {
        spreadsheet_grid(bytes, file)?
    } else if crate::spreadsheetml::is_spreadsheetml(bytes) {
        crate::spreadsheetml::sheet_grid(bytes, file)?
    } else {
        csv_grid(bytes, file)?
    };
    parse_grid(&grid, file)
}

/// Formats recognised by their content but not read: a ZAN `.dat` export
/// (INI-style `[person]`, `[parameter]` and `[Data]` sections whose rows hold
/// scaled integers keyed by parameter codes).
fn unsupported_format(bytes: &[u8]) -> Option<&'static str> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(64 << 10)]);
    let sections = ["[person]", "[parameter]", "[Data]"];
    let found = sections
        .iter()
        .filter(|s| head.lines().any(|l| l.trim().eq_ignore_ascii_case(s)))
        .count();
    (found >= 2).then_some(
        "a ZAN .dat export (INI-style [person]/[parameter]/[Data] sections with scaled integer rows)",
    )
}

fn spreadsheet_grid(bytes: &[u8], file: &str) -> Result<Vec<Vec<Cell>>, ExerciseError> {
    crate::xlsx::sheet_grid(bytes, file)
}

fn csv_grid(bytes: &[u8], file: &str) -> Result<Vec<Vec<Cell>>, ExerciseError> {
    let text = String::from_utf8_lossy(bytes);
    let head: String = text.lines().take(200).collect::<Vec<_>>().join("\n");
    let delim = if head.contains(';') {
        b';'
    } else if head.contains('\t') {
        b'\t'
    } else {
        b','
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delim)
        .from_reader(text.as_bytes());
    let mut grid = Vec::new();
    let mut cells = 0usize;
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| cpet_err(file, i + 1, format!("unreadable CSV record: {e}")))?;
        cells += rec.len().max(1);
        if cells > crate::xlsx::MAX_CELLS {
            return Err(ExerciseError::Limit {
                file: file.to_string(),
                message: format!(
                    "more than {} cells by line {}; a CPET export is far smaller: check that this is the right file",
                    crate::xlsx::MAX_CELLS,
                    i + 1
                ),
            });
        }
        grid.push(
            rec.iter()
                .map(|s| {
                    let s = s.trim();
                    if s.is_empty() {
                        Cell::Empty
                    } else {
                        Cell::Text(s.to_string())
                    }
                })
                .collect(),
        );
    }
    Ok(grid)
}

fn norm(s: &str) -> String {
    let s = s.split('(').next().unwrap_or("");
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '\'' && *c != '.' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

fn text(c: Option<&Cell>) -> String {
    match c {
        Some(Cell::Text(s)) => s.trim().to_string(),
        Some(Cell::Num(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// Parse a number, accepting comma decimals; `-`, empty → None.
fn num(c: Option<&Cell>) -> Result<Option<f64>, String> {
    match c {
        None | Some(Cell::Empty) => Ok(None),
        Some(Cell::Num(n)) => Ok(Some(*n)),
        Some(Cell::Text(s)) => {
            let s = s.trim();
            if s.is_empty() || s == "-" || s == "---" {
                return Ok(None);
            }
            s.replace(',', ".")
                .parse::<f64>()
                .map(Some)
                .map_err(|_| format!("'{s}' is not a number"))
        }
    }
}

/// Parse a clock time `hh:mm:ss[,.]z` or `mm:ss`, or seconds.
fn parse_time(c: &Cell, unit_is_clock: bool) -> Option<f64> {
    match c {
        Cell::Empty => None,
        Cell::Num(n) => Some(if unit_is_clock && *n < 1.0 {
            (n * 86_400_000.0).round() / 1000.0
        } else {
            *n
        }),
        Cell::Text(s) => {
            let s = s.trim().replace(',', ".");
            if s.contains(':') {
                let mut total = 0.0;
                for part in s.split(':') {
                    let v: f64 = part.trim().parse().ok()?;
                    if !v.is_finite() || v < 0.0 {
                        return None;
                    }
                    total = total * 60.0 + v;
                }
                Some(total)
            } else {
                s.parse().ok().filter(|v: &f64| v.is_finite())
            }
        }
    }
}

/// The cart that wrote the export, by its header's content: CORTEX and
/// Vyntus (Jaeger) write `V'O2` with a prime; Vyntus has `VTex` and `BF` and
/// Swedish/German time names; COSMED writes `VO2` without one, with `Rf`
/// (English), `Af` (German) or `FR` (Italian) and the subject block
/// (`ID code:`, `Nachname`, `Cognome`) in column A.
fn layout_of(grid: &[Vec<Cell>], hrow: usize, names: &[String]) -> &'static str {
    let raw: Vec<String> = grid[hrow].iter().map(|c| text(Some(c))).collect();
    let primed = raw
        .iter()
        .any(|h| h.starts_with("V'O2") || h.starts_with("V’O2") || h.starts_with("V´O2"));
    let has = |n: &str| names.iter().any(|x| x == n);
    if primed {
        if has("vtex") || has("bf") || has("tid") {
            "Vyntus"
        } else {
            "CORTEX"
        }
    } else {
        let subject = grid.iter().take(hrow + 12).any(|r| {
            let a = text(r.first()).to_lowercase();
            matches!(
                a.trim_end_matches(':'),
                "id code" | "id1" | "nachname" | "cognome" | "last name"
            )
        });
        if has("load1") || ((has("rf") || has("af") || has("fr")) && has("vo2")) || subject {
            "COSMED"
        } else {
            "generic"
        }
    }
}

struct Cols {
    time: usize,
    vo2: usize,
    vco2: Option<usize>,
    rer: Option<usize>,
    hr: Option<usize>,
    work: Option<usize>,
}

fn parse_grid(grid: &[Vec<Cell>], file: &str) -> Result<Breaths, ExerciseError> {
    let mut header = None;
    for (ri, row) in grid.iter().enumerate() {
        let names: Vec<String> = row.iter().map(|c| norm(&text(Some(c)))).collect();
        let time = names
            .iter()
            .position(|n| matches!(n.as_str(), "t" | "time" | "tid" | "zeit" | "tempo"));
        let vo2 = names.iter().position(|n| n == "vo2");
        if let (Some(t), Some(v)) = (time, vo2) {
            header = Some((ri, names, t, v));
            break;
        }
    }
    let Some((hrow, names, time, vo2)) = header else {
        return Err(ExerciseError::Invalid(format!(
            "{file}: no header row with a time column ('t' or 'time') and a 'VO2' column; \
             expected a COSMED or CORTEX breath-by-breath export"
        )));
    };
    let find = |cands: &[&str]| names.iter().position(|n| cands.contains(&n.as_str()));
    // Unit row: the row under the header when its time cell is not a time.
    let has_units = grid
        .get(hrow + 1)
        .and_then(|r| r.get(time))
        .is_some_and(|c| parse_time(c, false).is_none());
    let unit = |col: usize| -> String {
        if has_units {
            text(grid.get(hrow + 1).and_then(|r| r.get(col))).to_ascii_lowercase()
        } else {
            String::new()
        }
    };
    let watts = |c: &usize| matches!(unit(*c).as_str(), "w" | "watt" | "watts");
    let work = find(&[
        "load1", "load", "w", "watt", "watts", "work", "workload", "last",
    ])
    .filter(|c| !has_units || watts(c))
    // CORTEX's power column is `P`, in W by its unit row.
    .or_else(|| find(&["p"]).filter(|c| has_units && watts(c)));
    let cols = Cols {
        time,
        vo2,
        vco2: find(&["vco2"]),
        rer: find(&["r", "rer"]),
        // HR (English), HF (German), FC (Italian: frequenza cardiaca).
        hr: find(&["hr", "hf", "fc", "heartrate"]),
        work,
    };
    let scale = |col: Option<usize>| {
        if col.is_some_and(|c| unit(c).starts_with("l/")) {
            1000.0
        } else {
            1.0
        }
    };
    let (s_vo2, s_vco2) = (scale(Some(cols.vo2)), scale(cols.vco2));
    let clock = unit(cols.time).contains("hh");
    let layout = layout_of(grid, hrow, &names);
    let start = hrow + 1 + usize::from(has_units);
    let mut breaths = Vec::new();
    let colname = |c: usize| text(grid[hrow].get(c));
    for (ri, row) in grid.iter().enumerate().skip(start) {
        let line = ri + 1;
        let tcell = row.get(cols.time).unwrap_or(&Cell::Empty);
        if *tcell == Cell::Empty {
            // Blank rows between the unit row and the data are skipped; after
            // the data has started a blank time ends it.
            if breaths.is_empty() {
                continue;
            }
            break;
        }
        let t = parse_time(tcell, clock).ok_or_else(|| {
            cpet_err(
                file,
                line,
                format!(
                    "column '{}': '{}' is not a time (expected hh:mm:ss or seconds)",
                    colname(cols.time),
                    text(Some(tcell))
                ),
            )
        })?;
        let get = |c: Option<usize>| -> Result<Option<f64>, ExerciseError> {
            match c {
                None => Ok(None),
                Some(c) => num(row.get(c))
                    .map_err(|m| cpet_err(file, line, format!("column '{}': {m}", colname(c)))),
            }
        };
        if breaths.len() >= MAX_BREATHS {
            return Err(ExerciseError::Limit {
                file: file.to_string(),
                message: format!(
                    "more than {MAX_BREATHS} breaths by line {line}; a CPET test has a few thousand: check that this is one test"
                ),
            });
        }
        let vo2 = get(Some(cols.vo2))?.ok_or_else(|| {
            cpet_err(
                file,
                line,
                format!(
                    "column '{}' is empty; every breath needs VO2",
                    colname(cols.vo2)
                ),
            )
        })? * s_vo2;
        let vco2 = get(cols.vco2)?.map(|v| v * s_vco2);
        let rer = match get(cols.rer)? {
            Some(r) => Some(r),
            None => vco2.filter(|_| vo2 > 0.0).map(|c| c / vo2),
        };
        let hr = get(cols.hr)?.filter(|h| *h > 0.0 && *h < 255.0);
        let work = get(cols.work)?;
        breaths.push(Breath {
            t,
            vo2,
            vco2,
            rer,
            hr,
            work,
        });
    }
    if breaths.is_empty() {
        return Err(cpet_err(file, start + 1, "no breaths under the header row"));
    }
    if let Some(w) = breaths.windows(2).position(|w| w[1].t < w[0].t) {
        return Err(cpet_err(
            file,
            start + w + 2,
            "time goes backwards; breaths must be in time order",
        ));
    }
    Ok(Breaths {
        file: file.to_string(),
        layout: layout.to_string(),
        breaths,
    })
}

/// Highest window average of `val` (skipping breaths where it is None):
/// returns (average, window end, window start).
fn peak(
    b: &[Breath],
    val: impl Fn(&Breath) -> Option<f64>,
    w: f64,
    method: Method,
) -> Option<(f64, f64, f64)> {
    let pts: Vec<(f64, f64)> = b.iter().filter_map(|x| val(x).map(|v| (x.t, v))).collect();
    let first = pts.first()?.0;
    let last = pts.last()?.0;
    let mut best: Option<(f64, f64, f64)> = None;
    let mut consider = |avg: f64, end: f64, start: f64| {
        if best.is_none_or(|(a, _, _)| avg > a) {
            best = Some((avg, end, start));
        }
    };
    match method {
        Method::Rolling => {
            let mut lo = 0;
            for (i, &(t, _)) in pts.iter().enumerate() {
                // `lo < i`: with a huge time or a tiny window, `t - w` can round to `t`.
                while lo < i && pts[lo].0 <= t - w {
                    lo += 1;
                }
                if t - w >= first {
                    let s: f64 = pts[lo..=i].iter().map(|p| p.1).sum();
                    consider(s / (i + 1 - lo) as f64, t, t - w);
                }
            }
        }
        Method::Block => {
            // Bins in time order (breaths are), only those holding a breath:
            // nothing is laid out per empty bin, however long the test clock.
            let nbins = (last / w).floor() as u64;
            let mut bin: Option<(u64, f64, usize)> = None;
            let mut close = |b: Option<(u64, f64, usize)>| {
                if let Some((k, s, n)) = b {
                    consider(s / n as f64, (k + 1) as f64 * w, k as f64 * w);
                }
            };
            for &(t, v) in &pts {
                // `as` saturates: times before 0 fall in bin 0.
                let k = (t / w).floor() as u64;
                if k >= nbins {
                    continue;
                }
                match &mut bin {
                    Some((bk, s, n)) if *bk == k => {
                        *s += v;
                        *n += 1;
                    }
                    _ => {
                        close(bin.take());
                        bin = Some((k, v, 1));
                    }
                }
            }
            close(bin);
        }
    }
    best
}

/// Mean of `val` over the window before `[start, end)`, by the method's boundary convention.
fn prev_mean(
    b: &[Breath],
    val: impl Fn(&Breath) -> Option<f64>,
    start: f64,
    w: f64,
    method: Method,
) -> Option<f64> {
    let lo = start - w;
    let vals: Vec<f64> = b
        .iter()
        .filter(|x| match method {
            Method::Rolling => x.t > lo && x.t <= start,
            Method::Block => x.t >= lo && x.t < start,
        })
        .filter_map(val)
        .collect();
    (!vals.is_empty() && lo >= 0.0).then(|| vals.iter().sum::<f64>() / vals.len() as f64)
}

/// VO2max of a test: see the module documentation for the definitions.
pub fn vo2max(
    b: &Breaths,
    weight_kg: f64,
    age: f64,
    window_s: f64,
    method: Method,
) -> Result<Vo2maxReport, ExerciseError> {
    if !(weight_kg.is_finite() && weight_kg > 0.0) {
        return Err(ExerciseError::Invalid(format!(
            "weight must be a positive number of kg, got {weight_kg}"
        )));
    }
    if !(age.is_finite() && age > 0.0 && age < 130.0) {
        return Err(ExerciseError::Invalid(format!(
            "age must be in years (0-130), got {age}"
        )));
    }
    if !(window_s.is_finite() && window_s > 0.0) {
        return Err(ExerciseError::Invalid(format!(
            "window must be a positive number of seconds, got {window_s}"
        )));
    }
    let (v, end, start) = peak(&b.breaths, |x| Some(x.vo2), window_s, method).ok_or_else(|| {
        ExerciseError::Invalid(format!(
            "{}: the test is shorter than one {window_s}-s window; no VO2 average can be taken",
            b.file
        ))
    })?;
    let hrmax = b
        .breaths
        .iter()
        .filter_map(|x| x.hr)
        .fold(None, |m: Option<f64>, h| Some(m.map_or(h, |m| m.max(h))));
    let peak_rer = peak(&b.breaths, |x| x.rer, window_s, method).map(|p| p.0);
    let prev = prev_mean(&b.breaths, |x| Some(x.vo2), start, window_s, method);
    let rise = prev.map(|p| v - p);
    let in_peak = |x: &Breath| match method {
        Method::Rolling => x.t > start && x.t <= end,
        Method::Block => x.t >= start && x.t < end,
    };
    let work_peak: Vec<f64> = b
        .breaths
        .iter()
        .filter(|x| in_peak(x))
        .filter_map(|x| x.work)
        .collect();
    let workload_rose = match (
        prev_mean(&b.breaths, |x| x.work, start, window_s, method),
        work_peak.is_empty(),
    ) {
        (Some(p), false) => Some(work_peak.iter().sum::<f64>() / work_peak.len() as f64 > p),
        _ => None,
    };
    let plateau = rise.is_some_and(|r| r < 150.0) && workload_rose != Some(false);
    let hr_predicted = 220.0 - age;
    let rer_ok = peak_rer.is_some_and(|r| r >= 1.10);
    let hr_ok = hrmax.is_some_and(|h| h >= hr_predicted - 10.0);
    let label = if plateau || (rer_ok && hr_ok) {
        "VO2max"
    } else {
        "VO2peak"
    };
    Ok(Vo2maxReport {
        file: b.file.clone(),
        layout: b.layout.clone(),
        method,
        window_s,
        breaths: b.breaths.len(),
        vo2max_ml_min: v,
        vo2max_ml_kg_min: v / weight_kg,
        at_seconds: end,
        hrmax,
        hr_predicted,
        peak_rer,
        criteria: Criteria {
            plateau,
            plateau_rise_ml_min: rise,
            workload_rose,
            rer_ge_1_10: rer_ok,
            hr_within_10_of_predicted: hr_ok,
        },
        label: label.to_string(),
        notes: averaging_notes(&b.breaths, window_s),
    })
}

/// A note when the rows are averages at a regular interval (every interval
/// equal within 0.5 s, at least 2 s): how many rows a window takes, and a
/// warning when one row is longer than the window.
fn averaging_notes(b: &[Breath], window_s: f64) -> Vec<String> {
    let steps: Vec<f64> = b.windows(2).map(|w| w[1].t - w[0].t).collect();
    let Some(&first) = steps.get(1).or(steps.first()) else {
        return Vec::new();
    };
    // The first interval may be short (a partial first average).
    let regular = steps.iter().skip(1).all(|d| (d - first).abs() <= 0.5);
    if !regular || first < 2.0 {
        return Vec::new();
    }
    let rows = (window_s / first).floor();
    if rows < 1.0 {
        vec![format!(
            "the rows are {first:.0}-s averages, longer than the {window_s}-s window: each window holds at most one row; choose a window of at least {first:.0} s"
        )]
    } else {
        vec![format!(
            "the rows are {first:.0}-s averages: a {window_s}-s window takes {rows:.0} row(s) (the window is open at its start)"
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaths(pts: &[(f64, f64)]) -> Breaths {
        Breaths {
            file: "t".into(),
            layout: "generic".into(),
            breaths: pts
                .iter()
                .map(|&(t, vo2)| Breath {
                    t,
                    vo2,
                    vco2: None,
                    rer: None,
                    hr: None,
                    work: None,
                })
                .collect(),
        }
    }

    #[test]
    fn rolling_and_block_by_hand() {
        // Breaths every 10 s: VO2 = t * 10. Rolling 30 s at t = 100 averages t = 80, 90, 100.
        let pts: Vec<(f64, f64)> = (0..=10)
            .map(|i| (f64::from(i) * 10.0, f64::from(i) * 100.0))
            .collect();
        let b = breaths(&pts);
        let r = vo2max(&b, 50.0, 40.0, 30.0, Method::Rolling).unwrap();
        assert!((r.vo2max_ml_min - 900.0).abs() < 1e-12);
        assert!((r.at_seconds - 100.0).abs() < 1e-12);
        // Previous window (40, 70]: 50, 60, 70 → 600; rise 300: no plateau.
        assert_eq!(r.criteria.plateau_rise_ml_min, Some(300.0));
        assert!(!r.criteria.plateau);
        // Block bins [0,30), [30,60), [60,90); [90,120) ends after t = 100 and is dropped.
        let k = vo2max(&b, 50.0, 40.0, 30.0, Method::Block).unwrap();
        assert!((k.vo2max_ml_min - 700.0).abs() < 1e-12);
        assert!((k.at_seconds - 90.0).abs() < 1e-12);
        assert_eq!(k.label, "VO2peak");
    }

    #[test]
    fn csv_comma_decimals_and_litres() {
        let csv = "t;V'O2 (STPD);V'CO2;R;HF\nhh:mm:ss.z;l/min;l/min;;1/min\n00:00:10,0;1,5;1,2;0,80;100\n00:00:40,0;2,5;2,8;1,12;0\n";
        let b = read_cpet(csv.as_bytes(), "x.csv").unwrap();
        assert_eq!(b.layout, "CORTEX");
        assert_eq!(b.breaths.len(), 2);
        assert!((b.breaths[1].vo2 - 2500.0).abs() < 1e-9);
        assert_eq!(b.breaths[1].hr, None);
        assert_eq!(b.breaths[0].hr, Some(100.0));
    }

    #[test]
    fn cosmed_in_english_german_and_italian_is_cosmed() {
        for (head, units) in [
            (
                "t;Rf;VT;VE;VO2;VCO2;R;HR",
                "hh:mm:ss;b/min;l;l/min;ml/min;ml/min;---;bpm",
            ),
            (
                "t;Af;VT;VE;VO2;VCO2;R;HF",
                "s;1/min;L(btps);L/min;mL/min;mL/min;---;bpm",
            ),
            (
                "t;FR;VT;VE;VO2;VCO2;R;FC",
                "hh:mm:ss;1/min;l;l/min;ml/min;ml/min;---;bpm",
            ),
        ] {
            let csv = format!("{head}\n{units}\n00:00:10;20;1;20;1500;1200;0,80;150\n");
            let b = read_cpet(csv.as_bytes(), "c.csv").unwrap();
            assert_eq!(b.layout, "COSMED", "{head}");
            assert_eq!(b.breaths[0].hr, Some(150.0), "{head}");
        }
    }

    #[test]
    fn bad_cell_names_row_and_column() {
        let csv = "t,VO2\ns,ml/min\n1,300\n2,abc\n";
        let e = read_cpet(csv.as_bytes(), "x.csv").unwrap_err().to_string();
        assert!(e.contains("x.csv:4") && e.contains("'VO2'"), "{e}");
        let e = read_cpet(b"a,b\n1,2\n", "y.csv").unwrap_err().to_string();
        assert!(e.contains("y.csv") && e.contains("VO2"), "{e}");
    }
}
