//! Samples within lanes: a standard lane holds one sample; a PlexSet lane
//! holds one sample per hybridisation row (`Endogenous1s` ... `Endogenous8s`).

use serde::Serialize;

use crate::rcc::{plexset_row, Panel, Rcc};

/// Gene-level role of a probe in the count matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GeneKind {
    Endogenous,
    Housekeeping,
}

impl GeneKind {
    pub fn as_str(self) -> &'static str {
        match self {
            GeneKind::Endogenous => "Endogenous",
            GeneKind::Housekeeping => "Housekeeping",
        }
    }
}

/// The counts of one sample, ready for normalisation.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleCounts {
    /// File stem for a standard lane; `<stem>_<row>` for a PlexSet row.
    pub id: String,
    pub file: String,
    /// `Sample_Attributes/ID` of the lane.
    pub rcc_id: String,
    /// PlexSet row (1-based), `None` for a standard lane.
    pub row: Option<u8>,
    /// Endogenous and housekeeping genes: (kind, name, raw count).
    pub genes: Vec<(GeneKind, String, f64)>,
    /// Positive controls used for scaling: POS_A-E of a standard lane (the
    /// controls with a concentration above the lowest, POS_F), or the row's
    /// own POS_n on a PlexSet lane.
    pub positive: Vec<f64>,
    /// Negative controls of the lane (all NEG_n of a PlexSet lane: one per row
    /// cannot give a standard deviation).
    pub negative: Vec<f64>,
}

/// File name without directories and extension.
pub fn file_stem(file: &str) -> &str {
    let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
    match base.rfind('.') {
        Some(i) if i > 0 => &base[..i],
        _ => base,
    }
}

/// Whether a positive control is one of POS_A ... POS_E (by name).
pub fn is_pos_a_to_e(name: &str) -> bool {
    matches!(
        name.strip_prefix("POS_").and_then(|r| r.chars().next()),
        Some('A'..='E')
    )
}

/// Split a lane into its samples.
pub fn samples_of(rcc: &Rcc) -> Vec<SampleCounts> {
    let stem = file_stem(&rcc.file);
    let negative: Vec<f64> = rcc.class("Negative").map(|p| p.count as f64).collect();
    match rcc.panel() {
        Panel::Standard => {
            let genes = rcc
                .probes
                .iter()
                .filter_map(|p| {
                    let kind = match p.class.as_str() {
                        "Endogenous" => GeneKind::Endogenous,
                        "Housekeeping" => GeneKind::Housekeeping,
                        _ => return None,
                    };
                    Some((kind, p.name.clone(), p.count as f64))
                })
                .collect();
            let mut positive: Vec<f64> = rcc
                .class("Positive")
                .filter(|p| is_pos_a_to_e(&p.name))
                .map(|p| p.count as f64)
                .collect();
            if positive.is_empty() {
                positive = rcc.class("Positive").map(|p| p.count as f64).collect();
            }
            vec![SampleCounts {
                id: stem.to_string(),
                file: rcc.file.clone(),
                rcc_id: rcc.sample_id().to_string(),
                row: None,
                genes,
                positive,
                negative,
            }]
        }
        Panel::PlexSet { rows } => (1..=rows)
            .map(|row| {
                let genes = rcc
                    .probes
                    .iter()
                    .filter(|p| plexset_row(&p.class) == Some(row))
                    .map(|p| {
                        let kind = if p.class.starts_with("Housekeeping") {
                            GeneKind::Housekeeping
                        } else {
                            GeneKind::Endogenous
                        };
                        (kind, p.name.clone(), p.count as f64)
                    })
                    .collect();
                let pos_name = format!("POS_{row}");
                let positive = rcc
                    .class("Positive")
                    .filter(|p| p.name == pos_name)
                    .map(|p| p.count as f64)
                    .collect();
                SampleCounts {
                    id: format!("{stem}_{row}"),
                    file: rcc.file.clone(),
                    rcc_id: rcc.sample_id().to_string(),
                    row: Some(row),
                    genes,
                    positive,
                    negative: negative.clone(),
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems() {
        assert_eq!(file_stem("a/b/SK-1_04.RCC"), "SK-1_04");
        assert_eq!(file_stem("x.rcc"), "x");
        assert_eq!(file_stem("noext"), "noext");
        assert!(is_pos_a_to_e("POS_E(0.5)"));
        assert!(!is_pos_a_to_e("POS_F(0.125)"));
        assert!(!is_pos_a_to_e("POS_1"));
    }
}
