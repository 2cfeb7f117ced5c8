//! The trial state: a fold over the events.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use imbl::{OrdMap, OrdSet, Vector};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use rct_random::PriorAllocation;

use crate::design::TrialDesign;
use crate::event::{
    Arm, CriterionResult, Event, FormRule, Payload, Role, Sites, Verdict, GENESIS_HASH,
};

/// Configuration carried by the trial's first event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialConfig {
    /// Title.
    pub title: String,
    /// Whether blinded roles must not see arms.
    pub blinded: bool,
    /// Arms.
    pub arms: Vec<Arm>,
    /// Randomisation design (concealed).
    pub design: Value,
    /// Seed (sealed).
    pub seed: rct_random::TrialSeed,
    /// The sealing key every nonce derives from (sealed; see [`crate::seal`]).
    pub seal_key: [u8; 32],
    /// Form rules read from the design (empty when the design has none or
    /// cannot be read).
    pub forms: Vec<FormRule>,
    /// The registered protocol, parsed once when the registration is
    /// folded (`None` for a trial registered from a bare design). Every
    /// reader takes the protocol from here: the record screens, validates
    /// values and checks kits against it; edges render its forms.
    /// Concealed like the design it comes from (it names the
    /// randomisation design): edges render forms, facts and strata from it,
    /// never its randomisation.
    #[serde(skip)]
    pub protocol: Option<RegisteredProtocol>,
}

/// The protocol a trial was registered with, parsed: a pure function of the
/// registration's design (its `protocol` text), so two configurations with
/// equal designs hold equal protocols.
#[derive(Debug, Clone)]
pub struct RegisteredProtocol(pub Arc<rct_core::protocol::Protocol>);

impl PartialEq for RegisteredProtocol {
    fn eq(&self, _: &RegisteredProtocol) -> bool {
        // Derived from `TrialConfig::design`, which is compared beside it.
        true
    }
}

impl std::ops::Deref for RegisteredProtocol {
    type Target = rct_core::protocol::Protocol;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl RegisteredProtocol {
    /// The protocol held in a registration's design, parsed (`None` when
    /// the design carries no protocol text or the text does not parse: a
    /// registration is checked before it is written, so the latter does
    /// not happen for a record written by this software).
    pub fn from_design(design: &Value) -> Option<RegisteredProtocol> {
        let text = TrialDesign::from_value(design).ok()?.protocol?;
        rct_core::protocol::parse(&text, "registered protocol")
            .ok()
            .map(|p| RegisteredProtocol(Arc::new(p)))
    }
}

impl TrialConfig {
    /// The design, parsed.
    pub fn trial_design(&self) -> Result<TrialDesign, crate::design::DesignError> {
        TrialDesign::from_value(&self.design)
    }

    /// Whether stopping a participant's intervention reveals the arm: in a
    /// blinded trial without kits for every arm (a control arm without an
    /// intervention, as LUPEX's usual care), only one arm has an
    /// intervention to stop. With kits (double-blind, placebo), every arm
    /// has one, and blinded staff must see that it stopped.
    pub fn stopping_reveals_arm(&self) -> bool {
        self.blinded && !self.trial_design().is_ok_and(|d| d.kits)
    }

    /// Whether the protocol lets `role` see arms: its `[[roles]]
    /// sees_arms` where declared (the checker refuses a declaration that
    /// unmasks a party `masking.blinded` names, or hides the arm from the
    /// role entering an arm-specific form); a role of a masked party that
    /// is not declared stays blind; `None` where the protocol is silent
    /// (the record's defaults apply).
    pub fn protocol_sees_arms(&self, role: crate::Role) -> Option<bool> {
        use rct_core::protocol::MaskedParty;
        let p = self.protocol()?;
        let id = match role {
            crate::Role::Admin => "administrator",
            other => other.as_str(),
        };
        if let Some(r) = p.roles.iter().find(|r| r.id.get_ref() == id) {
            return Some(r.sees_arms);
        }
        let party = match role {
            crate::Role::Investigator | crate::Role::ResearchNurse => MaskedParty::Investigator,
            crate::Role::OutcomeAssessor => MaskedParty::OutcomeAssessor,
            crate::Role::InterventionStaff => MaskedParty::CareProvider,
            _ => return None,
        };
        p.masking
            .blinded
            .iter()
            .any(|b| *b.get_ref() == party)
            .then_some(false)
    }

