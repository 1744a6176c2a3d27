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
     silence_days, active, latest_nps, referrals, arrow_cast(first_pay_day, 'Date32') AS first_payment, \
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
        self.stages(p).await?;
        let summary = query(
            self.context(),
            &format!(
                "SELECT customer_id, stage, country, city, gender, birth_year, tags, source, channel, consent,
                   arrow_cast(signup_day, 'Date32') AS signup, orders, net_minor, capital_minor, tenure_days,
                   arrow_cast(first_pay_day, 'Date32') AS first_payment, arrow_cast(last_interaction_day, 'Date32') AS last_interaction,
                   silence_days, active, recent_buyer, loyal_buyer, support_active, product_subscriber,
                   service_subscriber, contact_active, subscriptions, latest_nps, referrals, loyalty_points,
                   median_gap_days, at_risk_after_days
                 FROM customer_stage WHERE customer_id = '{id}'"
            ),
        )
        .await?;
        let summary = crate::report::money_to_decimal(&summary, self.exponent());
        let ck_filter = format!(
            "ck = (SELECT ck FROM customers WHERE customer_id = '{id}') AND day <= {}",
            p.d
        );
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
            .map(|t| {
                format!("SELECT '{t}' AS kind, COUNT(*) AS events, arrow_cast(MIN(day), 'Date32') AS first, arrow_cast(MAX(day), 'Date32') AS last FROM {t} WHERE {ck_filter}")
            })
            .collect();
        let activity = query(self.context(), &parts.join(" UNION ALL ")).await?;
        let surveys = query(
            self.context(),
            &format!("SELECT arrow_cast(day, 'Date32') AS day, survey, score, comment FROM surveys WHERE {ck_filter} ORDER BY time"),
        )
        .await?;
        let stage_history = self.stage_history(p, customer_id).await?;
        Ok(CustomerProfile {
            summary,
            stage_history,
            activity,
            surveys,
        })
    }

    /// Stage of one customer at successive dates, walking back weekly (then
    /// daily inside the week of a change) for up to two years.
    async fn stage_history(
        &self,
        p: &Params,
        customer_id: &str,
    ) -> Result<Vec<(String, chrono::NaiveDate)>, EngineError> {
        let sub = self.single_customer(customer_id).await?;
        let mut history: Vec<(String, chrono::NaiveDate)> = Vec::new();
        let Some(mut stage) = sub.stage_at(p, p.d).await? else {
            return Ok(history);
        };
        let floor = p.d - 730;
        let mut start = p.d;
        while history.len() < 12 {
            // Walk back weekly while the stage holds, then day by day.
            let mut changed = false;
            loop {
                let probe = start - 7;
                if probe < floor {
                    break;
                }
                if sub.stage_at(p, probe).await?.as_deref() == Some(stage.as_str()) {
                    start = probe;
                    continue;
                }
                while start - 1 > probe
                    && sub.stage_at(p, start - 1).await?.as_deref() == Some(stage.as_str())
                {
                    start -= 1;
                }
                changed = true;
                break;
            }
            history.push((stage.clone(), crate::params::date_of(start)));
            if !changed {
                break;
            }
            match sub.stage_at(p, start - 1).await? {
                Some(s) => {
                    stage = s;
                    start -= 1;
                }
                None => break,
            }
        }
        Ok(history)
    }

    /// An engine holding only one customer's rows (cheap repeated queries).
    async fn single_customer(&self, customer_id: &str) -> Result<SingleCustomer, EngineError> {
        let ctx = datafusion::prelude::SessionContext::new();
        crate::udf::register(&ctx);
        let id = customer_id.replace('\'', "''");
        for kind in clientela_core::RecordKind::ALL {
            let t = kind.table();
            let sql = if kind == clientela_core::RecordKind::Customer {
                format!("SELECT * FROM {t} WHERE customer_id = '{id}'")
            } else if kind.has_customer() {
                format!("SELECT * FROM {t} WHERE ck = (SELECT ck FROM customers WHERE customer_id = '{id}')")
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
