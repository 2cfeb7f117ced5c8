//! `[[estimands]]` in the protocol format (ICH E9(R1)): the IL-2 protocol
//! with a fixture declaration parses; each mistake is reported at its line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rct_core::protocol::{parse, Strategy};

const IL2: &str = include_str!("../../../protocols/il2-sle.toml");
const ESTIMANDS: &str = include_str!("fixtures/il2_estimands.toml");

fn with(estimands: &str) -> String {
    format!("{IL2}\n{estimands}")
}

/// The errors of a protocol, as `line: message` strings.
fn errors(src: &str) -> Vec<String> {
    match parse(src, "il2.toml") {
        Ok(_) => Vec::new(),
        Err(d) => {
            d.0.iter()
                .map(|d| format!("{}: {}", d.line, d.message))
                .collect()
        }
    }
}

fn line_of(src: &str, needle: &str) -> usize {
    src.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn the_fixture_declaration_parses() {
    let p = parse(&with(ESTIMANDS), "il2.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.estimands.len(), 1);
    let e = &p.estimands[0];
    assert_eq!(e.outcome.get_ref(), "sri4_w24");
    assert_eq!(e.intercurrent_events.len(), 3);
    assert_eq!(
        *e.intercurrent_events[0].strategy.get_ref(),
        Strategy::Composite
    );
    assert_eq!(
        *e.intercurrent_events[2].strategy.get_ref(),
        Strategy::TreatmentPolicy
    );
    // protocols without estimands still parse
    assert!(parse(IL2, "il2.toml").unwrap().estimands.is_empty());
}

#[test]
fn unknown_references_are_named_at_their_line() {
    let src = with(
        &ESTIMANDS
            .replace("outcome = \"sri4_w24\"", "outcome = \"sri5_w24\"")
            .replace("population = \"fas\"", "population = \"itt\"")
            .replace(
                "compare = [\"il2_1_0\", \"placebo\"]",
                "compare = [\"il2_2_0\", \"placebo\"]",
            ),
    );
    let e = errors(&src);
    let want = [
        (
            line_of(&src, "sri5_w24"),
            "estimand `sri4_1miu` names undefined outcome `sri5_w24`",
        ),
        (
            line_of(&src, "population = \"itt\""),
            "estimand `sri4_1miu` names undefined population `itt`",
        ),
        (
            line_of(&src, "il2_2_0"),
            "estimand `sri4_1miu` names undefined arm `il2_2_0`",
        ),
    ];
    for (line, msg) in want {
        assert!(
            e.contains(&format!("{line}: {msg}")),
            "{msg} at {line}: {e:?}"
        );
    }
}

#[test]
fn the_model_must_analyse_the_outcome_in_the_population() {
    let src = with(&ESTIMANDS.replace("model = \"sri4\"", "model = \"sledai\""));
    let e = errors(&src);
    assert!(
        e.iter().any(|m| m.contains("model `sledai` analyses outcome `sledai_change`, not the estimand's outcome `sri4_w24`")),
        "{e:?}"
    );
    let src = with(&ESTIMANDS.replace("model = \"sri4\"", "model = \"sri9\""));
    assert!(errors(&src)
        .iter()
        .any(|m| m.contains("undefined analysis model `sri9`")));
}

#[test]
fn unknown_strategy_is_refused_with_the_known_ones() {
    let src = with(&ESTIMANDS.replace("strategy = \"treatment-policy\"", "strategy = \"ignore\""));
    let e = errors(&src);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with(&format!("{}:", line_of(&src, "\"ignore\""))),
        "{e:?}"
    );
    assert!(e[0].contains("unknown variant `ignore`"), "{e:?}");
    assert!(e[0].contains("while-on-treatment"), "{e:?}");
}

#[test]
fn composite_and_hypothetical_need_handling() {
    let src = with(&ESTIMANDS.replacen("handling = \"non-responder\"\n", "", 1));
    let e = errors(&src);
    assert!(
        e.iter()
            .any(|m| m.contains("the composite strategy for `rescue therapy` needs `handling`")),
        "{e:?}"
    );
    let src = with(&ESTIMANDS.replace(
        "strategy = \"treatment-policy\"",
        "strategy = \"hypothetical\"",
    ));
    assert!(errors(&src)
        .iter()
        .any(|m| m.contains("the hypothetical strategy for `treatment stopped` needs `handling`")));
    // while on treatment and principal stratum need none
    let src = with(&ESTIMANDS.replace(
        "strategy = \"treatment-policy\"",
        "strategy = \"while-on-treatment\"",
    ));
    assert!(errors(&src).is_empty());
}

#[test]
fn events_ids_and_words_are_checked() {
    let twice = ESTIMANDS.replace(
        "event = \"treatment stopped\"",
        "event = \"Rescue therapy\"",
    );
    assert!(errors(&with(&twice))
        .iter()
        .any(|m| m.contains("intercurrent event `Rescue therapy` is listed twice")));
    let empty = ESTIMANDS.replace(
        "variable = \"SRI-4 response at week 24 (responder yes/no)\"",
        "variable = \" \"",
    );
    assert!(errors(&with(&empty))
        .iter()
        .any(|m| m.contains("estimand `sri4_1miu`: variable is empty")));
    let one_arm = ESTIMANDS.replace(
        "compare = [\"il2_1_0\", \"placebo\"]",
        "compare = [\"il2_1_0\"]",
    );
    assert!(errors(&with(&one_arm))
        .iter()
        .any(|m| m.contains("compare names one arm")));
    let dup = format!("{ESTIMANDS}\n{ESTIMANDS}");
    assert!(errors(&with(&dup))
        .iter()
        .any(|m| m.contains("duplicate estimand id `sri4_1miu`")));
    let none: String = ESTIMANDS
        .split("[[estimands.intercurrent_events]]")
        .next()
        .unwrap()
        .to_string()
        + "intercurrent_events = []\n";
    assert!(errors(&with(&none))
        .iter()
        .any(|m| m.contains("lists no intercurrent events")));
    let unknown_key = ESTIMANDS.replace("summary =", "summry = \"x\"\nsummary =");
    assert!(errors(&with(&unknown_key))
        .iter()
        .any(|m| m.contains("unknown field `summry`")));
}
