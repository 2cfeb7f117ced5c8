//! A coding dictionary the protocol names: lowest level terms (LLT), each
//! with its preferred term (PT) and primary system organ class (SOC), as
//! MedDRA arranges them. No dictionary is shipped (MedDRA is licensed); the
//! edge reads the file the protocol names and hands its bytes here.
//!
//! Format (comma- or tab-separated, UTF-8; the separator is the first line's
//! first comma or tab; fields may be double-quoted with `""` for a quote):
//!
//! ```text
//! dictionary,<name>,<version>
//! llt_code,llt_name,pt_code,pt_name,soc_code,soc_name
//! 10000001,Sore throat,10000002,Oropharyngeal pain,10000003,"Respiratory, thoracic and mediastinal disorders"
//! ```
//!
//! Blank lines are skipped. Codes are 1 to 32 characters without spaces;
//! names 1 to 200 characters. An LLT code appears once; a PT has one name
//! and one primary SOC; a SOC has one name. The size and the number of
//! lines are checked before anything is allocated for them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Largest dictionary file accepted (MedDRA's LLT file is about 10 MB).
pub const MAX_DICTIONARY_BYTES: usize = 64 * 1024 * 1024;
/// Most terms accepted (MedDRA has about 80,000 lowest level terms).
pub const MAX_DICTIONARY_TERMS: usize = 500_000;
const MAX_CODE: usize = 32;
const MAX_NAME: usize = 200;
const COLUMNS: [&str; 6] = [
    "llt_code", "llt_name", "pt_code", "pt_name", "soc_code", "soc_name",
];

/// A coded term: code and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Term {
    pub code: String,
    pub name: String,
}

/// One lowest level term with its preferred term and primary SOC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DictionaryEntry {
    pub llt: Term,
    pub pt: Term,
    pub soc: Term,
}

/// Why a dictionary file is refused: the file, the line (1-based, 0 for
/// the whole file) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DictionaryError {
    #[error("{file}: {bytes} bytes is more than the {max} bytes a dictionary may have")]
    TooLarge {
        file: String,
        bytes: usize,
        max: usize,
    },
    #[error("{file}: {lines} lines is more than the {max} terms a dictionary may have")]
    TooManyTerms {
        file: String,
        lines: usize,
        max: usize,
    },
    #[error("{file}:{line}: {message}")]
    Line {
        file: String,
        line: usize,
        message: String,
    },
}

/// A parsed dictionary.
#[derive(Debug, Clone, PartialEq)]
pub struct Dictionary {
    pub name: String,
    pub version: String,
    entries: Vec<DictionaryEntry>,
    /// LLT code -> index into `entries`.
    by_code: BTreeMap<String, usize>,
    /// Lower-cased LLT and PT names, by entry.
    folded: Vec<(String, String)>,
}

fn split_line(line: &str, sep: char) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                    match chars.peek() {
                        None => {}
                        Some(&n) if n == sep => {}
                        Some(_) => {
                            return Err(format!(
                                "field {}: text after a closing quote",
                                out.len() + 1
                            ))
                        }
                    }
                }
            } else {
                field.push(c);
            }
        } else if c == sep {
            out.push(std::mem::take(&mut field));
            at_start = true;
            continue;
        } else if c == '"' && at_start {
            quoted = true;
        } else {
            field.push(c);
        }
        at_start = false;
        if out.len() > COLUMNS.len() {
            return Err(format!("more than {} fields", COLUMNS.len()));
        }
    }
    if quoted {
        return Err(format!("field {}: unterminated quote", out.len() + 1));
    }
    out.push(field);
    Ok(out)
}

fn check_code(v: &str, column: &str) -> Result<(), String> {
    if v.is_empty() {
        Err(format!("{column} is empty"))
    } else if v.chars().count() > MAX_CODE {
        Err(format!("{column} is longer than {MAX_CODE} characters"))
    } else if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err(format!(
            "{column} `{v}` contains a space or control character"
        ))
    } else {
        Ok(())
    }
}

fn check_name(v: &str, column: &str) -> Result<(), String> {
    if v.is_empty() {
        Err(format!("{column} is empty"))
    } else if v.chars().count() > MAX_NAME {
        Err(format!("{column} is longer than {MAX_NAME} characters"))
    } else if v.chars().any(char::is_control) {
        Err(format!("{column} contains a control character"))
    } else {
        Ok(())
    }
}

