//! `rct-interop`: the trial's data in the formats other systems read and write
//! (pure: every function takes text or bytes and returns text; no I/O).
//!
//! - [`redcap`]: a REDCap data dictionary (CSV) into protocol `[[forms]]`, with
//!   REDCap's branching-logic and calculation syntax translated into the rule
//!   language (docs/rules.md); whatever cannot be translated is listed with its
//!   CSV row and the reason.
//! - [`ctgov`]: a ClinicalTrials.gov API v2 study record (JSON) into a protocol
//!   skeleton.
//! - [`odm`]: CDISC ODM 1.3.2 export of a trial (protocol + events) and import
//!   back into a protocol skeleton and events; arms and allocations travel in
//!   the extension namespace [`odm::RCT_NS`] only when the export is unblinded.
//! - [`tables`]: analysis-ready CSV tables (wide per form and visit, long, and
//!   a data dictionary).
//!
//! The mappings are documented in docs/interop.md.

pub mod ctgov;
pub mod odm;
pub mod redcap;
pub mod synth;
pub mod tables;
mod tomlw;

pub use redcap::{Issue, IssueKind};
