//! `rct nanostring qc|normalise` and `rct ifn score` end to end: on the real
//! shared RCC files (figures from the independent numpy reference,
//! crates/omics/tests/fixtures/nanostring_reference.json) and on generated RCC
//! files whose fold changes are known.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

const FIXTURE: &str = include_str!("../../omics/tests/fixtures/nanostring_reference.json");

fn nanostring() -> Option<PathBuf> {
    rct_testdata::shared_data("nanostring")
}

fn rct() -> Command {
    Command::cargo_bin("rct").unwrap()
}

fn close(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-9 * want.abs().max(1e-300),
        "{what}: rct {got} vs numpy {want}"
    );
}

#[test]
fn help_texts() {
    for args in [
        &["nanostring", "qc", "--help"][..],
        &["nanostring", "normalise", "--help"],
        &["ifn", "score", "--help"],
    ] {
        rct()
            .args(args)
            .assert()
            .success()
            .stdout(predicate::str::contains("FILES_OR_DIR"));
    }
    rct()
        .args(["ifn", "score", "--help"])
        .assert()
        .stdout(predicate::str::contains("median-fold"))
        .stdout(predicate::str::contains(
            "IFI27, IFI44L, IFIT1, ISG15, RSAD2, SIGLEC1",
        ));
}

#[test]
fn qc_json_matches_the_numpy_reference() {
    let Some(dir) = nanostring() else { return };
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    for folder in ["skmel", "plexset"] {
        let out = rct()
            .args(["nanostring", "qc", "--json"])
            .arg(dir.join(folder))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let lanes = v["lanes"].as_array().unwrap();
        assert_eq!(lanes.len(), 12);
        for l in lanes {
            let file = Path::new(l["file"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .to_string();
            let w = &fixture["folders"][folder]["lanes"][&file];
            for key in ["fov_ratio", "binding_density", "lod_limit", "neg_mean"] {
                close(
                    &format!("{file} {key}"),
                    l[key].as_f64().unwrap(),
                    w[key].as_f64().unwrap(),
                );
            }
            match w["pos_r2"].as_f64() {
                Some(r2) => close(&format!("{file} R2"), l["pos_r2"].as_f64().unwrap(), r2),
                None => assert!(l["pos_r2"].is_null()),
            }
        }
    }
}

#[test]
fn qc_text_flags_with_reasons_and_thresholds() {
    let Some(dir) = nanostring() else { return };
    let skmel = dir.join("skmel");
    rct()
        .args(["nanostring", "qc"])
        .arg(&skmel)
        .assert()
        .success()
        .stdout(predicate::str::contains("file"))
        .stdout(predicate::str::contains("SKMEL2-DMSO-8h-R1_04"))
        // R^2 of that lane from the numpy reference: 0.97656...
        .stdout(predicate::str::contains("0.9766"))
        .stdout(predicate::str::contains("12 lanes:"));
    // A stricter binding-density limit flags the 0.80 lane, saying why; --strict exits 1.
    rct()
        .args([
            "nanostring",
            "qc",
            "--max-binding-density",
            "0.5",
            "--strict",
        ])
        .arg(skmel.join("SKMEL2-DMSO-8h-R1_04.RCC"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("FLAG"))
        .stdout(predicate::str::contains(
            "binding density 0.8 outside 0.1-0.5 (MAX/FLEX)",
        ));
    // The same lane as a SPRINT scanner with a limit below its density.
    rct()
        .args([
            "nanostring",
            "qc",
            "--sprint-scanner",
            "1207C0049",
            "--max-binding-density-sprint",
            "0.7",
        ])
        .arg(skmel.join("SKMEL2-DMSO-8h-R1_04.RCC"))
        .assert()
        .success()
        .stdout(predicate::str::contains("SPRINT"))
        .stdout(predicate::str::contains("outside 0.1-0.7 (SPRINT)"));
    // PlexSet: linearity not assessed, said once.
    rct()
        .args(["nanostring", "qc"])
        .arg(dir.join("plexset"))
        .assert()
        .success()
        .stdout(predicate::str::contains("note: positive-control linearity not assessed").count(1));
}

#[test]
fn qc_plot_is_an_svg_with_every_lane() {
    let Some(dir) = nanostring() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let svg = tmp.path().join("qc.svg");
    rct()
        .args(["nanostring", "qc"])
        .arg(dir.join("skmel"))
        .arg("--plot")
        .arg(&svg)
        .assert()
        .success();
    let s = std::fs::read_to_string(&svg).unwrap();
    assert!(s.starts_with("<svg"));
    assert!(s.contains("Binding density") && s.contains("Scaling factors"));
    assert_eq!(
        s.matches("<title>SKMEL").count(),
        12 * 2 + 12 * 2,
        "BD, R2, two factors"
    );
}

#[test]
fn normalised_matrix_matches_the_numpy_reference() {
    let Some(dir) = nanostring() else { return };
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for (folder, background, key) in [
        ("skmel", "threshold", None),
        ("skmel", "subtract", Some("subtract")),
        ("plexset", "threshold", None),
    ] {
        let csv = tmp.path().join(format!("{folder}-{background}.csv"));
        rct()
            .args(["nanostring", "normalise"])
            .arg(dir.join(folder))
            .arg("--out")
            .arg(&csv)
            .args(["--background", background])
            .assert()
            .success()
            .stdout(predicate::str::contains("written to"));
        let want = match key {
            None => &fixture["folders"][folder]["samples"],
            Some(k) => &fixture["folders"][folder]["variants"][k],
        };
        let text = std::fs::read_to_string(&csv).unwrap();
        let mut lines = text.lines();
        let head: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(&head[..2], ["Class", "Name"]);
        let mut n = 0;
        for line in lines {
            let f: Vec<&str> = line.split(',').collect();
            let gene = format!("{}/{}", f[0], f[1]);
            for (sample, v) in head[2..].iter().zip(&f[2..]) {
                let w = want[sample]["normalised"][&gene].as_f64().unwrap();
                close(&format!("{folder} {sample} {gene}"), v.parse().unwrap(), w);
                n += 1;
            }
        }
        assert!(n >= 12 * 192, "{n}");
    }
}

#[test]
fn normalise_json_and_errors() {
    let Some(dir) = nanostring() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("m.csv");
    let out = rct()
        .args(["nanostring", "normalise", "--json", "--out"])
        .arg(&csv)
        .arg(dir.join("skmel"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    for s in v["samples"].as_array().unwrap() {
        let w = &fixture["folders"]["skmel"]["samples"][s["id"].as_str().unwrap()];
        close(
            "pos factor",
            s["pos_factor"].as_f64().unwrap(),
            w["pos_factor"].as_f64().unwrap(),
        );
        close(
            "hk factor",
            s["hk_factor"].as_f64().unwrap(),
            w["hk_factor"].as_f64().unwrap(),
        );
    }
    // Two code sets in one batch.
    rct()
        .args(["nanostring", "normalise", "--out"])
        .arg(&csv)
        .arg(dir.join("skmel"))
        .arg(dir.join("plexset"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("different code sets"));
    // PlexSet has no housekeeping class: skipped with a note, or genes named.
    rct()
        .args(["nanostring", "normalise", "--out"])
        .arg(&csv)
        .arg(dir.join("plexset"))
        .assert()
        .success()
        .stdout(predicate::str::contains("housekeeping scaling skipped"));
    rct()
        .args([
            "nanostring",
            "normalise",
            "--housekeeping",
            "C1ORF43,CD9",
            "--out",
        ])
        .arg(&csv)
        .arg(dir.join("plexset"))
        .assert()
        .success()
        .stdout(predicate::str::contains("HK factor"));
    rct()
        .args(["nanostring", "normalise", "--housekeeping", "NOPE", "--out"])
        .arg(&csv)
        .arg(dir.join("plexset"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "housekeeping gene NOPE is not on the panel",
        ));
}

#[test]
fn a_damaged_file_names_file_and_line() {
    let Some(dir) = nanostring() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(dir.join("skmel/SKMEL2-DMSO-8h-R1_04.RCC")).unwrap();
    let bad = tmp.path().join("bad.RCC");
    std::fs::write(
        &bad,
        text.replace(
            "Endogenous,IL2,NM_000586.2,2",
            "Endogenous,IL2,NM_000586.2,x",
        ),
    )
    .unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("Endogenous,IL2,"))
        .unwrap()
        + 1;
    rct()
        .args(["nanostring", "qc"])
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "bad.RCC: line {line}: bad count \"x\" for probe Endogenous/IL2"
        )));
    rct()
        .args(["nanostring", "qc"])
        .arg(tmp.path().join("absent"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no such file or folder"));
}

// ---- IFN scores on generated files -------------------------------------

const GENES: [&str; 8] = [
    "IFI27", "IFI44", "IFI44L", "IFIT1", "ISG15", "RSAD2", "SIGLEC1", "MX1",
];

fn lane(id: &str, fold: f64) -> String {
    let mut t = format!("<Header>\nFileVersion,1.7\n</Header>\n<Sample_Attributes>\nID,{id}\nGeneRLF,TEST\n</Sample_Attributes>\n<Lane_Attributes>\nID,1\nFovCount,280\nFovCounted,280\nScannerID,T\nBindingDensity,0.9\n</Lane_Attributes>\n<Code_Summary>\nCodeClass,Name,Accession,Count\n");
    for (n, c) in [
        ("POS_A(128)", 25600),
        ("POS_B(32)", 6400),
        ("POS_C(8)", 1600),
        ("POS_D(2)", 400),
        ("POS_E(0.5)", 100),
        ("POS_F(0.125)", 25),
    ] {
        t += &format!("Positive,{n},E,{c}\n");
    }
    for n in "ABC".chars() {
        t += &format!("Negative,NEG_{n}(0),E,0\n");
    }
    t += "Housekeeping,HK1,N,1000\nHousekeeping,HK2,N,2000\n";
    for (i, g) in GENES.iter().enumerate() {
        t += &format!(
            "Endogenous,{g},N,{}\n",
            (400.0 * (i + 1) as f64 * fold) as u64
        );
    }
    t + "</Code_Summary>\n<Messages>\n</Messages>\n"
}

/// Controls HC1..HC5 at 1/4..4 times the base, patients P1 (x8), P2 (x1), P3 (x1/2).
fn generated(dir: &Path, with_controls: bool) {
    std::fs::create_dir_all(dir).unwrap();
    let mut lanes = vec![("P1", 8.0), ("P2", 1.0), ("P3", 0.5)];
    if with_controls {
        lanes.extend([
            ("HC1", 0.25),
            ("HC2", 0.5),
            ("HC3", 1.0),
            ("HC4", 2.0),
            ("HC5", 4.0),
        ]);
    }
    for (id, f) in lanes {
        std::fs::write(dir.join(format!("{id}.RCC")), lane(id, f)).unwrap();
    }
}

fn csv_scores(out: &[u8]) -> Vec<(String, f64, String, String)> {
    String::from_utf8_lossy(out)
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].to_string(),
                f[3].to_string(),
            )
        })
        .collect()
}

