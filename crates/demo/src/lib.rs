//! clientela-demo: a seeded, deterministic generator of a realistic demo
//! business, every record kind of SPEC §1 as canonical Arrow batches.
//!
//! Customers sign up over the history with growth, buy according to BG/NBD
//! with Gamma-Gamma order values whose true parameters are in
//! [`PurchaseParams`] (so that fitted models can be checked against them),
//! subscribe, open tickets, answer surveys, refer friends, collect loyalty
//! points; prospects leave leads and never buy; marketing spend follows
//! acquisitions.
//!
//! Every person draws from their own random streams, a function of the seed
//! and their number only, and people are generated in fixed chunks, so the
//! output does not depend on the number of threads.
//!
//! Ids: customers `C0000001`…, prospects `L0000001`… (a lead, maybe a
//! register entry, never an order). Event ids are `<letter><person>-<n>`
//! with the person's number (`12` for `C0000012`, `L7` for `L0000007`) and
//! letters `l` lead, `o` order (a refund adds `r` to its order's id),
//! `b` subscription change, `t` support, `c` contact, `u` usage, `v` survey,
//! `r` referral, `y` loyalty; spend ids are `s<yyyymm>-<a|r>-<channel>`.
//! Subscriptions are `S<person>-<n>`, tickets `T<person>-<n>`.
//!
//! All times lie in [`DemoConfig::window`]; money is in minor units of
//! [`DemoConfig::currency`].
#![deny(missing_docs)]

mod config;
mod customers;
mod interactions;
mod orders;
mod pipeline;
mod sink;
mod spend;
mod subscriptions;
mod window;
mod world;

pub use config::{
    ConfigError, DemoConfig, PurchaseParams, SpendParams, SubscriptionParams, ACQUISITION_CHANNELS,
};
pub use customers::{customer_id, prospect_id};
pub use sink::BATCH_ROWS;

use arrow::record_batch::RecordBatch;
use clientela_core::RecordKind;
use sink::Sinks;
use std::collections::BTreeMap;
use window::Window;
use world::{Ctx, History, Person, Stats, Stream};

/// People generated together; fixed so that batches do not depend on threads.
const CHUNK: usize = 16_384;

/// The generated tables and the configuration that made them.
#[derive(Debug, Clone)]
pub struct DemoData {
    /// Batches of at most [`BATCH_ROWS`] rows per kind, in the canonical
    /// schema of `clientela_table::schema_for`; every kind has an entry.
    pub tables: BTreeMap<RecordKind, Vec<RecordBatch>>,
    /// The configuration, with the true model parameters.
    pub config: DemoConfig,
}

impl DemoData {
    /// Number of rows of `kind`.
    pub fn rows(&self, kind: RecordKind) -> usize {
        self.tables
            .get(&kind)
            .map_or(0, |b| b.iter().map(RecordBatch::num_rows).sum())
    }

    /// The batches of `kind` (empty when there are none).
    pub fn batches(&self, kind: RecordKind) -> &[RecordBatch] {
        self.tables.get(&kind).map_or(&[], Vec::as_slice)
    }
}

/// Generates the demo business of `cfg` in memory.
///
/// # Panics
/// When `cfg` fails [`DemoConfig::validate`].
pub fn generate(cfg: &DemoConfig) -> DemoData {
    let mut tables: BTreeMap<RecordKind, Vec<RecordBatch>> = RecordKind::ALL
        .into_iter()
        .map(|k| (k, Vec::new()))
        .collect();
    generate_with(cfg, |kind, batch| {
        tables.get_mut(&kind).expect("every kind").push(batch)
    });
    DemoData {
        tables,
        config: cfg.clone(),
    }
}

