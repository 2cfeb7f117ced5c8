//! See ARCHITECTURE.md.
pub mod eligibility;
pub mod forms;
pub mod protocol;
pub mod rules;
pub mod safety;
pub mod schedule;
