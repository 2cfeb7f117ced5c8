//! Events: the trial record's only truth.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::canonical::to_canonical;
use crate::seal::{self, Opening, Openings, SealSpec, WHOLE};

/// The previous-hash of the first event of every trial: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who acts. Blinded roles never receive arms or kit-to-arm mappings of a
/// blinded trial; see [`Role::is_unblinded`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Site investigator (blinded): screens, consents, randomises, enters data.
    Investigator,
    /// Research nurse (blinded): as the investigator.
    ResearchNurse,
    /// Runs the intervention (e.g. exercise physiologist); unblinded.
    InterventionStaff,
    /// Maps kits to arms; unblinded.
    Pharmacist,
    /// Enters outcome measurements (blinded).
    OutcomeAssessor,
    /// Raises and closes queries, locks the database (blinded).
    DataManager,
    /// Verifies source data, raises and closes queries (blinded).
    Monitor,
    /// Designs the randomisation and analyses; blinded until the trial is
    /// unblinded (after the lock, a final analysis plan and two
    /// authorisations: see [`crate::governance`]).
    Statistician,
    /// Users, sites, roles (blinded).
    Admin,
    /// Events the system records on its own behalf (e.g. a failed login).
    System,
    /// The sponsor's representative (blinded): one of the two people who
    /// authorise the trial's unblinding.
    Sponsor,
    /// Data monitoring committee (blinded in every site-facing view; sees
    /// the safety tables by arm on its own page).
    Dmc,
    /// Pharmacovigilance (blinded; breaks the code of one participant for
    /// an expedited safety report, seen by that user only).
    Pharmacovigilance,
}

impl Role {
    /// Every role, in declaration order.
    pub const ALL: [Role; 13] = [
        Role::Investigator,
        Role::ResearchNurse,
        Role::InterventionStaff,
        Role::Pharmacist,
        Role::OutcomeAssessor,
        Role::DataManager,
        Role::Monitor,
        Role::Statistician,
        Role::Admin,
        Role::System,
        Role::Sponsor,
        Role::Dmc,
        Role::Pharmacovigilance,
    ];

    /// Roles that may see arms in a blinded trial.
    pub fn is_unblinded(self) -> bool {
        matches!(self, Role::InterventionStaff | Role::Pharmacist)
    }

    /// The snake_case name used in events and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Investigator => "investigator",
            Role::ResearchNurse => "research_nurse",
            Role::InterventionStaff => "intervention_staff",
            Role::Pharmacist => "pharmacist",
            Role::OutcomeAssessor => "outcome_assessor",
            Role::DataManager => "data_manager",
            Role::Monitor => "monitor",
            Role::Statistician => "statistician",
            Role::Admin => "admin",
            Role::System => "system",
            Role::Sponsor => "sponsor",
            Role::Dmc => "dmc",
            Role::Pharmacovigilance => "pharmacovigilance",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                format!("unknown role `{s}`; expected one of {}", names.join(", "))
            })
    }
}

/// An arm of the trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arm {
    /// Short identifier, e.g. `hiit`.
    pub id: String,
    /// Human-readable name.
    pub name: String,
}

/// Outcome of screening a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every criterion decided in favour.
    Eligible,
    /// At least one criterion excludes.
    Ineligible,
    /// Some criterion could not be decided (missing facts): what
    /// `rct_core`'s eligibility engine calls `incomplete`, which is accepted
    /// as an alias when reading.
    #[serde(alias = "incomplete")]
    Undetermined,
}

impl Verdict {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Eligible => "eligible",
            Verdict::Ineligible => "ineligible",
            Verdict::Undetermined => "undetermined",
        }
    }

    /// The word shown to people: `eligible`, `ineligible` or `incomplete`
    /// (one word for an undecided verdict on every edge, as the command
    /// line, the README and the eligibility engine say; the stored name
    /// stays `undetermined` so earlier records keep their hashes).
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Undetermined => "incomplete",
            other => other.as_str(),
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// Who may write a form, and whether it belongs to one arm (carried by the
/// trial registration, from the protocol's `[[forms]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormRule {
    /// Form identifier.
    pub form: String,
    /// Arm-specific forms (e.g. exercise sessions) exist only for the
    /// participants of this arm and are invisible to blinded roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arm: Option<String>,
    /// The only role that may enter and change the form's values (e.g.
    /// `outcome_assessor`); `None`: the site's data-entry roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entered_by: Option<Role>,
}

