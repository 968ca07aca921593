//! Data loading for seqlab: sources (data root, checksums), padded batches, and time series.
//!
//! Each modality turns files into burn batches. Time series (this crate's [`timeseries`]) cut
//! a table into look-back / horizon windows; variable-length modalities share [`batch`]'s
//! padding and masks.
#![warn(missing_docs)]

pub mod batch;
pub mod rng;
pub mod scaler;
pub mod source;
pub mod table;
pub mod text;
pub mod timeseries;

use std::path::PathBuf;

/// Errors raised while reading or preparing data. Each names the file, column or line.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The data file does not exist.
    #[error("data file not found: {path} (data root: {root}; set `data.root` or SEQLAB_DATA_ROOT)")]
    NotFound {
        /// The resolved path.
        path: PathBuf,
        /// The data root in effect.
        root: PathBuf,
    },
    /// The file could not be read.
    #[error("cannot read {path}: {message}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The checksum differs from the configured one.
    #[error("checksum mismatch for {path}: expected sha256 {expected}, found {found}")]
    Checksum {
        /// The file.
        path: PathBuf,
        /// Configured digest.
        expected: String,
        /// Digest of the file on disk.
        found: String,
    },
    /// A column named in the config is not in the file.
    #[error("{path}: column `{column}` not found (available: {available})")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column that was asked for.
        column: String,
        /// Columns the file has.
        available: String,
    },
    /// A cell is not a number.
    #[error("{path}, line {line}, column `{column}`: `{value}` is not a number")]
    NotNumeric {
        /// The file.
        path: PathBuf,
        /// 1-based line in the file (the header is line 1).
        line: usize,
        /// Column name.
        column: String,
        /// The offending text.
        value: String,
    },
    /// A cell is missing and the policy is `error`.
    #[error("{path}, line {line}, column `{column}`: missing value (set data.missing = \"ffill\" or \"drop\")")]
    MissingValue {
        /// The file.
        path: PathBuf,
        /// 1-based line in the file.
        line: usize,
        /// Column name.
        column: String,
    },
    /// A value cannot be transformed (e.g. log return of a non-positive price).
    #[error("{path}, line {line}, column `{column}`: {message}")]
    BadValue {
        /// The file.
        path: PathBuf,
        /// 1-based line in the file.
        line: usize,
        /// Column name.
        column: String,
        /// What is wrong.
        message: String,
    },
    /// The series is too short for the requested windows.
    #[error("{path}: {message}")]
    TooShort {
        /// The file.
        path: PathBuf,
        /// Which split and what was needed.
        message: String,
    },
    /// The configuration does not fit the data.
    #[error("{0}")]
    Config(String),
}
