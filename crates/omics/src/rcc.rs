//! Reader for NanoString nCounter RCC files (Reporter Code Count).
//!
//! An RCC file is plain text (LF or CRLF) made of tagged sections:
//! `<Header>`, `<Sample_Attributes>`, `<Lane_Attributes>`, `<Code_Summary>` and
//! `<Messages>`, each closed by `</Name>`. Attribute sections hold `key,value`
//! lines; `<Code_Summary>` is a CSV table with the header
//! `CodeClass,Name,Accession,Count`.
//!
//! Panels read: standard gene expression (Endogenous, Housekeeping, Positive
//! `POS_A(128)`..., Negative `NEG_A(0)`...), SNV (SNV_REF, SNV_VAR, SNV_POS, ...),
//! protein (PROTEIN, PROTEIN_NEG, ...) and PlexSet "n8" lanes, whose classes are
//! `Endogenous1s` ... `Endogenous8s` (one per hybridisation row) and whose
//! positive controls `POS_1` ... `POS_8` carry no concentration.

use std::collections::HashMap;

use serde::Serialize;
use thiserror::Error;

/// What is wrong with an RCC file.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RccErrorKind {
    #[error("the file is empty; expected an nCounter RCC file starting with <Header>")]
    Empty,
    #[error("no <{section}> section; an RCC file needs <Header>, <Sample_Attributes>, <Lane_Attributes> and <Code_Summary> (was the file exported whole?)")]
    MissingSection { section: String },
    #[error("section <{section}> appears twice (first at line {first_line}); keep one")]
    DuplicateSection { section: String, first_line: usize },
    #[error("section <{section}> opened at line {opened_line} is not closed: found <{found}> before </{section}>")]
    UnterminatedSection {
        section: String,
        opened_line: usize,
        found: String,
    },
    #[error("section <{section}> opened at line {opened_line} is closed by </{found}>; expected </{section}>")]
    MismatchedClose {
        section: String,
        opened_line: usize,
        found: String,
    },
    #[error("the file ends inside section <{section}> (opened at line {opened_line}): it looks truncated; copy the whole file from the instrument again")]
    Truncated { section: String, opened_line: usize },
    #[error("not an nCounter RCC file: it should start with <Header>, found {found:?} (an RLF probe file or a CSV sheet given as an RCC file?)")]
    NotRcc { found: String },
    #[error("text outside any section: {text:?}")]
    OutsideSection { text: String },
    #[error("expected the table header CodeClass,Name,Accession,Count, found {found:?}")]
    BadTableHeader { found: String },
    #[error("expected {expected} comma-separated fields, found {found} in {text:?}")]
    BadRow {
        expected: usize,
        found: usize,
        text: String,
    },
    #[error("bad count {value:?} for probe {class}/{name}: expected a whole number >= 0")]
    BadCount {
        class: String,
        name: String,
        value: String,
    },
    #[error("probe {class}/{name} appears twice (first at line {first_line}); a lane counts each probe once")]
    DuplicateProbe {
        class: String,
        name: String,
        first_line: usize,
    },
    #[error("expected key,value in <{section}>, found {text:?}")]
    BadAttributeLine { section: String, text: String },
    #[error("attribute {key} in <{section}> is missing")]
    MissingAttribute { section: String, key: String },
    #[error("attribute {key} = {value:?} is not valid: expected {expected}")]
    BadAttribute {
        key: String,
        value: String,
        expected: String,
    },
    #[error("the file is {bytes} bytes, over the {limit}-byte limit for an RCC file (one lane is a few tens of kB): check that this is an RCC file")]
    TooLarge { bytes: usize, limit: usize },
}

/// An RCC reading error: which file, which line, and what is wrong.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{file}: line {line}: {kind}")]
pub struct RccError {
    pub file: String,
    /// 1-based line number (for a missing section, the last line of the file).
    pub line: usize,
    pub kind: RccErrorKind,
}

/// One row of `<Code_Summary>`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Probe {
    pub class: String,
    pub name: String,
    pub accession: String,
    pub count: u64,
    /// Line of the file the probe was read from.
    pub line: usize,
}