/// One line of a screening summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionResult {
    /// Criterion identifier from the protocol.
    pub criterion: String,
    /// `met`, `not_met` or `unknown` (as the eligibility engine reports it).
    pub result: String,
}

/// Which sites a role grant covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sites {
    /// Every site of the trial.
    All,
    /// Only these sites.
    Only(Vec<String>),
}

impl Sites {
    /// Whether `site` is covered.
    pub fn covers(&self, site: &str) -> bool {
        match self {
            Sites::All => true,
            Sites::Only(list) => list.iter().any(|s| s == site),
        }
    }
}

/// What happened. Serialised with a `type` tag in snake_case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Payload {
    /// The first event of every trial: its configuration, including the
    /// randomisation design and seed (which views never show).
    TrialRegistered {
        /// Title.
        title: String,
        /// Whether blinded roles must not see arms.
        blinded: bool,
        /// Arms.
        arms: Vec<Arm>,
        /// Randomisation design and form rules: a [`crate::TrialDesign`] as
        /// JSON (or a bare design text such as `"pbr:4"`).
        design: Value,
        /// Seed of the allocation sequence (sealed).
        seed: rct_random::TrialSeed,
        /// The trial's 256-bit sealing key as 64 hex digits (sealed): nonces
        /// of every commitment derive from it (see [`crate::seal`]). Absent
        /// only in chains written before commitments (format 1).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seal_key: Option<String>,
        /// What blinded roles may know of the design (strata, minimisation
        /// factors, kits, forms that belong to no arm): public, while
        /// `design` is sealed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        public_design: Option<Value>,
    },
    /// A person was screened.
    Screened {
        /// Participant (screening) identifier.
        participant: String,
        /// Verdict.
        verdict: Verdict,
        /// Per-criterion summary.
        criteria: Vec<CriterionResult>,
        /// The screening facts the verdict was computed from, by the
        /// protocol's fact id (stratification reads them at randomisation).
        /// Empty in records written before the record computed verdicts.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        facts: BTreeMap<String, Value>,
        /// The screening date the criteria were evaluated on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        date: Option<chrono::NaiveDate>,
    },
    /// Informed consent recorded.
    Consented {
        /// Participant.
        participant: String,
        /// The consent form version (absent in events written before
        /// versions: the protocol's first version).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<String>,
        /// When consent was given (absent: the event's time).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        given_at: Option<DateTime<Utc>>,
        /// Who obtained it (absent: the event's actor).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        obtained_by: Option<String>,
    },
    /// Allocated to an arm.
    Randomised {
        /// Participant.
        participant: String,
        /// Arm identifier.
        arm: String,
        /// Kit code, when the design dispenses kits.
        kit: Option<String>,
        /// 1-based position in the stratum's allocation sequence.
        position: u64,
        /// Stratum key as `rct_random::stratum_key` computes it, e.g.
        /// `sex=female;site=rh` (`all` when unstratified).
        stratum: String,
        /// The participant's factor levels given at randomisation (strata and
        /// minimisation factors). Omitted from the canonical body when empty.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        factors: BTreeMap<String, String>,
    },
    /// A value entered for the first time.
    ValueEntered {
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
    /// A value changed (the event's reason says why).
    ValueChanged {
        /// Participant.
        participant: String,
        /// Visit.
        visit: String,
        /// Form.
        form: String,
        /// Field.
        field: String,
        /// Value before.
        old: Value,
        /// Value after.
        new: Value,
    },
    /// A data query raised by a monitor or data manager.
    QueryRaised {
        /// Query identifier (`Q1`, `Q2`, ...).
        query: String,
        /// Participant.
        participant: String,
        /// Field the query is about, as `visit/form/field`, if any.
        item: Option<String>,
        /// Question.
        text: String,
    },
    /// A site's answer to a query.
    QueryAnswered {
        /// Query identifier.
        query: String,
        /// Answer.
        text: String,
    },
    /// A query closed.
    QueryClosed {
        /// Query identifier.
        query: String,
    },
    /// An intervention session (e.g. an exercise session) recorded.
    SessionRecorded {
        /// Participant.
        participant: String,
        /// Session identifier (e.g. file digest or number).
        session: String,
        /// Summary (compliance, etc.).
        summary: Value,
    },
    /// The person declined to consent (CONSORT: excluded, declined to
    /// participate). A later consent is still taken if they change their
    /// mind.
    ConsentDeclined {
        /// Participant.
        participant: String,
    },
    /// Withdrawn from the trial: consent withdrawn, no more data are taken
    /// (the reason says why; data already recorded are kept).
    Withdrawn {
        /// Participant.
        participant: String,
    },
    /// The intervention stopped early for a participant who stays in the
    /// trial: follow-up continues and intention to treat keeps the data
    /// (the reason says why). Sealed whole in a blinded trial: who stops an
    /// intervention can say which one it was.
    InterventionStopped {
        /// Participant.
        participant: String,
    },
    /// Emergency code-break: reveals one participant's arm to the acting user.
    EmergencyUnblinded {
        /// Participant.
        participant: String,
        /// The protocol's reason category (absent in events written before
        /// categories existed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        category: Option<String>,
    },
    /// The written explanation of an earlier code-break by the same user.
    UnblindingExplained {
        /// Participant.
        participant: String,
        /// The explanation.
        explanation: String,
    },
    /// Database locked: no more data writes.
    DatabaseLocked,
    /// Database unlocked (the reason says why).
    DatabaseUnlocked,
    /// A user given a role.
    RoleGranted {
        /// User.
        user: String,
        /// Role.
        role: Role,
        /// Sites covered.
        sites: Sites,
    },
    /// A role taken away.
    RoleRevoked {
        /// User.
        user: String,
        /// Role.
        role: Role,
    },
    /// A user logged in.
    LoggedIn {
        /// User.
        user: String,
    },
    /// A user logged out.
    LoggedOut {
        /// User.
        user: String,
    },
    /// A login attempt failed.
    LoginFailed {
        /// User name tried.
        user: String,
    },
    /// A user account created. The password hash is an argon2 PHC string
    /// computed at the web edge; views and exports never show it.
    UserCreated {
        /// User name (login).
        user: String,
        /// Name shown to people.
        display_name: String,
        /// Argon2 PHC string.
        password_hash: String,
    },
    /// A user's password replaced.
    PasswordChanged {
        /// User.
        user: String,
        /// Argon2 PHC string.
        password_hash: String,
    },
    /// A user account locked by an administrator; it cannot log in. (Older
    /// records also hold locks the system wrote after repeated failed logins.)
    UserLocked {
        /// User.
        user: String,
    },
    /// A user account unlocked.
    UserUnlocked {
        /// User.
        user: String,
    },
    /// A site taking part in the trial.
    SiteAdded {
        /// Site identifier.
        site: String,
        /// Name.
        name: String,
    },
    /// A version of the statistical analysis plan recorded as final by the
    /// statistician (see [`crate::governance`]).
    SapFinalised {
        /// Version label, e.g. `2.0`.
        version: String,
        /// Lower-case hex SHA-256 of the plan's text or file.
        digest: String,
    },
    /// The first of the two authorisations of the trial's unblinding.
    UnblindingRequested {
        /// The final analysis plan version the request is made under.
        sap_version: String,
    },
    /// The second authorisation, by another person in another role: the
    /// trial is unblinded (the statistician sees arms).
    UnblindingApproved {
        /// The final analysis plan version the approval is made under.
        sap_version: String,
    },
    /// Pharmacovigilance broke the code of one participant for an expedited
    /// report (ICH E2A); the arm is shown to the acting user only, and the
    /// event is hidden from the site (see [`crate::governance`]).
    /// [`Payload::participant`] gives `None` for it on purpose: a listing
    /// filtered by participant must not tell a reader whom it concerns.
    SafetyCodeBroken {
        /// Participant.
        participant: String,
    },
    /// A kit other than the one assigned was dispensed, confirmed by the
    /// person who entered it: the value is recorded as given (the
    /// as-treated analysis needs the truth) and this deviation is sealed
    /// whole in a blinded trial, so only unblinded roles (the pharmacy) see
    /// it.
    KitDeviation {
        /// Participant.
        participant: String,
        /// The kit the record assigned.
        assigned: String,
        /// The kit given.
        given: String,
    },
    /// A monitor verified one form at one visit against the source
    /// documents (the values as they stood at this event).
    FormVerified {
        /// Participant.
        participant: String,
        /// Visit.
        visit: String,
        /// Form.
        form: String,
    },
    /// The investigator signed the participant's casebook: the printed
    /// name and the meaning of the signature (21 CFR 11.50); the date and
    /// time are the event's. A later change to a value the signer could
    /// see marks it as needing renewal.
    CasebookSigned {
        /// Participant.
        participant: String,
        /// The signer's printed name (the account's display name).
        name: String,
        /// What the signature means.
        meaning: String,
    },
    /// The sealed code-break list (the 24-hour line's fallback) was
    /// produced: who and when are the event's, `entries` how many lines.
    CodeBreakListProduced {
        /// Number of participants on the list.
        entries: u64,
    },
    /// The chain was re-sealed from an older chain format (`rct audit
    /// migrate`, see [`crate::legacy`]): each event before this one holds
    /// the content of the old event with the same number, concealed values
    /// as commitments. The old chain ended at event `old_head_seq` with hash
    /// `old_head_hash`; who migrated and why are the event's actor and
    /// reason.
    ChainMigrated {
        /// The old chain's format (1).
        from_format: u64,
        /// Sequence number of the old chain's last event.
        old_head_seq: u64,
        /// Hash of the old chain's last event.
        old_head_hash: String,
    },
}

