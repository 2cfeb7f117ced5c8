//! The syntax tree of a rule, with spans into the source text.

use std::collections::BTreeSet;
use std::fmt;

use chrono::NaiveDate;

/// A byte range into the rule's source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// First byte of the construct.
    pub start: usize,
    /// One past its last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end` (bytes).
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// The 1-based column (in characters, not bytes) where the span starts in `src`.
    pub fn column(&self, src: &str) -> usize {
        column_of(src, self.start)
    }
}

/// The 1-based character column of byte offset `offset` in `src` (clamped to the text).
pub fn column_of(src: &str, offset: usize) -> usize {
    let mut off = offset.min(src.len());
    while off > 0 && !src.is_char_boundary(off) {
        off -= 1;
    }
    src[..off].chars().count() + 1
}

/// A length of time. Days and weeks are exact days; months and years are
/// calendar months (a year is 12 of them), so `2024-01-31 + 1 month` is
/// `2024-02-29`. The difference of two dates keeps both ends so that it can be
/// compared exactly with a calendar duration (`date - birth_date >= 18 years`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Duration {
    /// A whole number of days (weeks are written as 7 days).
    Days(i64),
    /// A whole number of calendar months (years are written as 12 months).
    Months(i64),
    /// The time from `from` to `to` (negative when `to` is before `from`).
    Span {
        /// Start date.
        from: NaiveDate,
        /// End date.
        to: NaiveDate,
    },
}

impl Duration {
    /// Number of days, when the duration is not in calendar months.
    pub fn days(&self) -> Option<i64> {
        match self {
            Duration::Days(d) => Some(*d),
            Duration::Months(_) => None,
            Duration::Span { from, to } => Some((*to - *from).num_days()),
        }
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |n: i64| if n == 1 || n == -1 { "" } else { "s" };
        match self {
            Duration::Days(d) if *d != 0 && d % 7 == 0 => {
                let w = d / 7;
                write!(f, "{w} week{}", plural(w))
            }
            Duration::Days(d) => write!(f, "{d} day{}", plural(*d)),
            Duration::Months(m) if *m != 0 && m % 12 == 0 => {
                let y = m / 12;
                write!(f, "{y} year{}", plural(y))
            }
            Duration::Months(m) => write!(f, "{m} month{}", plural(*m)),
            Duration::Span { from, to } => {
                let d = (*to - *from).num_days();
                write!(f, "{d} day{}", plural(d))
            }
        }
    }
}

/// An attribute of a fact reached with a dot (`alt.uln`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Attr {
    /// `.value`: the fact's value (same as the bare name).
    Value,
    /// `.date`: the date the value was observed.
    Date,
    /// `.uln`: the lab's upper limit of normal.
    Uln,
    /// `.lln`: the lab's lower limit of normal.
    Lln,
    /// `.unit`: the unit as a string.
    Unit,
}

impl Attr {
    /// The attribute named `s`, if any.
    pub fn from_name(s: &str) -> Option<Attr> {
        Some(match s {
            "value" => Attr::Value,
            "date" => Attr::Date,
            "uln" => Attr::Uln,
            "lln" => Attr::Lln,
            "unit" => Attr::Unit,
            _ => return None,
        })
    }

    /// The attribute's name as written.
    pub fn name(&self) -> &'static str {
        match self {
            Attr::Value => "value",
            Attr::Date => "date",
            Attr::Uln => "uln",
            Attr::Lln => "lln",
            Attr::Unit => "unit",
        }
    }
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnOp {
    /// Arithmetic negation `-x`.
    Neg,
    /// Kleene `not x`.
    Not,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// Kleene `or`.
    Or,
    /// Kleene `and`.
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(&self) -> &'static str {
        match self {
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
        }
    }

    /// True for `== != < <= > >=`.
    pub fn is_comparison(&self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        )
    }
}

/// A node of the syntax tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What the node is.
    pub kind: ExprKind,
    /// Where it is in the source.
    pub span: Span,
}

/// The kinds of node.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A number literal (never negative: `-3` is `Neg(3)`).
    Number(f64),
    /// A string literal.
    Str(String),
    /// `true` or `false`.
    Bool(bool),
    /// A date literal `2024-01-31`.
    Date(NaiveDate),
    /// A duration literal `7 days`, `6 months`.
    Duration(Duration),
    /// A quantity literal `45 kg`: value and unit as written.
    Quantity(f64, String),
    /// A list literal `[a, b]`.
    List(Vec<Expr>),
    /// A fact (`alt`, `baseline.weight`) or `screening_date`, optionally with an attribute.
    Name {
        /// The fact id (dotted for form fields), attribute stripped.
        name: String,
        /// The attribute, when one is written.
        attr: Option<Attr>,
    },
    /// A function call.
    Call {
        /// Function name.
        name: String,
        /// Arguments.
        args: Vec<Expr>,
    },
    /// `amount of anchor`: only as the second argument of `within`.
    Of {
        /// The duration.
        amount: Box<Expr>,
        /// The other date.
        anchor: Box<Expr>,
    },
    /// A unary operation.
    Unary {
        /// Operator.
        op: UnOp,
        /// Operand.
        expr: Box<Expr>,
    },
    /// A binary operation.
    Binary {
        /// Operator.
        op: BinOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// `item in list` or `item not in list`.
    In {
        /// True for `not in`.
        negated: bool,
        /// The value looked for.
        item: Box<Expr>,
        /// The list (a literal or a list-valued fact).
        list: Box<Expr>,
    },
}

