//! Role-based views: what one user may see of a trial. Pages, API answers and
//! the audit log are built from these views only.
//!
//! # What a user sees
//! A user's view is the union of their grants (roles and sites):
//! - **sites**: only participants (and their queries and events) of sites a
//!   grant covers;
//! - **arms** of a participant are visible when the trial is not blinded, or
//!   the user holds an unblinded role (intervention staff, pharmacist) at the
//!   participant's site, or holds the statistician role and the trial has
//!   been unblinded (the lock alone unblinds nobody: a final analysis plan
//!   and two authorisations by two people in two roles, see
//!   [`crate::governance`]), or the user broke the code for that participant
//!   in an emergency or for an expedited safety report (that participant,
//!   that user only: the arm, its name and so the kit's arm, never the list
//!   position). The sponsor, the data monitoring committee and
//!   pharmacovigilance are blinded here; the committee's safety tables by
//!   arm are [`TrialState::safety_view`], outside this view. Otherwise the participant shows
//!   `randomised: true`, the date, the stratum and the kit code (kit codes are
//!   blind; their mapping to arms is not shown), and no arm, arm name, list
//!   position, session or value of an arm-specific form, nor queries about
//!   such values;
//! - the **arm list** of a blinded trial only to users who see arms by role;
//! - the **design text, ratio, list length and seed** (which would let anyone
//!   predict allocations) to nobody while the database is open; after the
//!   lock, to users who see arms by role. Stratification and minimisation
//!   factors, kits on/off and the visible form rules are shown to all;
//! - **accounts** (never password hashes) to administrators; account, role
//!   and login events to administrators, monitors and data managers, and a
//!   user's own to that user;
//! - emergency code-breaks (who, when, why; no arm) to administrators,
//!   monitors and data managers;
//! - every grant of an unblinded role (who, which role, by whom, when,
//!   revoked or not) to administrators and monitors.
//!
//! # Audit-trail entries ([`TrialState::view_event`])
//! An entry is the event as JSON with fields the viewer may not read removed
//! (and listed under `redacted`), or nothing when the whole event is hidden.
//! Because an event's SHA-256 commits to its content, and a blinded reader
//! could test guesses (two arms, a few positions) against it, `hash` is
//! removed from every entry whose content was redacted, and `prev_hash` from
//! the entry that follows one. A `randomised` entry read through the
//! reader's own emergency unblinding shows the arm but not the position (it
//! is listed under `redacted`, and the hashes go as for any redaction). Hidden events leave gaps in the sequence
//! numbers the reader sees; the chain itself is checked by `rct audit verify`,
//! which reports only intact or the first broken sequence number.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::event::{Arm, Event, FormRule, Payload, Role, Sites};
use crate::state::{
    Participant, QueryStatus, Screening, Session, TrialState, UnblindedGrant, Unblinding,
};

/// One of the viewer's grants.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleGrant {
    /// Role.
    pub role: Role,
    /// Sites covered.
    pub sites: Sites,
}

/// A site.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SiteView {
    /// Identifier.
    pub site: String,
    /// Name (the identifier when the site was never added by name).
    pub name: String,
}

/// What the viewer may know of the randomisation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RandomisationView {
    /// Factors that define strata (the randomise form asks for them).
    pub stratify_by: Vec<String>,
    /// Minimisation factors.
    pub minimise_on: Vec<String>,
    /// Whether randomisation dispenses kit codes.
    pub kits: bool,
    /// Design text (after the lock, to users who see arms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub design: Option<String>,
    /// Seed (after the lock, to users who see arms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<rct_random::TrialSeed>,
}

/// A participant's arm, for viewers allowed to see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmView {
    /// Arm identifier.
    pub arm: String,
    /// Arm name.
    pub arm_name: String,
    /// 1-based position in the stratum's list, for viewers who see the arm
    /// by role; absent when the arm is known only through the viewer's own
    /// emergency unblinding (the position, with the block size, would narrow
    /// the arms of the others in the same block).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<u64>,
}

