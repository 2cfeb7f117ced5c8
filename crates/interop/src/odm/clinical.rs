//! The clinical data of an ODM file as event drafts: forms inside study
//! events or (REDCap classic) directly under subjects, audit records
//! inherited from enclosing elements, snapshots as migrations, and every
//! value not imported counted by reason.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use rct_record::{EventDraft, Payload, Role};
use serde_json::Value;

use super::dom::Node;
use super::import::{
    parse_time, strip, typed, Ctx, ImportOptions, CLASSIC_VISIT, SKIP_REPEATING, SKIP_UNKNOWN_ITEM,
};
use super::OdmError;

/// What the clinical data became.
pub(super) struct Clinical {
    pub(super) body: Vec<EventDraft>,
    pub(super) earliest: Option<DateTime<Utc>>,
    pub(super) subjects: usize,
    pub(super) item_data: usize,
    pub(super) allocations: usize,
    pub(super) skipped: BTreeMap<String, usize>,
    pub(super) forms: usize,
}

/// The `<AuditRecord>` of an ItemData, or the nearest one on an enclosing
/// ItemGroupData, FormData, StudyEventData or SubjectData.
fn inherited_audit<'n>(chain: &[&'n Node]) -> Option<&'n Node> {
    chain.iter().rev().find_map(|n| n.first("AuditRecord"))
}

