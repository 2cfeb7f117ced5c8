//! Enrolment: screening, consent, randomisation, withdrawal and emergency
//! unblinding of one participant.

use std::collections::BTreeMap;

use rct_random::{allocate, AllocationRequest, PriorAllocation};

use super::{check_participant_id, nonempty, Action, CommandError, Ctx};
use crate::event::{CriterionResult, EventDraft, Payload, Verdict};
use crate::state::{Participant, TrialState};

impl TrialState {
    /// [`super::Command::Screen`].
    pub(super) fn check_screen(
        &self,
        cx: &Ctx<'_>,
        id: &str,
        site: &Option<String>,
        verdict: &Verdict,
        criteria: &[CriterionResult],
    ) -> Result<Vec<EventDraft>, CommandError> {
        let actor = cx.actor;
        nonempty(id, "the participant identifier")?;
        if !self.participants.contains_key(id) {
            check_participant_id(id)?;
        }
        let site = match (self.participants.get(id), site, &actor.site) {
            (Some(p), asked, _) => {
                if let (Some(theirs), Some(asked)) = (&p.site, asked) {
                    if theirs != asked {
                        return Err(CommandError::WrongSite {
                            participant: id.to_string(),
                            site: theirs.clone(),
                            other: asked.clone(),
                        });
                    }
                }
                if p.allocation.is_some() {
                    return Err(CommandError::ScreenAfterRandomisation {
                        participant: id.to_string(),
                    });
                }
                cx.not_withdrawn(p)?;
                p.site.clone().or_else(|| asked.clone())
            }
            (None, Some(s), _) | (None, None, Some(s)) => Some(s.clone()),
            (None, None, None) => None,
        };
        let Some(site) = site else {
            return Err(CommandError::NoSite {
                participant: id.to_string(),
            });
        };
        self.known_site(&site)?;
        cx.covers(Some(&site))?;
        Ok(vec![cx.draft(
            Some(site),
            Payload::Screened {
                participant: id.to_string(),
                verdict: *verdict,
                criteria: criteria.to_vec(),
            },
        )])
    }

    /// [`super::Command::Consent`].
    pub(super) fn check_consent(
        &self,
        cx: &Ctx<'_>,
        id: &str,
    ) -> Result<(Option<String>, Payload), CommandError> {
        let p = cx.participant(id)?;
        cx.not_withdrawn(p)?;
        if let Some(when) = p.consented {
            return Err(CommandError::AlreadyConsented {
                participant: id.to_string(),
                at: when,
            });
        }
        Ok((
            p.site.clone(),
            Payload::Consented {
                participant: id.to_string(),
            },
        ))
    }

    /// [`super::Command::Withdraw`].
    pub(super) fn check_withdraw(
        &self,
        cx: &Ctx<'_>,
        id: &str,
    ) -> Result<(Option<String>, Payload), CommandError> {
        let p = cx.participant(id)?;
        cx.not_withdrawn(p)?;
        Ok((
            p.site.clone(),
            Payload::Withdrawn {
                participant: id.to_string(),
            },
        ))
    }

    /// [`super::Command::EmergencyUnblind`].
    pub(super) fn check_emergency_unblind(
        &self,
        cx: &Ctx<'_>,
        id: &str,
    ) -> Result<(Option<String>, Payload), CommandError> {
        let (actor, action) = (cx.actor, cx.action);
        let p = cx.participant(id)?;
        if !cx.config.blinded {
            return Err(CommandError::NotBlinded);
        }
        if p.allocation.is_none() {
            return Err(CommandError::NotRandomised {
                participant: id.to_string(),
                action,
            });
        }
        if self
            .unblinded
            .contains(&(actor.user.clone(), id.to_string()))
        {
            return Err(CommandError::AlreadyUnblinded {
                participant: id.to_string(),
                user: actor.user.clone(),
            });
        }
        Ok((
            p.site.clone(),
            Payload::EmergencyUnblinded {
                participant: id.to_string(),
            },
        ))
    }

    /// The randomised event for `p`: eligibility, consent and history checks,
    /// then `rct_random::allocate` over the state's allocation history.
    pub(super) fn randomise(
        &self,
        p: &Participant,
        strata: &BTreeMap<String, String>,
    ) -> Result<Payload, CommandError> {
        let id = &p.id;
        if let Some(a) = &p.allocation {
            return Err(CommandError::AlreadyRandomised {
                participant: id.to_string(),
                at: a.at,
            });
        }
        if let Some((when, _)) = &p.withdrawn {
            return Err(CommandError::Withdrawn {
                participant: id.to_string(),
                at: *when,
                action: Action::Randomise,
            });
        }
        match &p.screening {
            None => {
                return Err(CommandError::UnknownParticipant {
                    participant: id.to_string(),
                    action: Action::Randomise,
                })
            }
            Some(s) if s.verdict != Verdict::Eligible => {
                return Err(CommandError::NotEligible {
                    participant: id.to_string(),
                    verdict: s.verdict,
                })
            }
            Some(_) => {}
        }
        if p.consented.is_none() {
            return Err(CommandError::NotConsented {
                participant: id.to_string(),
            });
        }
        let allocation = self.allocation_for(p, strata)?;
        Ok(Payload::Randomised {
            participant: id.to_string(),
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
                        participant: p.id.to_string(),
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
                        participant: p.id.to_string(),
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
            participant: p.id.to_string(),
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
