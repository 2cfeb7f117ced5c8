use super::*;
use crate::event::{Arm, Payload, Role, GENESIS_HASH};
use crate::{verify_chain, TrialSecrets};
use serde_json::json;

fn draft(actor: &str, role: Role, payload: Payload) -> EventDraft {
    EventDraft {
        software: None,
        trial: "t".into(),
        at: "2026-01-02T03:04:05Z".parse().unwrap(),
        actor: actor.into(),
        role,
        site: Some("rh".into()),
        reason: None,
        payload,
    }
}

/// A blinded trial with an arm-specific form, two randomised participants
/// and a value of that form, as format 1 wrote it.
fn old_chain() -> Vec<StoredEvent> {
    let secrets = TrialSecrets::insecure_for_tests(4242);
    let design = json!({"spec": "pbr:2", "forms": [{"form": "session", "arm": "hiit"}]});
    chain_v1([
        draft(
            "ada",
            Role::Admin,
            Payload::TrialRegistered {
                title: "T".into(),
                blinded: true,
                arms: vec![
                    Arm {
                        id: "hiit".into(),
                        name: "HIIT".into(),
                    },
                    Arm {
                        id: "control".into(),
                        name: "Usual care".into(),
                    },
                ],
                design,
                seed: secrets.seed,
                seal_key: Some(secrets.seal_key_hex()),
                public_design: None,
            },
        ),
        draft(
            "ina",
            Role::Investigator,
            Payload::Randomised {
                participant: "P1".into(),
                arm: "hiit".into(),
                kit: None,
                position: 1,
                stratum: "all".into(),
                factors: Default::default(),
            },
        ),
        draft(
            "ina",
            Role::Investigator,
            Payload::Randomised {
                participant: "P2".into(),
                arm: "control".into(),
                kit: None,
                position: 2,
                stratum: "all".into(),
                factors: Default::default(),
            },
        ),
        draft(
            "phil",
            Role::InterventionStaff,
            Payload::ValueEntered {
                participant: "P1".into(),
                visit: "intervention".into(),
                form: "session".into(),
                field: "bouts".into(),
                value: json!(3),
            },
        ),
    ])
}

fn migration(actor: &str, reason: &str) -> Migration {
    Migration {
        actor: actor.into(),
        at: "2026-03-01T10:00:00Z".parse().unwrap(),
        reason: reason.into(),
        seal_key: [7; 32],
        software: Some("rct 0.1.0 (git unknown)".into()),
    }
}

#[test]
fn format_1_body_is_the_documented_shape() {
    // The body and hash rct wrote before commitments (the shape its own
    // test fixed: crates/record/src/event.rs at commit 7dafe4c).
    let e = draft(
        "ann",
        Role::ResearchNurse,
        Payload::Consented {
            participant: "P1".into(),
            version: None,
            given_at: None,
            obtained_by: None,
        },
    )
    .seal(1, GENESIS_HASH);
    assert_eq!(
        body_v1(&e),
        format!(
            r#"{{"actor":"ann","at":"2026-01-02T03:04:05Z","payload":{{"participant":"P1","type":"consented"}},"prev_hash":"{GENESIS_HASH}","reason":null,"role":"research_nurse","seq":1,"site":"rh","trial":"t"}}"#
        )
    );
    let rows = chain_v1([draft(
        "ann",
        Role::ResearchNurse,
        Payload::Consented {
            participant: "P1".into(),
            version: None,
            given_at: None,
            obtained_by: None,
        },
    )]);
    assert_eq!(rows[0].body, body_v1(&e));
    assert_eq!(body_format(&rows[0].body), Some(1));
    assert_eq!(body_format(&e.canonical_body()), Some(2));
}

