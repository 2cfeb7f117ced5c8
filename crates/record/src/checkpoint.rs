//! Signed checkpoints: a trial's head (sequence number and hash) at a time,
//! signed with the server's Ed25519 key, and the audit of a stored chain
//! against them.
//!
//! The hash chain alone shows that no event was changed *relative to the
//! ones after it*; it cannot show that the last events were removed, that a
//! correctly linked event was appended by someone else, or that the chain
//! was recomputed from an edit onward. A checkpoint fixes the head at a
//! moment: anyone holding the public key can check that the stored event at
//! the checkpoint's sequence number still has the signed hash (and, through
//! the chain, so do all events before it), and that nothing after the last
//! checkpoint went unsigned.
//!
//! # What is signed
//! The signature is Ed25519 (RFC 8032, "pure" Ed25519, no pre-hashing) over
//! the UTF-8 bytes of the *checkpoint text*, five lines each ending in one
//! line feed (`\n`, 0x0A), no other whitespace:
//!
//! ```text
//! rct checkpoint v1
//! trial LUPEX
//! seq 25
//! hash 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//! at 2026-11-23T09:30:00Z
//! ```
//!
//! - `trial`: the trial identifier as stored (no control characters);
//! - `seq`: the head's sequence number in plain decimal;
//! - `hash`: the head event's hash, 64 lower-case hex digits;
//! - `at`: when it was signed, RFC 3339 UTC, whole seconds, `Z` suffix.
//!
//! The public key is the 32-byte Ed25519 key, written as 64 lower-case hex
//! digits; the signature is 64 bytes, 128 hex digits. A key's *fingerprint*
//! is the first 16 hex digits of the SHA-256 of the 32 key bytes.
//!
//! This module is pure: signing takes the key and the time as parameters;
//! generating and keeping the key is the edge's work.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::chain::StoredEvent;

/// First line of the checkpoint text (names the format and its version).
pub const CHECKPOINT_HEADER: &str = "rct checkpoint v1";

/// A signed statement "trial T had event `seq` with hash `hash` as its head
/// at time `at`".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Trial identifier.
    pub trial: String,
    /// Sequence number of the head signed.
    pub seq: u64,
    /// Hash of that event (lower-case hex SHA-256).
    pub hash: String,
    /// When it was signed (whole seconds, UTC).
    pub at: DateTime<Utc>,
    /// The signer's Ed25519 public key (64 lower-case hex digits).
    pub public_key: String,
    /// Ed25519 signature of [`checkpoint_text`] (128 lower-case hex digits).
    pub signature: String,
}

/// Why a checkpoint cannot be made or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The trial identifier would make the signed text ambiguous.
    #[error("trial `{trial}`: a trial identifier with control characters cannot be signed")]
    BadTrial {
        /// The identifier.
        trial: String,
    },
    /// The hash is not 64 lower-case hex digits.
    #[error("`{hash}` is not a hash (64 lower-case hex digits expected)")]
    BadHash {
        /// What was given.
        hash: String,
    },
    /// The public key is not a valid Ed25519 key.
    #[error("`{key}` is not an Ed25519 public key ({detail}); give 64 hex digits as printed by `rct serve` or `rct audit checkpoint`")]
    BadKey {
        /// What was given.
        key: String,
        /// Why.
        detail: String,
    },
    /// The signature is malformed or does not verify.
    #[error("checkpoint of trial `{trial}` at event {seq}: {detail}")]
    BadSignature {
        /// Trial.
        trial: String,
        /// Sequence number.
        seq: u64,
        /// Why.
        detail: String,
    },
}