/// A withdrawal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WithdrawalView {
    /// When.
    pub at: DateTime<Utc>,
    /// Why.
    pub reason: Option<String>,
}

/// One participant as the viewer may see them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParticipantView {
    /// Identifier.
    pub id: String,
    /// Site.
    pub site: Option<String>,
    /// Latest screening.
    pub screening: Option<Screening>,
    /// Earlier screenings, oldest first (each re-screening's reason is on
    /// its event).
    pub earlier_screenings: Vec<Screening>,
    /// When consent was recorded.
    pub consented: Option<DateTime<Utc>>,
    /// When the person declined to consent.
    pub declined: Option<DateTime<Utc>>,
    /// Whether randomised.
    pub randomised: bool,
    /// When randomised.
    pub randomised_at: Option<DateTime<Utc>>,
    /// Stratum key.
    pub stratum: Option<String>,
    /// Kit code (blind).
    pub kit: Option<String>,
    /// The arm, when the viewer may see it.
    pub allocation: Option<ArmView>,
    /// Whether the viewer sees the arm only through their emergency unblinding.
    pub unblinded_by_emergency: bool,
    /// Withdrawal of consent.
    pub withdrawn: Option<WithdrawalView>,
    /// The intervention stopped early (follow-up continues), when the
    /// viewer may know it (it reveals the arm when only one arm has an
    /// intervention).
    pub intervention_stopped: Option<WithdrawalView>,
    /// Values keyed `visit/form/field` (arm-specific forms only when the arm is visible).
    pub values: BTreeMap<String, Value>,
    /// Sessions, when the arm is visible (`None`: hidden).
    pub sessions: Option<Vec<Session>>,
    /// Source data verification by form (`visit/form`) the reader may see.
    pub verified: BTreeMap<String, VerificationView>,
    /// Casebook signatures, oldest first.
    pub signatures: Vec<SignatureView>,
}

/// A form's source data verification as a reader sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerificationView {
    /// Monitor.
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// No value of the form entered or changed since.
    pub current: bool,
}

/// A casebook signature as a reader sees it (21 CFR 11.50).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureView {
    /// Account of the signer.
    pub user: String,
    /// Printed name.
    pub name: String,
    /// Meaning.
    pub meaning: String,
    /// Date and time.
    pub at: DateTime<Utc>,
    /// A value the signature covers changed after it.
    pub needs_renewal: bool,
}

/// A query as the viewer may see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryView {
    /// Identifier.
    pub id: String,
    /// Participant.
    pub participant: String,
    /// Site of the participant.
    pub site: Option<String>,
    /// Item.
    pub item: Option<String>,
    /// Question.
    pub text: String,
    /// Raised by.
    pub raised_by: String,
    /// When.
    pub raised_at: DateTime<Utc>,
    /// Answers.
    pub answers: Vec<String>,
    /// Status.
    pub status: QueryStatus,
    /// The roles it goes to: those who enter the item's form
    /// (`TrialConfig::answered_by`).
    pub to: Vec<Role>,
}

/// Counts along the CONSORT flow.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Flow {
    /// Screened.
    pub screened: u64,
    /// Latest verdict eligible.
    pub eligible: u64,
    /// Latest verdict ineligible.
    pub ineligible: u64,
    /// Latest verdict undetermined.
    pub undetermined: u64,
    /// Consented.
    pub consented: u64,
    /// Randomised.
    pub randomised: u64,
    /// Withdrawn.
    pub withdrawn: u64,
    /// CONSORT exclusions among those screened and not randomised: the
    /// latest verdict ineligible.
    pub excluded_ineligible: u64,
    /// Excluded: declined to consent (and has not consented since).
    pub excluded_declined: u64,
    /// Excluded for another reason: withdrew before randomisation.
    pub excluded_other: u64,
    /// Neither randomised nor excluded yet (screening or consent pending).
    pub in_screening: u64,
}

/// Adds one to `counts[key]` (allocating the key only the first time).
fn bump(counts: &mut BTreeMap<String, u64>, key: &str) {
    match counts.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            counts.insert(key.to_string(), 1);
        }
    }
}

