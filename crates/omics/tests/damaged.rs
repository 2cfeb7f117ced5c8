//! Damaged RCC and RLF files, made by editing the real shared files in memory:
//! each kind of damage gets its own error kind, naming the file and the line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rct_omics::rcc::{parse_rcc, RccError, RccErrorKind};
use rct_omics::rlf::{parse_rlf, RlfErrorKind};

const RCC: &str = "skmel/SKMEL2-DMSO-8h-R1_04.RCC";
const PLEX: &str = "plexset/plexset_01_01.RCC";
const RLF: &str = "skmel/3D_SolidTumor_Sig.rlf";

fn real(rel: &str) -> Option<String> {
    let dir = rct_testdata::shared_data("nanostring")?;
    Some(std::fs::read_to_string(dir.join(rel)).unwrap())
}

/// 1-based number of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

fn broken(text: &str) -> RccError {
    let e = parse_rcc(text, "damaged.RCC").unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!("damaged.RCC: line {}: ", e.line)),
        "message names file and line: {msg}"
    );
    e
}

#[test]
fn the_real_files_read_unchanged() {
    for rel in [RCC, PLEX] {
        let Some(t) = real(rel) else { return };
        parse_rcc(&t, rel).unwrap();
    }
}

#[test]
fn missing_section() {
    let Some(t) = real(RCC) else { return };
    let start = t.find("<Lane_Attributes>").unwrap();
    let end = t.find("</Lane_Attributes>").unwrap() + "</Lane_Attributes>".len();
    let cut = format!("{}{}", &t[..start], &t[end..]);
    let e = broken(&cut);
    assert_eq!(
        e.kind,
        RccErrorKind::MissingSection {
            section: "Lane_Attributes".into()
        }
    );
    assert!(
        e.to_string().contains("no <Lane_Attributes> section"),
        "{e}"
    );
    // Reported at the last line of the file.
    assert_eq!(e.line, cut.trim_end().lines().count());
}

#[test]
fn bad_count() {
    let Some(t) = real(RCC) else { return };
    let line = "Endogenous,IL2,NM_000586.2,2";
    let n = line_of(&t, line);
    for bad in ["2.5", "-3", "many", ""] {
        let e = broken(&t.replace(line, &format!("Endogenous,IL2,NM_000586.2,{bad}")));
        assert_eq!(e.line, n, "{e}");
        assert_eq!(
            e.kind,
            RccErrorKind::BadCount {
                class: "Endogenous".into(),
                name: "IL2".into(),
                value: bad.into()
            }
        );
        assert!(e.to_string().contains("bad count"), "{e}");
    }
}

#[test]
fn duplicate_probe() {
    let Some(t) = real(RCC) else { return };
    let first = "Endogenous,TP53,NM_000546.2,347";
    let n = line_of(&t, first);
    // Copy TP53's row over the row after it.
    let lines: Vec<&str> = t.lines().collect();
    let mut edited: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
    edited[n] = "Endogenous,TP53,NM_000546.2,12".into();
    let e = broken(&(edited.join("\n") + "\n"));
    assert_eq!(e.line, n + 1);
    assert_eq!(
        e.kind,
        RccErrorKind::DuplicateProbe {
            class: "Endogenous".into(),
            name: "TP53".into(),
            first_line: n
        }
    );
    // The same name in another class is not a duplicate.
    let other = t.replace(
        "Endogenous,IL2,NM_000586.2,2",
        "Housekeeping,TP53,NM_000546.2,2",
    );
    parse_rcc(&other, "ok.RCC").unwrap();
}

#[test]
fn truncated_file() {
    let Some(t) = real(RCC) else { return };
    // Cut in the middle of the Code_Summary, at a line boundary and mid-line.
    let at = t.find("Endogenous,SOS2").unwrap();
    for cut in [&t[..at], &t[..at + 7]] {
        let e = broken(cut);
        assert_eq!(
            e.kind,
            RccErrorKind::Truncated {
                section: "Code_Summary".into(),
                opened_line: line_of(&t, "<Code_Summary>")
            }
        );
        assert!(e.to_string().contains("looks truncated"), "{e}");
    }
    // A cut mid-line leaves a row of fewer fields; if the section happened to
    // close, that row is the error, not a silent short read.
    let mid = format!("{}\n</Code_Summary>\n", &t[..at + 7]);
    let e = broken(&mid);
    assert_eq!(e.line, line_of(&t, "Endogenous,SOS2"));
    assert!(
        matches!(e.kind, RccErrorKind::BadRow { found: 1, .. }),
        "{e}"
    );
    // Nothing at all.
    assert_eq!(broken("").kind, RccErrorKind::Empty);
}

