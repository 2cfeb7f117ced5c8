//! Turns rule text into tokens.

use chrono::NaiveDate;

use super::ast::{column_of, Span};
use super::RuleError;

/// A token kind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Number(f64),
    /// A unit or duration word written right after a number (`mg/day`, `months`).
    Unit(String),
    Str(String),
    Date(NaiveDate),
    Ident(String),
    // keywords
    And,
    Or,
    Not,
    In,
    Of,
    True,
    False,
    // punctuation
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Plus,
    Minus,
    Star,
    Slash,
    EqEq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Eof,
}

impl Tok {
    /// How the token is named in an error message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Number(n) => format!("number {n}"),
            Tok::Unit(u) => format!("unit '{u}'"),
            Tok::Str(s) => format!("string \"{s}\""),
            Tok::Date(d) => format!("date {}", d.format("%Y-%m-%d")),
            Tok::Ident(s) => format!("name '{s}'"),
            Tok::And => "'and'".into(),
            Tok::Or => "'or'".into(),
            Tok::Not => "'not'".into(),
            Tok::In => "'in'".into(),
            Tok::Of => "'of'".into(),
            Tok::True => "'true'".into(),
            Tok::False => "'false'".into(),
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::LBracket => "'['".into(),
            Tok::RBracket => "']'".into(),
            Tok::Comma => "','".into(),
            Tok::Dot => "'.'".into(),
            Tok::Plus => "'+'".into(),
            Tok::Minus => "'-'".into(),
            Tok::Star => "'*'".into(),
            Tok::Slash => "'/'".into(),
            Tok::EqEq => "'=='".into(),
            Tok::Ne => "'!='".into(),
            Tok::Lt => "'<'".into(),
            Tok::Le => "'<='".into(),
            Tok::Gt => "'>'".into(),
            Tok::Ge => "'>='".into(),
            Tok::Eof => "end of rule".into(),
        }
    }

    /// The text the token is written as, for "after '>='" in messages.
    pub(crate) fn text(&self) -> String {
        match self {
            Tok::Number(n) => format!("{n}"),
            Tok::Unit(u) => u.clone(),
            Tok::Str(s) => format!("\"{s}\""),
            Tok::Date(d) => d.format("%Y-%m-%d").to_string(),
            Tok::Ident(s) => s.clone(),
            other => other.describe().trim_matches('\'').to_string(),
        }
    }
}

/// A token with its place.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub span: Span,
}

fn keyword(word: &str) -> Option<Tok> {
    Some(match word {
        "and" => Tok::And,
        "or" => Tok::Or,
        "not" => Tok::Not,
        "in" => Tok::In,
        "of" => Tok::Of,
        "true" => Tok::True,
        "false" => Tok::False,
        _ => return None,
    })
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_unit_start(c: char) -> bool {
    c.is_alphabetic() || c == '%' || c == 'µ' || c == 'μ'
}

fn is_unit_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '%' | 'µ' | 'μ' | '/' | '^' | '_')
}