    /// The registered protocol, if the trial was registered with one.
    pub fn protocol(&self) -> Option<&rct_core::protocol::Protocol> {
        self.protocol.as_deref()
    }

    /// The rule of a form, if any.
    pub fn form_rule(&self, form: &str) -> Option<&FormRule> {
        self.forms.iter().find(|f| f.form == form)
    }

    /// The roles a query about `item` (`visit/form/field`) goes to: those
    /// who can answer it by correcting the value. A form entered by one
    /// role goes to that role (a CPET query to the outcome assessor); an
    /// arm-specific form to the unblinded roles who enter it; anything else
    /// (other forms, the participant as a whole) to the site's investigator
    /// and research nurse.
    pub fn answered_by(&self, item: Option<&str>) -> Vec<Role> {
        let rule = item
            .and_then(|i| i.split('/').nth(1))
            .and_then(|form| self.form_rule(form));
        match rule {
            Some(FormRule {
                entered_by: Some(by),
                ..
            }) => vec![*by],
            Some(FormRule { arm: Some(_), .. }) => {
                vec![Role::InterventionStaff, Role::Pharmacist]
            }
            _ => vec![Role::Investigator, Role::ResearchNurse],
        }
    }

    /// The arm a form belongs to, if it is arm-specific.
    pub fn form_arm(&self, form: &str) -> Option<&str> {
        self.form_rule(form).and_then(|f| f.arm.as_deref())
    }

    /// The arm with this identifier.
    pub fn arm(&self, id: &str) -> Option<&Arm> {
        self.arms.iter().find(|a| a.id == id)
    }
}

/// Screening outcome held in the state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Screening {
    /// Verdict.
    pub verdict: Verdict,
    /// Per-criterion summary.
    pub criteria: Vec<CriterionResult>,
    /// When.
    pub at: DateTime<Utc>,
    /// The facts screened, by the protocol's fact id.
    pub facts: BTreeMap<String, Value>,
    /// The screening date.
    pub date: Option<chrono::NaiveDate>,
}

/// An allocation held in the state (never shown to blinded roles as is).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Allocation {
    /// Arm.
    pub arm: String,
    /// Kit code.
    pub kit: Option<String>,
    /// 1-based position within the stratum's sequence.
    pub position: u64,
    /// Stratum key.
    pub stratum: String,
    /// Factor levels given at randomisation.
    pub factors: BTreeMap<String, String>,
    /// When.
    pub at: DateTime<Utc>,
    /// Sequence number of the randomised event.
    pub seq: u64,
}

/// A recorded intervention session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Session {
    /// Identifier.
    pub session: String,
    /// Summary.
    pub summary: Value,
    /// When recorded.
    pub at: DateTime<Utc>,
}

/// One participant's record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Participant {
    /// Identifier.
    pub id: String,
    /// Site (from the first event about the participant).
    pub site: Option<String>,
    /// Latest screening.
    pub screening: Option<Screening>,
    /// Earlier screenings, oldest first (a re-screening, with its reason,
    /// never replaces the history).
    pub earlier_screenings: Vec<Screening>,
    /// When consent was recorded.
    pub consented: Option<DateTime<Utc>>,
    /// The consent form version of the latest consent.
    pub consent_version: Option<String>,
    /// Allocation.
    pub allocation: Option<Allocation>,
    /// When the person declined to consent (the latest time).
    pub declined: Option<DateTime<Utc>>,
    /// Withdrawal of consent: when and why.
    pub withdrawn: Option<(DateTime<Utc>, Option<String>)>,
    /// The intervention stopped early (follow-up continues): when and why.
    pub intervention_stopped: Option<(DateTime<Utc>, Option<String>)>,
    /// Current values keyed by `visit/form/field`.
    pub values: BTreeMap<String, Value>,
    /// Sessions.
    pub sessions: Vec<Session>,
    /// Source data verification by form (`visit/form`), the latest.
    pub verified: BTreeMap<String, Verification>,
    /// Casebook signatures, oldest first.
    pub signatures: Vec<Signature>,
    /// The last event that entered or changed a value, by form
    /// (`visit/form`).
    pub changed: BTreeMap<String, u64>,
    /// The last event that entered or changed a value of a form that is not
    /// arm-specific (what a signature covers; a blinded signer's casebook
    /// holds no arm-specific form).
    pub last_open_change: u64,
}

