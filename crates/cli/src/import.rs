//! `clientela import`: files into the store, one transaction per batch.
//!
//! With `--on-error stop` (the default) every file is read through and
//! checked before anything is written, so a bad row leaves the store
//! untouched; then the files are read again and stored. Neither pass keeps
//! more than a few batches, so memory does not grow with the files (keeping
//! the checked rows for the store pass held the whole input: 2.8 GiB for
//! 1M customers' 2.6 GB of CSV). A file changed between the passes stops
//! the store pass at its first bad row; the batches stored before it stay,
//! each a transaction, and importing again stores none of them twice.
//! With `--on-error skip` there is no check pass: batches are stored as they
//! are read and the bad rows go to the rejects file with their reason.

use crate::args::{ImportArgs, OnErrorArg};
use crate::source::read_options;
use anyhow::{Context, Result};
use clientela_core::{Config, RecordKind};
use clientela_ingest::{read_file, record_kind, IngestError, ReadOptions, Reject};
use clientela_store::{BatchOutcome, Store};
use clientela_table::arrow::record_batch::RecordBatch;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Rejected rows, written to a CSV file only if there are any.
pub struct Rejects {
    path: PathBuf,
    writer: Option<csv::Writer<std::fs::File>>,
    /// Rows rejected so far.
    pub count: u64,
}

impl Rejects {
    /// Rejects that will go to `path`.
    pub fn new(path: &Path) -> Rejects {
        Rejects {
            path: path.to_path_buf(),
            writer: None,
            count: 0,
        }
    }

    /// Records some rejected rows.
    pub fn add(&mut self, rejects: &[Reject]) -> Result<()> {
        for r in rejects {
            if self.writer.is_none() {
                let mut w = csv::Writer::from_path(&self.path)
                    .with_context(|| format!("cannot write rejects to {}", self.path.display()))?;
                w.write_record(["file", "line", "column", "field", "reason", "raw"])?;
                self.writer = Some(w);
            }
            let w = self.writer.as_mut().expect("opened above");
            w.write_record([
                r.file.display().to_string(),
                r.line.to_string(),
                r.column.clone().unwrap_or_default(),
                r.field.clone().unwrap_or_default(),
                r.message.clone(),
                r.raw.clone(),
            ])?;
            self.count += 1;
        }
        Ok(())
    }

    /// Flushes the file and says where the rejected rows went.
    pub fn finish(&mut self) -> Result<()> {
        if let Some(w) = self.writer.as_mut() {
            w.flush()?;
            eprintln!(
                "{} rejected rows written to {}",
                self.count,
                self.path.display()
            );
        }
        Ok(())
    }
}

/// Totals of one import.
#[derive(Debug, Default)]
pub struct Totals {
    /// Rows read per kind.
    pub per_kind: std::collections::BTreeMap<RecordKind, BatchOutcome>,
}

impl Totals {
    fn add(&mut self, kind: RecordKind, o: BatchOutcome) {
        let t = self.per_kind.entry(kind).or_default();
        t.rows += o.rows;
        t.stored += o.stored;
        t.duplicates += o.duplicates;
        t.minimal_customers += o.minimal_customers;
    }

    /// Prints the summary table.
    pub fn print(&self, rejected: u64, seconds: f64) {
        let mut t = comfy_table::Table::new();
        t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
        t.set_header([
            "kind",
            "rows read",
            "stored",
            "already stored",
            "new minimal customers",
        ]);
        let mut rows = 0;
        for (k, o) in &self.per_kind {
            rows += o.rows;
            t.add_row([
                k.name().to_string(),
                o.rows.to_string(),
                o.stored.to_string(),
                o.duplicates.to_string(),
                o.minimal_customers.to_string(),
            ]);
        }
        eprintln!("{t}");
        eprintln!(
            "{rows} rows in {seconds:.1} s ({:.0} rows/s); {rejected} rejected",
            rows as f64 / seconds.max(1e-9)
        );
    }
}

