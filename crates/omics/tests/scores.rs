//! IFN scores end to end (RCC text -> parse -> normalise -> reference -> score)
//! on generated RCC files whose fold changes are known, so every expected value
//! is a closed form written out below:
//!
//! * five healthy controls whose interferon genes are the gene's base count
//!   times 1/4, 1/2, 1, 2, 4 (log2: -2..2, mean 0, sample SD sqrt(2.5));
//! * patients with set fold changes (powers of two) against the control median;
//! * housekeeping genes and positive controls equal in every lane, negative
//!   controls 0 (background threshold 0), so normalisation leaves counts alone;
//!   a second batch scales whole lanes, which normalisation must undo.
//!
//! References: Rice et al., J Clin Immunol 2017;37:123 (median fold change,
//! control mean + 2 SD); z-score and geometric-mean forms as in DOMAIN.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rct_omics::ifn::{score, Aggregator, Cutoff, Expression, GeneSet, IfnError, Reference};
use rct_omics::normalise::{normalise, NormaliseOptions};
use rct_omics::rcc::parse_rcc;
use rct_omics::Rcc;

const GENES: [&str; 9] = [
    "IFI27", "IFI44", "IFI44L", "IFIT1", "ISG15", "RSAD2", "SIGLEC1", "ACTB2", "MX1",
];
const CONTROLS: [(&str, f64); 5] = [
    ("HC1", 0.25),
    ("HC2", 0.5),
    ("HC3", 1.0),
    ("HC4", 2.0),
    ("HC5", 4.0),
];

fn base(gene: &str) -> f64 {
    400.0 * (GENES.iter().position(|g| *g == gene).unwrap() + 1) as f64
}

/// RCC text for one lane: each gene's count is `base * fold(gene)`, and every
/// count (controls and housekeeping included) is multiplied by `lane_scale`.
fn rcc_text(id: &str, fold: &dyn Fn(&str) -> f64, lane_scale: f64, genes: &[&str]) -> String {
    let mut t = format!(
        "<Header>\r\nFileVersion,1.7\r\nSoftwareVersion,4.0.0.3\r\n</Header>\r\n\r\n<Sample_Attributes>\r\nID,{id}\r\nOwner,\r\nComments,generated\r\nDate,20260101\r\nGeneRLF,TEST_IFN\r\nSystemAPF,n6_vDV1\r\n</Sample_Attributes>\r\n\r\n<Lane_Attributes>\r\nID,1\r\nFovCount,280\r\nFovCounted,276\r\nScannerID,TEST\r\nStagePosition,1\r\nBindingDensity,0.9\r\nCartridgeID,C1\r\n</Lane_Attributes>\r\n\r\n<Code_Summary>\r\nCodeClass,Name,Accession,Count\r\n"
    );
    let count = |v: f64| {
        let c = v * lane_scale;
        assert_eq!(c, c.round(), "generated counts must be whole");
        c as u64
    };
    for (name, c) in [
        ("POS_A(128)", 25600.0),
        ("POS_B(32)", 6400.0),
        ("POS_C(8)", 1600.0),
        ("POS_D(2)", 400.0),
        ("POS_E(0.5)", 100.0),
        ("POS_F(0.125)", 24.0),
    ] {
        t += &format!("Positive,{name},ERCC,{}\r\n", count(c));
    }
    for n in "ABCDEF".chars() {
        t += &format!("Negative,NEG_{n}(0),ERCC,0\r\n");
    }
    for (h, c) in [("HK1", 1000.0), ("HK2", 2000.0), ("HK3", 500.0)] {
        t += &format!("Housekeeping,{h},NM_0,{}\r\n", count(c));
    }
    for g in genes {
        t += &format!("Endogenous,{g},NM_1,{}\r\n", count(base(g) * fold(g)));
    }
    t + "</Code_Summary>\r\n\r\n<Messages>\r\n</Messages>\r\n"
}

