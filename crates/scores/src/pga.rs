//! The physician's global assessment (PGA) of SLE disease activity on the
//! 0-3 visual analogue scale (0 none, 1 mild, 2 moderate, 3 severe), as used
//! by the SELENA-SLEDAI and the SLE Responder Index (Furie et al., Arthritis
//! Rheum 2009;61:1143: worsening < 0.3 points).
//!
//! A PGA is kept in exact hundredths ([`Pga::hundredths`]), so that a
//! change of 0.3 is exactly 30 and never 0.29999999999999993: the input
//! must have at most two decimals (the precision the 0.3 rule needs).

use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use crate::result::ScoreResult;
use crate::{ScoreError, ScoreName};

/// Highest PGA, in hundredths.
pub const MAX_HUNDREDTHS: u16 = 300;

/// A PGA value 0.00-3.00 in exact hundredths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pga(u16);

impl Pga {
    /// From hundredths (0-300).
    pub fn from_hundredths(h: u16) -> Result<Pga, String> {
        if h > MAX_HUNDREDTHS {
            return Err(format!(
                "{} is outside the PGA scale 0-3",
                fmt_hundredths(i32::from(h))
            ));
        }
        Ok(Pga(h))
    }

    /// From a number on the 0-3 scale with at most two decimals.
    pub fn from_f64(x: f64) -> Result<Pga, String> {
        if !x.is_finite() || !(0.0..=3.0).contains(&x) {
            return Err(format!("{x} is outside the PGA scale 0-3"));
        }
        let h = (x * 100.0).round();
        if (x * 100.0 - h).abs() > 1e-6 {
            return Err(format!(
                "{x} has more than two decimals; give the PGA to the hundredth (e.g. 1.25)"
            ));
        }
        Pga::from_hundredths(h as u16)
    }

    /// From a decimal string, e.g. `"1.25"` (at most two decimals).
    pub fn parse(s: &str) -> Result<Pga, String> {
        let t = s.trim();
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || !(frac.is_empty() || digits(frac)) || frac.len() > 2 {
            return Err(format!(
                "`{s}` is not a PGA: give a number 0-3 with at most two decimals"
            ));
        }
        let w: u32 = whole
            .parse()
            .map_err(|_| format!("`{s}` is outside the PGA scale 0-3"))?;
        let f: u32 = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<2}").parse().unwrap_or(0)
        };
        let h = w.saturating_mul(100).saturating_add(f);
        if h > u32::from(MAX_HUNDREDTHS) {
            return Err(format!("`{s}` is outside the PGA scale 0-3"));
        }
        Pga::from_hundredths(h as u16)
    }

    pub fn hundredths(self) -> u16 {
        self.0
    }

    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 100.0
    }
}

/// Hundredths as a decimal with two places, signed when negative.
pub fn fmt_hundredths(h: i32) -> String {
    let sign = if h < 0 { "-" } else { "" };
    let a = h.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

impl fmt::Display for Pga {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&fmt_hundredths(i32::from(self.0)))
    }
}

impl Serialize for Pga {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_f64())
    }
}

