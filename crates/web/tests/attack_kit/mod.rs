//! The insider's toolkit of `tests/attack.rs`: what the server sends one
//! reader ([`collect`]), cut into records per participant ([`records`]),
//! then read the way an insider would ([`channels`]: arm words, fields that
//! carry an arm, grouping, order, per-arm counts; [`guess`]: hashes and
//! seeds tried against everything visible).
//!
//! The attack knows what an insider knows: the protocol files (served with
//! the demo), the public code (`rct_random`, the documented canonical body
//! of `rct_record`), and everything the server sends the reader. It never
//! reads the trial state; [`Truth`] (the state's allocations) is used only to
//! score what the attack claims.
#![allow(dead_code)]

pub mod channels;
pub mod collect;
pub mod fixture;
pub mod guess;
pub mod records;

use std::collections::{BTreeMap, BTreeSet};

use rct_core::protocol::Protocol;
use rct_web::App;

/// One answer the reader received.
#[derive(Debug, Clone)]
pub struct Answer {
    /// What was asked, with the participant as `{pid}` (e.g.
    /// `GET /t/lupex/p/{pid}/randomise`, `export csv long.csv`).
    pub source: String,
    /// The participant named in the request's path, if any.
    pub pid: Option<String>,
    /// HTTP status (200 for exports).
    pub status: u16,
    /// The body as received.
    pub body: String,
}

/// What one reader got: every answer, and what the reader legitimately
/// knows (participants whose arm they broke the code of).
#[derive(Debug, Clone)]
pub struct Corpus {
    /// User name (or `export`).
    pub reader: String,
    /// Trial.
    pub trial: String,
    /// Answers.
    pub answers: Vec<Answer>,
    /// Participants whose arm this reader may know (own emergency unblinding).
    pub known: BTreeSet<String>,
}

/// One participant's allocation, from the trial state (for scoring only).
#[derive(Debug, Clone, PartialEq)]
pub struct Alloc {
    /// Arm id.
    pub arm: String,
    /// 1-based list position in the stratum.
    pub position: u64,
    /// Kit code.
    pub kit: Option<String>,
    /// Stratum key.
    pub stratum: String,
}

/// The truth the attack is scored against.
#[derive(Debug, Clone)]
pub struct Truth {
    /// Trial.
    pub trial: String,
    /// Every participant id of the trial.
    pub participants: Vec<String>,
    /// Allocations by participant.
    pub alloc: BTreeMap<String, Alloc>,
    /// The trial's seed.
    pub seed: rct_random::TrialSeed,
}

impl Truth {
    /// Reads the allocations of `trial` from the application's state.
    pub fn of(app: &App, trial: &str) -> Truth {
        let s = app.ledger.state(trial).unwrap();
        let participants = s.participants.keys().cloned().collect();
        let alloc = s
            .participants
            .values()
            .filter_map(|p| {
                let a = p.allocation.as_ref()?;
                Some((
                    p.id.clone(),
                    Alloc {
                        arm: a.arm.clone(),
                        position: a.position,
                        kit: a.kit.clone(),
                        stratum: a.stratum.clone(),
                    },
                ))
            })
            .collect();
        Truth {
            trial: trial.to_string(),
            participants,
            alloc,
            seed: s.config.as_ref().unwrap().seed,
        }
    }
}

/// What an insider knows of a trial without the server: its protocol file.
pub struct Public {
    /// Parsed protocol.
    pub protocol: Protocol,
    /// Its text (registration keeps it in the record).
    pub text: &'static str,
    /// Arm ids and labels.
    pub arms: Vec<(String, String)>,
    /// Protocol text every role may read (longest first, plain and
    /// HTML-escaped): taken out before looking for arm words.
    pub public_text: Vec<String>,
}

impl Public {
    /// The seed protocol of `trial`.
    pub fn of(trial: &str) -> Public {
        let (protocol, (_, text)) = rct_web::demo::seed_protocols()
            .unwrap()
            .into_iter()
            .zip(rct_web::demo::SEEDS)
            .find(|(p, _)| p.trial.id.get_ref() == trial)
            .unwrap();
        let arms = protocol
            .arms
            .iter()
            .map(|a| (a.id.get_ref().clone(), a.label.clone()))
            .collect();
        let public_text = public_text_of(&protocol);
        Public {
            protocol,
            text,
            arms,
            public_text,
        }
    }

    /// Arm ids.
    pub fn arm_ids(&self) -> Vec<String> {
        self.arms.iter().map(|(id, _)| id.clone()).collect()
    }
}

