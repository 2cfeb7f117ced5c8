//! ODM 1.3.2 import: metadata into a protocol skeleton, clinical data with
//! audit records into event drafts (the caller seals them onto a chain).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rct_record::{EventDraft, Payload, Role};
use serde::Serialize;
use serde_json::Value;

use super::dom::{self, Node};
use super::{OdmError, RCT_NS};
use crate::tomlw::{num, q, q_list};

/// The result of importing an ODM file.
#[derive(Debug, Clone, Serialize)]
pub struct OdmImport {
    /// Trial id (ProtocolName).
    pub trial: String,
    /// The protocol skeleton (TOML).
    pub protocol_toml: String,
    /// Events to append, in order, starting with the registration.
    pub events: Vec<EventDraft>,
    /// Participants read.
    pub subjects: usize,
    /// ItemData read.
    pub item_data: usize,
    /// Allocations read (rct extension).
    pub allocations: usize,
    /// What the skeleton had to fill in.
    pub notes: Vec<String>,
}

/// The user recorded as registering an imported trial.
pub const IMPORT_ACTOR: &str = "odm-import";

fn strip<'a>(s: &'a str, prefix: &str) -> &'a str {
    s.strip_prefix(prefix).unwrap_or(s)
}

struct Ctx<'a> {
    file: &'a str,
}

impl Ctx<'_> {
    fn err(&self, path: &str, message: impl Into<String>) -> OdmError {
        OdmError::Content {
            file: self.file.into(),
            path: path.into(),
            message: message.into(),
        }
    }
    fn need<'n>(&self, n: &'n Node, attr: &str, path: &str) -> Result<&'n str, OdmError> {
        n.attr(attr)
            .ok_or_else(|| self.err(path, format!("<{}> has no {attr} attribute", n.name)))
    }
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A value from ODM text, typed by the item's DataType.
fn typed(text: &str, data_type: &str) -> Value {
    match data_type {
        "integer" | "float" | "double" => serde_json::from_str::<serde_json::Number>(text)
            .map(Value::Number)
            .unwrap_or_else(|_| Value::String(text.to_string())),
        "boolean" => match text {
            "true" | "1" => Value::Bool(true),
            "false" | "0" => Value::Bool(false),
            t => Value::String(t.to_string()),
        },
        _ => Value::String(text.to_string()),
    }
}

