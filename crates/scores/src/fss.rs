//! Fatigue Severity Scale (Krupp et al., Arch Neurol 1989;46:1121).
//!
//! Nine items, each answered 1-7, none reversed; the score is the mean of the
//! nine (1-7). The paper gives no rule for missing items, so the score needs
//! all nine unless the caller allows up to `max_missing` missing items, in
//! which case the mean of the answered items is used (proration) and the
//! result is flagged `prorated`.

use serde::{Deserialize, Serialize};

use crate::result::{BreakdownLine, ScoreResult};
use crate::{ScoreError, ScoreName};

const SCORE: &str = "fss";

/// Number of items.
pub const ITEMS: usize = 9;

/// A mean at or above this is commonly read as fatigue.
pub const FATIGUE_CUTOFF: f64 = 4.0;

/// The FSS input: nine answers (`null` for a missing one).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FssInput {
    pub items: Vec<Option<serde_json::Number>>,
    /// How many items may be missing; 0 (the default) requires all nine.
    #[serde(default)]
    pub max_missing: usize,
}

/// An FSS result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FssResult {
    /// Mean of the answered items (1-7).
    pub score: f64,
    pub answered: usize,
    pub prorated: bool,
    pub fatigue: bool,
    pub items: Vec<Option<u8>>,
}

fn item_value(i: usize, n: &serde_json::Number) -> Result<u8, ScoreError> {
    let out_of_range = || ScoreError::OutOfRange {
        score: SCORE,
        field: format!("item {} (items[{i}])", i + 1),
        value: n.to_string(),
        expected: "a whole number from 1 to 7".to_string(),
    };
    // whole numbers only, written as 5 or 5.0
    let v = n
        .as_f64()
        .filter(|x| x.fract() == 0.0)
        .ok_or_else(out_of_range)?;
    if (1.0..=7.0).contains(&v) {
        Ok(v as u8)
    } else {
        Err(out_of_range())
    }
}

/// Scores the FSS.
pub fn score(input: &FssInput) -> Result<FssResult, ScoreError> {
    if input.items.len() != ITEMS {
        return Err(ScoreError::Invalid {
            score: SCORE,
            field: "items".to_string(),
            message: format!(
                "expected {ITEMS} answers (use null for a missing one), found {}",
                input.items.len()
            ),
        });
    }
    let items = input
        .items
        .iter()
        .enumerate()
        .map(|(i, v)| v.as_ref().map(|n| item_value(i, n)).transpose())
        .collect::<Result<Vec<Option<u8>>, _>>()?;
    let missing: Vec<String> = items
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_none())
        .map(|(i, _)| format!("item {}", i + 1))
        .collect();
    let answered = ITEMS - missing.len();
    if answered == 0 || missing.len() > input.max_missing {
        let hint = if answered == 0 {
            "no item answered".to_string()
        } else if input.max_missing == 0 {
            "all 9 items are required unless proration is allowed (max_missing, --allow-missing)"
                .to_string()
        } else {
            format!("at most {} may be missing", input.max_missing)
        };
        return Err(ScoreError::Missing {
            score: SCORE,
            fields: missing,
            hint: Some(hint),
        });
    }
    let sum: u32 = items.iter().flatten().map(|&v| u32::from(v)).sum();
    let mean = f64::from(sum) / answered as f64;
    Ok(FssResult {
        score: mean,
        answered,
        prorated: answered < ITEMS,
        fatigue: mean >= FATIGUE_CUTOFF,
        items,
    })
}

impl From<FssResult> for ScoreResult {
    fn from(r: FssResult) -> Self {
        let summary = if r.prorated {
            format!(
                "mean of {} answered items (prorated: {} missing)",
                r.answered,
                ITEMS - r.answered
            )
        } else {
            "mean of the 9 items".to_string()
        };
        ScoreResult {
            score: ScoreName::Fss,
            total: r.score,
            max_total: 7.0,
            classified: None,
            category: Some(
                if r.fatigue {
                    "fatigue (mean >= 4)"
                } else {
                    "no fatigue (mean < 4)"
                }
                .to_string(),
            ),
            flare: None,
            prorated: r.prorated,
            summary,
            groups: Vec::new(),
            breakdown: r
                .items
                .iter()
                .enumerate()
                .map(|(i, v)| BreakdownLine {
                    item: format!("item {}", i + 1),
                    group: None,
                    value: v.map_or_else(|| "missing".to_string(), |x| x.to_string()),
                    present: v.is_some(),
                    weight: None,
                    points: v.map_or(0.0, f64::from),
                    note: None,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(v: serde_json::Value) -> FssInput {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn mean_of_nine() {
        let r = score(&input(json!({"items": [4, 5, 6, 3, 5, 4, 6, 7, 5]}))).unwrap();
        // sum 45 / 9 = 5
        assert_eq!(r.score, 5.0);
        assert!(r.fatigue);
        assert!(!r.prorated);
        let r = score(&input(json!({"items": [1, 1, 1, 1, 1, 1, 1, 1, 1]}))).unwrap();
        assert_eq!(r.score, 1.0);
        // 35 / 9 = 3.888..., just below the cut-off
        let r = score(&input(json!({"items": [4, 4, 4, 4, 4, 4, 4, 4, 3]}))).unwrap();
        assert!((r.score - 35.0 / 9.0).abs() < 1e-12);
        assert!(!r.fatigue);
    }

    #[test]
    fn complete_required_by_default() {
        let e = score(&input(json!({"items": [4, 5, 6, null, 5, 4, 6, 7, 5]}))).unwrap_err();
        assert_eq!(e.missing_fields().unwrap(), ["item 4"]);
    }

    #[test]
    fn proration_when_allowed_is_flagged() {
        let r = score(&input(
            json!({"items": [4, 5, 6, null, 5, 4, 6, 7, 5], "max_missing": 1}),
        ))
        .unwrap();
        // (45 - 3) / 8 = 5.25
        assert_eq!(r.score, 5.25);
        assert!(r.prorated);
        assert_eq!(r.answered, 8);
        let e = score(&input(
            json!({"items": [4, 5, null, null, 5, 4, 6, 7, 5], "max_missing": 1}),
        ))
        .unwrap_err();
        assert_eq!(e.missing_fields().unwrap(), ["item 3", "item 4"]);
        assert!(e.to_string().contains("at most 1 may be missing"), "{e}");
    }

    #[test]
    fn all_missing_is_never_scored() {
        let e = score(&input(json!({"items": [null, null, null, null, null, null, null, null, null], "max_missing": 9})))
            .unwrap_err();
        assert!(e.missing_fields().is_some());
    }

    #[test]
    fn out_of_range_item_is_named() {
        let r = score(&input(json!({"items": [4.0, 5, 6, 3, 5, 4, 6, 7, 5]}))).unwrap();
        assert_eq!(r.score, 5.0);
        for bad in [json!(0), json!(8), json!(4.5), json!(-1), json!(1e300)] {
            let e = score(&input(json!({"items": [4, 5, 6, 3, bad, 4, 6, 7, 5]}))).unwrap_err();
            assert!(matches!(e, ScoreError::OutOfRange { .. }), "{e}");
            assert!(e.to_string().contains("item 5"), "{e}");
        }
    }

    #[test]
    fn wrong_number_of_items() {
        let e = score(&input(json!({"items": [4, 5, 6]}))).unwrap_err();
        assert!(e.to_string().contains("expected 9 answers"), "{e}");
    }
}
