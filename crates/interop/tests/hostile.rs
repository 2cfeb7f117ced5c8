//! Hostile shapes for the importers, generated here: nesting that overflowed
//! the stack, element counts, and the size limits. Each must be a clear error
//! or a listed issue, never a crash.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rct_interop::ctgov::{import_study, MAX_STUDY_BYTES};
use rct_interop::odm::{import, MAX_DEPTH, MAX_ELEMENTS, MAX_ODM_BYTES};
use rct_interop::redcap::{import_dictionary, MAX_DICTIONARY_BYTES};

const HEADER: &str = "Variable / Field Name,Form Name,Section Header,Field Type,Field Label,\"Choices, Calculations, OR Slider Labels\",Field Note,Text Validation Type OR Show Slider Number,Text Validation Min,Text Validation Max,Identifier?,Branching Logic (Show field only if...),Required Field?,Custom Alignment,Question Number (surveys only),Matrix Group Name,Matrix Ranking?,Field Annotation\n";

#[test]
fn deeply_nested_redcap_logic_is_an_issue_not_a_stack_overflow() {
    // 20,000 levels of `(`, `not` or unary minus recursed once per level.
    for logic in [
        format!("{}[age] > 1{}", "(".repeat(20_000), ")".repeat(20_000)),
        format!("{}[age] > 1", "not ".repeat(20_000)),
        format!("[age] > {}1", "-".repeat(20_000)),
    ] {
        let csv = format!(
            "{HEADER}record_id,f,,text,Record ID,,,,,,,,,,,,,\nage,f,,text,Age,,,integer,,,,,,,,,,\nx,f,,text,X,,,,,,,{logic},,,,,,\n"
        );
        let r = import_dictionary(&csv, "deep.csv").unwrap();
        let issue = r.issues.iter().find(|i| i.variable == "x").unwrap();
        assert!(
            issue.reason.contains("nested more than 100 levels deep"),
            "{}",
            issue.reason
        );
    }
    // 100 levels still translate.
    let logic = format!("{}[age] > 1{}", "(".repeat(99), ")".repeat(99));
    let csv = format!(
        "{HEADER}record_id,f,,text,Record ID,,,,,,,,,,,,,\nage,f,,text,Age,,,integer,,,,,,,,,,\nx,f,,text,X,,,,,,,{logic},,,,,,\n"
    );
    let r = import_dictionary(&csv, "ok.csv").unwrap();
    let issue = r.issues.iter().find(|i| i.variable == "x").unwrap();
    assert!(
        issue.reason.starts_with("translated to `age > 1`"),
        "{issue:?}"
    );
}

#[test]
fn deeply_nested_or_huge_odm_is_refused() {
    // 100,000 nested elements: the tree's recursive drop overflowed the stack.
    let deep = format!(
        "<ODM>{}{}</ODM>",
        "<a>".repeat(100_000),
        "</a>".repeat(100_000)
    );
    let e = import(
        &deep,
        "deep.xml",
        rct_record::TrialSecrets::insecure_for_tests(1),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("deep.xml: XML: at byte ")
            && e.contains(&format!("nested more than {MAX_DEPTH} deep")),
        "{e}"
    );
    let many = format!("<ODM>{}</ODM>", "<a/>".repeat(MAX_ELEMENTS + 1));
    let e = import(
        &many,
        "many.xml",
        rct_record::TrialSecrets::insecure_for_tests(1),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains(&format!("more than {MAX_ELEMENTS} elements")),
        "{e}"
    );
}

#[test]
fn oversized_imports_are_refused_before_parsing() {
    let e = import(
        &" ".repeat(MAX_ODM_BYTES + 1),
        "big.xml",
        rct_record::TrialSecrets::insecure_for_tests(1),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("big.xml: the file is 67108865 bytes, over the 67108864-byte limit"),
        "{e}"
    );
    let e = import_dictionary(&" ".repeat(MAX_DICTIONARY_BYTES + 1), "big.csv")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("big.csv: the file is 16777217 bytes"), "{e}");
    let e = import_study(&" ".repeat(MAX_STUDY_BYTES + 1), "big.json")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("big.json: the file is 16777217 bytes"), "{e}");
}