impl Payload {
    /// The snake_case type name.
    pub fn kind(&self) -> &'static str {
        match self {
            Payload::TrialRegistered { .. } => "trial_registered",
            Payload::Screened { .. } => "screened",
            Payload::Consented { .. } => "consented",
            Payload::Randomised { .. } => "randomised",
            Payload::ValueEntered { .. } => "value_entered",
            Payload::ValueChanged { .. } => "value_changed",
            Payload::QueryRaised { .. } => "query_raised",
            Payload::QueryAnswered { .. } => "query_answered",
            Payload::QueryClosed { .. } => "query_closed",
            Payload::SessionRecorded { .. } => "session_recorded",
            Payload::Withdrawn { .. } => "withdrawn",
            Payload::ConsentDeclined { .. } => "consent_declined",
            Payload::InterventionStopped { .. } => "intervention_stopped",
            Payload::EmergencyUnblinded { .. } => "emergency_unblinded",
            Payload::UnblindingExplained { .. } => "unblinding_explained",
            Payload::DatabaseLocked => "database_locked",
            Payload::DatabaseUnlocked => "database_unlocked",
            Payload::RoleGranted { .. } => "role_granted",
            Payload::RoleRevoked { .. } => "role_revoked",
            Payload::LoggedIn { .. } => "logged_in",
            Payload::LoggedOut { .. } => "logged_out",
            Payload::LoginFailed { .. } => "login_failed",
            Payload::UserCreated { .. } => "user_created",
            Payload::PasswordChanged { .. } => "password_changed",
            Payload::UserLocked { .. } => "user_locked",
            Payload::UserUnlocked { .. } => "user_unlocked",
            Payload::SiteAdded { .. } => "site_added",
            Payload::SapFinalised { .. } => "sap_finalised",
            Payload::UnblindingRequested { .. } => "unblinding_requested",
            Payload::UnblindingApproved { .. } => "unblinding_approved",
            Payload::SafetyCodeBroken { .. } => "safety_code_broken",
            Payload::CodeBreakListProduced { .. } => "code_break_list_produced",
            Payload::ChainMigrated { .. } => "chain_migrated",
            Payload::KitDeviation { .. } => "kit_deviation",
            Payload::FormVerified { .. } => "form_verified",
            Payload::CasebookSigned { .. } => "casebook_signed",
        }
    }

    /// The participant this event is about, if any.
    pub fn participant(&self) -> Option<&str> {
        match self {
            Payload::Screened { participant, .. }
            | Payload::Consented { participant, .. }
            | Payload::Randomised { participant, .. }
            | Payload::ValueEntered { participant, .. }
            | Payload::ValueChanged { participant, .. }
            | Payload::QueryRaised { participant, .. }
            | Payload::SessionRecorded { participant, .. }
            | Payload::Withdrawn { participant }
            | Payload::ConsentDeclined { participant }
            | Payload::InterventionStopped { participant }
            | Payload::EmergencyUnblinded { participant, .. }
            | Payload::UnblindingExplained { participant, .. }
            | Payload::KitDeviation { participant, .. }
            | Payload::FormVerified { participant, .. }
            | Payload::CasebookSigned { participant, .. } => Some(participant),
            _ => None,
        }
    }

    /// The user account this event is about, if any (account, role and
    /// login events).
    pub fn account(&self) -> Option<&str> {
        match self {
            Payload::RoleGranted { user, .. }
            | Payload::RoleRevoked { user, .. }
            | Payload::LoggedIn { user }
            | Payload::LoggedOut { user }
            | Payload::LoginFailed { user }
            | Payload::UserCreated { user, .. }
            | Payload::PasswordChanged { user, .. }
            | Payload::UserLocked { user }
            | Payload::UserUnlocked { user } => Some(user),
            _ => None,
        }
    }
}

