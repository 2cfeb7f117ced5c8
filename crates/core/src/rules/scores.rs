//! Named scores in rules: `sledai2k()`, `eular_acr_2019()`, `slicc_2012()`,
//! `acr_1997()` and `fss()` computed by `rct-scores` from the facts (or the
//! form's fields) named after the score's items.
//!
//! A score call reads its items from the environment by name: `sledai2k()`
//! reads `seizure`, `psychosis`, ..., `leukopenia`; `fss()` reads `q1` to
//! `q9`. The arguments are options written as strings:
//!
//! | option | scores | meaning |
//! |---|---|---|
//! | `"prefix=sd_"` | all | read `sd_seizure` instead of `seizure` (facts share one namespace) |
//! | `"selena"`, `"sledai2k"` | `sledai2k` | the proteinuria rule (default `sledai2k`) |
//! | `"classified"` (default), `"points"` | `eular_acr_2019`, `slicc_2012`, `acr_1997` | true/false, or the points / number of criteria met |
//!
//! An item may be a boolean (the clinician's judgement) or, where the score
//! accepts a measurement, a number: SLEDAI `haematuria` (RBC/hpf), `pyuria`
//! (WBC/hpf), `proteinuria` (g/24h; any unit that converts, e.g. mg/day),
//! `fever` (°C, unit `C`), `thrombocytopenia` and `leukopenia` (10^9/L); the
//! same for EULAR/ACR's `fever`, `leukopenia`, `thrombocytopenia` and
//! `proteinuria`. SLEDAI with the SELENA rule also reads
//! `proteinuria_previous` (g/24h). EULAR/ACR's `ana` is true/false, a
//! reciprocal titre (160) or a text titre ("1:160").
//!
//! Nothing is assumed absent: an item the score needs that is missing makes
//! the call *unknown*, and the missing items are reported by their fact names,
//! exactly as a missing fact is.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value as Json};

use super::eval::{Env, Value};
use super::units::conversion_factor;

/// What a score call gives: a value, or unknown with the items missing.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreCall {
    /// The score's value (`None` when an item it needs is missing).
    pub value: Option<Value>,
    /// Facts or fields whose absence made it unknown.
    pub missing: BTreeSet<String>,
    /// Every item read, with its value.
    pub used: BTreeMap<String, Value>,
}

/// How a score's items are laid out in its JSON input.
struct ScoreDef {
    /// Name in rules.
    rule_name: &'static str,
    /// Name in rct-scores.
    score: &'static str,
    /// Items at the top level of the input.
    top: &'static [&'static str],
    /// The object holding the remaining items (`descriptors`, `items`, `criteria`).
    container: &'static str,
    /// Items inside the container.
    items: &'static [&'static str],
    /// Whether the result is a classification (true/false by default).
    classification: bool,
}

const SLEDAI_ITEMS: [&str; 24] = {
    let mut out = [""; 24];
    let mut i = 0;
    while i < 24 {
        out[i] = rct_scores::sledai::DESCRIPTORS[i].name;
        i += 1;
    }
    out
};

const FSS_ITEMS: &[&str] = &["q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8", "q9"];

const SCORES: &[ScoreDef] = &[
    ScoreDef {
        rule_name: "sledai2k",
        score: "sledai2k",
        top: &[],
        container: "descriptors",
        items: &SLEDAI_ITEMS,
        classification: false,
    },
    ScoreDef {
        rule_name: "eular_acr_2019",
        score: "eular-acr-2019",
        top: &["ana"],
        container: "items",
        items: rct_scores::eular::ITEMS,
        classification: true,
    },
    ScoreDef {
        rule_name: "slicc_2012",
        score: "slicc-2012",
        top: &["biopsy_proven_lupus_nephritis"],
        container: "criteria",
        items: rct_scores::slicc::ITEMS,
        classification: true,
    },
    ScoreDef {
        rule_name: "acr_1997",
        score: "acr-1997",
        top: &[],
        container: "criteria",
        items: rct_scores::acr1997::ITEMS,
        classification: true,
    },
    ScoreDef {
        rule_name: "fss",
        score: "fss",
        top: &[],
        container: "items",
        items: FSS_ITEMS,
        classification: false,
    },
];

