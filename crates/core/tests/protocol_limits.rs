//! The protocol reader's bounds, on generated input: an oversized file is one
//! clear diagnostic before parsing, and deep nesting is an error, not a stack
//! overflow.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rct_core::protocol::{parse, MAX_PROTOCOL_BYTES};

#[test]
fn an_oversized_protocol_is_refused_before_parsing() {
    let src = format!("# {}\n", "x".repeat(MAX_PROTOCOL_BYTES));
    let d = parse(&src, "big.toml").unwrap_err();
    assert_eq!(d.0.len(), 1);
    let text = d.to_string();
    assert!(
        text.starts_with(
            "big.toml:1:1: error: the file is 1048579 bytes, over the 1048576-byte limit"
        ),
        "{text}"
    );
}

#[test]
fn deep_nesting_is_an_error() {
    for src in [
        format!("a = {}1{}\n", "[".repeat(50_000), "]".repeat(50_000)),
        format!("a = {}1{}\n", "{b = ".repeat(50_000), "}".repeat(50_000)),
    ] {
        // The TOML parser's own recursion limit answers; the rule language has
        // its own (100 levels, rules::parser).
        assert!(parse(&src, "deep.toml").is_err());
    }
}
