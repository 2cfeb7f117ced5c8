//! `rct-svg`: what every hand-written SVG figure of rct shares (the session
//! trace of `rct-exercise`, the QC and score panels of `rct-omics`, the
//! CONSORT, effect and forest figures of `rct-report`): escaping text for
//! XML, round tick positions for an axis, and compact tick labels.

/// Escapes text for XML character data and attribute values.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Round tick positions covering `[lo, hi]`: about `target` steps of 1, 2,
/// 2.5 or 5 times a power of ten, each tick an exact multiple of the step
/// (computed, not accumulated, so 0 is exactly 0). An empty or non-finite
/// range gives `[lo]`.
pub fn ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let span = hi - lo;
    if !(lo.is_finite() && hi.is_finite() && span > 0.0) {
        return vec![lo];
    }
    let raw = span / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// A tick label: at most three decimals, no trailing zeros, never `-0`.
pub fn tick_label(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_multiples_covering_the_range() {
        assert_eq!(ticks(0.0, 10.0, 5), [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(0.0, 2.5, 6), [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]);
        assert_eq!(ticks(0.0, 1.493, 6), [0.0, 0.25, 0.5, 0.75, 1.0, 1.25]);
        assert_eq!(ticks(-3.2, 7.0, 6), [-2.0, 0.0, 2.0, 4.0, 6.0]);
        let t = ticks(-1.3, 2.7, 6);
        assert!(t[0] >= -1.3 && *t.last().unwrap() <= 2.7 && t.contains(&0.0));
        // 0.1 steps land on exact multiples, not accumulated sums.
        assert_eq!(ticks(0.0, 0.6, 6)[3], 3.0 * 0.1);
        assert_eq!(ticks(1.0, 1.0, 6), [1.0]);
        assert_eq!(ticks(f64::NAN, 1.0, 6).len(), 1);
    }

    #[test]
    fn labels_are_compact() {
        assert_eq!(tick_label(0.5), "0.5");
        assert_eq!(tick_label(2.0), "2");
        assert_eq!(tick_label(0.0), "0");
        assert_eq!(tick_label(-0.0001), "0");
        assert_eq!(tick_label(1.23456), "1.235");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
