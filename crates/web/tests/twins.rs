//! Twin records (issue 15, "Done when", second bullet): two databases that
//! differ only in their allocations must give every blinded reader the same
//! output, up to what has to differ (hashes and commitments, session and
//! CSRF tokens, kit codes, which come from the seed).
//!
//! Both twins are the attack test's fixture (`attack_kit::fixture`: the
//! demo with more participants, values entered by the blinded staff, the
//! HIIT form entered by the physiologist for the HIIT participants only,
//! every kit dispensed by the pharmacist, a query, one emergency unblinding
//! per trial), built with two different 256-bit seeds and the same sealing
//! key. The seeds are chosen so that the arms differ for several
//! participants of each trial while each stratum holds as many participants
//! of each arm in both twins (the count of HIIT sessions is then the same;
//! a blinded reader may see that sealed events stand in the chain, not
//! whose they are) and the participants whose code the investigator breaks
//! have the same arm (the investigator legitimately sees it).
//!
//! Compared byte for byte after normalisation: every answer of every route
//! of the route table for every blinded demo user of both trials (pages,
//! API, the audit page and API), the audit trail as `rct audit log
//! --as-role ROLE` builds it for every blinded role, and the blinded CSV
//! tables and ODM file. Normalised: every run of exactly 64 lower-case hex
//! digits (hashes, commitments, CSRF tokens; same length) and every kit
//! code (same length, same alphabet). The same events are visible, in the
//! same order, with the same sizes. As a control, the unblinded readers'
//! answers and the unblinded exports must differ.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod attack_kit;
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use attack_kit::collect::{sweep, Fill};
use attack_kit::fixture::{app, blinded_users, broken, exports, unblinded_user, TRIALS};
use attack_kit::guess::lists;
use attack_kit::{Answer, Public, Truth};
use common::*;
use rct_random::TrialSeed;
use rct_record::{Role, TrialSecrets};
use rct_web::App;
use sha2::{Digest, Sha256};

/// The sealing key of both twins (the seeds alone differ).
const SEAL_KEY: [u8; 32] = [0x5a; 32];

/// The `k`-th candidate seed: SHA-256 of a label and `k`.
fn candidate(k: u32) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"rct twins candidate seed");
    h.update(k.to_le_bytes());
    h.finalize().into()
}

fn secrets(seed: [u8; 32]) -> TrialSecrets {
    TrialSecrets {
        seed: TrialSeed::Key(seed),
        seal_key: SEAL_KEY,
    }
}

/// Everything a twin gives its readers.
struct Twin {
    seed: [u8; 32],
    /// (trial, reader) -> answers, for every blinded reader of the route
    /// table, `rct audit log --as-role` per blinded role and the blinded
    /// exports.
    blinded: BTreeMap<(String, String), Vec<Answer>>,
    /// Unblinded readers and exports (the control).
    unblinded: BTreeMap<(String, String), Vec<Answer>>,
    truth: BTreeMap<String, Truth>,
}

async fn twin(seed: [u8; 32]) -> Twin {
    let (router, app) = app(|_| Ok(secrets(seed))).await;
    let mut blinded = BTreeMap::new();
    let mut unblinded = BTreeMap::new();
    let mut truth = BTreeMap::new();
    for trial in TRIALS {
        let public = Public::of(trial);
        let state = app.ledger.state(trial).unwrap();
        let participants: Vec<String> = state.participants.keys().cloned().collect();
        let queries: Vec<String> = state.queries.keys().cloned().collect();
        let fill = Fill::new(&public, participants, queries);
        for user in blinded_users(trial) {
            let c = demo_login(&router, user).await;
            let (answers, _) = sweep(&c, &fill, true).await;
            blinded.insert((trial.to_string(), user.to_string()), answers);
        }
        for role in Role::ALL.into_iter().filter(|r| !r.is_unblinded()) {
            blinded.insert(
                (trial.to_string(), format!("rct audit log --as-role {role}")),
                audit_log_as_role(&app, trial, role),
            );
        }
        let (export_blinded, export_unblinded) = exports(&app, &public, trial);
        blinded.insert((trial.to_string(), "export".into()), export_blinded.answers);
        unblinded.insert(
            (trial.to_string(), "export".into()),
            export_unblinded.answers,
        );
        let user = unblinded_user(trial);
        let c = demo_login(&router, user).await;
        let (answers, _) = sweep(&c, &fill, true).await;
        unblinded.insert((trial.to_string(), user.to_string()), answers);
        truth.insert(trial.to_string(), Truth::of(&app, trial));
    }
    Twin {
        seed,
        blinded,
        unblinded,
        truth,
    }
}

