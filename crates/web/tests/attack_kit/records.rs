//! Answers cut into records about one participant each, with the features
//! an insider could compare across participants.
//!
//! - An answer whose path names a participant is one record about them.
//! - JSON: the outermost objects whose contents mention exactly one
//!   participant (an element of the participants list, an audit entry, a
//!   query); features are the leaf values by key path, the set of key paths
//!   and the size.
//! - HTML: table rows and list items mentioning exactly one participant;
//!   features are the text of each cell, the tag sequence and the size.
//! - CSV: rows (by the `participant` column); features are the columns.
//! - XML (ODM): each `SubjectData`; features are the attributes by element,
//!   the tag sequence and the size.
//!
//! Every text feature has the participant's own id replaced by `{pid}`, so
//! that records of different participants compare.

use std::collections::BTreeSet;

use serde_json::Value;

use super::Answer;

/// One record about one participant.
#[derive(Debug, Clone)]
pub struct Record {
    /// The participant.
    pub pid: String,
    /// Where it came from (the answer's source).
    pub source: String,
    /// What kind of record (an audit entry's type, `row`, `page`, ...).
    pub kind: String,
    /// Its text as received.
    pub text: String,
    /// Features: name and value.
    pub feats: Vec<(String, String)>,
}

/// The participants of `pids` that `text` mentions (as whole tokens).
pub fn mentions<'a>(text: &str, pids: &'a [String]) -> BTreeSet<&'a str> {
    let mut out = BTreeSet::new();
    for p in pids {
        if first_at(text, p).is_some() {
            out.insert(p.as_str());
        }
    }
    out
}

/// Byte offset of the first whole-token occurrence of `pid` in `text`.
pub fn first_at(text: &str, pid: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(i) = text[from..].find(pid) {
        let at = from + i;
        let end = at + pid.len();
        let before = at == 0 || !bytes[at - 1].is_ascii_alphanumeric();
        let after = end >= bytes.len() || !bytes[end].is_ascii_alphanumeric();
        if before && after {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn anon(text: &str, pid: &str) -> String {
    text.replace(pid, "{pid}")
}

/// The records of `answer`, and the rest of its text (outside any record).
pub fn records(answer: &Answer, pids: &[String]) -> (Vec<Record>, String) {
    let body = &answer.body;
    if let Some(pid) = &answer.pid {
        let mut feats = vec![
            ("status".to_string(), answer.status.to_string()),
            ("len".to_string(), anon(body, pid).len().to_string()),
        ];
        if let Ok(v) = serde_json::from_str::<Value>(body) {
            feats.extend(json_feats(&v, pid));
        } else {
            feats.extend(markup_feats(body, pid));
        }
        let rec = Record {
            pid: pid.clone(),
            source: answer.source.clone(),
            kind: "page".into(),
            text: body.clone(),
            feats,
        };
        return (vec![rec], String::new());
    }
    if answer.source.starts_with("export csv") {
        return csv_records(answer, pids);
    }
    let trimmed = body.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Value>(body) {
            let mut out = Vec::new();
            let mut rest = Vec::new();
            json_records(&v, pids, &answer.source, &mut out, &mut rest);
            return (out, rest.join("\n"));
        }
    }
    if trimmed.starts_with("<?xml") {
        return segments(answer, pids, &[("<SubjectData", "</SubjectData>")]);
    }
    segments(answer, pids, &[("<tr", "</tr>"), ("<li", "</li>")])
}

fn json_mentions<'a>(v: &Value, pids: &'a [String], out: &mut BTreeSet<&'a str>) {
    match v {
        Value::String(s) => out.extend(mentions(s, pids)),
        Value::Array(a) => a.iter().for_each(|x| json_mentions(x, pids, out)),
        Value::Object(m) => m.values().for_each(|x| json_mentions(x, pids, out)),
        _ => {}
    }
}

fn json_records(
    v: &Value,
    pids: &[String],
    source: &str,
    out: &mut Vec<Record>,
    rest: &mut Vec<String>,
) {
    let mut who = BTreeSet::new();
    json_mentions(v, pids, &mut who);
    match (who.len(), v) {
        (0, _) => rest.push(v.to_string()),
        (1, Value::Object(_)) => {
            let pid = who.into_iter().next().unwrap_or_default().to_string();
            let kind = v["payload"]["type"]
                .as_str()
                .or(v["type"].as_str())
                .unwrap_or("object")
                .to_string();
            let text = v.to_string();
            let mut feats = vec![("len".to_string(), anon(&text, &pid).len().to_string())];
            feats.extend(json_feats(v, &pid));
            out.push(Record {
                pid,
                source: source.to_string(),
                kind,
                text,
                feats,
            });
        }
        (_, Value::Array(a)) => {
            for x in a {
                json_records(x, pids, source, out, rest);
            }
        }
        (_, Value::Object(m)) => {
            for (k, x) in m {
                rest.push(k.clone());
                json_records(x, pids, source, out, rest);
            }
        }
        _ => rest.push(v.to_string()),
    }
}

/// Leaf values by key path (array indices as `[]`), and the key-path set.
fn json_feats(v: &Value, pid: &str) -> Vec<(String, String)> {
    let mut leaves: Vec<(String, String)> = Vec::new();
    flatten(v, String::new(), &mut leaves);
    let mut feats: Vec<(String, String)> = Vec::new();
    let mut paths = BTreeSet::new();
    for (path, value) in leaves {
        paths.insert(path.clone());
        match feats.iter_mut().find(|(k, _)| *k == path) {
            Some((_, v)) => {
                v.push('|');
                v.push_str(&anon(&value, pid));
            }
            None => feats.push((path, anon(&value, pid))),
        }
    }
    feats.push((
        "shape".into(),
        paths.into_iter().collect::<Vec<_>>().join(","),
    ));
    feats
}

fn flatten(v: &Value, path: String, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                flatten(x, format!("{path}.{k}"), out);
            }
        }
        Value::Array(a) => {
            if a.is_empty() {
                out.push((format!("{path}[]"), "(empty)".into()));
            }
            for x in a {
                flatten(x, format!("{path}[]"), out);
            }
        }
        Value::String(s) => out.push((path, s.clone())),
        other => out.push((path, other.to_string())),
    }
}

