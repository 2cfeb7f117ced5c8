//! Unblinding governance: the analysis plan recorded as final, the trial's
//! unblinding authorised by two people, the data monitoring committee's
//! safety tables, pharmacovigilance code-breaks and the sealed code-break
//! list.
//!
//! # The trial's unblinding
//! Locking the database unblinds nobody. The statistician sees arms only
//! once the **trial is unblinded**, which takes, in order:
//! 1. the statistical analysis plan recorded as final
//!    ([`crate::Command::FinaliseSap`], statistician: a version label and the
//!    SHA-256 of the plan's text or file);
//! 2. the database locked;
//! 3. a request ([`crate::Command::RequestUnblinding`]) by one person and an
//!    approval ([`crate::Command::ApproveUnblinding`]) by **another person
//!    in another role** (the sponsor's representative and the trial
//!    statistician, in either order), both under the same final plan
//!    version.
//!
//! A plan version recorded as final after the unblinding is accepted (the
//! record holds what happened) and flagged: [`TrialState::governance_flags`]
//! ("analysis plan changed after unblinding"), shown by the governance page,
//! `rct trial governance`, the report and the exports.
//!
//! # Safety without unblinding the site
//! - The data monitoring committee (`dmc`) sees counts by arm
//!   ([`TrialState::safety_view`]); viewing writes no event, so no other
//!   role can notice it.
//! - Pharmacovigilance breaks the code of one participant
//!   ([`crate::Command::SafetyCodeBreak`], a reason required): the arm is
//!   shown to that user only; the event is shown whole to that user, to
//!   administrators, monitors, data managers and other pharmacovigilance
//!   users without participant, reason or hash, and not at all to anyone
//!   else (the site never learns of it).
//! - The pharmacist produces the sealed code-break list for the 24-hour
//!   line ([`crate::Command::ProduceCodeBreakList`], then
//!   [`TrialState::code_break_list`]); the event records who, when and how
//!   many entries, never an arm.

mod check;
mod recipe;
pub use recipe::{ListRecipe, StratumUse};
mod safety;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::event::{Event, Payload, Role, Sites};
use crate::state::TrialState;

pub use check::GovernanceError;
pub(crate) use check::{check, roles};
pub use safety::{safety_form, SafetyArm, SafetyView};

/// Longest analysis plan version label.
pub const MAX_VERSION_LEN: usize = 64;

/// A version of the analysis plan recorded as final.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SapRecord {
    /// Version label.
    pub version: String,
    /// SHA-256 (lower-case hex) of the plan.
    pub digest: String,
    /// Who recorded it.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Sequence number of the event.
    pub seq: u64,
    /// Recorded after the trial was unblinded (flagged).
    pub after_unblinding: bool,
}

/// One authorisation of the trial's unblinding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnblindingStep {
    /// Who.
    pub user: String,
    /// In which role.
    pub role: Role,
    /// When.
    pub at: DateTime<Utc>,
    /// Sequence number of the event.
    pub seq: u64,
    /// The final analysis plan version it was given under.
    pub sap_version: String,
    /// Why, if given.
    pub reason: Option<String>,
}

/// The trial's unblinding: the request and the approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrialUnblinding {
    /// The first authorisation.
    pub requested: UnblindingStep,
    /// The second, by another person in another role.
    pub approved: UnblindingStep,
}

/// A pharmacovigilance code-break (held in the state; shown whole only to
/// the user who broke the code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SafetyBreak {
    /// Who broke the code.
    pub user: String,
    /// For which participant.
    pub participant: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Sequence number of the event.
    pub seq: u64,
}

/// A sealed code-break list produced (no arms).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeBreakListRecord {
    /// Who produced it.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Entries on the list.
    pub entries: u64,
    /// Sequence number of the event.
    pub seq: u64,
}

/// The governance part of the trial state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Governance {
    /// Analysis plan versions recorded final, in order.
    pub saps: Vec<SapRecord>,
    /// A request waiting for its approval.
    pub pending: Option<UnblindingStep>,
    /// The trial's unblinding, once approved.
    pub unblinding: Option<TrialUnblinding>,
    /// Pharmacovigilance code-breaks, in order.
    pub safety_breaks: Vec<SafetyBreak>,
    /// Sealed code-break lists produced, in order.
    pub code_break_lists: Vec<CodeBreakListRecord>,
}

