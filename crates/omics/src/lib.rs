//! NanoString nCounter RCC/RLF readers, lane QC, nSolver-style normalisation and
//! interferon gene signature scores. Pure: readers take text and a file name for
//! error messages; no file I/O here.

pub mod ifn;
pub mod normalise;
pub mod num;
pub mod qc;
pub mod rcc;
pub mod rlf;
pub mod sample;
pub mod svg;

pub use ifn::{Aggregator, Cutoff, Expression, GeneSet, Reference, ScoreReport, ScoreRow};
pub use normalise::{normalise, Background, NormaliseOptions, Normalised};
pub use qc::{qc_lane, LaneQc, QcThresholds};
pub use rcc::{parse_rcc, Rcc, RccError, RccErrorKind};
pub use rlf::{parse_rlf, Rlf, RlfError, RlfErrorKind};