impl Flow {
    fn count(&mut self, p: &Participant) {
        if let Some(s) = &p.screening {
            self.screened += 1;
            match s.verdict {
                crate::Verdict::Eligible => self.eligible += 1,
                crate::Verdict::Ineligible => self.ineligible += 1,
                crate::Verdict::Undetermined => self.undetermined += 1,
            }
        }
        self.consented += u64::from(p.consented.is_some());
        self.randomised += u64::from(p.allocation.is_some());
        self.withdrawn += u64::from(p.withdrawn.is_some());
        if p.allocation.is_some() || p.screening.is_none() {
            return;
        }
        let verdict = p.screening.as_ref().map(|s| s.verdict);
        if verdict == Some(crate::Verdict::Ineligible) {
            self.excluded_ineligible += 1;
        } else if p.declined.is_some() && p.consented.is_none() {
            self.excluded_declined += 1;
        } else if p.withdrawn.is_some() {
            self.excluded_other += 1;
        } else {
            self.in_screening += 1;
        }
    }
}

/// A user account as administrators see it (no password hash).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserView {
    /// User name.
    pub user: String,
    /// Display name.
    pub display_name: String,
    /// Locked.
    pub locked: bool,
    /// Failed logins since the last success.
    pub failed_logins: u32,
    /// Last login.
    pub last_login: Option<DateTime<Utc>>,
    /// Roles granted.
    pub roles: Vec<RoleGrant>,
}

/// The trial as one user may see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialView {
    /// Trial identifier.
    pub trial: String,
    /// Title (empty before registration).
    pub title: String,
    /// Whether the trial is blinded.
    pub blinded: bool,
    /// The viewer.
    pub viewer: String,
    /// The viewer's grants.
    pub roles: Vec<RoleGrant>,
    /// Whether the database is locked.
    pub locked: bool,
    /// Number of events in the record.
    pub events: u64,
    /// Arms, when the viewer sees arms by role (`None`: blinded).
    pub arms: Option<Vec<Arm>>,
    /// Randomisation as far as the viewer may know it.
    pub randomisation: RandomisationView,
    /// Form rules the viewer may know of (arm-specific forms only when arms are visible).
    pub forms: Vec<FormRule>,
    /// Sites the viewer covers.
    pub sites: Vec<SiteView>,
    /// Participants of those sites.
    pub participants: Vec<ParticipantView>,
    /// Queries about visible participants and items.
    pub queries: Vec<QueryView>,
    /// CONSORT flow over visible participants.
    pub flow: Flow,
    /// The flow per site.
    pub by_site: BTreeMap<String, Flow>,
    /// Randomised per stratum.
    pub by_stratum: BTreeMap<String, u64>,
    /// Randomised per arm, when arms are visible.
    pub by_arm: Option<BTreeMap<String, u64>>,
    /// Emergency code-breaks (administrators, monitors, data managers):
    /// who, when, the category and the explanation (or that it is awaited
    /// and since when); never the arm.
    pub unblindings: Option<Vec<Unblinding>>,
    /// The viewer's own code-breaks whose written explanation is still
    /// awaited (the reminder shown until it is given).
    pub my_unexplained_unblindings: Vec<Unblinding>,
    /// The reason categories an emergency code-break may name (the
    /// protocol's `[unblinding] categories`, else the defaults).
    pub unblinding_categories: Vec<String>,
    /// Accounts (administrators).
    pub users: Option<Vec<UserView>>,
    /// Every grant of an unblinded role, who granted it and when
    /// (administrators and monitors).
    pub unblinded_grants: Option<Vec<UnblindedGrant>>,
}

fn grants_of(state: &TrialState, user: &str) -> Vec<RoleGrant> {
    state
        .grants
        .get(user)
        .map(|g| {
            g.iter()
                .map(|(role, sites)| RoleGrant {
                    role: *role,
                    sites: sites.clone(),
                })
                .collect()
        })
        .unwrap_or_default()
}

