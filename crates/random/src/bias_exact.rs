//! Exact expected type-I error of the t-test under selection and
//! chronological bias for two-arm designs (definitions in [`crate::bias`]).
//!
//! The rejection probability of one sequence depends on the sequence only
//! through the group size `N_A` and the sums of the shifts (and of their
//! squares) in each group. A forward recursion over the participants carries
//! the probability of every (design state, `N_A`, statistic) class instead of
//! every sequence, where the statistic is
//!
//! - linear trend: the sum of the 0-based positions in arm A;
//! - step trend: the number of A allocations at or after the step;
//! - logarithmic trend: the prime factorisation of the product of A's
//!   positions (so `ln` of the product is exact up to one rounding per prime);
//! - selection bias: the counts of `+eta` and `-eta` shifts in each arm.
//!
//! The design state is the current block (size, positions left, A's left)
//! for block designs and nothing otherwise (complete randomisation, the
//! random allocation rule, the maximal procedure and the coins depend only on
//! the counts). The result equals the sum over all 2^n sequences of
//! probability x rejection probability. When the classes exceed
//! [`ExactLimits`], [`assess_bias_exact`] returns `None` and the caller
//! simulates.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::bias::{
    check_request, rejection_from_moments, t_critical, BiasAssessment, BiasRequest, Trend,
};
use crate::sequence::{block_size_weights, coin_prob_a, MpTable};
use crate::spec::{reduce_ratio, DesignSpec};
use crate::RandomError;

/// How large an exact computation may grow before the caller falls back to
/// simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExactLimits {
    /// Most (design state, N_A, statistic) classes alive at one position.
    pub max_states: usize,
    /// Most final (N_A, statistic) classes whose rejection probability is computed.
    pub max_classes: usize,
}

impl Default for ExactLimits {
    fn default() -> Self {
        ExactLimits {
            max_states: 2_000_000,
            max_classes: 1_000_000,
        }
    }
}

