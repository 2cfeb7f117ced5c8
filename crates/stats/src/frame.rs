//! A minimal data frame: named columns of `f64` (NaN = missing) or text
//! (empty = missing).

use crate::StatsError;

/// One column.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// Numbers; `NaN` marks a missing value.
    Num(Vec<f64>),
    /// Text; the empty string marks a missing value.
    Text(Vec<String>),
}

impl Column {
    pub fn len(&self) -> usize {
        match self {
            Column::Num(v) => v.len(),
            Column::Text(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Whether row `i` is missing.
    pub fn is_missing(&self, i: usize) -> bool {
        match self {
            Column::Num(v) => v[i].is_nan(),
            Column::Text(v) => v[i].is_empty(),
        }
    }
}

/// Named columns of equal length.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frame {
    names: Vec<String>,
    cols: Vec<Column>,
}

/// Cells read as missing in a text table (as pandas does by default).
const MISSING_TOKENS: &[&str] = &["", "NA", "NaN", "nan", "N/A", "NULL", "null", "."];

impl Frame {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a column; its length must match the existing ones.
    pub fn push(&mut self, name: &str, col: Column) -> Result<(), StatsError> {
        if self.names.iter().any(|n| n == name) {
            return Err(StatsError::Invalid(format!("duplicate column `{name}`")));
        }
        if let Some(first) = self.cols.first() {
            if first.len() != col.len() {
                return Err(StatsError::Invalid(format!(
                    "column `{name}` has {} rows, the others {}",
                    col.len(),
                    first.len()
                )));
            }
        }
        self.names.push(name.to_string());
        self.cols.push(col);
        Ok(())
    }

    /// Builds a frame from a header and text rows (e.g. CSV records),
    /// inferring each column's type: numeric when every non-missing cell
    /// parses as a number, text otherwise. `source` names the input in errors.
    pub fn from_text_rows(
        headers: &[String],
        rows: &[Vec<String>],
        source: &str,
    ) -> Result<Self, StatsError> {
        for (i, r) in rows.iter().enumerate() {
            if r.len() != headers.len() {
                return Err(StatsError::Data {
                    source_name: source.to_string(),
                    message: format!(
                        "line {}: expected {} fields as in the header, found {}",
                        i + 2,
                        headers.len(),
                        r.len()
                    ),
                });
            }
        }
        let mut f = Frame::new();
        for (j, h) in headers.iter().enumerate() {
            let h = h.trim();
            if h.is_empty() {
                return Err(StatsError::Data {
                    source_name: source.to_string(),
                    message: format!("header field {} is empty; every column needs a name", j + 1),
                });
            }
            let cells: Vec<&str> = rows.iter().map(|r| r[j].trim()).collect();
            let parsed: Option<Vec<f64>> = cells
                .iter()
                .map(|c| {
                    if MISSING_TOKENS.contains(c) {
                        Some(f64::NAN)
                    } else {
                        c.parse::<f64>().ok().filter(|v| v.is_finite())
                    }
                })
                .collect();
            let col = match parsed {
                Some(v) => Column::Num(v),
                None => Column::Text(
                    cells
                        .iter()
                        .map(|c| {
                            if MISSING_TOKENS.contains(c) {
                                String::new()
                            } else {
                                (*c).to_string()
                            }
                        })
                        .collect(),
                ),
            };
            f.push(h, col).map_err(|e| StatsError::Data {
                source_name: source.to_string(),
                message: e.to_string(),
            })?;
        }
        Ok(f)
    }

    pub fn nrows(&self) -> usize {
        self.cols.first().map_or(0, Column::len)
    }
    pub fn names(&self) -> &[String] {
        &self.names
    }
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| &self.cols[i])
    }
    /// Mutable access, for simulations that refill columns in place.
    pub fn column_mut(&mut self, name: &str) -> Option<&mut Column> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| &mut self.cols[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_types_and_missing() {
        let h = vec!["y".to_string(), "arm".to_string()];
        let rows = vec![
            vec!["1.5".to_string(), "a".to_string()],
            vec!["NA".to_string(), "".to_string()],
        ];
        let f = Frame::from_text_rows(&h, &rows, "t.csv").unwrap();
        assert!(matches!(f.column("y"), Some(Column::Num(v)) if v[0] == 1.5 && v[1].is_nan()));
        assert!(matches!(f.column("arm"), Some(Column::Text(v)) if v[1].is_empty()));
    }

    #[test]
    fn ragged_row_is_an_error_naming_the_line() {
        let h = vec!["y".to_string()];
        let rows = vec![vec!["1".to_string(), "2".to_string()]];
        let e = Frame::from_text_rows(&h, &rows, "t.csv").unwrap_err();
        assert!(e.to_string().contains("t.csv: line 2"));
    }
}