impl Dictionary {
    /// Parses the dictionary file `file` (its name, for errors) from its
    /// bytes.
    pub fn parse(bytes: &[u8], file: &str) -> Result<Dictionary, DictionaryError> {
        let err = |line: usize, message: String| DictionaryError::Line {
            file: file.to_string(),
            line,
            message,
        };
        if bytes.len() > MAX_DICTIONARY_BYTES {
            return Err(DictionaryError::TooLarge {
                file: file.into(),
                bytes: bytes.len(),
                max: MAX_DICTIONARY_BYTES,
            });
        }
        let lines_total = bytes.iter().filter(|b| **b == b'\n').count() + 1;
        if lines_total > MAX_DICTIONARY_TERMS + 2 {
            return Err(DictionaryError::TooManyTerms {
                file: file.into(),
                lines: lines_total,
                max: MAX_DICTIONARY_TERMS,
            });
        }
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            err(line, "not UTF-8 text".into())
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .enumerate()
            .map(|(i, l)| (i + 1, l))
            .filter(|(_, l)| !l.trim().is_empty());

        let Some((n, first)) = lines.next() else {
            return Err(err(
                1,
                "empty file: expected `dictionary,<name>,<version>`".into(),
            ));
        };
        let sep = first
            .chars()
            .find(|c| *c == ',' || *c == '\t')
            .ok_or_else(|| {
                err(
                    n,
                    "expected `dictionary,<name>,<version>` (comma- or tab-separated)".into(),
                )
            })?;
        let head = split_line(first, sep).map_err(|m| err(n, m))?;
        let (name, version) = match head.as_slice() {
            [k, name, version] if k.trim().eq_ignore_ascii_case("dictionary") => {
                (name.trim().to_string(), version.trim().to_string())
            }
            _ => {
                return Err(err(
                    n,
                    "expected `dictionary,<name>,<version>` as the first line".into(),
                ))
            }
        };
        check_name(&name, "dictionary name").map_err(|m| err(n, m))?;
        check_code(&version, "dictionary version").map_err(|m| err(n, m))?;

        let Some((n, header)) = lines.next() else {
            return Err(err(
                n + 1,
                format!("expected the header `{}`", COLUMNS.join(",")),
            ));
        };
        let header = split_line(header, sep).map_err(|m| err(n, m))?;
        if header.len() != COLUMNS.len()
            || header
                .iter()
                .zip(COLUMNS)
                .any(|(h, c)| !h.trim().eq_ignore_ascii_case(c))
        {
            return Err(err(
                n,
                format!(
                    "expected the header `{}`, found `{}`",
                    COLUMNS.join(&sep.to_string()),
                    header.join(&sep.to_string())
                ),
            ));
        }

        let mut entries = Vec::with_capacity(lines_total.saturating_sub(2));
        let mut by_code: BTreeMap<String, usize> = BTreeMap::new();
        let mut first_line: Vec<usize> = Vec::with_capacity(lines_total.saturating_sub(2));
        let mut pts: BTreeMap<String, (String, String, usize)> = BTreeMap::new();
        let mut socs: BTreeMap<String, (String, usize)> = BTreeMap::new();
        for (n, line) in lines {
            let f = split_line(line, sep).map_err(|m| err(n, m))?;
            if f.len() != COLUMNS.len() {
                return Err(err(
                    n,
                    format!("{} fields, expected {}", f.len(), COLUMNS.len()),
                ));
            }
            let f: Vec<&str> = f.iter().map(|s| s.trim()).collect();
            for (k, v) in f.iter().enumerate() {
                if k % 2 == 0 {
                    check_code(v, COLUMNS[k])
                } else {
                    check_name(v, COLUMNS[k])
                }
                .map_err(|m| err(n, m))?;
            }
            let term = |k: usize| Term {
                code: f[k].to_string(),
                name: f[k + 1].to_string(),
            };
            let (llt, pt, soc) = (term(0), term(2), term(4));
            if let Some(&i) = by_code.get(&llt.code) {
                return Err(err(
                    n,
                    format!(
                        "llt_code {} is already on line {}",
                        llt.code,
                        first_line.get(i).copied().unwrap_or(0)
                    ),
                ));
            }
            match pts.get(&pt.code) {
                Some((name, soc_code, at)) if *name != pt.name || *soc_code != soc.code => {
                    return Err(err(
                        n,
                        format!(
                            "pt_code {} is `{name}` in system organ class {soc_code} on line \
                             {at}; a preferred term has one name and one primary system organ \
                             class",
                            pt.code
                        ),
                    ))
                }
                Some(_) => {}
                None => {
                    pts.insert(pt.code.clone(), (pt.name.clone(), soc.code.clone(), n));
                }
            }
            match socs.get(&soc.code) {
                Some((name, at)) if *name != soc.name => {
                    return Err(err(
                        n,
                        format!(
                            "soc_code {} is `{name}` on line {at}; a system organ class has one \
                             name",
                            soc.code
                        ),
                    ))
                }
                Some(_) => {}
                None => {
                    socs.insert(soc.code.clone(), (soc.name.clone(), n));
                }
            }
            by_code.insert(llt.code.clone(), entries.len());
            first_line.push(n);
            entries.push(DictionaryEntry { llt, pt, soc });
        }
        if entries.is_empty() {
            return Err(err(0, "the dictionary has no terms".into()));
        }
        let folded = entries
            .iter()
            .map(|e| (e.llt.name.to_lowercase(), e.pt.name.to_lowercase()))
            .collect();
        Ok(Dictionary {
            name,
            version,
            entries,
            by_code,
            folded,
        })
    }

