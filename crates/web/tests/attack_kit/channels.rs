//! Reading what was received the way an insider would, short of guessing
//! hashes: arm words, fields that carry an arm or a position, grouping,
//! order, per-arm counts.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::records::{first_at, records, Record};
use super::{Corpus, Findings, Public, Truth};

/// Byte offset of the first occurrence of `word` as a whole token (letters,
/// digits and `_` make tokens, so `hiit` is not found in `hiit_session`).
fn token_at(text: &str, word: &str) -> Option<usize> {
    let tok = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(i) = text[from..].find(word) {
        let at = from + i;
        let end = at + word.len();
        if (at == 0 || !tok(bytes[at - 1])) && (end >= bytes.len() || !tok(bytes[end])) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// The arm ids named in `text` (arm ids as whole tokens, arm labels as
/// text), before taking out public protocol text.
fn raw_arm_words(text: &str, public: &Public) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (id, label) in &public.arms {
        let escaped = maud::html! { (label) }.into_string();
        if text.contains(label.as_str()) || text.contains(&escaped) || token_at(text, id).is_some()
        {
            found.insert(id.clone());
        }
    }
    found
}

/// The arm ids named in `text` once public protocol text is taken out.
pub fn arm_words(text: &str, public: &Public) -> BTreeSet<String> {
    if raw_arm_words(text, public).is_empty() {
        return BTreeSet::new();
    }
    let mut t = text.to_string();
    for p in &public.public_text {
        if t.contains(p.as_str()) {
            t = t.replace(p.as_str(), " ");
        }
    }
    raw_arm_words(&t, public)
}

/// Keys whose non-null value carries an arm, a list position, the design or
/// the seed.
const ARM_KEYS: [&str; 3] = ["arm", "arm_name", "arm_code"];
const POSITION_KEYS: [&str; 2] = ["position", "block"];
const TRIAL_KEYS: [&str; 4] = ["arms", "by_arm", "seed", "design"];

/// Whether a JSON value reveals something under a secret key (`design` may
/// be the shown part of a design: an object without the design text).
fn reveals(key: &str, v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => key != "design" || m.contains_key("spec"),
        _ => true,
    }
}

fn walk_keys(v: &Value, path: &str, out: &mut Vec<(String, String, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{path}.{k}");
                if ARM_KEYS.contains(&k.as_str())
                    || POSITION_KEYS.contains(&k.as_str())
                    || TRIAL_KEYS.contains(&k.as_str())
                {
                    if reveals(k, x) {
                        out.push((k.clone(), p.clone(), x.clone()));
                    }
                }
                walk_keys(x, &p, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| walk_keys(x, &format!("{path}[]"), out)),
        _ => {}
    }
}

/// Every record and the rest of each answer of the corpus.
pub fn all_records(c: &Corpus, pids: &[String]) -> (Vec<Record>, Vec<(String, String)>) {
    let mut recs = Vec::new();
    let mut rests = Vec::new();
    for a in &c.answers {
        let (r, rest) = records(a, pids);
        recs.extend(r);
        rests.push((a.source.clone(), rest));
    }
    (recs, rests)
}

/// Arm words and secret keys, in records (claims about that participant)
/// and outside them (leaks of the trial).
pub fn direct(
    c: &Corpus,
    public: &Public,
    recs: &[Record],
    rests: &[(String, String)],
) -> Findings {
    let mut f = Findings::default();
    for r in recs {
        for arm in arm_words(&r.text, public) {
            f.arm(&r.pid, &arm, format!("arm word in {} ({})", r.source, r.kind));
        }
        if let Ok(v) = serde_json::from_str::<Value>(&r.text) {
            let mut hits = Vec::new();
            walk_keys(&v, "", &mut hits);
            for (k, path, x) in hits {
                let how = format!("`{path}` in {} ({})", r.source, r.kind);
                if ARM_KEYS.contains(&k.as_str()) {
                    let shown = x.as_str().unwrap_or_default().to_string();
                    let arm = public
                        .arms
                        .iter()
                        .find(|(id, label)| *id == shown || *label == shown)
                        .map_or(format!("code {shown}"), |(id, _)| id.clone());
                    f.arm(&r.pid, &arm, how);
                } else if POSITION_KEYS.contains(&k.as_str()) {
                    f.position(&r.pid, x.as_u64().unwrap_or(0), how);
                } else {
                    f.note(format!("{how}: {x}"));
                }
            }
        }
    }
    for (source, rest) in rests {
        let words = arm_words(rest, public);
        if !words.is_empty() {
            f.note(format!("arm words {words:?} in {source}"));
        }
        if let Ok(v) = serde_json::from_str::<Value>(rest) {
            let mut hits = Vec::new();
            walk_keys(&v, "", &mut hits);
            for (_, path, x) in hits {
                f.note(format!("`{path}` = {x} in {source}"));
            }
        }
        if rest.to_lowercase().contains("by arm") {
            f.note(format!("per-arm counts in {source}"));
        }
    }
    let _ = c;
    f
}