/// A form's source data verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Monitor.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The event.
    pub seq: u64,
}

/// A casebook signature (21 CFR 11.50: printed name, date and time,
/// meaning).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signature {
    /// Account of the signer.
    pub user: String,
    /// Printed name.
    pub name: String,
    /// Meaning.
    pub meaning: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The event.
    pub seq: u64,
}

impl Participant {
    /// Notes that event `seq` entered or changed a value of `visit/form`.
    fn note_change(&mut self, visit: &str, form: &str, seq: u64, open: bool) {
        self.changed.insert(format!("{visit}/{form}"), seq);
        if open {
            self.last_open_change = seq;
        }
    }

    /// Whether the verification of `visit/form` still holds: no value of
    /// the form entered or changed since.
    pub fn verification_current(&self, form_key: &str) -> bool {
        self.verified
            .get(form_key)
            .is_some_and(|v| self.changed.get(form_key).is_none_or(|c| *c < v.seq))
    }

    /// Whether `s` needs renewal: a value the signature covers changed
    /// after it.
    pub fn signature_stale(&self, s: &Signature) -> bool {
        self.last_open_change > s.seq
    }
    fn new(id: &str, site: Option<&str>) -> Participant {
        Participant {
            id: id.into(),
            site: site.map(str::to_string),
            screening: None,
            earlier_screenings: Vec::new(),
            consented: None,
            consent_version: None,
            allocation: None,
            declined: None,
            withdrawn: None,
            intervention_stopped: None,
            values: BTreeMap::new(),
            sessions: Vec::new(),
            verified: BTreeMap::new(),
            signatures: Vec::new(),
            changed: BTreeMap::new(),
            last_open_change: 0,
        }
    }
}

/// Status of a data query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryStatus {
    /// Raised, not answered.
    Open,
    /// Answered, not closed.
    Answered,
    /// Closed.
    Closed,
}

/// A data query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Query {
    /// Identifier.
    pub id: String,
    /// Participant.
    pub participant: String,
    /// Item (`visit/form/field`), if any.
    pub item: Option<String>,
    /// Question.
    pub text: String,
    /// Who raised it.
    pub raised_by: String,
    /// Answers in order.
    pub answers: Vec<String>,
    /// Status.
    pub status: QueryStatus,
    /// When raised.
    pub raised_at: DateTime<Utc>,
}

/// A user account (the password hash is never serialised).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserAccount {
    /// User name.
    pub user: String,
    /// Name shown to people.
    pub display_name: String,
    /// Argon2 PHC string; skipped when serialised.
    #[serde(skip_serializing)]
    pub password_hash: String,
    /// Whether the account is locked.
    pub locked: bool,
    /// Failed logins since the last successful one (or the last unlock).
    pub failed_logins: u32,
    /// Last successful login.
    pub last_login: Option<DateTime<Utc>>,
}

/// A grant of an unblinded role (pharmacist, intervention staff), as
/// administrators and monitors are told of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnblindedGrant {
    /// Who received the role.
    pub user: String,
    /// The unblinded role.
    pub role: Role,
    /// Sites covered.
    pub sites: Sites,
    /// Who granted it.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Sequence number of the event.
    pub seq: u64,
    /// When it was revoked, if it was.
    pub revoked: Option<DateTime<Utc>>,
}

