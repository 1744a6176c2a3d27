//! Ad-hoc SQL (`clientela sql`): a separate context whose tables are what a
//! user expects to query. Each canonical table appears under its canonical
//! name with the business's `customer_id` (the engine's dense key `ck` and
//! its internal `day` are replaced by `customer_id` and the local
//! `local_date`); `customers` carries every computed per-customer field at
//! the as-of date (stage, capital, tenure, activity, P(alive), age band,
//! value tier, RFM scores and segment: the columns of segment expressions,
//! see `segments.rs`); every section of a report can be added as
//! `report_<section>`.

use crate::facts::materialize;
use crate::report::Report;
use crate::segments::{materialize_view, ViewNeeds, SEGMENT_VIEW};
use crate::{Engine, EngineError, Params};
use clientela_core::RecordKind;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use std::sync::Arc;

/// Internal columns of the segment view that the `customers` view leaves out.
const INTERNAL_CUSTOMER_COLUMNS: &[&str] = &["ck"];

impl Engine {
    /// The context for user SQL at `p`'s as-of date (see the module docs).
    /// `report` adds its sections as `report_<name>` tables; it must have
    /// been made at `p` ([`Engine::overview_at`]), which has already
    /// materialised the per-customer stages this context reads. `growth`
    /// adds the growth report's sections as `growth_<name>` (MRR, cohorts,
    /// acquisition, … per period).
    pub async fn user_context(
        &self,
        p: &Params,
        report: Option<&Report>,
        growth: Option<&Report>,
    ) -> Result<SessionContext, EngineError> {
        let ctx = self.context();
        if report.is_none() {
            self.stages(p).await?;
        }
        materialize_view(self, p, ViewNeeds::ALL).await?;
        let user = SessionContext::new();
        for kind in RecordKind::ALL {
            let table = kind.table();
            if !ctx.table_exist(table)? {
                continue;
            }
            let schema = ctx.table(table).await?.schema().clone();
            let has = |c: &str| schema.has_column_with_unqualified_name(c);
            let sql = if kind == RecordKind::Customer {
                let stage_schema = ctx.table(SEGMENT_VIEW).await?.schema().clone();
                let computed: Vec<String> = stage_schema
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .filter(|n| !INTERNAL_CUSTOMER_COLUMNS.contains(&n.as_str()) && !has(n))
                    .map(|n| format!("f.\"{n}\""))
                    .collect();
                format!(
                    "SELECT c.* EXCLUDE (ck, signup_day), {} FROM customers c LEFT JOIN {SEGMENT_VIEW} f ON f.ck = c.ck",
                    computed.join(", ")
                )
            } else if has("ck") {
                format!(
                    "SELECT c.customer_id, t.* EXCLUDE (ck, day), arrow_cast(t.day, 'Date32') AS local_date
                     FROM {table} t JOIN customers c ON c.ck = t.ck"
                )
            } else if has("day") {
                format!("SELECT t.* EXCLUDE (day), arrow_cast(t.day, 'Date32') AS local_date FROM {table} t")
            } else {
                format!("SELECT * FROM {table}")
            };
            // Materialised, so that the user's context needs nothing of the
            // engine's (its tables, functions or later deregistrations).
            let view = format!("user_{table}");
            materialize(ctx, &sql, &view).await?;
            let provider = ctx.table_provider(view.as_str()).await?;
            ctx.deregister_table(view.as_str())?;
            user.register_table(table, provider)?;
        }
        for (prefix, r) in [("report", report), ("growth", growth)] {
            for s in r.iter().flat_map(|r| &r.sections) {
                let t = MemTable::try_new(s.batch.schema(), vec![vec![s.batch.clone()]])?;
                user.register_table(format!("{prefix}_{}", s.name).as_str(), Arc::new(t))?;
            }
        }
        Ok(user)
    }

    /// Runs `query` in `ctx` (made by [`Engine::user_context`]) as a report
    /// of one section, money columns (`*_minor`) as decimals.
    pub async fn run_user_sql(
        &self,
        ctx: &SessionContext,
        p: &Params,
        query: &str,
    ) -> Result<Report, EngineError> {
        let df = ctx.sql(query).await?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        let batch = datafusion::arrow::compute::concat_batches(&schema, &batches)?;
        let section = crate::Section {
            name: "query".into(),
            title: query.trim().to_string(),
            batch,
        };
        Ok(self.finish(p.as_of(), vec![section]))
    }
}