/// Text chunks between tags (`text{i}`) and the tag sequence (`shape`).
fn markup_feats(text: &str, pid: &str) -> Vec<(String, String)> {
    let mut feats = Vec::new();
    let mut shape = String::new();
    for (k, part) in text.split('<').enumerate() {
        let (tag, after) = if k == 0 {
            ("", part)
        } else {
            part.split_once('>').unwrap_or((part, ""))
        };
        let name: String = tag.chars().take_while(|c| !c.is_whitespace()).collect();
        shape.push_str(&name);
        shape.push(' ');
        // Attribute values, by element and attribute name.
        for (attr, value) in attributes(tag) {
            feats.push((format!("{name}@{attr}#{k}"), anon(value, pid)));
        }
        let t = after.trim();
        if !t.is_empty() {
            feats.push((format!("text{k}"), anon(t, pid)));
        }
    }
    feats.push(("shape".into(), shape));
    feats
}

/// `name="value"` pairs of a tag.
fn attributes(tag: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = tag;
    while let Some(eq) = rest.find("=\"") {
        let name = rest[..eq]
            .rsplit(|c: char| c.is_whitespace())
            .next()
            .unwrap_or("");
        let after = &rest[eq + 2..];
        let Some(end) = after.find('"') else { break };
        out.push((name, &after[..end]));
        rest = &after[end + 1..];
    }
    out
}

/// Records between `open` and `close` markers that mention exactly one
/// participant.
fn segments(answer: &Answer, pids: &[String], marks: &[(&str, &str)]) -> (Vec<Record>, String) {
    let body = &answer.body;
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for (open, close) in marks {
        let mut from = 0;
        while let Some(i) = body[from..].find(open) {
            let start = from + i;
            let end = body[start..]
                .find(close)
                .map_or(body.len(), |j| start + j + close.len());
            spans.push((start, end));
            from = start + open.len();
        }
    }
    spans.sort();
    let mut out = Vec::new();
    let mut rest = String::new();
    let mut last = 0;
    for (start, end) in spans {
        if start < last {
            continue; // nested in a record already taken
        }
        let seg = &body[start..end];
        let who = mentions(seg, pids);
        if who.len() != 1 {
            continue;
        }
        let pid = who.into_iter().next().unwrap_or_default().to_string();
        rest.push_str(&body[last..start]);
        last = end;
        let mut feats = vec![("len".to_string(), anon(seg, &pid).len().to_string())];
        feats.extend(markup_feats(seg, &pid));
        let kind = if seg.starts_with("<SubjectData") {
            "subject"
        } else {
            "row"
        };
        out.push(Record {
            pid,
            source: answer.source.clone(),
            kind: kind.into(),
            text: seg.to_string(),
            feats,
        });
    }
    rest.push_str(&body[last..]);
    (out, rest)
}

fn csv_records(answer: &Answer, pids: &[String]) -> (Vec<Record>, String) {
    let mut r = csv::Reader::from_reader(answer.body.as_bytes());
    let header: Vec<String> = r
        .headers()
        .map(|h| h.iter().map(str::to_string).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut rest = header.join(",");
    let col = header.iter().position(|h| h == "participant");
    for row in r.records().flatten() {
        let cells: Vec<&str> = row.iter().collect();
        let text = cells.join(",");
        let pid = col
            .and_then(|c| cells.get(c))
            .filter(|p| pids.iter().any(|x| x == *p))
            .map(|p| p.to_string());
        let Some(pid) = pid else {
            rest.push('\n');
            rest.push_str(&text);
            continue;
        };
        let mut feats = vec![("len".to_string(), anon(&text, &pid).len().to_string())];
        for (h, c) in header.iter().zip(&cells) {
            feats.push((h.clone(), anon(c, &pid)));
        }
        out.push(Record {
            pid,
            source: answer.source.clone(),
            kind: "row".into(),
            text,
            feats,
        });
    }
    (out, rest)
}