/// An emergency code-break, as administrators are told of it (no arm).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unblinding {
    /// Who broke the code.
    pub user: String,
    /// For which participant.
    pub participant: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The protocol's reason category (absent before categories existed).
    pub category: Option<String>,
    /// Why: the written explanation, given with the code-break or later;
    /// `None` while it is awaited.
    pub reason: Option<String>,
    /// When the explanation was written.
    pub explained_at: Option<DateTime<Utc>>,
    /// When the explanation is due: the protocol's `[unblinding]
    /// explain_within_hours` (24 when not set) after the code-break.
    pub explain_by: DateTime<Utc>,
    /// Sequence number of the event.
    pub seq: u64,
}

impl Unblinding {
    /// When an explanation is due by default: the default hours
    /// (`[unblinding] explain_within_hours`, 24) after `at`.
    pub fn default_explain_by(at: DateTime<Utc>) -> DateTime<Utc> {
        at + chrono::Duration::hours(i64::from(rct_core::protocol::DEFAULT_EXPLAIN_WITHIN_HOURS))
    }

    /// Whether the explanation is still awaited.
    pub fn awaits_explanation(&self) -> bool {
        self.reason.is_none()
    }

    /// Whether the explanation is awaited past its due time at `now` (the
    /// record has no clock: the reader passes the time).
    pub fn overdue(&self, now: DateTime<Utc>) -> bool {
        self.awaits_explanation() && now > self.explain_by
    }
}

/// Why an event cannot be folded into the state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// The event belongs to another trial.
    #[error("event {seq} belongs to trial `{found}`, the state is trial `{expected}`")]
    WrongTrial {
        /// Sequence number.
        seq: u64,
        /// The state's trial.
        expected: String,
        /// The event's trial.
        found: String,
    },
    /// Out of sequence.
    #[error("event {found} applied out of order: the state expects event {expected}")]
    OutOfOrder {
        /// Next expected sequence number.
        expected: u64,
        /// Event's sequence number.
        found: u64,
    },
    /// Does not link to the previous event.
    #[error("event {seq} does not link to the previous event's hash")]
    BrokenLink {
        /// Sequence number.
        seq: u64,
    },
    /// The first event is not a trial registration, or a later one is.
    #[error("event {seq}: {message}")]
    Invalid {
        /// Sequence number.
        seq: u64,
        /// What is wrong.
        message: String,
    },
}

/// The state of one trial, folded from its events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialState {
    /// Trial identifier.
    pub trial: String,
    /// Sequence number of the last applied event (0 before any).
    pub seq: u64,
    /// Hash of the last applied event.
    pub head: String,
    /// Configuration (after registration).
    pub config: Option<TrialConfig>,
    /// Participants by identifier. The large collections of the state are
    /// persistent (structure-sharing) maps and vectors, so that cloning a
    /// state to try a command against it costs O(log n), not O(n).
    pub participants: OrdMap<String, Arc<Participant>>,
    /// Queries by identifier.
    pub queries: OrdMap<String, Query>,
    /// Whether the database is locked.
    pub locked: bool,
    /// Role grants: user -> role -> sites.
    pub grants: BTreeMap<String, BTreeMap<Role, Sites>>,
    /// Allocation history in order: (stratum, arm).
    pub allocations: Vector<(String, String)>,
    /// Per stratum: the number of positions used.
    pub stratum_positions: BTreeMap<String, u64>,
    /// Emergency code-breaks: (user, participant).
    pub unblinded: BTreeSet<(String, String)>,
    /// Emergency code-breaks in order, with when and why.
    pub unblindings: Vec<Unblinding>,
    /// Allocation history as `rct_random::allocate` takes it, in order.
    pub history: Vector<PriorAllocation>,
    /// Sequence numbers of randomised events -> participant.
    pub allocation_seqs: OrdMap<u64, String>,
    /// Sequence numbers of events carrying a password hash.
    pub password_seqs: OrdSet<u64>,
    /// User accounts by user name.
    pub users: BTreeMap<String, UserAccount>,
    /// Sites: identifier -> name.
    pub sites: BTreeMap<String, String>,
    /// Grants of unblinded roles in order (see `command::duties`).
    pub unblinded_grants: Vec<UnblindedGrant>,
    /// Analysis plan, the trial's unblinding, safety code-breaks and the
    /// sealed code-break lists ([`crate::governance`]).
    pub governance: crate::governance::Governance,
}