/// Imports an ODM document held in `src` (`file` names it in messages).
pub fn import(
    src: &str,
    file: &str,
    secrets: rct_record::TrialSecrets,
) -> Result<OdmImport, OdmError> {
    let cx = Ctx { file };
    let root = dom::parse(src).map_err(|message| OdmError::Xml {
        file: file.into(),
        message,
    })?;
    if root.name != "ODM" {
        return Err(cx.err(&root.name, "the root element is not <ODM>"));
    }
    // The prefix bound to rct's namespace, if any.
    let rct = root
        .attrs
        .iter()
        .find(|(k, v)| k.starts_with("xmlns:") && v == RCT_NS)
        .map(|(k, _)| strip(k, "xmlns:").to_string());
    let rct_name = |local: &str| rct.as_ref().map(|p| format!("{p}:{local}"));
    let study = root
        .first("Study")
        .ok_or_else(|| cx.err("ODM", "no <Study>"))?;
    let gv = study
        .first("GlobalVariables")
        .ok_or_else(|| cx.err("ODM/Study", "no <GlobalVariables>"))?;
    let text_of = |n: &Node, tag: &str| n.first(tag).map(|x| x.text.clone());
    let trial = text_of(gv, "ProtocolName")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| cx.err("ODM/Study/GlobalVariables", "no <ProtocolName>"))?;
    let title = text_of(gv, "StudyDescription").unwrap_or_else(|| trial.clone());
    let study_name = text_of(gv, "StudyName").unwrap_or_else(|| trial.clone());
    let mut notes: Vec<String> = Vec::new();

    let units: Vec<(String, String)> = study
        .first("BasicDefinitions")
        .map(|b| {
            b.all("MeasurementUnit")
                .map(|u| {
                    (
                        u.attr("OID").unwrap_or("").to_string(),
                        u.attr("Name").unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let mdv = study
        .first("MetaDataVersion")
        .ok_or_else(|| cx.err("ODM/Study", "no <MetaDataVersion>"))?;
    let proto = mdv.first("Protocol");
    // Lists are one alias with line-break separated items.
    let aliases = |n: Option<&Node>, ctx: &str| -> Vec<String> {
        n.map(|n| {
            n.all("Alias")
                .filter(|a| a.attr("Context") == Some(ctx))
                .flat_map(|a| {
                    a.attr("Name")
                        .unwrap_or("")
                        .split('\n')
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                })
                .collect()
        })
        .unwrap_or_default()
    };
    let alias1 = |n: Option<&Node>, ctx: &str| aliases(n, ctx).into_iter().next();

    // ---- trial
    let mut t = String::new();
    t.push_str(&format!(
        "# Protocol skeleton imported from the ODM file {file} by `rct import odm`.\n# Keys ODM does not carry are filled with placeholders listed under [[assumptions]].\n"
    ));
    if !units.is_empty() {
        let names: Vec<&str> = units.iter().map(|u| u.1.as_str()).collect();
        t.push_str(&format!("units = {}\n", q_list(&names)));
    }
    t.push_str(&format!(
        "\n[trial]\nid = {}\ntitle = {}\n",
        q(&trial),
        q(&title)
    ));
    if study_name != trial {
        t.push_str(&format!("short_title = {}\n", q(&study_name)));
    }
    t.push_str(&format!(
        "registry_ids = {}\n",
        q_list(&aliases(proto, "rct.registry_id"))
    ));
    let mut fill = |key: &str, got: Option<String>, default: &str| -> String {
        got.unwrap_or_else(|| {
            notes.push(format!(
                "trial.{key} is not in the file; written as `{default}`"
            ));
            default.to_string()
        })
    };
    let sponsor = fill(
        "sponsor",
        alias1(proto, "rct.sponsor"),
        "unknown (imported from ODM)",
    );
    let phase = fill("phase", alias1(proto, "rct.phase"), "not-applicable");
    let status = fill("status", alias1(proto, "rct.status"), "not-yet-recruiting");
    let target = fill(
        "target_enrolment",
        alias1(proto, "rct.target_enrolment"),
        "0",
    );
    let design = fill("randomisation.design", alias1(proto, "rct.design"), "cr");
    t.push_str(&format!(
        "sponsor = {}\nconditions = {}\nphase = {}\nstatus = {}\ntarget_enrolment = {}\n",
        q(&sponsor),
        q_list(&aliases(proto, "rct.condition")),
        q(&phase),
        q(&status),
        target.parse::<u32>().unwrap_or(0)
    ));

    // ---- arms
    let arms_node = rct_name("Arms").and_then(|n| study.first(&n).cloned());
    let mut arms: Vec<rct_record::Arm> = Vec::new();
    match (&arms_node, rct_name("Arm")) {
        (Some(an), Some(arm_tag)) => {
            for a in an.all(&arm_tag) {
                let id = cx.need(a, "ID", "ODM/Study/rct:Arms")?;
                let label = a.attr("Label").unwrap_or(id);
                arms.push(rct_record::Arm {
                    id: id.into(),
                    name: label.into(),
                });
                t.push_str(&format!(
                    "\n[[arms]]\nid = {}\nlabel = {}\nkind = {}\nweight = {}\n",
                    q(id),
                    q(label),
                    q(a.attr("Kind").unwrap_or("experimental")),
                    a.attr("Weight")
                        .and_then(|w| w.parse::<u32>().ok())
                        .unwrap_or(1)
                ));
                if a.attr("Control") == Some("true") {
                    t.push_str("control = true\n");
                }
                if let Some(d) = a.attr("Description") {
                    t.push_str(&format!("description = {}\n", q(d)));
                }
            }
        }
        _ => {
            notes.push(
                "the file has no arms (a blinded export); two placeholder arms written".into(),
            );
            for (id, label) in [
                ("arm_1", "Arm 1 (concealed)"),
                ("arm_2", "Arm 2 (concealed)"),
            ] {
                arms.push(rct_record::Arm {
                    id: id.into(),
                    name: label.into(),
                });
                t.push_str(&format!(
                    "\n# Placeholder: arms are concealed in a blinded export.\n[[arms]]\nid = {}\nlabel = {}\nkind = \"experimental\"\nweight = 1\n",
                    q(id),
                    q(label)
                ));
            }
        }
    }

    // ---- masking, roles, sites, randomisation
    let masked = aliases(proto, "rct.masked");
    let kit_codes = alias1(proto, "rct.kit_codes").is_some();
    t.push_str(&format!(
        "\n[masking]\nblinded = {}\nkit_codes = {kit_codes}\n",
        q_list(&masked)
    ));
    for r in aliases(proto, "rct.role") {
        let mut parts = r.split_whitespace();
        let id = parts.next().unwrap_or("");
        let flags: Vec<&str> = parts.collect();
        t.push_str(&format!(
            "\n[[roles]]\nid = {}\nsees_arms = {}\nsees_kits = {}\n",
            q(id),
            flags.contains(&"sees_arms"),
            flags.contains(&"sees_kits")
        ));
    }
    let admin = root.first("AdminData");
    let mut registered: Option<DateTime<Utc>> = None;
    if let Some(ad) = admin {
        for l in ad.all("Location") {
            let oid = cx.need(l, "OID", "ODM/AdminData/Location")?;
            let id = strip(oid, "L.");
            t.push_str(&format!(
                "\n[[sites]]\nid = {}\nname = {}\n",
                q(id),
                q(l.attr("Name").unwrap_or(id))
            ));
            if registered.is_none() {
                registered = l
                    .first("MetaDataVersionRef")
                    .and_then(|m| m.attr("EffectiveDate"))
                    .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|d| d.and_utc());
            }
        }
    }
    t.push_str(&format!("\n[randomisation]\ndesign = {}\n", q(&design)));

    // ---- metadata lookups
    let item_defs: BTreeMap<&str, &Node> = mdv
        .all("ItemDef")
        .filter_map(|n| n.attr("OID").map(|o| (o, n)))
        .collect();
    let methods: BTreeMap<&str, String> = mdv
        .all("MethodDef")
        .filter_map(|n| {
            let oid = n.attr("OID")?;
            let expr = n.first("FormalExpression")?.text.clone();
            Some((oid, expr))
        })
        .collect();
    let unit_name = |oid: &str| units.iter().find(|u| u.0 == oid).map(|u| u.1.clone());
    let field_toml = |def: &Node, required: bool, derived: Option<&String>| -> String {
        let mut s = String::new();
        let dtype = def.attr("DataType").unwrap_or("text");
        let cl = def
            .first("CodeListRef")
            .and_then(|c| c.attr("CodeListOID"))
            .map(|c| strip(c, "CL.").to_string());
        let kind = match (dtype, &cl) {
            (_, Some(_)) => "choice",
            ("float" | "double", _) => "number",
            ("integer", _) => "integer",
            ("date", _) => "date",
            ("boolean", _) => "boolean",
            _ => "text",
        };
        s.push_str(&format!(
            "id = {}\nlabel = {}\ntype = {}\n",
            q(def.attr("Name").unwrap_or("")),
            q(&def.translated("Question").unwrap_or_default()),
            q(kind)
        ));
        if let Some(u) = def
            .first("MeasurementUnitRef")
            .and_then(|m| m.attr("MeasurementUnitOID"))
            .and_then(unit_name)
        {
            s.push_str(&format!("unit = {}\n", q(&u)));
        }
        if let Some(c) = &cl {
            s.push_str(&format!("code_list = {}\n", q(c)));
        }
        if required {
            s.push_str("required = true\n");
        }
        for sh in ["Hard", "Soft"] {
            let mut lo = None;
            let mut hi = None;
            for rc in def
                .all("RangeCheck")
                .filter(|r| r.attr("SoftHard") == Some(sh))
            {
                let v = rc
                    .first("CheckValue")
                    .and_then(|c| c.text.trim().parse::<f64>().ok());
                match rc.attr("Comparator") {
                    Some("GE") => lo = v,
                    Some("LE") => hi = v,
                    _ => {}
                }
            }
            if let (Some(lo), Some(hi)) = (lo, hi) {
                s.push_str(&format!(
                    "{} = [{}, {}]\n",
                    sh.to_lowercase(),
                    num_exact(lo),
                    num_exact(hi)
                ));
            }
        }
        if let Some(d) = derived {
            s.push_str(&format!("derived = {}\n", q(d)));
        }
        s
    };

    // ---- facts and criteria
    for def in mdv.all("ItemDef") {
        if !def.attr("OID").is_some_and(|o| o.starts_with("I.FACT.")) {
            continue;
        }
        let flags = def
            .all("Alias")
            .find(|a| a.attr("Context") == Some("rct.fact"))
            .and_then(|a| a.attr("Name"))
            .unwrap_or("");
        let body = field_toml(def, false, None);
        t.push_str(&format!("\n[[facts]]\n{body}"));
        if flags.split_whitespace().any(|f| f == "judgement") {
            t.push_str("judgement = true\n");
        }
        if flags.split_whitespace().any(|f| f == "uln") {
            t.push_str("uln = true\n");
        }
    }
    for c in mdv.all("ConditionDef") {
        let oid = cx.need(c, "OID", "ODM/Study/MetaDataVersion/ConditionDef")?;
        let kind = c
            .all("Alias")
            .find(|a| a.attr("Context") == Some("rct.criterion"))
            .and_then(|a| a.attr("Name"));
        let Some(kind) = kind else {
            notes.push(format!(
                "ConditionDef {oid} is not an rct criterion; skipped"
            ));
            continue;
        };
        let rule = c
            .first("FormalExpression")
            .map(|f| f.text.clone())
            .unwrap_or_default();
        t.push_str(&format!(
            "\n[[criteria]]\nid = {}\nkind = {}\ntext = {}\nrule = {}\n",
            q(strip(oid, "C.")),
            q(kind),
            q(&c.translated("Description").unwrap_or_default()),
            q(&rule)
        ));
        if let Some(n) = c
            .all("Alias")
            .find(|a| a.attr("Context") == Some("rct.note"))
            .and_then(|a| a.attr("Name"))
        {
            t.push_str(&format!("note = {}\n", q(n)));
        }
    }

    // ---- code lists
    for cl in mdv.all("CodeList") {
        let oid = cx.need(cl, "OID", "ODM/Study/MetaDataVersion/CodeList")?;
        t.push_str(&format!(
            "\n[[code_lists]]\nid = {}\nitems = [\n",
            q(strip(oid, "CL."))
        ));
        for it in cl.all("CodeListItem") {
            t.push_str(&format!(
                "  {{ code = {}, label = {} }},\n",
                q(it.attr("CodedValue").unwrap_or("")),
                q(&it.translated("Decode").unwrap_or_default())
            ));
        }
        t.push_str("]\n");
    }

    // ---- forms
    let groups: BTreeMap<&str, &Node> = mdv
        .all("ItemGroupDef")
        .filter_map(|n| n.attr("OID").map(|o| (o, n)))
        .collect();
    // ItemOID -> (form id, DataType) for the clinical data.
    let mut item_index: BTreeMap<String, (String, String, String)> = BTreeMap::new();
    for f in mdv.all("FormDef") {
        let oid = cx.need(f, "OID", "ODM/Study/MetaDataVersion/FormDef")?;
        let fid = strip(oid, "F.");
        t.push_str(&format!(
            "\n[[forms]]\nid = {}\nlabel = {}\n",
            q(fid),
            q(f.attr("Name").unwrap_or(fid))
        ));
        for (ctx, key) in [("rct.entered_by", "entered_by"), ("rct.arm", "arm")] {
            if let Some(v) = f
                .all("Alias")
                .find(|a| a.attr("Context") == Some(ctx))
                .and_then(|a| a.attr("Name"))
            {
                t.push_str(&format!("{key} = {}\n", q(v)));
            }
        }
        for gr in f.all("ItemGroupRef") {
            let Some(g) = gr.attr("ItemGroupOID").and_then(|o| groups.get(o)) else {
                continue;
            };
            for ir in g.all("ItemRef") {
                let item_oid = cx.need(ir, "ItemOID", "ItemGroupDef/ItemRef")?;
                let def = item_defs.get(item_oid).ok_or_else(|| {
                    cx.err(
                        &format!("ItemGroupDef/ItemRef[{item_oid}]"),
                        "names no ItemDef",
                    )
                })?;
                let derived = ir.attr("MethodOID").and_then(|m| methods.get(m));
                let body = field_toml(def, ir.attr("Mandatory") == Some("Yes"), derived);
                t.push_str(&format!("\n[[forms.fields]]\n{body}"));
                item_index.insert(
                    item_oid.to_string(),
                    (
                        fid.to_string(),
                        def.attr("Name").unwrap_or("").to_string(),
                        def.attr("DataType").unwrap_or("text").to_string(),
                    ),
                );
            }
        }
    }

    // ---- visits
    for se in mdv.all("StudyEventDef") {
        let oid = cx.need(se, "OID", "ODM/Study/MetaDataVersion/StudyEventDef")?;
        let vid = strip(oid, "SE.");
        let al = |ctx: &str| aliases(Some(se), ctx);
        let day: i32 = al("rct.day")
            .first()
            .and_then(|d| d.parse().ok())
            .unwrap_or(0);
        let window: Vec<i32> = al("rct.window")
            .first()
            .map(|w| {
                w.split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        let (lo, hi) = match window.as_slice() {
            [lo, hi] => (*lo, *hi),
            _ => {
                notes.push(format!(
                    "visit {vid}: no rct:window alias; window [day, day] written"
                ));
                (day, day)
            }
        };
        let forms: Vec<String> = se
            .all("FormRef")
            .filter_map(|r| r.attr("FormOID").map(|o| strip(o, "F.").to_string()))
            .collect();
        t.push_str(&format!(
            "\n[[visits]]\nid = {}\nlabel = {}\nday = {day}\nwindow = [{lo}, {hi}]\nforms = {}\n",
            q(vid),
            q(se.attr("Name").unwrap_or(vid)),
            q_list(&forms)
        ));
        let ass = al("rct.assessment");
        if !ass.is_empty() {
            t.push_str(&format!("assessments = {}\n", q_list(&ass)));
        }
    }
    for n in &notes {
        t.push_str(&format!(
            "\n[[assumptions]]\ntopic = \"ODM import\"\ntext = {}\n",
            q(n)
        ));
    }

    // ---- clinical data
    let mut drafts: Vec<EventDraft> = Vec::new();
    let mut body: Vec<EventDraft> = Vec::new();
    let mut earliest: Option<DateTime<Utc>> = None;
    let mut subjects = 0;
    let mut item_data = 0;
    let mut allocations = 0;
    let mut last: BTreeMap<(String, String, String, String), Value> = BTreeMap::new();
    for cd in root.all("ClinicalData") {
        for sd in cd.all("SubjectData") {
            subjects += 1;
            let subject = cx.need(sd, "SubjectKey", "ClinicalData/SubjectData")?;
            let path = format!("ClinicalData/SubjectData[{subject}]");
            for se in sd.all("StudyEventData") {
                let visit = strip(cx.need(se, "StudyEventOID", &path)?, "SE.");
                for fd in se.all("FormData") {
                    for ig in fd.all("ItemGroupData") {
                        for id in ig.all("ItemData") {
                            item_data += 1;
                            let item_oid = cx.need(id, "ItemOID", &path)?;
                            let ipath = format!("{path}/ItemData[{item_oid}]");
                            let (form, field, dtype) = item_index
                                .get(item_oid)
                                .cloned()
                                .ok_or_else(|| cx.err(&ipath, "ItemOID names no item of a form"))?;
                            let value = if id.attr("IsNull") == Some("Yes") {
                                Value::Null
                            } else {
                                typed(id.attr("Value").unwrap_or(""), &dtype)
                            };
                            let ar = id
                                .first("AuditRecord")
                                .ok_or_else(|| cx.err(&ipath, "no <AuditRecord>: rct needs who, where and when for every value"))?;
                            let (actor, site, at, reason) = audit(&cx, ar, &ipath)?;
                            earliest = Some(earliest.map_or(at, |e| e.min(at)));
                            let key = (
                                subject.to_string(),
                                visit.to_string(),
                                form.clone(),
                                field.clone(),
                            );
                            let payload = match (id.attr("TransactionType"), last.get(&key)) {
                                (Some("Update"), old) => Payload::ValueChanged {
                                    participant: subject.into(),
                                    visit: visit.into(),
                                    form,
                                    field,
                                    old: old.cloned().unwrap_or(Value::Null),
                                    new: value.clone(),
                                },
                                _ => Payload::ValueEntered {
                                    participant: subject.into(),
                                    visit: visit.into(),
                                    form,
                                    field,
                                    value: value.clone(),
                                },
                            };
                            last.insert(key, value);
                            body.push(EventDraft {
                                trial: trial.clone(),
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
            if let Some(tag) = rct_name("Allocation") {
                for al in sd.all(&tag) {
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
                        trial: trial.clone(),
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
    let reg_at = registered
        .or(earliest)
        .or_else(|| root.attr("CreationDateTime").and_then(parse_time))
        .unwrap_or_default();
    drafts.push(EventDraft {
        trial: trial.clone(),
        at: reg_at,
        actor: IMPORT_ACTOR.into(),
        role: Role::Admin,
        site: None,
        reason: Some(format!("imported from the ODM file {file}")),
        payload: Payload::TrialRegistered {
            title: title.clone(),
            blinded: !masked.is_empty() || arms_node.is_none(),
            arms,
            design: Value::String(design),
            seed: secrets.seed,
            seal_key: Some(secrets.seal_key_hex()),
            public_design: None,
        },
    });
    drafts.extend(body);
    Ok(OdmImport {
        trial,
        protocol_toml: t,
        events: drafts,
        subjects,
        item_data,
        allocations,
        notes,
    })
}

/// A number written so that it reads back to the same `f64`.
fn num_exact(x: f64) -> String {
    let s = num(x);
    match s.parse::<f64>() {
        Ok(v) if v == x => s,
        _ => format!("{x:?}"),
    }
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
