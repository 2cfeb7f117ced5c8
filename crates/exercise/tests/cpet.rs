#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! VO2max on the real CPET files in $RCT_SHARED_DATA/cpet against the
//! independent Python reading (tools/exercise/vo2max_check.py, openpyxl),
//! committed as tests/fixtures/vo2max_check.json.

use std::path::PathBuf;

use rct_exercise::cpet::{read_cpet, vo2max, Method};

fn shared() -> Option<PathBuf> {
    rct_testdata::shared_data("cpet").map(|_| rct_testdata::shared_root())
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        "{what}: rust {a} vs python {b}"
    );
}

#[test]
fn real_files_agree_with_python_check() {
    let Some(dir) = shared() else { return };
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/vo2max_check.json")).unwrap();
    for (name, layout) in [
        ("example_cosmed.xlsx", "COSMED"),
        ("step_cortex.xlsx", "CORTEX"),
    ] {
        let bytes = std::fs::read(dir.join("cpet").join(name)).unwrap();
        let b = read_cpet(&bytes, name).unwrap();
        let exp = &fixture[name];
        assert_eq!(b.layout, layout);
        assert_eq!(
            b.breaths.len() as u64,
            exp["breaths"].as_u64().unwrap(),
            "{name}"
        );
        for (m, key) in [(Method::Rolling, "rolling"), (Method::Block, "block")] {
            let r = vo2max(&b, 75.0, 40.0, 30.0, m).unwrap();
            let e = &exp[key];
            close(r.vo2max_ml_min, e["vo2max_ml_min"].as_f64().unwrap(), name);
            close(
                r.vo2max_ml_kg_min,
                e["vo2max_ml_min"].as_f64().unwrap() / 75.0,
                name,
            );
            close(r.at_seconds, e["at_seconds"].as_f64().unwrap(), name);
            close(r.peak_rer.unwrap(), e["peak_rer"].as_f64().unwrap(), name);
            assert_eq!(r.hrmax, exp["hrmax"].as_f64(), "{name}");
        }
    }
}

#[test]
fn csv_export_reads_like_the_xlsx() {
    // A CORTEX-style CSV (semicolons, comma decimals, unit row) with the same
    // numbers as a COSMED-style CSV in mL/min gives the same VO2max.
    let cortex = "t;V'O2 (STPD);V'CO2;R;HF\nhh:mm:ss.z;l/min;l/min;;1/min\n\
                  00:00:10,0;1,0;0,9;0,90;120\n00:00:20,0;2,0;2,2;1,10;150\n00:00:30,0;3,0;3,6;1,20;181\n00:00:40,0;3,1;3,7;1,19;183\n";
    let cosmed = "t,VO2,VCO2,R,HR,Load1\nhh:mm:ss,ml/min,ml/min,---,bpm,Watt\n\
                  00:00:10,1000,900,0.9,120,100\n00:00:20,2000,2200,1.1,150,150\n00:00:30,3000,3600,1.2,181,200\n00:00:40,3100,3700,1.19,183,250\n";
    let a = vo2max(
        &read_cpet(cortex.as_bytes(), "c.csv").unwrap(),
        70.0,
        30.0,
        20.0,
        Method::Rolling,
    )
    .unwrap();
    let b = vo2max(
        &read_cpet(cosmed.as_bytes(), "m.csv").unwrap(),
        70.0,
        30.0,
        20.0,
        Method::Rolling,
    )
    .unwrap();
    // Windows (t-20, t] for t >= 30: {20,30} -> 2500, {30,40} -> 3050 at 40 s.
    assert_eq!(a.vo2max_ml_min, 3050.0);
    assert_eq!(a.at_seconds, 40.0);
    assert_eq!(a.vo2max_ml_min, b.vo2max_ml_min);
    // Previous window (0, 20]: {10, 20} -> 1500; rise 1550: no plateau.
    assert!(!a.criteria.plateau);
    assert_eq!(b.criteria.workload_rose, Some(true));
    // Peak RER (1.2 + 1.19) / 2 >= 1.10; HRmax 183 >= 220 - 30 - 10.
    assert!(a.criteria.rer_ge_1_10 && a.criteria.hr_within_10_of_predicted);
    assert_eq!(a.label, "VO2max");
    assert_eq!(a.hrmax, Some(183.0));
}

