//! Writing to the trial record: every write is a `rct_record::Command`
//! checked by `TrialState::check` inside the ledger's command loop (so the
//! check always sees the state the events are written after).

use chrono::{DateTime, Utc};
use rct_record::{Actor, Command, CommandError, EventDraft};

use crate::{App, WebError};

/// Who issues a command, when and why.
#[derive(Debug, Clone)]
pub struct Who {
    /// User, role and site.
    pub actor: Actor,
    /// When.
    pub at: DateTime<Utc>,
    /// Why (changes, unblinding, lock).
    pub reason: Option<String>,
}

fn refused(e: CommandError) -> WebError {
    match e {
        CommandError::NotPermitted { .. }
        | CommandError::RoleNotGranted { .. }
        | CommandError::OtherUser { .. }
        | CommandError::NeedsAllSites { .. } => WebError::Forbidden(e.to_string()),
        CommandError::SiteNotGranted { .. }
        | CommandError::UnknownParticipant { .. }
        | CommandError::UnknownQuery { .. } => WebError::NotFound(e.to_string()),
        CommandError::Locked { .. } | CommandError::AlreadyLocked | CommandError::NotLocked => {
            WebError::Conflict(e.to_string())
        }
        other => WebError::BadRequest(other.to_string()),
    }
}

/// Runs one command through the ledger; the sequence number of the last
/// event written.
pub fn execute(app: &App, trial: &str, who: &Who, cmd: &Command) -> Result<u64, WebError> {
    execute_all(app, trial, who, std::slice::from_ref(cmd))
}

/// Runs several commands as one append (all or nothing). Each is checked
/// against the same state, so they must not depend on each other (e.g. the
/// values of different fields of one form).
pub fn execute_all(app: &App, trial: &str, who: &Who, cmds: &[Command]) -> Result<u64, WebError> {
    let events = app
        .ledger
        .execute(trial, |state| {
            let mut drafts: Vec<EventDraft> = Vec::new();
            for c in cmds {
                drafts.extend(state.check(&who.actor, who.at, who.reason.as_deref(), c)?);
            }
            Ok::<_, CommandError>(drafts)
        })
        .map_err(|e| match e {
            rct_store::ExecuteError::Rejected(c) => refused(c),
            rct_store::ExecuteError::Store(s) => s.into(),
        })?;
    Ok(events.last().map_or(0, |e| e.seq))
}