/// Patient P1's fold changes.
fn p1(g: &str) -> f64 {
    match g {
        "IFI27" => 8.0,
        "IFI44" => 2.0,
        "IFI44L" => 4.0,
        "IFIT1" => 2.0,
        "ISG15" => 16.0,
        "RSAD2" => 1.0,
        "SIGLEC1" => 32.0,
        _ => 1.0,
    }
}

type Fold = Box<dyn Fn(&str) -> f64>;

fn batch(lane_scale: &dyn Fn(usize) -> f64, genes: &[&str]) -> Vec<Rcc> {
    let mut lanes: Vec<(String, Fold)> = CONTROLS
        .iter()
        .map(|(id, m)| {
            let m = *m;
            (
                id.to_string(),
                Box::new(move |_: &str| m) as Box<dyn Fn(&str) -> f64>,
            )
        })
        .collect();
    lanes.push(("P1".into(), Box::new(p1)));
    lanes.push(("P2".into(), Box::new(|_: &str| 1.0)));
    lanes.push(("P3".into(), Box::new(|_: &str| 0.5)));
    lanes.push(("P4".into(), Box::new(|_: &str| 64.0)));
    lanes
        .iter()
        .enumerate()
        .map(|(i, (id, fold))| {
            let text = rcc_text(id, fold.as_ref(), lane_scale(i), genes);
            parse_rcc(&text, &format!("{id}.RCC")).unwrap()
        })
        .collect()
}

fn expression(rccs: &[Rcc]) -> Expression {
    Expression::from(&normalise(rccs, &NormaliseOptions::default()).unwrap())
}

fn controls() -> Vec<String> {
    CONTROLS.iter().map(|c| c.0.to_string()).collect()
}

fn close(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-12 * want.abs().max(1.0),
        "{what}: got {got}, want {want}"
    );
}

/// Expected score of a sample with per-gene fold changes `f` (over the set's
/// genes) under each aggregator; controls' log2 SD is sqrt(2.5).
fn expected(f: &[f64], agg: Aggregator) -> f64 {
    let mut s = f.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    let l: Vec<f64> = f.iter().map(|v| v.log2()).collect();
    let sd = 2.5f64.sqrt();
    match agg {
        Aggregator::MedianFoldChange => {
            if n % 2 == 1 {
                s[n / 2]
            } else {
                (s[n / 2 - 1] + s[n / 2]) / 2.0
            }
        }
        Aggregator::GeometricMean => 2f64.powf(l.iter().sum::<f64>() / n as f64),
        Aggregator::MeanZ => l.iter().sum::<f64>() / n as f64 / sd,
        Aggregator::SumZ => l.iter().sum::<f64>() / sd,
    }
}

/// Cut-off control mean + 2 SD under each aggregator: the controls' scores are
/// m (fold) or log2 m / sqrt(2.5) per gene (z).
fn expected_cutoff(n_genes: usize, agg: Aggregator) -> f64 {
    let scores: Vec<f64> = CONTROLS
        .iter()
        .map(|(_, m)| expected(&vec![*m; n_genes], agg))
        .collect();
    let mean = scores.iter().sum::<f64>() / 5.0;
    let var = scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / 4.0;
    mean + 2.0 * var.sqrt()
}

#[test]
fn every_aggregator_and_both_gene_sets_give_the_closed_forms() {
    let expr = expression(&batch(&|_| 1.0, &GENES));
    for set in [GeneSet::Rice6, GeneSet::Ifngs4] {
        let genes = set.genes();
        let reference = Reference::from_controls(&expr, &genes, &controls()).unwrap();
        for agg in Aggregator::ALL {
            let r = score(&expr, &reference, agg, Cutoff::ControlSd(2.0)).unwrap();
            let cut = expected_cutoff(genes.len(), agg);
            close(&format!("{set:?} {agg:?} cut-off"), r.cutoff, cut);
            for row in &r.rows {
                let folds: Vec<f64> = genes
                    .iter()
                    .map(|g| match row.sample_id.as_str() {
                        "P1" => p1(g),
                        "P2" => 1.0,
                        "P3" => 0.5,
                        "P4" => 64.0,
                        hc => CONTROLS.iter().find(|c| c.0 == hc).unwrap().1,
                    })
                    .collect();
                let want = expected(&folds, agg);
                close(
                    &format!("{set:?} {agg:?} {}", row.sample_id),
                    row.score,
                    want,
                );
                assert_eq!(row.high, want > cut, "{set:?} {agg:?} {}", row.sample_id);
            }
        }
    }
}

