//! Errors of the randomisation crate.

/// Everything that can go wrong when parsing a design, checking a ratio,
/// generating a list, allocating a participant or assessing a design.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RandomError {
    /// A design specification string could not be parsed.
    #[error("invalid design `{input}`: {message}")]
    Spec {
        /// The text that was given.
        input: String,
        /// What was expected instead.
        message: String,
    },
    /// The design cannot serve this number of arms or this allocation ratio.
    #[error("design `{design}` cannot be used with ratio {ratio}: {message}")]
    Ratio {
        /// The design, as written in its canonical form.
        design: String,
        /// The ratio, e.g. `1:1:2`.
        ratio: String,
        /// Why, and what to do instead.
        message: String,
    },
    /// An allocation, list or assessment request is inconsistent.
    #[error("invalid request: {0}")]
    Request(String),
    /// The history handed to [`crate::allocate`] disagrees with the
    /// stratum's list generated from the seed (wrong seed, wrong design, or an
    /// altered history).
    #[error(
        "history does not match the list of stratum `{stratum}` at position {position}: \
         the list has arm `{expected}`, the history has `{found}`; check the trial seed, \
         the design and the recorded allocations"
    )]
    HistoryMismatch {
        /// Stratum key.
        stratum: String,
        /// 1-based position within the stratum.
        position: u32,
        /// Arm the list has at this position.
        expected: String,
        /// Arm the history has at this position.
        found: String,
    },
    /// A fixed-length design (random allocation rule, maximal procedure) has
    /// allocated every position of the stratum's list.
    #[error(
        "the list of stratum `{stratum}` has {length} positions and all are allocated; \
         design `{design}` has a fixed list length"
    )]
    ListExhausted {
        /// Stratum key.
        stratum: String,
        /// Length of the list.
        length: u32,
        /// The design.
        design: String,
    },
}
