//! Serde mirrors of [`TrialState`] and its parts, so a folded state can be
//! saved and read back whole (the record's own `Serialize` leaves password
//! hashes out, and it has no `Deserialize`). Every conversion destructures or
//! builds the record's types field by field, without `..`: a field added to
//! the record and not to its mirror stops the build here.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use imbl::{OrdMap, OrdSet, Vector};
use rct_random::PriorAllocation;
use rct_record::governance::{
    CodeBreakListRecord, Governance, SafetyBreak, SapRecord, TrialUnblinding, UnblindingStep,
};
use rct_record::state::{
    Allocation, Participant, Query, QueryStatus, Screening, Session, Signature, TrialConfig,
    UnblindedGrant, Unblinding, UserAccount, Verification,
};
use rct_record::{Arm, CriterionResult, FormRule, Role, Sites, TrialState, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Serialize, Deserialize)]
pub(crate) struct State {
    trial: String,
    seq: u64,
    head: String,
    config: Option<Config>,
    participants: Vec<Person>,
    queries: Vec<Q>,
    locked: bool,
    grants: BTreeMap<String, BTreeMap<Role, Sites>>,
    allocations: Vec<(String, String)>,
    stratum_positions: BTreeMap<String, u64>,
    unblinded: BTreeSet<(String, String)>,
    unblindings: Vec<Unblind>,
    history: Vec<PriorAllocation>,
    allocation_seqs: Vec<(u64, String)>,
    password_seqs: Vec<u64>,
    users: BTreeMap<String, User>,
    sites: BTreeMap<String, String>,
    unblinded_grants: Vec<Grant>,
    governance: Gov,
}

#[derive(Serialize, Deserialize)]
struct Config {
    title: String,
    blinded: bool,
    arms: Vec<Arm>,
    design: Value,
    seed: rct_random::TrialSeed,
    seal_key: [u8; 32],
    forms: Vec<FormRule>,
}

#[derive(Serialize, Deserialize)]
struct Screen {
    verdict: Verdict,
    criteria: Vec<CriterionResult>,
    at: DateTime<Utc>,
    #[serde(default)]
    facts: BTreeMap<String, Value>,
    #[serde(default)]
    date: Option<chrono::NaiveDate>,
}

#[derive(Serialize, Deserialize)]
struct Alloc {
    arm: String,
    kit: Option<String>,
    position: u64,
    stratum: String,
    factors: BTreeMap<String, String>,
    at: DateTime<Utc>,
    seq: u64,
}

