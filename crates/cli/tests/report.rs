#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `rct analyse --db URL --protocol FILE --out DIR` end to end: a generated
//! LUPEX trial (rct_report::demo, 60 randomised) written to a SQLite store
//! and to a JSON-lines export, the report files it writes, and the refusal
//! of an unlocked database.

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::str::contains;
use rct_record::{Event, Payload};
use rct_store::{SqliteStore, Store};

fn protocol() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../protocols/lupex.toml"
    ))
}

fn events(locked: bool) -> Vec<Event> {
    let mut ev = rct_report::demo::generated_lupex_trial(20260601);
    if !locked {
        assert!(matches!(
            ev.last().unwrap().payload,
            Payload::DatabaseLocked
        ));
        ev.pop();
    }
    ev
}

fn sqlite_with(events: &[Event], dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("trial.db");
    let store = SqliteStore::open(&path).unwrap();
    store.append("lupex", events).unwrap();
    format!("sqlite:{}", path.display())
}

#[test]
fn writes_the_report_from_a_locked_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_with(&events(true), &dir);
    let out = dir.path().join("report");
    Command::cargo_bin("rct")
        .unwrap()
        .args(["analyse", "--db", &db, "--protocol"])
        .arg(protocol())
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("database locked"))
        .stdout(contains("primary"))
        .stdout(contains("arm[T.hiit]"));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    // report.json carries the same results at full precision: the primary
    // ITT estimate rounds to what report.md prints.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["flow"]["randomised"], 60);
    let primary = json["results"]["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == "primary" && m["population"] == "itt")
        .unwrap();
    let est = primary["estimates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["term"] == "arm[T.hiit]")
        .unwrap();
    let shown = format!("{:.3}", est["estimate"].as_f64().unwrap());
    assert!(md.contains(&shown), "report.md lacks the estimate {shown}");
    assert!(md.contains("## Participant flow (CONSORT)"));
    assert!(md.contains("| Allocated | 31 | 29 |"));
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<svg"));
    for f in ["consort.svg", "forest.svg", "effect_ifn_vo2max_hiit.svg"] {
        let svg = std::fs::read_to_string(out.join(f)).unwrap();
        assert!(svg.starts_with("<svg"), "{f}");
    }
    // The same record through a JSON-lines export gives the same report.
    let jsonl = dir.path().join("events.jsonl");
    let text: String = events(true)
        .iter()
        .map(|e| e.to_json_line(true) + "\n")
        .collect();
    std::fs::write(&jsonl, text).unwrap();
    let out2 = dir.path().join("report2");
    Command::cargo_bin("rct")
        .unwrap()
        .args(["analyse", "--db"])
        .arg(&jsonl)
        .arg("--protocol")
        .arg(protocol())
        .arg("--out")
        .arg(&out2)
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(out2.join("report.md")).unwrap(), md);
}

#[test]
fn refuses_an_unlocked_database_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_with(&events(false), &dir);
    let out = dir.path().join("report");
    Command::cargo_bin("rct")
        .unwrap()
        .args(["analyse", "--db", &db, "--protocol"])
        .arg(protocol())
        .arg("--out")
        .arg(&out)
        .assert()
        .failure()
        .stderr(contains("is not locked"));
    assert!(!out.exists());
}

#[test]
fn names_the_trials_a_database_holds_when_the_protocol_is_another() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_with(&events(true), &dir);
    let il2 = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../protocols/il2-sle.toml"
    ));
    Command::cargo_bin("rct")
        .unwrap()
        .args(["analyse", "--db", &db, "--protocol"])
        .arg(il2)
        .arg("--out")
        .arg(dir.path().join("x"))
        .assert()
        .failure()
        .stderr(contains("holds no trial"))
        .stderr(contains("lupex"));
}
