//! An in-memory [`Store`] for tests and for the demo when no file is wanted
//! (its sessions, like its events, end with the process).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use rct_record::{Checkpoint, Event, StoredEvent};

use crate::security::{SecurityEntry, MEMORY_SECURITY_ENTRIES};
use crate::{
    check_append, check_checkpoint, check_links, check_signs_last, Locked, LoginToken, Store,
    StoreError, WebSession,
};

/// Events (and login tokens) held in memory, lost when dropped.
#[derive(Debug, Default)]
pub struct MemStore {
    inner: Mutex<Inner>,
    security: Mutex<VecDeque<SecurityEntry>>,
    tokens: Mutex<BTreeMap<String, LoginToken>>,
}

#[derive(Debug, Default)]
struct Inner {
    trials: BTreeMap<String, Vec<StoredEvent>>,
    checkpoints: BTreeMap<String, Vec<Checkpoint>>,
    /// Web sessions by their token's SHA-256.
    sessions: BTreeMap<String, WebSession>,
}

impl Inner {
    fn append(&mut self, trial: &str, events: &[Event]) -> Result<(), StoreError> {
        let log = self.trials.entry(trial.to_string()).or_default();
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
        let ended = crate::sessions::ended_by(events);
        if !ended.is_empty() {
            self.sessions.retain(|_, s| !ended.contains(&s.user));
        }
        Ok(())
    }

    fn add_checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        let stored = self
            .trials
            .get(&checkpoint.trial)
            .and_then(|log| log.iter().find(|e| e.seq == checkpoint.seq))
            .map(|e| e.hash.as_str());
        check_checkpoint(checkpoint, stored)?;
        let list = self
            .checkpoints
            .entry(checkpoint.trial.clone())
            .or_default();
        let known = list
            .iter()
            .any(|c| c.seq == checkpoint.seq && c.public_key == checkpoint.public_key);
        if !known {
            list.push(checkpoint.clone());
            list.sort_by_key(|c| (c.seq, c.at));
        }
        Ok(())
    }
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>, StoreError> {
        self.inner
            .lock()
            .map_err(|_| StoreError::Backend("in-memory store poisoned by a panic".into()))
    }

    fn lock_tokens(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, BTreeMap<String, LoginToken>>, StoreError> {
        self.tokens
            .lock()
            .map_err(|_| StoreError::Backend("in-memory store poisoned by a panic".into()))
    }
}

