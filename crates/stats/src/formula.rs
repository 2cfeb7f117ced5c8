//! Formulas in R/patsy notation and the design matrices they make.
//!
//! Supported: `y ~ a + b`, `a:b`, `a*b` (= `a + b + a:b`), `-`, parentheses,
//! `0`/`1` (`-1`, `+0`, `0 +` remove the intercept), and transforms of one
//! variable: `log(x)`, `np.log(x)`, `log2(x)`, `log10(x)`, `exp(x)`,
//! `sqrt(x)`. Text columns are categorical with treatment coding; the
//! reference level is the first in sorted order unless overridden.
//!
//! Term order, column order and column names follow patsy exactly: the
//! intercept first, then terms grouped by the set of numeric factors they
//! contain (the group without numeric factors first, the others in order of
//! first appearance), by degree within a group; each categorical factor is
//! coded with full rank or by contrasts as patsy's subterm algorithm decides
//! (`arm[T.hiit]`, `arm[hiit]`, `arm[T.hiit]:ifn_score`).

use std::collections::BTreeMap;
use std::ops::Range;

use crate::frame::{Column, Frame};
use crate::StatsError;

/// A transform applied to a numeric variable.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Transform {
    Id,
    Log,
    Log2,
    Log10,
    Exp,
    Sqrt,
    /// `C(x)`: treat the variable as categorical (text or numbers).
    Cat,
}

impl Transform {
    fn apply(self, v: f64) -> f64 {
        match self {
            Transform::Id | Transform::Cat => v,
            Transform::Log => v.ln(),
            Transform::Log2 => v.log2(),
            Transform::Log10 => v.log10(),
            Transform::Exp => v.exp(),
            Transform::Sqrt => v.sqrt(),
        }
    }
    fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "log" | "np.log" => Transform::Log,
            "log2" | "np.log2" => Transform::Log2,
            "log10" | "np.log10" => Transform::Log10,
            "exp" | "np.exp" => Transform::Exp,
            "sqrt" | "np.sqrt" => Transform::Sqrt,
            "C" => Transform::Cat,
            _ => return None,
        })
    }
}

/// A factor: a variable, possibly transformed. `name` is how patsy writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Factor {
    pub name: String,
    pub var: String,
    transform: Transform,
}

/// A parsed formula: response factor and right-hand-side terms (each a list
/// of factor indices), in patsy's order of appearance, before bucketing.
#[derive(Debug, Clone, PartialEq)]
pub struct Formula {
    pub text: String,
    pub response: Factor,
    pub factors: Vec<Factor>,
    /// Terms in order of appearance (without the intercept).
    pub terms: Vec<Vec<usize>>,
    pub intercept: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Num(String),
    Op(char),
}

fn tokenize(s: &str) -> Result<Vec<(Tok, usize)>, (usize, String)> {
    let cs: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            i += 1;
        } else if "~+-*:(),".contains(c) {
            out.push((Tok::Op(c), i));
            i += 1;
        } else if c.is_ascii_digit() {
            let st = i;
            while i < cs.len() && (cs[i].is_ascii_digit() || cs[i] == '.') {
                i += 1;
            }
            out.push((Tok::Num(cs[st..i].iter().collect()), st));
        } else if c.is_alphabetic() || c == '_' {
            let st = i;
            while i < cs.len() && (cs[i].is_alphanumeric() || cs[i] == '_' || cs[i] == '.') {
                i += 1;
            }
            out.push((Tok::Name(cs[st..i].iter().collect()), st));
        } else if c == '`' {
            let st = i;
            i += 1;
            while i < cs.len() && cs[i] != '`' {
                i += 1;
            }
            if i >= cs.len() {
                return Err((st, "unclosed backquote".into()));
            }
            out.push((Tok::Name(cs[st + 1..i].iter().collect()), st));
            i += 1;
        } else {
            return Err((i, format!("unexpected character `{c}`")));
        }
    }
    Ok(out)
}