/// FxHash (rustc's hasher): the keys are small integers, SipHash is needlessly slow.
#[derive(Default, Clone, Copy)]
struct Fx(u64);

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }
    fn write_u16(&mut self, v: u16) {
        self.write_u64(u64::from(v));
    }
    fn write_u128(&mut self, v: u128) {
        self.write_u64(v as u64);
        self.write_u64((v >> 64) as u64);
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

/// State of a block design between allocations (`left == 0`: at a block start).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
struct BlockState {
    size_idx: u16,
    left: u32,
    rem_a: u32,
}

/// A two-arm design as a Markov chain over (position, N_A, block state).
struct Chain {
    design: DesignSpec,
    wa: u64,
    sum: u64,
    n: u32,
    sizes: Vec<u64>,
    size_p: Vec<f64>,
    mp: Option<MpTable>,
}

impl Chain {
    fn new(design: &DesignSpec, ratio: &[u32], n: u32) -> Result<Chain, RandomError> {
        design.check_ratio(ratio)?;
        if !design.is_list_based() {
            return Err(RandomError::Request(
                "minimisation depends on the participants' factors; its bias cannot be assessed \
                 without them"
                    .into(),
            ));
        }
        let w: Vec<u64> = reduce_ratio(ratio).into_iter().map(u64::from).collect();
        let sum = w.iter().sum::<u64>();
        if matches!(design, DesignSpec::RandomAllocation) && u64::from(n) % sum != 0 {
            return Err(RandomError::Request(format!(
                "the random allocation rule needs n to be a multiple of {sum}"
            )));
        }
        let (sizes, size_p) = match design {
            DesignSpec::PermutedBlock { size } => (vec![u64::from(*size)], vec![1.0]),
            DesignSpec::RandomBlock { sizes, weighting } => {
                let ws = block_size_weights(sizes, *weighting);
                let tot: u64 = ws.iter().sum();
                (
                    sizes.iter().map(|s| u64::from(*s)).collect(),
                    ws.iter().map(|x| *x as f64 / tot as f64).collect(),
                )
            }
            _ => (vec![], vec![]),
        };
        let mp = match design {
            DesignSpec::Maximal { a } => Some(MpTable::new(n, *a)),
            _ => None,
        };
        Ok(Chain {
            design: design.clone(),
            wa: w[0],
            sum,
            n,
            sizes,
            size_p,
            mp,
        })
    }

    /// The possible next allocations after `i` participants, `na` of them in
    /// A: (to A?, probability, next block state).
    fn branches(
        &self,
        i: usize,
        na: usize,
        st: BlockState,
        out: &mut Vec<(bool, f64, BlockState)>,
    ) {
        out.clear();
        let nb = i - na;
        if self.sizes.is_empty() {
            let pa = match &self.design {
                DesignSpec::Complete => self.wa as f64 / self.sum as f64,
                DesignSpec::RandomAllocation => {
                    let target = u64::from(self.n) * self.wa / self.sum;
                    target.saturating_sub(na as u64) as f64 / (self.n as usize - i) as f64
                }
                DesignSpec::Maximal { .. } => self
                    .mp
                    .as_ref()
                    .map_or(0.5, |t| t.prob_a(i, na as i64 - nb as i64)),
                other => coin_prob_a(other, na as u64, nb as u64).unwrap_or(0.5),
            };
            let pa = pa.clamp(0.0, 1.0);
            out.push((true, pa, st));
            out.push((false, 1.0 - pa, st));
            return;
        }
        let mut push = |ps: f64, idx: u16, left: u32, rem_a: u32| {
            let pa = f64::from(rem_a) / f64::from(left);
            out.push((
                true,
                ps * pa,
                BlockState {
                    size_idx: idx,
                    left: left - 1,
                    rem_a: rem_a.saturating_sub(1),
                },
            ));
            out.push((
                false,
                ps * (1.0 - pa),
                BlockState {
                    size_idx: idx,
                    left: left - 1,
                    rem_a,
                },
            ));
        };
        if st.left == 0 {
            for (k, (&b, &ps)) in self.sizes.iter().zip(&self.size_p).enumerate() {
                let rem_a = (b * self.wa / self.sum) as u32;
                push(ps, k as u16, b as u32, rem_a);
            }
        } else {
            push(1.0, st.size_idx, st.left, st.rem_a);
        }
    }
}

/// The sufficient statistic carried through the recursion.
enum Stat {
    /// Increment of the key when participant i (0-based) goes to A.
    Additive(Vec<u128>),
    /// Counts of +eta / -eta shifts per arm, packed 32 bits each (A+, A-, B+, B-).
    Selection,
}

/// Mixed-radix places of the primes up to n, so that the exponent vector of
/// a product of positions is one integer; `None` when it does not fit.
fn prime_places(n: u32) -> Option<(Vec<u32>, Vec<u128>, Vec<u128>)> {
    let primes: Vec<u32> = (2..=n)
        .filter(|&k| (2..k).take_while(|d| d * d <= k).all(|d| k % d != 0))
        .collect();
    let mut places = Vec::with_capacity(primes.len());
    let mut radix = Vec::with_capacity(primes.len());
    let mut place: u128 = 1;
    for &p in &primes {
        // total exponent of p in n!
        let mut e: u128 = 0;
        let mut q = u128::from(p);
        while q <= u128::from(n) {
            e += u128::from(n) / q;
            q *= u128::from(p);
        }
        places.push(place);
        radix.push(e + 1);
        place = place.checked_mul(e + 1)?;
    }
    Some((primes, places, radix))
}

fn factor_key(mut k: u32, primes: &[u32], places: &[u128]) -> u128 {
    let mut key = 0u128;
    for (p, place) in primes.iter().zip(places) {
        while k % p == 0 && k > 1 {
            key += place;
            k /= p;
        }
    }
    key
}

/// Exact expected type-I errors for a two-arm design, or `None` when the
/// recursion would exceed `limits` (then simulate instead).
pub fn assess_bias_exact(
    design: &DesignSpec,
    ratio: &[u32],
    n: u32,
    req: &BiasRequest,
    limits: ExactLimits,
    threads: usize,
) -> Result<Option<BiasAssessment>, RandomError> {
    check_request(ratio, n, req)?;
    let chain = Chain::new(design, ratio, n)?;
    let c = t_critical(f64::from(n - 2), req.alpha);
    let mut classes = 0u64;
    let sel = match req.eta {
        Some(eta) => match selection(&chain, n, eta, c, limits, threads) {
            Some((v, k)) => {
                classes += k;
                Some(v)
            }
            None => return Ok(None),
        },
        None => None,
    };
    let chr = match req.theta {
        Some(theta) => match chronological(&chain, n, theta, req.trend, c, limits, threads) {
            Some((v, k)) => {
                classes += k;
                Some(v)
            }
            None => return Ok(None),
        },
        None => None,
    };
    Ok(Some(BiasAssessment {
        method: "exact".into(),
        sims: None,
        seed: None,
        classes: Some(classes),
        alpha: req.alpha,
        eta: req.eta,
        theta: req.theta,
        trend: req.trend.to_string(),
        type1_error_selection_bias: sel,
        type1_error_selection_bias_se: None,
        type1_error_chronological_bias: chr,
        type1_error_chronological_bias_se: None,
    }))
}

/// Runs the recursion and returns the final (N_A, statistic) classes with
/// their probabilities, or `None` past the limits.
fn recurse(
    chain: &Chain,
    n: u32,
    stat: &Stat,
    limits: ExactLimits,
) -> Option<Vec<(u32, u128, f64)>> {
    let mut cur: FxMap<(BlockState, u32, u128), f64> = FxMap::default();
    cur.insert((BlockState::default(), 0, 0), 1.0);
    let mut br = Vec::with_capacity(8);
    for i in 0..n as usize {
        let mut next: FxMap<(BlockState, u32, u128), f64> = FxMap::default();
        next.reserve(cur.len() * 2);
        for (&(st, na, key), &p) in &cur {
            chain.branches(i, na as usize, st, &mut br);
            let d = i64::from(na) * 2 - i as i64;
            for &(to_a, pb, nst) in &br {
                if pb <= 0.0 {
                    continue;
                }
                let nkey = match stat {
                    Stat::Additive(inc) => {
                        if to_a {
                            key + inc[i]
                        } else {
                            key
                        }
                    }
                    Stat::Selection => {
                        // A behind (d < 0): guess A, shift +eta; B behind: -eta.
                        let lane = match (d.cmp(&0), to_a) {
                            (std::cmp::Ordering::Equal, _) => None::<u32>,
                            (std::cmp::Ordering::Less, true) => Some(0),
                            (std::cmp::Ordering::Greater, true) => Some(1),
                            (std::cmp::Ordering::Less, false) => Some(2),
                            (std::cmp::Ordering::Greater, false) => Some(3),
                        };
                        lane.map_or(key, |l| key + (1u128 << (32 * l)))
                    }
                };
                *next.entry((nst, na + u32::from(to_a), nkey)).or_insert(0.0) += p * pb;
            }
        }
        if next.len() > limits.max_states {
            return None;
        }
        cur = next;
    }
    let mut fin: FxMap<(u32, u128), f64> = FxMap::default();
    for ((_, na, key), p) in cur {
        *fin.entry((na, key)).or_insert(0.0) += p;
    }
    if fin.len() > limits.max_classes {
        return None;
    }
    let mut out: Vec<(u32, u128, f64)> = fin.into_iter().map(|((a, k), p)| (a, k, p)).collect();
    // A fixed order makes the floating-point sum reproducible.
    out.sort_by_key(|x| (x.0, x.1));
    Some(out)
}

/// Sum of probability x value over the classes, on `threads` threads.
fn weighted_sum(
    classes: &[(u32, u128, f64)],
    threads: usize,
    f: &(dyn Fn(u32, u128) -> f64 + Sync),
) -> f64 {
    let t = threads.max(1).min(classes.len().max(1));
    let chunk = classes.len().div_ceil(t).max(1);
    let parts: Vec<f64> = std::thread::scope(|sc| {
        let handles: Vec<_> = classes
            .chunks(chunk)
            .map(|part| sc.spawn(move || part.iter().map(|&(na, k, p)| p * f(na, k)).sum::<f64>()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(f64::NAN))
            .collect()
    });
    parts.iter().sum()
}

fn selection(
    chain: &Chain,
    n: u32,
    eta: f64,
    c: f64,
    limits: ExactLimits,
    threads: usize,
) -> Option<(f64, u64)> {
    let classes = recurse(chain, n, &Stat::Selection, limits)?;
    let lane = |k: u128, l: u32| ((k >> (32 * l)) & 0xffff_ffff) as f64;
    let v = weighted_sum(&classes, threads, &|na, k| {
        let nb = n - na;
        let (ap, am, bp, bm) = (lane(k, 0), lane(k, 1), lane(k, 2), lane(k, 3));
        let (sa, sb) = (eta * (ap - am), eta * (bp - bm));
        let (qa, qb) = (eta * eta * (ap + am), eta * eta * (bp + bm));
        let lambda = if na == 0 || nb == 0 {
            0.0
        } else {
            (qa - sa * sa / f64::from(na)) + (qb - sb * sb / f64::from(nb))
        };
        rejection_from_moments(na as usize, nb as usize, sa, sb, lambda, c)
    });
    Some((v, classes.len() as u64))
}

fn chronological(
    chain: &Chain,
    n: u32,
    theta: f64,
    trend: Trend,
    c: f64,
    limits: ExactLimits,
    threads: usize,
) -> Option<(f64, u64)> {
    let shifts: Vec<f64> = (1..=n).map(|i| trend.shift(i, n, theta)).collect();
    let (inc, value): (Vec<u128>, Box<dyn Fn(u128) -> f64 + Sync>) = match trend {
        Trend::Linear => {
            let scale = theta / f64::from(n - 1);
            (
                (0..n).map(u128::from).collect(),
                Box::new(move |k: u128| scale * k as f64),
            )
        }
        Trend::Step { saltus } => (
            (1..=n).map(|i| u128::from(i >= saltus)).collect(),
            Box::new(move |k: u128| theta * k as f64),
        ),
        Trend::Log => {
            let (primes, places, radix) = prime_places(n)?;
            let inc = (1..=n).map(|i| factor_key(i, &primes, &places)).collect();
            let logs: Vec<f64> = primes.iter().map(|p| f64::from(*p).ln()).collect();
            let scale = theta / f64::from(n).ln();
            (
                inc,
                Box::new(move |mut k: u128| {
                    let mut s = 0.0;
                    for (r, l) in radix.iter().zip(&logs) {
                        s += (k % r) as f64 * l;
                        k /= r;
                    }
                    scale * s
                }),
            )
        }
    };
    let classes = recurse(chain, n, &Stat::Additive(inc), limits)?;
    // Centre the shifts so the within-group sum of squares does not cancel.
    let mean = shifts.iter().sum::<f64>() / f64::from(n);
    let q: f64 = shifts.iter().map(|b| (b - mean) * (b - mean)).sum();
    let v = weighted_sum(&classes, threads, &|na, k| {
        let nb = n - na;
        if na == 0 || nb == 0 {
            return 0.0;
        }
        let sa = value(k) - f64::from(na) * mean;
        let sb = -sa;
        let lambda = q - sa * sa / f64::from(na) - sb * sb / f64::from(nb);
        rejection_from_moments(na as usize, nb as usize, sa, sb, lambda, c)
    });
    Some((v, classes.len() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bias::{chronological_shifts, rejection_probability, selection_shifts};

    /// Brute force over all 2^n sequences with their probabilities under the
    /// chain, straight from the definitions in `bias.rs`.
    fn brute(design: &str, n: u32, req: &BiasRequest) -> (f64, f64) {
        let d: DesignSpec = design.parse().unwrap();
        let chain = Chain::new(&d, &[1, 1], n).unwrap();
        let chron = chronological_shifts(n as usize, req.theta.unwrap_or(0.0), req.trend);
        let (mut sel, mut chr) = (0.0, 0.0);
        let mut br = Vec::new();
        for mask in 0u32..(1 << n) {
            let seq: Vec<bool> = (0..n).map(|i| mask & (1 << i) != 0).collect();
            // distribution over block states of this prefix
            let mut states = vec![(BlockState::default(), 1.0)];
            let mut na = 0;
            for (i, &a) in seq.iter().enumerate() {
                let mut next: Vec<(BlockState, f64)> = Vec::new();
                for &(st, p) in &states {
                    chain.branches(i, na, st, &mut br);
                    for &(to_a, pb, s2) in &br {
                        if to_a == a && pb > 0.0 {
                            next.push((s2, p * pb));
                        }
                    }
                }
                states = next;
                na += usize::from(a);
            }
            let p: f64 = states.iter().map(|s| s.1).sum();
            if p == 0.0 {
                continue;
            }
            sel += p * rejection_probability(
                &seq,
                &selection_shifts(&seq, req.eta.unwrap_or(0.0)),
                req.alpha,
            );
            chr += p * rejection_probability(&seq, &chron, req.alpha);
        }
        (sel, chr)
    }

    #[test]
    fn recursion_equals_brute_force_enumeration() {
        for design in ["cr", "pbr:4", "bsd:2", "mp:2", "rar", "rpbr:2,4"] {
            for trend in [Trend::Linear, Trend::Log, Trend::Step { saltus: 5 }] {
                let req = BiasRequest {
                    eta: Some(0.7),
                    theta: Some(1.5),
                    trend,
                    alpha: 0.05,
                };
                let d: DesignSpec = design.parse().unwrap();
                let e = assess_bias_exact(&d, &[1, 1], 8, &req, ExactLimits::default(), 2)
                    .unwrap()
                    .unwrap();
                let (s, c) = brute(design, 8, &req);
                let es = e.type1_error_selection_bias.unwrap();
                let ec = e.type1_error_chronological_bias.unwrap();
                assert!((es - s).abs() < 1e-12, "{design} {trend}: {es} vs {s}");
                assert!((ec - c).abs() < 1e-12, "{design} {trend}: {ec} vs {c}");
            }
        }
    }

    #[test]
    fn limits_fall_back() {
        let req = BiasRequest {
            eta: None,
            theta: Some(1.0),
            trend: Trend::Log,
            alpha: 0.05,
        };
        let tiny = ExactLimits {
            max_states: 10,
            max_classes: 10,
        };
        let d: DesignSpec = "cr".parse().unwrap();
        assert!(assess_bias_exact(&d, &[1, 1], 12, &req, tiny, 1)
            .unwrap()
            .is_none());
    }

    #[test]
    fn prime_keys_multiply() {
        let (primes, places, _) = prime_places(12).unwrap();
        // 6 = 2 * 3 and 2, 3 separately give the same key.
        assert_eq!(
            factor_key(6, &primes, &places),
            factor_key(2, &primes, &places) + factor_key(3, &primes, &places)
        );
        assert_eq!(factor_key(1, &primes, &places), 0);
    }
}
