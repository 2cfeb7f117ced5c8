//! The safety tables of a generated IL-2-like trial (four arms, 100
//! participants, 164 coded adverse events; fixtures made by
//! tools/stats/safety_reference.py) against that script's figures:
//! counts by pandas, Garwood intervals by scipy.stats.chi2.ppf, Newcombe's
//! hybrid score intervals by statsmodels' confint_proportions_2indep
//! (method "newcomb", checked there against the closed form of method 10
//! and Newcombe's published example), Fisher's exact test by
//! scipy.stats.fisher_exact. Counts must agree exactly, every other figure
//! to 1e-9.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use rct_report::safety::{
    safety_markdown, safety_tables, PrespecifiedOutcome, SafetyArmSpec, SafetyCell, SafetyEvent,
    SafetyInput, SafetyParticipant, SafetyRow, SafetySetRule, SafetyTables,
};
use serde_json::Value;

const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const TOL: f64 = 1e-9;

fn reference() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(format!("{FIX}/safety_il2_reference.json")).unwrap(),
    )
    .unwrap()
}

fn rows(name: &str) -> Vec<csv::StringRecord> {
    let mut r = csv::Reader::from_path(format!("{FIX}/{name}")).unwrap();
    r.records().map(|x| x.unwrap()).collect()
}

/// The generated trial as the safety analysis reads it.
fn input(rule: SafetySetRule) -> SafetyInput {
    let mut events: BTreeMap<String, Vec<SafetyEvent>> = BTreeMap::new();
    for r in rows("safety_il2_events.csv") {
        events
            .entry(r[0].to_string())
            .or_default()
            .push(SafetyEvent {
                soc: r[1].to_string(),
                pt: r[2].to_string(),
                grade: r[3].parse().unwrap(),
                serious: &r[4] == "true",
                led_to_discontinuation: &r[5] == "true",
                onset_day: r[6].parse().unwrap(),
            });
    }
    let participants = rows("safety_il2_participants.csv")
        .into_iter()
        .map(|r| SafetyParticipant {
            id: r[0].to_string(),
            arm_randomised: Some(r[1].to_string()),
            arm_treated: (!r[2].is_empty()).then(|| r[2].to_string()),
            doses: r[3].parse().unwrap(),
            exposure_days: r[4].parse().unwrap(),
            events: events.remove(&r[0]).unwrap_or_default(),
        })
        .collect();
    let arm = |id: &str, label: &str| SafetyArmSpec {
        id: id.into(),
        label: label.into(),
        control: id == "placebo",
    };
    SafetyInput {
        rule,
        arms: vec![
            arm("placebo", "Placebo"),
            arm("il2_0_2", "IL-2 0.2 MIU"),
            arm("il2_0_5", "IL-2 0.5 MIU"),
            arm("il2_1_0", "IL-2 1 MIU"),
        ],
        participants,
        prespecified: vec![PrespecifiedOutcome {
            id: "infections".into(),
            label: "Infections".into(),
            socs: vec!["Infections and infestations".into()],
            pts: vec![],
        }],
    }
}

fn close(got: f64, want: &Value, what: &str) {
    let w = want
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: reference has {want}"));
    assert!(
        (got - w).abs() <= TOL,
        "{what}: rct {got:.15} vs reference {w:.15}"
    );
}

fn close_opt(got: Option<f64>, want: &Value, what: &str) {
    match got {
        Some(g) => close(g, want, what),
        None => assert!(want.is_null(), "{what}: rct has none, reference {want}"),
    }
}

fn check_cell(c: &SafetyCell, want: &Value, what: &str) {
    assert_eq!(
        c.participants,
        want["participants"].as_u64().unwrap(),
        "{what}: participants"
    );
    assert_eq!(c.events, want["events"].as_u64().unwrap(), "{what}: events");
    close_opt(c.percent, &want["percent"], &format!("{what}: percent"));
    match (&c.rate, &want["rate"]) {
        (Some(r), w) if !w.is_null() => {
            close(r.per_100_py, &w["per_100_py"], &format!("{what}: rate"));
            close(r.ci_low, &w["ci_low"], &format!("{what}: rate low"));
            close(r.ci_high, &w["ci_high"], &format!("{what}: rate high"));
            close(
                r.person_years_at_risk,
                &w["person_years_at_risk"],
                &format!("{what}: py"),
            );
        }
        (None, w) => assert!(w.is_null(), "{what}: rate"),
        (Some(_), _) => panic!("{what}: reference has no rate"),
    }
}

