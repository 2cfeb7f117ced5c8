//! Allocation of one participant given the trial's allocations so far.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::error::RandomError;
use crate::kit::KitCodes;
use crate::list::{check_arms, ratio_of, Arm};
use crate::minimisation::{minimise, MinimisationInput};
use crate::sequence::Sequencer;
use crate::spec::DesignSpec;
use crate::stream::Stream;

/// A prior allocation of the trial, in the order they were made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriorAllocation {
    /// Arm id.
    pub arm: String,
    /// Stratum key at the time of allocation.
    pub stratum: String,
    /// The participant's factor levels.
    #[serde(default)]
    pub factors: BTreeMap<String, String>,
    /// Kit code given, if any.
    #[serde(default)]
    pub kit: Option<String>,
}

/// Everything [`allocate`] needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AllocationRequest {
    /// The design.
    pub design: DesignSpec,
    /// Arms with integer weights, in protocol order.
    pub arms: Vec<Arm>,
    /// The trial seed.
    pub seed: crate::stream::TrialSeed,
    /// The participant's factor levels (stratification and minimisation factors).
    #[serde(default)]
    pub factors: BTreeMap<String, String>,
    /// Factors that define strata, in protocol order (empty: one stratum `all`).
    #[serde(default)]
    pub strata: Vec<String>,
    /// Minimisation factors with their weights; empty means every factor in
    /// `factors` with weight 1. Ignored by list-based designs.
    #[serde(default)]
    pub factor_weights: BTreeMap<String, f64>,
    /// The trial's prior allocations in the order made.
    #[serde(default)]
    pub history: Vec<PriorAllocation>,
    /// Length of each stratum's list, required by the random allocation rule
    /// and the maximal procedure.
    #[serde(default)]
    pub list_length: Option<u32>,
    /// Give a kit code with the allocation (double-blind trials).
    #[serde(default)]
    pub kits: bool,
}

/// The result of [`allocate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Allocation {
    /// Arm id.
    pub arm: String,
    /// Index of the arm in the request's `arms`.
    pub arm_index: usize,
    /// Stratum key.
    pub stratum: String,
    /// 1-based position within the stratum.
    pub position: u32,
    /// Block number (block designs).
    pub block: Option<u32>,
    /// Kit code when kits are on.
    pub kit: Option<String>,
    /// Minimisation only: the weighted imbalance score G of each arm, in arm order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imbalance: Vec<f64>,
}

/// The stratum key of a participant: `factor=level` pairs for the strata
/// factors in the order given, joined by `;` (e.g. `sex=F;site=02`), or `all`
/// when there are no strata factors.
pub fn stratum_key(
    strata: &[String],
    factors: &BTreeMap<String, String>,
) -> Result<String, RandomError> {
    if strata.is_empty() {
        return Ok("all".to_string());
    }
    let mut parts = Vec::with_capacity(strata.len());
    for f in strata {
        let level = factors.get(f).ok_or_else(|| {
            RandomError::Request(format!(
                "stratification factor `{f}` has no level for this participant; give {f}=LEVEL"
            ))
        })?;
        parts.push(format!("{f}={level}"));
    }
    Ok(parts.join(";"))
}

/// Allocate the next participant. Deterministic given the request: the same
/// seed, design and history always give the same allocation, so a trial can be
/// replayed from its audit log.
///
/// List-based designs: the participant takes position k = (allocations so far
/// in the stratum) + 1 of the stratum's list, which equals row k of
/// [`crate::generate_list`] for that stratum; the stratum's history must match
/// rows 1..k-1 ([`RandomError::HistoryMismatch`] otherwise). Minimisation: see
/// [`crate::minimisation`].
pub fn allocate(req: &AllocationRequest) -> Result<Allocation, RandomError> {
    check_arms(&req.arms)?;
    let ratio = ratio_of(&req.arms);
    req.design.check_ratio(&ratio)?;
    let stratum = stratum_key(&req.strata, &req.factors)?;
    let index_of = |id: &str| -> Result<usize, RandomError> {
        req.arms.iter().position(|a| a.id == id).ok_or_else(|| {
            RandomError::Request(format!(
                "the history has an allocation to arm `{id}`, which is not an arm of this trial"
            ))
        })
    };
    let in_stratum: Vec<&PriorAllocation> = req
        .history
        .iter()
        .filter(|h| h.stratum == stratum)
        .collect();
    let position = u32::try_from(in_stratum.len() + 1)
        .map_err(|_| RandomError::Request("too many allocations".into()))?;

    let (arm_index, block, imbalance) = if req.design.is_list_based() {
        if let (true, Some(len)) = (req.design.needs_list_length(), req.list_length) {
            if position > len {
                return Err(RandomError::ListExhausted {
                    stratum,
                    length: len,
                    design: req.design.to_string(),
                });
            }
        }
        let mut seq = Sequencer::new(&req.design, &ratio, req.list_length)?;
        let mut rng = Stream::derive(req.seed, "stratum", &stratum);
        for (k, prior) in in_stratum.iter().enumerate() {
            let step = seq.next_step(&mut rng);
            let found = index_of(&prior.arm)?;
            if found != step.arm {
                return Err(RandomError::HistoryMismatch {
                    stratum,
                    position: k as u32 + 1,
                    expected: req.arms[step.arm].id.clone(),
                    found: prior.arm.clone(),
                });
            }
        }
        let step = seq.next_step(&mut rng);
        (step.arm, step.block, Vec::new())
    } else {
        let DesignSpec::Minimisation { measure, p } = &req.design else {
            return Err(RandomError::Request("unsupported design".into()));
        };
        let mut history = Vec::with_capacity(req.history.len());
        for h in &req.history {
            history.push((index_of(&h.arm)?, &h.factors));
        }
        let weights: BTreeMap<String, f64> = if req.factor_weights.is_empty() {
            req.factors.keys().map(|k| (k.clone(), 1.0)).collect()
        } else {
            req.factor_weights.clone()
        };
        let mut rng = Stream::derive(req.seed, "minimisation", &req.history.len().to_string());
        let out = minimise(
            &MinimisationInput {
                measure: *measure,
                p: *p,
                ratio: &ratio,
                factor_weights: &weights,
                participant: &req.factors,
                history: &history,
            },
            &mut rng,
        )?;
        (out.arm, None, out.scores)
    };

    let kit = if req.kits {
        let mut codes = KitCodes::new(req.seed, &stratum);
        let used: HashSet<&str> = req
            .history
            .iter()
            .filter(|h| h.stratum != stratum)
            .filter_map(|h| h.kit.as_deref())
            .collect();
        for u in used {
            codes.reserve(u);
        }
        let mut code = codes.next_code();
        for _ in 1..position {
            code = codes.next_code();
        }
        Some(code)
    } else {
        None
    };

    Ok(Allocation {
        arm: req.arms[arm_index].id.clone(),
        arm_index,
        stratum,
        position,
        block,
        kit,
        imbalance,
    })
}