/// Intermediate value of a right-hand-side expression (patsy's
/// `IntermediateExpr`).
#[derive(Debug, Clone, Default)]
struct Expr {
    intercept: bool,
    intercept_removed: bool,
    terms: Vec<Vec<usize>>,
    /// `Some(0)` / `Some(1)` when the expression is the bare number.
    number: Option<u8>,
}

fn same_term(a: &[usize], b: &[usize]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

fn dedup_terms(ts: Vec<Vec<usize>>) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    for t in ts {
        if !out.iter().any(|o| same_term(o, &t)) {
            out.push(t);
        }
    }
    out
}

fn make_term(fs: impl IntoIterator<Item = usize>) -> Vec<usize> {
    let mut t = Vec::new();
    for f in fs {
        if !t.contains(&f) {
            t.push(f);
        }
    }
    t
}

struct Parser<'a> {
    text: &'a str,
    toks: Vec<(Tok, usize)>,
    pos: usize,
    factors: Vec<Factor>,
}

impl Parser<'_> {
    fn err<T>(&self, msg: impl Into<String>) -> Result<T, StatsError> {
        let pos = self
            .toks
            .get(self.pos)
            .map_or(self.text.chars().count(), |t| t.1);
        Err(StatsError::Formula {
            formula: self.text.to_string(),
            pos,
            message: msg.into(),
        })
    }
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.0)
    }
    fn eat_op(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Op(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn factor(&mut self) -> Result<Factor, StatsError> {
        let Some(Tok::Name(n)) = self.peek().cloned() else {
            return self.err("expected a variable name, `0`, `1` or `(`");
        };
        self.pos += 1;
        if self.eat_op('(') {
            let Some(tr) = Transform::from_name(&n) else {
                self.pos -= 1;
                return self.err(format!(
                    "unknown function `{n}`; supported: log, log2, log10, exp, sqrt, C"
                ));
            };
            let Some(Tok::Name(v)) = self.peek().cloned() else {
                return self.err(format!("`{n}(` must be followed by a variable name"));
            };
            self.pos += 1;
            if !self.eat_op(')') {
                return self.err("expected `)`");
            }
            Ok(Factor {
                name: format!("{n}({v})"),
                var: v,
                transform: tr,
            })
        } else {
            Ok(Factor {
                name: n.clone(),
                var: n,
                transform: Transform::Id,
            })
        }
    }

    fn factor_index(&mut self, f: Factor) -> usize {
        if let Some(i) = self.factors.iter().position(|g| g.name == f.name) {
            i
        } else {
            self.factors.push(f);
            self.factors.len() - 1
        }
    }

    fn atom(&mut self) -> Result<Expr, StatsError> {
        match self.peek().cloned() {
            Some(Tok::Op('(')) => {
                self.pos += 1;
                let e = self.sum()?;
                if !self.eat_op(')') {
                    return self.err("expected `)`");
                }
                Ok(e)
            }
            Some(Tok::Op('-')) => {
                self.pos += 1;
                let e = self.atom()?;
                match e.number {
                    Some(1) => Ok(Expr {
                        intercept_removed: true,
                        ..Expr::default()
                    }),
                    Some(0) => Ok(Expr {
                        intercept: true,
                        ..Expr::default()
                    }),
                    _ => self.err("unary minus applies only to 0 or 1"),
                }
            }
            Some(Tok::Num(s)) => {
                self.pos += 1;
                match s.as_str() {
                    "0" => Ok(Expr {
                        intercept_removed: true,
                        number: Some(0),
                        ..Expr::default()
                    }),
                    "1" => Ok(Expr {
                        intercept: true,
                        number: Some(1),
                        ..Expr::default()
                    }),
                    _ => {
                        self.pos -= 1;
                        self.err("only the numbers 0 and 1 may appear in a formula")
                    }
                }
            }
            _ => {
                let f = self.factor()?;
                let i = self.factor_index(f);
                Ok(Expr {
                    terms: vec![vec![i]],
                    ..Expr::default()
                })
            }
        }
    }

    fn interact(&self, l: &Expr, r: &Expr) -> Result<Vec<Vec<usize>>, StatsError> {
        if l.intercept || r.intercept {
            return self.err("the intercept cannot interact with anything");
        }
        let mut ts = Vec::new();
        for a in &l.terms {
            for b in &r.terms {
                ts.push(make_term(a.iter().chain(b.iter()).copied()));
            }
        }
        Ok(ts)
    }

    fn colon(&mut self) -> Result<Expr, StatsError> {
        let mut l = self.atom()?;
        while self.eat_op(':') {
            let r = self.atom()?;
            l = Expr {
                terms: dedup_terms(self.interact(&l, &r)?),
                ..Expr::default()
            };
        }
        Ok(l)
    }

    fn star(&mut self) -> Result<Expr, StatsError> {
        let mut l = self.colon()?;
        while self.eat_op('*') {
            let r = self.colon()?;
            let inter = self.interact(&l, &r)?;
            let mut ts = l.terms.clone();
            ts.extend(r.terms.iter().cloned());
            ts.extend(inter);
            l = Expr {
                terms: dedup_terms(ts),
                ..Expr::default()
            };
        }
        Ok(l)
    }

    fn sum(&mut self) -> Result<Expr, StatsError> {
        let mut l = if self.peek() == Some(&Tok::Op('-')) {
            self.atom()?
        } else {
            self.star()?
        };
        loop {
            if self.eat_op('+') {
                let r = self.star()?;
                let mut ts = l.terms.clone();
                ts.extend(r.terms.iter().cloned());
                l = if r.number == Some(0) {
                    Expr {
                        intercept_removed: true,
                        terms: dedup_terms(ts),
                        ..Expr::default()
                    }
                } else if r.intercept {
                    Expr {
                        intercept: true,
                        terms: dedup_terms(ts),
                        ..Expr::default()
                    }
                } else {
                    Expr {
                        terms: dedup_terms(ts),
                        number: None,
                        ..l
                    }
                };
            } else if self.eat_op('-') {
                let r = self.star()?;
                let ts: Vec<Vec<usize>> = l
                    .terms
                    .iter()
                    .filter(|t| !r.terms.iter().any(|u| same_term(t, u)))
                    .cloned()
                    .collect();
                l = match r.number {
                    Some(0) => Expr {
                        intercept: true,
                        terms: ts,
                        ..Expr::default()
                    },
                    Some(_) => Expr {
                        intercept_removed: true,
                        terms: ts,
                        ..Expr::default()
                    },
                    None if r.intercept => Expr {
                        intercept_removed: true,
                        terms: ts,
                        ..Expr::default()
                    },
                    None => Expr {
                        terms: ts,
                        number: None,
                        ..l
                    },
                };
            } else {
                return Ok(l);
            }
        }
    }
}

impl Formula {
    /// Parses `response ~ rhs`.
    pub fn parse(text: &str) -> Result<Self, StatsError> {
        let toks = tokenize(text).map_err(|(pos, message)| StatsError::Formula {
            formula: text.to_string(),
            pos,
            message,
        })?;
        let mut p = Parser {
            text,
            toks,
            pos: 0,
            factors: Vec::new(),
        };
        if p.peek() == Some(&Tok::Op('~')) {
            return p.err("the formula needs a response before `~`, e.g. `y ~ arm`");
        }
        let response = p.factor()?;
        if !p.eat_op('~') {
            return p.err("expected `~` after the response");
        }
        let rhs = p.sum()?;
        if p.pos < p.toks.len() {
            return p.err("unexpected token; expected `+`, `-`, `*`, `:` or the end");
        }
        Ok(Formula {
            text: text.to_string(),
            response,
            factors: p.factors,
            terms: rhs.terms,
            intercept: !rhs.intercept_removed,
        })
    }

    /// Every variable the formula reads, response first.
    pub fn variables(&self) -> Vec<String> {
        let mut v = vec![self.response.var.clone()];
        for f in &self.factors {
            if !v.contains(&f.var) {
                v.push(f.var.clone());
            }
        }
        v
    }
}

/// One formula term and the design columns it owns.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TermInfo {
    pub name: String,
    pub columns: Range<usize>,
}