impl Governance {
    /// The analysis plan version in force (the last recorded final).
    pub fn final_sap(&self) -> Option<&SapRecord> {
        self.saps.last()
    }

    /// The pharmacovigilance code-break recorded by event `seq`, if any.
    fn safety_break_at(&self, seq: u64) -> Option<&SafetyBreak> {
        self.safety_breaks.iter().find(|b| b.seq == seq)
    }
}

/// Folds a governance event into the state (called by
/// [`TrialState::apply`] for the events this module owns).
pub(crate) fn fold(state: &mut TrialState, e: &Event) {
    let g = &mut state.governance;
    match &e.payload {
        Payload::SapFinalised { version, digest } => g.saps.push(SapRecord {
            version: version.clone(),
            digest: digest.clone(),
            by: e.actor.clone(),
            at: e.at,
            seq: e.seq,
            after_unblinding: g.unblinding.is_some(),
        }),
        Payload::UnblindingRequested { sap_version } => {
            g.pending = Some(step(e, sap_version));
        }
        Payload::UnblindingApproved { sap_version } => {
            let approved = step(e, sap_version);
            // An approval folded without its request (a record written by
            // another tool) still unblinds: it is what the record says.
            let requested = g.pending.take().unwrap_or_else(|| approved.clone());
            g.unblinding = Some(TrialUnblinding {
                requested,
                approved,
            });
        }
        Payload::SafetyCodeBroken { participant } => {
            g.safety_breaks.push(SafetyBreak {
                user: e.actor.clone(),
                participant: participant.clone(),
                at: e.at,
                seq: e.seq,
            });
            state
                .unblinded
                .insert((e.actor.clone(), participant.clone()));
        }
        Payload::CodeBreakListProduced { entries } => {
            g.code_break_lists.push(CodeBreakListRecord {
                by: e.actor.clone(),
                at: e.at,
                entries: *entries,
                seq: e.seq,
            });
        }
        _ => {}
    }
}

fn step(e: &Event, sap_version: &str) -> UnblindingStep {
    UnblindingStep {
        user: e.actor.clone(),
        role: e.role,
        at: e.at,
        seq: e.seq,
        sap_version: sap_version.to_string(),
        reason: e.reason.clone(),
    }
}

/// The governance state as any user with a role in the trial may see it
/// (it carries no arm).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GovernanceView {
    /// Trial.
    pub trial: String,
    /// Whether the trial is blinded.
    pub blinded: bool,
    /// Whether the database is locked.
    pub locked: bool,
    /// Analysis plan versions recorded final, in order.
    pub saps: Vec<SapRecord>,
    /// A request waiting for its approval.
    pub pending: Option<UnblindingStep>,
    /// The trial's unblinding, once approved.
    pub unblinding: Option<TrialUnblinding>,
    /// Flags every output carries (e.g. the analysis plan changed after
    /// unblinding).
    pub flags: Vec<String>,
    /// Sealed code-break lists produced.
    pub code_break_lists: Vec<CodeBreakListRecord>,
    /// What is still missing before the trial can be unblinded (empty once
    /// it is, or when only the two authorisations remain).
    pub missing: Vec<String>,
}

impl TrialState {
    /// Whether the trial's unblinding has been authorised by two people
    /// (the statistician then sees arms).
    pub fn trial_unblinded(&self) -> bool {
        self.governance.unblinding.is_some()
    }

    /// What every output must carry about the analysis plan: one line per
    /// plan version recorded final after the trial's unblinding.
    pub fn governance_flags(&self) -> Vec<String> {
        let Some(u) = &self.governance.unblinding else {
            return Vec::new();
        };
        self.governance
            .saps
            .iter()
            .filter(|s| s.after_unblinding)
            .map(|s| {
                format!(
                    "analysis plan changed after unblinding: version {} (SHA-256 {}) was recorded final by {} at {} (event {}), after the trial was unblinded at {} (event {})",
                    s.version,
                    s.digest,
                    s.by,
                    s.at.to_rfc3339(),
                    s.seq,
                    u.approved.at.to_rfc3339(),
                    u.approved.seq
                )
            })
            .collect()
    }

