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

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use rct_random::{allocate, AllocationRequest, PriorAllocation, RandomError};

use crate::design::{DesignError, TrialDesign};
use crate::event::{Arm, CriterionResult, EventDraft, Payload, Role, Sites, Verdict};
use crate::state::{item_key, Participant, QueryStatus, TrialState};

mod ids;
pub use ids::{check_participant_id, MAX_PARTICIPANT_ID};

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
}

impl Actor {
    /// An actor.
    pub fn new(user: &str, role: Role, site: Option<&str>) -> Actor {
        Actor {
            user: user.to_string(),
            role,
            site: site.map(str::to_string),
        }
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
    /// Record a screening verdict (creates the participant at a site).
    Screen {
        /// Participant identifier.
        participant: String,
        /// Site; the actor's site when `None`.
        site: Option<String>,
        /// Verdict of the eligibility engine.
        verdict: Verdict,
        /// Per-criterion summary.
        criteria: Vec<CriterionResult>,
    },
    /// Record informed consent.
    Consent {
        /// Participant.
        participant: String,
    },
    /// Randomise: the arm is computed from the state's allocation history.
    Randomise {
        /// Participant.
        participant: String,
        /// Factor levels (stratification and minimisation factors). A design
        /// stratified by `site` gets the participant's site when not given.
        strata: BTreeMap<String, String>,
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
    /// Withdraw a participant (a reason is required).
    Withdraw {
        /// Participant.
        participant: String,
    },
    /// Emergency unblinding of one participant for the acting user (a reason
    /// is required).
    EmergencyUnblind {
        /// Participant.
        participant: String,
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

/// The kind of a command, for the permission table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// [`Command::RegisterTrial`].
    RegisterTrial,
    /// [`Command::AddSite`].
    AddSite,
    /// [`Command::Screen`].
    Screen,
    /// [`Command::Consent`].
    Consent,
    /// [`Command::Randomise`].
    Randomise,
    /// [`Command::EnterValue`].
    EnterValue,
    /// [`Command::ChangeValue`].
    ChangeValue,
    /// [`Command::RaiseQuery`].
    RaiseQuery,
    /// [`Command::AnswerQuery`].
    AnswerQuery,
    /// [`Command::CloseQuery`].
    CloseQuery,
    /// [`Command::RecordSession`].
    RecordSession,
    /// [`Command::Withdraw`].
    Withdraw,
    /// [`Command::EmergencyUnblind`].
    EmergencyUnblind,
    /// [`Command::Lock`].
    Lock,
    /// [`Command::Unlock`].
    Unlock,
    /// [`Command::GrantRole`].
    GrantRole,
    /// [`Command::RevokeRole`].
    RevokeRole,
    /// [`Command::CreateUser`].
    CreateUser,
    /// [`Command::ChangePassword`].
    ChangePassword,
    /// [`Command::LockUser`].
    LockUser,
    /// [`Command::UnlockUser`].
    UnlockUser,
    /// [`Command::Login`].
    Login,
    /// [`Command::Logout`].
    Logout,
    /// [`Command::LoginFailed`].
    LoginFailed,
    /// [`Command::FinaliseSap`].
    FinaliseSap,
    /// [`Command::RequestUnblinding`].
    RequestUnblinding,
    /// [`Command::ApproveUnblinding`].
    ApproveUnblinding,
    /// [`Command::SafetyCodeBreak`].
    SafetyCodeBreak,
    /// [`Command::ProduceCodeBreakList`].
    ProduceCodeBreakList,
}

use Role::{
    Admin, DataManager, InterventionStaff, Investigator, Monitor, OutcomeAssessor, Pharmacist,
    ResearchNurse, System,
};

impl Action {
    /// Every action.
    pub const ALL: [Action; 29] = [
        Action::RegisterTrial,
        Action::AddSite,
        Action::Screen,
        Action::Consent,
        Action::Randomise,
        Action::EnterValue,
        Action::ChangeValue,
        Action::RaiseQuery,
        Action::AnswerQuery,
        Action::CloseQuery,
        Action::RecordSession,
        Action::Withdraw,
        Action::EmergencyUnblind,
        Action::Lock,
        Action::Unlock,
        Action::GrantRole,
        Action::RevokeRole,
        Action::CreateUser,
        Action::ChangePassword,
        Action::LockUser,
        Action::UnlockUser,
        Action::Login,
        Action::Logout,
        Action::LoginFailed,
        Action::FinaliseSap,
        Action::RequestUnblinding,
        Action::ApproveUnblinding,
        Action::SafetyCodeBreak,
        Action::ProduceCodeBreakList,
    ];

    /// The permission table: roles that may take this action.
    pub fn roles(self) -> &'static [Role] {
        match self {
            Action::RegisterTrial
            | Action::AddSite
            | Action::GrantRole
            | Action::RevokeRole
            | Action::CreateUser
            | Action::ChangePassword
            | Action::LockUser => &[Admin],
            // The operator (`rct trial unlock-user`) recovers a locked account.
            Action::UnlockUser => &[Admin, System],
            Action::Screen | Action::Consent | Action::Randomise | Action::Withdraw => {
                &[Investigator, ResearchNurse]
            }
            // Narrowed further by the form's rule.
            // The data manager enters only forms whose rule names it (e.g.
            // laboratory results such as LUPEX's IFN score).
            Action::EnterValue | Action::ChangeValue => &[
                Investigator,
                ResearchNurse,
                OutcomeAssessor,
                InterventionStaff,
                Pharmacist,
                DataManager,
            ],
            Action::RaiseQuery | Action::CloseQuery => &[Monitor, DataManager],
            Action::AnswerQuery => &[Investigator, ResearchNurse],
            Action::RecordSession => &[InterventionStaff],
            Action::EmergencyUnblind => &[Investigator],
            Action::Lock | Action::Unlock => &[DataManager],
            Action::Login | Action::Logout | Action::LoginFailed => &[System],
            Action::FinaliseSap
            | Action::RequestUnblinding
            | Action::ApproveUnblinding
            | Action::SafetyCodeBreak
            | Action::ProduceCodeBreakList => crate::governance::roles(self),
        }
    }

    /// Whether `role` may take this action (before the per-command rules).
    pub fn permits(self, role: Role) -> bool {
        self.roles().contains(&role)
    }

    /// Words for messages: "randomise", "change a value", ...
    pub fn describe(self) -> &'static str {
        match self {
            Action::RegisterTrial => "register the trial",
            Action::AddSite => "add a site",
            Action::Screen => "screen",
            Action::Consent => "record consent",
            Action::Randomise => "randomise",
            Action::EnterValue => "enter a value",
            Action::ChangeValue => "change a value",
            Action::RaiseQuery => "raise a query",
            Action::AnswerQuery => "answer a query",
            Action::CloseQuery => "close a query",
            Action::RecordSession => "record a session",
            Action::Withdraw => "withdraw a participant",
            Action::EmergencyUnblind => "unblind in an emergency",
            Action::Lock => "lock the database",
            Action::Unlock => "unlock the database",
            Action::GrantRole => "grant a role",
            Action::RevokeRole => "revoke a role",
            Action::CreateUser => "create a user",
            Action::ChangePassword => "change a password",
            Action::LockUser => "lock a user account",
            Action::UnlockUser => "unlock a user account",
            Action::Login => "record a login",
            Action::Logout => "record a logout",
            Action::LoginFailed => "record a failed login",
            Action::FinaliseSap => "record the analysis plan as final",
            Action::RequestUnblinding => "request the trial's unblinding",
            Action::ApproveUnblinding => "approve the trial's unblinding",
            Action::SafetyCodeBreak => "break the code for an expedited safety report",
            Action::ProduceCodeBreakList => "produce the sealed code-break list",
        }
    }

    /// Whether the action writes trial data (refused while the database is locked).
    pub fn writes_data(self) -> bool {
        matches!(
            self,
            Action::Screen
                | Action::Consent
                | Action::Randomise
                | Action::EnterValue
                | Action::ChangeValue
                | Action::RaiseQuery
                | Action::AnswerQuery
                | Action::CloseQuery
                | Action::RecordSession
                | Action::Withdraw
        )
    }

    /// Whether the action needs a reason.
    pub fn needs_reason(self) -> bool {
        matches!(
            self,
            Action::ChangeValue
                | Action::Withdraw
                | Action::EmergencyUnblind
                | Action::Unlock
                | Action::Lock
        )
    }
}

impl Command {
    /// The kind of this command.
    pub fn action(&self) -> Action {
        match self {
            Command::RegisterTrial { .. } => Action::RegisterTrial,
            Command::AddSite { .. } => Action::AddSite,
            Command::Screen { .. } => Action::Screen,
            Command::Consent { .. } => Action::Consent,
            Command::Randomise { .. } => Action::Randomise,
            Command::EnterValue { .. } => Action::EnterValue,
            Command::ChangeValue { .. } => Action::ChangeValue,
            Command::RaiseQuery { .. } => Action::RaiseQuery,
            Command::AnswerQuery { .. } => Action::AnswerQuery,
            Command::CloseQuery { .. } => Action::CloseQuery,
            Command::RecordSession { .. } => Action::RecordSession,
            Command::Withdraw { .. } => Action::Withdraw,
            Command::EmergencyUnblind { .. } => Action::EmergencyUnblind,
            Command::Lock => Action::Lock,
            Command::Unlock => Action::Unlock,
            Command::GrantRole { .. } => Action::GrantRole,
            Command::RevokeRole { .. } => Action::RevokeRole,
            Command::CreateUser { .. } => Action::CreateUser,
            Command::ChangePassword { .. } => Action::ChangePassword,
            Command::LockUser { .. } => Action::LockUser,
            Command::UnlockUser { .. } => Action::UnlockUser,
            Command::Login { .. } => Action::Login,
            Command::Logout { .. } => Action::Logout,
            Command::LoginFailed { .. } => Action::LoginFailed,
            Command::FinaliseSap { .. } => Action::FinaliseSap,
            Command::RequestUnblinding => Action::RequestUnblinding,
            Command::ApproveUnblinding => Action::ApproveUnblinding,
            Command::SafetyCodeBreak { .. } => Action::SafetyCodeBreak,
            Command::ProduceCodeBreakList => Action::ProduceCodeBreakList,
        }
    }
}

fn role_list(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a command is refused. Messages say what is wrong and what to do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    /// The trial has no registration yet.
    #[error("trial `{trial}` is not registered yet; register it first")]
    NotRegistered {
        /// Trial.
        trial: String,
    },
    /// The trial is already registered.
    #[error("trial `{trial}` is already registered")]
    AlreadyRegistered {
        /// Trial.
        trial: String,
    },
    /// The role may not take this action at all.
    #[error("the role {role} may not {action} (allowed: {allowed})", action = .action.describe(), allowed = role_list(.action.roles()))]
    NotPermitted {
        /// Role.
        role: Role,
        /// Action.
        action: Action,
    },
    /// The user does not hold the role they act in.
    #[error(
        "user `{user}` does not hold the role {role} in this trial; an administrator grants roles"
    )]
    RoleNotGranted {
        /// User.
        user: String,
        /// Role.
        role: Role,
    },
    /// The user's grant does not cover the site.
    #[error("user `{user}` ({role}) has no access to site `{site}`")]
    SiteNotGranted {
        /// User.
        user: String,
        /// Role.
        role: Role,
        /// Site.
        site: String,
    },
    /// A trial-wide action needs a grant for every site.
    #[error("user `{user}` ({role}) may {action} only with a grant for all sites", action = .action.describe())]
    NeedsAllSites {
        /// User.
        user: String,
        /// Role.
        role: Role,
        /// Action.
        action: Action,
    },
    /// No site for a new participant.
    #[error("screening participant {participant} needs a site: name one, or act from a site")]
    NoSite {
        /// Participant.
        participant: String,
    },
    /// The site is not one of the trial's sites.
    #[error(
        "site `{site}` is not a site of this trial (sites: {known}); an administrator adds sites"
    )]
    UnknownSite {
        /// Site.
        site: String,
        /// Known sites.
        known: String,
    },
    /// The site already exists.
    #[error("site `{site}` already exists")]
    SiteExists {
        /// Site.
        site: String,
    },
    /// A participant screened at one site cannot be screened at another.
    #[error("participant {participant} belongs to site `{site}`, not `{other}`")]
    WrongSite {
        /// Participant.
        participant: String,
        /// The participant's site.
        site: String,
        /// Site asked for.
        other: String,
    },
    /// No such participant.
    #[error("participant {participant} has not been screened; screen them before you {action}", action = .action.describe())]
    UnknownParticipant {
        /// Participant.
        participant: String,
        /// Action tried.
        action: Action,
    },
    /// The participant is not eligible.
    #[error("participant {participant} is not eligible (verdict: {verdict}); screening must say eligible before randomisation")]
    NotEligible {
        /// Participant.
        participant: String,
        /// Latest verdict.
        verdict: Verdict,
    },
    /// No consent.
    #[error("participant {participant} has not consented; record consent before randomisation")]
    NotConsented {
        /// Participant.
        participant: String,
    },
    /// Consent already recorded.
    #[error("participant {participant} consented on {at}; consent is recorded once")]
    AlreadyConsented {
        /// Participant.
        participant: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Withdrawn.
    #[error("participant {participant} was withdrawn on {at}; a withdrawn participant cannot {action}", action = .action.describe())]
    Withdrawn {
        /// Participant.
        participant: String,
        /// When.
        at: DateTime<Utc>,
        /// Action tried.
        action: Action,
    },
    /// Already randomised.
    #[error("participant {participant} was already randomised on {at}; a participant is randomised once")]
    AlreadyRandomised {
        /// Participant.
        participant: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// Screening after randomisation.
    #[error("participant {participant} is already randomised; screening cannot be repeated")]
    ScreenAfterRandomisation {
        /// Participant.
        participant: String,
    },
    /// Not randomised.
    #[error("participant {participant} has not been randomised; you cannot {action} before randomisation", action = .action.describe())]
    NotRandomised {
        /// Participant.
        participant: String,
        /// Action tried.
        action: Action,
    },
    /// A reason is required.
    #[error("a reason is required to {action}", action = .action.describe())]
    ReasonRequired {
        /// Action.
        action: Action,
    },
    /// A required text is empty.
    #[error("{what} must not be empty")]
    Empty {
        /// What is empty.
        what: &'static str,
    },
    /// Change of a value never entered.
    #[error("participant {participant} has no value for {item}; enter it first (change is for values already entered)")]
    NoValue {
        /// Participant.
        participant: String,
        /// Item.
        item: String,
    },
    /// Enter over an existing value.
    #[error("participant {participant} already has a value for {item} ({current}); change it with a reason instead")]
    ValueExists {
        /// Participant.
        participant: String,
        /// Item.
        item: String,
        /// Current value.
        current: String,
    },
    /// A change to the same value.
    #[error("the new value of {item} for participant {participant} equals the current one; nothing to change")]
    Unchanged {
        /// Participant.
        participant: String,
        /// Item.
        item: String,
    },
    /// The form is entered by one role only.
    #[error("form `{form}` is entered by the {entered_by} only; the {role} may not write it")]
    FormRole {
        /// Form.
        form: String,
        /// The role that enters it.
        entered_by: Role,
        /// The role that tried.
        role: Role,
    },
    /// An arm-specific form in a blinded trial.
    #[error("form `{form}` is arm-specific; in a blinded trial only unblinded roles ({allowed}) write it", allowed = role_list(&[InterventionStaff, Pharmacist]))]
    ArmFormBlinded {
        /// Form.
        form: String,
    },
    /// A form of another arm.
    #[error(
        "form `{form}` belongs to arm `{arm}`; participant {participant} is not allocated to it"
    )]
    ArmFormOtherArm {
        /// Form.
        form: String,
        /// Arm of the form.
        arm: String,
        /// Participant.
        participant: String,
    },
    /// Only the investigator and the nurse enter general forms.
    #[error("form `{form}` is entered by the site ({allowed}); the {role} may not write it", allowed = role_list(&[Investigator, ResearchNurse]))]
    SiteForm {
        /// Form.
        form: String,
        /// Role that tried.
        role: Role,
    },
    /// A query on an arm-specific form by a blinded role.
    #[error("item `{item}` is on an arm-specific form, which blinded roles cannot see or query")]
    ArmFormQuery {
        /// Item.
        item: String,
    },
    /// Locked database.
    #[error("the database is locked; you cannot {action} until a data manager unlocks it with a reason", action = .action.describe())]
    Locked {
        /// Action tried.
        action: Action,
    },
    /// Queries still open at the lock.
    #[error("queries {queries} are not closed; close every query before locking the database")]
    OpenQueries {
        /// Open query identifiers.
        queries: String,
    },
    /// Lock twice.
    #[error("the database is already locked")]
    AlreadyLocked,
    /// Unlock when unlocked.
    #[error("the database is not locked")]
    NotLocked,
    /// No such query.
    #[error("there is no query {query}")]
    UnknownQuery {
        /// Query.
        query: String,
    },
    /// Query closed.
    #[error("query {query} is closed")]
    QueryClosed {
        /// Query.
        query: String,
    },
    /// The query's item is not of the form `visit/form/field`.
    #[error("query item `{item}` must be written visit/form/field")]
    BadItem {
        /// Item.
        item: String,
    },
    /// Unblinding an open trial.
    #[error("the trial is not blinded; there is nothing to unblind")]
    NotBlinded,
    /// Unblinded already.
    #[error("participant {participant} is already unblinded to user `{user}`")]
    AlreadyUnblinded {
        /// Participant.
        participant: String,
        /// User.
        user: String,
    },
    /// No such account.
    #[error("there is no user `{user}`")]
    UnknownUser {
        /// User.
        user: String,
    },
    /// The account exists.
    #[error("user `{user}` already exists")]
    UserExists {
        /// User.
        user: String,
    },
    /// A locked account.
    #[error("user `{user}` is locked; an administrator can unlock the account")]
    UserLocked {
        /// User.
        user: String,
    },
    /// Unlocking an unlocked account.
    #[error("user `{user}` is not locked")]
    UserNotLocked {
        /// User.
        user: String,
    },
    /// Revoking a role not held.
    #[error("user `{user}` does not hold the role {role}")]
    NotHeld {
        /// User.
        user: String,
        /// Role.
        role: Role,
    },
    /// Granting the system role.
    #[error("the role system is not granted to people")]
    SystemRole,
    /// A password hash that is not an argon2 PHC string.
    #[error("the password hash must be an argon2 PHC string ($argon2id$...), computed by the server; never store a password itself")]
    BadPasswordHash,
    /// A login event about another user.
    #[error("user `{actor}` cannot {action} for user `{user}`", action = .action.describe())]
    OtherUser {
        /// Acting user.
        actor: String,
        /// User named.
        user: String,
        /// Action.
        action: Action,
    },
    /// The design cannot be used.
    #[error(transparent)]
    Design(#[from] DesignError),
    /// The allocation could not be computed.
    #[error("randomising participant {participant}: {source}")]
    Allocation {
        /// Participant.
        participant: String,
        /// Why.
        #[source]
        source: RandomError,
    },
    /// An accepted command's event did not fold (a bug: please report it).
    #[error("internal error: {0}")]
    Internal(String),
    /// A registration whose sealing key is not 64 hex digits.
    #[error("the sealing key must be 64 hex digits drawn from the operating system")]
    BadSealKey,
    /// A stratification factor disagrees with the participant's record.
    #[error(
        "participant {participant} belongs to site `{site}`, but the strata give site `{given}`"
    )]
    SiteFactor {
        /// Participant.
        participant: String,
        /// The participant's site.
        site: String,
        /// Level given.
        given: String,
    },
    /// A user name outside the one rule ([`duties::check_user_name`]).
    #[error("user name `{user}` is not allowed: user names are 1 to 64 letters, digits, `.`, `_`, `-` or `@`")]
    BadUserName {
        /// The name (cut to 64 characters).
        user: String,
    },
    /// A grant to oneself.
    #[error("user `{user}` cannot grant the role {role} to themselves; another administrator must grant it")]
    SelfGrant {
        /// User.
        user: String,
        /// Role.
        role: Role,
    },
    /// A grant to a name without an account.
    #[error(
        "there is no account `{user}` in this trial; create the account first, then grant the role"
    )]
    NoAccount {
        /// User.
        user: String,
    },
    /// A blinded and an unblinded role on one account of a blinded trial.
    #[error("user `{user}` holds the role {held}; in a blinded trial one account cannot hold a blinded and an unblinded role at once, so {role} is refused (revoke {held} first)")]
    BlindingConflict {
        /// User.
        user: String,
        /// Role asked for.
        role: Role,
        /// The role held on the other side of the blind.
        held: Role,
    },
    /// Revoking or locking the last administrator.
    #[error("user `{user}` is the last administrator of this trial who can act; grant admin to another account before you {action}", action = .action.describe())]
    LastAdmin {
        /// User.
        user: String,
        /// Action tried.
        action: Action,
    },
    /// A participant identifier outside the rule ([`check_participant_id`]).
    #[error("participant identifier {id} is not allowed: use 1 to 32 letters, digits, `-`, `_` or `.` (not dots alone), e.g. P001")]
    BadParticipantId {
        /// The identifier, quoted and escaped (cut after 40 characters).
        id: String,
    },
    /// A governance rule refuses (analysis plan, unblinding, code-breaks).
    #[error(transparent)]
    Governance(#[from] crate::governance::GovernanceError),
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
        let draft = |site: Option<String>, payload: Payload| EventDraft {
            trial: self.trial.clone(),
            at,
            actor: actor.user.clone(),
            role: actor.role,
            site,
            reason: reason.map(str::to_string),
            payload,
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
        let covers = |site: Option<&str>| -> Result<(), CommandError> {
            match site {
                Some(site) if !grant.covers(site) => Err(CommandError::SiteNotGranted {
                    user: actor.user.clone(),
                    role: actor.role,
                    site: site.to_string(),
                }),
                None if *grant != Sites::All => Err(CommandError::NeedsAllSites {
                    user: actor.user.clone(),
                    role: actor.role,
                    action,
                }),
                _ => Ok(()),
            }
        };
        // A participant known to the state, within the actor's sites.
        let participant = |id: &str| -> Result<&Participant, CommandError> {
            let p = self
                .participants
                .get(id)
                .ok_or_else(|| CommandError::UnknownParticipant {
                    participant: id.to_string(),
                    action,
                })?;
            covers(p.site.as_deref())?;
            Ok(p)
        };
        let not_withdrawn = |p: &Participant| -> Result<(), CommandError> {
            match &p.withdrawn {
                Some((when, _)) => Err(CommandError::Withdrawn {
                    participant: p.id.clone(),
                    at: *when,
                    action,
                }),
                None => Ok(()),
            }
        };

        self.check_duties(actor, command)?;

        let payload = match command {
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
            Command::AddSite { site, name } => {
                nonempty(site, "the site identifier")?;
                nonempty(name, "the site name")?;
                if self.sites.contains_key(site) {
                    return Err(CommandError::SiteExists { site: site.clone() });
                }
                return Ok(vec![draft(
                    Some(site.clone()),
                    Payload::SiteAdded {
                        site: site.clone(),
                        name: name.clone(),
                    },
                )]);
            }
            Command::Screen {
                participant: id,
                site,
                verdict,
                criteria,
            } => {
                nonempty(id, "the participant identifier")?;
                if !self.participants.contains_key(id) {
                    check_participant_id(id)?;
                }
                let site = match (self.participants.get(id), site, &actor.site) {
                    (Some(p), asked, _) => {
                        if let (Some(theirs), Some(asked)) = (&p.site, asked) {
                            if theirs != asked {
                                return Err(CommandError::WrongSite {
                                    participant: id.clone(),
                                    site: theirs.clone(),
                                    other: asked.clone(),
                                });
                            }
                        }
                        if p.allocation.is_some() {
                            return Err(CommandError::ScreenAfterRandomisation {
                                participant: id.clone(),
                            });
                        }
                        not_withdrawn(p)?;
                        p.site.clone().or_else(|| asked.clone())
                    }
                    (None, Some(s), _) | (None, None, Some(s)) => Some(s.clone()),
                    (None, None, None) => None,
                };
                let Some(site) = site else {
                    return Err(CommandError::NoSite {
                        participant: id.clone(),
                    });
                };
                self.known_site(&site)?;
                covers(Some(&site))?;
                return Ok(vec![draft(
                    Some(site),
                    Payload::Screened {
                        participant: id.clone(),
                        verdict: *verdict,
                        criteria: criteria.clone(),
                    },
                )]);
            }
            Command::Consent { participant: id } => {
                let p = participant(id)?;
                not_withdrawn(p)?;
                if let Some(when) = p.consented {
                    return Err(CommandError::AlreadyConsented {
                        participant: id.clone(),
                        at: when,
                    });
                }
                (
                    p.site.clone(),
                    Payload::Consented {
                        participant: id.clone(),
                    },
                )
            }
            Command::Randomise {
                participant: id,
                strata,
            } => {
                let p = participant(id)?;
                return Ok(vec![draft(p.site.clone(), self.randomise(p, strata)?)]);
            }
            Command::EnterValue {
                participant: id,
                visit,
                form,
                field,
                value,
            }
            | Command::ChangeValue {
                participant: id,
                visit,
                form,
                field,
                value,
            } => {
                nonempty(visit, "the visit")?;
                nonempty(form, "the form")?;
                nonempty(field, "the field")?;
                let p = participant(id)?;
                self.check_form_writer(config, actor.role, p, form)?;
                let item = item_key(visit, form, field);
                let current = p.values.get(&item);
                // As the chain will store it (one form for equal numbers).
                let value = &crate::canonical::canonical_value(value);
                let payload = match (command, current) {
                    (Command::EnterValue { .. }, None) => Payload::ValueEntered {
                        participant: id.clone(),
                        visit: visit.clone(),
                        form: form.clone(),
                        field: field.clone(),
                        value: value.clone(),
                    },
                    (Command::EnterValue { .. }, Some(current)) => {
                        return Err(CommandError::ValueExists {
                            participant: id.clone(),
                            item,
                            current: current.to_string(),
                        })
                    }
                    (_, None) => {
                        return Err(CommandError::NoValue {
                            participant: id.clone(),
                            item,
                        })
                    }
                    (_, Some(current)) => {
                        if current == value {
                            return Err(CommandError::Unchanged {
                                participant: id.clone(),
                                item,
                            });
                        }
                        Payload::ValueChanged {
                            participant: id.clone(),
                            visit: visit.clone(),
                            form: form.clone(),
                            field: field.clone(),
                            old: current.clone(),
                            new: value.clone(),
                        }
                    }
                };
                (p.site.clone(), payload)
            }
            Command::RaiseQuery {
                participant: id,
                item,
                text,
            } => {
                nonempty(text, "the query text")?;
                let p = participant(id)?;
                if let Some(item) = item {
                    let parts: Vec<&str> = item.split('/').collect();
                    if parts.len() != 3 || parts.iter().any(|s| s.trim().is_empty()) {
                        return Err(CommandError::BadItem { item: item.clone() });
                    }
                    self.check_query_item(config, actor, item)?;
                }
                (
                    p.site.clone(),
                    Payload::QueryRaised {
                        query: format!("Q{}", self.queries.len() + 1),
                        participant: id.clone(),
                        item: item.clone(),
                        text: text.clone(),
                    },
                )
            }
            Command::AnswerQuery { query, .. } | Command::CloseQuery { query } => {
                let q = self
                    .queries
                    .get(query)
                    .ok_or_else(|| CommandError::UnknownQuery {
                        query: query.clone(),
                    })?;
                let p = participant(&q.participant)?;
                if let Some(item) = &q.item {
                    // A query on a hidden item does not exist for a blinded actor.
                    if self.check_query_item(config, actor, item).is_err() {
                        return Err(CommandError::UnknownQuery {
                            query: query.clone(),
                        });
                    }
                }
                if q.status == QueryStatus::Closed {
                    return Err(CommandError::QueryClosed {
                        query: query.clone(),
                    });
                }
                let payload = if let Command::AnswerQuery { text, .. } = command {
                    nonempty(text, "the answer")?;
                    Payload::QueryAnswered {
                        query: query.clone(),
                        text: text.clone(),
                    }
                } else {
                    Payload::QueryClosed {
                        query: query.clone(),
                    }
                };
                (p.site.clone(), payload)
            }
            Command::RecordSession {
                participant: id,
                session,
                summary,
            } => {
                nonempty(session, "the session identifier")?;
                let p = participant(id)?;
                if p.allocation.is_none() {
                    return Err(CommandError::NotRandomised {
                        participant: id.clone(),
                        action,
                    });
                }
                not_withdrawn(p)?;
                (
                    p.site.clone(),
                    Payload::SessionRecorded {
                        participant: id.clone(),
                        session: session.clone(),
                        summary: summary.clone(),
                    },
                )
            }
            Command::Withdraw { participant: id } => {
                let p = participant(id)?;
                not_withdrawn(p)?;
                (
                    p.site.clone(),
                    Payload::Withdrawn {
                        participant: id.clone(),
                    },
                )
            }
            Command::EmergencyUnblind { participant: id } => {
                let p = participant(id)?;
                if !config.blinded {
                    return Err(CommandError::NotBlinded);
                }
                if p.allocation.is_none() {
                    return Err(CommandError::NotRandomised {
                        participant: id.clone(),
                        action,
                    });
                }
                if self.unblinded.contains(&(actor.user.clone(), id.clone())) {
                    return Err(CommandError::AlreadyUnblinded {
                        participant: id.clone(),
                        user: actor.user.clone(),
                    });
                }
                (
                    p.site.clone(),
                    Payload::EmergencyUnblinded {
                        participant: id.clone(),
                    },
                )
            }
            Command::Lock => {
                covers(None)?;
                if self.locked {
                    return Err(CommandError::AlreadyLocked);
                }
                let open: Vec<String> = self
                    .queries
                    .values()
                    .filter(|q| q.status != QueryStatus::Closed)
                    .map(|q| q.id.clone())
                    .collect();
                if !open.is_empty() {
                    return Err(CommandError::OpenQueries {
                        queries: open.join(", "),
                    });
                }
                (None, Payload::DatabaseLocked)
            }
            Command::Unlock => {
                covers(None)?;
                if !self.locked {
                    return Err(CommandError::NotLocked);
                }
                (None, Payload::DatabaseUnlocked)
            }
            Command::GrantRole { user, role, sites } => {
                nonempty(user, "the user name")?;
                if *role == System {
                    return Err(CommandError::SystemRole);
                }
                if let Sites::Only(list) = sites {
                    if list.is_empty() {
                        return Err(CommandError::Empty {
                            what: "the list of sites",
                        });
                    }
                    for s in list {
                        self.known_site(s)?;
                    }
                }
                (
                    actor.site.clone(),
                    Payload::RoleGranted {
                        user: user.clone(),
                        role: *role,
                        sites: sites.clone(),
                    },
                )
            }
            Command::RevokeRole { user, role } => {
                if self.grant(user, *role).is_none() {
                    return Err(CommandError::NotHeld {
                        user: user.clone(),
                        role: *role,
                    });
                }
                (
                    actor.site.clone(),
                    Payload::RoleRevoked {
                        user: user.clone(),
                        role: *role,
                    },
                )
            }
            Command::CreateUser {
                user,
                display_name,
                password_hash,
            } => {
                nonempty(user, "the user name")?;
                nonempty(display_name, "the display name")?;
                check_phc(password_hash)?;
                if self.users.contains_key(user) {
                    return Err(CommandError::UserExists { user: user.clone() });
                }
                (
                    actor.site.clone(),
                    Payload::UserCreated {
                        user: user.clone(),
                        display_name: display_name.clone(),
                        password_hash: password_hash.clone(),
                    },
                )
            }
            Command::ChangePassword {
                user,
                password_hash,
            } => {
                check_phc(password_hash)?;
                self.account(user)?;
                (
                    actor.site.clone(),
                    Payload::PasswordChanged {
                        user: user.clone(),
                        password_hash: password_hash.clone(),
                    },
                )
            }
            Command::LockUser { user } => {
                if self.account(user)?.locked {
                    return Err(CommandError::UserLocked { user: user.clone() });
                }
                (
                    actor.site.clone(),
                    Payload::UserLocked { user: user.clone() },
                )
            }
            Command::UnlockUser { user } => {
                if !self.account(user)?.locked {
                    return Err(CommandError::UserNotLocked { user: user.clone() });
                }
                (
                    actor.site.clone(),
                    Payload::UserUnlocked { user: user.clone() },
                )
            }
        };
        let (site, payload) = payload;
        Ok(vec![draft(site, payload)])
    }

    fn account(&self, user: &str) -> Result<&crate::state::UserAccount, CommandError> {
        self.users
            .get(user)
            .ok_or_else(|| CommandError::UnknownUser {
                user: user.to_string(),
            })
    }

    fn known_site(&self, site: &str) -> Result<(), CommandError> {
        if self.sites.is_empty() || self.sites.contains_key(site) {
            Ok(())
        } else {
            Err(CommandError::UnknownSite {
                site: site.to_string(),
                known: self.sites.keys().cloned().collect::<Vec<_>>().join(", "),
            })
        }
    }

    /// Queries on values of an arm-specific form of a blinded trial are for
    /// unblinded roles only (blinded roles cannot see those values).
    fn check_query_item(
        &self,
        config: &crate::state::TrialConfig,
        actor: &Actor,
        item: &str,
    ) -> Result<(), CommandError> {
        let form = item.split('/').nth(1).unwrap_or_default();
        if config.blinded && !actor.role.is_unblinded() && config.form_arm(form).is_some() {
            return Err(CommandError::ArmFormQuery {
                item: item.to_string(),
            });
        }
        Ok(())
    }

    fn check_form_writer(
        &self,
        config: &crate::state::TrialConfig,
        role: Role,
        p: &Participant,
        form: &str,
    ) -> Result<(), CommandError> {
        let rule = config.form_rule(form);
        if let Some(arm) = rule.and_then(|r| r.arm.as_ref()) {
            if config.blinded && !role.is_unblinded() {
                return Err(CommandError::ArmFormBlinded {
                    form: form.to_string(),
                });
            }
            if p.allocation.as_ref().is_none_or(|a| &a.arm != arm) {
                return Err(CommandError::ArmFormOtherArm {
                    form: form.to_string(),
                    arm: arm.clone(),
                    participant: p.id.clone(),
                });
            }
        }
        match rule.and_then(|r| r.entered_by) {
            Some(by) if by != role => Err(CommandError::FormRole {
                form: form.to_string(),
                entered_by: by,
                role,
            }),
            Some(_) => Ok(()),
            None if rule.is_some_and(|r| r.arm.is_some()) => Ok(()),
            None if matches!(role, Investigator | ResearchNurse) => Ok(()),
            None => Err(CommandError::SiteForm {
                form: form.to_string(),
                role,
            }),
        }
    }

    /// The randomised event for `p`: eligibility, consent and history checks,
    /// then `rct_random::allocate` over the state's allocation history.
    fn randomise(
        &self,
        p: &Participant,
        strata: &BTreeMap<String, String>,
    ) -> Result<Payload, CommandError> {
        let id = &p.id;
        if let Some(a) = &p.allocation {
            return Err(CommandError::AlreadyRandomised {
                participant: id.clone(),
                at: a.at,
            });
        }
        if let Some((when, _)) = &p.withdrawn {
            return Err(CommandError::Withdrawn {
                participant: id.clone(),
                at: *when,
                action: Action::Randomise,
            });
        }
        match &p.screening {
            None => {
                return Err(CommandError::UnknownParticipant {
                    participant: id.clone(),
                    action: Action::Randomise,
                })
            }
            Some(s) if s.verdict != Verdict::Eligible => {
                return Err(CommandError::NotEligible {
                    participant: id.clone(),
                    verdict: s.verdict,
                })
            }
            Some(_) => {}
        }
        if p.consented.is_none() {
            return Err(CommandError::NotConsented {
                participant: id.clone(),
            });
        }
        let allocation = self.allocation_for(p, strata)?;
        Ok(Payload::Randomised {
            participant: id.clone(),
            arm: allocation.arm,
            kit: allocation.kit,
            position: u64::from(allocation.position),
            stratum: allocation.stratum,
            factors: allocation.factors,
        })
    }

    /// The allocation the next randomisation of `p` with these factor levels
    /// would receive (no eligibility checks).
    fn allocation_for(
        &self,
        p: &Participant,
        strata: &BTreeMap<String, String>,
    ) -> Result<NextAllocation, CommandError> {
        let Some(config) = &self.config else {
            return Err(CommandError::NotRegistered {
                trial: self.trial.clone(),
            });
        };
        let design = config.trial_design()?;
        let spec = design.design_spec()?;
        let arms = design.weighted_arms(&config.arms)?;
        let mut factors = strata.clone();
        if let Some(site) = &p.site {
            let uses_site = design.stratify_by.iter().any(|f| f == "site")
                || design.minimise_on.contains_key("site");
            match factors.get("site") {
                Some(given) if given != site => {
                    return Err(CommandError::SiteFactor {
                        participant: p.id.clone(),
                        site: site.clone(),
                        given: given.clone(),
                    })
                }
                None if uses_site => {
                    factors.insert("site".into(), site.clone());
                }
                _ => {}
            }
        }
        // List-based designs read only the stratum's arms and, with kits, the
        // codes used elsewhere: hand over just that (cloning the whole
        // history dominated the cost of a randomisation).
        let history = if spec.is_list_based() {
            let stratum =
                rct_random::stratum_key(&design.stratify_by, &factors).map_err(|source| {
                    CommandError::Allocation {
                        participant: p.id.clone(),
                        source,
                    }
                })?;
            self.history
                .iter()
                .filter_map(|h| {
                    if h.stratum == stratum {
                        Some(PriorAllocation {
                            arm: h.arm.clone(),
                            stratum: stratum.clone(),
                            factors: BTreeMap::new(),
                            kit: h.kit.clone(),
                        })
                    } else if design.kits {
                        h.kit.as_ref().map(|k| PriorAllocation {
                            arm: String::new(),
                            stratum: h.stratum.clone(),
                            factors: BTreeMap::new(),
                            kit: Some(k.clone()),
                        })
                    } else {
                        None
                    }
                })
                .collect()
        } else {
            self.history.iter().cloned().collect()
        };
        let request = AllocationRequest {
            design: spec,
            arms,
            seed: config.seed,
            factors: factors.clone(),
            strata: design.stratify_by.clone(),
            factor_weights: design.minimise_on.clone(),
            history,
            list_length: design.list_length,
            kits: design.kits,
        };
        let out = allocate(&request).map_err(|source| CommandError::Allocation {
            participant: p.id.clone(),
            source,
        })?;
        Ok(NextAllocation {
            arm: out.arm,
            kit: out.kit,
            position: out.position,
            stratum: out.stratum,
            factors,
        })
    }
}

struct NextAllocation {
    arm: String,
    kit: Option<String>,
    position: u32,
    stratum: String,
    factors: BTreeMap<String, String>,
}

fn check_phc(hash: &str) -> Result<(), CommandError> {
    if hash.starts_with("$argon2") && hash.matches('$').count() >= 4 {
        Ok(())
    } else {
        Err(CommandError::BadPasswordHash)
    }
}

pub mod duties;

#[cfg(test)]
pub(crate) mod tests;