impl Probe {
    /// The spike-in concentration (fM) written in the name, as in `POS_A(128)`
    /// or `NEG_B(0)`; `None` when the name has none (PlexSet `POS_1`).
    pub fn concentration(&self) -> Option<f64> {
        concentration_in(&self.name)
    }
}

/// NanoString's standard positive-control concentrations (fM) for controls
/// named `POS_A`..`POS_F` without one (older RCC files, NanoStringQCPro's
/// examples): 128, 32, 8, 2, 0.5 and 0.125 fM. `None` for any other name.
pub fn standard_concentration(name: &str) -> Option<f64> {
    Some(match name.trim() {
        "POS_A" => 128.0,
        "POS_B" => 32.0,
        "POS_C" => 8.0,
        "POS_D" => 2.0,
        "POS_E" => 0.5,
        "POS_F" => 0.125,
        _ => return None,
    })
}

/// Parse the concentration in parentheses at the end of a control name.
pub fn concentration_in(name: &str) -> Option<f64> {
    let open = name.rfind('(')?;
    let rest = &name[open + 1..];
    let close = rest.find(')')?;
    let v: f64 = rest[..close].trim().parse().ok()?;
    v.is_finite().then_some(v)
}

/// Typed view of `<Lane_Attributes>`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lane {
    pub id: String,
    pub fov_count: u32,
    pub fov_counted: u32,
    pub scanner_id: String,
    pub stage_position: String,
    pub binding_density: f64,
    pub cartridge_id: String,
}

/// Which kind of lane layout a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Panel {
    /// One sample per lane: Endogenous/Housekeeping/Positive/Negative (plus
    /// optional SNV and protein classes).
    Standard,
    /// PlexSet: `rows` samples per lane, classes `Endogenous1s`...
    PlexSet { rows: u8 },
}

/// A parsed RCC file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rcc {
    pub file: String,
    pub header: Vec<(String, String)>,
    pub sample_attributes: Vec<(String, String)>,
    pub lane_attributes: Vec<(String, String)>,
    pub lane: Lane,
    pub probes: Vec<Probe>,
    pub messages: Vec<String>,
    /// Sections other than the five standard ones, kept verbatim.
    pub other_sections: Vec<(String, Vec<String>)>,
}

fn attr<'a>(list: &'a [(String, String)], key: &str) -> Option<&'a str> {
    list.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

impl Rcc {
    /// `Sample_Attributes/ID` (empty if absent).
    pub fn sample_id(&self) -> &str {
        attr(&self.sample_attributes, "ID").unwrap_or("")
    }

    /// `Header/FileVersion`.
    pub fn file_version(&self) -> Option<&str> {
        attr(&self.header, "FileVersion")
    }

    /// `Sample_Attributes/GeneRLF`: the code set the lane was run with.
    pub fn gene_rlf(&self) -> Option<&str> {
        attr(&self.sample_attributes, "GeneRLF")
    }

    /// Any header, sample or lane attribute by key (case-insensitive).
    pub fn attribute(&self, key: &str) -> Option<&str> {
        attr(&self.header, key)
            .or_else(|| attr(&self.sample_attributes, key))
            .or_else(|| attr(&self.lane_attributes, key))
    }

    /// Probes of one code class, in file order.
    pub fn class<'a>(&'a self, class: &'a str) -> impl Iterator<Item = &'a Probe> + 'a {
        self.probes.iter().filter(move |p| p.class == class)
    }

    /// Distinct code classes, in order of first appearance.
    pub fn classes(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for p in &self.probes {
            if !out.contains(&p.class.as_str()) {
                out.push(&p.class);
            }
        }
        out
    }

    /// Standard or PlexSet layout, from the code classes present.
    pub fn panel(&self) -> Panel {
        let rows = self
            .probes
            .iter()
            .filter_map(|p| plexset_row(&p.class))
            .max()
            .unwrap_or(0);
        if rows > 0 {
            Panel::PlexSet { rows }
        } else {
            Panel::Standard
        }
    }

    /// True when the lane carries SNV classes (SNV_REF, SNV_VAR, ...).
    pub fn has_snv(&self) -> bool {
        self.probes.iter().any(|p| p.class.starts_with("SNV_"))
    }

    /// True when the lane carries protein classes (PROTEIN, PROTEIN_NEG, ...).
    pub fn has_protein(&self) -> bool {
        self.probes.iter().any(|p| p.class.starts_with("PROTEIN"))
    }
}

