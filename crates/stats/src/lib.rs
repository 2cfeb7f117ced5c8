//! `rct-stats`: the statistics engine. Formulas in R/patsy notation
//! ([`formula`]), a data frame of numeric and text columns ([`frame`]),
//! ordinary least squares by Householder QR with classical and
//! heteroskedasticity-consistent inference and Wald tests ([`ols`]), and the
//! distribution functions they need ([`dist`]). Pure: no I/O, no clock.

pub mod dist;
pub mod error;
pub mod formula;
pub mod frame;
pub mod mi;
pub mod multiplicity;
pub mod mvt;
pub mod nonparam;
pub mod ols;
pub mod power;

pub use error::StatsError;
pub use formula::{Design, Formula};
pub use frame::{Column, Frame};
pub use mi::{pool_scalar, Pooled};
pub use multiplicity::{dunnett_fit, holm, single_step_p, Alternative, Dunnett, DunnettMethod};
pub use mvt::{mvt_rectangle, MvtOptions, MvtProbability};
pub use nonparam::{rank_sum, RankSum};
pub use ols::{fit, CovType, OlsFit, Workspace};