/// Stores batches of one kind, one transaction each.
pub fn store_batches(
    store: &mut Store,
    kind: RecordKind,
    batches: &[RecordBatch],
    totals: &mut Totals,
    bar: &ProgressBar,
) -> Result<()> {
    for b in batches {
        let o = store.import_batch(kind, b, |_| {})?;
        bar.inc(b.num_rows() as u64);
        totals.add(kind, o);
    }
    Ok(())
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {human_pos}/{human_len} ({per_sec}, {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// Runs `clientela import`.
pub fn run(db: &Path, a: ImportArgs, config: &Config) -> Result<ExitCode> {
    let opts = read_options(&a.input, config)?;
    let started = std::time::Instant::now();
    if a.input.on_error == OnErrorArg::Stop {
        // Read and check everything first: a bad row writes nothing.
        check_all(&a.files, &opts)?;
    }
    let kinds = a
        .files
        .iter()
        .map(|f| record_kind(f, &opts))
        .collect::<Result<Vec<_>, _>>()?;
    // Customers first, so that events find their described customer.
    let mut order: Vec<usize> = (0..a.files.len()).collect();
    order.sort_by_key(|&i| kinds[i]);
    let mut store = Store::open(db)?;
    let mut rejects = Rejects::new(&a.input.rejects);
    let mut totals = Totals::default();
    for i in order {
        store_file(&mut store, &a.files[i], &opts, &mut rejects, &mut totals)?;
    }
    rejects.finish()?;
    totals.print(rejects.count, started.elapsed().as_secs_f64());
    eprintln!("store: {}", db.display());
    Ok(ExitCode::SUCCESS)
}

/// Reads every file through, on all cores, keeping none of its rows; the
/// first bad row (in the files' order) is the error. Every field is
/// checked, but none is kept: the columns are placeholders (see
/// [`ReadOptions::fields`]).
fn check_all(files: &[PathBuf], opts: &ReadOptions) -> Result<()> {
    let check = ReadOptions {
        fields: RecordKind::ALL
            .into_iter()
            .map(|k| (k, Vec::new()))
            .collect(),
        ..opts.clone()
    };
    let mut sized: Vec<(usize, &PathBuf, u64)> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (i, f, std::fs::metadata(f).map_or(0, |m| m.len())))
        .collect();
    // The largest first: the threads take runs of about the same bytes, and
    // a large file late in the list would add its weight to a full run.
    sized.sort_by_key(|&(_, _, n)| std::cmp::Reverse(n));
    let bar = bar(sized.iter().map(|&(_, _, n)| n).sum(), "checking");
    let checked = clientela_table::map_in_order(
        &sized,
        |&(_, _, n)| n as usize,
        |&(i, f, _)| check_file(f, &check, &bar).map_err(|e| (i, e)),
    );
    bar.finish_and_clear();
    // The error of the first file, in the order given, that has one.
    match checked
        .into_iter()
        .filter_map(Result::err)
        .min_by_key(|(i, _)| *i)
    {
        Some((_, e)) => Err(e.into()),
        None => Ok(()),
    }
}

/// Reads `file` through, dropping its chunks.
fn check_file(file: &Path, opts: &ReadOptions, bar: &ProgressBar) -> Result<(), IngestError> {
    for chunk in read_file(file, opts)? {
        bar.inc(chunk?.bytes_read);
    }
    Ok(())
}

/// Stores the chunks of `file` as they are read (one transaction each),
/// reading the next ones on another core meanwhile.
fn store_file(
    store: &mut Store,
    file: &Path,
    opts: &ReadOptions,
    rejects: &mut Rejects,
    totals: &mut Totals,
) -> Result<()> {
    let reader = read_file(file, opts)?;
    let kind = reader.kind();
    let bar = bar(
        reader.total_bytes().unwrap_or(0),
        &file.display().to_string(),
    );
    // Two chunks ahead at most: memory stays a few batches.
    let (tx, rx) = std::sync::mpsc::sync_channel(2);
    std::thread::scope(|s| -> Result<()> {
        s.spawn(move || {
            for chunk in reader {
                let failed = chunk.is_err();
                // A closed channel: the store side stopped at an error.
                if tx.send(chunk).is_err() || failed {
                    break;
                }
            }
        });
        for chunk in rx {
            let chunk = chunk?;
            rejects.add(&chunk.rejects)?;
            totals.add(kind, store.import_batch(kind, &chunk.batch, |_| {})?);
            bar.inc(chunk.bytes_read);
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    Ok(())
}
