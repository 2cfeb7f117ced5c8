//! The evaluator: Kleene three-valued logic over a participant's facts.
//!
//! Every sub-expression evaluates to a definite value or to *unknown*; an
//! unknown result carries the set of facts whose absence made it unknown.
//! `false and unknown` is `false` and `true or unknown` is `true`, with no
//! missing facts reported, because no further fact could change them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use super::ast::{Attr, BinOp, Duration, Expr, ExprKind, UnOp, SCREENING_DATE};
use super::units::conversion_factor;

/// A value a rule computes with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// true / false.
    Bool(bool),
    /// A number.
    Number(f64),
    /// A number with a unit.
    Quantity {
        /// The number.
        value: f64,
        /// Its unit.
        unit: String,
    },
    /// A calendar date.
    Date(NaiveDate),
    /// A length of time.
    #[serde(skip)]
    Duration(Duration),
    /// Text.
    Str(String),
    /// A list.
    List(Vec<Value>),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::Quantity { value, unit } => write!(f, "{value} {unit}"),
            Value::Date(d) => write!(f, "{d}"),
            Value::Duration(d) => write!(f, "{d}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::List(items) => {
                write!(f, "[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "]")
            }
        }
    }
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::Quantity { .. } => "a quantity",
            Value::Date(_) => "a date",
            Value::Duration(_) => "a duration",
            Value::Str(_) => "a string",
            Value::List(_) => "a list",
        }
    }
}

/// A fact about a participant: a value with the date it was observed and,
/// for lab values, its unit and the lab's limits of normal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    /// The value.
    pub value: Value,
    /// When it was observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    /// Unit of a numeric value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Upper limit of normal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uln: Option<f64>,
    /// Lower limit of normal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lln: Option<f64>,
}

impl Fact {
    /// A fact with only a value.
    pub fn of(value: Value) -> Self {
        Fact {
            value,
            date: None,
            unit: None,
            uln: None,
            lln: None,
        }
    }
}

/// What a rule is evaluated against.
pub trait Env {
    /// The fact named `name`, or `None` when it is missing.
    fn fact(&self, name: &str) -> Option<&Fact>;
    /// The date rules are evaluated at (`screening_date`), if known.
    fn evaluation_date(&self) -> Option<NaiveDate>;
    /// A named score; `None` when no such function exists.
    fn call(&self, _name: &str, _args: &[Value]) -> Option<Result<Value, String>> {
        None
    }
}

/// Facts in a map with an evaluation date: the simplest [`Env`].
#[derive(Debug, Clone, Default)]
pub struct MapEnv {
    /// Facts by id.
    pub facts: BTreeMap<String, Fact>,
    /// The evaluation date.
    pub date: Option<NaiveDate>,
}

impl Env for MapEnv {
    fn fact(&self, name: &str) -> Option<&Fact> {
        self.facts.get(name)
    }
    fn evaluation_date(&self) -> Option<NaiveDate> {
        self.date
    }
}

/// Three-valued truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Truth {
    /// Definitely true.
    True,
    /// Definitely false.
    False,
    /// Depends on a missing fact.
    Unknown,
}

impl std::ops::Not for Truth {
    type Output = Truth;
    /// Kleene negation.
    fn not(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
        }
    }
}

impl Truth {
    /// Kleene conjunction.
    pub fn and(self, o: Truth) -> Truth {
        match (self, o) {
            (Truth::False, _) | (_, Truth::False) => Truth::False,
            (Truth::True, Truth::True) => Truth::True,
            _ => Truth::Unknown,
        }
    }
    /// Kleene disjunction.
    pub fn or(self, o: Truth) -> Truth {
        !((!self).and(!o))
    }
}

/// A rule that cannot be evaluated: a type mismatch or a bad argument.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct EvalError {
    /// 1-based column in the rule where the failing construct starts.
    pub column: usize,
    /// What went wrong.
    pub message: String,
}

