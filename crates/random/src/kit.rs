//! Kit codes for double-blind trials.
//!
//! Each stratum has its own kit-code stream (purpose `kit`, see
//! [`crate::stream`]), separate from the allocation stream, so a code says
//! nothing about the arm or the position. A code is 6 characters drawn
//! uniformly from a 32-character alphabet without look-alikes (no 0, 1, I, O),
//! about 10^9 possible codes. Codes already used (earlier in the stratum, or in
//! the trial's history when allocating) are skipped and the next code of the
//! stream is taken; a list printed for one stratum can therefore differ from
//! the allocations only if two strata drew the same code, which has
//! probability below N^2 / 2^31 for N participants.

use std::collections::HashSet;

use crate::stream::Stream;

/// The kit-code alphabet: digits 2-9 and letters without I and O.
pub const KIT_ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
/// Characters per kit code.
pub const KIT_LEN: usize = 6;

/// Draws kit codes for one stratum.
#[derive(Debug, Clone)]
pub struct KitCodes {
    stream: Stream,
    used: HashSet<String>,
}

impl KitCodes {
    /// The kit-code stream of `stratum` under the trial seed.
    pub fn new(seed: impl Into<crate::stream::TrialSeed>, stratum: &str) -> KitCodes {
        KitCodes {
            stream: Stream::derive(seed, "kit", stratum),
            used: HashSet::new(),
        }
    }

    /// Mark a code as taken elsewhere in the trial.
    pub fn reserve(&mut self, code: &str) {
        self.used.insert(code.to_string());
    }

    /// The next unused code.
    pub fn next_code(&mut self) -> String {
        loop {
            let code: String = (0..KIT_LEN)
                .map(|_| char::from(KIT_ALPHABET[self.stream.below(32) as usize]))
                .collect();
            if self.used.insert(code.clone()) {
                return code;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_use_the_alphabet_and_are_unique() {
        let mut k = KitCodes::new(42, "all");
        let codes: Vec<String> = (0..500).map(|_| k.next_code()).collect();
        let set: HashSet<&String> = codes.iter().collect();
        assert_eq!(set.len(), 500);
        for c in &codes {
            assert_eq!(c.len(), KIT_LEN);
            assert!(c.bytes().all(|b| KIT_ALPHABET.contains(&b)));
        }
    }

    #[test]
    fn reserved_codes_are_skipped() {
        let mut a = KitCodes::new(1, "s");
        let first = a.next_code();
        let second = a.next_code();
        let mut b = KitCodes::new(1, "s");
        b.reserve(&first);
        assert_eq!(b.next_code(), second);
    }
}
