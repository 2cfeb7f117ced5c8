//! Counts for the CONSORT flow diagram and Table 1.

use std::collections::BTreeMap;

use rct_core::protocol::Protocol;
use rct_record::{TrialState, Verdict};
use rct_stats::Column;

use crate::population::AnalysisData;

/// One arm's column of the flow diagram.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ArmFlow {
    pub arm: String,
    pub label: String,
    pub allocated: usize,
    pub withdrawn: usize,
    /// Withdrawal reasons with counts.
    pub reasons: BTreeMap<String, usize>,
    /// Discontinued the intervention but stayed in follow-up (intention to
    /// treat keeps them).
    pub discontinued: usize,
    /// Discontinuation reasons with counts.
    pub discontinued_reasons: BTreeMap<String, usize>,
    /// With the primary outcome recorded at follow-up.
    pub outcome_recorded: usize,
    pub outcome_missing: usize,
    /// In each population (by id).
    pub populations: BTreeMap<String, usize>,
}

/// The CONSORT flow.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Flow {
    pub assessed: usize,
    pub ineligible: usize,
    pub undetermined: usize,
    /// Eligible, declined to participate (CONSORT's "declined").
    pub declined: usize,
    /// Eligible, not randomised for another reason.
    pub eligible_not_randomised: usize,
    pub randomised: usize,
    pub arms: Vec<ArmFlow>,
    /// The variable counted as the primary outcome.
    pub primary_variable: Option<String>,
}

/// Counts the flow from the state and the analysis data set.
pub fn flow(
    state: &TrialState,
    protocol: &Protocol,
    data: &AnalysisData,
    primary_variable: Option<&str>,
) -> Flow {
    let mut f = Flow {
        assessed: 0,
        ineligible: 0,
        undetermined: 0,
        declined: 0,
        eligible_not_randomised: 0,
        randomised: 0,
        arms: Vec::new(),
        primary_variable: primary_variable.map(str::to_string),
    };
    for p in state.participants.values() {
        if p.screening.is_none() && p.allocation.is_none() {
            continue;
        }
        f.assessed += 1;
        if p.allocation.is_some() {
            f.randomised += 1;
            continue;
        }
        match p.screening.as_ref().map(|s| s.verdict) {
            Some(Verdict::Ineligible) => f.ineligible += 1,
            Some(Verdict::Undetermined) => f.undetermined += 1,
            _ if p.declined.is_some() && p.consented.is_none() => f.declined += 1,
            _ => f.eligible_not_randomised += 1,
        }
    }
    let arm_col = match data.frame.column("arm") {
        Some(Column::Text(v)) => v.clone(),
        _ => Vec::new(),
    };
    let outcome = primary_variable.and_then(|v| match data.frame.column(v) {
        Some(Column::Num(x)) => Some(x.clone()),
        _ => None,
    });
    for arm in &protocol.arms {
        let id = arm.id.get_ref();
        let rows: Vec<usize> = (0..arm_col.len()).filter(|&i| &arm_col[i] == id).collect();
        let mut reasons = BTreeMap::new();
        let mut withdrawn = 0;
        let mut discontinued_reasons = BTreeMap::new();
        let mut discontinued = 0;
        for &i in &rows {
            let stopped = state
                .participants
                .get(&data.participants[i])
                .and_then(|p| p.intervention_stopped.as_ref());
            if let Some((_, reason)) = stopped {
                discontinued += 1;
                let reason = reason
                    .clone()
                    .unwrap_or_else(|| "no reason recorded".into());
                *discontinued_reasons.entry(reason).or_insert(0) += 1;
            }
            if data.withdrawn[i] {
                withdrawn += 1;
                let reason = state
                    .participants
                    .get(&data.participants[i])
                    .and_then(|p| p.withdrawn.as_ref())
                    .and_then(|w| w.1.clone())
                    .unwrap_or_else(|| "no reason recorded".into());
                *reasons.entry(reason).or_insert(0) += 1;
            }
        }
        let recorded = outcome
            .as_ref()
            .map_or(0, |o| rows.iter().filter(|&&i| !o[i].is_nan()).count());
        let populations = data
            .populations
            .iter()
            .map(|(k, mask)| (k.clone(), rows.iter().filter(|&&i| mask[i]).count()))
            .collect();
        f.arms.push(ArmFlow {
            arm: id.clone(),
            label: arm.label.clone(),
            allocated: rows.len(),
            withdrawn,
            reasons,
            discontinued,
            discontinued_reasons,
            outcome_recorded: recorded,
            outcome_missing: rows.len() - recorded,
            populations,
        });
    }
    f
}