#[test]
fn crlf_and_lf_read_the_same() {
    for rel in [RCC, PLEX] {
        let Some(t) = real(rel) else { return };
        let lf = parse_rcc(&t, rel).unwrap();
        let crlf = parse_rcc(&t.replace('\n', "\r\n"), rel).unwrap();
        assert_eq!(lf, crlf, "{rel}");
        // A byte-order mark from a Windows editor changes nothing either.
        let bom = parse_rcc(&format!("\u{feff}{}", t.replace('\n', "\r\n")), rel).unwrap();
        assert_eq!(lf, bom, "{rel}");
        // An error in a CRLF file reports the same line as in the LF file.
        let damaged = t.replacen("BindingDensity,", "BindingDensity,x", 1);
        let a = parse_rcc(&damaged, rel).unwrap_err();
        let b = parse_rcc(&damaged.replace('\n', "\r\n"), rel).unwrap_err();
        assert_eq!(a, b);
        assert_eq!(a.line, line_of(&t, "BindingDensity,"));
    }
}

#[test]
fn wrong_table_header() {
    let Some(t) = real(RCC) else { return };
    let n = line_of(&t, "CodeClass,Name,Accession,Count");
    let e = broken(&t.replace(
        "CodeClass,Name,Accession,Count",
        "CodeClass,Name,Count,Accession",
    ));
    assert_eq!(e.line, n);
    assert_eq!(
        e.kind,
        RccErrorKind::BadTableHeader {
            found: "CodeClass,Name,Count,Accession".into()
        }
    );
}

#[test]
fn not_an_rcc_file() {
    // A CSV (here the sample sheet next to the RCC files) given as an RCC file.
    let Some(csv) = real("skmel/3D_SolidTumor_PhenoData.csv") else {
        return;
    };
    let e = broken(&csv);
    assert_eq!(e.line, 1);
    assert!(matches!(e.kind, RccErrorKind::NotRcc { .. }), "{e}");
    // An RLF file given as an RCC file.
    let Some(rlf) = real(RLF) else { return };
    let e = broken(&rlf);
    assert!(matches!(e.kind, RccErrorKind::NotRcc { .. }), "{e}");
    assert_eq!(e.line, 1);
}

#[test]
fn wrong_lane_attribute_and_mismatched_close() {
    let Some(t) = real(RCC) else { return };
    let e = broken(&t.replace("FovCounted,268", "FovCounted,268.5"));
    assert_eq!(e.line, line_of(&t, "FovCounted,"));
    assert!(matches!(e.kind, RccErrorKind::BadAttribute { ref key, .. } if key == "FovCounted"));
    let e = broken(&t.replace("</Sample_Attributes>", "</Lane_Attributes>"));
    assert_eq!(e.line, line_of(&t, "</Sample_Attributes>"));
    assert!(
        matches!(e.kind, RccErrorKind::MismatchedClose { .. }),
        "{e}"
    );
    let e = broken(&t.replace("<Messages>", "<Header>"));
    assert!(
        matches!(e.kind, RccErrorKind::DuplicateSection { first_line: 1, .. }),
        "{e}"
    );
}

#[test]
fn damaged_rlf_files() {
    let Some(t) = real(RLF) else { return };
    parse_rlf(&t, RLF).unwrap();
    // Truncated: records missing at the end.
    let cut = &t[..t.find("Record400=").unwrap()];
    let e = parse_rlf(cut, RLF).unwrap_err();
    assert!(
        matches!(
            e.kind,
            RlfErrorKind::RecordCountMismatch {
                expected: 414,
                found: 400
            }
        ),
        "{e}"
    );
    assert!(e.to_string().starts_with(&format!("{RLF}: line ")), "{e}");
    // A record with a field missing.
    let n = line_of(&t, "Record3=");
    let line = t.lines().nth(n - 1).unwrap();
    let short = &line[..line.rfind(',').unwrap()];
    let e = parse_rlf(&t.replace(line, short), RLF).unwrap_err();
    assert_eq!(e.line, n);
    assert!(
        matches!(
            e.kind,
            RlfErrorKind::BadRecord {
                expected: 8,
                found: 7,
                ..
            }
        ),
        "{e}"
    );
    // Duplicate record key.
    let e = parse_rlf(&t.replace("Record4=", "Record3="), RLF).unwrap_err();
    assert!(matches!(e.kind, RlfErrorKind::DuplicateKey { .. }), "{e}");
    // Missing section.
    let e = parse_rlf(&t[..t.find("[Content]").unwrap()], RLF).unwrap_err();
    assert_eq!(
        e.kind,
        RlfErrorKind::MissingSection {
            section: "Content".into()
        }
    );
    // CRLF reads the same.
    assert_eq!(
        parse_rlf(&t.replace('\n', "\r\n"), RLF).unwrap(),
        parse_rlf(&t, RLF).unwrap()
    );
}