/// The exact text that is signed (see the module documentation).
pub fn checkpoint_text(
    trial: &str,
    seq: u64,
    hash: &str,
    at: DateTime<Utc>,
) -> Result<String, CheckpointError> {
    if trial.is_empty() || trial.chars().any(char::is_control) {
        return Err(CheckpointError::BadTrial {
            trial: trial.escape_debug().to_string(),
        });
    }
    if !is_hex(hash, 64) {
        return Err(CheckpointError::BadHash {
            hash: hash.chars().take(80).collect(),
        });
    }
    Ok(format!(
        "{CHECKPOINT_HEADER}\ntrial {trial}\nseq {seq}\nhash {hash}\nat {}\n",
        at.to_rfc3339_opts(SecondsFormat::Secs, true)
    ))
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Reads a public key from 64 hex digits.
pub fn parse_public_key(hex_key: &str) -> Result<VerifyingKey, CheckpointError> {
    let bad = |detail: &str| CheckpointError::BadKey {
        key: hex_key.chars().take(80).collect(),
        detail: detail.into(),
    };
    let key = hex_key.trim().to_ascii_lowercase();
    if !is_hex(&key, 64) {
        return Err(bad("not 64 hex digits"));
    }
    let bytes: [u8; 32] = hex::decode(&key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad("not 64 hex digits"))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| bad("not a point on the curve"))
}

/// The public key as 64 lower-case hex digits.
pub fn public_key_hex(key: &VerifyingKey) -> String {
    hex::encode(key.as_bytes())
}

/// The first 16 hex digits of the SHA-256 of the 32 public key bytes.
pub fn fingerprint(key: &VerifyingKey) -> String {
    let digest = hex::encode(Sha256::digest(key.as_bytes()));
    digest[..16].to_string()
}

impl Checkpoint {
    /// Signs the head `seq`/`hash` of `trial` at `at` (truncated to whole
    /// seconds, as the text carries them).
    pub fn sign(
        key: &SigningKey,
        trial: &str,
        seq: u64,
        hash: &str,
        at: DateTime<Utc>,
    ) -> Result<Checkpoint, CheckpointError> {
        let at = at.with_nanosecond(0).unwrap_or(at);
        let text = checkpoint_text(trial, seq, hash, at)?;
        let signature = key.sign(text.as_bytes());
        Ok(Checkpoint {
            trial: trial.to_string(),
            seq,
            hash: hash.to_string(),
            at,
            public_key: public_key_hex(&key.verifying_key()),
            signature: hex::encode(signature.to_bytes()),
        })
    }

    /// The text this checkpoint signs.
    pub fn text(&self) -> Result<String, CheckpointError> {
        checkpoint_text(&self.trial, self.seq, &self.hash, self.at)
    }

    /// The fingerprint of the key it names (or the first 16 characters of
    /// the stored key text when that is not a key).
    pub fn key_fingerprint(&self) -> String {
        parse_public_key(&self.public_key)
            .map(|k| fingerprint(&k))
            .unwrap_or_else(|_| self.public_key.chars().take(16).collect())
    }

    /// Checks the signature under the public key the checkpoint names
    /// (strict verification: no malleable or small-order signatures).
    pub fn verify(&self) -> Result<VerifyingKey, CheckpointError> {
        let bad = |detail: String| CheckpointError::BadSignature {
            trial: self.trial.clone(),
            seq: self.seq,
            detail,
        };
        let key = parse_public_key(&self.public_key).map_err(|e| bad(e.to_string()))?;
        let text = self.text().map_err(|e| bad(e.to_string()))?;
        if !is_hex(&self.signature, 128) {
            return Err(bad("the signature is not 128 lower-case hex digits".into()));
        }
        let bytes: [u8; 64] = hex::decode(&self.signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad("the signature is not 128 hex digits".into()))?;
        key.verify_strict(text.as_bytes(), &Signature::from_bytes(&bytes))
            .map_err(|_| {
                bad("the signature does not verify: the checkpoint was forged or altered".into())
            })?;
        Ok(key)
    }
}

/// A head published outside the database (e.g. sent to the sponsor):
/// `SEQ:HASH`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishedHead {
    /// Sequence number.
    pub seq: u64,
    /// Hash of that event.
    pub hash: String,
}

