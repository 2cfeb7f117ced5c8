//! SLEDAI-2K, the SLE Disease Activity Index 2000 (Gladman, Ibañez, Urowitz,
//! J Rheumatol 2002;29:288), with the proteinuria rule selectable.
//!
//! 24 descriptors, each scored with its weight when present at the visit or in
//! the previous 10 days; total 0-105. SLEDAI-2K scores rash, alopecia, mucosal
//! ulcers and proteinuria when new, recurrent or persistent. The SELENA
//! modification of proteinuria (Petri et al., NEJM 2005;353:2550; used by
//! LUPEX) scores proteinuria only when it is new or has increased by more than
//! 0.5 g/24 h, so stable chronic proteinuria scores 0. Only proteinuria is
//! affected by the rule; every other descriptor is scored as in SLEDAI-2K.
//!
//! Thresholds when a measurement is given instead of a judgement: haematuria
//! and pyuria > 5 cells/hpf, proteinuria > 0.5 g/24 h, fever > 38 °C,
//! thrombocytopenia < 100 x 10^9/L, leukopenia < 3 x 10^9/L. The clinician's
//! exclusions (infection, drugs, other causes) are not computable; give a
//! judgement (`true`/`false`) when they apply.

use serde::{Deserialize, Serialize};

use crate::finding::{measurement, num, Finding, Measurement};
use crate::result::{BreakdownLine, ScoreResult};
use crate::{ScoreError, ScoreName};

const SCORE: &str = "sledai2k";

/// Highest possible SLEDAI-2K total (8x8 + 6x4 + 7x2 + 3x1).
pub const MAX_TOTAL: u32 = 105;

/// How proteinuria is scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProteinuriaRule {
    /// SLEDAI-2K: > 0.5 g/24 h scores 4, whether new, recurrent or persistent.
    #[default]
    Sledai2k,
    /// SELENA: scores 4 only when new or increased by > 0.5 g/24 h.
    Selena,
}

impl ProteinuriaRule {
    pub fn as_str(self) -> &'static str {
        match self {
            ProteinuriaRule::Sledai2k => "sledai2k",
            ProteinuriaRule::Selena => "selena",
        }
    }
}

/// One activity band: totals `min..=max` (no `max`: and above).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ActivityBand {
    pub label: &'static str,
    pub min: u32,
    pub max: Option<u32>,
}

impl ActivityBand {
    pub fn contains(&self, total: u32) -> bool {
        total >= self.min && self.max.is_none_or(|m| total <= m)
    }
}

const FOUR_LEVEL: [ActivityBand; 4] = [
    ActivityBand {
        label: "no activity",
        min: 0,
        max: Some(0),
    },
    ActivityBand {
        label: "low activity",
        min: 1,
        max: Some(4),
    },
    ActivityBand {
        label: "moderate activity",
        min: 5,
        max: Some(10),
    },
    ActivityBand {
        label: "high activity",
        min: 11,
        max: None,
    },
];

const FIVE_LEVEL: [ActivityBand; 5] = [
    ActivityBand {
        label: "no activity",
        min: 0,
        max: Some(0),
    },
    ActivityBand {
        label: "mild activity",
        min: 1,
        max: Some(5),
    },
    ActivityBand {
        label: "moderate activity",
        min: 6,
        max: Some(10),
    },
    ActivityBand {
        label: "high activity",
        min: 11,
        max: Some(19),
    },
    ActivityBand {
        label: "very high activity",
        min: 20,
        max: None,
    },
];

/// The two published activity band sets (the bands are data, not code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BandSet {
    /// 0 / 1-4 / 5-10 / > 10.
    #[default]
    FourLevel,
    /// 0 / 1-5 / 6-10 / 11-19 / >= 20.
    FiveLevel,
}

