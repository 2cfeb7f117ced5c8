//! Sequential generation of list-based designs for one stratum.

use crate::error::RandomError;
use crate::spec::{reduce_ratio, BlockWeighting, DesignSpec};
use crate::stream::Stream;

/// Probability that the next participant goes to arm A (arm 0) under a
/// two-arm 1:1 design that depends only on the counts so far. `None` for
/// designs that need more state (blocks, fixed list length).
pub(crate) fn coin_prob_a(design: &DesignSpec, na: u64, nb: u64) -> Option<f64> {
    let d = na as i64 - nb as i64;
    Some(match design {
        DesignSpec::Complete => 0.5,
        DesignSpec::BigStick { a } => {
            let a = *a as i64;
            if d >= a {
                0.0
            } else if d <= -a {
                1.0
            } else {
                0.5
            }
        }
        DesignSpec::Efron { p } => efron(d, *p),
        DesignSpec::Chen { a, p } => {
            let a = *a as i64;
            if d >= a {
                0.0
            } else if d <= -a {
                1.0
            } else {
                efron(d, *p)
            }
        }
        DesignSpec::Urn { alpha, beta } => {
            let total = 2.0 * *alpha as f64 + *beta as f64 * (na + nb) as f64;
            if total <= 0.0 {
                0.5
            } else {
                (*alpha as f64 + *beta as f64 * nb as f64) / total
            }
        }
        _ => return None,
    })
}

fn efron(d: i64, p: f64) -> f64 {
    match d.cmp(&0) {
        std::cmp::Ordering::Equal => 0.5,
        std::cmp::Ordering::Less => p,
        std::cmp::Ordering::Greater => 1.0 - p,
    }
}

/// Path counts of the maximal procedure: for a list of length `n` and
/// maximum tolerated imbalance `a`, row `i` holds (up to a per-row scale) the
/// number of admissible continuations from imbalance `d` after `i`
/// allocations; admissible means |D_j| <= a at every step and terminal
/// balance |D_n| <= n mod 2.
#[derive(Debug, Clone)]
pub(crate) struct MpTable {
    a: i64,
    rows: Vec<Vec<f64>>,
}

impl MpTable {
    pub(crate) fn new(n: u32, a: u32) -> MpTable {
        let a = a as i64;
        let width = (2 * a + 1) as usize;
        let n = n as usize;
        let mut rows = vec![vec![0.0; width]; n + 1];
        for d in -a..=a {
            if d.abs() <= (n % 2) as i64 {
                rows[n][(d + a) as usize] = 1.0;
            }
        }
        for i in (0..n).rev() {
            let mut row = vec![0.0; width];
            for d in -a..=a {
                let up = if d < a {
                    rows[i + 1][(d + 1 + a) as usize]
                } else {
                    0.0
                };
                let down = if d > -a {
                    rows[i + 1][(d - 1 + a) as usize]
                } else {
                    0.0
                };
                row[(d + a) as usize] = up + down;
            }
            let max = row.iter().cloned().fold(0.0, f64::max);
            if max > 0.0 {
                for v in &mut row {
                    *v /= max;
                }
            }
            rows[i] = row;
        }
        MpTable { a, rows }
    }

    /// P(next is A) after `i` allocations at imbalance `d`.
    pub(crate) fn prob_a(&self, i: usize, d: i64) -> f64 {
        let a = self.a;
        let Some(next) = self.rows.get(i + 1) else {
            return 0.5;
        };
        let up = if d < a && d + 1 >= -a {
            next[(d + 1 + a) as usize]
        } else {
            0.0
        };
        let down = if d > -a && d - 1 <= a {
            next[(d - 1 + a) as usize]
        } else {
            0.0
        };
        if up + down <= 0.0 {
            0.5
        } else {
            up / (up + down)
        }
    }
}

/// Probabilities of the sizes of a random block, proportional to these integer weights.
pub(crate) fn block_size_weights(sizes: &[u32], weighting: BlockWeighting) -> Vec<u64> {
    match weighting {
        BlockWeighting::Uniform => vec![1; sizes.len()],
        BlockWeighting::Pascal => {
            let j = sizes.len() as u64;
            let mut out = Vec::with_capacity(sizes.len());
            let mut c: u64 = 1;
            for k in 0..j {
                out.push(c);
                // C(J-1, k+1) = C(J-1, k) * (J-1-k) / (k+1)
                c = c * (j - 1 - k) / (k + 1);
            }
            out
        }
    }
}

#[derive(Debug, Clone)]
struct Block {
    remaining: Vec<u64>,
    left: u64,
    size: u32,
}

/// One generated position of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Arm index (order of the arms given).
    pub arm: usize,
    /// Block number (1-based) for block designs.
    pub block: Option<u32>,
    /// Size of that block.
    pub block_size: Option<u32>,
}

/// Generates a stratum's list one position at a time.
///
/// Draws per position: complete randomisation, random allocation rule and
/// block designs draw one integer below the sum of the remaining weights
/// ([`Stream::weighted`]); a random block first draws its size; two-arm coins
/// draw one uniform and allocate A when it is below P(A).
#[derive(Debug, Clone)]
pub struct Sequencer {
    design: DesignSpec,
    w: Vec<u64>,
    n: Option<u32>,
    counts: Vec<u64>,
    i: u32,
    block: Option<Block>,
    block_no: u32,
    mp: Option<MpTable>,
}

