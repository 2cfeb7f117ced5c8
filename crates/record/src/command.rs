//! Commands: what a user asks to do, checked against the trial state before
//! any event is written ([`TrialState::check`]).
//!
//! `check` is a pure function of the state, the actor, the time and the
//! command: a store that loses an append race re-runs it against the new
//! state (randomisation included), so no list position is used twice or
//! skipped.
//!
//! # Who may do what
//! [`Action::roles`] is the permission table. On top of it:
//! - the actor must hold the role in this trial ([`TrialState::grants`]) and,
//!   for anything about a participant, a grant whose sites cover the
//!   participant's site (locking needs a grant for all sites);
//! - data entry is narrowed by the form's rule ([`crate::FormRule`]): a form
//!   `entered_by` one role is written by that role only; an arm-specific form
//!   of a blinded trial only by unblinded roles, and only for participants of
//!   its arm; other forms by the investigator and the research nurse;
//! - the database is locked, with a reason, only when every query is closed;
//!   after the lock no data is written (screening, consent, randomisation,
//!   values, sessions, withdrawals, queries) until a data manager unlocks it
//!   with a reason;
//! - queries on values of an arm-specific form of a blinded trial are refused
//!   to blinded roles (they cannot see those values);
//! - a new participant's identifier follows one rule ([`check_participant_id`]);
//! - the login events are written by the system (or by the user about
//!   themself), and a password may also be changed by its owner;
//! - separation of duties and the account rules ([`duties`]): one rule for
//!   user names, grants only to existing accounts and never to oneself, no
//!   account with a blinded and an unblinded role in a blinded trial, the
//!   last administrator is neither revoked nor locked, failed logins only
//!   for existing accounts. Nothing locks an account on its own: the
//!   administrator locks, and the administrator or the operator unlocks.

//!
//! # Where each rule lives
//! [`permissions`] holds the permission table, [`errors`] the refusals;
//! `check` below applies the rules every command shares (registration,
//! the role table, the grant, the lock, the reason) and hands over to one
//! module per concern: `enrolment` (screening, consent, randomisation,
//! withdrawal, emergency unblinding), `data` (values and sessions),
//! `queries` (queries and the database lock), `accounts` (sites, users,
//! grants, logins), [`duties`] (separation of duties) and `ids`
//! (participant identifiers).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::design::TrialDesign;
use crate::event::{Arm, EventDraft, Payload, Role, Sites};
use crate::state::{Participant, TrialConfig, TrialState};

mod accounts;
mod data;
pub mod duties;
mod enrolment;
mod errors;
mod ids;
mod monitoring;
mod permissions;
mod queries;

pub use data::check_data;
pub use enrolment::{
    consent_versions, evaluate_screening, strata_of, unblinding_categories, EXPLANATION_MIN_CHARS,
};
pub use errors::CommandError;
pub use ids::{check_participant_id, MAX_PARTICIPANT_ID};
pub use permissions::Action;

use Role::{Admin, System};

/// Who acts: a user, in one of their roles, working at a site (if any).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// User name.
    pub user: String,
    /// The role the user acts in (must be granted in the trial).
    pub role: Role,
    /// The site the user works at; new participants are screened at this
    /// site unless the command names one.
    pub site: Option<String>,
    /// The software the edge runs (e.g. `rct 0.1.0 (git 0123456789ab)`),
    /// kept on every event the actor's commands write (see
    /// [`crate::Event::software`]); the edge knows it, as it knows the time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software: Option<String>,
}

impl Actor {
    /// An actor (no software named: see [`Actor::running`]).
    pub fn new(user: &str, role: Role, site: Option<&str>) -> Actor {
        Actor {
            user: user.to_string(),
            role,
            site: site.map(str::to_string),
            software: None,
        }
    }

    /// The actor with the software the edge runs, recorded on its events.
    pub fn running(mut self, software: &str) -> Actor {
        self.software = Some(software.to_string());
        self
    }
}

