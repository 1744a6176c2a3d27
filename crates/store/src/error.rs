//! Errors of the store.

use std::path::{Path, PathBuf};
use thiserror::Error;

/// What went wrong in the store.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database file cannot be opened or configured.
    #[error("cannot open the store {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The file was written by a newer clientela.
    #[error("the store has schema version {found}, newer than this clientela understands ({supported}); upgrade clientela")]
    TooNew {
        /// Version found in the file.
        found: i64,
        /// Latest version this build knows.
        supported: i64,
    },
    /// A batch that does not have the canonical schema of its kind.
    #[error("batch for {kind} does not match its canonical schema: {detail}")]
    Schema {
        /// The record kind.
        kind: clientela_core::RecordKind,
        /// What differs.
        detail: String,
    },
    /// A segment that cannot be saved or is not there.
    #[error("{0}")]
    Segment(String),
    /// An SQLite error.
    #[error("store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Reading or writing the columnar copy.
    #[error("columnar copy {path}: {message}")]
    Snapshot {
        /// The file concerned.
        path: PathBuf,
        /// What happened.
        message: String,
    },
}

impl StoreError {
    pub(crate) fn open(path: &Path, source: rusqlite::Error) -> Self {
        StoreError::Open {
            path: path.to_path_buf(),
            source,
        }
    }
}