impl Store for MemStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    fn log_security(&self, entry: &SecurityEntry) -> Result<(), StoreError> {
        let mut log = self
            .security
            .lock()
            .map_err(|_| StoreError::Backend("in-memory store poisoned by a panic".into()))?;
        while log.len() >= MEMORY_SECURITY_ENTRIES {
            log.pop_front();
        }
        log.push_back(entry.bounded());
        Ok(())
    }

    fn security_log(&self, limit: usize) -> Result<Vec<SecurityEntry>, StoreError> {
        let log = self
            .security
            .lock()
            .map_err(|_| StoreError::Backend("in-memory store poisoned by a panic".into()))?;
        let skip = log.len().saturating_sub(limit);
        Ok(log.iter().skip(skip).cloned().collect())
    }

    fn trials(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.lock()?.trials.keys().cloned().collect())
    }

    fn load(&self, trial: &str, after: u64) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(self
            .lock()?
            .trials
            .get(trial)
            .map(|events| events.iter().filter(|e| e.seq > after).cloned().collect())
            .unwrap_or_default())
    }

    fn append(&self, trial: &str, events: &[Event]) -> Result<(), StoreError> {
        self.lock()?.append(trial, events)
    }

    fn head(&self, trial: &str) -> Result<u64, StoreError> {
        Ok(self
            .lock()?
            .trials
            .get(trial)
            .and_then(|log| log.last())
            .map_or(0, |e| e.seq))
    }

    fn import(&self, trial: &str, rows: &[StoredEvent], replace: bool) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        let log = inner.trials.entry(trial.to_string()).or_default();
        if !replace && !log.is_empty() {
            return Err(StoreError::NotEmpty {
                what: format!("trial `{trial}` already has {} events", log.len()),
            });
        }
        *log = rows.to_vec();
        if log.is_empty() {
            inner.trials.remove(trial);
        }
        // Checkpoints of the replaced chain do not sign the new one.
        inner.checkpoints.remove(trial);
        Ok(())
    }

    fn add_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        self.lock()?.add_checkpoint(checkpoint)
    }

    fn checkpoints(&self, trial: &str) -> Result<Vec<Checkpoint>, StoreError> {
        Ok(self
            .lock()?
            .checkpoints
            .get(trial)
            .cloned()
            .unwrap_or_default())
    }

    fn append_signed(
        &self,
        trial: &str,
        events: &[Event],
        checkpoint: &Checkpoint,
    ) -> Result<(), StoreError> {
        self.write_locked(trial, &mut |locked| locked.append(events, Some(checkpoint)))
    }

    /// The store's mutex is the lock; a failed `write` is undone.
    fn write_locked(
        &self,
        trial: &str,
        write: &mut dyn FnMut(&mut dyn Locked) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        let events = inner.trials.get(trial).map_or(0, Vec::len);
        let checkpoints = inner.checkpoints.get(trial).cloned();
        let result = write(&mut MemLocked {
            inner: &mut inner,
            trial,
        });
        if result.is_err() {
            if let Some(log) = inner.trials.get_mut(trial) {
                log.truncate(events);
            }
            match checkpoints {
                Some(list) => inner.checkpoints.insert(trial.to_string(), list),
                None => inner.checkpoints.remove(trial),
            };
        }
        result
    }

    fn put_token(&self, token: &LoginToken, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut tokens = self.lock_tokens()?;
        tokens.retain(|_, t| t.valid_at(now));
        tokens.insert(token.sha256.clone(), token.clone());
        Ok(())
    }

    fn token(&self, sha256: &str) -> Result<Option<LoginToken>, StoreError> {
        Ok(self.lock_tokens()?.get(sha256).cloned())
    }

    fn delete_token(&self, sha256: &str) -> Result<bool, StoreError> {
        Ok(self.lock_tokens()?.remove(sha256).is_some())
    }

    fn put_session(&self, session: &WebSession, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut inner = self.lock()?;
        inner.sessions.retain(|_, s| s.valid_at(now));
        inner
            .sessions
            .insert(session.sha256.clone(), session.clone());
        Ok(())
    }

    fn session(&self, sha256: &str) -> Result<Option<WebSession>, StoreError> {
        Ok(self.lock()?.sessions.get(sha256).cloned())
    }

    fn touch_session(&self, sha256: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some(s) = self.lock()?.sessions.get_mut(sha256) {
            s.last_seen = s.last_seen.max(now);
        }
        Ok(())
    }

    fn delete_session(&self, sha256: &str) -> Result<bool, StoreError> {
        Ok(self.lock()?.sessions.remove(sha256).is_some())
    }

    fn end_sessions(&self, user: &str) -> Result<usize, StoreError> {
        let mut inner = self.lock()?;
        let before = inner.sessions.len();
        inner.sessions.retain(|_, s| s.user != user);
        Ok(before - inner.sessions.len())
    }
}

/// [`MemStore::write_locked`]'s view of the store.
struct MemLocked<'a> {
    inner: &'a mut Inner,
    trial: &'a str,
}

impl Locked for MemLocked<'_> {
    fn scan(
        &mut self,
        after: u64,
        visit: &mut dyn FnMut(StoredEvent) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        if let Some(log) = self.inner.trials.get(self.trial) {
            for e in log.iter().filter(|e| e.seq > after) {
                visit(e.clone())?;
            }
        }
        Ok(())
    }

    fn append(
        &mut self,
        events: &[Event],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<(), StoreError> {
        if let Some(c) = checkpoint {
            check_signs_last(self.trial, events, c)?;
        }
        self.inner.append(self.trial, events)?;
        match checkpoint {
            Some(c) => self.inner.add_checkpoint(c),
            None => Ok(()),
        }
    }

    fn latest_checkpoint(&mut self) -> Result<Option<Checkpoint>, StoreError> {
        Ok(self
            .inner
            .checkpoints
            .get(self.trial)
            .and_then(|list| list.last().cloned()))
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
            software: None,
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
                        version: None,
                        given_at: None,
                        obtained_by: None,
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