/// Everything a user can ask of a trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Register the trial (the first event; the actor becomes its administrator).
    RegisterTrial {
        /// Title.
        title: String,
        /// Whether blinded roles must not see arms.
        blinded: bool,
        /// Arms.
        arms: Vec<Arm>,
        /// The design (randomisation and form rules).
        design: TrialDesign,
        /// Seed of the allocation sequence (sealed in the record; edges
        /// draw it from the operating system, see `rct_store::secrets`).
        seed: rct_random::TrialSeed,
        /// The trial's sealing key, 64 hex digits (drawn from the operating
        /// system by the edge; every commitment's nonce derives from it).
        seal_key: String,
    },
    /// Add a site.
    AddSite {
        /// Identifier.
        site: String,
        /// Name.
        name: String,
    },
    /// Screen a person (creates the participant at a site): the record
    /// computes the verdict from the facts with the registered protocol's
    /// eligibility rules, and keeps the facts (stratification reads them).
    Screen {
        /// Participant identifier.
        participant: String,
        /// Site; the actor's site when `None`.
        site: Option<String>,
        /// The screening date, on which criteria such as age are evaluated.
        date: chrono::NaiveDate,
        /// Facts by the protocol's fact id, in the facts format of `rct
        /// screen` (numbers, booleans, codes, dates as `YYYY-MM-DD`,
        /// laboratory values as `{"value", "unit", ...}`; null: unknown).
        #[serde(default)]
        facts: BTreeMap<String, Value>,
    },
    /// Record informed consent: when it was given, on which version of the
    /// consent form (the protocol's `[consent] versions`; the current one
    /// when not given) and who obtained it (the acting user when not given).
    Consent {
        /// Participant.
        participant: String,
        /// The consent form version.
        #[serde(default)]
        version: Option<String>,
        /// When consent was given (the command's time when not given).
        #[serde(default)]
        given_at: Option<chrono::DateTime<chrono::Utc>>,
        /// Who obtained it.
        #[serde(default)]
        obtained_by: Option<String>,
    },
    /// Randomise: the arm is computed from the state's allocation history;
    /// the stratification and minimisation factors come from the recorded
    /// screening facts (and the participant's site), never from the edge.
    Randomise {
        /// Participant.
        participant: String,
    },
    /// Enter a value for the first time.
    EnterValue {
        /// Participant.
        participant: String,
        /// Visit.
        visit: String,
        /// Form.
        form: String,
        /// Field.
        field: String,
        /// Value.
        value: Value,
    },
    /// Record a dispensed kit other than the one the record assigned, as
    /// given (the edge asked the person to confirm it; a reason is
    /// required): the value is entered (or changed) and a kit deviation is
    /// raised that only unblinded roles see. A plain [`Command::EnterValue`]
    /// of another kit is refused.
    DispenseOtherKit {
        /// Participant.
        participant: String,
        /// Visit.
        visit: String,
        /// Form.
        form: String,
        /// The kit field.
        field: String,
        /// The kit code given.
        value: Value,
    },
    /// Change an entered value (a reason is required).
    ChangeValue {
        /// Participant.
        participant: String,
        /// Visit.
        visit: String,
        /// Form.
        form: String,
        /// Field.
        field: String,
        /// New value.
        value: Value,
    },
    /// Raise a data query (its identifier `Q<n>` is assigned here).
    RaiseQuery {
        /// Participant.
        participant: String,
        /// Item `visit/form/field`, if the query is about one.
        item: Option<String>,
        /// Question.
        text: String,
    },
    /// Answer a query.
    AnswerQuery {
        /// Query identifier.
        query: String,
        /// Answer.
        text: String,
    },
    /// Close a query.
    CloseQuery {
        /// Query identifier.
        query: String,
    },
    /// Record an intervention session.
    RecordSession {
        /// Participant.
        participant: String,
        /// Session identifier.
        session: String,
        /// Summary.
        summary: Value,
    },
    /// The person declines to consent (counted in the CONSORT flow as
    /// excluded, declined to participate).
    DeclineConsent {
        /// Participant.
        participant: String,
    },
    /// Withdraw a participant's consent: no more data (a reason is
    /// required; what was recorded is kept).
    Withdraw {
        /// Participant.
        participant: String,
    },
    /// Stop the intervention early for a randomised participant who stays
    /// in follow-up (a reason is required): data are still taken, kits and
    /// intervention sessions no longer are.
    StopIntervention {
        /// Participant.
        participant: String,
    },
    /// Emergency unblinding of one participant for the acting user: a reason
    /// category from the protocol's `[unblinding] categories` now; the
    /// free-text explanation (the command's reason) may come now or follow
    /// as [`Command::ExplainUnblinding`] within the protocol's time.
    EmergencyUnblind {
        /// Participant.
        participant: String,
        /// The reason category, one of the protocol's.
        #[serde(default)]
        category: String,
    },
    /// The written explanation of the acting user's own earlier code-break.
    ExplainUnblinding {
        /// Participant.
        participant: String,
        /// The explanation (at least 10 characters and two words).
        explanation: String,
    },
    /// Lock the database.
    Lock,
    /// Unlock the database (a reason is required).
    Unlock,
    /// Grant a role.
    GrantRole {
        /// User.
        user: String,
        /// Role.
        role: Role,
        /// Sites covered.
        sites: Sites,
    },
    /// Source data verification of one form at one visit (monitor): the
    /// values as they stand were checked against the source documents.
    VerifyForm {
        /// Participant.
        participant: String,
        /// Visit.
        visit: String,
        /// Form.
        form: String,
    },
    /// The investigator's electronic signature of a participant's casebook
    /// (21 CFR 11.50, 11.200): the edge re-checks the password; the record
    /// writes the printed name (the account's display name), the time (the
    /// event's) and the meaning.
    SignCasebook {
        /// Participant.
        participant: String,
        /// What the signature means, e.g. "approval of the casebook".
        meaning: String,
    },
    /// Revoke a role.
    RevokeRole {
        /// User.
        user: String,
        /// Role.
        role: Role,
    },
    /// Create a user account.
    CreateUser {
        /// User name.
        user: String,
        /// Name shown to people.
        display_name: String,
        /// Argon2 PHC string computed by the edge.
        password_hash: String,
    },
    /// Change a password.
    ChangePassword {
        /// User.
        user: String,
        /// Argon2 PHC string computed by the edge.
        password_hash: String,
    },
    /// Lock a user account.
    LockUser {
        /// User.
        user: String,
    },
    /// Unlock a user account.
    UnlockUser {
        /// User.
        user: String,
    },
    /// A successful login.
    Login {
        /// User.
        user: String,
    },
    /// A logout.
    Logout {
        /// User.
        user: String,
    },
    /// A failed login attempt.
    LoginFailed {
        /// User name tried.
        user: String,
    },
    /// Record a version of the statistical analysis plan as final
    /// (statistician; see [`crate::governance`]).
    FinaliseSap {
        /// Version label.
        version: String,
        /// SHA-256 (lower-case hex) of the plan's text or file.
        digest: String,
    },
    /// Request the trial's unblinding (first of two authorisations).
    RequestUnblinding,
    /// Approve the trial's unblinding (second authorisation, by another
    /// person in another role).
    ApproveUnblinding,
    /// Pharmacovigilance code-break of one participant for an expedited
    /// safety report (a reason is required).
    SafetyCodeBreak {
        /// Participant.
        participant: String,
    },
    /// Record that the sealed code-break list is being produced.
    ProduceCodeBreakList,
}

