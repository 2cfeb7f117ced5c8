//! Interferon gene signature scores: one engine for the SLE literature's scores.
//!
//! A score is made of
//! * a gene set ([`GeneSet`]: `rice6`, `ifngs4` or any list),
//! * a healthy-control [`Reference`]: per gene, the control median of the
//!   normalised counts and the control mean and SD of log2 counts, plus the
//!   distribution of the controls' own scores; built from control samples of
//!   the batch or loaded from a saved JSON file so later batches share a baseline,
//! * an [`Aggregator`]:
//!   - `median_fold_change` (Rice et al., J Clin Immunol 2017;37:123): fold
//!     change per gene = x / control median; score = median over genes,
//!   - `geometric_mean`: geometric mean over genes of the same fold changes,
//!   - `mean_z` / `sum_z`: z = (log2 x - control mean of log2) / control SD of
//!     log2; score = mean or sum over genes,
//! * a [`Cutoff`]: control mean + k SD of the controls' scores (Rice: k = 2), or
//!   a fixed value; a score above the cut-off is "high".
//!
//! Counts below 1 are raised to 1 before scoring (logs and ratios of zero).
//! SDs are sample SDs (n - 1).

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::num::{mean, median, sd, COUNT_FLOOR};

/// Genes of the Rice/Crow 6-gene score.
pub const RICE6: [&str; 6] = ["IFI27", "IFI44L", "IFIT1", "ISG15", "RSAD2", "SIGLEC1"];
/// Genes of the 4-gene IFNGS of the anifrolumab trials.
pub const IFNGS4: [&str; 4] = ["IFI27", "IFI44", "IFI44L", "RSAD2"];

#[derive(Debug, Clone, PartialEq, Error)]
pub enum IfnError {
    #[error("gene set is empty")]
    EmptyGeneSet,
    #[error("gene not on the panel: {} (gene set: {})", missing.join(", "), set.join(", "))]
    MissingGenes {
        missing: Vec<String>,
        set: Vec<String>,
    },
    #[error("control sample {0} is not in the batch")]
    UnknownControl(String),
    #[error("need at least 2 control samples, got {0}")]
    TooFewControls(usize),
    #[error(
        "gene {gene}: the controls' median count is {median}; a fold change needs a median > 0"
    )]
    ZeroControlMedian { gene: String, median: f64 },
    #[error(
        "gene {gene}: the controls' log2 counts have SD 0; z-scores need spread among controls"
    )]
    ZeroControlSd { gene: String },
    #[error("the reference was built for genes {}, not {}", reference.join(", "), requested.join(", "))]
    ReferenceGenes {
        reference: Vec<String>,
        requested: Vec<String>,
    },
    #[error("bad reference file: {0}")]
    BadReference(String),
}

/// A gene set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GeneSet {
    Rice6,
    Ifngs4,
    Custom(Vec<String>),
}

impl GeneSet {
    /// `rice6`, `ifngs4`, or a comma-separated list of gene names.
    pub fn parse(s: &str) -> Result<GeneSet, IfnError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "rice6" => Ok(GeneSet::Rice6),
            "ifngs4" => Ok(GeneSet::Ifngs4),
            _ => {
                let genes: Vec<String> = s
                    .split(',')
                    .map(|g| g.trim().to_string())
                    .filter(|g| !g.is_empty())
                    .collect();
                if genes.is_empty() {
                    Err(IfnError::EmptyGeneSet)
                } else {
                    Ok(GeneSet::Custom(genes))
                }
            }
        }
    }

    pub fn genes(&self) -> Vec<String> {
        match self {
            GeneSet::Rice6 => RICE6.iter().map(|g| g.to_string()).collect(),
            GeneSet::Ifngs4 => IFNGS4.iter().map(|g| g.to_string()).collect(),
            GeneSet::Custom(g) => g.clone(),
        }
    }
}

/// How per-gene values become one score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregator {
    MedianFoldChange,
    MeanZ,
    SumZ,
    GeometricMean,
}

impl Aggregator {
    pub const ALL: [Aggregator; 4] = [
        Aggregator::MedianFoldChange,
        Aggregator::MeanZ,
        Aggregator::SumZ,
        Aggregator::GeometricMean,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Aggregator::MedianFoldChange => "median_fold_change",
            Aggregator::MeanZ => "mean_z",
            Aggregator::SumZ => "sum_z",
            Aggregator::GeometricMean => "geometric_mean",
        }
    }
}

/// The high/low rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cutoff {
    /// Control mean + k SD of the controls' scores.
    ControlSd(f64),
    Fixed(f64),
}

/// Expression values by gene and sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    pub samples: Vec<String>,
    pub genes: Vec<String>,
    /// `values[gene][sample]`.
    pub values: Vec<Vec<f64>>,
}

impl Expression {
    fn rows(&self, genes: &[String]) -> Result<Vec<&[f64]>, IfnError> {
        if genes.is_empty() {
            return Err(IfnError::EmptyGeneSet);
        }
        let mut rows = Vec::with_capacity(genes.len());
        let mut missing = Vec::new();
        for g in genes {
            match self.genes.iter().position(|h| h == g) {
                Some(i) => rows.push(self.values[i].as_slice()),
                None => missing.push(g.clone()),
            }
        }
        if missing.is_empty() {
            Ok(rows)
        } else {
            Err(IfnError::MissingGenes {
                missing,
                set: genes.to_vec(),
            })
        }
    }
}

