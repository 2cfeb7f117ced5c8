//! Enrolment: screening, consent, randomisation, withdrawal and emergency
//! unblinding of one participant.

use std::collections::BTreeMap;

use rct_random::{allocate, AllocationRequest, PriorAllocation};

use chrono::NaiveDate;
use serde_json::Value;

use super::{check_participant_id, nonempty, Action, CommandError, Ctx};
use crate::event::{CriterionResult, EventDraft, Payload, Verdict};
use crate::state::{Participant, TrialConfig, TrialState};

/// The verdict and per-criterion results of screening `facts` on `date`
/// with the registered protocol's eligibility rules, and the engine's whole
/// screening (criteria left unknown, facts missing) for edges to explain.
/// A trial registered from a bare design has no eligibility criteria: every
/// screening is eligible (only the record's own tests register that way;
/// every edge registers the protocol).
pub fn evaluate_screening(
    config: &TrialConfig,
    participant: &str,
    date: NaiveDate,
    facts: &BTreeMap<String, Value>,
) -> Result<
    (
        Verdict,
        Vec<CriterionResult>,
        Option<rct_core::eligibility::Screening>,
    ),
    CommandError,
> {
    let Some(protocol) = config.protocol() else {
        return Ok((Verdict::Eligible, Vec::new(), None));
    };
    let input = serde_json::json!({
        "id": participant,
        "screening_date": date.format("%Y-%m-%d").to_string(),
        "facts": facts,
    });
    let bad = |e: rct_core::eligibility::ScreenError| CommandError::Screening {
        participant: participant.to_string(),
        message: e.to_string(),
    };
    let person = rct_core::eligibility::person_from_json(protocol, &input).map_err(bad)?;
    let s = rct_core::eligibility::screen(protocol, &person).map_err(bad)?;
    let (verdict, criteria) = crate::registration::screening_record(&s);
    Ok((verdict, criteria, Some(s)))
}

