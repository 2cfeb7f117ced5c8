//! Units of quantities: parsing a unit string into a scale and dimension, and
//! converting between compatible units (`mg` and `g`, `mg/day` and `g/24h`,
//! `dL` and `L`). Units not in the table (`U/L`, `mmHg`, `%`, `IU`) are opaque
//! symbols: compatible only with themselves. Mass and amount of substance
//! are different dimensions, so `mg/dL` and `mmol/L` never convert.

use std::collections::{BTreeMap, BTreeSet};

use super::ast::Expr;
use super::RuleError;

/// A parsed unit: the factor to the base unit of each dimension and the
/// dimension's exponents.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// Multiply a value in this unit by `factor` to get base units
    /// (grams, litres, seconds, metres, moles).
    pub factor: f64,
    /// Dimension symbol to exponent (`mass: 1, volume: -1` for mg/dL).
    pub dims: BTreeMap<String, i32>,
}

fn known_symbol(s: &str) -> Option<(f64, &'static str)> {
    Some(match s {
        "kg" => (1e3, "mass"),
        "g" => (1.0, "mass"),
        "mg" => (1e-3, "mass"),
        "µg" | "μg" | "ug" | "mcg" => (1e-6, "mass"),
        "ng" => (1e-9, "mass"),
        "L" | "l" => (1.0, "volume"),
        "dL" | "dl" => (0.1, "volume"),
        "mL" | "ml" => (1e-3, "volume"),
        "µL" | "μL" | "uL" | "ul" => (1e-6, "volume"),
        "mol" => (1.0, "amount"),
        "mmol" => (1e-3, "amount"),
        "µmol" | "μmol" | "umol" => (1e-6, "amount"),
        "nmol" => (1e-9, "amount"),
        "s" | "sec" => (1.0, "time"),
        "min" => (60.0, "time"),
        "h" | "hr" | "hour" => (3600.0, "time"),
        "d" | "day" => (86400.0, "time"),
        "wk" | "week" => (604800.0, "time"),
        "m" => (1.0, "length"),
        "cm" => (1e-2, "length"),
        "mm" => (1e-3, "length"),
        _ => return None,
    })
}

fn parse_factor(part: &str, dims: &mut BTreeMap<String, i32>, sign: i32) -> Result<f64, String> {
    if part.is_empty() {
        return Err("an empty part between '/'".to_string());
    }
    // optional leading count: the 24 of 24h
    let digits: String = part.chars().take_while(|c| c.is_ascii_digit()).collect();
    let rest = &part[digits.len()..];
    let count: f64 = if digits.is_empty() {
        1.0
    } else {
        digits
            .parse()
            .map_err(|_| format!("a count, found '{digits}'"))?
    };
    let (sym, exp) = match rest.split_once('^') {
        Some((s, e)) => (
            s,
            e.parse::<i32>()
                .map_err(|_| format!("a whole exponent after '^', found '{e}'"))?,
        ),
        None => (rest, 1),
    };
    if sym.is_empty() {
        return Ok(count.powi(exp * sign));
    }
    let (f, dim) = match known_symbol(sym) {
        Some((f, d)) => (f, d.to_string()),
        None => (1.0, format!("'{sym}'")),
    };
    *dims.entry(dim).or_insert(0) += exp * sign;
    Ok((count * f).powi(exp * sign))
}

impl Unit {
    /// Parses a unit such as `mg`, `mg/day`, `g/24h`, `kg/m^2`, `U/L`.
    pub fn parse(s: &str) -> Result<Unit, String> {
        let mut dims = BTreeMap::new();
        let mut parts = s.split('/');
        let first = parts.next().unwrap_or_default();
        let mut factor = parse_factor(first, &mut dims, 1)?;
        for p in parts {
            factor *= parse_factor(p, &mut dims, -1)?;
        }
        dims.retain(|_, e| *e != 0);
        Ok(Unit { factor, dims })
    }

    /// True when values in the two units can be converted into each other.
    pub fn compatible(&self, other: &Unit) -> bool {
        self.dims == other.dims
    }
}

/// The factor that turns a value in `from` into a value in `to`, or an
/// error naming both units when they do not convert.
pub fn conversion_factor(from: &str, to: &str) -> Result<f64, String> {
    if from == to {
        return Ok(1.0);
    }
    let mismatch = || format!("units '{from}' and '{to}' do not convert into each other");
    let a = Unit::parse(from).map_err(|_| mismatch())?;
    let b = Unit::parse(to).map_err(|_| mismatch())?;
    if !a.compatible(&b) {
        return Err(mismatch());
    }
    Ok(a.factor / b.factor)
}

/// True when `unit` is `declared` or converts into it.
pub fn converts(unit: &str, declared: &str) -> bool {
    conversion_factor(unit, declared).is_ok()
}

/// A unit written as terms with exponents (`mL/min/kg` = mL^1 min^-1 kg^-1),
/// in order of first appearance; `None` when the text is not a unit.
fn terms(unit: &str) -> Option<Vec<(String, i32)>> {
    let mut out: Vec<(String, i32)> = Vec::new();
    for (i, part) in unit.split('/').enumerate() {
        let sign = if i == 0 { 1 } else { -1 };
        let (sym, exp) = match part.split_once('^') {
            Some((s, e)) => (s, e.parse::<i32>().ok()?),
            None => (part, 1),
        };
        if sym.is_empty() || sym.contains(char::is_whitespace) {
            return None;
        }
        if i == 0 && sym == "1" {
            continue;
        }
        match out.iter_mut().find(|(s, _)| s == sym) {
            Some((_, e)) => *e += sign * exp,
            None => out.push((sym.to_string(), sign * exp)),
        }
    }
    Some(out)
}

