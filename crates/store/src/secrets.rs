//! The secrets a trial is created with, drawn from the operating system.

use rct_random::TrialSeed;
use rct_record::TrialSecrets;

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

/// A new trial's secrets: a 256-bit sealing key from the operating system
/// and the allocation lists' seed. By default the seed is a 256-bit key
/// from the operating system. A `typed` number (reproducible lists for
/// testing a set-up) is mixed with a sealed random secret
/// ([`TrialSeed::mixed`]), so knowing it predicts nothing. A typed 256-bit
/// key is used as given: it has a key's strength, and whoever drew it
/// (e.g. to reproduce lists made elsewhere) must keep it as secret as the
/// record keeps it. Either way the seed is sealed in the record; the
/// statistician's unblinded export carries it after unblinding.
pub fn draw(typed: Option<TrialSeed>) -> Result<TrialSecrets, StoreError> {
    let seal_key = random_key()?;
    let seed = match typed {
        None => TrialSeed::Key(random_key()?),
        Some(TrialSeed::Number(n)) => TrialSeed::mixed(Some(n), &random_key()?),
        Some(key @ TrialSeed::Key(_)) => key,
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
        let t1 = draw(Some(TrialSeed::Number(42))).unwrap();
        let t2 = draw(Some(TrialSeed::Number(42))).unwrap();
        assert_ne!(
            t1.seed, t2.seed,
            "a typed seed alone must not fix the lists"
        );
        assert_ne!(t1.seed, TrialSeed::Number(42));
        // A typed 256-bit key is the seed; the sealing key is still drawn.
        let k = draw(Some(TrialSeed::Key([9; 32]))).unwrap();
        assert_eq!(k.seed, TrialSeed::Key([9; 32]));
        assert_ne!(k.seal_key, [9; 32]);
    }
}
