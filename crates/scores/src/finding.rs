//! A finding given either as a clinician's present/absent judgement or as
//! the measured value the threshold is applied to.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};

/// A measured value with the threshold that makes it a positive finding.
pub trait Measurement: DeserializeOwned + Serialize + Clone + fmt::Debug {
    /// The accepted object form, for error messages (e.g. `{"rbc_per_hpf": number}`).
    const EXPECTED: &'static str;
    /// Whether the value crosses the threshold.
    fn present(&self) -> bool;
    /// The value and the rule applied, e.g. `12 RBC/hpf (> 5)`.
    fn describe(&self) -> String;
    /// Rejects values that cannot be measurements (negative, not finite).
    fn check(&self) -> Result<(), String>;
}

/// `true`/`false` as judged by the clinician, or the measurement itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Finding<M> {
    Stated(bool),
    Measured(M),
}

impl<M: Measurement> Finding<M> {
    pub fn present(&self) -> bool {
        match self {
            Finding::Stated(b) => *b,
            Finding::Measured(m) => m.present(),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Finding::Stated(true) => "present".to_string(),
            Finding::Stated(false) => "absent".to_string(),
            Finding::Measured(m) => m.describe(),
        }
    }

    pub(crate) fn check(&self) -> Result<(), String> {
        match self {
            Finding::Stated(_) => Ok(()),
            Finding::Measured(m) => m.check(),
        }
    }
}

impl<'de, M: Measurement> Deserialize<'de> for Finding<M> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FindingVisitor(PhantomData))
    }
}

struct FindingVisitor<M>(PhantomData<M>);

impl<'de, M: Measurement> de::Visitor<'de> for FindingVisitor<M> {
    type Value = Finding<M>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "true, false or {}", M::EXPECTED)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Finding::Stated(v))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let value: serde_json::Value =
            Deserialize::deserialize(de::value::MapAccessDeserializer::new(map))?;
        let m: M = serde_json::from_value(value)
            .map_err(|e| de::Error::custom(format!("{e}; expected {}", M::EXPECTED)))?;
        m.check().map_err(de::Error::custom)?;
        Ok(Finding::Measured(m))
    }
}

/// Formats a number without a trailing `.0` for whole values.
pub(crate) fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// A non-negative finite number, or a message naming `field`.
pub(crate) fn non_negative(field: &str, x: f64) -> Result<(), String> {
    if x.is_finite() && x >= 0.0 {
        Ok(())
    } else {
        Err(format!("`{field}` is {x}; expected a number >= 0"))
    }
}

/// Defines a single-valued measurement type: `$ty { $field: f64 }` that is a
/// positive finding when `value $op threshold`.
macro_rules! measurement {
    ($(#[$doc:meta])* $ty:ident, $field:ident, $op:tt, $threshold:expr, $unit:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $ty {
            pub $field: f64,
        }

        impl $crate::finding::Measurement for $ty {
            const EXPECTED: &'static str = concat!("{\"", stringify!($field), "\": number}");
            fn present(&self) -> bool {
                self.$field $op $threshold
            }
            fn describe(&self) -> String {
                format!(
                    "{} {} ({} {})",
                    $crate::finding::num(self.$field),
                    $unit,
                    stringify!($op),
                    $crate::finding::num($threshold)
                )
            }
            fn check(&self) -> Result<(), String> {
                $crate::finding::non_negative(stringify!($field), self.$field)
            }
        }
    };
}
pub(crate) use measurement;

#[cfg(test)]
mod tests {
    use super::*;

    measurement!(Rbc, rbc_per_hpf, >, 5.0, "RBC/hpf");

    #[test]
    fn bool_and_object_forms() {
        let f: Finding<Rbc> = serde_json::from_str("true").unwrap();
        assert!(f.present());
        let f: Finding<Rbc> = serde_json::from_str(r#"{"rbc_per_hpf": 5}"#).unwrap();
        assert!(!f.present());
        assert_eq!(f.describe(), "5 RBC/hpf (> 5)");
        let f: Finding<Rbc> = serde_json::from_str(r#"{"rbc_per_hpf": 5.5}"#).unwrap();
        assert!(f.present());
    }

    #[test]
    fn wrong_forms_say_what_is_expected() {
        let e = serde_json::from_str::<Finding<Rbc>>(r#""yes""#).unwrap_err();
        assert!(
            e.to_string()
                .contains(r#"true, false or {"rbc_per_hpf": number}"#),
            "{e}"
        );
        let e = serde_json::from_str::<Finding<Rbc>>(r#"{"rbc": 3}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `rbc`"), "{e}");
        let e = serde_json::from_str::<Finding<Rbc>>(r#"{"rbc_per_hpf": -1}"#).unwrap_err();
        assert!(e.to_string().contains(">= 0"), "{e}");
    }
}
