#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! ODM 1.3.2 export and import of both seed trials filled with generated
//! data: validation against the official CDISC schema (xmllint), blinding,
//! audit records, Unicode, and export -> import -> export identity.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Utc};
use rct_core::protocol::Protocol;
use rct_interop::odm::{self, ExportOptions};
use rct_interop::synth;
use rct_record::Event;
use rct_record::Payload;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn protocol(name: &str) -> Protocol {
    let path = repo().join("protocols").join(name);
    let src = std::fs::read_to_string(&path).unwrap();
    rct_core::protocol::parse(&src, name).unwrap_or_else(|d| panic!("{d}"))
}

fn start() -> DateTime<Utc> {
    "2024-03-01T08:00:00Z".parse().unwrap()
}

fn opts(unblinded: bool) -> ExportOptions {
    ExportOptions {
        unblinded,
        source_version: "test".into(),
    }
}

/// The official schema folder, or None (skip) when absent and not in CI.
fn schema_dir() -> Option<PathBuf> {
    let dir = rct_testdata::shared_root().join("odm-1.3.2-schema");
    let have_xmllint = Command::new("xmllint").arg("--version").output().is_ok();
    if dir.join("ODM1-3-2.xsd").exists() && have_xmllint {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "CI: the ODM schema ({}) or xmllint is missing",
            dir.display()
        );
    }
    eprintln!(
        "note: skipping schema validation: {} or xmllint missing",
        dir.display()
    );
    None
}

/// Validates `xml` with xmllint against the official schema (blinded) or the
/// official schema plus rct's extension (unblinded).
fn validate(xml: &str, unblinded: bool, tag: &str) {
    let Some(dir) = schema_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let doc = tmp.path().join(format!("{tag}.xml"));
    std::fs::write(&doc, xml).unwrap();
    let schema = if unblinded {
        let ext = tmp.path().join("rct-odm-ext.xsd");
        std::fs::write(&ext, odm::EXTENSION_XSD).unwrap();
        let wrapper = odm::EXTENDED_ODM_XSD
            .replace("@ODM_SCHEMA_DIR@", &dir.display().to_string())
            .replace("@RCT_EXT_XSD@", &ext.display().to_string());
        let w = tmp.path().join("odm-rct.xsd");
        std::fs::write(&w, wrapper).unwrap();
        w
    } else {
        dir.join("ODM1-3-2.xsd")
    };
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&doc)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{tag} does not validate:\n{}",
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn seal(drafts: Vec<rct_record::EventDraft>) -> Vec<Event> {
    let trial = drafts.first().map(|d| d.trial.clone()).unwrap_or_default();
    rct_record::seal_drafts(&trial, drafts).unwrap()
}