impl TrialState {
    /// The empty state of a trial before its first event.
    pub fn new(trial: &str) -> TrialState {
        TrialState {
            trial: trial.into(),
            seq: 0,
            head: GENESIS_HASH.into(),
            config: None,
            participants: OrdMap::new(),
            queries: OrdMap::new(),
            locked: false,
            grants: BTreeMap::new(),
            allocations: Vector::new(),
            stratum_positions: BTreeMap::new(),
            unblinded: BTreeSet::new(),
            unblindings: Vec::new(),
            history: Vector::new(),
            allocation_seqs: OrdMap::new(),
            password_seqs: OrdSet::new(),
            users: BTreeMap::new(),
            sites: BTreeMap::new(),
            unblinded_grants: Vec::new(),
            governance: crate::governance::Governance::default(),
        }
    }

    /// Folds events in order into a new state.
    pub fn from_events<'a>(
        trial: &str,
        events: impl IntoIterator<Item = &'a Event>,
    ) -> Result<TrialState, ApplyError> {
        let mut state = TrialState::new(trial);
        for e in events {
            state.apply(e)?;
        }
        Ok(state)
    }

    /// Folds one event. The event must be the next in sequence and link to
    /// the current head. Events are not re-checked against business rules
    /// here (that is [`TrialState::check`]'s job before writing); history is
    /// applied as recorded.
    pub fn apply(&mut self, e: &Event) -> Result<(), ApplyError> {
        self.apply_as(e, true)
    }

    /// Folds one event of a chain written before commitments (format 1,
    /// values in plain): as [`TrialState::apply`] without requiring what
    /// the trial seals to be sealed. Only [`crate::legacy`] reads such
    /// chains, to verify and migrate them.
    pub(crate) fn apply_unsealed(&mut self, e: &Event) -> Result<(), ApplyError> {
        self.apply_as(e, false)
    }

    fn apply_as(&mut self, e: &Event, sealed: bool) -> Result<(), ApplyError> {
        if e.trial != self.trial {
            return Err(ApplyError::WrongTrial {
                seq: e.seq,
                expected: self.trial.clone(),
                found: e.trial.clone(),
            });
        }
        if e.seq != self.seq + 1 {
            return Err(ApplyError::OutOfOrder {
                expected: self.seq + 1,
                found: e.seq,
            });
        }
        if e.prev_hash != self.head {
            return Err(ApplyError::BrokenLink { seq: e.seq });
        }
        if sealed {
            self.check_sealing(e)?;
        }
        let is_registration = matches!(e.payload, Payload::TrialRegistered { .. });
        if (self.seq == 0) != is_registration {
            return Err(ApplyError::Invalid {
                seq: e.seq,
                message: if is_registration {
                    "a trial is registered only once, by its first event".into()
                } else {
                    "the first event of a trial must be trial_registered".into()
                },
            });
        }
        self.fold(e);
        self.seq = e.seq;
        self.head = e.hash.clone();
        Ok(())
    }

    /// Whether `form` is open to every role (not arm-specific).
    fn form_is_open(&self, form: &str) -> bool {
        self.config
            .as_ref()
            .is_none_or(|c| c.form_arm(form).is_none())
    }

    fn participant_mut(&mut self, id: &str, site: Option<&str>) -> &mut Participant {
        Arc::make_mut(
            self.participants
                .entry(id.to_string())
                .or_insert_with(|| Arc::new(Participant::new(id, site))),
        )
    }

    fn fold(&mut self, e: &Event) {
        let site = e.site.as_deref();
        match &e.payload {
            Payload::TrialRegistered {
                title,
                blinded,
                arms,
                design,
                seed,
                seal_key,
                ..
            } => {
                let forms = TrialDesign::from_value(design)
                    .map(|d| d.forms)
                    .unwrap_or_default();
                self.config = Some(TrialConfig {
                    title: title.clone(),
                    blinded: *blinded,
                    arms: arms.clone(),
                    design: design.clone(),
                    seed: *seed,
                    seal_key: seal_key
                        .as_deref()
                        .and_then(crate::seal::parse_key)
                        .unwrap_or([0; 32]),
                    forms,
                    protocol: RegisteredProtocol::from_design(design),
                });
                self.grants
                    .entry(e.actor.clone())
                    .or_default()
                    .insert(Role::Admin, Sites::All);
            }
            Payload::Screened {
                participant,
                verdict,
                criteria,
                facts,
                date,
            } => {
                let p = self.participant_mut(participant, site);
                if let Some(earlier) = p.screening.take() {
                    p.earlier_screenings.push(earlier);
                }
                p.screening = Some(Screening {
                    verdict: *verdict,
                    criteria: criteria.clone(),
                    at: e.at,
                    facts: facts.clone(),
                    date: *date,
                });
            }
            Payload::Consented {
                participant,
                version,
                given_at,
                ..
            } => {
                let first = self
                    .config
                    .as_ref()
                    .and_then(TrialConfig::protocol)
                    .map_or_else(|| "1".to_string(), |p| p.consent.versions()[0].clone());
                let p = self.participant_mut(participant, site);
                p.consented = Some(given_at.unwrap_or(e.at));
                p.consent_version = Some(version.clone().unwrap_or(first));
            }
            Payload::Randomised {
                participant,
                arm,
                kit,
                position,
                stratum,
                factors,
            } => {
                self.participant_mut(participant, site).allocation = Some(Allocation {
                    arm: arm.clone(),
                    kit: kit.clone(),
                    position: *position,
                    stratum: stratum.clone(),
                    factors: factors.clone(),
                    at: e.at,
                    seq: e.seq,
                });
                self.allocations.push_back((stratum.clone(), arm.clone()));
                self.history.push_back(PriorAllocation {
                    arm: arm.clone(),
                    stratum: stratum.clone(),
                    factors: factors.clone(),
                    kit: kit.clone(),
                });
                self.allocation_seqs.insert(e.seq, participant.clone());
                let used = self.stratum_positions.entry(stratum.clone()).or_insert(0);
                *used = (*used).max(*position);
            }
            Payload::ValueEntered {
                participant,
                visit,
                form,
                field,
                value,
            } => {
                let key = item_key(visit, form, field);
                let open = self.form_is_open(form);
                let p = self.participant_mut(participant, site);
                p.values.insert(key, value.clone());
                p.note_change(visit, form, e.seq, open);
            }
            Payload::ValueChanged {
                participant,
                visit,
                form,
                field,
                new,
                ..
            } => {
                let key = item_key(visit, form, field);
                let open = self.form_is_open(form);
                let p = self.participant_mut(participant, site);
                p.values.insert(key, new.clone());
                p.note_change(visit, form, e.seq, open);
            }
            Payload::FormVerified {
                participant,
                visit,
                form,
            } => {
                self.participant_mut(participant, site).verified.insert(
                    format!("{visit}/{form}"),
                    Verification {
                        by: e.actor.clone(),
                        at: e.at,
                        seq: e.seq,
                    },
                );
            }
            Payload::CasebookSigned {
                participant,
                name,
                meaning,
            } => {
                self.participant_mut(participant, site)
                    .signatures
                    .push(Signature {
                        user: e.actor.clone(),
                        name: name.clone(),
                        meaning: meaning.clone(),
                        at: e.at,
                        seq: e.seq,
                    });
            }
            Payload::QueryRaised {
                query,
                participant,
                item,
                text,
            } => {
                self.queries.insert(
                    query.clone(),
                    Query {
                        id: query.clone(),
                        participant: participant.clone(),
                        item: item.clone(),
                        text: text.clone(),
                        raised_by: e.actor.clone(),
                        answers: Vec::new(),
                        status: QueryStatus::Open,
                        raised_at: e.at,
                    },
                );
            }
            Payload::QueryAnswered { query, text } => {
                if let Some(q) = self.queries.get_mut(query) {
                    q.answers.push(text.clone());
                    q.status = QueryStatus::Answered;
                }
            }
            Payload::QueryClosed { query } => {
                if let Some(q) = self.queries.get_mut(query) {
                    q.status = QueryStatus::Closed;
                }
            }
            Payload::SessionRecorded {
                participant,
                session,
                summary,
            } => {
                self.participant_mut(participant, site)
                    .sessions
                    .push(Session {
                        session: session.clone(),
                        summary: summary.clone(),
                        at: e.at,
                    });
            }
            Payload::Withdrawn { participant } => {
                self.participant_mut(participant, site).withdrawn = Some((e.at, e.reason.clone()));
            }
            Payload::ConsentDeclined { participant } => {
                self.participant_mut(participant, site).declined = Some(e.at);
            }
            Payload::InterventionStopped { participant } => {
                self.participant_mut(participant, site).intervention_stopped =
                    Some((e.at, e.reason.clone()));
            }
            // The kit given is the value entered beside it; the deviation
            // itself is read from the events by those who may see it.
            Payload::KitDeviation { .. } => {}
            Payload::EmergencyUnblinded {
                participant,
                category,
            } => {
                self.unblinded
                    .insert((e.actor.clone(), participant.clone()));
                self.unblindings.push(Unblinding {
                    user: e.actor.clone(),
                    participant: participant.clone(),
                    at: e.at,
                    category: category.clone(),
                    reason: e.reason.clone(),
                    explained_at: e.reason.as_ref().map(|_| e.at),
                    explain_by: e.at
                        + chrono::Duration::hours(i64::from(
                            self.config
                                .as_ref()
                                .and_then(TrialConfig::protocol)
                                .map_or(rct_core::protocol::DEFAULT_EXPLAIN_WITHIN_HOURS, |p| {
                                    p.unblinding.explain_within_hours()
                                }),
                        )),
                    seq: e.seq,
                });
            }
            Payload::UnblindingExplained {
                participant,
                explanation,
            } => {
                if let Some(u) = self.unblindings.iter_mut().rev().find(|u| {
                    u.user == e.actor && &u.participant == participant && u.reason.is_none()
                }) {
                    u.reason = Some(explanation.clone());
                    u.explained_at = Some(e.at);
                }
            }
            Payload::DatabaseLocked => self.locked = true,
            Payload::DatabaseUnlocked => self.locked = false,
            Payload::RoleGranted { user, role, sites } => {
                self.grants
                    .entry(user.clone())
                    .or_default()
                    .insert(*role, sites.clone());
                if role.is_unblinded() {
                    self.unblinded_grants.push(UnblindedGrant {
                        user: user.clone(),
                        role: *role,
                        sites: sites.clone(),
                        by: e.actor.clone(),
                        at: e.at,
                        seq: e.seq,
                        revoked: None,
                    });
                }
            }
            Payload::RoleRevoked { user, role } => {
                if let Some(roles) = self.grants.get_mut(user) {
                    roles.remove(role);
                }
                for g in self.unblinded_grants.iter_mut() {
                    if &g.user == user && g.role == *role && g.revoked.is_none() {
                        g.revoked = Some(e.at);
                    }
                }
            }
            Payload::LoggedIn { user } => {
                if let Some(account) = self.users.get_mut(user) {
                    account.failed_logins = 0;
                    account.last_login = Some(e.at);
                }
            }
            Payload::LoginFailed { user } => {
                if let Some(account) = self.users.get_mut(user) {
                    account.failed_logins = account.failed_logins.saturating_add(1);
                }
            }
            Payload::LoggedOut { .. } => {}
            Payload::UserCreated {
                user,
                display_name,
                password_hash,
            } => {
                self.password_seqs.insert(e.seq);
                self.users.insert(
                    user.clone(),
                    UserAccount {
                        user: user.clone(),
                        display_name: display_name.clone(),
                        password_hash: password_hash.clone(),
                        locked: false,
                        failed_logins: 0,
                        last_login: None,
                    },
                );
            }
            Payload::PasswordChanged {
                user,
                password_hash,
            } => {
                self.password_seqs.insert(e.seq);
                if let Some(account) = self.users.get_mut(user) {
                    account.password_hash = password_hash.clone();
                }
            }
            Payload::UserLocked { user } => {
                if let Some(account) = self.users.get_mut(user) {
                    account.locked = true;
                }
            }
            Payload::UserUnlocked { user } => {
                if let Some(account) = self.users.get_mut(user) {
                    account.locked = false;
                    account.failed_logins = 0;
                }
            }
            Payload::SiteAdded { site, name } => {
                self.sites.insert(site.clone(), name.clone());
            }
            Payload::SapFinalised { .. }
            | Payload::UnblindingRequested { .. }
            | Payload::UnblindingApproved { .. }
            | Payload::SafetyCodeBroken { .. }
            | Payload::CodeBreakListProduced { .. } => crate::governance::fold(self, e),
            // The record of a migration (crate::legacy) changes no state.
            Payload::ChainMigrated { .. } => {}
        }
    }

    /// Whether `user` holds `role`, and for which sites.
    pub fn grant(&self, user: &str, role: Role) -> Option<&Sites> {
        self.grants.get(user).and_then(|roles| roles.get(&role))
    }

    /// Arm identifiers in order.
    pub fn arm_ids(&self) -> Vec<String> {
        self.config
            .as_ref()
            .map(|c| c.arms.iter().map(|a| a.id.clone()).collect())
            .unwrap_or_default()
    }

    /// Arms allocated so far in one stratum, in order.
    pub fn stratum_history(&self, stratum: &str) -> Vec<String> {
        self.allocations
            .iter()
            .filter(|(s, _)| s == stratum)
            .map(|(_, a)| a.clone())
            .collect()
    }
}

