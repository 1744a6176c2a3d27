//! Errors of reading and writing input files, and rejected rows.
//!
//! User errors (a bad value, a missing column, a malformed line) always name
//! the file and, where there is one, the line (or Parquet row), the source
//! column and the canonical field, so that the user can fix the input.

use clientela_core::RecordKind;
use std::fmt;
use std::path::PathBuf;
use thiserror::Error;

/// Where in a file a record is: a physical line of a text file (the header
/// is line 1) or a 1-based row of a Parquet file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A physical line of a CSV, whitespace-separated or JSON Lines file.
    Line,
    /// A row of a Parquet file, counting from 1.
    Row,
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unit::Line => "line",
            Unit::Row => "row",
        })
    }
}

/// Writes `, column "Amount" (field amount)` or the parts that are known.
fn location(column: &Option<String>, field: &Option<String>) -> String {
    match (column, field) {
        (Some(c), Some(f)) => format!(", column {c:?} (field {f})"),
        (Some(c), None) => format!(", column {c:?}"),
        (None, Some(f)) => format!(", field {f}"),
        (None, None) => String::new(),
    }
}

/// Everything that can go wrong reading or writing an input file.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The file cannot be opened, read or written.
    #[error("{}: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The record kind was not given and cannot be told from the file name.
    #[error(
        "{}: cannot tell the record kind from the file name; pass --kind (one of {expected})",
        file.display()
    )]
    UnknownKind {
        /// The file.
        file: PathBuf,
        /// The kinds that exist.
        expected: String,
    },
    /// The format was not given and cannot be told from the extension.
    #[error(
        "{}: cannot tell the format from the file extension; pass --format (csv, jsonl or parquet)",
        file.display()
    )]
    UnknownFormat {
        /// The file.
        file: PathBuf,
    },
    /// A `--map` or `--set` names a field the record kind does not have.
    #[error("{kind} records have no field {field:?}; their fields are: {expected}")]
    UnknownField {
        /// The record kind.
        kind: RecordKind,
        /// The name that was given.
        field: String,
        /// The kind's canonical fields.
        expected: String,
    },
    /// A `--map` names a source column the file does not have.
    #[error("{}: no column {column:?} (mapped to field {field}); the file's columns are: {available}", file.display())]
    ColumnNotFound {
        /// The file.
        file: PathBuf,
        /// The source column that was asked for.
        column: String,
        /// The canonical field it was mapped to.
        field: String,
        /// The columns the file has.
        available: String,
    },
    /// A required field has neither a column nor a constant.
    #[error(
        "{}: {kind} records need the field {field}, but no column matches it; \
         the file's columns are: {available}; use --map {field}=COLUMN or --set {field}=VALUE",
        file.display()
    )]
    MissingField {
        /// The file.
        file: PathBuf,
        /// The record kind.
        kind: RecordKind,
        /// The required field.
        field: String,
        /// The columns the file has.
        available: String,
    },
    /// A file without a header line and without column names.
    #[error("{}: the file has no header line; give the column names (--columns)", file.display())]
    NoColumnNames {
        /// The file.
        file: PathBuf,
    },
    /// A `--map`/`--set` text that is not a list of `field=value` pairs.
    #[error("invalid pair {pair:?}: {reason}")]
    BadPair {
        /// The offending pair.
        pair: String,
        /// What was expected.
        reason: String,
    },
    /// An option value that is not understood (format, delimiter…).
    #[error("unknown {what} {value:?}: expected {expected}")]
    BadOption {
        /// Which option.
        what: &'static str,
        /// The text that was given.
        value: String,
        /// What is accepted.
        expected: String,
    },
    /// A row (or line) that cannot be read, with where and why.
    #[error("{} {unit} {line}{}: {message}", file.display(), location(column, field))]
    Row {
        /// The file.
        file: PathBuf,
        /// Whether `line` counts lines or Parquet rows.
        unit: Unit,
        /// The 1-based line (or row) number.
        line: u64,
        /// The source column, when one value is at fault.
        column: Option<String>,
        /// The canonical field, when one value is at fault.
        field: Option<String>,
        /// What was wrong and what was expected.
        message: String,
    },
    /// A Parquet file that cannot be read, or a column that cannot be read as text.
    #[error("{}: {message}", file.display())]
    Parquet {
        /// The file.
        file: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Batches that cannot be written as the canonical input of their kind.
    #[error("{}: cannot write: {message}", file.display())]
    Write {
        /// The file.
        file: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// A row skipped under [`crate::OnError::Skip`], with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// The file.
    pub file: PathBuf,
    /// Whether `line` counts lines or Parquet rows.
    pub unit: Unit,
    /// The 1-based line (or Parquet row) number.
    pub line: u64,
    /// The source column at fault, when one is.
    pub column: Option<String>,
    /// The canonical field at fault, when one is.
    pub field: Option<String>,
    /// What was wrong and what was expected.
    pub message: String,
    /// The original line, or a JSON rendering of the row (Parquet).
    pub raw: String,
}

impl Reject {
    /// The error this reject would have been under [`crate::OnError::Stop`].
    pub fn to_error(&self) -> IngestError {
        IngestError::Row {
            file: self.file.clone(),
            unit: self.unit,
            line: self.line,
            column: self.column.clone(),
            field: self.field.clone(),
            message: self.message.clone(),
        }
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_error().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_errors_name_file_line_column_and_field() {
        let e = IngestError::Row {
            file: "orders.csv".into(),
            unit: Unit::Line,
            line: 17,
            column: Some("Amount".into()),
            field: Some("amount".into()),
            message: "invalid amount \"12,5\"".into(),
        };
        assert_eq!(
            e.to_string(),
            "orders.csv line 17, column \"Amount\" (field amount): invalid amount \"12,5\""
        );
        let r = Reject {
            file: "x.parquet".into(),
            unit: Unit::Row,
            line: 3,
            column: None,
            field: Some("currency".into()),
            message: "m".into(),
            raw: "{}".into(),
        };
        assert_eq!(r.to_string(), "x.parquet row 3, field currency: m");
    }
}
