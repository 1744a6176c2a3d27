//! In-memory tables that tell DataFusion they are already partitioned by
//! the customer key, and sorted by it within each partition.
//!
//! Nearly every plan groups or joins by `ck`. Over a plain [`MemTable`]
//! DataFusion hashes and copies every row into `ck` partitions
//! (`RepartitionExec`) in each plan, aggregates twice (partial, final) and
//! builds hash tables of a million groups. A [`KeyedTable`] holds its rows
//! already split the way `RepartitionExec` would split them and declares
//! `Hash([ck], n)`: aggregations by `ck` then run once per partition, and
//! joins on `ck` need no repartitioning. Rows sorted by `ck` within each
//! partition let DataFusion aggregate by `ck` in streaming order, with hash
//! tables of one batch's customers instead of all of them.
//!
//! The store keeps its columnar copy in this order ([`EnginePartitioner`]
//! says which partition each key goes to), so the split costs nothing at
//! load; results of plans already split by `ck` are registered keyed too
//! ([`key_of`]).
//!
//! Invariant: the split is DataFusion's own ([`BatchPartitioner`] assigns
//! the keys), so a table declared `Hash([ck], n)` here agrees with every
//! side DataFusion repartitions itself in the same plan. The copy records a
//! fingerprint of the assignment; a copy made by another DataFusion hash or
//! for another partition count is rewritten, never trusted.

