//! Where a command's data comes from: the store, or input files read
//! directly (one-shot use, nothing stored).

use crate::args::{InputArgs, OnErrorArg, QueryArgs};
use anyhow::{bail, Context, Result};
use clientela_core::time::TimeParser;
use clientela_core::{Config, RecordKind};
use clientela_engine::Engine;
use clientela_ingest::{parse_mapping, read_file, Delimiter, OnError, ReadOptions};
use clientela_store::Store;
use clientela_table::arrow::record_batch::RecordBatch;
use clientela_table::{Dataset, RowContext};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Checked reading options from the flags.
pub fn read_options(a: &InputArgs, config: &Config) -> Result<ReadOptions> {
    let mut mapping = Vec::new();
    for m in &a.map {
        mapping.extend(parse_mapping(m)?);
    }
    let mut constants = Vec::new();
    for s in &a.set {
        constants.extend(parse_mapping(s)?);
    }
    let delimiter = match a.delimiter.as_deref() {
        None => None,
        Some("whitespace") | Some("ws") | Some(" ") => Some(Delimiter::Whitespace),
        Some("tab") | Some("\\t") | Some("\t") => Some(Delimiter::Byte(b'\t')),
        Some(d) if d.len() == 1 => Some(Delimiter::Byte(d.as_bytes()[0])),
        Some(d) => bail!("--delimiter {d:?}: expected one character, `tab` or `whitespace`"),
    };
    let tz = clientela_core::time::parse_tz(&config.timezone)?;
    Ok(ReadOptions {
        kind: a
            .kind
            .as_deref()
            .map(str::parse::<RecordKind>)
            .transpose()?,
        mapping,
        constants,
        delimiter,
        has_header: !a.no_header,
        column_names: a
            .columns
            .as_ref()
            .map(|c| c.split(',').map(|s| s.trim().to_string()).collect()),
        context: RowContext {
            time: TimeParser::new(a.date_format.clone(), tz),
        },
        on_error: match a.on_error {
            OnErrorArg::Stop => OnError::Stop,
            OnErrorArg::Skip => OnError::Skip,
        },
        ..ReadOptions::default()
    })
}

/// One file read completely: its kind, good batches and rejected rows.
type FileRead = (RecordKind, Vec<RecordBatch>, Vec<clientela_ingest::Reject>);

fn read_one(path: &Path, opts: &ReadOptions, bar: &indicatif::ProgressBar) -> Result<FileRead> {
    let reader = read_file(path, opts)?;
    let kind = reader.kind();
    let (mut batches, mut rejects) = (Vec::new(), Vec::new());
    for chunk in reader {
        let chunk = chunk?;
        bar.inc(chunk.bytes_read);
        rejects.extend(chunk.rejects);
        batches.push(chunk.batch);
    }
    Ok((kind, batches, rejects))
}

/// Reads files completely into canonical batches per kind, several files
/// at once (one thread per core). Rejected rows (with `--on-error skip`) go
/// to the rejects file; errors are reported in the order of the files.
pub fn read_all(
    files: &[PathBuf],
    opts: &ReadOptions,
    rejects: &Path,
) -> Result<BTreeMap<RecordKind, Vec<RecordBatch>>> {
    let total = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let bar = crate::import::bar(total, "reading");
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:40}] {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, {eta})",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len())
        .max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: std::sync::Mutex<Vec<Option<Result<FileRead>>>> =
        std::sync::Mutex::new((0..files.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(path) = files.get(i) else { break };
                let read = read_one(path, opts, &bar);
                results.lock().expect("no worker panics holding the lock")[i] = Some(read);
            });
        }
    });
    bar.finish_and_clear();
    let mut tables: BTreeMap<RecordKind, Vec<RecordBatch>> = BTreeMap::new();
    let mut rejected = crate::import::Rejects::new(rejects);
    for read in results.into_inner().expect("workers done") {
        let (kind, batches, file_rejects) = read.expect("every file was read")?;
        rejected.add(&file_rejects)?;
        tables.entry(kind).or_default().extend(batches);
    }
    rejected.finish()?;
    Ok(tables)
}

/// An engine over `--input` files when given, else over the store.
pub fn engine(db: &Path, q: &QueryArgs, config: Config) -> Result<Engine> {
    let dataset = if q.inputs.is_empty() {
        if !db.exists() {
            bail!(
                "no store at {} — import data first (`clientela import FILE…`), point to one with --db, \
                 or report on files with --input FILE",
                db.display()
            );
        }
        let store = Store::open(db)?;
        let mut clock = clientela_engine::Clock::new();
        let ds = store
            .load_columns(clientela_engine::analytic_columns)
            .with_context(|| format!("reading {}", db.display()))?;
        clock.lap("load store");
        ds
    } else {
        let opts = read_options(&q.read, &config)?;
        Dataset::from_canonical(&read_all(&q.inputs, &opts, &q.read.rejects)?)
            .project(clientela_engine::analytic_columns)
    };
    Ok(Engine::new(dataset, config)?)
}
