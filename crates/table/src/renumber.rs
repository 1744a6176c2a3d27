//! Keys renumbered so that tables grouped by customer split without moving
//! a row.
//!
//! Files read without a store are keyed in order of first appearance
//! ([`Dataset::from_canonical`]), and exports are usually grouped by
//! customer in much that order (customers, then each customer's orders…).
//! A split sends each key to the partition the engine's hashing gives it
//! and sorts each partition by key ([`split_by_key`]): for such a table
//! that moves every row to a new place, one column at a time. But keys
//! that no store holds can take any values, so they are numbered for the
//! split: customers, in order of appearance, are dealt to the partitions
//! in blocks of [`BLOCK_CUSTOMERS`], and each gets the next key of its
//! block's partition (keys in ascending order). Within a partition, keys
//! then follow the order of appearance, so a table whose rows follow it is
//! split already: each partition is a sequence of runs of consecutive
//! rows, which are sliced, not copied. Blocks, not halves, because early
//! customers often have far more events than late ones: the partitions
//! get as many of each. Other tables are reordered as before.

use crate::keyed::{Dataset, KEY};
use crate::split::{group_by_counts, split_by_key, KeyPartitioner, SplitResult, SPLIT_BATCH_ROWS};
use crate::threads::map_in_order;
use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch};
use arrow::datatypes::Int64Type;
use arrow::error::ArrowError;
use std::sync::Arc;

impl Dataset {
    /// The same data split by `partitioner`, as [`Dataset::split_by`]
    /// splits it, after renumbering the customer keys (see the module docs)
    /// so that tables in order of appearance are sliced, not copied.
    ///
    /// Only for keys held nowhere else (files read without a store): every
    /// key changes. The keys must be dense (`0..n`), as
    /// [`Dataset::from_canonical`] makes them.
    pub fn split_renumbered(self, partitioner: &dyn KeyPartitioner) -> Result<Dataset, ArrowError> {
        self.split_renumbered_in_blocks(partitioner, BLOCK_CUSTOMERS, SMALL_SLICE_ROWS)
    }

    /// [`Dataset::split_renumbered`] with customers dealt in blocks of
    /// `block`, and runs of slices of fewer than `small` rows each joined
    /// into batches of up to [`SPLIT_BATCH_ROWS`] rows.
    fn split_renumbered_in_blocks(
        self,
        partitioner: &dyn KeyPartitioner,
        block: usize,
        small: usize,
    ) -> Result<Dataset, ArrowError> {
        let (plan, assignment) = crate::split::KeySplit::plan(partitioner, self.max_key());
        let new_keys = keys_by_appearance(&assignment, plan.partitions, block)?;
        self.split_tables(plan, &assignment, |batches, assignment, partitions| {
            let (batches, counts) =
                split_sliced(&renumber(batches, &new_keys)?, assignment, partitions)?;
            join_small(&batches, &counts, small)
        })
    }
}

/// Slices below this many rows are joined with their neighbours: a table
/// with few rows per block of customers would otherwise reach the engine
/// as hundreds of tiny batches, each paying every operator's per-batch
/// cost (the facts took 0.35 s longer on such slices than on the copied
/// split's full batches).
const SMALL_SLICE_ROWS: usize = SPLIT_BATCH_ROWS / 4;

/// Each partition's batches (`counts` per partition) with every run of
/// consecutive batches of fewer than `small` rows joined into batches of
/// at most [`SPLIT_BATCH_ROWS`] rows; larger batches are kept as they are.
fn join_small(batches: &[RecordBatch], counts: &[usize], small: usize) -> SplitResult {
    let partitions = group_by_counts(counts, batches);
    let joined = map_in_order(
        &partitions,
        |p| p.iter().map(RecordBatch::num_rows).sum(),
        |p| {
            let mut out = Vec::new();
            let mut run: Vec<RecordBatch> = Vec::new();
            let mut run_rows = 0;
            for b in p {
                let rows = b.num_rows();
                if rows >= small || run_rows + rows > SPLIT_BATCH_ROWS {
                    flush_run(&mut run, &mut out)?;
                    run_rows = 0;
                }
                if rows >= small {
                    out.push(b.clone());
                } else {
                    run_rows += rows;
                    run.push(b.clone());
                }
            }
            flush_run(&mut run, &mut out)?;
            Ok::<_, ArrowError>(out)
        },
    );
    let mut out = Vec::new();
    let mut out_counts = Vec::with_capacity(joined.len());
    for p in joined {
        let p = p?;
        out_counts.push(p.len());
        out.extend(p);
    }
    Ok((out, out_counts))
}

