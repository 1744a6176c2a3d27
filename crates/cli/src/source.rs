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

/// Reads files completely into canonical batches per kind. Rejected rows
/// (with `--on-error skip`) are written to the rejects file.
pub fn read_all(
    files: &[PathBuf],
    opts: &ReadOptions,
    rejects: &Path,
) -> Result<BTreeMap<RecordKind, Vec<RecordBatch>>> {
    let mut tables: BTreeMap<RecordKind, Vec<RecordBatch>> = BTreeMap::new();
    let mut rejected = crate::import::Rejects::new(rejects);
    for f in files {
        let reader = read_file(f, opts)?;
        let kind = reader.kind();
        for chunk in reader {
            let chunk = chunk?;
            rejected.add(&chunk.rejects)?;
            tables.entry(kind).or_default().push(chunk.batch);
        }
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
        let t = std::time::Instant::now();
        let ds = store
            .load_columns(clientela_engine::analytic_columns)
            .with_context(|| format!("reading {}", db.display()))?;
        if std::env::var_os("CLIENTELA_TIMINGS").is_some() {
            eprintln!("[timing] load store: {:.3} s", t.elapsed().as_secs_f64());
        }
        ds
    } else {
        let opts = read_options(&q.read, &config)?;
        Dataset::from_canonical(&read_all(&q.inputs, &opts, &q.read.rejects)?)
            .project(clientela_engine::analytic_columns)
    };
    crate::app::open_engine(dataset, config)
}