impl BandSet {
    pub fn as_str(self) -> &'static str {
        match self {
            BandSet::FourLevel => "four-level",
            BandSet::FiveLevel => "five-level",
        }
    }

    pub fn bands(self) -> &'static [ActivityBand] {
        match self {
            BandSet::FourLevel => &FOUR_LEVEL,
            BandSet::FiveLevel => &FIVE_LEVEL,
        }
    }

    /// The band a total falls in (totals above every band's max fall in the
    /// open-ended last band).
    pub fn band(self, total: u32) -> ActivityBand {
        let bands = self.bands();
        bands
            .iter()
            .copied()
            .find(|b| b.contains(total))
            .unwrap_or(bands[bands.len() - 1])
    }
}

/// A flare is an increase of more than 3 points over the previous score.
pub fn is_flare(previous: u32, current: u32) -> bool {
    current > previous.saturating_add(3)
}

measurement!(
    /// Haematuria as measured: > 5 red cells per high-power field.
    Haematuria, rbc_per_hpf, >, 5.0, "RBC/hpf"
);
measurement!(
    /// Pyuria as measured: > 5 white cells per high-power field.
    Pyuria, wbc_per_hpf, >, 5.0, "WBC/hpf"
);
measurement!(
    /// Fever as measured: > 38 °C.
    Fever, temperature_c, >, 38.0, "C"
);
measurement!(
    /// Thrombocytopenia as measured: platelets < 100 x 10^9/L.
    Thrombocytopenia, platelets_10e9_per_l, <, 100.0, "x10^9/L platelets"
);
measurement!(
    /// Leukopenia as measured: white cells < 3 x 10^9/L.
    Leukopenia, wbc_10e9_per_l, <, 3.0, "x10^9/L WBC"
);

/// Proteinuria in any of its forms: `{"g_per_24h": x}` with optionally
/// `previous_g_per_24h` or `new_or_increased`, or `{"present": bool,
/// "new_or_increased": bool}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proteinuria {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub g_per_24h: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_g_per_24h: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_or_increased: Option<bool>,
}

/// Grams to whole milligrams, so that 1.1 - 0.6 compares as exactly 0.5.
fn mg(g: f64) -> i64 {
    (g * 1000.0).round() as i64
}

const PROTEINURIA_MG: i64 = 500;

impl Measurement for Proteinuria {
    const EXPECTED: &'static str = "{\"g_per_24h\": number, \"previous_g_per_24h\": number} or {\"present\": bool, \"new_or_increased\": bool}";

    fn present(&self) -> bool {
        match (self.g_per_24h, self.present) {
            (Some(g), _) => mg(g) > PROTEINURIA_MG,
            (None, Some(p)) => p,
            (None, None) => false,
        }
    }

    fn describe(&self) -> String {
        let mut s = match (self.g_per_24h, self.present) {
            (Some(g), _) => format!("{} g/24h (> 0.5)", num(g)),
            (None, Some(true)) => "present".to_string(),
            _ => "absent".to_string(),
        };
        if let Some(p) = self.previous_g_per_24h {
            s.push_str(&format!(", previous {} g/24h", num(p)));
        }
        if let Some(n) = self.new_or_increased {
            s.push_str(if n {
                ", new or increased"
            } else {
                ", not new or increased"
            });
        }
        s
    }

    fn check(&self) -> Result<(), String> {
        match (self.g_per_24h, self.present) {
            (Some(_), Some(_)) => {
                return Err("give either `g_per_24h` or `present`, not both".into());
            }
            (None, None) => return Err("give `g_per_24h` or `present`".into()),
            _ => {}
        }
        if self.previous_g_per_24h.is_some() && self.g_per_24h.is_none() {
            return Err("`previous_g_per_24h` needs `g_per_24h`".into());
        }
        if self.previous_g_per_24h.is_some() && self.new_or_increased.is_some() {
            return Err("give either `previous_g_per_24h` or `new_or_increased`, not both".into());
        }
        if let Some(g) = self.g_per_24h {
            crate::finding::non_negative("g_per_24h", g)?;
        }
        if let Some(p) = self.previous_g_per_24h {
            crate::finding::non_negative("previous_g_per_24h", p)?;
        }
        Ok(())
    }
}

