//! The committed reference fixtures under `tests/fixtures` (made by the
//! scripts in `tools/stats`), shared by the tests and the benchmarks
//! (`#[path = "../tests/fixtures_support/mod.rs"]`).
#![allow(dead_code)]

use rct_stats::Frame;
use serde_json::Value;

/// The fixtures folder.
pub const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// A JSON fixture.
pub fn json(name: &str) -> Value {
    let s = std::fs::read_to_string(format!("{FIX}/{name}")).unwrap();
    serde_json::from_str(&s).unwrap()
}

/// A fixture data set (plain comma-separated, a header line, no quoting:
/// the scripts write them so).
pub fn read_csv(name: &str) -> Frame {
    let s = std::fs::read_to_string(format!("{FIX}/{name}")).unwrap();
    let mut lines = s.lines();
    let headers: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    Frame::from_text_rows(&headers, &rows, name).unwrap()
}
