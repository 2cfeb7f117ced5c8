#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `rct export odm|csv`, `rct import odm|redcap-dictionary` and
//! `rct protocol import-ctgov` end to end, through a SQLite trial database.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rct() -> Command {
    Command::cargo_bin("rct").unwrap()
}

fn lupex() -> PathBuf {
    root().join("protocols/lupex.toml")
}

/// A SQLite database and an events file holding a generated LUPEX trial.
fn trial(dir: &Path, n: usize) -> (String, PathBuf) {
    let src = std::fs::read_to_string(lupex()).unwrap();
    let p = rct_core::protocol::parse(&src, "lupex.toml").unwrap();
    let events = rct_interop::synth::generate(&p, n, 17, "2024-05-01T09:00:00Z".parse().unwrap());
    let db = dir.join("trial.db");
    let store = rct_store::open(db.to_str().unwrap()).unwrap();
    store.append("lupex", &events).unwrap();
    let file = dir.join("events.jsonl");
    let text: String = events.iter().map(|e| e.to_json_line(true) + "\n").collect();
    std::fs::write(&file, text).unwrap();
    (format!("sqlite:{}", db.display()), file)
}

#[test]
fn odm_export_import_export_through_the_database_is_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, _) = trial(tmp.path(), 5);
    let a = tmp.path().join("a.xml");
    let out = rct()
        .args(["export", "odm", "--protocol"])
        .arg(lupex())
        .args(["--db", &db, "--as-role", "pharmacist", "--json", "--out"])
        .arg(&a)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["unblinded"], true);
    assert_eq!(summary["subjects"], 5);
    assert_eq!(summary["allocations"], 5);

    let skeleton = tmp.path().join("skeleton.toml");
    let db2 = format!("sqlite:{}", tmp.path().join("imported.db").display());
    rct()
        .args(["import", "odm"])
        .arg(&a)
        .args(["--db", &db2, "--protocol-out"])
        .arg(&skeleton)
        .assert()
        .success();
    rct()
        .args(["protocol", "check"])
        .arg(&skeleton)
        .assert()
        .success();
    let b = tmp.path().join("b.xml");
    rct()
        .args(["export", "odm", "--protocol"])
        .arg(&skeleton)
        .args(["--db", &db2, "--as-role", "pharmacist", "--out"])
        .arg(&b)
        .assert()
        .success();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    // A second import into the same database is refused.
    rct()
        .args(["import", "odm"])
        .arg(&a)
        .args(["--db", &db2, "--protocol-out"])
        .arg(tmp.path().join("again.toml"))
        .assert()
        .failure()
        .stderr(predicates::str::contains("already holds trial `lupex`"));
}

#[test]
fn blinded_roles_get_a_blinded_odm_export() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, events) = trial(tmp.path(), 3);
    for extra in [vec!["--as-role", "investigator"], vec!["--blinded"], vec![]] {
        let out = rct()
            .args(["export", "odm", "--protocol"])
            .arg(lupex())
            .args(["--db", &db])
            .args(&extra)
            .output()
            .unwrap();
        assert!(out.status.success());
        let xml = String::from_utf8(out.stdout).unwrap();
        assert!(xml.starts_with("<?xml"));
        assert!(
            !xml.contains("rct:Allocation") && !xml.contains("exercise_session"),
            "{extra:?}"
        );
    }
    // The same from an events file.
    rct()
        .args(["export", "odm", "--protocol"])
        .arg(lupex())
        .arg("--events")
        .arg(&events)
        .args(["--as-role", "intervention_staff"])
        .assert()
        .success()
        .stdout(predicates::str::contains("<rct:Allocation "));
}

#[test]
fn csv_export_blinded_and_open() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, _) = trial(tmp.path(), 4);
    let dir = tmp.path().join("csv");
    let out = rct()
        .args(["export", "csv", "--protocol"])
        .arg(lupex())
        .args(["--db", &db, "--blinded", "--json", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["blinded"], true);
    let long = std::fs::read_to_string(dir.join("long.csv")).unwrap();
    assert!(long
        .starts_with("participant,site,visit,form,field,value,unit,label,recorded_at,recorded_by"));
    assert!(!long.contains("hiit"));
    assert!(dir.join("dictionary.csv").exists());
    assert!(dir.join("baseline__cpet.csv").exists());
    let open = tmp.path().join("open");
    rct()
        .args(["export", "csv", "--protocol"])
        .arg(lupex())
        .args(["--db", &db, "--as-role", "intervention_staff", "--out"])
        .arg(&open)
        .assert()
        .success()
        .stdout(predicates::str::contains("long.csv"));
    assert!(
        open.join("baseline__exercise_session.csv").exists()
            || std::fs::read_dir(&open).unwrap().count() > 3
    );
}

