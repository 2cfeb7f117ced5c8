//! A ClinicalTrials.gov API v2 study record (JSON, as `GET /api/v2/studies/{nctId}`
//! returns it) into a protocol skeleton (TOML that `rct protocol check` accepts).
//!
//! Read: `protocolSection.identificationModule` (nctId, orgStudyIdInfo,
//! secondaryIdInfos, briefTitle, officialTitle, acronym, organization),
//! `statusModule.overallStatus`, `sponsorCollaboratorsModule.leadSponsor`,
//! `conditionsModule.conditions`, `designModule` (phases, designInfo.allocation,
//! primaryPurpose, maskingInfo, enrollmentInfo), `armsInterventionsModule`
//! (armGroups, interventions), `outcomesModule` (primary, secondary and other
//! outcomes) and `eligibilityModule` (eligibilityCriteria, sex, minimumAge,
//! maximumAge). What the registry does not hold (allocation ratio, block
//! design, visit windows) is written as a placeholder with an `[[assumptions]]`
//! entry for the trial team to confirm.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use crate::tomlw::{comment, q, q_list, slug};

mod text;
pub use text::{
    split_criteria, timeframe_visits, unescape_markdown, Criteria, CriterionLine, TimeVisit,
};

/// Why a record cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum CtgovError {
    /// Not JSON.
    #[error("{file}: not JSON: {source}")]
    Json {
        /// File name.
        file: String,
        /// Parser error (with line and column).
        #[source]
        source: serde_json::Error,
    },
    /// A required field is missing or has the wrong type.
    #[error("{file}: `{path}`: {message}")]
    Field {
        /// File name.
        file: String,
        /// JSON path of the field.
        path: String,
        /// What was expected.
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

/// Largest ClinicalTrials.gov study record read (16 MiB; records are tens of kB).
pub const MAX_STUDY_BYTES: usize = 16 << 20;

/// A note on something the skeleton could not carry exactly.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    /// JSON path in the record.
    pub path: String,
    /// What was done.
    pub message: String,
}

/// The imported skeleton.
#[derive(Debug, Clone, Serialize)]
pub struct CtgovImport {
    /// Protocol TOML.
    pub toml: String,
    /// NCT id.
    pub nct_id: String,
    /// Inclusion criteria written.
    pub inclusion: usize,
    /// Exclusion criteria written.
    pub exclusion: usize,
    /// Arms written.
    pub arms: usize,
    /// Outcomes written.
    pub outcomes: usize,
    /// What needs the trial team's attention.
    pub notes: Vec<Note>,
}

fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, k| v.get(k))
}

fn s<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    at(v, path)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

fn arr<'a>(v: &'a Value, path: &str) -> &'a [Value] {
    at(v, path)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// An age limit as `(number, unit)` from `"18 Years"`.
fn parse_age(s: &str) -> Option<(u32, String)> {
    let mut it = s.split_whitespace();
    let n = it.next()?.parse::<u32>().ok()?;
    let unit = it.next().unwrap_or("Years").to_lowercase();
    Some((n, unit))
}

fn age_rule(n: u32, unit: &str, op: &str) -> Option<String> {
    Some(match unit.trim_end_matches('s') {
        "year" => format!("age_at(screening_date) {op} {n}"),
        "month" => format!("months_between(birth_date, screening_date) {op} {n}"),
        "week" => format!("days_between(birth_date, screening_date) {op} {}", n * 7),
        "day" => format!("days_between(birth_date, screening_date) {op} {n}"),
        _ => return None,
    })
}

fn unique(base: String, used: &mut BTreeSet<String>) -> String {
    let mut id = base.clone();
    let mut k = 2;
    while !used.insert(id.clone()) {
        id = format!("{base}_{k}");
        k += 1;
    }
    id
}

fn short_slug(s: &str, max: usize) -> String {
    let full = slug(s);
    let mut out = String::new();
    for part in full.split('_') {
        if !out.is_empty() && out.len() + part.len() + 1 > max {
            break;
        }
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(part);
    }
    out
}

