//! The data monitoring committee's safety tables: counts by arm, for the
//! `dmc` role only, during the trial. Building them writes nothing, so no
//! other role can tell that the committee looked.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::event::{Role, Sites};
use crate::state::TrialState;

/// Whether a form holds safety data: its identifier names adverse events
/// (`adverse`, e.g. the IL-2 protocol's `adverse_events`) or safety.
pub fn safety_form(form: &str) -> bool {
    let f = form.to_ascii_lowercase();
    f.contains("adverse") || f.contains("safety")
}

/// Whether a recorded value says "serious" (a boolean field `serious`).
fn is_yes(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|x| x == 1.0),
        Value::String(s) => matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "yes" | "y" | "true" | "1"
        ),
        _ => false,
    }
}

/// One arm's column of the safety tables.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SafetyArm {
    /// Arm identifier.
    pub arm: String,
    /// Arm name.
    pub arm_name: String,
    /// Participants randomised to the arm.
    pub randomised: u64,
    /// Of them, withdrawn.
    pub withdrawn: u64,
    /// Participants with at least one adverse-event entry.
    pub with_adverse_event: u64,
    /// Adverse-event form entries (one per visit and safety form with a value).
    pub adverse_event_entries: u64,
    /// Entries whose `serious` field says yes.
    pub serious_entries: u64,
    /// Participants with at least one serious entry.
    pub with_serious_event: u64,
}

/// The safety tables by arm, as the data monitoring committee sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SafetyView {
    /// Trial.
    pub trial: String,
    /// The viewer.
    pub viewer: String,
    /// The safety forms counted (see [`safety_form`]).
    pub forms: Vec<String>,
    /// One column per arm, in the protocol's order.
    pub arms: Vec<SafetyArm>,
}

impl TrialState {
    /// The safety tables by arm for `user`: `None` unless the user holds the
    /// `dmc` role. Counts cover the participants of the sites the grant
    /// covers.
    pub fn safety_view(&self, user: &str) -> Option<SafetyView> {
        let sites: &Sites = self.grant(user, Role::Dmc)?;
        let config = self.config.as_ref()?;
        let mut columns: Vec<SafetyArm> = config
            .arms
            .iter()
            .map(|a| SafetyArm {
                arm: a.id.clone(),
                arm_name: a.name.clone(),
                ..SafetyArm::default()
            })
            .collect();
        let mut index: BTreeMap<&str, usize> = BTreeMap::new();
        for (k, a) in config.arms.iter().enumerate() {
            index.insert(a.id.as_str(), k);
        }
        let mut forms: BTreeSet<String> = BTreeSet::new();
        for p in self.participants.values() {
            let covered = match p.site.as_deref() {
                Some(s) => sites.covers(s),
                None => *sites == Sites::All,
            };
            let Some(a) = p.allocation.as_ref().filter(|_| covered) else {
                continue;
            };
            let Some(col) = index.get(a.arm.as_str()).and_then(|k| columns.get_mut(*k)) else {
                continue;
            };
            col.randomised += 1;
            col.withdrawn += u64::from(p.withdrawn.is_some());
            // Entries: (visit, form) of safety forms with any value.
            let mut entries: BTreeSet<(&str, &str)> = BTreeSet::new();
            let mut serious: BTreeSet<(&str, &str)> = BTreeSet::new();
            for (key, value) in &p.values {
                let mut parts = key.splitn(3, '/');
                let (Some(visit), Some(form), Some(field)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                if !safety_form(form) {
                    continue;
                }
                if !forms.contains(form) {
                    forms.insert(form.to_string());
                }
                entries.insert((visit, form));
                if field == "serious" && is_yes(value) {
                    serious.insert((visit, form));
                }
            }
            col.adverse_event_entries += entries.len() as u64;
            col.serious_entries += serious.len() as u64;
            col.with_adverse_event += u64::from(!entries.is_empty());
            col.with_serious_event += u64::from(!serious.is_empty());
        }
        Some(SafetyView {
            trial: self.trial.clone(),
            viewer: user.to_string(),
            forms: forms.into_iter().collect(),
            arms: columns,
        })
    }
}
