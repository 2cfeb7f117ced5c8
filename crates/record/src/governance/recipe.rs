//! What regenerates a trial's allocation lists, for the statistician once
//! the trial is unblinded (issue 15 item 2): the seed, the design and the
//! arms. `rct randomise list --protocol FILE --seed SEED --stratum
//! FACTOR=LEVEL ...` then reproduces every stratum's list (for the record's
//! own designs, an allocation is row k of its stratum's list), so the
//! allocations can be checked against the lists after the lock.

use serde::Serialize;
use serde_json::Value;

use crate::event::{Arm, Role};
use crate::state::TrialState;

/// The seed, design and arms of a trial, and the strata it used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListRecipe {
    /// Trial.
    pub trial: String,
    /// The seed (a number, or 64 hex digits of a trial key).
    pub seed: rct_random::TrialSeed,
    /// The design as registered (a [`crate::TrialDesign`] as JSON).
    pub design: Value,
    /// The arms.
    pub arms: Vec<Arm>,
    /// Each stratum used, with the number of list positions used in it.
    pub strata: Vec<StratumUse>,
    /// How to regenerate one stratum's list.
    pub regenerate: String,
}

/// One stratum and the positions used in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StratumUse {
    /// Stratum key (`factor=level;...`, or `all`).
    pub stratum: String,
    /// Positions used.
    pub positions: u64,
}

impl TrialState {
    /// The list recipe for a holder of `role`: only the statistician, and
    /// only once the trial is unblinded (the lock alone does not do;
    /// see [`crate::governance`]); `None` otherwise.
    pub fn list_recipe(&self, role: Role) -> Option<ListRecipe> {
        if role != Role::Statistician || !self.trial_unblinded() {
            return None;
        }
        let config = self.config.as_ref()?;
        Some(ListRecipe {
            trial: self.trial.clone(),
            seed: config.seed,
            design: config.design.clone(),
            arms: config.arms.clone(),
            strata: self
                .stratum_positions
                .iter()
                .map(|(s, n)| StratumUse {
                    stratum: s.clone(),
                    positions: *n,
                })
                .collect(),
            regenerate: format!(
                "rct randomise list --protocol PROTOCOL.toml --seed {} --stratum FACTOR=LEVEL ... --n N",
                config.seed
            ),
        })
    }
}