#[test]
fn redcap_and_ctgov_imports() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = root().join("crates/interop/tests/fixtures");
    let forms = tmp.path().join("forms.toml");
    let out = rct()
        .args(["import", "redcap-dictionary"])
        .arg(fx.join("redcap_all_types.csv"))
        .arg("--out")
        .arg(&forms)
        .output()
        .unwrap();
    assert!(out.status.success());
    let report = String::from_utf8(out.stdout).unwrap();
    assert!(report.contains("6 item(s) not translated"), "{report}");
    assert!(
        report.contains("row 53 flag [Choices, Calculations, OR Slider Labels] untranslated: if()"),
        "{report}"
    );
    let json = rct()
        .args(["import", "redcap-dictionary", "--json"])
        .arg(fx.join("redcap_all_types.csv"))
        .output()
        .unwrap();
    let j: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(j["forms"], 2);

    let skeleton = tmp.path().join("lupex-ctgov.toml");
    rct()
        .args(["protocol", "import-ctgov"])
        .arg(fx.join("ctgov_lupex_v2.json"))
        .arg("--out")
        .arg(&skeleton)
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "NCT05478018: 2 arm(s), 4 inclusion and 9 exclusion criteria, 3 outcome(s)",
        ));
    rct()
        .args(["protocol", "check"])
        .arg(&skeleton)
        .assert()
        .success();
    rct()
        .args(["protocol", "import-ctgov"])
        .arg(fx.join("redcap_all_types.csv"))
        .assert()
        .failure()
        .stderr(predicates::str::contains("not JSON"));
}

#[test]
fn help_texts() {
    for args in [
        vec!["export", "odm", "--help"],
        vec!["export", "csv", "--help"],
        vec!["import", "odm", "--help"],
        vec!["import", "redcap-dictionary", "--help"],
        vec!["protocol", "import-ctgov", "--help"],
    ] {
        rct()
            .args(&args)
            .assert()
            .success()
            .stdout(predicates::str::contains("--"));
    }
}

/// Every file of folder `a` equals the same file of folder `b`, and both
/// hold the same files.
fn same_folders(a: &Path, b: &Path, what: &str) -> usize {
    let names = |d: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(a), names(b), "{what}");
    for n in names(a) {
        let (x, y) = (
            std::fs::read(a.join(&n)).unwrap(),
            std::fs::read(b.join(&n)).unwrap(),
        );
        assert!(x == y, "{what}: {n} differs");
    }
    names(a).len()
}

/// `rct export csv --db` streams from the store (SQLite, and PostgreSQL
/// when `RCT_TEST_POSTGRES` is set); its files equal, byte for byte, those
/// made in memory from the same events as JSON lines (`--events`), blinded
/// and unblinded. (The collector itself is checked byte for byte against
/// the in-memory implementation it replaced in `rct_interop::tables`.)
#[test]
fn csv_export_streamed_from_each_backend_equals_the_in_memory_export() {
    let tmp = tempfile::tempdir().unwrap();
    let (sqlite, events) = trial(tmp.path(), 30);
    let mut dbs = vec![("sqlite", sqlite)];
    let pg = std::env::var("RCT_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty());
    let pg_name = format!("rct_cli_csv_{}", std::process::id());
    if let Some(server) = &pg {
        let mut admin =
            rct_store::pg::postgres::Client::connect(server, rct_store::pg::postgres::NoTls)
                .unwrap();
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)"))
            .unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {pg_name}"))
            .unwrap();
        let (root, _) = server.split('?').next().unwrap().rsplit_once('/').unwrap();
        let url = format!("{root}/{pg_name}");
        rct()
            .args(["restore", "--db", &url])
            .arg(&events)
            .assert()
            .success();
        dbs.push(("postgres", url));
    } else {
        eprintln!("note: RCT_TEST_POSTGRES is not set; streaming checked on SQLite only");
    }
    for audience in [&["--blinded"][..], &["--as-role", "pharmacist"]] {
        let reference = tmp.path().join(format!("mem{}", audience.len()));
        rct()
            .args(["export", "csv", "--protocol"])
            .arg(lupex())
            .arg("--events")
            .arg(&events)
            .args(audience)
            .arg("--out")
            .arg(&reference)
            .assert()
            .success();
        for (kind, db) in &dbs {
            let streamed = tmp.path().join(format!("{kind}{}", audience.len()));
            rct()
                .args(["export", "csv", "--protocol"])
                .arg(lupex())
                .args(["--db", db])
                .args(audience)
                .arg("--out")
                .arg(&streamed)
                .assert()
                .success();
            let files = same_folders(&reference, &streamed, &format!("{kind} {audience:?}"));
            assert!(files >= 10, "{kind}: {files} files");
        }
    }
    if let Some(server) = &pg {
        if let Ok(mut c) =
            rct_store::pg::postgres::Client::connect(server, rct_store::pg::postgres::NoTls)
        {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)"));
        }
    }
}
