//! Queries (raise, answer, close) and the database lock, which needs every
//! query closed.

use super::{nonempty, Actor, Command, CommandError, Ctx};
use crate::event::Payload;
use crate::state::{QueryStatus, TrialConfig, TrialState};

impl TrialState {
    /// [`Command::RaiseQuery`].
    pub(super) fn check_raise_query(
        &self,
        cx: &Ctx<'_>,
        id: &str,
        item: &Option<String>,
        text: &str,
    ) -> Result<(Option<String>, Payload), CommandError> {
        let (actor, config) = (cx.actor, cx.config);
        nonempty(text, "the query text")?;
        let p = cx.participant(id)?;
        if let Some(item) = item {
            let parts: Vec<&str> = item.split('/').collect();
            if parts.len() != 3 || parts.iter().any(|s| s.trim().is_empty()) {
                return Err(CommandError::BadItem { item: item.clone() });
            }
            self.check_query_item(config, actor, item)?;
            // A field of the registered protocol's form, at a visit that
            // collects it.
            if let Some(protocol) = config.protocol() {
                let known = protocol
                    .form(parts[1])
                    .is_some_and(|f| f.fields.iter().any(|x| x.id.get_ref() == parts[2]));
                if !known || super::data::check_schedule(protocol, parts[0], parts[1]).is_err() {
                    return Err(CommandError::UnknownItem { item: item.clone() });
                }
            }
        }
        Ok((
            p.site.clone(),
            Payload::QueryRaised {
                query: format!("Q{}", self.queries.len() + 1),
                participant: id.to_string(),
                item: item.clone(),
                text: text.to_string(),
            },
        ))
    }

    /// [`Command::AnswerQuery`] and [`Command::CloseQuery`].
    pub(super) fn check_answer_or_close(
        &self,
        cx: &Ctx<'_>,
        command: &Command,
        query: &str,
    ) -> Result<(Option<String>, Payload), CommandError> {
        let (actor, config) = (cx.actor, cx.config);
        let q = self
            .queries
            .get(query)
            .ok_or_else(|| CommandError::UnknownQuery {
                query: query.to_string(),
            })?;
        let p = cx.participant(&q.participant)?;
        if let Some(item) = &q.item {
            // A query on a hidden item does not exist for a blinded actor.
            if self.check_query_item(config, actor, item).is_err() {
                return Err(CommandError::UnknownQuery {
                    query: query.to_string(),
                });
            }
        }
        if q.status == QueryStatus::Closed {
            return Err(CommandError::QueryClosed {
                query: query.to_string(),
            });
        }
        let payload = if let Command::AnswerQuery { text, .. } = command {
            nonempty(text, "the answer")?;
            let to = config.answered_by(q.item.as_deref());
            if !to.contains(&actor.role) {
                return Err(CommandError::NotAddressee {
                    query: query.to_string(),
                    role: actor.role,
                    to: to.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", "),
                });
            }
            Payload::QueryAnswered {
                query: query.to_string(),
                text: text.to_string(),
            }
        } else {
            Payload::QueryClosed {
                query: query.to_string(),
            }
        };
        Ok((p.site.clone(), payload))
    }

    /// [`Command::Lock`] and [`Command::Unlock`].
    pub(super) fn check_lock(
        &self,
        cx: &Ctx<'_>,
        lock: bool,
    ) -> Result<(Option<String>, Payload), CommandError> {
        if lock {
            cx.covers(None)?;
            if self.locked {
                return Err(CommandError::AlreadyLocked);
            }
            let open: Vec<String> = self
                .queries
                .values()
                .filter(|q| q.status != QueryStatus::Closed)
                .map(|q| q.id.to_string())
                .collect();
            if !open.is_empty() {
                return Err(CommandError::OpenQueries {
                    queries: open.join(", "),
                });
            }
            Ok((None, Payload::DatabaseLocked))
        } else {
            cx.covers(None)?;
            if !self.locked {
                return Err(CommandError::NotLocked);
            }
            Ok((None, Payload::DatabaseUnlocked))
        }
    }

    /// Queries on values of an arm-specific form of a blinded trial are for
    /// unblinded roles only (blinded roles cannot see those values).
    fn check_query_item(
        &self,
        config: &TrialConfig,
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
}
