//! See ARCHITECTURE.md.
pub mod rules;
pub mod protocol;
