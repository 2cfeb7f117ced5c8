//! The permission table: which roles may take each action, and what each
//! action is called in messages.

use serde::{Deserialize, Serialize};

use super::Command;
use crate::event::Role;

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
    /// [`Command::StopIntervention`].
    StopIntervention,
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
    /// [`Command::VerifyForm`].
    VerifySource,
    /// [`Command::SignCasebook`].
    SignCasebook,
}

use Role::{
    Admin, DataManager, InterventionStaff, Investigator, Monitor, OutcomeAssessor, Pharmacist,
    ResearchNurse, System,
};

impl Action {
    /// Every action.
    pub const ALL: [Action; 32] = [
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
        Action::StopIntervention,
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
        Action::VerifySource,
        Action::SignCasebook,
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
            // Narrowed to the query's addressee (`TrialConfig::answered_by`).
            Action::AnswerQuery => &[
                Investigator,
                ResearchNurse,
                OutcomeAssessor,
                InterventionStaff,
                Pharmacist,
                DataManager,
            ],
            Action::RecordSession => &[InterventionStaff],
            // Those who give or decide the intervention.
            Action::StopIntervention => &[Investigator, ResearchNurse, InterventionStaff],
            Action::VerifySource => &[Monitor],
            Action::SignCasebook => &[Investigator],
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
            Action::StopIntervention => "stop a participant's intervention",
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
            Action::VerifySource => "verify a form against its source",
            Action::SignCasebook => "sign a casebook",
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
                | Action::StopIntervention
                | Action::VerifySource
        )
    }

    /// Whether the action needs a reason.
    pub fn needs_reason(self) -> bool {
        matches!(
            self,
            Action::ChangeValue
                | Action::Withdraw
                | Action::StopIntervention
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
            Command::Consent { .. } | Command::DeclineConsent { .. } => Action::Consent,
            Command::Randomise { .. } => Action::Randomise,
            Command::EnterValue { .. } => Action::EnterValue,
            Command::ChangeValue { .. } => Action::ChangeValue,
            Command::DispenseOtherKit { .. } => Action::EnterValue,
            Command::RaiseQuery { .. } => Action::RaiseQuery,
            Command::AnswerQuery { .. } => Action::AnswerQuery,
            Command::CloseQuery { .. } => Action::CloseQuery,
            Command::RecordSession { .. } => Action::RecordSession,
            Command::Withdraw { .. } => Action::Withdraw,
            Command::StopIntervention { .. } => Action::StopIntervention,
            Command::EmergencyUnblind { .. } | Command::ExplainUnblinding { .. } => {
                Action::EmergencyUnblind
            }
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
            Command::VerifyForm { .. } => Action::VerifySource,
            Command::SignCasebook { .. } => Action::SignCasebook,
        }
    }
}

pub(super) fn role_list(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
