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
    assert!(
        r.toml.contains("soft = [1, 20]") || r.toml.contains("[1.0, 20.0]"),
        "{}",
        r.toml
    );
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
    assert!(
        r.toml
            .contains("id = \"E1\"\nkind = \"exclusion\"\ntext = \"Prednisone >10 mg\""),
        "{}",
        r.toml
    );
    assert!(!r.toml.contains("\\\\>"), "{}", r.toml);
    assert!(r.toml.contains("timepoints = [\"week16\"]"), "{}", r.toml);
    assert!(
        r.notes
            .iter()
            .any(|n| n.message.contains("not a criterion")),
        "{:?}",
        r.notes
    );
}

/// A record whose criteria have no headings imports with a warning; an
/// outcome time frame rct cannot place gets a note.
#[test]
fn ctgov_unsplittable_criteria_and_unknown_time_frames_are_noted() {
    let r =
        ctgov::import_study(&study("* Adults\n* No cancer", "After 5 doses"), "s.json").unwrap();
    assert_eq!((r.inclusion, r.exclusion), (2, 0));
    assert!(
        r.notes
            .iter()
            .any(|n| n.message.contains("could not be split")),
        "{:?}",
        r.notes
    );
    assert!(
        r.notes
            .iter()
            .any(|n| n.path.ends_with("timeFrame") && n.message.contains("After 5 doses")),
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
    assert!(
        e.contains("v1.json") && e.contains("API v1") && e.contains("api/v2"),
        "{e}"
    );
    // A JSON syntax error names the input's line and column.
    let e = ctgov::import_study("{\n  \"a\": ,\n}", "bad.json")
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad.json") && e.contains("line 2"), "{e}");
}

const ODM_META: &str = r#"<Study OID="S"><GlobalVariables><StudyName>S</StudyName><StudyDescription>S</StudyDescription><ProtocolName>s</ProtocolName></GlobalVariables>
<MetaDataVersion OID="v1" Name="v1">
<FormDef OID="F.a" Name="A" Repeating="No"><ItemGroupRef ItemGroupOID="G.x" Mandatory="No"/></FormDef>
<FormDef OID="F.b" Name="B" Repeating="No"><ItemGroupRef ItemGroupOID="G.x" Mandatory="No"/></FormDef>
<ItemGroupDef OID="G.x" Name="x" Repeating="No"><ItemRef ItemOID="I.w" Mandatory="No"/></ItemGroupDef>
<ItemDef OID="I.w" Name="w" DataType="integer"><Question><TranslatedText>Weight</TranslatedText></Question></ItemDef>
</MetaDataVersion></Study>"#;

fn odm(clinical: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" FileOID="f" FileType="Snapshot" CreationDateTime="2024-01-01T00:00:00Z" ODMVersion="1.3.2">{ODM_META}<ClinicalData StudyOID="S" MetaDataVersionOID="v1">{clinical}</ClinicalData></ODM>"#
    )
}

const AUDIT: &str = "<AuditRecord><UserRef UserOID=\"USR.ann\"/><LocationRef LocationOID=\"L.s1\"/><DateTimeStamp>2024-02-01T10:00:00Z</DateTimeStamp></AuditRecord>";

