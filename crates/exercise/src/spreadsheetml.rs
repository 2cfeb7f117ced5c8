//! Excel 2003 XML (SpreadsheetML: `<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">`),
//! as CORTEX MetaSoft Studio exports a test: the first worksheet as a grid of
//! cells. `ss:Index` on rows and cells skips ahead; every index is bounded by
//! Excel's sheet and the grid by [`crate::xlsx::MAX_CELLS`] before it grows.

use quick_xml::events::Event;

use crate::cpet::Cell;
use crate::ExerciseError;

/// Excel's last row and column (1-based).
const MAX_ROW: usize = 1_048_576;
const MAX_COL: usize = 16_384;

/// Whether `bytes` look like a SpreadsheetML workbook.
pub(crate) fn is_spreadsheetml(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    let head = String::from_utf8_lossy(head);
    head.trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with("<?xml")
        && head.contains("urn:schemas-microsoft-com:office:spreadsheet")
}

fn bad(file: &str, pos: u64, message: impl std::fmt::Display) -> ExerciseError {
    ExerciseError::Invalid(format!(
        "{file}: byte {pos}: not a readable Excel 2003 XML (SpreadsheetML) workbook: {message}. Export the test again as xlsx or CSV"
    ))
}

fn index_attr(e: &quick_xml::events::BytesStart<'_>) -> Option<Result<usize, String>> {
    e.attributes().flatten().find_map(|a| {
        (a.key.local_name().as_ref() == b"Index").then(|| {
            let v = String::from_utf8_lossy(&a.value).to_string();
            v.trim()
                .parse::<usize>()
                .map_err(|_| format!("ss:Index `{v}` is not a positive whole number"))
        })
    })
}