/// How one factor is coded inside one column-block of a term.
#[derive(Debug, Clone)]
enum Coding {
    Numeric,
    /// Categorical; `full` = one column per level, else treatment contrasts.
    Cat {
        full: bool,
    },
}

#[derive(Debug, Clone)]
struct Block {
    /// Per factor of the term (term order): its coding.
    codings: Vec<(usize, Coding)>,
}

/// A compiled model: the formula bound to levels of its categorical
/// variables, ready to fill design matrices for any frame with the same
/// columns.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    pub formula: Formula,
    /// For each factor: `Some(levels)` when categorical (reference first).
    levels: Vec<Option<Vec<String>>>,
    terms: Vec<(Vec<usize>, Vec<Block>)>,
    pub column_names: Vec<String>,
    pub term_info: Vec<TermInfo>,
}

/// A design: response, column-major model matrix and bookkeeping.
#[derive(Debug, Clone)]
pub struct Design {
    pub response: String,
    pub y: Vec<f64>,
    /// Column-major, `nobs * ncols`.
    pub x: Vec<f64>,
    pub nobs: usize,
    pub column_names: Vec<String>,
    pub terms: Vec<TermInfo>,
    pub has_intercept: bool,
    /// Rows of the frame used (0-based).
    pub rows: Vec<usize>,
    /// Rows dropped for a missing value in a model variable.
    pub dropped: usize,
}

