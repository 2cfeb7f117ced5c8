//! SLICC 2012 classification criteria for SLE (Petri et al., Arthritis Rheum
//! 2012;64:2677).
//!
//! Classified when either (a) at least 4 of the 17 criteria are met, with at
//! least one of the 11 clinical and one of the 6 immunologic criteria, or (b)
//! lupus nephritis is proven by biopsy in the presence of ANA or anti-dsDNA.
//! Criteria are cumulative and need not be present at the same time. The
//! direct Coombs test counts only in the absence of haemolytic anaemia.

use serde::{Deserialize, Serialize};

use crate::result::{BreakdownLine, GroupScore, ScoreResult};
use crate::{ScoreError, ScoreName};

const SCORE: &str = "slicc-2012";

/// The input names of the 17 criteria of `SliccCriteria`, in the paper's order (the
/// rule language's named score reads exactly these facts).
pub const ITEMS: &[&str] = &[
    "acute_cutaneous_lupus",
    "chronic_cutaneous_lupus",
    "oral_ulcers",
    "non_scarring_alopecia",
    "synovitis",
    "serositis",
    "renal",
    "neurologic",
    "haemolytic_anaemia",
    "leukopenia_or_lymphopenia",
    "thrombocytopenia",
    "ana",
    "anti_dsdna",
    "anti_sm",
    "antiphospholipid",
    "low_complement",
    "direct_coombs",
];

/// The 17 criteria and the nephritis route. Every field must be given.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SliccCriteria {
    // clinical
    pub acute_cutaneous_lupus: Option<bool>,
    pub chronic_cutaneous_lupus: Option<bool>,
    pub oral_ulcers: Option<bool>,
    pub non_scarring_alopecia: Option<bool>,
    pub synovitis: Option<bool>,
    pub serositis: Option<bool>,
    pub renal: Option<bool>,
    pub neurologic: Option<bool>,
    #[serde(alias = "hemolytic_anemia")]
    pub haemolytic_anaemia: Option<bool>,
    pub leukopenia_or_lymphopenia: Option<bool>,
    pub thrombocytopenia: Option<bool>,
    // immunologic
    pub ana: Option<bool>,
    pub anti_dsdna: Option<bool>,
    pub anti_sm: Option<bool>,
    pub antiphospholipid: Option<bool>,
    pub low_complement: Option<bool>,
    pub direct_coombs: Option<bool>,
}

/// The SLICC 2012 input (see docs/scores.md).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SliccInput {
    #[serde(default)]
    pub criteria: SliccCriteria,
    /// Lupus nephritis proven by renal biopsy.
    pub biopsy_proven_lupus_nephritis: Option<bool>,
}

/// One criterion as evaluated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SliccCriterion {
    pub name: &'static str,
    pub kind: &'static str,
    pub met: bool,
    /// Counted towards the 4 (false for a direct Coombs test with
    /// haemolytic anaemia).
    pub counted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A SLICC 2012 result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SliccResult {
    pub clinical: u32,
    pub immunologic: u32,
    pub total: u32,
    pub biopsy_proven_lupus_nephritis: bool,
    pub classified: bool,
    pub reason: String,
    pub criteria: Vec<SliccCriterion>,
}

