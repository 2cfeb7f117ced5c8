#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The report states the analysis plan version and the trial's unblinding,
//! and flags a plan recorded final after the unblinding (the generated
//! LUPEX trial of tests/report.rs, with governance events appended).

use rct_core::protocol;
use rct_record::{Actor, Command, Role, Sites, TrialState};
use rct_report::{build_report, AnalysisSettings, PopulationSettings, ReportOptions};

fn options() -> ReportOptions {
    ReportOptions {
        population: PopulationSettings::default(),
        analysis: AnalysisSettings {
            m: 5,
            iterations: 3,
            seed: 42,
        },
        stamp: None,
    }
}

fn run(s: &mut TrialState, user: &str, role: Role, c: Command) {
    let at = "2024-06-01T09:00:00Z".parse().unwrap();
    s.execute(&Actor::new(user, role, None), at, None, &c)
        .unwrap();
}

#[test]
fn the_report_flags_a_plan_changed_after_unblinding() {
    let events = rct_report::demo::generated_lupex_trial(20260601);
    let mut s = TrialState::from_events("lupex", &events).unwrap();
    let p = protocol::parse(
        include_str!("../../../protocols/lupex.toml"),
        "protocols/lupex.toml",
    )
    .unwrap();
    let plain = build_report(&s, &p, &options()).unwrap().markdown;
    assert!(!plain.contains("Flag:") && !plain.contains("unblinded"));
    let admin = s
        .grants
        .iter()
        .find(|(_, g)| g.contains_key(&Role::Admin))
        .map(|(u, _)| u.clone())
        .unwrap();
    for (user, role) in [("stan", Role::Statistician), ("sue", Role::Sponsor)] {
        if !s.users.contains_key(user) {
            let c = Command::CreateUser {
                user: user.into(),
                display_name: user.into(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo".into(),
            };
            run(&mut s, &admin, Role::Admin, c);
        }
        let c = Command::GrantRole {
            user: user.into(),
            role,
            sites: Sites::All,
        };
        run(&mut s, &admin, Role::Admin, c);
    }
    let sap = |version: &str, text: &str| Command::FinaliseSap {
        version: version.into(),
        digest: rct_record::sha256_hex(text.as_bytes()),
    };
    run(&mut s, "stan", Role::Statistician, sap("1.0", "plan"));
    run(&mut s, "sue", Role::Sponsor, Command::RequestUnblinding);
    run(
        &mut s,
        "stan",
        Role::Statistician,
        Command::ApproveUnblinding,
    );
    let md = build_report(&s, &p, &options()).unwrap().markdown;
    assert!(
        md.contains("Analysis plan version 1.0 recorded final"),
        "{md}"
    );
    assert!(
        md.contains("requested by sue (sponsor) and approved by stan (statistician)"),
        "{md}"
    );
    assert!(!md.contains("Flag:"));
    run(
        &mut s,
        "stan",
        Role::Statistician,
        sap("2.0", "another plan"),
    );
    let md = build_report(&s, &p, &options()).unwrap().markdown;
    assert!(
        md.contains("**Flag:** analysis plan changed after unblinding: version 2.0"),
        "{md}"
    );
}