/// Reads every `ClinicalData`: `item_index` maps an ItemOID to (form, field
/// id, DataType); `allocation_tag` is rct's `Allocation` element name when
/// the file binds rct's namespace.
pub(super) fn read(
    root: &Node,
    cx: &Ctx<'_>,
    trial: &str,
    item_index: &BTreeMap<String, (String, String, String)>,
    allocation_tag: Option<String>,
    opts: &ImportOptions,
    src: &str,
) -> Result<Clinical, OdmError> {
    let mut body: Vec<EventDraft> = Vec::new();
    let mut earliest: Option<DateTime<Utc>> = None;
    let mut subjects = 0;
    let mut item_data = 0;
    let mut allocations = 0;
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    let mut forms_seen: BTreeSet<String> = BTreeSet::new();
    let mut last: BTreeMap<(String, String, String, String), Value> = BTreeMap::new();
    let source_sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(src.as_bytes()))
    };
    for cd in root.all("ClinicalData") {
        for sd in cd.all("SubjectData") {
            subjects += 1;
            let subject = cx.need(sd, "SubjectKey", "ClinicalData/SubjectData")?;
            // The record's one rule for participant ids, as for every edge.
            rct_record::check_participant_id(subject)
                .map_err(|e| cx.err("ClinicalData/SubjectData/@SubjectKey", e.to_string()))?;
            let path = format!("ClinicalData/SubjectData[{subject}]");
            // Forms inside study events, and (REDCap classic projects) forms
            // directly under the subject, in the visit `record`.
            let mut visits: Vec<(String, Option<&Node>, Vec<&Node>)> = Vec::new();
            for se in sd.all("StudyEventData") {
                let visit = strip(cx.need(se, "StudyEventOID", &path)?, "SE.");
                visits.push((visit.to_string(), Some(se), se.all("FormData").collect()));
            }
            let direct: Vec<&Node> = sd.all("FormData").collect();
            if !direct.is_empty() {
                visits.push((CLASSIC_VISIT.to_string(), None, direct));
            }
            for (visit, se, fds) in &visits {
                // A form or item group that occurs more than once here repeats.
                let mut form_count: BTreeMap<&str, usize> = BTreeMap::new();
                for fd in fds {
                    *form_count
                        .entry(fd.attr("FormOID").unwrap_or(""))
                        .or_default() += 1;
                }
                for fd in fds {
                    let form_oid = cx.need(fd, "FormOID", &path)?;
                    let form = super::import::form_id(form_oid);
                    let repeat_key = fd.attr("FormRepeatKey").unwrap_or("1");
                    let form_repeats =
                        form_count.get(form_oid).copied().unwrap_or(0) > 1 || repeat_key != "1";
                    let mut group_count: BTreeMap<&str, usize> = BTreeMap::new();
                    for ig in fd.all("ItemGroupData") {
                        *group_count
                            .entry(ig.attr("ItemGroupOID").unwrap_or(""))
                            .or_default() += 1;
                    }
                    for ig in fd.all("ItemGroupData") {
                        let group_repeats = group_count
                            .get(ig.attr("ItemGroupOID").unwrap_or(""))
                            .copied()
                            .unwrap_or(0)
                            > 1
                            || ig.attr("ItemGroupRepeatKey").is_some_and(|k| k != "1");
                        // Typed and binary values (`ItemDataBase64Binary`:
                        // REDCap file uploads) are counted, not dropped.
                        for other in ig
                            .children
                            .iter()
                            .filter(|c| c.name.starts_with("ItemData") && c.name != "ItemData")
                        {
                            *skipped
                                .entry(format!(
                                    "<{}> value (binary or typed ItemData is not imported)",
                                    other.name
                                ))
                                .or_default() += 1;
                        }
                        for id in ig.all("ItemData") {
                            let item_oid = cx.need(id, "ItemOID", &path)?;
                            let ipath = format!("{path}/FormData[{form_oid}]/ItemData[{item_oid}]");
                            if form_repeats || group_repeats {
                                *skipped.entry(SKIP_REPEATING.to_string()).or_default() += 1;
                                continue;
                            }
                            let Some((_, field, dtype)) = item_index.get(item_oid).cloned() else {
                                *skipped.entry(SKIP_UNKNOWN_ITEM.to_string()).or_default() += 1;
                                continue;
                            };
                            let value = if id.attr("IsNull") == Some("Yes") {
                                Value::Null
                            } else {
                                typed(id.attr("Value").unwrap_or(""), &dtype)
                            };
                            let mut chain: Vec<&Node> = vec![sd];
                            chain.extend(se.iter().copied());
                            chain.extend([*fd, ig, id]);
                            let (actor, site, at, reason) = match (inherited_audit(&chain), &opts.migration) {
                                (Some(ar), _) => audit(cx, ar, &ipath)?,
                                (None, Some(m)) => (
                                    m.user.clone(),
                                    m.site.clone(),
                                    m.at,
                                    Some(format!(
                                        "migrated: {}; source {} (SHA-256 {source_sha}); source author: none recorded; source time: none recorded",
                                        m.reason, cx.file
                                    )),
                                ),
                                (None, None) => {
                                    return Err(cx.err(
                                        &ipath,
                                        "no <AuditRecord> on the value or any element around it: rct needs who, where and when for every value. If this is a snapshot (REDCap and OpenClinica exports carry no audit trail), import it as a migration: --attribute-to USER --reason \"migration from REDCap project 123\"",
                                    ))
                                }
                            };
                            earliest = Some(earliest.map_or(at, |e| e.min(at)));
                            let key = (
                                subject.to_string(),
                                visit.clone(),
                                form.clone(),
                                field.clone(),
                            );
                            // The value's transaction type, or its nearest
                            // enclosing element's.
                            let tx = chain.iter().rev().find_map(|n| n.attr("TransactionType"));
                            let payload = match (tx, last.get(&key)) {
                                (Some("Update"), old) | (Some("Remove"), old) => {
                                    let new = if tx == Some("Remove") {
                                        Value::Null
                                    } else {
                                        value.clone()
                                    };
                                    Payload::ValueChanged {
                                        participant: subject.into(),
                                        visit: visit.clone(),
                                        form: form.clone(),
                                        field: field.clone(),
                                        old: old.cloned().unwrap_or(Value::Null),
                                        new,
                                    }
                                }
                                _ => Payload::ValueEntered {
                                    participant: subject.into(),
                                    visit: visit.clone(),
                                    form: form.clone(),
                                    field: field.clone(),
                                    value: value.clone(),
                                },
                            };
                            let stored = if tx == Some("Remove") {
                                Value::Null
                            } else {
                                value
                            };
                            last.insert(key, stored);
                            item_data += 1;
                            forms_seen.insert(form.clone());
                            body.push(EventDraft {
                                software: None,
                                trial: trial.to_string(),
                                at,
                                actor,
                                role: Role::Investigator,
                                site: Some(site),
                                reason,
                                payload,
                            });
                        }
                    }
                }
            }
            if let Some(tag) = &allocation_tag {
                for al in sd.all(tag) {
                    allocations += 1;
                    let apath = format!("{path}/{tag}");
                    let at =
                        parse_time(cx.need(al, "DateTimeStamp", &apath)?).ok_or_else(|| {
                            cx.err(&apath, "DateTimeStamp is not an ISO 8601 date-time")
                        })?;
                    let payload: Payload = serde_json::from_value(serde_json::json!({
                        "type": "randomised",
                        "participant": subject,
                        "arm": cx.need(al, "ArmID", &apath)?,
                        "kit": al.attr("Kit"),
                        "position": cx.need(al, "Position", &apath)?.parse::<u64>().map_err(|_| cx.err(&apath, "Position is not a positive integer"))?,
                        "stratum": cx.need(al, "Stratum", &apath)?,
                    }))
                    .map_err(|e| cx.err(&apath, e.to_string()))?;
                    earliest = Some(earliest.map_or(at, |e| e.min(at)));
                    body.push(EventDraft {
                        software: None,
                        trial: trial.to_string(),
                        at,
                        actor: strip(cx.need(al, "UserOID", &apath)?, "USR.").to_string(),
                        role: Role::Investigator,
                        site: Some(strip(cx.need(al, "LocationOID", &apath)?, "L.").to_string()),
                        reason: None,
                        payload,
                    });
                }
            }
        }
    }
    Ok(Clinical {
        body,
        earliest,
        subjects,
        item_data,
        allocations,
        skipped,
        forms: forms_seen.len(),
    })
}

fn audit(
    cx: &Ctx<'_>,
    ar: &Node,
    path: &str,
) -> Result<(String, String, DateTime<Utc>, Option<String>), OdmError> {
    let p = format!("{path}/AuditRecord");
    let user = ar
        .first("UserRef")
        .and_then(|u| u.attr("UserOID"))
        .ok_or_else(|| cx.err(&p, "no <UserRef UserOID=...>"))?;
    let loc = ar
        .first("LocationRef")
        .and_then(|u| u.attr("LocationOID"))
        .ok_or_else(|| cx.err(&p, "no <LocationRef LocationOID=...>"))?;
    let stamp = ar
        .first("DateTimeStamp")
        .map(|d| d.text.as_str())
        .ok_or_else(|| cx.err(&p, "no <DateTimeStamp>"))?;
    let at = parse_time(stamp).ok_or_else(|| {
        cx.err(
            &p,
            format!("DateTimeStamp `{stamp}` is not an ISO 8601 date-time with a zone"),
        )
    })?;
    let reason = ar.first("ReasonForChange").map(|r| r.text.clone());
    Ok((
        strip(user, "USR.").to_string(),
        strip(loc, "L.").to_string(),
        at,
        reason,
    ))
}
