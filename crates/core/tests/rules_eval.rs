//! The rule evaluator: worked examples, Kleene truth tables (Kleene 1952,
//! strong three-valued logic) and property tests that evaluation never panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::NaiveDate;
use proptest::prelude::*;
use rct_core::rules::{eval, parse, Fact, MapEnv, Truth, Value};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn env(facts: &[(&str, Fact)]) -> MapEnv {
    MapEnv {
        facts: facts
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        date: Some(d("2025-03-01")),
    }
}

fn boolean(b: bool) -> Fact {
    Fact::of(Value::Bool(b))
}
fn date(s: &str) -> Fact {
    Fact::of(Value::Date(d(s)))
}

fn truth(rule: &str, e: &MapEnv) -> Truth {
    let x = parse(rule).unwrap();
    eval(&x, rule, e).unwrap().truth().unwrap()
}

#[test]
fn kleene_truth_tables() {
    // Strong Kleene logic: T, F, U (missing fact).
    let t = |v: Option<bool>| v.map(boolean);
    let cases = [Some(true), Some(false), None];
    let as_truth = |v: Option<bool>| match v {
        Some(true) => Truth::True,
        Some(false) => Truth::False,
        None => Truth::Unknown,
    };
    for a in cases {
        for b in cases {
            let mut facts = vec![];
            if let Some(f) = t(a) {
                facts.push(("a", f));
            }
            if let Some(f) = t(b) {
                facts.push(("b", f));
            }
            let e = env(&facts);
            let (ta, tb) = (as_truth(a), as_truth(b));
            let and = match (ta, tb) {
                (Truth::False, _) | (_, Truth::False) => Truth::False,
                (Truth::True, Truth::True) => Truth::True,
                _ => Truth::Unknown,
            };
            let or = match (ta, tb) {
                (Truth::True, _) | (_, Truth::True) => Truth::True,
                (Truth::False, Truth::False) => Truth::False,
                _ => Truth::Unknown,
            };
            assert_eq!(truth("a and b", &e), and, "{a:?} and {b:?}");
            assert_eq!(truth("all(a, b)", &e), and, "all({a:?}, {b:?})");
            assert_eq!(truth("a or b", &e), or, "{a:?} or {b:?}");
            assert_eq!(truth("any(a, b)", &e), or, "any({a:?}, {b:?})");
            assert_eq!(truth("not a", &e), !ta);
            assert_eq!(
                truth("known(a)", &e),
                if a.is_some() {
                    Truth::True
                } else {
                    Truth::False
                }
            );
        }
    }
}

#[test]
fn unknown_results_name_the_missing_facts_and_definite_ones_do_not() {
    let e = env(&[("a", boolean(false))]);
    let r = parse("a and b").unwrap();
    let ev = eval(&r, "a and b", &e).unwrap();
    assert_eq!(ev.truth().unwrap(), Truth::False);
    assert!(ev.missing.is_empty());

    let src = "alt >= 2 * alt.uln or ast >= 2 * ast.uln";
    let alt = Fact {
        value: Value::Number(50.0),
        date: None,
        unit: Some("U/L".into()),
        uln: Some(40.0),
        lln: None,
    };
    let e = env(&[("alt", alt)]);
    let ev = eval(&parse(src).unwrap(), src, &e).unwrap();
    assert_eq!(ev.truth().unwrap(), Truth::Unknown);
    assert_eq!(ev.missing.iter().collect::<Vec<_>>(), vec!["ast"]);
    assert!(ev.used.contains_key("alt.uln"));
}

#[test]
fn uln_comparisons_hold_at_the_edge() {
    let fact = |v: f64| Fact {
        value: Value::Number(v),
        date: None,
        unit: Some("U/L".into()),
        uln: Some(40.0),
        lln: None,
    };
    // >= 2 x ULN: exactly 80 with ULN 40 meets it; 79.9 does not.
    assert_eq!(
        truth("alt >= 2 * alt.uln", &env(&[("alt", fact(80.0))])),
        Truth::True
    );
    assert_eq!(
        truth("alt >= 2 * alt.uln", &env(&[("alt", fact(79.9))])),
        Truth::False
    );
}

