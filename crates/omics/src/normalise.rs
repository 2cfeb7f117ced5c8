//! nSolver-style normalisation of a batch of lanes.
//!
//! Per sample, in this order (the order of nSolver's analysis wizard):
//! 1. Background, from the lane's negative controls: T = mean(NEG) + k SD(NEG)
//!    (sample SD, k = 2 by default). `Threshold` raises counts below T to T;
//!    `Subtract` subtracts T and floors at 0; `None` leaves counts alone.
//! 2. Positive-control scaling: g = geometric mean of the raw POS_A-E counts
//!    (a PlexSet row: its own POS_n); factor = mean over samples of g / g.
//!    Flagged outside 0.3-3.
//! 3. Housekeeping scaling: h = geometric mean of the housekeeping genes after
//!    steps 1-2; factor = mean over samples of h / h. Flagged outside 0.1-10.
//!    Skipped (with a note) when the panel has no housekeeping genes and none
//!    are named.
//!
//! Geometric means raise counts below 1 to 1 ([`crate::num::COUNT_FLOOR`]).

use std::collections::HashMap;

use serde::Serialize;
use thiserror::Error;

use crate::num::{geomean, mean, sd};
use crate::rcc::Rcc;
use crate::sample::{samples_of, GeneKind, SampleCounts};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Background {
    None,
    Threshold,
    Subtract,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NormaliseOptions {
    pub background: Background,
    /// k in mean(NEG) + k SD(NEG).
    pub background_sd: f64,
    pub housekeeping: bool,
    /// Genes to use as housekeeping instead of the panel's Housekeeping class
    /// (e.g. for PlexSet designs without one).
    pub housekeeping_genes: Option<Vec<String>>,
    pub pos_factor_range: (f64, f64),
    pub hk_factor_range: (f64, f64),
}

impl Default for NormaliseOptions {
    fn default() -> Self {
        NormaliseOptions {
            background: Background::Threshold,
            background_sd: 2.0,
            housekeeping: true,
            housekeeping_genes: None,
            pos_factor_range: (0.3, 3.0),
            hk_factor_range: (0.1, 10.0),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum NormaliseError {
    #[error("no lanes to normalise")]
    Empty,
    #[error("{file}: sample {sample} has no positive controls to scale by")]
    NoPositiveControls { file: String, sample: String },
    #[error("{file}: sample {sample} has no negative controls for the background; use --background none")]
    NoNegativeControls { file: String, sample: String },
    #[error("{file}: sample {sample} and sample {first} come from different code sets ({detail}); normalise each code set separately")]
    DifferentGenes {
        file: String,
        sample: String,
        first: String,
        detail: String,
    },
    #[error("housekeeping gene {gene} is not on the panel")]
    UnknownHousekeepingGene { gene: String },
    #[error("sample id {sample} appears twice ({first_file} and {file}); rename one file")]
    DuplicateSample {
        sample: String,
        first_file: String,
        file: String,
    },
}

/// Factors and flags for one sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleNorm {
    pub id: String,
    pub file: String,
    pub rcc_id: String,
    pub row: Option<u8>,
    /// Background T (0 when background is `None`).
    pub background: f64,
    pub pos_geomean: f64,
    pub pos_factor: f64,
    pub hk_geomean: Option<f64>,
    pub hk_factor: Option<f64>,
    pub flags: Vec<String>,
}

/// One gene (row) of the normalised matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GeneRow {
    pub kind: GeneKind,
    pub name: String,
    pub housekeeping: bool,
}

/// A normalised batch: `values[gene][sample]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Normalised {
    pub options: NormaliseOptions,
    pub samples: Vec<SampleNorm>,
    pub genes: Vec<GeneRow>,
    pub values: Vec<Vec<f64>>,
    pub notes: Vec<String>,
}

impl Normalised {
    /// Row of a gene by name (endogenous first, then housekeeping).
    pub fn gene(&self, name: &str) -> Option<&[f64]> {
        self.genes
            .iter()
            .position(|g| g.name == name)
            .map(|i| self.values[i].as_slice())
    }

    /// The matrix as CSV: `Class,Name,<sample>...`, full precision.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("Class,Name");
        for s in &self.samples {
            out.push(',');
            out.push_str(&csv_field(&s.id));
        }
        out.push('\n');
        for (g, row) in self.genes.iter().zip(&self.values) {
            out.push_str(g.kind.as_str());
            out.push(',');
            out.push_str(&csv_field(&g.name));
            for v in row {
                out.push(',');
                out.push_str(&v.to_string());
            }
            out.push('\n');
        }
        out
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Normalise a batch of lanes.
pub fn normalise(rccs: &[Rcc], opts: &NormaliseOptions) -> Result<Normalised, NormaliseError> {
    let samples: Vec<SampleCounts> = rccs.iter().flat_map(samples_of).collect();
    normalise_samples(&samples, opts)
}

/// Normalise samples already split from their lanes.
pub fn normalise_samples(
    samples: &[SampleCounts],
    opts: &NormaliseOptions,
) -> Result<Normalised, NormaliseError> {
    let first = samples.first().ok_or(NormaliseError::Empty)?;
    let mut notes = Vec::new();
    // Check ids and gene sets.
    let mut ids: HashMap<&str, &str> = HashMap::with_capacity(samples.len());
    for s in samples {
        if let Some(f) = ids.insert(&s.id, &s.file) {
            return Err(NormaliseError::DuplicateSample {
                sample: s.id.clone(),
                first_file: f.to_string(),
                file: s.file.clone(),
            });
        }
        if s.positive.is_empty() {
            return Err(NormaliseError::NoPositiveControls {
                file: s.file.clone(),
                sample: s.id.clone(),
            });
        }
        if opts.background != Background::None && s.negative.is_empty() {
            return Err(NormaliseError::NoNegativeControls {
                file: s.file.clone(),
                sample: s.id.clone(),
            });
        }
        let same = s.genes.len() == first.genes.len()
            && s.genes
                .iter()
                .zip(&first.genes)
                .all(|(a, b)| a.0 == b.0 && a.1 == b.1);
        if !same {
            let detail = match first
                .genes
                .iter()
                .find(|g| !s.genes.iter().any(|h| h.0 == g.0 && h.1 == g.1))
            {
                Some(g) => format!("gene {} missing", g.1),
                None => format!(
                    "{} genes against {}, or in another order",
                    s.genes.len(),
                    first.genes.len()
                ),
            };
            // Same genes in another order are fine: reorder below.
            let reorderable = s.genes.len() == first.genes.len()
                && first
                    .genes
                    .iter()
                    .all(|g| s.genes.iter().any(|h| h.0 == g.0 && h.1 == g.1));
            if !reorderable {
                return Err(NormaliseError::DifferentGenes {
                    file: s.file.clone(),
                    sample: s.id.clone(),
                    first: first.id.clone(),
                    detail,
                });
            }
        }
    }
    let genes: Vec<GeneRow> = first
        .genes
        .iter()
        .map(|(kind, name, _)| GeneRow {
            kind: *kind,
            name: name.clone(),
            housekeeping: match &opts.housekeeping_genes {
                Some(list) => list.iter().any(|h| h == name),
                None => *kind == GeneKind::Housekeeping,
            },
        })
        .collect();
    if let Some(list) = &opts.housekeeping_genes {
        for h in list {
            if !genes.iter().any(|g| &g.name == h) {
                return Err(NormaliseError::UnknownHousekeepingGene { gene: h.clone() });
            }
        }
    }
    let index: HashMap<(GeneKind, &str), usize> = genes
        .iter()
        .enumerate()
        .map(|(i, g)| ((g.kind, g.name.as_str()), i))
        .collect();

    // Raw matrix [gene][sample] with background applied.
    let n = samples.len();
    let mut values = vec![vec![0.0; n]; genes.len()];
    let mut out: Vec<SampleNorm> = Vec::with_capacity(n);
    for (j, s) in samples.iter().enumerate() {
        let background = match opts.background {
            Background::None => 0.0,
            _ => mean(&s.negative) + opts.background_sd * sd(&s.negative),
        };
        for (kind, name, count) in &s.genes {
            let Some(&i) = index.get(&(*kind, name.as_str())) else {
                continue;
            };
            values[i][j] = match opts.background {
                Background::None => *count,
                Background::Threshold => count.max(background),
                Background::Subtract => (count - background).max(0.0),
            };
        }
        out.push(SampleNorm {
            id: s.id.clone(),
            file: s.file.clone(),
            rcc_id: s.rcc_id.clone(),
            row: s.row,
            background,
            pos_geomean: geomean(&s.positive),
            pos_factor: 1.0,
            hk_geomean: None,
            hk_factor: None,
            flags: Vec::new(),
        });
    }

    // Positive-control scaling.
    let pos_mean = mean(&out.iter().map(|s| s.pos_geomean).collect::<Vec<_>>());
    for (j, s) in out.iter_mut().enumerate() {
        s.pos_factor = pos_mean / s.pos_geomean;
        let (lo, hi) = opts.pos_factor_range;
        if s.pos_factor < lo || s.pos_factor > hi {
            s.flags.push(format!(
                "positive-control scaling factor {:.3} outside {lo}-{hi}",
                s.pos_factor
            ));
        }
        for row in values.iter_mut() {
            row[j] *= s.pos_factor;
        }
    }

    // Housekeeping scaling.
    let hk_rows: Vec<usize> = genes
        .iter()
        .enumerate()
        .filter(|(_, g)| g.housekeeping)
        .map(|(i, _)| i)
        .collect();
    if !opts.housekeeping {
        notes.push("housekeeping scaling not applied (switched off)".to_string());
    } else if hk_rows.is_empty() {
        notes.push(
            "housekeeping scaling skipped: the panel has no housekeeping genes (name some with --housekeeping)"
                .to_string(),
        );
    } else {
        let hk: Vec<f64> = (0..n)
            .map(|j| geomean(&hk_rows.iter().map(|&i| values[i][j]).collect::<Vec<_>>()))
            .collect();
        let hk_mean = mean(&hk);
        for (j, s) in out.iter_mut().enumerate() {
            let f = hk_mean / hk[j];
            s.hk_geomean = Some(hk[j]);
            s.hk_factor = Some(f);
            let (lo, hi) = opts.hk_factor_range;
            if f < lo || f > hi {
                s.flags.push(format!(
                    "housekeeping scaling factor {f:.3} outside {lo}-{hi}"
                ));
            }
            for row in values.iter_mut() {
                row[j] *= f;
            }
        }
    }

    Ok(Normalised {
        options: opts.clone(),
        samples: out,
        genes,
        values,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(id: &str, pos: f64, neg: [f64; 3], hk: f64, g: f64) -> SampleCounts {
        SampleCounts {
            id: id.into(),
            file: format!("{id}.RCC"),
            rcc_id: id.into(),
            row: None,
            genes: vec![
                (GeneKind::Endogenous, "G".into(), g),
                (GeneKind::Housekeeping, "H".into(), hk),
            ],
            positive: vec![pos, pos * 4.0],
            negative: neg.to_vec(),
        }
    }

    #[test]
    fn factors_by_hand() {
        // pos geomeans 2x and 4x... : sample a pos (100, 400) -> 200; b (200, 800) -> 400.
        let s = [
            sample("a", 100.0, [0.0, 0.0, 0.0], 100.0, 10.0),
            sample("b", 200.0, [0.0, 0.0, 0.0], 100.0, 10.0),
        ];
        let n = normalise_samples(&s, &NormaliseOptions::default()).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(n.samples[0].pos_factor, 1.5));
        assert!(close(n.samples[1].pos_factor, 0.75));
        // HK after pos: 150 and 75 -> mean 112.5; factors 0.75 and 1.5.
        assert!(close(n.samples[0].hk_factor.unwrap(), 0.75));
        assert!(close(n.samples[1].hk_factor.unwrap(), 1.5));
        let g = n.gene("G").unwrap();
        assert!(close(g[0], 11.25) && close(g[1], 11.25));
    }

    #[test]
    fn background_threshold_and_subtract() {
        let s = [sample("a", 100.0, [2.0, 4.0, 6.0], 100.0, 5.0)];
        let opts = NormaliseOptions {
            housekeeping: false,
            ..NormaliseOptions::default()
        };
        let t = normalise_samples(&s, &opts).unwrap();
        assert_eq!(t.samples[0].background, 8.0);
        assert_eq!(t.gene("G").unwrap(), &[8.0]);
        let sub = normalise_samples(
            &s,
            &NormaliseOptions {
                background: Background::Subtract,
                ..opts
            },
        )
        .unwrap();
        assert_eq!(sub.gene("G").unwrap(), &[0.0]);
        assert_eq!(sub.gene("H").unwrap(), &[92.0]);
    }

    #[test]
    fn out_of_range_factors_are_flagged() {
        let s = [
            sample("a", 10.0, [0.0; 3], 100.0, 1.0),
            sample("b", 1000.0, [0.0; 3], 100.0, 1.0),
        ];
        let n = normalise_samples(&s, &NormaliseOptions::default()).unwrap();
        assert!(n.samples[0].flags[0].contains("positive-control scaling factor 50.500"));
        assert!(n.samples[1].flags.iter().all(|f| !f.contains("positive")));
    }

    #[test]
    fn different_code_sets_are_refused() {
        let mut b = sample("b", 100.0, [0.0; 3], 100.0, 1.0);
        b.genes[0].1 = "OTHER".into();
        let e = normalise_samples(
            &[sample("a", 100.0, [0.0; 3], 100.0, 1.0), b],
            &NormaliseOptions::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("gene G missing"), "{e}");
    }
}