/// The key of a data item: `visit/form/field`.
pub fn item_key(visit: &str, form: &str, field: &str) -> String {
    format!("{visit}/{form}/{field}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventDraft;
    use serde_json::json;

    fn draft(payload: Payload) -> EventDraft {
        EventDraft {
            software: None,
            trial: "t".into(),
            at: "2026-01-02T03:04:05Z".parse().unwrap(),
            actor: "ann".into(),
            role: Role::Admin,
            site: Some("rh".into()),
            reason: None,
            payload,
        }
    }

    #[test]
    fn folds_in_order_and_refuses_out_of_order() {
        let mut s = TrialState::new("t");
        let e1 = draft(Payload::TrialRegistered {
            title: "T".into(),
            blinded: true,
            arms: vec![],
            design: json!("pbr(4)"),
            seed: 1.into(),
            seal_key: Some(crate::TrialSecrets::insecure_for_tests(1).seal_key_hex()),
            public_design: None,
        });
        let e1 = TrialState::new("t").seal(e1);
        s.apply(&e1).unwrap();
        assert_eq!(s.grant("ann", Role::Admin), Some(&Sites::All));
        let d2 = draft(Payload::Randomised {
            participant: "P1".into(),
            arm: "a".into(),
            kit: None,
            position: 1,
            stratum: "sex=f".into(),
            factors: BTreeMap::new(),
        });
        let wrong_link = draft(Payload::DatabaseLocked).seal(2, GENESIS_HASH);
        assert_eq!(s.apply(&wrong_link), Err(ApplyError::BrokenLink { seq: 2 }));
        assert!(matches!(s.apply(&e1), Err(ApplyError::OutOfOrder { .. })));
        // A blinded trial's allocation with its arm in the hashed body is
        // refused: the record never holds an unsealed arm.
        let open = d2.clone().seal(2, &e1.hash);
        assert!(matches!(s.apply(&open), Err(ApplyError::Invalid { .. })));
        let e2 = s.seal(d2);
        assert!(!e2.canonical_body().contains("\"arm\":\"a\""));
        assert!(e2.canonical_body().contains("\"sealed\""));
        s.apply(&e2).unwrap();
        assert_eq!(s.stratum_history("sex=f"), vec!["a".to_string()]);
        assert_eq!(s.stratum_positions["sex=f"], 1);
        assert_eq!(s.seq, 2);
        assert_eq!(s.head, e2.hash);
    }
}