#[test]
fn ages_are_whole_years_at_the_screening_date_not_the_clock() {
    let e = env(&[("birth_date", date("2007-03-01"))]);
    assert_eq!(truth("age_at(screening_date) >= 18", &e), Truth::True); // 18th birthday today
    let e = env(&[("birth_date", date("2007-03-02"))]);
    assert_eq!(truth("age_at(screening_date) >= 18", &e), Truth::False); // tomorrow
    let e = env(&[]);
    let src = "age_at(screening_date) >= 18";
    let ev = eval(&parse(src).unwrap(), src, &e).unwrap();
    assert_eq!(ev.missing.iter().collect::<Vec<_>>(), vec!["birth_date"]);
}

#[test]
fn time_relative_criteria() {
    // "within 6 months" of the screening date 2025-03-01: back to 2024-09-01.
    let w = |s: &str| truth("within(x, 6 months)", &env(&[("x", date(s))]));
    assert_eq!(w("2024-09-01"), Truth::True);
    assert_eq!(w("2024-08-31"), Truth::False);
    assert_eq!(
        w("2025-03-02"),
        Truth::False,
        "a future date is not within the past 6 months"
    );
    // "for >= 3 months": started on or before 2024-12-01.
    let f = |s: &str| {
        truth(
            "start + 3 months <= screening_date",
            &env(&[("start", date(s))]),
        )
    };
    assert_eq!(f("2024-12-01"), Truth::True);
    assert_eq!(f("2024-12-02"), Truth::False);
    // "within 7 days of the scan", either side.
    let s = |a: &str| {
        truth(
            "within(dose, 7 days of scan)",
            &env(&[("dose", date(a)), ("scan", date("2025-04-10"))]),
        )
    };
    assert_eq!(s("2025-04-03"), Truth::True);
    assert_eq!(s("2025-04-02"), Truth::False);
    assert_eq!(s("2025-04-17"), Truth::True);
    // "cured for less than five years".
    let c = |a: &str| truth("within(cured, 5 years)", &env(&[("cured", date(a))]));
    assert_eq!(c("2020-03-01"), Truth::True);
    assert_eq!(c("2020-02-29"), Truth::False);
    // Calendar months clamp at month ends: 2024-01-31 + 1 month = 2024-02-29.
    assert_eq!(
        truth("2024-01-31 + 1 month == 2024-02-29", &env(&[])),
        Truth::True
    );
}

#[test]
fn quantities_convert_and_mismatches_are_errors() {
    let dose = Fact {
        value: Value::Number(0.01),
        date: None,
        unit: Some("g/day".into()),
        uln: None,
        lln: None,
    };
    assert_eq!(
        truth("dose > 10 mg/day", &env(&[("dose", dose.clone())])),
        Truth::False
    );
    assert_eq!(
        truth("dose >= 10 mg/day", &env(&[("dose", dose.clone())])),
        Truth::True
    );
    let src = "dose > 10 mmol/L";
    let err = eval(&parse(src).unwrap(), src, &env(&[("dose", dose)])).unwrap_err();
    assert!(
        err.message.contains("g/day") && err.message.contains("mmol/L"),
        "{err}"
    );
}

#[test]
fn lists_count_and_type_errors() {
    let e = env(&[
        ("sex", Fact::of(Value::Str("female".into()))),
        ("a", boolean(true)),
        ("b", boolean(true)),
        ("c", boolean(false)),
    ]);
    assert_eq!(truth("sex in [\"female\", \"other\"]", &e), Truth::True);
    assert_eq!(truth("sex not in [\"female\"]", &e), Truth::False);
    assert_eq!(truth("count(a, b, c) == 2", &e), Truth::True);
    assert_eq!(truth("count(a, b, zz) >= 2", &e), Truth::Unknown);
    let src = "\"a\" + 1 > 0";
    let err = eval(&parse(src).unwrap(), src, &e).unwrap_err();
    assert_eq!(err.column, 1);
    assert!(err.message.contains("cannot apply `+`"));
}