#[test]
fn ifn_scores_on_generated_files() {
    let tmp = tempfile::tempdir().unwrap();
    let batch = tmp.path().join("batch");
    generated(&batch, true);
    let reference = tmp.path().join("ref.json");
    let svg = tmp.path().join("scores.svg");
    let out = rct()
        .args([
            "ifn",
            "score",
            "--genes",
            "rice6",
            "--controls",
            "HC1,HC2,HC3,HC4,HC5.RCC",
            "--csv",
        ])
        .arg(&batch)
        .arg("--save-reference")
        .arg(&reference)
        .arg("--plot")
        .arg(&svg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = csv_scores(&out.stdout);
    let get = |id: &str| rows.iter().find(|r| r.0 == id).unwrap().clone();
    // Rice: the control median scores 1; fold 8 scores 8; cut-off 1.55 + 2 sqrt(2.325) = 4.5996.
    assert_eq!(get("P2").1, 1.0);
    assert_eq!(get("P1").1, 8.0);
    assert_eq!(get("P3").1, 0.5);
    assert_eq!(
        (get("P1").2.as_str(), get("P2").2.as_str()),
        ("high", "low")
    );
    assert_eq!(get("HC3").3, "yes");
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.contains("cut-off 4.600"), "cut-off line labelled");

    // Text output, mean-z and a fixed cut-off.
    rct()
        .args([
            "ifn",
            "score",
            "--genes",
            "ifngs4",
            "--controls",
            "HC1,HC2,HC3,HC4,HC5",
        ])
        .args(["--aggregator", "mean-z", "--cutoff", "1.5"])
        .arg(&batch)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "mean_z over 4 genes (IFI27, IFI44, IFI44L, RSAD2)",
        ))
        .stdout(predicate::str::contains("cut-off: 1.5000 (fixed)"))
        // P1: log2 8 / sqrt(2.5) = 1.8974
        .stdout(predicate::str::is_match(r"P1\s+1\.8974\s+high").unwrap());

    // A later batch (patients only) against the saved reference: same scores.
    let later = tmp.path().join("later");
    generated(&later, false);
    let out = rct()
        .args(["ifn", "score", "--csv", "--reference"])
        .arg(&reference)
        .arg(&later)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = csv_scores(&out.stdout);
    assert_eq!(again.len(), 3);
    for r in &again {
        // Same up to rounding: this batch's normalisation means run over 3 lanes.
        assert!((r.1 - get(&r.0).1).abs() < 1e-12, "{}", r.0);
        assert_eq!(r.2, get(&r.0).2);
    }
    // --genes that disagree with the saved reference.
    rct()
        .args(["ifn", "score", "--genes", "ifngs4", "--reference"])
        .arg(&reference)
        .arg(&later)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the reference was built for genes IFI27, IFI44L",
        ));

    // Controls from a sample sheet.
    let sheet = tmp.path().join("sheet.csv");
    std::fs::write(&sheet, "file,group\nP1.RCC,SLE\nP2.RCC,SLE\nP3.RCC,SLE\nHC1.RCC,HC\nHC2.RCC,HC\nHC3.RCC,HC\nHC4.RCC,HC\nHC5.RCC,HC\n").unwrap();
    let out = rct()
        .args([
            "ifn",
            "score",
            "--json",
            "--control-column",
            "group",
            "--sample-sheet",
        ])
        .arg(&sheet)
        .arg(&batch)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["report"]["controls"].as_array().unwrap().len(), 5);
    assert_eq!(v["report"]["aggregator"], "median_fold_change");

    // Unknown control.
    rct()
        .args(["ifn", "score", "--controls", "HC1,HC9"])
        .arg(&batch)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "control \"HC9\" is not in the batch",
        ));
}

