//! Adverse events as ICH E2A and CTCAE v5.0 define them, pure: no I/O, no
//! clock.
//!
//! - [`event`]: the [`AdverseEvent`] an investigator records (verbatim term,
//!   onset and end or ongoing, CTCAE grade, seriousness and its ICH E2A
//!   criteria, relationship, action taken, outcome, when the site became
//!   aware, the coding) and [`validate`], which returns every problem by
//!   field.
//! - [`clock`]: the serious adverse event's 24-hour reporting clock
//!   ([`sae_clock`]), from the time the site became aware until the report
//!   to the sponsor is recorded as sent; "now" is the caller's.
//! - [`dictionary`]: a coding dictionary the protocol names (lowest level
//!   term, preferred term, primary system organ class, name and version),
//!   parsed from bytes the edge read ([`Dictionary::parse`]), with lookup by
//!   code and a case-insensitive search for the coder's picker. No
//!   dictionary is shipped (MedDRA is licensed).

pub mod clock;
pub mod dictionary;
pub mod event;

pub use clock::{sae_clock, ClockError, SaeClock, SaeReportStatus, SAE_REPORT_HOURS};
pub use dictionary::{Dictionary, DictionaryEntry, DictionaryError, Term};
pub use event::{
    validate, Action, AdverseEvent, AeField, AeProblem, Coding, EventEnd, Outcome, Relationship,
    SeriousnessCriterion,
};