/// For a PlexSet class such as `Endogenous3s` or `Housekeeping3s`, the row (3).
pub fn plexset_row(class: &str) -> Option<u8> {
    let rest = class
        .strip_prefix("Endogenous")
        .or_else(|| class.strip_prefix("Housekeeping"))?;
    let digits = rest.strip_suffix('s')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|r| *r > 0)
}

struct Section<'a> {
    name: &'a str,
    opened_line: usize,
    lines: Vec<(usize, &'a str)>,
}

const REQUIRED: [&str; 4] = [
    "Header",
    "Sample_Attributes",
    "Lane_Attributes",
    "Code_Summary",
];

/// Largest RCC file read (8 MiB).
pub const MAX_RCC_BYTES: usize = 8 << 20;

/// Parse RCC text. `file` names the file in error messages.
pub fn parse_rcc(text: &str, file: &str) -> Result<Rcc, RccError> {
    let err = |line: usize, kind: RccErrorKind| RccError {
        file: file.to_string(),
        line,
        kind,
    };
    if text.len() > MAX_RCC_BYTES {
        return Err(err(
            1,
            RccErrorKind::TooLarge {
                bytes: text.len(),
                limit: MAX_RCC_BYTES,
            },
        ));
    }
    // Section name -> line opened, so a duplicate is found in O(1).
    let mut opened: HashMap<&str, usize> = HashMap::new();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut sections: Vec<Section> = Vec::new();
    let mut open: Option<Section> = None;
    let mut last_line = 0usize;
    for (i, raw) in text.split('\n').enumerate() {
        let n = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let t = line.trim();
        if !t.is_empty() {
            last_line = n;
        }
        if let Some(tag) = t.strip_prefix("</").and_then(|s| s.strip_suffix('>')) {
            match open.take() {
                Some(s) if s.name == tag => sections.push(s),
                Some(s) => {
                    return Err(err(
                        n,
                        RccErrorKind::MismatchedClose {
                            section: s.name.to_string(),
                            opened_line: s.opened_line,
                            found: tag.to_string(),
                        },
                    ))
                }
                None => {
                    return Err(err(
                        n,
                        RccErrorKind::OutsideSection {
                            text: t.to_string(),
                        },
                    ))
                }
            }
        } else if let Some(tag) = t.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
            if let Some(s) = &open {
                return Err(err(
                    n,
                    RccErrorKind::UnterminatedSection {
                        section: s.name.to_string(),
                        opened_line: s.opened_line,
                        found: tag.to_string(),
                    },
                ));
            }
            if let Some(first_line) = opened.get(tag) {
                return Err(err(
                    n,
                    RccErrorKind::DuplicateSection {
                        section: tag.to_string(),
                        first_line: *first_line,
                    },
                ));
            }
            opened.insert(tag, n);
            open = Some(Section {
                name: tag,
                opened_line: n,
                lines: Vec::new(),
            });
        } else if let Some(s) = &mut open {
            if !t.is_empty() {
                s.lines.push((n, t));
            }
        } else if !t.is_empty() {
            if sections.is_empty() {
                let found: String = t.chars().take(60).collect();
                return Err(err(n, RccErrorKind::NotRcc { found }));
            }
            return Err(err(
                n,
                RccErrorKind::OutsideSection {
                    text: t.to_string(),
                },
            ));
        }
    }
    if let Some(s) = open {
        return Err(err(
            last_line.max(1),
            RccErrorKind::Truncated {
                section: s.name.to_string(),
                opened_line: s.opened_line,
            },
        ));
    }
    if sections.is_empty() {
        return Err(err(1, RccErrorKind::Empty));
    }
    for req in REQUIRED {
        if !sections.iter().any(|s| s.name == req) {
            return Err(err(
                last_line.max(1),
                RccErrorKind::MissingSection {
                    section: req.to_string(),
                },
            ));
        }
    }

    let mut header = Vec::new();
    let mut sample_attributes = Vec::new();
    let mut lane_attributes = Vec::new();
    let mut lane_opened = 0;
    let mut probes: Vec<Probe> = Vec::new();
    let mut messages = Vec::new();
    let mut other_sections = Vec::new();
    for s in &sections {
        match s.name {
            "Header" => header = key_values(s, file)?,
            "Sample_Attributes" => sample_attributes = key_values(s, file)?,
            "Lane_Attributes" => {
                lane_attributes = key_values(s, file)?;
                lane_opened = s.opened_line;
            }
            "Code_Summary" => probes = code_summary(s, file)?,
            "Messages" => messages = s.lines.iter().map(|(_, l)| l.to_string()).collect(),
            other => other_sections.push((
                other.to_string(),
                s.lines.iter().map(|(_, l)| l.to_string()).collect(),
            )),
        }
    }
    let lane = typed_lane(&sections, &lane_attributes, lane_opened, file)?;
    Ok(Rcc {
        file: file.to_string(),
        header,
        sample_attributes,
        lane_attributes,
        lane,
        probes,
        messages,
        other_sections,
    })
}