/// The name of the evaluation date, supplied by the caller.
pub const SCREENING_DATE: &str = "screening_date";

impl Expr {
    /// A node.
    pub fn new(kind: ExprKind, span: Span) -> Self {
        Expr { kind, span }
    }

    /// Calls `f` on this node and every node below it, parents first.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        match &self.kind {
            ExprKind::List(items) | ExprKind::Call { args: items, .. } => {
                for e in items {
                    e.walk(f);
                }
            }
            ExprKind::Of { amount, anchor } => {
                amount.walk(f);
                anchor.walk(f);
            }
            ExprKind::Unary { expr, .. } => expr.walk(f),
            ExprKind::Binary { lhs, rhs, .. } => {
                lhs.walk(f);
                rhs.walk(f);
            }
            ExprKind::In { item, list, .. } => {
                item.walk(f);
                list.walk(f);
            }
            ExprKind::Number(_)
            | ExprKind::Str(_)
            | ExprKind::Bool(_)
            | ExprKind::Date(_)
            | ExprKind::Duration(_)
            | ExprKind::Quantity(..)
            | ExprKind::Name { .. } => {}
        }
    }

    /// The fact names the rule refers to, as written (dotted form fields kept,
    /// attributes such as `.uln` stripped, `screening_date` left out). Facts a
    /// built-in reads implicitly (`birth_date` for `age_at`) are not included;
    /// see [`Expr::implicit_facts`].
    pub fn identifiers(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        self.walk(&mut |e| {
            if let ExprKind::Name { name, .. } = &e.kind {
                if name != SCREENING_DATE {
                    out.insert(name.clone());
                }
            }
        });
        out
    }

    /// Facts read by built-in functions without being written (`birth_date` for `age_at`).
    pub fn implicit_facts(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for f in self.functions() {
            if f == "age_at" {
                out.insert("birth_date".to_string());
            }
        }
        out
    }

    /// Every function name called, built-in or not.
    pub fn functions(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        self.walk(&mut |e| {
            if let ExprKind::Call { name, .. } = &e.kind {
                out.insert(name.clone());
            }
        });
        out
    }

    /// Functions called that are not built in: named scores the caller must supply.
    pub fn score_functions(&self) -> BTreeSet<String> {
        self.functions()
            .into_iter()
            .filter(|f| !super::builtins::is_builtin(f))
            .collect()
    }

    /// Every quantity literal's unit with its span, for checking against the
    /// units a protocol declares.
    pub fn units(&self) -> Vec<(String, Span)> {
        let mut out = Vec::new();
        self.walk(&mut |e| {
            if let ExprKind::Quantity(_, unit) = &e.kind {
                out.push((unit.clone(), e.span));
            }
        });
        out
    }
}

fn fmt_number(f: &mut fmt::Formatter<'_>, n: f64) -> fmt::Result {
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 1e15 {
        write!(f, "{}", n as i64)
    } else {
        write!(f, "{n}")
    }
}

fn fmt_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

/// Prints the rule back as source text. Binary operations are fully
/// parenthesised so that `parse(&e.to_string())` gives back the same tree
/// (spans aside).
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Number(n) => fmt_number(f, *n),
            ExprKind::Str(s) => fmt_string(f, s),
            ExprKind::Bool(b) => write!(f, "{b}"),
            ExprKind::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            ExprKind::Duration(d) => write!(f, "{d}"),
            ExprKind::Quantity(v, u) => {
                fmt_number(f, *v)?;
                write!(f, " {u}")
            }
            ExprKind::List(items) => {
                f.write_str("[")?;
                for (i, e) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{e}")?;
                }
                f.write_str("]")
            }
            ExprKind::Name { name, attr } => {
                f.write_str(name)?;
                if let Some(a) = attr {
                    write!(f, ".{}", a.name())?;
                }
                Ok(())
            }
            ExprKind::Call { name, args } => {
                write!(f, "{name}(")?;
                for (i, e) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{e}")?;
                }
                f.write_str(")")
            }
            ExprKind::Of { amount, anchor } => write!(f, "{amount} of {anchor}"),
            ExprKind::Unary {
                op: UnOp::Neg,
                expr,
            } => write!(f, "-({expr})"),
            ExprKind::Unary {
                op: UnOp::Not,
                expr,
            } => write!(f, "not ({expr})"),
            ExprKind::Binary { op, lhs, rhs } => write!(f, "({lhs} {} {rhs})", op.symbol()),
            ExprKind::In {
                negated,
                item,
                list,
            } => {
                let kw = if *negated { "not in" } else { "in" };
                write!(f, "({item} {kw} {list})")
            }
        }
    }
}