/// An event before it has a place in the chain: what [`crate::TrialState::check`]
/// returns for an accepted command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventDraft {
    /// Trial identifier.
    pub trial: String,
    /// When (UTC), given by the caller.
    pub at: DateTime<Utc>,
    /// User who acted.
    pub actor: String,
    /// Role the user acted in.
    pub role: Role,
    /// Site the action concerns, if any.
    pub site: Option<String>,
    /// Why (required for changes, withdrawals, unblinding, unlocking).
    pub reason: Option<String>,
    /// What happened.
    pub payload: Payload,
    /// The software that writes the event (see [`Event::software`]), given
    /// by the edge as it gives the time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software: Option<String>,
}

impl EventDraft {
    /// Places the draft in the chain after an event with sequence number
    /// `seq - 1` and hash `prev_hash`, computing its own hash, with nothing
    /// concealed. Trials seal through [`crate::TrialState::seal`], which
    /// conceals what the trial's blinding requires (and
    /// [`crate::TrialState::apply`] refuses an event that does not).
    pub fn seal(self, seq: u64, prev_hash: &str) -> Event {
        self.seal_with(seq, prev_hash, &SealSpec::Open, &[0; 32])
    }

    /// Places the draft in the chain, concealing what `spec` names behind
    /// commitments whose nonces derive from `key` (see [`crate::seal`]).
    pub fn seal_with(self, seq: u64, prev_hash: &str, spec: &SealSpec, key: &[u8; 32]) -> Event {
        let mut event = Event {
            trial: self.trial,
            seq,
            at: self.at,
            actor: self.actor,
            role: self.role,
            site: self.site,
            reason: self.reason,
            payload: self.payload,
            software: self.software,
            prev_hash: prev_hash.to_string(),
            hash: String::new(),
            openings: Openings::new(),
        };
        match spec {
            SealSpec::Open => {}
            SealSpec::Fields(fields) => {
                let payload = serde_json::to_value(&event.payload).unwrap_or(Value::Null);
                for field in fields {
                    if let Some(value) = payload.get(*field) {
                        event.openings.insert(
                            (*field).to_string(),
                            Opening {
                                nonce: seal::nonce(key, &event.trial, seq, field),
                                value: value.clone(),
                            },
                        );
                    }
                }
            }
            SealSpec::Whole => {
                let value = serde_json::json!({
                    "actor": event.actor,
                    "payload": event.payload,
                    "reason": event.reason,
                    "role": event.role,
                    "site": event.site,
                });
                event.openings.insert(
                    WHOLE.to_string(),
                    Opening {
                        nonce: seal::nonce(key, &event.trial, seq, WHOLE),
                        value,
                    },
                );
            }
        }
        let body = event.canonical_body();
        event.hash = sha256_hex(body.as_bytes());
        event
    }
}

