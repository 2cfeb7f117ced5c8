//! Views per role: arms, sites, code-breaks, design, accounts.

use serde_json::json;

use crate::command::tests::{admin, at, dm, enrol, inv, inv2, physio, trial};
use crate::command::{Actor, Command};
use crate::event::{Event, Payload, Role};
use crate::state::TrialState;

/// A trial with P1 and P2 randomised at rh, P3 at gh, one value on the
/// arm-specific form, a session, and a code-break of P1 by `ian`.
fn scenario() -> (TrialState, Vec<Event>, String) {
    let mut s = trial();
    let mut events = Vec::new();
    let e1 = enrol(&mut s, &inv(), "P1");
    let Payload::Randomised { arm, .. } = &e1.payload else {
        panic!()
    };
    let arm1 = arm.clone();
    events.push(e1);
    events.push(enrol(&mut s, &inv(), "P2"));
    events.push(enrol(&mut s, &inv2(), "P3"));
    // The physiologist records on the participant of the hiit arm.
    let hiit = if arm1 == "hiit" { "P1" } else { "P2" };
    let p_hiit = &s.participants[hiit];
    if p_hiit.allocation.as_ref().unwrap().arm == "hiit" {
        let c = Command::EnterValue {
            participant: hiit.into(),
            visit: "week1".into(),
            form: "hiit_session".into(),
            field: "minutes".into(),
            value: json!(24),
        };
        events.extend(s.execute(&physio(), at(30), None, &c).unwrap());
        let c = Command::RecordSession {
            participant: hiit.into(),
            session: "S1".into(),
            summary: json!({"compliance": 0.9}),
        };
        events.extend(s.execute(&physio(), at(31), None, &c).unwrap());
    }
    let c = Command::EnterValue {
        participant: "P1".into(),
        visit: "week1".into(),
        form: "vitals".into(),
        field: "hr".into(),
        value: json!(61),
    };
    events.extend(s.execute(&inv(), at(32), None, &c).unwrap());
    let c = Command::EmergencyUnblind {
        participant: "P1".into(),
        category: "serious adverse event".into(),
    };
    events.extend(
        s.execute(
            &inv(),
            at(33),
            Some("anaphylaxis after the second dose"),
            &c,
        )
        .unwrap(),
    );
    (s, events, arm1)
}

#[test]
fn blinded_investigator_sees_randomised_but_no_arm() {
    let (s, _, _) = scenario();
    let v = s.view("nina");
    assert!(v.arms.is_none());
    assert!(v.by_arm.is_none());
    assert_eq!(v.participants.len(), 2, "nina covers rh only");
    for p in &v.participants {
        assert!(p.randomised);
        assert!(p.allocation.is_none());
        assert!(p.sessions.is_none());
        assert!(p.values.keys().all(|k| !k.contains("hiit_session")));
        assert_eq!(p.stratum.as_deref(), Some("site=rh"));
    }
    assert!(v.forms.iter().all(|f| f.arm.is_none()));
    assert_eq!(v.randomisation.stratify_by, vec!["site".to_string()]);
    assert_eq!(v.randomisation.design, None);
    assert_eq!(v.randomisation.seed, None);
    assert_eq!(v.flow.randomised, 2);
    assert!(v.users.is_none());
    assert!(v.unblindings.is_none());
}