fn arb_fact() -> impl Strategy<Value = Option<Fact>> {
    prop_oneof![
        Just(None),
        any::<bool>().prop_map(|b| Some(Fact::of(Value::Bool(b)))),
        (-1e6f64..1e6).prop_map(|x| Some(Fact::of(Value::Number(x)))),
        (0i64..40000).prop_map(|k| Some(Fact {
            value: Value::Date(
                NaiveDate::from_ymd_opt(1950, 1, 1).unwrap() + chrono::Duration::days(k)
            ),
            date: Some(NaiveDate::from_ymd_opt(2000, 1, 1).unwrap()),
            unit: None,
            uln: Some(40.0),
            lln: None
        })),
        "[a-z]{0,5}".prop_map(|s| Some(Fact::of(Value::Str(s)))),
        (-1e3f64..1e3).prop_map(|x| Some(Fact {
            value: Value::Number(x),
            date: None,
            unit: Some("mg/day".into()),
            uln: Some(1.0),
            lln: Some(0.0)
        })),
    ]
}

fn arb_rule() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("a".to_string()),
        Just("b".to_string()),
        Just("c.uln".to_string()),
        Just("a.date".to_string()),
        Just("screening_date".to_string()),
        Just("true".to_string()),
        Just("3".to_string()),
        Just("0".to_string()),
        Just("2024-02-29".to_string()),
        Just("6 months".to_string()),
        Just("7 days".to_string()),
        Just("10 mg/day".to_string()),
        Just("\"x\"".to_string()),
    ];
    leaf.prop_recursive(4, 32, 3, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec!["and", "or", "+", "-", "*", "/", "<", ">=", "==", "!="]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            inner.clone().prop_map(|a| format!("not {a}")),
            inner.clone().prop_map(|a| format!("-{a}")),
            (
                prop::sample::select(vec![
                    "age_at", "known", "abs", "any", "all", "count", "min", "max"
                ]),
                inner.clone()
            )
                .prop_map(|(f, a)| format!("{f}({a})")),
            (
                prop::sample::select(vec![
                    "days_between",
                    "within",
                    "max",
                    "any",
                    "months_between"
                ]),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(f, a, b)| format!("{f}({a}, {b})")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(a, b, c)| format!("within({a}, {b} of {c})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} in [{b}, 1]")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn evaluation_never_panics(rule in arb_rule(), a in arb_fact(), b in arb_fact(), c in arb_fact(), birth in arb_fact()) {
        let mut facts = vec![];
        for (k, f) in [("a", a), ("b", b), ("c", c), ("birth_date", birth)] {
            if let Some(f) = f { facts.push((k, f)); }
        }
        let e = env(&facts);
        if let Ok(x) = parse(&rule) {
            if let Ok(ev) = eval(&x, &rule, &e) {
                // An unknown result always names what was missing.
                if ev.value.is_none() {
                    prop_assert!(!ev.missing.is_empty(), "{rule}");
                }
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,40}") {
        if let Ok(x) = parse(&src) {
            let _ = eval(&x, &src, &env(&[]));
        }
    }

    #[test]
    fn adding_a_fact_never_changes_a_definite_answer(rule in arb_rule(), a in arb_fact(), b in arb_fact()) {
        // Monotonicity of Kleene logic: once known without `b`, the answer
        // stays the same whatever `b` turns out to be (known() excepted).
        prop_assume!(!rule.contains("known"));
        let mut facts = vec![];
        if let Some(a) = a.clone() { facts.push(("a", a)); }
        let without = env(&facts);
        if let Some(b) = b { facts.push(("b", b)); }
        let with = env(&facts);
        if let Ok(x) = parse(&rule) {
            if let (Ok(e1), Ok(e2)) = (eval(&x, &rule, &without), eval(&x, &rule, &with)) {
                if let (Ok(t1 @ (Truth::True | Truth::False)), Ok(t2)) = (e1.truth(), e2.truth()) {
                    prop_assert_eq!(t1, t2, "{}", rule);
                }
            }
        }
    }
}
