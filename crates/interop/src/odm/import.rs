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
    /// ItemData imported as events.
    pub item_data: usize,
    /// Allocations read (rct extension).
    pub allocations: usize,
    /// What the skeleton had to fill in.
    pub notes: Vec<String>,
    /// Forms with at least one value imported.
    pub forms: usize,
    /// ItemData read but not imported, by reason (never dropped silently).
    pub skipped: BTreeMap<String, usize>,
}

/// How values without their own audit trail are imported.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// A snapshot (REDCap, OpenClinica) holds no `<AuditRecord>`: with a
    /// migration, each such value becomes an event attributed to the user who
    /// migrates it (never as its author), with the reason, the source file's
    /// SHA-256 and whatever author and time the source holds.
    pub migration: Option<Migration>,
}

/// Who migrates a snapshot, why, and when.
#[derive(Debug, Clone)]
pub struct Migration {
    /// The rct user who migrates the data (`--attribute-to`).
    pub user: String,
    /// Why (`--reason`, e.g. "migration from REDCap project 123").
    pub reason: String,
    /// When the migration runs (a parameter: no clock here).
    pub at: DateTime<Utc>,
    /// Site recorded on the events.
    pub site: String,
}

/// Skip reason for repeating forms and item groups.
pub const SKIP_REPEATING: &str = "repeating group (not yet supported)";
/// Skip reason for an ItemOID the metadata does not define.
pub const SKIP_UNKNOWN_ITEM: &str = "ItemOID names no item of the metadata";

/// The visit of values held in forms directly under a subject (REDCap
/// classic projects have no events).
pub const CLASSIC_VISIT: &str = "record";

/// The user recorded as registering an imported trial.
pub const IMPORT_ACTOR: &str = "odm-import";

/// Largest ODM file imported (64 MiB): the whole element tree is held in memory.
pub const MAX_ODM_BYTES: usize = 64 << 20;

pub(super) fn strip<'a>(s: &'a str, prefix: &str) -> &'a str {
    s.strip_prefix(prefix).unwrap_or(s)
}

pub(super) struct Ctx<'a> {
    pub(super) file: &'a str,
}

impl Ctx<'_> {
    pub(super) fn err(&self, path: &str, message: impl Into<String>) -> OdmError {
        OdmError::Content {
            file: self.file.into(),
            path: path.into(),
            message: message.into(),
        }
    }
    pub(super) fn need<'n>(
        &self,
        n: &'n Node,
        attr: &str,
        path: &str,
    ) -> Result<&'n str, OdmError> {
        n.attr(attr)
            .ok_or_else(|| self.err(path, format!("<{}> has no {attr} attribute", n.name)))
    }
}

