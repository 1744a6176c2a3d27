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
use clientela_table::arrow::buffer::Buffer;
use clientela_table::arrow::datatypes::DataType;
use clientela_table::arrow::datatypes::Schema;
use clientela_table::arrow::ipc::convert::fb_to_schema;
use clientela_table::arrow::ipc::reader::{read_footer_length, FileDecoder};
use clientela_table::arrow::ipc::root_as_footer;
use clientela_table::arrow::ipc::writer::FileWriter;
use clientela_table::{keyed_schema, projection, Dataset, KeyOrder, KeyPartitioner, KeySplit, KEY};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const GENERATION_FILE: &str = "generation";
/// How the copy's rows are split by customer key ([`KeySplit`]); absent
/// when they are not.
const SPLIT_FILE: &str = "split";

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
        self.load_split(columns, None)
    }

    /// Like [`load_columns`](Self::load_columns), with the columnar copy
    /// split by customer key as `partitioner` says ([`KeySplit`]): a copy
    /// split another way (or not at all) is rewritten first, and the data
    /// set is then read from the new copy. It says how it is split; it is
    /// not split only when the copy could not be written (read from SQLite).
    pub fn load_split(
        &self,
        columns: impl Fn(RecordKind) -> Option<&'static [&'static str]> + Copy,
        partitioner: Option<&dyn KeyPartitioner>,
    ) -> Result<Dataset, StoreError> {
        let generation = self.generation()?;
        let dir = self.snapshot_dir();
        match read_snapshot(&dir, generation, columns, partitioner) {
            Ok(ds) => return Ok(ds),
            Err(e) if std::env::var_os("CLIENTELA_TIMINGS").is_some() => {
                eprintln!("[timing] columnar copy not used: {e}")
            }
            Err(_) => {}
        }
        // Table by table from SQLite into the copy, then read back from it:
        // split as asked, mapped from the page cache, and never the whole
        // store in memory at once.
        let written = self.max_key().and_then(|max_key| {
            write_snapshot(
                &dir,
                generation,
                |k| self.load_table(k),
                max_key,
                partitioner,
            )
        });
        match written.and_then(|()| read_snapshot(&dir, generation, columns, partitioner)) {
            Ok(ds) => Ok(ds),
            Err(e) => {
                // A copy that cannot be written only costs speed next time.
                eprintln!("warning: {e}");
                Ok(self.load_from_sqlite()?.project(columns))
            }
        }
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
    partitioner: Option<&dyn KeyPartitioner>,
) -> Result<Dataset, StoreError> {
    let gen_path = dir.join(GENERATION_FILE);
    let recorded = fs::read_to_string(&gen_path).map_err(|e| snap_err(&gen_path, e))?;
    if recorded.trim() != generation.to_string() {
        return Err(snap_err(&gen_path, "out of date"));
    }
    let split = read_split(dir)?;
    if let Some(partitioner) = partitioner {
        if !split.as_ref().is_some_and(|s| s.made_by(partitioner)) {
            return Err(snap_err(
                &dir.join(SPLIT_FILE),
                format!(
                    "not split into {} partitions as the engine splits them",
                    partitioner.partitions()
                ),
            ));
        }
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
            let arrays = map_column(&path, field.data_type())?;
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
        if let Some(split) = split.as_ref().filter(|s| s.batches.contains_key(&kind)) {
            if split.partition(kind, &tables).is_none() {
                return Err(snap_err(dir, format!("{}: split disagrees", kind.table())));
            }
        }
        ds.tables.insert(kind, tables);
    }
    ds.split = split;
    Ok(ds)
}

/// The split the copy records (`None` when its rows are in no particular
/// order). Format: `partitions N`, `max_key K`, `fingerprint F`, then one
/// line per table: its name and the batch count of each partition.
fn read_split(dir: &Path) -> Result<Option<KeySplit>, StoreError> {
    let path = dir.join(SPLIT_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(snap_err(&path, e)),
    };
    let bad = |line: &str| snap_err(&path, format!("unreadable line {line:?}"));
    let mut split = KeySplit {
        partitions: 0,
        max_key: 0,
        fingerprint: 0,
        batches: BTreeMap::new(),
    };
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let name = words.next().ok_or_else(|| bad(line))?;
        let numbers: Vec<u64> = words
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|_| bad(line))?;
        match (name, numbers.as_slice()) {
            ("partitions", &[n]) => split.partitions = n as usize,
            ("max_key", &[k]) => split.max_key = k as i64,
            ("fingerprint", &[f]) => split.fingerprint = f,
            (table, counts) => {
                let kind = RecordKind::ALL
                    .into_iter()
                    .find(|k| k.table() == table)
                    .ok_or_else(|| bad(line))?;
                split
                    .batches
                    .insert(kind, counts.iter().map(|&c| c as usize).collect());
            }
        }
    }
    Ok(Some(split))
}

fn write_split(dir: &Path, split: &KeySplit) -> Result<(), StoreError> {
    let mut text = format!(
        "partitions {}\nmax_key {}\nfingerprint {}\n",
        split.partitions, split.max_key, split.fingerprint
    );
    for (kind, counts) in &split.batches {
        let counts: Vec<String> = counts.iter().map(usize::to_string).collect();
        text.push_str(&format!("{} {}\n", kind.table(), counts.join(" ")));
    }
    let path = dir.join(SPLIT_FILE);
    fs::write(&path, text).map_err(|e| snap_err(&path, e))
}