impl Design {
    pub fn ncols(&self) -> usize {
        self.column_names.len()
    }
    pub fn col(&self, j: usize) -> &[f64] {
        &self.x[j * self.nobs..(j + 1) * self.nobs]
    }
}

/// Patsy's subterm: a set of (factor, includes_intercept) pairs.
type Subterm = Vec<(usize, bool)>;

fn subsets_sorted(cats: &[usize]) -> Vec<Vec<usize>> {
    let k = cats.len();
    let mut subs: Vec<Vec<usize>> = (0..(1u32 << k))
        .map(|m| (0..k).filter(|i| m & (1 << i) != 0).collect())
        .collect();
    // Short before long; ties by position in the term (lexicographic).
    subs.sort();
    subs.sort_by_key(Vec::len);
    subs.into_iter()
        .map(|s| s.into_iter().map(|i| cats[i]).collect())
        .collect()
}

fn set_eq(a: &Subterm, b: &Subterm) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

fn simplify(subs: &mut Vec<Subterm>) {
    'outer: loop {
        for s in 0..subs.len() {
            for l in s + 1..subs.len() {
                let (short, long) = (&subs[s], &subs[l]);
                if long.len() == short.len() + 1 && short.iter().all(|x| long.contains(x)) {
                    let diff: Vec<(usize, bool)> = long
                        .iter()
                        .filter(|x| !short.contains(x))
                        .copied()
                        .collect();
                    let mut new = short.clone();
                    new.push((diff[0].0, true));
                    subs[l] = new;
                    subs.remove(s);
                    continue 'outer;
                }
            }
        }
        return;
    }
}

