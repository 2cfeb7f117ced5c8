//! Clinical scores used by the SLE trials `rct` runs.
//!
//! Each score is a pure function from a typed, serde-deserialisable input to a
//! typed result that carries its breakdown:
//!
//! | name | function | source |
//! |---|---|---|
//! | `sledai2k` | [`sledai::score`] | Gladman et al., J Rheumatol 2002;29:288 (SELENA proteinuria rule selectable) |
//! | `eular-acr-2019` | [`eular::score`] | Aringer et al., Ann Rheum Dis 2019;78:1151 |
//! | `slicc-2012` | [`slicc::score`] | Petri et al., Arthritis Rheum 2012;64:2677 |
//! | `acr-1997` | [`acr1997::score`] | Hochberg, Arthritis Rheum 1997;40:1725 |
//! | `fss` | [`fss::score`] | Krupp et al., Arch Neurol 1989;46:1121 |
//! | `bilag2004` | [`bilag::score`] | Isenberg et al., Rheumatology 2005;44:902; numerical score Yee et al., Rheumatology 2010;49:1665 (grades given, checked against items) |
//! | `pga` | [`pga::score`] | physician's global assessment, 0-3 visual analogue scale |
//!
//! The SLE Responder Index ([`sri::sri`]; Furie et al., Arthritis Rheum
//! 2009;61:1143) compares two visits, so it is not one of the named scores.
//!
//! Inputs reject unknown fields (an unknown descriptor is an error naming it)
//! and never guess: a descriptor or criterion that is not given is reported as
//! missing ([`ScoreError::Missing`]) rather than taken as absent, so a score
//! used in an exclusion criterion can never make someone eligible by omission.
//!
//! Other crates call scores by name with JSON input through
//! [`score_by_name`], which returns the common [`ScoreResult`].

pub mod acr1997;
pub mod bilag;
pub mod eular;
mod finding;
pub mod fss;
pub mod pga;
pub mod result;
pub mod sledai;
pub mod slicc;
pub mod sri;

use std::fmt;
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use finding::{Finding, Measurement};
pub use result::{BreakdownLine, GroupScore, ScoreResult};
pub use sledai::{ActivityBand, BandSet, ProteinuriaRule};

/// Errors from scoring. Every variant names the score and the field at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoreError {
    /// The score name is not one of [`ScoreName::ALL`].
    #[error(
        "unknown score `{0}`; known scores: sledai2k, eular-acr-2019, slicc-2012, acr-1997, fss, bilag2004, pga"
    )]
    UnknownScore(String),
    /// The input does not have the documented shape (unknown field, wrong
    /// type). `path` is the JSON path of the offending value (`.` = top level).
    #[error("{score}: invalid input at `{path}`: {message}")]
    Input {
        score: &'static str,
        path: String,
        message: String,
    },
    /// Fields the score needs were not given. Nothing is assumed absent.
    #[error(
        "{score}: missing {}: {}{}",
        if fields.len() == 1 { "field" } else { "fields" },
        fields.join(", "),
        hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default()
    )]
    Missing {
        score: &'static str,
        fields: Vec<String>,
        /// What to do about it.
        hint: Option<String>,
    },
    /// A value lies outside the range the instrument allows.
    #[error("{score}: `{field}` is {value}; expected {expected}")]
    OutOfRange {
        score: &'static str,
        field: String,
        value: String,
        expected: String,
    },
    /// A value is well-formed but cannot be used as given (e.g. two ways of
    /// stating the same finding that contradict each other).
    #[error("{score}: `{field}`: {message}")]
    Invalid {
        score: &'static str,
        field: String,
        message: String,
    },
    /// An option was given for a score that does not take it.
    #[error("{score}: option `{option}` does not apply to this score")]
    OptionNotApplicable {
        score: &'static str,
        option: &'static str,
    },
}

