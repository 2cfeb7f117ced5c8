//! Design assessment: exact recursion over the allocation counts (two arms)
//! and Monte Carlo simulation (any design the sequencer serves).
//!
//! Imbalance after n participants is `|N_A/w_A - N_B/w_B|` (for 1:1 this is
//! `|D_n| = |N_A - N_B|`); with K arms it is the range of `N_j / w_j`.
//! Convergence guessing guesses the arm furthest behind its share,
//! divergence the arm furthest ahead; a guess among tied arms is uniform
//! (two tied arms count 1/2).

#![allow(clippy::needless_range_loop)]

use serde::{Deserialize, Serialize};

use crate::error::RandomError;
use crate::sequence::{block_size_weights, coin_prob_a, MpTable, Sequencer};
use crate::spec::{reduce_ratio, DesignSpec};
use crate::stream::Stream;

/// How figures are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "method")]
pub enum Method {
    /// Exact recursion over the distribution of the counts.
    Exact,
    /// Monte Carlo with `sims` sequences from `seed`.
    Simulation {
        /// Number of simulated sequences.
        sims: u64,
        /// Seed of the simulation streams.
        seed: u64,
    },
}

/// The figures of a design at sample size n.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// Canonical design text.
    pub design: String,
    /// Sample size.
    pub n: u32,
    /// Allocation ratio.
    pub ratio: Vec<u32>,
    /// `exact` or `simulation`.
    pub method: String,
    /// Simulated sequences (simulation only).
    pub sims: Option<u64>,
    /// E|imbalance at n|.
    pub expected_abs_imbalance: f64,
    /// E[imbalance^2] / n.
    pub expected_loss: f64,
    /// E max over the sequence of |imbalance|.
    pub expected_max_imbalance: f64,
    /// Expected proportion of correct guesses, convergence strategy.
    pub correct_guess_convergence: f64,
    /// Expected proportion of correct guesses, divergence strategy.
    pub correct_guess_divergence: f64,
    /// Monte Carlo standard errors of the five figures, in the order above (simulation only).
    pub standard_errors: Option<[f64; 5]>,
}

fn validate(design: &DesignSpec, ratio: &[u32], n: u32) -> Result<Vec<u64>, RandomError> {
    design.check_ratio(ratio)?;
    if n == 0 {
        return Err(RandomError::Request("n must be at least 1".into()));
    }
    if !design.is_list_based() {
        return Err(RandomError::Request(
            "minimisation depends on the participants' factors and cannot be assessed here".into(),
        ));
    }
    let w: Vec<u64> = reduce_ratio(ratio).into_iter().map(u64::from).collect();
    if matches!(design, DesignSpec::RandomAllocation) && u64::from(n) % w.iter().sum::<u64>() != 0 {
        return Err(RandomError::Request(format!(
            "the random allocation rule needs n to be a multiple of {}",
            w.iter().sum::<u64>()
        )));
    }
    Ok(w)
}