/// Imports a v2 study record held in `src` (`file` names it in messages).
pub fn import_study(src: &str, file: &str) -> Result<CtgovImport, CtgovError> {
    if src.len() > MAX_STUDY_BYTES {
        return Err(CtgovError::Limit {
            file: file.into(),
            message: format!(
                "the file is {} bytes, over the {MAX_STUDY_BYTES}-byte limit for a ClinicalTrials.gov study record; download one study (`/api/v2/studies/NCT...`), not a search",
                src.len()
            ),
        });
    }
    let root: Value = serde_json::from_str(src).map_err(|source| CtgovError::Json {
        file: file.into(),
        source,
    })?;
    // A search response (`{"studies": [...]}`) with one study is accepted too.
    let study = match root.get("studies").and_then(Value::as_array) {
        Some(list) if list.len() == 1 => &list[0],
        Some(list) => {
            return Err(CtgovError::Field {
                file: file.into(),
                path: "studies".into(),
                message: format!(
                    "holds {} studies; pass one study record (GET /api/v2/studies/NCT...)",
                    list.len()
                ),
            })
        }
        None => &root,
    };
    if study.get("FullStudiesResponse").is_some() || study.get("FullStudy").is_some() {
        return Err(CtgovError::Field {
            file: file.into(),
            path: "FullStudiesResponse".into(),
            message: "this is a record of the retired ClinicalTrials.gov API v1 (classic), which rct does not read; download the study from API v2: https://clinicaltrials.gov/api/v2/studies/NCT...".into(),
        });
    }
    let p = study
        .get("protocolSection")
        .ok_or_else(|| CtgovError::Field {
            file: file.into(),
            path: "protocolSection".into(),
            message: "missing; expected a ClinicalTrials.gov API v2 study record".into(),
        })?;
    let need = |path: &str| -> Result<&str, CtgovError> {
        s(p, path).ok_or_else(|| CtgovError::Field {
            file: file.into(),
            path: format!("protocolSection.{path}"),
            message: "missing or not a string".into(),
        })
    };
    let nct = need("identificationModule.nctId")?;
    let brief = need("identificationModule.briefTitle")?;
    let mut notes: Vec<Note> = Vec::new();
    let mut note = |path: &str, message: String| {
        notes.push(Note {
            path: format!("protocolSection.{path}"),
            message,
        })
    };
    let mut assumptions: Vec<(String, String)> = Vec::new();

    // ---- trial
    let title = s(p, "identificationModule.officialTitle").unwrap_or(brief);
    let acronym = s(p, "identificationModule.acronym");
    let id = acronym.map_or_else(|| nct.to_lowercase(), slug);
    let mut registry_ids = vec![nct.to_string()];
    if let Some(org) = s(p, "identificationModule.orgStudyIdInfo.id") {
        registry_ids.push(org.to_string());
    }
    for sec in arr(p, "identificationModule.secondaryIdInfos") {
        if let Some(x) = s(sec, "id") {
            if !registry_ids.iter().any(|r| r == x) {
                registry_ids.push(x.to_string());
            }
        }
    }
    let sponsor = s(p, "sponsorCollaboratorsModule.leadSponsor.name")
        .or_else(|| s(p, "identificationModule.organization.fullName"))
        .unwrap_or("unknown sponsor");
    let conditions: Vec<String> = arr(p, "conditionsModule.conditions")
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    let phases: Vec<&str> = arr(p, "designModule.phases")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let phase = match phases.as_slice() {
        [] | ["NA"] => "not-applicable",
        ["EARLY_PHASE1"] => "early-1",
        ["PHASE1"] => "1",
        ["PHASE1", "PHASE2"] => "1-2",
        ["PHASE2"] => "2",
        ["PHASE2", "PHASE3"] => "2-3",
        ["PHASE3"] => "3",
        ["PHASE4"] => "4",
        other => {
            note(
                "designModule.phases",
                format!("phases {other:?} not recognised; written as not-applicable"),
            );
            "not-applicable"
        }
    };
    let status_raw = s(p, "statusModule.overallStatus").unwrap_or("UNKNOWN");
    let status = match status_raw {
        "NOT_YET_RECRUITING" => "not-yet-recruiting",
        "RECRUITING" => "recruiting",
        "ENROLLING_BY_INVITATION" => {
            note(
                "statusModule.overallStatus",
                "ENROLLING_BY_INVITATION written as recruiting".into(),
            );
            "recruiting"
        }
        "ACTIVE_NOT_RECRUITING" => "active-not-recruiting",
        "COMPLETED" => "completed",
        "SUSPENDED" => "suspended",
        "TERMINATED" => "terminated",
        "WITHDRAWN" => "withdrawn",
        other => {
            note(
                "statusModule.overallStatus",
                format!(
                    "status `{other}` has no protocol equivalent; written as not-yet-recruiting"
                ),
            );
            "not-yet-recruiting"
        }
    };
    let enrolment = at(p, "designModule.enrollmentInfo.count")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if enrolment == 0 {
        note(
            "designModule.enrollmentInfo.count",
            "missing; target_enrolment written as 0".into(),
        );
    }
    let enrolment_type = s(p, "designModule.enrollmentInfo.type").unwrap_or("ESTIMATED");
    let purpose =
        s(p, "designModule.designInfo.primaryPurpose").map(|x| x.to_lowercase().replace('_', "-"));

    // ---- arms and interventions
    let interventions = arr(p, "armsInterventionsModule.interventions");
    let mut arm_ids: BTreeSet<String> = BTreeSet::new();
    let mut arms_toml = String::new();
    let arm_groups = arr(p, "armsInterventionsModule.armGroups");
    for (k, g) in arm_groups.iter().enumerate() {
        let label = s(g, "label").unwrap_or("Arm");
        let aid = unique(short_slug(label, 24), &mut arm_ids);
        let kind = match s(g, "type").unwrap_or("OTHER") {
            "EXPERIMENTAL" => "experimental",
            "ACTIVE_COMPARATOR" => "active",
            "PLACEBO_COMPARATOR" => "placebo",
            "SHAM_COMPARATOR" => "sham",
            "NO_INTERVENTION" => "no-intervention",
            other => {
                note(
                    &format!("armsInterventionsModule.armGroups[{k}].type"),
                    format!("arm type `{other}` written as experimental"),
                );
                "experimental"
            }
        };
        let mut desc = s(g, "description").unwrap_or("").trim().to_string();
        let names: Vec<&str> = arr(g, "interventionNames")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for n in &names {
            // "Behavioral: HIIT" names intervention "HIIT" of type BEHAVIORAL.
            let bare = n.split_once(": ").map_or(*n, |x| x.1);
            let detail = interventions
                .iter()
                .find(|i| s(i, "name") == Some(bare))
                .and_then(|i| s(i, "description"));
            if !desc.is_empty() {
                desc.push('\n');
            }
            desc.push_str(&format!("Intervention: {n}"));
            if let Some(d) = detail {
                desc.push_str(&format!(" - {}", d.trim()));
            }
        }
        arms_toml.push_str(&format!(
            "\n[[arms]]\nid = {}\nlabel = {}\nkind = {}\nweight = 1\n",
            q(&aid),
            q(label),
            q(kind)
        ));
        if !desc.is_empty() {
            arms_toml.push_str(&format!("description = {}\n", q(&desc)));
        }
    }
    let mut arm_count = arm_groups.len();
    if arm_count < 2 {
        note(
            "armsInterventionsModule.armGroups",
            format!("{arm_count} arm group(s); a protocol needs two arms, placeholders added"),
        );
        for k in arm_count..2 {
            let aid = unique(format!("arm_{}", k + 1), &mut arm_ids);
            arms_toml.push_str(&format!(
                "\n# Placeholder: the registry record lists fewer than two arms.\n[[arms]]\nid = {}\nlabel = {}\nkind = \"experimental\"\nweight = 1\n",
                q(&aid),
                q(&format!("Arm {}", k + 1))
            ));
        }
        arm_count = 2;
    }
    assumptions.push((
        "allocation ratio".into(),
        "The registry record does not give the allocation ratio; every arm has weight 1.".into(),
    ));

    // ---- masking
    let masking = s(p, "designModule.designInfo.maskingInfo.masking").unwrap_or("NONE");
    let mut blinded: Vec<&str> = Vec::new();
    for w in arr(p, "designModule.designInfo.maskingInfo.whoMasked") {
        match w.as_str() {
            Some("PARTICIPANT") => blinded.push("participant"),
            Some("CARE_PROVIDER") => blinded.push("care-provider"),
            Some("INVESTIGATOR") => blinded.push("investigator"),
            Some("OUTCOMES_ASSESSOR") => blinded.push("outcome-assessor"),
            other => note(
                "designModule.designInfo.maskingInfo.whoMasked",
                format!("masked party {other:?} not recognised"),
            ),
        }
    }
    if masking != "NONE" && blinded.is_empty() {
        note(
            "designModule.designInfo.maskingInfo",
            format!("masking {masking} without whoMasked: fill in [masking] blinded"),
        );
    }
    let masking_desc = s(p, "designModule.designInfo.maskingInfo.maskingDescription")
        .map(str::to_string)
        .unwrap_or_else(|| format!("Registry masking: {masking}."));

    // ---- randomisation
    let allocation = s(p, "designModule.designInfo.allocation").unwrap_or("NA");
    if allocation != "RANDOMIZED" {
        note(
            "designModule.designInfo.allocation",
            format!("allocation `{allocation}`: rct randomises; the design is a placeholder"),
        );
    }
    assumptions.push((
        "randomisation design".into(),
        format!("The registry record says allocation {allocation} but not the design; complete randomisation (`cr`) is a placeholder."),
    ));

    // ---- eligibility
    let mut facts = String::new();
    let mut criteria = String::new();
    let mut code_lists = String::new();
    let mut inc = 0usize;
    let mut exc = 0usize;
    let sex = s(p, "eligibilityModule.sex").unwrap_or("ALL");
    let min_age = s(p, "eligibilityModule.minimumAge");
    let max_age = s(p, "eligibilityModule.maximumAge");
    if min_age.is_some() || max_age.is_some() {
        facts.push_str(
            "\n[[facts]]\nid = \"birth_date\"\nlabel = \"Date of birth\"\ntype = \"date\"\n",
        );
    }
    for (path, val, op, cid, word) in [
        (
            "eligibilityModule.minimumAge",
            min_age,
            ">=",
            "age_min",
            "at least",
        ),
        (
            "eligibilityModule.maximumAge",
            max_age,
            "<=",
            "age_max",
            "at most",
        ),
    ] {
        let Some(v) = val else { continue };
        match parse_age(v).and_then(|(n, u)| age_rule(n, &u, op)) {
            Some(rule) => {
                inc += 1;
                criteria.push_str(&format!(
                    "\n[[criteria]]\nid = {}\nkind = \"inclusion\"\ntext = {}\nrule = {}\nnote = \"From the registry's {}.\"\n",
                    q(cid),
                    q(&format!("Age {word} {v}")),
                    q(&rule),
                    path
                ));
            }
            None => note(path, format!("age `{v}` not understood; no rule written")),
        }
    }
    if sex == "FEMALE" || sex == "MALE" {
        facts.push_str(
            "\n[[facts]]\nid = \"sex\"\nlabel = \"Sex\"\ntype = \"choice\"\ncode_list = \"sex\"\n",
        );
        code_lists.push_str("\n[[code_lists]]\nid = \"sex\"\nitems = [\n  { code = \"female\", label = \"Female\" },\n  { code = \"male\", label = \"Male\" },\n]\n");
        let want = sex.to_lowercase();
        inc += 1;
        criteria.push_str(&format!(
            "\n[[criteria]]\nid = \"sex\"\nkind = \"inclusion\"\ntext = {}\nrule = {}\nnote = \"From the registry's eligibilityModule.sex.\"\n",
            q(&format!("Sex: {want}")),
            q(&format!("sex == \"{want}\""))
        ));
    }
    let split = s(p, "eligibilityModule.eligibilityCriteria")
        .map(split_criteria)
        .unwrap_or_default();
    for w in &split.warnings {
        note("eligibilityModule.eligibilityCriteria", w.clone());
    }
    let lines = split.lines;
    if lines.is_empty() {
        note(
            "eligibilityModule.eligibilityCriteria",
            "no criteria text; only sex and age rules written".into(),
        );
    }
    let (mut ni, mut ne) = (0usize, 0usize);
    for l in &lines {
        let cid = if l.inclusion {
            ni += 1;
            inc += 1;
            format!("I{ni}")
        } else {
            ne += 1;
            exc += 1;
            format!("E{ne}")
        };
        let fact = format!("{}_met", cid.to_lowercase());
        facts.push_str(&format!(
            "\n[[facts]]\nid = {}\nlabel = {}\ntype = \"boolean\"\njudgement = true\n",
            q(&fact),
            q(&l.text)
        ));
        criteria.push_str(&format!(
            "\n[[criteria]]\nid = {}\nkind = {}\ntext = {}\nrule = {}\nnote = {}\n",
            q(&cid),
            q(if l.inclusion { "inclusion" } else { "exclusion" }),
            q(&l.text),
            q(&fact),
            q(&if l.depth > 0 {
                "Sub-item of the criterion above; a clinician's judgement until written as a rule over facts.".to_string()
            } else {
                "A clinician's judgement until written as a rule over facts.".to_string()
            })
        ));
    }

    // ---- outcomes, with a form and visits to hold them
    let mut outcome_ids: BTreeSet<String> = BTreeSet::new();
    let mut visit_list: Vec<TimeVisit> = Vec::new();
    let mut fields = String::new();
    let mut outcomes = String::new();
    let mut n_out = 0;
    for (key, kind) in [
        ("primaryOutcomes", "primary"),
        ("secondaryOutcomes", "secondary"),
        ("otherOutcomes", "exploratory"),
    ] {
        for (k, o) in arr(p, &format!("outcomesModule.{key}")).iter().enumerate() {
            let Some(measure) = s(o, "measure").map(unescape_markdown) else {
                continue;
            };
            let measure = measure.as_str();
            n_out += 1;
            let oid = unique(short_slug(measure, 32), &mut outcome_ids);
            let tf = s(o, "timeFrame").unwrap_or("");
            let vs = timeframe_visits(tf);
            if vs.is_empty() {
                note(
                    &format!("outcomesModule.{key}[{k}].timeFrame"),
                    if tf.is_empty() {
                        "no time frame: the outcome has no timepoints; add them".to_string()
                    } else {
                        format!("time frame `{tf}` names no day, week, month, year or hour rct understands: the outcome has no timepoints; add them")
                    },
                );
            }
            for v in &vs {
                if !visit_list.iter().any(|x| x.id == v.id) {
                    visit_list.push(v.clone());
                }
            }
            fields.push_str(&format!(
                "  {{ id = {}, label = {}, type = \"number\" }},\n",
                q(&oid),
                q(measure)
            ));
            let mut c = String::new();
            if let Some(d) = s(o, "description") {
                c.push_str(&comment(&format!("Description: {}", unescape_markdown(d))));
            }
            if !tf.is_empty() {
                c.push_str(&comment(&format!("Time frame: {tf}")));
            }
            let tps: Vec<String> = vs.iter().map(|v| v.id.clone()).collect();
            outcomes.push_str(&format!(
                "\n{c}[[outcomes]]\nid = {}\nkind = {}\nlabel = {}\nmeasure = {}\ntimepoints = {}\n",
                q(&oid),
                q(kind),
                q(measure),
                q(&format!("outcomes.{oid}")),
                q_list(&tps)
            ));
        }
    }
    visit_list.sort_by_key(|v| v.day);
    let mut forms = String::new();
    let mut visits = String::new();
    if n_out > 0 {
        forms.push_str(&format!(
            "\n[[forms]]\nid = \"outcomes\"\nlabel = \"Registered outcome measures\"\nfields = [\n{fields}]\n"
        ));
        for v in &visit_list {
            let (vid, label, day) = (&v.id, &v.label, &v.day);
            let (lo, hi) = if vid == "baseline" {
                (-14, 0)
            } else if vid.starts_with("hour") || vid.starts_with("minute") {
                (*day, *day)
            } else {
                (day - 7, day + 7)
            };
            visits.push_str(&format!(
                "\n[[visits]]\nid = {}\nlabel = {}\nday = {day}\nwindow = [{lo}, {hi}]\nforms = [\"outcomes\"]\n",
                q(vid),
                q(label)
            ));
        }
        assumptions.push((
            "visits and outcome fields".into(),
            "Visits come from the outcomes' time frames (baseline = day 0, window [-14, 0]; others +/- 7 days); each outcome is a number field on the form `outcomes`. Replace with the real forms and fields.".into(),
        ));
    }
    assumptions.push((
        "eligibility".into(),
        "Each line of the registry's criteria text is a criterion answered as a clinician's yes/no judgement (fact `<id>_met`); write rules over measured facts where the text allows.".into(),
    ));

    // ---- write
    let mut t = String::new();
    t.push_str(&comment(&format!(
        "Protocol skeleton imported from the ClinicalTrials.gov record {nct} ({file}) by\n`rct protocol import-ctgov`. Check with `rct protocol check`; confirm the [[assumptions]]."
    )));
    t.push_str(&format!(
        "\n[trial]\nid = {}\ntitle = {}\n",
        q(&id),
        q(title)
    ));
    if let Some(a) = acronym {
        t.push_str(&format!("short_title = {}\n", q(a)));
    }
    t.push_str(&format!(
        "registry_ids = {}\nsponsor = {}\nconditions = {}\nphase = {}\nstatus = {}\n",
        q_list(&registry_ids),
        q(sponsor),
        q_list(&conditions),
        q(phase),
        q(status)
    ));
    t.push_str(&comment(&format!(
        "enrolment count is {}",
        enrolment_type.to_lowercase()
    )));
    t.push_str(&format!("target_enrolment = {enrolment}\n"));
    if let Some(pp) = &purpose {
        t.push_str(&format!("primary_purpose = {}\n", q(pp)));
    }
    t.push_str(&arms_toml);
    t.push_str(&format!(
        "\n[masking]\nblinded = {}\nkit_codes = false\ndescription = {}\n",
        q_list(&blinded),
        q(&masking_desc)
    ));
    t.push_str("\n[randomisation]\ndesign = \"cr\"\nunit = \"participant\"\n");
    t.push_str(&facts);
    t.push_str(&criteria);
    t.push_str(&code_lists);
    t.push_str(&forms);
    t.push_str(&visits);
    t.push_str(&outcomes);
    for (topic, text) in &assumptions {
        t.push_str(&format!(
            "\n[[assumptions]]\ntopic = {}\ntext = {}\n",
            q(topic),
            q(text)
        ));
    }
    Ok(CtgovImport {
        toml: t,
        nct_id: nct.to_string(),
        inclusion: inc,
        exclusion: exc,
        arms: arm_count,
        outcomes: n_out,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(
            age_rule(18, "years", ">=").unwrap(),
            "age_at(screening_date) >= 18"
        );
        assert_eq!(
            age_rule(6, "months", ">=").unwrap(),
            "months_between(birth_date, screening_date) >= 6"
        );
    }

    #[test]
    fn missing_protocol_section_is_named() {
        let e = import_study("{}", "s.json").unwrap_err().to_string();
        assert!(e.contains("protocolSection"), "{e}");
        let e = import_study("{", "s.json").unwrap_err().to_string();
        assert!(e.contains("not JSON"), "{e}");
    }
}
