//! `rct-stats`: the statistics engine. Formulas in R/patsy notation
//! ([`formula`]), a data frame of numeric and text columns ([`frame`]),
//! ordinary least squares by Householder QR with classical and
//! heteroskedasticity-consistent inference and Wald tests ([`ols`]), and the
//! distribution functions they need ([`dist`]); generalised linear models
//! (binomial, Poisson, Firth; [`glm`]) and effects on binary outcomes
//! (standardised risks, Newcombe and Miettinen-Nurminen intervals, CMH,
//! Fisher; [`binary`]). Pure: no I/O, no clock.

pub mod binary;
pub mod dist;
pub mod error;
pub mod formula;
pub mod frame;
pub mod glm;
pub mod mi;
pub mod mmrm;
pub mod multiplicity;
pub mod mvt;
pub mod nonparam;
pub mod ols;
pub mod poisson;
pub mod power;

pub use error::StatsError;
pub use formula::{Design, Formula};
pub use frame::{Column, Frame};
pub use glm::{fit_glm, Family, GlmFit, GlmOptions};
pub use mi::{pool_scalar, Pooled};
pub use multiplicity::{dunnett_fit, holm, single_step_p, Alternative, Dunnett, DunnettMethod};
pub use mvt::{mvt_rectangle, MvtOptions, MvtProbability};
pub use nonparam::{rank_sum, RankSum};
pub use ols::{fit, CovType, OlsFit, Workspace};
pub use poisson::{gamma_quantile, garwood_interval};
