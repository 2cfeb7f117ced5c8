//! The trial design carried by the registration event: randomisation (design
//! text, ratio, strata, minimisation factors, list length, kits) and form
//! rules. Stored as JSON in `Payload::TrialRegistered::design`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use rct_random::{DesignSpec, RandomError};

use crate::event::{Arm, FormRule};

fn is_false(b: &bool) -> bool {
    !*b
}

/// Randomisation and form rules of a trial.
///
/// JSON shape (every key but `spec` optional):
/// `{"spec":"pbr:4","ratio":[1,1],"stratify_by":["site","sex"],
///   "minimise_on":{"age":1.0},"list_length":100,"kits":true,
///   "forms":[{"form":"hiit_session","arm":"hiit"},{"form":"sledai","entered_by":"outcome_assessor"}]}`.
/// A bare string (`"pbr:4"`) is read as `{"spec":"pbr:4"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialDesign {
    /// Design text as `rct randomise` takes it (`pbr:4`, `rpbr:4,6`, `psm:range:0.8`, ...).
    pub spec: String,
    /// Allocation weight of each arm, in arm order (empty: 1 each).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ratio: Vec<u32>,
    /// Factors defining strata, in protocol order (empty: one stratum `all`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stratify_by: Vec<String>,
    /// Minimisation factors and weights (minimisation designs).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub minimise_on: BTreeMap<String, f64>,
    /// List length per stratum (random allocation rule, maximal procedure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_length: Option<u32>,
    /// Whether randomisation dispenses a kit code (double-blind drug trials).
    #[serde(default, skip_serializing_if = "is_false")]
    pub kits: bool,
    /// Form rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forms: Vec<FormRule>,
    /// The protocol's TOML text, when the trial was registered from a
    /// protocol file (`rct trial create`): edges screen, validate entries and
    /// score sessions against it. Concealed with the design (the protocol
    /// names the randomisation design).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

/// Why a trial design cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DesignError {
    /// Not the documented JSON shape.
    #[error("the trial design is not valid: {0}; expected a design text such as \"pbr:4\" or an object {{\"spec\": \"pbr:4\", \"stratify_by\": [...], ...}}")]
    Shape(String),
    /// The randomisation crate refused it.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// Ratio and arms disagree.
    #[error("the design gives {ratio} ratio weights for {arms} arms; give one weight per arm")]
    RatioLength {
        /// Weights given.
        ratio: usize,
        /// Arms.
        arms: usize,
    },
    /// A form rule names an arm that does not exist.
    #[error("form `{form}` is said to belong to arm `{arm}`, which is not an arm of the trial")]
    UnknownArm {
        /// Form.
        form: String,
        /// Arm named.
        arm: String,
    },
}

impl TrialDesign {
    /// A design with only its text.
    pub fn new(spec: &str) -> TrialDesign {
        TrialDesign {
            spec: spec.to_string(),
            ratio: Vec::new(),
            stratify_by: Vec::new(),
            minimise_on: BTreeMap::new(),
            list_length: None,
            kits: false,
            forms: Vec::new(),
            protocol: None,
        }
    }

    /// Reads the registration's `design` value.
    pub fn from_value(value: &Value) -> Result<TrialDesign, DesignError> {
        match value {
            Value::String(s) => Ok(TrialDesign::new(s)),
            other => {
                serde_json::from_value(other.clone()).map_err(|e| DesignError::Shape(e.to_string()))
            }
        }
    }

    /// What blinded roles may know of the design, stored open in the
    /// registration beside the sealed design: strata, minimisation factors
    /// (names only), whether kits are dispensed, and the form rules (in a
    /// blinded trial only those of forms that belong to no arm).
    pub fn public_value(&self, blinded: bool) -> Value {
        let forms: Vec<&FormRule> = self
            .forms
            .iter()
            .filter(|f| !blinded || f.arm.is_none())
            .collect();
        serde_json::json!({
            "stratify_by": self.stratify_by,
            "minimise_on": self.minimise_on.keys().collect::<Vec<_>>(),
            "kits": self.kits,
            "forms": forms,
        })
    }

    /// The JSON stored in the registration.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The parsed design.
    pub fn design_spec(&self) -> Result<DesignSpec, DesignError> {
        Ok(self.spec.parse::<DesignSpec>()?)
    }

    /// Arms with their weights for `rct_random`.
    pub fn weighted_arms(&self, arms: &[Arm]) -> Result<Vec<rct_random::Arm>, DesignError> {
        if !self.ratio.is_empty() && self.ratio.len() != arms.len() {
            return Err(DesignError::RatioLength {
                ratio: self.ratio.len(),
                arms: arms.len(),
            });
        }
        Ok(arms
            .iter()
            .enumerate()
            .map(|(i, a)| {
                rct_random::Arm::new(a.id.clone(), self.ratio.get(i).copied().unwrap_or(1))
            })
            .collect())
    }

    /// Checks the design against the arms: the text parses, the ratio suits
    /// the design, form rules name real arms.
    pub fn validate(&self, arms: &[Arm]) -> Result<(), DesignError> {
        let spec = self.design_spec()?;
        let weighted = self.weighted_arms(arms)?;
        let ratio: Vec<u32> = weighted.iter().map(|a| a.weight).collect();
        spec.check_ratio(&ratio)?;
        for f in &self.forms {
            if let Some(arm) = &f.arm {
                if !arms.iter().any(|a| &a.id == arm) {
                    return Err(DesignError::UnknownArm {
                        form: f.form.clone(),
                        arm: arm.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The rule of a form, if any.
    pub fn form(&self, form: &str) -> Option<&FormRule> {
        self.forms.iter().find(|f| f.form == form)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_string_and_object_forms() {
        assert_eq!(
            TrialDesign::from_value(&json!("pbr:4")).unwrap(),
            TrialDesign::new("pbr:4")
        );
        let d = TrialDesign::from_value(
            &json!({"spec": "rpbr:4,6", "stratify_by": ["sex"], "kits": true,
            "forms": [{"form": "hiit_session", "arm": "hiit"}]}),
        )
        .unwrap();
        assert!(d.kits);
        assert_eq!(d.stratify_by, vec!["sex".to_string()]);
        assert_eq!(d.form("hiit_session").unwrap().arm.as_deref(), Some("hiit"));
        assert_eq!(TrialDesign::from_value(&d.to_value()).unwrap(), d);
        let err = TrialDesign::from_value(&json!({"stratify_by": []})).unwrap_err();
        assert!(err.to_string().contains("missing field `spec`"), "{err}");
    }

    #[test]
    fn validates_against_arms() {
        let arms = vec![
            Arm {
                id: "a".into(),
                name: "A".into(),
            },
            Arm {
                id: "b".into(),
                name: "B".into(),
            },
        ];
        assert!(TrialDesign::new("pbr:4").validate(&arms).is_ok());
        let err = TrialDesign::new("pbr:3").validate(&arms).unwrap_err();
        assert!(err.to_string().contains("pbr:3"), "{err}");
        let mut d = TrialDesign::new("pbr:4");
        d.ratio = vec![1];
        assert_eq!(
            d.validate(&arms).unwrap_err().to_string(),
            "the design gives 1 ratio weights for 2 arms; give one weight per arm"
        );
        d.ratio = vec![];
        d.forms.push(FormRule {
            form: "f".into(),
            arm: Some("c".into()),
            entered_by: None,
        });
        assert_eq!(
            d.validate(&arms).unwrap_err().to_string(),
            "form `f` is said to belong to arm `c`, which is not an arm of the trial"
        );
    }
}