/// One entry of the trial record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Trial identifier.
    pub trial: String,
    /// Sequence number within the trial, from 1, without gaps.
    pub seq: u64,
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// User who acted.
    pub actor: String,
    /// Role the user acted in.
    pub role: Role,
    /// Site, if any.
    pub site: Option<String>,
    /// Why, if given.
    pub reason: Option<String>,
    /// What happened.
    pub payload: Payload,
    /// The software that wrote the event, e.g. `rct 0.1.0 (git
    /// 0123456789ab)` (21 CFR 11.10(a): the record shows which validated
    /// build produced it). Part of the hashed body and never sealed (it is
    /// the same for every event a build writes, whatever the arm). Absent in
    /// events written before it was recorded: their bodies, and so their
    /// hashes, are unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software: Option<String>,
    /// Hash of the previous event ([`GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// SHA-256 (lower-case hex) of [`Event::canonical_body`].
    pub hash: String,
    /// The openings of the sealed values, by payload field or
    /// [`seal::WHOLE`] (empty when nothing is sealed). Never part of the
    /// hashed body; stores keep them beside it.
    #[serde(skip)]
    pub openings: Openings,
}

/// Why a stored event cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// Not JSON of the documented shape.
    #[error("not a valid event: {0}")]
    Json(#[from] serde_json::Error),
    /// Written before commitments (chain format 1).
    #[error("the event is in chain format 1 (values in the hashed body), written by an earlier rct; this version reads format 2 only: re-seal the trial's record with `rct audit migrate --trial TRIAL --user ADMIN --reason TEXT` (keep a backup first)")]
    Legacy,
    /// A sealed value whose opening is not at hand.
    #[error("the sealed `{field}` has no opening (a blinded copy of the record cannot be folded; it can only be verified)")]
    MissingOpening {
        /// Field (or `event`).
        field: String,
    },
    /// An opening that does not match its commitment.
    #[error(
        "the opening of `{field}` does not match its commitment (the stored value was changed)"
    )]
    BadOpening {
        /// Field (or `event`).
        field: String,
    },
}

