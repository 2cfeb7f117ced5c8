//! 2019 EULAR/ACR classification criteria for SLE (Aringer et al., Ann Rheum
//! Dis 2019;78:1151).
//!
//! Entry criterion: ANA at a titre of >= 1:80 on HEp-2 cells or an equivalent
//! positive test, at least once; without it the additive criteria are not
//! applied and the person is not classified. The additive criteria are
//! grouped in 7 clinical and 3 immunological domains; within each domain only
//! the highest-weighted criterion counts. Classified when the total is >= 10
//! and at least one clinical criterion is present. Criteria need not occur
//! simultaneously, and count only when nothing explains them better than SLE
//! (the clinician's judgement: give `false` when another cause is likelier).
//!
//! Thresholds when a measurement is given: fever > 38.3 °C, leukopenia
//! < 4 x 10^9/L, thrombocytopenia < 100 x 10^9/L, proteinuria > 0.5 g/24 h.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use crate::finding::{measurement, Finding, Measurement};
use crate::result::{BreakdownLine, GroupScore, ScoreResult};
use crate::{ScoreError, ScoreName};

const SCORE: &str = "eular-acr-2019";

/// Highest possible total: 2 + 4 + 5 + 6 + 6 + 6 + 10 (clinical) + 2 + 4 + 6.
pub const MAX_TOTAL: u32 = 51;

/// The classification threshold.
pub const THRESHOLD: u32 = 10;

/// The lowest ANA titre (reciprocal) that meets the entry criterion.
pub const ANA_MIN_TITRE: u32 = 80;

measurement!(
    /// Fever as measured: > 38.3 °C.
    Fever, temperature_c, >, 38.3, "C"
);
measurement!(
    /// Leukopenia as measured: white cells < 4 x 10^9/L.
    Leukopenia, wbc_10e9_per_l, <, 4.0, "x10^9/L WBC"
);
measurement!(
    /// Thrombocytopenia as measured: platelets < 100 x 10^9/L.
    Thrombocytopenia, platelets_10e9_per_l, <, 100.0, "x10^9/L platelets"
);
measurement!(
    /// Proteinuria as measured: > 0.5 g/24 h (or the equivalent spot ratio).
    Proteinuria, g_per_24h, >, 0.5, "g/24h"
);

/// The ANA result: `true`/`false` (positive at >= 1:80 or not), the
/// reciprocal titre (`160`), or the titre as written (`"1:160"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Ana {
    Positive(bool),
    Titre(u32),
}

impl Ana {
    /// Whether the entry criterion (>= 1:80) is met.
    pub fn meets_entry(self) -> bool {
        match self {
            Ana::Positive(b) => b,
            Ana::Titre(t) => t >= ANA_MIN_TITRE,
        }
    }

    fn describe(self) -> String {
        match self {
            Ana::Positive(true) => "positive (>= 1:80)".to_string(),
            Ana::Positive(false) => "negative (< 1:80)".to_string(),
            Ana::Titre(t) => format!("1:{t}"),
        }
    }
}

impl<'de> Deserialize<'de> for Ana {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AnaVisitor)
    }
}

struct AnaVisitor;