/// The 24 descriptors. Every one must be given (`true`/`false` or, where
/// noted, the measurement); a descriptor left out is reported as missing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Descriptors {
    pub seizure: Option<bool>,
    pub psychosis: Option<bool>,
    pub organic_brain_syndrome: Option<bool>,
    pub visual_disturbance: Option<bool>,
    pub cranial_nerve_disorder: Option<bool>,
    pub lupus_headache: Option<bool>,
    pub cva: Option<bool>,
    pub vasculitis: Option<bool>,
    pub arthritis: Option<bool>,
    pub myositis: Option<bool>,
    pub urinary_casts: Option<bool>,
    #[serde(alias = "hematuria")]
    pub haematuria: Option<Finding<Haematuria>>,
    pub proteinuria: Option<Finding<Proteinuria>>,
    pub pyuria: Option<Finding<Pyuria>>,
    pub rash: Option<bool>,
    pub alopecia: Option<bool>,
    pub mucosal_ulcers: Option<bool>,
    pub pleurisy: Option<bool>,
    pub pericarditis: Option<bool>,
    pub low_complement: Option<bool>,
    pub increased_dna_binding: Option<bool>,
    pub fever: Option<Finding<Fever>>,
    pub thrombocytopenia: Option<Finding<Thrombocytopenia>>,
    pub leukopenia: Option<Finding<Leukopenia>>,
}

/// The SLEDAI-2K input (see docs/scores.md).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SledaiInput {
    #[serde(default)]
    pub proteinuria_rule: ProteinuriaRule,
    #[serde(default)]
    pub bands: BandSet,
    /// A previous total, to decide whether this one is a flare.
    #[serde(default)]
    pub previous_score: Option<u32>,
    pub descriptors: Descriptors,
}

/// A descriptor's name, weight and organ system, in the order of the
/// SLEDAI-2K form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DescriptorDef {
    pub name: &'static str,
    pub weight: u32,
    pub organ: &'static str,
}

const fn d(name: &'static str, weight: u32, organ: &'static str) -> DescriptorDef {
    DescriptorDef {
        name,
        weight,
        organ,
    }
}

/// The SLEDAI-2K table (Gladman 2002, Table 1).
pub const DESCRIPTORS: [DescriptorDef; 24] = [
    d("seizure", 8, "CNS"),
    d("psychosis", 8, "CNS"),
    d("organic_brain_syndrome", 8, "CNS"),
    d("visual_disturbance", 8, "CNS"),
    d("cranial_nerve_disorder", 8, "CNS"),
    d("lupus_headache", 8, "CNS"),
    d("cva", 8, "CNS"),
    d("vasculitis", 8, "vascular"),
    d("arthritis", 4, "musculoskeletal"),
    d("myositis", 4, "musculoskeletal"),
    d("urinary_casts", 4, "renal"),
    d("haematuria", 4, "renal"),
    d("proteinuria", 4, "renal"),
    d("pyuria", 4, "renal"),
    d("rash", 2, "mucocutaneous"),
    d("alopecia", 2, "mucocutaneous"),
    d("mucosal_ulcers", 2, "mucocutaneous"),
    d("pleurisy", 2, "serosal"),
    d("pericarditis", 2, "serosal"),
    d("low_complement", 2, "immunologic"),
    d("increased_dna_binding", 2, "immunologic"),
    d("fever", 1, "constitutional"),
    d("thrombocytopenia", 1, "haematologic"),
    d("leukopenia", 1, "haematologic"),
];

/// One descriptor as scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DescriptorScore {
    pub name: &'static str,
    pub organ: &'static str,
    pub weight: u32,
    /// The finding is present (threshold crossed / judged present).
    pub present: bool,
    /// Points added (the weight, or 0).
    pub points: u32,
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A SLEDAI-2K result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SledaiResult {
    pub total: u32,
    pub proteinuria_rule: ProteinuriaRule,
    pub bands: BandSet,
    pub band: ActivityBand,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_score: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flare: Option<bool>,
    pub descriptors: Vec<DescriptorScore>,
}

