//! Data: entering and changing values (with the form's rule of who writes
//! it) and recording intervention sessions.

use serde_json::Value;

use super::{nonempty, Command, CommandError, Ctx};
use crate::event::Role::{Investigator, ResearchNurse};
use crate::event::{Payload, Role};
use crate::state::{item_key, Participant, TrialConfig, TrialState};

impl TrialState {
    /// [`Command::EnterValue`] and [`Command::ChangeValue`].
    #[allow(clippy::too_many_arguments)]
    pub(super) fn check_value(
        &self,
        cx: &Ctx<'_>,
        command: &Command,
        id: &str,
        visit: &str,
        form: &str,
        field: &str,
        value: &Value,
    ) -> Result<(Option<String>, Payload), CommandError> {
        let (actor, config) = (cx.actor, cx.config);
        nonempty(visit, "the visit")?;
        nonempty(form, "the form")?;
        nonempty(field, "the field")?;
        let p = cx.participant(id)?;
        self.check_form_writer(config, actor.role, p, form)?;
        let item = item_key(visit, form, field);
        let current = p.values.get(&item);
        // As the chain will store it (one form for equal numbers).
        let value = &crate::canonical::canonical_value(value);
        let payload = match (command, current) {
            (Command::EnterValue { .. }, None) => Payload::ValueEntered {
                participant: id.to_string(),
                visit: visit.to_string(),
                form: form.to_string(),
                field: field.to_string(),
                value: value.clone(),
            },
            (Command::EnterValue { .. }, Some(current)) => {
                return Err(CommandError::ValueExists {
                    participant: id.to_string(),
                    item,
                    current: current.to_string(),
                })
            }
            (_, None) => {
                return Err(CommandError::NoValue {
                    participant: id.to_string(),
                    item,
                })
            }
            (_, Some(current)) => {
                if current == value {
                    return Err(CommandError::Unchanged {
                        participant: id.to_string(),
                        item,
                    });
                }
                Payload::ValueChanged {
                    participant: id.to_string(),
                    visit: visit.to_string(),
                    form: form.to_string(),
                    field: field.to_string(),
                    old: current.clone(),
                    new: value.clone(),
                }
            }
        };
        Ok((p.site.clone(), payload))
    }

    /// [`Command::RecordSession`].
    pub(super) fn check_session(
        &self,
        cx: &Ctx<'_>,
        id: &str,
        session: &str,
        summary: &Value,
    ) -> Result<(Option<String>, Payload), CommandError> {
        let action = cx.action;
        nonempty(session, "the session identifier")?;
        let p = cx.participant(id)?;
        if p.allocation.is_none() {
            return Err(CommandError::NotRandomised {
                participant: id.to_string(),
                action,
            });
        }
        cx.not_withdrawn(p)?;
        Ok((
            p.site.clone(),
            Payload::SessionRecorded {
                participant: id.to_string(),
                session: session.to_string(),
                summary: summary.clone(),
            },
        ))
    }

    fn check_form_writer(
        &self,
        config: &TrialConfig,
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
                    participant: p.id.to_string(),
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
}
