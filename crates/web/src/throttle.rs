//! Login throttling: growing delays after failed logins, per account (the
//! user name tried, whether or not it exists) and per client address, kept
//! in the server's memory.
//!
//! An attempt is charged as a failure *before* the password is checked (so
//! parallel attempts cannot slip through while one is being hashed) and the
//! charge is taken back when it succeeds: a success clears the account's
//! count and returns the client's to what it was. While either count's
//! delay runs, attempts are refused at once (HTTP 429 with `Retry-After`),
//! before any lookup or hashing; nothing sleeps. No count ever locks an
//! account: only an administrator locks one.
//!
//! The client is the peer address of the connection: behind a reverse proxy
//! that is the proxy's address, so every user shares one client count (run
//! the server where it sees clients' own addresses, or rely on the
//! per-account delays). IPv6 clients are counted per /64 network, the block
//! one subscriber usually holds. The table holds at most
//! [`ThrottleConfig::max_entries`] counts; when full the count touched
//! longest ago is dropped, and a count without a failure for
//! [`ThrottleConfig::forget_after`] is forgotten.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// The delay schedule and the size of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Failures without any delay.
    pub free_failures: u32,
    /// The delay after the first failure beyond the free ones; each further
    /// failure doubles it.
    pub first_delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
    /// A count without a failure for this long is forgotten.
    pub forget_after: Duration,
    /// The most counts kept (accounts and clients together).
    pub max_entries: usize,
}

impl Default for ThrottleConfig {
    /// Three free failures, then 1 s, 2 s, 4 s, ... up to 15 minutes;
    /// forgotten after a day without failures; at most 100,000 counts.
    fn default() -> Self {
        ThrottleConfig {
            free_failures: 3,
            first_delay: Duration::seconds(1),
            max_delay: Duration::minutes(15),
            forget_after: Duration::hours(24),
            max_entries: 100_000,
        }
    }
}

impl ThrottleConfig {
    /// The wait after `failures` failures in a row.
    pub fn delay(&self, failures: u32) -> Duration {
        if failures <= self.free_failures {
            return Duration::zero();
        }
        let doublings = failures - self.free_failures - 1;
        let factor = 1i32.checked_shl(doublings).filter(|f| *f > 0);
        factor
            .and_then(|f| self.first_delay.checked_mul(f))
            .map_or(self.max_delay, |d| d.min(self.max_delay))
    }
}

/// What a count is kept for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// A user name tried.
    Account(String),
    /// A client address (IPv6 per /64), or `unknown`.
    Client(String),
}

impl Key {
    /// The count of a client: IPv4 per address, IPv6 per /64 network
    /// (an IPv4-mapped IPv6 address counts as its IPv4 address).
    pub fn client(addr: Option<SocketAddr>) -> Key {
        Key::Client(client_text(addr))
    }
}

