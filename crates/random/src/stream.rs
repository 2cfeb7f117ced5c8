//! Seeded random streams.
//!
//! Every random number comes from ChaCha20 (`rand_chacha::ChaCha20Rng`, 20
//! rounds, the stream defined by RFC 8439's block function with a 256-bit key).
//! The key of each stream is derived from the trial seed with SHA-256 so that
//! strata, kit codes and minimisation decisions use independent streams:
//!
//! ```text
//! key = SHA-256( "rct-random/v1/" || purpose || 0x00 || seed as 8 bytes little-endian
//!                || 0x00 || label as UTF-8 )
//! ```
//!
//! where `purpose` is `stratum` (label: the stratum key, e.g. `sex=F`),
//! `kit` (label: the stratum key) or `minimisation` (label: the participant's
//! 0-based index in the trial, in decimal).
//!
//! Numbers are drawn from the stream in a documented, portable way that does
//! not depend on the version of `rand`: a uniform on [0, 1) is
//! `(next_u64 >> 11) * 2^-53`, and an integer below `m` is `next_u64 % m`
//! after rejecting draws at or above the largest multiple of `m`.

use rand::RngCore;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};

/// A ChaCha20 stream with the portable draws documented in this module.
#[derive(Debug, Clone)]
pub struct Stream {
    rng: ChaCha20Rng,
}

impl Stream {
    /// The stream for `purpose` and `label` under the trial `seed`.
    pub fn derive(seed: u64, purpose: &str, label: &str) -> Stream {
        let mut h = Sha256::new();
        h.update(b"rct-random/v1/");
        h.update(purpose.as_bytes());
        h.update([0u8]);
        h.update(seed.to_le_bytes());
        h.update([0u8]);
        h.update(label.as_bytes());
        let key: [u8; 32] = h.finalize().into();
        Stream {
            rng: ChaCha20Rng::from_seed(key),
        }
    }

    /// A simulation stream: ChaCha20 keyed by `seed` as `rand`'s
    /// `seed_from_u64` does, on ChaCha stream number `stream`.
    pub fn simulation(seed: u64, stream: u64) -> Stream {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Stream { rng }
    }

    /// Next raw 64-bit word.
    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    /// Uniform on [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p`.
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Uniform integer in `0..m` (m >= 1), unbiased by rejection.
    pub fn below(&mut self, m: u64) -> u64 {
        if m <= 1 {
            return 0;
        }
        let zone = u64::MAX - (u64::MAX % m);
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % m;
            }
        }
    }

    /// Index drawn with probability proportional to the integer weights
    /// (at least one weight must be positive; otherwise 0).
    pub fn weighted(&mut self, weights: &[u64]) -> usize {
        let total: u64 = weights.iter().sum();
        if total == 0 {
            return 0;
        }
        let mut x = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_streams_differ_by_label_and_repeat_by_seed() {
        let mut a = Stream::derive(7, "stratum", "sex=F");
        let mut b = Stream::derive(7, "stratum", "sex=F");
        let mut c = Stream::derive(7, "stratum", "sex=M");
        let xa: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        let xb: Vec<u64> = (0..4).map(|_| b.next_u64()).collect();
        let xc: Vec<u64> = (0..4).map(|_| c.next_u64()).collect();
        assert_eq!(xa, xb);
        assert_ne!(xa, xc);
    }

    #[test]
    fn chacha20_matches_rfc8439_keystream() {
        // RFC 8439 section 2.3.2 test vector uses a nonce; rand_chacha uses a
        // zero nonce and 64-bit counter. With an all-zero key, block 0 of
        // ChaCha20 begins 76 b8 e0 ad a0 f1 3d 90 (RFC 7539 A.1 test vector 1).
        let mut rng = ChaCha20Rng::from_seed([0u8; 32]);
        let mut buf = [0u8; 8];
        rng.fill_bytes(&mut buf);
        assert_eq!(buf, [0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90]);
    }

    #[test]
    fn below_and_weighted_stay_in_range() {
        let mut s = Stream::derive(1, "test", "");
        let mut counts = [0u32; 3];
        for _ in 0..3000 {
            assert!(s.below(5) < 5);
            counts[s.weighted(&[1, 0, 2])] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!(counts[2] > counts[0]);
        let u = s.uniform();
        assert!((0.0..1.0).contains(&u));
    }
}
