//! Customer lists and the profile of one customer.

use crate::report::{query, Section};
use crate::{Engine, EngineError, Params};
use datafusion::arrow::record_batch::RecordBatch;

/// Everything known about one customer.
#[derive(Debug, Clone)]
pub struct CustomerProfile {
    /// Attributes, stage, activity, capital (one row).
    pub summary: RecordBatch,
    /// Stage periods found walking back from the as-of date: `(stage, since)`.
    pub stage_history: Vec<(String, chrono::NaiveDate)>,
    /// Events per kind with first and last day.
    pub activity: RecordBatch,
    /// Every NPS and CSAT answer.
    pub surveys: RecordBatch,
}

/// Columns of the customer list.
pub const CUSTOMER_COLUMNS: &str = "customer_id, stage, country, channel, orders, capital_minor, tenure_days, \
     silence_days, active, ROUND(p_alive, 3) AS p_alive, latest_nps, referrals, arrow_cast(first_pay_day, 'Date32') AS first_payment, \
     arrow_cast(last_interaction_day, 'Date32') AS last_interaction";

/// Sort keys accepted by the customer list.
pub const SORT_KEYS: &[&str] = &["capital", "orders", "tenure", "silence", "nps", "id"];

impl Engine {
    /// The customer list at the as-of date, optionally of one stage, sorted.
    pub async fn customers(
        &self,
        p: &Params,
        stage: Option<clientela_core::Stage>,
        sort: &str,
        limit: Option<usize>,
    ) -> Result<crate::Report, EngineError> {
        self.stages(p).await?;
        let order = match sort {
            "capital" => "capital_minor DESC",
            "orders" => "orders DESC",
            "tenure" => "tenure_days DESC",
            "silence" => "silence_days DESC",
            "nps" => "latest_nps DESC",
            "id" => "customer_id",
            other => {
                return Err(EngineError::Request(format!(
                    "cannot sort by {other:?}: expected one of {}",
                    SORT_KEYS.join(", ")
                )))
            }
        };
        let filter = stage
            .map(|s| format!("WHERE stage = '{s}'"))
            .unwrap_or_default();
        let limit = limit.map(|n| format!("LIMIT {n}")).unwrap_or_default();
        let sql = format!("SELECT {CUSTOMER_COLUMNS} FROM customer_stage {filter} ORDER BY {order} NULLS LAST, customer_id {limit}");
        let batch = query(self.context(), &sql).await?;
        let section = Section {
            name: "customers".into(),
            title: format!("Customers on {}", p.as_of()),
            batch,
        };
        Ok(self.finish(p.as_of(), vec![section]))
    }

    /// The profile of one customer by the business's id.
    pub async fn customer(
        &self,
        p: &Params,
        customer_id: &str,
    ) -> Result<CustomerProfile, EngineError> {
        let id = customer_id.replace('\'', "''");
        let ck = query(
            self.context(),
            &format!("SELECT ck FROM customers WHERE customer_id = '{id}'"),
        )
        .await?;
        if ck.num_rows() == 0 {
            return Err(EngineError::Request(format!(
                "no customer with id {customer_id:?}"
            )));
        }
        let ck = ck
            .column(0)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::Int64Array>()
            .expect("ck is Int64")
            .value(0);
        // Everything below runs on this customer's rows only.
        let sub = self.single_customer(ck).await?;
        crate::facts::materialize_stages(&sub.ctx, p, "customer_stage").await?;
        let summary = query(
            &sub.ctx,
            "SELECT customer_id, stage, country, city, gender, birth_year, tags, source, channel, consent,
               arrow_cast(signup_day, 'Date32') AS signup, orders, net_minor, capital_minor, tenure_days,
               arrow_cast(first_pay_day, 'Date32') AS first_payment, arrow_cast(last_interaction_day, 'Date32') AS last_interaction,
               silence_days, active, recent_buyer, loyal_buyer, support_active, product_subscriber,
               service_subscriber, contact_active, subscriptions, latest_nps, referrals, loyalty_points,
               median_gap_days, at_risk_after_days
             FROM customer_stage",
        )
        .await?;
        let summary = crate::report::money_to_decimal(&summary, self.exponent());
        let until = format!("day <= {}", p.d);
        let kinds = [
            "orders",
            "subscriptions",
            "support",
            "contacts",
            "usage",
            "surveys",
            "referrals",
            "loyalty",
            "leads",
        ];
        let parts: Vec<String> = kinds
            .iter()
            .enumerate()
            .map(|(i, t)| {
                format!("SELECT {i} AS i, '{t}' AS kind, COUNT(*) AS events, arrow_cast(MIN(day), 'Date32') AS first, arrow_cast(MAX(day), 'Date32') AS last FROM {t} WHERE {until}")
            })
            .collect();
        let activity = query(
            &sub.ctx,
            &format!(
                "SELECT kind, events, first, last FROM ({}) ORDER BY i",
                parts.join(" UNION ALL ")
            ),
        )
        .await?;
        let surveys = query(
            &sub.ctx,
            &format!("SELECT arrow_cast(day, 'Date32') AS day, survey, score, comment FROM surveys WHERE {until} ORDER BY time"),
        )
        .await?;
        let stage_history = stage_history(&sub, p).await?;
        Ok(CustomerProfile {
            summary,
            stage_history,
            activity,
            surveys,
        })
    }