/// Writes terms back in the unit grammar: one numerator part, then a `/`
/// part per denominator; `None` when the numerator has several symbols,
/// which the grammar cannot write.
fn write_terms(terms: &[(String, i32)]) -> Option<String> {
    let pow = |s: &str, e: i32| {
        if e == 1 {
            s.to_string()
        } else {
            format!("{s}^{e}")
        }
    };
    let num: Vec<&(String, i32)> = terms.iter().filter(|(_, e)| *e > 0).collect();
    let mut out = match num.as_slice() {
        [] => "1".to_string(),
        [(s, e)] => pow(s, *e),
        _ => return None,
    };
    for (s, e) in terms.iter().filter(|(_, e)| *e < 0) {
        out.push('/');
        out.push_str(&pow(s, -e));
    }
    Some(out)
}

fn combine(a: &str, b: &str, sign: i32) -> Option<String> {
    let mut t = terms(a)?;
    for (sym, e) in terms(b)? {
        match t.iter_mut().find(|(s, _)| *s == sym) {
            Some((_, x)) => *x += sign * e,
            None => t.push((sym, sign * e)),
        }
    }
    t.retain(|(_, e)| *e != 0);
    write_terms(&t)
}

/// The unit of `a / b`: `mL/min` ÷ `kg` = `mL/min/kg`, `kg` ÷ `cm^2` =
/// `kg/cm^2`; `None` when the result cannot be written in the unit grammar
/// (two symbols in the numerator, e.g. `kg` ÷ `1/m`).
pub fn quotient_unit(a: &str, b: &str) -> Option<String> {
    combine(a, b, -1)
}

/// The unit of `a * b`: `cm` × `cm` = `cm^2`, `mL/min/kg` × `kg` = `mL/min`;
/// `None` when the grammar cannot write it (`kg` × `m`).
pub fn product_unit(a: &str, b: &str) -> Option<String> {
    combine(a, b, 1)
}

/// The units hook for protocol checking: every quantity literal in `expr`
/// whose unit is neither one of `declared` nor convertible into one of them
/// gives an error at its column. `src` is the rule's text (for columns).
pub fn check_units(expr: &Expr, src: &str, declared: &BTreeSet<String>) -> Vec<RuleError> {
    let mut out = Vec::new();
    for (unit, span) in expr.units() {
        if declared.contains(&unit) || declared.iter().any(|d| converts(&unit, d)) {
            continue;
        }
        let list: Vec<&str> = declared.iter().map(String::as_str).collect();
        out.push(RuleError {
            column: span.column(src),
            offset: span.start,
            expected: if list.is_empty() {
                "a unit the protocol declares (none are declared)".to_string()
            } else {
                format!("a unit the protocol declares ({})", list.join(", "))
            },
            found: format!("unit '{unit}'"),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mass_converts_by_powers_of_ten() {
        assert!((conversion_factor("g", "mg").unwrap() - 1000.0).abs() < 1e-9);
        assert!((conversion_factor("mg", "g").unwrap() - 0.001).abs() < 1e-12);
        assert!((conversion_factor("mcg", "mg").unwrap() - 0.001).abs() < 1e-12);
    }

    #[test]
    fn rates_convert_through_time() {
        // 1 g/24h = 1000 mg/day
        assert!((conversion_factor("g/24h", "mg/day").unwrap() - 1000.0).abs() < 1e-9);
        // 1 mg/dL = 10 mg/L
        assert!((conversion_factor("mg/dL", "mg/L").unwrap() - 10.0).abs() < 1e-9);
    }

    #[test]
    fn mass_and_amount_do_not_convert() {
        let e = conversion_factor("mg/dL", "mmol/L").unwrap_err();
        assert!(e.contains("mg/dL") && e.contains("mmol/L"), "{e}");
    }

    #[test]
    fn opaque_units_match_only_themselves() {
        assert_eq!(conversion_factor("U/L", "U/L").unwrap(), 1.0);
        assert!(conversion_factor("U/L", "IU/L").is_err());
        assert!(conversion_factor("mmHg", "%").is_err());
    }

    #[test]
    fn compound_units_follow_the_grammar() {
        assert_eq!(quotient_unit("mL/min", "kg").as_deref(), Some("mL/min/kg"));
        assert_eq!(product_unit("cm", "cm").as_deref(), Some("cm^2"));
        assert_eq!(quotient_unit("kg", "cm^2").as_deref(), Some("kg/cm^2"));
        assert_eq!(product_unit("mL/min/kg", "kg").as_deref(), Some("mL/min"));
        assert_eq!(product_unit("kg", "m"), None);
        // mL/min/kg is mL/kg/min: the same unit, factor 1
        assert!((conversion_factor("mL/min/kg", "mL/kg/min").unwrap() - 1.0).abs() < 1e-12);
        // 1 kg/cm^2 = 10,000 kg/m^2
        assert!((conversion_factor("kg/cm^2", "kg/m^2").unwrap() - 1e4).abs() < 1e-6);
    }
}