/// Fields whose values group the participants of `population` by arm: a
/// feature is a leak when every group it forms is of one arm and groups of
/// two or more cover at least half the population (it refines the arms), or
/// when every arm shows one value and not all values are the same (it
/// coarsens them). A feature missing for a participant has the value
/// `(absent)`; so presence alone is tested too.
pub fn grouping(recs: &[Record], population: &BTreeSet<String>, truth: &Truth) -> Findings {
    let mut f = Findings::default();
    let n = population.len();
    if n < 4 {
        return f;
    }
    // feature name -> participant -> values
    let mut table: BTreeMap<String, BTreeMap<&str, Vec<&str>>> = BTreeMap::new();
    let mut count: BTreeMap<String, BTreeMap<&str, usize>> = BTreeMap::new();
    for r in recs.iter().filter(|r| population.contains(&r.pid)) {
        let base = format!("{} [{}]", r.source, r.kind);
        *count
            .entry(format!("{base} count"))
            .or_default()
            .entry(&r.pid)
            .or_default() += 1;
        for (k, v) in &r.feats {
            table
                .entry(format!("{base} {k}"))
                .or_default()
                .entry(&r.pid)
                .or_default()
                .push(v);
        }
    }
    let mut features: Vec<(String, BTreeMap<&str, String>)> = Vec::new();
    for (name, per) in &table {
        let vals = population
            .iter()
            .map(|p| {
                let v = per.get(p.as_str()).map_or("(absent)".to_string(), |vs| {
                    let mut vs = vs.clone();
                    vs.sort_unstable();
                    vs.join("\u{1f}")
                });
                (p.as_str(), v)
            })
            .collect();
        features.push((name.clone(), vals));
    }
    for (name, per) in &count {
        let vals = population
            .iter()
            .map(|p| (p.as_str(), per.get(p.as_str()).copied().unwrap_or(0).to_string()))
            .collect();
        features.push((name.clone(), vals));
    }
    let arm_of = |p: &str| truth.alloc.get(p).map(|a| a.arm.as_str()).unwrap_or("");
    for (name, vals) in features {
        let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (p, v) in &vals {
            groups.entry(v.as_str()).or_default().push(p);
        }
        if groups.len() < 2 {
            continue;
        }
        let pure = |g: &Vec<&str>| g.iter().all(|p| arm_of(p) == arm_of(g[0]));
        let covered: usize = groups.values().filter(|g| g.len() >= 2).map(Vec::len).sum();
        let refines = groups.values().all(pure) && covered * 2 >= n && covered >= 2;
        let mut by_arm: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (p, v) in &vals {
            by_arm.entry(arm_of(p)).or_default().insert(v.as_str());
        }
        let coarsens = by_arm.len() >= 2 && by_arm.values().all(|s| s.len() == 1);
        if refines || coarsens {
            let how = format!(
                "grouping by `{name}` ({} groups{})",
                groups.len(),
                if refines { ", each of one arm" } else { ", one value per arm" }
            );
            for g in groups.values().filter(|g| g.len() >= 2 && pure(g)) {
                for p in g {
                    f.arm(p, arm_of(p), how.clone());
                }
            }
            if !refines {
                for p in population {
                    f.arm(p, arm_of(p), how.clone());
                }
            }
        }
    }
    f
}

/// Answers listing the participants of `population` in an order that keeps
/// each arm together (and the identifiers' order would not).
pub fn order(c: &Corpus, population: &BTreeSet<String>, truth: &Truth) -> Findings {
    let mut f = Findings::default();
    let arm_of = |p: &str| truth.alloc.get(p).map(|a| a.arm.clone()).unwrap_or_default();
    let runs = |seq: &[String]| {
        let arms: Vec<String> = seq.iter().map(|p| arm_of(p)).collect();
        let distinct: BTreeSet<&String> = arms.iter().collect();
        let runs = 1 + arms.windows(2).filter(|w| w[0] != w[1]).count();
        (runs, distinct.len())
    };
    for a in &c.answers {
        let mut seen: Vec<(usize, String)> = population
            .iter()
            .filter_map(|p| first_at(&a.body, p).map(|i| (i, p.clone())))
            .collect();
        if seen.len() < 6 {
            continue;
        }
        seen.sort();
        let seq: Vec<String> = seen.into_iter().map(|(_, p)| p).collect();
        let (r, k) = runs(&seq);
        let mut by_id = seq.clone();
        by_id.sort();
        let (r_id, _) = runs(&by_id);
        if k >= 2 && r == k && r_id > k {
            f.note(format!("{} lists participants grouped by arm: {seq:?}", a.source));
        }
    }
    f
}
