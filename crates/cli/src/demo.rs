//! `clientela demo`: a generated business, stored and reported.

use crate::args::DemoArgs;
use crate::import::{bar, store_batches, Totals};
use anyhow::Result;
use clientela_core::Config;
use clientela_demo::{generate, generate_with, DemoConfig};
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
    if let Some(dir) = &a.write_csv {
        let data = generate(&cfg);
        std::fs::create_dir_all(dir)?;
        for (kind, batches) in &data.tables {
            let path = dir.join(format!("{}.csv", kind.table()));
            write_batches(&path, Format::Csv, *kind, batches)?;
        }
        eprintln!(
            "generated {} customers, {} orders; CSV files written to {} in {:.1} s",
            a.customers,
            data.rows(clientela_core::RecordKind::Order),
            dir.display(),
            started.elapsed().as_secs_f64()
        );
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
    // Batches are stored as they are generated, so memory stays small at
    // any size (events may arrive before their customer's record: the store
    // gives them a minimal record that the description completes).
    let progress = bar(a.customers as u64 * 24, "generating and storing");
    let mut totals = Totals::default();
    let mut failure = None;
    generate_with(&cfg, |kind, batch| {
        if failure.is_none() {
            if let Err(e) = store_batches(
                &mut store,
                kind,
                std::slice::from_ref(&batch),
                &mut totals,
                &progress,
            ) {
                failure = Some(e);
            }
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    progress.finish_and_clear();
    totals.print(0, started.elapsed().as_secs_f64());
    let partitioner = clientela_engine::EnginePartitioner::new()?;
    let engine = Engine::new(store.load_split(|_| None, Some(&partitioner))?, config)?;
    let report = engine.overview(&ReportRequest::default()).await?;
    crate::output::write_report(&report, &a.out)?;
    eprintln!(
        "\nThe demo store is {db}. Explore it, e.g.:\n  clientela --db {db} customers --stage at_risk\n  \
         clientela --db {db} report --by channel\n  clientela --db {db} clv --model auto\n  \
         clientela --db {db} growth --period quarter --charts charts/\n  \
         clientela --db {db} segments --attributes country,age_band\n  \
         clientela --db {db} report --where \"value_tier = 'platinum'\"\n  \
         clientela --db {db} sql \"SELECT stage, COUNT(*) FROM customers GROUP BY stage\"",
        db = a.demo_db.display()
    );
    Ok(ExitCode::SUCCESS)
}