/// The arrays of one column file, read without copying: the file is
/// memory-mapped and the arrays point into it. Its pages come from the page
/// cache instead of freshly zeroed memory, which on this kind of machine
/// is what reading a large table mostly cost. The files are only ever
/// replaced by renaming a new file over them (never rewritten in place), so
/// a mapping stays valid while another process refreshes the copy.
fn map_column(path: &Path, expected: &DataType) -> Result<Vec<ArrayRef>, StoreError> {
    let err = |e: &dyn std::fmt::Display| snap_err(path, e);
    let file = File::open(path).map_err(|e| err(&e))?;
    // SAFETY: the mapping is read-only, and writers replace column files by
    // rename, never in place (see `write_column`), so the mapped bytes do
    // not change under the arrays.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| err(&e))?;
    let len = map.len();
    if len < 10 {
        return Err(err(&"too short for an Arrow IPC file"));
    }
    let ptr = std::ptr::NonNull::new(map.as_ptr() as *mut u8).ok_or_else(|| err(&"empty map"))?;
    // SAFETY: `ptr` and `len` describe the mapping, which the buffer owns
    // (and unmaps when the last array pointing into it is dropped).
    let buffer = unsafe { Buffer::from_custom_allocation(ptr, len, Arc::new(map)) };
    let trailer: [u8; 10] = buffer[len - 10..].try_into().expect("10 bytes");
    let footer_len = read_footer_length(trailer).map_err(|e| err(&e))?;
    let footer_start = (len - 10)
        .checked_sub(footer_len)
        .ok_or_else(|| err(&"footer longer than the file"))?;
    let footer = root_as_footer(&buffer[footer_start..len - 10]).map_err(|e| err(&e))?;
    let schema = fb_to_schema(footer.schema().ok_or_else(|| err(&"no schema"))?);
    if schema.fields().len() != 1 || schema.field(0).data_type() != expected {
        return Err(err(&"schema differs"));
    }
    let decoder = FileDecoder::new(Arc::new(schema), footer.version());
    let mut arrays = Vec::new();
    for block in footer.recordBatches().into_iter().flatten() {
        let block_len = block.bodyLength() as usize + block.metaDataLength() as usize;
        let start = block.offset() as usize;
        if start
            .checked_add(block_len)
            .is_none_or(|end| end > footer_start)
        {
            return Err(err(&"record batch outside the file"));
        }
        let data = buffer.slice_with_length(start, block_len);
        let batch = decoder
            .read_record_batch(block, &data)
            .map_err(|e| err(&e))?
            .ok_or_else(|| err(&"empty record batch"))?;
        arrays.push(batch.column(0).clone());
    }
    Ok(arrays)
}

/// Writes one column file: to a temporary name first, then renamed over
/// the old file, so that a process reading the old one through a memory
/// map ([`map_column`]) keeps its bytes.
fn write_column(
    path: &Path,
    field: &clientela_table::arrow::datatypes::Field,
    columns: &[ArrayRef],
) -> Result<(), StoreError> {
    let err = |e: &dyn std::fmt::Display| snap_err(path, e);
    let mut temp = path.as_os_str().to_owned();
    temp.push(".new");
    let temp = PathBuf::from(temp);
    let one = Arc::new(Schema::new(vec![field.clone()]));
    let file = File::create(&temp).map_err(|e| err(&e))?;
    let mut w = FileWriter::try_new(BufWriter::new(file), &one).map_err(|e| err(&e))?;
    for c in columns {
        let col = RecordBatch::try_new(one.clone(), vec![c.clone()]).map_err(|e| err(&e))?;
        w.write(&col).map_err(|e| err(&e))?;
    }
    w.finish().map_err(|e| err(&e))?;
    w.into_inner()
        .map_err(|e| err(&e))?
        .flush()
        .map_err(|e| err(&e))?;
    fs::rename(&temp, path).map_err(|e| err(&e))
}

/// Writes the columnar copy, one table at a time as `load` gives it,
/// split by `partitioner` when one is given (keys `0..=max_key`). A split
/// table is reordered one column at a time, each written and let go before
/// the next, so that writing holds one table and one column of its copy:
/// the first report after an import stays within its memory.
fn write_snapshot(
    dir: &Path,
    generation: i64,
    mut load: impl FnMut(RecordKind) -> Result<Vec<RecordBatch>, StoreError>,
    max_key: i64,
    partitioner: Option<&dyn KeyPartitioner>,
) -> Result<(), StoreError> {
    fs::create_dir_all(dir).map_err(|e| snap_err(dir, e))?;
    let gen_path = dir.join(GENERATION_FILE);
    // Invalidate first: a crash while writing leaves a copy marked stale.
    let _ = fs::remove_file(&gen_path);
    let _ = fs::remove_file(dir.join(SPLIT_FILE));
    let mut split = partitioner.map(|p| KeySplit::plan(p, max_key));
    for kind in RecordKind::ALL {
        let batches = load(kind)?;
        let schema = keyed_schema(kind);
        let order = match &mut split {
            Some((split, assignment)) if schema.index_of(KEY).is_ok() => {
                let order = KeyOrder::new(&batches, assignment, split.partitions)
                    .map_err(|e| snap_err(dir, format!("{}: {e}", kind.table())))?;
                split.batches.insert(kind, order.counts());
                Some(order)
            }
            _ => None,
        };
        for (i, field) in schema.fields().iter().enumerate() {
            let columns: Vec<ArrayRef> = match &order {
                Some(order) => order.column(&batches, i).map_err(|e| snap_err(dir, e))?,
                None => batches.iter().map(|b| b.column(i).clone()).collect(),
            };
            write_column(&column_path(dir, kind, field.name()), field, &columns)?;
        }
    }
    if let Some((split, _)) = &split {
        write_split(dir, split)?;
    }
    fs::write(&gen_path, generation.to_string()).map_err(|e| snap_err(&gen_path, e))
}
