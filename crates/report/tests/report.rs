#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The report for a generated LUPEX-like trial of 60 participants: events
//! built with a fixed seed, folded to a TrialState, analysed under
//! protocols/lupex.toml. Snapshot of the Markdown (tables), checks of the
//! populations and the figures. Set RCT_REPORT_DUMP=DIR to write the
//! report's files there for viewing.

use rct_core::protocol::{self, Protocol};
use rct_record::TrialState;
use rct_report::{
    analysis_data, build_report, AnalysisSettings, PopulationSettings, ReportOptions,
};
use rct_stats::Column;

fn lupex() -> Protocol {
    let src = include_str!("../../../protocols/lupex.toml");
    protocol::parse(src, "protocols/lupex.toml").unwrap()
}

fn state() -> TrialState {
    let events = rct_report::demo::generated_lupex_trial(20260601);
    TrialState::from_events("lupex", &events).unwrap()
}

fn options() -> ReportOptions {
    ReportOptions {
        population: PopulationSettings::default(),
        analysis: AnalysisSettings {
            m: 10,
            iterations: 5,
            seed: 42,
        },
        stamp: None,
    }
}

#[test]
fn populations_follow_the_protocol_rules() {
    let s = state();
    let p = lupex();
    let d = analysis_data(&s, &p, &PopulationSettings::default()).unwrap();
    assert_eq!(d.frame.nrows(), 60);
    let itt = &d.populations["itt"];
    assert!(itt.iter().all(|&b| b), "ITT is everyone randomised");
    let pp = &d.populations["pp"];
    let Some(Column::Text(arm)) = d.frame.column("arm") else {
        panic!()
    };
    for i in 0..60 {
        let a = &d.adherence[i];
        let expect =
            !d.withdrawn[i] && (arm[i] == "control" || a.compliant_sessions as f64 / 36.0 >= 0.7);
        assert_eq!(pp[i], expect, "{} {:?}", d.participants[i], a);
        if arm[i] == "hiit" {
            assert_eq!(a.planned, 36);
        } else {
            assert_eq!(a.planned, 0);
        }
    }
    let n_pp = pp.iter().filter(|&&b| b).count();
    assert!(n_pp < 56 && n_pp > 30, "{n_pp}");
    // The derived field: vo2max_rel = vo2max_abs / weight, computed from the entries.
    let Some(Column::Num(v0)) = d.frame.column("vo2max_w0") else {
        panic!()
    };
    let pid = &d.participants[0];
    let part = &s.participants[pid];
    let abs = part.values["baseline/cpet/vo2max_abs"].as_f64().unwrap();
    let w = part.values["baseline/cpet/weight"].as_f64().unwrap();
    assert!((v0[0] - abs / w).abs() < 1e-12);
    // Missing follow-up: 4 withdrawn + 2 missed.
    let Some(Column::Num(v1)) = d.frame.column("vo2max_w12") else {
        panic!()
    };
    assert_eq!(v1.iter().filter(|x| x.is_nan()).count(), 6);
}

#[test]
fn report_tables_snapshot() {
    let s = state();
    let r = build_report(&s, &lupex(), &options()).unwrap();
    insta::assert_snapshot!("lupex_generated_report_md", r.markdown);
    if let Ok(dir) = std::env::var("RCT_REPORT_DUMP") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(format!("{dir}/report.md"), &r.markdown).unwrap();
        std::fs::write(format!("{dir}/report.html"), &r.html).unwrap();
        for (name, svg) in &r.figures {
            std::fs::write(format!("{dir}/{name}"), svg).unwrap();
        }
    }
}

#[test]
fn report_flow_and_figures() {
    let s = state();
    let r = build_report(&s, &lupex(), &options()).unwrap();
    let f = &r.flow;
    assert_eq!(f.assessed, 75);
    assert_eq!(f.randomised, 60);
    assert_eq!(
        f.ineligible + f.undetermined + f.declined + f.eligible_not_randomised,
        15
    );
    // The generator: P010, P030 and P050 decline; the 61st eligible person
    // finds the trial full; the four least adherent HIIT participants
    // (adherence < 0.5) stop exercising and stay in follow-up.
    assert_eq!((f.declined, f.eligible_not_randomised), (3, 1));
    let stopped: Vec<usize> = f.arms.iter().map(|a| a.discontinued).collect();
    assert_eq!(stopped, vec![4, 0], "HIIT, control");
    assert_eq!(f.arms.iter().map(|a| a.allocated).sum::<usize>(), 60);
    assert_eq!(f.arms.iter().map(|a| a.withdrawn).sum::<usize>(), 4);
    assert_eq!(f.arms.iter().map(|a| a.outcome_missing).sum::<usize>(), 6);
    let names: Vec<&str> = r.figures.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"consort.svg") && names.contains(&"forest.svg"));
    assert!(names
        .iter()
        .any(|n| n.starts_with("effect_ifn_vo2max_hiit")));
    for (n, svg) in &r.figures {
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{n}"
        );
        assert!(svg.trim_end().ends_with("</svg>"), "{n}");
        assert!(
            !svg.contains("NaN") && !svg.contains("inf"),
            "{n} has a non-finite coordinate"
        );
        assert!(
            r.html.contains(svg.trim_end()),
            "{n} is inlined in the HTML"
        );
    }
    // Self-contained: no external resources.
    assert!(!r.html.contains("src=\"http") && !r.html.contains("<link"));
    // The ITT primary analysis is MI over all 60 and complete-case over 54.
    let prim: Vec<_> = r
        .results
        .models
        .iter()
        .filter(|m| m.model == "primary" && m.population == "itt")
        .collect();
    assert_eq!(prim.len(), 2);
    assert!(prim[0].method.starts_with("multiple imputation") && prim[0].nobs == 60);
    assert_eq!(prim[1].nobs, 54);
    // The generated HIIT effect on VO2max is positive and the interaction with IFN negative.
    assert!(prim[0].estimates[0].estimate > 0.0);
    let c = &r.results.curves[0];
    assert!(c.interaction.estimate < 0.0);
}

#[test]
fn report_is_reproducible() {
    let s = state();
    let a = build_report(&s, &lupex(), &options()).unwrap();
    let b = build_report(&s, &lupex(), &options()).unwrap();
    assert_eq!(a.markdown, b.markdown);
    assert_eq!(a.html, b.html);
}

/// The LUPEX protocol with the fixture's two estimands appended.
fn lupex_with_estimands() -> Protocol {
    let src = format!(
        "{}\n{}",
        include_str!("../../../protocols/lupex.toml"),
        include_str!("fixtures/lupex_estimands.toml")
    );
    protocol::parse(&src, "lupex+estimands.toml").unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn report_opens_with_the_estimand_table() {
    let s = state();
    let r = build_report(&s, &lupex_with_estimands(), &options()).unwrap();
    let md = &r.markdown;
    // The estimands come before every other section.
    let first_section = md.find("\n## ").unwrap();
    assert_eq!(&md[first_section..first_section + 14], "\n## Estimands\n");
    let end = md[first_section + 1..].find("\n## ").unwrap() + first_section + 1;
    insta::assert_snapshot!("lupex_estimand_table_md", &md[first_section + 1..end]);
    assert!(
        r.html.contains("<h2>Estimands</h2>"),
        "the HTML report has it too"
    );
    assert!(r
        .html
        .contains("hypothetical (had the dose not been raised)"));
    // Without estimands there is no such section.
    let plain = build_report(&s, &lupex(), &options()).unwrap();
    assert!(!plain.markdown.contains("## Estimands"));
}
