//! Guessing what was concealed and testing each guess against what is
//! visible.
//!
//! - **Arms and positions by hash.** A `randomised` audit entry without its
//!   arm or position is rebuilt for every arm and every position 1..=400
//!   (its kit is shown) by the documented canonical body of `rct_record`
//!   (lib.rs, "Canonical encoding"; `rct_record::canonical::to_canonical`),
//!   hashed, and compared with the entry's hash or, when that is withheld,
//!   with the hash of the next entry (whose body holds the guessed hash as
//!   its `prev_hash`).
//! - **The seed by hash.** The registration entry is rebuilt from the
//!   protocol file with the public registration code for every candidate
//!   seed and tested the same way.
//! - **The seed by kit codes.** For every candidate seed, the kit-code
//!   stream of each stratum (`rct_random`) is compared with the kit codes
//!   shown; a hit is confirmed by regenerating the stratum's list.
//!
//! Candidate seeds: 0..2^16, 42, 1..=10 and the demo's seeds. A seed found
//! gives every arm (the lists regenerate); positions come from the order of
//! randomisation in each stratum, which every reader sees.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock};

use chrono::{DateTime, Utc};
use rct_random::kit::KitCodes;
use rct_record::canonical::to_canonical;
use rct_record::{registration, sha256_hex, Actor, Role, TrialState, GENESIS_HASH};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Findings, Public};

/// Positions tried per stratum.
pub const POSITIONS: u64 = 400;
/// The seeds `rct serve --demo` registers its two trials with (demo.rs).
pub const DEMO_SEEDS: [u64; 2] = [0x5eed_0000, 0x5eed_0001];

/// Every seed tried.
pub fn seed_candidates() -> Vec<u64> {
    let mut s: Vec<u64> = (0..1u64 << 16).collect();
    s.push(42);
    s.extend(1..=10);
    s.extend(DEMO_SEEDS);
    s.sort_unstable();
    s.dedup();
    s
}

const ARM_MARK: &str = "zzARMzz";
const POS_MARK: u64 = 987_654_321_012;
const PREV_MARK: &str = "zzPREVzz";
/// Below 2^53, so canonical JSON (RFC 8785, which writes larger integers
/// as the nearest double) writes it digit for digit.
const SEED_MARK: u64 = 8_765_432_101_234_567;

/// `text` cut at each mark, in order; `None` when a mark is not there
/// exactly once.
fn cut(text: &str, marks: &[&str]) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    let mut rest = text;
    for m in marks {
        if rest.matches(m).count() != 1 {
            return None;
        }
        let (a, b) = rest.split_once(m)?;
        parts.push(a.to_string());
        rest = b;
    }
    parts.push(rest.to_string());
    Some(parts)
}

/// An entry as its hashed body: without `hash` and `redacted`.
fn body_of(entry: &Value) -> Value {
    let mut v = entry.clone();
    if let Value::Object(m) = &mut v {
        m.shift_remove("hash");
        m.shift_remove("redacted");
    }
    v
}

/// What a guess is checked against.
enum Target {
    /// The entry's own hash.
    Own(String),
    /// The next entry: its body around its `prev_hash`, and its hash.
    Next(String, String, String),
}

impl Target {
    fn of(by_seq: &BTreeMap<u64, &Value>, seq: u64, entry: &Value) -> Option<Target> {
        if let Some(h) = entry["hash"].as_str() {
            return Some(Target::Own(h.to_string()));
        }
        let next = by_seq.get(&(seq + 1))?;
        let hash = next["hash"].as_str()?;
        if next.get("redacted").is_some() {
            return None;
        }
        let mut b = body_of(next);
        b["prev_hash"] = Value::String(PREV_MARK.into());
        let parts = cut(&to_canonical(&b), &[PREV_MARK])?;
        Some(Target::Next(
            parts[0].clone(),
            parts[1].clone(),
            hash.to_string(),
        ))
    }

    fn hit(&self, body_hash: &str) -> bool {
        match self {
            Target::Own(h) => h == body_hash,
            Target::Next(pre, post, h) => {
                let mut s = Sha256::new();
                s.update(pre.as_bytes());
                s.update(body_hash.as_bytes());
                s.update(post.as_bytes());
                hex::encode(s.finalize()) == *h
            }
        }
    }
}

/// The entry's previous hash, shown or taken from the entry before.
fn prev_of(by_seq: &BTreeMap<u64, &Value>, seq: u64, entry: &Value) -> Option<String> {
    if let Some(p) = entry["prev_hash"].as_str() {
        return Some(p.to_string());
    }
    if seq == 1 {
        return Some(GENESIS_HASH.to_string());
    }
    by_seq
        .get(&(seq - 1))
        .and_then(|e| e["hash"].as_str())
        .map(str::to_string)
}

fn by_seq(entries: &[Value]) -> BTreeMap<u64, &Value> {
    entries
        .iter()
        .filter_map(|e| Some((e["seq"].as_u64()?, e)))
        .collect()
}

