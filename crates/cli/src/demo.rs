//! `clientela demo`: a generated business, stored and reported.

use crate::args::DemoArgs;
use crate::import::{bar, store_batches, Totals};
use anyhow::Result;
use clientela_core::Config;
use clientela_demo::{generate, DemoConfig};
use clientela_engine::{Engine, ReportRequest};
use clientela_ingest::{write_batches, Format};
use clientela_store::Store;
use std::process::ExitCode;

/// Runs `clientela demo`.
pub async fn run(a: DemoArgs, config: Config) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let cfg = DemoConfig {
        customers: a.customers,
        seed: a.seed,
        ..DemoConfig::default()
    };
    let data = generate(&cfg);
    eprintln!(
        "generated {} customers, {} orders in {:.1} s",
        a.customers,
        data.rows(clientela_core::RecordKind::Order),
        started.elapsed().as_secs_f64()
    );
    if let Some(dir) = &a.write_csv {
        std::fs::create_dir_all(dir)?;
        for (kind, batches) in &data.tables {
            let path = dir.join(format!("{}.csv", kind.table()));
            write_batches(&path, Format::Csv, *kind, batches)?;
        }
        eprintln!("CSV files written to {}", dir.display());
        if a.no_store {
            return Ok(ExitCode::SUCCESS);
        }
    }
    // A fresh store each time: the demo never mixes with other data.
    for suffix in ["", "-wal", "-shm"] {
        let mut p = a.demo_db.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    let mut store = Store::open(&a.demo_db)?;
    let rows = data
        .tables
        .values()
        .flatten()
        .map(|b| b.num_rows() as u64)
        .sum();
    let progress = bar(rows, "storing");
    let mut totals = Totals::default();
    let t = std::time::Instant::now();
    for (kind, batches) in &data.tables {
        store_batches(&mut store, *kind, batches, &mut totals, &progress)?;
    }
    progress.finish_and_clear();
    totals.print(0, t.elapsed().as_secs_f64());
    let engine = Engine::new(store.load()?, config)?;
    let report = engine.overview(&ReportRequest::default()).await?;
    crate::output::write_report(&report, &a.out)?;
    eprintln!(
        "\nThe demo store is {}. Explore it, e.g.:\n  clientela --db {} customers --stage at_risk\n  clientela --db {} report --by channel",
        a.demo_db.display(),
        a.demo_db.display(),
        a.demo_db.display()
    );
    Ok(ExitCode::SUCCESS)
}