fn key_values(s: &Section, file: &str) -> Result<Vec<(String, String)>, RccError> {
    s.lines
        .iter()
        .map(|(n, l)| match l.split_once(',') {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok((k.trim().to_string(), v.trim().to_string()))
            }
            _ => Err(RccError {
                file: file.to_string(),
                line: *n,
                kind: RccErrorKind::BadAttributeLine {
                    section: s.name.to_string(),
                    text: l.to_string(),
                },
            }),
        })
        .collect()
}

fn code_summary(s: &Section, file: &str) -> Result<Vec<Probe>, RccError> {
    let err = |line: usize, kind: RccErrorKind| RccError {
        file: file.to_string(),
        line,
        kind,
    };
    let mut lines = s.lines.iter();
    let Some((hn, head)) = lines.next() else {
        return Err(err(
            s.opened_line,
            RccErrorKind::BadTableHeader {
                found: String::new(),
            },
        ));
    };
    let cols: Vec<&str> = head.split(',').map(str::trim).collect();
    if cols != ["CodeClass", "Name", "Accession", "Count"] {
        return Err(err(
            *hn,
            RccErrorKind::BadTableHeader {
                found: head.to_string(),
            },
        ));
    }
    let mut probes: Vec<Probe> = Vec::with_capacity(s.lines.len());
    let mut seen: HashMap<(&str, &str), usize> = HashMap::with_capacity(s.lines.len());
    for (n, l) in lines {
        let fields: Vec<&str> = l.split(',').collect();
        if fields.len() < 4 {
            return Err(err(
                *n,
                RccErrorKind::BadRow {
                    expected: 4,
                    found: fields.len(),
                    text: l.to_string(),
                },
            ));
        }
        // A name may itself hold commas: class is first, accession and count last.
        let k = fields.len();
        let class = fields[0].trim();
        let name_end = l.len() - fields[k - 1].len() - fields[k - 2].len() - 2;
        let name = l[fields[0].len() + 1..name_end].trim();
        let accession = fields[k - 2].trim();
        let count_text = fields[k - 1].trim();
        let count: u64 = count_text.parse().map_err(|_| {
            err(
                *n,
                RccErrorKind::BadCount {
                    class: class.to_string(),
                    name: name.to_string(),
                    value: count_text.to_string(),
                },
            )
        })?;
        if let Some(first) = seen.insert((class, name), *n) {
            return Err(err(
                *n,
                RccErrorKind::DuplicateProbe {
                    class: class.to_string(),
                    name: name.to_string(),
                    first_line: first,
                },
            ));
        }
        probes.push(Probe {
            class: class.to_string(),
            name: name.to_string(),
            accession: accession.to_string(),
            count,
            line: *n,
        });
    }
    Ok(probes)
}

