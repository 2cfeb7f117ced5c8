//! See ARCHITECTURE.md.
pub mod eligibility;
pub mod protocol;
pub mod rules;