fn check_row(t: &SafetyTables, row: &SafetyRow, want: &Value) {
    let what = &row.key;
    for (a, cell) in t.arms.iter().zip(&row.arms) {
        check_cell(cell, &want["arms"][&a.id], &format!("{what} [{}]", a.id));
    }
    assert_eq!(row.differences.len(), 3);
    for d in &row.differences {
        assert_eq!(d.control, "placebo");
        let w = &want["differences"][&d.arm];
        let what = format!("{what}: {} - placebo", d.arm);
        close_opt(d.difference, &w["difference"], &what);
        close_opt(d.ci_low, &w["ci_low"], &format!("{what} low"));
        close_opt(d.ci_high, &w["ci_high"], &format!("{what} high"));
    }
}

fn check(rule: SafetySetRule, name: &str) -> SafetyTables {
    let want = &reference()["analyses"][name];
    let t = safety_tables(&input(rule)).unwrap();
    for a in &t.arms {
        let w = &want["arms"][&a.id];
        assert_eq!(a.n, w["n"].as_u64().unwrap(), "{name}: N of {}", a.id);
        close(
            a.person_years,
            &w["person_years"],
            &format!("{name}: person-years of {}", a.id),
        );
        assert_eq!(
            a.treated_other_than_randomised,
            w["treated_other_than_randomised"].as_u64().unwrap()
        );
    }
    // Every row of the reference is in the tables and nothing else.
    let mut keys = BTreeSet::new();
    for r in &t.overview {
        check_row(&t, r, &want["rows"][&r.key]);
        keys.insert(r.key.clone());
    }
    for s in &t.by_soc {
        check_row(&t, &s.soc, &want["rows"][&s.soc.key]);
        keys.insert(s.soc.key.clone());
        for r in &s.terms {
            check_row(&t, r, &want["rows"][&r.key]);
            keys.insert(r.key.clone());
        }
    }
    let want_keys: BTreeSet<String> = want["rows"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, want_keys, "{name}: rows");
    let p = &t.prespecified[0];
    let w = &want["prespecified"]["infections"];
    check_row(&t, &p.row, &w["row"]);
    assert_eq!(p.tests.len(), 3);
    for f in &p.tests {
        close_opt(
            f.p,
            &w["tests"][&f.arm]["p"],
            &format!("{name}: Fisher p {}", f.arm),
        );
        close_opt(
            f.odds_ratio,
            &w["tests"][&f.arm]["odds_ratio"],
            &format!("{name}: OR {}", f.arm),
        );
    }
    t
}

#[test]
fn dosed_safety_set_matches_the_reference() {
    let t = check(SafetySetRule::Dosed, "dosed");
    // The figures the fixture was built to exercise: three never dosed, a
    // kit of another arm in two arms, every top-dose participant with an AE,
    // no placebo injection-site reaction, a fatal event.
    let n: Vec<u64> = t.arms.iter().map(|a| a.n).collect();
    assert_eq!(n, [26, 23, 22, 26]);
    assert_eq!(t.overview[0].arms[3].percent, Some(100.0));
    let site = t
        .by_soc
        .iter()
        .flat_map(|s| &s.terms)
        .find(|r| r.label == "Injection site erythema")
        .unwrap();
    assert_eq!(site.arms[0].participants, 0);
    assert!(t.notes.is_empty(), "{:?}", t.notes);
}

#[test]
fn randomised_safety_set_matches_the_reference() {
    let t = check(SafetySetRule::Randomised, "randomised");
    assert!(t.arms.iter().all(|a| a.n == 25));
}

