//! clientela-engine: every metric of clientela as a DataFusion plan.
//!
//! The engine takes keyed canonical tables ([`clientela_table::Dataset`]),
//! registers them in a DataFusion `SessionContext` (adding a local calendar
//! `day` to every event, in the report time zone) and answers each metric
//! of SPEC §2–3 with SQL over those tables. Plans take their parameters as
//! literals and call only named functions registered here, so the same
//! plans can run on a Ballista cluster.
#![deny(missing_docs)]

mod bit_counts;
mod concurrent;
mod day_set;
mod error;
mod facts;
mod first_day_total;
mod group_days;
mod growth;
mod keyed_table;
mod merge_by_key;
mod metrics;
mod null_folds;
mod params;
mod period_activity;
mod profile;
mod report;
mod segment_report;
mod segments;
mod sql;
mod tables;
mod udaf;
mod udf;
pub mod value;

pub use error::EngineError;
pub use keyed_table::EnginePartitioner;
pub use params::{date_of, day_of, Params, ReportRequest};
pub use profile::CustomerProfile;
pub use report::{Clock, Report, Section};
pub use segment_report::DEFAULT_SEGMENT_ATTRIBUTES;
pub use segments::{check_expression, SegmentSize, SEGMENT_VIEW};
pub use tables::local_day;

use clientela_core::Config;
use clientela_table::Dataset;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;

/// The columns of each kind that the metrics read (`None`: all of them).
/// Loading only these keeps memory and load time down on large stores.
pub fn analytic_columns(kind: clientela_core::RecordKind) -> Option<&'static [&'static str]> {
    use clientela_core::RecordKind as K;
    Some(match kind {
        K::Spend => return None,
        // Not the contact details (`email`, `name`) nor the free-form
        // `attributes`: no metric, split or segment reads them.
        K::Customer => &[
            "ck",
            "customer_id",
            "time",
            "country",
            "city",
            "birth_year",
            "gender",
            "tags",
            "source",
            "channel",
            "referred_by",
            "consent",
        ],
        K::Lead | K::Usage => &["ck", "time"],
        K::Order => &["ck", "time", "amount_minor", "currency"],
        K::Subscription => &[
            "ck",
            "time",
            "subscription_id",
            "kind",
            "status",
            "amount_minor",
            "currency",
            "interval",
            "interval_count",
        ],
        K::Support => &["ck", "time", "kind"],
        K::Contact => &["ck", "time", "direction", "channel"],
        K::Survey => &["ck", "time", "survey", "score", "comment"],
        K::Referral => &["ck", "time", "referred_id"],
        K::Loyalty => &["ck", "time", "points"],
    })
}

/// Registers every function the plans call by name (scalar and aggregate),
/// in any context that runs them.
fn register_functions(ctx: &SessionContext) {
    udf::register(ctx);
    null_folds::register(ctx);
    day_set::register(ctx);
    group_days::register(ctx);
    first_day_total::register(ctx);
    period_activity::register(ctx);
    bit_counts::register(ctx);
    value::udf::register(ctx);
}

/// Rows per batch of the engine's plans (DataFusion's `batch_size`).
const ENGINE_BATCH_ROWS: usize = 32_768;

/// An engine over one data set.
pub struct Engine {
    ctx: SessionContext,
    config: Config,
    info: tables::DataInfo,
    /// Set once restricted to a segment: the purchase model fitted on the
    /// whole base (or `None`: none), used instead of fitting again.
    pinned_purchase_model: Option<Option<String>>,
}

impl Engine {
    /// Registers the data set's tables under their canonical names
    /// (`customers`, `orders`, …) with a `day` column in `config.timezone`.
    /// Fails on mixed currencies without exchange rates.
    pub fn new(dataset: Dataset, config: Config) -> Result<Engine, EngineError> {
        // DataFusion's own settings can be tuned through its environment
        // variables (e.g. DATAFUSION_EXECUTION_TARGET_PARTITIONS).
        let session = datafusion::prelude::SessionConfig::from_env()?;
        Self::with_session(dataset, config, session)
    }

    /// Like [`new`](Self::new), splitting the work of every plan into
    /// `partitions` parts run in parallel (the default is one per core, or
    /// `DATAFUSION_EXECUTION_TARGET_PARTITIONS`). Tables split by customer
    /// for another count are read as if in no particular order.
    pub fn with_partitions(
        dataset: Dataset,
        config: Config,
        partitions: usize,
    ) -> Result<Engine, EngineError> {
        let session = datafusion::prelude::SessionConfig::from_env()?
            .with_target_partitions(partitions.max(1));
        Self::with_session(dataset, config, session)
    }

    fn with_session(
        dataset: Dataset,
        config: Config,
        mut session: datafusion::prelude::SessionConfig,
    ) -> Result<Engine, EngineError> {
        config.validate()?;
        if std::env::var_os("DATAFUSION_OPTIMIZER_SUBSET_REPARTITION_THRESHOLD").is_none() {
            // Tables split by customer (and results of plans split so) serve
            // a grouping by customer and anything else as they are: a million
            // customers spread evenly over any number of partitions.
            // DataFusion's default repartitions below 4 partitions.
            session.options_mut().optimizer.subset_repartition_threshold = 1;
        }
        if std::env::var_os("DATAFUSION_EXECUTION_BATCH_SIZE").is_none() {
            // Aggregations by customer over sorted input emit a batch per
            // input batch; larger batches cost less per row all the way up
            // (DataFusion's default is 8,192; docs/performance.md).
            session = session.with_batch_size(ENGINE_BATCH_ROWS);
        }
        let mut clock = report::Clock::new();
        let ctx = SessionContext::new_with_config(session);
        register_functions(&ctx);
        let info = tables::register(&ctx, dataset, &config)?;
        clock.lap("register tables");
        Ok(Engine {
            ctx,
            config,
            info,
            pinned_purchase_model: None,
        })
    }

    /// The DataFusion context, for ad-hoc SQL over the canonical tables.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The reporting currency (ISO 4217), if the data has money.
    pub fn currency(&self) -> Option<&str> {
        self.info.currency.as_deref()
    }

    /// Decimals of the reporting currency (2 when the data has no money).
    pub(crate) fn exponent(&self) -> u32 {
        self.currency()
            .and_then(|c| clientela_core::Currency::parse(c).ok())
            .map_or(2, |c| c.exponent())
    }

    /// Last local day (days since 1970-01-01) with any event: the default as-of date.
    pub fn last_day(&self) -> Option<i32> {
        self.info.last_day
    }

    /// Runs a SQL query and collects its result.
    pub async fn sql(&self, query: &str) -> Result<Vec<RecordBatch>, EngineError> {
        Ok(self.ctx.sql(query).await?.collect().await?)
    }
}