impl std::str::FromStr for PublishedHead {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (seq, hash) = s
            .split_once(':')
            .ok_or_else(|| format!("`{s}` is not SEQ:HASH (e.g. 25:9f86d0...)"))?;
        let seq: u64 = seq
            .trim()
            .parse()
            .map_err(|_| format!("`{seq}` in `{s}` is not a sequence number"))?;
        let hash = hash.trim().to_ascii_lowercase();
        if !is_hex(&hash, 64) {
            return Err(format!(
                "`{hash}` in `{s}` is not a hash (64 hex digits expected)"
            ));
        }
        Ok(PublishedHead { seq, hash })
    }
}

/// What is wrong between the stored chain and its checkpoints or a
/// published head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A stored checkpoint's signature does not verify (forged or altered).
    BadSignature,
    /// A checkpoint is signed by another key than the one trusted.
    UntrustedKey,
    /// The chain ends before a signed (or published) head: events deleted.
    Truncated,
    /// A signed (or published) head's event is not stored although later
    /// ones are.
    Missing,
    /// The stored event at a signed (or published) head has another hash:
    /// the chain was rewritten.
    Rewritten,
    /// Events after the latest checkpoint carry no signature.
    UnsignedTail,
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What kind.
    pub kind: FindingKind,
    /// The event it is about.
    pub seq: u64,
    /// Explanation for a person.
    pub detail: String,
}

/// The latest checkpoint that verifies and matches the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckpointSummary {
    /// Sequence number signed.
    pub seq: u64,
    /// When.
    pub at: DateTime<Utc>,
    /// Fingerprint of the signing key.
    pub key: String,
}

/// The outcome of [`audit_checkpoints`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckpointAudit {
    /// The latest checkpoint that verifies and matches the stored chain.
    pub latest: Option<CheckpointSummary>,
    /// Checkpoints read.
    pub checkpoints: usize,
    /// Stored events after `latest` (first, last), if any: not covered by
    /// a signature.
    pub unsigned: Option<(u64, u64)>,
    /// Problems other than the unsigned tail, most serious first.
    pub findings: Vec<Finding>,
}

impl CheckpointAudit {
    /// Whether nothing is wrong (an unsigned tail counts unless allowed).
    pub fn ok(&self, allow_unsigned_tail: bool) -> bool {
        self.findings.is_empty() && (allow_unsigned_tail || self.unsigned.is_none())
    }