/// `odm/redcapr-clinical-trial-1-project.xml`: a REDCap classic project's
/// forms sit directly under SubjectData; its 6,500 values used to be
/// dropped with `item_data: 0`. Without audit records the import is refused
/// with the migration flags named; with them, every value is an event
/// attributed to the migrating user, with the source's SHA-256.
#[test]
fn odm_forms_directly_under_subjects_are_read_or_refused_never_dropped() {
    use rct_interop::odm;
    let x = odm(
        r#"<SubjectData SubjectKey="1"><FormData FormOID="F.a"><ItemGroupData ItemGroupOID="G.x"><ItemData ItemOID="I.w" Value="70"/></ItemGroupData></FormData></SubjectData>"#,
    );
    let e = odm::import(
        &x,
        "classic.xml",
        rct_record::TrialSecrets::insecure_for_tests(1),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("--attribute-to") && e.contains("FormData[F.a]"),
        "{e}"
    );
    let m = odm::Migration {
        user: "mia".into(),
        reason: "migration from REDCap project 123".into(),
        at: "2026-01-01T00:00:00Z".parse().unwrap(),
        site: "imported".into(),
    };
    let r = odm::import_with(
        &x,
        "classic.xml",
        &odm::ImportOptions { migration: Some(m) },
        rct_record::TrialSecrets::insecure_for_tests(1),
    )
    .unwrap();
    assert_eq!((r.subjects, r.forms, r.item_data), (1, 1, 1));
    let ev = &r.events[1];
    assert_eq!(ev.actor, "mia");
    let why = ev.reason.as_deref().unwrap();
    assert!(
        why.starts_with("migrated: migration from REDCap project 123") && why.contains("SHA-256"),
        "{why}"
    );
    let p = serde_json::to_value(&ev.payload).unwrap();
    assert_eq!(p["visit"], odm::CLASSIC_VISIT);
    assert!(
        r.protocol_toml.contains("id = \"record\""),
        "{}",
        r.protocol_toml
    );
}

/// An AuditRecord on the enclosing ItemGroupData covers its values; items
/// shared by two forms are credited to the form they were entered on;
/// Update is a change and Remove a removal (a change to no value).
#[test]
fn odm_inherited_audit_shared_items_update_and_remove() {
    use rct_interop::odm;
    let x = odm(&format!(
        r#"<SubjectData SubjectKey="1"><StudyEventData StudyEventOID="SE.v1">
<FormData FormOID="F.a"><ItemGroupData ItemGroupOID="G.x">{AUDIT}<ItemData ItemOID="I.w" Value="70"/></ItemGroupData></FormData>
<FormData FormOID="F.b"><ItemGroupData ItemGroupOID="G.x">{AUDIT}<ItemData ItemOID="I.w" Value="71"/></ItemGroupData></FormData>
</StudyEventData><StudyEventData StudyEventOID="SE.v1">
<FormData FormOID="F.a"><ItemGroupData ItemGroupOID="G.x" TransactionType="Update">{AUDIT}<ItemData ItemOID="I.w" Value="72" TransactionType="Update"/></ItemGroupData></FormData>
<FormData FormOID="F.b"><ItemGroupData ItemGroupOID="G.x">{AUDIT}<ItemData ItemOID="I.w" TransactionType="Remove"/></ItemGroupData></FormData>
</StudyEventData></SubjectData>"#
    ));
    let r = odm::import(&x, "a.xml", rct_record::TrialSecrets::insecure_for_tests(1)).unwrap();
    assert_eq!(r.item_data, 4);
    let p: Vec<serde_json::Value> = r.events[1..]
        .iter()
        .map(|e| serde_json::to_value(&e.payload).unwrap())
        .collect();
    assert_eq!(
        (p[0]["form"].as_str(), p[1]["form"].as_str()),
        (Some("a"), Some("b"))
    );
    assert_eq!(p[2]["type"], "value_changed");
    assert_eq!(
        (p[2]["old"].as_i64(), p[2]["new"].as_i64()),
        (Some(70), Some(72))
    );
    assert_eq!(p[3]["type"], "value_changed");
    assert_eq!(
        (p[3]["old"].as_i64(), p[3]["new"].is_null()),
        (Some(71), true)
    );
    assert_eq!(r.events[1].actor, "ann");
}