/// The chain format written in every body as `"v"`.
pub const CHAIN_FORMAT: u64 = 2;

impl Event {
    /// The hashed body as a JSON value: every field except `hash`, with each
    /// sealed value replaced by its commitment, plus `"v": 2` (see
    /// [`crate::seal`]).
    pub fn public_body(&self) -> Value {
        let mut value = body_value(self);
        let Value::Object(map) = &mut value else {
            return value;
        };
        map.shift_remove("hash");
        map.insert("v".into(), Value::from(CHAIN_FORMAT));
        if let Some(whole) = self.openings.get(WHOLE) {
            for k in ["actor", "reason", "role", "site"] {
                map.shift_remove(k);
            }
            map.insert(
                "payload".into(),
                serde_json::json!({"sealed": {WHOLE: whole.commitment()}, "type": "sealed"}),
            );
        } else if !self.openings.is_empty() {
            if let Some(Value::Object(payload)) = map.get_mut("payload") {
                let mut sealed = serde_json::Map::new();
                for (field, opening) in &self.openings {
                    payload.shift_remove(field.as_str());
                    sealed.insert(field.clone(), Value::String(opening.commitment()));
                }
                payload.insert("sealed".into(), Value::Object(sealed));
            }
        }
        value
    }

    /// The canonical JSON (RFC 8785) of [`Event::public_body`]: the bytes
    /// hashed and stored.
    pub fn canonical_body(&self) -> String {
        // An event that seals nothing is written straight from its fields
        // (no intermediate `Value`); the general path is the reference,
        // and debug builds (every test) check that both agree.
        if let Some(fast) = crate::fast_body::canonical_public_body(self) {
            debug_assert_eq!(fast, to_canonical(&self.public_body()));
            return fast;
        }
        to_canonical(&self.public_body())
    }

    /// The stored text of the openings (`None` when nothing is sealed).
    pub fn openings_text(&self) -> Option<String> {
        (!self.openings.is_empty()).then(|| seal::openings_text(&self.openings))
    }

    /// Whether the whole event is sealed (a blinded reader sees only its
    /// place, time and commitment).
    pub fn is_sealed_whole(&self) -> bool {
        self.openings.contains_key(WHOLE)
    }

    /// One line of an export: the public body with its `hash`, and with
    /// `openings` when `with_openings` (an unblinded export).
    pub fn to_json_line(&self, with_openings: bool) -> String {
        let mut value = self.public_body();
        if let Value::Object(map) = &mut value {
            map.insert("hash".into(), Value::String(self.hash.clone()));
            if with_openings && !self.openings.is_empty() {
                map.insert(
                    "openings".into(),
                    serde_json::to_value(&self.openings).unwrap_or(Value::Null),
                );
            }
        }
        to_canonical(&value)
    }

    /// Reads a line [`Event::to_json_line`] wrote (its `hash` and, when
    /// present, its `openings` beside the public body), checking every
    /// opening against its commitment.
    pub fn from_json_line(line: &str) -> Result<Event, EventError> {
        let mut value: Value = serde_json::from_str(line)?;
        let Value::Object(map) = &mut value else {
            return Err(EventError::Json(serde::de::Error::custom(
                "an event must be a JSON object",
            )));
        };
        let hash = match map.shift_remove("hash") {
            Some(Value::String(h)) => h,
            _ => {
                return Err(EventError::Json(serde::de::Error::custom(
                    "an event line must carry its `hash`",
                )))
            }
        };
        let openings: Openings = match map.shift_remove("openings") {
            Some(v) => serde_json::from_value(v)?,
            None => Openings::new(),
        };
        Event::from_public(value, &hash, openings)
    }