#[test]
fn emergency_unblinding_reveals_one_participant_to_one_user() {
    let (s, _, arm1) = scenario();
    let v = s.view("ian");
    let p1 = v.participants.iter().find(|p| p.id == "P1").unwrap();
    assert_eq!(p1.allocation.as_ref().unwrap().arm, arm1);
    assert!(p1.unblinded_by_emergency);
    let p2 = v.participants.iter().find(|p| p.id == "P2").unwrap();
    assert!(p2.allocation.is_none());
    assert!(v.arms.is_none());
    // The nurse at the same site still sees nothing.
    let nina = s.view("nina");
    assert!(nina.participants.iter().all(|p| p.allocation.is_none()));
    // Overseers learn who broke the code, when and why, not the arm.
    let dan = s.view(&dm().user);
    let u = dan.unblindings.as_ref().unwrap();
    assert_eq!(u.len(), 1);
    assert_eq!(
        (u[0].user.as_str(), u[0].reason.as_deref()),
        ("ian", Some("anaphylaxis after the second dose"))
    );
    assert_eq!(u[0].category.as_deref(), Some("serious adverse event"));
    assert_eq!(
        dan.unblinding_categories,
        rct_core::protocol::DEFAULT_UNBLINDING_CATEGORIES
    );
    // The explanation came with the code-break: no reminder.
    assert!(s.view("ian").my_unexplained_unblindings.is_empty());
    assert!(dan.participants.iter().all(|p| p.allocation.is_none()));
}

#[test]
fn unblinded_roles_see_arms_within_their_sites() {
    let (s, _, arm1) = scenario();
    let v = s.view("phil");
    assert_eq!(v.arms.as_ref().unwrap().len(), 2);
    assert_eq!(v.participants.len(), 2);
    let p1 = v.participants.iter().find(|p| p.id == "P1").unwrap();
    assert_eq!(p1.allocation.as_ref().unwrap().arm, arm1);
    assert!(!p1.unblinded_by_emergency);
    assert!(p1.sessions.is_some());
    assert!(v.forms.iter().any(|f| f.arm.is_some()));
    // The pharmacist covers all sites.
    let pam = s.view("pam");
    assert_eq!(pam.participants.len(), 3);
    assert_eq!(pam.by_arm.as_ref().unwrap().values().sum::<u64>(), 3);
    // Before the lock nobody sees the design text or the seed.
    assert_eq!(pam.randomisation.design, None);
    assert_eq!(pam.randomisation.seed, None);
}

#[test]
fn statistician_is_blinded_until_the_trial_is_unblinded() {
    let (mut s, _, _) = scenario();
    let before = s.view("stan");
    assert!(before.arms.is_none());
    assert!(before.participants.iter().all(|p| p.allocation.is_none()));
    let stan = Actor::new("stan", Role::Statistician, None);
    let digest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    let c = Command::FinaliseSap {
        version: "1.0".into(),
        digest: digest.into(),
    };
    s.execute(&stan, at(39), None, &c).unwrap();
    s.execute(&dm(), at(40), Some("end of follow-up"), &Command::Lock)
        .unwrap();
    // The lock alone unblinds nobody.
    let locked = s.view("stan");
    assert!(locked.arms.is_none());
    assert!(locked.participants.iter().all(|p| p.allocation.is_none()));
    assert_eq!(locked.randomisation.seed, None);
    // Two authorisations, by two people in two roles.
    let sue = Actor::new("sue", Role::Sponsor, None);
    crate::command::tests::grant_new(&mut s, "sue", Role::Sponsor, crate::event::Sites::All);
    s.execute(&sue, at(42), None, &Command::RequestUnblinding)
        .unwrap();
    s.execute(&stan, at(43), None, &Command::ApproveUnblinding)
        .unwrap();
    let after = s.view("stan");
    assert!(after.arms.is_some());
    assert!(after.participants.iter().all(|p| p.allocation.is_some()));
    assert_eq!(after.randomisation.design.as_deref(), Some("pbr:4"));
    assert_eq!(after.randomisation.seed, Some(20260301.into()));
    // The unblinding does not unblind anyone else.
    assert!(s.view("nina").arms.is_none());
    assert!(s.view("sue").arms.is_none());
}

