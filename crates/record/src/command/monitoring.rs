//! Monitoring: source data verification of a form (monitor) and the
//! investigator's signature of a participant's casebook.

use super::{nonempty, CommandError, Ctx};
use crate::event::Payload;
use crate::state::TrialState;

impl TrialState {
    /// [`super::Command::VerifyForm`]: a form of the participant with at
    /// least one value, not arm-specific in a blinded trial (refused
    /// whatever it holds, so the answer tells a blinded monitor nothing),
    /// not already verified as it stands.
    pub(super) fn check_verify_form(
        &self,
        cx: &Ctx<'_>,
        participant: &str,
        visit: &str,
        form: &str,
    ) -> Result<(Option<String>, Payload), CommandError> {
        nonempty(visit, "the visit")?;
        nonempty(form, "the form")?;
        let p = cx.participant(participant)?;
        let key = format!("{visit}/{form}");
        if cx.config.blinded && cx.config.form_arm(form).is_some() {
            return Err(CommandError::ArmFormQuery { item: key.clone() });
        }
        let prefix = format!("{key}/");
        if !p.values.keys().any(|k| k.starts_with(&prefix)) {
            return Err(CommandError::NothingToVerify {
                participant: participant.to_string(),
                form: key,
            });
        }
        if p.verification_current(&key) {
            return Err(CommandError::AlreadyVerified {
                participant: participant.to_string(),
                form: key,
            });
        }
        Ok((
            p.site.clone(),
            Payload::FormVerified {
                participant: participant.to_string(),
                visit: visit.to_string(),
                form: form.to_string(),
            },
        ))
    }

    /// [`super::Command::SignCasebook`]: the printed name is the account's
    /// display name (the user name when it has none); the meaning must say
    /// something; a signature still current is not repeated.
    pub(super) fn check_sign_casebook(
        &self,
        cx: &Ctx<'_>,
        participant: &str,
        meaning: &str,
    ) -> Result<(Option<String>, Payload), CommandError> {
        let meaning = meaning.trim();
        nonempty(meaning, "the meaning of the signature")?;
        let p = cx.participant(participant)?;
        let user = &cx.actor.user;
        if p.signatures
            .iter()
            .rev()
            .find(|s| &s.user == user)
            .is_some_and(|s| !p.signature_stale(s))
        {
            return Err(CommandError::AlreadySigned {
                participant: participant.to_string(),
                user: user.clone(),
            });
        }
        let name = self
            .users
            .get(user)
            .map(|u| u.display_name.trim())
            .filter(|n| !n.is_empty())
            .unwrap_or(user)
            .to_string();
        Ok((
            p.site.clone(),
            Payload::CasebookSigned {
                participant: participant.to_string(),
                name,
                meaning: meaning.to_string(),
            },
        ))
    }
}