impl TrialState {
    /// Checks several commands as one write (all or nothing): each is
    /// checked against the state as the earlier ones leave it (a scratch copy;
    /// `self` is unchanged), so later commands may depend on earlier ones
    /// (two queries get `Q1` and `Q2`; an entry then a change of one item).
    pub fn check_all(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        reason: Option<&str>,
        commands: &[Command],
    ) -> Result<Vec<EventDraft>, CommandError> {
        if let [one] = commands {
            return self.check(actor, at, reason, one);
        }
        let mut scratch = self.clone();
        let mut drafts = Vec::new();
        for c in commands {
            for d in scratch.check(actor, at, reason, c)? {
                let e = scratch.seal(d.clone());
                scratch
                    .apply(&e)
                    .map_err(|e| CommandError::Internal(e.to_string()))?;
                drafts.push(d);
            }
        }
        Ok(drafts)
    }

    /// Checks `command` and, when accepted, seals its events onto the chain
    /// and folds them into this state, returning them (for an in-memory
    /// trial, tests and demos; stores use [`TrialState::check`] and append).
    pub fn execute(
        &mut self,
        actor: &Actor,
        at: DateTime<Utc>,
        reason: Option<&str>,
        command: &Command,
    ) -> Result<Vec<crate::event::Event>, CommandError> {
        let drafts = self.check(actor, at, reason, command)?;
        let mut events = Vec::with_capacity(drafts.len());
        for d in drafts {
            let e = self.seal(d);
            self.apply(&e)
                .map_err(|e| CommandError::Internal(e.to_string()))?;
            events.push(e);
        }
        Ok(events)
    }
}