#[test]
fn sites_scope_participants_and_queries() {
    let (mut s, _, _) = scenario();
    let c = Command::RaiseQuery {
        participant: "P1".into(),
        item: Some("week1/vitals/hr".into()),
        text: "HR 61 at rest?".into(),
    };
    s.execute(&Actor::new("mo", Role::Monitor, None), at(41), None, &c)
        .unwrap();
    let ivy = s.view("ivy");
    assert_eq!(
        ivy.participants
            .iter()
            .map(|p| p.id.as_str())
            .collect::<Vec<_>>(),
        vec!["P3"]
    );
    assert!(ivy.queries.is_empty());
    assert_eq!(ivy.sites.len(), 1);
    assert_eq!(ivy.sites[0].name, "General Hospital");
    assert_eq!(s.view("ian").queries.len(), 1);
    assert_eq!(s.view("nobody").participants.len(), 0);
}

#[test]
fn admins_see_accounts_without_hashes() {
    let mut s = trial();
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
    let e = s
        .execute(
            &admin(),
            at(1),
            None,
            &Command::ChangePassword {
                user: "ian".into(),
                password_hash: hash.into(),
            },
        )
        .unwrap()
        .remove(0);
    let v = s.view("ada");
    let users = v.users.as_ref().unwrap();
    let ian = users.iter().find(|u| u.user == "ian").unwrap();
    assert_eq!(ian.roles[0].role, Role::Investigator);
    let text = serde_json::to_string(&v).unwrap();
    assert!(!text.contains("argon2"));
    let entry = s.view_event(&e, "ada").unwrap();
    assert!(!entry.to_string().contains("argon2"));
    // The hash commits to the password hash's commitment only, so it is
    // shown (and re-hashes from the entry alone).
    assert_eq!(entry["hash"], json!(e.hash));
    assert_eq!(rehash(&entry), e.hash);
    assert_eq!(entry["redacted"], json!(["password_hash"]));
    // Own account events are readable; other users' are not.
    assert!(s.view_event(&e, "ian").is_some());
    assert!(s.view_event(&e, "nina").is_none());
    assert!(s.view("ian").users.is_none());
}

/// SHA-256 of the body an audit entry's hash covers (no secret needed).
fn rehash(entry: &serde_json::Value) -> String {
    crate::sha256_hex(crate::entry_body(entry).unwrap().as_bytes())
}

#[test]
fn audit_entries_seal_arms_and_keep_every_hash() {
    let (s, events, arm1) = scenario();
    let randomised = &events[0];
    let nina = s.view_event(randomised, "nina").unwrap();
    assert!(nina["payload"].get("arm").is_none());
    assert!(nina["payload"].get("position").is_none());
    assert_eq!(nina["hash"], json!(randomised.hash));
    assert_eq!(rehash(&nina), randomised.hash);
    assert_eq!(nina["redacted"], json!(["arm", "position"]));
    assert_eq!(nina["payload"]["participant"], "P1");
    assert_eq!(nina["payload"]["sealed"]["arm"].as_str().unwrap().len(), 64);
    let phil = s.view_event(randomised, "phil").unwrap();
    assert_eq!(phil["payload"]["arm"], json!(arm1));
    assert_eq!(phil["hash"], json!(randomised.hash));
    assert_eq!(rehash(&phil), randomised.hash);
    // The unblinded reader can check the opening against its commitment.
    let nonce = phil["opened"]["arm"]["nonce"].as_str().unwrap();
    assert_eq!(
        crate::seal::commitment(nonce, &json!(arm1)),
        phil["payload"]["sealed"]["arm"].as_str().unwrap()
    );
    // ian broke the code for P1: the arm, never the list position.
    let ian = s.view_event(randomised, "ian").unwrap();
    assert_eq!(ian["payload"]["arm"], json!(arm1));
    assert!(ian["payload"].get("position").is_none());
    assert_eq!(ian["redacted"], json!(["position"]));
    assert_eq!(rehash(&ian), randomised.hash);
    // Arm-specific values and sessions stand as sealed events: their place,
    // time and commitment, nothing else.
    let mut sealed = 0;
    for e in &events {
        let arm_specific = matches!(&e.payload, Payload::SessionRecorded { .. })
            || matches!(&e.payload, Payload::ValueEntered { form, .. } if form == "hiit_session");
        if arm_specific {
            sealed += 1;
            let n = s.view_event(e, "nina").unwrap();
            assert_eq!(n["payload"]["type"], "sealed", "{n}");
            let mut keys: Vec<&String> = n.as_object().unwrap().keys().collect();
            keys.sort();
            assert_eq!(
                keys,
                [
                    "at",
                    "hash",
                    "payload",
                    "prev_hash",
                    "redacted",
                    "seq",
                    "trial"
                ]
            );
            assert_eq!(rehash(&n), e.hash);
            let p = s.view_event(e, "phil").unwrap();
            assert_eq!(p["payload"]["type"], e.payload.kind());
            assert_eq!(rehash(&p), e.hash);
        }
    }
    assert!(sealed > 0);
    // ivy (gh) reads nothing about P1.
    assert!(s.view_event(randomised, "ivy").is_none());
}

