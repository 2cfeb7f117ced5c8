#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Property tests of the list generator's invariants.

use proptest::prelude::*;
use rct_random::{generate_list, Arm, DesignSpec, ListRequest};

fn list(design: &str, ratio: &[u32], seed: u64, n: u32) -> Vec<usize> {
    let arms: Vec<Arm> = ratio
        .iter()
        .enumerate()
        .map(|(i, w)| Arm::new(format!("arm{i}"), *w))
        .collect();
    let l = generate_list(&ListRequest {
        design: design.parse().unwrap(),
        arms: arms.clone(),
        seed: seed.into(),
        stratum: "sex=F".into(),
        n,
        kits: false,
    })
    .unwrap();
    l.rows
        .iter()
        .map(|r| arms.iter().position(|a| a.id == r.arm).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Permuted blocks (fixed or random sizes, any K and ratio): the ratio is
    /// met exactly at every block end, and |N_A - N_B| never exceeds half the
    /// largest block (two arms 1:1).
    #[test]
    fn blocks_meet_the_ratio_at_block_ends(seed in any::<u64>(), n in 1u32..120, pick in 0usize..4) {
        let (design, ratio): (&str, Vec<u32>) = [
            ("pbr:4", vec![1, 1]),
            ("rpbr:2,4,6", vec![1, 1]),
            ("rpbr:3,6:pascal", vec![2, 1]),
            ("pbr:8", vec![1, 1, 1, 1]),
        ][pick].clone();
        let arms: Vec<Arm> = ratio.iter().enumerate().map(|(i, w)| Arm::new(format!("arm{i}"), *w)).collect();
        let l = generate_list(&ListRequest {
            design: design.parse().unwrap(), arms: arms.clone(), seed: seed.into(), stratum: "all".into(), n, kits: false,
        }).unwrap();
        let sum: u32 = ratio.iter().sum();
        let mut counts = vec![0u32; ratio.len()];
        let largest = match design.parse::<DesignSpec>().unwrap() {
            DesignSpec::PermutedBlock { size } => size,
            DesignSpec::RandomBlock { sizes, .. } => *sizes.iter().max().unwrap(),
            _ => unreachable!(),
        };
        for (i, r) in l.rows.iter().enumerate() {
            let a = arms.iter().position(|x| x.id == r.arm).unwrap();
            counts[a] += 1;
            let block_ends = l.rows.get(i + 1).is_none_or(|nx| nx.block != r.block);
            if block_ends && (i + 1) < l.rows.len() {
                let total: u32 = counts.iter().sum();
                for (c, w) in counts.iter().zip(&ratio) {
                    prop_assert_eq!(c * sum, total * w);
                }
            }
            if ratio == [1, 1] {
                prop_assert!(counts[0].abs_diff(counts[1]) <= largest / 2);
            }
        }
    }

    /// Big stick, maximal procedure and Chen's design never exceed a.
    #[test]
    fn bounded_designs_never_exceed_a(seed in any::<u64>(), n in 1u32..150, a in 1u32..5, pick in 0usize..3) {
        let design = [format!("bsd:{a}"), format!("mp:{a}"), format!("chen:{a},0.6")][pick].clone();
        let seq = list(&design, &[1, 1], seed, n);
        let mut d: i64 = 0;
        for arm in &seq {
            d += if *arm == 0 { 1 } else { -1 };
            prop_assert!(d.unsigned_abs() <= u64::from(a));
        }
        if pick == 1 {
            prop_assert!(d.unsigned_abs() <= u64::from(n % 2));
        }
    }

    /// A list regenerated from its seed is identical; another seed differs.
    #[test]
    fn lists_regenerate_identically(seed in any::<u64>(), pick in 0usize..6) {
        let design = ["cr", "rar", "pbr:4", "ebc:0.667", "urn:1,1", "rpbr:2,4"][pick];
        let a = list(design, &[1, 1], seed, 40);
        let b = list(design, &[1, 1], seed, 40);
        prop_assert_eq!(&a, &b);
        let c = list(design, &[1, 1], seed.wrapping_add(1), 40);
        prop_assert_ne!(a, c);
    }

    /// Random allocation rule meets the ratio exactly at the end of the list.
    #[test]
    fn random_allocation_rule_is_exact(seed in any::<u64>(), m in 1u32..20) {
        let seq = list("rar", &[2, 1], seed, 3 * m);
        prop_assert_eq!(seq.iter().filter(|a| **a == 0).count() as u32, 2 * m);
    }

    /// Any text either parses to a design whose canonical text parses back
    /// to the same design, or gives an error: never a panic.
    #[test]
    fn design_parsing_never_panics(s in "[a-z]{0,5}(:[0-9.,a-z]{0,8}){0,2}") {
        if let Ok(d) = s.parse::<DesignSpec>() {
            prop_assert_eq!(d.to_string().parse::<DesignSpec>().unwrap(), d);
        }
    }
}
