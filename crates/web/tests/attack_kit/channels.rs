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
                // Salted commitments (`sealed`) and the nonces that open them
                // (`opened`; the opened value itself is in the payload) are
                // unique per value and group nothing; what they could
                // confirm is the hash guessers' to test (guess.rs).
                if k == "sealed" || k == "opened" {
                    continue;
                }
                let secret = ARM_KEYS.contains(&k.as_str())
                    || POSITION_KEYS.contains(&k.as_str())
                    || TRIAL_KEYS.contains(&k.as_str());
                if secret && reveals(k, x) {
                    out.push((k.clone(), p.clone(), x.clone()));
                }
                walk_keys(x, &p, out);
            }
        }
        Value::Array(a) => a
            .iter()
            .for_each(|x| walk_keys(x, &format!("{path}[]"), out)),
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
            f.arm(
                &r.pid,
                &arm,
                format!("arm word in {} ({})", r.source, r.kind),
            );
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
    // The design text (block sizes) anywhere.
    let design = public.protocol.randomisation.design.get_ref();
    for a in &c.answers {
        if token_at(&a.body, design).is_some() {
            f.note(format!("design text `{design}` in {}", a.source));
        }
    }
    f
}

/// Below this chance, a feature that groups participants exactly by arm is
/// taken for a leak rather than a coincidence.
pub const CHANCE: f64 = 1e-6;