    /// Recomputes the hash from the content.
    pub fn computed_hash(&self) -> String {
        sha256_hex(self.canonical_body().as_bytes())
    }

    /// Parses a stored body without openings (an event that seals nothing).
    pub fn from_body(body: &str, hash: &str) -> Result<Event, EventError> {
        Event::from_stored(body, hash, None)
    }

    /// Parses a stored body (format 2) and its openings into the full
    /// event, checking every opening against its commitment.
    pub fn from_stored(
        body: &str,
        hash: &str,
        openings: Option<&str>,
    ) -> Result<Event, EventError> {
        // A body without openings is read straight into the event's types
        // when it can be; otherwise (and to name what is wrong) through a
        // `Value`. Debug builds check that both read the same event.
        if openings.is_none() {
            if let Some(fast) = crate::fast_body::decode_public_body(body, hash) {
                debug_assert_eq!(
                    Event::from_stored_value(body, hash, None).ok().as_ref(),
                    Some(&fast)
                );
                return Ok(fast);
            }
        }
        Event::from_stored_value(body, hash, openings)
    }

    /// The general path of [`Event::from_stored`], for the shortcut's tests.
    #[cfg(test)]
    pub(crate) fn from_stored_value_for_tests(body: &str, hash: &str) -> Result<Event, EventError> {
        Event::from_stored_value(body, hash, None)
    }

    /// [`Event::from_stored`] through a parsed `Value` (the general path).
    fn from_stored_value(
        body: &str,
        hash: &str,
        openings: Option<&str>,
    ) -> Result<Event, EventError> {
        let value: Value = serde_json::from_str(body)?;
        let openings: Openings = match openings {
            Some(text) => seal::parse_openings(text)?,
            None => Openings::new(),
        };
        Event::from_public(value, hash, openings)
    }

    /// As [`Event::from_stored`], from the parsed public body.
    pub fn from_public(
        mut value: Value,
        hash: &str,
        openings: Openings,
    ) -> Result<Event, EventError> {
        let Value::Object(map) = &mut value else {
            return Err(EventError::Json(serde::de::Error::custom(
                "an event must be a JSON object",
            )));
        };
        if map.shift_remove("v") != Some(Value::from(CHAIN_FORMAT)) {
            return Err(EventError::Legacy);
        }
        let opened = |field: &str, commitment: Option<&Value>| -> Result<Value, EventError> {
            let opening = openings
                .get(field)
                .ok_or_else(|| EventError::MissingOpening {
                    field: field.to_string(),
                })?;
            if commitment.and_then(Value::as_str) != Some(opening.commitment().as_str()) {
                return Err(EventError::BadOpening {
                    field: field.to_string(),
                });
            }
            Ok(opening.value.clone())
        };
        let mut used = 0;
        if let Some(Value::Object(payload)) = map.get_mut("payload") {
            if payload.get("type").and_then(Value::as_str) == Some("sealed") {
                let whole = opened(WHOLE, payload.get("sealed").and_then(|s| s.get(WHOLE)))?;
                used = 1;
                if let Value::Object(parts) = whole {
                    for (k, v) in parts {
                        map.insert(k, v);
                    }
                }
            } else if let Some(Value::Object(sealed)) = payload.shift_remove("sealed") {
                for (field, c) in &sealed {
                    let v = opened(field, Some(c))?;
                    payload.insert(field.clone(), v);
                }
                used = sealed.len();
            }
        }
        if used != openings.len() {
            return Err(EventError::Json(serde::de::Error::custom(
                "the openings name values the body does not seal",
            )));
        }
        map.insert("hash".into(), Value::String(hash.into()));
        let mut event: Event = serde_json::from_value(value)?;
        event.openings = openings;
        Ok(event)
    }
}

