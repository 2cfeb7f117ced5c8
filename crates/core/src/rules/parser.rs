//! A recursive-descent parser for rules.
//!
//! Grammar (lowest precedence first):
//! ```text
//! rule       = or EOF
//! or         = and ("or" and)*
//! and        = not ("and" not)*
//! not        = "not" not | comparison
//! comparison = additive [ ("=="|"!="|"<"|"<="|">"|">=") additive
//!                       | ["not"] "in" additive ]
//! additive   = mul (("+"|"-") mul)*
//! mul        = unary (("*"|"/") unary)*
//! unary      = "-" unary | primary
//! primary    = NUMBER [UNIT] | STRING | DATE | "true" | "false"
//!            | "[" [or ("," or)*] "]" | "(" or ")"
//!            | IDENT "(" [arg ("," arg)*] ")" | IDENT ("." IDENT)*
//! arg        = or ["of" or]
//! ```

use super::ast::{Attr, BinOp, Duration, Expr, ExprKind, Span, UnOp};
use super::builtins;
use super::lexer::{lex, Tok, Token};
use super::RuleError;

/// Parses a rule. Errors carry the 1-based column, what was expected and what was found.
pub fn parse(src: &str) -> Result<Expr, RuleError> {
    let tokens = lex(src)?;
    let mut p = Parser {
        src,
        tokens,
        pos: 0,
        depth: 0,
    };
    let e = p.or()?;
    let t = p.peek();
    if t.tok != Tok::Eof {
        let expected = match &e.kind {
            ExprKind::Binary { op, .. } if op.is_comparison() => {
                "'and', 'or' or the end of the rule (comparisons do not chain: write a < b and b < c)"
            }
            _ => "an operator, 'and', 'or' or the end of the rule",
        };
        return Err(p.error_at(&t.clone(), expected));
    }
    Ok(e)
}