/// The result of evaluating a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The value, or `None` when unknown.
    pub value: Option<Value>,
    /// Facts whose absence made the result unknown (empty when it is known).
    pub missing: BTreeSet<String>,
    /// Every fact read, with the value used.
    pub used: BTreeMap<String, Value>,
}

impl Evaluation {
    /// The result as a truth value; an error when the rule is not a condition.
    pub fn truth(&self) -> Result<Truth, String> {
        match &self.value {
            None => Ok(Truth::Unknown),
            Some(Value::Bool(true)) => Ok(Truth::True),
            Some(Value::Bool(false)) => Ok(Truth::False),
            Some(v) => Err(format!(
                "the rule gives {} ({v}), not true or false",
                v.kind()
            )),
        }
    }
}

/// A sub-result: a value or unknown with the facts that were missing.
type Res = Result<(Option<Value>, BTreeSet<String>), EvalError>;

struct Ev<'a> {
    src: &'a str,
    env: &'a dyn Env,
    used: BTreeMap<String, Value>,
}

/// Evaluates `expr` (parsed from `src`, used for error columns) against `env`.
pub fn eval(expr: &Expr, src: &str, env: &dyn Env) -> Result<Evaluation, EvalError> {
    let mut ev = Ev {
        src,
        env,
        used: BTreeMap::new(),
    };
    let (value, missing) = ev.eval(expr)?;
    Ok(Evaluation {
        missing: if value.is_some() {
            BTreeSet::new()
        } else {
            missing
        },
        value,
        used: ev.used,
    })
}

fn known(v: Value) -> Res {
    Ok((Some(v), BTreeSet::new()))
}

fn unknown(missing: BTreeSet<String>) -> Res {
    Ok((None, missing))
}

