//! Read speed, measured on demand:
//! `ROWS=2000000 cargo test -p clientela-ingest --release -- --ignored --nocapture read_speed`.

use crate::common::opts;
use arrow::record_batch::RecordBatch;
use clientela_core::RecordKind;
use clientela_ingest::{read_file, write_batches, Format};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// Reads `path` as orders, prints the speed and returns the batches.
fn timed_read(label: &str, path: &Path, rows: usize) -> Vec<RecordBatch> {
    let start = Instant::now();
    let batches: Vec<RecordBatch> = read_file(path, &opts(RecordKind::Order))
        .unwrap()
        .map(|c| c.unwrap().batch)
        .collect();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(
        batches.iter().map(RecordBatch::num_rows).sum::<usize>(),
        rows
    );
    eprintln!(
        "{label}: {rows} rows in {secs:.2} s = {:.0} rows/s",
        rows as f64 / secs
    );
    batches
}

#[test]
#[ignore = "a measurement, not a check; run it in release"]
fn read_speed() {
    let rows: usize = std::env::var("ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    // The slow case: no event ids (derived per row) and naive local times.
    let raw = dir.path().join("orders_raw.csv");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&raw).unwrap());
    writeln!(w, "customer_id,time,amount,currency,quantity").unwrap();
    for i in 0..rows {
        let (day, min, cents) = (1 + i % 28, i % 60, i % 100);
        let (customer, units, qty) = (i % 100_000, i % 500, 1 + i % 3);
        writeln!(
            w,
            "c{customer},2024-02-{day:02} 10:{min:02}:00,{units}.{cents:02},EUR,{qty}"
        )
        .unwrap();
    }
    drop(w);
    let batches = timed_read("csv, derived ids, naive times", &raw, rows);
    // The canonical files: event ids and RFC 3339 times.
    for format in Format::ALL {
        let path = dir.path().join(format!("orders.{}", format.name()));
        write_batches(&path, format, RecordKind::Order, &batches).unwrap();
        timed_read(&format!("{format}, canonical"), &path, rows);
    }
}