#[test]
fn registration_entry_seals_arms_design_and_seed() {
    let mut s = TrialState::new("t");
    let reg = Command::RegisterTrial {
        title: "T".into(),
        blinded: true,
        arms: crate::command::tests::arms(),
        design: crate::command::tests::design(),
        seed: crate::TrialSecrets::insecure_for_tests(99).seed,
        seal_key: crate::TrialSecrets::insecure_for_tests(99).seal_key_hex(),
    };
    let e = s.execute(&admin(), at(0), None, &reg).unwrap().remove(0);
    let ada = s.view_event(&e, "ada").unwrap();
    for hidden in ["arms", "seed", "design", "seal_key"] {
        assert!(ada["payload"].get(hidden).is_none(), "{hidden}");
    }
    assert_eq!(
        ada["payload"]["public_design"],
        json!({"stratify_by": ["site"], "minimise_on": [], "kits": false,
               "forms": [{"form": "fss", "entered_by": "outcome_assessor"},
                         {"form": "ifn", "entered_by": "data_manager"}]})
    );
    assert_eq!(ada["hash"], json!(e.hash));
    assert_eq!(rehash(&ada), e.hash);
    let txt = ada.to_string();
    assert!(!txt.contains("hiit") && !txt.contains("pbr"), "{txt}");
    // An unblinded role sees the arms, still not the design text or the seed.
    s.execute(
        &admin(),
        at(1),
        None,
        &Command::CreateUser {
            user: "pam".into(),
            display_name: "Pam".into(),
            password_hash: crate::command::tests::HASH.into(),
        },
    )
    .ok();
    s.execute(
        &admin(),
        at(1),
        None,
        &Command::GrantRole {
            user: "pam".into(),
            role: Role::Pharmacist,
            sites: crate::event::Sites::All,
        },
    )
    .unwrap();
    let pam = s.view_event(&e, "pam").unwrap();
    assert_eq!(pam["payload"]["arms"][0]["id"], "hiit");
    assert!(pam["payload"].get("seed").is_none());
    assert!(pam["payload"].get("seal_key").is_none());
    assert_eq!(rehash(&pam), e.hash);
}

#[test]
fn every_entry_keeps_its_link_and_rehashes_without_secrets() {
    let mut s2 = trial();
    let r2 = enrol(&mut s2, &inv(), "P1");
    let next = s2
        .execute(
            &inv(),
            at(9),
            Some("moved"),
            &Command::Withdraw {
                participant: "P1".into(),
            },
        )
        .unwrap()
        .remove(0);
    assert_eq!(next.seq, r2.seq + 1);
    let nina = s2.view_event(&next, "nina").unwrap();
    assert_eq!(nina["prev_hash"], json!(r2.hash));
    assert_eq!(nina["hash"], json!(next.hash));
    // Every entry every user may read re-hashes to the event's hash.
    let (s, events, _) = scenario();
    for user in ["ian", "ivy", "mo", "dan", "oli", "phil", "ada", "nina"] {
        for e in &events {
            if let Some(entry) = s.view_event(e, user) {
                assert_eq!(rehash(&entry), e.hash, "{user}: {entry}");
            }
        }
    }
}

