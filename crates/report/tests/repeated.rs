#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The LUPEX plan's MMRM (`fss_mmrm`) on the generated trial against an
//! independent REML script: the long data the report builds (ITT: one row
//! per participant and post-baseline visit) equals
//! `tests/fixtures/lupex_fss_long.csv`, and the fit with Satterthwaite df
//! (the plan's Kenward-Roger df is checked against SAS in rct-stats) agrees
//! with `tools/stats/lupex_mmrm_reference.py` (patsy design, dense REML by
//! scipy, LS means with sex weighted equally and fss_w0 at its mean) ->
//! `tests/fixtures/lupex_fss_mmrm.json`: -2 log REML, the unstructured
//! covariance and the week-6 and week-12 differences (estimate, SE to 1e-6,
//! Satterthwaite df to 1e-5).
//! RCT_WRITE_FIXTURES=1 rewrites the CSV (then rerun the script).

use rct_core::protocol::{self, Protocol};
use rct_record::TrialState;
use rct_report::repeated::{fit_plan_mmrm, long_frame, visit_levels};
use rct_report::{analysis_data, PopulationSettings};
use rct_stats::{Column, Frame};

const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const COLS: [&str; 5] = ["participant", "arm", "sex", "fss_w0", "visit"];

/// The LUPEX protocol with the MMRM's df method Satterthwaite (the
/// reference script's).
fn lupex() -> Protocol {
    let src = include_str!("../../../protocols/lupex.toml");
    let kr = r#"df = "kenward-roger" }"#;
    assert_eq!(src.matches(kr).count(), 1);
    let src = src.replace(kr, r#"df = "satterthwaite" }"#);
    protocol::parse(&src, "protocols/lupex.toml").unwrap()
}

fn itt_long() -> (Protocol, Frame, Frame) {
    let p = lupex();
    let events = rct_report::demo::generated_lupex_trial(20260601);
    let s = TrialState::from_events("lupex", &events).unwrap();
    let d = analysis_data(&s, &p, &PopulationSettings::default()).unwrap();
    let itt = d.population("itt").unwrap();
    let m = p
        .analysis
        .models
        .iter()
        .find(|m| m.id.get_ref() == "fss_mmrm")
        .unwrap();
    let long = long_frame(&itt, "fss", &visit_levels(&p, m.repeated.as_ref().unwrap())).unwrap();
    (p, itt, long)
}

fn cell(f: &Frame, name: &str, i: usize) -> String {
    match f.column(name).unwrap() {
        Column::Num(v) if v[i].is_nan() => String::new(),
        Column::Num(v) => format!("{}", v[i]),
        Column::Text(v) => v[i].clone(),
    }
}

#[test]
fn lupex_mmrm_matches_the_independent_reml_script() {
    let (p, itt, long) = itt_long();
    assert_eq!(long.nrows(), 2 * itt.nrows());
    let mut csv = String::from("participant,arm,sex,fss_w0,visit,fss\n");
    for i in 0..long.nrows() {
        let row: Vec<String> = COLS
            .iter()
            .chain(&["fss"])
            .map(|c| cell(&long, c, i))
            .collect();
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    let path = format!("{FIX}/lupex_fss_long.csv");
    if std::env::var_os("RCT_WRITE_FIXTURES").is_some() {
        std::fs::write(&path, &csv).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        csv,
        "long data differ"
    );

    let r: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{FIX}/lupex_fss_mmrm.json")).unwrap(),
    )
    .unwrap();
    let m = p
        .analysis
        .models
        .iter()
        .find(|m| m.id.get_ref() == "fss_mmrm")
        .unwrap();
    let (_, eff) = fit_plan_mmrm(&p, m, m.repeated.as_ref().unwrap(), &itt, "control").unwrap();
    assert_eq!(eff.df_method, "satterthwaite");
    let close = |what: &str, got: f64, want: &serde_json::Value, tol: f64| {
        let w = want.as_f64().unwrap();
        assert!(
            (got - w).abs() <= tol * w.abs().max(1.0),
            "{what}: rct {got}, reference {w}"
        );
    };
    close("-2 log REML", eff.neg2_reml, &r["neg2_reml"], 1e-6);
    for (k, (_, v)) in eff.cov_params.iter().enumerate() {
        close("covariance", *v, &r["theta"][k], 1e-6);
    }
    assert_eq!(eff.differences.len(), 2);
    for d in &eff.differences {
        let w = &r["differences"][&d.visit];
        close(
            &format!("{} estimate", d.visit),
            d.estimate,
            &w["estimate"],
            1e-6,
        );
        close(
            &format!("{} SE", d.visit),
            d.std_error,
            &w["std_error"],
            1e-6,
        );
        close(&format!("{} df", d.visit), d.df, &w["df"], 1e-5);
    }
}