/// Arms and positions of `randomised` entries recovered by hashing guesses.
pub fn arms_by_hash(entries: &[Value], public: &Public, source: &str) -> Findings {
    let mut f = Findings::default();
    let by_seq = by_seq(entries);
    for (&seq, entry) in &by_seq {
        let p = &entry["payload"];
        if p["type"] != "randomised" {
            continue;
        }
        let arm_shown = p["arm"].as_str().map(str::to_string);
        let pos_shown = p["position"].as_u64();
        if arm_shown.is_some() && pos_shown.is_some() {
            continue;
        }
        let Some(pid) = p["participant"].as_str() else {
            continue;
        };
        let (Some(prev), Some(target)) = (
            prev_of(&by_seq, seq, entry),
            Target::of(&by_seq, seq, entry),
        ) else {
            continue;
        };
        let mut b = body_of(entry);
        b["prev_hash"] = Value::String(prev);
        b["payload"]["arm"] = Value::String(ARM_MARK.into());
        b["payload"]["position"] = Value::from(POS_MARK);
        let pos_mark = POS_MARK.to_string();
        let Some(parts) = cut(&to_canonical(&b), &[ARM_MARK, &pos_mark]) else {
            continue;
        };
        let arms: Vec<String> = match &arm_shown {
            Some(a) => vec![a.clone()],
            None => public.arm_ids(),
        };
        let positions: Vec<u64> = match pos_shown {
            Some(x) => vec![x],
            None => (1..=POSITIONS).collect(),
        };
        let how = format!("hash guess on entry {seq} of {source}");
        for arm in &arms {
            // The arm is a JSON string inside the mark's quotes.
            let arm_text = to_canonical(&Value::String(arm.clone()));
            let arm_text = &arm_text[1..arm_text.len() - 1];
            for &pos in &positions {
                let body = format!("{}{arm_text}{}{pos}{}", parts[0], parts[1], parts[2]);
                if target.hit(&sha256_hex(body.as_bytes())) {
                    if arm_shown.is_none() {
                        f.arm(pid, arm, how.clone());
                    }
                    if pos_shown.is_none() {
                        f.position(pid, pos, how.clone());
                    }
                }
            }
        }
    }
    f
}

fn memo() -> &'static Mutex<HashMap<String, Option<u64>>> {
    static M: OnceLock<Mutex<HashMap<String, Option<u64>>>> = OnceLock::new();
    M.get_or_init(Mutex::default)
}

fn memoised(key: String, f: impl FnOnce() -> Option<u64>) -> Option<u64> {
    if let Some(v) = memo().lock().unwrap().get(&key) {
        return *v;
    }
    let v = f();
    memo().lock().unwrap().insert(key, v);
    v
}

/// The seed, shown in the registration entry or confirmed by hashing the
/// registration rebuilt for every candidate seed.
pub fn seed_by_hash(entries: &[Value], public: &Public) -> Option<(u64, String)> {
    let by_seq = by_seq(entries);
    let e1 = by_seq.get(&1)?;
    if let Some(s) = e1["payload"]["seed"].as_u64() {
        return Some((s, "shown in the registration entry".into()));
    }
    let target = Target::of(&by_seq, 1, e1)?;
    let actor = e1["actor"].as_str()?;
    let role: Role = e1["role"].as_str()?.parse().ok()?;
    let at: DateTime<Utc> = e1["at"].as_str()?.parse().ok()?;
    let site = e1["site"].as_str();
    let reason = e1["reason"].as_str();
    let trial = e1["trial"].as_str()?;
    // The registration an insider rebuilds from the protocol file.
    // The seal key is secret (drawn by the server); a guesser can only
    // rebuild the body a server without commitments would have hashed.
    let secrets = rct_record::TrialSecrets {
        seed: SEED_MARK.into(),
        seal_key: [0; 32],
    };
    let cmd = registration::register_command_with_text(&public.protocol, public.text, secrets);
    let mut state = TrialState::new(trial);
    let event = state
        .execute(&Actor::new(actor, role, site), at, reason, &cmd)
        .ok()?
        .into_iter()
        .next()?;
    let mut b = body_of(e1);
    b["prev_hash"] = Value::String(GENESIS_HASH.into());
    let shown = e1["payload"].clone();
    let mut payload = serde_json::to_value(&event.payload).ok()?;
    if let Value::Object(p) = &mut payload {
        // The sealing key is the server's secret: a body that holds it in
        // plain (none does) cannot be rebuilt. A format-1 body (rct before
        // commitments) has no sealing key and no public design.
        p.shift_remove("seal_key");
        if shown.get("public_design").is_none() {
            p.shift_remove("public_design");
        }
    }
    b["payload"] = payload;
    let body = to_canonical(&b);
    let parts = cut(&body, &[&SEED_MARK.to_string()])?;
    let key = format!(
        "hash:{}:{}",
        sha256_hex(body.as_bytes()),
        match &target {
            Target::Own(h) => h.clone(),
            Target::Next(a, b, h) => sha256_hex(format!("{a}|{b}|{h}").as_bytes()),
        }
    );
    let seed = memoised(key, || {
        let mut pre = Sha256::new();
        pre.update(parts[0].as_bytes());
        seed_candidates().into_iter().find(|s| {
            let mut h = pre.clone();
            h.update(s.to_string().as_bytes());
            h.update(parts[1].as_bytes());
            target.hit(&hex::encode(h.finalize()))
        })
    })?;
    Some((seed, "hash guess on the registration entry".into()))
}

