//! ACR 1997 revised classification criteria for SLE (Tan et al. 1982 as
//! updated by Hochberg, Arthritis Rheum 1997;40:1725).
//!
//! Classified when at least 4 of the 11 criteria are present, serially or
//! simultaneously, during any interval of observation.

use serde::{Deserialize, Serialize};

use crate::result::{BreakdownLine, ScoreResult};
use crate::{ScoreError, ScoreName};

const SCORE: &str = "acr-1997";

/// The input names of the 11 criteria of `AcrCriteria`, in the paper's order (the
/// rule language's named score reads exactly these facts).
pub const ITEMS: &[&str] = &[
    "malar_rash",
    "discoid_rash",
    "photosensitivity",
    "oral_ulcers",
    "arthritis",
    "serositis",
    "renal_disorder",
    "neurologic_disorder",
    "hematologic_disorder",
    "immunologic_disorder",
    "antinuclear_antibody",
];

/// The 11 criteria. Every one must be given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcrCriteria {
    pub malar_rash: Option<bool>,
    pub discoid_rash: Option<bool>,
    pub photosensitivity: Option<bool>,
    pub oral_ulcers: Option<bool>,
    pub arthritis: Option<bool>,
    pub serositis: Option<bool>,
    pub renal_disorder: Option<bool>,
    pub neurologic_disorder: Option<bool>,
    pub hematologic_disorder: Option<bool>,
    pub immunologic_disorder: Option<bool>,
    pub antinuclear_antibody: Option<bool>,
}

/// The ACR 1997 input (see docs/scores.md).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcrInput {
    #[serde(default)]
    pub criteria: AcrCriteria,
}

/// An ACR 1997 result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AcrResult {
    pub met: u32,
    pub classified: bool,
    pub reason: String,
    pub criteria: Vec<(&'static str, bool)>,
}

/// Applies the ACR 1997 criteria.
pub fn score(input: &AcrInput) -> Result<AcrResult, ScoreError> {
    let c = &input.criteria;
    let list: [(&'static str, Option<bool>); 11] = [
        ("malar_rash", c.malar_rash),
        ("discoid_rash", c.discoid_rash),
        ("photosensitivity", c.photosensitivity),
        ("oral_ulcers", c.oral_ulcers),
        ("arthritis", c.arthritis),
        ("serositis", c.serositis),
        ("renal_disorder", c.renal_disorder),
        ("neurologic_disorder", c.neurologic_disorder),
        ("hematologic_disorder", c.hematologic_disorder),
        ("immunologic_disorder", c.immunologic_disorder),
        ("antinuclear_antibody", c.antinuclear_antibody),
    ];
    let given: Vec<(&'static str, bool)> = list.iter().map(|(n, v)| (*n, v.is_some())).collect();
    crate::require_all(SCORE, "criteria.", &given)?;
    let criteria: Vec<(&'static str, bool)> =
        list.iter().map(|(n, v)| (*n, *v == Some(true))).collect();
    let met = criteria.iter().filter(|(_, m)| *m).count() as u32;
    let classified = met >= 4;
    let reason = if classified {
        format!("classified: {met} of 11 criteria (>= 4)")
    } else {
        format!("not classified: {met} of 11 criteria (< 4)")
    };
    Ok(AcrResult {
        met,
        classified,
        reason,
        criteria,
    })
}

impl From<AcrResult> for ScoreResult {
    fn from(r: AcrResult) -> Self {
        ScoreResult {
            score: ScoreName::Acr1997,
            total: f64::from(r.met),
            max_total: 11.0,
            classified: Some(r.classified),
            category: None,
            flare: None,
            prorated: false,
            summary: r.reason,
            groups: Vec::new(),
            breakdown: r
                .criteria
                .iter()
                .map(|(n, m)| BreakdownLine {
                    item: (*n).to_string(),
                    group: None,
                    value: if *m { "present" } else { "absent" }.to_string(),
                    present: *m,
                    weight: Some(1.0),
                    points: if *m { 1.0 } else { 0.0 },
                    note: None,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn items_are_the_input_fields() {
        let v = serde_json::to_value(AcrCriteria::default()).unwrap();
        let mut fields: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        fields.sort_unstable();
        let mut sorted = ITEMS.to_vec();
        sorted.sort_unstable();
        assert_eq!(fields, sorted);
    }

    use super::*;
    use serde_json::json;

    fn run(n_met: usize) -> AcrResult {
        let names = ITEMS;
        let mut c = serde_json::Map::new();
        for (i, n) in names.iter().enumerate() {
            c.insert((*n).to_string(), json!(i < n_met));
        }
        score(&serde_json::from_value(json!({ "criteria": c })).unwrap()).unwrap()
    }

    #[test]
    fn four_of_eleven_classifies_three_does_not() {
        assert!(!run(3).classified);
        assert!(run(4).classified);
        assert_eq!(run(11).met, 11);
        assert_eq!(run(0).met, 0);
    }

    #[test]
    fn missing_and_unknown_criteria() {
        let e = score(&AcrInput::default()).unwrap_err();
        assert_eq!(e.missing_fields().unwrap().len(), 11);
        let e = crate::parse_input::<AcrInput>(SCORE, &json!({"criteria": {"fever": true}}))
            .unwrap_err();
        assert!(e.to_string().contains("unknown field `fever`"), "{e}");
    }
}
