//! Randomisation for `rct`: design specifications, reproducible seeded lists
//! (ChaCha20, see [`stream`]), kit codes, allocation of one participant given
//! the trial's history (list-based designs and Pocock-Simon minimisation), and
//! design assessment (exact recursion and simulation).
//!
//! Pure: no I/O, no clock; randomness comes only from the trial seed.

pub mod allocate;
pub mod assess;
pub mod bias;
pub mod bias_exact;
pub mod error;
pub mod kit;
pub mod list;
pub mod minimisation;
pub mod sequence;
pub mod spec;
pub mod stream;

pub use allocate::{allocate, stratum_key, Allocation, AllocationRequest, PriorAllocation};
pub use assess::{assess_exact, assess_simulated, Assessment, Method};
pub use error::RandomError;
pub use list::{
    canonical_csv, generate_list, list_sha256, parse_arms, Arm, ListRequest, ListRow, RandomList,
};
pub use spec::{parse_ratio, reduce_ratio, BlockWeighting, DesignSpec, ImbalanceMeasure};
pub use stream::TrialSeed;