/// The entries `rct audit log --as-role ROLE --json` prints (the same
/// record calls: the verified stored chain, a state with the role granted
/// at every site, `view_event` per event), one answer per entry.
fn audit_log_as_role(app: &Arc<App>, trial: &str, role: Role) -> Vec<Answer> {
    let rows = app.ledger.store().load(trial, 0).unwrap();
    let (_, events) = rct_record::verify_chain(trial, &rows).unwrap();
    let state = rct_record::TrialState::from_events(trial, &events)
        .unwrap()
        .with_role_viewer(role);
    events
        .iter()
        .filter_map(|e| state.view_event(e, rct_record::view::ROLE_VIEWER))
        .map(|v| Answer {
            source: format!("rct audit log --as-role {role} --json"),
            pid: None,
            status: 200,
            body: serde_json::to_string_pretty(&v).unwrap(),
        })
        .collect()
}

/// Per stratum of `trial` under `seed`: the arms of the first `n` rows of
/// the list (n = the participants randomised in that stratum in `truth`).
fn arms_under(seed: [u8; 32], public: &Public, truth: &Truth) -> BTreeMap<String, Vec<String>> {
    let mut sizes: BTreeMap<String, u64> = BTreeMap::new();
    for a in truth.alloc.values() {
        let n = sizes.entry(a.stratum.clone()).or_default();
        *n = (*n).max(a.position);
    }
    let strata: Vec<String> = sizes.keys().cloned().collect();
    let lists = lists(TrialSeed::Key(seed), public, &strata);
    sizes
        .iter()
        .map(|(s, &n)| {
            let rows = &lists[s];
            (
                s.clone(),
                rows.iter()
                    .take(n as usize)
                    .map(|r| r.arm.clone())
                    .collect(),
            )
        })
        .collect()
}

/// A second seed whose lists give each stratum as many participants of each
/// arm as twin A, the same arm to the participants whose code is broken,
/// and a different arm to at least four participants of each trial.
fn second_seed(a: &Twin) -> [u8; 32] {
    'next: for k in 1..10_000 {
        let seed = candidate(k);
        for trial in TRIALS {
            let public = Public::of(trial);
            let truth = &a.truth[trial];
            let mine = arms_under(seed, &public, truth);
            let theirs = arms_under(a.seed, &public, truth);
            let mut differ = 0;
            for (s, arms) in &mine {
                let count = |v: &[String]| {
                    let mut c: BTreeMap<String, usize> = BTreeMap::new();
                    for x in v {
                        *c.entry(x.clone()).or_default() += 1;
                    }
                    c
                };
                if count(arms) != count(&theirs[s]) {
                    continue 'next;
                }
                differ += arms.iter().zip(&theirs[s]).filter(|(x, y)| x != y).count();
            }
            let b = &truth.alloc[broken(trial)];
            if mine[&b.stratum][b.position as usize - 1] != b.arm || differ < 4 {
                continue 'next;
            }
        }
        return seed;
    }
    panic!("no second seed among 10,000 candidates");
}

/// `text` with every run of exactly 64 lower-case hex digits and every kit
/// code in `kits` replaced by a placeholder of the same length.
fn normalise(text: &str, kits: &BTreeSet<String>) -> String {
    let mut out = text.to_string();
    for k in kits {
        out = out.replace(k.as_str(), &"K".repeat(k.len()));
    }
    let bytes = out.as_bytes();
    let is_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    let mut res = String::with_capacity(out.len());
    let mut i = 0;
    while i < bytes.len() {
        if is_hex(bytes[i]) {
            let start = i;
            while i < bytes.len() && is_hex(bytes[i]) {
                i += 1;
            }
            if i - start == 64 {
                res.push_str(&"h".repeat(64));
            } else {
                res.push_str(&out[start..i]);
            }
        } else {
            let start = i;
            while i < bytes.len() && !is_hex(bytes[i]) {
                i += 1;
            }
            res.push_str(&out[start..i]);
        }
    }
    res
}

