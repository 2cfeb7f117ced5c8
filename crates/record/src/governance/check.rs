//! The checks of the governance commands (called by
//! [`TrialState::check`] after the permission table, the grant and the
//! lock have been checked).

use crate::command::{Action, Actor, Command, CommandError};
use crate::event::{Payload, Role, Sites};
use crate::state::{TrialConfig, TrialState};

use super::MAX_VERSION_LEN;

/// Why a governance command is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GovernanceError {
    /// A version label that is empty, too long or not plain text.
    #[error("the analysis plan version `{version}` must be 1 to {MAX_VERSION_LEN} letters, digits, `.`, `-` or `_` (e.g. 2.0)")]
    BadVersion {
        /// Version given.
        version: String,
    },
    /// Not a SHA-256 in lower-case hex.
    #[error("the analysis plan digest must be the SHA-256 of the plan as 64 lower-case hex digits (e.g. `sha256sum plan.pdf`), not `{digest}`")]
    BadDigest {
        /// Digest given.
        digest: String,
    },
    /// The same version and digest again.
    #[error("version {version} of the analysis plan is already recorded as final with this digest; nothing to record")]
    SapRecorded {
        /// Version.
        version: String,
    },
    /// A version label reused for a different plan.
    #[error("version {version} of the analysis plan was recorded final with SHA-256 {digest}; a changed plan needs a new version label")]
    SapVersionReused {
        /// Version.
        version: String,
        /// Digest recorded before.
        digest: String,
    },
    /// Unblinding without a final analysis plan.
    #[error("no analysis plan is recorded as final; the statistician records the plan's final version before the trial is unblinded")]
    NoFinalSap,
    /// Unblinding an open database.
    #[error("the database is not locked; the trial is unblinded only after the data manager locks the database")]
    NotLocked,
    /// Unblinded already.
    #[error("the trial was already unblinded (event {seq})")]
    AlreadyUnblinded {
        /// Event of the approval.
        seq: u64,
    },
    /// A request stands already.
    #[error("the unblinding was already requested by {user} ({role}); a second person in another role approves it")]
    RequestPending {
        /// Who requested.
        user: String,
        /// In which role.
        role: Role,
    },
    /// Approval without a request.
    #[error("nobody has requested the unblinding; one person requests it, a second person in another role approves it")]
    NoRequest,
    /// The same person twice.
    #[error("{user} requested the unblinding; the approval must come from another person")]
    SamePerson {
        /// The user.
        user: String,
    },
    /// The same role twice.
    #[error("the unblinding was requested in the role {role}; the approval must come from another role (the sponsor's representative and the trial statistician)")]
    SameRole {
        /// The role.
        role: Role,
    },
    /// The plan changed between request and approval.
    #[error("the unblinding was requested under analysis plan version {requested}, but version {current} is now final; request it again")]
    SapChanged {
        /// Version of the request.
        requested: String,
        /// Version now.
        current: String,
    },
    /// A code-break list with nobody on it.
    #[error("no participant of your sites is randomised; there is no code to put on a list")]
    NothingToList,
}

