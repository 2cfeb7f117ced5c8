//! An in-memory [`Store`] for tests and for the demo when no file is wanted.

use std::collections::BTreeMap;
use std::sync::Mutex;

use rct_record::{Event, StoredEvent};

use crate::{check_append, check_links, Store, StoreError};

/// Events held in memory, lost when dropped.
#[derive(Debug, Default)]
pub struct MemStore {
    trials: Mutex<BTreeMap<String, Vec<StoredEvent>>>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, BTreeMap<String, Vec<StoredEvent>>>, StoreError> {
        self.trials
            .lock()
            .map_err(|_| StoreError::Backend("in-memory store poisoned by a panic".into()))
    }
}

impl Store for MemStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    fn trials(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.lock()?.keys().cloned().collect())
    }

    fn load(&self, trial: &str, after: u64) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(self
            .lock()?
            .get(trial)
            .map(|events| events.iter().filter(|e| e.seq > after).cloned().collect())
            .unwrap_or_default())
    }

    fn append(&self, trial: &str, events: &[Event]) -> Result<(), StoreError> {
        let mut trials = self.lock()?;
        let log = trials.entry(trial.to_string()).or_default();
        let head = log.last().map_or(0, |e| e.seq);
        check_append(trial, head, events)?;
        let bodies: Vec<String> = events.iter().map(Event::canonical_body).collect();
        let head_hash = log
            .last()
            .map_or(rct_record::GENESIS_HASH, |e| e.hash.as_str());
        check_links(trial, head_hash, events, &bodies)?;
        log.extend(events.iter().zip(bodies).map(|(e, body)| StoredEvent {
            seq: e.seq,
            body,
            hash: e.hash.clone(),
            openings: e.openings_text(),
        }));
        Ok(())
    }

    fn head(&self, trial: &str) -> Result<u64, StoreError> {
        Ok(self
            .lock()?
            .get(trial)
            .and_then(|log| log.last())
            .map_or(0, |e| e.seq))
    }

    fn import(&self, trial: &str, rows: &[StoredEvent], replace: bool) -> Result<(), StoreError> {
        let mut trials = self.lock()?;
        let log = trials.entry(trial.to_string()).or_default();
        if !replace && !log.is_empty() {
            return Err(StoreError::NotEmpty {
                what: format!("trial `{trial}` already has {} events", log.len()),
            });
        }
        *log = rows.to_vec();
        if log.is_empty() {
            trials.remove(trial);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ExecuteError, Ledger};
    use chrono::{TimeZone, Utc};
    use rct_record::{EventDraft, Payload, Role};

    fn draft(trial: &str, payload: Payload) -> EventDraft {
        EventDraft {
            trial: trial.into(),
            at: Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap(),
            actor: "alice".into(),
            role: Role::Investigator,
            site: Some("S1".into()),
            reason: None,
            payload,
        }
    }

    fn registered(trial: &str) -> EventDraft {
        draft(
            trial,
            Payload::TrialRegistered {
                title: "T".into(),
                blinded: true,
                arms: vec![],
                design: serde_json::json!({}),
                seed: 1.into(),
                seal_key: Some(rct_record::TrialSecrets::insecure_for_tests(1).seal_key_hex()),
                public_design: None,
            },
        )
    }

    #[test]
    fn ledger_appends_chains_and_verifies() {
        let ledger = Ledger::new(MemStore::new());
        let written = ledger
            .execute("T1", |_| Ok::<_, String>(vec![registered("T1")]))
            .unwrap();
        assert_eq!(written[0].seq, 1);
        let written = ledger
            .execute("T1", |s| {
                assert_eq!(s.seq, 1);
                Ok::<_, String>(vec![draft(
                    "T1",
                    Payload::Consented {
                        participant: "P1".into(),
                    },
                )])
            })
            .unwrap();
        assert_eq!(written[0].seq, 2);
        let first = ledger.store().load("T1", 0).unwrap();
        assert_eq!(written[0].prev_hash, first[0].hash);
        assert_eq!(ledger.state("T1").unwrap().head, written[0].hash);
        let summary = ledger.verify("T1").unwrap();
        assert_eq!(summary.events, 2);
        assert_eq!(summary.head, written[0].hash);
        assert_eq!(ledger.store().trials().unwrap(), vec!["T1".to_string()]);
    }

    #[test]
    fn rejected_command_writes_nothing() {
        let ledger = Ledger::new(MemStore::new());
        let err = ledger
            .execute("T1", |_| Err::<Vec<EventDraft>, _>("no".to_string()))
            .unwrap_err();
        assert!(matches!(err, ExecuteError::Rejected(ref m) if m == "no"));
        assert!(ledger.store().load("T1", 0).unwrap().is_empty());
    }

    #[test]
    fn stale_append_is_a_conflict() {
        let store = MemStore::new();
        let e1 = rct_record::TrialState::new("T1").seal(registered("T1"));
        store.append("T1", std::slice::from_ref(&e1)).unwrap();
        let again = rct_record::TrialState::new("T1").seal(registered("T1"));
        assert!(matches!(
            store.append("T1", &[again]),
            Err(StoreError::Conflict { seq: 1, .. })
        ));
        let gap = draft("T1", Payload::DatabaseLocked).seal(3, &e1.hash);
        assert!(matches!(
            store.append("T1", &[gap]),
            Err(StoreError::BadAppend { .. })
        ));
    }
}
