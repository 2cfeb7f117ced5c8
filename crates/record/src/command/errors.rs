//! Why a command is refused ([`CommandError`]).

use chrono::{DateTime, Utc};

use rct_random::RandomError;

use super::permissions::role_list;
use super::Action;
use crate::design::DesignError;
use crate::event::Role;
use crate::event::Role::{InterventionStaff, Investigator, Pharmacist, ResearchNurse};
use crate::event::Verdict;

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
    #[error("participant {participant} consented on {at}; consent is recorded once per consent form version")]
    AlreadyConsented {
        /// Participant.
        participant: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// A declined consent already recorded.
    #[error("participant {participant} declined consent on {at}; it is recorded once (a consent is still taken if they change their mind)")]
    AlreadyDeclined {
        /// Participant.
        participant: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// The intervention stopped early.
    #[error("participant {participant}'s intervention stopped on {at}: cannot {action} (follow-up data are still taken)", action = .action.describe())]
    InterventionStopped {
        /// Participant.
        participant: String,
        /// When it stopped.
        at: DateTime<Utc>,
        /// What was attempted.
        action: Action,
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
    /// The code-break's reason category is not one of the protocol's.
    #[error("the unblinding category `{category}` is not one of the protocol's: expected one of {expected} ([unblinding] categories)")]
    UnblindingCategory {
        /// Category given.
        category: String,
        /// The protocol's categories, joined.
        expected: String,
    },
    /// The code-break's explanation says too little.
    #[error("the explanation of the code-break of participant {participant} is too short (`{given}`): write at least {min_chars} characters and two words saying why the treatment had to be known")]
    ExplanationTooShort {
        /// Participant.
        participant: String,
        /// The text given (trimmed).
        given: String,
        /// Minimum characters.
        min_chars: usize,
    },
    /// No code-break of this user awaits an explanation.
    #[error(
        "user `{user}` has no code-break of participant {participant} awaiting an explanation"
    )]
    NothingToExplain {
        /// Participant.
        participant: String,
        /// User.
        user: String,
    },
    /// A consent form version the protocol does not declare.
    #[error("consent form version `{version}` is not one of the protocol's: expected one of {expected} ([consent] versions)")]
    ConsentVersion {
        /// Version given.
        version: String,
        /// The protocol's versions, joined.
        expected: String,
    },
    /// Consent dated after it was recorded.
    #[error("the consent of participant {participant} is dated {given_at}, after the time it is recorded ({at})")]
    ConsentInFuture {
        /// Participant.
        participant: String,
        /// Date given.
        given_at: chrono::DateTime<chrono::Utc>,
        /// Recording time.
        at: chrono::DateTime<chrono::Utc>,
    },
    /// Consent on a version that is no longer current.
    #[error("participant {participant} consented on form version {version}, not the current version {current}: record consent on version {current} before randomising")]
    ConsentNotCurrent {
        /// Participant.
        participant: String,
        /// Version consented on.
        version: String,
        /// Current version.
        current: String,
    },
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
    /// Verifying a form without values.
    #[error("participant {participant} has no value on {form} to verify")]
    NothingToVerify {
        /// Participant.
        participant: String,
        /// `visit/form`.
        form: String,
    },
    /// Verifying a form whose verification still holds.
    #[error("{form} of participant {participant} is verified and unchanged since")]
    AlreadyVerified {
        /// Participant.
        participant: String,
        /// `visit/form`.
        form: String,
    },
    /// Signing again while one's signature still holds.
    #[error("user `{user}` signed the casebook of participant {participant} and nothing changed since; a change to a value asks for a new signature")]
    AlreadySigned {
        /// Participant.
        participant: String,
        /// Signer.
        user: String,
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
    /// The protocol text of a registration does not parse.
    #[error("the protocol given with the registration is not valid: {message}")]
    ProtocolText {
        /// The checker's diagnostics.
        message: String,
    },
    /// The screening facts do not fit the protocol.
    #[error("screening participant {participant}: {message}")]
    Screening {
        /// Participant.
        participant: String,
        /// What is wrong (the eligibility engine's words).
        message: String,
    },
    /// A stratification fact was not recorded at screening.
    #[error("participant {participant} cannot be randomised: the stratification factor `{factor}` needs the screening fact `{fact}`, which was not recorded; screen again with it")]
    StratumFactMissing {
        /// Participant.
        participant: String,
        /// Factor.
        factor: String,
        /// The screening fact it reads.
        fact: String,
    },
    /// A recorded fact outside a stratum's levels.
    #[error("participant {participant} cannot be randomised: `{factor}` is `{value}`, not one of the stratum's levels ({levels})")]
    StratumLevel {
        /// Participant.
        participant: String,
        /// Factor.
        factor: String,
        /// The recorded value.
        value: String,
        /// The stratum's levels.
        levels: String,
    },
    /// A visit the protocol does not schedule.
    #[error("visit `{visit}` is not in the protocol; expected one of: {expected}")]
    UnknownVisit {
        /// Visit.
        visit: String,
        /// The protocol's visits.
        expected: String,
    },
    /// A form not collected at the visit.
    #[error("form `{form}` is not collected at visit `{visit}` (its forms: {forms}); the protocol collects `{form}` at: {at}")]
    NotScheduled {
        /// Form.
        form: String,
        /// Visit.
        visit: String,
        /// The visit's forms.
        forms: String,
        /// Visits that collect the form.
        at: String,
    },
    /// A value that does not fit its field.
    #[error("{message}")]
    Value {
        /// The form checker's words (naming form and field).
        message: String,
    },
    /// A kit other than the one assigned.
    #[error("kit `{given}` is not the kit allocated to {participant} (`{kit}`); dispense that kit, or, if another kit was given, confirm it (`rct trial enter --confirm-other-kit --reason ...`, or the box on the form): it is then recorded as given and flagged as a deviation for the pharmacy")]
    OtherKit {
        /// Participant.
        participant: String,
        /// Kit given.
        given: String,
        /// Kit assigned.
        kit: String,
    },
    /// A query answered by a role it does not go to.
    #[error("query {query} goes to the {to}, who enter that form; the {role} may not answer it")]
    NotAddressee {
        /// Query.
        query: String,
        /// The role that tried.
        role: Role,
        /// The roles it goes to.
        to: String,
    },
    /// A query item that is not a field of the protocol at that visit.
    #[error("`{item}` is not a field of the protocol: write visit/form/field, e.g. baseline/demographics/weight, or leave it empty")]
    UnknownItem {
        /// Item.
        item: String,
    },
    /// Facts from trial-specific procedures in a screening before consent.
    #[error("participant {participant} has not consented: {facts} come from trial-specific procedures ([[facts]] trial_specific), which need informed consent first (ICH E6 4.8.8); record the consent, or screen now with facts from existing records only")]
    TrialSpecificBeforeConsent {
        /// Participant.
        participant: String,
        /// The facts, comma-separated.
        facts: String,
    },
    /// A re-screening without a reason.
    #[error("participant {participant} was screened before; re-screening needs a reason (the earlier screening stays in the record)")]
    RescreenReason {
        /// Participant.
        participant: String,
    },
    /// A governance rule refuses (analysis plan, unblinding, code-breaks).
    #[error(transparent)]
    Governance(#[from] crate::governance::GovernanceError),
}
