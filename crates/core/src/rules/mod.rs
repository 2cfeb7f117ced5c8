//! The rule language: a small expression language for eligibility criteria,
//! edit checks, derived fields and population definitions, evaluated over a
//! participant's facts with three-valued (Kleene) logic. The language is
//! specified in `docs/rules.md`.
//!
//! ```
//! use rct_core::rules::parse;
//! let rule = parse("age_at(screening_date) >= 18 and alt < 2 * alt.uln").unwrap();
//! assert!(rule.identifiers().contains("alt"));
//! assert!(rule.functions().contains("age_at"));
//! let err = parse("age >= )").unwrap_err();
//! assert_eq!(err.column, 8);
//! assert_eq!(err.to_string(), "column 8: expected a number, string, date, list or name after '>=', found ')'");
//! ```

mod ast;
pub mod builtins;
mod eval;
mod lexer;
mod parser;
pub mod scores;
pub mod units;

pub use ast::{column_of, Attr, BinOp, Duration, Expr, ExprKind, Span, UnOp, SCREENING_DATE};
pub use builtins::{is_builtin, BUILTINS};
pub use eval::{eval, Env, EvalError, Evaluation, Fact, MapEnv, Truth, Value};
pub use parser::parse;

/// A rule that does not parse (or names a unit the protocol does not declare).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: expected {expected}, found {found}")]
pub struct RuleError {
    /// 1-based column, in characters.
    pub column: usize,
    /// Byte offset into the rule text.
    pub offset: usize,
    /// What the parser expected there.
    pub expected: String,
    /// What it found.
    pub found: String,
}
