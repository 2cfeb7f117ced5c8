#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! CSV exports read back with a CSV reader: every current value of the
//! generated trial (reference: the value events replayed by hand here, not
//! the fold) is in its wide table and in the long table; the blinded export
//! carries neutral codes only.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use rct_interop::{synth, tables};
use rct_record::Payload;

fn lupex() -> rct_core::protocol::Protocol {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../protocols/lupex.toml");
    rct_core::protocol::parse(&std::fs::read_to_string(path).unwrap(), "lupex.toml").unwrap()
}

fn read(csv: &str) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(str::to_string))
                .collect()
        })
        .collect();
    (header, rows)
}

fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn wide_and_long_tables_hold_every_current_value() {
    let p = lupex();
    let events = synth::generate(&p, 8, 21, "2024-01-01T08:00:00Z".parse().unwrap());
    // Reference: replay value events by hand.
    let mut current: BTreeMap<(String, String, String, String), String> = BTreeMap::new();
    let mut arms: BTreeMap<String, String> = BTreeMap::new();
    for e in &events {
        match &e.payload {
            Payload::ValueEntered {
                participant,
                visit,
                form,
                field,
                value,
            } => {
                current.insert(
                    (
                        participant.clone(),
                        visit.clone(),
                        form.clone(),
                        field.clone(),
                    ),
                    cell(value),
                );
            }
            Payload::ValueChanged {
                participant,
                visit,
                form,
                field,
                new,
                ..
            } => {
                current.insert(
                    (
                        participant.clone(),
                        visit.clone(),
                        form.clone(),
                        field.clone(),
                    ),
                    cell(new),
                );
            }
            Payload::Randomised {
                participant, arm, ..
            } => {
                arms.insert(participant.clone(), arm.clone());
            }
            _ => {}
        }
    }
    let out = tables::export(&p, &events, false).unwrap();
    let get = |name: &str| {
        out.iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let mut seen = 0;
    for ((pid, visit, form, field), want) in &current {
        let (header, rows) = read(&get(&format!("{visit}__{form}.csv")).csv);
        assert_eq!(&header[..3], ["participant", "site", "arm"]);
        let row = rows.iter().find(|r| r["participant"] == *pid).unwrap();
        assert_eq!(&row[field.as_str()], want, "{pid} {visit} {form} {field}");
        assert_eq!(row["arm"], arms[pid]);
        seen += 1;
    }
    let (_, long) = read(&get("long.csv").csv);
    assert_eq!(long.len(), seen);
    for r in &long {
        let key = (
            r["participant"].clone(),
            r["visit"].clone(),
            r["form"].clone(),
            r["field"].clone(),
        );
        assert_eq!(r["value"], current[&key]);
    }
    let weight = long
        .iter()
        .find(|r| r["form"] == "cpet" && r["field"] == "weight")
        .unwrap();
    assert_eq!(weight["unit"], "kg");
    assert_eq!(weight["label"], "Body weight at test");
    // The dictionary describes every column of every table.
    let (_, dict) = read(&get("dictionary.csv").csv);
    for t in out.iter().filter(|t| t.name != "dictionary.csv") {
        let (header, _) = read(&t.csv);
        for c in header {
            assert!(
                dict.iter()
                    .any(|d| d["table"] == t.name && d["column"] == c),
                "{} {c}",
                t.name
            );
        }
    }
    let vo2 = dict
        .iter()
        .find(|d| d["table"] == "baseline__cpet.csv" && d["column"] == "vo2max_rel")
        .unwrap();
    assert_eq!(vo2["unit"], "mL/kg/min");
    assert_eq!(vo2["note"], "derived: vo2max_abs / weight");
    let sex = dict
        .iter()
        .find(|d| d["column"] == "sex" && d["table"].ends_with("demographics.csv"));
    if let Some(s) = sex {
        assert!(s["codes"].contains('='));
    }
}

#[test]
fn blinded_tables_carry_neutral_codes_only() {
    let p = lupex();
    let events = synth::generate(&p, 12, 9, "2024-01-01T08:00:00Z".parse().unwrap());
    let out = tables::export(&p, &events, true).unwrap();
    assert!(out.iter().all(|t| !t.name.contains("exercise_session")));
    let mut arms: BTreeMap<String, String> = BTreeMap::new();
    for e in &events {
        if let Payload::Randomised {
            participant, arm, ..
        } = &e.payload
        {
            arms.insert(participant.clone(), arm.clone());
        }
    }
    let (header, long) = read(&out.iter().find(|t| t.name == "long.csv").unwrap().csv);
    assert_eq!(header[2], "arm_code");
    // One code per arm, consistently, and never the arm itself.
    let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in &long {
        map.entry(arms[&r["participant"]].clone())
            .or_default()
            .insert(r["arm_code"].clone());
    }
    assert_eq!(map.len(), 2);
    let codes: BTreeSet<String> = map
        .values()
        .map(|s| {
            assert_eq!(s.len(), 1);
            s.iter().next().unwrap().clone()
        })
        .collect();
    assert_eq!(codes, BTreeSet::from(["A".to_string(), "B".to_string()]));
    for t in &out {
        assert!(
            !t.csv.contains("hiit") && !t.csv.contains("Exercise (HIIT)"),
            "{}",
            t.name
        );
    }
    // The key depends on the concealed seed: another seed may swap it, and
    // it is the same for the same seed.
    let again = tables::neutral_codes("lupex", 9.into(), &["hiit".into(), "control".into()]);
    assert_eq!(
        again,
        tables::neutral_codes("lupex", 9.into(), &["hiit".into(), "control".into()])
    );
    let flips = (0..16u64)
        .map(|s| {
            tables::neutral_codes("lupex", s.into(), &["hiit".into(), "control".into()])["hiit"].clone()
        })
        .collect::<BTreeSet<_>>();
    assert_eq!(flips.len(), 2, "codes do not depend on the seed");
}
