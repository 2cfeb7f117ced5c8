//! Hostile shapes for the NanoString readers, generated here: counts that
//! once sized allocations, line counts that made duplicate checks quadratic,
//! and the size limits. Each must be a clear error, quickly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Timing a test is the point here: a hang is the bug.
#![allow(clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use rct_omics::rcc::MAX_RCC_BYTES;
use rct_omics::rlf::MAX_RLF_BYTES;
use rct_omics::{parse_rcc, parse_rlf, RccErrorKind, RlfErrorKind};

const RLF: &str = "[Header]\nClassCount=1\nClassKey0=1\nClassName0=Positive\n[Content]\nColumnCount=2\nRecordCount=1\nColumns=Classification,GeneName\nRecord0=1,POS_A(128)\n";

#[test]
fn counts_in_an_rlf_size_nothing() {
    // `ClassCount=18446744073709551615` asked Vec::with_capacity for it.
    for (from, to) in [
        ("ClassCount=1", "ClassCount=18446744073709551615"),
        ("RecordCount=1", "RecordCount=18446744073709551615"),
        ("ClassCount=1", "ClassCount=4611686018427387904"),
    ] {
        let e = parse_rlf(&RLF.replace(from, to), "big.rlf").unwrap_err();
        assert!(
            matches!(
                e.kind,
                RlfErrorKind::MissingKey { .. } | RlfErrorKind::RecordCountMismatch { .. }
            ),
            "{to}: {e}"
        );
    }
    parse_rlf(RLF, "ok.rlf").unwrap();
}

#[test]
fn many_lines_cost_linear_time() {
    // 200,000 keys in one section, then a duplicate: the duplicate check
    // compared each key with every earlier one.
    let mut t = RLF.to_string();
    for i in 0..200_000 {
        t.push_str(&format!("Extra{i}=x\n"));
    }
    t.push_str("Extra7=y\n");
    let started = Instant::now();
    let e = parse_rlf(&t, "dup.rlf").unwrap_err();
    assert!(
        matches!(e.kind, RlfErrorKind::DuplicateKey { first_line: 17, .. }),
        "{e}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // 100,000 empty sections in an RCC file, then a repeated one.
    let mut t = String::from("<Header>\nFileVersion,1.7\n</Header>\n");
    for i in 0..100_000 {
        t.push_str(&format!("<S{i}>\n</S{i}>\n"));
    }
    t.push_str("<S5>\n</S5>\n");
    let started = Instant::now();
    let e = parse_rcc(&t, "many.RCC").unwrap_err();
    assert!(
        matches!(
            e.kind,
            RccErrorKind::DuplicateSection { first_line: 14, .. }
        ),
        "{e}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn oversized_files_are_refused_before_parsing() {
    let e = parse_rcc(&" ".repeat(MAX_RCC_BYTES + 1), "big.RCC").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("big.RCC: line 1: the file is 8388609 bytes, over the 8388608-byte limit"),
        "{e}"
    );
    let e = parse_rlf(&" ".repeat(MAX_RLF_BYTES + 1), "big.rlf").unwrap_err();
    assert!(matches!(e.kind, RlfErrorKind::TooLarge { .. }), "{e}");
}
