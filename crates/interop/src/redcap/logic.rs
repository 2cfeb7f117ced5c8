//! REDCap branching logic and calculations into the rule language.
//!
//! REDCap: `[age] >= 18 and ([sex] = '1' or [preg(2)] = "1")`, `<>`, `=`,
//! `sum(...)`, `datediff([d1],[d2],"d")`, `abs/min/max`, `if()`, `round()`,
//! ... The rule language (docs/rules.md) has `== != < <= > >=`, `and or not`,
//! arithmetic, `min/max/abs`, `days_between`, `known`. A construct without an
//! equivalent makes the whole expression untranslatable, with the reason;
//! a construct translated with a slightly different meaning is returned as an
//! approximation note.

use std::collections::BTreeMap;

use super::{Var, VarKind};

/// What the translator needs: every variable, and the form being written
/// (fields on the same form are named bare, others as `form.field`).
pub struct Context<'a> {
    /// Variables by name.
    pub vars: &'a BTreeMap<String, Var>,
    /// The current form.
    pub form: &'a str,
}

/// A translated expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    /// Rule text (parses with `rct_core::rules::parse`).
    pub rule: String,
    /// Where the meaning differs slightly from REDCap's.
    pub approximations: Vec<String>,
}

/// The protocol field holding option `code` of checkbox `var` (REDCap's own
/// export name: `var___code`, with `-` in negative codes as `_`).
pub fn checkbox_var(var: &str, code: &str) -> String {
    let c: String = code
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{var}___{c}")
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Field(String, Option<String>),
    Num(String),
    Str(String),
    Ident(String),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
}

fn lex(src: &str) -> Result<Vec<Tok>, String> {
    let cs: Vec<char> = src.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        match c {
            '[' => {
                let start = i + 1;
                let end = cs[start..]
                    .iter()
                    .position(|&c| c == ']')
                    .map(|p| start + p)
                    .ok_or_else(|| format!("unclosed `[` at column {}", i + 1))?;
                let inner: String = cs[start..end].iter().collect();
                i = end + 1;
                // `[event][field]`: longitudinal reference.
                if cs.get(i) == Some(&'[') {
                    return Err(format!(
                        "`[{inner}][...]` names a REDCap event (longitudinal project); protocol rules refer to one visit's form"
                    ));
                }
                let (name, code) = match inner.split_once('(') {
                    Some((n, rest)) => {
                        let code = rest
                            .strip_suffix(')')
                            .ok_or_else(|| format!("`[{inner}]`: expected `[field(code)]`"))?;
                        (n.trim().to_string(), Some(code.trim().to_string()))
                    }
                    None => (inner.trim().to_string(), None),
                };
                if let Some(c) = &code {
                    if c.contains(')') || c.contains('(') {
                        return Err(format!("`[{inner}]`: nested parentheses in a field reference are not supported"));
                    }
                }
                out.push(Tok::Field(name, code));
            }
            '\'' | '"' => {
                let q = c;
                let start = i + 1;
                let end = cs[start..]
                    .iter()
                    .position(|&c| c == q)
                    .map(|p| start + p)
                    .ok_or_else(|| format!("unclosed string at column {}", i + 1))?;
                out.push(Tok::Str(cs[start..end].iter().collect()));
                i = end + 1;
            }
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '<' | '>' | '!' | '=' => {
                let two: String = cs[i..(i + 2).min(cs.len())].iter().collect();
                let op = match two.as_str() {
                    "<>" => Some("<>"),
                    "<=" => Some("<="),
                    ">=" => Some(">="),
                    "!=" => Some("!="),
                    "==" => Some("=="),
                    _ => None,
                };
                if let Some(op) = op {
                    out.push(Tok::Op(op));
                    i += 2;
                } else {
                    out.push(Tok::Op(match c {
                        '<' => "<",
                        '>' => ">",
                        '=' => "=",
                        _ => return Err(format!("unexpected `!` at column {}", i + 1)),
                    }));
                    i += 1;
                }
            }
            '+' | '-' | '*' | '/' | '^' => {
                out.push(Tok::Op(match c {
                    '+' => "+",
                    '-' => "-",
                    '*' => "*",
                    '/' => "/",
                    _ => "^",
                }));
                i += 1;
            }
            '&' | '|' => {
                let two: String = cs[i..(i + 2).min(cs.len())].iter().collect();
                match two.as_str() {
                    "&&" => out.push(Tok::Ident("and".into())),
                    "||" => out.push(Tok::Ident("or".into())),
                    _ => return Err(format!("unexpected `{c}` at column {}", i + 1)),
                }
                i += 2;
            }
            c if c.is_ascii_digit() || c == '.' => {
                let start = i;
                while i < cs.len() && (cs[i].is_ascii_digit() || cs[i] == '.') {
                    i += 1;
                }
                out.push(Tok::Num(cs[start..i].iter().collect()));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < cs.len() && (cs[i].is_alphanumeric() || cs[i] == '_' || cs[i] == '-') {
                    i += 1;
                }
                out.push(Tok::Ident(
                    cs[start..i].iter().collect::<String>().to_lowercase(),
                ));
            }
            c => return Err(format!("unexpected `{c}` at column {}", i + 1)),
        }
    }
    Ok(out)
}