impl From<&crate::normalise::Normalised> for Expression {
    fn from(n: &crate::normalise::Normalised) -> Self {
        Expression {
            samples: n.samples.iter().map(|s| s.id.clone()).collect(),
            genes: n.genes.iter().map(|g| g.name.clone()).collect(),
            values: n.values.clone(),
        }
    }
}

/// Healthy-control statistics of one gene.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneReference {
    pub gene: String,
    pub median: f64,
    pub log2_mean: f64,
    pub log2_sd: f64,
}

/// Mean and SD of the controls' own scores under one aggregator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlScores {
    pub aggregator: Aggregator,
    pub mean: f64,
    pub sd: f64,
}

/// A healthy-control reference; serialises to the saved reference file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub format: String,
    pub controls: Vec<String>,
    pub genes: Vec<GeneReference>,
    pub control_scores: Vec<ControlScores>,
}

pub const REFERENCE_FORMAT: &str = "rct-ifn-reference/1";

impl Reference {
    /// Build from the named control samples of a batch.
    pub fn from_controls(
        expr: &Expression,
        genes: &[String],
        controls: &[String],
    ) -> Result<Reference, IfnError> {
        let rows = expr.rows(genes)?;
        let mut idx = Vec::with_capacity(controls.len());
        for c in controls {
            let j = expr
                .samples
                .iter()
                .position(|s| s == c)
                .ok_or_else(|| IfnError::UnknownControl(c.clone()))?;
            if !idx.contains(&j) {
                idx.push(j);
            }
        }
        if idx.len() < 2 {
            return Err(IfnError::TooFewControls(idx.len()));
        }
        let mut gene_refs = Vec::with_capacity(genes.len());
        for (g, row) in genes.iter().zip(&rows) {
            let v: Vec<f64> = idx.iter().map(|&j| row[j].max(COUNT_FLOOR)).collect();
            let logs: Vec<f64> = v.iter().map(|x| x.log2()).collect();
            gene_refs.push(GeneReference {
                gene: g.clone(),
                median: median(&v),
                log2_mean: mean(&logs),
                log2_sd: sd(&logs),
            });
        }
        let mut reference = Reference {
            format: REFERENCE_FORMAT.into(),
            controls: idx.iter().map(|&j| expr.samples[j].clone()).collect(),
            genes: gene_refs,
            control_scores: Vec::new(),
        };
        for agg in Aggregator::ALL {
            // An aggregator that cannot be computed (SD 0) has no control scores.
            let scores: Result<Vec<f64>, IfnError> = idx
                .iter()
                .map(|&j| {
                    let x: Vec<f64> = rows.iter().map(|r| r[j]).collect();
                    reference.score_values(&x, agg)
                })
                .collect();
            if let Ok(s) = scores {
                reference.control_scores.push(ControlScores {
                    aggregator: agg,
                    mean: mean(&s),
                    sd: sd(&s),
                });
            }
        }
        Ok(reference)
    }

    /// Read a saved reference.
    pub fn from_json(text: &str) -> Result<Reference, IfnError> {
        let r: Reference =
            serde_json::from_str(text).map_err(|e| IfnError::BadReference(e.to_string()))?;
        if r.format != REFERENCE_FORMAT {
            return Err(IfnError::BadReference(format!(
                "format {:?}, expected {REFERENCE_FORMAT:?}",
                r.format
            )));
        }
        if r.genes.is_empty() {
            return Err(IfnError::BadReference("no genes".into()));
        }
        Ok(r)
    }

    pub fn gene_names(&self) -> Vec<String> {
        self.genes.iter().map(|g| g.gene.clone()).collect()
    }

    /// Score one sample's values, given in the order of `self.genes`.
    pub fn score_values(&self, x: &[f64], agg: Aggregator) -> Result<f64, IfnError> {
        let fold = || -> Result<Vec<f64>, IfnError> {
            self.genes
                .iter()
                .zip(x)
                .map(|(g, v)| {
                    if g.median > 0.0 {
                        Ok(v.max(COUNT_FLOOR) / g.median)
                    } else {
                        Err(IfnError::ZeroControlMedian {
                            gene: g.gene.clone(),
                            median: g.median,
                        })
                    }
                })
                .collect()
        };
        let z = || -> Result<Vec<f64>, IfnError> {
            self.genes
                .iter()
                .zip(x)
                .map(|(g, v)| {
                    if g.log2_sd > 0.0 {
                        Ok((v.max(COUNT_FLOOR).log2() - g.log2_mean) / g.log2_sd)
                    } else {
                        Err(IfnError::ZeroControlSd {
                            gene: g.gene.clone(),
                        })
                    }
                })
                .collect()
        };
        Ok(match agg {
            Aggregator::MedianFoldChange => median(&fold()?),
            Aggregator::GeometricMean => {
                let f = fold()?;
                (f.iter().map(|v| v.ln()).sum::<f64>() / f.len() as f64).exp()
            }
            Aggregator::MeanZ => mean(&z()?),
            Aggregator::SumZ => z()?.iter().sum(),
        })
    }
}

