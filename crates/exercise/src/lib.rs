//! Exercise data: heart-rate recordings from FIT and CSV files, and the
//! compliance of a recorded session with a protocol's heart-rate template
//! (LUPEX: a 4-minute bout is compliant when the pulse is above 85 % HRmax for
//! more than half of it). Readers take bytes and a file name for errors; no
//! I/O and no clock.

pub mod adherence;
mod align;
pub mod compliance;
pub mod cpet;
pub mod plot;
pub mod recording;
mod spreadsheetml;
mod xlsx;

pub use adherence::{adherence, AdherenceReport};
pub use compliance::{
    compliance, Alignment, ComplianceReport, HeartRateStatus, PhaseResult, PhaseSpec, PlannedPhase,
    SessionTemplate,
};
pub use recording::{
    read_csv, read_fit, Recording, Sample, MAX_CSV_BYTES, MAX_FIT_BYTES, MAX_SAMPLES,
    MAX_SPAN_SECONDS,
};
pub use xlsx::{MAX_CELLS, MAX_UNZIPPED_BYTES, MAX_ZIP_ENTRIES};

/// What can go wrong reading exercise files or assessing a session.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExerciseError {
    /// A FIT file the decoder rejects (bad CRC, corrupt header, truncated).
    #[error("{file}: not a readable FIT file: {message}. Export the activity again from the watch or its app; damaged files cannot be repaired here")]
    Fit {
        /// The file.
        file: String,
        /// The decoder's reason.
        message: String,
    },
    /// A CSV file that cannot be read as time and heart rate.
    #[error("{file}:{line}: {message}")]
    Csv {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// What was expected.
        message: String,
    },
    /// A recording with no heart-rate samples.
    #[error("{0}: no heart-rate data: the file holds no samples with a time (no FIT `record` messages, or no CSV rows); a monitoring or settings file holds no session: export the session's activity file")]
    NoHeartRate(String),
    /// Bad parameters.
    #[error("{0}")]
    Invalid(String),
    /// An input over one of the readers' limits (size, samples, time span,
    /// rows or columns): the message names the limit and what to do.
    #[error("{file}: {message}")]
    Limit {
        /// The file.
        file: String,
        /// Which limit, and what to do.
        message: String,
    },
}