#[test]
fn format_1_numbers_and_keys_differ_from_rfc_8785() {
    // serde_json's number text and UTF-8 key order, against JCS (RFC 8785
    // section 3.2.2.3: an integer is written as the IEEE 754 double nearest
    // it, and 2^53 + 1 is not a double; section 3.2.3: keys by UTF-16 code
    // units, so U+10000 (D800 DC00) sorts before U+E000).
    let v: Value = serde_json::from_str(r#"{"\ue000":1,"𐀀":9007199254740993}"#).unwrap();
    assert_eq!(
        to_canonical_v1(&v),
        "{\"\u{e000}\":1,\"\u{10000}\":9007199254740993}"
    );
    assert_eq!(
        crate::canonical::to_canonical(&v),
        "{\"\u{10000}\":9007199254740992,\"\u{e000}\":1}"
    );
}

#[test]
fn an_old_chain_verifies_and_migrates_to_commitments() {
    let rows = old_chain();
    assert!(
        rows[1].body.contains("\"arm\":\"hiit\""),
        "{}",
        rows[1].body
    );
    // The current reader refuses it, naming the migration.
    let err = verify_chain("t", &rows).unwrap_err();
    assert!(err.detail.contains("format 1"), "{}", err.detail);
    let (old, events) = verify_v1("t", &rows).unwrap();
    assert_eq!(old.events, 4);
    assert_eq!(old.head, rows[3].hash);

    let m = migrate_v1("t", &rows, &migration("ada", "re-seal under format 2")).unwrap();
    assert_eq!(m.old, old);
    assert_eq!(m.events.len(), 5);
    let stored: Vec<StoredEvent> = m.events.iter().map(StoredEvent::from_event).collect();
    let (summary, back) = verify_chain("t", &stored).unwrap();
    assert_eq!(summary.events, 5);
    // Same content, event by event.
    for (a, b) in events.iter().zip(&back) {
        assert_eq!(
            (a.seq, a.at, &a.actor, a.role),
            (b.seq, b.at, &b.actor, b.role)
        );
        assert_eq!((&a.site, &a.reason), (&b.site, &b.reason));
        if !matches!(a.payload, Payload::TrialRegistered { .. }) {
            assert_eq!(a.payload, b.payload);
        }
    }
    // Nothing concealed stays in a hashed body: the arms, the seed and
    // the arm-specific value are commitments; the value is sealed whole.
    for r in &stored {
        for word in ["hiit", "HIIT", "4242", "\"bouts\""] {
            assert!(!r.body.contains(word), "{word} in {}", r.body);
        }
    }
    assert!(back[3].is_sealed_whole());
    // The last event records the old head, who and why.
    let last = &back[4];
    assert_eq!(
        last.payload,
        Payload::ChainMigrated {
            from_format: 1,
            old_head_seq: 4,
            old_head_hash: rows[3].hash.clone(),
        }
    );
    assert_eq!((last.actor.as_str(), last.role), ("ada", Role::Admin));
    assert_eq!(last.reason.as_deref(), Some("re-seal under format 2"));
    // The migration names the software that did it; the migrated format-1
    // events had none and keep none (their content is unchanged).
    assert_eq!(last.software.as_deref(), Some("rct 0.1.0 (git unknown)"));
    assert!(back[..4].iter().all(|e| e.software.is_none()));
    // The states agree (apart from head, count and sealing key).
    let after = TrialState::from_events("t", &back).unwrap();
    assert_eq!(after, m.after);
    assert_eq!(comparable(&after), comparable(&m.before));
    assert_eq!(
        comparable(&fold_v1("t", &events).unwrap()),
        comparable(&after)
    );
    assert_eq!(after.config.as_ref().unwrap().seal_key, [7; 32]);
    // Migrating the result again is refused.
    assert!(matches!(
        migrate_v1("t", &stored, &migration("ada", "again")),
        Err(MigrateError::Current { .. })
    ));
}

#[test]
fn a_migration_is_refused_on_a_broken_chain_without_reason_or_admin() {
    let mut rows = old_chain();
    rows[2].body = rows[2].body.replace("control", "hiit");
    match migrate_v1("t", &rows, &migration("ada", "r")) {
        Err(MigrateError::Broken { source, .. }) => assert_eq!(source.seq, 3),
        other => panic!("{other:?}"),
    }
    let rows = old_chain();
    assert!(matches!(
        migrate_v1("t", &rows, &migration("ada", "  ")),
        Err(MigrateError::NoReason)
    ));
    assert!(matches!(
        migrate_v1("t", &rows, &migration("ina", "r")),
        Err(MigrateError::NotAdmin { .. })
    ));
    assert!(matches!(
        migrate_v1("t", &[], &migration("ada", "r")),
        Err(MigrateError::Empty { .. })
    ));
}