/// Fields whose values group the participants of `population` by arm.
///
/// A feature (a field's values per participant; a missing field is the value
/// `(absent)`, so presence alone is tested too) *refines* the arms when each
/// group of participants sharing a value is of one arm, and *coarsens* them
/// when each arm shows one value (and not all values are the same). Either
/// is a leak unless it is likely by chance: the probability that a random
/// allocation with the same arm sizes gives the same kind of exact match
/// ([`chance_refines`], [`chance_coarsens`]) must be below [`CHANCE`]. So
/// kit codes (all different: any allocation "refines" them) and sex or site
/// (rarely of one arm each) pass, while an `arm_code` column, a field shown
/// only for one arm, or a size that differs by arm, is caught once enough
/// participants are compared (about 20 for two arms).
pub fn grouping(recs: &[Record], population: &BTreeSet<String>, truth: &Truth) -> Findings {
    let mut f = Findings::default();
    let pop: Vec<&str> = population.iter().map(String::as_str).collect();
    if pop.len() < 4 {
        return f;
    }
    let index: BTreeMap<&str, usize> = pop.iter().enumerate().map(|(i, p)| (*p, i)).collect();
    // feature name -> values per participant (by index)
    let mut table: BTreeMap<String, Vec<Vec<&str>>> = BTreeMap::new();
    let mut count: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for r in recs {
        let Some(&i) = index.get(r.pid.as_str()) else {
            continue;
        };
        let base = format!("{} [{}]", r.source, r.kind);
        count
            .entry(format!("{base} count"))
            .or_insert_with(|| vec![0; pop.len()])[i] += 1;
        for (k, v) in &r.feats {
            table
                .entry(format!("{base} {k}"))
                .or_insert_with(|| vec![Vec::new(); pop.len()])[i]
                .push(v);
        }
    }
    let arms: Vec<&str> = pop
        .iter()
        .map(|p| truth.alloc.get(*p).map_or("", |a| a.arm.as_str()))
        .collect();
    let mut arm_sizes: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &arms {
        *arm_sizes.entry(a).or_default() += 1;
    }
    let sizes: Vec<usize> = arm_sizes.values().copied().collect();
    // Partitions already judged (many features share one).
    let mut judged: BTreeSet<Vec<usize>> = BTreeSet::new();
    let features = table
        .into_iter()
        .map(|(name, per)| {
            let vals: Vec<String> = per
                .into_iter()
                .map(|mut vs| {
                    if vs.is_empty() {
                        return "(absent)".to_string();
                    }
                    vs.sort_unstable();
                    vs.join("\u{1f}")
                })
                .collect();
            (name, vals)
        })
        .chain(
            count
                .into_iter()
                .map(|(name, per)| (name, per.iter().map(usize::to_string).collect())),
        );
    for (name, vals) in features {
        // The partition as group labels in order of first appearance.
        let mut label: BTreeMap<&str, usize> = BTreeMap::new();
        let part: Vec<usize> = vals
            .iter()
            .map(|v| {
                let next = label.len();
                *label.entry(v.as_str()).or_insert(next)
            })
            .collect();
        if label.len() < 2 || label.len() == pop.len() || !judged.insert(part.clone()) {
            continue;
        }
        let mut groups: Vec<Vec<usize>> = vec![Vec::new(); label.len()];
        for (i, g) in part.iter().enumerate() {
            groups[*g].push(i);
        }
        let refines = groups
            .iter()
            .all(|g| g.iter().all(|&i| arms[i] == arms[g[0]]));
        let mut per_arm: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
        for (i, g) in part.iter().enumerate() {
            per_arm.entry(arms[i]).or_default().insert(*g);
        }
        let coarsens = per_arm.values().all(|s| s.len() == 1);
        let group_sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
        let chance = if refines {
            chance_refines(&group_sizes, &sizes)
        } else if coarsens {
            chance_coarsens(&group_sizes, &sizes)
        } else {
            continue;
        };
        if chance >= CHANCE {
            continue;
        }
        let shown: Vec<String> = groups
            .iter()
            .take(4)
            .map(|g| {
                g.iter()
                    .take(6)
                    .map(|&i| format!("{}:{}", pop[i], arms[i]))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let how = format!(
            "grouping by `{name}` ({}, chance {chance:.1e}): [{}]",
            if refines {
                "each group of one arm"
            } else {
                "one value per arm"
            },
            shown.join("] [")
        );
        for (i, p) in pop.iter().enumerate() {
            if !refines || groups[part[i]].len() >= 2 {
                f.arm(p, arms[i], how.clone());
            }
        }
    }
    f
}

fn ln_factorial(n: usize) -> f64 {
    (2..=n).map(|k| (k as f64).ln()).sum()
}

/// ln of the number of allocations of `n` participants to arms of the given
/// sizes: n! / prod(size!).
fn ln_allocations(arms: &[usize]) -> f64 {
    let n: usize = arms.iter().sum();
    ln_factorial(n) - arms.iter().map(|&c| ln_factorial(c)).sum::<f64>()
}

/// The probability that a uniformly random allocation with arm sizes `arms`
/// puts each group (of sizes `groups`) in one arm: the number of ways to
/// give each group an arm, filling each arm exactly, over the number of
/// allocations.
pub fn chance_refines(groups: &[usize], arms: &[usize]) -> f64 {
    let mut ways: BTreeMap<Vec<usize>, f64> = BTreeMap::from([(arms.to_vec(), 1.0)]);
    let mut sorted = groups.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    // Groups of one fit anywhere: they fill what is left in
    // singles! / prod(left!) ways, counted at the end.
    let singles = sorted.iter().filter(|&&g| g == 1).count();
    for g in sorted.into_iter().filter(|&g| g > 1) {
        let mut next: BTreeMap<Vec<usize>, f64> = BTreeMap::new();
        for (left, w) in &ways {
            for a in 0..left.len() {
                if left[a] >= g {
                    let mut l = left.clone();
                    l[a] -= g;
                    *next.entry(l).or_default() += w;
                }
            }
        }
        ways = next;
    }
    let ln_fits: Vec<f64> = ways
        .iter()
        .filter(|(left, _)| left.iter().sum::<usize>() == singles)
        .map(|(left, w)| w.ln() + ln_allocations(left))
        .collect();
    if ln_fits.is_empty() {
        return 0.0;
    }
    let fits: f64 = ln_fits
        .iter()
        .map(|l| (l - ln_allocations(arms)).exp())
        .sum();
    fits
}

/// The probability that a uniformly random allocation with arm sizes `arms`
/// puts each arm inside one group (of sizes `groups`): every way to give each
/// arm a group so that each group is filled exactly, times the allocations
/// inside each group, over the number of allocations.
pub fn chance_coarsens(groups: &[usize], arms: &[usize]) -> f64 {
    let k = arms.len();
    let m = groups.len();
    if m > k {
        return 0.0;
    }
    let mut total = 0.0;
    let mut choice = vec![0usize; k];
    loop {
        let mut filled = vec![0usize; m];
        for (a, g) in choice.iter().enumerate() {
            filled[*g] += arms[a];
        }
        if filled == groups {
            let mut ln = 0.0;
            for (g, size) in groups.iter().enumerate() {
                ln += ln_factorial(*size);
                for (a, c) in arms.iter().enumerate() {
                    if choice[a] == g {
                        ln -= ln_factorial(*c);
                    }
                }
            }
            total += ln.exp();
        }
        // Next assignment (odometer).
        let mut i = 0;
        while i < k {
            choice[i] += 1;
            if choice[i] < m {
                break;
            }
            choice[i] = 0;
            i += 1;
        }
        if i == k {
            break;
        }
    }
    if total == 0.0 {
        return 0.0;
    }
    (total.ln() - ln_allocations(arms)).exp()
}

/// Answers listing the participants of `population` in an order that keeps
/// each arm together (and the identifiers' order would not).
pub fn order(c: &Corpus, population: &BTreeSet<String>, truth: &Truth) -> Findings {
    let mut f = Findings::default();
    let arm_of = |p: &str| {
        truth
            .alloc
            .get(p)
            .map(|a| a.arm.clone())
            .unwrap_or_default()
    };
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
            f.note(format!(
                "{} lists participants grouped by arm: {seq:?}",
                a.source
            ));
        }
    }
    f
}

