#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Every file under `$RCT_SHARED_DATA/wild` (files written by other systems,
//! listed in its SOURCES.md; issue 23), through the `rct` commands that read
//! it. Each file is either read with the figures of the independent Python
//! reading `tools/wild/wild_reference.py` (fitparse, openpyxl, ElementTree;
//! its output is `tests/fixtures/wild_reference.json`), or refused with a
//! message naming the file, what is unsupported and what to do. A file with
//! no expectation in the fixture fails the suite, so a new file cannot slip
//! through unread. docs/interop.md tables the outcome of every file.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

fn reference() -> Value {
    serde_json::from_str(include_str!("fixtures/wild_reference.json")).unwrap()
}

fn rct(args: &[&str], file: &Path) -> Output {
    let mut c = Command::cargo_bin("rct").unwrap();
    c.args(args.iter().take_while(|a| **a != "FILE"));
    c.arg(file);
    c.args(args.iter().skip_while(|a| **a != "FILE").skip(1));
    c.output().unwrap()
}

fn json_of(out: &Output, what: &str) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{what}: stdout is not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A refusal: non-zero exit, the file named, and every phrase present.
fn refused(out: &Output, file: &Path, phrases: &[&str]) {
    let e = stderr(out);
    assert!(
        !out.status.success(),
        "{}: expected a refusal",
        file.display()
    );
    assert!(
        e.contains(&file.display().to_string()),
        "the file is not named: {e}"
    );
    for p in phrases {
        assert!(e.contains(p), "`{p}` missing from: {e}");
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n != "SOURCES.md") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_wild_file_is_read_right_or_refused_clearly() {
    let Some(wild) = rct_testdata::shared_data("wild") else {
        return;
    };
    let reference = reference();
    let tmp = tempfile::tempdir().unwrap();
    let all = files(&wild);
    assert!(all.len() >= 100, "{} files", all.len());
    for f in &all {
        let key = f
            .strip_prefix(&wild)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let exp = reference
            .get(&key)
            .unwrap_or_else(|| panic!("{key}: no expectation in tests/fixtures/wild_reference.json: run tools/wild/wild_reference.py"));
        let kind = key.split('/').next().unwrap();
        match kind {
            "redcap" => redcap(f, exp),
            "odm" => odm(f, exp, tmp.path()),
            "ctgov" => ctgov(f, exp, tmp.path()),
            "fit" => fit(f, exp),
            "cpet" => cpet(f, exp),
            "nanostring" => nanostring(f, exp),
            "analysis" => analysis(f, exp),
            other => panic!("{key}: no reader for the folder `{other}`"),
        }
    }
}

fn redcap(f: &Path, exp: &Value) {
    // With --json and no --out, only the report is printed.
    let out = rct(&["import", "redcap-dictionary", "FILE", "--json"], f);
    if exp.get("refused").is_some() {
        // Data Dictionary File 3 is invalid on purpose (a duplicate variable).
        refused(
            &out,
            f,
            &["defined twice", exp["variable"].as_str().unwrap(), "unique"],
        );
        return;
    }
    assert!(out.status.success(), "{}: {}", f.display(), stderr(&out));
    let r = json_of(&out, &f.display().to_string());
    assert_eq!(r["forms"], exp["forms"], "{}: forms", f.display());
    assert_eq!(r["fields"], exp["fields"], "{}: fields", f.display());
    // No issue lands on the header row: rows are counted right (CR-only files too).
    for i in r["issues"].as_array().unwrap() {
        assert!(i["row"].as_u64().unwrap() >= 2, "{}: {i}", f.display());
    }
}

fn odm(f: &Path, exp: &Value, tmp: &Path) {
    let p = tmp.join("p.toml");
    let e = tmp.join("e.jsonl");
    let (p, e) = (p.to_str().unwrap(), e.to_str().unwrap());
    let base = [
        "import",
        "odm",
        "FILE",
        "--protocol-out",
        p,
        "--events-out",
        e,
        "--json",
    ];
    let out = rct(&base, f);
    if exp["has_study"] == false {
        refused(
            &out,
            f,
            &["no <Study>", "export the study with its metadata"],
        );
        return;
    }
    let values = exp["values"].as_u64().unwrap();
    let skips = [
        "skipped_repeating",
        "skipped_binary",
        "skipped_unknown_item",
    ]
    .iter()
    .map(|k| exp[k].as_u64().unwrap())
    .sum::<u64>();
    if values + skips > 0 && exp["audit_records"] == false {
        // A snapshot without audit records: refused, with the way to migrate it.
        refused(
            &out,
            f,
            &["no <AuditRecord>", "--attribute-to USER --reason"],
        );
        let mut mig = base.to_vec();
        mig.extend(["--attribute-to", "migrator", "--reason", "migration test"]);
        if skips > 0 {
            // Skipped values stop the import unless accepted.
            refused(
                &rct(&mig, f),
                f,
                &["would be skipped", "--allow-skips", "nothing was written"],
            );
            mig.push("--allow-skips");
        }
        let out = rct(&mig, f);
        assert!(out.status.success(), "{}: {}", f.display(), stderr(&out));
        let r = json_of(&out, &f.display().to_string());
        assert_eq!(r["subjects"], exp["subjects"], "{}", f.display());
        assert_eq!(r["item_data"].as_u64(), Some(values), "{}", f.display());
        assert_eq!(r["forms"], exp["forms_with_values"], "{}", f.display());
        assert_eq!(r["events"].as_u64(), Some(values + 1), "{}", f.display());
        let sk = &r["skipped"];
        let get = |k: &str| sk.get(k).and_then(Value::as_u64).unwrap_or(0);
        assert_eq!(
            get("repeating group (not yet supported)"),
            exp["skipped_repeating"].as_u64().unwrap(),
            "{}: {sk}",
            f.display()
        );
        assert_eq!(
            get("<ItemDataBase64Binary> value (binary or typed ItemData is not imported)"),
            exp["skipped_binary"].as_u64().unwrap(),
            "{}: {sk}",
            f.display()
        );
        assert_eq!(
            sk.as_object()
                .unwrap()
                .values()
                .filter_map(Value::as_u64)
                .sum::<u64>(),
            skips,
            "{}: {sk}",
            f.display()
        );
        // Every value event is attributed to the migrating user.
        let events = std::fs::read_to_string(e).unwrap();
        let migrated = events
            .lines()
            .filter(|l| l.contains("\"actor\":\"migrator\""))
            .count();
        assert_eq!(migrated as u64, values, "{}", f.display());
        return;
    }
    // Metadata only: read, with no values to drop.
    assert!(out.status.success(), "{}: {}", f.display(), stderr(&out));
    let r = json_of(&out, &f.display().to_string());
    assert_eq!(r["subjects"], exp["subjects"]);
    assert_eq!(r["item_data"].as_u64(), Some(values));
}

fn ctgov(f: &Path, exp: &Value, tmp: &Path) {
    let out_file = tmp.join("c.toml");
    let out = rct(
        &[
            "protocol",
            "import-ctgov",
            "FILE",
            "--json",
            "--out",
            out_file.to_str().unwrap(),
        ],
        f,
    );
    if exp.get("refused").is_some() {
        refused(&out, f, &["API v1", "api/v2"]);
        return;
    }
    let r = json_of(&out, &f.display().to_string());
    for k in ["arms", "inclusion", "exclusion", "outcomes"] {
        assert_eq!(r[k], exp[k], "{}: {k}", f.display());
    }
    let toml = std::fs::read_to_string(&out_file).unwrap();
    // Every outcome has timepoints, or a note says why not.
    let empty = toml.matches("timepoints = []").count();
    let noted = r["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["path"].as_str().unwrap().ends_with("timeFrame"))
        .count();
    assert_eq!(
        empty,
        noted,
        "{}: outcomes without timepoints and without a note",
        f.display()
    );
    assert!(
        !toml.contains("\\\\>") && !toml.contains("\\\\<"),
        "{}: markdown escapes left",
        f.display()
    );
    if !out.status.success() {
        // A partial record: the checker's lines are the generated file's, not the JSON's.
        let e = stderr(&out);
        assert!(
            e.contains("lines below are lines of") && e.contains("c.toml:"),
            "{e}"
        );
    }
}

fn fit(f: &Path, exp: &Value) {
    let bytes = std::fs::read(f).unwrap();
    let name = f.display().to_string();
    let out = rct(&["hr", "compliance", "FILE", "--hrmax", "190", "--json"], f);
    let records = exp["records"].as_u64().unwrap();
    if records == 0 {
        // A monitoring file holds no session.
        assert!(rct_exercise::read_fit(&bytes, &name).is_err());
        refused(&out, f, &["no heart-rate data", "activity file"]);
        return;
    }
    let rec = rct_exercise::read_fit(&bytes, &name).unwrap();
    assert_eq!(rec.samples.len() as u64, records, "{name}");
    let hr = rec.samples.iter().filter(|s| s.hr.is_some()).count() as u64;
    assert_eq!(hr, exp["hr_samples"].as_u64().unwrap(), "{name}");
    let span = rec.samples.last().unwrap().t - rec.samples[0].t;
    assert_eq!(span as u64, exp["span_s"].as_u64().unwrap(), "{name}");
    if hr == 0 {
        // Never "not compliant": its own status and exit code.
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        let r = json_of(&out, &name);
        assert_eq!(r["heart_rate"], "no heart-rate data");
        assert!(r["phases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["compliant"].is_null()));
        assert!(
            stderr(&out).contains("no heart-rate data"),
            "{}",
            stderr(&out)
        );
    } else {
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert_eq!(json_of(&out, &name)["heart_rate"], "recorded");
    }
}

fn cpet(f: &Path, exp: &Value) {
    let out = rct(
        &[
            "cpet", "vo2max", "FILE", "--weight", "70", "--age", "40", "--json",
        ],
        f,
    );
    if exp.get("refused").is_some() {
        refused(
            &out,
            f,
            &["ZAN .dat export", "does not read", "export the test"],
        );
        return;
    }
    assert!(out.status.success(), "{}: {}", f.display(), stderr(&out));
    let r = json_of(&out, &f.display().to_string());
    assert_eq!(r["breaths"], exp["breaths"], "{}", f.display());
    let (v, e) = (
        r["vo2max_ml_min"].as_f64().unwrap(),
        exp["vo2peak_rolling30"].as_f64().unwrap(),
    );
    assert!((v - e).abs() < 1e-6 * e, "{}: {v} vs {e}", f.display());
    assert_eq!(
        r["at_seconds"].as_f64(),
        exp["at_s"].as_f64(),
        "{}",
        f.display()
    );
    // The cart, as SOURCES.md names it.
    let name = f.file_name().unwrap().to_string_lossy();
    let layout = match name.as_ref() {
        n if n.contains("cosmed") => "COSMED",
        n if n.contains("cortex") => "CORTEX",
        n if n.contains("vyntus") => "Vyntus",
        n => panic!("{n}: which cart?"),
    };
    assert_eq!(r["layout"], layout, "{name}");
}

fn nanostring(f: &Path, exp: &Value) {
    let name = f.display().to_string();
    let text = std::fs::read_to_string(f).unwrap();
    if name.to_lowercase().ends_with(".rlf") {
        let rlf = rct_omics::rlf::parse_rlf(&text, &name).unwrap();
        assert_eq!(
            rlf.records.len() as u64,
            exp["records"].as_u64().unwrap(),
            "{name}"
        );
        return;
    }
    let rcc = rct_omics::rcc::parse_rcc(&text, &name).unwrap();
    assert_eq!(
        rcc.probes.len() as u64,
        exp["probes"].as_u64().unwrap(),
        "{name}"
    );
    assert_eq!(
        rcc.lane.binding_density,
        exp["binding_density"].as_f64().unwrap(),
        "{name}"
    );
    let q = rct_omics::qc::qc_lane(&rcc, &rct_omics::qc::QcThresholds::default());
    match exp["pos_r2"].as_f64() {
        Some(r2) => {
            let got = q
                .pos_r2
                .unwrap_or_else(|| panic!("{name}: linearity not assessed: {:?}", q.notes));
            assert!((got - r2).abs() < 1e-9, "{name}: R^2 {got} vs {r2}");
        }
        None => assert!(q.pos_r2.is_none(), "{name}"),
    }
    // The CLI reads the lane too (one file at a time keeps failures local).
    let out = rct(&["nanostring", "qc", "FILE", "--json"], f);
    assert!(out.status.success(), "{name}: {}", stderr(&out));
}

fn analysis(f: &Path, exp: &Value) {
    let out = rct(
        &[
            "analyse",
            "--data",
            "FILE",
            "--model",
            "FEV1 ~ RACE + SEX + ARMCD * AVISIT",
            "--repeated",
            "AVISIT | USUBJID",
            "--covariance",
            "us",
            "--json",
        ],
        f,
    );
    assert!(out.status.success(), "{}: {}", f.display(), stderr(&out));
    let r = json_of(&out, &f.display().to_string());
    assert_eq!(r["rows_read"], exp["rows"]);
    assert_eq!(r["nobs"], exp["observations"]);
    assert_eq!(r["subjects"], exp["subjects_with_observations"]);
    assert_eq!(
        r["rows_dropped"].as_u64().unwrap(),
        exp["rows"].as_u64().unwrap() - exp["observations"].as_u64().unwrap()
    );
}

/// A REDCap project export imported as a migration into a trial database:
/// its values come out of `rct export csv` with the counts of the source
/// (tools/wild/wild_reference.py: 500 subjects, 6,500 values).
#[test]
fn a_redcap_project_migrates_and_exports_with_the_source_counts() {
    let Some(wild) = rct_testdata::shared_data("wild") else {
        return;
    };
    let key = "odm/redcapr-clinical-trial-1-project.xml";
    let exp = &reference()[key];
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", tmp.path().join("t.db").display());
    let p = tmp.path().join("p.toml");
    let out = rct(
        &[
            "import",
            "odm",
            "FILE",
            "--db",
            &db,
            "--protocol-out",
            p.to_str().unwrap(),
            "--attribute-to",
            "migrator",
            "--reason",
            "migration from REDCap project 1",
            "--json",
        ],
        &wild.join(key),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mut c = Command::cargo_bin("rct").unwrap();
    c.args(["protocol", "check"]).arg(&p).assert().success();
    let dir = tmp.path().join("csv");
    let mut c = Command::cargo_bin("rct").unwrap();
    let out = c
        .args(["export", "csv", "--protocol"])
        .arg(&p)
        .args(["--db", &db, "--json", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let r = json_of(&out, "export csv");
    let rows = |name: &str| {
        r["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"].as_str().unwrap().contains(name))
            .unwrap()["rows"]
            .as_u64()
    };
    assert_eq!(rows("long"), exp["values"].as_u64());
    assert_eq!(rows("demographics"), exp["subjects"].as_u64());
}
