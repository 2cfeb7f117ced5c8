//! `rct screen`: eligibility with explanations, one person or a screening log.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use rct_core::eligibility::{
    person_from_json, CriterionResult, Person, Screener, Screening, ScreeningLog,
};
use rct_core::protocol::{CriterionKind, Protocol};

const FACTS_HELP: &str = "\
FACTS is one person as JSON, a JSON-lines file (one person per line, .jsonl),
or a folder of .json / .jsonl files. A person:

  {\"id\": \"P001\", \"screening_date\": \"2025-03-01\",
   \"facts\": {\"birth_date\": \"1980-05-02\", \"sex\": \"female\",
             \"prednisolone_dose\": {\"value\": 7.5, \"unit\": \"mg/day\"},
             \"alt\": {\"value\": 50, \"unit\": \"U/L\", \"uln\": 40, \"date\": \"2025-02-20\"},
             \"pet_substudy\": true}}

Fact ids are those the protocol defines under [[facts]] (`rct protocol show`).
A value is written bare or as an object with value, date, unit, uln, lln;
null or an absent fact is missing. Eligibility is judged at screening_date,
never at today's date. The verdict is eligible, ineligible or incomplete; a
person is never eligible while a criterion is unknown. Exit code 0 whatever
the verdicts; non-zero only for bad input.";

#[derive(clap::Args, Debug)]
#[command(after_long_help = FACTS_HELP)]
pub struct ScreenArgs {
    /// Protocol file (TOML).
    #[arg(long)]
    protocol: PathBuf,
    /// Facts: a JSON file, a JSON-lines file, or a folder of them.
    #[arg(long)]
    facts: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(a: ScreenArgs) -> anyhow::Result<ExitCode> {
    let p = super::protocol::load(&a.protocol)?;
    let people = read_people(&p, &a.facts)?;
    let screener = Screener::new(&p)?;
    if people.len() == 1 && !is_many(&a.facts) {
        let s = screener
            .screen(&people[0].1)
            .with_context(|| people[0].0.clone())?;
        if a.json {
            super::print_json(&s)?;
        } else {
            print!("{}", render(&s));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut log = ScreeningLog::default();
    let mut all = Vec::with_capacity(people.len());
    for (at, person) in &people {
        let s = screener.screen(person).with_context(|| at.clone())?;
        log.add(&s);
        all.push(s);
    }
    if a.json {
        super::print_json(&serde_json::json!({ "log": log, "screenings": all }))?;
    } else {
        print!("{}", render_log(&p, &log));
    }
    Ok(ExitCode::SUCCESS)
}

fn is_many(path: &Path) -> bool {
    path.is_dir() || path.extension().is_some_and(|e| e == "jsonl")
}

/// Reads people with the place each came from (`file:line`) for errors.
fn read_people(p: &Protocol, path: &Path) -> anyhow::Result<Vec<(String, Person)>> {
    let mut files = Vec::new();
    if path.is_dir() {
        for e in std::fs::read_dir(path)
            .with_context(|| format!("cannot read folder {}", path.display()))?
        {
            let f = e?.path();
            if f.extension().is_some_and(|x| x == "json" || x == "jsonl") {
                files.push(f);
            }
        }
        files.sort();
        if files.is_empty() {
            bail!("{}: no .json or .jsonl files in the folder", path.display());
        }
    } else {
        files.push(path.to_path_buf());
    }
    let mut out = Vec::new();
    for f in files {
        let name = f.display().to_string();
        let text = std::fs::read_to_string(&f).with_context(|| format!("cannot read {name}"))?;
        if f.extension().is_some_and(|x| x == "jsonl") {
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let at = format!("{name}:{}", i + 1);
                let v: serde_json::Value =
                    serde_json::from_str(line).with_context(|| format!("{at}: not valid JSON"))?;
                out.push((at.clone(), person_from_json(p, &v).with_context(|| at)?));
            }
        } else {
            let v: serde_json::Value =
                serde_json::from_str(&text).with_context(|| format!("{name}: not valid JSON"))?;
            let items = match v {
                serde_json::Value::Array(items) => items,
                v => vec![v],
            };
            for (i, v) in items.iter().enumerate() {
                let at = if i == 0 && items.len() == 1 {
                    name.clone()
                } else {
                    format!("{name}[{i}]")
                };
                out.push((at.clone(), person_from_json(p, v).with_context(|| at)?));
            }
        }
    }
    Ok(out)
}

fn render(s: &Screening) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let who =
        s.id.as_deref()
            .map(|i| format!("{i}: "))
            .unwrap_or_default();
    let _ = writeln!(o, "{who}{:?}", s.verdict);
    for c in &s.criteria {
        let mark = match (c.result, c.excludes()) {
            (_, true) => "FAIL",
            (CriterionResult::Unknown, _) => "  ? ",
            (CriterionResult::NotApplicable, _) => " n/a",
            _ => "  ok",
        };
        let kind = match c.kind {
            CriterionKind::Inclusion => "incl",
            CriterionKind::Exclusion => "excl",
        };
        let _ = writeln!(o, "  {mark} {:<4} {kind} {:?}: {}", c.id, c.result, c.text);
        if !c.values.is_empty() {
            let vals: Vec<String> = c.values.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            let _ = writeln!(o, "            used {}", vals.join(", "));
        }
        if !c.missing.is_empty() {
            let _ = writeln!(o, "            missing {}", c.missing.join(", "));
        }
    }
    if !s.missing.is_empty() {
        let _ = writeln!(o, "Missing facts: {}", s.missing.join(", "));
    }
    o
}

fn render_log(p: &Protocol, log: &ScreeningLog) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(o, "Assessed for eligibility  {:>6}", log.assessed);
    let _ = writeln!(o, "Excluded                  {:>6}", log.excluded);
    for c in &p.criteria {
        if let Some(n) = log.excluded_by.get(c.id.get_ref()) {
            let _ = writeln!(o, "  {:<5} {:>6}  {}", c.id.get_ref(), n, c.text);
        }
    }
    let _ = writeln!(o, "Incomplete                {:>6}", log.incomplete);
    let _ = writeln!(o, "Eligible                  {:>6}", log.eligible);
    o
}
