//! ODM 1.3.2 export.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};
use rct_core::protocol::{Protocol, ValueType};
use rct_record::{Event, TrialState};
use serde::Serialize;
use serde_json::Value;

use super::collect::{form_visible, participant_sites, ItemKey, OdmCollector, Span, Val};
use super::{OdmError, ODM_NS, RCT_NS};

/// What an export includes.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Include arms, allocations and arm-specific forms (only for a role
    /// entitled to see them; the caller decides).
    pub unblinded: bool,
    /// `SourceSystemVersion` written in the header.
    pub source_version: String,
}

/// Counts of what was written.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExportSummary {
    /// Participants (SubjectData).
    pub subjects: usize,
    /// ItemData elements (one per value event).
    pub item_data: usize,
    /// Allocations written (0 in a blinded export).
    pub allocations: usize,
    /// Value events skipped because the protocol has no such visit, form or
    /// field. (Values of arm-specific forms in a blinded export are left out
    /// without being counted: the count would tell how much one arm did.)
    pub skipped: usize,
}

/// Escapes text content.
pub(crate) fn esc_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// Escapes an attribute value (whitespace kept as character references so
/// that it survives attribute normalisation).
pub(crate) fn esc_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

/// ODM date-time (UTC, `Z`).
pub(crate) fn dt(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The ODM DataType of a protocol value type.
pub(crate) fn data_type(t: ValueType) -> &'static str {
    match t {
        ValueType::Number => "float",
        ValueType::Integer => "integer",
        ValueType::Text | ValueType::Choice => "text",
        ValueType::Date => "date",
        ValueType::Boolean => "boolean",
    }
}

/// A value as ODM text (`None` for JSON null: written as `IsNull="Yes"`).
pub(crate) fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

/// Writes an element with a single TranslatedText child.
fn translated(out: &mut String, indent: &str, tag: &str, text: &str) {
    let _ = write!(out, "{indent}<{tag}><TranslatedText>");
    esc_text(text, out);
    let _ = writeln!(out, "</TranslatedText></{tag}>");
}

fn alias(out: &mut String, indent: &str, context: &str, name: &str) {
    let _ = writeln!(
        out,
        "{indent}<Alias Context=\"{}\" Name=\"{}\"/>",
        esc_attr(context),
        esc_attr(name)
    );
}

/// One alias holding a list (line-break separated); none for an empty list.
fn multi(out: &mut String, indent: &str, context: &str, items: impl Iterator<Item = String>) {
    let all: Vec<String> = items.collect();
    if !all.is_empty() {
        alias(out, indent, context, &all.join("\n"));
    }
}

fn kebab<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

pub(crate) fn unit_oid(k: usize) -> String {
    format!("U.{}", k + 1)
}

/// Exports a trial as ODM 1.3.2 XML. `protocol` gives the metadata; `events`
/// are the trial's whole log in order (they must fold).
pub fn export(
    protocol: &Protocol,
    events: &[Event],
    opts: &ExportOptions,
) -> Result<(String, ExportSummary), OdmError> {
    let trial = protocol.trial.id.get_ref().as_str();
    let state = TrialState::from_events(
        events.first().map_or(trial, |e| e.trial.as_str()),
        events.iter(),
    )
    .map_err(|e| OdmError::Events(e.to_string()))?;
    let mut collector = OdmCollector::new(protocol, opts);
    for e in events {
        collector.push(e);
    }
    let mut out = Vec::new();
    let summary = collector.finish(&participant_sites(&state), &mut out)?;
    let xml = String::from_utf8(out).map_err(|e| OdmError::Events(e.to_string()))?;
    Ok((xml, summary))
}

