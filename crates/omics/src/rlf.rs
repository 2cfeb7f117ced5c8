//! Reader for NanoString RLF (Reporter Library File) probe annotations.
//!
//! RLF files are INI-like: `;` comments, `[Section]` headers and `Key=Value`
//! lines. `[Header]` lists the code classes (`ClassKeyN`, `ClassNameN`,
//! `ClassActiveN`); `[Content]` gives `ColumnCount`, `RecordCount`,
//! `Columns=...` and one `RecordN=v1,v2,...` line per probe.

use std::collections::HashMap;

use serde::Serialize;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum RlfErrorKind {
    #[error("expected [Section] or Key=Value, found {text:?}")]
    BadLine { text: String },
    #[error("Key=Value before any [Section]")]
    OutsideSection,
    #[error("no [{section}] section; an RLF file needs [Header] and [Content]")]
    MissingSection { section: String },
    #[error("section [{section}] appears twice (first at line {first_line})")]
    DuplicateSection { section: String, first_line: usize },
    #[error("key {key} appears twice in [{section}] (first at line {first_line})")]
    DuplicateKey {
        section: String,
        key: String,
        first_line: usize,
    },
    #[error("key {key} is missing from [{section}]")]
    MissingKey { section: String, key: String },
    #[error("{key} = {value:?}: expected {expected}")]
    BadValue {
        key: String,
        value: String,
        expected: String,
    },
    #[error("record {key} has {found} fields; Columns lists {expected}")]
    BadRecord {
        key: String,
        expected: usize,
        found: usize,
    },
    #[error(
        "RecordCount says {expected} records but the file holds {found}: the file looks truncated"
    )]
    RecordCountMismatch { expected: usize, found: usize },
    #[error("the file is {bytes} bytes, over the {limit}-byte limit for an RLF file: check that this is an RLF file")]
    TooLarge { bytes: usize, limit: usize },
}

/// An RLF reading error with file and line.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{file}: line {line}: {kind}")]
pub struct RlfError {
    pub file: String,
    pub line: usize,
    pub kind: RlfErrorKind,
}

/// A code class declared in `[Header]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RlfClass {
    pub key: u32,
    pub name: String,
    pub active: Option<u32>,
}

/// One probe record of `[Content]`, with its fields by column name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RlfRecord {
    pub index: usize,
    pub line: usize,
    pub fields: Vec<String>,
}

/// A parsed RLF file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rlf {
    pub file: String,
    /// Every section with its key/value pairs in file order (records included).
    pub sections: Vec<(String, Vec<(String, String)>)>,
    pub classes: Vec<RlfClass>,
    pub columns: Vec<String>,
    pub records: Vec<RlfRecord>,
}

impl Rlf {
    /// Value of `key` in `[section]`.
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.sections
            .iter()
            .find(|(s, _)| s == section)
            .and_then(|(_, kv)| kv.iter().find(|(k, _)| k == key))
            .map(|(_, v)| v.as_str())
    }

    /// A record's field by column name.
    pub fn field<'a>(&self, record: &'a RlfRecord, column: &str) -> Option<&'a str> {
        let i = self.columns.iter().position(|c| c == column)?;
        record.fields.get(i).map(String::as_str)
    }

    /// Class name of a record (its `Classification` key looked up in the header).
    pub fn class_of(&self, record: &RlfRecord) -> Option<&str> {
        let key: u32 = self.field(record, "Classification")?.parse().ok()?;
        self.classes
            .iter()
            .find(|c| c.key == key)
            .map(|c| c.name.as_str())
    }
}

/// Largest RLF file read (16 MiB).
pub const MAX_RLF_BYTES: usize = 16 << 20;

