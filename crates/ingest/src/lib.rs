//! clientela-ingest: input files (CSV, whitespace-separated text, JSON Lines,
//! Parquet) to canonical Arrow batches, and back.
//!
//! Reading a file resolves its columns against the canonical fields of a
//! record kind ([`clientela_core::RecordKind::fields`]), with `--map` and
//! `--set` from the user, then streams rows through the one row parser of
//! `clientela-table`, so every format yields exactly the same batches. Every
//! bad row is either an error or a [`Reject`] that names the file, the line
//! (or Parquet row), the source column and what was expected.
//!
//! ```no_run
//! use clientela_ingest::{read_file, ReadOptions};
//! # fn main() -> Result<(), clientela_ingest::IngestError> {
//! for chunk in read_file("orders.csv".as_ref(), &ReadOptions::default())? {
//!     let chunk = chunk?;
//!     println!("{} rows of {}", chunk.batch.num_rows(), chunk.kind);
//! }
//! # Ok(()) }
//! ```
//!
//! Delimited text takes a fast path: blocks of bytes are scanned for their
//! structure 64 bytes at a time and each record's values go straight into
//! Arrow columns; a record or value the fast path cannot take as it stands
//! goes the row path described above, so the batches, rejects and errors are
//! the same either way ([`ReadOptions::fast`] turns the fast path off).
//! [`ReadOptions::fields`] leaves unread fields out of the batches (they are
//! still checked), and [`read_files`] reads many files at once, large CSV
//! files in parts on several threads.
//!
//! [`write_batches`] is the inverse: canonical batches to canonical input
//! files, for exports, examples and round-trip tests.
#![deny(missing_docs)]

mod batch;
mod columns;
mod convert;
mod error;
mod options;
mod parallel;
mod read_csv;
mod read_fast;
mod read_jsonl;
mod read_parquet;
mod read_words;
mod scan;
mod sink;
mod values;
mod write;

pub use error::{IngestError, Reject, Unit};
pub use options::{parse_mapping, Delimiter, Format, OnError, ReadOptions};
pub use parallel::{read_files, FileData, Parallel};
pub use write::write_batches;

use arrow::record_batch::RecordBatch;
use clientela_core::RecordKind;
use columns::Plan;
use sink::Sink;
use std::fs::File;
use std::path::Path;

/// Rows read from a file: at most [`ReadOptions::batch_rows`] good rows.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// The record kind of the rows.
    pub kind: RecordKind,
    /// The good rows, in the canonical schema of `kind`.
    pub batch: RecordBatch,
    /// Rows skipped under [`OnError::Skip`], with their reasons.
    pub rejects: Vec<Reject>,
    /// Records read for this chunk, good and rejected.
    pub rows_read: u64,
    /// Bytes of the file consumed for this chunk (estimated from the row
    /// count for Parquet); over all chunks they add up to the file size.
    pub bytes_read: u64,
}

/// A reader of one input source, driven by [`FileReader`].
pub(crate) trait Source: Send {
    /// Reads records into `sink` until it is full or the input ends;
    /// `Ok(true)` at the end.
    fn fill(&mut self, plan: &mut Plan, sink: &mut Sink) -> Result<bool, IngestError>;
    /// Bytes of the file consumed so far.
    fn position(&self) -> u64;
}

/// Streams the chunks of one file; made by [`read_file`].
pub struct FileReader {
    plan: Plan,
    sink: Sink,
    source: Box<dyn Source>,
    total_bytes: Option<u64>,
    reported_bytes: u64,
    yielded: bool,
    done: bool,
}

impl FileReader {
    /// The record kind being read.
    pub fn kind(&self) -> RecordKind {
        self.plan.kind
    }

    /// The size of the file in bytes, for a progress bar.
    pub fn total_bytes(&self) -> Option<u64> {
        self.total_bytes
    }

    /// The file's column names (after `column_names`).
    pub fn columns(&self) -> &[String] {
        self.plan.columns()
    }
}

impl Iterator for FileReader {
    type Item = Result<Chunk, IngestError>;

    /// The next chunk; after an error (under [`OnError::Stop`]) nothing more.
    /// An empty file yields one empty chunk.
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let end = match self.source.fill(&mut self.plan, &mut self.sink) {
            Ok(end) => end,
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        let position = self.source.position();
        let bytes = position.saturating_sub(self.reported_bytes);
        if end {
            self.done = true;
            if self.yielded && self.sink.is_empty() && bytes == 0 {
                return None;
            }
        }
        self.reported_bytes = position;
        self.yielded = true;
        Some(Ok(self.sink.take(bytes)))
    }
}

