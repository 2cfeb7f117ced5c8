//! REDCap data dictionary (CSV) into protocol `[[forms]]` and `[[code_lists]]`.
//!
//! Columns are found by their header (as REDCap writes them: `Variable / Field
//! Name`, `Form Name`, `Section Header`, `Field Type`, `Field Label`,
//! `Choices, Calculations, OR Slider Labels`, `Field Note`, `Text Validation
//! Type OR Show Slider Number`, `Text Validation Min`, `Text Validation Max`,
//! `Identifier?`, `Branching Logic (Show field only if...)`, `Required Field?`,
//! `Custom Alignment`, `Question Number (surveys only)`, `Matrix Group Name`,
//! `Matrix Ranking?`, `Field Annotation`), in any order. The mapping is in
//! docs/interop.md; everything the protocol cannot hold, or that cannot be
//! translated, becomes an [`Issue`] naming its CSV row.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::tomlw::{comment, num, q};

pub mod logic;
mod rows;
pub(crate) use rows::read_rows;

/// Why a dictionary cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum RedcapError {
    /// The CSV itself is malformed.
    #[error("{file}: line {line}: {message}")]
    Csv {
        /// File name.
        file: String,
        /// 1-based line.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A required column is missing.
    #[error("{file}: the header has no `{column}` column; expected a REDCap data dictionary (Variable / Field Name, Form Name, Field Type, Field Label, ...)")]
    MissingColumn {
        /// File name.
        file: String,
        /// The column.
        column: &'static str,
    },
    /// A row is unusable (empty variable name, unknown field type, ...).
    #[error("{file}: row {row} ({variable}): {message}")]
    Row {
        /// File name.
        file: String,
        /// 1-based CSV row (the header is row 1).
        row: usize,
        /// Variable.
        variable: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// The input is over a reader's limit.
    #[error("{file}: {message}")]
    Limit {
        /// File name.
        file: String,
        /// Which limit, and what to do.
        message: String,
    },
}

/// Largest REDCap data dictionary read (16 MiB; a 600-row dictionary is about 300 kB).
pub const MAX_DICTIONARY_BYTES: usize = 16 << 20;

/// How serious an issue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// Could not be translated: the protocol lacks it, or the syntax has no
    /// equivalent in the rule language. The text is kept in the report and
    /// as a comment in the TOML.
    Untranslated,
    /// Translated, but the meaning differs slightly (said in the reason).
    Approximated,
    /// Kept only as a comment: the protocol has no key for it.
    Comment,
}

/// Something of the source that the protocol does not hold as is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Issue {
    /// 1-based CSV row (header = 1); for other importers the line or path.
    pub row: usize,
    /// Variable / field name (or the source path).
    pub variable: String,
    /// Column of the dictionary (or the source field).
    pub column: String,
    /// The source text.
    pub text: String,
    /// Kind.
    pub kind: IssueKind,
    /// Why.
    pub reason: String,
}

