//! The columnar copy beside the database: one Arrow IPC file per column
//! of each table, so that a report reads only the columns it needs.
//!
//! SQLite stays the source of truth. The copy records the store generation
//! it was made from; when the database has moved on, the copy is rebuilt
//! from SQLite on the next load. A copy that cannot be read is rebuilt too,
//! so losing or corrupting it never loses data.

use crate::{Store, StoreError};
use clientela_core::RecordKind;
use clientela_table::arrow::array::{ArrayRef, RecordBatch};
use clientela_table::arrow::datatypes::Schema;
use clientela_table::arrow::ipc::reader::FileReader;
use clientela_table::arrow::ipc::writer::FileWriter;
use clientela_table::{keyed_schema, projection, Dataset};
use std::fs::{self, File};
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const GENERATION_FILE: &str = "generation";

impl Store {
    /// The folder of the columnar copy: `<db>.snapshot/`.
    pub fn snapshot_dir(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".snapshot");
        PathBuf::from(p)
    }

    /// Every table, keyed: from the columnar copy when it is current,
    /// otherwise from SQLite (and the copy is then rewritten).
    pub fn load(&self) -> Result<Dataset, StoreError> {
        self.load_columns(|_| None)
    }

    /// Like [`load`](Self::load), keeping of each kind only the columns
    /// `columns` names (`None`: all); the columnar copy is read projected.
    pub fn load_columns(
        &self,
        columns: impl Fn(RecordKind) -> Option<&'static [&'static str]> + Copy,
    ) -> Result<Dataset, StoreError> {
        let generation = self.generation()?;
        let dir = self.snapshot_dir();
        match read_snapshot(&dir, generation, columns) {
            Ok(ds) => return Ok(ds),
            Err(e) if std::env::var_os("CLIENTELA_TIMINGS").is_some() => {
                eprintln!("[timing] columnar copy not used: {e}")
            }
            Err(_) => {}
        }
        let ds = self.load_from_sqlite()?;
        // A copy that cannot be written only costs speed next time.
        if let Err(e) = write_snapshot(&dir, generation, &ds) {
            eprintln!("warning: {e}");
        }
        Ok(ds.project(columns))
    }
}

fn snap_err(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Snapshot {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn column_path(dir: &Path, kind: RecordKind, column: &str) -> PathBuf {
    dir.join(format!("{}.{column}.arrow", kind.table()))
}

fn read_snapshot(
    dir: &Path,
    generation: i64,
    columns: impl Fn(RecordKind) -> Option<&'static [&'static str]>,
) -> Result<Dataset, StoreError> {
    let gen_path = dir.join(GENERATION_FILE);
    let recorded = fs::read_to_string(&gen_path).map_err(|e| snap_err(&gen_path, e))?;
    if recorded.trim() != generation.to_string() {
        return Err(snap_err(&gen_path, "out of date"));
    }
    let mut ds = Dataset::new();
    for kind in RecordKind::ALL {
        let schema = keyed_schema(kind);
        let indices = match columns(kind) {
            Some(keep) => projection(kind, keep),
            None => (0..schema.fields().len()).collect(),
        };
        let projected = Arc::new(schema.project(&indices).map_err(|e| snap_err(dir, e))?);
        // One file per column: a report reads only the columns it needs.
        let mut per_column: Vec<Vec<ArrayRef>> = Vec::new();
        for field in projected.fields() {
            let path = column_path(dir, kind, field.name());
            let file = File::open(&path).map_err(|e| snap_err(&path, e))?;
            let reader =
                FileReader::try_new(BufReader::new(file), None).map_err(|e| snap_err(&path, e))?;
            let found = reader.schema();
            if found.fields().len() != 1 || found.field(0).data_type() != field.data_type() {
                return Err(snap_err(&path, "schema differs"));
            }
            let arrays = reader
                .map(|b| b.map(|b| b.column(0).clone()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| snap_err(&path, e))?;
            per_column.push(arrays);
        }
        let batches = per_column.first().map_or(0, Vec::len);
        if per_column.iter().any(|c| c.len() != batches) {
            return Err(snap_err(dir, format!("{}: columns disagree", kind.table())));
        }
        let tables = (0..batches)
            .map(|i| {
                let cols = per_column.iter().map(|c| c[i].clone()).collect();
                RecordBatch::try_new(projected.clone(), cols).map_err(|e| snap_err(dir, e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        ds.tables.insert(kind, tables);
    }
    Ok(ds)
}

fn write_snapshot(dir: &Path, generation: i64, ds: &Dataset) -> Result<(), StoreError> {
    fs::create_dir_all(dir).map_err(|e| snap_err(dir, e))?;
    let gen_path = dir.join(GENERATION_FILE);
    // Invalidate first: a crash while writing leaves a copy marked stale.
    let _ = fs::remove_file(&gen_path);
    for (kind, batches) in &ds.tables {
        let schema = keyed_schema(*kind);
        for (i, field) in schema.fields().iter().enumerate() {
            let path = column_path(dir, *kind, field.name());
            let one = Arc::new(Schema::new(vec![field.as_ref().clone()]));
            let file = File::create(&path).map_err(|e| snap_err(&path, e))?;
            let mut w =
                FileWriter::try_new(BufWriter::new(file), &one).map_err(|e| snap_err(&path, e))?;
            for b in batches {
                let col = RecordBatch::try_new(one.clone(), vec![b.column(i).clone()])
                    .map_err(|e| snap_err(&path, e))?;
                w.write(&col).map_err(|e| snap_err(&path, e))?;
            }
            w.finish().map_err(|e| snap_err(&path, e))?;
        }
    }
    fs::write(&gen_path, generation.to_string()).map_err(|e| snap_err(&gen_path, e))
}