/// Exact figures for a two-arm design by forward recursion over
/// (N_A, block state, running maximum imbalance). Cost O(n^3) for unbounded
/// designs; n = 200 takes milliseconds.
pub fn assess_exact(design: &DesignSpec, ratio: &[u32], n: u32) -> Result<Assessment, RandomError> {
    let w = validate(design, ratio, n)?;
    if w.len() != 2 {
        return Err(RandomError::Request(format!(
            "exact assessment is available for two arms; for {} arms use simulation (--sims M --seed S)",
            w.len()
        )));
    }
    let (wa, wb) = (w[0], w[1]);
    let sum = wa + wb;
    let nn = n as usize;
    // block sizes and their probabilities for block designs
    let (sizes, size_p): (Vec<u64>, Vec<f64>) = match design {
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
    let max_size = sizes.iter().copied().max().unwrap_or(0) as usize;
    // extra state: 0 = at a block start (or no blocks); otherwise
    // 1 + s_idx * max_size + pos (pos in 1..size)
    let n_extra = if sizes.is_empty() {
        1
    } else {
        1 + sizes.len() * max_size
    };
    let mp = match design {
        DesignSpec::Maximal { a } => Some(MpTable::new(n, *a)),
        _ => None,
    };
    let imb = |na: u64, nb: u64| -> u64 { (na * wb).abs_diff(nb * wa) };
    let mmax = nn * (wa.max(wb) as usize) + 1;
    let idx = |na: usize, e: usize, m: usize| -> usize { (na * n_extra + e) * mmax + m };
    let size_cells = (nn + 1) * n_extra * mmax;
    let mut cur = vec![0.0f64; size_cells];
    let mut next = vec![0.0f64; size_cells];
    cur[idx(0, 0, 0)] = 1.0;
    let mut conv = 0.0;
    let mut div = 0.0;
    for i in 0..nn {
        next.iter_mut().for_each(|x| *x = 0.0);
        for na in 0..=i {
            let nb = i - na;
            for e in 0..n_extra {
                for m in 0..mmax {
                    let pr = cur[idx(na, e, m)];
                    if pr == 0.0 {
                        continue;
                    }
                    // transitions: (prob of A, next extra if A, next extra if B, weight)
                    let mut trans: Vec<(f64, usize, f64)> = Vec::with_capacity(sizes.len().max(1));
                    if sizes.is_empty() {
                        let pa = match design {
                            DesignSpec::Complete => wa as f64 / sum as f64,
                            DesignSpec::RandomAllocation => {
                                let target = u64::from(n) * wa / sum;
                                (target - na as u64) as f64 / (nn - i) as f64
                            }
                            DesignSpec::Maximal { .. } => mp
                                .as_ref()
                                .map_or(0.5, |t| t.prob_a(i, na as i64 - nb as i64)),
                            other => coin_prob_a(other, na as u64, nb as u64).unwrap_or(0.5),
                        };
                        trans.push((pa, 0, 1.0));
                    } else {
                        let (choices, pos): (Vec<(usize, f64)>, u64) = if e == 0 {
                            (size_p.iter().copied().enumerate().collect(), 0)
                        } else {
                            let s_idx = (e - 1) / max_size;
                            (vec![(s_idx, 1.0)], ((e - 1) % max_size) as u64)
                        };
                        for (s_idx, ps) in choices {
                            let b = sizes[s_idx];
                            let start = i as u64 - pos;
                            let na_block = na as u64 - start * wa / sum;
                            let pa = (b * wa / sum - na_block) as f64 / (b - pos) as f64;
                            let ne = if pos + 1 == b {
                                0
                            } else {
                                1 + s_idx * max_size + (pos + 1) as usize
                            };
                            trans.push((pa, ne, ps));
                        }
                    }
                    let (cmp_a, cmp_b) = (na as u64 * wb, nb as u64 * wa);
                    for (pa, ne, ps) in trans {
                        let p = pr * ps;
                        let pa = pa.clamp(0.0, 1.0);
                        let (c, d) = match cmp_a.cmp(&cmp_b) {
                            std::cmp::Ordering::Less => (pa, 1.0 - pa),
                            std::cmp::Ordering::Greater => (1.0 - pa, pa),
                            std::cmp::Ordering::Equal => (0.5, 0.5),
                        };
                        conv += p * c;
                        div += p * d;
                        if pa > 0.0 {
                            let m2 = m.max(imb(na as u64 + 1, nb as u64) as usize);
                            next[idx(na + 1, ne, m2)] += p * pa;
                        }
                        if pa < 1.0 {
                            let m2 = m.max(imb(na as u64, nb as u64 + 1) as usize);
                            next[idx(na, ne, m2)] += p * (1.0 - pa);
                        }
                    }
                }
            }
        }
        std::mem::swap(&mut cur, &mut next);
    }
    let scale = (wa * wb) as f64;
    let (mut e_abs, mut e_sq, mut e_max) = (0.0, 0.0, 0.0);
    for na in 0..=nn {
        let d = imb(na as u64, (nn - na) as u64) as f64 / scale;
        for e in 0..n_extra {
            for m in 0..mmax {
                let pr = cur[idx(na, e, m)];
                if pr != 0.0 {
                    e_abs += pr * d;
                    e_sq += pr * d * d;
                    e_max += pr * m as f64 / scale;
                }
            }
        }
    }
    Ok(Assessment {
        design: design.to_string(),
        n,
        ratio: ratio.to_vec(),
        method: "exact".into(),
        sims: None,
        expected_abs_imbalance: e_abs,
        expected_loss: e_sq / f64::from(n),
        expected_max_imbalance: e_max,
        correct_guess_convergence: conv / f64::from(n),
        correct_guess_divergence: div / f64::from(n),
        standard_errors: None,
    })
}

/// Sequences per simulation chunk; chunk c uses ChaCha20 stream number c
/// under the seed, so results do not depend on the number of threads.
pub const CHUNK: u64 = 10_000;

#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    s: [f64; 5],
    ss: [f64; 5],
}

