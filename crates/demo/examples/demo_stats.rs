//! Generates a demo business and prints its size and purchase statistics:
//! `cargo run --release -p clientela-demo --example demo_stats -- 100000 [seed]`.
//! `STREAM=1` only times streaming generation; `SAMPLE=5` also prints a few rows of each kind, `COLUMNS=1` the bytes
//! per row of each column, `MIX=1` the counts of categorical values.

use arrow::array::{Array, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow::record_batch::RecordBatch;
use clientela_core::RecordKind;
use clientela_demo::{generate, DemoConfig, DemoData};
use std::collections::HashMap;
use std::time::Instant;

fn main() {
    let customers = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let seed = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(42);
    let cfg = DemoConfig {
        seed,
        ..DemoConfig::with_customers(customers)
    };
    let started = Instant::now();
    if std::env::var("STREAM").is_ok() {
        // Batches dropped as they come: generation alone, in bounded memory.
        let mut rows = 0;
        clientela_demo::generate_with(&cfg, |_, b| rows += b.num_rows());
        println!(
            "streamed {rows} rows of {customers} customers in {:.2?}",
            started.elapsed()
        );
        return;
    }
    let data = generate(&cfg);
    println!(
        "generated {customers} customers in {:.2?}",
        started.elapsed()
    );
    let mut total = 0;
    for kind in RecordKind::ALL {
        let bytes: usize = data
            .batches(kind)
            .iter()
            .map(RecordBatch::get_array_memory_size)
            .sum();
        total += bytes;
        println!(
            "{:>14} {:>11} rows in {:>4} batches, {:>8.1} MB",
            kind.table(),
            data.rows(kind),
            data.batches(kind).len(),
            bytes as f64 / 1e6
        );
    }
    println!("{:>14} {:>39.1} MB", "total", total as f64 / 1e6);
    println!("digest {:016x}", digest(&data));
    if let Ok(n) = std::env::var("SAMPLE") {
        sample(&data, n.parse().unwrap_or(3));
    }
    if std::env::var("COLUMNS").is_ok() {
        columns(&data);
    }
    if std::env::var("MIX").is_ok() {
        mix(&data);
    }
    purchases(&data);
}

/// Orders per customer, single-order share against BG/NBD, mean repeat value.
fn purchases(data: &DemoData) {
    let mut histories: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
    for b in data.batches(RecordKind::Order) {
        let ids = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
        let times = b
            .column(2)
            .as_any()
            .downcast_ref::<TimestampMicrosecondArray>()
            .unwrap();
        let amounts = b.column(3).as_any().downcast_ref::<Int64Array>().unwrap();
        for r in (0..b.num_rows()).filter(|&r| amounts.value(r) > 0) {
            histories
                .entry(ids.value(r).to_string())
                .or_default()
                .push((times.value(r), amounts.value(r)));
        }
    }
    let p = &data.config.purchase;
    let (_, end) = data.config.window();
    let week = 7.0 * 86_400e6;
    let mut orders = 0;
    let (mut single, mut expected_single) = (0.0, 0.0);
    let (mut repeat_means, mut repeaters) = (0.0, 0.0);
    for v in histories.values_mut() {
        v.sort_unstable();
        orders += v.len();
        single += f64::from(u8::from(v.len() == 1));
        expected_single += (p.alpha / (p.alpha + (end - v[0].0) as f64 / week)).powf(p.r);
        if v.len() > 1 {
            repeat_means +=
                v[1..].iter().map(|o| o.1 as f64 / 100.0).sum::<f64>() / (v.len() - 1) as f64;
            repeaters += 1.0;
        }
    }
    let n = histories.len() as f64;
    println!(
        "orders/customer {:.3}; single-order share {:.4} (BG/NBD {:.4}); mean repeat value per customer {:.2} (true {:.2})",
        orders as f64 / data.config.customers as f64,
        single / n,
        expected_single / n,
        repeat_means / repeaters,
        p.mean_order_value()
    );
}

/// A few rows of each kind, spread over the first batch.
fn sample(data: &DemoData, n: usize) {
    let options = arrow::util::display::FormatOptions::default();
    for kind in RecordKind::ALL {
        let Some(b) = data.batches(kind).first() else {
            continue;
        };
        println!("== {}", kind.table());
        let step = (b.num_rows() / n.max(1)).max(1);
        for r in (0..b.num_rows()).step_by(step).take(n) {
            let vals: Vec<String> = b
                .columns()
                .iter()
                .map(
                    |c| match c.as_any().downcast_ref::<TimestampMicrosecondArray>() {
                        // Without chrono-tz Arrow cannot display a "UTC" zone.
                        Some(t) => chrono::DateTime::from_timestamp_micros(t.value(r))
                            .unwrap()
                            .to_rfc3339(),
                        None => arrow::util::display::ArrayFormatter::try_new(c.as_ref(), &options)
                            .map(|f| f.value(r).to_string())
                            .unwrap_or_default(),
                    },
                )
                .collect();
            println!("  {}", vals.join(" | "));
        }
    }
}

/// Bytes per row of each column.
fn columns(data: &DemoData) {
    for kind in RecordKind::ALL {
        let batches = data.batches(kind);
        let Some(first) = batches.first() else {
            continue;
        };
        for (c, f) in first.schema().fields().iter().enumerate() {
            let bytes: usize = batches
                .iter()
                .map(|b| b.column(c).get_array_memory_size())
                .sum();
            println!(
                "  {}.{}: {:.1} B/row",
                kind.table(),
                f.name(),
                bytes as f64 / data.rows(kind) as f64
            );
        }
    }
}

/// Counts of the values of categorical columns.
fn mix(data: &DemoData) {
    let columns = [
        (RecordKind::Customer, "channel"),
        (RecordKind::Customer, "country"),
        (RecordKind::Customer, "gender"),
        (RecordKind::Lead, "content"),
        (RecordKind::Order, "channel"),
        (RecordKind::Order, "coupon"),
        (RecordKind::Subscription, "plan"),
        (RecordKind::Subscription, "status"),
        (RecordKind::Support, "kind"),
        (RecordKind::Support, "status"),
        (RecordKind::Contact, "channel"),
        (RecordKind::Contact, "action"),
        (RecordKind::Usage, "name"),
        (RecordKind::Survey, "survey"),
        (RecordKind::Loyalty, "reason"),
        (RecordKind::Spend, "channel"),
    ];
    for (kind, name) in columns {
        let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
        for b in data.batches(kind) {
            let a = b
                .column_by_name(name)
                .unwrap()
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap();
            for r in 0..a.len() {
                let v = if a.is_null(r) { "(null)" } else { a.value(r) };
                *counts.entry(v.to_string()).or_default() += 1;
            }
        }
        let list: Vec<String> = counts.iter().map(|(v, n)| format!("{v} {n}")).collect();
        println!("{}.{}: {}", kind.table(), name, list.join(", "));
    }
    // Share of customers (C ids) with at least one record of each kind.
    let customers = data.config.customers as f64;
    let shares: Vec<String> = RecordKind::ALL
        .into_iter()
        .filter(|k| k.has_customer())
        .map(|kind| {
            let mut ids = std::collections::HashSet::new();
            for b in data.batches(kind) {
                let a = b
                    .column_by_name("customer_id")
                    .unwrap()
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .unwrap();
                ids.extend(
                    (0..a.len())
                        .map(|r| a.value(r))
                        .filter(|id| id.starts_with('C')),
                );
            }
            format!("{} {:.3}", kind.table(), ids.len() as f64 / customers)
        })
        .collect();
    println!("share of customers with: {}", shares.join(", "));
    // NPS answers by score.
    let mut nps = [0usize; 11];
    for b in data.batches(RecordKind::Survey) {
        let kind = b
            .column_by_name("survey")
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        let score = b
            .column_by_name("score")
            .unwrap()
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        for r in (0..b.num_rows()).filter(|&r| kind.value(r) == "nps") {
            nps[score.value(r) as usize] += 1;
        }
    }
    let n: usize = nps.iter().sum();
    let promoters = (nps[9] + nps[10]) as f64 / n as f64;
    let detractors = nps[..7].iter().sum::<usize>() as f64 / n as f64;
    println!(
        "nps scores {nps:?}: promoters {promoters:.3}, detractors {detractors:.3}, NPS {:.1}",
        100.0 * (promoters - detractors)
    );
}

/// A hash of every value of every batch, to compare runs.
fn digest(data: &DemoData) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for (kind, batches) in &data.tables {
        kind.name().hash(&mut h);
        for b in batches {
            b.num_rows().hash(&mut h);
            for c in b.columns() {
                let d = c.to_data();
                for buf in d.buffers() {
                    buf.as_slice().hash(&mut h);
                }
                if let Some(n) = d.nulls() {
                    n.buffer().as_slice().hash(&mut h);
                }
            }
        }
    }
    h.finish()
}