fn both() -> [(&'static str, Protocol); 2] {
    [
        ("lupex", protocol("lupex.toml")),
        ("il2-sle", protocol("il2-sle.toml")),
    ]
}

#[test]
fn seed_trials_validate_against_the_official_schema() {
    for (name, p) in both() {
        let events = synth::generate(&p, 12, 7, start());
        for unblinded in [false, true] {
            let (xml, summary) = odm::export(&p, &events, &opts(unblinded)).unwrap();
            assert_eq!(summary.subjects, 12, "{name}");
            assert_eq!(summary.skipped, 0);
            validate(&xml, unblinded, &format!("{name}-{unblinded}"));
        }
    }
}

#[test]
fn blinded_export_has_no_arms_allocations_or_arm_forms() {
    let p = protocol("lupex.toml");
    let mut events = synth::generate(&p, 10, 3, start());
    // One HIIT session form entered for a HIIT participant.
    let hiit = events
        .iter()
        .find_map(|e| match &e.payload {
            Payload::Randomised {
                participant, arm, ..
            } if arm == "hiit" => Some(participant.clone()),
            _ => None,
        })
        .unwrap();
    let last = events.last().unwrap().clone();
    events.push(
        rct_record::EventDraft {
            software: None,
            trial: last.trial.clone(),
            at: last.at,
            actor: "physio".into(),
            role: rct_record::Role::InterventionStaff,
            site: None,
            reason: None,
            payload: Payload::ValueEntered {
                participant: hiit,
                visit: "week6".into(),
                form: "exercise_session".into(),
                field: "attended".into(),
                value: serde_json::json!(true),
            },
        }
        .seal(last.seq + 1, &last.hash),
    );
    let (blind, s) = odm::export(&p, &events, &opts(false)).unwrap();
    assert_eq!(s.allocations, 0);
    // Withheld arm-form values are not even counted, and the design text
    // (block sizes) is left out.
    assert_eq!(s.skipped, 0);
    assert!(
        !blind.contains("rct.design"),
        "design text in a blinded export"
    );
    assert!(!blind.contains("rct:"), "extension in a blinded export");
    assert!(!blind.contains(odm::RCT_NS));
    assert!(
        !blind.contains("exercise_session"),
        "HIIT-only form leaks the arm"
    );
    assert!(!blind.contains("Exercise (HIIT)"));
    let (open, s) = odm::export(&p, &events, &opts(true)).unwrap();
    assert_eq!(s.allocations, 10);
    assert!(open.contains("<rct:Arm ID=\"hiit\" Label=\"Exercise (HIIT)\" Kind=\"experimental\" Weight=\"1\" Control=\"false\""));
    assert_eq!(open.matches("<rct:Allocation ").count(), 10);
    assert!(open.contains("F.exercise_session"));
    assert!(open.contains("<Alias Context=\"rct.design\" Name=\"rpbr:2,4\"/>"));
}

#[test]
fn audit_records_and_unicode() {
    let p = protocol("il2-sle.toml");
    let events = synth::generate(&p, 6, 11, start());
    let (xml, s) = odm::export(&p, &events, &opts(false)).unwrap();
    let values = events
        .iter()
        .filter(|e| {
            matches!(
                e.payload,
                rct_record::Payload::ValueEntered { .. } | rct_record::Payload::ValueChanged { .. }
            )
        })
        .count();
    // Every value event of a visible form is one ItemData with one AuditRecord.
    assert_eq!(s.item_data + s.skipped, values);
    assert_eq!(xml.matches("<AuditRecord>").count(), s.item_data);
    let changes = events
        .iter()
        .filter(|e| e.payload.kind() == "value_changed")
        .count();
    assert!(changes > 0);
    assert_eq!(xml.matches("TransactionType=\"Update\"").count(), changes);
    assert_eq!(
        xml.matches("<ReasonForChange>transcription error corrected against the source – query Q1</ReasonForChange>").count(),
        changes
    );
    // Unicode as characters, never as character references.
    assert!(xml.contains("患者自述疲劳") || xml.contains("Ærøskøbing"));
    assert!(xml.contains("<LoginName>søren.assessor</LoginName>"));
    assert!(
        !xml.contains("&#2"),
        "numeric character references for non-ASCII"
    );
    // Markup characters in values are escaped.
    if xml.contains("rash") {
        assert!(xml.contains("Value=\"rash &lt;2 cm&gt; &amp; &quot;itch&quot;\""));
    }
    // Sites as Locations, users with the sites they acted at.
    assert!(xml.contains("<Location OID=\"L.pkuph\" Name=\"Peking University People's Hospital\" LocationType=\"Site\">"));
    assert!(xml.contains("EffectiveDate=\"2024-03-01\""));
}

#[test]
fn export_import_export_is_identical() {
    for (name, p) in both() {
        let events = synth::generate(&p, 9, 5, start());
        for unblinded in [true, false] {
            let (first, _) = odm::export(&p, &events, &opts(unblinded)).unwrap();
            let imported = odm::import(
                &first,
                "first.xml",
                rct_record::TrialSecrets::insecure_for_tests(1),
            )
            .unwrap();
            let skeleton = rct_core::protocol::parse(&imported.protocol_toml, "skeleton.toml")
                .unwrap_or_else(|d| panic!("{name}: {d}\n{}", imported.protocol_toml));
            let again = seal(imported.events);
            let (second, _) = odm::export(&skeleton, &again, &opts(unblinded)).unwrap();
            if first != second {
                let line = first
                    .lines()
                    .zip(second.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                panic!(
                    "{name} unblinded={unblinded}: differs at line {}:\n  first:  {:?}\n  second: {:?}",
                    line + 1,
                    first.lines().nth(line),
                    second.lines().nth(line)
                );
            }
        }
    }
}

#[test]
fn import_rejects_what_it_cannot_read_with_the_place() {
    let e = odm::import(
        "<ODM><Study>",
        "x.xml",
        rct_record::TrialSecrets::insecure_for_tests(1),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("x.xml") && e.contains("XML"), "{e}");
    let e = odm::import(
        "<foo/>",
        "x.xml",
        rct_record::TrialSecrets::insecure_for_tests(1),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("<ODM>"), "{e}");
    let p = protocol("lupex.toml");
    let events = synth::generate(&p, 2, 1, start());
    let (xml, _) = odm::export(&p, &events, &opts(false)).unwrap();
    let broken = xml.replacen("<DateTimeStamp>2024", "<DateTimeStamp>x2024", 1);
    let e = odm::import(
        &broken,
        "x.xml",
        rct_record::TrialSecrets::insecure_for_tests(1),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("SubjectData[P0001]") && e.contains("DateTimeStamp"),
        "{e}"
    );
}
