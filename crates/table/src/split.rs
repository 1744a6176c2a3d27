//! Tables split by customer key: every row of a customer in one partition,
//! rows sorted by key within each partition.
//!
//! Nearly every metric groups or joins by `ck`. An engine that knows its
//! tables are already split the way it would split them itself, and sorted,
//! can aggregate each partition on its own in streaming order and join
//! without moving rows. Which partition a key goes to is the engine's
//! business (it must match the engine's own hash repartitioning), so it
//! comes in as a [`KeyPartitioner`]; this module only reorders rows and
//! records where each partition's batches start. The columnar copy of the
//! store is written in this order, so reading it costs no copy.

use crate::keyed::{keyed_schema, Dataset, KEY};
use crate::threads::{cores, map_on_threads};
use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::interleave;
use arrow::datatypes::Int64Type;
use arrow::error::ArrowError;
use clientela_core::RecordKind;
use std::collections::BTreeMap;

/// Rows per batch of a split table (the engine's batch size: aggregations
/// over sorted input emit a batch per input batch).
pub const SPLIT_BATCH_ROWS: usize = 32_768;

/// Sends every customer key to a partition.
pub trait KeyPartitioner {
    /// Number of partitions.
    fn partitions(&self) -> usize;
    /// The partition of each key `0..=max_key`, indexed by key.
    fn assign(&self, max_key: i64) -> Vec<u32>;
}

/// How the tables of a data set are split (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySplit {
    /// Number of partitions.
    pub partitions: usize,
    /// The largest customer key the assignment covers.
    pub max_key: i64,
    /// Identifies the assignment of keys to partitions ([`fingerprint`]):
    /// a reader compares it with its own before relying on the split.
    pub fingerprint: u64,
    /// Per kind, how many consecutive batches each partition has (those of
    /// partition 0 first).
    pub batches: BTreeMap<RecordKind, Vec<usize>>,
}

impl KeySplit {
    /// A split of the keys `0..=max_key` by `partitioner`, with no table in
    /// it yet, and the partition of every key.
    pub fn plan(partitioner: &dyn KeyPartitioner, max_key: i64) -> (KeySplit, Vec<u32>) {
        let assignment = partitioner.assign(max_key);
        let split = KeySplit {
            partitions: partitioner.partitions(),
            max_key,
            fingerprint: fingerprint(&assignment),
            batches: BTreeMap::new(),
        };
        (split, assignment)
    }

    /// Whether `partitioner` sends every key where this split did.
    pub fn made_by(&self, partitioner: &dyn KeyPartitioner) -> bool {
        partitioner.partitions() == self.partitions
            && fingerprint(&partitioner.assign(self.max_key)) == self.fingerprint
    }

    /// The batches of one kind, grouped by partition.
    pub fn partition<T: Clone>(&self, kind: RecordKind, batches: &[T]) -> Option<Vec<Vec<T>>> {
        let counts = self.batches.get(&kind)?;
        if counts.len() != self.partitions || counts.iter().sum::<usize>() != batches.len() {
            return None;
        }
        Some(group_by_counts(counts, batches))
    }
}

/// `batches` cut into consecutive groups of `counts[i]` each (the batches
/// of each partition, as [`split_by_key`] returns them). The counts must
/// add up to at most `batches.len()`.
pub fn group_by_counts<T: Clone>(counts: &[usize], batches: &[T]) -> Vec<Vec<T>> {
    let mut rest = batches;
    counts
        .iter()
        .map(|&n| {
            let (head, tail) = rest.split_at(n);
            rest = tail;
            head.to_vec()
        })
        .collect()
}