impl de::Visitor<'_> for AnaVisitor {
    type Value = Ana;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("true, false, a reciprocal titre such as 160, or a titre such as \"1:160\"")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Ana, E> {
        Ok(Ana::Positive(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Ana, E> {
        u32::try_from(v)
            .map(Ana::Titre)
            .map_err(|_| E::custom(format!("titre {v} is too large")))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Ana, E> {
        u32::try_from(v)
            .map(Ana::Titre)
            .map_err(|_| E::custom(format!("titre {v} is not a reciprocal titre (e.g. 160)")))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Ana, E> {
        let t = v.trim();
        let Some(rest) = t.strip_prefix("1:") else {
            return Err(E::custom(format!(
                "ANA `{v}`: expected a titre written as \"1:160\", a number such as 160, or true/false"
            )));
        };
        rest.trim()
            .parse::<u32>()
            .map(Ana::Titre)
            .map_err(|_| E::custom(format!("ANA `{v}`: `{rest}` is not a whole number")))
    }
}

/// The input names of the 22 criteria of `EularItems`, in the paper's order (the
/// rule language's named score reads exactly these facts).
pub const ITEMS: &[&str] = &[
    "fever",
    "leukopenia",
    "thrombocytopenia",
    "autoimmune_haemolysis",
    "delirium",
    "psychosis",
    "seizure",
    "non_scarring_alopecia",
    "oral_ulcers",
    "subacute_cutaneous_or_discoid_lupus",
    "acute_cutaneous_lupus",
    "pleural_or_pericardial_effusion",
    "acute_pericarditis",
    "joint_involvement",
    "proteinuria",
    "lupus_nephritis_class_ii_or_v",
    "lupus_nephritis_class_iii_or_iv",
    "antiphospholipid_antibodies",
    "low_c3",
    "low_c4",
    "anti_dsdna",
    "anti_sm",
];

/// The 22 criteria as given. Every one must be given unless the entry
/// criterion is not met.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EularItems {
    pub fever: Option<Finding<Fever>>,
    pub leukopenia: Option<Finding<Leukopenia>>,
    pub thrombocytopenia: Option<Finding<Thrombocytopenia>>,
    #[serde(alias = "autoimmune_hemolysis")]
    pub autoimmune_haemolysis: Option<bool>,
    pub delirium: Option<bool>,
    pub psychosis: Option<bool>,
    pub seizure: Option<bool>,
    pub non_scarring_alopecia: Option<bool>,
    pub oral_ulcers: Option<bool>,
    pub subacute_cutaneous_or_discoid_lupus: Option<bool>,
    pub acute_cutaneous_lupus: Option<bool>,
    pub pleural_or_pericardial_effusion: Option<bool>,
    pub acute_pericarditis: Option<bool>,
    pub joint_involvement: Option<bool>,
    pub proteinuria: Option<Finding<Proteinuria>>,
    pub lupus_nephritis_class_ii_or_v: Option<bool>,
    pub lupus_nephritis_class_iii_or_iv: Option<bool>,
    pub antiphospholipid_antibodies: Option<bool>,
    pub low_c3: Option<bool>,
    pub low_c4: Option<bool>,
    pub anti_dsdna: Option<bool>,
    pub anti_sm: Option<bool>,
}

/// The EULAR/ACR 2019 input (see docs/scores.md).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EularInput {
    pub ana: Option<Ana>,
    #[serde(default)]
    pub items: EularItems,
}

/// Clinical or immunological domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DomainKind {
    Clinical,
    Immunologic,
}

impl DomainKind {
    fn as_str(self) -> &'static str {
        match self {
            DomainKind::Clinical => "clinical",
            DomainKind::Immunologic => "immunologic",
        }
    }
}

/// A criterion of the published table, as evaluated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CriterionScore {
    pub name: &'static str,
    pub weight: u32,
    pub present: bool,
    /// Whether this is the criterion the domain counts.
    pub counted: bool,
    pub value: String,
}

/// A domain and its points (the highest weight among its present criteria).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DomainScore {
    pub name: &'static str,
    pub kind: DomainKind,
    pub points: u32,
    pub criteria: Vec<CriterionScore>,
}

/// A EULAR/ACR 2019 result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EularResult {
    pub ana: Ana,
    pub entry_criterion_met: bool,
    pub total: u32,
    pub has_clinical_criterion: bool,
    pub classified: bool,
    pub reason: String,
    pub domains: Vec<DomainScore>,
}

