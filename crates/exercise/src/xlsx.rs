//! The first sheet of an xlsx workbook as a grid of cells, with every size
//! checked before anything grows with it.
//!
//! 1. The zip archive is unpacked once into nothing, counting: at most
//!    [`MAX_ZIP_ENTRIES`] parts and [`MAX_UNZIPPED_BYTES`] in all, so a small
//!    file cannot unpack into gigabytes (a zip bomb) inside the xlsx reader.
//!    Every worksheet's cell and row references (`r="B12"`, `ref="A1:K900"`)
//!    are checked on the way, as far as calamine would read the sheet: at
//!    most Excel's 1,048,576 rows and 16,384 columns, a range's end not
//!    before its start (calamine's own arithmetic on them overflows).
//! 2. The sheet is then read cell by cell (calamine's streaming reader, not its
//!    dense `Range`), and the used range, first to last non-empty cell, must
//!    hold at most [`MAX_CELLS`] cells before the grid is laid out.

use std::io::{Cursor, Read};

use calamine::{DataRef, Reader, Xlsx};
use quick_xml::events::Event;

use crate::cpet::Cell;
use crate::ExerciseError;

/// Most parts (files) in an xlsx archive.
pub const MAX_ZIP_ENTRIES: usize = 1000;
/// Most bytes an xlsx archive may unpack to, all parts together (128 MiB).
pub const MAX_UNZIPPED_BYTES: u64 = 128 << 20;
/// Most cells in a CPET sheet's used range (or a CPET CSV), 2,000,000: a
/// one-hour test of 60 columns has about 200,000.
pub const MAX_CELLS: usize = 2_000_000;
/// Excel's last row (1-based).
const MAX_ROW: u64 = 1_048_576;
/// Excel's last column (1-based, `XFD`).
const MAX_COL: u64 = 16_384;

fn limit(file: &str, message: String) -> ExerciseError {
    ExerciseError::Limit {
        file: file.to_string(),
        message,
    }
}

fn unreadable(file: &str, e: impl std::fmt::Display) -> ExerciseError {
    ExerciseError::Invalid(format!(
        "{file}: not a readable xlsx workbook: {e}. Export the test again as xlsx or CSV"
    ))
}

/// A reader that fails once more than `left` bytes have come through.
struct Budget<'a, R> {
    inner: R,
    left: &'a mut u64,
    exceeded: bool,
}

impl<R: Read> Read for Budget<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        match self.left.checked_sub(n as u64) {
            Some(l) => {
                *self.left = l;
                Ok(n)
            }
            None => {
                self.exceeded = true;
                Err(std::io::Error::other("the archive unpacks to too much"))
            }
        }
    }
}

/// A1-style reference (`B12`, `$B$12`, or a row `12`) to 1-based (row, column):
/// 1-3 letters, 1-7 digits, within Excel's sheet.
fn cell_ref(s: &[u8], row_only: bool) -> Option<(u64, u64)> {
    let s: Vec<u8> = s.iter().copied().filter(|&c| c != b'$').collect();
    let letters = s.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    let digits = &s[letters..];
    if (row_only && letters != 0)
        || (!row_only && !(1..=3).contains(&letters))
        || !(1..=7).contains(&digits.len())
        || !digits.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    let col = s[..letters].iter().fold(0u64, |c, l| {
        c * 26 + u64::from(l.to_ascii_uppercase() - b'A') + 1
    });
    let row = digits
        .iter()
        .fold(0u64, |r, d| r * 10 + u64::from(d - b'0'));
    ((1..=MAX_ROW).contains(&row) && col <= MAX_COL).then_some((row, col))
}

