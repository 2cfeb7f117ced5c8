#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The shapes of files written by other systems (issue 23), each on a small
//! input written here that reproduces what the real file in
//! `$RCT_SHARED_DATA/wild` does (the real files themselves are visited by
//! crates/cli/tests/wild.rs). Each test failed before its fix.

use rct_interop::{ctgov, redcap};

const HEAD: &str = "Variable / Field Name,Form Name,Section Header,Field Type,Field Label,\"Choices, Calculations, OR Slider Labels\",Field Note,Text Validation Type OR Show Slider Number,Text Validation Min,Text Validation Max,Identifier?,Branching Logic (Show field only if...),Required Field?,Custom Alignment,Question Number (surveys only),Matrix Group Name,Matrix Ranking?,Field Annotation";

/// `redcap/redcapr-simple-metadata.csv`: the API's metadata export, with
/// `field_name`-style headers and R's `NA` in empty cells.
#[test]
fn redcap_api_format_headers_are_read() {
    let src = "\"field_name\",\"form_name\",\"section_header\",\"field_type\",\"field_label\",\"select_choices_or_calculations\",\"field_note\",\"text_validation_type_or_show_slider_number\",\"text_validation_min\",\"text_validation_max\",\"identifier\",\"branching_logic\",\"required_field\",\"custom_alignment\",\"question_number\",\"matrix_group_name\",\"matrix_ranking\",\"field_annotation\"\n\
\"record_id\",\"demographics\",NA,\"text\",\"Study ID\",NA,NA,NA,NA,NA,NA,NA,NA,NA,NA,NA,NA,NA\n\
\"sex\",\"demographics\",NA,\"radio\",\"Sex\",\"0, Female | 1, Male\",NA,NA,NA,NA,NA,NA,NA,NA,NA,NA,NA,NA\n\
\"age\",\"demographics\",NA,\"text\",\"Age\",NA,NA,\"integer\",\"0\",\"120\",NA,NA,NA,NA,NA,NA,NA,NA\n";
    let r = redcap::import_dictionary(src, "metadata.csv").unwrap();
    assert_eq!((r.forms, r.fields, r.code_lists), (1, 3, 1), "{}", r.toml);
    // `NA` is an empty cell, not a section header or a choice list.
    assert!(!r.toml.contains("\"NA\""), "{}", r.toml);
    assert!(r.issues.is_empty(), "{:?}", r.issues);
}

/// `redcap/abcd-geocoding-instrument.csv`: CR-only line endings. Each issue
/// names its own row, not row 1.
#[test]
fn redcap_cr_only_rows_are_counted() {
    let src = format!(
        "{HEAD}\rrecord_id,demo,,text,ID,,,,,,,,,,,,,\rx,demo,,text,X,,,,,,,,,,,,,\ry,demo,,text,Y,,,date_ymd,today,,,,,,,,,\r"
    );
    let r = redcap::import_dictionary(&src, "cr.csv").unwrap();
    let rows: Vec<usize> = r.issues.iter().map(|i| i.row).collect();
    assert!(rows.contains(&4), "{:?}", r.issues);
    assert!(!rows.contains(&1), "{:?}", r.issues);
    let e = redcap::import_dictionary(
        &format!("{HEAD}\rrecord_id,demo,,text,ID,,,,,,,,,,,,,\rbad,demo,,weird,B,,,,,,,,,,,,,\r"),
        "cr.csv",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("row 3"), "{e}");
}

/// `redcap/cypress-08_FieldValidation_v1115_DataDictionary.csv`: a
/// `number_1dp_comma_decimal` field with bounds `1,0` and `20,0`.
#[test]
fn redcap_comma_decimal_bounds_are_numbers() {
    let src = format!(
        "{HEAD}\nrecord_id,demo,,text,ID,,,,,,,,,,,,,\nran,demo,,text,R,,,number_1dp_comma_decimal,\"1,0\",\"20,0\",,,,,,,,\n"
    );
    let r = redcap::import_dictionary(&src, "c.csv").unwrap();
    assert!(r.toml.contains("soft = [1, 20]") || r.toml.contains("[1.0, 20.0]"), "{}", r.toml);
    assert!(
        !r.issues.iter().any(|i| i.reason.contains("not numbers")),
        "{:?}",
        r.issues
    );
}

fn study(criteria: &str, time_frame: &str) -> String {
    serde_json::json!({
        "protocolSection": {
            "identificationModule": {"nctId": "NCT00000001", "briefTitle": "T"},
            "designModule": {"enrollmentInfo": {"count": 10}},
            "armsInterventionsModule": {"armGroups": [{"label": "A", "type": "EXPERIMENTAL"}, {"label": "B", "type": "PLACEBO_COMPARATOR"}]},
            "eligibilityModule": {"eligibilityCriteria": criteria},
            "outcomesModule": {"primaryOutcomes": [{"measure": "Score \\>= 3", "timeFrame": time_frame}]}
        }
    })
    .to_string()
}

/// `ctgov/aact-NCT02210780.json`: "Key Inclusion/Exclusion Criteria:"
/// headings, numbered lists, markdown escapes and the closing disclaimer.
#[test]
fn ctgov_key_headings_split_and_escapes_go() {
    let text = "Key Inclusion Criteria:\n\n1. Adults\n2. EASI \\>=16\n\nKey Exclusion Criteria:\n\n1. Prednisone \\>10 mg\n2. Infection\n\nThe information listed above is not intended to contain all considerations relevant to a patient's potential participation in a clinical trial.";
    let r = ctgov::import_study(&study(text, "Week 16"), "s.json").unwrap();
    assert_eq!((r.inclusion, r.exclusion), (2, 2), "{}", r.toml);
    assert!(r.toml.contains("id = \"E1\"\nkind = \"exclusion\"\ntext = \"Prednisone >10 mg\""), "{}", r.toml);
    assert!(!r.toml.contains("\\\\>"), "{}", r.toml);
    assert!(r.toml.contains("timepoints = [\"week16\"]"), "{}", r.toml);
    assert!(r.notes.iter().any(|n| n.message.contains("not a criterion")), "{:?}", r.notes);
}

/// A record whose criteria have no headings imports with a warning; an
/// outcome time frame rct cannot place gets a note.
#[test]
fn ctgov_unsplittable_criteria_and_unknown_time_frames_are_noted() {
    let r = ctgov::import_study(&study("* Adults\n* No cancer", "After 5 doses"), "s.json").unwrap();
    assert_eq!((r.inclusion, r.exclusion), (2, 0));
    assert!(r.notes.iter().any(|n| n.message.contains("could not be split")), "{:?}", r.notes);
    assert!(
        r.notes.iter().any(|n| n.path.ends_with("timeFrame") && n.message.contains("After 5 doses")),
        "{:?}",
        r.notes
    );
}

/// `ctgov/aact-NCT04780763.json`: the retired API v1 is named as such.
#[test]
fn ctgov_v1_records_are_refused_by_name() {
    let e = ctgov::import_study(r#"{"FullStudiesResponse": {"FullStudies": []}}"#, "v1.json")
        .unwrap_err()
        .to_string();
    assert!(e.contains("v1.json") && e.contains("API v1") && e.contains("api/v2"), "{e}");
    // A JSON syntax error names the input's line and column.
    let e = ctgov::import_study("{\n  \"a\": ,\n}", "bad.json").unwrap_err().to_string();
    assert!(e.contains("bad.json") && e.contains("line 2"), "{e}");
}