fn nonempty(text: &str, what: &'static str) -> Result<(), CommandError> {
    if text.trim().is_empty() {
        Err(CommandError::Empty { what })
    } else {
        Ok(())
    }
}

/// What every per-concern check needs: the state's trial, the actor, the
/// time, the reason, the action, the actor's grant and the trial's
/// registration.
pub(super) struct Ctx<'a> {
    state: &'a TrialState,
    actor: &'a Actor,
    at: DateTime<Utc>,
    reason: Option<&'a str>,
    action: Action,
    grant: &'a Sites,
    config: &'a TrialConfig,
    /// The edge confirmed a kit other than the assigned one.
    confirmed_kit: bool,
}

fn draft_of(
    state: &TrialState,
    actor: &Actor,
    at: DateTime<Utc>,
    reason: Option<&str>,
    site: Option<String>,
    payload: Payload,
) -> EventDraft {
    EventDraft {
        software: actor.software.clone(),
        trial: state.trial.clone(),
        at,
        actor: actor.user.clone(),
        role: actor.role,
        site,
        reason: reason.map(str::to_string),
        payload,
    }
}

impl<'a> Ctx<'a> {
    /// An event by this actor at this time with this reason.
    fn draft(&self, site: Option<String>, payload: Payload) -> EventDraft {
        draft_of(self.state, self.actor, self.at, self.reason, site, payload)
    }

    /// The actor's grant covers `site` (`None`: every site).
    fn covers(&self, site: Option<&str>) -> Result<(), CommandError> {
        match site {
            Some(site) if !self.grant.covers(site) => Err(CommandError::SiteNotGranted {
                user: self.actor.user.clone(),
                role: self.actor.role,
                site: site.to_string(),
            }),
            None if *self.grant != Sites::All => Err(CommandError::NeedsAllSites {
                user: self.actor.user.clone(),
                role: self.actor.role,
                action: self.action,
            }),
            _ => Ok(()),
        }
    }

    /// A participant known to the state, within the actor's sites.
    fn participant(&self, id: &str) -> Result<&'a Participant, CommandError> {
        let p =
            self.state
                .participants
                .get(id)
                .ok_or_else(|| CommandError::UnknownParticipant {
                    participant: id.to_string(),
                    action: self.action,
                })?;
        self.covers(p.site.as_deref())?;
        Ok(p)
    }

    /// Refuses a withdrawn participant.
    /// Refuses when `p`'s intervention has stopped early.
    fn intervention_continues(&self, p: &Participant) -> Result<(), CommandError> {
        match &p.intervention_stopped {
            Some((when, _)) => Err(CommandError::InterventionStopped {
                participant: p.id.clone(),
                at: *when,
                action: self.action,
            }),
            None => Ok(()),
        }
    }

    fn not_withdrawn(&self, p: &Participant) -> Result<(), CommandError> {
        match &p.withdrawn {
            Some((when, _)) => Err(CommandError::Withdrawn {
                participant: p.id.clone(),
                at: *when,
                action: self.action,
            }),
            None => Ok(()),
        }
    }
}

