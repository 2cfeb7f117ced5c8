//! The built-in functions and their arities. Any other function name is a
//! named score the caller supplies through [`super::Env::call`].

/// Built-in functions: name, minimum and maximum number of arguments
/// (`usize::MAX` for "any number"), and a one-line description.
pub const BUILTINS: &[(&str, usize, usize, &str)] = &[
    ("age_at", 1, 1, "whole years from birth_date to the date"),
    ("days_between", 2, 2, "days from date a to date b"),
    ("months_between", 2, 2, "whole calendar months from date a to date b"),
    ("years_between", 2, 2, "whole calendar years from date a to date b"),
    ("any", 1, usize::MAX, "Kleene or over the arguments"),
    ("all", 1, usize::MAX, "Kleene and over the arguments"),
    ("count", 1, usize::MAX, "how many arguments are true"),
    (
        "within",
        2,
        2,
        "within(d, 6 months): d in the 6 months up to screening_date; within(a, 7 days of b): |a - b| <= 7 days",
    ),
    ("known", 1, 1, "true when the value is present, false when missing"),
    ("min", 1, usize::MAX, "smallest argument"),
    ("max", 1, usize::MAX, "largest argument"),
    ("abs", 1, 1, "absolute value"),
];

/// True when `name` is a built-in function.
pub fn is_builtin(name: &str) -> bool {
    BUILTINS.iter().any(|(n, ..)| *n == name)
}

/// What was expected, when a built-in is called with the wrong number of arguments.
pub(crate) fn arity_error(name: &str, got: usize) -> Option<String> {
    let (_, min, max, _) = BUILTINS.iter().find(|(n, ..)| *n == name)?;
    if got >= *min && got <= *max {
        return None;
    }
    let plural = |k: usize| if k == 1 { "" } else { "s" };
    Some(if *max == usize::MAX {
        format!("{name}() to take at least {min} argument{}", plural(*min))
    } else if min == max {
        format!("{name}() to take {min} argument{}", plural(*min))
    } else {
        format!("{name}() to take {min} to {max} arguments")
    })
}