/// The result of importing a dictionary.
#[derive(Debug, Clone, Serialize)]
pub struct DictionaryImport {
    /// `[[code_lists]]` and `[[forms]]` as TOML, with comments.
    pub toml: String,
    /// Forms written.
    pub forms: usize,
    /// Protocol fields written.
    pub fields: usize,
    /// Code lists written.
    pub code_lists: usize,
    /// Everything not carried over exactly.
    pub issues: Vec<Issue>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum VarKind {
    /// A number or integer field.
    Number,
    /// A date field.
    Date,
    /// A text field (including datetimes and times).
    Text,
    /// A yes/no or true/false field (boolean).
    Boolean,
    /// A single-choice field with its codes.
    Choice(Vec<String>),
    /// A checkbox: one boolean field per code, named `var___code`.
    Checkbox(Vec<String>),
    /// Not a data field (descriptive text).
    None,
}

/// A REDCap variable as the translator sees it.
#[derive(Debug, Clone)]
pub struct Var {
    /// The form (instrument) it is on.
    pub form: String,
    /// What it became.
    pub kind: VarKind,
}

/// The bound written for the open side of a one-sided REDCap range.
pub const OPEN_BOUND: f64 = 1e12;

/// Parses REDCap choices `1, Female | 2, Male` into (code, label) pairs.
pub fn parse_choices(s: &str) -> Vec<(String, String)> {
    s.split('|')
        .filter(|p| !p.trim().is_empty())
        .map(|p| match p.split_once(',') {
            Some((code, label)) => (code.trim().to_string(), label.trim().to_string()),
            None => (p.trim().to_string(), p.trim().to_string()),
        })
        .collect()
}

/// The decimal places a REDCap `number_Ndp` validation (also
/// `number_Ndp_comma_decimal`) fixes.
fn dp_decimals(v: &str) -> Option<u8> {
    let rest = v.strip_prefix("number_")?;
    let n = rest.split('_').next()?.strip_suffix("dp")?;
    n.parse().ok().filter(|d| *d <= 9)
}

/// What a REDCap text validation type maps to: protocol type, and a note when
/// the protocol cannot enforce the format.
fn validation_type(v: &str) -> (&'static str, Option<String>) {
    match v {
        "" => ("text", None),
        "integer" | "int" => ("integer", None),
        "number" | "float" => ("number", None),
        v if v.starts_with("number_") => (
            "number",
            v.contains("comma").then(|| {
                format!("REDCap validation `{v}` writes a decimal comma; the protocol stores a plain number (with a point)")
            }),
        ),
        "date" | "date_ymd" | "date_dmy" | "date_mdy" => ("date", None),
        v if v.starts_with("datetime") => (
            "text",
            Some(format!(
                "REDCap validation `{v}`: the protocol has no date-time type; stored as ISO 8601 text"
            )),
        ),
        v if v.starts_with("time") => (
            "text",
            Some(format!(
                "REDCap validation `{v}`: the protocol has no time type; stored as text"
            )),
        ),
        v => (
            "text",
            Some(format!(
                "REDCap validation `{v}` (a text format check) has no protocol equivalent; stored as unchecked text"
            )),
        ),
    }
}

fn title_case(machine: &str) -> String {
    let mut out = String::new();
    for (i, w) in machine.split('_').filter(|w| !w.is_empty()).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let mut cs = w.chars();
        if let Some(c) = cs.next() {
            if i == 0 {
                out.extend(c.to_uppercase());
            } else {
                out.push(c);
            }
            out.push_str(cs.as_str());
        }
    }
    out
}

