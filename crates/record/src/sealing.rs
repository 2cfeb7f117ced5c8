//! Which parts of each event a trial seals, and sealing drafts onto the
//! chain (the rule; the mechanics are in [`crate::seal`]).
//!
//! - `trial_registered`: `seed`, `seal_key` and `design` always (an open
//!   trial's allocation sequence is still concealed until assignment), and
//!   `arms` when the trial is blinded; `public_design` stays readable.
//! - In a blinded trial: `randomised` seals `arm` and `position`; a value of
//!   an arm-specific form, a session, and a query about an arm-specific value
//!   (raised, answered, closed) are sealed whole, and so is a kit deviation
//!   (a kit other than the assigned one, dispensed and confirmed), and an
//!   intervention stopped early when only one arm has an intervention to
//!   stop (no kits: [`crate::TrialConfig::stopping_reveals_arm`]).
//! - `user_created` and `password_changed` seal `password_hash` in every
//!   trial (no reader ever receives it).
//! - Everything else is open.
//!
//! [`TrialState::apply`] refuses an event sealed otherwise, so no store can
//! hold a blinded trial's arm in a hashed body.

use crate::event::{Event, EventDraft, Payload};
use crate::seal::SealSpec;
use crate::state::{ApplyError, TrialState};

impl TrialState {
    /// What this trial seals of an event with `payload`.
    pub fn sealing(&self, payload: &Payload) -> SealSpec {
        if let Payload::TrialRegistered { blinded, .. } = payload {
            let mut fields = vec!["design", "seal_key", "seed"];
            if *blinded {
                fields.insert(0, "arms");
            }
            return SealSpec::Fields(fields);
        }
        if let Payload::UserCreated { .. } | Payload::PasswordChanged { .. } = payload {
            return SealSpec::Fields(vec!["password_hash"]);
        }
        let Some(config) = &self.config else {
            return SealSpec::Open;
        };
        if !config.blinded {
            return SealSpec::Open;
        }
        let arm_item = |item: Option<&str>| {
            item.and_then(|i| i.split('/').nth(1))
                .is_some_and(|form| config.form_arm(form).is_some())
        };
        match payload {
            Payload::Randomised { .. } => SealSpec::Fields(vec!["arm", "position"]),
            Payload::ValueEntered { form, .. } | Payload::ValueChanged { form, .. }
                if config.form_arm(form).is_some() =>
            {
                SealSpec::Whole
            }
            Payload::SessionRecorded { .. } | Payload::KitDeviation { .. } => SealSpec::Whole,
            Payload::InterventionStopped { .. } if config.stopping_reveals_arm() => SealSpec::Whole,
            // Never written for an arm-specific form in a blinded trial
            // (the record refuses it); sealed whole all the same.
            Payload::FormVerified { form, .. } if config.form_arm(form).is_some() => {
                SealSpec::Whole
            }
            Payload::QueryRaised { item, .. } if arm_item(item.as_deref()) => SealSpec::Whole,
            Payload::QueryAnswered { query, .. } | Payload::QueryClosed { query }
                if self
                    .queries
                    .get(query)
                    .is_some_and(|q| arm_item(q.item.as_deref())) =>
            {
                SealSpec::Whole
            }
            _ => SealSpec::Open,
        }
    }

    /// Seals `draft` as the next event of this trial, concealing what
    /// [`TrialState::sealing`] requires.
    pub fn seal(&self, draft: EventDraft) -> Event {
        let spec = self.sealing(&draft.payload);
        let key = match &draft.payload {
            Payload::TrialRegistered { seal_key, .. } => seal_key
                .as_deref()
                .and_then(crate::seal::parse_key)
                .unwrap_or([0; 32]),
            _ => self.config.as_ref().map_or([0; 32], |c| c.seal_key),
        };
        draft.seal_with(self.seq + 1, &self.head, &spec, &key)
    }