/// `run` as one batch onto `out` (no copy when it is one batch); empties it.
fn flush_run(run: &mut Vec<RecordBatch>, out: &mut Vec<RecordBatch>) -> Result<(), ArrowError> {
    match run.len() {
        0 => {}
        1 => out.append(run),
        _ => {
            out.push(arrow::compute::concat_batches(
                &run[0].schema(),
                run.iter(),
            )?);
            run.clear();
        }
    }
    Ok(())
}

/// Customers dealt to one partition at a time when keys are renumbered:
/// few enough runs per table that slicing them costs nothing, small enough
/// blocks that each partition gets its share of early and late customers.
const BLOCK_CUSTOMERS: usize = 4096;

/// The new key of each old key (the customers' order of appearance):
/// blocks of `block` customers dealt to the partitions in turn (to the next
/// one with keys left, once a partition has none), each customer taking
/// the next key, in ascending order, of its block's partition.
fn keys_by_appearance(
    assignment: &[u32],
    partitions: usize,
    block: usize,
) -> Result<Vec<i64>, ArrowError> {
    let mut by_partition: Vec<Vec<i64>> = vec![Vec::new(); partitions];
    for (k, &p) in assignment.iter().enumerate() {
        let keys = by_partition.get_mut(p as usize).ok_or_else(|| {
            ArrowError::InvalidArgumentError(format!(
                "the partitioner sent key {k} outside its {partitions} partitions"
            ))
        })?;
        keys.push(k as i64);
    }
    let mut next = vec![0usize; partitions];
    let mut keys = Vec::with_capacity(assignment.len());
    let mut part = 0;
    for i in 0..assignment.len() {
        if i % block.max(1) == 0 {
            part = (i / block.max(1)) % partitions;
        }
        // Some partition has a key left: there are as many keys as customers.
        while next[part] == by_partition[part].len() {
            part = (part + 1) % partitions;
        }
        keys.push(by_partition[part][next[part]]);
        next[part] += 1;
    }
    Ok(keys)
}

/// `batches` with every key `k` replaced by `new_keys[k]`, on all cores.
fn renumber(batches: &[RecordBatch], new_keys: &[i64]) -> Result<Vec<RecordBatch>, ArrowError> {
    map_in_order(batches, RecordBatch::num_rows, |b| {
        let at = b.schema().index_of(KEY)?;
        let old = b.column(at).as_primitive::<Int64Type>();
        if old.null_count() > 0 {
            return Err(ArrowError::InvalidArgumentError("null customer key".into()));
        }
        let keys = old
            .values()
            .iter()
            .map(|&k| {
                usize::try_from(k)
                    .ok()
                    .and_then(|k| new_keys.get(k).copied())
                    .ok_or_else(|| {
                        ArrowError::InvalidArgumentError(format!("key {k} not assigned"))
                    })
            })
            .collect::<Result<Vec<i64>, _>>()?;
        let mut columns = b.columns().to_vec();
        columns[at] = Arc::new(Int64Array::from(keys)) as ArrayRef;
        RecordBatch::try_new(b.schema(), columns)
    })
    .into_iter()
    .collect()
}

/// `batches` split as [`split_by_key`] splits them, copying as few rows
/// as it can. The longest run of rows from the start whose keys ascend
/// within each partition is sliced. The rows after it are reordered, with
/// those of the run whose keys are not below the least key of the same
/// partition among them (so that, for a file in order of appearance but
/// for customers who only appear in events, listed at its end, only those
/// are copied).
fn split_sliced(batches: &[RecordBatch], assignment: &[u32], partitions: usize) -> SplitResult {
    let prefix = sliced_prefix(batches, assignment, partitions)?;
    let Some((batch, row)) = prefix.stop else {
        let counts = prefix.slices.iter().map(Vec::len).collect();
        return Ok((prefix.slices.into_iter().flatten().collect(), counts));
    };
    let mut rest = vec![batches[batch].slice(row, batches[batch].num_rows() - row)];
    rest.extend(batches[batch + 1..].iter().cloned());
    let mut least = vec![i64::MAX; partitions];
    for b in &rest {
        for &k in b.column(key_index(b)?).as_primitive::<Int64Type>().values() {
            // A key out of range is reported by `split_by_key` below.
            if let Some(&p) = usize::try_from(k).ok().and_then(|k| assignment.get(k)) {
                least[p as usize] = least[p as usize].min(k);
            }
        }
    }
    // Moved rows of the run go before `rest`: rows of one key keep their order.
    let mut kept: Vec<Vec<RecordBatch>> = Vec::with_capacity(partitions);
    let mut moved: Vec<RecordBatch> = Vec::new();
    for (slices, least) in prefix.slices.into_iter().zip(least) {
        let mut keep = Vec::new();
        for s in slices {
            let keys = s.column(key_index(&s)?).as_primitive::<Int64Type>();
            let cut = keys.values().partition_point(|&k| k < least);
            if cut > 0 {
                keep.push(s.slice(0, cut));
            }
            if cut < s.num_rows() {
                moved.push(s.slice(cut, s.num_rows() - cut));
            }
        }
        kept.push(keep);
    }
    moved.extend(rest);
    let (sorted, counts) = split_by_key(&moved, assignment, partitions)?;
    let mut out = Vec::new();
    let mut out_counts = Vec::with_capacity(partitions);
    for (keep, sorted) in kept.into_iter().zip(group_by_counts(&counts, &sorted)) {
        out_counts.push(keep.len() + sorted.len());
        out.extend(keep);
        out.extend(sorted);
    }
    Ok((out, out_counts))
}