/// Strips HTML tags REDCap labels often carry.
fn strip_html(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn truthy(s: &str) -> bool {
    matches!(s.to_ascii_lowercase().as_str(), "y" | "yes" | "1" | "true")
}

struct FieldOut {
    id: String,
    label: String,
    kind: &'static str,
    code_list: Option<String>,
    required: bool,
    soft: Option<[f64; 2]>,
    hard: Option<[f64; 2]>,
    derived: Option<String>,
    /// Decimal places, from a `number_Ndp` validation.
    decimals: Option<u8>,
    comments: Vec<String>,
}

/// Imports a REDCap data dictionary held in `src` (`file` names it in messages).
pub fn import_dictionary(src: &str, file: &str) -> Result<DictionaryImport, RedcapError> {
    if src.len() > MAX_DICTIONARY_BYTES {
        return Err(RedcapError::Limit {
            file: file.into(),
            message: format!(
                "the file is {} bytes, over the {MAX_DICTIONARY_BYTES}-byte limit for a REDCap data dictionary; check that this is the dictionary, not a data export",
                src.len()
            ),
        });
    }
    let rows = read_rows(src, file)?;
    // First pass: what every variable becomes (the logic translator needs all).
    let mut vars: BTreeMap<String, Var> = BTreeMap::new();
    for r in &rows {
        if r.variable.is_empty() {
            return Err(RedcapError::Row {
                file: file.into(),
                row: r.line,
                variable: String::new(),
                message: "empty Variable / Field Name; every row needs one".into(),
            });
        }
        if r.form.is_empty() {
            return Err(RedcapError::Row {
                file: file.into(),
                row: r.line,
                variable: r.variable.clone(),
                message: "empty Form Name; every row belongs to an instrument".into(),
            });
        }
        let codes = || parse_choices(&r.choices).into_iter().map(|c| c.0).collect();
        let kind = match r.kind.as_str() {
            "text" => match validation_type(&r.validation).0 {
                "integer" | "number" => VarKind::Number,
                "date" => VarKind::Date,
                _ => VarKind::Text,
            },
            "notes" | "file" | "sql" => VarKind::Text,
            "calc" | "slider" => VarKind::Number,
            "dropdown" | "radio" => VarKind::Choice(codes()),
            "checkbox" => VarKind::Checkbox(codes()),
            "yesno" | "truefalse" => VarKind::Boolean,
            "descriptive" => VarKind::None,
            other => {
                return Err(RedcapError::Row {
                    file: file.into(),
                    row: r.line,
                    variable: r.variable.clone(),
                    message: format!("unknown Field Type `{other}`; REDCap's types are text, notes, dropdown, radio, checkbox, yesno, truefalse, calc, file, slider, descriptive, sql"),
                })
            }
        };
        if vars
            .insert(
                r.variable.clone(),
                Var {
                    form: r.form.clone(),
                    kind,
                },
            )
            .is_some()
        {
            return Err(RedcapError::Row {
                file: file.into(),
                row: r.line,
                variable: r.variable.clone(),
                message: "variable defined twice; REDCap variable names are unique: rename or remove one of the rows".into(),
            });
        }
    }

    let mut issues: Vec<Issue> = Vec::new();
    let mut code_lists: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut matrix_lists: BTreeMap<String, (String, Vec<(String, String)>)> = BTreeMap::new();
    let mut forms: Vec<(String, Vec<FieldOut>)> = Vec::new();
    let mut field_count = 0usize;

    for r in &rows {
        let mut issue = |column: &str, text: &str, kind: IssueKind, reason: String| {
            issues.push(Issue {
                row: r.line,
                variable: r.variable.clone(),
                column: column.into(),
                text: text.into(),
                kind,
                reason,
            })
        };
        if forms.last().is_none_or(|(f, _)| *f != r.form) {
            forms.push((r.form.clone(), Vec::new()));
        }
        let mut comments: Vec<String> = Vec::new();
        // Columns the protocol has no key for: kept as comments.
        for (col, val) in [
            ("Section Header", &r.section),
            ("Field Note", &r.note),
            ("Custom Alignment", &r.alignment),
            ("Question Number", &r.question_number),
            ("Field Annotation", &r.annotation),
        ] {
            if !val.is_empty() {
                comments.push(format!("{col}: {val}"));
                issue(
                    col,
                    val,
                    IssueKind::Comment,
                    "the protocol has no key for it; kept as a comment".into(),
                );
            }
        }
        if truthy(&r.identifier) {
            comments.push("Identifier: yes (identifying data)".into());
            issue(
                "Identifier?",
                &r.identifier,
                IssueKind::Comment,
                "identifier flag: the protocol has no key for it; kept as a comment so exports can be de-identified by hand".into(),
            );
        }
        if truthy(&r.matrix_ranking) {
            issue(
                "Matrix Ranking?",
                &r.matrix_ranking,
                IssueKind::Untranslated,
                "matrix ranking (each choice used once across the matrix) has no protocol equivalent".into(),
            );
        }
        let label = {
            let l = strip_html(&r.label);
            if l.is_empty() {
                r.variable.clone()
            } else {
                l
            }
        };
        let ctx = logic::Context {
            vars: &vars,
            form: &r.form,
        };
        if !r.branching.is_empty() {
            match logic::translate(&r.branching, &ctx) {
                Ok(t) => {
                    comments.push(format!("shown only if: {}", t.rule));
                    for a in t.approximations {
                        issue("Branching Logic", &r.branching, IssueKind::Approximated, a);
                    }
                    issue("Branching Logic", &r.branching, IssueKind::Comment,
                        format!("translated to `{}`; protocol fields have no display condition, so the rule is kept as a comment", t.rule));
                }
                Err(why) => {
                    comments.push(format!("branching logic (untranslated): {}", r.branching));
                    issue(
                        "Branching Logic",
                        &r.branching,
                        IssueKind::Untranslated,
                        why,
                    );
                }
            }
        }
        let required = truthy(&r.required);
        let mut base = FieldOut {
            id: r.variable.clone(),
            label: label.clone(),
            kind: "text",
            code_list: None,
            required,
            soft: None,
            hard: None,
            derived: None,
            decimals: None,
            comments,
        };
        let range = |base: &mut FieldOut, issue: &mut dyn FnMut(&str, &str, IssueKind, String)| {
            // A comma-decimal field writes its bounds with a decimal comma (`1,0`).
            let bound = |b: &str| {
                if r.validation.contains("comma") {
                    b.replace(',', ".").parse::<f64>()
                } else {
                    b.parse::<f64>()
                }
            };
            let lo = bound(&r.min);
            let hi = bound(&r.max);
            match (r.min.is_empty(), r.max.is_empty()) {
                (true, true) => {}
                _ => match (lo, hi) {
                    (Ok(lo), Ok(hi)) => base.soft = Some([lo, hi]),
                    (Ok(lo), Err(_)) if r.max.is_empty() => {
                        base.soft = Some([lo, OPEN_BOUND]);
                        issue("Text Validation Max", "", IssueKind::Approximated,
                            format!("one-sided range: protocol ranges have two bounds; the maximum is written as {OPEN_BOUND}"));
                    }
                    (Err(_), Ok(hi)) if r.min.is_empty() => {
                        base.soft = Some([-OPEN_BOUND, hi]);
                        issue("Text Validation Min", "", IssueKind::Approximated,
                            format!("one-sided range: protocol ranges have two bounds; the minimum is written as -{OPEN_BOUND}"));
                    }
                    _ => issue(
                        "Text Validation Min/Max",
                        &format!("{} .. {}", r.min, r.max),
                        IssueKind::Untranslated,
                        "range bounds are not numbers (dates, `today`, piping); protocol ranges are numeric".into(),
                    ),
                },
            }
        };
        let mut out: Vec<FieldOut> = Vec::new();
        match r.kind.as_str() {
            "text" => {
                let (kind, note) = validation_type(&r.validation);
                base.kind = kind;
                base.decimals = dp_decimals(&r.validation);
                if let Some(n) = note {
                    issue(
                        "Text Validation Type",
                        &r.validation,
                        IssueKind::Approximated,
                        n,
                    );
                }
                if matches!(kind, "integer" | "number") {
                    range(&mut base, &mut issue);
                } else if !r.min.is_empty() || !r.max.is_empty() {
                    issue(
                        "Text Validation Min/Max",
                        &format!("{} .. {}", r.min, r.max),
                        IssueKind::Untranslated,
                        format!("a range on a {kind} field: protocol ranges are numeric only"),
                    );
                }
                out.push(base);
            }
            "notes" => out.push(base),
            "file" => {
                issue(
                    "Field Type",
                    "file",
                    IssueKind::Approximated,
                    "file upload: stored as text holding the file's reference (name or digest)"
                        .into(),
                );
                out.push(base);
            }
            "sql" => {
                issue(
                    "Choices, Calculations, OR Slider Labels",
                    &r.choices,
                    IssueKind::Untranslated,
                    "sql field: its choices come from a database query; stored as free text".into(),
                );
                out.push(base);
            }
            "slider" => {
                base.kind = "integer";
                let lo = r.min.parse::<f64>().unwrap_or(0.0);
                let hi = r.max.parse::<f64>().unwrap_or(100.0);
                base.hard = Some([lo, hi]);
                if !r.choices.is_empty() {
                    base.comments.push(format!("slider labels: {}", r.choices));
                    issue(
                        "Choices, Calculations, OR Slider Labels",
                        &r.choices,
                        IssueKind::Comment,
                        "slider anchor labels: the protocol has no key for them; kept as a comment"
                            .into(),
                    );
                }
                if !r.validation.is_empty() {
                    issue(
                        "Text Validation Type OR Show Slider Number",
                        &r.validation,
                        IssueKind::Comment,
                        "show slider number is a display option".into(),
                    );
                }
                out.push(base);
            }
            "calc" => {
                base.kind = "number";
                match logic::translate(&r.choices, &ctx) {
                    Ok(t) => {
                        for a in t.approximations {
                            issue(
                                "Choices, Calculations, OR Slider Labels",
                                &r.choices,
                                IssueKind::Approximated,
                                a,
                            );
                        }
                        base.derived = Some(t.rule);
                    }
                    Err(why) => {
                        base.comments
                            .push(format!("calculation (untranslated): {}", r.choices));
                        issue(
                            "Choices, Calculations, OR Slider Labels",
                            &r.choices,
                            IssueKind::Untranslated,
                            why,
                        );
                    }
                }
                range(&mut base, &mut issue);
                out.push(base);
            }
            "dropdown" | "radio" => {
                let items = parse_choices(&r.choices);
                if items.is_empty() {
                    return Err(RedcapError::Row {
                        file: file.into(),
                        row: r.line,
                        variable: r.variable.clone(),
                        message: format!(
                            "{} field without choices; write them as `1, Label | 2, Label`",
                            r.kind
                        ),
                    });
                }
                base.kind = "choice";
                let list_id = if r.matrix_group.is_empty() {
                    code_lists.push((r.variable.clone(), items));
                    r.variable.clone()
                } else {
                    match matrix_lists.get(&r.matrix_group) {
                        Some((id, its)) if *its == items => id.clone(),
                        Some(_) => {
                            code_lists.push((r.variable.clone(), items));
                            r.variable.clone()
                        }
                        None => {
                            let id = r.matrix_group.clone();
                            matrix_lists.insert(id.clone(), (id.clone(), items.clone()));
                            code_lists.push((id.clone(), items));
                            id
                        }
                    }
                };
                if !r.matrix_group.is_empty() {
                    base.comments
                        .push(format!("matrix group: {}", r.matrix_group));
                }
                base.code_list = Some(list_id);
                out.push(base);
            }
            "checkbox" => {
                let items = parse_choices(&r.choices);
                if items.is_empty() {
                    return Err(RedcapError::Row {
                        file: file.into(),
                        row: r.line,
                        variable: r.variable.clone(),
                        message:
                            "checkbox field without choices; write them as `1, Label | 2, Label`"
                                .into(),
                    });
                }
                if required {
                    issue("Required Field?", &r.required, IssueKind::Approximated,
                        "a required checkbox needs at least one box ticked; each option became a boolean field, none of them required".into());
                }
                for (k, (code, l)) in items.iter().enumerate() {
                    let mut comments = Vec::new();
                    if k == 0 {
                        comments = std::mem::take(&mut base.comments);
                        comments.push(format!(
                            "checkbox `{}` ({}): one boolean field per option, named as REDCap exports them",
                            r.variable, label
                        ));
                    }
                    out.push(FieldOut {
                        id: logic::checkbox_var(&r.variable, code),
                        label: format!("{label}: {l}"),
                        kind: "boolean",
                        code_list: None,
                        required: false,
                        soft: None,
                        hard: None,
                        derived: None,
                        decimals: None,
                        comments,
                    });
                }
            }
            "yesno" | "truefalse" => {
                base.kind = "boolean";
                base.comments.push(format!(
                    "REDCap {}: stored 1 = {}, 0 = {}",
                    r.kind,
                    if r.kind == "yesno" { "yes" } else { "true" },
                    if r.kind == "yesno" { "no" } else { "false" }
                ));
                out.push(base);
            }
            "descriptive" => {
                issue(
                    "Field Label",
                    &r.label,
                    IssueKind::Untranslated,
                    "descriptive text is not a data field; protocol forms hold only fields".into(),
                );
            }
            _ => {}
        }
        field_count += out.len();
        if let Some((_, fs)) = forms.last_mut() {
            fs.extend(out);
        }
    }

    // Write the TOML.
    let mut t = String::new();
    t.push_str(&comment(&format!(
        "Forms imported from the REDCap data dictionary {file} by `rct import redcap-dictionary`.\nInsert into a protocol; check with `rct protocol check`."
    )));
    let untranslated = issues
        .iter()
        .filter(|i| i.kind == IssueKind::Untranslated)
        .count();
    if untranslated > 0 {
        t.push_str(&comment(&format!(
            "{untranslated} item(s) could not be translated; see the comments marked `untranslated` and the import report."
        )));
    }
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for (id, items) in &code_lists {
        if !seen.insert(id.clone()) {
            continue;
        }
        t.push_str(&format!("\n[[code_lists]]\nid = {}\nitems = [\n", q(id)));
        for (code, label) in items {
            t.push_str(&format!(
                "  {{ code = {}, label = {} }},\n",
                q(code),
                q(&strip_html(label))
            ));
        }
        t.push_str("]\n");
    }
    for (form, fields) in &forms {
        t.push_str(&format!(
            "\n[[forms]]\nid = {}\nlabel = {}\n",
            q(form),
            q(&title_case(form))
        ));
        for f in fields {
            t.push('\n');
            for c in &f.comments {
                t.push_str(&comment(c));
            }
            t.push_str(&format!(
                "[[forms.fields]]\nid = {}\nlabel = {}\ntype = {}\n",
                q(&f.id),
                q(&f.label),
                q(f.kind)
            ));
            if let Some(c) = &f.code_list {
                t.push_str(&format!("code_list = {}\n", q(c)));
            }
            if f.required {
                t.push_str("required = true\n");
            }
            if let Some([lo, hi]) = f.hard {
                t.push_str(&format!("hard = [{}, {}]\n", num(lo), num(hi)));
            }
            if let Some([lo, hi]) = f.soft {
                t.push_str(&format!("soft = [{}, {}]\n", num(lo), num(hi)));
            }
            if let Some(d) = &f.derived {
                t.push_str(&format!("derived = {}\n", q(d)));
            }
            if let Some(d) = f.decimals {
                t.push_str(&format!("decimals = {d}\n"));
            }
        }
    }
    Ok(DictionaryImport {
        toml: t,
        forms: forms.len(),
        fields: field_count,
        code_lists: seen.len(),
        issues,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "Variable / Field Name,Form Name,Section Header,Field Type,Field Label,\"Choices, Calculations, OR Slider Labels\",Field Note,Text Validation Type OR Show Slider Number,Text Validation Min,Text Validation Max,Identifier?,Branching Logic (Show field only if...),Required Field?,Custom Alignment,Question Number (surveys only),Matrix Group Name,Matrix Ranking?,Field Annotation\n";

    #[test]
    fn choices_parse() {
        assert_eq!(
            parse_choices("1, Female | 2, Male, or other"),
            vec![
                ("1".into(), "Female".into()),
                ("2".into(), "Male, or other".into())
            ]
        );
    }

    #[test]
    fn unknown_type_names_row() {
        let src =
            format!("{HEAD}record_id,demo,,text,ID,,,,,,,,,,,,,\nx,demo,,weird,X,,,,,,,,,,,,,\n");
        let e = import_dictionary(&src, "d.csv").unwrap_err().to_string();
        assert!(e.contains("row 3") && e.contains("weird"), "{e}");
    }

    #[test]
    fn missing_column_is_reported() {
        let e = import_dictionary("a,b\n1,2\n", "d.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("Variable / Field Name"), "{e}");
    }

    #[test]
    fn checkbox_expands_and_matrix_shares_list() {
        let src = format!(
            "{HEAD}record_id,demo,,text,ID,,,,,,,,,,,,,\n\
             sym,demo,,checkbox,Symptoms,\"1, Fever | 2, Rash\",,,,,,,,,,,,\n\
             q1,demo,,radio,Q1,\"0, No | 1, Yes\",,,,,,,,,,grid,,\n\
             q2,demo,,radio,Q2,\"0, No | 1, Yes\",,,,,,[sym(2)] = '1',,,,grid,,\n"
        );
        let out = import_dictionary(&src, "d.csv").unwrap();
        assert!(out.toml.contains("id = \"sym___1\""));
        assert!(out.toml.contains("id = \"sym___2\""));
        assert_eq!(out.code_lists, 1, "{}", out.toml);
        assert!(
            out.toml.contains("shown only if: sym___2 == true"),
            "{}",
            out.toml
        );
    }
}