/// The type an operand has, for literal conversion in comparisons.
#[derive(Debug, Clone, PartialEq)]
enum Ty {
    Number,
    Date,
    Text,
    Bool,
    Choice,
    NumLit(String),
    StrLit(String),
    Logic,
}

/// Precedence of the emitted text (higher binds tighter).
const P_OR: u8 = 1;
const P_AND: u8 = 2;
const P_NOT: u8 = 3;
const P_CMP: u8 = 4;
const P_ADD: u8 = 5;
const P_MUL: u8 = 6;
const P_UNARY: u8 = 7;
const P_ATOM: u8 = 8;

#[derive(Debug, Clone)]
struct Out {
    text: String,
    prec: u8,
    ty: Ty,
}

impl Out {
    fn at(&self, min: u8) -> String {
        if self.prec < min {
            format!("({})", self.text)
        } else {
            self.text.clone()
        }
    }
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    ctx: &'a Context<'a>,
    approx: Vec<String>,
    /// Current nesting (parentheses, arguments, `not`, unary minus).
    depth: usize,
}

/// Deepest nesting translated: the parser recurses, and a cell of
/// thousands of `(` would otherwise overflow the stack.
const MAX_DEPTH: usize = 100;

/// Translates a REDCap expression; on failure, says why.
pub fn translate(src: &str, ctx: &Context<'_>) -> Result<Translation, String> {
    let toks = lex(src)?;
    if toks.is_empty() {
        return Err("empty expression".into());
    }
    let mut p = Parser {
        toks,
        pos: 0,
        ctx,
        approx: Vec::new(),
        depth: 0,
    };
    let out = p.or()?;
    if p.pos != p.toks.len() {
        return Err(format!(
            "unexpected {} after a complete expression",
            describe(&p.toks[p.pos])
        ));
    }
    let rule = out.text;
    rct_core::rules::parse(&rule)
        .map_err(|e| format!("translated to `{rule}`, which does not parse: {e}"))?;
    Ok(Translation {
        rule,
        approximations: p.approx,
    })
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Field(n, None) => format!("`[{n}]`"),
        Tok::Field(n, Some(c)) => format!("`[{n}({c})]`"),
        Tok::Num(n) => format!("number `{n}`"),
        Tok::Str(s) => format!("string '{s}'"),
        Tok::Ident(s) => format!("`{s}`"),
        Tok::Op(o) => format!("`{o}`"),
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::Comma => "`,`".into(),
    }
}

