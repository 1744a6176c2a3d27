//! `segment save|list|remove` (user-defined segments kept in the store)
//! and the `segments` report.

use crate::args::{SegmentCommand, SegmentSaveArgs, SegmentsArgs};
use crate::{output, source};
use anyhow::{bail, Result};
use clientela_core::Config;
use clientela_engine::{Report, ReportRequest, Section};
use clientela_store::Store;
use clientela_table::arrow::array::{ArrayRef, RecordBatch, StringArray};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

/// Runs a `segment` subcommand.
pub async fn run(db: &Path, command: SegmentCommand, config: Config) -> Result<ExitCode> {
    match command {
        SegmentCommand::Save(a) => save(db, *a, config).await,
        SegmentCommand::List(a) => {
            let segments = open_existing(db)?.segments()?;
            if segments.is_empty() && a.out.out.is_none() {
                eprintln!(
                    "no saved segments in {} (save one with `clientela segment save NAME EXPRESSION`)",
                    db.display()
                );
                return Ok(ExitCode::SUCCESS);
            }
            let column = |f: fn(&clientela_store::Segment) -> &str| -> ArrayRef {
                Arc::new(StringArray::from_iter_values(segments.iter().map(f)))
            };
            let batch = RecordBatch::try_from_iter([
                ("name", column(|s| &s.name)),
                ("expression", column(|s| &s.expression)),
                ("description", column(|s| &s.description)),
                ("saved_at", column(|s| &s.saved_at)),
            ])?;
            let report = Report {
                as_of: chrono::Utc::now().date_naive(),
                currency: None,
                sections: vec![Section {
                    name: "segments".into(),
                    title: format!("Saved segments in {}", db.display()),
                    batch,
                }],
            };
            output::write_report(&report, &a.out)?;
            Ok(ExitCode::SUCCESS)
        }
        SegmentCommand::Remove { name } => {
            if !open_existing(db)?.remove_segment(&name)? {
                bail!("no segment named {name:?} in {}", db.display());
            }
            eprintln!("removed segment {name}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn open_existing(db: &Path) -> Result<Store> {
    if !db.exists() {
        bail!(
            "no store at {} — segments are kept in the store (point to one with --db)",
            db.display()
        );
    }
    Ok(Store::open(db)?)
}

/// Checks the expression on the data (unless --no-check) and saves it.
async fn save(db: &Path, a: SegmentSaveArgs, config: Config) -> Result<ExitCode> {
    clientela_store::check_segment_name(&a.name)?;
    clientela_engine::check_expression(&a.expression)?;
    if a.no_check {
        eprintln!("segment {}: saved without checking it on the data", a.name);
    } else {
        if a.query.segment.is_some() || a.query.filter.is_some() {
            bail!("segment save: a segment is checked on all customers; leave out --segment and --where");
        }
        let engine = source::engine(db, &a.query, config).await?;
        let p = source::params_at(&engine, &a.query).await?;
        let size = engine.segment_size(&p, &a.expression).await?;
        source::report_size(&format!("segment {}", a.name), size, &p);
    }
    let replaced = Store::open(db)?.save_segment(&a.name, &a.expression, &a.description)?;
    eprintln!(
        "{} segment {} in {}",
        if replaced { "replaced" } else { "saved" },
        a.name,
        db.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The `segments` report, with the store's saved segments when there is a store.
pub async fn report(db: &Path, a: SegmentsArgs, config: Config) -> Result<ExitCode> {
    let attributes: Vec<String> = a
        .attributes
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let saved: Vec<(String, String)> = if db.exists() {
        Store::open(db)?
            .segments()?
            .into_iter()
            .map(|s| (s.name, s.expression))
            .collect()
    } else {
        Vec::new()
    };
    let engine = source::engine(db, &a.query, config).await?;
    let req = ReportRequest {
        as_of: a.query.as_of,
        ..Default::default()
    };
    let report = engine.segment_report(&req, &attributes, &saved).await?;
    output::write_report(&report, &a.out)?;
    Ok(ExitCode::SUCCESS)
}