/// Checks the references in one worksheet's XML.
fn check_sheet_refs(xml: impl Read, file: &str, part: &str) -> Result<(), ExerciseError> {
    let mut reader = quick_xml::Reader::from_reader(std::io::BufReader::new(xml));
    // Calamine's reader settings: this scan meets an XML error exactly where
    // calamine would, and calamine refuses the sheet there, so the scan may
    // stop there too; likewise at `</sheetData>`, where calamine stops.
    let config = reader.config_mut();
    config.check_end_names = false;
    config.check_comments = false;
    config.trim_text(false);
    config.expand_empty_elements = true;
    let mut buf = Vec::new();
    loop {
        let Ok(ev) = reader.read_event_into(&mut buf) else {
            return Ok(());
        };
        let e = match &ev {
            Event::Start(e) | Event::Empty(e) => e,
            Event::End(e) if e.local_name().as_ref() == b"sheetData" => return Ok(()),
            Event::Eof => return Ok(()),
            _ => {
                buf.clear();
                continue;
            }
        };
        let (key, row_only): (&[u8], bool) = match e.local_name().as_ref() {
            b"c" => (b"r", false),
            b"row" => (b"r", true),
            b"dimension" => (b"ref", false),
            _ => {
                buf.clear();
                continue;
            }
        };
        for a in e.attributes() {
            let Ok(a) = a else {
                return Ok(());
            };
            if a.key.as_ref() != key {
                continue;
            }
            let bad = || {
                limit(
                    file,
                    format!(
                        "{part}: cell reference `{}` is not a cell of an Excel sheet (at most {MAX_ROW} rows and {MAX_COL} columns, A1 to XFD{MAX_ROW}); the file is damaged: export the test again",
                        String::from_utf8_lossy(&a.value)
                    ),
                )
            };
            let mut parts = a.value.split(|&c| c == b':');
            let first = parts.next().and_then(|p| cell_ref(p, row_only));
            let second = parts.next().map(|p| cell_ref(p, row_only));
            match (first, second, parts.next()) {
                (Some(_), None, None) => {}
                (Some(a0), Some(Some(b0)), None) if a0.0 <= b0.0 && a0.1 <= b0.1 => {}
                _ => return Err(bad()),
            }
        }
        buf.clear();
    }
}

/// Unpacks every part into nothing, within the limits, checking worksheets.
fn check_archive(bytes: &[u8], file: &str) -> Result<(), ExerciseError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| unreadable(file, e))?;
    if zip.len() > MAX_ZIP_ENTRIES {
        return Err(limit(
            file,
            format!(
                "the xlsx archive has {} parts, over the limit of {MAX_ZIP_ENTRIES}; export the test again as xlsx or CSV",
                zip.len()
            ),
        ));
    }
    let mut left = MAX_UNZIPPED_BYTES;
    for i in 0..zip.len() {
        let Ok(entry) = zip.by_index(i) else {
            continue;
        };
        let name = entry.name().to_string();
        let mut budget = Budget {
            inner: entry,
            left: &mut left,
            exceeded: false,
        };
        // A part that does not unpack (bad CRC, damaged stream) is left to
        // calamine, which refuses it if it needs it; only what unpacked counts.
        let result = if name.starts_with("xl/worksheets/") && name.ends_with(".xml") {
            check_sheet_refs(&mut budget, file, &name)
        } else {
            let _ = std::io::copy(&mut budget, &mut std::io::sink());
            Ok(())
        };
        if budget.exceeded {
            return Err(limit(
                file,
                format!(
                    "the xlsx archive unpacks to more than {MAX_UNZIPPED_BYTES} bytes; a CPET export is far smaller: export the test again as xlsx or CSV"
                ),
            ));
        }
        result?;
    }
    Ok(())
}

fn cell_of(d: &DataRef<'_>) -> Cell {
    match d {
        DataRef::Int(i) => Cell::Num(*i as f64),
        DataRef::Float(f) => Cell::Num(*f),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => {
            Cell::Text(s.clone())
        }
        DataRef::SharedString(s) => Cell::Text((*s).to_string()),
        // A time of day as seconds, to the millisecond: Excel's day fractions
        // are not exact (00:00:30 is 30.000000000000004 s), and a window
        // boundary must fall where the export's clock says.
        DataRef::DateTime(dt) => Cell::Num((dt.as_f64() * 86_400_000.0).round() / 1000.0),
        DataRef::Bool(b) => Cell::Num(f64::from(u8::from(*b))),
        DataRef::Error(_) | DataRef::Empty => Cell::Empty,
    }
}