impl ModelSpec {
    /// Binds a formula to a frame: checks columns, learns categorical levels
    /// from the rows complete in every model variable (sorted; `reference`
    /// moves a level first) and works out patsy's column layout.
    pub fn new(
        formula: &Formula,
        frame: &Frame,
        reference: &BTreeMap<String, String>,
    ) -> Result<Self, StatsError> {
        let vars = formula.variables();
        let mut cols = Vec::new();
        for v in &vars {
            cols.push(
                frame.column(v).ok_or_else(|| {
                    StatsError::UnknownColumn(v.clone(), frame.names().join(", "))
                })?,
            );
        }
        if let Some(Column::Text(_)) = frame.column(&formula.response.var) {
            return Err(StatsError::NotNumeric {
                column: formula.response.var.clone(),
                context: "the response".into(),
            });
        }
        for name in reference.keys() {
            if !formula.factors.iter().any(|f| &f.var == name) {
                return Err(StatsError::Invalid(format!(
                    "--reference names `{name}`, which is not a variable of the model"
                )));
            }
        }
        let n = frame.nrows();
        let complete: Vec<usize> = (0..n)
            .filter(|&i| cols.iter().all(|c| !c.is_missing(i)))
            .collect();
        let mut levels = Vec::new();
        for f in &formula.factors {
            match frame.column(&f.var) {
                Some(Column::Text(v)) => {
                    if !matches!(f.transform, Transform::Id | Transform::Cat) {
                        return Err(StatsError::NotNumeric {
                            column: f.var.clone(),
                            context: format!("the transform `{}`", f.name),
                        });
                    }
                    let mut lv = distinct_sorted(complete.iter().map(|&i| v[i].as_str()));
                    if let Some(r) = reference.get(&f.var) {
                        let Some(pos) = lv.iter().position(|l| l == r) else {
                            return Err(StatsError::UnknownLevel {
                                column: f.var.clone(),
                                level: r.clone(),
                                levels: lv.join(", "),
                            });
                        };
                        let l = lv.remove(pos);
                        lv.insert(0, l);
                    }
                    levels.push(Some(lv));
                }
                Some(Column::Num(v)) if f.transform == Transform::Cat => {
                    let mut vals: Vec<f64> = complete.iter().map(|&i| v[i]).collect();
                    vals.sort_by(f64::total_cmp);
                    vals.dedup();
                    let mut lv: Vec<String> = vals.iter().map(|x| num_level(*x)).collect();
                    if let Some(r) = reference.get(&f.var) {
                        let Some(pos) = lv.iter().position(|l| l == r) else {
                            return Err(StatsError::UnknownLevel {
                                column: f.var.clone(),
                                level: r.clone(),
                                levels: lv.join(", "),
                            });
                        };
                        let l = lv.remove(pos);
                        lv.insert(0, l);
                    }
                    levels.push(Some(lv));
                }
                _ => levels.push(None),
            }
        }
        Self::with_levels(formula, levels)
    }

