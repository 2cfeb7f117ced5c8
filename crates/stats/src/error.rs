//! Errors of the statistics engine.

/// Everything that can go wrong when parsing a formula, building a design or
/// fitting a model. Messages say what was expected and what to do.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StatsError {
    #[error("formula `{formula}`: {message} (at character {pos})")]
    Formula {
        formula: String,
        pos: usize,
        message: String,
    },
    #[error("column `{0}` is not in the data; available columns: {1}")]
    UnknownColumn(String, String),
    #[error("column `{column}` holds text, but {context} needs a numeric column")]
    NotNumeric { column: String, context: String },
    #[error("reference level `{level}` is not a level of `{column}`; its levels are: {levels}")]
    UnknownLevel {
        column: String,
        level: String,
        levels: String,
    },
    #[error("{source_name}: {message}")]
    Data {
        source_name: String,
        message: String,
    },
    #[error("the design matrix is rank deficient: {0}; drop or recode the aliased terms")]
    RankDeficient(String),
    #[error("too few complete rows: {nobs} rows for {params} parameters (after dropping {dropped} rows with missing values)")]
    TooFewRows {
        nobs: usize,
        params: usize,
        dropped: usize,
    },
    #[error("{0}")]
    Invalid(String),
}