/// A 64-bit FNV-1a digest of an assignment of keys to partitions.
pub fn fingerprint(assignment: &[u32]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in assignment {
        for b in p.to_le_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// Where every row of a table goes when it is split by key: the rows in
/// (partition, key) order, stable, cut into batches of [`SPLIT_BATCH_ROWS`].
/// Made once per table; its columns are then reordered one at a time
/// ([`KeyOrder::column`]), so a caller can write each and let it go.
pub struct KeyOrder {
    /// (batch, row) of each row in split order.
    rows: Vec<(usize, usize)>,
    /// Where each partition's rows start in `rows`, and the end.
    bounds: Vec<usize>,
}

impl KeyOrder {
    /// The order of the rows of `batches` (with a non-null Int64 key column
    /// [`KEY`], keys in `0..assignment.len()`) split into `partitions` by
    /// `assignment`.
    pub fn new(
        batches: &[RecordBatch],
        assignment: &[u32],
        partitions: usize,
    ) -> Result<KeyOrder, ArrowError> {
        let mut keys: Vec<&[i64]> = Vec::with_capacity(batches.len());
        for b in batches {
            let key = b.schema().index_of(KEY)?;
            keys.push(b.column(key).as_primitive::<Int64Type>().values().as_ref());
        }
        let out_of_range =
            |k: i64| ArrowError::InvalidArgumentError(format!("key {k} not assigned"));
        // Counting sort by (partition, key): each key's row count, then each
        // key's first position, the keys of partition 0 first.
        let mut start = vec![0usize; assignment.len()];
        for &k in keys.iter().flat_map(|k| k.iter()) {
            *start
                .get_mut(usize::try_from(k).map_err(|_| out_of_range(k))?)
                .ok_or_else(|| out_of_range(k))? += 1;
        }
        let mut bounds = vec![0usize; partitions + 1];
        let mut at = 0usize;
        for p in 0..partitions {
            for (slot, &part) in start.iter_mut().zip(assignment) {
                if part as usize == p {
                    let count = *slot;
                    *slot = at;
                    at += count;
                }
            }
            bounds[p + 1] = at;
        }
        let mut rows = vec![(0usize, 0usize); at];
        for (b, ks) in keys.iter().enumerate() {
            for (r, &k) in ks.iter().enumerate() {
                let slot = &mut start[k as usize];
                rows[*slot] = (b, r);
                *slot += 1;
            }
        }
        Ok(KeyOrder { rows, bounds })
    }

    /// The rows of each output batch, partition by partition.
    fn chunks(&self) -> impl Iterator<Item = &[(usize, usize)]> {
        self.bounds
            .windows(2)
            .flat_map(|w| self.rows[w[0]..w[1]].chunks(SPLIT_BATCH_ROWS))
    }

    /// How many batches each partition has.
    pub fn counts(&self) -> Vec<usize> {
        self.bounds
            .windows(2)
            .map(|w| (w[1] - w[0]).div_ceil(SPLIT_BATCH_ROWS))
            .collect()
    }

    /// Column `c` of `batches` (those the order was made from) in split
    /// order, one array per output batch.
    pub fn column(&self, batches: &[RecordBatch], c: usize) -> Result<Vec<ArrayRef>, ArrowError> {
        let arrays: Vec<&dyn Array> = batches.iter().map(|b| b.column(c).as_ref()).collect();
        self.chunks()
            .map(|chunk| interleave(&arrays, chunk))
            .collect()
    }
}

/// Reorders `batches` into partitions by `assignment` ([`KeyOrder`]), each
/// sorted by key (stable: the rows of one key keep their order), in batches
/// of [`SPLIT_BATCH_ROWS`]. Returns the batches and how many each partition
/// has. The columns are reordered on as many threads as there are cores.
pub fn split_by_key(
    batches: &[RecordBatch],
    assignment: &[u32],
    partitions: usize,
) -> Result<(Vec<RecordBatch>, Vec<usize>), ArrowError> {
    let Some(first) = batches.first() else {
        return Ok((Vec::new(), vec![0; partitions]));
    };
    let schema = first.schema();
    let order = KeyOrder::new(batches, assignment, partitions)?;
    let width = schema.fields().len();
    // Columns dealt round-robin to one thread per core.
    let threads = cores().min(width).max(1);
    let dealt: Vec<Vec<usize>> = (0..threads)
        .map(|t| (t..width).step_by(threads).collect())
        .collect();
    let mut columns: Vec<Option<Vec<ArrayRef>>> = vec![None; width];
    for part in map_on_threads(&dealt, |cs| {
        cs.iter()
            .map(|&c| Ok((c, order.column(batches, c)?)))
            .collect::<Result<Vec<_>, ArrowError>>()
    }) {
        for (c, arrays) in part? {
            columns[c] = Some(arrays);
        }
    }
    let mut columns: Vec<std::vec::IntoIter<ArrayRef>> = columns
        .into_iter()
        .map(|c| c.unwrap_or_default().into_iter())
        .collect();
    let out = order
        .chunks()
        .map(|_| {
            let arrays = columns
                .iter_mut()
                .map(|c| c.next().expect("one array per batch"))
                .collect();
            RecordBatch::try_new(schema.clone(), arrays)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((out, order.counts()))
}

impl Dataset {
    /// The largest customer key of any table (0 when there is none).
    pub(crate) fn max_key(&self) -> i64 {
        self.tables
            .values()
            .flatten()
            .filter_map(|b| b.column_by_name(KEY))
            .filter_map(|c| c.as_primitive::<Int64Type>().values().iter().copied().max())
            .max()
            .unwrap_or(0)
    }

    /// Whether the table of `kind` has a customer key column (and is split).
    fn is_keyed(&self, kind: RecordKind) -> bool {
        self.tables
            .get(&kind)
            .and_then(|b| b.first())
            .map_or(keyed_schema(kind), |b| b.schema())
            .index_of(KEY)
            .is_ok()
    }

    /// The same data split by `partitioner` ([`KeySplit`]): every table with
    /// a customer key reordered by [`split_by_key`], the others kept as
    /// they are. Copies every keyed column once; each table's input is let
    /// go once it is split.
    pub fn split_by(self, partitioner: &dyn KeyPartitioner) -> Result<Dataset, ArrowError> {
        let (plan, assignment) = KeySplit::plan(partitioner, self.max_key());
        self.split_tables(plan, &assignment, |batches, assignment, partitions| {
            split_by_key(batches, assignment, partitions)
        })
    }

    /// Splits every table with a customer key by `split` (given its input
    /// batches, `assignment`, the partition of every key, and the number of
    /// partitions: the batches partition by partition, and how many each
    /// has) into `plan`; the other tables are kept as they are.
    pub(crate) fn split_tables(
        self,
        mut plan: KeySplit,
        assignment: &[u32],
        split: impl Fn(&[RecordBatch], &[u32], usize) -> SplitResult,
    ) -> Result<Dataset, ArrowError> {
        let keyed: Vec<RecordKind> = RecordKind::ALL
            .into_iter()
            .filter(|k| self.is_keyed(*k))
            .collect();
        let mut tables = BTreeMap::new();
        for (kind, batches) in self.tables {
            if !keyed.contains(&kind) {
                tables.insert(kind, batches);
                continue;
            }
            let (batches, counts) = split(&batches, assignment, plan.partitions)
                .map_err(|e| ArrowError::InvalidArgumentError(format!("{}: {e}", kind.table())))?;
            plan.batches.insert(kind, counts);
            tables.insert(kind, batches);
        }
        Ok(Dataset {
            tables,
            split: Some(plan),
        })
    }
}

/// Split batches, partition by partition, and how many each partition has.
pub(crate) type SplitResult = Result<(Vec<RecordBatch>, Vec<usize>), ArrowError>;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    /// A keyed batch of (key, tag) rows.
    pub(crate) fn batch(keys: &[i64], tags: &[&str]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new(KEY, DataType::Int64, false),
            Field::new("tag", DataType::Utf8, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(keys.to_vec())),
                Arc::new(StringArray::from(tags.to_vec())),
            ],
        )
        .unwrap()
    }

    /// The (key, tag) rows of batches made by [`batch`].
    pub(crate) fn rows(batches: &[RecordBatch]) -> Vec<(i64, String)> {
        batches
            .iter()
            .flat_map(|b| {
                let k = b.column(0).as_primitive::<Int64Type>();
                let t = b.column(1).as_string::<i32>();
                (0..b.num_rows()).map(move |i| (k.value(i), t.value(i).to_string()))
            })
            .collect()
    }

    #[test]
    fn rows_go_to_their_keys_partition_sorted_and_stable() {
        let input = [
            batch(&[2, 0, 1], &["a", "b", "c"]),
            batch(&[0, 2, 3], &["d", "e", "f"]),
        ];
        // Keys 0 and 3 to partition 1, keys 1 and 2 to partition 0.
        let (out, counts) = split_by_key(&input, &[1, 0, 0, 1], 2).unwrap();
        assert_eq!(counts, [1, 1]);
        let got = rows(&out);
        let want: Vec<(i64, String)> = [(1, "c"), (2, "a"), (2, "e"), (0, "b"), (0, "d"), (3, "f")]
            .iter()
            .map(|(k, t)| (*k, t.to_string()))
            .collect();
        assert_eq!(got, want);
        assert_eq!(rows(&out[..1]).len(), 3, "partition 0 is its own batch");
    }

    #[test]
    fn empty_partitions_and_unassigned_keys() {
        let input = [batch(&[0, 0], &["a", "b"])];
        let (out, counts) = split_by_key(&input, &[1], 3).unwrap();
        assert_eq!(counts, [0, 1, 0]);
        assert_eq!(out.len(), 1);
        let err = split_by_key(&[batch(&[5], &["x"])], &[0], 1).unwrap_err();
        assert!(err.to_string().contains("key 5 not assigned"), "{err}");
    }

    #[test]
    fn partitions_regroup_batches_only_when_counts_fit() {
        struct Halves;
        impl KeyPartitioner for Halves {
            fn partitions(&self) -> usize {
                2
            }
            fn assign(&self, max_key: i64) -> Vec<u32> {
                (0..=max_key).map(|k| (k % 2) as u32).collect()
            }
        }
        let split = KeySplit {
            partitions: 2,
            max_key: 3,
            fingerprint: fingerprint(&[0, 1, 0, 1]),
            batches: [(RecordKind::Order, vec![2, 1])].into_iter().collect(),
        };
        assert!(split.made_by(&Halves));
        assert_eq!(
            split.partition(RecordKind::Order, &[1, 2, 3]),
            Some(vec![vec![1, 2], vec![3]])
        );
        assert_eq!(split.partition(RecordKind::Order, &[1, 2]), None);
        assert_eq!(split.partition(RecordKind::Lead, &[1]), None);
        let other = KeySplit {
            fingerprint: fingerprint(&[1, 0, 1, 0]),
            ..split
        };
        assert!(!other.made_by(&Halves));
    }
}