impl Ev<'_> {
    fn err(&self, e: &Expr, message: String) -> EvalError {
        EvalError {
            column: e.span.column(self.src),
            message,
        }
    }

    fn eval(&mut self, e: &Expr) -> Res {
        match &e.kind {
            ExprKind::Number(n) => known(Value::Number(*n)),
            ExprKind::Str(s) => known(Value::Str(s.clone())),
            ExprKind::Bool(b) => known(Value::Bool(*b)),
            ExprKind::Date(d) => known(Value::Date(*d)),
            ExprKind::Duration(d) => known(Value::Duration(*d)),
            ExprKind::Quantity(v, u) => known(Value::Quantity {
                value: *v,
                unit: u.clone(),
            }),
            ExprKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut missing = BTreeSet::new();
                for i in items {
                    match self.eval(i)? {
                        (Some(v), _) => out.push(v),
                        (None, m) => missing.extend(m),
                    }
                }
                if missing.is_empty() {
                    known(Value::List(out))
                } else {
                    unknown(missing)
                }
            }
            ExprKind::Name { name, attr } => self.name(e, name, *attr),
            ExprKind::Of { .. } => Err(self.err(
                e,
                "`... of ...` may only be the second argument of within()".into(),
            )),
            ExprKind::Unary { op, expr } => {
                let (v, m) = self.eval(expr)?;
                let Some(v) = v else { return unknown(m) };
                match (op, v) {
                    (UnOp::Not, Value::Bool(b)) => known(Value::Bool(!b)),
                    (UnOp::Neg, Value::Number(n)) => known(Value::Number(-n)),
                    (UnOp::Neg, Value::Quantity { value, unit }) => known(Value::Quantity {
                        value: -value,
                        unit,
                    }),
                    (UnOp::Not, v) => {
                        Err(self.err(e, format!("`not` needs true or false, found {}", v.kind())))
                    }
                    (UnOp::Neg, v) => {
                        Err(self.err(e, format!("`-` needs a number, found {}", v.kind())))
                    }
                }
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(e, *op, lhs, rhs),
            ExprKind::In {
                negated,
                item,
                list,
            } => {
                let (iv, mut m) = self.eval(item)?;
                let (lv, m2) = self.eval(list)?;
                m.extend(m2);
                let (Some(iv), Some(lv)) = (iv, lv) else {
                    return unknown(m);
                };
                let Value::List(items) = lv else {
                    return Err(self.err(list, format!("`in` needs a list, found {}", lv.kind())));
                };
                let mut found = false;
                for x in &items {
                    if self.compare(e, &iv, x)? == Some(std::cmp::Ordering::Equal) {
                        found = true;
                    }
                }
                known(Value::Bool(found != *negated))
            }
            ExprKind::Call { name, args } => self.call(e, name, args),
        }
    }

    fn name(&mut self, e: &Expr, name: &str, attr: Option<Attr>) -> Res {
        if name == SCREENING_DATE {
            return match self.env.evaluation_date() {
                Some(d) => known(Value::Date(d)),
                None => unknown(BTreeSet::from([SCREENING_DATE.to_string()])),
            };
        }
        // A missing fact is reported by its name, whatever attribute was read.
        let Some(fact) = self.env.fact(name) else {
            return unknown(BTreeSet::from([name.to_string()]));
        };
        let with_unit = |v: f64| match &fact.unit {
            Some(u) => Value::Quantity {
                value: v,
                unit: u.clone(),
            },
            None => Value::Number(v),
        };
        let (key, value) = match attr {
            None | Some(Attr::Value) => (
                name.to_string(),
                match &fact.value {
                    Value::Number(n) => Some(with_unit(*n)),
                    v => Some(v.clone()),
                },
            ),
            Some(Attr::Date) => (format!("{name}.date"), fact.date.map(Value::Date)),
            Some(Attr::Uln) => (format!("{name}.uln"), fact.uln.map(with_unit)),
            Some(Attr::Lln) => (format!("{name}.lln"), fact.lln.map(with_unit)),
            Some(Attr::Unit) => (format!("{name}.unit"), fact.unit.clone().map(Value::Str)),
        };
        match value {
            Some(v) => {
                if let Value::Number(n) = v {
                    if !n.is_finite() {
                        return Err(self.err(e, format!("fact `{key}` is not a finite number")));
                    }
                }
                self.used.insert(key, v.clone());
                known(v)
            }
            None => unknown(BTreeSet::from([key])),
        }
    }

    fn truth_of(&self, e: &Expr, v: &Option<Value>) -> Result<Truth, EvalError> {
        match v {
            None => Ok(Truth::Unknown),
            Some(Value::Bool(true)) => Ok(Truth::True),
            Some(Value::Bool(false)) => Ok(Truth::False),
            Some(v) => Err(self.err(e, format!("expected true or false, found {}", v.kind()))),
        }
    }

    /// Kleene combination of several conditions.
    fn kleene(&mut self, args: &[Expr], and: bool) -> Res {
        let mut missing = BTreeSet::new();
        let mut acc = if and { Truth::True } else { Truth::False };
        for a in args {
            let (v, m) = self.eval(a)?;
            let t = self.truth_of(a, &v)?;
            if t == Truth::Unknown {
                missing.extend(m);
            }
            acc = if and { acc.and(t) } else { acc.or(t) };
        }
        match acc {
            Truth::True => known(Value::Bool(true)),
            Truth::False => known(Value::Bool(false)),
            Truth::Unknown => unknown(missing),
        }
    }

    fn binary(&mut self, e: &Expr, op: BinOp, lhs: &Expr, rhs: &Expr) -> Res {
        if matches!(op, BinOp::And | BinOp::Or) {
            return self.kleene(&[lhs.clone(), rhs.clone()], op == BinOp::And);
        }
        let (a, mut m) = self.eval(lhs)?;
        let (b, m2) = self.eval(rhs)?;
        m.extend(m2);
        let (Some(a), Some(b)) = (a, b) else {
            return unknown(m);
        };
        if op.is_comparison() {
            let ord = self.compare(e, &a, &b)?;
            use std::cmp::Ordering::*;
            let r = match (op, ord) {
                (BinOp::Eq, o) => o == Some(Equal),
                (BinOp::Ne, o) => o != Some(Equal),
                (_, None) => {
                    return Err(self.err(
                        e,
                        format!(
                            "cannot order {} and {} with `{}`",
                            a.kind(),
                            b.kind(),
                            op.symbol()
                        ),
                    ))
                }
                (BinOp::Lt, Some(o)) => o == Less,
                (BinOp::Le, Some(o)) => o != Greater,
                (BinOp::Gt, Some(o)) => o == Greater,
                (BinOp::Ge, Some(o)) => o != Less,
                _ => false,
            };
            return known(Value::Bool(r));
        }
        self.arith(e, op, a, b).map(|v| (Some(v), BTreeSet::new()))
    }

    /// Orders two values; `None` when they are equal-comparable but not ordered.
    fn compare(
        &self,
        e: &Expr,
        a: &Value,
        b: &Value,
    ) -> Result<Option<std::cmp::Ordering>, EvalError> {
        let num = |x: f64, y: f64| x.partial_cmp(&y);
        Ok(match (a, b) {
            (Value::Number(x), Value::Number(y)) => num(*x, *y),
            (Value::Quantity { value: x, .. }, Value::Number(y))
            | (Value::Number(x), Value::Quantity { value: y, .. }) => num(*x, *y),
            (Value::Quantity { value: x, unit: ux }, Value::Quantity { value: y, unit: uy }) => {
                let f = conversion_factor(uy, ux).map_err(|m| self.err(e, m))?;
                num(*x, y * f)
            }
            (Value::Date(x), Value::Date(y)) => Some(x.cmp(y)),
            (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
            (Value::Bool(x), Value::Bool(y)) => {
                if x == y {
                    Some(std::cmp::Ordering::Equal)
                } else {
                    None
                }
            }
            (Value::Duration(x), Value::Duration(y)) => self.compare_durations(e, x, y)?,
            _ => return Err(self.err(e, format!("cannot compare {} with {}", a.kind(), b.kind()))),
        })
    }

    fn compare_durations(
        &self,
        e: &Expr,
        x: &Duration,
        y: &Duration,
    ) -> Result<Option<std::cmp::Ordering>, EvalError> {
        match (x, y) {
            (Duration::Months(a), Duration::Months(b)) => Ok(Some(a.cmp(b))),
            (Duration::Span { from, to }, Duration::Months(m)) => {
                let end =
                    add_months(*from, *m).ok_or_else(|| self.err(e, "date out of range".into()))?;
                Ok(Some(to.cmp(&end)))
            }
            (Duration::Months(_), Duration::Span { .. }) => {
                Ok(self.compare_durations(e, y, x)?.map(|o| o.reverse()))
            }
            _ => match (x.days(), y.days()) {
                (Some(a), Some(b)) => Ok(Some(a.cmp(&b))),
                _ => Err(self.err(
                    e,
                    format!(
                        "cannot compare {x} with {y} exactly: write both in days or both in months"
                    ),
                )),
            },
        }
    }

    fn arith(&self, e: &Expr, op: BinOp, a: Value, b: Value) -> Result<Value, EvalError> {
        use Value::*;
        let bad = |a: &Value, b: &Value| {
            self.err(
                e,
                format!(
                    "cannot apply `{}` to {} and {}",
                    op.symbol(),
                    a.kind(),
                    b.kind()
                ),
            )
        };
        let finite = |x: f64| {
            if x.is_finite() {
                Ok(x)
            } else {
                Err(self.err(
                    e,
                    format!(
                        "`{}` gives no finite number (division by zero?)",
                        op.symbol()
                    ),
                ))
            }
        };
        let n = |x: f64, y: f64| -> Result<f64, EvalError> {
            finite(match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                BinOp::Div => x / y,
                _ => f64::NAN,
            })
        };
        match (&a, &b) {
            (Number(x), Number(y)) => Ok(Number(n(*x, *y)?)),
            (Quantity { value: x, unit }, Number(y)) if matches!(op, BinOp::Mul | BinOp::Div) => {
                Ok(Quantity {
                    value: n(*x, *y)?,
                    unit: unit.clone(),
                })
            }
            (Number(x), Quantity { value: y, unit }) if op == BinOp::Mul => Ok(Quantity {
                value: n(*x, *y)?,
                unit: unit.clone(),
            }),
            (Quantity { value: x, unit: ux }, Quantity { value: y, unit: uy }) => {
                let f = match conversion_factor(uy, ux) {
                    Ok(f) => f,
                    Err(_) if matches!(op, BinOp::Mul | BinOp::Div) => {
                        return self.compound(e, op, (*x, ux), (*y, uy));
                    }
                    Err(m) => return Err(self.err(e, m)),
                };
                match op {
                    BinOp::Add | BinOp::Sub => Ok(Quantity {
                        value: n(*x, y * f)?,
                        unit: ux.clone(),
                    }),
                    BinOp::Div => Ok(Number(n(*x, y * f)?)),
                    BinOp::Mul => Ok(Quantity {
                        value: n(*x, y * f)?,
                        unit: super::units::product_unit(ux, ux).ok_or_else(|| bad(&a, &b))?,
                    }),
                    _ => Err(bad(&a, &b)),
                }
            }
            (Date(x), Date(y)) if op == BinOp::Sub => {
                Ok(Duration(super::ast::Duration::Span { from: *y, to: *x }))
            }
            (Date(x), Duration(d)) if matches!(op, BinOp::Add | BinOp::Sub) => {
                let sign = if op == BinOp::Add { 1 } else { -1 };
                shift(*x, d, sign)
                    .map(Date)
                    .ok_or_else(|| self.err(e, "date out of range".into()))
            }
            (Duration(d), Date(x)) if op == BinOp::Add => shift(*x, d, 1)
                .map(Date)
                .ok_or_else(|| self.err(e, "date out of range".into())),
            (Duration(x), Duration(y)) if matches!(op, BinOp::Add | BinOp::Sub) => {
                let sign = if op == BinOp::Add { 1 } else { -1 };
                match (x, y) {
                    (super::ast::Duration::Months(a), super::ast::Duration::Months(b)) => {
                        Ok(Duration(super::ast::Duration::Months(a + sign * b)))
                    }
                    _ => match (x.days(), y.days()) {
                        (Some(a), Some(b)) => {
                            Ok(Duration(super::ast::Duration::Days(a + sign * b)))
                        }
                        _ => Err(bad(&a, &b)),
                    },
                }
            }
            (Number(k), Duration(d)) | (Duration(d), Number(k))
                if op == BinOp::Mul && k.fract() == 0.0 && k.abs() < 1e6 =>
            {
                let k = *k as i64;
                Ok(Duration(match d {
                    super::ast::Duration::Months(m) => super::ast::Duration::Months(m * k),
                    other => super::ast::Duration::Days(other.days().unwrap_or(0) * k),
                }))
            }
            _ => Err(bad(&a, &b)),
        }
    }

    /// `*` and `/` of quantities whose units do not convert into each other:
    /// the result carries the compound unit (mL/min ÷ kg = mL/min/kg).
    fn compound(
        &self,
        e: &Expr,
        op: BinOp,
        (x, ux): (f64, &str),
        (y, uy): (f64, &str),
    ) -> Result<Value, EvalError> {
        let unit = if op == BinOp::Div {
            super::units::quotient_unit(ux, uy)
        } else {
            super::units::product_unit(ux, uy)
        };
        let value = if op == BinOp::Div { x / y } else { x * y };
        match unit {
            Some(unit) if value.is_finite() => Ok(Value::Quantity { value, unit }),
            Some(_) => Err(self.err(
                e,
                format!(
                    "`{}` gives no finite number (division by zero?)",
                    op.symbol()
                ),
            )),
            None => Err(self.err(
                e,
                format!(
                    "cannot write the unit of '{ux}' {} '{uy}': convert one operand to a plain number first",
                    op.symbol()
                ),
            )),
        }
    }

    fn call(&mut self, e: &Expr, name: &str, args: &[Expr]) -> Res {
        match name {
            "any" => return self.kleene(args, false),
            "all" => return self.kleene(args, true),
            "known" => {
                let [x] = args else {
                    return Err(self.err(e, "known() takes 1 argument".into()));
                };
                let (v, _) = self.eval(x)?;
                return known(Value::Bool(v.is_some()));
            }
            "within" => return self.within(e, args),
            "age_at" => {
                let [x] = args else {
                    return Err(self.err(e, "age_at() takes 1 argument".into()));
                };
                let (d, mut m) = self.eval(x)?;
                let (b, m2) = self.name(e, "birth_date", None)?;
                m.extend(m2);
                let (Some(d), Some(b)) = (d, b) else {
                    return unknown(m);
                };
                let (Value::Date(d), Value::Date(b)) = (&d, &b) else {
                    return Err(self.err(
                        e,
                        format!(
                            "age_at() needs dates, found {} and birth_date {}",
                            d.kind(),
                            b.kind()
                        ),
                    ));
                };
                return known(Value::Number(whole_months(*b, *d) as f64 / 12.0).map_floor());
            }
            _ => {}
        }
        let mut vals = Vec::with_capacity(args.len());
        let mut missing = BTreeSet::new();
        for a in args {
            match self.eval(a)? {
                (Some(v), _) => vals.push(v),
                (None, m) => missing.extend(m),
            }
        }
        if name == "count" {
            let mut n = 0.0;
            let mut unknowns = false;
            for (a, v) in args.iter().zip(vals.iter()) {
                if self.truth_of(a, &Some(v.clone()))? == Truth::True {
                    n += 1.0;
                }
            }
            if !missing.is_empty() {
                unknowns = true;
            }
            return if unknowns {
                unknown(missing)
            } else {
                known(Value::Number(n))
            };
        }
        if !missing.is_empty() {
            return unknown(missing);
        }
        let date = |v: &Value| match v {
            Value::Date(d) => Ok(*d),
            v => Err(self.err(e, format!("{name}() needs dates, found {}", v.kind()))),
        };
        let number = |v: &Value| match v {
            Value::Number(x) | Value::Quantity { value: x, .. } => Ok(*x),
            v => Err(self.err(e, format!("{name}() needs numbers, found {}", v.kind()))),
        };
        match (name, vals.as_slice()) {
            ("days_between", [a, b]) => {
                known(Value::Number((date(b)? - date(a)?).num_days() as f64))
            }
            ("months_between", [a, b]) => {
                known(Value::Number(whole_months(date(a)?, date(b)?) as f64))
            }
            ("years_between", [a, b]) => known(Value::Number(
                (whole_months(date(a)?, date(b)?) / 12) as f64,
            )),
            ("abs", [a]) => match a {
                Value::Quantity { value, unit } => known(Value::Quantity {
                    value: value.abs(),
                    unit: unit.clone(),
                }),
                v => known(Value::Number(number(v)?.abs())),
            },
            ("min" | "max", vs) if !vs.is_empty() => {
                let mut best = vs[0].clone();
                for v in &vs[1..] {
                    let o = self.compare(e, v, &best)?;
                    let better = if name == "min" {
                        o == Some(std::cmp::Ordering::Less)
                    } else {
                        o == Some(std::cmp::Ordering::Greater)
                    };
                    if better {
                        best = v.clone();
                    }
                }
                known(best)
            }
            _ if super::builtins::is_builtin(name) => Err(self.err(
                e,
                super::builtins::arity_error(name, vals.len()).map_or_else(
                    || format!("bad arguments to {name}()"),
                    |x| format!("expected {x}"),
                ),
            )),
            _ => match self.env.call(name, &vals) {
                Some(Ok(v)) => known(v),
                Some(Err(m)) => Err(self.err(e, format!("{name}(): {m}"))),
                // Not supplied by the caller: a named score from rct-scores.
                None => match super::scores::call(self.env, name, &vals) {
                    Some(Ok(out)) => {
                        self.used.extend(out.used);
                        match out.value {
                            Some(v) => known(v),
                            None => unknown(out.missing),
                        }
                    }
                    Some(Err(m)) => Err(self.err(e, format!("{name}(): {m}"))),
                    None => Err(self.err(e, format!("unknown function `{name}`"))),
                },
            },
        }
    }

    /// `within(d, 6 months)` and `within(a, 7 days of b)`.
    fn within(&mut self, e: &Expr, args: &[Expr]) -> Res {
        let [d, span] = args else {
            return Err(self.err(e, "within() takes 2 arguments".into()));
        };
        let (dv, mut m) = self.eval(d)?;
        let (amount, anchor) = match &span.kind {
            ExprKind::Of { amount, anchor } => (amount.as_ref(), Some(anchor.as_ref())),
            _ => (span, None),
        };
        let (av, m2) = self.eval(amount)?;
        m.extend(m2);
        let (anchor_v, m3) = match anchor {
            Some(a) => self.eval(a)?,
            None => self.name(e, SCREENING_DATE, None)?,
        };
        m.extend(m3);
        let (Some(dv), Some(av), Some(anchor_v)) = (dv, av, anchor_v) else {
            return unknown(m);
        };
        let (Value::Date(d), Value::Duration(dur), Value::Date(anchor_d)) = (&dv, &av, &anchor_v)
        else {
            return Err(self.err(
                e,
                format!(
                    "within() needs a date, a duration and (after `of`) a date; found {}, {}, {}",
                    dv.kind(),
                    av.kind(),
                    anchor_v.kind()
                ),
            ));
        };
        let oob = || self.err(e, "date out of range".into());
        let lo = shift(*anchor_d, dur, -1).ok_or_else(oob)?;
        let r = if anchor.is_some() {
            let hi = shift(*anchor_d, dur, 1).ok_or_else(oob)?;
            *d >= lo && *d <= hi
        } else {
            *d >= lo && d <= anchor_d
        };
        known(Value::Bool(r))
    }
}

trait Floor {
    fn map_floor(self) -> Self;
}

impl Floor for Value {
    fn map_floor(self) -> Self {
        match self {
            Value::Number(x) => Value::Number(x.floor()),
            v => v,
        }
    }
}

fn add_months(d: NaiveDate, m: i64) -> Option<NaiveDate> {
    let k = u32::try_from(m.unsigned_abs()).ok()?;
    if m >= 0 {
        d.checked_add_months(Months::new(k))
    } else {
        d.checked_sub_months(Months::new(k))
    }
}

fn shift(d: NaiveDate, dur: &Duration, sign: i64) -> Option<NaiveDate> {
    match dur {
        Duration::Months(m) => add_months(d, sign * m),
        other => d.checked_add_signed(chrono::Duration::try_days(sign * other.days()?)?),
    }
}

/// Whole calendar months from `a` to `b` (negative when b is before a).
fn whole_months(a: NaiveDate, b: NaiveDate) -> i64 {
    if b < a {
        return -whole_months(b, a);
    }
    let mut m = (b.year() as i64 - a.year() as i64) * 12 + (b.month() as i64 - a.month() as i64);
    while m > 0 && add_months(a, m).is_none_or(|x| x > b) {
        m -= 1;
    }
    m
}
