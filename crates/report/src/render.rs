//! The report as a list of blocks rendered to Markdown and to one
//! self-contained HTML page (inline CSS, inline SVG).

use std::fmt::Write;

use crate::svg::esc;

/// Fixed-decimal number; an en dash for missing.
pub fn num(x: f64, digits: usize) -> String {
    if x.is_finite() {
        let s = format!("{x:.digits$}");
        // Avoid "-0.00".
        if s.trim_start_matches('-')
            .chars()
            .all(|c| c == '0' || c == '.')
        {
            s.trim_start_matches('-').to_string()
        } else {
            s
        }
    } else {
        "–".into()
    }
}

/// A p-value as reported: `<0.001` or three decimals.
pub fn fmt_p(p: f64) -> String {
    if !p.is_finite() {
        "–".into()
    } else if p < 0.001 {
        "<0.001".into()
    } else {
        format!("{p:.3}")
    }
}

/// One block of the report.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Heading(usize, String),
    Para(String),
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// A figure: file name (for Markdown), SVG text (inlined in HTML), caption.
    Figure {
        file: String,
        svg: String,
        caption: String,
    },
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Markdown; figures as image links to their files.
pub fn markdown(blocks: &[Block]) -> String {
    let mut s = String::new();
    for b in blocks {
        match b {
            Block::Heading(level, t) => {
                let _ = writeln!(s, "{} {t}\n", "#".repeat(*level));
            }
            Block::Para(t) => {
                let _ = writeln!(s, "{t}\n");
            }
            Block::Table { header, rows } => {
                let _ = writeln!(
                    s,
                    "| {} |",
                    header
                        .iter()
                        .map(|h| md_cell(h))
                        .collect::<Vec<_>>()
                        .join(" | ")
                );
                let _ = writeln!(s, "|{}", "---|".repeat(header.len()));
                for r in rows {
                    let _ = writeln!(
                        s,
                        "| {} |",
                        r.iter().map(|c| md_cell(c)).collect::<Vec<_>>().join(" | ")
                    );
                }
                s.push('\n');
            }
            Block::Figure { file, caption, .. } => {
                let _ = writeln!(s, "![{caption}]({file})\n");
            }
        }
    }
    s
}

const CSS: &str = "body{font-family:Helvetica,Arial,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}\
h1{border-bottom:2px solid #1b4f72;padding-bottom:.3em}h2{color:#1b4f72;margin-top:2em}\
table{border-collapse:collapse;margin:1em 0;font-size:.92em}th,td{border:1px solid #ccd;padding:.3em .6em;text-align:left}\
th{background:#eaf2f8}tr:nth-child(even) td{background:#f8f9f9}td.n{text-align:right}\
figure{margin:1.5em 0}figcaption{font-size:.9em;color:#555}svg{max-width:100%;height:auto}";

fn looks_numeric(s: &str) -> bool {
    let t = s.trim_start_matches(['<', '-', '−']);
    !t.is_empty() && t.chars().next().is_some_and(|c| c.is_ascii_digit())
}

/// Self-contained HTML: inline CSS and SVG, no external resources.
pub fn html(title: &str, blocks: &[Block]) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(title)
    );
    for b in blocks {
        match b {
            Block::Heading(level, t) => {
                let _ = writeln!(s, "<h{level}>{}</h{level}>", esc(t));
            }
            Block::Para(t) => {
                let _ = writeln!(s, "<p>{}</p>", inline_md(t));
            }
            Block::Table { header, rows } => {
                s.push_str("<table>\n<thead><tr>");
                for h in header {
                    let _ = write!(s, "<th>{}</th>", esc(h));
                }
                s.push_str("</tr></thead>\n<tbody>\n");
                for r in rows {
                    s.push_str("<tr>");
                    for c in r {
                        if looks_numeric(c) {
                            let _ = write!(s, "<td class=\"n\">{}</td>", inline_md(c));
                        } else {
                            let _ = write!(s, "<td>{}</td>", inline_md(c));
                        }
                    }
                    s.push_str("</tr>\n");
                }
                s.push_str("</tbody>\n</table>\n");
            }
            Block::Figure { svg, caption, .. } => {
                let _ = writeln!(
                    s,
                    "<figure>\n{svg}<figcaption>{}</figcaption>\n</figure>",
                    esc(caption)
                );
            }
        }
    }
    s.push_str("</body>\n</html>\n");
    s
}

/// Escapes and renders `code` spans and **bold**.
fn inline_md(t: &str) -> String {
    let e = esc(t);
    let mut out = String::new();
    let mut code = false;
    for (i, part) in e.split('`').enumerate() {
        if i > 0 {
            out.push_str(if code { "</code>" } else { "<code>" });
            code = !code;
        }
        out.push_str(part);
    }
    if code {
        out.push_str("</code>");
    }
    let mut res = String::new();
    let mut bold = false;
    for (i, part) in out.split("**").enumerate() {
        if i > 0 {
            res.push_str(if bold { "</strong>" } else { "<strong>" });
            bold = !bold;
        }
        res.push_str(part);
    }
    if bold {
        res.push_str("</strong>");
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_p_values() {
        assert_eq!(num(-0.0001, 2), "0.00");
        assert_eq!(num(1.005, 1), "1.0");
        assert_eq!(num(f64::NAN, 2), "–");
        assert_eq!(fmt_p(0.0004), "<0.001");
        assert_eq!(fmt_p(0.04567), "0.046");
    }

    #[test]
    fn html_escapes_and_inlines() {
        let h = html("T<1>", &[Block::Para("a `x<y` **b**".into())]);
        assert!(h.contains("<title>T&lt;1&gt;</title>"));
        assert!(h.contains("<p>a <code>x&lt;y</code> <strong>b</strong></p>"));
        assert!(!h.contains("http://") || h.contains("xmlns"));
    }
}
