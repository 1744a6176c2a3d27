//! Where a command's data comes from: the store, or input files read
//! directly (one-shot use, nothing stored).

use crate::args::{InputArgs, OnErrorArg, QueryArgs};
use anyhow::{bail, Context, Result};
use clientela_core::time::TimeParser;
use clientela_core::{Config, RecordKind};
use clientela_engine::{Engine, Params, ReportRequest, SegmentSize};
use clientela_ingest::{parse_mapping, read_files, Delimiter, OnError, Parallel, ReadOptions};
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

/// Reads files completely into canonical batches per kind, several files
/// at once and large CSV files in parts (one thread per core). Rejected
/// rows (with `--on-error skip`) go to the rejects file; errors are
/// reported in the order of the files.
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
    let results = read_files(files, opts, &Parallel::default(), &|n| bar.inc(n));
    bar.finish_and_clear();
    let mut tables: BTreeMap<RecordKind, Vec<RecordBatch>> = BTreeMap::new();
    let mut rejected = crate::import::Rejects::new(rejects);
    for read in results {
        let data = read?;
        rejected.add(&data.rejects)?;
        tables.entry(data.kind).or_default().extend(data.batches);
    }
    rejected.finish()?;
    Ok(tables)
}

/// The canonical fields the metrics read, per kind: those behind the
/// keyed columns of `analytic_columns` (`ck` is `customer_id`, money
/// columns are `<field>_minor`), and always `customer_id`, which keys the
/// rows. The event ids are not among them: keyed tables drop them.
fn analytic_fields() -> BTreeMap<RecordKind, Vec<String>> {
    RecordKind::ALL
        .into_iter()
        .filter_map(|kind| {
            let columns = clientela_engine::analytic_columns(kind)?;
            let fields = kind
                .fields()
                .iter()
                .filter(|f| f.name == "customer_id" || columns.contains(&f.column().as_str()))
                .map(|f| f.name.to_string())
                .collect();
            Some((kind, fields))
        })
        .collect()
}

/// Which columns an engine loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Columns {
    /// Only those the metrics read (`analytic_columns`): less to read and hold.
    Analytic,
    /// Every canonical column, for ad-hoc SQL.
    All,
}

/// An engine over `--input` files when given, else over the store, with
/// the columns the metrics read, restricted to `--segment`/`--where`.
pub async fn engine(db: &Path, q: &QueryArgs, config: Config) -> Result<Engine> {
    engine_with(db, q, config, Columns::Analytic).await
}

/// [`engine`] loading `columns`.
pub async fn engine_with(
    db: &Path,
    q: &QueryArgs,
    config: Config,
    columns: Columns,
) -> Result<Engine> {
    let mut engine = Engine::new(dataset(db, q, &config, columns)?, config)?;
    if let Some((label, expression)) = segment_filter(db, q)? {
        let p = params_at(&engine, q).await?;
        let size = engine
            .restrict_to_segment(&p, &expression)
            .await
            .with_context(|| label.clone())?;
        report_size(&label, size, &p);
    }
    Ok(engine)
}

/// The engine's parameters at the query's as-of date, with the purchase
/// model fitted (as every per-customer command needs them).
pub async fn params_at(engine: &Engine, q: &QueryArgs) -> Result<Params> {
    Ok(engine
        .params(&ReportRequest {
            as_of: q.as_of,
            ..Default::default()
        })
        .await?)
}

/// Tells on stderr how many customers a segment holds.
pub fn report_size(label: &str, size: SegmentSize, p: &Params) {
    eprintln!(
        "{label}: {} of {} customers ({:.1} %) on {}",
        size.members,
        size.customers,
        100.0 * size.members as f64 / size.customers.max(1) as f64,
        p.as_of()
    );
}

/// The `--segment` (looked up in the store) or `--where` expression, with
/// a label naming it in messages.
fn segment_filter(db: &Path, q: &QueryArgs) -> Result<Option<(String, String)>> {
    if let Some(expression) = &q.filter {
        return Ok(Some(("--where".into(), expression.clone())));
    }
    let Some(name) = &q.segment else {
        return Ok(None);
    };
    if !db.exists() {
        bail!(
            "--segment {name}: no store at {} to read saved segments from (point to one with --db, \
             or give the expression with --where)",
            db.display()
        );
    }
    let segment = Store::open(db)?.require_segment(name)?;
    Ok(Some((format!("segment {name}"), segment.expression)))
}

/// The data set of an engine: `--input` files when given, else the store.
fn dataset(db: &Path, q: &QueryArgs, config: &Config, columns: Columns) -> Result<Dataset> {
    let keep = |kind: RecordKind| match columns {
        Columns::Analytic => clientela_engine::analytic_columns(kind),
        Columns::All => None,
    };
    Ok(if q.inputs.is_empty() {
        if !db.exists() {
            bail!(
                "no store at {} — import data first (`clientela import FILE…`), point to one with --db, \
                 or report on files with --input FILE",
                db.display()
            );
        }
        let store = Store::open(db)?;
        let mut clock = clientela_engine::Clock::new();
        // The columnar copy is kept split by customer as the engine splits
        // its work, so that plans grouping by customer move no rows.
        let partitioner = clientela_engine::EnginePartitioner::new()?;
        let ds = store
            .load_split(keep, Some(&partitioner))
            .with_context(|| format!("reading {}", db.display()))?;
        clock.lap("load store");
        ds
    } else {
        let opts = ReadOptions {
            fields: match columns {
                Columns::Analytic => analytic_fields(),
                Columns::All => Default::default(),
            },
            // Keying then looks up each run of a customer's events once.
            customer_id_runs: true,
            ..read_options(&q.read, config)?
        };
        let mut clock = clientela_engine::Clock::new();
        let tables = read_all(&q.inputs, &opts, &q.read.rejects)?;
        clock.lap("read input files");
        let ds = Dataset::from_canonical(&tables).project(keep);
        drop(tables);
        clock.lap("key customers");
        // Split by customer as the engine splits its work (as the store's
        // copy is): plans grouping by customer then move no rows. These
        // keys are held nowhere else, so they are numbered for the split:
        // files grouped by customer are then split without a copy.
        let ds = ds.split_renumbered(&clientela_engine::EnginePartitioner::new()?)?;
        clock.lap("split by customer");
        ds
    })
}
