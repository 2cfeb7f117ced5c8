//! Reading a REDCap data dictionary's rows: columns found by header (the
//! download format's `Variable / Field Name` and the API's `field_name`),
//! CR-only line endings, R's `NA` cells.

use std::collections::BTreeMap;

use super::RedcapError;

/// One dictionary row.
#[derive(Debug, Clone, Default)]
pub(crate) struct Row {
    pub(crate) line: usize,
    pub(crate) variable: String,
    pub(crate) form: String,
    pub(crate) section: String,
    pub(crate) kind: String,
    pub(crate) label: String,
    pub(crate) choices: String,
    pub(crate) note: String,
    pub(crate) validation: String,
    pub(crate) min: String,
    pub(crate) max: String,
    pub(crate) identifier: String,
    pub(crate) branching: String,
    pub(crate) required: String,
    pub(crate) alignment: String,
    pub(crate) question_number: String,
    pub(crate) matrix_group: String,
    pub(crate) matrix_ranking: String,
    pub(crate) annotation: String,
}

/// What a REDCap variable became, for the logic translator.
const COLUMNS: &[(&str, &str)] = &[
    ("variable", "variablefieldname"),
    ("form", "formname"),
    ("section", "sectionheader"),
    ("kind", "fieldtype"),
    ("label", "fieldlabel"),
    ("choices", "choicescalculations"),
    ("note", "fieldnote"),
    ("validation", "textvalidationtype"),
    ("min", "textvalidationmin"),
    ("max", "textvalidationmax"),
    ("identifier", "identifier"),
    ("branching", "branchinglogic"),
    ("required", "requiredfield"),
    ("alignment", "customalignment"),
    ("question_number", "questionnumber"),
    ("matrix_group", "matrixgroupname"),
    ("matrix_ranking", "matrixranking"),
    ("annotation", "fieldannotation"),
    // The API's metadata export (`field_name`, `select_choices_or_calculations`, ...).
    ("variable", "fieldname"),
    ("choices", "selectchoicesorcalculations"),
];

fn norm_header(h: &str) -> String {
    h.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

pub(crate) fn read_rows(src: &str, file: &str) -> Result<Vec<Row>, RedcapError> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    // Old Mac line endings (CR only): the CSV reader splits rows at a lone CR
    // but counts lines by LF, so every row would be "row 1". As LF, rows are
    // counted right.
    let lf: String;
    let src = if src.contains('\r') && !src.contains('\n') {
        lf = src.replace('\r', "\n");
        lf.as_str()
    } else {
        src
    };
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(src.as_bytes());
    let headers = rdr.headers().map_err(|e| RedcapError::Csv {
        file: file.into(),
        line: 1,
        message: e.to_string(),
    })?;
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, h) in headers.iter().enumerate() {
        let n = norm_header(h);
        for (key, prefix) in COLUMNS {
            if n.starts_with(prefix) && !index.contains_key(key) {
                index.insert(key, i);
            }
        }
    }
    // The API's export written by R holds `NA` in empty cells.
    let api = headers
        .iter()
        .next()
        .is_some_and(|h| norm_header(h) == "fieldname");
    for (key, name) in [
        ("variable", "Variable / Field Name (or field_name)"),
        ("form", "Form Name"),
        ("kind", "Field Type"),
        ("label", "Field Label"),
    ] {
        if !index.contains_key(key) {
            return Err(RedcapError::MissingColumn {
                file: file.into(),
                column: name,
            });
        }
    }
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| RedcapError::Csv {
            file: file.into(),
            line: e.position().map_or(0, |p| p.line()),
            message: e.to_string(),
        })?;
        let line = rec.position().map_or(0, |p| p.line()) as usize;
        let get = |k: &str| -> String {
            let v = index.get(k).and_then(|&i| rec.get(i)).unwrap_or("").trim();
            if api && v == "NA" {
                String::new()
            } else {
                v.to_string()
            }
        };
        if rec.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        rows.push(Row {
            line,
            variable: get("variable"),
            form: get("form"),
            section: get("section"),
            kind: get("kind").to_ascii_lowercase(),
            label: get("label"),
            choices: get("choices"),
            note: get("note"),
            validation: get("validation").to_ascii_lowercase(),
            min: get("min"),
            max: get("max"),
            identifier: get("identifier"),
            branching: get("branching"),
            required: get("required"),
            alignment: get("alignment"),
            question_number: get("question_number"),
            matrix_group: get("matrix_group"),
            matrix_ranking: get("matrix_ranking"),
            annotation: get("annotation"),
        });
    }
    Ok(rows)
}
