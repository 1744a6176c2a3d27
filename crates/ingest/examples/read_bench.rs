//! Read speed of CSV files, the row path and the fast path side by side:
//!
//! ```text
//! CARGO_TARGET_DIR=/tmp/rel cargo run --release -p clientela-ingest \
//!     --example read_bench -- [--modes row,fast,report,par] [--no-map] FILE…
//! ```
//!
//! Per file, one thread: `row` (every row through the row parser, as before
//! the fast path), `fast` (all fields) and `report` (only the fields a
//! report reads); `row` and `fast` are checked to give the same batches;
//! `file-par`: the report fields, the file in parts on all threads.
//! Then all files at once: `par-row` (one thread per file, row path, as
//! `report --input` read before) and `par` (`read_files`, files in parts,
//! report fields, one thread per core, or `--threads N`). `--no-map` reads
//! the files into a buffer instead of mapping them.

use arrow::record_batch::RecordBatch;
use clientela_core::RecordKind;
use clientela_ingest::{read_file, read_files, Parallel, ReadOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The fields `clientela_engine::analytic_columns` reads, by canonical name.
fn report_fields() -> BTreeMap<RecordKind, Vec<String>> {
    use RecordKind as K;
    let list: [(K, &[&str]); 9] = [
        (K::Lead, &["customer_id", "time"]),
        (K::Usage, &["customer_id", "time"]),
        (K::Order, &["customer_id", "time", "amount", "currency"]),
        (
            K::Subscription,
            &[
                "customer_id",
                "time",
                "subscription_id",
                "kind",
                "status",
                "amount",
                "currency",
            ],
        ),
        (K::Support, &["customer_id", "time", "kind"]),
        (K::Contact, &["customer_id", "time", "direction"]),
        (
            K::Survey,
            &["customer_id", "time", "survey", "score", "comment"],
        ),
        (K::Referral, &["customer_id", "time", "referred_id"]),
        (K::Loyalty, &["customer_id", "time", "points"]),
    ];
    list.into_iter()
        .map(|(k, f)| (k, f.iter().map(|s| s.to_string()).collect()))
        .collect()
}

/// CPU seconds of this process so far (user and system, all threads): on
/// a machine shared with other work, wall time alone says little.
fn cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses.
    let after = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // utime and stime are fields 14 and 15 of the line, in 1/100 s.
    (f.get(11).unwrap_or(&0.0) + f.get(12).unwrap_or(&0.0)) / 100.0
}

/// Wall and CPU seconds of `f`.
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64, f64) {
    let (start, c) = (Instant::now(), cpu());
    let out = f();
    (out, start.elapsed().as_secs_f64(), cpu() - c)
}

fn read(path: &Path, opts: &ReadOptions) -> (Vec<RecordBatch>, String) {
    let (batches, wall, cpu) = timed(|| {
        read_file(path, opts)
            .unwrap_or_else(|e| panic!("{e}"))
            .map(|c| c.unwrap_or_else(|e| panic!("{e}")).batch)
            .collect()
    });
    let mb = mb(std::fs::metadata(path).map(|m| m.len()).unwrap_or(0));
    (
        batches,
        format!("{:.0} ({:.0})", mb / wall, mb / cpu.max(0.01)),
    )
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut modes = "row,fast,report,file-par,par-row,par".to_string();
    if let Some(i) = args.iter().position(|a| a == "--modes") {
        modes = args.get(i + 1).cloned().unwrap_or_default();
        args.drain(i..(i + 2).min(args.len()));
    }
    let mut threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if let Some(i) = args.iter().position(|a| a == "--threads") {
        threads = args
            .get(i + 1)
            .and_then(|t| t.parse().ok())
            .unwrap_or(threads);
        args.drain(i..(i + 2).min(args.len()));
    }
    // `--no-map`: read files into a buffer instead of mapping them.
    let map_files = match args.iter().position(|a| a == "--no-map") {
        Some(i) => {
            args.remove(i);
            false
        }
        None => true,
    };
    let has = |m: &str| modes.split(',').any(|x| x == m);
    let files: Vec<PathBuf> = args.iter().map(PathBuf::from).collect();
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let total: u64 = files.iter().map(|p| size(p)).sum();
    let base = ReadOptions {
        map_files,
        ..ReadOptions::default()
    };
    let row_opts = ReadOptions {
        fast: false,
        ..base.clone()
    };
    let fast_opts = base.clone();
    let report_opts = ReadOptions {
        fields: report_fields(),
        ..base
    };
    println!("MB/s of wall time (and of CPU time)");
    println!(
        "{:<18} {:>6} {:>12} {:>12} {:>12} {:>12}",
        "file", "MB", "row", "fast", "report", "report, par"
    );
    for path in &files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let mbs = mb(size(path));
        let mut cells = vec![String::from("-"); 4];
        let mut row = None;
        if has("row") {
            let (b, speed) = read(path, &row_opts);
            cells[0] = speed;
            row = Some(b);
        }
        if has("fast") {
            let (b, speed) = read(path, &fast_opts);
            cells[1] = speed;
            if let Some(r) = &row {
                assert!(r == &b, "{name}: the fast path differs from the row path");
            }
        }
        drop(row);
        if has("report") {
            cells[2] = read(path, &report_opts).1;
        }
        if has("file-par") {
            // The file alone through `read_files`: in parts on all threads.
            let par = Parallel {
                threads,
                ..Parallel::default()
            };
            let one = std::slice::from_ref(path);
            let (_, wall, cpu) = timed(|| read_files(one, &report_opts, &par, &|_| {}));
            cells[3] = format!("{:.0} ({:.0})", mbs / wall, mbs / cpu.max(0.01));
        }
        println!(
            "{name:<18} {mbs:>6.0} {:>12} {:>12} {:>12} {:>12}",
            cells[0], cells[1], cells[2], cells[3]
        );
    }
    if has("par-row") {
        // As `report --input` read before: one thread per file, row path.
        let ((), t, c) = timed(|| {
            let next = std::sync::atomic::AtomicUsize::new(0);
            std::thread::scope(|s| {
                for _ in 0..threads.min(files.len()) {
                    s.spawn(|| loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(p) = files.get(i) else { break };
                        read(p, &row_opts);
                    });
                }
            });
        });
        println!(
            "all files, {threads} threads, a thread per file, row path: {t:.2} s = {:.0} MB/s (CPU {c:.2} s)",
            mb(total) / t
        );
    }
    for (mode, opts) in [("par-fast", &fast_opts), ("par", &report_opts)] {
        if has(mode) {
            let (results, t, c) = timed(|| {
                read_files(
                    &files,
                    opts,
                    &Parallel {
                        threads,
                        ..Parallel::default()
                    },
                    &|_| {},
                )
            });
            let rows: usize = results
                .iter()
                .map(|r| match r {
                    Ok(d) => d.batches.iter().map(|b| b.num_rows()).sum::<usize>(),
                    Err(e) => panic!("{e}"),
                })
                .sum();
            println!(
                "all files, {threads} threads, read_files ({mode}): {rows} rows in {t:.2} s = {:.0} MB/s (CPU {c:.2} s)",
                mb(total) / t
            );
        }
    }
}
