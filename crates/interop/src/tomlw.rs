//! Small helpers for writing protocol TOML by hand (so that comments can sit
//! beside the keys they explain).

/// A TOML basic string literal for `s`, escaped as TOML requires.
pub(crate) fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML array of strings.
pub(crate) fn q_list<S: AsRef<str>>(items: &[S]) -> String {
    let inner: Vec<String> = items.iter().map(|s| q(s.as_ref())).collect();
    format!("[{}]", inner.join(", "))
}

/// A number as TOML (integers without a fraction).
pub(crate) fn num(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// A comment line (each line of `text` prefixed by `# `).
pub(crate) fn comment(text: &str) -> String {
    text.lines()
        .map(|l| format!("# {l}\n"))
        .collect::<Vec<_>>()
        .concat()
}

/// Lower-case machine id from free text: letters, digits and `_`.
pub(crate) fn slug(s: &str) -> String {
    let mut out = String::new();
    let mut last_us = true;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
            last_us = false;
        } else if !last_us {
            out.push('_');
            last_us = true;
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "x_");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_read_back_through_toml() {
        for s in [
            "plain",
            "quo\"te",
            "back\\slash",
            "line\nbreak",
            "tab\t",
            "é ü 中",
            "\u{1}",
        ] {
            let doc = format!("k = {}", q(s));
            let v: toml::Value = toml::from_str(&doc).unwrap();
            assert_eq!(v["k"].as_str().unwrap(), s);
        }
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Arm A: HIIT (12 weeks)"), "arm_a_hiit_12_weeks");
        assert_eq!(slug("12 weeks"), "x_12_weeks");
        assert_eq!(slug("--"), "x_");
    }
}
