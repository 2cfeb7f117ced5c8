//! See ARCHITECTURE.md.
pub mod protocol;
pub mod rules;