/// Parse RLF text. `file` names the file in error messages.
pub fn parse_rlf(text: &str, file: &str) -> Result<Rlf, RlfError> {
    let err = |line: usize, kind: RlfErrorKind| RlfError {
        file: file.to_string(),
        line,
        kind,
    };
    if text.len() > MAX_RLF_BYTES {
        return Err(err(
            1,
            RlfErrorKind::TooLarge {
                bytes: text.len(),
                limit: MAX_RLF_BYTES,
            },
        ));
    }
    // (section, key) -> (value, line) and section -> (index, line opened):
    // duplicates and look-ups in O(1), whatever the number of lines.
    let mut keys: HashMap<(usize, String), (String, usize)> = HashMap::new();
    let mut section_index: HashMap<String, (usize, usize)> = HashMap::new();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // (name, opened line, entries (key, value, line))
    type Entries = Vec<(String, String, usize)>;
    let mut sections: Vec<(String, usize, Entries)> = Vec::new();
    let mut last_line = 1;
    for (i, raw) in text.split('\n').enumerate() {
        let n = i + 1;
        let t = raw.strip_suffix('\r').unwrap_or(raw).trim();
        if t.is_empty() {
            continue;
        }
        last_line = n;
        if t.starts_with(';') || t.starts_with('#') {
            continue;
        }
        if let Some(name) = t.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            if let Some((_, first)) = section_index.get(name) {
                return Err(err(
                    n,
                    RlfErrorKind::DuplicateSection {
                        section: name.to_string(),
                        first_line: *first,
                    },
                ));
            }
            section_index.insert(name.to_string(), (sections.len(), n));
            sections.push((name.to_string(), n, Vec::new()));
            continue;
        }
        let Some((k, v)) = t.split_once('=') else {
            return Err(err(
                n,
                RlfErrorKind::BadLine {
                    text: t.to_string(),
                },
            ));
        };
        let current = sections.len().wrapping_sub(1);
        let Some((sname, _, entries)) = sections.last_mut() else {
            return Err(err(n, RlfErrorKind::OutsideSection));
        };
        let k = k.trim();
        if let Some((_, first)) = keys.get(&(current, k.to_string())) {
            return Err(err(
                n,
                RlfErrorKind::DuplicateKey {
                    section: sname.clone(),
                    key: k.to_string(),
                    first_line: *first,
                },
            ));
        }
        keys.insert((current, k.to_string()), (v.trim().to_string(), n));
        entries.push((k.to_string(), v.trim().to_string(), n));
    }
    for req in ["Header", "Content"] {
        if !sections.iter().any(|(s, _, _)| s == req) {
            return Err(err(
                last_line,
                RlfErrorKind::MissingSection {
                    section: req.to_string(),
                },
            ));
        }
    }
    let find = |section: &str, key: &str| -> Result<(&str, usize), RlfError> {
        let (index, opened) = section_index.get(section).ok_or_else(|| {
            err(
                last_line,
                RlfErrorKind::MissingSection {
                    section: section.into(),
                },
            )
        })?;
        keys.get(&(*index, key.to_string()))
            .map(|(v, l)| (v.as_str(), *l))
            .ok_or_else(|| {
                err(
                    *opened,
                    RlfErrorKind::MissingKey {
                        section: section.into(),
                        key: key.into(),
                    },
                )
            })
    };
    let number = |section: &str, key: &str| -> Result<usize, RlfError> {
        let (v, l) = find(section, key)?;
        v.parse().map_err(|_| {
            err(
                l,
                RlfErrorKind::BadValue {
                    key: key.into(),
                    value: v.into(),
                    expected: "a whole number".into(),
                },
            )
        })
    };

    let class_count = number("Header", "ClassCount")?;
    // Counts from the file size nothing: a class or record needs a line.
    let mut classes = Vec::with_capacity(class_count.min(keys.len()));
    for i in 0..class_count {
        let key = number("Header", &format!("ClassKey{i}"))? as u32;
        let (name, _) = find("Header", &format!("ClassName{i}"))?;
        let active = find("Header", &format!("ClassActive{i}"))
            .ok()
            .and_then(|(v, _)| v.parse().ok());
        classes.push(RlfClass {
            key,
            name: name.to_string(),
            active,
        });
    }

    let column_count = number("Content", "ColumnCount")?;
    let record_count = number("Content", "RecordCount")?;
    let (cols, cols_line) = find("Content", "Columns")?;
    let columns: Vec<String> = cols.split(',').map(|c| c.trim().to_string()).collect();
    if columns.len() != column_count {
        return Err(err(
            cols_line,
            RlfErrorKind::BadValue {
                key: "Columns".into(),
                value: cols.into(),
                expected: format!("{column_count} column names (ColumnCount)"),
            },
        ));
    }
    let mut records = Vec::with_capacity(record_count.min(keys.len()));
    if let Some((_, _, entries)) = sections.iter().find(|(s, _, _)| s == "Content") {
        for (k, v, l) in entries {
            let Some(idx) = k.strip_prefix("Record") else {
                continue;
            };
            let Ok(index) = idx.parse::<usize>() else {
                continue;
            };
            let fields: Vec<String> = v.split(',').map(str::to_string).collect();
            if fields.len() != column_count {
                return Err(err(
                    *l,
                    RlfErrorKind::BadRecord {
                        key: k.clone(),
                        expected: column_count,
                        found: fields.len(),
                    },
                ));
            }
            records.push(RlfRecord {
                index,
                line: *l,
                fields,
            });
        }
    }
    if records.len() != record_count {
        return Err(err(
            last_line,
            RlfErrorKind::RecordCountMismatch {
                expected: record_count,
                found: records.len(),
            },
        ));
    }
    Ok(Rlf {
        file: file.to_string(),
        sections: sections
            .into_iter()
            .map(|(s, _, e)| (s, e.into_iter().map(|(k, v, _)| (k, v)).collect()))
            .collect(),
        classes,
        columns,
        records,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "; comment\n[Header]\nClassCount=1\nClassKey0=1\nClassName0=Positive\nClassActive0=3\n\n[Content]\nColumnCount=3\nRecordCount=2\nColumns=Classification,GeneName,Accession\nRecord0=1,POS_A(128),ERCC_1\nRecord1=1,POS_B(32),ERCC_2\n";

    #[test]
    fn reads_classes_and_records() {
        let r = parse_rlf(SMALL, "a.rlf").unwrap();
        assert_eq!(r.classes.len(), 1);
        assert_eq!(r.records.len(), 2);
        assert_eq!(r.field(&r.records[1], "GeneName"), Some("POS_B(32)"));
        assert_eq!(r.class_of(&r.records[0]), Some("Positive"));
        assert_eq!(r.get("Header", "ClassActive0"), Some("3"));
    }

    #[test]
    fn truncated_records_are_reported() {
        let t = SMALL.replace("Record1=1,POS_B(32),ERCC_2\n", "");
        let e = parse_rlf(&t, "a.rlf").unwrap_err();
        assert!(matches!(
            e.kind,
            RlfErrorKind::RecordCountMismatch {
                expected: 2,
                found: 1
            }
        ));
    }
}