/// Opens `path` for reading as `opts` say: the kind (given or guessed from
/// the file name), the format (given or told by the extension) and the
/// columns are checked before any row is read.
pub fn read_file(path: &Path, opts: &ReadOptions) -> Result<FileReader, IngestError> {
    let (kind, format) = kind_and_format(path, opts)?;
    let mut plan = Plan::new(kind, path, opts)?;
    let io = |source| IngestError::Io {
        file: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let total_bytes = file.metadata().ok().map(|m| m.len());
    let (source, unit): (Box<dyn Source>, Unit) = match format {
        Format::Csv => match csv_delimiter(path, opts) {
            None => (
                Box::new(read_words::WordsSource::open(file, opts, &mut plan)?),
                Unit::Line,
            ),
            Some(b) if opts.fast && read_fast::FastCsvSource::supports(b) => (
                Box::new(read_fast::FastCsvSource::open(file, b, opts, &mut plan)?),
                Unit::Line,
            ),
            Some(b) => (
                Box::new(read_csv::CsvSource::open(file, b, opts, &mut plan)?),
                Unit::Line,
            ),
        },
        Format::JsonLines => (
            Box::new(read_jsonl::JsonSource::open(file, &mut plan)?),
            Unit::Line,
        ),
        Format::Parquet => (
            Box::new(read_parquet::ParquetSource::open(file, opts, &mut plan)?),
            Unit::Row,
        ),
    };
    let sink = Sink::new(&plan, opts.batch_rows, opts.on_error, unit);
    Ok(FileReader {
        plan,
        sink,
        source,
        total_bytes,
        reported_bytes: 0,
        yielded: false,
        done: false,
    })
}

/// The record kind [`read_file`] reads `path` as (given in `opts` or
/// guessed from the file name), without opening the file.
pub fn record_kind(path: &Path, opts: &ReadOptions) -> Result<RecordKind, IngestError> {
    kind_and_format(path, opts).map(|(kind, _)| kind)
}

/// The kind (given or guessed from the file name) and the format (given or
/// told by the extension) of a file.
pub(crate) fn kind_and_format(
    path: &Path,
    opts: &ReadOptions,
) -> Result<(RecordKind, Format), IngestError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let kind = opts
        .kind
        .or_else(|| RecordKind::guess_from_file_name(name))
        .ok_or_else(|| IngestError::UnknownKind {
            file: path.to_path_buf(),
            expected: RecordKind::ALL.map(|k| k.name()).join(", "),
        })?;
    let format = opts
        .format
        .or_else(|| Format::from_path(path))
        .ok_or_else(|| IngestError::UnknownFormat {
            file: path.to_path_buf(),
        })?;
    Ok((kind, format))
}

/// The delimiter byte of a delimited file (`,`, tab for `.tsv`); `None`
/// for columns separated by white space.
pub(crate) fn csv_delimiter(path: &Path, opts: &ReadOptions) -> Option<u8> {
    match opts.delimiter {
        Some(Delimiter::Whitespace) => None,
        Some(Delimiter::Byte(b)) => Some(b),
        None => {
            let tsv = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
            Some(if tsv { b'\t' } else { b',' })
        }
    }
}

/// Column names for a file: the header's (or the file's own), renamed by
/// position with `column_names` where given.
pub(crate) fn rename(mut columns: Vec<String>, names: Option<&Vec<String>>) -> Vec<String> {
    if let Some(names) = names {
        for (i, n) in names.iter().enumerate() {
            match columns.get_mut(i) {
                Some(c) => *c = n.trim().to_string(),
                None => columns.push(n.trim().to_string()),
            }
        }
    }
    columns
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_rename_by_position() {
        let cols = vec!["a".to_string(), "b".to_string()];
        assert_eq!(rename(cols.clone(), None), cols);
        let names = vec!["x".to_string()];
        assert_eq!(rename(cols, Some(&names)), vec!["x", "b"]);
        let names = vec!["x".to_string(), " y ".to_string(), "z".to_string()];
        assert_eq!(rename(vec![], Some(&names)), vec!["x", "y", "z"]);
    }

    #[test]
    fn readers_can_move_to_another_thread() {
        fn send<T: Send>() {}
        send::<FileReader>();
        send::<Chunk>();
        send::<IngestError>();
    }

    #[test]
    fn unknown_kind_and_format_ask_for_flags() {
        let e = read_file(Path::new("CDNOW_master.txt"), &ReadOptions::default())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("--kind") && e.contains("order"), "{e}");
        let opts = ReadOptions {
            kind: Some(RecordKind::Order),
            ..ReadOptions::default()
        };
        let e = read_file(Path::new("orders.xlsx"), &opts)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("--format"), "{e}");
    }
}
