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