/// A randomised participant as a reader sees them.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Id.
    pub pid: String,
    /// Stratum key.
    pub stratum: String,
    /// Kit code.
    pub kit: Option<String>,
    /// When randomised (RFC 3339).
    pub at: String,
}

/// The randomised participants of a participants-list answer.
pub fn seen(list: &Value) -> Vec<Seen> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["randomised"] == true)
        .filter_map(|p| {
            Some(Seen {
                pid: p["id"].as_str()?.to_string(),
                stratum: p["stratum"].as_str()?.to_string(),
                kit: p["kit"].as_str().map(str::to_string),
                at: p["randomised_at"].as_str().unwrap_or_default().to_string(),
            })
        })
        .collect()
}

/// The seed confirmed by the kit codes shown.
pub fn seed_by_kits(seen: &[Seen], public: &Public) -> Option<(u64, String)> {
    let mut by_stratum: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for s in seen {
        if let Some(k) = &s.kit {
            by_stratum.entry(&s.stratum).or_default().insert(k);
        }
    }
    for (stratum, kits) in by_stratum {
        let key = format!("kits:{stratum}:{kits:?}");
        let found = memoised(key, || {
            seed_candidates().into_iter().find(|&seed| {
                let mut codes = KitCodes::new(seed, stratum);
                (0..3).any(|_| kits.contains(codes.next_code().as_str()))
                    && lists(seed, public, &[stratum.to_string()])
                        .get(stratum)
                        .is_some_and(|rows| {
                            let all: BTreeSet<&str> =
                                rows.iter().filter_map(|r| r.kit.as_deref()).collect();
                            kits.iter().all(|k| all.contains(k))
                        })
            })
        });
        if let Some(seed) = found {
            return Some((seed, format!("kit codes of stratum {stratum}")));
        }
    }
    None
}

/// The lists of `strata` under `seed`, as `rct_random` makes them from the
/// protocol's design.
pub fn lists(
    seed: impl Into<rct_random::TrialSeed>,
    public: &Public,
    strata: &[String],
) -> BTreeMap<String, Vec<rct_random::ListRow>> {
    let seed: rct_random::TrialSeed = seed.into();
    let p = &public.protocol;
    let Ok(design) = p
        .randomisation
        .design
        .get_ref()
        .parse::<rct_random::DesignSpec>()
    else {
        return BTreeMap::new();
    };
    let arms: Vec<rct_random::Arm> = p
        .arms
        .iter()
        .map(|a| rct_random::Arm {
            id: a.id.get_ref().clone(),
            weight: *a.weight.get_ref(),
        })
        .collect();
    strata
        .iter()
        .filter_map(|s| {
            let list = rct_random::generate_list(&rct_random::ListRequest {
                design: design.clone(),
                arms: arms.clone(),
                seed,
                stratum: s.clone(),
                n: POSITIONS as u32,
                kits: p.masking.kit_codes,
            })
            .ok()?;
            Some((s.clone(), list.rows))
        })
        .collect()
}

/// Every arm (and position) the lists of `seed` give the participants seen:
/// by kit code where kits are shown, else by the order of randomisation in
/// the stratum.
pub fn arms_from_seed(seed: u64, how: &str, seen: &[Seen], public: &Public) -> Findings {
    let mut f = Findings::default();
    f.seeds.entry(seed).or_default().insert(how.to_string());
    let strata: Vec<String> = seen
        .iter()
        .map(|s| s.stratum.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let lists = lists(seed, public, &strata);
    for stratum in &strata {
        let Some(rows) = lists.get(stratum) else {
            continue;
        };
        let mut in_stratum: Vec<&Seen> = seen.iter().filter(|s| &s.stratum == stratum).collect();
        in_stratum.sort_by(|a, b| (&a.at, &a.pid).cmp(&(&b.at, &b.pid)));
        for (k, s) in in_stratum.iter().enumerate() {
            let row = match &s.kit {
                Some(kit) => rows.iter().find(|r| r.kit.as_ref() == Some(kit)),
                None => rows.get(k),
            };
            if let Some(r) = row {
                let how = format!("list regenerated from seed {seed} ({how})");
                f.arm(&s.pid, &r.arm, how.clone());
                f.position(&s.pid, u64::from(r.seq), how);
            }
        }
    }
    f
}