fn typed_lane(
    sections: &[Section],
    attrs: &[(String, String)],
    opened: usize,
    file: &str,
) -> Result<Lane, RccError> {
    let line_of = |key: &str| -> usize {
        sections
            .iter()
            .find(|s| s.name == "Lane_Attributes")
            .and_then(|s| {
                s.lines
                    .iter()
                    .find(|(_, l)| l.split(',').next().map(str::trim) == Some(key))
            })
            .map(|(n, _)| *n)
            .unwrap_or(opened)
    };
    let get = |key: &str| -> Result<&str, RccError> {
        attr(attrs, key).ok_or_else(|| RccError {
            file: file.to_string(),
            line: opened,
            kind: RccErrorKind::MissingAttribute {
                section: "Lane_Attributes".into(),
                key: key.into(),
            },
        })
    };
    let bad = |key: &str, value: &str, expected: &str| RccError {
        file: file.to_string(),
        line: line_of(key),
        kind: RccErrorKind::BadAttribute {
            key: key.into(),
            value: value.into(),
            expected: expected.into(),
        },
    };
    let int = |key: &str| -> Result<u32, RccError> {
        let v = get(key)?;
        v.parse().map_err(|_| bad(key, v, "a whole number >= 0"))
    };
    let fov_count = int("FovCount")?;
    let fov_counted = int("FovCounted")?;
    let bd_text = get("BindingDensity")?;
    let binding_density: f64 = bd_text
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| {
            bad(
                "BindingDensity",
                bd_text,
                "a number >= 0 (spots per square micron)",
            )
        })?;
    Ok(Lane {
        id: attr(attrs, "ID").unwrap_or("").to_string(),
        fov_count,
        fov_counted,
        scanner_id: attr(attrs, "ScannerID").unwrap_or("").to_string(),
        stage_position: attr(attrs, "StagePosition").unwrap_or("").to_string(),
        binding_density,
        cartridge_id: attr(attrs, "CartridgeID").unwrap_or("").to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "<Header>\nFileVersion,1.7\n</Header>\n\n<Sample_Attributes>\nID,S1\n</Sample_Attributes>\n<Lane_Attributes>\nID,1\nFovCount,280\nFovCounted,270\nScannerID,X\nBindingDensity,0.5\n</Lane_Attributes>\n<Code_Summary>\nCodeClass,Name,Accession,Count\nPositive,POS_A(128),ERCC_1,1000\nEndogenous,A,NM_1,5\n</Code_Summary>\n<Messages>\n</Messages>\n";

    #[test]
    fn reads_a_small_file_with_lf_and_crlf() {
        let a = parse_rcc(SMALL, "a.RCC").unwrap();
        let b = parse_rcc(&SMALL.replace('\n', "\r\n"), "a.RCC").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.sample_id(), "S1");
        assert_eq!(a.lane.fov_counted, 270);
        assert_eq!(a.probes.len(), 2);
        assert_eq!(a.probes[0].concentration(), Some(128.0));
        assert_eq!(a.probes[1].line, 18);
        assert_eq!(a.panel(), Panel::Standard);
    }

    #[test]
    fn concentrations_in_names() {
        assert_eq!(concentration_in("POS_F(0.125)"), Some(0.125));
        assert_eq!(concentration_in("NEG_A(0)"), Some(0.0));
        assert_eq!(concentration_in("POS_1"), None);
        assert_eq!(concentration_in("Akt(C67E7)"), None);
    }

    #[test]
    fn plexset_rows() {
        assert_eq!(plexset_row("Endogenous1s"), Some(1));
        assert_eq!(plexset_row("Housekeeping8s"), Some(8));
        assert_eq!(plexset_row("Endogenous"), None);
        assert_eq!(plexset_row("Endogenouss"), None);
    }

    #[test]
    fn names_with_commas_are_kept_whole() {
        let t = SMALL.replace("Endogenous,A,NM_1,5", "Endogenous,A, b,NM_1,5");
        let r = parse_rcc(&t, "a.RCC").unwrap();
        assert_eq!(r.probes[1].name, "A, b");
        assert_eq!(r.probes[1].accession, "NM_1");
        assert_eq!(r.probes[1].count, 5);
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_cuts(cut in 0usize..400, junk in "[ -~\\n]{0,40}") {
            let cut = cut.min(SMALL.len());
            let text = format!("{}{}", &SMALL[..cut], junk);
            let _ = parse_rcc(&text, "x.RCC");
        }
    }
}
