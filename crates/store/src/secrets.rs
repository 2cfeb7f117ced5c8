//! The secrets a trial is created with, drawn from the operating system.

use rct_record::TrialSecrets;
use rct_random::TrialSeed;

use crate::StoreError;

/// 32 bytes from the operating system's random source.
pub fn random_key() -> Result<[u8; 32], StoreError> {
    let mut key = [0u8; 32];
    getrandom::getrandom(&mut key).map_err(|e| {
        StoreError::Backend(format!(
            "the operating system gave no random bytes ({e}); a trial's secrets cannot be drawn"
        ))
    })?;
    Ok(key)
}

/// A new trial's secrets: a 256-bit sealing key and a 256-bit allocation
/// key from the operating system. A `typed` seed (reproducible lists for
/// testing a set-up) is mixed with a sealed random secret
/// ([`TrialSeed::mixed`]), so knowing it predicts nothing; the statistician's
/// unblinded export carries the resulting key after unblinding.
pub fn draw(typed: Option<u64>) -> Result<TrialSecrets, StoreError> {
    let seal_key = random_key()?;
    let secret = random_key()?;
    let seed = match typed {
        None => TrialSeed::Key(secret),
        Some(_) => TrialSeed::mixed(typed, &secret),
    };
    Ok(TrialSecrets { seed, seal_key })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_differ_and_typed_seeds_are_mixed() {
        let a = draw(None).unwrap();
        let b = draw(None).unwrap();
        assert_ne!(a.seal_key, b.seal_key);
        assert_ne!(a.seed, b.seed);
        let t1 = draw(Some(42)).unwrap();
        let t2 = draw(Some(42)).unwrap();
        assert_ne!(t1.seed, t2.seed, "a typed seed alone must not fix the lists");
        assert_ne!(t1.seed, TrialSeed::Number(42));
    }
}