#[test]
fn hand_values_for_patient_p1() {
    // Written out once, without the helper above.
    let expr = expression(&batch(&|_| 1.0, &GENES));
    let get = |set: GeneSet, agg| {
        let r = Reference::from_controls(&expr, &set.genes(), &controls()).unwrap();
        let s = score(&expr, &r, agg, Cutoff::ControlSd(2.0)).unwrap();
        let row = s.rows.iter().find(|r| r.sample_id == "P1").unwrap().clone();
        (row.score, row.high, s.cutoff)
    };
    // rice6 folds 8, 4, 2, 16, 1, 32: median 6; geomean 2^(15/6); log2 sum 15.
    let (v, high, cut) = get(GeneSet::Rice6, Aggregator::MedianFoldChange);
    close("rice6 median", v, 6.0);
    close("rice6 cut-off", cut, 1.55 + 2.0 * 2.325f64.sqrt());
    assert!(high);
    close(
        "rice6 geomean",
        get(GeneSet::Rice6, Aggregator::GeometricMean).0,
        2f64.powf(2.5),
    );
    close(
        "rice6 mean z",
        get(GeneSet::Rice6, Aggregator::MeanZ).0,
        2.5 / 2.5f64.sqrt(),
    );
    close(
        "rice6 sum z",
        get(GeneSet::Rice6, Aggregator::SumZ).0,
        15.0 / 2.5f64.sqrt(),
    );
    // ifngs4 folds 8, 2, 4, 1: median 3 (below the 4.5995 cut-off); log2 sum 6.
    let (v, high, _) = get(GeneSet::Ifngs4, Aggregator::MedianFoldChange);
    close("ifngs4 median", v, 3.0);
    assert!(!high);
    close(
        "ifngs4 geomean",
        get(GeneSet::Ifngs4, Aggregator::GeometricMean).0,
        2f64.powf(1.5),
    );
    close(
        "ifngs4 sum z",
        get(GeneSet::Ifngs4, Aggregator::SumZ).0,
        6.0 / 2.5f64.sqrt(),
    );
    let (z, high, cut) = get(GeneSet::Ifngs4, Aggregator::MeanZ);
    close("ifngs4 mean z", z, 1.5 / 2.5f64.sqrt());
    // the controls' mean z are (-2, -1, 0, 1, 2) / sqrt(2.5): mean 0, SD 1.
    close("mean z cut-off", cut, 2.0);
    assert!(!high);
}

#[test]
fn the_control_median_scores_one_under_rice() {
    let expr = expression(&batch(&|_| 1.0, &GENES));
    for set in [GeneSet::Rice6, GeneSet::Ifngs4] {
        let r = Reference::from_controls(&expr, &set.genes(), &controls()).unwrap();
        let s = score(
            &expr,
            &r,
            Aggregator::MedianFoldChange,
            Cutoff::ControlSd(2.0),
        )
        .unwrap();
        let p2 = s.rows.iter().find(|r| r.sample_id == "P2").unwrap();
        assert_eq!(p2.score, 1.0, "{set:?}");
        assert!(!p2.high);
        let hc3 = s.rows.iter().find(|r| r.sample_id == "HC3").unwrap();
        assert_eq!(hc3.score, 1.0);
    }
}