fn is_digest(d: &str) -> bool {
    d.len() == 64
        && d.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn is_version(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= MAX_VERSION_LEN
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

fn refuse(e: GovernanceError) -> CommandError {
    CommandError::Governance(e)
}

/// Checks a governance command: the event's site and payload.
pub(crate) fn check(
    state: &TrialState,
    config: &TrialConfig,
    actor: &Actor,
    grant: &Sites,
    reason: Option<&str>,
    command: &Command,
) -> Result<(Option<String>, Payload), CommandError> {
    let g = &state.governance;
    let action = command.action();
    let needs_all_sites = || -> Result<(), CommandError> {
        if *grant == Sites::All {
            Ok(())
        } else {
            Err(CommandError::NeedsAllSites {
                user: actor.user.clone(),
                role: actor.role,
                action,
            })
        }
    };
    match command {
        Command::FinaliseSap { version, digest } => {
            needs_all_sites()?;
            let version = version.trim();
            if !is_version(version) {
                return Err(refuse(GovernanceError::BadVersion {
                    version: version.chars().take(80).collect(),
                }));
            }
            if !is_digest(digest) {
                return Err(refuse(GovernanceError::BadDigest {
                    digest: digest.chars().take(80).collect(),
                }));
            }
            if let Some(old) = g.saps.iter().find(|s| s.version == version) {
                return Err(refuse(if old.digest == *digest {
                    GovernanceError::SapRecorded {
                        version: version.to_string(),
                    }
                } else {
                    GovernanceError::SapVersionReused {
                        version: version.to_string(),
                        digest: old.digest.clone(),
                    }
                }));
            }
            Ok((
                None,
                Payload::SapFinalised {
                    version: version.to_string(),
                    digest: digest.clone(),
                },
            ))
        }
        Command::RequestUnblinding | Command::ApproveUnblinding => {
            needs_all_sites()?;
            if !config.blinded {
                return Err(CommandError::NotBlinded);
            }
            if let Some(u) = &g.unblinding {
                return Err(refuse(GovernanceError::AlreadyUnblinded {
                    seq: u.approved.seq,
                }));
            }
            let sap = g
                .final_sap()
                .ok_or_else(|| refuse(GovernanceError::NoFinalSap))?;
            if !state.locked {
                return Err(refuse(GovernanceError::NotLocked));
            }
            let sap_version = sap.version.clone();
            if let Command::RequestUnblinding = command {
                if let Some(p) = &g.pending {
                    return Err(refuse(GovernanceError::RequestPending {
                        user: p.user.clone(),
                        role: p.role,
                    }));
                }
                return Ok((None, Payload::UnblindingRequested { sap_version }));
            }
            let p = g
                .pending
                .as_ref()
                .ok_or_else(|| refuse(GovernanceError::NoRequest))?;
            if p.user == actor.user {
                return Err(refuse(GovernanceError::SamePerson {
                    user: actor.user.clone(),
                }));
            }
            if p.role == actor.role {
                return Err(refuse(GovernanceError::SameRole { role: p.role }));
            }
            if p.sap_version != sap_version {
                return Err(refuse(GovernanceError::SapChanged {
                    requested: p.sap_version.clone(),
                    current: sap_version,
                }));
            }
            Ok((None, Payload::UnblindingApproved { sap_version }))
        }
        Command::SafetyCodeBreak { participant: id } => {
            if reason.is_none() {
                return Err(CommandError::ReasonRequired { action });
            }
            if !config.blinded {
                return Err(CommandError::NotBlinded);
            }
            let p = state
                .participants
                .get(id)
                .filter(|p| match p.site.as_deref() {
                    Some(s) => grant.covers(s),
                    None => *grant == Sites::All,
                })
                .ok_or_else(|| CommandError::UnknownParticipant {
                    participant: id.clone(),
                    action,
                })?;
            if p.allocation.is_none() {
                return Err(CommandError::NotRandomised {
                    participant: id.clone(),
                    action,
                });
            }
            if state.unblinded.contains(&(actor.user.clone(), id.clone())) {
                return Err(CommandError::AlreadyUnblinded {
                    participant: id.clone(),
                    user: actor.user.clone(),
                });
            }
            // No site on the event: the site must not learn of it.
            Ok((
                None,
                Payload::SafetyCodeBroken {
                    participant: id.clone(),
                },
            ))
        }
        Command::ProduceCodeBreakList => {
            if !config.blinded {
                return Err(CommandError::NotBlinded);
            }
            let entries = state
                .code_break_list(&actor.user)
                .map_or(0, |l| l.len() as u64);
            if entries == 0 {
                return Err(refuse(GovernanceError::NothingToList));
            }
            Ok((None, Payload::CodeBreakListProduced { entries }))
        }
        _ => Err(CommandError::Internal(format!(
            "{} is not a governance command",
            action.describe()
        ))),
    }
}

/// The roles the governance actions are permitted to (the permission
/// table's rows for [`Action::FinaliseSap`] and the others).
pub(crate) fn roles(action: Action) -> &'static [Role] {
    match action {
        Action::FinaliseSap => &[Role::Statistician],
        Action::RequestUnblinding | Action::ApproveUnblinding => {
            &[Role::Sponsor, Role::Statistician]
        }
        Action::SafetyCodeBreak => &[Role::Pharmacovigilance],
        Action::ProduceCodeBreakList => &[Role::Pharmacist],
        _ => &[],
    }
}
