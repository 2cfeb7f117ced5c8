//! One mapping from a protocol to its registration: the commands that
//! register a trial ([`register_command`]) and add its sites
//! ([`site_commands`]), for every edge (the CLI's `rct trial create`, the
//! web server, imports, the report's demo trials).
//!
//! What is taken from the protocol:
//! - title: the short title, else the title;
//! - blinded: whether the protocol's `[masking] blinded` names anyone;
//! - arms: id and label, in protocol order; the ratio from the arms' weights;
//! - design: `[randomisation] design`, `stratify_by`, `minimise_on` (weights
//!   from the matching `[[strata]]`, 1 when not given), kit codes from
//!   `[masking] kit_codes`;
//! - form rules: every form that is arm-specific or names who enters it;
//! - sites: one `AddSite` per `[[sites]]`.
//!
//! And one mapping from the core's screening to what a `screened` event
//! records ([`screening_record`]).

use rct_core::protocol::Protocol;

use crate::command::Command;
use crate::design::TrialDesign;
use crate::event::{Arm, CriterionResult, FormRule, Role, Verdict};
use crate::seal::TrialSecrets;

/// The verdict and each criterion's result of a screening by the core, as
/// a `screened` event records them (`incomplete` is recorded as
/// undetermined; results as the core names them: `met`, `not_met`,
/// `unknown`).
pub fn screening_record(s: &rct_core::eligibility::Screening) -> (Verdict, Vec<CriterionResult>) {
    let verdict = match s.verdict {
        rct_core::eligibility::Verdict::Eligible => Verdict::Eligible,
        rct_core::eligibility::Verdict::Ineligible => Verdict::Ineligible,
        rct_core::eligibility::Verdict::Incomplete => Verdict::Undetermined,
    };
    let criteria = s
        .criteria
        .iter()
        .map(|c| CriterionResult {
            criterion: c.id.clone(),
            result: serde_json::to_value(c.result)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| "unknown".into()),
        })
        .collect();
    (verdict, criteria)
}

/// The trial design the protocol describes (without the protocol text).
pub fn trial_design(p: &Protocol) -> TrialDesign {
    let mut d = TrialDesign::new(p.randomisation.design.get_ref());
    d.ratio = p.ratio();
    d.stratify_by = p
        .randomisation
        .stratify_by
        .iter()
        .map(|s| s.get_ref().clone())
        .collect();
    d.minimise_on = p
        .randomisation
        .minimise_on
        .iter()
        .map(|f| {
            let weight = p
                .strata
                .iter()
                .find(|s| s.id.get_ref() == f.get_ref())
                .and_then(|s| s.weight)
                .unwrap_or(1.0);
            (f.get_ref().clone(), weight)
        })
        .collect();
    d.kits = p.masking.kit_codes;
    d.forms = p
        .forms
        .iter()
        .filter(|f| f.arm.is_some() || f.entered_by.is_some())
        .map(|f| FormRule {
            form: f.id.get_ref().clone(),
            arm: f.arm.as_ref().map(|a| a.get_ref().clone()),
            entered_by: f
                .entered_by
                .as_ref()
                .and_then(|r| r.get_ref().replace('-', "_").parse::<Role>().ok()),
        })
        .collect();
    d
}

/// The command registering the trial `p` describes, with the allocation
/// seed (the actor running it becomes the trial's administrator).
pub fn register_command(p: &Protocol, secrets: TrialSecrets) -> Command {
    Command::RegisterTrial {
        title: p
            .trial
            .short_title
            .clone()
            .unwrap_or_else(|| p.trial.title.clone()),
        blinded: p.is_blinded(),
        arms: p
            .arms
            .iter()
            .map(|a| Arm {
                id: a.id.get_ref().clone(),
                name: a.label.clone(),
            })
            .collect(),
        design: trial_design(p),
        seed: secrets.seed,
        seal_key: secrets.seal_key_hex(),
    }
}