/// Splits `src` into tokens, ending with `Eof`.
pub(crate) fn lex(src: &str) -> Result<Vec<Token>, RuleError> {
    let chars: Vec<(usize, char)> = src.char_indices().collect();
    let n = chars.len();
    let off = |i: usize| if i < n { chars[i].0 } else { src.len() };
    let err = |i: usize, expected: &str, found: String| RuleError {
        column: column_of(src, off(i)),
        offset: off(i),
        expected: expected.to_string(),
        found,
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < n {
        let c = chars[i].1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        // date literal: dddd-dd-dd
        if c.is_ascii_digit() && looks_like_date(&chars, i) {
            let text: String = chars[i..i + 10].iter().map(|(_, c)| *c).collect();
            let date = NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                .map_err(|_| err(i, "a valid calendar date (YYYY-MM-DD)", format!("'{text}'")))?;
            i += 10;
            out.push(Token {
                tok: Tok::Date(date),
                span: Span::new(off(start), off(i)),
            });
            continue;
        }
        if c.is_ascii_digit() {
            while i < n && chars[i].1.is_ascii_digit() {
                i += 1;
            }
            if i + 1 < n && chars[i].1 == '.' && chars[i + 1].1.is_ascii_digit() {
                i += 1;
                while i < n && chars[i].1.is_ascii_digit() {
                    i += 1;
                }
            }
            let text = &src[off(start)..off(i)];
            let value: f64 = text
                .parse()
                .map_err(|_| err(start, "a number", format!("'{text}'")))?;
            out.push(Token {
                tok: Tok::Number(value),
                span: Span::new(off(start), off(i)),
            });
            // a unit may follow, after optional spaces
            let mut j = i;
            while j < n && chars[j].1 == ' ' {
                j += 1;
            }
            if j < n && is_unit_start(chars[j].1) {
                let mut k = j;
                while k < n && is_unit_char(chars[k].1) {
                    k += 1;
                }
                let word = &src[off(j)..off(k)];
                if keyword(word).is_none() {
                    out.push(Token {
                        tok: Tok::Unit(word.to_string()),
                        span: Span::new(off(j), off(k)),
                    });
                    i = k;
                }
            }
            continue;
        }
        if is_ident_start(c) {
            while i < n && is_ident_char(chars[i].1) {
                i += 1;
            }
            let word = &src[off(start)..off(i)];
            let tok = keyword(word).unwrap_or_else(|| Tok::Ident(word.to_string()));
            out.push(Token {
                tok,
                span: Span::new(off(start), off(i)),
            });
            continue;
        }
        if c == '"' {
            i += 1;
            let mut s = String::new();
            loop {
                if i >= n {
                    return Err(err(
                        start,
                        "a closing '\"' for this string",
                        "end of rule".into(),
                    ));
                }
                match chars[i].1 {
                    '"' => {
                        i += 1;
                        break;
                    }
                    '\\' => {
                        let esc = chars.get(i + 1).map(|(_, c)| *c);
                        match esc {
                            Some('"') => s.push('"'),
                            Some('\\') => s.push('\\'),
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some(other) => {
                                return Err(err(
                                    i,
                                    "an escape \\\" \\\\ \\n or \\t",
                                    format!("'\\{other}'"),
                                ))
                            }
                            None => {
                                return Err(err(
                                    i,
                                    "a closing '\"' for this string",
                                    "end of rule".into(),
                                ))
                            }
                        }
                        i += 2;
                    }
                    other => {
                        s.push(other);
                        i += 1;
                    }
                }
            }
            out.push(Token {
                tok: Tok::Str(s),
                span: Span::new(off(start), off(i)),
            });
            continue;
        }
        let next = chars.get(i + 1).map(|(_, c)| *c);
        let (tok, len) = match (c, next) {
            ('=', Some('=')) => (Tok::EqEq, 2),
            ('!', Some('=')) => (Tok::Ne, 2),
            ('<', Some('=')) => (Tok::Le, 2),
            ('>', Some('=')) => (Tok::Ge, 2),
            ('<', _) => (Tok::Lt, 1),
            ('>', _) => (Tok::Gt, 1),
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            ('[', _) => (Tok::LBracket, 1),
            (']', _) => (Tok::RBracket, 1),
            (',', _) => (Tok::Comma, 1),
            ('.', _) => (Tok::Dot, 1),
            ('+', _) => (Tok::Plus, 1),
            ('-', _) => (Tok::Minus, 1),
            ('*', _) => (Tok::Star, 1),
            ('/', _) => (Tok::Slash, 1),
            ('=', _) => {
                return Err(err(
                    i,
                    "'==' (comparison is written with two '=')",
                    "'='".into(),
                ))
            }
            ('!', _) => return Err(err(i, "'!=' or 'not'", "'!'".into())),
            (other, _) => {
                return Err(err(
                    i,
                    "a number, string, date, name, operator or bracket",
                    format!("'{other}'"),
                ))
            }
        };
        i += len;
        out.push(Token {
            tok,
            span: Span::new(off(start), off(i)),
        });
    }
    out.push(Token {
        tok: Tok::Eof,
        span: Span::new(src.len(), src.len()),
    });
    Ok(out)
}

fn looks_like_date(chars: &[(usize, char)], i: usize) -> bool {
    let d = |k: usize| chars.get(i + k).is_some_and(|(_, c)| c.is_ascii_digit());
    let dash = |k: usize| chars.get(i + k).is_some_and(|(_, c)| *c == '-');
    d(0) && d(1)
        && d(2)
        && d(3)
        && dash(4)
        && d(5)
        && d(6)
        && dash(7)
        && d(8)
        && d(9)
        && !chars
            .get(i + 10)
            .is_some_and(|(_, c)| c.is_ascii_alphanumeric())
}