/// The score of one sample: the row attached to a participant's visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreRow {
    pub sample_id: String,
    pub score: f64,
    pub high: bool,
}

/// Scores of a batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreReport {
    pub genes: Vec<String>,
    pub aggregator: Aggregator,
    pub cutoff_rule: Cutoff,
    pub cutoff: f64,
    pub controls: Vec<String>,
    pub rows: Vec<ScoreRow>,
}

/// Score every sample of `expr` against `reference`.
pub fn score(
    expr: &Expression,
    reference: &Reference,
    aggregator: Aggregator,
    cutoff: Cutoff,
) -> Result<ScoreReport, IfnError> {
    let genes = reference.gene_names();
    let rows = expr.rows(&genes)?;
    let cut = match cutoff {
        Cutoff::Fixed(v) => v,
        Cutoff::ControlSd(k) => {
            match reference
                .control_scores
                .iter()
                .find(|c| c.aggregator == aggregator)
            {
                Some(c) => c.mean + k * c.sd,
                None => {
                    // Recompute to surface the reason (zero SD or median).
                    let x: Vec<f64> = reference.genes.iter().map(|g| g.median).collect();
                    reference.score_values(&x, aggregator)?;
                    return Err(IfnError::BadReference(format!(
                        "no control scores for {}",
                        aggregator.name()
                    )));
                }
            }
        }
    };
    let mut out = Vec::with_capacity(expr.samples.len());
    for (j, s) in expr.samples.iter().enumerate() {
        let x: Vec<f64> = rows.iter().map(|r| r[j]).collect();
        let v = reference.score_values(&x, aggregator)?;
        out.push(ScoreRow {
            sample_id: s.clone(),
            score: v,
            high: v > cut,
        });
    }
    Ok(ScoreReport {
        genes,
        aggregator,
        cutoff_rule: cutoff,
        cutoff: cut,
        controls: reference.controls.clone(),
        rows: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(cols: &[(&str, [f64; 2])]) -> Expression {
        Expression {
            samples: cols.iter().map(|c| c.0.to_string()).collect(),
            genes: vec!["A".into(), "B".into()],
            values: (0..2)
                .map(|g| cols.iter().map(|c| c.1[g]).collect())
                .collect(),
        }
    }

    #[test]
    fn rice_score_of_the_control_median_is_one() {
        let e = expr(&[
            ("c1", [10.0, 100.0]),
            ("c2", [20.0, 200.0]),
            ("c3", [40.0, 400.0]),
            ("p", [20.0, 200.0]),
        ]);
        let genes = vec!["A".to_string(), "B".to_string()];
        let r =
            Reference::from_controls(&e, &genes, &["c1".into(), "c2".into(), "c3".into()]).unwrap();
        let s = score(&e, &r, Aggregator::MedianFoldChange, Cutoff::ControlSd(2.0)).unwrap();
        assert_eq!(s.rows[3].score, 1.0);
        assert!(!s.rows[3].high);
        // control scores 0.5, 1, 2: mean 7/6, sd sqrt(0.583333..)
        let sd_c = ((0.5f64 - 7.0 / 6.0).powi(2)
            + (1.0f64 - 7.0 / 6.0).powi(2)
            + (2.0f64 - 7.0 / 6.0).powi(2))
            / 2.0;
        assert!((s.cutoff - (7.0 / 6.0 + 2.0 * sd_c.sqrt())).abs() < 1e-12);
    }

    #[test]
    fn missing_gene_is_named() {
        let e = expr(&[("c1", [1.0, 2.0]), ("c2", [2.0, 3.0])]);
        let err =
            Reference::from_controls(&e, &GeneSet::Rice6.genes(), &["c1".into(), "c2".into()])
                .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("gene not on the panel: IFI27, IFI44L, IFIT1, ISG15, RSAD2, SIGLEC1"),
            "{err}"
        );
    }

    #[test]
    fn gene_sets_parse() {
        assert_eq!(GeneSet::parse("RICE6").unwrap().genes().len(), 6);
        assert_eq!(GeneSet::parse("ifngs4").unwrap().genes()[1], "IFI44");
        assert_eq!(
            GeneSet::parse("A, B").unwrap(),
            GeneSet::Custom(vec!["A".into(), "B".into()])
        );
        assert!(GeneSet::parse(" , ").is_err());
    }

    #[test]
    fn reference_round_trips_through_json() {
        let e = expr(&[
            ("c1", [10.0, 100.0]),
            ("c2", [20.0, 300.0]),
            ("p", [80.0, 900.0]),
        ]);
        let genes = vec!["A".to_string(), "B".to_string()];
        let r = Reference::from_controls(&e, &genes, &["c1".into(), "c2".into()]).unwrap();
        let back = Reference::from_json(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(r, back);
        assert!(Reference::from_json("{}").is_err());
    }
}