impl TrialState {
    /// Checks `command` by `actor` at time `at` against the state. Accepted:
    /// the events to write (seal them onto the chain in order). Refused: why.
    /// `reason` is required for changes, withdrawals, emergency unblinding,
    /// locking and unlocking (blank counts as none); it is kept on every event.
    pub fn check(
        &self,
        actor: &Actor,
        at: DateTime<Utc>,
        reason: Option<&str>,
        command: &Command,
    ) -> Result<Vec<EventDraft>, CommandError> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        let action = command.action();
        let draft = |site: Option<String>, payload: Payload| {
            draft_of(self, actor, at, reason, site, payload)
        };
        nonempty(&actor.user, "the acting user")?;

        if let Command::RegisterTrial {
            title,
            blinded,
            arms,
            design,
            seed,
            seal_key,
        } = command
        {
            if self.seq > 0 || self.config.is_some() {
                return Err(CommandError::AlreadyRegistered {
                    trial: self.trial.clone(),
                });
            }
            if actor.role != Admin {
                return Err(CommandError::NotPermitted {
                    role: actor.role,
                    action,
                });
            }
            nonempty(title, "the title")?;
            design.validate(arms)?;
            if let Some(text) = &design.protocol {
                rct_core::protocol::parse(text, "the registered protocol").map_err(|d| {
                    CommandError::ProtocolText {
                        message: d.to_string(),
                    }
                })?;
            }
            if crate::seal::parse_key(seal_key).is_none() {
                return Err(CommandError::BadSealKey);
            }
            return Ok(vec![draft(
                actor.site.clone(),
                Payload::TrialRegistered {
                    title: title.clone(),
                    blinded: *blinded,
                    arms: arms.clone(),
                    design: design.to_value(),
                    seed: *seed,
                    seal_key: Some(seal_key.clone()),
                    public_design: Some(design.public_value(*blinded)),
                },
            )]);
        }
        let Some(config) = &self.config else {
            return Err(CommandError::NotRegistered {
                trial: self.trial.clone(),
            });
        };

        // Login events: the system writes them, or the user about themself.
        if let Command::Login { user } | Command::Logout { user } | Command::LoginFailed { user } =
            command
        {
            nonempty(user, "the user name")?;
            if actor.role != System && &actor.user != user {
                return Err(CommandError::OtherUser {
                    actor: actor.user.clone(),
                    user: user.clone(),
                    action,
                });
            }
            if actor.role != System && self.grant(&actor.user, actor.role).is_none() {
                return Err(CommandError::RoleNotGranted {
                    user: actor.user.clone(),
                    role: actor.role,
                });
            }
            if let Command::LoginFailed { user } = command {
                self.check_login_failed(user)?;
            }
            let payload = match command {
                Command::Login { .. } => {
                    if self.users.get(user).is_some_and(|u| u.locked) {
                        return Err(CommandError::UserLocked { user: user.clone() });
                    }
                    Payload::LoggedIn { user: user.clone() }
                }
                Command::Logout { .. } => Payload::LoggedOut { user: user.clone() },
                _ => Payload::LoginFailed { user: user.clone() },
            };
            return Ok(vec![draft(actor.site.clone(), payload)]);
        }

        // Everything else: the role table, then the grant.
        let own_password =
            matches!(command, Command::ChangePassword { user, .. } if *user == actor.user);
        if !own_password && !action.permits(actor.role) {
            return Err(CommandError::NotPermitted {
                role: actor.role,
                action,
            });
        }
        let grant = if actor.role == System {
            &Sites::All
        } else {
            self.grant(&actor.user, actor.role)
                .ok_or_else(|| CommandError::RoleNotGranted {
                    user: actor.user.clone(),
                    role: actor.role,
                })?
        };
        if action.writes_data() && self.locked {
            return Err(CommandError::Locked { action });
        }
        if action.needs_reason() && reason.is_none() {
            return Err(CommandError::ReasonRequired { action });
        }
        let cx = Ctx {
            state: self,
            actor,
            at,
            reason,
            action,
            grant,
            config,
            confirmed_kit: false,
        };

        self.check_duties(actor, command)?;

