#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Parser tests: the grammar of docs/rules.md, error columns, identifiers.

use rct_core::rules::{parse, Attr, BinOp, Duration, ExprKind};

fn set(items: &[&str]) -> std::collections::BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn precedence_and_binds_tighter_than_or() {
    let e = parse("a or b and c").unwrap();
    match e.kind {
        ExprKind::Binary {
            op: BinOp::Or, rhs, ..
        } => {
            assert!(matches!(rhs.kind, ExprKind::Binary { op: BinOp::And, .. }))
        }
        other => panic!("{other:?}"),
    }
    let e = parse("1 + 2 * 3 >= 7").unwrap();
    assert_eq!(e.to_string(), "((1 + (2 * 3)) >= 7)");
}

#[test]
fn literals() {
    assert_eq!(
        parse("7 days").unwrap().kind,
        ExprKind::Duration(Duration::Days(7))
    );
    assert_eq!(
        parse("4 weeks").unwrap().kind,
        ExprKind::Duration(Duration::Days(28))
    );
    assert_eq!(
        parse("6 months").unwrap().kind,
        ExprKind::Duration(Duration::Months(6))
    );
    assert_eq!(
        parse("5 years").unwrap().kind,
        ExprKind::Duration(Duration::Months(60))
    );
    assert_eq!(
        parse("1 day").unwrap().kind,
        ExprKind::Duration(Duration::Days(1))
    );
    assert_eq!(
        parse("0.5 g/24h").unwrap().kind,
        ExprKind::Quantity(0.5, "g/24h".into())
    );
    assert_eq!(
        parse("10 mg/day").unwrap().kind,
        ExprKind::Quantity(10.0, "mg/day".into())
    );
    assert_eq!(
        parse("50%").unwrap().kind,
        ExprKind::Quantity(50.0, "%".into())
    );
    assert!(matches!(
        parse("2024-01-31").unwrap().kind,
        ExprKind::Date(_)
    ));
    assert_eq!(
        parse(r#""a\"b""#).unwrap().kind,
        ExprKind::Str("a\"b".into())
    );
}

#[test]
fn names_and_attributes() {
    let e = parse("alt.uln").unwrap();
    assert_eq!(
        e.kind,
        ExprKind::Name {
            name: "alt".into(),
            attr: Some(Attr::Uln)
        }
    );
    let e = parse("baseline.weight.date").unwrap();
    assert_eq!(
        e.kind,
        ExprKind::Name {
            name: "baseline.weight".into(),
            attr: Some(Attr::Date)
        }
    );
    let e = parse(
        "age_at(screening_date) >= 18 and alt < 2 * alt.uln and baseline.weight >= 45 kg \
         and within(theophylline.date, 7 days of pet_scan.date) and sledai2k() > 10",
    )
    .unwrap();
    assert_eq!(
        e.identifiers(),
        set(&["alt", "baseline.weight", "pet_scan", "theophylline"])
    );
    assert_eq!(e.functions(), set(&["age_at", "sledai2k", "within"]));
    assert_eq!(e.score_functions(), set(&["sledai2k"]));
    assert_eq!(e.implicit_facts(), set(&["birth_date"]));
    assert_eq!(e.units(), vec![("kg".to_string(), e.units()[0].1)]);
}

#[test]
fn in_and_not_in() {
    let e = parse(r#"sex not in ["male", "other"]"#).unwrap();
    assert!(matches!(e.kind, ExprKind::In { negated: true, .. }));
    let e = parse(r#"not sex in ["male"]"#).unwrap();
    assert!(matches!(e.kind, ExprKind::Unary { .. }));
}

#[test]
fn error_points_at_the_column() {
    // the example given in docs/rules.md
    let err = parse("age_at(x) >= )").unwrap_err();
    assert_eq!(err.column, 14);
    assert_eq!(
        err.to_string(),
        "column 14: expected a number, string, date, list or name after '>=', found ')'"
    );
    let err = parse("a < b < c").unwrap_err();
    assert_eq!(err.column, 7);
    let err = parse("x = 1").unwrap_err();
    assert_eq!(err.column, 3);
    let err = parse("2024-02-30 < x").unwrap_err();
    assert_eq!(err.column, 1);
    assert!(err.expected.contains("calendar date"));
    let err = parse("known(a, b)").unwrap_err();
    assert_eq!(err.column, 1);
    assert!(err.expected.contains("known() to take 1 argument"), "{err}");
    let err = parse("f(a, 7 days of b)").unwrap_err();
    assert!(err.expected.contains("within"), "{err}");
    let err = parse("(a and b").unwrap_err();
    assert_eq!(err.found, "end of rule");
    assert_eq!(err.column, 9);
    // columns are characters, not bytes
    let err = parse(r#""é" == )"#).unwrap_err();
    assert_eq!(err.column, 8);
    let err = parse("0.3 months").unwrap_err();
    assert!(err.expected.contains("whole number of months"));
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let src = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    let err = parse(&src).unwrap_err();
    assert!(err.expected.contains("nested"), "{err}");
    let src = format!("{}x", "not ".repeat(5000));
    assert!(parse(&src).is_err());
    let src = format!("{}x", "-".repeat(5000));
    assert!(parse(&src).is_err());
    let src = format!("{}1{}", "(".repeat(50), ")".repeat(50));
    assert!(parse(&src).is_ok());
}

#[test]
fn display_round_trips() {
    for src in [
        "age_at(screening_date) >= 18 and (sex == \"female\" or pregnant != true)",
        "within(a.date, 7 days of b.date) and within(c, 6 months)",
        "x not in [1, 2, 3] and -y * 2 / 3 - 1 < 4 kg",
        "count(a, b, c) >= 2 and screening_date - diagnosis_date >= 3 months",
        "not not known(z) or 2024-01-31 + 1 month == 2024-02-29",
    ] {
        let e = parse(src).unwrap();
        let printed = e.to_string();
        let again = parse(&printed).unwrap();
        assert_eq!(again.to_string(), printed, "{src}");
    }
}
