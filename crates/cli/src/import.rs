//! `clientela import`: files into the store, one transaction per batch.
//!
//! With `--on-error stop` (the default) every file is read and checked
//! before anything is written, so a bad row leaves the store untouched.
//! With `--on-error skip` batches are stored as they are read and the bad
//! rows go to the rejects file with their reason.

use crate::args::{ImportArgs, OnErrorArg};
use crate::source::{read_all, read_options};
use anyhow::{Context, Result};
use clientela_core::{Config, RecordKind};
use clientela_ingest::{read_file, Reject};
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
    let mut totals = Totals::default();
    let rejected = if a.input.on_error == OnErrorArg::Stop {
        // Read and check everything first: a bad row writes nothing.
        let tables = read_all(&a.files, &opts, &a.input.rejects)?;
        let mut store = Store::open(db)?;
        let rows = tables.values().flatten().map(|b| b.num_rows() as u64).sum();
        let bar = bar(rows, "storing");
        // Customers first, so that events find their described customer.
        for (kind, batches) in &tables {
            store_batches(&mut store, *kind, batches, &mut totals, &bar)?;
        }
        bar.finish_and_clear();
        0
    } else {
        let mut store = Store::open(db)?;
        let mut rejects = Rejects::new(&a.input.rejects);
        for f in &a.files {
            let reader = read_file(f, &opts)?;
            let kind = reader.kind();
            let bar = bar(reader.total_bytes().unwrap_or(0), &f.display().to_string());
            for chunk in reader {
                let chunk = chunk?;
                rejects.add(&chunk.rejects)?;
                let o = store.import_batch(kind, &chunk.batch, |_| {})?;
                totals.add(kind, o);
                bar.inc(chunk.bytes_read);
            }
            bar.finish_and_clear();
        }
        rejects.finish()?;
        rejects.count
    };
    totals.print(rejected, started.elapsed().as_secs_f64());
    eprintln!("store: {}", db.display());
    Ok(ExitCode::SUCCESS)
}