/// The rows of a table from its start whose keys ascend within each
/// partition, sliced.
struct SlicedPrefix {
    /// Per partition, its slices in order.
    slices: Vec<Vec<RecordBatch>>,
    /// The (batch, row) of the first row out of order, if any.
    stop: Option<(usize, usize)>,
}

/// The longest run of rows of `batches` from the start whose keys ascend
/// within each partition, cut where the partition changes and into pieces
/// of at most [`SPLIT_BATCH_ROWS`] rows (no copy).
fn sliced_prefix(
    batches: &[RecordBatch],
    assignment: &[u32],
    partitions: usize,
) -> Result<SlicedPrefix, ArrowError> {
    let mut prefix = SlicedPrefix {
        slices: vec![Vec::new(); partitions],
        stop: None,
    };
    let mut last: Vec<Option<i64>> = vec![None; partitions];
    for (bi, b) in batches.iter().enumerate() {
        let keys = b.column(key_index(b)?).as_primitive::<Int64Type>().values();
        let (mut start, mut part) = (0, None);
        for (row, &k) in keys.iter().enumerate() {
            let p = usize::try_from(k)
                .ok()
                .and_then(|k| assignment.get(k))
                .map(|&p| p as usize)
                .ok_or_else(|| ArrowError::InvalidArgumentError(format!("key {k} not assigned")))?;
            let ascends = last[p].is_none_or(|last| k >= last);
            if part != Some(p) || !ascends {
                if let Some(part) = part {
                    push_pieces(b, start..row, &mut prefix.slices[part]);
                }
                if !ascends {
                    prefix.stop = Some((bi, row));
                    return Ok(prefix);
                }
                (start, part) = (row, Some(p));
            }
            last[p] = Some(k);
        }
        if let Some(part) = part {
            push_pieces(b, start..keys.len(), &mut prefix.slices[part]);
        }
    }
    Ok(prefix)
}

/// Where the key column of a keyed batch is.
fn key_index(b: &RecordBatch) -> Result<usize, ArrowError> {
    b.schema().index_of(KEY)
}