/// Nesting deeper than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 100;

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        // the token list always ends with Eof and pos never passes it
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn peek_at(&self, k: usize) -> &Tok {
        &self.tokens[(self.pos + k).min(self.tokens.len() - 1)].tok
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        t
    }

    fn previous_text(&self) -> Option<String> {
        if self.pos == 0 {
            None
        } else {
            Some(self.tokens[self.pos - 1].tok.text())
        }
    }

    fn error_at(&self, t: &Token, expected: &str) -> RuleError {
        RuleError {
            column: t.span.column(self.src),
            offset: t.span.start,
            expected: expected.to_string(),
            found: t.tok.describe(),
        }
    }

    fn expect(&mut self, tok: Tok, expected: &str) -> Result<Token, RuleError> {
        let t = self.peek().clone();
        if t.tok == tok {
            Ok(self.bump())
        } else {
            Err(self.error_at(&t, expected))
        }
    }

    fn enter(&mut self) -> Result<(), RuleError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let t = self.peek().clone();
            return Err(self.error_at(&t, "a rule nested less than 100 levels deep"));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, RuleError> {
        self.enter()?;
        let mut lhs = self.and()?;
        while self.peek().tok == Tok::Or {
            self.bump();
            let rhs = self.and()?;
            lhs = binary(BinOp::Or, lhs, rhs);
        }
        self.depth -= 1;
        Ok(lhs)
    }

    fn and(&mut self) -> Result<Expr, RuleError> {
        let mut lhs = self.not()?;
        while self.peek().tok == Tok::And {
            self.bump();
            let rhs = self.not()?;
            lhs = binary(BinOp::And, lhs, rhs);
        }
        Ok(lhs)
    }

    fn not(&mut self) -> Result<Expr, RuleError> {
        if self.peek().tok == Tok::Not {
            let t = self.bump();
            self.enter()?;
            let e = self.not()?;
            self.depth -= 1;
            let span = t.span.to(e.span);
            return Ok(Expr::new(
                ExprKind::Unary {
                    op: UnOp::Not,
                    expr: Box::new(e),
                },
                span,
            ));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, RuleError> {
        let lhs = self.additive()?;
        let op = match self.peek().tok {
            Tok::EqEq => Some(BinOp::Eq),
            Tok::Ne => Some(BinOp::Ne),
            Tok::Lt => Some(BinOp::Lt),
            Tok::Le => Some(BinOp::Le),
            Tok::Gt => Some(BinOp::Gt),
            Tok::Ge => Some(BinOp::Ge),
            _ => None,
        };
        if let Some(op) = op {
            self.bump();
            let rhs = self.additive()?;
            return Ok(binary(op, lhs, rhs));
        }
        let negated = match (&self.peek().tok, self.peek_at(1)) {
            (Tok::In, _) => false,
            (Tok::Not, Tok::In) => {
                self.bump();
                true
            }
            _ => return Ok(lhs),
        };
        self.bump(); // 'in'
        let list = self.additive()?;
        let span = lhs.span.to(list.span);
        Ok(Expr::new(
            ExprKind::In {
                negated,
                item: Box::new(lhs),
                list: Box::new(list),
            },
            span,
        ))
    }

    fn additive(&mut self) -> Result<Expr, RuleError> {
        let mut lhs = self.mul()?;
        loop {
            let op = match self.peek().tok {
                Tok::Plus => BinOp::Add,
                Tok::Minus => BinOp::Sub,
                _ => return Ok(lhs),
            };
            self.bump();
            let rhs = self.mul()?;
            lhs = binary(op, lhs, rhs);
        }
    }

    fn mul(&mut self) -> Result<Expr, RuleError> {
        let mut lhs = self.unary()?;
        loop {
            let op = match self.peek().tok {
                Tok::Star => BinOp::Mul,
                Tok::Slash => BinOp::Div,
                _ => return Ok(lhs),
            };
            self.bump();
            let rhs = self.unary()?;
            lhs = binary(op, lhs, rhs);
        }
    }

    fn unary(&mut self) -> Result<Expr, RuleError> {
        if self.peek().tok == Tok::Minus {
            let t = self.bump();
            self.enter()?;
            let e = self.unary()?;
            self.depth -= 1;
            let span = t.span.to(e.span);
            return Ok(Expr::new(
                ExprKind::Unary {
                    op: UnOp::Neg,
                    expr: Box::new(e),
                },
                span,
            ));
        }
        self.primary()
    }

    fn operand_expected(&self) -> String {
        match self.previous_text() {
            Some(prev) => format!("a number, string, date, list or name after '{prev}'"),
            None => "a number, string, date, list or name".to_string(),
        }
    }

    fn primary(&mut self) -> Result<Expr, RuleError> {
        let t = self.peek().clone();
        match t.tok {
            Tok::Number(v) => {
                self.bump();
                if let Tok::Unit(unit) = self.peek().tok.clone() {
                    let ut = self.bump();
                    let span = t.span.to(ut.span);
                    return match duration(v, &unit) {
                        Some(Ok(d)) => Ok(Expr::new(ExprKind::Duration(d), span)),
                        Some(Err(expected)) => Err(RuleError {
                            column: t.span.column(self.src),
                            offset: t.span.start,
                            expected,
                            found: format!("{v} {unit}"),
                        }),
                        None => Ok(Expr::new(ExprKind::Quantity(v, unit), span)),
                    };
                }
                Ok(Expr::new(ExprKind::Number(v), t.span))
            }
            Tok::Str(s) => {
                self.bump();
                Ok(Expr::new(ExprKind::Str(s), t.span))
            }
            Tok::Date(d) => {
                self.bump();
                Ok(Expr::new(ExprKind::Date(d), t.span))
            }
            Tok::True | Tok::False => {
                self.bump();
                Ok(Expr::new(ExprKind::Bool(t.tok == Tok::True), t.span))
            }
            Tok::LBracket => {
                self.bump();
                let mut items = Vec::new();
                if self.peek().tok != Tok::RBracket {
                    loop {
                        items.push(self.or()?);
                        if self.peek().tok == Tok::Comma {
                            self.bump();
                            continue;
                        }
                        break;
                    }
                }
                let close = self.expect(Tok::RBracket, "',' or ']' to close the list")?;
                Ok(Expr::new(ExprKind::List(items), t.span.to(close.span)))
            }
            Tok::LParen => {
                self.bump();
                let inner = self.or()?;
                self.expect(Tok::RParen, "an operator or ')'")?;
                Ok(inner)
            }
            Tok::Ident(ref name) => {
                let name = name.clone();
                self.bump();
                if self.peek().tok == Tok::LParen {
                    return self.call(name, t.span);
                }
                let mut parts = vec![name];
                let mut span = t.span;
                while self.peek().tok == Tok::Dot {
                    self.bump();
                    let part = self.peek().clone();
                    match part.tok {
                        Tok::Ident(p) => {
                            self.bump();
                            parts.push(p);
                            span = span.to(part.span);
                        }
                        _ => {
                            return Err(self.error_at(
                                &part,
                                "a field or attribute name after '.' (value, date, uln, lln, unit)",
                            ))
                        }
                    }
                }
                let attr = if parts.len() > 1 {
                    parts.last().and_then(|p| Attr::from_name(p))
                } else {
                    None
                };
                if attr.is_some() {
                    parts.pop();
                }
                if parts.len() > 1 && parts.last().is_some_and(|p| Attr::from_name(p).is_some()) {
                    return Err(
                        self.error_at(&t, "at most one attribute after a fact name (e.g. alt.uln)")
                    );
                }
                Ok(Expr::new(
                    ExprKind::Name {
                        name: parts.join("."),
                        attr,
                    },
                    span,
                ))
            }
            Tok::Unit(_) => Err(self.error_at(&t, &self.operand_expected())),
            _ => Err(self.error_at(&t, &self.operand_expected())),
        }
    }

    fn call(&mut self, name: String, name_span: Span) -> Result<Expr, RuleError> {
        self.bump(); // '('
        self.enter()?;
        let mut args = Vec::new();
        if self.peek().tok != Tok::RParen {
            loop {
                let a = self.or()?;
                let a = if self.peek().tok == Tok::Of {
                    let of = self.peek().clone();
                    if name != "within" || args.len() != 1 {
                        return Err(self.error_at(
                            &of,
                            "',' or ')' ('of' is only used in within(a, 7 days of b))",
                        ));
                    }
                    self.bump();
                    let anchor = self.or()?;
                    let span = a.span.to(anchor.span);
                    Expr::new(
                        ExprKind::Of {
                            amount: Box::new(a),
                            anchor: Box::new(anchor),
                        },
                        span,
                    )
                } else {
                    a
                };
                args.push(a);
                if self.peek().tok == Tok::Comma {
                    self.bump();
                    continue;
                }
                break;
            }
        }
        let close = self.expect(Tok::RParen, "',' or ')' to close the call")?;
        self.depth -= 1;
        let span = name_span.to(close.span);
        if let Some(expected) = builtins::arity_error(&name, args.len()) {
            return Err(RuleError {
                column: name_span.column(self.src),
                offset: name_span.start,
                expected,
                found: format!(
                    "{} argument{}",
                    args.len(),
                    if args.len() == 1 { "" } else { "s" }
                ),
            });
        }
        Ok(Expr::new(ExprKind::Call { name, args }, span))
    }
}

fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
    let span = lhs.span.to(rhs.span);
    Expr::new(
        ExprKind::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
        span,
    )
}

/// `Some(Ok)` for a duration unit, `Some(Err(expected))` for a duration that
/// is not whole, `None` when the unit is not a duration (a quantity).
fn duration(v: f64, unit: &str) -> Option<Result<Duration, String>> {
    let (factor, months) = match unit {
        "day" | "days" => (1.0, false),
        "week" | "weeks" => (7.0, false),
        "month" | "months" => (1.0, true),
        "year" | "years" => (12.0, true),
        _ => return None,
    };
    let n = v * factor;
    if n.fract() != 0.0 || n.abs() > 1e9 {
        let what = if months {
            "a whole number of months (1.5 years is fine, 0.3 months is not)"
        } else {
            "a whole number of days"
        };
        return Some(Err(what.to_string()));
    }
    let n = n as i64;
    Some(Ok(if months {
        Duration::Months(n)
    } else {
        Duration::Days(n)
    }))
}