/// The first worksheet's rows of cells (row 0 = the sheet's row 1).
pub(crate) fn sheet_grid(bytes: &[u8], file: &str) -> Result<Vec<Vec<Cell>>, ExerciseError> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    reader.config_mut().expand_empty_elements = true;
    let mut grid: Vec<Vec<Cell>> = Vec::new();
    let mut cells = 0usize;
    let mut in_sheet = false;
    let mut row: Option<Vec<Cell>> = None;
    let mut col = 0usize; // 0-based column of the next cell
    let mut data: Option<(bool, String)> = None; // (is number, text)
    let mut buf = Vec::new();
    let too_many = || {
        ExerciseError::Limit {
        file: file.to_string(),
        message: format!(
            "the worksheet lays out more than {} cells; a CPET export is far smaller: check that this is the right file",
            crate::xlsx::MAX_CELLS
        ),
    }
    };
    loop {
        let pos = reader.buffer_position();
        let ev = reader
            .read_event_into(&mut buf)
            .map_err(|e| bad(file, pos, e))?;
        match ev {
            Event::Start(e) => match e.local_name().as_ref() {
                b"Worksheet" => in_sheet = true,
                b"Row" if in_sheet => {
                    if let Some(i) = index_attr(&e) {
                        let i = i.map_err(|m| bad(file, pos, m))?;
                        if i == 0 || i > MAX_ROW || i < grid.len() + 1 {
                            return Err(bad(file, pos, format!("row index {i} is out of order or beyond Excel's {MAX_ROW} rows")));
                        }
                        cells += i - 1 - grid.len();
                        if cells > crate::xlsx::MAX_CELLS {
                            return Err(too_many());
                        }
                        grid.resize_with(i - 1, Vec::new);
                    }
                    row = Some(Vec::new());
                    col = 0;
                }
                b"Cell" if row.is_some() => {
                    if let Some(i) = index_attr(&e) {
                        let i = i.map_err(|m| bad(file, pos, m))?;
                        if i == 0 || i > MAX_COL || i < col + 1 {
                            return Err(bad(file, pos, format!("cell index {i} is out of order or beyond Excel's {MAX_COL} columns")));
                        }
                        col = i - 1;
                    }
                }
                b"Data" if row.is_some() => {
                    let number = e.attributes().flatten().any(|a| {
                        a.key.local_name().as_ref() == b"Type" && a.value.as_ref() == b"Number"
                    });
                    data = Some((number, String::new()));
                }
                _ => {}
            },
            Event::Text(t) => {
                if let Some((_, s)) = &mut data {
                    let t = t.decode().map_err(|e| bad(file, pos, e))?;
                    let t = quick_xml::escape::unescape(&t).map_err(|e| bad(file, pos, e))?;
                    s.push_str(&t);
                }
            }
            Event::GeneralRef(r) => {
                if let Some((_, s)) = &mut data {
                    let name = r.decode().map_err(|e| bad(file, pos, e))?;
                    let entity = format!("&{name};");
                    let t = quick_xml::escape::unescape(&entity).map_err(|e| bad(file, pos, e))?;
                    s.push_str(&t);
                }
            }
            Event::CData(t) => {
                if let Some((_, s)) = &mut data {
                    s.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::End(e) => match e.local_name().as_ref() {
                b"Data" => {
                    if let (Some(r), Some((number, s))) = (&mut row, data.take()) {
                        let s = s.trim();
                        let cell = if s.is_empty() {
                            Cell::Empty
                        } else if number {
                            s.parse::<f64>()
                                .ok()
                                .filter(|x| x.is_finite())
                                .map_or_else(|| Cell::Text(s.to_string()), Cell::Num)
                        } else {
                            Cell::Text(s.to_string())
                        };
                        cells += col + 1 - r.len().min(col + 1);
                        if cells > crate::xlsx::MAX_CELLS {
                            return Err(too_many());
                        }
                        if r.len() <= col {
                            r.resize(col + 1, Cell::Empty);
                        }
                        r[col] = cell;
                    }
                }
                b"Cell" if row.is_some() => col += 1,
                b"Row" => {
                    if let Some(r) = row.take() {
                        cells += 1;
                        if cells > crate::xlsx::MAX_CELLS {
                            return Err(too_many());
                        }
                        grid.push(r);
                    }
                }
                // Only the first worksheet is read.
                b"Worksheet" => return Ok(grid),
                _ => {}
            },
            Event::Eof => {
                return if in_sheet {
                    Err(bad(file, pos, "the file ends inside a worksheet"))
                } else {
                    Err(ExerciseError::Invalid(format!(
                        "{file}: the Excel 2003 XML workbook holds no worksheet"
                    )))
                }
            }
            _ => {}
        }
        buf.clear();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const HEAD: &str = r#"<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">"#;

    #[test]
    fn rows_cells_and_indexes() {
        let x = format!(
            r#"{HEAD}<Worksheet ss:Name="S"><Table><Row><Cell><Data ss:Type="String">t</Data></Cell><Cell ss:Index="3"><Data ss:Type="Number">1.5</Data></Cell></Row><Row ss:Index="4"><Cell><Data ss:Type="String">a &amp; b</Data></Cell><Cell/></Row></Table></Worksheet></Workbook>"#
        );
        assert!(is_spreadsheetml(x.as_bytes()));
        let g = sheet_grid(x.as_bytes(), "c.xml").unwrap();
        assert_eq!(g.len(), 4);
        assert_eq!(g[0], [Cell::Text("t".into()), Cell::Empty, Cell::Num(1.5)]);
        assert!(g[1].is_empty() && g[2].is_empty());
        assert_eq!(g[3], [Cell::Text("a & b".into())]);
    }

    #[test]
    fn hostile_indexes_are_refused() {
        for bad in [
            r#"<Row ss:Index="99999999999"/>"#,
            r#"<Row ss:Index="0"/>"#,
            r#"<Row><Cell ss:Index="20000"><Data ss:Type="Number">1</Data></Cell></Row>"#,
            r#"<Row ss:Index="1048576"/><Row ss:Index="3"/>"#,
        ] {
            let x = format!(r#"{HEAD}<Worksheet><Table>{bad}</Table></Worksheet></Workbook>"#);
            assert!(sheet_grid(x.as_bytes(), "c.xml").is_err(), "{bad}");
        }
        let x = format!(r#"{HEAD}<Worksheet><Table><Row>"#);
        assert!(sheet_grid(x.as_bytes(), "c.xml").is_err());
    }
}
