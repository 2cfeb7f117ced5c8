//! Collecting what an ODM export needs from a trial's events, one event at
//! a time (see [`OdmCollector`]); `export.rs` writes the XML from it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use rct_core::protocol::Protocol;
use rct_record::{Event, Payload, TrialState};

use super::export::{value_text, ExportOptions};

/// A text kept in the collector's arena: start and length (`None`: none).
pub(super) type Span = Option<(usize, u32)>;

/// One value event as the export keeps it (compact: names are interned,
/// the value's text and the reason live in one shared arena).
pub(super) struct Val {
    pub(super) at: DateTime<Utc>,
    pub(super) actor: u32,
    pub(super) site: Option<u32>,
    pub(super) value: Span,
    pub(super) reason: Span,
    pub(super) changed: bool,
}

/// A participant's allocation (unblinded exports only).
pub(super) struct Alloc {
    pub(super) at: DateTime<Utc>,
    pub(super) actor: u32,
    pub(super) site: Option<u32>,
    pub(super) arm: String,
    pub(super) kit: Option<String>,
    pub(super) position: u64,
    pub(super) stratum: String,
}

/// Interned names: each distinct text stored once.
#[derive(Default)]
pub(super) struct Names {
    list: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
}

impl Names {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(&k) = self.index.get(name) {
            return k;
        }
        let k = self.list.len() as u32;
        self.list.push(name.into());
        self.index.insert(name.into(), k);
        k
    }
    pub(super) fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }
    pub(super) fn name(&self, k: u32) -> &str {
        self.list.get(k as usize).map_or("", |s| s)
    }
}

/// (visit, form, field), interned.
pub(super) type ItemKey = (u32, u32, u32);

/// Collects what an ODM export needs from a trial's events, one event at a
/// time, so a caller can stream them from a store: only the exported value
/// events are kept, compactly (interned names, the value as its text), not
/// the events. [`OdmCollector::finish`] then writes the XML to any writer,
/// one participant at a time. [`export`] is the same over a slice.
pub struct OdmCollector<'p> {
    pub(super) protocol: &'p Protocol,
    pub(super) opts: ExportOptions,
    visit_ids: BTreeSet<&'p str>,
    field_ids: BTreeSet<(&'p str, &'p str)>,
    pub(super) names: Names,
    /// Per participant, its value events with their items, in log order
    /// (sorted by item, stably, when written).
    pub(super) values: BTreeMap<String, Vec<(ItemKey, Val)>>,
    /// The texts of values and reasons, end to end.
    pub(super) arena: String,
    pub(super) allocations: BTreeMap<String, Alloc>,
    pub(super) registered: Option<DateTime<Utc>>,
    pub(super) latest: Option<DateTime<Utc>>,
    pub(super) skipped: usize,
}

/// Whether `form` is exported.
pub(super) fn form_visible(protocol: &Protocol, opts: &ExportOptions, form: &str) -> bool {
    protocol
        .form(form)
        .is_some_and(|f| opts.unblinded || f.arm.is_none())
}

impl<'p> OdmCollector<'p> {
    /// An export of `protocol`'s trial for the audience `opts` describes.
    pub fn new(protocol: &'p Protocol, opts: &ExportOptions) -> Self {
        let visit_ids = protocol
            .visits
            .iter()
            .map(|v| v.id.get_ref().as_str())
            .collect();
        let field_ids = protocol
            .forms
            .iter()
            .filter(|f| form_visible(protocol, opts, f.id.get_ref()))
            .flat_map(|f| {
                f.fields
                    .iter()
                    .map(move |x| (f.id.get_ref().as_str(), x.id.get_ref().as_str()))
            })
            .collect();
        OdmCollector {
            protocol,
            opts: opts.clone(),
            visit_ids,
            field_ids,
            names: Names::default(),
            values: BTreeMap::new(),
            arena: String::new(),
            allocations: BTreeMap::new(),
            registered: None,
            latest: None,
            skipped: 0,
        }
    }

    /// Takes the next event of the trial's log (in order).
    pub fn push(&mut self, e: &Event) {
        if self.registered.is_none() {
            self.registered = Some(e.at);
        }
        let (participant, visit, form, field, value, changed) = match &e.payload {
            Payload::ValueEntered {
                participant,
                visit,
                form,
                field,
                value,
            } => (participant, visit, form, field, value, false),
            Payload::ValueChanged {
                participant,
                visit,
                form,
                field,
                new,
                ..
            } => (participant, visit, form, field, new, true),
            Payload::Randomised {
                participant,
                arm,
                kit,
                position,
                stratum,
                ..
            } if self.opts.unblinded => {
                let alloc = Alloc {
                    at: e.at,
                    actor: self.names.id(&e.actor),
                    site: e.site.as_deref().map(|s| self.names.id(s)),
                    arm: arm.clone(),
                    kit: kit.clone(),
                    position: *position,
                    stratum: stratum.clone(),
                };
                self.allocations.insert(participant.clone(), alloc);
                self.latest = self.latest.max(Some(e.at));
                return;
            }
            _ => return,
        };
        if !form_visible(self.protocol, &self.opts, form) && self.protocol.form(form).is_some() {
            // An arm-specific form in a blinded export: withheld without a
            // trace (even a count would tell how much one arm did).
            return;
        }
        let known = self.visit_ids.contains(visit.as_str())
            && self.field_ids.contains(&(form.as_str(), field.as_str()));
        if !known {
            self.skipped += 1;
            return;
        }
        let key = (
            self.names.id(visit),
            self.names.id(form),
            self.names.id(field),
        );
        let value = value_text(value).and_then(|t| self.keep(&t));
        let reason = e.reason.as_deref().and_then(|r| self.keep(r));
        let val = Val {
            at: e.at,
            actor: self.names.id(&e.actor),
            site: e.site.as_deref().map(|s| self.names.id(s)),
            value,
            reason,
            changed,
        };
        self.latest = self.latest.max(Some(e.at));
        match self.values.get_mut(participant.as_str()) {
            Some(list) => list.push((key, val)),
            None => {
                self.values.insert(participant.clone(), vec![(key, val)]);
            }
        }
    }

    /// Puts a text in the arena (`None` for a text over 4 GiB, which no
    /// bounded input holds).
    fn keep(&mut self, text: &str) -> Span {
        let len = u32::try_from(text.len()).ok()?;
        let start = self.arena.len();
        self.arena.push_str(text);
        Some((start, len))
    }
}

/// Each participant's site (those that have one), from the folded state:
/// all [`OdmCollector::finish`] needs of it.
pub fn participant_sites(state: &TrialState) -> BTreeMap<String, String> {
    state
        .participants
        .iter()
        .filter_map(|(id, p)| p.site.clone().map(|s| (id.clone(), s)))
        .collect()
}