    /// An engine holding only one customer's rows (cheap repeated queries).
    async fn single_customer(&self, ck: i64) -> Result<SingleCustomer, EngineError> {
        // One partition: on a handful of rows, repartitioning only costs.
        let config = datafusion::prelude::SessionConfig::new().with_target_partitions(1);
        let ctx = datafusion::prelude::SessionContext::new_with_config(config);
        crate::register_functions(&ctx);
        for kind in clientela_core::RecordKind::ALL {
            let t = kind.table();
            let sql = if kind.has_customer() {
                format!("SELECT * FROM {t} WHERE ck = {ck}")
            } else {
                format!("SELECT * FROM {t} WHERE false")
            };
            let plan = self
                .context()
                .sql(&sql)
                .await?
                .create_physical_plan()
                .await?;
            let schema = plan.schema();
            let batches =
                datafusion::physical_plan::collect(plan, self.context().task_ctx()).await?;
            let table = datafusion::datasource::MemTable::try_new(schema, vec![batches])?;
            ctx.register_table(t, std::sync::Arc::new(table))?;
        }
        Ok(SingleCustomer { ctx })
    }
}

struct SingleCustomer {
    ctx: datafusion::prelude::SessionContext,
}

impl SingleCustomer {
    async fn stage_at(&self, p: &Params, d: i32) -> Result<Option<String>, EngineError> {
        crate::facts::materialize_stages(&self.ctx, &p.at(d), "s").await?;
        let b = query(&self.ctx, "SELECT stage FROM s").await?;
        if b.num_rows() == 0 {
            return Ok(None);
        }
        let col = datafusion::arrow::compute::cast(
            b.column(0),
            &datafusion::arrow::datatypes::DataType::Utf8,
        )?;
        let s = col
            .as_any()
            .downcast_ref::<datafusion::arrow::array::StringArray>()
            .expect("utf8");
        Ok(Some(s.value(0).to_string()))
    }
}

/// Days between probes when walking back through a customer's stages.
const PROBE_STEP: i32 = 28;
/// How far back the stage history looks.
const HISTORY_DAYS: i32 = 730;

/// The stages of one customer, most recent first, each with the day it
/// began: walking back in steps of four weeks while the stage holds, then
/// bisecting the step in which it changed (exact when the stage changed at
/// most once inside those four weeks). A stage that already held two years
/// back is given as beginning then.
async fn stage_history(
    sub: &SingleCustomer,
    p: &Params,
) -> Result<Vec<(String, chrono::NaiveDate)>, EngineError> {
    let mut history = Vec::new();
    let Some(mut stage) = sub.stage_at(p, p.d).await? else {
        return Ok(history);
    };
    let floor = p.d - HISTORY_DAYS;
    let mut start = p.d;
    while history.len() < 12 {
        let mut before = None;
        loop {
            // The last probe lands on the floor: "since" is then at most two years back.
            let probe = (start - PROBE_STEP).max(floor);
            if probe == start {
                break;
            }
            let s = sub.stage_at(p, probe).await?;
            if s.as_deref() == Some(stage.as_str()) {
                start = probe;
                continue;
            }
            // `stage` holds on `start`, not on `probe`: bisect.
            let (mut lo, mut hi) = (probe, start);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if sub.stage_at(p, mid).await?.as_deref() == Some(stage.as_str()) {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            start = hi;
            before = Some(sub.stage_at(p, start - 1).await?);
            break;
        }
        history.push((stage.clone(), crate::params::date_of(start)));
        match before {
            Some(Some(s)) => {
                stage = s;
                start -= 1;
            }
            _ => break,
        }
    }
    Ok(history)
}
