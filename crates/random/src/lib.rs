//! Randomisation designs. See ARCHITECTURE.md.
pub mod error;
pub mod spec;
pub use error::RandomError;
pub use spec::{parse_ratio, DesignSpec};
