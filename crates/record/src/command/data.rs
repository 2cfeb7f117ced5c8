//! Data: entering and changing values (with the form's rule of who writes
//! it) and recording intervention sessions.

use serde_json::Value;

use super::{nonempty, Command, CommandError, Ctx};
use crate::event::Role::{Investigator, ResearchNurse};
use crate::event::{Payload, Role};
use crate::state::{item_key, Participant, TrialConfig, TrialState};

/// Checks a value against the registered protocol: the visit is in the
/// schedule and collects the form, the form has the field, and the value
/// fits the field (type, code list, hard range, required). Returns the
/// value as it is stored (in the field's type and unit) and the soft-range
/// warnings, in words, for every edge to show. A trial registered from a
/// bare design (the record's own tests) has no protocol: values pass as
/// given.
pub fn check_data(
    config: &TrialConfig,
    visit: &str,
    form: &str,
    field: &str,
    value: &Value,
) -> Result<(Value, Vec<String>), CommandError> {
    let Some(protocol) = config.protocol() else {
        return Ok((value.clone(), Vec::new()));
    };
    let check = rct_core::forms::validate_field(protocol, form, field, value).map_err(|e| {
        CommandError::Value {
            message: e.to_string(),
        }
    })?;
    let stored = match check.value {
        Some(v) => v.to_json(),
        None => {
            let required = protocol
                .form(form)
                .and_then(|f| f.fields.iter().find(|x| x.id.get_ref() == field))
                .is_some_and(|x| x.required);
            if required {
                return Err(CommandError::Value {
                    message: format!("{form}.{field}: a value is required"),
                });
            }
            Value::Null
        }
    };
    check_schedule(protocol, visit, form)?;
    Ok((
        stored,
        check.warnings.iter().map(|w| w.to_string()).collect(),
    ))
}

/// The visit is in the schedule and collects the form (forms at no visit,
/// the arm-specific forms entered at the pseudo-visit `intervention`, are
/// not on the schedule).
pub(super) fn check_schedule(
    protocol: &rct_core::protocol::Protocol,
    visit: &str,
    form: &str,
) -> Result<(), CommandError> {
    // Forms at no visit (arm-specific forms, entered at the pseudo-visit
    // `intervention`) are not on the schedule.
    let scheduled = protocol
        .visits
        .iter()
        .any(|v| v.forms.iter().any(|f| f.get_ref() == form));
    if scheduled {
        let Some(v) = protocol.visits.iter().find(|v| v.id.get_ref() == visit) else {
            return Err(CommandError::UnknownVisit {
                visit: visit.to_string(),
                expected: protocol
                    .visits
                    .iter()
                    .map(|v| v.id.get_ref().as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        if !v.forms.iter().any(|f| f.get_ref() == form) {
            let at: Vec<&str> = protocol
                .visits
                .iter()
                .filter(|v| v.forms.iter().any(|f| f.get_ref() == form))
                .map(|v| v.id.get_ref().as_str())
                .collect();
            return Err(CommandError::NotScheduled {
                form: form.to_string(),
                visit: visit.to_string(),
                forms: v
                    .forms
                    .iter()
                    .map(|f| f.get_ref().as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                at: at.join(", "),
            });
        }
    }
    Ok(())
}

/// After a withdrawal of consent no new data are collected: a first value
/// at a visit whose window opens after the withdrawal date is refused.
/// Values of visits that could have been done before it (data entered
/// late) are taken, and recorded values can still be corrected.
fn collected_before_withdrawal(
    cx: &Ctx<'_>,
    config: &TrialConfig,
    p: &Participant,
    visit: &str,
) -> Result<(), CommandError> {
    let (Some((withdrawn, _)), Some(a)) = (&p.withdrawn, &p.allocation) else {
        return Ok(());
    };
    let opens = config
        .protocol()
        .and_then(|pr| pr.visits.iter().find(|v| v.id.get_ref() == visit))
        .map(|v| v.window.get_ref()[0]);
    let after = opens.is_some_and(|d| {
        a.at.date_naive() + chrono::Duration::days(i64::from(d)) > withdrawn.date_naive()
    });
    if after {
        return Err(CommandError::Withdrawn {
            participant: p.id.clone(),
            at: *withdrawn,
            action: cx.action,
        });
    }
    Ok(())
}

/// A `kit` field records the kit dispensed: a kit other than the one the
/// record assigned is refused unless the edge confirms it was given (then
/// it is recorded as given, and flagged as a deviation only unblinded roles
/// see).
fn check_kit(
    p: &Participant,
    field: &str,
    value: &Value,
    confirmed: bool,
) -> Result<(), CommandError> {
    if field != "kit" {
        return Ok(());
    }
    let (Some(kit), Some(given)) = (
        p.allocation.as_ref().and_then(|a| a.kit.as_deref()),
        value.as_str(),
    ) else {
        return Ok(());
    };
    if given.trim() != kit && !confirmed {
        return Err(CommandError::OtherKit {
            participant: p.id.clone(),
            given: given.to_string(),
            kit: kit.to_string(),
        });
    }
    Ok(())
}

/// The kit deviation an accepted kit value raises, if it is not the kit
/// assigned.
pub(super) fn kit_deviation(p: &Participant, field: &str, value: &Value) -> Option<Payload> {
    let kit = p.allocation.as_ref()?.kit.as_deref()?;
    let given = value.as_str()?.trim();
    (field == "kit" && given != kit).then(|| Payload::KitDeviation {
        participant: p.id.clone(),
        assigned: kit.to_string(),
        given: given.to_string(),
    })
}

impl TrialState {
    /// The record's soft-range warnings for the values `commands` enter or
    /// change (accepted values outside their expected range), in words, for
    /// every edge to show after the commands are accepted.
    pub fn warnings(&self, commands: &[Command]) -> Vec<String> {
        let Some(config) = &self.config else {
            return Vec::new();
        };
        commands
            .iter()
            .filter_map(|c| match c {
                Command::EnterValue {
                    visit,
                    form,
                    field,
                    value,
                    ..
                }
                | Command::ChangeValue {
                    visit,
                    form,
                    field,
                    value,
                    ..
                }
                | Command::DispenseOtherKit {
                    visit,
                    form,
                    field,
                    value,
                    ..
                } => check_data(config, visit, form, field, value).ok(),
                _ => None,
            })
            .flat_map(|(_, w)| w)
            .collect()
    }

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
        let (checked, _) = check_data(config, visit, form, field, value)?;
        if matches!(command, Command::EnterValue { .. }) && current.is_none() {
            collected_before_withdrawal(cx, config, p, visit)?;
        }
        check_kit(p, field, &checked, cx.confirmed_kit)?;
        // No kit is dispensed once the intervention has stopped (a
        // correction of one dispensed before stays possible).
        if field == "kit" && current.is_none() && !checked.is_null() {
            cx.intervention_continues(p)?;
        }
        // As the chain will store it (one form for equal numbers).
        let value = &crate::canonical::canonical_value(&checked);
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
        cx.intervention_continues(p)?;
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