    fn with_levels(
        formula: &Formula,
        levels: Vec<Option<Vec<String>>>,
    ) -> Result<Self, StatsError> {
        let is_num = |f: usize| levels[f].is_none();
        // All terms, the intercept (empty term) first.
        let mut all: Vec<Vec<usize>> = Vec::new();
        if formula.intercept {
            all.push(Vec::new());
        }
        all.extend(formula.terms.iter().cloned());
        // Buckets by the set of numeric factors.
        let mut buckets: Vec<(Vec<usize>, Vec<Vec<usize>>)> = Vec::new();
        for t in all {
            let mut nums: Vec<usize> = t.iter().copied().filter(|&f| is_num(f)).collect();
            nums.sort_unstable();
            match buckets.iter_mut().find(|b| b.0 == nums) {
                Some(b) => b.1.push(t),
                None => buckets.push((nums, vec![t])),
            }
        }
        if let Some(pos) = buckets.iter().position(|b| b.0.is_empty()) {
            let b = buckets.remove(pos);
            buckets.insert(0, b);
        }
        let mut terms = Vec::new();
        let mut column_names = Vec::new();
        let mut term_info = Vec::new();
        for (_, mut bterms) in buckets {
            bterms.sort_by_key(Vec::len);
            let mut used: Vec<Subterm> = Vec::new();
            for t in bterms {
                let cats: Vec<usize> = t.iter().copied().filter(|&f| !is_num(f)).collect();
                let mut subs: Vec<Subterm> = Vec::new();
                for s in subsets_sorted(&cats) {
                    let st: Subterm = s.into_iter().map(|f| (f, false)).collect();
                    if !used.iter().any(|u| set_eq(u, &st)) {
                        subs.push(st);
                    }
                }
                used.extend(subs.iter().cloned());
                simplify(&mut subs);
                let start = column_names.len();
                let mut blocks = Vec::new();
                for st in subs {
                    let codings: Vec<(usize, Coding)> = t
                        .iter()
                        .map(|&f| {
                            if is_num(f) {
                                (f, Coding::Numeric)
                            } else {
                                let full = st.iter().find(|x| x.0 == f).is_some_and(|x| x.1);
                                (f, Coding::Cat { full })
                            }
                        })
                        .filter(|(f, c)| {
                            matches!(c, Coding::Numeric) || st.iter().any(|x| x.0 == *f)
                        })
                        .collect();
                    // Column names: left-most factor varies fastest.
                    let opts: Vec<Vec<String>> = codings
                        .iter()
                        .map(|(f, c)| {
                            let fac = &formula.factors[*f];
                            match (c, &levels[*f]) {
                                (Coding::Cat { full: true }, Some(lv)) => {
                                    lv.iter().map(|l| format!("{}[{l}]", fac.name)).collect()
                                }
                                (Coding::Cat { full: false }, Some(lv)) => lv
                                    .iter()
                                    .skip(1)
                                    .map(|l| format!("{}[T.{l}]", fac.name))
                                    .collect(),
                                _ => vec![fac.name.clone()],
                            }
                        })
                        .collect();
                    for combo in combos(&opts.iter().map(Vec::len).collect::<Vec<_>>()) {
                        let parts: Vec<&str> = combo
                            .iter()
                            .enumerate()
                            .map(|(k, &i)| opts[k][i].as_str())
                            .collect();
                        column_names.push(if parts.is_empty() {
                            "Intercept".to_string()
                        } else {
                            parts.join(":")
                        });
                    }
                    blocks.push(Block { codings });
                }
                let name = if t.is_empty() {
                    "Intercept".to_string()
                } else {
                    t.iter()
                        .map(|&f| formula.factors[f].name.as_str())
                        .collect::<Vec<_>>()
                        .join(":")
                };
                term_info.push(TermInfo {
                    name,
                    columns: start..column_names.len(),
                });
                terms.push((t, blocks));
            }
        }
        Ok(ModelSpec {
            formula: formula.clone(),
            levels,
            terms,
            column_names,
            term_info,
        })
    }

    /// Levels of a categorical variable of the model (reference first).
    pub fn levels_of(&self, var: &str) -> Option<Vec<String>> {
        self.formula
            .factors
            .iter()
            .zip(&self.levels)
            .find(|(f, l)| f.var == var && l.is_some())
            .and_then(|(_, l)| l.clone())
    }