/// `odm/redcapr-repeating-instruments-project.xml` and
/// `odm/redcapr-simple-project.xml`: repeating forms and file uploads are
/// counted as skipped by reason, never collapsed or dropped.
#[test]
fn odm_repeating_groups_and_binary_values_are_skipped_by_reason() {
    use rct_interop::odm;
    let x = odm(&format!(
        r#"<SubjectData SubjectKey="1"><StudyEventData StudyEventOID="SE.v1">{AUDIT}
<FormData FormOID="F.a" FormRepeatKey="1"><ItemGroupData ItemGroupOID="G.x"><ItemData ItemOID="I.w" Value="70"/></ItemGroupData></FormData>
<FormData FormOID="F.a" FormRepeatKey="2"><ItemGroupData ItemGroupOID="G.x"><ItemData ItemOID="I.w" Value="71"/></ItemGroupData></FormData>
<FormData FormOID="F.b"><ItemGroupData ItemGroupOID="G.x"><ItemData ItemOID="I.w" Value="1"/><ItemDataBase64Binary ItemOID="I.w">AAAA</ItemDataBase64Binary><ItemData ItemOID="I.nope" Value="1"/></ItemGroupData></FormData>
</StudyEventData></SubjectData>"#
    ));
    let r = odm::import(&x, "r.xml", rct_record::TrialSecrets::insecure_for_tests(1)).unwrap();
    assert_eq!(r.item_data, 1);
    assert_eq!(r.skipped.get(odm::SKIP_REPEATING), Some(&2));
    assert_eq!(r.skipped.get(odm::SKIP_UNKNOWN_ITEM), Some(&1));
    assert_eq!(r.skipped.values().sum::<usize>(), 4, "{:?}", r.skipped);
}

/// An ISO-8859-1 file is read by its declaration.
#[test]
fn odm_latin1_declaration_is_followed() {
    use rct_interop::odm;
    let x = odm("")
        .replace("UTF-8", "ISO-8859-1")
        .replace("Weight", "Gew\u{e9}");
    let bytes: Vec<u8> = x.chars().map(|c| c as u32 as u8).collect();
    let text = odm::decode(&bytes, "l.xml").unwrap();
    let r = odm::import(
        &text,
        "l.xml",
        rct_record::TrialSecrets::insecure_for_tests(1),
    )
    .unwrap();
    assert!(r.protocol_toml.contains("Gew\u{e9}"), "{}", r.protocol_toml);
}

/// `odm/openclinica31-oc-conversion-tools-test-odm.xml` has two ItemDefs
/// named `MSA1_noeligreas`; `odm/odmlib-odm-data-snapshot.xml` has OIDs
/// with spaces. The OID is the identity: distinct items stay distinct
/// fields, ids are identifiers, names and questions become labels with the
/// XML's indentation collapsed.
#[test]
fn odm_oids_are_identity_and_labels_are_trimmed() {
    use rct_interop::odm;
    let meta = r#"<Study OID="S"><GlobalVariables><StudyName>S</StudyName><StudyDescription>S</StudyDescription><ProtocolName>s</ProtocolName></GlobalVariables>
<MetaDataVersion OID="v1" Name="v1">
<FormDef OID="F.a" Name="A" Repeating="No"><ItemGroupRef ItemGroupOID="G.x" Mandatory="No"/></FormDef>
<ItemGroupDef OID="G.x" Name="x" Repeating="No"><ItemRef ItemOID="I_A_1" Mandatory="No"/><ItemRef ItemOID="I_A_2" Mandatory="No"/><ItemRef ItemOID="IT.MU 10 &quot;x&quot;" Mandatory="No"/></ItemGroupDef>
<ItemDef OID="I_A_1" Name="reason" DataType="text"><Question><TranslatedText>
            Why not
            eligible?</TranslatedText></Question></ItemDef>
<ItemDef OID="I_A_2" Name="reason" DataType="text"/>
<ItemDef OID="IT.MU 10 &quot;x&quot;" Name="  MU  " DataType="text"><CodeListRef CodeListOID="CL.NOPE"/></ItemDef>
</MetaDataVersion></Study>"#;
    let x = format!(
        r#"<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" FileOID="f" FileType="Snapshot" CreationDateTime="2024-01-01T00:00:00Z" ODMVersion="1.3.2">{meta}</ODM>"#
    );
    let r = odm::import(&x, "o.xml", rct_record::TrialSecrets::insecure_for_tests(1)).unwrap();
    let t = &r.protocol_toml;
    // Form ids from FormDef OIDs: rct's `F.a` is `a`; REDCap's style is slugged.
    assert!(t.contains("[[forms]]\nid = \"a\""), "{t}");
    let redcap = x.replace("OID=\"F.a\"", "OID=\"Form.demo graphics\"");
    let t2 = odm::import(
        &redcap,
        "o.xml",
        rct_record::TrialSecrets::insecure_for_tests(1),
    )
    .unwrap()
    .protocol_toml;
    assert!(
        t2.contains("[[forms]]\nid = \"form_demo_graphics\""),
        "{t2}"
    );
    assert!(
        t.contains("id = \"I_A_1\"\nlabel = \"Why not eligible?\""),
        "{t}"
    );
    assert!(t.contains("id = \"I_A_2\"\nlabel = \"reason\""), "{t}");
    assert!(t.contains("id = \"it_mu_10_x\"\nlabel = \"MU\""), "{t}");
    assert!(
        r.notes.iter().any(|n| n.contains("CL.NOPE")),
        "{:?}",
        r.notes
    );
}