use async_trait::async_trait;
use clientela_table::{KeyPartitioner, KEY};
use datafusion::arrow::array::{AsArray, Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::Result;
use datafusion::datasource::{MemTable, TableProvider, TableType};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{col, Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::execution_plan::{ChildrenPropertiesMode, ReplaceChildrenOptions};
use datafusion::physical_plan::metrics::Time;
use datafusion::physical_plan::repartition::BatchPartitioner;
use datafusion::physical_plan::{
    ChildStats, DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, Partitioning,
    PlanProperties, SendableRecordBatchStream, Statistics, StatisticsArgs,
};
use std::fmt;
use std::sync::Arc;

/// The partition DataFusion's hash repartitioning sends each key
/// `0..=max_key` to, among `n`: in chunks of keys on all cores (a key's
/// partition depends on the key alone).
fn partition_of_keys(max_key: i64, n: usize) -> Result<Vec<u32>> {
    partition_of_keys_in(max_key, n, ASSIGN_CHUNK_KEYS)
}

/// Keys assigned at a time: a million keys in one batch cost twice as
/// much as in chunks that stay in cache, on one core.
const ASSIGN_CHUNK_KEYS: i64 = 1 << 16;

/// [`partition_of_keys`] in chunks of `chunk` keys.
fn partition_of_keys_in(max_key: i64, n: usize, chunk: i64) -> Result<Vec<u32>> {
    let end = max_key.max(0) + 1;
    let chunks: Vec<std::ops::Range<i64>> = (0..end)
        .step_by(chunk.max(1) as usize)
        .map(|start| start..(start + chunk.max(1)).min(end))
        .collect();
    let parts = clientela_table::map_in_order(
        &chunks,
        |c| c.clone().count(),
        |c| partition_of_range(c.clone(), n),
    );
    let mut of = Vec::with_capacity(end as usize);
    for part in parts {
        of.extend(part?);
    }
    Ok(of)
}

/// The partition of each key of `keys`, in order.
fn partition_of_range(keys: std::ops::Range<i64>, n: usize) -> Result<Vec<u32>> {
    let first = keys.start;
    let mut of = vec![0u32; keys.clone().count()];
    let keys = Int64Array::from_iter_values(keys);
    let schema = Arc::new(Schema::new(vec![Field::new("k", DataType::Int64, false)]));
    let batch = RecordBatch::try_new(schema, vec![Arc::new(keys)])?;
    let key: Arc<dyn PhysicalExpr> = Arc::new(Column::new("k", 0));
    let mut partitioner =
        BatchPartitioner::try_new(Partitioning::Hash(vec![key], n), Time::new(), 0, 1)?;
    partitioner.partition(batch, |p, part| {
        for &k in part.column(0).as_primitive::<Int64Type>().values() {
            of[(k - first) as usize] = p as u32;
        }
        Ok(())
    })?;
    Ok(of)
}

/// Splits customer keys as the engine's own hash repartitioning does, into
/// its number of partitions: tables split this way ([`KeySplit`](clientela_table::KeySplit)) can be
/// declared `Hash([ck], n)`.
#[derive(Debug, Clone, Copy)]
pub struct EnginePartitioner {
    partitions: usize,
}

impl EnginePartitioner {
    /// The partitioner of an engine made now (DataFusion's settings from
    /// the environment, as [`Engine::new`](crate::Engine::new) reads them).
    pub fn new() -> Result<EnginePartitioner, crate::EngineError> {
        let session = datafusion::prelude::SessionConfig::from_env()?;
        Ok(Self::with_partitions(session.target_partitions()))
    }

    /// The partitioner of an engine made with
    /// [`Engine::with_partitions`](crate::Engine::with_partitions).
    pub fn with_partitions(partitions: usize) -> EnginePartitioner {
        EnginePartitioner {
            partitions: partitions.max(1),
        }
    }
}

impl KeyPartitioner for EnginePartitioner {
    fn partitions(&self) -> usize {
        self.partitions
    }

    fn assign(&self, max_key: i64) -> Vec<u32> {
        // Hashing plain integers into n partitions cannot fail; should it,
        // no split matches and tables are read unsplit.
        partition_of_keys(max_key, self.partitions).unwrap_or_default()
    }
}

/// A [`MemTable`] whose partitions are split by the customer key as
/// DataFusion's hash repartitioning would split them, each sorted by it
/// when `sorted`.
#[derive(Debug)]
pub(crate) struct KeyedTable {
    inner: MemTable,
}

impl KeyedTable {
    /// A table over `partitions` (split by
    /// [`clientela_table::split_by_key`] with an [`EnginePartitioner`], or
    /// taken from a plan's `Hash([ck], n)` output).
    pub(crate) fn try_new(
        schema: SchemaRef,
        partitions: Vec<Vec<RecordBatch>>,
        sorted: bool,
    ) -> Result<KeyedTable> {
        let mut inner = MemTable::try_new(schema, partitions)?;
        if sorted {
            inner = inner.with_sort_order(vec![vec![col(KEY).sort(true, false)]]);
        }
        Ok(KeyedTable { inner })
    }
}

#[async_trait]
impl TableProvider for KeyedTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let scan = self.inner.scan(state, projection, filters, limit).await?;
        Ok(KeyPartitionedExec::wrap(
            scan,
            KEY,
            self.inner.batches.len(),
        ))
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }
}

/// Passes its input through, declaring it partitioned `Hash([key], n)`.
#[derive(Debug, Clone)]
struct KeyPartitionedExec {
    input: Arc<dyn ExecutionPlan>,
    key: String,
    properties: Arc<PlanProperties>,
}

impl KeyPartitionedExec {
    /// `input` declared partitioned by `key`, or `input` itself when it has
    /// no column `key` or not `n` partitions.
    fn wrap(input: Arc<dyn ExecutionPlan>, key: &str, n: usize) -> Arc<dyn ExecutionPlan> {
        let Ok(index) = input.schema().index_of(key) else {
            return input;
        };
        if input.output_partitioning().partition_count() != n {
            return input;
        }
        let column: Arc<dyn PhysicalExpr> = Arc::new(Column::new(key, index));
        let properties = input
            .properties()
            .as_ref()
            .clone()
            .with_partitioning(Partitioning::Hash(vec![column], n));
        Arc::new(KeyPartitionedExec {
            input,
            key: key.to_string(),
            properties: Arc::new(properties),
        })
    }
}

impl DisplayAs for KeyPartitionedExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "KeyPartitionedExec: key={}", self.key)
    }
}