        let (site, payload) = match command {
            Command::RegisterTrial { .. }
            | Command::Login { .. }
            | Command::Logout { .. }
            | Command::LoginFailed { .. } => {
                return Err(CommandError::AlreadyRegistered {
                    trial: self.trial.clone(),
                })
            }
            Command::FinaliseSap { .. }
            | Command::RequestUnblinding
            | Command::ApproveUnblinding
            | Command::SafetyCodeBreak { .. }
            | Command::ProduceCodeBreakList => {
                crate::governance::check(self, config, actor, grant, reason, command)?
            }
            Command::AddSite { site, name } => return self.check_add_site(&cx, site, name),
            Command::Screen {
                participant,
                site,
                date,
                facts,
            } => return self.check_screen(&cx, participant, site, *date, facts),
            Command::Consent {
                participant,
                version,
                given_at,
                obtained_by,
            } => self.check_consent(&cx, participant, version, *given_at, obtained_by)?,
            Command::Randomise { participant } => {
                let p = cx.participant(participant)?;
                return Ok(vec![cx.draft(p.site.clone(), self.randomise(p)?)]);
            }
            Command::EnterValue {
                participant,
                visit,
                form,
                field,
                value,
            }
            | Command::ChangeValue {
                participant,
                visit,
                form,
                field,
                value,
            } => self.check_value(&cx, command, participant, visit, form, field, value)?,
            Command::DispenseOtherKit {
                participant,
                visit,
                form,
                field,
                value,
            } => {
                if reason.is_none() {
                    return Err(CommandError::ReasonRequired { action });
                }
                let p = cx.participant(participant)?;
                let as_value = if p
                    .values
                    .contains_key(&crate::state::item_key(visit, form, field))
                {
                    Command::ChangeValue {
                        participant: participant.clone(),
                        visit: visit.clone(),
                        form: form.clone(),
                        field: field.clone(),
                        value: value.clone(),
                    }
                } else {
                    Command::EnterValue {
                        participant: participant.clone(),
                        visit: visit.clone(),
                        form: form.clone(),
                        field: field.clone(),
                        value: value.clone(),
                    }
                };
                let cx = Ctx {
                    confirmed_kit: true,
                    ..cx
                };
                let (site, payload) =
                    self.check_value(&cx, &as_value, participant, visit, form, field, value)?;
                let mut out = vec![cx.draft(site.clone(), payload)];
                if let Some(d) = data::kit_deviation(p, field, value) {
                    out.push(cx.draft(site, d));
                }
                return Ok(out);
            }
            Command::RaiseQuery {
                participant,
                item,
                text,
            } => self.check_raise_query(&cx, participant, item, text)?,
            Command::AnswerQuery { query, .. } | Command::CloseQuery { query } => {
                self.check_answer_or_close(&cx, command, query)?
            }
            Command::RecordSession {
                participant,
                session,
                summary,
            } => self.check_session(&cx, participant, session, summary)?,
            Command::Withdraw { participant } => self.check_withdraw(&cx, participant)?,
            Command::DeclineConsent { participant } => {
                self.check_decline_consent(&cx, participant)?
            }
            Command::StopIntervention { participant } => {
                self.check_stop_intervention(&cx, participant)?
            }
            Command::EmergencyUnblind {
                participant,
                category,
            } => self.check_emergency_unblind(&cx, participant, category)?,
            Command::ExplainUnblinding {
                participant,
                explanation,
            } => self.check_explain_unblinding(&cx, participant, explanation)?,
            Command::VerifyForm {
                participant,
                visit,
                form,
            } => self.check_verify_form(&cx, participant, visit, form)?,
            Command::SignCasebook {
                participant,
                meaning,
            } => self.check_sign_casebook(&cx, participant, meaning)?,
            Command::Lock => self.check_lock(&cx, true)?,
            Command::Unlock => self.check_lock(&cx, false)?,
            Command::GrantRole { .. }
            | Command::RevokeRole { .. }
            | Command::CreateUser { .. }
            | Command::ChangePassword { .. }
            | Command::LockUser { .. }
            | Command::UnlockUser { .. } => self.check_account(&cx, command)?,
        };
        Ok(vec![draft(site, payload)])
    }
}

#[cfg(test)]
pub(crate) mod tests;

#[cfg(test)]
mod tests_consent;
#[cfg(test)]
mod tests_stop;

#[cfg(test)]
mod tests_monitoring;