/// Generates the demo business of `cfg`, handing each batch to `emit` as
/// soon as it is complete, so that memory stays bounded whatever the size.
///
/// The batches of each kind come in the same order as in [`generate`]'s
/// tables (kinds interleaved); spend comes last.
///
/// # Panics
/// When `cfg` fails [`DemoConfig::validate`].
pub fn generate_with(cfg: &DemoConfig, mut emit: impl FnMut(RecordKind, RecordBatch)) {
    if let Err(e) = cfg.validate() {
        panic!("{e}");
    }
    let win = Window::new(cfg);
    let ctx = Ctx::new(cfg, &win);
    let mut jobs = Vec::new();
    for (people, prospects) in [(cfg.customers, false), (cfg.prospects(), true)] {
        jobs.extend(
            (0..people)
                .step_by(CHUNK)
                .map(|s| (prospects, s, (s + CHUNK).min(people))),
        );
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut stats = Stats::new(win.months.len());
    let mut out = Coalescer::default();
    // Workers run at most a few chunks ahead of the one being emitted.
    pipeline::ordered(
        jobs.len(),
        threads,
        threads + 2,
        |k| {
            let (prospects, from, to) = jobs[k];
            run_chunk(&ctx, prospects, from, to)
        },
        |chunk| {
            stats.add(&chunk.stats);
            for (kind, batches) in chunk.batches {
                for b in batches {
                    out.push(kind, b, &mut emit);
                }
            }
        },
    );
    for b in spend::spend(&ctx, &stats).finish() {
        out.push(RecordKind::Spend, b, &mut emit);
    }
    out.finish(&mut emit);
}

struct Chunk {
    batches: [(RecordKind, Vec<RecordBatch>); 11],
    stats: Stats,
}

/// Generates customers (or prospects) `from..to`.
fn run_chunk(ctx: &Ctx, prospects: bool, from: usize, to: usize) -> Chunk {
    let mut sinks = Sinks::new();
    let mut stats = Stats::new(ctx.win.months.len());
    let mut person = Person::default();
    let mut hist = History::default();
    for k in from..to {
        if prospects {
            prospect(ctx, k, &mut person, &mut sinks, &mut stats);
        } else {
            customer(ctx, k, &mut person, &mut hist, &mut sinks, &mut stats);
        }
    }
    Chunk {
        batches: sinks.finish(),
        stats,
    }
}

fn customer(
    ctx: &Ctx,
    i: usize,
    person: &mut Person,
    hist: &mut History,
    sinks: &mut Sinks,
    stats: &mut Stats,
) {
    hist.clear();
    customers::customer(ctx, i, person, sinks, stats);
    let traits = ctx.traits(i);
    let mut rng = ctx.rng(i, Stream::Orders);
    orders::orders(ctx, &mut rng, person, &traits, hist, sinks, stats);
    let mut rng = ctx.rng(i, Stream::Subscriptions);
    subscriptions::subscriptions(ctx, &mut rng, person, hist, sinks);
    let mut rng = ctx.rng(i, Stream::Interactions);
    interactions::interactions(ctx, &mut rng, person, hist, sinks, stats);
}

fn prospect(ctx: &Ctx, j: usize, person: &mut Person, sinks: &mut Sinks, stats: &mut Stats) {
    let registered = customers::prospect(ctx, j, person, sinks);
    let mut rng = ctx.rng(person.index, Stream::Interactions);
    interactions::nurture(ctx, &mut rng, person, sinks, stats);
    let mut rng = ctx.rng(person.index, Stream::Subscriptions);
    if registered && world::chance(&mut rng, 0.1) {
        subscriptions::trial_only(ctx, &mut rng, person, sinks);
    }
}

/// Batches this short are merged with their neighbours; longer ones are
/// passed on as they are, since copying them costs more than it saves.
const SHORT: usize = BATCH_ROWS / 4;

/// Merges runs of short batches of a kind into batches of at most
/// [`BATCH_ROWS`] rows.
#[derive(Default)]
struct Coalescer {
    pending: BTreeMap<RecordKind, (Vec<RecordBatch>, usize)>,
}

impl Coalescer {
    fn push(
        &mut self,
        kind: RecordKind,
        batch: RecordBatch,
        emit: &mut impl FnMut(RecordKind, RecordBatch),
    ) {
        let (pending, rows) = self.pending.entry(kind).or_default();
        let long = batch.num_rows() >= SHORT;
        if long || *rows + batch.num_rows() > BATCH_ROWS {
            flush(kind, pending, emit);
            *rows = 0;
        }
        if long {
            emit(kind, batch);
        } else {
            *rows += batch.num_rows();
            pending.push(batch);
        }
    }

    fn finish(mut self, emit: &mut impl FnMut(RecordKind, RecordBatch)) {
        for (kind, (pending, _)) in &mut self.pending {
            flush(*kind, pending, emit);
        }
    }
}

fn flush(
    kind: RecordKind,
    pending: &mut Vec<RecordBatch>,
    emit: &mut impl FnMut(RecordKind, RecordBatch),
) {
    match pending.len() {
        0 => {}
        1 => emit(kind, pending.pop().expect("one batch")),
        _ => {
            let merged = arrow::compute::concat_batches(&pending[0].schema(), pending.iter())
                .expect("batches of one schema");
            pending.clear();
            emit(kind, sink::shrink(merged));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn concat(batches: &[RecordBatch], kind: RecordKind) -> RecordBatch {
        arrow::compute::concat_batches(&clientela_table::schema_for(kind), batches)
            .expect("one schema")
    }

    #[test]
    fn chunk_boundaries_do_not_change_the_rows() {
        let cfg = DemoConfig::with_customers(40);
        let win = Window::new(&cfg);
        let ctx = Ctx::new(&cfg, &win);
        for prospects in [false, true] {
            let whole = run_chunk(&ctx, prospects, 0, 10);
            let parts = [
                run_chunk(&ctx, prospects, 0, 3),
                run_chunk(&ctx, prospects, 3, 10),
            ];
            for (k, (kind, batches)) in whole.batches.iter().enumerate() {
                let joined: Vec<RecordBatch> =
                    parts.iter().flat_map(|p| p.batches[k].1.clone()).collect();
                assert_eq!(concat(batches, *kind), concat(&joined, *kind), "{kind}");
            }
            let mut stats = parts[0].stats.clone();
            stats.add(&parts[1].stats);
            assert_eq!(stats, whole.stats);
        }
    }

    #[test]
    fn short_batches_are_merged_up_to_the_limit() {
        let mut sink = sink::Sink::new(RecordKind::Referral);
        for k in 0..10 {
            sink.fmt(format_args!("r{k}"))
                .str("C0000001")
                .time(0)
                .str("C0000002")
                .end();
        }
        let batch = sink.finish().remove(0);
        let copies = vec![batch.clone(); SHORT / 10];
        let long = arrow::compute::concat_batches(&batch.schema(), &copies).expect("one schema");
        let mut out = Vec::new();
        let mut c = Coalescer::default();
        let mut push = |c: &mut Coalescer, b: &RecordBatch| {
            c.push(RecordKind::Referral, b.clone(), &mut |_, b| {
                out.push(b.num_rows())
            })
        };
        for b in [&batch, &batch, &batch, &batch.slice(0, 0), &long, &batch] {
            push(&mut c, b);
        }
        c.finish(&mut |_, b| out.push(b.num_rows()));
        assert_eq!(out, [30, SHORT, 10]);
    }
}