#[derive(Serialize, Deserialize)]
struct Sess {
    session: String,
    summary: Value,
    at: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
struct Person {
    id: String,
    site: Option<String>,
    screening: Option<Screen>,
    #[serde(default)]
    earlier_screenings: Vec<Screen>,
    consented: Option<DateTime<Utc>>,
    /// Absent in snapshots written before consent versions: `1` for a
    /// consent (no protocol could declare versions then).
    #[serde(default)]
    consent_version: Option<String>,
    allocation: Option<Alloc>,
    /// Absent in snapshots written before a declined consent was recorded.
    #[serde(default)]
    declined: Option<DateTime<Utc>>,
    withdrawn: Option<(DateTime<Utc>, Option<String>)>,
    /// Absent in snapshots written before the intervention could stop
    /// apart from a withdrawal.
    #[serde(default)]
    intervention_stopped: Option<(DateTime<Utc>, Option<String>)>,
    values: BTreeMap<String, Value>,
    sessions: Vec<Sess>,
    /// Absent in snapshots written before source data verification and
    /// signatures: none were recorded then, and every later one has a
    /// later event number than any change the snapshot folded.
    #[serde(default)]
    verified: BTreeMap<String, Verif>,
    #[serde(default)]
    signatures: Vec<Sig>,
    #[serde(default)]
    changed: BTreeMap<String, u64>,
    #[serde(default)]
    last_open_change: u64,
}

#[derive(Serialize, Deserialize)]
struct Verif {
    by: String,
    at: DateTime<Utc>,
    seq: u64,
}

#[derive(Serialize, Deserialize)]
struct Sig {
    user: String,
    name: String,
    meaning: String,
    at: DateTime<Utc>,
    seq: u64,
}

#[derive(Serialize, Deserialize)]
enum Status {
    Open,
    Answered,
    Closed,
}

#[derive(Serialize, Deserialize)]
struct Q {
    id: String,
    participant: String,
    item: Option<String>,
    text: String,
    raised_by: String,
    answers: Vec<String>,
    status: Status,
    raised_at: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
struct User {
    user: String,
    display_name: String,
    password_hash: String,
    locked: bool,
    failed_logins: u32,
    last_login: Option<DateTime<Utc>>,
}

#[derive(Serialize, Deserialize)]
struct Grant {
    user: String,
    role: Role,
    sites: Sites,
    by: String,
    at: DateTime<Utc>,
    seq: u64,
    revoked: Option<DateTime<Utc>>,
}

#[derive(Serialize, Deserialize)]
struct Unblind {
    user: String,
    participant: String,
    at: DateTime<Utc>,
    /// Absent in snapshots written before reason categories.
    #[serde(default)]
    category: Option<String>,
    reason: Option<String>,
    /// Absent in snapshots written before explanations could follow: the
    /// explanation then came with the code-break, as the fold reads it.
    #[serde(default)]
    explained_at: Option<DateTime<Utc>>,
    /// Absent in snapshots written before due times: the default hours
    /// after the code-break (no protocol could set others then).
    #[serde(default)]
    explain_by: Option<DateTime<Utc>>,
    seq: u64,
}

#[derive(Serialize, Deserialize)]
struct Gov {
    saps: Vec<Sap>,
    pending: Option<Step>,
    /// The request, then the approval.
    unblinding: Option<(Step, Step)>,
    safety_breaks: Vec<Brk>,
    code_break_lists: Vec<BreakList>,
}

#[derive(Serialize, Deserialize)]
struct Sap {
    version: String,
    digest: String,
    by: String,
    at: DateTime<Utc>,
    seq: u64,
    after_unblinding: bool,
}

#[derive(Serialize, Deserialize)]
struct Step {
    user: String,
    role: Role,
    at: DateTime<Utc>,
    seq: u64,
    sap_version: String,
    reason: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Brk {
    user: String,
    participant: String,
    at: DateTime<Utc>,
    seq: u64,
}

#[derive(Serialize, Deserialize)]
struct BreakList {
    by: String,
    at: DateTime<Utc>,
    entries: u64,
    seq: u64,
}

impl From<&TrialState> for State {
    fn from(s: &TrialState) -> State {
        let TrialState {
            trial,
            seq,
            head,
            config,
            participants,
            queries,
            locked,
            grants,
            allocations,
            stratum_positions,
            unblinded,
            unblindings,
            history,
            allocation_seqs,
            password_seqs,
            users,
            sites,
            unblinded_grants,
            governance,
        } = s;
        State {
            trial: trial.clone(),
            seq: *seq,
            head: head.clone(),
            config: config.as_ref().map(config_out),
            participants: participants.values().map(|p| person_out(p)).collect(),
            queries: queries.values().map(query_out).collect(),
            locked: *locked,
            grants: grants.clone(),
            allocations: allocations.iter().cloned().collect(),
            stratum_positions: stratum_positions.clone(),
            unblinded: unblinded.clone(),
            unblindings: unblindings.iter().map(unblinding_out).collect(),
            history: history.iter().cloned().collect(),
            allocation_seqs: allocation_seqs
                .iter()
                .map(|(k, v)| (*k, v.clone()))
                .collect(),
            password_seqs: password_seqs.iter().copied().collect(),
            users: users
                .iter()
                .map(|(k, u)| (k.clone(), user_out(u)))
                .collect(),
            sites: sites.clone(),
            unblinded_grants: unblinded_grants.iter().map(grant_out).collect(),
            governance: governance_out(governance),
        }
    }
}

impl From<State> for TrialState {
    fn from(s: State) -> TrialState {
        TrialState {
            trial: s.trial,
            seq: s.seq,
            head: s.head,
            config: s.config.map(|c| TrialConfig {
                title: c.title,
                blinded: c.blinded,
                arms: c.arms,
                // Parsed again from the design, as the fold does.
                protocol: rct_record::state::RegisteredProtocol::from_design(&c.design),
                design: c.design,
                seed: c.seed,
                seal_key: c.seal_key,
                forms: c.forms,
            }),
            participants: s
                .participants
                .into_iter()
                .map(|p| (p.id.clone(), Arc::new(person_in(p))))
                .collect::<OrdMap<_, _>>(),
            queries: s
                .queries
                .into_iter()
                .map(|q| (q.id.clone(), query_in(q)))
                .collect::<OrdMap<_, _>>(),
            locked: s.locked,
            grants: s.grants,
            allocations: s.allocations.into_iter().collect::<Vector<_>>(),
            stratum_positions: s.stratum_positions,
            unblinded: s.unblinded,
            unblindings: s
                .unblindings
                .into_iter()
                .map(|u| Unblinding {
                    explained_at: u.explained_at.or(u.reason.as_ref().map(|_| u.at)),
                    explain_by: u
                        .explain_by
                        .unwrap_or_else(|| Unblinding::default_explain_by(u.at)),
                    user: u.user,
                    participant: u.participant,
                    at: u.at,
                    category: u.category,
                    reason: u.reason,
                    seq: u.seq,
                })
                .collect(),
            history: s.history.into_iter().collect::<Vector<_>>(),
            allocation_seqs: s.allocation_seqs.into_iter().collect::<OrdMap<_, _>>(),
            password_seqs: s.password_seqs.into_iter().collect::<OrdSet<_>>(),
            users: s
                .users
                .into_iter()
                .map(|(k, u)| {
                    (
                        k,
                        UserAccount {
                            user: u.user,
                            display_name: u.display_name,
                            password_hash: u.password_hash,
                            locked: u.locked,
                            failed_logins: u.failed_logins,
                            last_login: u.last_login,
                        },
                    )
                })
                .collect(),
            sites: s.sites,
            unblinded_grants: s
                .unblinded_grants
                .into_iter()
                .map(|g| UnblindedGrant {
                    user: g.user,
                    role: g.role,
                    sites: g.sites,
                    by: g.by,
                    at: g.at,
                    seq: g.seq,
                    revoked: g.revoked,
                })
                .collect(),
            governance: governance_in(s.governance),
        }
    }
}

fn config_out(c: &TrialConfig) -> Config {
    let TrialConfig {
        title,
        blinded,
        arms,
        design,
        seed,
        seal_key,
        forms,
        protocol: _,
    } = c;
    Config {
        title: title.clone(),
        blinded: *blinded,
        arms: arms.clone(),
        design: design.clone(),
        seed: *seed,
        seal_key: *seal_key,
        forms: forms.clone(),
    }
}

fn person_out(p: &Participant) -> Person {
    let Participant {
        id,
        site,
        screening,
        earlier_screenings,
        consented,
        consent_version,
        allocation,
        declined,
        withdrawn,
        intervention_stopped,
        values,
        sessions,
        verified,
        signatures,
        changed,
        last_open_change,
    } = p;
    Person {
        id: id.clone(),
        site: site.clone(),
        screening: screening.as_ref().map(screen_out),
        earlier_screenings: earlier_screenings.iter().map(screen_out).collect(),
        consented: *consented,
        consent_version: consent_version.clone(),
        allocation: allocation.as_ref().map(|a| {
            let Allocation {
                arm,
                kit,
                position,
                stratum,
                factors,
                at,
                seq,
            } = a;
            Alloc {
                arm: arm.clone(),
                kit: kit.clone(),
                position: *position,
                stratum: stratum.clone(),
                factors: factors.clone(),
                at: *at,
                seq: *seq,
            }
        }),
        declined: *declined,
        withdrawn: withdrawn.clone(),
        intervention_stopped: intervention_stopped.clone(),
        values: values.clone(),
        sessions: sessions
            .iter()
            .map(|s| {
                let Session {
                    session,
                    summary,
                    at,
                } = s;
                Sess {
                    session: session.clone(),
                    summary: summary.clone(),
                    at: *at,
                }
            })
            .collect(),
        verified: verified
            .iter()
            .map(|(k, v)| {
                let Verification { by, at, seq } = v;
                (
                    k.clone(),
                    Verif {
                        by: by.clone(),
                        at: *at,
                        seq: *seq,
                    },
                )
            })
            .collect(),
        signatures: signatures
            .iter()
            .map(|s| {
                let Signature {
                    user,
                    name,
                    meaning,
                    at,
                    seq,
                } = s;
                Sig {
                    user: user.clone(),
                    name: name.clone(),
                    meaning: meaning.clone(),
                    at: *at,
                    seq: *seq,
                }
            })
            .collect(),
        changed: changed.clone(),
        last_open_change: *last_open_change,
    }
}

fn screen_out(s: &Screening) -> Screen {
    let Screening {
        verdict,
        criteria,
        at,
        facts,
        date,
    } = s;
    Screen {
        verdict: *verdict,
        criteria: criteria.clone(),
        at: *at,
        facts: facts.clone(),
        date: *date,
    }
}

fn screen_in(s: Screen) -> Screening {
    Screening {
        verdict: s.verdict,
        criteria: s.criteria,
        at: s.at,
        facts: s.facts,
        date: s.date,
    }
}

fn person_in(p: Person) -> Participant {
    Participant {
        id: p.id,
        site: p.site,
        screening: p.screening.map(screen_in),
        earlier_screenings: p.earlier_screenings.into_iter().map(screen_in).collect(),
        consent_version: p
            .consent_version
            .or_else(|| p.consented.map(|_| "1".to_string())),
        consented: p.consented,
        allocation: p.allocation.map(|a| Allocation {
            arm: a.arm,
            kit: a.kit,
            position: a.position,
            stratum: a.stratum,
            factors: a.factors,
            at: a.at,
            seq: a.seq,
        }),
        declined: p.declined,
        withdrawn: p.withdrawn,
        intervention_stopped: p.intervention_stopped,
        values: p.values,
        sessions: p
            .sessions
            .into_iter()
            .map(|s| Session {
                session: s.session,
                summary: s.summary,
                at: s.at,
            })
            .collect(),
        verified: p
            .verified
            .into_iter()
            .map(|(k, v)| {
                (
                    k,
                    Verification {
                        by: v.by,
                        at: v.at,
                        seq: v.seq,
                    },
                )
            })
            .collect(),
        signatures: p
            .signatures
            .into_iter()
            .map(|s| Signature {
                user: s.user,
                name: s.name,
                meaning: s.meaning,
                at: s.at,
                seq: s.seq,
            })
            .collect(),
        changed: p.changed,
        last_open_change: p.last_open_change,
    }
}

fn query_out(q: &Query) -> Q {
    let Query {
        id,
        participant,
        item,
        text,
        raised_by,
        answers,
        status,
        raised_at,
    } = q;
    Q {
        id: id.clone(),
        participant: participant.clone(),
        item: item.clone(),
        text: text.clone(),
        raised_by: raised_by.clone(),
        answers: answers.clone(),
        status: match status {
            QueryStatus::Open => Status::Open,
            QueryStatus::Answered => Status::Answered,
            QueryStatus::Closed => Status::Closed,
        },
        raised_at: *raised_at,
    }
}

fn query_in(q: Q) -> Query {
    Query {
        id: q.id,
        participant: q.participant,
        item: q.item,
        text: q.text,
        raised_by: q.raised_by,
        answers: q.answers,
        status: match q.status {
            Status::Open => QueryStatus::Open,
            Status::Answered => QueryStatus::Answered,
            Status::Closed => QueryStatus::Closed,
        },
        raised_at: q.raised_at,
    }
}

fn user_out(u: &UserAccount) -> User {
    let UserAccount {
        user,
        display_name,
        password_hash,
        locked,
        failed_logins,
        last_login,
    } = u;
    User {
        user: user.clone(),
        display_name: display_name.clone(),
        password_hash: password_hash.clone(),
        locked: *locked,
        failed_logins: *failed_logins,
        last_login: *last_login,
    }
}

fn grant_out(g: &UnblindedGrant) -> Grant {
    let UnblindedGrant {
        user,
        role,
        sites,
        by,
        at,
        seq,
        revoked,
    } = g;
    Grant {
        user: user.clone(),
        role: *role,
        sites: sites.clone(),
        by: by.clone(),
        at: *at,
        seq: *seq,
        revoked: *revoked,
    }
}

fn unblinding_out(u: &Unblinding) -> Unblind {
    let Unblinding {
        user,
        participant,
        at,
        category,
        reason,
        explained_at,
        explain_by,
        seq,
    } = u;
    Unblind {
        user: user.clone(),
        participant: participant.clone(),
        at: *at,
        category: category.clone(),
        reason: reason.clone(),
        explained_at: *explained_at,
        explain_by: Some(*explain_by),
        seq: *seq,
    }
}

fn governance_out(g: &Governance) -> Gov {
    let Governance {
        saps,
        pending,
        unblinding,
        safety_breaks,
        code_break_lists,
    } = g;
    Gov {
        saps: saps
            .iter()
            .map(|s| {
                let SapRecord {
                    version,
                    digest,
                    by,
                    at,
                    seq,
                    after_unblinding,
                } = s;
                Sap {
                    version: version.clone(),
                    digest: digest.clone(),
                    by: by.clone(),
                    at: *at,
                    seq: *seq,
                    after_unblinding: *after_unblinding,
                }
            })
            .collect(),
        pending: pending.as_ref().map(step_out),
        unblinding: unblinding.as_ref().map(|u| {
            let TrialUnblinding {
                requested,
                approved,
            } = u;
            (step_out(requested), step_out(approved))
        }),
        safety_breaks: safety_breaks
            .iter()
            .map(|b| {
                let SafetyBreak {
                    user,
                    participant,
                    at,
                    seq,
                } = b;
                Brk {
                    user: user.clone(),
                    participant: participant.clone(),
                    at: *at,
                    seq: *seq,
                }
            })
            .collect(),
        code_break_lists: code_break_lists
            .iter()
            .map(|l| {
                let CodeBreakListRecord {
                    by,
                    at,
                    entries,
                    seq,
                } = l;
                BreakList {
                    by: by.clone(),
                    at: *at,
                    entries: *entries,
                    seq: *seq,
                }
            })
            .collect(),
    }
}

fn step_out(s: &UnblindingStep) -> Step {
    let UnblindingStep {
        user,
        role,
        at,
        seq,
        sap_version,
        reason,
    } = s;
    Step {
        user: user.clone(),
        role: *role,
        at: *at,
        seq: *seq,
        sap_version: sap_version.clone(),
        reason: reason.clone(),
    }
}

fn governance_in(g: Gov) -> Governance {
    Governance {
        saps: g
            .saps
            .into_iter()
            .map(|s| SapRecord {
                version: s.version,
                digest: s.digest,
                by: s.by,
                at: s.at,
                seq: s.seq,
                after_unblinding: s.after_unblinding,
            })
            .collect(),
        pending: g.pending.map(step_in),
        unblinding: g.unblinding.map(|(requested, approved)| TrialUnblinding {
            requested: step_in(requested),
            approved: step_in(approved),
        }),
        safety_breaks: g
            .safety_breaks
            .into_iter()
            .map(|b| SafetyBreak {
                user: b.user,
                participant: b.participant,
                at: b.at,
                seq: b.seq,
            })
            .collect(),
        code_break_lists: g
            .code_break_lists
            .into_iter()
            .map(|l| CodeBreakListRecord {
                by: l.by,
                at: l.at,
                entries: l.entries,
                seq: l.seq,
            })
            .collect(),
    }
}

fn step_in(s: Step) -> UnblindingStep {
    UnblindingStep {
        user: s.user,
        role: s.role,
        at: s.at,
        seq: s.seq,
        sap_version: s.sap_version,
        reason: s.reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// Every governance part survives the mirror (the integration tests'
    /// trials record none of them).
    #[test]
    fn governance_round_trips_through_the_mirror() {
        let at = |s: i64| Utc.timestamp_opt(1_700_000_000 + s, 0).unwrap();
        let step = |user: &str, role: Role, seq: u64| UnblindingStep {
            user: user.into(),
            role,
            at: at(seq as i64),
            seq,
            sap_version: "1.0".into(),
            reason: Some(format!("reason {seq}")),
        };
        let mut state = TrialState::new("T");
        state.seq = 9;
        state.head = "ab".repeat(32);
        state.governance = Governance {
            saps: vec![SapRecord {
                version: "1.0".into(),
                digest: "cd".repeat(32),
                by: "stat".into(),
                at: at(1),
                seq: 1,
                after_unblinding: true,
            }],
            pending: Some(step("sponsor", Role::Sponsor, 5)),
            unblinding: Some(TrialUnblinding {
                requested: step("sponsor", Role::Sponsor, 2),
                approved: step("stat", Role::Statistician, 3),
            }),
            safety_breaks: vec![SafetyBreak {
                user: "pv".into(),
                participant: "P-001".into(),
                at: at(4),
                seq: 4,
            }],
            code_break_lists: vec![CodeBreakListRecord {
                by: "pharm".into(),
                at: at(6),
                entries: 12,
                seq: 6,
            }],
        };
        let text = serde_json::to_string(&State::from(&state)).unwrap();
        let back: State = serde_json::from_str(&text).unwrap();
        assert_eq!(TrialState::from(back), state);
    }
}
