//! The insider attack (issue 15, "Done when", first bullet): log in as every
//! blinded role of both demo trials, fetch every route of the route table
//! (path parameters filled from the trial's participants, forms, queries and
//! accounts), every API answer, the audit views, and the blinded exports
//! (CSV tables and ODM, called as the library), then try to recover arms,
//! positions and seeds the way an insider would (tests/attack_kit: arm
//! words, fields that carry an arm, grouping, order, per-arm counts, hashes
//! of guesses, seeds). Run as the pharmacist (IL-2) and the physiologist
//! (LUPEX), the same attack must find every arm: proof that it can see.
//!
//! The demo is `rct serve --demo`'s (demo.rs) with more randomised
//! participants (IL-2 as `--demo-participants 40`, 24 more in LUPEX) so
//! that grouping is tested on enough people, values entered on a form of
//! each trial by the blinded staff, the HIIT form entered by the
//! physiologist for the HIIT arm only, kits dispensed by the pharmacist, a
//! query, and one emergency unblinding per trial by the investigator (who
//! may then know that arm, never its position, and nothing else).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod attack_kit;
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use attack_kit::channels::{all_records, direct, grouping, order};
use attack_kit::collect::{sweep, Fill};
use attack_kit::fixture::{app, blinded_users, broken, exports, unblinded_user, TRIALS};
use attack_kit::guess::{arms_by_hash, arms_from_seed, seed_by_hash, seed_by_kits, seen};
use attack_kit::{score, Corpus, Findings, Public, Truth};
use common::*;
use rct_web::routes::ROUTES;
use serde_json::{json, Value};

/// One trial of the fixture.
struct TrialData {
    public: Public,
    /// The trial's events as stored (with their openings).
    events: Vec<rct_record::Event>,
    truth: Truth,
    /// One corpus per blinded reader.
    blinded: Vec<Corpus>,
    /// The reader who sees arms by role.
    unblinded: Corpus,
    /// Blinded exports (CSV tables, ODM), read by nobody in particular.
    export_blinded: Corpus,
    /// Unblinded exports.
    export_unblinded: Corpus,
}

struct Fixture {
    trials: Vec<TrialData>,
    /// Route patterns requested.
    patterns: BTreeSet<&'static str>,
    requests: usize,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(build())
    })
}

/// The fixture app (attack_kit::fixture::app), then every reader's sweep.
async fn build() -> Fixture {
    let (router, app) = app(|_| rct_store::secrets::draw(None).map_err(Into::into)).await;
    let mut trials = Vec::new();
    let mut patterns = BTreeSet::new();
    let mut requests = 0;
    for trial in TRIALS {
        let public = Public::of(trial);
        let state = app.ledger.state(trial).unwrap();
        let participants: Vec<String> = state.participants.keys().cloned().collect();
        let queries: Vec<String> = state.queries.keys().cloned().collect();
        let fill = Fill::new(&public, participants, queries);
        let mut blinded = Vec::new();
        for user in blinded_users(trial) {
            let c = demo_login(&router, user).await;
            let (answers, p) = sweep(&c, &fill, true).await;
            requests += answers.len();
            patterns.extend(p);
            let known = if user == "investigator" {
                BTreeSet::from([broken(trial).to_string()])
            } else {
                BTreeSet::new()
            };
            blinded.push(Corpus {
                reader: user.to_string(),
                trial: trial.to_string(),
                answers,
                known,
            });
        }
        let user = unblinded_user(trial);
        let c = demo_login(&router, user).await;
        let (answers, _) = sweep(&c, &fill, true).await;
        let unblinded = Corpus {
            reader: user.to_string(),
            trial: trial.to_string(),
            answers,
            known: BTreeSet::new(),
        };
        let (export_blinded, export_unblinded) = exports(&app, &public, trial);
        let events = app
            .ledger
            .store()
            .load(trial, 0)
            .unwrap()
            .iter()
            .map(|r| r.event().unwrap())
            .collect();
        trials.push(TrialData {
            events,
            truth: Truth::of(&app, trial),
            public,
            blinded,
            unblinded,
            export_blinded,
            export_unblinded,
        });
    }
    Fixture {
        trials,
        patterns,
        requests,
    }
}

