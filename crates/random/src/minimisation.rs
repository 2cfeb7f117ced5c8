//! Pocock-Simon minimisation.
//!
//! For a new participant with level `l_f` of each minimisation factor `f`, and
//! each candidate arm k: take the counts `n_j` of earlier participants with
//! level `l_f` in arm j, add the new participant to arm k, divide every count
//! by its arm's weight in the (reduced) ratio, and measure the spread of these
//! adjusted counts by their range (max - min) or variance (denominator K - 1).
//! The arm's score is `G_k = sum_f weight_f * spread_f(k)`.
//!
//! Decision (one uniform `u` from the participant's minimisation stream, then
//! one index draw): let M be the arms with the smallest G (equal within
//! 1e-9). If every arm is in M, the arm is drawn uniformly from all arms.
//! Otherwise, if `u < p` the arm is drawn uniformly from M (ties broken at
//! random), else uniformly from the other arms. With p = 1 allocation is
//! deterministic except for ties.

use std::collections::BTreeMap;

use crate::error::RandomError;
use crate::spec::{reduce_ratio, ImbalanceMeasure};
use crate::stream::Stream;

/// Input of one minimisation decision.
#[derive(Debug, Clone)]
pub struct MinimisationInput<'a> {
    /// Range or variance.
    pub measure: ImbalanceMeasure,
    /// Probability of choosing among the best arms.
    pub p: f64,
    /// Allocation ratio, arms in order.
    pub ratio: &'a [u32],
    /// Minimisation factors and their weights.
    pub factor_weights: &'a BTreeMap<String, f64>,
    /// The new participant's levels.
    pub participant: &'a BTreeMap<String, String>,
    /// Earlier participants: arm index and factor levels.
    pub history: &'a [(usize, &'a BTreeMap<String, String>)],
}

/// Outcome of one minimisation decision.
#[derive(Debug, Clone, PartialEq)]
pub struct MinimisationOutcome {
    /// Chosen arm index.
    pub arm: usize,
    /// Score G of each arm.
    pub scores: Vec<f64>,
    /// Arms with the smallest score.
    pub best: Vec<usize>,
}

fn spread(measure: ImbalanceMeasure, x: &[f64]) -> f64 {
    match measure {
        ImbalanceMeasure::Range => {
            let max = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let min = x.iter().cloned().fold(f64::INFINITY, f64::min);
            max - min
        }
        ImbalanceMeasure::Variance => {
            let k = x.len() as f64;
            let mean = x.iter().sum::<f64>() / k;
            x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (k - 1.0)
        }
    }
}

/// The imbalance score G of each arm for this participant.
pub fn scores(input: &MinimisationInput<'_>) -> Result<Vec<f64>, RandomError> {
    let k = input.ratio.len();
    let w = reduce_ratio(input.ratio);
    if input.factor_weights.is_empty() {
        return Err(RandomError::Request(
            "minimisation needs at least one factor: give the participant's factor levels \
             and the factor weights"
                .into(),
        ));
    }
    let mut g = vec![0.0; k];
    for (factor, weight) in input.factor_weights {
        if !weight.is_finite() || *weight < 0.0 {
            return Err(RandomError::Request(format!(
                "weight of minimisation factor `{factor}` must be a non-negative number, found {weight}"
            )));
        }
        let level = input.participant.get(factor).ok_or_else(|| {
            RandomError::Request(format!(
                "minimisation factor `{factor}` has no level for this participant; give {factor}=LEVEL"
            ))
        })?;
        let mut counts = vec![0u64; k];
        for (arm, levels) in input.history {
            if levels.get(factor) == Some(level) {
                if let Some(c) = counts.get_mut(*arm) {
                    *c += 1;
                }
            }
        }
        for (cand, gk) in g.iter_mut().enumerate() {
            let adjusted: Vec<f64> = counts
                .iter()
                .enumerate()
                .map(|(j, c)| (*c + u64::from(j == cand)) as f64 / f64::from(w[j]))
                .collect();
            *gk += weight * spread(input.measure, &adjusted);
        }
    }
    Ok(g)
}

/// Choose an arm for the participant, drawing from `rng` as documented in
/// this module.
pub fn minimise(
    input: &MinimisationInput<'_>,
    rng: &mut Stream,
) -> Result<MinimisationOutcome, RandomError> {
    let g = scores(input)?;
    let min = g.iter().cloned().fold(f64::INFINITY, f64::min);
    let best: Vec<usize> = (0..g.len()).filter(|&j| g[j] <= min + 1e-9).collect();
    let others: Vec<usize> = (0..g.len()).filter(|j| !best.contains(j)).collect();
    let u = rng.uniform();
    let arm = if others.is_empty() {
        rng.below(g.len() as u64) as usize
    } else if u < input.p {
        best[rng.below(best.len() as u64) as usize]
    } else {
        others[rng.below(others.len() as u64) as usize]
    };
    Ok(MinimisationOutcome {
        arm,
        scores: g,
        best,
    })
}