impl TrialState {
    fn roles_of(&self, user: &str) -> impl Iterator<Item = (Role, &Sites)> {
        self.grants
            .get(user)
            .into_iter()
            .flat_map(|g| g.iter().map(|(r, s)| (*r, s)))
    }

    fn holds_any(&self, user: &str, roles: &[Role]) -> bool {
        self.roles_of(user).any(|(r, _)| roles.contains(&r))
    }

    /// Whether a role sees arms of a blinded trial (unblinded roles; the
    /// statistician once the trial is unblinded).
    fn role_sees_arms(&self, role: Role) -> bool {
        if role == Role::Statistician && self.trial_unblinded() {
            return true;
        }
        self.config
            .as_ref()
            .and_then(|c| c.protocol_sees_arms(role))
            .unwrap_or_else(|| role.is_unblinded())
    }

    /// Whether any grant of `user` covers `site` (a participant without a
    /// site only for grants of every site).
    pub fn sees_site(&self, user: &str, site: Option<&str>) -> bool {
        self.roles_of(user).any(|(_, sites)| match site {
            Some(s) => sites.covers(s),
            None => *sites == Sites::All,
        })
    }

    /// Whether `user` sees arms by role: the trial is not blinded, or a role
    /// of theirs is unblinded (see the module documentation).
    pub fn sees_arms(&self, user: &str) -> bool {
        let blinded = self.config.as_ref().is_none_or(|c| c.blinded);
        if !blinded {
            return self.grants.get(user).is_some_and(|g| !g.is_empty());
        }
        self.roles_of(user).any(|(r, _)| self.role_sees_arms(r))
    }

    /// Whether `user` may see the arm of `participant`: by role, or through
    /// their own emergency unblinding of that participant.
    pub fn sees_arm_of(&self, user: &str, participant: &Participant) -> bool {
        self.sees_site(user, participant.site.as_deref())
            && (self.sees_arm_by_role(user, participant)
                || self
                    .unblinded
                    .contains(&(user.to_string(), participant.id.clone())))
    }

    fn sees_arm_by_role(&self, user: &str, participant: &Participant) -> bool {
        let site = participant.site.as_deref();
        if !self.sees_site(user, site) {
            return false;
        }
        if !self.config.as_ref().is_none_or(|c| c.blinded) {
            return true;
        }
        self.roles_of(user).any(|(r, sites)| {
            self.role_sees_arms(r)
                && match site {
                    Some(s) => sites.covers(s),
                    None => *sites == Sites::All,
                }
        })
    }

    /// Whether `user` may see the design text and seed (after the lock, to
    /// users who see arms by role).
    pub fn sees_design(&self, user: &str) -> bool {
        self.locked && self.sees_arms(user)
    }

    fn is_overseer(&self, user: &str) -> bool {
        self.holds_any(user, &[Role::Admin, Role::Monitor, Role::DataManager])
    }

    /// Whether a form is arm-specific.
    fn arm_form(&self, form: &str) -> bool {
        self.config
            .as_ref()
            .is_some_and(|c| c.form_arm(form).is_some())
    }

    fn arm_item(&self, item: &str) -> bool {
        item.split('/')
            .nth(1)
            .is_some_and(|form| self.arm_form(form))
    }

    /// The trial as `user` may see it.
    pub fn view(&self, user: &str) -> TrialView {
        self.view_scoped(user, None)
    }