impl<'de> Deserialize<'de> for Pga {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Pga;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a PGA: a number 0-3 with at most two decimals")
            }
            fn visit_f64<E: de::Error>(self, x: f64) -> Result<Pga, E> {
                Pga::from_f64(x).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, x: u64) -> Result<Pga, E> {
                if x > 3 {
                    return Err(E::custom(format!("{x} is outside the PGA scale 0-3")));
                }
                Pga::from_hundredths(x as u16 * 100).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, x: i64) -> Result<Pga, E> {
                Err(E::custom(format!("{x} is outside the PGA scale 0-3")))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Pga, E> {
                Pga::parse(s).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// The `pga` score's input: `{"pga": 1.25}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgaInput {
    pub pga: Pga,
}

/// The PGA as a [`ScoreResult`] (validated; the value is the total).
pub fn score(input: &PgaInput) -> PgaInput {
    input.clone()
}

impl From<PgaInput> for ScoreResult {
    fn from(p: PgaInput) -> Self {
        let band = match p.pga.hundredths() {
            0 => "none",
            1..=100 => "up to mild (0-1)",
            101..=200 => "mild to moderate (1-2)",
            _ => "moderate to severe (2-3)",
        };
        ScoreResult {
            score: ScoreName::Pga,
            total: p.pga.as_f64(),
            max_total: 3.0,
            classified: None,
            category: Some(band.to_string()),
            flare: None,
            prorated: false,
            summary: format!(
                "PGA {} on the 0-3 scale (0 none, 1 mild, 2 moderate, 3 severe)",
                p.pga
            ),
            groups: Vec::new(),
            breakdown: Vec::new(),
        }
    }
}

/// Parses a PGA from JSON, naming `field` in the error.
pub fn from_json(
    score: &'static str,
    field: &str,
    v: &serde_json::Value,
) -> Result<Pga, ScoreError> {
    serde_json::from_value(v.clone()).map_err(|e| ScoreError::OutOfRange {
        score,
        field: field.to_string(),
        value: v.to_string(),
        expected: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pga(v: serde_json::Value) -> Result<Pga, String> {
        serde_json::from_value::<Pga>(v).map_err(|e| e.to_string())
    }

    #[test]
    fn scale_ends_and_hundredths_are_exact() {
        assert_eq!(pga(json!(0)).unwrap().hundredths(), 0);
        assert_eq!(pga(json!(3)).unwrap().hundredths(), 300);
        assert_eq!(pga(json!(3.0)).unwrap().hundredths(), 300);
        // 0.29 * 100 = 28.999999999999996 in binary; kept as exactly 29
        assert_eq!(pga(json!(0.29)).unwrap().hundredths(), 29);
        assert_eq!(pga(json!(1.1)).unwrap().hundredths(), 110);
        assert_eq!(pga(json!("1.3")).unwrap().hundredths(), 130);
        assert_eq!(pga(json!("0.05")).unwrap().hundredths(), 5);
        assert_eq!(pga(json!("2")).unwrap().hundredths(), 200);
    }

    #[test]
    fn out_of_scale_and_too_precise_values_are_errors() {
        assert!(pga(json!(3.01))
            .unwrap_err()
            .contains("outside the PGA scale"));
        assert!(pga(json!(4)).unwrap_err().contains("outside the PGA scale"));
        assert!(pga(json!(-0.1))
            .unwrap_err()
            .contains("outside the PGA scale"));
        assert!(pga(json!(-1))
            .unwrap_err()
            .contains("outside the PGA scale"));
        assert!(pga(json!(1.255)).unwrap_err().contains("two decimals"));
        assert!(pga(json!("1.255")).unwrap_err().contains("two decimals"));
        assert!(pga(json!("3.5")).unwrap_err().contains("outside"));
        assert!(pga(json!("x")).unwrap_err().contains("not a PGA"));
        assert!(pga(json!(true)).is_err());
    }

    #[test]
    fn formatting() {
        assert_eq!(fmt_hundredths(30), "0.30");
        assert_eq!(fmt_hundredths(-5), "-0.05");
        assert_eq!(Pga::from_hundredths(125).unwrap().to_string(), "1.25");
    }

    #[test]
    fn named_score() {
        let r = crate::score_by_name("pga", &json!({"pga": 1.25})).unwrap();
        assert_eq!(r.total, 1.25);
        assert_eq!(r.max_total, 3.0);
        let e = crate::score_by_name("pga", &json!({"pga": 3.2})).unwrap_err();
        assert!(e.to_string().contains("pga"), "{e}");
        let e = crate::score_by_name("pga", &json!({"pga": 1, "pgaa": 2})).unwrap_err();
        assert!(e.to_string().contains("unknown field `pgaa`"), "{e}");
    }
}