#[test]
fn ifn_score_on_real_files() {
    let Some(dir) = nanostring() else { return };
    let skmel = dir.join("skmel");
    // The panel has none of the rice6 genes: the error names them.
    rct()
        .args([
            "ifn",
            "score",
            "--genes",
            "rice6",
            "--controls",
            "SKMEL2-DMSO-8h-R1_04,SKMEL2-DMSO-8h-R2_04",
        ])
        .arg(&skmel)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "gene not on the panel: IFI27, IFI44L, IFIT1, ISG15, RSAD2, SIGLEC1",
        ));
    // Interferon-stimulated genes it has, DMSO lanes as the reference.
    let out = rct()
        .args(["ifn", "score", "--genes", "STAT1,IRF1,OAS1,IRF9", "--csv"])
        .args([
            "--control-column",
            "Treatment",
            "--control-value",
            "DMSO",
            "--sample-column",
            "RCC",
        ])
        .arg("--sample-sheet")
        .arg(skmel.join("3D_SolidTumor_PhenoData.csv"))
        .arg(&skmel)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = csv_scores(&out.stdout);
    assert_eq!(rows.len(), 12);
    assert_eq!(rows.iter().filter(|r| r.3 == "yes").count(), 6);
}

#[test]
fn scores_attach_to_participants_visits() {
    use rct_record::{Actor, Arm, Command, Role, Sites, TrialDesign};
    let tmp = tempfile::tempdir().unwrap();
    let batch = tmp.path().join("batch");
    generated(&batch, true);
    let db = format!("sqlite:{}", tmp.path().join("trial.db").display());
    {
        let ledger = rct_store::Ledger::new(rct_store::open(&db).unwrap());
        let t0: chrono::DateTime<chrono::Utc> = "2026-06-01T08:00:00Z".parse().unwrap();
        let ada = Actor::new("ada", Role::Admin, None);
        let ian = Actor::new("ian", Role::Investigator, Some("s1"));
        let run = |actor: &Actor, c: Command| {
            ledger
                .execute("T1", |s| s.check(actor, t0, None, &c))
                .unwrap_or_else(|e| panic!("{e}"));
        };
        run(
            &ada,
            Command::RegisterTrial {
                title: "IFN".into(),
                blinded: true,
                arms: vec![
                    Arm {
                        id: "a".into(),
                        name: "A".into(),
                    },
                    Arm {
                        id: "b".into(),
                        name: "B".into(),
                    },
                ],
                design: TrialDesign::new("rpbr:2,4"),
                seed: rct_record::TrialSecrets::insecure_for_tests(1).seed,
                seal_key: rct_record::TrialSecrets::insecure_for_tests(1).seal_key_hex(),
            },
        );
        run(
            &ada,
            Command::AddSite {
                site: "s1".into(),
                name: "S1".into(),
            },
        );
        // ian's account, with a password to log in with.
        let hash = rct_web::Passwords::new(64)
            .hash(&support::password("ian"))
            .unwrap();
        run(
            &ada,
            Command::CreateUser {
                user: "ian".into(),
                display_name: "Ian".into(),
                password_hash: hash,
            },
        );
        run(
            &ada,
            Command::GrantRole {
                user: "ian".into(),
                role: Role::Investigator,
                sites: Sites::Only(vec!["s1".into()]),
            },
        );
        for p in ["001", "002"] {
            run(
                &ian,
                Command::Screen {
                    participant: p.into(),
                    site: None,
                    date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                    facts: Default::default(),
                },
            );
            run(
                &ian,
                Command::Consent {
                    participant: p.into(),
                    version: None,
                    given_at: None,
                    obtained_by: None,
                },
            );
        }
    }
    // ian logs in; the scores are entered as him.
    let logins = support::Logins::new(&db, tmp.path());
    assert!(logins.login("ian"));
    let token = logins.token_file("ian").display().to_string();
    let map = tmp.path().join("map.csv");
    std::fs::write(&map, "sample,participant\nP1.RCC,001\nP3,002\n").unwrap();
    rct()
        .args([
            "ifn",
            "score",
            "--controls",
            "HC1,HC2,HC3,HC4,HC5",
            "--attach",
            "--db",
            &db,
        ])
        .args([
            "--trial", "T1", "--visit", "baseline", "--user", "ian", "--site", "s1",
        ])
        .args(["--token-file", &token])
        .arg("--sample-map")
        .arg(&map)
        .arg(&batch)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "entered 6 values for 2 participants",
        ));
    let ledger = rct_store::Ledger::new(rct_store::open(&db).unwrap());
    let state = ledger.state("T1").unwrap();
    let v = |p: &str, f: &str| state.participants[p].values[&format!("baseline/ifn/{f}")].clone();
    // RFC 8785 writes 8.0 as 8: the same number.
    assert_eq!(v("001", "score").as_f64(), Some(8.0));
    assert_eq!(v("001", "call"), serde_json::json!("high"));
    assert_eq!(v("002", "score"), serde_json::json!(0.5));
    assert!(v("002", "method")
        .as_str()
        .unwrap()
        .starts_with("median_fold_change over IFI27"));
    // Entering again is refused (a change needs ChangeValue and a reason).
    rct()
        .args([
            "ifn",
            "score",
            "--controls",
            "HC1,HC2,HC3,HC4,HC5",
            "--attach",
            "--db",
            &db,
        ])
        .args([
            "--trial", "T1", "--visit", "baseline", "--user", "ian", "--site", "s1",
        ])
        .args(["--token-file", &token])
        .arg("--sample-map")
        .arg(&map)
        .arg(&batch)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("trial T1"));
}