/// Text of the protocol that blinded roles may read: titles, criteria (text,
/// rules, notes), facts, forms not tied to an arm (labels, fields, derived
/// rules), code lists, visits, sites, masking. Arms, arm-specific forms,
/// sessions and the analysis plan are left out (they name arms).
fn public_text_of(p: &Protocol) -> Vec<String> {
    let mut out = vec![p.trial.title.clone()];
    out.extend(p.trial.short_title.clone());
    for c in &p.criteria {
        out.push(c.text.clone());
        out.push(c.rule.get_ref().clone());
        out.extend(c.note.clone());
    }
    for f in &p.facts {
        out.push(f.label.clone());
    }
    for f in p.forms.iter().filter(|f| f.arm.is_none()) {
        out.push(f.label.clone());
        for x in &f.fields {
            out.push(x.label.clone());
            out.extend(x.derived.as_ref().map(|d| d.get_ref().clone()));
        }
    }
    for l in &p.code_lists {
        out.extend(l.items.iter().map(|i| i.label.clone()));
    }
    for v in &p.visits {
        out.push(v.label.clone());
        out.extend(v.assessments.iter().cloned());
    }
    for s in &p.sites {
        out.push(s.name.clone());
    }
    out.extend(p.masking.description.clone());
    let escaped: Vec<String> = out
        .iter()
        .map(|t| maud::html! { (t) }.into_string())
        .collect();
    out.extend(escaped);
    out.retain(|t| t.len() > 3);
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out.dedup();
    out
}

/// What an attack recovered.
#[derive(Debug, Default, Clone)]
pub struct Findings {
    /// Arms claimed per participant, each with how.
    pub arms: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    /// List positions claimed per participant, each with how.
    pub positions: BTreeMap<String, BTreeMap<u64, BTreeSet<String>>>,
    /// Seeds confirmed, with how.
    pub seeds: BTreeMap<u64, BTreeSet<String>>,
    /// Leaks not tied to one participant.
    pub notes: BTreeSet<String>,
}

impl Findings {
    /// Records a claimed arm.
    pub fn arm(&mut self, pid: &str, arm: &str, how: impl Into<String>) {
        self.arms
            .entry(pid.to_string())
            .or_default()
            .entry(arm.to_string())
            .or_default()
            .insert(how.into());
    }

    /// Records a claimed position.
    pub fn position(&mut self, pid: &str, position: u64, how: impl Into<String>) {
        self.positions
            .entry(pid.to_string())
            .or_default()
            .entry(position)
            .or_default()
            .insert(how.into());
    }

    /// Records a leak not tied to a participant.
    pub fn note(&mut self, what: impl Into<String>) {
        self.notes.insert(what.into());
    }

    /// Adds another attack's findings.
    pub fn merge(&mut self, other: Findings) {
        for (p, m) in other.arms {
            for (a, h) in m {
                self.arms
                    .entry(p.clone())
                    .or_default()
                    .entry(a)
                    .or_default()
                    .extend(h);
            }
        }
        for (p, m) in other.positions {
            for (a, h) in m {
                self.positions
                    .entry(p.clone())
                    .or_default()
                    .entry(a)
                    .or_default()
                    .extend(h);
            }
        }
        for (s, h) in other.seeds {
            self.seeds.entry(s).or_default().extend(h);
        }
        self.notes.extend(other.notes);
    }

    /// The one arm claimed for `pid`, if exactly one.
    pub fn recovered_arm(&self, pid: &str) -> Option<&str> {
        let m = self.arms.get(pid)?;
        (m.len() == 1).then(|| m.keys().next().map(String::as_str))?
    }

    /// Everything claimed about participants outside `known` (arms) and
    /// about anyone (positions, seeds, notes): what a blinded reader must
    /// never obtain. One line per claim.
    pub fn leaks(&self, known: &BTreeSet<String>) -> Vec<String> {
        let mut out = Vec::new();
        for (p, m) in &self.arms {
            if known.contains(p) {
                continue;
            }
            for (a, how) in m {
                out.push(format!("arm of {p} = {a} via {}", first(how)));
            }
        }
        for (p, m) in &self.positions {
            for (pos, how) in m {
                out.push(format!("position of {p} = {pos} via {}", first(how)));
            }
        }
        for (s, how) in &self.seeds {
            out.push(format!("seed {s} via {}", first(how)));
        }
        out.extend(self.notes.iter().cloned());
        out
    }
}

fn first(how: &BTreeSet<String>) -> String {
    let mut v: Vec<&String> = how.iter().take(3).collect();
    v.sort();
    let more = how.len().saturating_sub(3);
    let mut s = v.iter().map(|x| x.as_str()).collect::<Vec<_>>().join("; ");
    if more > 0 {
        s.push_str(&format!(" (+{more} more)"));
    }
    s
}

/// Scores findings: the participants (randomised, among `population`) whose
/// arm was recovered correctly, and the claims that were wrong.
pub fn score(
    f: &Findings,
    truth: &Truth,
    population: &BTreeSet<String>,
) -> (BTreeSet<String>, Vec<String>) {
    let mut right = BTreeSet::new();
    let mut wrong = Vec::new();
    for p in population {
        let Some(a) = truth.alloc.get(p) else {
            continue;
        };
        match f.recovered_arm(p) {
            Some(arm) if arm == a.arm => {
                right.insert(p.clone());
            }
            Some(arm) => wrong.push(format!("{p}: claimed {arm}, is {}", a.arm)),
            None => {}
        }
    }
    (right, wrong)
}