fn stated(v: Option<bool>) -> Option<(bool, String)> {
    v.map(|b| (b, if b { "present" } else { "absent" }.to_string()))
}

fn finding<M: Measurement>(
    field: &str,
    f: &Option<Finding<M>>,
) -> Result<Option<(bool, String)>, ScoreError> {
    match f {
        None => Ok(None),
        Some(f) => {
            f.check().map_err(|message| ScoreError::Invalid {
                score: SCORE,
                field: format!("descriptors.{field}"),
                message,
            })?;
            Ok(Some((f.present(), f.describe())))
        }
    }
}

/// Whether present proteinuria scores under SELENA, with the reason.
fn selena_scores(p: &Finding<Proteinuria>) -> Result<(bool, String), ScoreError> {
    let missing = || {
        ScoreError::Missing {
        score: SCORE,
        fields: vec![
            "descriptors.proteinuria.previous_g_per_24h".to_string(),
        ],
        hint: Some(
            "the SELENA rule scores proteinuria only when new or increased by > 0.5 g/24h: give previous_g_per_24h, or new_or_increased"
                .to_string(),
        ),
    }
    };
    let Finding::Measured(m) = p else {
        return Err(missing());
    };
    if let Some(n) = m.new_or_increased {
        return Ok((
            n,
            if n {
                "SELENA: new or increased".to_string()
            } else {
                "SELENA: not new or increased, scores 0".to_string()
            },
        ));
    }
    match (m.g_per_24h, m.previous_g_per_24h) {
        (Some(g), Some(prev)) => {
            if mg(prev) <= PROTEINURIA_MG {
                Ok((true, "SELENA: new (previous <= 0.5 g/24h)".to_string()))
            } else {
                let rise = mg(g) - mg(prev);
                if rise > PROTEINURIA_MG {
                    Ok((
                        true,
                        format!(
                            "SELENA: increased by {} g/24h (> 0.5)",
                            num(rise as f64 / 1000.0)
                        ),
                    ))
                } else {
                    Ok((
                        false,
                        format!(
                            "SELENA: persistent, change {} g/24h (not > 0.5), scores 0",
                            num(rise as f64 / 1000.0)
                        ),
                    ))
                }
            }
        }
        _ => Err(missing()),
    }
}

