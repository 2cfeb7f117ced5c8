//! Protocol files: the TOML format (documented in docs/protocol.md), the
//! model it parses into, and the checker that reports every mistake at its
//! line and column.

mod check;
mod diag;
mod estimand;
mod model;

pub use check::{check, formula_names_of, SCORE_FUNCTIONS};
pub use diag::{Diagnostic, Diagnostics, LineIndex};
pub use estimand::{Estimand, IntercurrentEvent, Strategy};
pub use model::*;

/// Largest protocol file read (1 MiB; the seed protocols are about 20 kB).
pub const MAX_PROTOCOL_BYTES: usize = 1 << 20;

/// Parses and checks a protocol held in `src`; `file` names it in errors.
/// Returns the protocol, or every mistake found.
pub fn parse(src: &str, file: &str) -> Result<Protocol, Diagnostics> {
    if src.len() > MAX_PROTOCOL_BYTES {
        return Err(Diagnostics(vec![Diagnostic {
            file: file.to_string(),
            line: 1,
            column: 1,
            message: format!(
                "the file is {} bytes, over the {MAX_PROTOCOL_BYTES}-byte limit for a protocol",
                src.len()
            ),
            help: Some("check that this is a protocol file; long texts belong in documents the protocol names".to_string()),
        }]));
    }
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