/// The randomised participants `c`'s reader sees (from their participants
/// list), less those they legitimately know.
fn population(c: &Corpus, truth: &Truth) -> BTreeSet<String> {
    let list = c
        .answers
        .iter()
        .find(|a| a.source == format!("GET /api/trials/{}/participants", c.trial));
    let ids: BTreeSet<String> = match list {
        Some(a) => seen(&serde_json::from_str(&a.body).unwrap())
            .into_iter()
            .map(|s| s.pid)
            .collect(),
        // Exports cover every site.
        None => truth.alloc.keys().cloned().collect(),
    };
    ids.into_iter()
        .filter(|p| truth.alloc.contains_key(p) && !c.known.contains(p))
        .collect()
}

/// Everything but hash and seed guessing.
fn read(c: &Corpus, t: &TrialData) -> Findings {
    let (recs, rests) = all_records(c, &t.truth.participants);
    let pop = population(c, &t.truth);
    let mut f = direct(c, &t.public, &recs, &rests);
    f.merge(grouping(&recs, &pop, &t.truth));
    f.merge(order(c, &pop, &t.truth));
    f
}

/// The audit entries of the reader's API answer.
fn audit_entries(c: &Corpus) -> Vec<Value> {
    let a = c
        .answers
        .iter()
        .find(|a| a.source == format!("GET /api/trials/{}/audit", c.trial))
        .unwrap();
    serde_json::from_str::<Value>(&a.body)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn participants_seen(c: &Corpus) -> Vec<attack_kit::guess::Seen> {
    let a = c
        .answers
        .iter()
        .find(|a| a.source == format!("GET /api/trials/{}/participants", c.trial))
        .unwrap();
    seen(&serde_json::from_str(&a.body).unwrap())
}

/// Hash guessing of arms, positions and the seed (registration entry).
fn guess_hashes(c: &Corpus, t: &TrialData) -> Findings {
    let entries = audit_entries(c);
    let mut f = arms_by_hash(&entries, &t.public, &format!("the audit of {}", c.reader));
    if let Some((seed, how)) = seed_by_hash(&entries, &t.public) {
        f.merge(arms_from_seed(seed, &how, &participants_seen(c), &t.public));
    }
    f
}

/// Seed guessing against the kit codes shown.
fn guess_kits(c: &Corpus, t: &TrialData) -> Findings {
    let seen = participants_seen(c);
    match seed_by_kits(&seen, &t.public) {
        Some((seed, how)) => arms_from_seed(seed, &how, &seen, &t.public),
        None => Findings::default(),
    }
}

fn report(c: &Corpus, leaks: &[String]) -> String {
    let mut s = format!(
        "{} ({} answers) in {} recovers {} thing(s):\n",
        c.reader,
        c.answers.len(),
        c.trial,
        leaks.len()
    );
    for l in leaks.iter().take(25) {
        s.push_str("  ");
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// The unblinded roles' answers give every arm, through the same reading
/// (and the unblinded exports too): the attack can see.
#[test]
fn the_attack_recovers_every_arm_as_the_unblinded_roles() {
    let fx = fixture();
    for t in &fx.trials {
        let all: BTreeSet<String> = t.truth.alloc.keys().cloned().collect();
        assert!(
            all.len() >= 12,
            "{}: {} randomised",
            t.truth.trial,
            all.len()
        );
        for c in [&t.unblinded, &t.export_unblinded] {
            let f = read(c, t);
            let (right, wrong) = score(&f, &t.truth, &all);
            assert!(wrong.is_empty(), "{}: {wrong:?}", c.reader);
            assert_eq!(right, all, "{} in {} misses arms", c.reader, t.truth.trial);
        }
        // Hash guessing recovers every arm and position from the
        // unblinded reader's audit entries once their arms and positions
        // are taken out as a blinded reader's were (the arm-bearing fields,
        // the entry's hash, the next entry's prev_hash).
        // (Every entry the reader sees a successor of: a guess is tested
        // against the successor's hash.)
        let entries = strip_allocations(&audit_entries(&t.unblinded));
        let f = arms_by_hash(&entries, &t.public, "stripped entries");
        let (right, wrong) = score(&f, &t.truth, &all);
        assert!(wrong.is_empty(), "{wrong:?}");
        // Every entry keeps its hash now, but each concealed value is a
        // salted commitment (chain format 2): guessing the stripped arms and
        // positions against the hashes recovers nothing, even from the
        // unblinded reader's own entries.
        assert!(
            right.is_empty(),
            "hash guessing recovered {right:?} in {}",
            t.truth.trial
        );
    }
}

/// `entries` with every allocation removed the way the blinded view of
/// today removes it.
fn strip_allocations(entries: &[Value]) -> Vec<Value> {
    let mut out = entries.to_vec();
    let mut after: BTreeSet<u64> = BTreeSet::new();
    for e in &mut out {
        if e["payload"]["type"] == "randomised" {
            let p = e["payload"].as_object_mut().unwrap();
            p.shift_remove("arm");
            p.shift_remove("position");
            let m = e.as_object_mut().unwrap();
            m.shift_remove("hash");
            m.insert("redacted".into(), json!(["arm", "position"]));
            after.insert(m["seq"].as_u64().unwrap() + 1);
        }
    }
    for e in &mut out {
        if after.contains(&e["seq"].as_u64().unwrap()) {
            e.as_object_mut().unwrap().shift_remove("prev_hash");
        }
    }
    out
}

/// Every blinded reader of both trials, and the blinded exports: no arm
/// (beyond the one a code-break revealed to that reader), no position, no
/// field, group, order or count that follows the arms.
#[test]
fn blinded_roles_recover_nothing_from_pages_api_audit_and_exports() {
    let fx = fixture();
    // Every route of the table was requested.
    for r in ROUTES {
        assert!(
            fx.patterns.contains(r.path),
            "{} {} not swept",
            r.method,
            r.path
        );
    }
    assert!(fx.requests > 10_000, "{} requests", fx.requests);
    eprintln!("{} requests as blinded readers", fx.requests);
    let mut failures = Vec::new();
    for t in &fx.trials {
        for c in t.blinded.iter().chain([&t.export_blinded]) {
            // The data monitoring committee's own tables (`/dmc`) count by
            // arm by design (ICH E9 3.3: the committee reviews comparative
            // safety data); the committee member must recover nothing from
            // every other answer, and no participant's arm from any.
            let without_own_tables;
            let c = if c.reader == "dmc" {
                let mut copy = c.clone();
                copy.answers.retain(|a| !a.source.ends_with("/dmc"));
                assert!(copy.answers.len() < c.answers.len(), "dmc tables swept");
                without_own_tables = copy;
                &without_own_tables
            } else {
                c
            };
            let f = read(c, t);
            let leaks = f.leaks(&c.known);
            if !leaks.is_empty() {
                failures.push(report(c, &leaks));
            }
            // The investigator learnt the arm of the participant whose code
            // they broke (the attack sees it), and nothing more.
            for p in &c.known {
                assert_eq!(
                    f.recovered_arm(p),
                    Some(t.truth.alloc[p].arm.as_str()),
                    "{} should see the arm of {p}",
                    c.reader
                );
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Hash guessing as every blinded reader: no arm, position or seed may be
/// confirmed by hashing guesses against the audit trail's hashes (before
/// salted commitments, issue 15 item 1, a redacted `randomised` entry's arm
/// and position were confirmed through the next entry's hash, and the
/// demo's seed through the registration's; see
/// `migration_takes_away_what_hash_guessing_finds_in_a_format_1_record`).
#[test]
fn blinded_roles_cannot_confirm_guesses_against_hashes() {
    let fx = fixture();
    let mut failures = Vec::new();
    for t in &fx.trials {
        for c in &t.blinded {
            let f = guess_hashes(c, t);
            let leaks = f.leaks(&c.known);
            if !leaks.is_empty() {
                failures.push(report(c, &leaks));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Seed guessing against the kit codes every blinded reader of IL-2 sees
/// (the demo registered IL-2 with a fixed seed among the candidates before
/// seeds were drawn at random, issue 15 item 2).
#[test]
fn blinded_roles_cannot_confirm_a_seed_from_kit_codes() {
    let fx = fixture();
    let mut failures = Vec::new();
    for t in &fx.trials {
        for c in &t.blinded {
            let leaks = guess_kits(c, t).leaks(&c.known);
            if !leaks.is_empty() {
                failures.push(report(c, &leaks));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The drafts of `events` (their content without their place in a chain).
fn drafts_of(events: &[rct_record::Event]) -> Vec<rct_record::EventDraft> {
    events
        .iter()
        .map(|e| rct_record::EventDraft {
            software: e.software.clone(),
            trial: e.trial.clone(),
            at: e.at,
            actor: e.actor.clone(),
            role: e.role,
            site: e.site.clone(),
            reason: e.reason.clone(),
            payload: e.payload.clone(),
        })
        .collect()
}

/// The entries an unblinded reader of a format-1 record got: each stored
/// body (values in plain) with its hash.
fn entries_v1(rows: &[rct_record::StoredEvent]) -> Vec<Value> {
    rows.iter()
        .map(|r| {
            let mut v: Value = serde_json::from_str(&r.body).unwrap();
            v["hash"] = Value::String(r.hash.clone());
            v
        })
        .collect()
}

/// `rct audit migrate` as the record does it (`rct_record::legacy`), by
/// the demo administrator.
fn migrated(trial: &str, rows: &[rct_record::StoredEvent]) -> Vec<rct_record::Event> {
    rct_record::legacy::migrate_v1(
        trial,
        rows,
        &rct_record::legacy::Migration {
            actor: "admin".into(),
            at: NOW.parse().unwrap(),
            reason: "re-seal under chain format 2".into(),
            seal_key: [0x33; 32],
            software: Some(rct_web::SOFTWARE.into()),
        },
    )
    .unwrap()
    .events
}

/// The audit entries `user` reads of `events` (the trial's whole chain).
fn entries_as(trial: &str, events: &[rct_record::Event], user: &str) -> Vec<Value> {
    let state = rct_record::TrialState::from_events(trial, events).unwrap();
    events
        .iter()
        .filter_map(|e| state.view_event(e, user))
        .collect()
}

/// The seed guessers find a seed planted in their range (proof that they
/// can see): kit codes of a list made with it, and the registration of a
/// format-1 chain (values in plain, as rct wrote records before
/// commitments) stripped of it (arms, design and seed removed, its hash
/// withheld, the next entry's prev_hash too). The same registration in
/// format 2, written so or migrated, gives them nothing.
#[test]
fn the_seed_guessers_find_a_planted_seed() {
    let planted = 4242;
    for trial in TRIALS {
        let public = Public::of(trial);
        // Kit codes (IL-2 dispenses kits).
        if public.protocol.masking.kit_codes {
            let lists = attack_kit::guess::lists(planted, &public, &["site=pkuph".to_string()]);
            let seen: Vec<attack_kit::guess::Seen> = lists["site=pkuph"]
                .iter()
                .take(6)
                .map(|r| attack_kit::guess::Seen {
                    pid: format!("P{}", r.seq),
                    stratum: r.stratum.clone(),
                    kit: r.kit.clone(),
                    at: format!("2026-01-{:02}T00:00:00Z", r.seq),
                })
                .collect();
            let (seed, how) = seed_by_kits(&seen, &public).unwrap();
            assert_eq!(seed, planted);
            let f = arms_from_seed(seed, &how, &seen, &public);
            for r in lists["site=pkuph"].iter().take(6) {
                assert_eq!(
                    f.recovered_arm(&format!("P{}", r.seq)),
                    Some(r.arm.as_str())
                );
            }
        }
        // The registration's hash.
        let mut s = rct_record::TrialState::new(trial);
        let at: chrono::DateTime<chrono::Utc> = NOW.parse().unwrap();
        let admin = rct_record::Actor::new("admin", rct_record::Role::Admin, None);
        let cmd = rct_record::registration::register_command_with_text(
            &public.protocol,
            public.text,
            rct_record::TrialSecrets::insecure_for_tests(planted),
        );
        let mut events = s.execute(&admin, at, None, &cmd).unwrap();
        let site = rct_record::registration::site_commands(&public.protocol).remove(0);
        events.extend(s.execute(&admin, at, None, &site).unwrap());
        let rows = rct_record::legacy::chain_v1(drafts_of(&events));
        assert!(rows[0].body.contains(&format!("\"seed\":{planted}")));
        let mut entries = entries_v1(&rows);
        let p = entries[0]["payload"].as_object_mut().unwrap();
        for k in ["arms", "seed", "design"] {
            p.shift_remove(k);
        }
        entries[0].as_object_mut().unwrap().shift_remove("hash");
        entries[1]
            .as_object_mut()
            .unwrap()
            .shift_remove("prev_hash");
        let (seed, _) = seed_by_hash(&entries, &public).unwrap();
        assert_eq!(seed, planted, "{trial}");
        // Format 2, as written and as migrated from the format-1 chain:
        // the seed is a commitment, every hash is shown, nothing matches.
        for chain in [events, migrated(trial, &rows)] {
            let state = rct_record::TrialState::from_events(trial, &chain)
                .unwrap()
                .with_role_viewer(rct_record::Role::Monitor);
            let entries: Vec<Value> = chain
                .iter()
                .filter_map(|e| state.view_event(e, rct_record::view::ROLE_VIEWER))
                .collect();
            assert_eq!(entries.len(), chain.len());
            assert_eq!(seed_by_hash(&entries, &public), None, "{trial}");
        }
    }
}

/// A blinded reader of a format-1 record (the audit views before
/// commitments: a `randomised` entry without arm, position and hash, the
/// next without prev_hash) recovers every arm by hashing guesses; after
/// `rct audit migrate` every blinded reader of both trials recovers none,
/// and no seed.
#[test]
fn migration_takes_away_what_hash_guessing_finds_in_a_format_1_record() {
    let fx = fixture();
    for t in &fx.trials {
        let trial = t.truth.trial.as_str();
        let all: BTreeSet<String> = t.truth.alloc.keys().cloned().collect();
        let rows = rct_record::legacy::chain_v1(drafts_of(&t.events));
        let before = strip_allocations(&entries_v1(&rows));
        let f = arms_by_hash(&before, &t.public, "a format-1 audit view");
        let (right, wrong) = score(&f, &t.truth, &all);
        assert!(wrong.is_empty(), "{wrong:?}");
        assert_eq!(right, all, "{trial}: hash guessing on format 1 misses arms");

        let after = migrated(trial, &rows);
        assert!(matches!(
            after.last().unwrap().payload,
            rct_record::Payload::ChainMigrated { .. }
        ));
        let mut failures = Vec::new();
        for c in &t.blinded {
            let entries = entries_as(trial, &after, &c.reader);
            assert!(!entries.is_empty(), "{}", c.reader);
            let mut f = arms_by_hash(
                &entries,
                &t.public,
                &format!("{} after migration", c.reader),
            );
            if let Some((seed, how)) = seed_by_hash(&entries, &t.public) {
                f.merge(arms_from_seed(seed, &how, &participants_seen(c), &t.public));
            }
            let leaks = f.leaks(&c.known);
            if !leaks.is_empty() {
                failures.push(report(c, &leaks));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}

/// The attack catches each kind of leak this issue removes, planted in a
/// copy of what blinded readers received: a neutral arm code column in the
/// CSV export, a field present for one arm only, a list position shown after
/// a code-break, per-arm counts, and a list ordered by arm.
#[test]
fn the_attack_catches_each_leak_planted_in_a_blinded_answer() {
    let fx = fixture();
    for t in &fx.trials {
        let trial = t.truth.trial.as_str();
        let arm_of = |p: &str| t.truth.alloc.get(p).map(|a| a.arm.clone());
        let arms = t.public.arm_ids();
        let caught = |c: &Corpus, what: &str| {
            let leaks = read(c, t).leaks(&c.known);
            assert!(!leaks.is_empty(), "{trial}: {what} not caught");
            leaks
        };
        // Nothing is found before planting (the other test asserts it for
        // every reader; here the copies start clean).
        let monitor = t.blinded.iter().find(|c| c.reader == "monitor").unwrap();
        let monitor_leaks = read(monitor, t).leaks(&monitor.known);
        assert!(monitor_leaks.is_empty(), "{monitor_leaks:?}");

        // 1. `arm_code` A/B/... in the CSV long table.
        let mut c = t.export_blinded.clone();
        let long = c
            .answers
            .iter_mut()
            .find(|a| a.source == "export csv long.csv")
            .unwrap();
        let mut r = csv::Reader::from_reader(long.body.as_bytes());
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
        header.insert(2, "arm_code".into());
        w.write_record(&header).unwrap();
        for row in r.records() {
            let mut row: Vec<String> = row.unwrap().iter().map(str::to_string).collect();
            let arm = arm_of(&row[0]).unwrap_or_default();
            let code = arms.iter().position(|a| *a == arm).map_or(0, |i| i + 1);
            row.insert(2, char::from(b'@' + code as u8).to_string());
            w.write_record(&row).unwrap();
        }
        long.body = String::from_utf8(w.into_inner().unwrap()).unwrap();
        let leaks = caught(&c, "an arm code column");
        assert!(leaks.iter().any(|l| l.contains("arm_code")), "{leaks:?}");

        // 2. A field present for the participants of one arm only.
        let list_source = format!("GET /api/trials/{trial}/participants");
        let mut c = monitor.clone();
        let a = c
            .answers
            .iter_mut()
            .find(|a| a.source == list_source)
            .unwrap();
        let mut v: Value = serde_json::from_str(&a.body).unwrap();
        for p in v.as_array_mut().unwrap() {
            if arm_of(p["id"].as_str().unwrap()).as_deref() == Some(arms[0].as_str()) {
                p["sessions"] = json!([]);
            }
        }
        a.body = v.to_string();
        let leaks = caught(&c, "a field of one arm");
        assert!(leaks.iter().any(|l| l.contains(".sessions")), "{leaks:?}");

        // 3. The list position of the participant whose code was broken.
        let inv = t
            .blinded
            .iter()
            .find(|c| c.reader == "investigator")
            .unwrap();
        let mut c = inv.clone();
        let pid = broken(trial);
        let source = format!("GET /api/trials/{trial}/participants/{{pid}}");
        let a = c
            .answers
            .iter_mut()
            .find(|a| a.source == source && a.pid.as_deref() == Some(pid))
            .unwrap();
        let mut v: Value = serde_json::from_str(&a.body).unwrap();
        v["participant"]["allocation"]["position"] = json!(t.truth.alloc[pid].position);
        a.body = v.to_string();
        let leaks = caught(&c, "a code-break's position");
        assert!(
            leaks
                .iter()
                .any(|l| l.starts_with(&format!("position of {pid}"))),
            "{leaks:?}"
        );

        // 4. Per-arm counts, in the API and on the dashboard.
        let mut by_arm: BTreeMap<&str, u64> = BTreeMap::new();
        for a in t.truth.alloc.values() {
            *by_arm.entry(a.arm.as_str()).or_default() += 1;
        }
        let mut c = monitor.clone();
        let a = c
            .answers
            .iter_mut()
            .find(|a| a.source == format!("GET /api/trials/{trial}"))
            .unwrap();
        let mut v: Value = serde_json::from_str(&a.body).unwrap();
        v["by_arm"] = json!(by_arm.values().collect::<Vec<_>>());
        a.body = v.to_string();
        assert!(caught(&c, "counts by arm (API)")
            .iter()
            .any(|l| l.contains("by_arm")));
        let mut c = monitor.clone();
        let a = c
            .answers
            .iter_mut()
            .find(|a| a.source == format!("GET /t/{trial}"))
            .unwrap();
        let counts: Vec<String> = by_arm.values().map(|n| format!("<td>{n}</td>")).collect();
        a.body.push_str(&format!(
            "<table><caption>Randomised by arm</caption><tr>{}</tr></table>",
            counts.join("")
        ));
        assert!(caught(&c, "counts by arm (page)")
            .iter()
            .any(|l| l.contains("per-arm")));

        // 5. The participant list ordered by arm.
        let mut c = monitor.clone();
        let a = c
            .answers
            .iter_mut()
            .find(|a| a.source == list_source)
            .unwrap();
        let mut v: Value = serde_json::from_str(&a.body).unwrap();
        v.as_array_mut()
            .unwrap()
            .sort_by_key(|p| arm_of(p["id"].as_str().unwrap()));
        a.body = v.to_string();
        let leaks = caught(&c, "an order by arm");
        assert!(
            leaks.iter().any(|l| l.contains("grouped by arm")),
            "{leaks:?}"
        );
    }
}