/// The measurement object an item accepts instead of true/false: its key and
/// the unit the number is expected in.
fn measurement(score: &str, item: &str) -> Option<(&'static str, &'static str)> {
    Some(match (score, item) {
        // cell counts per high-power field: taken as written, whatever the unit
        ("sledai2k", "haematuria") => ("rbc_per_hpf", ""),
        ("sledai2k", "pyuria") => ("wbc_per_hpf", ""),
        ("sledai2k" | "eular-acr-2019", "proteinuria") => ("g_per_24h", "g/24h"),
        ("sledai2k" | "eular-acr-2019", "fever") => ("temperature_c", "C"),
        ("sledai2k" | "eular-acr-2019", "thrombocytopenia") => ("platelets_10e9_per_l", "10^9/L"),
        ("sledai2k" | "eular-acr-2019", "leukopenia") => ("wbc_10e9_per_l", "10^9/L"),
        _ => return None,
    })
}

/// Whether `name` is a score function this module computes.
pub fn is_score(name: &str) -> bool {
    SCORES.iter().any(|s| s.rule_name == name)
}

/// A number in `target` units from a value that may carry a unit (an empty
/// `target` takes the number as written).
fn number_in(v: &Value, target: &str, item: &str) -> Result<f64, String> {
    match v {
        Value::Number(n) => Ok(*n),
        Value::Quantity { value, unit } => {
            if unit == target || target.is_empty() {
                return Ok(*value);
            }
            conversion_factor(unit, target)
                .map(|f| value * f)
                .map_err(|_| format!("`{item}` is in '{unit}'; expected a value in '{target}'"))
        }
        other => Err(format!("`{item}` is {other}; expected a number")),
    }
}

fn json_number(x: f64, item: &str) -> Result<Json, String> {
    serde_json::Number::from_f64(x)
        .map(Json::Number)
        .ok_or_else(|| format!("`{item}` is not a finite number"))
}

/// One item's value as the score's JSON input takes it.
fn item_json(def: &ScoreDef, item: &str, v: &Value) -> Result<Json, String> {
    match v {
        Value::Bool(b) => Ok(Json::Bool(*b)),
        Value::Str(s) => Ok(Json::String(s.clone())),
        Value::Number(x) | Value::Quantity { value: x, .. }
            if def.score == "fss" || item == "ana" =>
        {
            json_number(*x, item)
        }
        Value::Number(_) | Value::Quantity { .. } => match measurement(def.score, item) {
            Some((key, unit)) => Ok(json!({ key: json_number(number_in(v, unit, item)?, item)? })),
            None => Err(format!(
                "`{item}` is {v}; {} takes true or false for it",
                def.rule_name
            )),
        },
        other => Err(format!(
            "`{item}` is {other}; {} takes true or false for it",
            def.rule_name
        )),
    }
}

/// The fact name that a path in a score's "missing" error stands for.
fn fact_for_path(def: &ScoreDef, path: &str, prefix: &str) -> String {
    if let Some(n) = path.strip_prefix("item ") {
        return format!("{prefix}q{n}");
    }
    let rest = path
        .strip_prefix(def.container)
        .and_then(|r| r.strip_prefix('.'))
        .unwrap_or(path);
    match rest.split_once('.') {
        Some((item, "previous_g_per_24h")) => format!("{prefix}{item}_previous"),
        Some((item, _)) => format!("{prefix}{item}"),
        None => format!("{prefix}{rest}"),
    }
}

/// Computes the score `name` over `env`; `None` when `name` is not a score.
/// `args` are the call's option strings (see the module documentation).
pub fn call(env: &dyn Env, name: &str, args: &[Value]) -> Option<Result<ScoreCall, String>> {
    let def = SCORES.iter().find(|s| s.rule_name == name)?;
    Some(compute(env, def, args))
}

