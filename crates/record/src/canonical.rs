//! Canonical JSON: the byte encoding that event hashes and commitments are
//! computed over. It is the JSON Canonicalization Scheme of RFC 8785 (JCS),
//! so an auditor can re-hash the chain with any JCS library:
//! - objects: members sorted by their keys' UTF-16 code units,
//!   `{"k":v,...}`, no whitespace;
//! - arrays: `[a,b,...]` in order, no whitespace;
//! - strings: `"` and `\` escaped, `\b \t \n \f \r` as such, other control
//!   characters below U+0020 as `\u00xx` (lower-case hex), everything else
//!   written as UTF-8;
//! - numbers as ECMAScript's `Number.prototype.toString` writes an IEEE 754
//!   double: the shortest digits that read back to the same value, plain
//!   decimal for exponents from -6 to 20 (`0.000001`, `1e-7`,
//!   `100000000000000000000`, `1e+21`), `-0` as `0`; integers beyond 2^53 are
//!   written as the double nearest them (as RFC 8785 requires; the record
//!   refuses such values where they would be changed, see
//!   [`exact_in_canonical`]);
//! - `true`, `false`, `null` as written.

use serde_json::Value;

/// Writes `value` in canonical JSON (RFC 8785).
pub fn to_canonical(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    write(&mut out, value, Format::Jcs);
    out
}

/// Writes `value` in the canonical JSON of chain format 1 (records written
/// before commitments; see [`crate::legacy`]): as [`to_canonical`] except
/// that object keys are sorted by their UTF-8 bytes and numbers are written
/// as `serde_json` writes them (integers of any size in decimal, other
/// numbers as the shortest text that reads back to the same `f64`, e.g.
/// `1e21` as `1e21`). Read only to verify and migrate old records.
pub fn to_canonical_v1(value: &Value) -> String {
    let mut out = String::new();
    write(&mut out, value, Format::V1);
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Jcs,
    V1,
}

/// `value` as the chain stores it: read back from its canonical JSON (a
/// whole-valued double such as `8.0` becomes the integer `8`). The record
/// keeps values in this form, so a state folded from the store equals the
/// state that wrote it, and two values compare as the chain sees them.
pub fn canonical_value(value: &Value) -> Value {
    serde_json::from_str(&to_canonical(value)).unwrap_or_else(|_| value.clone())
}

/// Whether every number in `value` survives canonical JSON unchanged (no
/// integer beyond +-2^53, where RFC 8785 rounds to a double).
pub fn exact_in_canonical(value: &Value) -> bool {
    const LIMIT: u64 = 1 << 53;
    match value {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                u <= LIMIT
            } else if let Some(i) = n.as_i64() {
                i.unsigned_abs() <= LIMIT
            } else {
                true
            }
        }
        Value::Array(items) => items.iter().all(exact_in_canonical),
        Value::Object(map) => map.values().all(exact_in_canonical),
        _ => true,
    }
}

fn write(out: &mut String, value: &Value, format: Format) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) if format == Format::V1 => out.push_str(&n.to_string()),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(out, item, format);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            match format {
                Format::Jcs => keys.sort_by(|a, b| utf16_order(a, b)),
                Format::V1 => keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes())),
            }
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, key);
                out.push(':');
                if let Some(v) = map.get(key) {
                    write(out, v, format);
                }
            }
            out.push('}');
        }
    }
}

/// The order of `a` and `b` by their UTF-16 code units (RFC 8785 section
/// 3.2.3). For ASCII text that is the order of the bytes (compared
/// without re-encoding: keys are nearly always ASCII).
pub(crate) fn utf16_order(a: &str, b: &str) -> std::cmp::Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.as_bytes().cmp(b.as_bytes())
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

fn write_number(out: &mut String, n: &serde_json::Number) {
    use std::fmt::Write as _;
    const LIMIT: u64 = 1 << 53;
    // Writing into a String cannot fail.
    if let Some(u) = n.as_u64() {
        if u <= LIMIT {
            let _ = write!(out, "{u}");
            return;
        }
    } else if let Some(i) = n.as_i64() {
        if i.unsigned_abs() <= LIMIT {
            let _ = write!(out, "{i}");
            return;
        }
    }
    // Every JSON number serde_json holds converts to a finite f64.
    write_double(out, n.as_f64().unwrap_or(0.0));
}

/// ECMAScript `Number.prototype.toString` for a finite double (ECMA-262,
/// Number::toString, radix 10), as RFC 8785 section 3.2.2.3 requires.
pub(crate) fn write_double(out: &mut String, x: f64) {
    if x == 0.0 || !x.is_finite() {
        out.push('0');
        return;
    }
    if x < 0.0 {
        out.push('-');
    }
    // Rust's `{:e}` writes the shortest digits that read back to the same
    // double: `d.ddddde<exp>`.
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let k = digits.len() as i64;
    let n = exp.parse::<i64>().unwrap_or(0) + 1;
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if n > 0 { '+' } else { '-' });
        out.push_str(&(n - 1).abs().to_string());
    }
}