impl ExecutionPlan for KeyPartitionedExec {
    fn name(&self) -> &str {
        "KeyPartitionedExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let n = self.properties.output_partitioning().partition_count();
        Ok(Self::wrap(children.swap_remove(0), &self.key, n))
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        self.input.execute(partition, context)
    }

    fn child_stats_requests(&self, partition: Option<usize>) -> Vec<ChildStats> {
        vec![ChildStats::At(partition)]
    }

    fn statistics_from_inputs(
        &self,
        input_stats: &[Arc<Statistics>],
        _args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        Ok(Arc::clone(&input_stats[0]))
    }
}

/// Whether tables split by key are declared so (`CLIENTELA_KEYED=0` turns
/// it off, to compare in benchmarks).
pub(crate) fn enabled() -> bool {
    std::env::var("CLIENTELA_KEYED").map_or(true, |v| v != "0")
}

/// Whether a plan's output is split by the customer key alone
/// (`Hash([ck], n)`): `Some(sorted)`, with whether each partition is
/// sorted by it; `None` otherwise (or when `CLIENTELA_KEYED=0`).
pub(crate) fn key_of(plan: &dyn ExecutionPlan) -> Option<bool> {
    if !enabled() {
        return None;
    }
    let Partitioning::Hash(exprs, _) = plan.properties().output_partitioning() else {
        return None;
    };
    let [expr] = exprs.as_slice() else {
        return None;
    };
    let column = expr.downcast_ref::<Column>()?;
    if column.name() != KEY {
        return None;
    }
    Some(plan.properties().output_ordering().is_some_and(|o| {
        o.first()
            .expr
            .downcast_ref::<Column>()
            .is_some_and(|c| c.index() == column.index())
            && !o.first().options.descending
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::physical_plan::displayable;
    use datafusion::prelude::{SessionConfig, SessionContext};

    const N: usize = 3;
    const KEYS: i64 = 1000;

    /// `ck` and `v`, both Int64.
    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("ck", DataType::Int64, false),
            Field::new("v", DataType::Int64, false),
        ]))
    }

    fn batch(keys: impl Iterator<Item = i64>) -> RecordBatch {
        let keys: Vec<i64> = keys.collect();
        let values: Vec<i64> = keys.iter().map(|k| k * 2).collect();
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Int64Array::from(keys)),
                Arc::new(Int64Array::from(values)),
            ],
        )
        .unwrap()
    }

    /// `a`: keys split by [`EnginePartitioner`], declared keyed; `b`: the
    /// same keys backwards in round-robin partitions, for DataFusion to
    /// repartition itself.
    fn context() -> SessionContext {
        let mut config = SessionConfig::new().with_target_partitions(N);
        // Small tables would be joined by collecting one side whole.
        let optimizer = &mut config.options_mut().optimizer;
        optimizer.hash_join_single_partition_threshold = 0;
        optimizer.hash_join_single_partition_threshold_rows = 0;
        let ctx = SessionContext::new_with_config(config);
        let partitioner = EnginePartitioner::with_partitions(N);
        let input = [batch(0..KEYS / 2), batch(KEYS / 2..KEYS)];
        let (batches, counts) =
            clientela_table::split_by_key(&input, &partitioner.assign(KEYS - 1), N).unwrap();
        let parts = clientela_table::group_by_counts(&counts, &batches);
        let schema = input[0].schema();
        let a = KeyedTable::try_new(schema.clone(), parts, true).unwrap();
        ctx.register_table("a", Arc::new(a)).unwrap();
        let b_parts = (0..N as i64)
            .map(|p| vec![batch((0..KEYS).rev().filter(|k| k % N as i64 == p))])
            .collect();
        let b = MemTable::try_new(schema, b_parts).unwrap();
        ctx.register_table("b", Arc::new(b)).unwrap();
        ctx
    }

    async fn plan_and_rows(ctx: &SessionContext, sql: &str) -> (String, Vec<RecordBatch>) {
        let plan = ctx
            .sql(sql)
            .await
            .unwrap()
            .create_physical_plan()
            .await
            .unwrap();
        let shown = displayable(plan.as_ref()).indent(true).to_string();
        let rows = datafusion::physical_plan::collect(plan, ctx.task_ctx())
            .await
            .unwrap();
        (shown, rows)
    }

    fn first_i64(rows: &[RecordBatch], column: usize) -> i64 {
        rows[0].column(column).as_primitive::<Int64Type>().value(0)
    }

    #[tokio::test]
    async fn keyed_tables_split_keys_as_datafusion_repartitions_them() {
        let ctx = context();
        // Every key of `a` meets its row of `b`, which DataFusion sent to a
        // partition with its own hash: a different hash would lose matches.
        let (plan, rows) = plan_and_rows(
            &ctx,
            "SELECT count(*), sum(a.v + b.v) FROM a JOIN b ON a.ck = b.ck",
        )
        .await;
        assert_eq!(first_i64(&rows, 0), KEYS);
        assert_eq!(first_i64(&rows, 1), 4 * (KEYS * (KEYS - 1) / 2));
        assert!(plan.contains("mode=Partitioned"), "{plan}");
        assert_eq!(
            plan.matches("RepartitionExec: partitioning=Hash").count(),
            1,
            "only b is repartitioned:\n{plan}"
        );
    }

    #[tokio::test]
    async fn grouping_a_keyed_table_by_key_moves_no_rows() {
        let ctx = context();
        let (plan, rows) = plan_and_rows(
            &ctx,
            "SELECT count(*), sum(n) FROM (SELECT ck, count(*) AS n FROM a GROUP BY ck)",
        )
        .await;
        assert_eq!((first_i64(&rows, 0), first_i64(&rows, 1)), (KEYS, KEYS));
        assert!(
            !plan.contains("RepartitionExec: partitioning=Hash"),
            "{plan}"
        );
        assert!(plan.contains("ordering_mode=Sorted"), "{plan}");
    }

    #[tokio::test]
    async fn only_plans_split_by_the_key_alone_are_keyed() {
        let schema = schema();
        let state = SessionContext::new().state();
        let mut scans = Vec::new();
        for ordered in [false, true] {
            let mut t = MemTable::try_new(schema.clone(), vec![vec![]; N]).unwrap();
            if ordered {
                t = t.with_sort_order(vec![vec![col("ck").sort(true, false)]]);
            }
            scans.push(t.scan(&state, None, &[], None).await.unwrap());
        }
        let [plain, ordered] = [scans[0].clone(), scans[1].clone()];
        assert_eq!(key_of(plain.as_ref()), None, "round-robin");
        let keyed = KeyPartitionedExec::wrap(ordered, "ck", N);
        assert_eq!(key_of(keyed.as_ref()), Some(true));
        let unsorted = KeyPartitionedExec::wrap(plain.clone(), "ck", N);
        assert_eq!(key_of(unsorted.as_ref()), Some(false));
        let by_v = KeyPartitionedExec::wrap(plain.clone(), "v", N);
        assert_eq!(key_of(by_v.as_ref()), None, "split by another column");
        assert_eq!(
            KeyPartitionedExec::wrap(plain, "ck", N + 1).name(),
            "DataSourceExec",
            "a partition count that differs is not declared"
        );
        let assigned = EnginePartitioner::with_partitions(N).assign(9);
        assert_eq!(assigned.len(), 10);
        assert!(assigned.iter().all(|&p| (p as usize) < N));
    }

    #[test]
    fn keys_get_the_same_partitions_in_chunks_of_any_size() {
        let whole = partition_of_keys_in(999, 3, 1000).unwrap();
        assert_eq!(whole.len(), 1000);
        // Every partition gets some of a thousand keys.
        for p in 0..3 {
            assert!(whole.contains(&p), "partition {p}");
        }
        for chunk in [1, 7, 64, 999, 5000] {
            assert_eq!(
                partition_of_keys_in(999, 3, chunk).unwrap(),
                whole,
                "{chunk}"
            );
        }
        assert_eq!(partition_of_keys_in(0, 3, 7).unwrap().len(), 1);
    }
}
