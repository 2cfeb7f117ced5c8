//! Lane quality control with NanoString's default thresholds (all configurable).
//!
//! * Imaging: flag when FovCounted / FovCount < 0.75.
//! * Binding density: flag outside 0.1-2.25 spots/um^2 on MAX/FLEX, 0.1-1.8 on
//!   SPRINT. The instrument is not written in the RCC file; it is chosen by
//!   ScannerID: scanners listed in [`QcThresholds::sprint_scanners`] are SPRINT,
//!   others MAX/FLEX, unless [`QcThresholds::instrument`] forces one.
//! * Positive-control linearity: R^2 of log2 count against log2 concentration
//!   over POS_A-E, flag below 0.95. Controls named `POS_A`..`POS_F` without a
//!   concentration take NanoString's standard 128, 32, 8, 2, 0.5 and 0.125 fM,
//!   and a note says so. PlexSet lanes carry POS_1..POS_8: one spike
//!   per hybridisation row, all at the same (unstated) concentration, so there is
//!   no titration to fit; linearity is reported as not assessed and does not
//!   flag the lane.
//! * Limit of detection: flag when POS_E < mean(NEG) + 2 SD(NEG) (sample SD).
//!   Not assessed on PlexSet lanes (no control of known low concentration).
//! * Housekeeping signal: flag when the geometric mean of the raw housekeeping
//!   counts is below 100 (our default, following NanoString's advice that
//!   housekeeping genes should be well above background). Not assessed when
//!   the lane has no housekeeping probes.

use serde::Serialize;

use crate::num::{geomean, mean, r_squared, sd};
use crate::rcc::{Panel, Rcc};
use crate::sample::{is_pos_a_to_e, samples_of, GeneKind};

/// nCounter instrument families with different binding-density limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Instrument {
    MaxFlex,
    Sprint,
}

impl Instrument {
    pub fn label(self) -> &'static str {
        match self {
            Instrument::MaxFlex => "MAX/FLEX",
            Instrument::Sprint => "SPRINT",
        }
    }
}

/// QC thresholds; `Default` gives NanoString's defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QcThresholds {
    pub min_fov_ratio: f64,
    pub min_binding_density: f64,
    pub max_binding_density_max_flex: f64,
    pub max_binding_density_sprint: f64,
    pub min_pos_r2: f64,
    /// k in mean(NEG) + k SD(NEG) for the limit of detection.
    pub lod_sd: f64,
    pub min_housekeeping_geomean: f64,
    /// Scanner IDs that are SPRINT instruments.
    pub sprint_scanners: Vec<String>,
    /// Force the instrument for every lane.
    pub instrument: Option<Instrument>,
}

impl Default for QcThresholds {
    fn default() -> Self {
        QcThresholds {
            min_fov_ratio: 0.75,
            min_binding_density: 0.1,
            max_binding_density_max_flex: 2.25,
            max_binding_density_sprint: 1.8,
            min_pos_r2: 0.95,
            lod_sd: 2.0,
            min_housekeeping_geomean: 100.0,
            sprint_scanners: Vec::new(),
            instrument: None,
        }
    }
}

/// The QC checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    Imaging,
    BindingDensity,
    PositiveLinearity,
    LimitOfDetection,
    Housekeeping,
}

/// A failed check and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flag {
    pub check: Check,
    pub reason: String,
}

/// QC figures and verdict for one lane.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LaneQc {
    pub file: String,
    pub sample_id: String,
    pub lane_id: String,
    pub panel: Panel,
    pub scanner_id: String,
    pub instrument: Instrument,
    pub fov_count: u32,
    pub fov_counted: u32,
    /// FovCounted / FovCount (`None` when FovCount is 0).
    pub fov_ratio: Option<f64>,
    pub binding_density: f64,
    pub binding_density_range: (f64, f64),
    /// R^2 of log2 count vs log2 concentration, POS_A-E (`None` if not assessed).
    pub pos_r2: Option<f64>,
    pub pos_e: Option<f64>,
    pub neg_mean: f64,
    pub neg_sd: f64,
    /// mean(NEG) + k SD(NEG).
    pub lod_limit: f64,
    pub housekeeping_geomean: Option<f64>,
    pub flags: Vec<Flag>,
    /// Checks that were not assessed, and why.
    pub notes: Vec<String>,
    pub pass: bool,
}