/// `wild/cpet/spiro-cosmed_test.xlsx` (ropensci/spiro): COSMED's German
/// export (sheet "Daten", `HF`, `Af`) of 10-s averages. It is COSMED, not
/// CORTEX (its `HF` column is German for HR); its times are exact (Excel's
/// day fractions rounded to the millisecond), so a 30-s window takes three
/// rows, never four. Figures: tools/wild/wild_reference.py (openpyxl):
/// 10 rows, peak 2582.9695 mL/min at 120 s over 3 rows.
#[test]
fn german_cosmed_is_cosmed_and_a_30_s_window_takes_three_10_s_rows() {
    let Some(dir) = rct_testdata::shared_data("wild/cpet") else {
        return;
    };
    let bytes = std::fs::read(dir.join("spiro-cosmed_test.xlsx")).unwrap();
    let b = read_cpet(&bytes, "spiro-cosmed_test.xlsx").unwrap();
    assert_eq!(b.layout, "COSMED");
    assert_eq!(b.breaths.len(), 10);
    assert!(
        b.breaths.iter().all(|x| x.t % 10.0 == 0.0),
        "{:?}",
        b.breaths.iter().map(|x| x.t).collect::<Vec<_>>()
    );
    let r = vo2max(&b, 70.0, 40.0, 30.0, Method::Rolling).unwrap();
    assert_eq!(r.at_seconds, 120.0);
    let last3: f64 = b.breaths[7..].iter().map(|x| x.vo2).sum::<f64>() / 3.0;
    assert!(
        (r.vo2max_ml_min - last3).abs() < 1e-9,
        "{} vs {last3}",
        r.vo2max_ml_min
    );
    close(r.vo2max_ml_min, 2582.969512033333, "python");
    assert_eq!(
        r.notes,
        ["the rows are 10-s averages: a 30-s window takes 3 row(s) (the window is open at its start)"]
    );
}

/// CORTEX's Excel 2003 XML and Vyntus's text export are read and told
/// apart by their headers; a ZAN .dat export is refused by name.
#[test]
fn cortex_xml_vyntus_text_and_zan_refusal() {
    let Some(dir) = rct_testdata::shared_data("wild/cpet") else {
        return;
    };
    let read = |n: &str| read_cpet(&std::fs::read(dir.join(n)).unwrap(), n);
    let c = read("spiro-cortex_test.xml").unwrap();
    assert_eq!((c.layout.as_str(), c.breaths.len()), ("CORTEX", 13));
    // V'O2 in L/min becomes mL/min; P in W is the workload.
    assert!((c.breaths[0].vo2 - 117.052380441247).abs() < 1e-9);
    assert_eq!(c.breaths[12].work, Some(50.0));
    let v = read("spiro-vyntus_test.txt").unwrap();
    assert_eq!((v.layout.as_str(), v.breaths.len()), ("Vyntus", 7));
    assert_eq!(v.breaths[0].t, 56.0);
    // Minute averages are longer than a 30-s window: said so.
    let r = vo2max(&v, 70.0, 40.0, 30.0, Method::Rolling).unwrap();
    assert!(
        r.notes[0].contains("60-s averages, longer than the 30-s window"),
        "{:?}",
        r.notes
    );
    let e = read("spiro-zan_ramp").unwrap_err().to_string();
    assert!(
        e.contains("spiro-zan_ramp") && e.contains("ZAN .dat") && e.contains("export the test"),
        "{e}"
    );
}