    /// Builds the design for `frame`: drops rows with a missing value in any
    /// model variable (or a non-finite transform), codes the rest.
    pub fn design(&self, frame: &Frame) -> Result<Design, StatsError> {
        let f = &self.formula;
        let vars = f.variables();
        let mut cols = Vec::new();
        for v in &vars {
            cols.push(
                frame.column(v).ok_or_else(|| {
                    StatsError::UnknownColumn(v.clone(), frame.names().join(", "))
                })?,
            );
        }
        let n = frame.nrows();
        // Evaluate factors: numeric values or level codes (usize::MAX = NA).
        let mut num: Vec<Option<Vec<f64>>> = Vec::new();
        let mut cat: Vec<Option<Vec<usize>>> = Vec::new();
        for (k, fac) in f.factors.iter().enumerate() {
            match (frame.column(&fac.var), &self.levels[k]) {
                (Some(Column::Num(v)), None) => {
                    num.push(Some(v.iter().map(|&x| fac.transform.apply(x)).collect()));
                    cat.push(None);
                }
                (Some(Column::Text(v)), Some(lv)) => {
                    num.push(None);
                    cat.push(Some(
                        v.iter()
                            .map(|s| lv.iter().position(|l| l == s).unwrap_or(usize::MAX))
                            .collect(),
                    ));
                }
                (Some(Column::Num(v)), Some(lv)) => {
                    num.push(None);
                    cat.push(Some(
                        v.iter()
                            .map(|x| {
                                if x.is_nan() {
                                    usize::MAX
                                } else {
                                    let s = num_level(*x);
                                    lv.iter().position(|l| *l == s).unwrap_or(usize::MAX)
                                }
                            })
                            .collect(),
                    ));
                }
                _ => {
                    return Err(StatsError::Invalid(format!(
                        "column `{}` changed type since the model was compiled",
                        fac.var
                    )))
                }
            }
        }
        let yv: Vec<f64> = match frame.column(&f.response.var) {
            Some(Column::Num(v)) => v.iter().map(|&x| f.response.transform.apply(x)).collect(),
            _ => {
                return Err(StatsError::NotNumeric {
                    column: f.response.var.clone(),
                    context: "the response".into(),
                })
            }
        };
        let rows: Vec<usize> = (0..n)
            .filter(|&i| {
                yv[i].is_finite()
                    && cols.iter().all(|c| !c.is_missing(i))
                    && num.iter().flatten().all(|v| v[i].is_finite())
                    && cat.iter().flatten().all(|v| v[i] != usize::MAX)
            })
            .collect();
        let m = rows.len();
        let p = self.column_names.len();
        let mut x = Vec::with_capacity(m * p);
        for (_, blocks) in &self.terms {
            for b in blocks {
                let sizes: Vec<usize> = b
                    .codings
                    .iter()
                    .map(|(fi, c)| match (c, &self.levels[*fi]) {
                        (Coding::Cat { full: true }, Some(lv)) => lv.len(),
                        (Coding::Cat { full: false }, Some(lv)) => lv.len().saturating_sub(1),
                        _ => 1,
                    })
                    .collect();
                for combo in combos(&sizes) {
                    // Columns in order, rows in order: appended.
                    for &i in &rows {
                        let mut v = 1.0;
                        for (k, (fi, c)) in b.codings.iter().enumerate() {
                            match c {
                                Coding::Numeric => {
                                    if let Some(col) = &num[*fi] {
                                        v *= col[i];
                                    }
                                }
                                Coding::Cat { full } => {
                                    let code = cat[*fi].as_ref().map_or(usize::MAX, |c| c[i]);
                                    let want = if *full { combo[k] } else { combo[k] + 1 };
                                    if code != want {
                                        v = 0.0;
                                    }
                                }
                            }
                        }
                        x.push(v);
                    }
                }
            }
        }
        if x.len() != m * p {
            return Err(StatsError::Invalid(format!(
                "the design has {} values for {m} rows and {p} columns",
                x.len()
            )));
        }
        Ok(Design {
            response: f.response.name.clone(),
            y: rows.iter().map(|&i| yv[i]).collect(),
            x,
            nobs: m,
            column_names: self.column_names.clone(),
            terms: self.term_info.clone(),
            has_intercept: f.intercept,
            rows,
            dropped: n - m,
        })
    }
}

/// The distinct labels, sorted: a linear scan while there are few (the
/// usual factor: arm, sex, site), a hash set beyond 32.
fn distinct_sorted<'a>(labels: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut few: Vec<&str> = Vec::new();
    let mut many: Option<std::collections::HashSet<&str>> = None;
    for s in labels {
        match &mut many {
            Some(h) => {
                h.insert(s);
            }
            None => {
                if !few.contains(&s) {
                    few.push(s);
                    if few.len() > 32 {
                        many = Some(few.drain(..).collect());
                    }
                }
            }
        }
    }
    let mut out: Vec<&str> = match many {
        Some(h) => h.into_iter().collect(),
        None => few,
    };
    out.sort_unstable();
    out.into_iter().map(str::to_string).collect()
}

/// The label of a numeric level of `C(x)` (`1`, `0.5`).
fn num_level(x: f64) -> String {
    format!("{x}")
}

/// All index combinations with the left-most index varying fastest.
fn combos(sizes: &[usize]) -> Vec<Vec<usize>> {
    let total: usize = sizes.iter().product();
    let mut out = Vec::with_capacity(total);
    for mut t in 0..total {
        let mut c = Vec::with_capacity(sizes.len());
        for &s in sizes {
            c.push(t % s);
            t /= s;
        }
        out.push(c);
    }
    out
}