proptest::proptest! {
    /// Any criteria text and time frame: a split and a list, never a panic.
    #[test]
    fn ctgov_text_never_panics(text in "\\PC{0,300}", tf in "[A-Za-z0-9 ,.\\-()]{0,80}") {
        let s = ctgov::split_criteria(&text);
        proptest::prop_assert!(s.lines.iter().all(|l| !l.text.is_empty()));
        let v = ctgov::timeframe_visits(&tf);
        proptest::prop_assert!(v.iter().all(|x| x.day >= 0 && x.day <= 20 * 366));
    }

    /// Any bytes under any declared encoding: text or a clear error.
    #[test]
    fn odm_decoding_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200), enc in "(UTF-8|ISO-8859-1|US-ASCII|x)") {
        let mut x = format!("<?xml version=\"1.0\" encoding=\"{enc}\"?>").into_bytes();
        x.extend(bytes);
        match rct_interop::odm::decode(&x, "p.xml") {
            Ok(_) => {}
            Err(e) => proptest::prop_assert!(e.to_string().contains("p.xml")),
        }
    }
}

/// A transaction type on an enclosing FormData applies to the values in it.
#[test]
fn odm_transaction_type_is_inherited() {
    use rct_interop::odm;
    let x = odm(&format!(
        r#"<SubjectData SubjectKey="1"><StudyEventData StudyEventOID="SE.v1">{AUDIT}
<FormData FormOID="F.a"><ItemGroupData ItemGroupOID="G.x"><ItemData ItemOID="I.w" Value="70"/></ItemGroupData></FormData>
</StudyEventData><StudyEventData StudyEventOID="SE.v1">{AUDIT}
<FormData FormOID="F.a" TransactionType="Remove"><ItemGroupData ItemGroupOID="G.x"><ItemData ItemOID="I.w"/></ItemGroupData></FormData>
</StudyEventData></SubjectData>"#
    ));
    let r = odm::import(&x, "t.xml", rct_record::TrialSecrets::insecure_for_tests(1)).unwrap();
    let p = serde_json::to_value(&r.events[2].payload).unwrap();
    assert_eq!(p["type"], "value_changed");
    assert_eq!((p["old"].as_i64(), p["new"].is_null()), (Some(70), true));
}

/// The migrating user follows the record's user-name rule; a reason is needed.
#[test]
fn odm_migration_user_and_reason_are_checked() {
    use rct_interop::odm;
    let x = odm("");
    for (user, reason, what) in [
        ("bad name", "r", "--attribute-to"),
        ("", "r", "--attribute-to"),
        ("mia", "  ", "--reason"),
    ] {
        let m = odm::Migration {
            user: user.into(),
            reason: reason.into(),
            at: "2026-01-01T00:00:00Z".parse().unwrap(),
            site: "imported".into(),
        };
        let e = odm::import_with(
            &x,
            "m.xml",
            &odm::ImportOptions { migration: Some(m) },
            rct_record::TrialSecrets::insecure_for_tests(1),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains(what) && e.contains("m.xml"), "{e}");
    }
}