impl Sequencer {
    /// A sequencer for `design` over arms with these weights; `n` is the list
    /// length (required for the random allocation rule and maximal procedure).
    pub fn new(
        design: &DesignSpec,
        ratio: &[u32],
        n: Option<u32>,
    ) -> Result<Sequencer, RandomError> {
        design.check_ratio(ratio)?;
        if !design.is_list_based() {
            return Err(RandomError::Request(format!(
                "design `{design}` has no list: minimisation depends on each participant's factors; \
                 allocate participants one by one instead"
            )));
        }
        let w: Vec<u64> = reduce_ratio(ratio).into_iter().map(u64::from).collect();
        let sum: u64 = w.iter().sum();
        let mut mp = None;
        if design.needs_list_length() {
            let Some(len) = n else {
                return Err(RandomError::Request(format!(
                    "design `{design}` needs the length of the list (the number of participants \
                     in the stratum); give --n or the protocol's list length"
                )));
            };
            if let DesignSpec::RandomAllocation = design {
                if u64::from(len) % sum != 0 {
                    return Err(RandomError::Request(format!(
                        "the random allocation rule needs a list length that is a multiple of {sum} \
                         (the sum of the ratio), found {len}"
                    )));
                }
            }
            if let DesignSpec::Maximal { a } = design {
                mp = Some(MpTable::new(len, *a));
            }
        }
        Ok(Sequencer {
            design: design.clone(),
            counts: vec![0; w.len()],
            w,
            n,
            i: 0,
            block: None,
            block_no: 0,
            mp,
        })
    }

    /// Allocations made so far.
    pub fn position(&self) -> u32 {
        self.i
    }

    /// The next position, drawn from `rng`.
    pub fn next_step(&mut self, rng: &mut Stream) -> Step {
        let sum: u64 = self.w.iter().sum();
        let mut block = None;
        let mut block_size = None;
        let arm = match &self.design {
            DesignSpec::Complete if self.w.len() != 2 || self.w[0] != self.w[1] => {
                rng.weighted(&self.w)
            }
            DesignSpec::RandomAllocation => {
                let n = u64::from(self.n.unwrap_or(0));
                let remaining: Vec<u64> = self
                    .w
                    .iter()
                    .zip(&self.counts)
                    .map(|(w, c)| (n * w / sum).saturating_sub(*c))
                    .collect();
                rng.weighted(&remaining)
            }
            DesignSpec::PermutedBlock { .. } | DesignSpec::RandomBlock { .. } => {
                let need_new = self.block.as_ref().is_none_or(|b| b.left == 0);
                if need_new {
                    let size = match &self.design {
                        DesignSpec::PermutedBlock { size } => *size,
                        DesignSpec::RandomBlock { sizes, weighting } => {
                            let weights = block_size_weights(sizes, *weighting);
                            sizes[rng.weighted(&weights)]
                        }
                        _ => 2,
                    };
                    let remaining: Vec<u64> =
                        self.w.iter().map(|w| u64::from(size) * w / sum).collect();
                    self.block_no += 1;
                    self.block = Some(Block {
                        left: u64::from(size),
                        remaining,
                        size,
                    });
                }
                match self.block.as_mut() {
                    Some(b) => {
                        let arm = rng.weighted(&b.remaining);
                        b.remaining[arm] = b.remaining[arm].saturating_sub(1);
                        b.left -= 1;
                        block = Some(self.block_no);
                        block_size = Some(b.size);
                        arm
                    }
                    None => 0,
                }
            }
            DesignSpec::Maximal { .. } => {
                let d = self.counts[0] as i64 - self.counts[1] as i64;
                let p = self
                    .mp
                    .as_ref()
                    .map_or(0.5, |t| t.prob_a(self.i as usize, d));
                usize::from(!rng.bernoulli(p))
            }
            other => {
                let p = coin_prob_a(other, self.counts[0], self.counts[1]).unwrap_or(0.5);
                usize::from(!rng.bernoulli(p))
            }
        };
        self.counts[arm] += 1;
        self.i += 1;
        Step {
            arm,
            block,
            block_size,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pascal_weights_are_a_row_of_the_triangle() {
        assert_eq!(
            block_size_weights(&[2, 4, 6], BlockWeighting::Pascal),
            vec![1, 2, 1]
        );
        assert_eq!(
            block_size_weights(&[2, 4, 6, 8], BlockWeighting::Pascal),
            vec![1, 3, 3, 1]
        );
        assert_eq!(block_size_weights(&[4], BlockWeighting::Pascal), vec![1]);
    }

    #[test]
    fn maximal_procedure_counts_paths() {
        // n = 4, a = 1: admissible sequences ABAB, ABBA, BAAB, BABA; from D=0
        // at i=0 half start with A; after A (D=1) the next must be B.
        let t = MpTable::new(4, 1);
        assert!((t.prob_a(0, 0) - 0.5).abs() < 1e-12);
        assert_eq!(t.prob_a(1, 1), 0.0);
        assert_eq!(t.prob_a(1, -1), 1.0);
        // n = 4, a = 2: admissible are the 6 balanced sequences; after A (D=1)
        // continuations ending balanced: ABAB? no: from D=1 with 3 left need
        // one A two B: 3 sequences, 1 of which starts with A (AB B).
        let t = MpTable::new(4, 2);
        assert!((t.prob_a(1, 1) - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn urn_probability_matches_definition() {
        let d = DesignSpec::Urn { alpha: 1, beta: 2 };
        // after 2 A and 1 B: (1 + 2*1) / (2 + 2*3) = 3/8
        assert!((coin_prob_a(&d, 2, 1).unwrap() - 3.0 / 8.0).abs() < 1e-12);
        let d0 = DesignSpec::Urn { alpha: 0, beta: 1 };
        assert_eq!(coin_prob_a(&d0, 0, 0), Some(0.5));
    }
}