/// `rct ifn score --attach` goes through the record's checks like every
/// other edge: with a protocol whose IFN form takes scores up to 5, the
/// score 8 of sample P1 is refused naming the field, and nothing is written.
#[test]
fn attach_refuses_a_score_outside_the_forms_hard_range() {
    use rct_record::{Actor, Command, Role, Sites};
    let tmp = tempfile::tempdir().unwrap();
    let batch = tmp.path().join("batch");
    generated(&batch, true);
    let db = format!("sqlite:{}", tmp.path().join("trial.db").display());
    // LUPEX with the IFN score's hard range narrowed to [0, 5].
    let lupex = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../protocols/lupex.toml"
    ))
    .unwrap();
    let narrowed = lupex.replacen(
        r#"type = "number", required = true, hard = [0, 10000] }"#,
        r#"type = "number", required = true, hard = [0, 5] }"#,
        1,
    );
    assert_ne!(narrowed, lupex, "the IFN field was found");
    let p = rct_core::protocol::parse(&narrowed, "lupex-narrow.toml").unwrap();
    {
        let ledger = rct_store::Ledger::new(rct_store::open(&db).unwrap());
        let t0: chrono::DateTime<chrono::Utc> = "2026-06-01T08:00:00Z".parse().unwrap();
        let ada = Actor::new("ada", Role::Admin, None);
        let ian = Actor::new("ian", Role::Investigator, Some("rh"));
        let run = |actor: &Actor, c: Command| {
            ledger
                .execute("lupex", |s| s.check(actor, t0, None, &c))
                .unwrap_or_else(|e| panic!("{e}"));
        };
        let secrets = rct_record::TrialSecrets::insecure_for_tests(1);
        run(
            &ada,
            rct_record::registration::register_command_with_text(&p, &narrowed, secrets),
        );
        for c in rct_record::registration::site_commands(&p) {
            run(&ada, c);
        }
        let hash = rct_web::Passwords::new(64)
            .hash(&support::password("dan"))
            .unwrap();
        for (user, role) in [("dan", Role::DataManager), ("ian", Role::Investigator)] {
            run(
                &ada,
                Command::CreateUser {
                    user: user.into(),
                    display_name: user.into(),
                    password_hash: hash.clone(),
                },
            );
            run(
                &ada,
                Command::GrantRole {
                    user: user.into(),
                    role,
                    sites: Sites::All,
                },
            );
        }
        run(
            &ian,
            Command::Screen {
                participant: "001".into(),
                site: None,
                date: chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                facts: Default::default(),
            },
        );
    }
    let logins = support::Logins::new(&db, tmp.path());
    assert!(logins.login("dan"));
    let token = logins.token_file("dan").display().to_string();
    let map = tmp.path().join("map.csv");
    std::fs::write(&map, "sample,participant\nP1.RCC,001\n").unwrap();
    rct()
        .args([
            "ifn",
            "score",
            "--controls",
            "HC1,HC2,HC3,HC4,HC5",
            "--attach",
            "--db",
            &db,
        ])
        .args([
            "--trial",
            "lupex",
            "--visit",
            "baseline",
            "--user",
            "dan",
            "--role",
            "data_manager",
        ])
        .args(["--token-file", &token])
        .arg("--sample-map")
        .arg(&map)
        .arg(&batch)
        .assert()
        .failure()
        .stderr(predicate::str::contains("ifn.score").and(predicate::str::contains("5")));
    let ledger = rct_store::Ledger::new(rct_store::open(&db).unwrap());
    let state = ledger.state("lupex").unwrap();
    assert!(state.participants["001"].values.is_empty());
}
