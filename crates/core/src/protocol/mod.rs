//! Protocol files: the TOML format (documented in docs/protocol.md), the
//! model it parses into, and the checker that reports every mistake at its
//! line and column.

mod check;
mod diag;
mod model;

pub use check::{check, formula_names_of, SCORE_FUNCTIONS};
pub use diag::{Diagnostic, Diagnostics, LineIndex};
pub use model::*;

/// Parses and checks a protocol held in `src`; `file` names it in errors.
/// Returns the protocol, or every mistake found.
pub fn parse(src: &str, file: &str) -> Result<Protocol, Diagnostics> {
    let p: Protocol = toml::from_str(src).map_err(|e| {
        let idx = LineIndex::new(src);
        let (line, column) = e.span().map_or((1, 1), |s| idx.position(s.start));
        Diagnostics(vec![Diagnostic {
            file: file.to_string(),
            line,
            column,
            message: e.message().trim().to_string(),
            help: Some(
                "see docs/protocol.md for the keys each table takes and their types".to_string(),
            ),
        }])
    })?;
    let problems = check(&p, src, file);
    if problems.is_empty() {
        Ok(p)
    } else {
        Err(Diagnostics(problems))
    }
}