/// The stratification and minimisation factor levels of `p`, read from its
/// recorded screening facts: each factor's fact is the protocol's
/// `[[strata]] fact` (the factor's own id when not given); `site` is the
/// participant's site (added by the allocation). A missing fact refuses,
/// naming it; a value outside the stratum's levels refuses, naming them.
pub fn strata_of(
    config: &TrialConfig,
    p: &Participant,
) -> Result<BTreeMap<String, String>, CommandError> {
    let design = config.trial_design()?;
    let mut out = BTreeMap::new();
    let factors = design
        .stratify_by
        .iter()
        .chain(design.minimise_on.keys())
        .collect::<std::collections::BTreeSet<_>>();
    for factor in factors {
        let stratum = config
            .protocol()
            .and_then(|pr| pr.strata.iter().find(|s| s.id.get_ref() == factor));
        let fact = stratum.map_or(factor.as_str(), |s| s.fact_id());
        if factor == "site" || fact == "site" {
            continue;
        }
        let value = p
            .screening
            .as_ref()
            .and_then(|s| s.facts.get(fact))
            .and_then(|v| match v {
                Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
                Value::Bool(b) => Some(b.to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .ok_or_else(|| CommandError::StratumFactMissing {
                participant: p.id.clone(),
                factor: factor.clone(),
                fact: fact.to_string(),
            })?;
        if let Some(s) = stratum {
            if !s.levels.is_empty() && !s.levels.iter().any(|l| *l.get_ref() == value) {
                return Err(CommandError::StratumLevel {
                    participant: p.id.clone(),
                    factor: factor.clone(),
                    value,
                    levels: s
                        .levels
                        .iter()
                        .map(|l| l.get_ref().as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        out.insert(factor.clone(), value);
    }
    Ok(out)
}

/// The facts among `facts` that the protocol marks `trial_specific`, in
/// the protocol's order.
pub fn trial_specific_facts(config: &TrialConfig, facts: &BTreeMap<String, Value>) -> Vec<String> {
    config.protocol().map_or_else(Vec::new, |p| {
        p.facts
            .iter()
            .filter(|f| f.trial_specific && facts.contains_key(f.id.get_ref()))
            .map(|f| f.id.get_ref().clone())
            .collect()
    })
}

/// The least an emergency code-break's explanation must hold.
pub const EXPLANATION_MIN_CHARS: usize = 10;

/// The reason categories of an emergency code-break in force for the
/// trial: the protocol's `[unblinding] categories`, else the defaults.
pub fn unblinding_categories(config: &TrialConfig) -> Vec<String> {
    config.protocol().map_or_else(
        || rct_core::protocol::Unblinding::default().categories(),
        |p| p.unblinding.categories(),
    )
}

/// The consent form versions of the trial, oldest first (the protocol's
/// `[consent] versions`, else `["1"]`).
pub fn consent_versions(config: &TrialConfig) -> Vec<String> {
    config
        .protocol()
        .map_or_else(|| vec!["1".to_string()], |p| p.consent.versions())
}

/// Refuses an explanation shorter than [`EXPLANATION_MIN_CHARS`]
/// characters or of fewer than two words (a word holds a letter or digit).
fn meaningful_explanation(participant: &str, text: &str) -> Result<(), CommandError> {
    let text = text.trim();
    let words = text
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count();
    if text.chars().count() < EXPLANATION_MIN_CHARS || words < 2 {
        return Err(CommandError::ExplanationTooShort {
            participant: participant.to_string(),
            given: text.chars().take(40).collect(),
            min_chars: EXPLANATION_MIN_CHARS,
        });
    }
    Ok(())
}

impl TrialState {
    /// [`super::Command::Screen`].
    pub(super) fn check_screen(
        &self,
        cx: &Ctx<'_>,
        id: &str,
        site: &Option<String>,
        date: NaiveDate,
        facts: &BTreeMap<String, Value>,
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
                // Re-screening is explicit: it needs a reason, and the
                // earlier screenings stay in the history. Completing an
                // incomplete screening (a pre-screening from existing
                // records, finished after consent: every earlier fact
                // kept as it was, facts only added) is not a re-screening.
                let completes = p.screening.as_ref().is_some_and(|s| {
                    s.verdict == Verdict::Undetermined
                        && s.facts.iter().all(|(k, v)| facts.get(k) == Some(v))
                });
                if p.screening.is_some() && !completes && cx.reason.is_none() {
                    return Err(CommandError::RescreenReason {
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
        let facts: BTreeMap<String, Value> = facts
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let consented = self
            .participants
            .get(id)
            .is_some_and(|p| p.consented.is_some());
        if !consented {
            let early = trial_specific_facts(cx.config, &facts);
            if !early.is_empty() {
                return Err(CommandError::TrialSpecificBeforeConsent {
                    participant: id.to_string(),
                    facts: early.join(", "),
                });
            }
        }
        let (verdict, criteria, _) = evaluate_screening(cx.config, id, date, &facts)?;
        Ok(vec![cx.draft(
            Some(site),
            Payload::Screened {
                participant: id.to_string(),
                verdict,
                criteria,
                facts,
                date: Some(date),
            },
        )])
    }

    /// [`super::Command::Consent`].
    /// A consent again is taken only on a version other than the one held
    /// (re-consent after an amendment).
    pub(super) fn check_consent(
        &self,
        cx: &Ctx<'_>,
        id: &str,
        version: &Option<String>,
        given_at: Option<chrono::DateTime<chrono::Utc>>,
        obtained_by: &Option<String>,
    ) -> Result<(Option<String>, Payload), CommandError> {
        let p = cx.participant(id)?;
        cx.not_withdrawn(p)?;
        let versions = consent_versions(cx.config);
        let current = versions.last().cloned().unwrap_or_else(|| "1".into());
        let version = version
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map_or(current, str::to_string);
        if !versions.contains(&version) {
            return Err(CommandError::ConsentVersion {
                version,
                expected: versions.join(", "),
            });
        }
        if let (Some(when), Some(held)) = (p.consented, &p.consent_version) {
            if *held == version {
                return Err(CommandError::AlreadyConsented {
                    participant: id.to_string(),
                    at: when,
                });
            }
        }
        if let Some(g) = given_at {
            if g > cx.at {
                return Err(CommandError::ConsentInFuture {
                    participant: id.to_string(),
                    given_at: g,
                    at: cx.at,
                });
            }
        }
        let obtained_by = obtained_by
            .as_deref()
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .unwrap_or(&cx.actor.user)
            .to_string();
        Ok((
            p.site.clone(),
            Payload::Consented {
                participant: id.to_string(),
                version: Some(version),
                given_at: Some(given_at.unwrap_or(cx.at)),
                obtained_by: Some(obtained_by),
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

    /// [`super::Command::DeclineConsent`]: a screened person who has not
    /// consented.
    pub(super) fn check_decline_consent(
        &self,
        cx: &Ctx<'_>,
        id: &str,
    ) -> Result<(Option<String>, Payload), CommandError> {
        let p = cx.participant(id)?;
        cx.not_withdrawn(p)?;
        if let Some(at) = p.consented {
            return Err(CommandError::AlreadyConsented {
                participant: id.to_string(),
                at,
            });
        }
        if let Some(at) = p.declined {
            return Err(CommandError::AlreadyDeclined {
                participant: id.to_string(),
                at,
            });
        }
        Ok((
            p.site.clone(),
            Payload::ConsentDeclined {
                participant: id.to_string(),
            },
        ))
    }

    /// [`super::Command::StopIntervention`]: a randomised participant, not
    /// withdrawn, whose intervention has not stopped already.
    pub(super) fn check_stop_intervention(
        &self,
        cx: &Ctx<'_>,
        id: &str,
    ) -> Result<(Option<String>, Payload), CommandError> {
        let p = cx.participant(id)?;
        cx.not_withdrawn(p)?;
        if p.allocation.is_none() {
            return Err(CommandError::NotRandomised {
                participant: id.to_string(),
                action: cx.action,
            });
        }
        cx.intervention_continues(p)?;
        Ok((
            p.site.clone(),
            Payload::InterventionStopped {
                participant: id.to_string(),
            },
        ))
    }

    /// [`super::Command::EmergencyUnblind`]: a category from the protocol;
    /// the explanation (the reason), when given now, must say something.
    pub(super) fn check_emergency_unblind(
        &self,
        cx: &Ctx<'_>,
        id: &str,
        category: &str,
    ) -> Result<(Option<String>, Payload), CommandError> {
        let (actor, action) = (cx.actor, cx.action);
        let p = cx.participant(id)?;
        if !cx.config.blinded {
            return Err(CommandError::NotBlinded);
        }
        let category = category.trim();
        let categories = unblinding_categories(cx.config);
        if !categories.iter().any(|c| c == category) {
            return Err(CommandError::UnblindingCategory {
                category: category.to_string(),
                expected: categories.join(", "),
            });
        }
        if let Some(reason) = cx.reason {
            meaningful_explanation(id, reason)?;
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
                category: Some(category.to_string()),
            },
        ))
    }

    /// [`super::Command::ExplainUnblinding`]: only the user who broke the
    /// code explains it, once.
    pub(super) fn check_explain_unblinding(
        &self,
        cx: &Ctx<'_>,
        id: &str,
        explanation: &str,
    ) -> Result<(Option<String>, Payload), CommandError> {
        let p = cx.participant(id)?;
        if !self
            .unblindings
            .iter()
            .any(|u| u.user == cx.actor.user && u.participant == id && u.awaits_explanation())
        {
            return Err(CommandError::NothingToExplain {
                participant: id.to_string(),
                user: cx.actor.user.clone(),
            });
        }
        meaningful_explanation(id, explanation)?;
        Ok((
            p.site.clone(),
            Payload::UnblindingExplained {
                participant: id.to_string(),
                explanation: explanation.trim().to_string(),
            },
        ))
    }

    /// The randomised event for `p`: eligibility, consent and history checks,
    /// then `rct_random::allocate` over the state's allocation history.
    pub(super) fn randomise(&self, p: &Participant) -> Result<Payload, CommandError> {
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
        let Some(config) = &self.config else {
            return Err(CommandError::NotRegistered {
                trial: self.trial.clone(),
            });
        };
        let current = consent_versions(config).pop().unwrap_or_else(|| "1".into());
        let held = p.consent_version.clone().unwrap_or_else(|| "1".into());
        if held != current {
            return Err(CommandError::ConsentNotCurrent {
                participant: id.to_string(),
                version: held,
                current,
            });
        }
        let strata = strata_of(config, p)?;
        let allocation = self.allocation_for(p, &strata)?;
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