impl ScoreError {
    /// The fields that were missing, when this is a [`ScoreError::Missing`]
    /// (a rule engine maps this to "unknown" and lists these as the facts it
    /// needs).
    pub fn missing_fields(&self) -> Option<&[String]> {
        match self {
            ScoreError::Missing { fields, .. } => Some(fields),
            _ => None,
        }
    }
}

/// The scores this crate computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScoreName {
    #[serde(rename = "sledai2k")]
    Sledai2k,
    #[serde(rename = "eular-acr-2019")]
    EularAcr2019,
    #[serde(rename = "slicc-2012")]
    Slicc2012,
    #[serde(rename = "acr-1997")]
    Acr1997,
    #[serde(rename = "fss")]
    Fss,
    #[serde(rename = "bilag2004")]
    Bilag2004,
    #[serde(rename = "pga")]
    Pga,
}

impl ScoreName {
    /// Every score, in the order the command line lists them.
    pub const ALL: [ScoreName; 7] = [
        ScoreName::Sledai2k,
        ScoreName::EularAcr2019,
        ScoreName::Slicc2012,
        ScoreName::Acr1997,
        ScoreName::Fss,
        ScoreName::Bilag2004,
        ScoreName::Pga,
    ];

    /// The registry name (`sledai2k`, `eular-acr-2019`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ScoreName::Sledai2k => "sledai2k",
            ScoreName::EularAcr2019 => "eular-acr-2019",
            ScoreName::Slicc2012 => "slicc-2012",
            ScoreName::Acr1997 => "acr-1997",
            ScoreName::Fss => "fss",
            ScoreName::Bilag2004 => "bilag2004",
            ScoreName::Pga => "pga",
        }
    }

    /// A human title with the source.
    pub fn title(self) -> &'static str {
        match self {
            ScoreName::Sledai2k => "SLEDAI-2K (Gladman et al. 2002)",
            ScoreName::EularAcr2019 => "EULAR/ACR 2019 SLE classification (Aringer et al. 2019)",
            ScoreName::Slicc2012 => "SLICC 2012 SLE classification (Petri et al. 2012)",
            ScoreName::Acr1997 => "ACR 1997 SLE classification (Hochberg 1997)",
            ScoreName::Fss => "Fatigue Severity Scale (Krupp et al. 1989)",
            ScoreName::Bilag2004 => {
                "BILAG-2004 (Isenberg et al. 2005; numerical score Yee et al. 2010)"
            }
            ScoreName::Pga => "Physician's global assessment (0-3 visual analogue scale)",
        }
    }
}

impl fmt::Display for ScoreName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ScoreName {
    type Err = ScoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ScoreName::ALL
            .into_iter()
            .find(|n| n.as_str() == s)
            .ok_or_else(|| ScoreError::UnknownScore(s.to_string()))
    }
}

/// Options that override what the input says (the command line's flags).
/// Giving an option to a score that does not take it is an error.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreOptions {
    /// SLEDAI-2K only: how proteinuria is scored.
    pub proteinuria_rule: Option<ProteinuriaRule>,
    /// SLEDAI-2K only: which activity band set to report.
    pub bands: Option<BandSet>,
    /// FSS only: how many of the 9 items may be missing (proration).
    pub max_missing: Option<usize>,
}

/// Computes the score `name` from a JSON input (the format documented in
/// docs/scores.md). Options the input carries (e.g. `proteinuria_rule`) are
/// honoured.
pub fn score_by_name(name: &str, input: &serde_json::Value) -> Result<ScoreResult, ScoreError> {
    score_with_options(name, input, &ScoreOptions::default())
}