fn rule_string(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        if c == '"' || c == '\\' {
            o.push('\\');
        }
        o.push(c);
    }
    o.push('"');
    o
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn eat_ident(&mut self, w: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Ident(s)) if s == w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, t: Tok) -> Result<(), String> {
        match self.next() {
            Some(x) if x == t => Ok(()),
            Some(x) => Err(format!("expected {}, found {}", describe(&t), describe(&x))),
            None => Err(format!("expected {} at the end", describe(&t))),
        }
    }

    /// Arithmetic on a choice field: REDCap computes with the codes; the
    /// protocol holds codes as text.
    fn note_choice_arith(&mut self, o: &Out) {
        if o.ty == Ty::Choice {
            let msg = format!("arithmetic on choice field `{}`: REDCap computes with its numeric codes; the protocol stores codes as text, so give the field a number type if the calculation is kept", o.text);
            if !self.approx.contains(&msg) {
                self.approx.push(msg);
            }
        }
    }

    /// Runs `f` one level deeper, refusing more than [`MAX_DEPTH`] levels.
    fn nested(&mut self, f: fn(&mut Self) -> Result<Out, String>) -> Result<Out, String> {
        if self.depth >= MAX_DEPTH {
            return Err(format!(
                "nested more than {MAX_DEPTH} levels deep; simplify the expression"
            ));
        }
        self.depth += 1;
        let out = f(self);
        self.depth -= 1;
        out
    }

    fn or(&mut self) -> Result<Out, String> {
        self.nested(Self::or_level)
    }

    fn or_level(&mut self) -> Result<Out, String> {
        let mut l = self.and()?;
        while self.eat_ident("or") {
            let r = self.and()?;
            l = Out {
                text: format!("{} or {}", l.at(P_OR), r.at(P_OR)),
                prec: P_OR,
                ty: Ty::Logic,
            };
        }
        Ok(l)
    }

    fn and(&mut self) -> Result<Out, String> {
        let mut l = self.not()?;
        while self.eat_ident("and") {
            let r = self.not()?;
            l = Out {
                text: format!("{} and {}", l.at(P_AND), r.at(P_AND)),
                prec: P_AND,
                ty: Ty::Logic,
            };
        }
        Ok(l)
    }

    fn not(&mut self) -> Result<Out, String> {
        if self.eat_ident("not") {
            let e = self.nested(Self::not)?;
            return Ok(Out {
                text: format!("not {}", e.at(P_NOT)),
                prec: P_NOT,
                ty: Ty::Logic,
            });
        }
        self.cmp()
    }

    fn cmp(&mut self) -> Result<Out, String> {
        let l = self.add()?;
        let op = match self.peek() {
            Some(Tok::Op(o))
                if matches!(*o, "=" | "==" | "<>" | "!=" | "<" | "<=" | ">" | ">=") =>
            {
                *o
            }
            _ => return Ok(l),
        };
        self.pos += 1;
        let r = self.add()?;
        self.comparison(l, op, r)
    }

    /// A comparison, with REDCap's loose typing made explicit: `''` means
    /// blank, `'1'`/`1` against a yes/no is `true`, numbers in quotes against
    /// numeric fields are numbers, numbers against choices are codes.
    fn comparison(&mut self, l: Out, op: &str, r: Out) -> Result<Out, String> {
        let rop = match op {
            "=" | "==" => "==",
            "<>" | "!=" => "!=",
            o => o,
        };
        // Blank tests.
        let blank = |o: &Out| matches!(&o.ty, Ty::StrLit(s) if s.is_empty());
        if blank(&r) || blank(&l) {
            let side = if blank(&r) { &l } else { &r };
            let known = format!("known({})", side.text);
            return match rop {
                "==" => Ok(Out {
                    text: format!("not {known}"),
                    prec: P_NOT,
                    ty: Ty::Logic,
                }),
                "!=" => Ok(Out {
                    text: known,
                    prec: P_ATOM,
                    ty: Ty::Logic,
                }),
                _ => Err(format!(
                    "`{op} ''` compares with blank using an order; only `=` and `<>` make sense"
                )),
            };
        }
        let conv = |this: &mut Self, lit: &Out, other: &Ty| -> Result<Out, String> {
            let (raw, is_str) = match &lit.ty {
                Ty::NumLit(n) => (n.clone(), false),
                Ty::StrLit(s) => (s.clone(), true),
                _ => return Ok(lit.clone()),
            };
            let text = match other {
                Ty::Bool => match raw.as_str() {
                    "1" => "true".to_string(),
                    "0" => "false".to_string(),
                    _ => {
                        return Err(format!(
                            "a yes/no field compared with `{raw}`; REDCap stores 1 or 0"
                        ))
                    }
                },
                Ty::Number => {
                    if raw.parse::<f64>().is_err() {
                        return Err(format!("a numeric field compared with text '{raw}'"));
                    }
                    raw
                }
                Ty::Choice | Ty::Text => rule_string(&raw),
                Ty::Date => {
                    if chrono::NaiveDate::parse_from_str(&raw, "%Y-%m-%d").is_ok() {
                        raw
                    } else {
                        return Err(format!(
                            "a date compared with '{raw}', which is not a YYYY-MM-DD date"
                        ));
                    }
                }
                _ => {
                    if is_str {
                        if raw.parse::<f64>().is_ok() {
                            this.approx
                                .push(format!("'{raw}' compared as the number {raw}"));
                            raw
                        } else {
                            rule_string(&raw)
                        }
                    } else {
                        raw
                    }
                }
            };
            Ok(Out {
                text,
                prec: P_ATOM,
                ty: other.clone(),
            })
        };
        let lt = l.ty.clone();
        let rt = r.ty.clone();
        let l2 = if matches!(lt, Ty::NumLit(_) | Ty::StrLit(_)) {
            conv(self, &l, &rt)?
        } else {
            l
        };
        let r2 = if matches!(rt, Ty::NumLit(_) | Ty::StrLit(_)) {
            conv(self, &r, &lt)?
        } else {
            r
        };
        if (matches!(lt, Ty::Choice | Ty::Bool) || matches!(rt, Ty::Choice | Ty::Bool))
            && !matches!(rop, "==" | "!=")
        {
            return Err(format!(
                "`{op}` orders choice codes; the rule language compares codes only with == and !="
            ));
        }
        Ok(Out {
            text: format!("{} {rop} {}", l2.at(P_ADD), r2.at(P_ADD)),
            prec: P_CMP,
            ty: Ty::Logic,
        })
    }

    fn add(&mut self) -> Result<Out, String> {
        let mut l = self.mul()?;
        while let Some(Tok::Op(o @ ("+" | "-"))) = self.peek() {
            let o = *o;
            self.pos += 1;
            let r = self.mul()?;
            self.note_choice_arith(&l);
            self.note_choice_arith(&r);
            l = Out {
                text: format!("{} {o} {}", l.at(P_ADD), r.at(P_MUL)),
                prec: P_ADD,
                ty: Ty::Number,
            };
        }
        Ok(l)
    }

    fn mul(&mut self) -> Result<Out, String> {
        let mut l = self.unary()?;
        loop {
            match self.peek() {
                Some(Tok::Op(o @ ("*" | "/"))) => {
                    let o = *o;
                    self.pos += 1;
                    let r = self.unary()?;
                    self.note_choice_arith(&l);
                    self.note_choice_arith(&r);
                    l = Out {
                        text: format!("{} {o} {}", l.at(P_MUL), r.at(P_UNARY)),
                        prec: P_MUL,
                        ty: Ty::Number,
                    };
                }
                Some(Tok::Op("^")) => {
                    return Err("`^` (power) has no equivalent in the rule language".into())
                }
                _ => return Ok(l),
            }
        }
    }

    fn unary(&mut self) -> Result<Out, String> {
        if matches!(self.peek(), Some(Tok::Op("-"))) {
            self.pos += 1;
            let e = self.nested(Self::unary)?;
            let ty = match &e.ty {
                Ty::NumLit(n) => Ty::NumLit(format!("-{n}")),
                _ => Ty::Number,
            };
            return Ok(Out {
                text: format!("-{}", e.at(P_UNARY)),
                prec: P_UNARY,
                ty,
            });
        }
        self.primary()
    }

    fn field(&mut self, name: &str, code: Option<&str>) -> Result<Out, String> {
        let var = self
            .ctx
            .vars
            .get(name)
            .ok_or_else(|| format!("`[{name}]` names no variable of the dictionary (smart variables and other projects' fields are not translated)"))?;
        let qualify = |id: &str| {
            if var.form == self.ctx.form {
                id.to_string()
            } else {
                format!("{}.{id}", var.form)
            }
        };
        match (&var.kind, code) {
            (VarKind::Checkbox(codes), Some(c)) => {
                if !codes.iter().any(|k| k == c) {
                    return Err(format!(
                        "`[{name}({c})]`: checkbox `{name}` has no option `{c}`"
                    ));
                }
                Ok(Out {
                    text: qualify(&checkbox_var(name, c)),
                    prec: P_ATOM,
                    ty: Ty::Bool,
                })
            }
            (VarKind::Checkbox(_), None) => Err(format!(
                "`[{name}]` is a checkbox; REDCap logic names one option as `[{name}(code)]`"
            )),
            (_, Some(c)) => Err(format!(
                "`[{name}({c})]`: only checkboxes take an option code"
            )),
            (VarKind::None, None) => Err(format!("`[{name}]` is descriptive text, not a value")),
            (k, None) => Ok(Out {
                text: qualify(name),
                prec: P_ATOM,
                ty: match k {
                    VarKind::Number => Ty::Number,
                    VarKind::Date => Ty::Date,
                    VarKind::Boolean => Ty::Bool,
                    VarKind::Choice(_) => Ty::Choice,
                    _ => Ty::Text,
                },
            }),
        }
    }

    fn args(&mut self) -> Result<Vec<Out>, String> {
        self.expect(Tok::LParen)?;
        let mut v = Vec::new();
        if matches!(self.peek(), Some(Tok::RParen)) {
            self.pos += 1;
            return Ok(v);
        }
        loop {
            v.push(self.or()?);
            match self.next() {
                Some(Tok::Comma) => continue,
                Some(Tok::RParen) => return Ok(v),
                Some(t) => {
                    return Err(format!(
                        "expected `,` or `)` in arguments, found {}",
                        describe(&t)
                    ))
                }
                None => return Err("unclosed argument list".into()),
            }
        }
    }

    fn primary(&mut self) -> Result<Out, String> {
        match self.next() {
            Some(Tok::Field(n, c)) => self.field(&n, c.as_deref()),
            Some(Tok::Num(n)) => {
                if n.parse::<f64>().is_err() {
                    return Err(format!("`{n}` is not a number"));
                }
                Ok(Out {
                    text: n.clone(),
                    prec: P_ATOM,
                    ty: Ty::NumLit(n),
                })
            }
            Some(Tok::Str(s)) => Ok(Out {
                text: rule_string(&s),
                prec: P_ATOM,
                ty: Ty::StrLit(s),
            }),
            Some(Tok::LParen) => {
                let e = self.or()?;
                self.expect(Tok::RParen)?;
                Ok(Out {
                    text: e.text,
                    prec: e.prec,
                    ty: e.ty,
                })
            }
            Some(Tok::Ident(w)) => match w.as_str() {
                "true" | "false" => Ok(Out {
                    text: w,
                    prec: P_ATOM,
                    ty: Ty::Logic,
                }),
                "sum" => {
                    let a = self.args()?;
                    if a.is_empty() {
                        return Err("sum() without arguments".into());
                    }
                    self.approx.push("sum(): REDCap skips blank values; in the rule language a blank makes the sum unknown".into());
                    for x in &a {
                        self.note_choice_arith(x);
                    }
                    let parts: Vec<String> = a.iter().map(|x| x.at(P_MUL)).collect();
                    Ok(Out {
                        text: parts.join(" + "),
                        prec: if parts.len() > 1 { P_ADD } else { a[0].prec },
                        ty: Ty::Number,
                    })
                }
                "abs" | "min" | "max" => {
                    let a = self.args()?;
                    if a.is_empty() || (w == "abs" && a.len() != 1) {
                        return Err(format!("{w}() with {} arguments", a.len()));
                    }
                    if w != "abs" {
                        self.approx.push(format!("{w}(): REDCap skips blank values; in the rule language a blank makes the result unknown"));
                    }
                    let parts: Vec<String> = a.iter().map(|x| x.text.clone()).collect();
                    Ok(Out {
                        text: format!("{w}({})", parts.join(", ")),
                        prec: P_ATOM,
                        ty: Ty::Number,
                    })
                }
                "datediff" => {
                    let a = self.args()?;
                    if a.len() < 3 {
                        return Err("datediff() needs two dates and a unit".into());
                    }
                    for d in &a[..2] {
                        if matches!(&d.ty, Ty::StrLit(s) if s.eq_ignore_ascii_case("today") || s.eq_ignore_ascii_case("now"))
                            || d.text == "today"
                            || d.text == "now"
                        {
                            return Err("datediff() with 'today': rules are evaluated at a date the caller passes, never the clock; rewrite against a date field or screening_date".into());
                        }
                        if !matches!(d.ty, Ty::Date) {
                            return Err(format!("datediff() of `{}`, which is not a date field", d.text));
                        }
                    }
                    let unit = match &a[2].ty {
                        Ty::StrLit(s) => s.clone(),
                        _ => return Err("datediff() unit must be a quoted string".into()),
                    };
                    // datediff(a, b, unit[, format][, signed]); newer REDCap also
                    // accepts datediff(a, b, unit, signed).
                    let signed = a.get(4).is_some_and(|x| x.text == "true")
                        || (a.len() == 4 && a[3].text == "true");
                    let f = match unit.as_str() {
                        "d" => "days_between",
                        "y" | "M" | "w" | "h" | "m" | "s" => {
                            return Err(format!("datediff() in unit \"{unit}\": REDCap returns fractional units (days / 365.2425 for years, days / 30.44 for months); the rule language has whole days, calendar months and calendar years only"));
                        }
                        u => return Err(format!("datediff() unit \"{u}\" is not one of y, M, w, d, h, m, s")),
                    };
                    let call = format!("{f}({}, {})", a[0].text, a[1].text);
                    Ok(Out {
                        text: if signed { call } else { format!("abs({call})") },
                        prec: P_ATOM,
                        ty: Ty::Number,
                    })
                }
                "if" => Err("if(): the rule language has no conditional expression".into()),
                "round" | "roundup" | "rounddown" => Err(format!("{w}(): the rule language has no rounding")),
                "today" | "now" => Err(format!("`{w}`: rules never read the clock; use screening_date or a date field")),
                other => Err(format!("`{other}` has no equivalent in the rule language (translated: and, or, not, comparisons, + - * /, sum, min, max, abs, datediff in days)")),
            },
            Some(t) => Err(format!("unexpected {}", describe(&t))),
            None => Err("the expression ends too early".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, Var> {
        let mut m = BTreeMap::new();
        let mut add = |n: &str, form: &str, k: VarKind| {
            m.insert(
                n.to_string(),
                Var {
                    form: form.into(),
                    kind: k,
                },
            );
        };
        add("age", "demo", VarKind::Number);
        add("sex", "demo", VarKind::Choice(vec!["1".into(), "2".into()]));
        add(
            "preg",
            "demo",
            VarKind::Checkbox(vec!["1".into(), "2".into()]),
        );
        add("smoker", "demo", VarKind::Boolean);
        add("d1", "demo", VarKind::Date);
        add("d2", "visit", VarKind::Date);
        add("w", "visit", VarKind::Number);
        m
    }

    fn tr(s: &str) -> Result<String, String> {
        let v = vars();
        translate(
            s,
            &Context {
                vars: &v,
                form: "demo",
            },
        )
        .map(|t| t.rule)
    }

    #[test]
    fn translations() {
        // Reference: REDCap's "Branching logic" help page examples, and
        // docs/rules.md for the target syntax.
        assert_eq!(tr("[age] >= 18").unwrap(), "age >= 18");
        assert_eq!(tr("[sex] = '1'").unwrap(), "sex == \"1\"");
        assert_eq!(tr("[sex] = 2").unwrap(), "sex == \"2\"");
        assert_eq!(tr("[sex] <> \"1\"").unwrap(), "sex != \"1\"");
        assert_eq!(tr("[preg(2)] = '1'").unwrap(), "preg___2 == true");
        assert_eq!(tr("[smoker] = '0'").unwrap(), "smoker == false");
        assert_eq!(tr("[age] = ''").unwrap(), "not known(age)");
        assert_eq!(tr("[age] <> ''").unwrap(), "known(age)");
        assert_eq!(tr("[w] > '60'").unwrap(), "visit.w > 60");
        assert_eq!(
            tr("[age] >= 18 and ([sex] = '1' or [smoker] = '1')").unwrap(),
            "age >= 18 and (sex == \"1\" or smoker == true)"
        );
        assert_eq!(tr("sum([age], [w]) / 2").unwrap(), "(age + visit.w) / 2");
        assert_eq!(
            tr("datediff([d1], [d2], \"d\", \"ymd\")").unwrap(),
            "abs(days_between(d1, visit.d2))"
        );
        assert_eq!(
            tr("datediff([d1], [d2], \"d\", \"ymd\", true)").unwrap(),
            "days_between(d1, visit.d2)"
        );
        assert_eq!(
            tr("[w] / ([age] - 2) * 3").unwrap(),
            "visit.w / (age - 2) * 3"
        );
        assert_eq!(tr("-[age] + 1").unwrap(), "-age + 1");
    }

    #[test]
    fn refusals_say_why() {
        assert!(tr("if([age] > 18, 1, 0)")
            .unwrap_err()
            .contains("conditional"));
        assert!(tr("round([age], 1)").unwrap_err().contains("rounding"));
        assert!(tr("datediff([d1], 'today', 'y')")
            .unwrap_err()
            .contains("clock"));
        assert!(tr("datediff([d1], [d2], 'y')")
            .unwrap_err()
            .contains("fractional"));
        assert!(tr("[nope] = 1").unwrap_err().contains("no variable"));
        assert!(tr("[baseline_arm_1][age] > 1")
            .unwrap_err()
            .contains("event"));
        assert!(tr("[age] ^ 2").unwrap_err().contains("power"));
        assert!(tr("[preg] = 1").unwrap_err().contains("checkbox"));
        assert!(tr("[sex] > 1").unwrap_err().contains("orders"));
        assert!(tr("[age] > ").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_output_parses(s in "[\\[\\]a-z0-9 ()'\"=<>+*/,-]{0,40}") {
            let v = vars();
            if let Ok(t) = translate(&s, &Context { vars: &v, form: "demo" }) {
                proptest::prop_assert!(rct_core::rules::parse(&t.rule).is_ok());
            }
        }
    }
}