impl OdmCollector<'_> {
    /// Writes the XML to `out` (participants one at a time) given each
    /// participant's site ([`participant_sites`] of the folded state), and
    /// returns the counts.
    pub fn finish(
        self,
        sites_of: &BTreeMap<String, String>,
        out: &mut dyn std::io::Write,
    ) -> Result<ExportSummary, OdmError> {
        let OdmCollector {
            protocol,
            opts,
            names,
            mut values,
            arena,
            allocations,
            registered,
            latest,
            skipped,
            ..
        } = self;
        let opts = &opts;
        let trial = protocol.trial.id.get_ref().as_str();
        let io = |e: std::io::Error| OdmError::Events(format!("writing the export: {e}"));
        let mut summary = ExportSummary {
            skipped,
            ..ExportSummary::default()
        };
        let study_oid = format!("S.{trial}");
        let mdv_oid = format!("MDV.{trial}");
        let visible = |form: &str| form_visible(protocol, opts, form);
        // A value's or allocation's site: its event's, else the participant's.
        let site_of = |site: Option<u32>, subject: &str| -> String {
            site.map(|k| names.name(k).to_string())
                .or_else(|| sites_of.get(subject).cloned())
                .unwrap_or_else(|| "none".to_string())
        };
        let mut users: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut event_sites: BTreeSet<String> = BTreeSet::new();
        let text = |span: Span| span.and_then(|(at, len)| arena.get(at..at + len as usize));
        for (subject, list) in values.iter_mut() {
            // By item, each item's events in log order.
            list.sort_by_key(|(key, _)| *key);
            for (_, v) in list.iter() {
                let s = site_of(v.site, subject);
                users
                    .entry(names.name(v.actor).to_string())
                    .or_default()
                    .insert(s.clone());
                event_sites.insert(s);
            }
        }
        for (subject, a) in &allocations {
            let s = site_of(a.site, subject);
            users
                .entry(names.name(a.actor).to_string())
                .or_default()
                .insert(s.clone());
            event_sites.insert(s);
        }
        for p in values.keys().chain(allocations.keys()) {
            if let Some(s) = sites_of.get(p) {
                event_sites.insert(s.clone());
            }
        }
        // Sites: the protocol's, then any other named in the events.
        let mut sites: Vec<(String, String)> = protocol
            .sites
            .iter()
            .map(|s| (s.id.get_ref().clone(), s.name.clone()))
            .collect();
        for s in &event_sites {
            if !sites.iter().any(|(id, _)| id == s) {
                sites.push((s.clone(), s.clone()));
            }
        }

        let mut o = String::with_capacity(1 << 16);
        o.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = write!(o, "<ODM xmlns=\"{ODM_NS}\"");
        if opts.unblinded {
            let _ = write!(o, " xmlns:rct=\"{RCT_NS}\"");
        }
        // The file's time: the latest event it carries (so that a re-import
        // exports the same), else the registration.
        let latest = latest.or(registered);
        let stamp = latest.map_or_else(|| "1970-01-01T00:00:00Z".to_string(), |t| dt(&t));
        let _ = writeln!(
        o,
        " FileType=\"Transactional\" Granularity=\"All\" FileOID=\"{}\" CreationDateTime=\"{stamp}\" AsOfDateTime=\"{stamp}\" ODMVersion=\"1.3.2\" Originator=\"rct\" SourceSystem=\"rct\" SourceSystemVersion=\"{}\" Description=\"{}\">",
        esc_attr(&format!("rct.{trial}.{}", if opts.unblinded { "unblinded" } else { "blinded" })),
        esc_attr(&opts.source_version),
        if opts.unblinded {
            "Unblinded export: contains arms and allocations (rct extension)"
        } else {
            "Blinded export: no arms, allocations or arm-specific forms"
        }
    );

        // ---- Study
        let _ = writeln!(o, "  <Study OID=\"{}\">", esc_attr(&study_oid));
        o.push_str("    <GlobalVariables>\n      <StudyName>");
        esc_text(
            protocol.trial.short_title.as_deref().unwrap_or(trial),
            &mut o,
        );
        o.push_str("</StudyName>\n      <StudyDescription>");
        esc_text(&protocol.trial.title, &mut o);
        o.push_str("</StudyDescription>\n      <ProtocolName>");
        esc_text(trial, &mut o);
        o.push_str("</ProtocolName>\n    </GlobalVariables>\n");
        let units: Vec<&str> = protocol
            .units
            .iter()
            .map(|u| u.get_ref().as_str())
            .collect();
        if !units.is_empty() {
            o.push_str("    <BasicDefinitions>\n");
            for (k, u) in units.iter().enumerate() {
                let _ = writeln!(
                    o,
                    "      <MeasurementUnit OID=\"{}\" Name=\"{}\">",
                    unit_oid(k),
                    esc_attr(u)
                );
                translated(&mut o, "        ", "Symbol", u);
                o.push_str("      </MeasurementUnit>\n");
            }
            o.push_str("    </BasicDefinitions>\n");
        }
        let unit_ref = |u: &str| units.iter().position(|x| *x == u).map(unit_oid);

        let _ = writeln!(
            o,
            "    <MetaDataVersion OID=\"{}\" Name=\"{}\">",
            esc_attr(&mdv_oid),
            esc_attr(&format!("{trial} protocol"))
        );
        // Protocol: visits in order, trial keys as aliases.
        o.push_str("      <Protocol>\n");
        for (k, v) in protocol.visits.iter().enumerate() {
            let _ = writeln!(
            o,
            "        <StudyEventRef StudyEventOID=\"SE.{}\" OrderNumber=\"{}\" Mandatory=\"Yes\"/>",
            esc_attr(v.id.get_ref()),
            k + 1
        );
        }
        let t = &protocol.trial;
        let ind = "        ";
        alias(&mut o, ind, "rct.sponsor", &t.sponsor);
        alias(&mut o, ind, "rct.phase", &kebab(&t.phase));
        alias(&mut o, ind, "rct.status", &kebab(&t.status));
        alias(
            &mut o,
            ind,
            "rct.target_enrolment",
            &t.target_enrolment.get_ref().to_string(),
        );
        // Alias contexts are unique per element: lists are joined by line breaks.
        multi(
            &mut o,
            ind,
            "rct.registry_id",
            t.registry_ids.iter().cloned(),
        );
        multi(&mut o, ind, "rct.condition", t.conditions.iter().cloned());
        multi(
            &mut o,
            ind,
            "rct.masked",
            protocol.masking.blinded.iter().map(|b| kebab(b.get_ref())),
        );
        if protocol.masking.kit_codes {
            alias(&mut o, ind, "rct.kit_codes", "yes");
        }
        // The design text (block sizes) would narrow the arms of a block's
        // other participants after one emergency unblinding: entitled roles only.
        if opts.unblinded {
            alias(
                &mut o,
                ind,
                "rct.design",
                protocol.randomisation.design.get_ref(),
            );
        }
        multi(
            &mut o,
            ind,
            "rct.role",
            protocol.roles.iter().map(|r| {
                let mut name = r.id.get_ref().clone();
                if r.sees_arms {
                    name.push_str(" sees_arms");
                }
                if r.sees_kits {
                    name.push_str(" sees_kits");
                }
                name
            }),
        );
        o.push_str("      </Protocol>\n");
        for v in &protocol.visits {
            let _ = writeln!(
            o,
            "      <StudyEventDef OID=\"SE.{}\" Name=\"{}\" Repeating=\"No\" Type=\"Scheduled\">",
            esc_attr(v.id.get_ref()),
            esc_attr(&v.label)
        );
            let mut n = 0;
            for f in &v.forms {
                if !visible(f.get_ref()) {
                    continue;
                }
                n += 1;
                let _ = writeln!(
                    o,
                    "        <FormRef FormOID=\"F.{}\" OrderNumber=\"{n}\" Mandatory=\"Yes\"/>",
                    esc_attr(f.get_ref())
                );
            }
            alias(&mut o, ind, "rct.day", &v.day.get_ref().to_string());
            let [lo, hi] = *v.window.get_ref();
            alias(&mut o, ind, "rct.window", &format!("{lo} {hi}"));
            multi(&mut o, ind, "rct.assessment", v.assessments.iter().cloned());
            o.push_str("      </StudyEventDef>\n");
        }
        let forms: Vec<&rct_core::protocol::Form> = protocol
            .forms
            .iter()
            .filter(|f| visible(f.id.get_ref()))
            .collect();
        for f in &forms {
            let id = f.id.get_ref();
            let _ = writeln!(
                o,
                "      <FormDef OID=\"F.{}\" Name=\"{}\" Repeating=\"No\">",
                esc_attr(id),
                esc_attr(&f.label)
            );
            let _ = writeln!(
                o,
                "        <ItemGroupRef ItemGroupOID=\"IG.{}\" Mandatory=\"Yes\"/>",
                esc_attr(id)
            );
            if let Some(r) = &f.entered_by {
                alias(&mut o, ind, "rct.entered_by", r.get_ref());
            }
            if let Some(a) = &f.arm {
                alias(&mut o, ind, "rct.arm", a.get_ref());
            }
            o.push_str("      </FormDef>\n");
        }
        for f in &forms {
            let id = f.id.get_ref();
            let _ = writeln!(
                o,
                "      <ItemGroupDef OID=\"IG.{}\" Name=\"{}\" Repeating=\"No\">",
                esc_attr(id),
                esc_attr(&f.label)
            );
            for (k, fl) in f.fields.iter().enumerate() {
                let method = if fl.derived.is_some() {
                    format!(
                        " MethodOID=\"M.{}.{}\"",
                        esc_attr(id),
                        esc_attr(fl.id.get_ref())
                    )
                } else {
                    String::new()
                };
                let _ = writeln!(
                o,
                "        <ItemRef ItemOID=\"I.{}.{}\"{method} OrderNumber=\"{}\" Mandatory=\"{}\"/>",
                esc_attr(id),
                esc_attr(fl.id.get_ref()),
                k + 1,
                if fl.required { "Yes" } else { "No" }
            );
            }
            o.push_str("      </ItemGroupDef>\n");
        }
        // ItemDefs: form fields, then screening facts.
        struct ItemSpec<'a> {
            oid: String,
            name: &'a str,
            label: &'a str,
            kind: ValueType,
            unit: Option<&'a str>,
            code_list: Option<&'a str>,
            hard: Option<[f64; 2]>,
            soft: Option<[f64; 2]>,
            aliases: Vec<(&'static str, String)>,
        }
        let mut items: Vec<ItemSpec<'_>> = Vec::new();
        for f in &forms {
            for fl in &f.fields {
                items.push(ItemSpec {
                    oid: format!("I.{}.{}", f.id.get_ref(), fl.id.get_ref()),
                    name: fl.id.get_ref(),
                    label: &fl.label,
                    kind: fl.kind,
                    unit: fl.unit.as_ref().map(|u| u.get_ref().as_str()),
                    code_list: fl.code_list.as_ref().map(|c| c.get_ref().as_str()),
                    hard: fl.hard.as_ref().map(|h| *h.get_ref()),
                    soft: fl.soft.as_ref().map(|s| *s.get_ref()),
                    aliases: Vec::new(),
                });
            }
        }
        for fact in &protocol.facts {
            let mut flags = Vec::new();
            if fact.judgement {
                flags.push("judgement");
            }
            if fact.uln {
                flags.push("uln");
            }
            items.push(ItemSpec {
                oid: format!("I.FACT.{}", fact.id.get_ref()),
                name: fact.id.get_ref(),
                label: &fact.label,
                kind: fact.kind,
                unit: fact.unit.as_ref().map(|u| u.get_ref().as_str()),
                code_list: fact.code_list.as_ref().map(|c| c.get_ref().as_str()),
                hard: None,
                soft: None,
                aliases: vec![(
                    "rct.fact",
                    if flags.is_empty() {
                        "fact".to_string()
                    } else {
                        flags.join(" ")
                    },
                )],
            });
        }
        for it in &items {
            let _ = writeln!(
                o,
                "      <ItemDef OID=\"{}\" Name=\"{}\" DataType=\"{}\">",
                esc_attr(&it.oid),
                esc_attr(it.name),
                data_type(it.kind)
            );
            o.push_str("        <Question>");
            o.push_str("<TranslatedText>");
            esc_text(it.label, &mut o);
            o.push_str("</TranslatedText></Question>\n");
            if let Some(u) = it.unit.and_then(unit_ref) {
                let _ = writeln!(
                    o,
                    "        <MeasurementUnitRef MeasurementUnitOID=\"{u}\"/>"
                );
            }
            for (range, soft_hard) in [(it.hard, "Hard"), (it.soft, "Soft")] {
                if let Some([lo, hi]) = range {
                    for (cmp, v) in [("GE", lo), ("LE", hi)] {
                        let _ = writeln!(
                        o,
                        "        <RangeCheck Comparator=\"{cmp}\" SoftHard=\"{soft_hard}\"><CheckValue>{v}</CheckValue></RangeCheck>"
                    );
                    }
                }
            }
            if let Some(c) = it.code_list {
                let _ = writeln!(
                    o,
                    "        <CodeListRef CodeListOID=\"CL.{}\"/>",
                    esc_attr(c)
                );
            }
            for (ctx, name) in &it.aliases {
                alias(&mut o, ind, ctx, name);
            }
            o.push_str("      </ItemDef>\n");
        }
        for cl in &protocol.code_lists {
            let _ = writeln!(
                o,
                "      <CodeList OID=\"CL.{}\" Name=\"{}\" DataType=\"text\">",
                esc_attr(cl.id.get_ref()),
                esc_attr(cl.id.get_ref())
            );
            for it in &cl.items {
                let _ = writeln!(
                    o,
                    "        <CodeListItem CodedValue=\"{}\">",
                    esc_attr(it.code.get_ref())
                );
                translated(&mut o, "          ", "Decode", &it.label);
                o.push_str("        </CodeListItem>\n");
            }
            o.push_str("      </CodeList>\n");
        }
        for c in &protocol.criteria {
            let _ = writeln!(
                o,
                "      <ConditionDef OID=\"C.{}\" Name=\"{}\">",
                esc_attr(c.id.get_ref()),
                esc_attr(c.id.get_ref())
            );
            translated(&mut o, "        ", "Description", &c.text);
            o.push_str("        <FormalExpression Context=\"rct-rule\">");
            esc_text(c.rule.get_ref(), &mut o);
            o.push_str("</FormalExpression>\n");
            alias(&mut o, ind, "rct.criterion", &kebab(&c.kind));
            if let Some(n) = &c.note {
                alias(&mut o, ind, "rct.note", n);
            }
            o.push_str("      </ConditionDef>\n");
        }
        for f in &forms {
            for fl in &f.fields {
                let Some(d) = &fl.derived else { continue };
                let _ = writeln!(
                    o,
                    "      <MethodDef OID=\"M.{0}.{1}\" Name=\"{0}.{1}\" Type=\"Computation\">",
                    esc_attr(f.id.get_ref()),
                    esc_attr(fl.id.get_ref())
                );
                translated(
                    &mut o,
                    "        ",
                    "Description",
                    &format!("Derived: {}", fl.label),
                );
                o.push_str("        <FormalExpression Context=\"rct-rule\">");
                esc_text(d.get_ref(), &mut o);
                o.push_str("</FormalExpression>\n      </MethodDef>\n");
            }
        }
        o.push_str("    </MetaDataVersion>\n");
        if opts.unblinded {
            o.push_str("    <rct:Arms>\n");
            for a in &protocol.arms {
                let _ = write!(
                o,
                "      <rct:Arm ID=\"{}\" Label=\"{}\" Kind=\"{}\" Weight=\"{}\" Control=\"{}\"",
                esc_attr(a.id.get_ref()),
                esc_attr(&a.label),
                kebab(&a.kind),
                a.weight.get_ref(),
                a.control
            );
                if let Some(d) = &a.description {
                    let _ = write!(o, " Description=\"{}\"", esc_attr(d));
                }
                o.push_str("/>\n");
            }
            o.push_str("    </rct:Arms>\n");
        }
        o.push_str("  </Study>\n");

        // ---- AdminData
        let _ = writeln!(o, "  <AdminData StudyOID=\"{}\">", esc_attr(&study_oid));
        for (user, at_sites) in &users {
            let _ = writeln!(o, "    <User OID=\"USR.{}\">", esc_attr(user));
            o.push_str("      <LoginName>");
            esc_text(user, &mut o);
            o.push_str("</LoginName>\n");
            for s in at_sites {
                let _ = writeln!(o, "      <LocationRef LocationOID=\"L.{}\"/>", esc_attr(s));
            }
            o.push_str("    </User>\n");
        }
        let effective = registered.map_or_else(
            || "1970-01-01".to_string(),
            |t| t.date_naive().format("%Y-%m-%d").to_string(),
        );
        for (id, name) in &sites {
            let _ = writeln!(
                o,
                "    <Location OID=\"L.{}\" Name=\"{}\" LocationType=\"Site\">",
                esc_attr(id),
                esc_attr(name)
            );
            let _ = writeln!(
            o,
            "      <MetaDataVersionRef StudyOID=\"{}\" MetaDataVersionOID=\"{}\" EffectiveDate=\"{effective}\"/>",
            esc_attr(&study_oid),
            esc_attr(&mdv_oid)
        );
            o.push_str("    </Location>\n");
        }
        o.push_str("    <SignatureDef OID=\"SD.entry\" Methodology=\"Electronic\">\n");
        o.push_str(
        "      <Meaning>Data entered or changed by the user named in the audit record</Meaning>\n",
    );
        o.push_str("      <LegalReason>Each value event is recorded under the user's own login in rct's hash-chained audit log</LegalReason>\n");
        o.push_str("    </SignatureDef>\n");
        o.push_str("  </AdminData>\n");

        // ---- ClinicalData
        let _ = writeln!(
            o,
            "  <ClinicalData StudyOID=\"{}\" MetaDataVersionOID=\"{}\">",
            esc_attr(&study_oid),
            esc_attr(&mdv_oid)
        );
        out.write_all(o.as_bytes()).map_err(io)?;
        o.clear();
        let subjects: BTreeSet<&str> = values
            .keys()
            .chain(allocations.keys())
            .map(String::as_str)
            .collect();
        for subject in subjects {
            summary.subjects += 1;
            let _ = writeln!(
                o,
                "    <SubjectData SubjectKey=\"{}\" TransactionType=\"Upsert\">",
                esc_attr(subject)
            );
            if let Some(site) = sites_of.get(subject) {
                let _ = writeln!(o, "      <SiteRef LocationOID=\"L.{}\"/>", esc_attr(site));
            }
            if let Some(per) = values.get(subject) {
                // The events of item `key`, in log order.
                let item = |key: ItemKey| -> &[(ItemKey, Val)] {
                    let from = per.partition_point(|(k, _)| *k < key);
                    let to = per.partition_point(|(k, _)| *k <= key);
                    &per[from..to]
                };
                let first_from = |key: ItemKey| {
                    per.get(per.partition_point(|(k, _)| *k < key))
                        .map(|(k, _)| *k)
                };
                for v in &protocol.visits {
                    let Some(vid_k) = names.get(v.id.get_ref()) else {
                        continue;
                    };
                    let vid = v.id.get_ref().as_str();
                    let any_visit = first_from((vid_k, 0, 0)).is_some_and(|k| k.0 == vid_k);
                    if !any_visit {
                        continue;
                    }
                    let _ = writeln!(
                        o,
                        "      <StudyEventData StudyEventOID=\"SE.{}\" TransactionType=\"Upsert\">",
                        esc_attr(vid)
                    );
                    // Forms in protocol order (every form with data at this visit,
                    // even one the visit does not list).
                    for f in &forms {
                        let fid = f.id.get_ref().as_str();
                        let Some(fid_k) = names.get(fid) else {
                            continue;
                        };
                        if !first_from((vid_k, fid_k, 0))
                            .is_some_and(|k| k.0 == vid_k && k.1 == fid_k)
                        {
                            continue;
                        }
                        let _ = writeln!(
                        o,
                        "        <FormData FormOID=\"F.{0}\" TransactionType=\"Upsert\">\n          <ItemGroupData ItemGroupOID=\"IG.{0}\" TransactionType=\"Upsert\">",
                        esc_attr(fid)
                    );
                        for fl in &f.fields {
                            let Some(field_k) = names.get(fl.id.get_ref()) else {
                                continue;
                            };
                            for (_, ve) in item((vid_k, fid_k, field_k)) {
                                summary.item_data += 1;
                                let _ = write!(
                                o,
                                "            <ItemData ItemOID=\"I.{}.{}\" TransactionType=\"{}\"",
                                esc_attr(fid),
                                esc_attr(fl.id.get_ref()),
                                if ve.changed { "Update" } else { "Insert" }
                            );
                                match text(ve.value) {
                                    Some(t) => {
                                        let _ = write!(o, " Value=\"{}\"", esc_attr(t));
                                    }
                                    None => o.push_str(" IsNull=\"Yes\""),
                                }
                                o.push_str(">\n");
                                audit(
                                    &mut o,
                                    "              ",
                                    names.name(ve.actor),
                                    &ve.at,
                                    text(ve.reason),
                                    &site_of(ve.site, subject),
                                );
                                o.push_str("            </ItemData>\n");
                            }
                        }
                        o.push_str("          </ItemGroupData>\n        </FormData>\n");
                    }
                    o.push_str("      </StudyEventData>\n");
                }
            }
            if let Some(a) = allocations.get(subject) {
                summary.allocations += 1;
                let _ = write!(o, "      <rct:Allocation ArmID=\"{}\"", esc_attr(&a.arm));
                if let Some(k) = &a.kit {
                    let _ = write!(o, " Kit=\"{}\"", esc_attr(k));
                }
                let _ = writeln!(
                o,
                " Position=\"{}\" Stratum=\"{}\" UserOID=\"USR.{}\" LocationOID=\"L.{}\" DateTimeStamp=\"{}\"/>",
                a.position,
                esc_attr(&a.stratum),
                esc_attr(names.name(a.actor)),
                esc_attr(&site_of(a.site, subject)),
                dt(&a.at)
            );
            }
            o.push_str("    </SubjectData>\n");
            out.write_all(o.as_bytes()).map_err(io)?;
            o.clear();
        }
        o.push_str("  </ClinicalData>\n</ODM>\n");
        out.write_all(o.as_bytes()).map_err(io)?;
        out.flush().map_err(io)?;
        Ok(summary)
    }
}

fn audit(
    o: &mut String,
    ind: &str,
    actor: &str,
    at: &DateTime<Utc>,
    reason: Option<&str>,
    site: &str,
) {
    let _ = writeln!(o, "{ind}<AuditRecord>");
    let _ = writeln!(o, "{ind}  <UserRef UserOID=\"USR.{}\"/>", esc_attr(actor));
    let _ = writeln!(
        o,
        "{ind}  <LocationRef LocationOID=\"L.{}\"/>",
        esc_attr(site)
    );
    let _ = writeln!(o, "{ind}  <DateTimeStamp>{}</DateTimeStamp>", dt(at));
    if let Some(r) = reason {
        let _ = write!(o, "{ind}  <ReasonForChange>");
        esc_text(r, o);
        o.push_str("</ReasonForChange>\n");
    }
    let _ = writeln!(o, "{ind}</AuditRecord>");
}