/// The chance of an exact match between a partition and the arms, against
/// enumerating every allocation of six and of seven participants.
#[test]
fn grouping_chances_match_enumeration() {
    // Every allocation of `arms` sizes as a vector of arm indices.
    fn allocations(arms: &[usize]) -> Vec<Vec<usize>> {
        let n: usize = arms.iter().sum();
        let mut out = Vec::new();
        let mut cur = Vec::new();
        fn rec(left: &mut Vec<usize>, cur: &mut Vec<usize>, n: usize, out: &mut Vec<Vec<usize>>) {
            if cur.len() == n {
                out.push(cur.clone());
                return;
            }
            for a in 0..left.len() {
                if left[a] > 0 {
                    left[a] -= 1;
                    cur.push(a);
                    rec(left, cur, n, out);
                    cur.pop();
                    left[a] += 1;
                }
            }
        }
        rec(&mut arms.to_vec(), &mut cur, n, &mut out);
        out
    }
    for (arms, groups) in [
        (vec![3, 3], vec![3, 3]),
        (vec![3, 3], vec![2, 2, 1, 1]),
        (vec![2, 2, 2], vec![4, 2]),
        (vec![2, 2, 2], vec![2, 2, 1, 1]),
        (vec![3, 2, 2], vec![5, 2]),
        (vec![3, 2, 2], vec![3, 2, 1, 1]),
        (vec![4, 3], vec![1; 7]),
    ] {
        // Participants 0.. fill the groups in order.
        let group_of: Vec<usize> = groups
            .iter()
            .enumerate()
            .flat_map(|(g, &s)| std::iter::repeat_n(g, s))
            .collect();
        let all = allocations(&arms);
        let (mut refine, mut coarsen) = (0usize, 0usize);
        for alloc in &all {
            let pure = (0..groups.len()).all(|g| {
                let members: Vec<usize> = (0..alloc.len()).filter(|&i| group_of[i] == g).collect();
                members.iter().all(|&i| alloc[i] == alloc[members[0]])
            });
            let one_value = (0..arms.len()).all(|a| {
                let gs: BTreeSet<usize> = (0..alloc.len())
                    .filter(|&i| alloc[i] == a)
                    .map(|i| group_of[i])
                    .collect();
                gs.len() == 1
            });
            refine += usize::from(pure);
            coarsen += usize::from(one_value);
        }
        let n = all.len() as f64;
        let (r, c) = (
            chance_refines(&groups, &arms),
            chance_coarsens(&groups, &arms),
        );
        assert!(
            (r - refine as f64 / n).abs() < 1e-12,
            "{arms:?} {groups:?}: {r} vs {refine}/{n}"
        );
        assert!(
            (c - coarsen as f64 / n).abs() < 1e-12,
            "{arms:?} {groups:?}: {c} vs {coarsen}/{n}"
        );
    }
}