    /// Every term, in file order.
    pub fn entries(&self) -> &[DictionaryEntry] {
        &self.entries
    }

    /// The lowest level term with `code`.
    pub fn llt(&self, code: &str) -> Option<&DictionaryEntry> {
        self.by_code
            .get(code.trim())
            .and_then(|i| self.entries.get(*i))
    }

    /// The coding a coder's choice of `llt_code` records: the three terms and
    /// this dictionary's name and version.
    pub fn code(&self, llt_code: &str) -> Option<super::Coding> {
        self.llt(llt_code).map(|e| super::Coding {
            llt: e.llt.clone(),
            pt: e.pt.clone(),
            soc: e.soc.clone(),
            dictionary: self.name.clone(),
            version: self.version.clone(),
        })
    }

    /// The coder's picker: terms whose lowest level or preferred term name
    /// contains `text`, case-insensitively, at most `limit` of them. Exact
    /// LLT names first, then LLT names starting with the text, then other
    /// matches; within each, by LLT name. An empty text matches nothing.
    pub fn search(&self, text: &str, limit: usize) -> Vec<&DictionaryEntry> {
        let q = text.trim().to_lowercase();
        if q.is_empty() || limit == 0 {
            return Vec::new();
        }
        let mut hits: Vec<(u8, &str, usize)> = Vec::new();
        for (i, (llt, pt)) in self.folded.iter().enumerate() {
            let rank = if *llt == q {
                0
            } else if llt.starts_with(&q) {
                1
            } else if llt.contains(&q) {
                2
            } else if pt.contains(&q) {
                3
            } else {
                continue;
            };
            hits.push((rank, llt.as_str(), i));
        }
        hits.sort();
        hits.into_iter()
            .take(limit)
            .filter_map(|(_, _, i)| self.entries.get(i))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "dictionary,Test terms,2.1\n\
        llt_code,llt_name,pt_code,pt_name,soc_code,soc_name\n\
        101,Sore throat,201,Oropharyngeal pain,301,\"Respiratory, thoracic and mediastinal disorders\"\n\
        102,Throat pain,201,Oropharyngeal pain,301,\"Respiratory, thoracic and mediastinal disorders\"\n\
        103,Chest infection,202,Lower respiratory tract infection,302,Infections and infestations\n\
        \n\
        104,Infection of the chest,202,Lower respiratory tract infection,302,Infections and infestations\n";

    fn line_err(src: &str) -> (usize, String) {
        match Dictionary::parse(src.as_bytes(), "t.csv").unwrap_err() {
            DictionaryError::Line { line, message, .. } => (line, message),
            e => panic!("{e}"),
        }
    }

    #[test]
    fn parses_and_looks_up() {
        let d = Dictionary::parse(SMALL.as_bytes(), "t.csv").unwrap();
        assert_eq!((d.name.as_str(), d.version.as_str()), ("Test terms", "2.1"));
        assert_eq!(d.entries().len(), 4);
        let e = d.llt("103").unwrap();
        assert_eq!(e.pt.name, "Lower respiratory tract infection");
        assert_eq!(e.soc.code, "302");
        let c = d.code(" 101 ").unwrap();
        assert_eq!(
            c.soc.name,
            "Respiratory, thoracic and mediastinal disorders"
        );
        assert_eq!(c.version, "2.1");
        assert!(d.llt("999").is_none() && d.code("999").is_none());
    }

    #[test]
    fn tab_separated_with_crlf_and_bom() {
        let src = SMALL
            .lines()
            .map(|l| {
                l.replace(
                    ",\"Respiratory, thoracic and mediastinal disorders\"",
                    "\tRespiratory, thoracic and mediastinal disorders",
                )
                .replace(',', "\t")
                .replace("Respiratory\t thoracic", "Respiratory, thoracic")
            })
            .collect::<Vec<_>>()
            .join("\r\n");
        let d = Dictionary::parse(format!("\u{feff}{src}").as_bytes(), "t.tsv").unwrap();
        assert_eq!(d.entries().len(), 4);
        assert_eq!(
            d.llt("102").unwrap().soc.name,
            "Respiratory, thoracic and mediastinal disorders"
        );
    }

    #[test]
    fn search_is_case_insensitive_and_ranked() {
        let d = Dictionary::parse(SMALL.as_bytes(), "t.csv").unwrap();
        let names = |q: &str, n: usize| -> Vec<String> {
            d.search(q, n).iter().map(|e| e.llt.name.clone()).collect()
        };
        assert_eq!(names("THROAT", 10), ["Throat pain", "Sore throat"]);
        assert_eq!(names("chest infection", 10), ["Chest infection"]);
        assert_eq!(
            names("infection", 10),
            ["Infection of the chest", "Chest infection"]
        );
        // Through the preferred term.
        assert_eq!(names("oropharyngeal", 10), ["Sore throat", "Throat pain"]);
        assert_eq!(names("infection", 1), ["Infection of the chest"]);
        assert!(names("  ", 10).is_empty() && names("zzz", 10).is_empty());
    }

    #[test]
    fn errors_name_the_line_and_field() {
        let (l, m) = line_err("dictionary,x\n");
        assert_eq!(l, 1);
        assert!(m.contains("dictionary,<name>,<version>"), "{m}");
        let (l, m) = line_err("dictionary,x,1\nllt,llt_name\n");
        assert_eq!(l, 2);
        assert!(m.starts_with("expected the header"), "{m}");
        let bad_row = |row: &str| {
            line_err(&format!(
                "dictionary,x,1\nllt_code,llt_name,pt_code,pt_name,soc_code,soc_name\n{row}\n"
            ))
        };
        assert_eq!(bad_row("1,a,2,b,3"), (3, "5 fields, expected 6".into()));
        assert_eq!(bad_row("1,a,,b,3,c"), (3, "pt_code is empty".into()));
        assert_eq!(
            bad_row("1 2,a,2,b,3,c"),
            (
                3,
                "llt_code `1 2` contains a space or control character".into()
            )
        );
        assert_eq!(
            bad_row("1,\"a,2,b,3,c"),
            (3, "field 2: unterminated quote".into())
        );
        assert_eq!(
            bad_row("1,\"a\"x,2,b,3,c"),
            (3, "field 2: text after a closing quote".into())
        );
        assert_eq!(
            bad_row(&format!("1,{},2,b,3,c", "n".repeat(201))),
            (3, "llt_name is longer than 200 characters".into())
        );
        let (l, m) = bad_row("1,a,2,b,3,c\n1,d,2,b,3,c");
        assert_eq!((l, m.as_str()), (4, "llt_code 1 is already on line 3"));
        let (l, m) = bad_row("1,a,2,b,3,c\n4,d,2,b,5,e");
        assert_eq!(l, 4);
        assert!(m.contains("one primary system organ class"), "{m}");
        let (l, m) = bad_row("1,a,2,b,3,c\n4,d,6,b,3,e");
        assert_eq!(l, 4);
        assert!(m.starts_with("soc_code 3 is `c` on line 3"), "{m}");
        let (l, m) =
            line_err("dictionary,x,1\nllt_code,llt_name,pt_code,pt_name,soc_code,soc_name\n");
        assert_eq!((l, m.as_str()), (0, "the dictionary has no terms"));
        let (l, m) = line_err("");
        assert_eq!(
            (l, m.as_str()),
            (1, "empty file: expected `dictionary,<name>,<version>`")
        );
        let mut bytes = SMALL.as_bytes().to_vec();
        bytes.extend_from_slice(b"105,\xff,201,Oropharyngeal pain,301,x\n");
        match Dictionary::parse(&bytes, "t.csv").unwrap_err() {
            DictionaryError::Line { line, message, .. } => {
                assert_eq!((line, message.as_str()), (8, "not UTF-8 text"))
            }
            e => panic!("{e}"),
        }
    }

    #[test]
    fn bounds_are_checked_before_parsing() {
        let many = "\n".repeat(MAX_DICTIONARY_TERMS + 2);
        assert!(matches!(
            Dictionary::parse(many.as_bytes(), "big.csv"),
            Err(DictionaryError::TooManyTerms { .. })
        ));
        let e = Dictionary::parse(&vec![b' '; MAX_DICTIONARY_BYTES + 1], "huge.csv").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("huge.csv: 67108865 bytes is more than"),
            "{e}"
        );
    }
}