    /// The unsigned tail as a finding.
    pub fn unsigned_finding(&self) -> Option<Finding> {
        let (first, last) = self.unsigned?;
        let since = match &self.latest {
            Some(c) => format!("the latest checkpoint (event {}, {})", c.seq, stamp(c.at)),
            None => "any checkpoint (there is none)".to_string(),
        };
        let events = if first == last {
            format!("event {first} is")
        } else {
            format!("events {first}-{last} are")
        };
        Some(Finding {
            kind: FindingKind::UnsignedTail,
            seq: first,
            detail: format!(
                "{events} not covered by a signature: written after {since}, by a writer without the key or forged; \
                 if they are genuine, sign them with `rct audit checkpoint`"
            ),
        })
    }
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// Checks the stored rows of `trial` (in the store's order; the chain
/// itself is checked by [`crate::verify_chain`]) against its stored
/// checkpoints and the heads published elsewhere.
///
/// A checkpoint counts when its signature verifies (under `trusted` when
/// given, else under the key it names). Every counting checkpoint and every
/// published head must name a stored event with the same hash; events after
/// the latest counting checkpoint are the unsigned tail.
pub fn audit_checkpoints(
    trial: &str,
    rows: &[StoredEvent],
    checkpoints: &[Checkpoint],
    trusted: Option<&VerifyingKey>,
    heads: &[PublishedHead],
) -> CheckpointAudit {
    let stored: BTreeMap<u64, &str> = rows.iter().map(|r| (r.seq, r.hash.as_str())).collect();
    let head = stored.keys().next_back().copied().unwrap_or(0);
    audit_checkpoint_hashes(trial, &stored, head, checkpoints, trusted, heads)
}

/// The sequence numbers whose stored hashes [`audit_checkpoint_hashes`]
/// looks up: those of the checkpoints and of the published heads.
pub fn checkpoint_seqs(checkpoints: &[Checkpoint], heads: &[PublishedHead]) -> BTreeSet<u64> {
    checkpoints
        .iter()
        .map(|c| c.seq)
        .chain(heads.iter().map(|h| h.seq))
        .collect()
}

/// [`audit_checkpoints`] from the stored hashes it needs alone: `stored`
/// maps each stored sequence number of [`checkpoint_seqs`] to its stored
/// hash (the last row of that number, as the store orders them), and
/// `head` is the highest stored sequence number (0 when none). A reader
/// that streams the rows thus need not keep them all.
pub fn audit_checkpoint_hashes(
    trial: &str,
    stored: &BTreeMap<u64, &str>,
    head: u64,
    checkpoints: &[Checkpoint],
    trusted: Option<&VerifyingKey>,
    heads: &[PublishedHead],
) -> CheckpointAudit {
    let mut findings = Vec::new();
    let mut valid: Vec<&Checkpoint> = Vec::new();
    for cp in checkpoints {
        if cp.trial != trial {
            findings.push(Finding {
                kind: FindingKind::BadSignature,
                seq: cp.seq,
                detail: format!(
                    "a checkpoint stored for trial `{trial}` was signed for trial `{}`",
                    cp.trial
                ),
            });
            continue;
        }
        match cp.verify() {
            Err(e) => findings.push(Finding {
                kind: FindingKind::BadSignature,
                seq: cp.seq,
                detail: e.to_string(),
            }),
            Ok(key) if trusted.is_some_and(|t| *t != key) => findings.push(Finding {
                kind: FindingKind::UntrustedKey,
                seq: cp.seq,
                detail: format!(
                    "the checkpoint of event {} ({}) is signed by key {}, not by the trusted key {}: \
                     someone else signed it, or the server's key was replaced",
                    cp.seq,
                    stamp(cp.at),
                    fingerprint(&key),
                    trusted.map(fingerprint).unwrap_or_default()
                ),
            }),
            Ok(_) => valid.push(cp),
        }
    }
    valid.sort_by_key(|c| (c.seq, c.at));

    // Each signed head against the stored chain: the latest one that holds,
    // the first one that does not (between them the chain was rewritten),
    // and the furthest one past the stored head (truncation).
    let mut matching: Option<&Checkpoint> = None;
    let mut rewritten: Option<&Checkpoint> = None;
    let mut missing: Option<&Checkpoint> = None;
    let mut beyond: Option<&Checkpoint> = None;
    for cp in &valid {
        match stored.get(&cp.seq) {
            Some(h) if *h == cp.hash => matching = Some(cp),
            Some(_) => {
                rewritten.get_or_insert(cp);
            }
            None if cp.seq > head => beyond = Some(cp),
            None => {
                missing.get_or_insert(cp);
            }
        }
    }
    if let Some(cp) = beyond {
        findings.push(Finding {
            kind: FindingKind::Truncated,
            seq: head + 1,
            detail: format!(
                "the checkpoint signed {} covers event {}, but the stored chain ends at event {head}: \
                 events {}-{} were deleted",
                stamp(cp.at),
                cp.seq,
                head + 1,
                cp.seq
            ),
        });
    }
    if let Some(cp) = rewritten {
        let since = matching.filter(|m| m.seq < cp.seq).map_or(1, |m| m.seq + 1);
        findings.push(Finding {
            kind: FindingKind::Rewritten,
            seq: cp.seq,
            detail: format!(
                "event {} hashes to {}, but the checkpoint signed {} says {}: \
                 the chain was rewritten at an event from {since} to {}",
                cp.seq,
                short(stored.get(&cp.seq).copied().unwrap_or_default()),
                stamp(cp.at),
                short(&cp.hash),
                cp.seq
            ),
        });
    }
    if let Some(cp) = missing {
        findings.push(Finding {
            kind: FindingKind::Missing,
            seq: cp.seq,
            detail: format!(
                "event {}, signed {}, is not stored: it was deleted",
                cp.seq,
                stamp(cp.at)
            ),
        });
    }
    for h in heads {
        match stored.get(&h.seq) {
            Some(s) if *s == h.hash => {}
            Some(s) => findings.push(Finding {
                kind: FindingKind::Rewritten,
                seq: h.seq,
                detail: format!(
                    "the published head says event {} has hash {}, the stored event has {}: the chain was rewritten",
                    h.seq,
                    short(&h.hash),
                    short(s)
                ),
            }),
            None if h.seq > head => findings.push(Finding {
                kind: FindingKind::Truncated,
                seq: head + 1,
                detail: format!(
                    "the published head is event {}, but the stored chain ends at event {head}: events {}-{} were deleted",
                    h.seq,
                    head + 1,
                    h.seq
                ),
            }),
            None => findings.push(Finding {
                kind: FindingKind::Missing,
                seq: h.seq,
                detail: format!("event {} of the published head is not stored: it was deleted", h.seq),
            }),
        }
    }
    let covered = matching.map_or(0, |c| c.seq);
    CheckpointAudit {
        latest: matching.map(|c| CheckpointSummary {
            seq: c.seq,
            at: c.at,
            key: c.key_fingerprint(),
        }),
        checkpoints: checkpoints.len(),
        unsigned: (head > covered).then_some((covered + 1, head)),
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::tests_support::chain;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    fn at() -> DateTime<Utc> {
        "2026-11-23T09:30:00.75Z".parse().unwrap()
    }

    #[test]
    fn text_is_the_documented_five_lines() {
        let hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let cp = Checkpoint::sign(&key(1), "LUPEX", 25, hash, at()).unwrap();
        assert_eq!(
            cp.text().unwrap(),
            format!(
                "rct checkpoint v1\ntrial LUPEX\nseq 25\nhash {hash}\nat 2026-11-23T09:30:00Z\n"
            )
        );
        assert!(checkpoint_text("a\nseq 1", 1, hash, at()).is_err());
        assert!(checkpoint_text("T", 1, &hash.to_uppercase(), at()).is_err());
    }

    #[test]
    fn rfc8032_test_vector_1() {
        // RFC 8032 section 7.1, TEST 1: the empty message.
        let secret: [u8; 32] =
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap()
                .try_into()
                .unwrap();
        let sk = SigningKey::from_bytes(&secret);
        assert_eq!(
            public_key_hex(&sk.verifying_key()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        assert_eq!(
            hex::encode(sk.sign(b"").to_bytes()),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
    }

    #[test]
    fn signature_verifies_and_any_change_breaks_it() {
        let hash = "ab".repeat(32);
        let cp = Checkpoint::sign(&key(2), "T", 7, &hash, at()).unwrap();
        assert_eq!(cp.verify().unwrap(), key(2).verifying_key());
        let mut later = cp.clone();
        later.seq = 8;
        assert!(later.verify().is_err());
        let mut other = cp.clone();
        other.public_key = public_key_hex(&key(3).verifying_key());
        assert!(other.verify().is_err());
        let mut garbled = cp;
        garbled.signature = "00".repeat(64);
        assert!(garbled.verify().is_err());
    }

    #[test]
    fn published_heads_parse() {
        let h: PublishedHead = format!("12:{}", "AB".repeat(32)).parse().unwrap();
        assert_eq!((h.seq, h.hash), (12, "ab".repeat(32)));
        assert!("12".parse::<PublishedHead>().is_err());
        assert!("x:ab".parse::<PublishedHead>().is_err());
        assert!("12:abc".parse::<PublishedHead>().is_err());
    }

    fn sign_at(rows: &[StoredEvent], seq: u64, k: &SigningKey) -> Checkpoint {
        Checkpoint::sign(k, "t", seq, &rows[seq as usize - 1].hash, at()).unwrap()
    }

    #[test]
    fn intact_and_signed_through_the_head() {
        let rows = chain(8);
        let cps = [sign_at(&rows, 4, &key(1)), sign_at(&rows, 8, &key(1))];
        let trusted = key(1).verifying_key();
        let a = audit_checkpoints("t", &rows, &cps, Some(&trusted), &[]);
        assert!(a.ok(false), "{a:?}");
        assert_eq!(a.latest.unwrap().seq, 8);
    }

    #[test]
    fn truncation_below_a_checkpoint_is_caught() {
        let rows = chain(8);
        let cps = [sign_at(&rows, 8, &key(1))];
        let a = audit_checkpoints("t", &rows[..6], &cps, None, &[]);
        assert_eq!(a.findings[0].kind, FindingKind::Truncated);
        assert_eq!(a.findings[0].seq, 7);
        assert!(!a.ok(true));
    }

    #[test]
    fn an_append_after_the_checkpoint_is_unsigned() {
        let rows = chain(9);
        let cps = [sign_at(&rows, 8, &key(1))];
        let a = audit_checkpoints("t", &rows, &cps, None, &[]);
        assert!(a.findings.is_empty());
        assert_eq!(a.unsigned, Some((9, 9)));
        assert!(!a.ok(false));
        assert!(a.ok(true));
        assert!(a.unsigned_finding().unwrap().detail.contains("event 9 is"));
    }

    #[test]
    fn a_recomputed_chain_is_caught_between_checkpoints() {
        let rows = chain(8);
        let cps = [sign_at(&rows, 3, &key(1)), sign_at(&rows, 6, &key(1))];
        let mut forged = rows.clone();
        forged[5].hash = "cd".repeat(32);
        let a = audit_checkpoints("t", &forged, &cps, None, &[]);
        assert_eq!(a.findings.len(), 1);
        let f = &a.findings[0];
        assert_eq!((f.kind, f.seq), (FindingKind::Rewritten, 6));
        assert!(f.detail.contains("from 4 to 6"), "{}", f.detail);
        assert_eq!(a.latest.unwrap().seq, 3);
    }

    #[test]
    fn forged_and_untrusted_checkpoints_do_not_count() {
        let rows = chain(8);
        let mut bad = sign_at(&rows, 8, &key(1));
        bad.at = "2027-01-01T00:00:00Z".parse().unwrap();
        let foreign = sign_at(&rows, 8, &key(9));
        let trusted = key(1).verifying_key();
        let a = audit_checkpoints("t", &rows, &[bad, foreign], Some(&trusted), &[]);
        let kinds: Vec<FindingKind> = a.findings.iter().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            [FindingKind::BadSignature, FindingKind::UntrustedKey]
        );
        assert_eq!(a.unsigned, Some((1, 8)));
    }

    #[test]
    fn published_head_must_match() {
        let rows = chain(8);
        let cps = [sign_at(&rows, 8, &key(1))];
        let good = PublishedHead {
            seq: 5,
            hash: rows[4].hash.clone(),
        };
        let wrong = PublishedHead {
            seq: 5,
            hash: "ee".repeat(32),
        };
        let past = PublishedHead {
            seq: 12,
            hash: "ee".repeat(32),
        };
        assert!(audit_checkpoints("t", &rows, &cps, None, std::slice::from_ref(&good)).ok(false));
        let a = audit_checkpoints("t", &rows, &cps, None, &[wrong, past]);
        let got: Vec<(FindingKind, u64)> = a.findings.iter().map(|f| (f.kind, f.seq)).collect();
        assert_eq!(
            got,
            [(FindingKind::Rewritten, 5), (FindingKind::Truncated, 9)]
        );
    }
}