/// The text a client is counted (and logged) under.
pub fn client_text(addr: Option<SocketAddr>) -> String {
    match addr.map(|a| a.ip()) {
        None => "unknown".to_string(),
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[derive(Debug, Clone)]
struct Count {
    failures: u32,
    last: DateTime<Utc>,
    until: DateTime<Utc>,
    tick: u64,
}

#[derive(Debug, Default)]
struct Table {
    counts: HashMap<Key, Count>,
    /// Counts by the tick they were last touched at (oldest first).
    order: BTreeMap<u64, Key>,
    next_tick: u64,
}

impl Table {
    fn remove(&mut self, key: &Key) -> Option<Count> {
        let c = self.counts.remove(key)?;
        self.order.remove(&c.tick);
        Some(c)
    }

    fn put(&mut self, key: Key, mut count: Count, max: usize) {
        if let Some(old) = self.counts.get(&key) {
            self.order.remove(&old.tick);
        }
        count.tick = self.next_tick;
        self.next_tick += 1;
        self.order.insert(count.tick, key.clone());
        self.counts.insert(key, count);
        while self.counts.len() > max.max(1) {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.counts.remove(&oldest);
        }
    }

    /// Drops counts not touched for `forget_after` (oldest first, so the
    /// work is proportional to what is dropped).
    fn forget(&mut self, now: DateTime<Utc>, forget_after: Duration) {
        while let Some((_, key)) = self.order.first_key_value() {
            let stale = self
                .counts
                .get(key)
                .is_none_or(|c| now - c.last >= forget_after);
            if !stale {
                break;
            }
            if let Some((_, key)) = self.order.pop_first() {
                self.counts.remove(&key);
            }
        }
    }
}

/// The throttle: counts of failed logins with their delays.
#[derive(Debug)]
pub struct Throttle {
    config: ThrottleConfig,
    table: Mutex<Table>,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::new(ThrottleConfig::default())
    }
}

/// Whole seconds to wait, rounded up (at least 1).
pub fn retry_after_seconds(wait: Duration) -> u64 {
    let ms = wait.num_milliseconds().max(1);
    u64::try_from(ms.div_euclid(1000) + i64::from(ms.rem_euclid(1000) != 0)).unwrap_or(1)
}

impl Throttle {
    /// A throttle with this schedule.
    pub fn new(config: ThrottleConfig) -> Throttle {
        Throttle {
            config,
            table: Mutex::default(),
        }
    }

    /// The schedule.
    pub fn config(&self) -> &ThrottleConfig {
        &self.config
    }

    /// Starts an attempt for `keys` at `now`: refused with the time left
    /// when any key's delay still runs; otherwise charged to every key as a
    /// failure (see [`Throttle::succeeded`]).
    pub fn begin(&self, keys: &[Key], now: DateTime<Utc>) -> Result<(), Duration> {
        let Ok(mut t) = self.table.lock() else {
            // A poisoned table throttles nothing rather than refusing everyone.
            return Ok(());
        };
        t.forget(now, self.config.forget_after);
        let wait = keys
            .iter()
            .filter_map(|k| t.counts.get(k))
            .map(|c| c.until - now)
            .max()
            .filter(|w| *w > Duration::zero());
        if let Some(w) = wait {
            return Err(w);
        }
        for k in keys {
            let failures = t.counts.get(k).map_or(0, |c| c.failures).saturating_add(1);
            let count = Count {
                failures,
                last: now,
                until: now + self.config.delay(failures),
                tick: 0,
            };
            t.put(k.clone(), count, self.config.max_entries);
        }
        Ok(())
    }

    /// Takes back the charge of a successful attempt: the account's count
    /// is cleared, the client's goes back down by one and its delay ends.
    pub fn succeeded(&self, account: &Key, client: &Key, now: DateTime<Utc>) {
        let Ok(mut t) = self.table.lock() else {
            return;
        };
        t.remove(account);
        if let Some(mut c) = t.remove(client) {
            c.failures = c.failures.saturating_sub(1);
            if c.failures > 0 {
                c.until = now;
                t.put(client.clone(), c, self.config.max_entries);
            }
        }
    }

    /// The failures counted for `key`.
    pub fn failures(&self, key: &Key) -> u32 {
        self.table
            .lock()
            .ok()
            .and_then(|t| t.counts.get(key).map(|c| c.failures))
            .unwrap_or(0)
    }

    /// The number of counts held.
    pub fn len(&self) -> usize {
        self.table.lock().map_or(0, |t| t.counts.len())
    }

    /// Whether no count is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        "2026-03-01T10:00:00Z".parse().unwrap()
    }

    fn acc(name: &str) -> Key {
        Key::Account(name.into())
    }

    #[test]
    fn the_schedule_is_free_then_doubles_up_to_the_cap() {
        let c = ThrottleConfig::default();
        let secs: Vec<i64> = (1..=16).map(|n| c.delay(n).num_seconds()).collect();
        assert_eq!(
            secs,
            vec![0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]
        );
        assert_eq!(c.delay(u32::MAX), Duration::minutes(15));
        assert_eq!(c.delay(40), Duration::minutes(15));
    }

    #[test]
    fn attempts_wait_out_the_delay_and_a_success_clears_the_account() {
        let th = Throttle::default();
        let client = Key::client(Some("192.0.2.7:5000".parse().unwrap()));
        let keys = [acc("nurse"), client.clone()];
        let mut now = t0();
        for _ in 0..4 {
            th.begin(&keys, now).unwrap();
        }
        // Four failures: one second to wait, refused until it has passed.
        let wait = th.begin(&keys, now).unwrap_err();
        assert_eq!(wait, Duration::seconds(1));
        assert_eq!(retry_after_seconds(wait), 1);
        now += Duration::milliseconds(999);
        assert!(th.begin(&keys, now).is_err());
        now += Duration::milliseconds(1);
        th.begin(&keys, now).unwrap();
        assert_eq!(th.begin(&keys, now).unwrap_err(), Duration::seconds(2));
        // A refused attempt is not counted.
        assert_eq!(th.failures(&acc("nurse")), 5);
        now += Duration::seconds(2);
        th.begin(&keys, now).unwrap();
        th.succeeded(&keys[0], &client, now);
        assert_eq!(th.failures(&acc("nurse")), 0);
        assert_eq!(th.failures(&client), 5);
        // The client's delay ended with the success; its count did not.
        th.begin(&[acc("other"), client.clone()], now).unwrap();
        assert!(th.begin(&[acc("third"), client.clone()], now).is_err());
    }

    #[test]
    fn a_client_is_slowed_across_many_names() {
        let th = Throttle::default();
        let client = Key::client(Some("[2001:db8:1:2:aaaa::1]:443".parse().unwrap()));
        assert_eq!(client, Key::Client("2001:db8:1:2::/64".into()));
        let other_in_same_net = Key::client(Some("[2001:db8:1:2:bbbb::9]:1".parse().unwrap()));
        for i in 0..4 {
            th.begin(&[acc(&format!("n{i}")), client.clone()], t0())
                .unwrap();
        }
        assert!(th.begin(&[acc("fresh"), other_in_same_net], t0()).is_err());
        // Another client is not slowed.
        let elsewhere = Key::client(Some("198.51.100.1:1".parse().unwrap()));
        th.begin(&[acc("fresh"), elsewhere], t0()).unwrap();
        assert_eq!(
            Key::client(Some("[::ffff:192.0.2.1]:1".parse().unwrap())),
            Key::Client("192.0.2.1".into())
        );
        assert_eq!(Key::client(None), Key::Client("unknown".into()));
    }

    #[test]
    fn the_table_is_bounded_and_forgets() {
        let th = Throttle::new(ThrottleConfig {
            max_entries: 100,
            ..ThrottleConfig::default()
        });
        for i in 0..1000 {
            th.begin(&[acc(&format!("u{i}"))], t0()).unwrap();
        }
        assert_eq!(th.len(), 100);
        assert_eq!(th.failures(&acc("u0")), 0, "the oldest went first");
        assert_eq!(th.failures(&acc("u999")), 1);
        // A day later everything is forgotten.
        th.begin(&[acc("late")], t0() + Duration::hours(24))
            .unwrap();
        assert_eq!(th.len(), 1);
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_seconds(Duration::milliseconds(1)), 1);
        assert_eq!(retry_after_seconds(Duration::milliseconds(1001)), 2);
        assert_eq!(retry_after_seconds(Duration::seconds(900)), 900);
    }
}