/// As [`register_command`], keeping the protocol's text in the design so
/// that later commands can screen, validate and score against exactly the
/// protocol the trial was registered with.
pub fn register_command_with_text(p: &Protocol, text: &str, secrets: TrialSecrets) -> Command {
    let mut c = register_command(p, secrets);
    if let Command::RegisterTrial { design, .. } = &mut c {
        design.protocol = Some(text.to_string());
    }
    c
}

/// One `AddSite` per site of the protocol, in protocol order.
pub fn site_commands(p: &Protocol) -> Vec<Command> {
    p.sites
        .iter()
        .map(|s| Command::AddSite {
            site: s.id.get_ref().clone(),
            name: s.name.clone(),
        })
        .collect()
}

/// Everything registration writes: [`register_command`] then [`site_commands`].
pub fn registration(p: &Protocol, secrets: TrialSecrets) -> Vec<Command> {
    let mut out = vec![register_command(p, secrets)];
    out.extend(site_commands(p));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Actor;
    use crate::state::TrialState;
    use chrono::{TimeZone, Utc};

    fn lupex() -> (Protocol, String) {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../protocols/lupex.toml");
        let text = std::fs::read_to_string(path).unwrap();
        (rct_core::protocol::parse(&text, path).unwrap(), text)
    }

    #[test]
    fn lupex_registration_matches_the_protocol_file() {
        let (p, _) = lupex();
        let Command::RegisterTrial {
            blinded,
            arms,
            design,
            seed,
            ..
        } = register_command(&p, TrialSecrets::insecure_for_tests(42))
        else {
            panic!("not a registration")
        };
        // protocols/lupex.toml: rpbr:2,4 stratified by sex, 1:1, investigators
        // and outcome assessors blinded, HIIT sessions by intervention staff.
        assert!(blinded);
        assert_eq!(seed, rct_random::TrialSeed::Number(42));
        assert_eq!(design.spec, "rpbr:2,4");
        assert_eq!(design.stratify_by, vec!["sex".to_string()]);
        assert_eq!(design.ratio, vec![1, 1]);
        assert_eq!(arms.len(), 2);
        let session = design.form("exercise_session").unwrap();
        assert_eq!(session.arm.as_deref(), Some("hiit"));
        assert_eq!(session.entered_by, Some(Role::InterventionStaff));
        assert_eq!(
            design.form("fss").unwrap().entered_by,
            Some(Role::OutcomeAssessor)
        );
        design.validate(&arms).unwrap();
    }

    #[test]
    fn registration_with_text_is_accepted_and_keeps_the_text() {
        let (p, text) = lupex();
        let at = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let admin = Actor::new("ada", Role::Admin, None);
        let mut state = TrialState::new("lupex");
        let mut commands = vec![register_command_with_text(
            &p,
            &text,
            TrialSecrets::insecure_for_tests(7),
        )];
        commands.extend(site_commands(&p));
        let drafts = state.check_all(&admin, at, None, &commands).unwrap();
        for d in drafts {
            let e = state.seal(d);
            state.apply(&e).unwrap();
        }
        let d = state.config.as_ref().unwrap().trial_design().unwrap();
        assert_eq!(d.protocol.as_deref(), Some(text.as_str()));
        assert_eq!(state.view("ada").sites.len(), p.sites.len());
    }

    #[test]
    fn screening_record_keeps_every_criterion_and_maps_incomplete() {
        let (p, _) = lupex();
        // Nothing known but the date: every criterion unknown, incomplete.
        let person = rct_core::eligibility::person_from_json(
            &p,
            &serde_json::json!({"id": "S1", "screening_date": "2025-03-01", "facts": {}}),
        )
        .unwrap();
        let s = rct_core::eligibility::screen(&p, &person).unwrap();
        let (verdict, criteria) = screening_record(&s);
        assert_eq!(verdict, Verdict::Undetermined);
        assert_eq!(criteria.len(), s.criteria.len());
        assert_eq!(criteria[0].criterion, s.criteria[0].id);
        assert!(criteria
            .iter()
            .all(|c| ["met", "not_met", "unknown"].contains(&c.result.as_str())));
        assert!(criteria.iter().any(|c| c.result == "unknown"));
    }
}
