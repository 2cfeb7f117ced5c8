//! Sealed values: what the hash chain commits to without revealing.
//!
//! A concealed value (an arm, a list position, the seed, the design, an
//! arm-specific form's value, a session) never enters an event's hashed body.
//! In its place the body carries a *commitment*:
//!
//! ```text
//! commitment = lower-case hex SHA-256( nonce (32 bytes) || JCS(value) )
//! ```
//!
//! where `JCS(value)` is the value in canonical JSON (RFC 8785, see
//! [`crate::canonical`]). The nonce and the value (the *opening*) are kept
//! beside the body, never inside it, and only roles entitled to the value
//! receive them. Anyone can verify the chain from the bodies alone; a holder
//! of an opening also checks that it matches its commitment.
//!
//! Nonces are 256-bit and unpredictable: each is
//! `HMAC-SHA256(seal_key, "rct-nonce/v1" 0x00 trial 0x00 seq 0x00 field)`
//! under the trial's 256-bit sealing key, drawn from the operating system when
//! the trial is created and itself sealed in the registration event (so the
//! record stays a pure function of its inputs, and no nonce is ever reused).
//!
//! Two levels:
//! - **fields**: named payload fields are replaced by
//!   `"sealed": {"field": commitment, ...}` (one commitment per field, so an
//!   emergency code-break opens the arm and not the list position);
//! - **whole**: events whose mere existence reveals an arm (a session of the
//!   exercise arm, a value of an arm-specific form, a query about one) keep
//!   only `at`, `prev_hash`, `seq`, `trial`, `v` and
//!   `"payload": {"sealed": {"event": commitment}, "type": "sealed"}`; the
//!   opening of `event` holds `actor`, `payload`, `reason`, `role` and `site`.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::canonical::to_canonical;

/// The name under which a whole-sealed event's opening is kept.
pub const WHOLE: &str = "event";

/// How much of an event is sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealSpec {
    /// Nothing concealed.
    Open,
    /// These payload fields are replaced by commitments.
    Fields(Vec<&'static str>),
    /// Everything but the event's place and time.
    Whole,
}

/// One opening: the nonce and the value a commitment was made to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Opening {
    /// 64 lower-case hex digits.
    pub nonce: String,
    /// The concealed value.
    pub value: Value,
}

impl Opening {
    /// The commitment this opening opens.
    pub fn commitment(&self) -> String {
        commitment(&self.nonce, &self.value)
    }
}

/// `SHA-256(nonce bytes || JCS(value))` as lower-case hex (a nonce that is
/// not hex is hashed as its text, so a forged opening simply fails to match).
pub fn commitment(nonce_hex: &str, value: &Value) -> String {
    let mut h = Sha256::new();
    match hex::decode(nonce_hex) {
        Ok(bytes) => h.update(bytes),
        Err(_) => h.update(nonce_hex.as_bytes()),
    }
    h.update(to_canonical(value).as_bytes());
    hex::encode(h.finalize())
}

/// The nonce of `field` of event `seq` of `trial` under `key`.
pub fn nonce(key: &[u8; 32], trial: &str, seq: u64, field: &str) -> String {
    // HMAC accepts keys of any length; a 32-byte key cannot be refused.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(b"rct-nonce/v1");
    mac.update(&[0]);
    mac.update(trial.as_bytes());
    mac.update(&[0]);
    mac.update(seq.to_string().as_bytes());
    mac.update(&[0]);
    mac.update(field.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The openings of one event, by field (or [`WHOLE`]): stored beside the
/// body as their canonical JSON.
pub type Openings = BTreeMap<String, Opening>;

/// Reads a stored openings text.
pub fn parse_openings(text: &str) -> Result<Openings, serde_json::Error> {
    serde_json::from_str(text)
}

/// The canonical JSON of openings (what a store keeps).
pub fn openings_text(openings: &Openings) -> String {
    to_canonical(&serde_json::to_value(openings).unwrap_or(Value::Null))
}

/// Reads a 64-hex-digit key.
pub fn parse_key(text: &str) -> Option<[u8; 32]> {
    let mut key = [0u8; 32];
    hex::decode_to_slice(text, &mut key).ok()?;
    Some(key)
}

/// The two secrets a trial is registered with: the allocation seed and the
/// sealing key. Edges draw them from the operating system
/// (`rct_store::secrets::draw`); the record only carries them, sealed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TrialSecrets {
    /// Seed of the allocation lists.
    pub seed: rct_random::TrialSeed,
    /// Key every nonce derives from.
    pub seal_key: [u8; 32],
}

impl std::fmt::Debug for TrialSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TrialSecrets(..)")
    }
}

impl TrialSecrets {
    /// Predictable secrets from a number: for tests and reproducible
    /// examples ONLY (anyone who knows `n` can open every commitment and
    /// predict every allocation). The seed is the bare number, so the lists
    /// equal `rct randomise list --seed n`.
    pub fn insecure_for_tests(n: u64) -> TrialSecrets {
        let mut h = Sha256::new();
        h.update(b"rct-insecure-test-seal-key");
        h.update(n.to_le_bytes());
        TrialSecrets {
            seed: rct_random::TrialSeed::Number(n),
            seal_key: h.finalize().into(),
        }
    }

    /// The sealing key as 64 hex digits (as the registration command takes it).
    pub fn seal_key_hex(&self) -> String {
        hex::encode(self.seal_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn commitment_is_sha256_of_nonce_bytes_and_jcs_value() {
        // Reference: Python hashlib, computed independently:
        // hashlib.sha256(bytes.fromhex("00"*31 + "01") + b'{"a":1.5,"b":"x"}').hexdigest()
        let nonce = "00".repeat(31) + "01";
        let c = commitment(&nonce, &json!({"b": "x", "a": 1.5}));
        assert_eq!(
            c,
            "7bedfe35c6f4f37fc9f440228773055372eaa5965a5eeab1fc6f0fbe413f5251"
        );
    }

    #[test]
    fn nonces_differ_by_event_and_field_and_key() {
        let k = [7u8; 32];
        let a = nonce(&k, "t", 1, "arm");
        assert_eq!(a.len(), 64);
        assert_ne!(a, nonce(&k, "t", 2, "arm"));
        assert_ne!(a, nonce(&k, "t", 1, "position"));
        assert_ne!(a, nonce(&[8u8; 32], "t", 1, "arm"));
        assert_eq!(a, nonce(&k, "t", 1, "arm"));
    }
}