/// Applies the SLICC 2012 criteria.
pub fn score(input: &SliccInput) -> Result<SliccResult, ScoreError> {
    let c = &input.criteria;
    let list: [(&'static str, &'static str, Option<bool>); 17] = [
        ("acute_cutaneous_lupus", "clinical", c.acute_cutaneous_lupus),
        (
            "chronic_cutaneous_lupus",
            "clinical",
            c.chronic_cutaneous_lupus,
        ),
        ("oral_ulcers", "clinical", c.oral_ulcers),
        ("non_scarring_alopecia", "clinical", c.non_scarring_alopecia),
        ("synovitis", "clinical", c.synovitis),
        ("serositis", "clinical", c.serositis),
        ("renal", "clinical", c.renal),
        ("neurologic", "clinical", c.neurologic),
        ("haemolytic_anaemia", "clinical", c.haemolytic_anaemia),
        (
            "leukopenia_or_lymphopenia",
            "clinical",
            c.leukopenia_or_lymphopenia,
        ),
        ("thrombocytopenia", "clinical", c.thrombocytopenia),
        ("ana", "immunologic", c.ana),
        ("anti_dsdna", "immunologic", c.anti_dsdna),
        ("anti_sm", "immunologic", c.anti_sm),
        ("antiphospholipid", "immunologic", c.antiphospholipid),
        ("low_complement", "immunologic", c.low_complement),
        ("direct_coombs", "immunologic", c.direct_coombs),
    ];
    let mut given: Vec<(&'static str, bool)> =
        list.iter().map(|(n, _, v)| (*n, v.is_some())).collect();
    crate::require_all(SCORE, "criteria.", &given)?;
    given.clear();
    let Some(nephritis) = input.biopsy_proven_lupus_nephritis else {
        return Err(ScoreError::Missing {
            score: SCORE,
            fields: vec!["biopsy_proven_lupus_nephritis".to_string()],
            hint: Some("give false when there is no biopsy-proven lupus nephritis".to_string()),
        });
    };
    let haemolysis = c.haemolytic_anaemia == Some(true);
    let mut criteria = Vec::with_capacity(17);
    let (mut clinical, mut immunologic) = (0u32, 0u32);
    for (name, kind, v) in list {
        let met = v == Some(true);
        let coombs_void = name == "direct_coombs" && met && haemolysis;
        let counted = met && !coombs_void;
        if counted {
            if kind == "clinical" {
                clinical += 1;
            } else {
                immunologic += 1;
            }
        }
        criteria.push(SliccCriterion {
            name,
            kind,
            met,
            counted,
            note: coombs_void.then(|| {
                "not counted: the direct Coombs test counts only in the absence of haemolytic anaemia"
                    .to_string()
            }),
        });
    }
    let total = clinical + immunologic;
    let ana_or_dsdna = c.ana == Some(true) || c.anti_dsdna == Some(true);
    let by_count = total >= 4 && clinical >= 1 && immunologic >= 1;
    let by_nephritis = nephritis && ana_or_dsdna;
    let classified = by_count || by_nephritis;
    let reason = if by_nephritis {
        format!(
            "classified: biopsy-proven lupus nephritis with {}",
            if c.ana == Some(true) {
                "ANA"
            } else {
                "anti-dsDNA"
            }
        )
    } else if by_count {
        format!("classified: {total} criteria (>= 4), {clinical} clinical and {immunologic} immunologic")
    } else if total < 4 {
        format!("not classified: {total} criteria (< 4)")
    } else if clinical == 0 {
        format!("not classified: {total} criteria but none clinical")
    } else {
        format!("not classified: {total} criteria but none immunologic")
    };
    let reason = if nephritis && !ana_or_dsdna && !by_count {
        format!("{reason}; biopsy-proven nephritis needs ANA or anti-dsDNA")
    } else {
        reason
    };
    Ok(SliccResult {
        clinical,
        immunologic,
        total,
        biopsy_proven_lupus_nephritis: nephritis,
        classified,
        reason,
        criteria,
    })
}

fn yes_no(b: bool) -> String {
    if b { "present" } else { "absent" }.to_string()
}

impl From<SliccResult> for ScoreResult {
    fn from(r: SliccResult) -> Self {
        let mut breakdown: Vec<BreakdownLine> = r
            .criteria
            .iter()
            .map(|c| BreakdownLine {
                item: c.name.to_string(),
                group: Some(c.kind.to_string()),
                value: yes_no(c.met),
                present: c.met,
                weight: Some(1.0),
                points: if c.counted { 1.0 } else { 0.0 },
                note: c.note.clone(),
            })
            .collect();
        breakdown.push(BreakdownLine {
            item: "biopsy_proven_lupus_nephritis".to_string(),
            group: Some("nephritis route".to_string()),
            value: yes_no(r.biopsy_proven_lupus_nephritis),
            present: r.biopsy_proven_lupus_nephritis,
            weight: None,
            points: 0.0,
            note: Some("classifies on its own with ANA or anti-dsDNA".to_string()),
        });
        ScoreResult {
            score: ScoreName::Slicc2012,
            total: f64::from(r.total),
            max_total: 17.0,
            classified: Some(r.classified),
            category: None,
            flare: None,
            prorated: false,
            summary: r.reason,
            groups: vec![
                GroupScore {
                    name: "clinical".to_string(),
                    kind: None,
                    points: f64::from(r.clinical),
                    counted: None,
                },
                GroupScore {
                    name: "immunologic".to_string(),
                    kind: None,
                    points: f64::from(r.immunologic),
                    counted: None,
                },
            ],
            breakdown,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn items_are_the_input_fields_in_order() {
        let v = serde_json::to_value(SliccCriteria::default()).unwrap();
        let fields: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut sorted = ITEMS.to_vec();
        sorted.sort_unstable();
        let mut fields_sorted = fields.clone();
        fields_sorted.sort_unstable();
        assert_eq!(fields_sorted, sorted);
    }

    use super::*;
    use serde_json::{json, Value};

    const NAMES: &[&str] = ITEMS;

    fn run(met: &[&str], nephritis: bool) -> SliccResult {
        let mut c = serde_json::Map::new();
        for n in NAMES {
            c.insert(n.to_string(), Value::Bool(met.contains(n)));
        }
        let input: SliccInput = serde_json::from_value(
            json!({"criteria": c, "biopsy_proven_lupus_nephritis": nephritis}),
        )
        .unwrap();
        score(&input).unwrap()
    }

    #[test]
    fn four_all_clinical_is_not_classified() {
        let r = run(
            &["oral_ulcers", "synovitis", "serositis", "thrombocytopenia"],
            false,
        );
        assert_eq!(r.total, 4);
        assert!(!r.classified);
        assert!(r.reason.contains("none immunologic"), "{}", r.reason);
    }

    #[test]
    fn four_all_immunologic_is_not_classified() {
        let r = run(&["ana", "anti_dsdna", "anti_sm", "low_complement"], false);
        assert!(!r.classified);
        assert!(r.reason.contains("none clinical"), "{}", r.reason);
    }

    #[test]
    fn three_plus_one_is_classified_three_is_not() {
        let r = run(&["oral_ulcers", "synovitis", "serositis", "ana"], false);
        assert!(r.classified, "{}", r.reason);
        let r = run(&["synovitis", "serositis", "ana"], false);
        assert!(!r.classified);
        assert!(r.reason.contains("3 criteria (< 4)"), "{}", r.reason);
    }

    #[test]
    fn nephritis_route() {
        assert!(run(&["ana"], true).classified);
        assert!(run(&["anti_dsdna"], true).classified);
        // anti-Sm alone does not open the nephritis route
        let r = run(&["anti_sm"], true);
        assert!(!r.classified);
        assert!(r.reason.contains("needs ANA or anti-dsDNA"), "{}", r.reason);
        assert!(!run(&["ana"], false).classified);
    }

    #[test]
    fn coombs_does_not_count_with_haemolytic_anaemia() {
        let r = run(
            &[
                "haemolytic_anaemia",
                "direct_coombs",
                "synovitis",
                "serositis",
            ],
            false,
        );
        assert_eq!(r.total, 3);
        assert!(!r.classified);
        let r = run(
            &["direct_coombs", "synovitis", "serositis", "oral_ulcers"],
            false,
        );
        assert_eq!(r.total, 4);
        assert!(r.classified);
    }

    #[test]
    fn missing_criteria_are_listed() {
        let input: SliccInput = serde_json::from_value(json!({"criteria": {"ana": true}})).unwrap();
        let e = score(&input).unwrap_err();
        assert_eq!(e.missing_fields().unwrap().len(), 16);
    }
}