/// Scores SLEDAI-2K. Every descriptor must be given; missing ones are listed
/// in the error.
pub fn score(input: &SledaiInput) -> Result<SledaiResult, ScoreError> {
    let ds = &input.descriptors;
    let values: [Option<(bool, String)>; 24] = [
        stated(ds.seizure),
        stated(ds.psychosis),
        stated(ds.organic_brain_syndrome),
        stated(ds.visual_disturbance),
        stated(ds.cranial_nerve_disorder),
        stated(ds.lupus_headache),
        stated(ds.cva),
        stated(ds.vasculitis),
        stated(ds.arthritis),
        stated(ds.myositis),
        stated(ds.urinary_casts),
        finding("haematuria", &ds.haematuria)?,
        finding("proteinuria", &ds.proteinuria)?,
        finding("pyuria", &ds.pyuria)?,
        stated(ds.rash),
        stated(ds.alopecia),
        stated(ds.mucosal_ulcers),
        stated(ds.pleurisy),
        stated(ds.pericarditis),
        stated(ds.low_complement),
        stated(ds.increased_dna_binding),
        finding("fever", &ds.fever)?,
        finding("thrombocytopenia", &ds.thrombocytopenia)?,
        finding("leukopenia", &ds.leukopenia)?,
    ];
    let presence: Vec<(&'static str, bool)> = DESCRIPTORS
        .iter()
        .zip(&values)
        .map(|(def, v)| (def.name, v.is_some()))
        .collect();
    crate::require_all(SCORE, "descriptors.", &presence)?;

    let mut out = Vec::with_capacity(24);
    let mut total = 0;
    for (def, v) in DESCRIPTORS.iter().zip(values) {
        let Some((present, value)) = v else {
            continue;
        };
        let mut scores = present;
        let mut note = None;
        if def.name == "proteinuria" && present && input.proteinuria_rule == ProteinuriaRule::Selena
        {
            if let Some(p) = &ds.proteinuria {
                let (s, why) = selena_scores(p)?;
                scores = s;
                note = Some(why);
            }
        }
        let points = if scores { def.weight } else { 0 };
        total += points;
        out.push(DescriptorScore {
            name: def.name,
            organ: def.organ,
            weight: def.weight,
            present,
            points,
            value,
            note,
        });
    }
    let flare = input.previous_score.map(|p| is_flare(p, total));
    Ok(SledaiResult {
        total,
        proteinuria_rule: input.proteinuria_rule,
        bands: input.bands,
        band: input.bands.band(total),
        previous_score: input.previous_score,
        flare,
        descriptors: out,
    })
}

impl From<SledaiResult> for ScoreResult {
    fn from(r: SledaiResult) -> Self {
        let mut summary = format!(
            "proteinuria rule: {}; activity bands: {} -> {}",
            r.proteinuria_rule.as_str(),
            r.bands.as_str(),
            r.band.label
        );
        if let (Some(p), Some(f)) = (r.previous_score, r.flare) {
            summary.push_str(&format!(
                "; previous score {p}, change {:+}: {}",
                i64::from(r.total) - i64::from(p),
                if f {
                    "flare (increase > 3)"
                } else {
                    "no flare (increase not > 3)"
                }
            ));
        }
        ScoreResult {
            score: ScoreName::Sledai2k,
            total: f64::from(r.total),
            max_total: f64::from(MAX_TOTAL),
            classified: None,
            category: Some(r.band.label.to_string()),
            flare: r.flare,
            prorated: false,
            summary,
            groups: Vec::new(),
            breakdown: r
                .descriptors
                .into_iter()
                .map(|d| BreakdownLine {
                    item: d.name.to_string(),
                    group: Some(d.organ.to_string()),
                    value: d.value,
                    present: d.present,
                    weight: Some(f64::from(d.weight)),
                    points: f64::from(d.points),
                    note: d.note,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// All 24 descriptors absent, with `overrides` applied.
    fn input(overrides: Value) -> SledaiInput {
        let mut ds = serde_json::Map::new();
        for def in DESCRIPTORS {
            ds.insert(def.name.to_string(), json!(false));
        }
        if let Value::Object(o) = overrides {
            for (k, v) in o {
                ds.insert(k, v);
            }
        }
        serde_json::from_value(json!({ "descriptors": ds })).unwrap()
    }

    fn total(overrides: Value) -> u32 {
        score(&input(overrides)).unwrap().total
    }

    fn total_selena(overrides: Value) -> u32 {
        let mut i = input(overrides);
        i.proteinuria_rule = ProteinuriaRule::Selena;
        score(&i).unwrap().total
    }

    #[test]
    fn weights_sum_to_105_as_published() {
        // Gladman 2002: eight 8-point, six 4-point, seven 2-point, three 1-point.
        let sum: u32 = DESCRIPTORS.iter().map(|d| d.weight).sum();
        assert_eq!(sum, MAX_TOTAL);
        let count = |w| DESCRIPTORS.iter().filter(|d| d.weight == w).count();
        assert_eq!((count(8), count(4), count(2), count(1)), (8, 6, 7, 3));
        let mut all = serde_json::Map::new();
        for def in DESCRIPTORS {
            all.insert(def.name.to_string(), json!(true));
        }
        assert_eq!(total(Value::Object(all)), 105);
    }

    #[test]
    fn nothing_present_scores_zero() {
        let r = score(&input(json!({}))).unwrap();
        assert_eq!(r.total, 0);
        assert_eq!(r.band.label, "no activity");
    }

    #[test]
    fn hand_worked_case() {
        // arthritis 4 + rash 2 + low complement 2 + increased DNA binding 2
        // + leukopenia 1 = 11: "high activity" (> 10) in the four-level set.
        let r = score(&input(json!({
            "arthritis": true, "rash": true, "low_complement": true,
            "increased_dna_binding": true, "leukopenia": {"wbc_10e9_per_l": 2.4}
        })))
        .unwrap();
        assert_eq!(r.total, 11);
        assert_eq!(r.band.label, "high activity");
        assert_eq!(BandSet::FiveLevel.band(11).label, "high activity");
        assert_eq!(BandSet::FiveLevel.band(10).label, "moderate activity");
    }

    #[test]
    fn lab_thresholds_at_their_edges() {
        // haematuria and pyuria > 5/hpf
        assert_eq!(total(json!({"haematuria": {"rbc_per_hpf": 5}})), 0);
        assert_eq!(total(json!({"haematuria": {"rbc_per_hpf": 6}})), 4);
        assert_eq!(total(json!({"pyuria": {"wbc_per_hpf": 5}})), 0);
        assert_eq!(total(json!({"pyuria": {"wbc_per_hpf": 5.1}})), 4);
        // proteinuria > 0.5 g/24h: exactly 0.5 does not score
        assert_eq!(total(json!({"proteinuria": {"g_per_24h": 0.5}})), 0);
        assert_eq!(total(json!({"proteinuria": {"g_per_24h": 0.501}})), 4);
        // fever > 38 C
        assert_eq!(total(json!({"fever": {"temperature_c": 38.0}})), 0);
        assert_eq!(total(json!({"fever": {"temperature_c": 38.1}})), 1);
        // thrombocytopenia < 100, leukopenia < 3 (x10^9/L)
        assert_eq!(
            total(json!({"thrombocytopenia": {"platelets_10e9_per_l": 100}})),
            0
        );
        assert_eq!(
            total(json!({"thrombocytopenia": {"platelets_10e9_per_l": 99}})),
            1
        );
        assert_eq!(total(json!({"leukopenia": {"wbc_10e9_per_l": 3.0}})), 0);
        assert_eq!(total(json!({"leukopenia": {"wbc_10e9_per_l": 2.9}})), 1);
    }

    #[test]
    fn stable_chronic_proteinuria_selena_0_sledai2k_4() {
        let p = json!({"proteinuria": {"g_per_24h": 1.2, "previous_g_per_24h": 1.1}});
        assert_eq!(total(p.clone()), 4);
        assert_eq!(total_selena(p), 0);
        let p = json!({"proteinuria": {"present": true, "new_or_increased": false}});
        assert_eq!(total(p.clone()), 4);
        assert_eq!(total_selena(p), 0);
    }

    #[test]
    fn selena_scores_new_or_increased_by_more_than_half_a_gram() {
        // new: previous at or below 0.5
        assert_eq!(
            total_selena(json!({"proteinuria": {"g_per_24h": 0.8, "previous_g_per_24h": 0.5}})),
            4
        );
        // increased by exactly 0.5 (1.1 - 0.6, inexact in binary): not > 0.5
        assert_eq!(
            total_selena(json!({"proteinuria": {"g_per_24h": 1.1, "previous_g_per_24h": 0.6}})),
            0
        );
        assert_eq!(
            total_selena(json!({"proteinuria": {"g_per_24h": 1.7, "previous_g_per_24h": 1.2}})),
            0
        );
        assert_eq!(
            total_selena(json!({"proteinuria": {"g_per_24h": 1.71, "previous_g_per_24h": 1.2}})),
            4
        );
        assert_eq!(
            total_selena(json!({"proteinuria": {"g_per_24h": 2.0, "new_or_increased": true}})),
            4
        );
        // absent proteinuria never scores, whatever the rule
        assert_eq!(
            total_selena(json!({"proteinuria": {"g_per_24h": 0.4, "previous_g_per_24h": 2.0}})),
            0
        );
        assert_eq!(total_selena(json!({"proteinuria": false})), 0);
    }

    #[test]
    fn selena_without_history_is_missing_not_guessed() {
        let mut i = input(json!({"proteinuria": true}));
        i.proteinuria_rule = ProteinuriaRule::Selena;
        let e = score(&i).unwrap_err();
        let f = e.missing_fields().unwrap();
        assert!(
            f[0].starts_with("descriptors.proteinuria.previous_g_per_24h"),
            "{e}"
        );
        let mut i = input(json!({"proteinuria": {"g_per_24h": 1.0}}));
        i.proteinuria_rule = ProteinuriaRule::Selena;
        assert!(score(&i).unwrap_err().missing_fields().is_some());
    }

    #[test]
    fn contradictory_proteinuria_forms_are_errors() {
        let run = |p: Value| {
            let mut v = serde_json::to_value(input(json!({}))).unwrap();
            v["descriptors"]["proteinuria"] = p;
            crate::score_by_name(SCORE, &v).unwrap_err().to_string()
        };
        let e = run(json!({"g_per_24h": 1.0, "present": true}));
        assert!(e.contains("descriptors.proteinuria"), "{e}");
        assert!(e.contains("not both"), "{e}");
        let e = run(json!({"present": true, "previous_g_per_24h": 1.0}));
        assert!(e.contains("needs `g_per_24h`"), "{e}");
        let e = run(json!({"g_per_24h": -0.2}));
        assert!(e.contains(">= 0"), "{e}");
    }

    #[test]
    fn missing_descriptors_are_listed() {
        let i: SledaiInput =
            serde_json::from_value(json!({"descriptors": {"seizure": true}})).unwrap();
        let e = score(&i).unwrap_err();
        let f = e.missing_fields().unwrap();
        assert_eq!(f.len(), 23);
        assert_eq!(f[0], "descriptors.psychosis");
    }

    #[test]
    fn unknown_descriptor_is_named() {
        let v = json!({"descriptors": {"seizures": true}});
        let e = crate::parse_input::<SledaiInput>(SCORE, &v).unwrap_err();
        let s = e.to_string();
        assert!(s.contains("unknown field `seizures`"), "{s}");
        assert!(s.contains("descriptors"), "{s}");
    }

    #[test]
    fn american_spelling_is_accepted() {
        let mut ds = serde_json::Map::new();
        for def in DESCRIPTORS {
            let key = if def.name == "haematuria" {
                "hematuria"
            } else {
                def.name
            };
            ds.insert(key.to_string(), json!(def.name == "haematuria"));
        }
        let i: SledaiInput = serde_json::from_value(json!({ "descriptors": ds })).unwrap();
        assert_eq!(score(&i).unwrap().total, 4);
    }

    #[test]
    fn flare_is_an_increase_of_more_than_3() {
        assert!(!is_flare(4, 7));
        assert!(is_flare(4, 8));
        assert!(!is_flare(10, 2));
        let mut i = input(json!({"arthritis": true}));
        i.previous_score = Some(0);
        assert_eq!(score(&i).unwrap().flare, Some(true));
        i.previous_score = Some(1);
        assert_eq!(score(&i).unwrap().flare, Some(false));
    }

    #[test]
    fn band_sets_partition_0_to_105() {
        for set in [BandSet::FourLevel, BandSet::FiveLevel] {
            for t in 0..=MAX_TOTAL {
                let n = set.bands().iter().filter(|b| b.contains(t)).count();
                assert_eq!(n, 1, "{set:?} total {t}");
            }
        }
        // the published edges
        assert_eq!(BandSet::FourLevel.band(4).label, "low activity");
        assert_eq!(BandSet::FourLevel.band(5).label, "moderate activity");
        assert_eq!(BandSet::FourLevel.band(10).label, "moderate activity");
        assert_eq!(BandSet::FourLevel.band(11).label, "high activity");
        assert_eq!(BandSet::FiveLevel.band(5).label, "mild activity");
        assert_eq!(BandSet::FiveLevel.band(6).label, "moderate activity");
        assert_eq!(BandSet::FiveLevel.band(19).label, "high activity");
        assert_eq!(BandSet::FiveLevel.band(20).label, "very high activity");
    }
}