/// As [`score_by_name`], with options that override the input's own.
pub fn score_with_options(
    name: &str,
    input: &serde_json::Value,
    options: &ScoreOptions,
) -> Result<ScoreResult, ScoreError> {
    let name: ScoreName = name.parse()?;
    let label = name.as_str();
    let reject = |given: bool, option: &'static str| {
        if given {
            Err(ScoreError::OptionNotApplicable {
                score: label,
                option,
            })
        } else {
            Ok(())
        }
    };
    if name != ScoreName::Sledai2k {
        reject(options.proteinuria_rule.is_some(), "proteinuria rule")?;
        reject(options.bands.is_some(), "activity bands")?;
    }
    if name != ScoreName::Fss {
        reject(options.max_missing.is_some(), "allow missing")?;
    }
    match name {
        ScoreName::Sledai2k => {
            let mut input: sledai::SledaiInput = parse_input(label, input)?;
            if let Some(rule) = options.proteinuria_rule {
                input.proteinuria_rule = rule;
            }
            if let Some(bands) = options.bands {
                input.bands = bands;
            }
            Ok(sledai::score(&input)?.into())
        }
        ScoreName::EularAcr2019 => {
            let input: eular::EularInput = parse_input(label, input)?;
            Ok(eular::score(&input)?.into())
        }
        ScoreName::Slicc2012 => {
            let input: slicc::SliccInput = parse_input(label, input)?;
            Ok(slicc::score(&input)?.into())
        }
        ScoreName::Acr1997 => {
            let input: acr1997::AcrInput = parse_input(label, input)?;
            Ok(acr1997::score(&input)?.into())
        }
        ScoreName::Fss => {
            let mut input: fss::FssInput = parse_input(label, input)?;
            if let Some(n) = options.max_missing {
                input.max_missing = n;
            }
            Ok(fss::score(&input)?.into())
        }
        ScoreName::Bilag2004 => {
            let input: bilag::BilagInput = parse_input(label, input)?;
            Ok(bilag::score(&input)?.into())
        }
        ScoreName::Pga => {
            let input: pga::PgaInput = parse_input(label, input)?;
            Ok(pga::score(&input).into())
        }
    }
}

/// Deserialises a score's input from JSON, reporting the JSON path of the
/// value at fault.
pub fn parse_input<T: DeserializeOwned>(
    score: &'static str,
    input: &serde_json::Value,
) -> Result<T, ScoreError> {
    serde_path_to_error::deserialize(input).map_err(|e| {
        let path = e.path().to_string();
        ScoreError::Input {
            score,
            path,
            message: e.into_inner().to_string(),
        }
    })
}

/// Collects the names of `None` fields into a [`ScoreError::Missing`].
pub(crate) fn require_all(
    score: &'static str,
    prefix: &str,
    fields: &[(&'static str, bool)],
) -> Result<(), ScoreError> {
    let missing: Vec<String> = fields
        .iter()
        .filter(|(_, given)| !given)
        .map(|(name, _)| format!("{prefix}{name}"))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ScoreError::Missing {
            score,
            fields: missing,
            hint: Some("nothing is assumed absent: give each, false when absent".to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_score_is_an_error_listing_the_known_ones() {
        let e = score_by_name("sledai", &json!({})).unwrap_err();
        assert_eq!(e, ScoreError::UnknownScore("sledai".into()));
        assert!(e.to_string().contains("eular-acr-2019"));
    }

    #[test]
    fn names_round_trip() {
        for n in ScoreName::ALL {
            assert_eq!(n.as_str().parse::<ScoreName>().unwrap(), n);
        }
    }

    #[test]
    fn options_for_the_wrong_score_are_rejected() {
        let opts = ScoreOptions {
            max_missing: Some(1),
            ..Default::default()
        };
        let e = score_with_options("acr-1997", &json!({}), &opts).unwrap_err();
        assert!(matches!(e, ScoreError::OptionNotApplicable { .. }), "{e}");
        let opts = ScoreOptions {
            proteinuria_rule: Some(ProteinuriaRule::Selena),
            ..Default::default()
        };
        let e = score_with_options("fss", &json!({}), &opts).unwrap_err();
        assert!(matches!(e, ScoreError::OptionNotApplicable { .. }), "{e}");
    }
}