#[test]
fn edge_cases_match_the_reference() {
    let r = reference();
    for c in r["edge_cases"]["newcombe_fisher"].as_array().unwrap() {
        let n = |k: &str| c[k].as_u64().unwrap();
        let (x1, n1, x2, n2) = (n("x1"), n("n1"), n("x2"), n("n2"));
        let what = format!("{x1}/{n1} vs {x2}/{n2}");
        let i = rct_stats::binary::newcombe_interval(x1, n1, x2, n2).unwrap();
        close(i.low, &c["ci_low"], &format!("{what}: Newcombe low"));
        close(i.high, &c["ci_high"], &format!("{what}: Newcombe high"));
        let f = rct_stats::binary::fisher_exact(x1, n1 - x1, x2, n2 - x2).unwrap();
        close(f.p, &c["fisher_p"], &format!("{what}: Fisher p"));
    }
    for g in r["edge_cases"]["garwood"].as_array().unwrap() {
        let x = g["events"].as_u64().unwrap();
        let i = rct_stats::garwood_interval(x, 0.95).unwrap();
        close(i.low, &g["low"], &format!("Garwood {x} low"));
        close(i.high, &g["high"], &format!("Garwood {x} high"));
    }
}

#[test]
fn the_safety_section_snapshot() {
    let t = safety_tables(&input(SafetySetRule::Dosed)).unwrap();
    insta::assert_snapshot!("safety_il2_dosed_md", safety_markdown(&t));
}

/// The report puts the section before its notes and carries the tables
/// (`report.json`'s `safety`), here on the generated LUPEX-like trial of the
/// report tests with a randomised safety set built from its allocations.
#[test]
fn the_report_carries_the_section() {
    use rct_report::{build_report, build_report_with, AnalysisSettings, ReportOptions};
    let src = include_str!("../../../protocols/lupex.toml");
    let proto = rct_core::protocol::parse(src, "protocols/lupex.toml").unwrap();
    let events = rct_report::demo::generated_lupex_trial(20260601);
    let state = rct_record::TrialState::from_events("lupex", &events).unwrap();
    let participants: Vec<SafetyParticipant> = state
        .participants
        .values()
        .filter_map(|p| {
            let arm = p.allocation.as_ref()?.arm.clone();
            Some(SafetyParticipant {
                id: p.id.clone(),
                arm_randomised: Some(arm),
                arm_treated: None,
                doses: 0,
                exposure_days: 84.0,
                events: if p.id.ends_with('3') {
                    vec![SafetyEvent {
                        soc: "Musculoskeletal and connective tissue disorders".into(),
                        pt: "Arthralgia".into(),
                        grade: 2,
                        serious: false,
                        led_to_discontinuation: false,
                        onset_day: 20,
                    }]
                } else {
                    vec![]
                },
            })
        })
        .collect();
    let input = SafetyInput {
        rule: SafetySetRule::Randomised,
        arms: SafetyArmSpec::from_protocol(&proto),
        participants,
        prespecified: vec![],
    };
    let options = ReportOptions {
        analysis: AnalysisSettings {
            m: 5,
            iterations: 3,
            seed: 42,
        },
        ..ReportOptions::default()
    };
    let with = build_report_with(&state, &proto, &options, Some(&input)).unwrap();
    let without = build_report(&state, &proto, &options).unwrap();
    assert!(without.safety.is_none() && !without.markdown.contains("## Safety"));
    let t = with.safety.as_ref().unwrap();
    assert_eq!(t.arms.iter().map(|a| a.n).sum::<u64>(), 60);
    assert!(t.arms.iter().any(|a| a.control && a.id == "control"));
    let at = with.markdown.find("## Safety").unwrap();
    assert!(with.markdown[at..].contains("Arthralgia"));
    if let Some(notes) = with.markdown.find("## Notes") {
        assert!(notes > at, "the section comes before the notes");
    }
    assert!(with
        .html
        .contains("Safety set: everyone randomised, by the arm randomised"));
    let json = serde_json::to_value(&with.safety).unwrap();
    assert_eq!(json["rule"], "randomised");
}