fn simulate_chunk(base: &Sequencer, w: &[u64], n: u32, seed: u64, chunk: u64, count: u64) -> Sums {
    let mut rng = Stream::simulation(seed, chunk);
    let mut out = Sums::default();
    let k = w.len();
    let lcm_scale: u64 = w.iter().product();
    let mut counts = vec![0u64; k];
    let mut scaled = vec![0u64; k];
    for _ in 0..count {
        let mut seq = base.clone();
        counts.iter_mut().for_each(|c| *c = 0);
        let (mut conv, mut div, mut max) = (0.0, 0.0, 0u64);
        for _ in 0..n {
            for j in 0..k {
                scaled[j] = counts[j] * (lcm_scale / w[j]);
            }
            let lo = scaled.iter().copied().min().unwrap_or(0);
            let hi = scaled.iter().copied().max().unwrap_or(0);
            let arm = seq.next_step(&mut rng).arm;
            let n_lo = scaled.iter().filter(|&&x| x == lo).count() as f64;
            let n_hi = scaled.iter().filter(|&&x| x == hi).count() as f64;
            if scaled[arm] == lo {
                conv += 1.0 / n_lo;
            }
            if scaled[arm] == hi {
                div += 1.0 / n_hi;
            }
            counts[arm] += 1;
            scaled[arm] += lcm_scale / w[arm];
            let lo = scaled.iter().copied().min().unwrap_or(0);
            let hi = scaled.iter().copied().max().unwrap_or(0);
            max = max.max(hi - lo);
        }
        let fin = {
            let lo = scaled.iter().copied().min().unwrap_or(0);
            let hi = scaled.iter().copied().max().unwrap_or(0);
            (hi - lo) as f64 / lcm_scale as f64
        };
        let x = [
            fin,
            fin * fin / f64::from(n),
            max as f64 / lcm_scale as f64,
            conv / f64::from(n),
            div / f64::from(n),
        ];
        for j in 0..5 {
            out.s[j] += x[j];
            out.ss[j] += x[j] * x[j];
        }
    }
    out
}

/// Simulated figures with `threads` worker threads (std::thread); `progress`
/// is called with the number of sequences done after every chunk.
pub fn assess_simulated(
    design: &DesignSpec,
    ratio: &[u32],
    n: u32,
    sims: u64,
    seed: u64,
    threads: usize,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Assessment, RandomError> {
    let w = validate(design, ratio, n)?;
    if sims < 2 {
        return Err(RandomError::Request("--sims must be at least 2".into()));
    }
    let base = Sequencer::new(design, ratio, Some(n))?;
    let chunks = sims.div_ceil(CHUNK);
    let results = std::sync::Mutex::new(vec![Sums::default(); chunks as usize]);
    let nextc = std::sync::atomic::AtomicU64::new(0);
    let done = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|sc| {
        for _ in 0..threads.max(1) {
            sc.spawn(|| loop {
                let c = nextc.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if c >= chunks {
                    break;
                }
                let count = CHUNK.min(sims - c * CHUNK);
                let r = simulate_chunk(&base, &w, n, seed, c, count);
                if let Ok(mut v) = results.lock() {
                    v[c as usize] = r;
                }
                let d = done.fetch_add(count, std::sync::atomic::Ordering::Relaxed) + count;
                progress(d);
            });
        }
    });
    let results = results
        .into_inner()
        .map_err(|_| RandomError::Request("a simulation thread failed".into()))?;
    let mut tot = Sums::default();
    for r in &results {
        for j in 0..5 {
            tot.s[j] += r.s[j];
            tot.ss[j] += r.ss[j];
        }
    }
    let m = sims as f64;
    let mean: Vec<f64> = tot.s.iter().map(|s| s / m).collect();
    let mut se = [0.0; 5];
    for j in 0..5 {
        let var = (tot.ss[j] / m - mean[j] * mean[j]).max(0.0) * m / (m - 1.0);
        se[j] = (var / m).sqrt();
    }
    Ok(Assessment {
        design: design.to_string(),
        n,
        ratio: ratio.to_vec(),
        method: "simulation".into(),
        sims: Some(sims),
        expected_abs_imbalance: mean[0],
        expected_loss: mean[1],
        expected_max_imbalance: mean[2],
        correct_guess_convergence: mean[3],
        correct_guess_divergence: mean[4],
        standard_errors: Some(se),
    })
}