    /// The governance state for `user` (`None` without a role in the trial).
    pub fn governance_view(&self, user: &str) -> Option<GovernanceView> {
        if self.grants.get(user).is_none_or(|g| g.is_empty()) {
            return None;
        }
        let g = &self.governance;
        let blinded = self.config.as_ref().is_some_and(|c| c.blinded);
        let mut missing = Vec::new();
        if blinded && g.unblinding.is_none() {
            if g.final_sap().is_none() {
                missing.push("the statistician records the analysis plan as final".to_string());
            }
            if !self.locked {
                missing.push("the data manager locks the database".to_string());
            }
        }
        Some(GovernanceView {
            trial: self.trial.clone(),
            blinded,
            locked: self.locked,
            saps: g.saps.clone(),
            pending: g.pending.clone(),
            unblinding: g.unblinding.clone(),
            flags: self.governance_flags(),
            code_break_lists: g.code_break_lists.clone(),
            missing,
        })
    }

    fn holds_role(&self, user: &str, roles: &[Role]) -> bool {
        self.grants
            .get(user)
            .is_some_and(|g| g.keys().any(|r| roles.contains(r)))
    }

    /// Whether the content of event `seq` must stay hidden from `user` in
    /// a way that a hash could be tested against (a pharmacovigilance
    /// code-break by someone else): the view removes the hash of that
    /// event and the previous-hash of the next.
    pub(crate) fn governance_hides(&self, seq: u64, user: &str) -> bool {
        self.governance
            .safety_break_at(seq)
            .is_some_and(|b| b.user != user)
    }

    /// The audit entry of a governance event that needs its own rule, or
    /// `None` when the general rules apply. `Some(None)`: hidden.
    pub(crate) fn governance_entry(&self, event: &Event, user: &str) -> Option<Option<Value>> {
        let Payload::SafetyCodeBroken { .. } = &event.payload else {
            return None;
        };
        if event.actor == user {
            // The user who broke the code sees their own event whole.
            let mut value = serde_json::to_value(event).ok()?;
            if let Value::Object(map) = &mut value {
                if event.seq > 1 && self.governance_hides(event.seq - 1, user) {
                    map.shift_remove("prev_hash");
                }
            }
            return Some(Some(value));
        }
        let told = self.holds_role(
            user,
            &[
                Role::Admin,
                Role::Monitor,
                Role::DataManager,
                Role::Pharmacovigilance,
            ],
        );
        if !told {
            return Some(None);
        }
        let mut value = match serde_json::to_value(event) {
            Ok(v) => v,
            Err(_) => return Some(None),
        };
        if let Value::Object(map) = &mut value {
            map.shift_remove("hash");
            map.shift_remove("prev_hash");
            map.insert("site".into(), Value::Null);
            map.insert("reason".into(), Value::Null);
            if let Some(Value::Object(p)) = map.get_mut("payload") {
                p.shift_remove("participant");
            }
            map.insert(
                "redacted".into(),
                serde_json::json!(["participant", "reason"]),
            );
        }
        Some(Some(value))
    }
}

/// One line of the sealed code-break list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeBreakEntry {
    /// Participant.
    pub participant: String,
    /// Site.
    pub site: Option<String>,
    /// Kit code, when the design dispenses kits.
    pub kit: Option<String>,
    /// Arm identifier.
    pub arm: String,
    /// Arm name.
    pub arm_name: String,
}

impl TrialState {
    /// The sealed code-break list for `user`: every randomised participant
    /// of the sites their pharmacist grant covers, by participant
    /// identifier (never by arm or list order), with kit and arm. `None`
    /// unless the user holds the pharmacist role in a blinded trial. Produce
    /// it only after recording [`crate::Command::ProduceCodeBreakList`].
    pub fn code_break_list(&self, user: &str) -> Option<Vec<CodeBreakEntry>> {
        let config = self.config.as_ref().filter(|c| c.blinded)?;
        let sites = self.grant(user, Role::Pharmacist)?;
        let entries = self
            .participants
            .values()
            .filter(|p| match p.site.as_deref() {
                Some(s) => sites.covers(s),
                None => *sites == Sites::All,
            })
            .filter_map(|p| {
                let a = p.allocation.as_ref()?;
                Some(CodeBreakEntry {
                    participant: p.id.clone(),
                    site: p.site.clone(),
                    kit: a.kit.clone(),
                    arm: a.arm.clone(),
                    arm_name: config
                        .arm(&a.arm)
                        .map_or_else(|| a.arm.clone(), |x| x.name.clone()),
                })
            })
            .collect();
        Some(entries)
    }
}
