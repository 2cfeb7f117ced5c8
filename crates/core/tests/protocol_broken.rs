//! A suite of broken protocols: each takes the valid LUPEX protocol, makes
//! one kind of mistake, and asserts that the checker reports it with the
//! right message at the right line (and, where it matters, column).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rct_core::protocol::{parse, Diagnostic};

const LUPEX: &str = include_str!("../../../protocols/lupex.toml");

/// Replaces the unique occurrence of `from` by `to`, returning the new text
/// and the 1-based line where the replacement starts.
fn mutate(from: &str, to: &str) -> (String, usize) {
    assert_eq!(
        LUPEX.matches(from).count(),
        1,
        "`{from}` must occur once in lupex.toml"
    );
    let at = LUPEX.find(from).unwrap();
    let line = LUPEX[..at].matches('\n').count() + 1;
    (LUPEX.replacen(from, to, 1), line)
}

fn errors(src: &str) -> Vec<Diagnostic> {
    match parse(src, "broken.toml") {
        Ok(_) => panic!("the broken protocol was accepted"),
        Err(d) => d.0,
    }
}

/// Asserts one diagnostic contains `fragment` and sits on `line`.
fn expect(src: &str, line: usize, fragment: &str) -> Diagnostic {
    let errs = errors(src);
    let hit = errs
        .iter()
        .find(|d| d.message.contains(fragment))
        .unwrap_or_else(|| {
            panic!(
                "no error mentions `{fragment}`; got:\n{}",
                errs.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
    assert_eq!(hit.line, line, "wrong line for `{fragment}`: {hit}");
    assert_eq!(hit.file, "broken.toml");
    hit.clone()
}

#[test]
fn the_valid_protocol_is_accepted() {
    parse(LUPEX, "lupex.toml").unwrap();
}

#[test]
fn toml_syntax_error() {
    let (src, line) = mutate("id = \"lupex\"", "id = \"lupex");
    let d = expect(&src, line, "");
    assert!(d.help.is_some());
}

#[test]
fn unknown_key() {
    let (src, line) = mutate(
        "sponsor = \"Rigshospitalet\"",
        "sponser = \"Rigshospitalet\"",
    );
    let d = expect(&src, line, "unknown field `sponser`");
    assert!(
        d.message.contains("sponsor"),
        "lists the expected keys: {d}"
    );
}

#[test]
fn wrong_type() {
    let (src, line) = mutate("target_enrolment = 60", "target_enrolment = \"sixty\"");
    expect(&src, line, "invalid type");
}

#[test]
fn unknown_enum_value() {
    let (src, line) = mutate("kind = \"no-intervention\"", "kind = \"waiting-list\"");
    let d = expect(&src, line, "unknown variant `waiting-list`");
    assert!(d.message.contains("no-intervention"));
}

#[test]
fn duplicate_arm_id() {
    let (src, line) = mutate(
        "id = \"control\"\nlabel = \"Non-exercise",
        "id = \"hiit\"\nlabel = \"Non-exercise",
    );
    let d = expect(&src, line, "duplicate arm id `hiit`");
    assert!(d.message.contains("first defined on line"));
}

#[test]
fn zero_allocation_weight() {
    let (src, line) = mutate(
        "kind = \"experimental\"\nweight = 1",
        "kind = \"experimental\"\nweight = 0",
    );
    expect(&src, line + 1, "allocation weight 0");
}

#[test]
fn undefined_stratification_factor() {
    let (src, line) = mutate("stratify_by = [\"sex\"]", "stratify_by = [\"gender\"]");
    let d = expect(&src, line, "undefined stratification factor `gender`");
    assert_eq!(d.column, 16, "points at the name: {d}");
}

#[test]
fn invalid_design() {
    let (src, line) = mutate("design = \"rpbr:2,4\"", "design = \"blocks:4\"");
    expect(&src, line, "invalid design `blocks:4`");
}

#[test]
fn design_incompatible_with_ratio() {
    let (src, line) = mutate("design = \"rpbr:2,4\"", "design = \"pbr:3\"");
    expect(&src, line, "cannot be used with ratio 1:1");
}

#[test]
fn rule_does_not_parse_points_at_the_column() {
    let (src, line) = mutate(
        "rule = \"age_at(screening_date) >= 18\"",
        "rule = \"age_at(screening_date) >= )\"",
    );
    let d = expect(&src, line, "rule does not parse");
    // `rule = "` is 8 characters; the `)` is the 27th character of the rule.
    assert_eq!(d.column, 8 + 27, "{d}");
    assert!(d.message.contains("column 27"), "{d}");
}

#[test]
fn rule_names_undefined_fact() {
    let (src, line) = mutate("rule = \"diabetes_diagnosed\"", "rule = \"diabetes\"");
    let d = expect(&src, line, "undefined fact or field `diabetes`");
    assert_eq!(d.column, 9, "{d}");
}

#[test]
fn rule_calls_unknown_function() {
    let (src, line) = mutate("rule = \"pregnant\"", "rule = \"pregnancy_test(pregnant)\"");
    expect(&src, line, "unknown function `pregnancy_test`");
}

#[test]
fn rule_uses_undeclared_unit() {
    let (src, line) = mutate(
        "prednisolone_dose > 10 mg/day",
        "prednisolone_dose > 10 mmol/L",
    );
    expect(&src, line, "unit 'mmol/L'");
}

#[test]
fn criterion_population_names_undefined_substudy() {
    let (src, line) = mutate(
        "population = \"pet\"\ntext = \"Previous heart",
        "population = \"mri\"\ntext = \"Previous heart",
    );
    expect(&src, line, "undefined sub-study `mri`");
}

#[test]
fn visit_names_undefined_form() {
    let (src, line) = mutate("forms = [\"fss\"]", "forms = [\"fatigue\"]");
    expect(&src, line, "undefined form `fatigue`");
}

#[test]
fn visit_window_backwards() {
    let (src, line) = mutate("window = [35, 49]", "window = [49, 35]");
    expect(&src, line, "starts after it ends");
}

#[test]
fn visit_day_outside_window() {
    let (src, line) = mutate("day = 42", "day = 60");
    expect(&src, line, "outside its window");
}

#[test]
fn soft_range_outside_hard_range() {
    let (src, line) = mutate(
        "hard = [30, 250], soft = [40, 150]",
        "hard = [30, 250], soft = [40, 300]",
    );
    expect(&src, line, "lies outside its hard range");
}

#[test]
fn impossible_range() {
    let (src, line) = mutate("hard = [120, 230]", "hard = [230, 120]");
    expect(&src, line, "is impossible");
}

#[test]
fn derived_field_names_undefined_field() {
    let (src, line) = mutate(
        "derived = \"vo2max_abs / weight\"",
        "derived = \"vo2max_abs / mass\"",
    );
    expect(&src, line, "undefined fact or field `mass`");
}

#[test]
fn heart_rate_zone_not_a_fraction() {
    let (src, line) = mutate("zone = [0.85, 1.0]", "zone = [85, 100]");
    expect(&src, line, "expected fractions of HRmax");
}

#[test]
fn session_for_undefined_arm() {
    let (src, line) = mutate("arm = \"hiit\"\nper_week", "arm = \"exercise\"\nper_week");
    expect(&src, line, "undefined arm `exercise`");
}

#[test]
fn outcome_measure_undefined_field() {
    let (src, line) = mutate("measure = \"fss.score\"", "measure = \"fss.total\"");
    expect(&src, line, "undefined form field `fss.total`");
}

#[test]
fn model_formula_names_undefined_variable() {
    let (src, line) = mutate(
        "formula = \"fss_w12 ~ arm + fss_w0 + sex\"",
        "formula = \"fss_w12 ~ arm + fss_baseline + sex\"",
    );
    expect(&src, line, "undefined variable `fss_baseline`");
}

#[test]
fn model_names_undefined_population() {
    let (src, line) = mutate(
        "populations = [\"itt\", \"pp\"], test = [\"arm:ifn_score\"] },\n  { id = \"ifn_fss\"",
        "populations = [\"itt\", \"mitt\"], test = [\"arm:ifn_score\"] },\n  { id = \"ifn_fss\"",
    );
    expect(&src, line, "undefined population `mitt`");
}

#[test]
fn unknown_role() {
    let (src, line) = mutate("id = \"intervention_staff\"", "id = \"physiologist\"");
    expect(&src, line, "unknown role `physiologist`");
}

#[test]
fn blinded_role_that_sees_arms() {
    let (src, line) = mutate(
        "id = \"investigator\"\nsees_arms = false",
        "id = \"investigator\"\nsees_arms = true",
    );
    expect(&src, line, "sees arms, but masking says");
}

#[test]
fn choice_without_code_list() {
    let (src, line) = mutate(
        "id = \"sex\"\nlabel = \"Sex\"\ntype = \"choice\"\ncode_list = \"sex\"",
        "id = \"sex\"\nlabel = \"Sex\"\ntype = \"choice\"",
    );
    expect(&src, line, "is a choice but names no code list");
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let (src, _) = mutate("forms = [\"fss\"]", "forms = [\"fatigue\"]");
    let src = src.replacen("rule = \"pregnant\"", "rule = \"pregnnt\"", 1);
    let src = src.replacen("window = [35, 49]", "window = [49, 35]", 1);
    let errs = errors(&src);
    assert!(errs.len() >= 3, "{errs:?}");
    let lines: Vec<usize> = errs.iter().map(|d| d.line).collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted, "errors come in file order");
}

#[test]
fn decimals_on_a_whole_number_field() {
    let from = r#"{ id = "total", label = "SLEDAI-2K total", type = "integer","#;
    let (src, line) = mutate(
        from,
        r#"{ id = "total", label = "SLEDAI-2K total", type = "integer", decimals = 1,"#,
    );
    expect(&src, line, "decimals apply to number fields");
}

#[test]
fn declared_decimals_are_how_a_number_is_shown() {
    let from = r#"{ id = "bmi", label = "Body mass index", type = "number","#;
    let (src, _) = mutate(
        from,
        r#"{ id = "bmi", label = "Body mass index", type = "number", decimals = 1,"#,
    );
    let p = parse(&src, "lupex.toml").unwrap();
    let field = |p: &rct_core::protocol::Protocol, id: &str| {
        p.forms
            .iter()
            .flat_map(|f| &f.fields)
            .find(|f| f.id.get_ref() == id)
            .unwrap()
            .shown_decimals()
    };
    assert_eq!(field(&p, "bmi"), 1);
    // Undeclared: none for whole numbers, two for other numbers.
    let seed = parse(LUPEX, "lupex.toml").unwrap();
    assert_eq!(field(&seed, "bmi"), 2);
    assert_eq!(field(&seed, "total"), 0);
}

#[test]
fn unknown_model_family_and_cmh_without_binomial() {
    let from = r#"populations = ["itt", "pp"], test = ["arm:ifn_score"] },"#;
    let from = &format!("formula = \"fss_w12 ~ arm * ifn_score + fss_w0 + sex\", {from}");
    let (src, line) = mutate(from, &from.replace(" },", r#", family = "gamma" },"#));
    expect(&src, line, "family `gamma` is not known");
    let (src, line) = mutate(from, &from.replace(" },", r#", cmh = "sex" },"#));
    expect(&src, line, "cmh needs family = \"binomial\"");
}

#[test]
fn repeated_models_name_defined_visit_variables_and_known_methods() {
    let from =
        r#"repeated = { visits = ["fss_w6", "fss_w12"], covariance = "us", df = "kenward-roger" }"#;
    let (src, line) = mutate(from, &from.replace("fss_w6", "fss_w9"));
    expect(
        &src,
        line,
        "repeated visit names undefined variable `fss_w9`",
    );
    let (src, line) = mutate(from, &from.replace("\"us\"", "\"banded\""));
    expect(&src, line, "covariance `banded` is not known");
    let (src, line) = mutate(from, &from.replace("kenward-roger", "containment"));
    expect(&src, line, "df `containment` is not known");
    let (src, line) = mutate(from, &from.replace("\"fss_w6\", ", ""));
    expect(&src, line, "repeated needs at least two visit variables");
    // The formula's response (`fss`) and `visit` are names of the model;
    // anything else must still be defined.
    let f = "fss ~ fss_w0 + sex + arm * visit + fss_w0 * visit";
    let (src, line) = mutate(f, &f.replace("sex +", "bmi +"));
    expect(&src, line, "formula names undefined variable `bmi`");
}

#[test]
fn unblinding_categories_and_explanation_time() {
    let (src, line) = mutate(
        "[masking]",
        "[unblinding]\ncategories = [\"overdose\", \"overdose\", \" \"]\nexplain_within_hours = 0\n\n[masking]",
    );
    expect(
        &src,
        line + 1,
        "duplicate unblinding category id `overdose`",
    );
    expect(&src, line + 1, "an [unblinding] category is empty");
    expect(&src, line + 2, "explain_within_hours is 0");
}

#[test]
fn unblinding_defaults_when_not_declared() {
    let p = parse(LUPEX, "lupex.toml").unwrap();
    assert_eq!(
        p.unblinding.categories(),
        rct_core::protocol::DEFAULT_UNBLINDING_CATEGORIES
    );
    assert_eq!(p.unblinding.explain_within_hours(), 24);
    let (src, _) = mutate(
        "[masking]",
        "[unblinding]\ncategories = [\"overdose\", \"serious adverse event\"]\nexplain_within_hours = 48\n\n[masking]",
    );
    let p = parse(&src, "x.toml").unwrap();
    assert_eq!(
        p.unblinding.categories(),
        ["overdose", "serious adverse event"]
    );
    assert_eq!(p.unblinding.explain_within_hours(), 48);
}

#[test]
fn data_manager_that_sees_arms_in_a_masked_trial() {
    let (src, line) = mutate(
        "id = \"data_manager\"\nsees_arms = false",
        "id = \"data_manager\"\nsees_arms = true",
    );
    expect(&src, line, "the record keeps it blind in a masked trial");
}

#[test]
fn role_entering_an_arm_specific_form_that_does_not_see_arms() {
    let (src, line) = mutate(
        "id = \"intervention_staff\"\nlabel = \"Exercise physiologist\"\nsees_arms = true",
        "id = \"intervention_staff\"\nlabel = \"Exercise physiologist\"\nsees_arms = false",
    );
    expect(&src, line, "enters the arm-specific form");
}