#[test]
fn fixed_cut_off_high_and_low() {
    let expr = expression(&batch(&|_| 1.0, &GENES));
    let r = Reference::from_controls(&expr, &GeneSet::Rice6.genes(), &controls()).unwrap();
    // Rice et al.'s lab cut-off 2.466.
    let s = score(
        &expr,
        &r,
        Aggregator::MedianFoldChange,
        Cutoff::Fixed(2.466),
    )
    .unwrap();
    assert_eq!(s.cutoff, 2.466);
    let calls: Vec<(&str, bool)> = s
        .rows
        .iter()
        .map(|r| (r.sample_id.as_str(), r.high))
        .collect();
    assert_eq!(
        calls,
        [
            ("HC1", false),
            ("HC2", false),
            ("HC3", false),
            ("HC4", false),
            ("HC5", true),
            ("P1", true),
            ("P2", false),
            ("P3", false),
            ("P4", true)
        ]
    );
    // A score equal to the cut-off is low ("above" the cut-off is high).
    let s = score(&expr, &r, Aggregator::MedianFoldChange, Cutoff::Fixed(6.0)).unwrap();
    assert!(!s.rows.iter().find(|r| r.sample_id == "P1").unwrap().high);
}

#[test]
fn lane_wide_scaling_is_normalised_away() {
    let plain = expression(&batch(&|_| 1.0, &GENES));
    // Lanes loaded with 1/2, 1, 2, 4 ... times the material: every count,
    // positive controls and housekeeping included, scaled.
    let scales = [0.5, 2.0, 4.0, 1.0, 0.5, 2.0, 1.0, 4.0, 2.0];
    let scaled = expression(&batch(&|i| scales[i], &GENES));
    for set in [GeneSet::Rice6, GeneSet::Ifngs4] {
        let a = Reference::from_controls(&plain, &set.genes(), &controls()).unwrap();
        let b = Reference::from_controls(&scaled, &set.genes(), &controls()).unwrap();
        for agg in Aggregator::ALL {
            let x = score(&plain, &a, agg, Cutoff::ControlSd(2.0)).unwrap();
            let y = score(&scaled, &b, agg, Cutoff::ControlSd(2.0)).unwrap();
            for (p, q) in x.rows.iter().zip(&y.rows) {
                close(
                    &format!("{set:?} {agg:?} {}", p.sample_id),
                    q.score,
                    p.score,
                );
                assert_eq!(p.high, q.high);
            }
        }
    }
}

#[test]
fn a_saved_reference_scores_a_later_batch_the_same() {
    let first = expression(&batch(&|_| 1.0, &GENES));
    let reference = Reference::from_controls(&first, &GeneSet::Rice6.genes(), &controls()).unwrap();
    let saved = serde_json::to_string_pretty(&reference).unwrap();
    let loaded = Reference::from_json(&saved).unwrap();
    // A later batch with the patients only.
    let later: Vec<Rcc> = batch(&|_| 1.0, &GENES).into_iter().skip(5).collect();
    let later = expression(&later);
    for agg in Aggregator::ALL {
        let a = score(&first, &reference, agg, Cutoff::ControlSd(2.0)).unwrap();
        let b = score(&later, &loaded, agg, Cutoff::ControlSd(2.0)).unwrap();
        assert_eq!(a.cutoff, b.cutoff);
        for row in &b.rows {
            let same = a
                .rows
                .iter()
                .find(|r| r.sample_id == row.sample_id)
                .unwrap();
            assert_eq!(same.score, row.score);
        }
    }
}

#[test]
fn a_gene_missing_from_the_panel_is_named() {
    let genes: Vec<&str> = GENES.iter().copied().filter(|g| *g != "SIGLEC1").collect();
    let expr = expression(&batch(&|_| 1.0, &genes));
    let e = Reference::from_controls(&expr, &GeneSet::Rice6.genes(), &controls()).unwrap_err();
    assert!(matches!(&e, IfnError::MissingGenes { missing, .. } if missing == &["SIGLEC1"]));
    assert!(
        e.to_string().contains("gene not on the panel: SIGLEC1"),
        "{e}"
    );
    // ifngs4 does not need SIGLEC1.
    Reference::from_controls(&expr, &GeneSet::Ifngs4.genes(), &controls()).unwrap();
}