/// Rows `rows` of `b` as slices of at most [`SPLIT_BATCH_ROWS`] rows,
/// onto `out`.
fn push_pieces(b: &RecordBatch, rows: std::ops::Range<usize>, out: &mut Vec<RecordBatch>) {
    let mut at = rows.start;
    while at < rows.end {
        let len = SPLIT_BATCH_ROWS.min(rows.end - at);
        out.push(b.slice(at, len));
        at += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::split::fingerprint;
    use crate::split::tests::{batch, rows};
    use clientela_core::RecordKind;

    /// Keys 0, 2, 4… to partition 0, the odd ones to partition 1.
    struct EvenOdd;
    impl KeyPartitioner for EvenOdd {
        fn partitions(&self) -> usize {
            2
        }
        fn assign(&self, max_key: i64) -> Vec<u32> {
            (0..=max_key).map(|k| (k % 2) as u32).collect()
        }
    }

    fn dataset(kind: RecordKind, batches: Vec<RecordBatch>) -> Dataset {
        let mut ds = Dataset::new();
        ds.tables.insert(kind, batches);
        ds
    }

    #[test]
    fn blocks_of_customers_take_their_partitions_keys_in_order() {
        // Keys 0..7: even ones in partition 0. Blocks of 2 customers: 0, 1
        // to partition 0 (keys 0, 2), 2, 3 to partition 1 (1, 3), 4, 5 to
        // partition 0 (4, 6), 6 to partition 1 (5).
        assert_eq!(
            keys_by_appearance(&EvenOdd.assign(6), 2, 2).unwrap(),
            [0, 2, 1, 3, 4, 6, 5]
        );
        // One block: partition 0's keys first.
        assert_eq!(
            keys_by_appearance(&EvenOdd.assign(4), 2, BLOCK_CUSTOMERS).unwrap(),
            [0, 2, 4, 1, 3]
        );
        // A partition out of keys hands its turn on.
        assert_eq!(
            keys_by_appearance(&[0, 0, 0, 1], 2, 1).unwrap(),
            [0, 3, 1, 2]
        );
        let err = keys_by_appearance(&[0, 5], 2, 1).unwrap_err();
        assert!(
            err.to_string().contains("outside its 2 partitions"),
            "{err}"
        );
    }

    /// Where the strings of a batch's `tag` column are.
    fn tag_buffer(b: &RecordBatch) -> *const u8 {
        b.column(1).to_data().buffers()[1].as_ptr()
    }

    #[test]
    fn a_table_in_order_of_appearance_is_sliced_not_copied() {
        let input = vec![
            batch(&[0, 0, 1, 2], &["a", "b", "c", "d"]),
            batch(&[3, 4, 4], &["e", "f", "g"]),
        ];
        let buffers: Vec<*const u8> = input.iter().map(tag_buffer).collect();
        let ds = dataset(RecordKind::Order, input)
            .split_renumbered_in_blocks(&EvenOdd, 2, 0)
            .unwrap();
        let split = ds.split.as_ref().unwrap();
        let batches = &ds.tables[&RecordKind::Order];
        // Customers 0, 1 → keys 0, 2 (partition 0); 2, 3 → 1, 3
        // (partition 1); 4 → 4 (partition 0).
        let want: Vec<(i64, String)> = [
            (0, "a"),
            (0, "b"),
            (2, "c"),
            (4, "f"),
            (4, "g"),
            (1, "d"),
            (3, "e"),
        ]
        .iter()
        .map(|(k, t)| (*k, t.to_string()))
        .collect();
        assert_eq!(rows(batches), want);
        assert_eq!(split.batches[&RecordKind::Order], [2, 2]);
        assert_eq!(split.fingerprint, fingerprint(&EvenOdd.assign(4)));
        assert!(split.made_by(&EvenOdd));
        for b in batches {
            assert!(
                buffers.contains(&tag_buffer(b)),
                "the strings were not copied"
            );
        }
    }

    #[test]
    fn runs_of_small_slices_are_joined_and_large_ones_kept() {
        let input = vec![
            batch(&[0, 0, 1, 2], &["a", "b", "c", "d"]),
            batch(&[3, 4, 4], &["e", "f", "g"]),
        ];
        let large = tag_buffer(&input[0]);
        // Blocks of one customer: slices [0 0] [1] [2] | [3] [4 4] per
        // partition 0, 1, 0, 1, 0 → keys 0, 1, 2, 3, 4 → 0, 1, 2, 3, 4.
        let ds = dataset(RecordKind::Order, input)
            .split_renumbered_in_blocks(&EvenOdd, 1, 2)
            .unwrap();
        let batches = &ds.tables[&RecordKind::Order];
        let sizes: Vec<usize> = batches.iter().map(RecordBatch::num_rows).collect();
        // Partition 0: [0 0] and [4 4] are not small, [2] has no small
        // neighbour: all kept. Partition 1: [1] and [3] joined.
        assert_eq!(sizes, [2, 1, 2, 2]);
        assert_eq!(
            ds.split.as_ref().unwrap().batches[&RecordKind::Order],
            [3, 1]
        );
        assert_eq!(
            tag_buffer(&batches[0]),
            large,
            "a large slice is not copied"
        );
        let tags: Vec<String> = rows(batches).into_iter().map(|(_, t)| t).collect();
        assert_eq!(tags, ["a", "b", "d", "f", "g", "c", "e"]);
    }

    #[test]
    fn a_table_out_of_order_is_reordered_as_split_by_key_would() {
        // Customer 4 (key 3, partition 1) before customer 0 (key 0).
        let input = vec![batch(&[4, 0, 2, 0], &["a", "b", "c", "d"])];
        let ds = dataset(RecordKind::Order, input)
            .split_renumbered(&EvenOdd)
            .unwrap();
        let got = rows(&ds.tables[&RecordKind::Order]);
        let want: Vec<(i64, String)> = [(0, "b"), (0, "d"), (4, "c"), (3, "a")]
            .iter()
            .map(|(k, t)| (*k, t.to_string()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(ds.split.unwrap().batches[&RecordKind::Order], [1, 1]);
    }

    #[test]
    fn long_runs_are_cut_into_engine_batches() {
        let n = SPLIT_BATCH_ROWS + 5;
        let keys = vec![0i64; n];
        let tags = vec!["x"; n];
        let ds = dataset(RecordKind::Order, vec![batch(&keys, &tags)])
            .split_renumbered(&EvenOdd)
            .unwrap();
        let sizes: Vec<usize> = ds.tables[&RecordKind::Order]
            .iter()
            .map(RecordBatch::num_rows)
            .collect();
        assert_eq!(sizes, [SPLIT_BATCH_ROWS, 5]);
        assert_eq!(ds.split.unwrap().batches[&RecordKind::Order], [2, 0]);
    }

    /// Per partition, the (key, tag) rows of a split.
    fn partitions(batches: &[RecordBatch], counts: &[usize]) -> Vec<Vec<(i64, String)>> {
        group_by_counts(counts, batches)
            .iter()
            .map(|p| rows(p))
            .collect()
    }

    /// What `split_renumbered` must give: every key renumbered, then every
    /// row reordered by `split_by_key`.
    fn reference(input: &[RecordBatch], max_key: i64, block: usize) -> Vec<Vec<(i64, String)>> {
        let assignment = EvenOdd.assign(max_key);
        let new_keys = keys_by_appearance(&assignment, 2, block).unwrap();
        let (out, counts) =
            split_by_key(&renumber(input, &new_keys).unwrap(), &assignment, 2).unwrap();
        partitions(&out, &counts)
    }

    #[test]
    fn customers_appended_out_of_order_are_sorted_after_the_sliced_rows() {
        // In order of appearance but for customers 5 and 4 at the end:
        // new keys 0, 2, 4 | 1, 5, 3.
        let input = vec![batch(&[0, 1, 2, 3, 5, 4], &["a", "b", "c", "d", "e", "f"])];
        let tags_before = tag_buffer(&input[0]);
        let ds = dataset(RecordKind::Order, input.clone())
            .split_renumbered(&EvenOdd)
            .unwrap();
        let batches = &ds.tables[&RecordKind::Order];
        let counts = &ds.split.as_ref().unwrap().batches[&RecordKind::Order];
        assert_eq!(
            partitions(batches, counts),
            reference(&input, 5, BLOCK_CUSTOMERS)
        );
        assert_eq!(
            tags_before,
            tag_buffer(&batches[0]),
            "partition 0 was sliced"
        );
        assert_eq!(
            rows(&batches[counts[0]..]),
            [(1, "d"), (3, "f"), (5, "e")].map(|(k, t)| (k, t.to_string()))
        );
    }

    #[test]
    fn any_order_gives_what_split_by_key_gives() {
        let mut seed = 7u64;
        let mut next = |n: u64| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) % n
        };
        for case in 0..200 {
            let customers = 1 + next(12) as i64;
            let rows_n = next(40) as usize;
            // Sorted for a while (as often in exports), then anything.
            let sorted_until = next(rows_n as u64 + 1) as usize;
            let mut keys: Vec<i64> = (0..rows_n).map(|_| next(customers as u64) as i64).collect();
            keys[..sorted_until].sort();
            let tags: Vec<String> = (0..rows_n).map(|i| format!("r{i}")).collect();
            let mut input = Vec::new();
            let mut at = 0;
            while at < rows_n {
                let len = (1 + next(9) as usize).min(rows_n - at);
                let t: Vec<&str> = tags[at..at + len].iter().map(String::as_str).collect();
                input.push(batch(&keys[at..at + len], &t));
                at += len;
            }
            // Every customer appears (the keys are dense).
            input.push(batch(&[customers - 1], &["last"]));
            for (block, small) in [(1, 0), (2, 0), (3, 4), (BLOCK_CUSTOMERS, 3)] {
                let ds = dataset(RecordKind::Order, input.clone())
                    .split_renumbered_in_blocks(&EvenOdd, block, small)
                    .unwrap();
                let counts = &ds.split.as_ref().unwrap().batches[&RecordKind::Order];
                assert_eq!(
                    partitions(&ds.tables[&RecordKind::Order], counts),
                    reference(&input, customers - 1, block),
                    "case {case}, blocks of {block}, small {small}: {keys:?}"
                );
            }
        }
    }
}