#[test]
fn a_scoped_view_is_the_whole_view_narrowed_to_one_participant() {
    let (s, _, _) = scenario();
    for user in ["ian", "ivy", "mo", "dan", "oli", "phil", "ada"] {
        let whole = s.view(user);
        for pid in ["P1", "P2", "P3", "nobody"] {
            let one = s.view_scoped(user, Some(pid));
            let expected: Vec<_> = whole
                .participants
                .iter()
                .filter(|p| p.id == pid)
                .cloned()
                .collect();
            assert_eq!(one.participants, expected, "{user} {pid}");
            // Everything but the participant list and the counts is the
            // whole view's; a narrowed view carries no counts.
            let mut narrowed = whole.clone();
            narrowed.participants = expected;
            narrowed.flow = Default::default();
            narrowed.by_site.clear();
            narrowed.by_stratum.clear();
            narrowed.by_arm = narrowed.by_arm.map(|_| Default::default());
            assert_eq!(one, narrowed, "{user} {pid}");
        }
    }
}

#[test]
fn an_emergency_unblinding_reveals_the_arm_never_the_position() {
    let mut s = trial();
    let randomised = enrol(&mut s, &inv(), "P1");
    let Payload::Randomised { arm, position, .. } = randomised.payload.clone() else {
        panic!()
    };
    assert_eq!(position, 1);
    let next = s
        .execute(
            &inv(),
            at(33),
            Some("anaphylaxis after the second dose"),
            &Command::EmergencyUnblind {
                participant: "P1".into(),
                category: "serious adverse event".into(),
            },
        )
        .unwrap()
        .remove(0);
    assert_eq!(next.seq, randomised.seq + 1);
    let ian = &inv().user;
    // The arm (and so the kit's arm) to ian, no list position.
    let v = s.view(ian);
    let p1 = v.participants.iter().find(|p| p.id == "P1").unwrap();
    assert!(p1.unblinded_by_emergency);
    let a = p1.allocation.as_ref().unwrap();
    assert_eq!((a.arm.as_str(), a.position), (arm.as_str(), None));
    let json = serde_json::to_value(p1).unwrap();
    assert_eq!(json["allocation"]["arm"], json!(arm));
    assert!(json["allocation"].get("position").is_none(), "{json}");
    // The pharmacist, who sees arms by role, keeps the position.
    let pam = s.view("pam");
    let p1 = pam.participants.iter().find(|p| p.id == "P1").unwrap();
    assert_eq!(p1.allocation.as_ref().unwrap().position, Some(1));
    // ian's audit entry of the randomisation: arm opened, position only as
    // its salted commitment (nothing to test a guess against), and the
    // hash kept so the chain re-hashes.
    let entry = s.view_event(&randomised, ian).unwrap();
    assert_eq!(entry["payload"]["arm"], json!(arm));
    assert!(entry["payload"].get("position").is_none(), "{entry}");
    assert!(
        entry["payload"]["sealed"]["position"].is_string(),
        "{entry}"
    );
    assert_eq!(entry["redacted"], json!(["position"]));
    assert_eq!(entry["hash"], json!(randomised.hash));
    let after = s.view_event(&next, ian).unwrap();
    assert_eq!(after["prev_hash"], json!(randomised.hash));
    assert_eq!(after["hash"], json!(next.hash));
    // The pharmacist's entries are whole.
    let whole = s.view_event(&randomised, "pam").unwrap();
    assert_eq!(whole["payload"]["position"], json!(1));
    assert_eq!(whole["hash"], json!(randomised.hash));
    assert_eq!(
        s.view_event(&next, "pam").unwrap()["prev_hash"],
        json!(randomised.hash)
    );
}