type Crit = (&'static str, u32, Option<(bool, String)>);

fn b(name: &'static str, weight: u32, v: Option<bool>) -> Crit {
    (
        name,
        weight,
        v.map(|x| (x, if x { "present" } else { "absent" }.to_string())),
    )
}

fn f<M: Measurement>(name: &'static str, weight: u32, v: &Option<Finding<M>>) -> Crit {
    (
        name,
        weight,
        v.as_ref().map(|x| (x.present(), x.describe())),
    )
}

fn domains(items: &EularItems) -> Vec<(&'static str, DomainKind, Vec<Crit>)> {
    use DomainKind::{Clinical, Immunologic};
    let both = match (items.low_c3, items.low_c4) {
        (Some(a), Some(c)) => Some((a && c, format!("low C3 {a}, low C4 {c}"))),
        _ => None,
    };
    let either = match (items.low_c3, items.low_c4) {
        (Some(a), Some(c)) => Some((a || c, format!("low C3 {a}, low C4 {c}"))),
        _ => None,
    };
    vec![
        (
            "constitutional",
            Clinical,
            vec![f("fever", 2, &items.fever)],
        ),
        (
            "haematologic",
            Clinical,
            vec![
                f("leukopenia", 3, &items.leukopenia),
                f("thrombocytopenia", 4, &items.thrombocytopenia),
                b("autoimmune_haemolysis", 4, items.autoimmune_haemolysis),
            ],
        ),
        (
            "neuropsychiatric",
            Clinical,
            vec![
                b("delirium", 2, items.delirium),
                b("psychosis", 3, items.psychosis),
                b("seizure", 5, items.seizure),
            ],
        ),
        (
            "mucocutaneous",
            Clinical,
            vec![
                b("non_scarring_alopecia", 2, items.non_scarring_alopecia),
                b("oral_ulcers", 2, items.oral_ulcers),
                b(
                    "subacute_cutaneous_or_discoid_lupus",
                    4,
                    items.subacute_cutaneous_or_discoid_lupus,
                ),
                b("acute_cutaneous_lupus", 6, items.acute_cutaneous_lupus),
            ],
        ),
        (
            "serosal",
            Clinical,
            vec![
                b(
                    "pleural_or_pericardial_effusion",
                    5,
                    items.pleural_or_pericardial_effusion,
                ),
                b("acute_pericarditis", 6, items.acute_pericarditis),
            ],
        ),
        (
            "musculoskeletal",
            Clinical,
            vec![b("joint_involvement", 6, items.joint_involvement)],
        ),
        (
            "renal",
            Clinical,
            vec![
                f("proteinuria", 4, &items.proteinuria),
                b(
                    "lupus_nephritis_class_ii_or_v",
                    8,
                    items.lupus_nephritis_class_ii_or_v,
                ),
                b(
                    "lupus_nephritis_class_iii_or_iv",
                    10,
                    items.lupus_nephritis_class_iii_or_iv,
                ),
            ],
        ),
        (
            "antiphospholipid antibodies",
            Immunologic,
            vec![b(
                "antiphospholipid_antibodies",
                2,
                items.antiphospholipid_antibodies,
            )],
        ),
        (
            "complement proteins",
            Immunologic,
            vec![
                ("low_c3_or_low_c4", 3, either),
                ("low_c3_and_low_c4", 4, both),
            ],
        ),
        (
            "SLE-specific antibodies",
            Immunologic,
            vec![
                b("anti_dsdna", 6, items.anti_dsdna),
                b("anti_sm", 6, items.anti_sm),
            ],
        ),
    ]
}

fn check_items(items: &EularItems) -> Result<(), ScoreError> {
    let checks: [(&str, Result<(), String>); 4] = [
        ("fever", items.fever.as_ref().map_or(Ok(()), |x| x.check())),
        (
            "leukopenia",
            items.leukopenia.as_ref().map_or(Ok(()), |x| x.check()),
        ),
        (
            "thrombocytopenia",
            items
                .thrombocytopenia
                .as_ref()
                .map_or(Ok(()), |x| x.check()),
        ),
        (
            "proteinuria",
            items.proteinuria.as_ref().map_or(Ok(()), |x| x.check()),
        ),
    ];
    for (field, r) in checks {
        r.map_err(|message| ScoreError::Invalid {
            score: SCORE,
            field: format!("items.{field}"),
            message,
        })?;
    }
    Ok(())
}

fn missing_items(items: &EularItems) -> Vec<(&'static str, bool)> {
    vec![
        ("fever", items.fever.is_some()),
        ("leukopenia", items.leukopenia.is_some()),
        ("thrombocytopenia", items.thrombocytopenia.is_some()),
        (
            "autoimmune_haemolysis",
            items.autoimmune_haemolysis.is_some(),
        ),
        ("delirium", items.delirium.is_some()),
        ("psychosis", items.psychosis.is_some()),
        ("seizure", items.seizure.is_some()),
        (
            "non_scarring_alopecia",
            items.non_scarring_alopecia.is_some(),
        ),
        ("oral_ulcers", items.oral_ulcers.is_some()),
        (
            "subacute_cutaneous_or_discoid_lupus",
            items.subacute_cutaneous_or_discoid_lupus.is_some(),
        ),
        (
            "acute_cutaneous_lupus",
            items.acute_cutaneous_lupus.is_some(),
        ),
        (
            "pleural_or_pericardial_effusion",
            items.pleural_or_pericardial_effusion.is_some(),
        ),
        ("acute_pericarditis", items.acute_pericarditis.is_some()),
        ("joint_involvement", items.joint_involvement.is_some()),
        ("proteinuria", items.proteinuria.is_some()),
        (
            "lupus_nephritis_class_ii_or_v",
            items.lupus_nephritis_class_ii_or_v.is_some(),
        ),
        (
            "lupus_nephritis_class_iii_or_iv",
            items.lupus_nephritis_class_iii_or_iv.is_some(),
        ),
        (
            "antiphospholipid_antibodies",
            items.antiphospholipid_antibodies.is_some(),
        ),
        ("low_c3", items.low_c3.is_some()),
        ("low_c4", items.low_c4.is_some()),
        ("anti_dsdna", items.anti_dsdna.is_some()),
        ("anti_sm", items.anti_sm.is_some()),
    ]
}

/// Applies the EULAR/ACR 2019 criteria.
pub fn score(input: &EularInput) -> Result<EularResult, ScoreError> {
    let Some(ana) = input.ana else {
        return Err(ScoreError::Missing {
            score: SCORE,
            fields: vec!["ana".to_string()],
            hint: Some(
                "the entry criterion needs the ANA result: true/false, 160 or \"1:160\""
                    .to_string(),
            ),
        });
    };
    let items = &input.items;
    check_items(items)?;
    let entry = ana.meets_entry();
    if entry {
        crate::require_all(SCORE, "items.", &missing_items(items))?;
    }

    let mut out = Vec::new();
    let mut total = 0;
    let mut has_clinical = false;
    for (name, kind, crits) in domains(items) {
        let mut best: Option<usize> = None;
        for (i, (_, w, v)) in crits.iter().enumerate() {
            if let Some((true, _)) = v {
                if best.is_none_or(|j| *w > crits[j].1) {
                    best = Some(i);
                }
            }
        }
        let points = if entry {
            best.map_or(0, |i| crits[i].1)
        } else {
            0
        };
        if entry && kind == DomainKind::Clinical && points > 0 {
            has_clinical = true;
        }
        total += points;
        let criteria = crits
            .iter()
            .enumerate()
            .filter_map(|(i, (n, w, v))| {
                v.as_ref().map(|(present, value)| CriterionScore {
                    name: n,
                    weight: *w,
                    present: *present,
                    counted: entry && Some(i) == best,
                    value: value.clone(),
                })
            })
            .collect();
        out.push(DomainScore {
            name,
            kind,
            points,
            criteria,
        });
    }
    let classified = entry && total >= THRESHOLD && has_clinical;
    let reason = if !entry {
        format!(
            "not classified: entry criterion not met (ANA {}; needs >= 1:80), so the additive criteria are not applied",
            ana.describe()
        )
    } else if total < THRESHOLD {
        format!("not classified: total {total} < {THRESHOLD}")
    } else if !has_clinical {
        format!("not classified: total {total} >= {THRESHOLD} but no clinical criterion")
    } else {
        format!(
            "classified: ANA {}, total {total} >= {THRESHOLD} with at least one clinical criterion",
            ana.describe()
        )
    };
    Ok(EularResult {
        ana,
        entry_criterion_met: entry,
        total,
        has_clinical_criterion: has_clinical,
        classified,
        reason,
        domains: out,
    })
}

impl From<EularResult> for ScoreResult {
    fn from(r: EularResult) -> Self {
        let mut breakdown = vec![BreakdownLine {
            item: "ana".to_string(),
            group: Some("entry".to_string()),
            value: r.ana.describe(),
            present: r.entry_criterion_met,
            weight: None,
            points: 0.0,
            note: Some(if r.entry_criterion_met {
                "entry criterion met".to_string()
            } else {
                "entry criterion not met".to_string()
            }),
        }];
        let mut groups = Vec::new();
        for d in &r.domains {
            let counted = d.criteria.iter().find(|c| c.counted);
            groups.push(GroupScore {
                name: d.name.to_string(),
                kind: Some(d.kind.as_str().to_string()),
                points: f64::from(d.points),
                counted: counted.map(|c| c.name.to_string()),
            });
            for c in &d.criteria {
                let note = if c.present && !c.counted {
                    Some(match (r.entry_criterion_met, counted) {
                        (false, _) => "not applied: entry criterion not met".to_string(),
                        (true, Some(k)) => format!(
                            "not counted: the domain counts only its highest item ({}, {})",
                            k.name, k.weight
                        ),
                        (true, None) => "not counted".to_string(),
                    })
                } else {
                    None
                };
                breakdown.push(BreakdownLine {
                    item: c.name.to_string(),
                    group: Some(d.name.to_string()),
                    value: c.value.clone(),
                    present: c.present,
                    weight: Some(f64::from(c.weight)),
                    points: if c.counted { f64::from(c.weight) } else { 0.0 },
                    note,
                });
            }
        }
        ScoreResult {
            score: ScoreName::EularAcr2019,
            total: f64::from(r.total),
            max_total: f64::from(MAX_TOTAL),
            classified: Some(r.classified),
            category: None,
            flare: None,
            prorated: false,
            summary: r.reason,
            groups,
            breakdown,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn items_are_the_input_fields_in_order() {
        let v = serde_json::to_value(EularItems::default()).unwrap();
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

    fn run(ana: Value, present: Value) -> EularResult {
        let mut items = serde_json::Map::new();
        for n in NAMES {
            items.insert(n.to_string(), json!(false));
        }
        if let Value::Object(o) = present {
            for (k, v) in o {
                items.insert(k, v);
            }
        }
        let input: EularInput =
            serde_json::from_value(json!({"ana": ana, "items": items})).unwrap();
        score(&input).unwrap()
    }

    fn points(r: &EularResult, domain: &str) -> u32 {
        r.domains.iter().find(|d| d.name == domain).unwrap().points
    }

    #[test]
    fn domain_counts_only_its_highest_item() {
        // oral ulcers (2) and acute cutaneous lupus (6): the domain scores 6, not 8.
        let r = run(
            json!(true),
            json!({"oral_ulcers": true, "acute_cutaneous_lupus": true}),
        );
        assert_eq!(points(&r, "mucocutaneous"), 6);
        assert_eq!(r.total, 6);
        // leukopenia 3 + thrombocytopenia 4 -> 4
        let r = run(
            json!(true),
            json!({"leukopenia": true, "thrombocytopenia": true}),
        );
        assert_eq!(points(&r, "haematologic"), 4);
        // proteinuria 4 + class III/IV nephritis 10 -> 10
        let r = run(
            json!(true),
            json!({"proteinuria": true, "lupus_nephritis_class_iii_or_iv": true}),
        );
        assert_eq!(r.total, 10);
        assert!(r.classified);
    }

    #[test]
    fn complement_and_sle_specific_antibodies() {
        let r = run(json!(true), json!({"low_c3": true}));
        assert_eq!(points(&r, "complement proteins"), 3);
        let r = run(json!(true), json!({"low_c3": true, "low_c4": true}));
        assert_eq!(points(&r, "complement proteins"), 4);
        let r = run(json!(true), json!({"anti_dsdna": true, "anti_sm": true}));
        assert_eq!(points(&r, "SLE-specific antibodies"), 6);
    }

    #[test]
    fn total_exactly_10_with_and_without_a_clinical_item() {
        // joint involvement 6 + low C3 and C4 4 = 10 with a clinical item.
        let r = run(
            json!(true),
            json!({"joint_involvement": true, "low_c3": true, "low_c4": true}),
        );
        assert_eq!(r.total, 10);
        assert!(r.classified, "{}", r.reason);
        // anti-dsDNA 6 + low C3 and C4 4 = 10, all immunological.
        let r = run(
            json!(true),
            json!({"anti_dsdna": true, "low_c3": true, "low_c4": true}),
        );
        assert_eq!(r.total, 10);
        assert!(!r.classified);
        assert!(r.reason.contains("no clinical criterion"), "{}", r.reason);
        // 12 immunological points are still not enough.
        let r = run(
            json!(true),
            json!({"anti_dsdna": true, "low_c3": true, "low_c4": true, "antiphospholipid_antibodies": true}),
        );
        assert_eq!(r.total, 12);
        assert!(!r.classified);
        // 9 points with a clinical item: below the threshold.
        let r = run(
            json!(true),
            json!({"joint_involvement": true, "low_c3": true}),
        );
        assert_eq!(r.total, 9);
        assert!(!r.classified);
        assert!(r.reason.contains("9 < 10"), "{}", r.reason);
    }

    #[test]
    fn entry_criterion_ana_at_least_1_in_80() {
        let many = json!({"joint_involvement": true, "anti_dsdna": true, "seizure": true});
        assert!(run(json!("1:80"), many.clone()).classified);
        assert!(run(json!(80), many.clone()).classified);
        let r = run(json!("1:40"), many.clone());
        assert!(!r.classified);
        assert_eq!(r.total, 0);
        assert!(r.reason.contains("entry criterion not met"), "{}", r.reason);
        assert!(!run(json!(false), many).classified);
    }

    #[test]
    fn without_the_entry_criterion_items_are_not_needed() {
        let input: EularInput = serde_json::from_value(json!({"ana": "1:40"})).unwrap();
        let r = score(&input).unwrap();
        assert!(!r.classified);
        let input: EularInput = serde_json::from_value(json!({"ana": "1:160"})).unwrap();
        assert_eq!(
            score(&input).unwrap_err().missing_fields().unwrap().len(),
            22
        );
        let input: EularInput = serde_json::from_value(json!({})).unwrap();
        assert_eq!(
            score(&input).unwrap_err().missing_fields().unwrap(),
            ["ana"]
        );
    }

    #[test]
    fn ana_forms() {
        for bad in [json!("160"), json!("1:x"), json!(1.5), json!(-80)] {
            let e = serde_json::from_value::<Ana>(bad.clone());
            assert!(e.is_err(), "{bad}");
        }
        assert_eq!(
            serde_json::from_value::<Ana>(json!(" 1:320 ")).unwrap(),
            Ana::Titre(320)
        );
    }

    #[test]
    fn measured_thresholds_at_their_edges() {
        let f = |v: Value| run(json!(true), v).total;
        assert_eq!(f(json!({"fever": {"temperature_c": 38.3}})), 0);
        assert_eq!(f(json!({"fever": {"temperature_c": 38.4}})), 2);
        assert_eq!(f(json!({"leukopenia": {"wbc_10e9_per_l": 4.0}})), 0);
        assert_eq!(f(json!({"leukopenia": {"wbc_10e9_per_l": 3.9}})), 3);
        assert_eq!(
            f(json!({"thrombocytopenia": {"platelets_10e9_per_l": 100}})),
            0
        );
        assert_eq!(
            f(json!({"thrombocytopenia": {"platelets_10e9_per_l": 99}})),
            4
        );
        assert_eq!(f(json!({"proteinuria": {"g_per_24h": 0.5}})), 0);
        assert_eq!(f(json!({"proteinuria": {"g_per_24h": 0.6}})), 4);
    }

    #[test]
    fn everything_present_scores_the_maximum() {
        let mut all = serde_json::Map::new();
        for n in NAMES {
            all.insert(n.to_string(), json!(true));
        }
        let r = run(json!(true), Value::Object(all));
        assert_eq!(r.total, MAX_TOTAL);
        assert_eq!(r.domains.len(), 10);
    }

    #[test]
    fn unknown_item_is_named() {
        let v = json!({"ana": true, "items": {"arthritis": true}});
        let e = crate::parse_input::<EularInput>(SCORE, &v).unwrap_err();
        assert!(e.to_string().contains("unknown field `arthritis`"), "{e}");
    }
}