/// Parses, binds and builds in one call.
pub fn design(
    formula: &str,
    frame: &Frame,
    reference: &BTreeMap<String, String>,
) -> Result<Design, StatsError> {
    let f = Formula::parse(formula)?;
    ModelSpec::new(&f, frame, reference)?.design(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Frame {
        let mut f = Frame::new();
        let arm = ["control", "hiit", "zz", "hiit", "control", "zz"];
        let sex = ["male", "female", "female", "male", "male", "female"];
        f.push(
            "arm",
            Column::Text(arm.iter().map(|s| s.to_string()).collect()),
        )
        .unwrap();
        f.push(
            "sex",
            Column::Text(sex.iter().map(|s| s.to_string()).collect()),
        )
        .unwrap();
        for v in ["x", "z", "y"] {
            f.push(v, Column::Num(vec![1.0, 2.0, 3.0, 4.0, 5.0, 7.0]))
                .unwrap();
        }
        f
    }

    fn names(formula: &str) -> Vec<String> {
        design(formula, &frame(), &BTreeMap::new())
            .unwrap()
            .column_names
    }

    // Expected names printed by patsy 1.0.3 via statsmodels
    // (tools/stats/make_fixtures.py documents the same conventions).
    #[test]
    fn patsy_column_order_and_names() {
        assert_eq!(
            names("y ~ arm*x + z + sex"),
            [
                "Intercept",
                "arm[T.hiit]",
                "arm[T.zz]",
                "sex[T.male]",
                "x",
                "arm[T.hiit]:x",
                "arm[T.zz]:x",
                "z"
            ]
        );
        assert_eq!(
            names("y ~ x:arm"),
            ["Intercept", "x:arm[control]", "x:arm[hiit]", "x:arm[zz]"]
        );
        assert_eq!(names("y~0+arm"), ["arm[control]", "arm[hiit]", "arm[zz]"]);
        assert_eq!(
            names("y ~ arm:sex"),
            [
                "Intercept",
                "sex[T.male]",
                "arm[T.hiit]:sex[female]",
                "arm[T.zz]:sex[female]",
                "arm[T.hiit]:sex[male]",
                "arm[T.zz]:sex[male]"
            ]
        );
        assert_eq!(
            names("y ~ x*z*arm - 1"),
            [
                "arm[control]",
                "arm[hiit]",
                "arm[zz]",
                "x",
                "x:arm[T.hiit]",
                "x:arm[T.zz]",
                "z",
                "z:arm[T.hiit]",
                "z:arm[T.zz]",
                "x:z",
                "x:z:arm[T.hiit]",
                "x:z:arm[T.zz]"
            ]
        );
        assert_eq!(
            names("y ~ log(x) + np.exp(z)"),
            ["Intercept", "log(x)", "np.exp(z)"]
        );
    }

    #[test]
    fn reference_override_and_errors() {
        let mut r = BTreeMap::new();
        r.insert("arm".to_string(), "zz".to_string());
        let d = design("y ~ arm", &frame(), &r).unwrap();
        assert_eq!(
            d.column_names,
            ["Intercept", "arm[T.control]", "arm[T.hiit]"]
        );
        r.insert("arm".to_string(), "nope".to_string());
        assert!(matches!(
            design("y ~ arm", &frame(), &r),
            Err(StatsError::UnknownLevel { .. })
        ));
        assert!(matches!(
            design("y ~ w", &frame(), &BTreeMap::new()),
            Err(StatsError::UnknownColumn(..))
        ));
        for bad in [
            "y ~ ",
            "~ x",
            "y ~ x +",
            "y ~ foo(x)",
            "y ~ 2",
            "y ~ (x",
            "y ~ x $",
        ] {
            assert!(Formula::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn codes_treatment_contrasts() {
        let d = design("y ~ arm", &frame(), &BTreeMap::new()).unwrap();
        assert_eq!(d.col(0), [1.0; 6]);
        assert_eq!(d.col(1), [0.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
        assert_eq!(d.col(2), [0.0, 0.0, 1.0, 0.0, 0.0, 1.0]);
    }
}