    /// The trial as `user` may see it, with the participant list narrowed
    /// to `only` when given. A narrowed view carries no counts (`flow`,
    /// `by_site`, `by_stratum` and `by_arm` are empty); everything else is
    /// as in [`TrialState::view`]. A page about one participant needs only
    /// that participant, and visiting every participant is what makes a
    /// whole view cost O(size of the record): a narrowed one costs
    /// O(log n) in the participants.
    pub fn view_scoped(&self, user: &str, only: Option<&str>) -> TrialView {
        let config = self.config.as_ref();
        let design = config.and_then(|c| c.trial_design().ok());
        let sees_arms = self.sees_arms(user);
        let sees_design = self.sees_design(user);
        let arm_name = |id: &str| {
            config
                .and_then(|c| c.arm(id))
                .map(|a| a.name.clone())
                .unwrap_or_else(|| id.to_string())
        };
        let config_reveals = self
            .config
            .as_ref()
            .is_some_and(|c| c.stopping_reveals_arm());
        let mut participants = Vec::new();
        let mut flow = Flow::default();
        let mut by_site: BTreeMap<String, Flow> = BTreeMap::new();
        let mut by_stratum: BTreeMap<String, u64> = BTreeMap::new();
        let mut by_arm: BTreeMap<String, u64> = BTreeMap::new();
        let visited: Box<dyn Iterator<Item = &Arc<Participant>>> = match only {
            Some(id) => Box::new(self.participants.get(id).into_iter()),
            None => Box::new(self.participants.values()),
        };
        for p in visited {
            if !self.sees_site(user, p.site.as_deref()) {
                continue;
            }
            let arm_visible = self.sees_arm_of(user, p);
            let by_role = self.sees_arm_by_role(user, p);
            if only.is_none() {
                flow.count(p);
                let site = p.site.as_deref().unwrap_or_default();
                match by_site.get_mut(site) {
                    Some(f) => f.count(p),
                    None => by_site.entry(site.to_string()).or_default().count(p),
                }
                if let Some(a) = &p.allocation {
                    bump(&mut by_stratum, &a.stratum);
                    if sees_arms && arm_visible {
                        bump(&mut by_arm, &a.arm);
                    }
                }
            }
            let values = p
                .values
                .iter()
                .filter(|(k, _)| arm_visible || !self.arm_item(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            participants.push(ParticipantView {
                id: p.id.clone(),
                site: p.site.clone(),
                screening: p.screening.clone(),
                earlier_screenings: p.earlier_screenings.clone(),
                consented: p.consented,
                declined: p.declined,
                randomised: p.allocation.is_some(),
                randomised_at: p.allocation.as_ref().map(|a| a.at),
                stratum: p.allocation.as_ref().map(|a| a.stratum.clone()),
                kit: p.allocation.as_ref().and_then(|a| a.kit.clone()),
                allocation: p
                    .allocation
                    .as_ref()
                    .filter(|_| arm_visible)
                    .map(|a| ArmView {
                        arm: a.arm.clone(),
                        arm_name: arm_name(&a.arm),
                        position: by_role.then_some(a.position),
                    }),
                unblinded_by_emergency: p.allocation.is_some() && arm_visible && !by_role,
                withdrawn: p.withdrawn.as_ref().map(|(at, reason)| WithdrawalView {
                    at: *at,
                    reason: reason.clone(),
                }),
                intervention_stopped: p
                    .intervention_stopped
                    .as_ref()
                    .filter(|_| arm_visible || !config_reveals)
                    .map(|(at, reason)| WithdrawalView {
                        at: *at,
                        reason: reason.clone(),
                    }),
                values,
                sessions: arm_visible.then(|| p.sessions.clone()),
                verified: p
                    .verified
                    .iter()
                    .filter(|(k, _)| arm_visible || !self.arm_item(&format!("{k}/")))
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            VerificationView {
                                by: v.by.clone(),
                                at: v.at,
                                current: p.verification_current(k),
                            },
                        )
                    })
                    .collect(),
                signatures: p
                    .signatures
                    .iter()
                    .map(|sg| SignatureView {
                        user: sg.user.clone(),
                        name: sg.name.clone(),
                        meaning: sg.meaning.clone(),
                        at: sg.at,
                        needs_renewal: p.signature_stale(sg),
                    })
                    .collect(),
            });
        }
        let queries = self
            .queries
            .values()
            .filter_map(|q| {
                let p = self.participants.get(&q.participant)?;
                if !self.sees_site(user, p.site.as_deref()) {
                    return None;
                }
                if q.item.as_deref().is_some_and(|i| self.arm_item(i)) && !self.sees_arm_of(user, p)
                {
                    return None;
                }
                Some(QueryView {
                    id: q.id.clone(),
                    participant: q.participant.clone(),
                    site: p.site.clone(),
                    item: q.item.clone(),
                    text: q.text.clone(),
                    raised_by: q.raised_by.clone(),
                    raised_at: q.raised_at,
                    answers: q.answers.clone(),
                    status: q.status,
                    to: self
                        .config
                        .as_ref()
                        .map(|c| c.answered_by(q.item.as_deref()))
                        .unwrap_or_default(),
                })
            })
            .collect();
        let mut site_ids: Vec<String> = self.sites.keys().cloned().collect();
        for p in self.participants.values() {
            if let Some(s) = &p.site {
                if !site_ids.contains(s) {
                    site_ids.push(s.clone());
                }
            }
        }
        site_ids.sort();
        let sites = site_ids
            .into_iter()
            .filter(|s| self.sees_site(user, Some(s)))
            .map(|s| SiteView {
                name: self.sites.get(&s).cloned().unwrap_or_else(|| s.clone()),
                site: s,
            })
            .collect();
        let forms = config
            .map(|c| {
                c.forms
                    .iter()
                    .filter(|f| sees_arms || f.arm.is_none())
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let is_admin = self.holds_any(user, &[Role::Admin]);
        TrialView {
            trial: self.trial.clone(),
            title: config.map(|c| c.title.clone()).unwrap_or_default(),
            blinded: config.is_some_and(|c| c.blinded),
            viewer: user.to_string(),
            roles: grants_of(self, user),
            locked: self.locked,
            events: self.seq,
            arms: config.filter(|_| sees_arms).map(|c| c.arms.clone()),
            randomisation: RandomisationView {
                stratify_by: design
                    .as_ref()
                    .map(|d| d.stratify_by.clone())
                    .unwrap_or_default(),
                minimise_on: design
                    .as_ref()
                    .map(|d| d.minimise_on.keys().cloned().collect())
                    .unwrap_or_default(),
                kits: design.as_ref().is_some_and(|d| d.kits),
                design: design
                    .as_ref()
                    .filter(|_| sees_design)
                    .map(|d| d.spec.clone()),
                seed: config.filter(|_| sees_design).map(|c| c.seed),
            },
            forms,
            sites,
            participants,
            queries,
            flow,
            by_site,
            by_stratum,
            by_arm: sees_arms.then_some(by_arm),
            unblindings: self
                .is_overseer(user)
                .then(|| self.unblindings.clone())
                .map(|u| {
                    u.into_iter()
                        .filter(|x| {
                            self.participants
                                .get(&x.participant)
                                .is_some_and(|p| self.sees_site(user, p.site.as_deref()))
                        })
                        .collect()
                }),
            my_unexplained_unblindings: self
                .unblindings
                .iter()
                .filter(|u| u.user == user && u.awaits_explanation())
                .cloned()
                .collect(),
            unblinding_categories: self
                .config
                .as_ref()
                .map(crate::command::unblinding_categories)
                .unwrap_or_default(),
            unblinded_grants: self
                .holds_any(user, &[Role::Admin, Role::Monitor])
                .then(|| self.unblinded_grants.clone()),
            users: is_admin.then(|| {
                self.users
                    .values()
                    .map(|u| UserView {
                        user: u.user.clone(),
                        display_name: u.display_name.clone(),
                        locked: u.locked,
                        failed_logins: u.failed_logins,
                        last_login: u.last_login,
                        roles: grants_of(self, &u.user),
                    })
                    .collect()
            }),
        }
    }

    /// The audit-trail entry of `event` that `user` may read, or `None` when
    /// the event is hidden from them (another site's participant, another
    /// user's account). The entry is the event's public body (what its hash
    /// covers: every concealed value as a commitment, see [`crate::seal`])
    /// with its `hash`, so any reader can re-hash it; the values the reader
    /// is entitled to are added back with their nonces under `opened`, and
    /// the sealed fields they may not read are listed under `redacted`. An
    /// event sealed whole shows a blinded reader only its place, time and
    /// commitment. The state should be the trial's current state.
    pub fn view_event(&self, event: &Event, user: &str) -> Option<Value> {
        if self.grants.get(user).is_none_or(|g| g.is_empty()) {
            return None;
        }
        if let Some(entry) = self.governance_entry(event, user) {
            return entry;
        }
        // Whom the event is about.
        let participant_id: Option<&str> = match &event.payload {
            Payload::QueryAnswered { query, .. } | Payload::QueryClosed { query } => {
                self.queries.get(query).map(|q| q.participant.as_str())
            }
            p => p.participant(),
        };
        let participant = participant_id.and_then(|id| self.participants.get(id));
        if participant_id.is_some() {
            let site = participant
                .and_then(|p| p.site.as_deref())
                .or(event.site.as_deref());
            if !self.sees_site(user, site) {
                return None;
            }
        }
        if let Some(account) = event.payload.account() {
            if account != user && !self.is_overseer(user) {
                return None;
            }
        }
        let by_role = participant.is_some_and(|p| self.sees_arm_by_role(user, p));
        let arm_visible = participant.is_some_and(|p| self.sees_arm_of(user, p));
        let entitled = |field: &str| -> bool {
            match (&event.payload, field) {
                (Payload::TrialRegistered { .. }, "arms") => self.sees_arms(user),
                (Payload::TrialRegistered { .. }, "design" | "seed") => self.sees_design(user),
                // The list position narrows the arms of others in the block:
                // an emergency code-break opens the arm only.
                (Payload::Randomised { .. }, "position") => by_role,
                (_, crate::seal::WHOLE) | (Payload::Randomised { .. }, "arm") => arm_visible,
                _ => false,
            }
        };
        let mut value = event.public_body();
        let Value::Object(map) = &mut value else {
            return None;
        };
        map.shift_remove("v");
        map.insert("hash".into(), Value::String(event.hash.clone()));
        // A pharmacovigilance code-break hidden from this reader is not
        // sealed (its reason is free text): the next entry does not carry
        // its hash either.
        if event.seq > 1 && self.governance_hides(event.seq - 1, user) {
            map.shift_remove("prev_hash");
        }
        let mut opened = Map::new();
        let mut redacted: Vec<&str> = Vec::new();
        for (field, opening) in &event.openings {
            if !entitled(field) {
                redacted.push(if field == crate::seal::WHOLE {
                    "event"
                } else {
                    field
                });
                continue;
            }
            opened.insert(
                field.clone(),
                serde_json::json!({"nonce": opening.nonce, "commitment": opening.commitment()}),
            );
            if field == crate::seal::WHOLE {
                if let Value::Object(parts) = &opening.value {
                    for (k, v) in parts {
                        map.insert(k.clone(), v.clone());
                    }
                }
            } else if let Some(Value::Object(payload)) = map.get_mut("payload") {
                payload.insert(field.clone(), opening.value.clone());
            }
        }
        if !opened.is_empty() {
            map.insert("opened".into(), Value::Object(opened));
        }
        if !redacted.is_empty() {
            map.insert("redacted".into(), serde_json::json!(redacted));
        }
        Some(value)
    }
}

/// The viewer name of [`TrialState::with_role_viewer`] (a NUL byte first,
/// so no account can have it).
pub const ROLE_VIEWER: &str = "\u{0}role-viewer";

impl TrialState {
    /// A copy of the state in which [`ROLE_VIEWER`] holds `role` at every
    /// site and nothing else: views and audit entries for
    /// [`ROLE_VIEWER`] are what any holder of `role` at every site sees
    /// (`rct audit log --as-role ROLE`).
    pub fn with_role_viewer(&self, role: Role) -> TrialState {
        let mut s = self.clone();
        let mut grant = BTreeMap::new();
        grant.insert(role, Sites::All);
        s.grants.insert(ROLE_VIEWER.to_string(), grant);
        s
    }
}

/// The audit-trail entry of `event` that `user` may read under `state` (the
/// trial's current state); see [`TrialState::view_event`].
pub fn view_event(state: &TrialState, event: &Event, user: &str) -> Option<Value> {
    state.view_event(event, user)
}

#[cfg(test)]
mod tests;