pub(super) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A value from ODM text, typed by the item's DataType.
pub(super) fn typed(text: &str, data_type: &str) -> Value {
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

/// Imports an ODM document held in `src` (`file` names it in messages);
/// every value must carry its own audit trail. `secrets` are the new
/// trial's seed and seal key (drawn by the caller; see [`rct_record::seal`]).
pub fn import(
    src: &str,
    file: &str,
    secrets: rct_record::TrialSecrets,
) -> Result<OdmImport, OdmError> {
    import_with(src, file, &ImportOptions::default(), secrets)
}

/// Imports an ODM document, with [`ImportOptions`].
pub fn import_with(
    src: &str,
    file: &str,
    opts: &ImportOptions,
    secrets: rct_record::TrialSecrets,
) -> Result<OdmImport, OdmError> {
    if let Some(m) = &opts.migration {
        // The migrating user is an rct user: the record's one name rule.
        rct_record::check_user_name(&m.user).map_err(|e| OdmError::Content {
            file: file.into(),
            path: "--attribute-to".into(),
            message: e.to_string(),
        })?;
        if m.reason.trim().is_empty() {
            return Err(OdmError::Content {
                file: file.into(),
                path: "--reason".into(),
                message: "the reason for the migration is empty; say whose data it is and why (\"migration from REDCap project 123\")".into(),
            });
        }
    }
    if src.len() > MAX_ODM_BYTES {
        return Err(OdmError::Limit {
            file: file.into(),
            message: format!(
                "the file is {} bytes, over the {MAX_ODM_BYTES}-byte limit for an ODM import; export the study in parts (by site or by participants)",
                src.len()
            ),
        });
    }
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
        .ok_or_else(|| cx.err("ODM", "no <Study>: the file holds clinical data without the study's metadata (forms, items), which rct needs to build the protocol; export the study with its metadata (a Snapshot holding <Study> and <ClinicalData>)"))?;
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
    // Without the rct alias, the participants in the file (at least 1): a
    // placeholder the checker accepts, listed with the assumptions.
    let in_file = root
        .all("ClinicalData")
        .flat_map(|cd| cd.all("SubjectData"))
        .count()
        .max(1);
    let target = fill(
        "target_enrolment",
        alias1(proto, "rct.target_enrolment"),
        &in_file.to_string(),
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
    // The OID is an item's identity: two items with one Name stay two fields.
    let item_ids = item_identities(mdv.all("ItemDef"));
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
        let id = def
            .attr("OID")
            .and_then(|o| item_ids.get(o))
            .cloned()
            .unwrap_or_default();
        // The question, else the Name, with the XML's indentation collapsed.
        let label = clean_label(&def.translated("Question").unwrap_or_default())
            .or_else(|| clean_label(def.attr("Name").unwrap_or("")))
            .unwrap_or_else(|| id.clone());
        s.push_str(&format!(
            "id = {}\nlabel = {}\ntype = {}\n",
            q(&id),
            q(&label),
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
    let mut form_ids: Vec<String> = Vec::new();
    for f in mdv.all("FormDef") {
        let oid = cx.need(f, "OID", "ODM/Study/MetaDataVersion/FormDef")?;
        let fid_owned = form_id(oid);
        let fid = fid_owned.as_str();
        form_ids.push(fid.to_string());
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
                        item_ids.get(item_oid).cloned().unwrap_or_default(),
                        def.attr("DataType").unwrap_or("text").to_string(),
                    ),
                );
            }
        }
    }

    // A CodeListRef naming no CodeListDef leaves its field's choices undefined.
    let lists: std::collections::BTreeSet<&str> = mdv
        .all("CodeListDef")
        .filter_map(|c| c.attr("OID"))
        .collect();
    for d in mdv.all("ItemDef") {
        if let Some(r) = d.first("CodeListRef").and_then(|c| c.attr("CodeListOID")) {
            if !lists.contains(r) {
                notes.push(format!(
                    "ItemDef {}: CodeListRef `{r}` names no CodeListDef in the file; define the code list `{}` in the skeleton",
                    d.attr("OID").unwrap_or("?"),
                    strip(r, "CL.")
                ));
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
            .filter_map(|r| r.attr("FormOID").map(form_id))
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
    // A REDCap classic project has no events: its forms sit directly under
    // each subject, and are held by one visit.
    let classic = root
        .all("ClinicalData")
        .flat_map(|cd| cd.all("SubjectData"))
        .any(|sd| sd.first("FormData").is_some());
    if classic && mdv.first("StudyEventDef").is_none() {
        notes.push(format!(
            "the file has no study events (a REDCap classic project): its forms are held by one visit `{CLASSIC_VISIT}`"
        ));
        t.push_str(&format!(
            "\n[[visits]]\nid = {}\nlabel = \"Record\"\nday = 0\nwindow = [0, 0]\nforms = {}\n",
            q(CLASSIC_VISIT),
            q_list(&form_ids)
        ));
    }
    for n in &notes {
        t.push_str(&format!(
            "\n[[assumptions]]\ntopic = \"ODM import\"\ntext = {}\n",
            q(n)
        ));
    }

    // ---- clinical data
    let cd = super::clinical::read(
        &root,
        &cx,
        &trial,
        &item_index,
        rct_name("Allocation"),
        opts,
        src,
    )?;
    let mut drafts: Vec<EventDraft> = Vec::new();
    let reg_at = registered
        .or(cd.earliest)
        .or_else(|| root.attr("CreationDateTime").and_then(parse_time))
        .unwrap_or_default();
    drafts.push(EventDraft {
        software: None,
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
    drafts.extend(cd.body);
    Ok(OdmImport {
        trial,
        protocol_toml: t,
        events: drafts,
        subjects: cd.subjects,
        item_data: cd.item_data,
        allocations: cd.allocations,
        notes,
        forms: cd.forms,
        skipped: cd.skipped,
    })
}

/// Field ids from ItemDef OIDs: rct's own `I.<form>.<name>` and
/// `I.FACT.<name>` give the Name (so rct's exports read back unchanged); an
/// OID that is already an identifier (`record_id`) is kept; any other
/// (`IT.AGE`, spaces, quotes, non-ASCII) becomes its slug (`it_age`), made
/// unique by a suffix when two of these would meet.
fn item_identities<'n>(defs: impl Iterator<Item = &'n Node>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut used = std::collections::BTreeSet::new();
    for d in defs {
        let Some(oid) = d.attr("OID") else { continue };
        let name = d.attr("Name").unwrap_or("").trim();
        let ident = |s: &str| {
            s.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        if oid.starts_with("I.") && oid.ends_with(&format!(".{name}")) && ident(name) {
            // Unique within its form by construction (`I.<form>.<name>`).
            out.insert(oid.to_string(), name.to_string());
            continue;
        }
        let base = if ident(oid) {
            oid.to_string()
        } else {
            crate::tomlw::slug(oid)
        };
        let mut id = base.clone();
        let mut k = 2;
        while !used.insert(id.clone()) {
            id = format!("{base}_{k}");
            k += 1;
        }
        out.insert(oid.to_string(), id);
    }
    out
}

/// A form's id from its FormDef OID: rct's own `F.<id>` gives the id; an OID
/// that is already an identifier is kept; any other (REDCap's
/// `Form.demographics`) becomes its slug (`form_demographics`).
pub(super) fn form_id(oid: &str) -> String {
    match oid.strip_prefix("F.") {
        Some(rest) if is_ident(rest) => rest.to_string(),
        _ if is_ident(oid) => oid.to_string(),
        _ => crate::tomlw::slug(oid),
    }
}

/// An identifier: an ASCII letter or `_`, then letters, digits or `_`.
fn is_ident(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Text with runs of whitespace (the XML's indentation) made one space;
/// `None` when nothing is left.
fn clean_label(s: &str) -> Option<String> {
    let t = s.split_whitespace().collect::<Vec<_>>().join(" ");
    (!t.is_empty()).then_some(t)
}

/// A number written so that it reads back to the same `f64`.
fn num_exact(x: f64) -> String {
    let s = num(x);
    match s.parse::<f64>() {
        Ok(v) if v == x => s,
        _ => format!("{x:?}"),
    }
}