/// Run every check on one lane.
pub fn qc_lane(rcc: &Rcc, t: &QcThresholds) -> LaneQc {
    let mut flags = Vec::new();
    let mut notes = Vec::new();
    let lane = &rcc.lane;
    let panel = rcc.panel();

    // Imaging.
    let fov_ratio = (lane.fov_count > 0).then(|| lane.fov_counted as f64 / lane.fov_count as f64);
    match fov_ratio {
        Some(r) if r < t.min_fov_ratio => flags.push(Flag {
            check: Check::Imaging,
            reason: format!(
                "imaging: {} of {} FOV counted ({:.3} < {})",
                lane.fov_counted, lane.fov_count, r, t.min_fov_ratio
            ),
        }),
        Some(_) => {}
        None => flags.push(Flag {
            check: Check::Imaging,
            reason: "imaging: FovCount is 0".into(),
        }),
    }

    // Binding density.
    let instrument = t.instrument.unwrap_or_else(|| {
        if t.sprint_scanners.iter().any(|s| s == &lane.scanner_id) {
            Instrument::Sprint
        } else {
            Instrument::MaxFlex
        }
    });
    let bd_max = match instrument {
        Instrument::MaxFlex => t.max_binding_density_max_flex,
        Instrument::Sprint => t.max_binding_density_sprint,
    };
    let bd = lane.binding_density;
    if bd < t.min_binding_density || bd > bd_max {
        flags.push(Flag {
            check: Check::BindingDensity,
            reason: format!(
                "binding density {bd} outside {}-{bd_max} ({})",
                t.min_binding_density,
                instrument.label()
            ),
        });
    }

    // Negative controls and limit of detection.
    let neg: Vec<f64> = rcc.class("Negative").map(|p| p.count as f64).collect();
    let neg_mean = if neg.is_empty() { 0.0 } else { mean(&neg) };
    let neg_sd = sd(&neg);
    let lod_limit = neg_mean + t.lod_sd * neg_sd;
    let pos_e = rcc
        .class("Positive")
        .find(|p| p.name.starts_with("POS_E"))
        .map(|p| p.count as f64);
    match (pos_e, neg.is_empty()) {
        (Some(e), false) if e < lod_limit => flags.push(Flag {
            check: Check::LimitOfDetection,
            reason: format!(
                "limit of detection: POS_E {e} < mean(NEG) + {}SD = {lod_limit:.2}",
                t.lod_sd
            ),
        }),
        (Some(_), false) => {}
        (None, _) => notes.push(match panel {
            Panel::PlexSet { .. } => {
                "limit of detection not assessed: PlexSet lanes have no POS_E (POS_1..POS_8 carry no concentration)".into()
            }
            Panel::Standard => "limit of detection not assessed: no POS_E control".into(),
        }),
        (Some(_), true) => notes.push("limit of detection not assessed: no negative controls".into()),
    }

    // Positive-control linearity. Names without a concentration (`POS_A`)
    // take NanoString's standard one, and the report says so.
    let mut standard = 0usize;
    let (x, y): (Vec<f64>, Vec<f64>) = rcc
        .class("Positive")
        .filter(|p| is_pos_a_to_e(&p.name))
        .filter_map(|p| {
            let c = p.concentration().or_else(|| {
                let c = crate::rcc::standard_concentration(&p.name);
                standard += usize::from(c.is_some());
                c
            })?;
            (c > 0.0).then(|| {
                (
                    c.log2(),
                    (p.count as f64).max(crate::num::COUNT_FLOOR).log2(),
                )
            })
        })
        .unzip();
    if standard > 0 {
        notes.push(format!(
            "positive-control concentrations are not in the probe names: NanoString's standard concentrations (POS_A-E = 128, 32, 8, 2, 0.5 fM) were used for {standard} control(s)"
        ));
    }
    let pos_r2 = if x.len() >= 3 {
        let r2 = r_squared(&x, &y);
        r2.is_finite().then_some(r2)
    } else {
        None
    };
    match pos_r2 {
        Some(r2) if r2 < t.min_pos_r2 => flags.push(Flag {
            check: Check::PositiveLinearity,
            reason: format!("positive-control linearity R^2 {r2:.4} < {}", t.min_pos_r2),
        }),
        Some(_) => {}
        None => notes.push(match panel {
            Panel::PlexSet { .. } => "positive-control linearity not assessed: PlexSet POS_1..POS_8 are one spike per row at a single concentration, so there is no titration to fit".into(),
            Panel::Standard => "positive-control linearity not assessed: fewer than 3 of POS_A-E with a concentration".into(),
        }),
    }

    // Housekeeping signal.
    let hk: Vec<f64> = samples_of(rcc)
        .iter()
        .flat_map(|s| {
            s.genes
                .iter()
                .filter(|g| g.0 == GeneKind::Housekeeping)
                .map(|g| g.2)
                .collect::<Vec<_>>()
        })
        .collect();
    let housekeeping_geomean = (!hk.is_empty()).then(|| geomean(&hk));
    match housekeeping_geomean {
        Some(g) if g < t.min_housekeeping_geomean => flags.push(Flag {
            check: Check::Housekeeping,
            reason: format!(
                "housekeeping signal: geometric mean {g:.1} < {}",
                t.min_housekeeping_geomean
            ),
        }),
        Some(_) => {}
        None => notes.push("housekeeping signal not assessed: no housekeeping probes".into()),
    }

    LaneQc {
        file: rcc.file.clone(),
        sample_id: rcc.sample_id().to_string(),
        lane_id: lane.id.clone(),
        panel,
        scanner_id: lane.scanner_id.clone(),
        instrument,
        fov_count: lane.fov_count,
        fov_counted: lane.fov_counted,
        fov_ratio,
        binding_density: bd,
        binding_density_range: (t.min_binding_density, bd_max),
        pos_r2,
        pos_e,
        neg_mean,
        neg_sd,
        lod_limit,
        housekeeping_geomean,
        pass: flags.is_empty(),
        flags,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rcc::parse_rcc;

    fn lane(fov: (u32, u32), bd: f64, pos: [u64; 6], neg: [u64; 3], hk: u64) -> Rcc {
        let conc = ["A(128)", "B(32)", "C(8)", "D(2)", "E(0.5)", "F(0.125)"];
        let mut t = format!("<Header>\nFileVersion,1.7\n</Header>\n<Sample_Attributes>\nID,s\n</Sample_Attributes>\n<Lane_Attributes>\nID,1\nFovCount,{}\nFovCounted,{}\nScannerID,SC1\nBindingDensity,{bd}\n</Lane_Attributes>\n<Code_Summary>\nCodeClass,Name,Accession,Count\n", fov.0, fov.1);
        for (c, n) in conc.iter().zip(pos) {
            t += &format!("Positive,POS_{c},E,{n}\n");
        }
        for (i, n) in neg.iter().enumerate() {
            t += &format!("Negative,NEG_{i}(0),E,{n}\n");
        }
        t += &format!("Housekeeping,H1,N,{hk}\nEndogenous,G1,N,50\n</Code_Summary>\n");
        parse_rcc(&t, "t.RCC").unwrap()
    }

    const GOOD: [u64; 6] = [12800, 3200, 800, 200, 50, 12];

    #[test]
    fn a_good_lane_passes() {
        let q = qc_lane(
            &lane((280, 280), 1.0, GOOD, [2, 4, 6], 500),
            &QcThresholds::default(),
        );
        assert!(q.pass, "{:?}", q.flags);
        // counts proportional to concentration: R^2 exactly 1.
        assert!((q.pos_r2.unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(q.neg_mean, 4.0);
        assert_eq!(q.lod_limit, 8.0);
    }

    #[test]
    fn each_check_flags_its_own_failure() {
        let t = QcThresholds::default();
        let checks = |r: &Rcc| {
            qc_lane(r, &t)
                .flags
                .iter()
                .map(|f| f.check)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            checks(&lane((280, 200), 1.0, GOOD, [2, 4, 6], 500)),
            [Check::Imaging]
        );
        assert_eq!(
            checks(&lane((280, 280), 2.3, GOOD, [2, 4, 6], 500)),
            [Check::BindingDensity]
        );
        assert_eq!(
            checks(&lane((280, 280), 0.05, GOOD, [2, 4, 6], 500)),
            [Check::BindingDensity]
        );
        assert_eq!(
            checks(&lane(
                (280, 280),
                1.0,
                [12800, 100, 800, 200, 50, 12],
                [2, 4, 6],
                500
            )),
            [Check::PositiveLinearity]
        );
        assert_eq!(
            checks(&lane((280, 280), 1.0, GOOD, [40, 50, 60], 500)),
            [Check::LimitOfDetection]
        );
        assert_eq!(
            checks(&lane((280, 280), 1.0, GOOD, [2, 4, 6], 50)),
            [Check::Housekeeping]
        );
    }

    #[test]
    fn unnamed_positive_concentrations_take_the_standard_ones_and_say_so() {
        let named = lane(
            (280, 280),
            1.0,
            [20241, 6933, 1745, 417, 60, 52],
            [2, 4, 6],
            500,
        );
        let text = "<Header>\nFileVersion,1.7\n</Header>\n<Sample_Attributes>\nID,s\n</Sample_Attributes>\n<Lane_Attributes>\nID,1\nFovCount,280\nFovCounted,280\nScannerID,SC1\nBindingDensity,1\n</Lane_Attributes>\n<Code_Summary>\nCodeClass,Name,Accession,Count\nPositive,POS_A,E,20241\nPositive,POS_B,E,6933\nPositive,POS_C,E,1745\nPositive,POS_D,E,417\nPositive,POS_E,E,60\nPositive,POS_F,E,52\nNegative,NEG_A,E,2\nNegative,NEG_B,E,4\nNegative,NEG_C,E,6\nHousekeeping,H1,N,500\nEndogenous,G1,N,50\n</Code_Summary>\n";
        let bare = parse_rcc(text, "b.RCC").unwrap();
        let (a, b) = (
            qc_lane(&named, &QcThresholds::default()),
            qc_lane(&bare, &QcThresholds::default()),
        );
        // The same R^2 as with the concentrations in the names.
        assert_eq!(a.pos_r2, b.pos_r2);
        assert!(b.pos_r2.is_some());
        assert!(
            b.notes
                .iter()
                .any(|n| n.contains("standard concentrations") && n.contains("5 control(s)")),
            "{:?}",
            b.notes
        );
        assert!(!a.notes.iter().any(|n| n.contains("standard")));
    }

    #[test]
    fn sprint_scanners_use_the_lower_limit() {
        let r = lane((280, 280), 2.0, GOOD, [2, 4, 6], 500);
        assert!(qc_lane(&r, &QcThresholds::default()).pass);
        let t = QcThresholds {
            sprint_scanners: vec!["SC1".into()],
            ..QcThresholds::default()
        };
        let q = qc_lane(&r, &t);
        assert_eq!(q.instrument, Instrument::Sprint);
        assert_eq!(q.flags[0].check, Check::BindingDensity);
    }
}