fn body_value(event: &Event) -> Value {
    // Serialising these plain data types cannot fail (no maps with non-string
    // keys, no non-finite floats can be built from JSON values).
    serde_json::to_value(event).unwrap_or(Value::Null)
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Stratum key from factor levels: `factor=level` pairs sorted by factor,
/// joined with `;` (empty when unstratified).
///
/// Note: randomised events carry the key `rct_random::stratum_key` computes
/// (factors in the design's `stratify_by` order, `all` when unstratified),
/// which is what [`crate::TrialState::check`] writes; use that one to match
/// recorded strata.
pub fn stratum_key(levels: &BTreeMap<String, String>) -> String {
    levels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> EventDraft {
        EventDraft {
            software: None,
            trial: "t".into(),
            at: "2026-01-02T03:04:05Z".parse().unwrap(),
            actor: "ann".into(),
            role: Role::ResearchNurse,
            site: Some("rh".into()),
            reason: None,
            payload: Payload::Consented {
                participant: "P1".into(),
                version: None,
                given_at: None,
                obtained_by: None,
            },
        }
    }

    #[test]
    fn canonical_body_is_documented_shape() {
        let e = draft().seal(1, GENESIS_HASH);
        assert_eq!(
            e.canonical_body(),
            format!(
                r#"{{"actor":"ann","at":"2026-01-02T03:04:05Z","payload":{{"participant":"P1","type":"consented"}},"prev_hash":"{GENESIS_HASH}","reason":null,"role":"research_nurse","seq":1,"site":"rh","trial":"t","v":2}}"#
            )
        );
    }

    #[test]
    fn software_is_in_the_hashed_body_and_optional() {
        // A new event names the software that wrote it, inside the hashed
        // body (an edit of it breaks the hash).
        let mut d = draft();
        d.software = Some("rct 0.1.0 (git 0123456789ab)".into());
        let e = d.seal(1, GENESIS_HASH);
        let body = e.canonical_body();
        assert!(body.contains(r#""software":"rct 0.1.0 (git 0123456789ab)""#));
        let back = Event::from_body(&body, &e.hash).unwrap();
        assert_eq!(
            back.software.as_deref(),
            Some("rct 0.1.0 (git 0123456789ab)")
        );
        let edited = body.replace("0123456789ab", "ffffffffffff");
        let broken = crate::chain::verify_chain(
            "t",
            &[crate::chain::StoredEvent {
                seq: 1,
                body: edited,
                hash: e.hash.clone(),
                openings: None,
            }],
        );
        assert_eq!(broken.unwrap_err().kind, crate::chain::BreakKind::Edited);
        // An event written before (the documented body above, without
        // `software`) reads back with none and keeps its bytes and hash.
        let old = draft().seal(1, GENESIS_HASH);
        assert!(!old.canonical_body().contains("software"));
        let back = Event::from_body(&old.canonical_body(), &old.hash).unwrap();
        assert_eq!(back.software, None);
        assert_eq!(back.computed_hash(), old.hash);
    }

    #[test]
    fn hash_is_sha256_of_body() {
        // Reference: `printf '%s' BODY | sha256sum` computes the same digest;
        // here we check against the digest of the documented body text.
        let e = draft().seal(1, GENESIS_HASH);
        assert_eq!(e.hash, sha256_hex(e.canonical_body().as_bytes()));
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let back = Event::from_body(&e.canonical_body(), &e.hash).unwrap();
        assert_eq!(back, e);
    }

    proptest::proptest! {
        // Reference: the f64 itself. Any finite payload float must survive
        // canonical body -> parse -> canonical body unchanged (this needs
        // serde_json's `float_roundtrip`; without it e.g. 110837570306.86003
        // read back one ulp off and the chain reported an edit).
        #[test]
        fn payload_floats_round_trip(x in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO) {
            let mut d = draft();
            d.payload = Payload::ValueEntered {
                participant: "P1".into(),
                visit: "v".into(),
                form: "f".into(),
                field: "x".into(),
                value: serde_json::json!(x),
            };
            let e = d.seal(1, GENESIS_HASH);
            let back = Event::from_body(&e.canonical_body(), &e.hash).unwrap();
            // JCS writes 3.0 as 3, which reads back as an integer: the same
            // number, the same body, the same hash.
            proptest::prop_assert_eq!(back.canonical_body(), e.canonical_body());
            proptest::prop_assert_eq!(back.computed_hash(), e.hash);
        }
    }

    #[test]
    fn known_bad_float_round_trips() {
        let v = serde_json::json!(110837570306.86003_f64);
        let text = crate::canonical::to_canonical(&v);
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn verdict_reads_the_eligibility_engines_names() {
        let v: Verdict = serde_json::from_str("\"incomplete\"").unwrap();
        assert_eq!(v, Verdict::Undetermined);
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"undetermined\"");
    }

    #[test]
    fn roles_parse_from_names() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("nurse".parse::<Role>().is_err());
    }
}