fn compute(env: &dyn Env, def: &ScoreDef, args: &[Value]) -> Result<ScoreCall, String> {
    let mut prefix = String::new();
    let mut rule: Option<&str> = None;
    let mut points = false;
    let accepted = if def.score == "sledai2k" {
        "\"prefix=...\", \"selena\", \"sledai2k\""
    } else if def.classification {
        "\"prefix=...\", \"classified\", \"points\""
    } else {
        "\"prefix=...\""
    };
    for a in args {
        let Value::Str(s) = a else {
            return Err(format!(
                "takes options as strings ({accepted}), found {a}; its items are read from the facts or fields named after them"
            ));
        };
        match s.as_str() {
            p if p.starts_with("prefix=") => prefix = p["prefix=".len()..].to_string(),
            "selena" | "sledai2k" if def.score == "sledai2k" => rule = Some(s),
            "classified" if def.classification => points = false,
            "points" if def.classification => points = true,
            other => return Err(format!("unknown option \"{other}\"; expected {accepted}")),
        }
    }

    let mut used = BTreeMap::new();
    let mut read = |item: &str| -> Option<Value> {
        let key = format!("{prefix}{item}");
        let fact = env.fact(&key)?;
        let v = match (&fact.value, &fact.unit) {
            (Value::Number(n), Some(u)) => Value::Quantity {
                value: *n,
                unit: u.clone(),
            },
            (v, _) => v.clone(),
        };
        used.insert(key, v.clone());
        Some(v)
    };

    let mut input = Map::new();
    if let Some(r) = rule {
        input.insert("proteinuria_rule".into(), Json::String(r.to_string()));
    }
    for item in def.top {
        if let Some(v) = read(item) {
            input.insert((*item).to_string(), item_json(def, item, &v)?);
        }
    }
    if def.score == "fss" {
        let mut answers = Vec::with_capacity(def.items.len());
        for item in def.items {
            answers.push(match read(item) {
                Some(v) => item_json(def, item, &v)?,
                None => Json::Null,
            });
        }
        input.insert("items".into(), Json::Array(answers));
    } else {
        let mut items = Map::new();
        for item in def.items {
            if let Some(v) = read(item) {
                items.insert((*item).to_string(), item_json(def, item, &v)?);
            }
        }
        if def.score == "sledai2k" {
            if let Some(prev) = read("proteinuria_previous") {
                let g = number_in(&prev, "g/24h", "proteinuria_previous")?;
                match items.get_mut("proteinuria") {
                    Some(Json::Object(o)) => {
                        o.insert(
                            "previous_g_per_24h".into(),
                            json_number(g, "proteinuria_previous")?,
                        );
                    }
                    _ => {
                        return Err(
                            "`proteinuria_previous` needs `proteinuria` as a measurement in g/24h"
                                .to_string(),
                        )
                    }
                }
            }
        }
        input.insert(def.container.to_string(), Json::Object(items));
    }

    match rct_scores::score_by_name(def.score, &Json::Object(input)) {
        Ok(r) => {
            let value = match (def.classification && !points, r.classified) {
                (true, Some(c)) => Value::Bool(c),
                _ => Value::Number(r.total),
            };
            Ok(ScoreCall {
                value: Some(value),
                missing: BTreeSet::new(),
                used,
            })
        }
        Err(e) => match e.missing_fields() {
            Some(fields) => Ok(ScoreCall {
                value: None,
                missing: fields
                    .iter()
                    .map(|f| fact_for_path(def, f, &prefix))
                    .collect(),
                used,
            }),
            None => Err(e.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Fact, MapEnv};

    fn env(items: &[(&str, Value)]) -> MapEnv {
        MapEnv {
            facts: items
                .iter()
                .map(|(k, v)| (k.to_string(), Fact::of(v.clone())))
                .collect(),
            date: None,
        }
    }

    #[test]
    fn every_item_table_is_complete_for_its_score() {
        // All items false (FSS: all 1) must score: an item the score needs and
        // the table lacks would come back as missing.
        for def in SCORES {
            let mut items: Vec<(&str, Value)> = def
                .items
                .iter()
                .map(|i| {
                    let v = if def.score == "fss" {
                        Value::Number(1.0)
                    } else {
                        Value::Bool(false)
                    };
                    (*i, v)
                })
                .collect();
            for t in def.top {
                items.push((t, Value::Bool(false)));
            }
            let out = compute(&env(&items), def, &[]).unwrap();
            assert!(
                out.missing.is_empty(),
                "{}: {:?}",
                def.rule_name,
                out.missing
            );
            assert!(out.value.is_some(), "{}", def.rule_name);
        }
    }

    #[test]
    fn missing_paths_map_back_to_fact_names() {
        let sledai = &SCORES[0];
        assert_eq!(fact_for_path(sledai, "descriptors.seizure", ""), "seizure");
        assert_eq!(
            fact_for_path(sledai, "descriptors.proteinuria.previous_g_per_24h", "sd_"),
            "sd_proteinuria_previous"
        );
        let fss = &SCORES[4];
        assert_eq!(fact_for_path(fss, "item 3", ""), "q3");
    }

    fn eval_rule(rule: &str, env: &MapEnv) -> crate::rules::Evaluation {
        let expr = crate::rules::parse(rule).unwrap();
        crate::rules::eval(&expr, rule, env).unwrap()
    }

    /// The EULAR/ACR 2019 example of docs/scores.md: leukopenia 3.5 gives 3,
    /// acute cutaneous lupus 6 (oral ulcers' 2 not counted in the same
    /// domain), low C3 alone 3, anti-dsDNA 6: 18 points, classified.
    fn eular_example(prefix: &str) -> MapEnv {
        let mut items: Vec<(String, Value)> = rct_scores::eular::ITEMS
            .iter()
            .map(|i| (format!("{prefix}{i}"), Value::Bool(false)))
            .collect();
        let set = |items: &mut Vec<(String, Value)>, k: &str, v: Value| {
            let key = format!("{prefix}{k}");
            items.retain(|(n, _)| *n != key);
            items.push((key, v));
        };
        set(&mut items, "ana", Value::Str("1:160".into()));
        set(&mut items, "leukopenia", Value::Number(3.5));
        set(&mut items, "thrombocytopenia", Value::Number(210.0));
        set(&mut items, "proteinuria", Value::Number(0.3));
        for k in [
            "oral_ulcers",
            "acute_cutaneous_lupus",
            "low_c3",
            "anti_dsdna",
        ] {
            set(&mut items, k, Value::Bool(true));
        }
        MapEnv {
            facts: items.into_iter().map(|(k, v)| (k, Fact::of(v))).collect(),
            date: None,
        }
    }

    #[test]
    fn eular_in_a_rule_matches_the_documented_example() {
        let env = eular_example("");
        let ev = eval_rule("eular_acr_2019()", &env);
        assert_eq!(ev.value, Some(Value::Bool(true)));
        assert_eq!(ev.used.get("anti_dsdna"), Some(&Value::Bool(true)));
        let ev = eval_rule("eular_acr_2019(\"points\") >= 18", &env);
        assert_eq!(ev.value, Some(Value::Bool(true)));
        let ev = eval_rule("eular_acr_2019(\"points\")", &env);
        assert_eq!(ev.value, Some(Value::Number(18.0)));
    }

    #[test]
    fn a_prefix_reads_prefixed_facts() {
        let env = eular_example("eu_");
        let ev = eval_rule("eular_acr_2019(\"prefix=eu_\", \"points\")", &env);
        assert_eq!(ev.value, Some(Value::Number(18.0)));
        // without the prefix every item is missing, ANA first
        let ev = eval_rule("eular_acr_2019()", &env);
        assert_eq!(ev.value, None);
        assert!(ev.missing.contains("ana"), "{:?}", ev.missing);
    }

    #[test]
    fn a_missing_item_makes_the_score_unknown_and_names_it() {
        let mut env = eular_example("");
        env.facts.remove("joint_involvement");
        env.facts.remove("low_c4");
        let ev = eval_rule("eular_acr_2019() or false", &env);
        assert_eq!(ev.value, None);
        assert_eq!(
            ev.missing.iter().map(String::as_str).collect::<Vec<_>>(),
            ["joint_involvement", "low_c4"]
        );
        // Kleene: true or unknown is true
        assert_eq!(
            eval_rule("eular_acr_2019() or true", &env).value,
            Some(Value::Bool(true))
        );
    }

    #[test]
    fn bad_arguments_are_errors_naming_the_options() {
        let env = eular_example("");
        for (rule, needle) in [
            ("eular_acr_2019(1)", "takes options as strings"),
            ("eular_acr_2019(\"selena\")", "unknown option \"selena\""),
            ("fss(\"points\")", "unknown option"),
        ] {
            let expr = crate::rules::parse(rule).unwrap();
            let e = crate::rules::eval(&expr, rule, &env).unwrap_err();
            assert!(e.message.contains(needle), "{rule}: {}", e.message);
        }
    }

    #[test]
    fn fss_reads_q1_to_q9() {
        // 4+5+6+3+4+5+6+7+2 = 42; 42 / 9 = 4.666...
        let answers = [4.0, 5.0, 6.0, 3.0, 4.0, 5.0, 6.0, 7.0, 2.0];
        let items: Vec<(String, Value)> = answers
            .iter()
            .enumerate()
            .map(|(i, a)| (format!("q{}", i + 1), Value::Number(*a)))
            .collect();
        let env = MapEnv {
            facts: items.into_iter().map(|(k, v)| (k, Fact::of(v))).collect(),
            date: None,
        };
        match eval_rule("fss()", &env).value {
            Some(Value::Number(x)) => assert!((x - 42.0 / 9.0).abs() < 1e-12, "{x}"),
            other => panic!("{other:?}"),
        }
    }
}