pub(crate) fn write_str(out: &mut String, s: &str) {
    out.push('"');
    // Most text needs no escape: copied whole.
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        let v = json!({"b": 1, "a": [true, null, "x\"y"], "A": {"z": 1.5, "y": -2}});
        assert_eq!(
            to_canonical(&v),
            r#"{"A":{"y":-2,"z":1.5},"a":[true,null,"x\"y"],"b":1}"#
        );
    }

    #[test]
    fn escapes_control_characters_like_serde_json() {
        let s = "a\u{1}b\n\u{7f}é";
        assert_eq!(
            to_canonical(&Value::String(s.into())),
            serde_json::to_string(s).unwrap()
        );
    }

    fn num(text: &str) -> String {
        to_canonical(&serde_json::from_str::<Value>(text).unwrap())
    }

    #[test]
    fn numbers_follow_rfc8785() {
        // Reference: RFC 8785 section 3.2.2.3 and appendix B (the IEEE 754
        // to JSON number table), and ECMAScript's Number.prototype.toString.
        assert_eq!(num("333333333.33333329"), "333333333.3333333");
        assert_eq!(num("1E30"), "1e+30");
        assert_eq!(num("4.50"), "4.5");
        assert_eq!(num("2e-3"), "0.002");
        assert_eq!(num("0.000000000000000000000000001"), "1e-27");
        assert_eq!(num("-0.0"), "0");
        assert_eq!(num("1e21"), "1e+21");
        assert_eq!(num("1e20"), "100000000000000000000");
        assert_eq!(num("0.000001"), "0.000001");
        assert_eq!(num("0.0000001"), "1e-7");
        assert_eq!(num("5e-324"), "5e-324");
        assert_eq!(num("1.7976931348623157e308"), "1.7976931348623157e+308");
        assert_eq!(num("9007199254740992"), "9007199254740992");
        assert_eq!(num("9007199254740993"), "9007199254740992");
        assert_eq!(num("-1.5e-9"), "-1.5e-9");
        assert_eq!(num("3.0"), "3");
        assert_eq!(num("123e-2"), "1.23");
    }

    #[test]
    fn keys_sort_by_utf16_code_units() {
        // Reference: RFC 8785 section 3.2.3's sorting example: the sorted
        // order is "\r", "1", "\u0080", "\u00f6", "\u20ac", "\ud83d\ude00",
        // "\ufb33" (the emoji's high surrogate 0xD83D sorts before 0xFB33,
        // although its code point U+1F600 is larger).
        let v = json!({"\u{20ac}": 1, "\r": 2, "\u{fb33}": 3, "1": 4, "\u{1f600}": 5, "\u{80}": 6, "\u{f6}": 7});
        let text = to_canonical(&v);
        let order: Vec<usize> = [
            "\\r",
            "\"1\"",
            "\u{80}",
            "\u{f6}",
            "\u{20ac}",
            "\u{1f600}",
            "\u{fb33}",
        ]
        .iter()
        .map(|k| text.find(k).unwrap())
        .collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted, "{text}");
    }

    #[test]
    fn large_integers_are_flagged() {
        assert!(exact_in_canonical(&json!({"a": [1, 9007199254740992_u64]})));
        assert!(!exact_in_canonical(&json!({"a": [9007199254740993_u64]})));
        assert!(!exact_in_canonical(&json!(-9007199254740993_i64)));
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-(1i64 << 53)..(1i64 << 53)).prop_map(|i| json!(i)),
            any::<f64>()
                .prop_filter("finite", |x| x.is_finite())
                .prop_map(|x| json!(x)),
            ".{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(".{0,4}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn same_numbers(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_numbers(a, b))
            }
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .all(|(k, v)| y.get(k).is_some_and(|w| same_numbers(v, w)))
            }
            _ => a == b,
        }
    }

    proptest! {
        // Reference: serde_json's own parser (with `float_roundtrip`): the
        // canonical text must read back to the same numbers and be a fixed
        // point of canonicalisation.
        #[test]
        fn canonical_round_trips(v in arb_json()) {
            let text = to_canonical(&v);
            let back: Value = serde_json::from_str(&text).unwrap();
            prop_assert!(same_numbers(&back, &v), "{} -> {}", v, text);
            prop_assert_eq!(to_canonical(&back), text);
        }

        // Reference: the UTF-16 code-unit comparison itself, on any text
        // (ASCII, BMP and astral characters mixed).
        #[test]
        fn the_ascii_shortcut_keeps_utf16_order(a in "[a-z\u{e000}-\u{e00f}\u{1f600}-\u{1f60f}]{0,6}", b in "[a-z\u{e000}-\u{e00f}\u{1f600}-\u{1f60f}]{0,6}") {
            prop_assert_eq!(utf16_order(&a, &b), a.encode_utf16().cmp(b.encode_utf16()));
        }

        // Reference: serde_json's escaping (the same escapes, lower-case hex).
        #[test]
        fn unescaped_text_is_copied_whole(s in "[ -~\u{80}-\u{2ff}\n\t\u{1}]{0,12}") {
            let mut fast = String::new();
            write_str(&mut fast, &s);
            let slow = serde_json::to_string(&s).unwrap();
            let back: String = serde_json::from_str(&fast).unwrap();
            prop_assert_eq!(back, s.clone());
            prop_assert_eq!(fast, slow);
        }
    }
}