/// The first difference between two bodies, with context.
fn first_difference(a: &str, b: &str) -> String {
    let at = a
        .bytes()
        .zip(b.bytes())
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let from = at.saturating_sub(120);
    let cut = |s: &str| {
        let mut lo = from.min(s.len());
        while !s.is_char_boundary(lo) {
            lo -= 1;
        }
        let mut hi = (at + 120).min(s.len());
        while !s.is_char_boundary(hi) {
            hi += 1;
        }
        s[lo..hi].to_string()
    };
    format!(
        "byte {at} (sizes {} and {}):\n  A: {}\n  B: {}",
        a.len(),
        b.len(),
        cut(a),
        cut(b)
    )
}

/// Differences between the two twins' answers of one reader (empty when
/// they are the same after normalisation).
fn compare(
    reader: &(String, String),
    a: &[Answer],
    b: &[Answer],
    kits: &BTreeSet<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    if a.len() != b.len() {
        out.push(format!(
            "{reader:?}: {} answers in twin A, {} in twin B",
            a.len(),
            b.len()
        ));
    }
    for (x, y) in a.iter().zip(b) {
        if x.source != y.source || x.pid != y.pid || x.status != y.status {
            out.push(format!(
                "{reader:?}: {} {:?} {} against {} {:?} {}",
                x.source, x.pid, x.status, y.source, y.pid, y.status
            ));
            continue;
        }
        let (nx, ny) = (normalise(&x.body, kits), normalise(&y.body, kits));
        if nx != ny {
            out.push(format!(
                "{reader:?}: {} ({:?}) differs at {}",
                x.source,
                x.pid,
                first_difference(&nx, &ny)
            ));
        }
    }
    out
}

#[test]
fn twins_differing_only_in_allocations_look_the_same_to_every_blinded_reader() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let a = rt.block_on(twin(candidate(0)));
    let seed_b = second_seed(&a);
    let b = rt.block_on(twin(seed_b));

    // The twins differ in their allocations, as chosen.
    let mut kits = BTreeSet::new();
    for trial in TRIALS {
        let (ta, tb) = (&a.truth[trial], &b.truth[trial]);
        assert_eq!(
            ta.alloc.keys().collect::<Vec<_>>(),
            tb.alloc.keys().collect::<Vec<_>>()
        );
        let differ: Vec<&String> = ta
            .alloc
            .iter()
            .filter(|(p, x)| tb.alloc[*p].arm != x.arm)
            .map(|(p, _)| p)
            .collect();
        assert!(differ.len() >= 4, "{trial}: arms differ for {differ:?}");
        eprintln!(
            "{trial}: {} randomised, arms differ for {}",
            ta.alloc.len(),
            differ.len()
        );
        for t in [ta, tb] {
            kits.extend(t.alloc.values().filter_map(|x| x.kit.clone()));
        }
    }

    // Neither twin's seed nor the sealing key reaches a blinded reader.
    let secrets: Vec<String> = [a.seed, b.seed, SEAL_KEY].iter().map(hex::encode).collect();
    for twin in [&a, &b] {
        for (reader, answers) in &twin.blinded {
            for ans in answers {
                for s in &secrets {
                    assert!(
                        !ans.body.contains(s.as_str()),
                        "{reader:?} {}: a secret key",
                        ans.source
                    );
                }
            }
        }
    }

    // Every blinded output is the same up to hashes, tokens and kit codes.
    assert_eq!(
        a.blinded.keys().collect::<Vec<_>>(),
        b.blinded.keys().collect::<Vec<_>>()
    );
    let mut differences = Vec::new();
    let mut answers = 0;
    for (reader, xs) in &a.blinded {
        answers += xs.len();
        differences.extend(compare(reader, xs, &b.blinded[reader], &kits));
    }
    eprintln!(
        "{answers} blinded answers compared over {} readers",
        a.blinded.len()
    );
    assert!(answers > 20_000, "{answers} answers");
    assert!(
        differences.is_empty(),
        "{} blinded answer(s) differ:\n{}",
        differences.len(),
        differences
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );

    // Control: the same comparison tells the unblinded readers' twins apart.
    for (reader, xs) in &a.unblinded {
        let d = compare(reader, xs, &b.unblinded[reader], &kits);
        assert!(!d.is_empty(), "{reader:?} sees no difference");
    }
}
