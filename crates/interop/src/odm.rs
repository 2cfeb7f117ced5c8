//! CDISC ODM 1.3.2: export of a trial (its protocol and its event log) and
//! import back into a protocol skeleton and events.
//!
//! The mapping (docs/interop.md):
//! - `Study/GlobalVariables`: trial short title, title, id.
//! - `BasicDefinitions/MeasurementUnit`: the protocol's `units`.
//! - `MetaDataVersion`: `Protocol` (visits in order; trial keys the standard
//!   has no element for as `Alias` with context `rct:*`), `StudyEventDef` per
//!   visit (day and window as aliases), `FormDef`/`ItemGroupDef` per form,
//!   `ItemDef` per field (question, unit, hard and soft `RangeCheck`s, code
//!   list), `CodeList`s, `ConditionDef` per eligibility criterion (the rule as
//!   a `FormalExpression` in context `rct-rule`), `MethodDef` per derived field;
//!   screening facts as `ItemDef`s with OID `I.FACT.<id>` and alias `rct:fact`.
//! - `AdminData`: every user in the audit records (`User`, with the sites they
//!   acted at), the sites (`Location`, effective from the trial's
//!   registration date) and one `SignatureDef` for data entry.
//! - `ClinicalData` (`FileType="Transactional"`): per participant, visit, form
//!   and field, every value event in log order as `ItemData` with
//!   `TransactionType` `Insert` (entered) or `Update` (changed) and its
//!   `AuditRecord` (user, site, time, reason for change).
//! - Arms (`rct:Arms`) and allocations (`rct:Allocation`) in the extension
//!   namespace [`RCT_NS`], only in an unblinded export; arm-specific forms and
//!   their data only there too.

mod clinical;
mod collect;
mod dom;
mod export;
mod import;

pub use collect::{participant_sites, OdmCollector};
pub use decode::decode;
pub use dom::{MAX_DEPTH, MAX_ELEMENTS};
pub use export::{export, ExportOptions, ExportSummary};
pub use import::{
    import, import_with, ImportOptions, Migration, OdmImport, CLASSIC_VISIT, MAX_ODM_BYTES,
    SKIP_REPEATING, SKIP_UNKNOWN_ITEM,
};
mod decode;

/// The ODM 1.3 namespace.
pub const ODM_NS: &str = "http://www.cdisc.org/ns/odm/v1.3";
/// The namespace of rct's extension elements (arms and allocations).
pub const RCT_NS: &str = "https://rct.example/odm-ext";
/// The extension schema (elements of [`RCT_NS`]).
pub const EXTENSION_XSD: &str = include_str!("../schema/rct-odm-ext.xsd");
/// A schema that validates ODM 1.3.2 with rct's extension: it redefines the
/// foundation's extension groups. `@ODM_SCHEMA_DIR@` and `@RCT_EXT_XSD@` are
/// replaced by the folder holding the official schema and the path of
/// [`EXTENSION_XSD`].
pub const EXTENDED_ODM_XSD: &str = include_str!("../schema/odm-1.3.2-rct.xsd.in");

/// Why an ODM export or import failed.
#[derive(Debug, thiserror::Error)]
pub enum OdmError {
    /// The events do not fold into a trial state.
    #[error("the event log does not fold: {0}")]
    Events(String),
    /// The XML is malformed.
    #[error("{file}: XML: {message}")]
    Xml {
        /// File name.
        file: String,
        /// What is wrong (with the byte position).
        message: String,
    },
    /// The XML is well formed but not what rct reads.
    #[error("{file}: {path}: {message}")]
    Content {
        /// File name.
        file: String,
        /// Element path, e.g. `ODM/Study/MetaDataVersion/ItemDef[I.cpet.weight]`.
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