/// The first sheet as rows of cells, row 0 being the sheet's row 1 and
/// column 0 its column A; rows and columns outside the used range (first to
/// last non-empty cell) are absent or empty, as calamine's `Range` lays them.
pub(crate) fn sheet_grid(bytes: &[u8], file: &str) -> Result<Vec<Vec<Cell>>, ExerciseError> {
    check_archive(bytes, file)?;
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| unreadable(file, e))?;
    let first = wb
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| ExerciseError::Invalid(format!("{file}: the workbook has no sheet")))?;
    let mut reader = wb
        .worksheet_cells_reader(&first)
        .map_err(|e| ExerciseError::Invalid(format!("{file}: first sheet unreadable: {e}")))?;
    let mut cells: Vec<(u32, u32, Cell)> = Vec::new();
    while let Some(c) = reader
        .next_cell()
        .map_err(|e| ExerciseError::Invalid(format!("{file}: first sheet unreadable: {e}")))?
    {
        let cell = cell_of(c.get_value());
        if cell == Cell::Empty {
            continue;
        }
        if cells.len() >= MAX_CELLS {
            return Err(limit(
                file,
                format!(
                    "the first sheet has more than {MAX_CELLS} cells; a CPET export is far smaller"
                ),
            ));
        }
        let (r, col) = c.get_position();
        cells.push((r, col, cell));
    }
    let Some(r0) = cells.iter().map(|c| c.0).min() else {
        return Ok(Vec::new());
    };
    let (r1, c0, c1) = cells.iter().fold((0, u32::MAX, 0), |(r1, c0, c1), c| {
        (r1.max(c.0), c0.min(c.1), c1.max(c.1))
    });
    let (rows, width) = (u64::from(r1 - r0) + 1, u64::from(c1 - c0) + 1);
    if rows.saturating_mul(u64::from(c1) + 1) > MAX_CELLS as u64 {
        return Err(limit(
            file,
            format!(
                "the first sheet's used range is {rows} rows by {width} columns (rows {} to {}), over the limit of {MAX_CELLS} cells; delete stray cells far from the data, or export the test as CSV",
                r0 + 1,
                r1 + 1
            ),
        ));
    }
    let mut grid: Vec<Vec<Cell>> = vec![Vec::new(); r0 as usize];
    grid.extend((0..rows).map(|_| vec![Cell::Empty; (u64::from(c0) + width) as usize]));
    for (r, c, cell) in cells {
        if let Some(slot) = grid
            .get_mut(r as usize)
            .and_then(|row| row.get_mut(c as usize))
        {
            *slot = cell;
        }
    }
    Ok(grid)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn references_within_excel_are_accepted_and_others_refused() {
        assert_eq!(cell_ref(b"A1", false), Some((1, 1)));
        assert_eq!(cell_ref(b"$XFD$1048576", false), Some((1_048_576, 16_384)));
        assert_eq!(cell_ref(b"12", true), Some((12, 0)));
        for bad in [
            &b"A0"[..],
            b"XFE1",
            b"A1048577",
            b"A99999999999",
            b"ABCD1",
            b"1",
            b"A",
            b"",
            b"A1B",
            b"\xff1",
        ] {
            assert_eq!(
                cell_ref(bad, false),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(cell_ref(b"A1", true), None);
    }

    #[test]
    fn a_range_ending_before_it_starts_is_refused() {
        let sheet = br#"<worksheet><dimension ref="B5:A1"/><sheetData/></worksheet>"#;
        let e = check_sheet_refs(&sheet[..], "w.xlsx", "xl/worksheets/sheet1.xml").unwrap_err();
        assert!(e.to_string().contains("`B5:A1`"), "{e}");
        let sheet = br#"<worksheet><dimension ref="A1:B5"/><sheetData><row r="1"><c r="A1"/></row></sheetData></worksheet>"#;
        check_sheet_refs(&sheet[..], "w.xlsx", "s").unwrap();
    }
}