    /// Refuses an event that does not seal what this trial seals.
    pub(crate) fn check_sealing(&self, e: &Event) -> Result<(), ApplyError> {
        let sealed: Vec<&str> = e.openings.keys().map(String::as_str).collect();
        let ok = match self.sealing(&e.payload) {
            SealSpec::Open => sealed.is_empty(),
            SealSpec::Whole => sealed == [crate::seal::WHOLE],
            SealSpec::Fields(mut fields) => {
                fields.sort_unstable();
                // A field the payload leaves out (an absent option) has
                // nothing to seal.
                sealed.iter().all(|f| fields.contains(f))
                    && fields.len() >= sealed.len()
                    && !sealed.contains(&crate::seal::WHOLE)
                    && fields
                        .iter()
                        .all(|f| sealed.contains(f) || payload_field_absent(&e.payload, f))
            }
        };
        if ok {
            Ok(())
        } else {
            Err(ApplyError::Invalid {
                seq: e.seq,
                message: format!(
                    "a `{}` event of this trial must seal {:?}, this one seals {:?}",
                    e.payload.kind(),
                    self.sealing(&e.payload),
                    sealed
                ),
            })
        }
    }
}

fn payload_field_absent(payload: &Payload, field: &str) -> bool {
    serde_json::to_value(payload)
        .ok()
        .is_some_and(|v| v.get(field).is_none())
}

/// Seals `drafts` in order as the events of a new trial `trial`, each as
/// the record seals it (what the trial's blinding conceals is sealed) and
/// folded before the next (for importers, generators and tests that build a
/// record outside a store). Stops at the first event that does not fold.
pub fn seal_drafts(
    trial: &str,
    drafts: impl IntoIterator<Item = EventDraft>,
) -> Result<Vec<Event>, ApplyError> {
    let mut state = TrialState::new(trial);
    let mut events = Vec::new();
    for d in drafts {
        let e = state.seal(d);
        state.apply(&e)?;
        events.push(e);
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventError, Role};
    use crate::seal::Opening;
    use crate::TrialSecrets;
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

    fn registered() -> Vec<Event> {
        let secrets = TrialSecrets::insecure_for_tests(5);
        seal_drafts(
            "t",
            [
                draft(Payload::TrialRegistered {
                    title: "T".into(),
                    blinded: true,
                    arms: vec![],
                    design: json!("pbr:2"),
                    seed: secrets.seed,
                    seal_key: Some(secrets.seal_key_hex()),
                    public_design: None,
                }),
                draft(Payload::Randomised {
                    participant: "P1".into(),
                    arm: "hiit".into(),
                    kit: None,
                    position: 1,
                    stratum: "all".into(),
                    factors: Default::default(),
                }),
            ],
        )
        .unwrap()
    }

    #[test]
    fn stored_events_open_only_with_matching_openings() {
        let events = registered();
        let e = &events[1];
        let body = e.canonical_body();
        assert!(!body.contains("hiit"), "{body}");
        let openings = e.openings_text().unwrap();
        let back = Event::from_stored(&body, &e.hash, Some(&openings)).unwrap();
        assert_eq!(&back, e);
        // A blinded copy has no openings: it cannot be folded.
        assert!(matches!(
            Event::from_body(&body, &e.hash),
            Err(EventError::MissingOpening { .. })
        ));
        // An edited opening no longer matches its commitment.
        let mut forged = e.openings.clone();
        forged.insert(
            "arm".into(),
            Opening {
                nonce: forged["arm"].nonce.clone(),
                value: json!("control"),
            },
        );
        let text = crate::seal::openings_text(&forged);
        assert!(matches!(
            Event::from_stored(&body, &e.hash, Some(&text)),
            Err(EventError::BadOpening { field }) if field == "arm"
        ));
    }

    #[test]
    fn guessing_an_arm_against_the_hash_finds_nothing() {
        // The attack of issue 15: try every arm and position against the
        // published hash. With commitments, no guess reproduces it.
        let events = registered();
        let e = &events[1];
        let mut found = 0;
        for arm in ["hiit", "control"] {
            for position in 1..=50u64 {
                let mut guess = e.public_body();
                guess["payload"]["arm"] = json!(arm);
                guess["payload"]["position"] = json!(position);
                if let Some(p) = guess["payload"].as_object_mut() {
                    p.shift_remove("sealed");
                }
                let text = crate::canonical::to_canonical(&guess);
                if crate::sha256_hex(text.as_bytes()) == e.hash {
                    found += 1;
                }
            }
        }
        assert_eq!(found, 0);
        // Nor does any guess reproduce the arm's commitment without the nonce.
        let c = e.public_body()["payload"]["sealed"]["arm"].clone();
        for arm in ["hiit", "control"] {
            let guess = crate::sha256_hex(crate::canonical::to_canonical(&json!(arm)).as_bytes());
            assert_ne!(json!(guess), c);
        }
    }
}
