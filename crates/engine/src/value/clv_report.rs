//! The CLV report (`clientela clv`): the fitted models with standard
//! errors, the calibration/holdout check, customer equity by stage,
//! acquisition channel and the split attribute, and the customers ranked
//! by predicted value.

use super::{model_error, summary_table, FitRequest, ModelKind, ValueModels};
use crate::facts::materialize;
use crate::report::{section, Clock, Section};
use crate::{Engine, EngineError, Params, ReportRequest};
use chrono::NaiveDate;
use clientela_models::{compare_holdout, compress, CustomerSummary, HoldoutReport};
use datafusion::arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
use datafusion::arrow::record_batch::RecordBatch;
use std::sync::Arc;

/// The table of per-customer predicted value.
pub const VALUE_TABLE: &str = "customer_value";

/// What the CLV report is asked for.
#[derive(Debug, Clone)]
pub struct ClvRequest {
    /// The purchase model; `None` picks the one with the lowest holdout error.
    pub model: Option<ModelKind>,
    /// Horizon in months.
    pub horizon_months: u32,
    /// Discount rate per month.
    pub monthly_discount: f64,
    /// First day of the holdout period; default for `auto`: 90 days before the as-of date.
    pub holdout_from: Option<NaiveDate>,
    /// Customers listed by value (0 = all).
    pub top: usize,
}

impl Default for ClvRequest {
    fn default() -> Self {
        ClvRequest {
            model: Some(ModelKind::BgNbd),
            horizon_months: 12,
            monthly_discount: 0.01,
            holdout_from: None,
            top: 20,
        }
    }
}

/// Holdout length `auto` uses when no holdout date is given.
const DEFAULT_HOLDOUT_DAYS: i32 = 90;

impl Engine {
    /// The CLV report at the request's as-of date.
    pub async fn clv(
        &self,
        req: &ReportRequest,
        c: &ClvRequest,
    ) -> Result<crate::Report, EngineError> {
        // The stages are scored with the model fitted here, not the default one.
        let mut p = Params::resolve(req, self.last_day(), self.config())?;
        let mut clock = Clock::new();
        let holdout_start = match (c.holdout_from, c.model) {
            (Some(date), _) => Some(crate::day_of(date)),
            (None, None) => Some(p.d - DEFAULT_HOLDOUT_DAYS + 1),
            (None, Some(_)) => None,
        };
        let mut sections = Vec::new();
        let mut chosen = c.model;
        if let Some(start) = holdout_start {
            if start <= 0 || start > p.d {
                return Err(EngineError::Request(format!(
                    "the holdout must start after 1970-01-01 and on or before the as-of date {}",
                    p.as_of()
                )));
            }
            let kinds: Vec<ModelKind> = c.model.map_or(ModelKind::ALL.to_vec(), |k| vec![k]);
            let (best, holdout) = self.holdout(&p, start, &kinds).await?;
            chosen = Some(best);
            sections.push(holdout);
            clock.lap("holdout check");
        }
        let kind = chosen.unwrap_or(ModelKind::BgNbd);
        let fit = FitRequest {
            model: kind,
            ..Default::default()
        };
        let Some(models) = self.fit_value_models(&p, fit).await? else {
            return Err(EngineError::Request(format!(
                "fewer than {} customers have bought by {}: too few to fit a model",
                fit.min_customers,
                p.as_of()
            )));
        };
        clock.lap("fit");
        p.purchase_model = Some(models.purchase_literal());
        sections.insert(0, self.parameters_section(&models));
        // Only what the equity splits and the customer table read: the
        // stage's own inputs are then the only facts computed.
        let mut columns = vec!["ck", "stage", "channel"];
        if let Some(by) = p.by.as_deref() {
            if !columns.contains(&by) {
                columns.push(by);
            }
        }
        let columns = columns.join(", ");
        let at = crate::facts::StagesAt {
            p: p.clone(),
            table: "customer_stage",
            columns: &columns,
        };
        crate::facts::materialize_stages_at(self.context(), &[at]).await?;
        clock.lap("stages");
        self.materialize_value(&p, &models, c).await?;
        clock.lap("customer value");
        sections.extend(self.equity_sections(&p).await?);
        let limit = if c.top == 0 {
            String::new()
        } else {
            format!("LIMIT {}", c.top)
        };
        sections.push(
            section(
                self.context(),
                "customer_value",
                &format!(
                    "Customers by predicted value ({} months, {} a month discount, margin {})",
                    c.horizon_months, c.monthly_discount, p.config.gross_margin
                ),
                &format!(
                    "SELECT c.customer_id, f.stage, ROUND(v.p_alive, 3) AS p_alive,
                       ROUND(v.purchases_30d, 3) AS purchases_30d, ROUND(v.purchases_90d, 3) AS purchases_90d,
                       ROUND(v.purchases_365d, 3) AS purchases_365d, v.expected_spend_minor, v.clv_minor,
                       v.clv_rank, v.value_tier
                     FROM {VALUE_TABLE} v JOIN customer_stage f ON f.ck = v.ck JOIN customers c ON c.ck = v.ck
                     ORDER BY v.clv_rank, c.customer_id {limit}"
                ),
            )
            .await?,
        );
        clock.lap("sections");
        Ok(self.finish(p.as_of(), sections))
    }

    /// Fits each model on the purchases before `start` and compares its
    /// predictions with the purchases from `start` to the as-of day; the
    /// model with the lowest mean absolute error and its groups.
    async fn holdout(
        &self,
        p: &Params,
        start: i32,
        kinds: &[ModelKind],
    ) -> Result<(ModelKind, Section), EngineError> {
        let end = start - 1;
        let ctx = self.context();
        super::ensure_summary(ctx, end).await?;
        // Actual purchase days in the holdout of every calibration buyer.
        let sql = format!(
            "WITH h AS (SELECT ck, COUNT(DISTINCT day) AS n FROM orders
               WHERE amount_minor >= 0 AND day >= {start} AND day <= {d} GROUP BY ck)
             SELECT s.frequency, s.recency, s.t, CAST(COALESCE(h.n, 0) AS DOUBLE) AS actual
             FROM {table} s LEFT JOIN h ON h.ck = s.ck",
            d = p.d,
            table = summary_table(end)
        );
        let batches = ctx.sql(&sql).await?.collect().await?;
        let mut customers: Vec<(CustomerSummary, f64)> = Vec::new();
        for b in &batches {
            let col = |i: usize| {
                b.column(i)
                    .as_any()
                    .downcast_ref::<Float64Array>()
                    .expect("summary columns are doubles")
                    .clone()
            };
            let (x, tx, t, n) = (col(0), col(1), col(2), col(3));
            for i in 0..b.num_rows() {
                customers.push((
                    CustomerSummary::new(x.value(i), tx.value(i), t.value(i)),
                    n.value(i),
                ));
            }
        }
        if customers.len() < super::MIN_FIT_CUSTOMERS {
            return Err(EngineError::Request(format!(
                "fewer than {} customers bought before the holdout starts on {}",
                super::MIN_FIT_CUSTOMERS,
                crate::date_of(start)
            )));
        }
        let purchases: Vec<CustomerSummary> = customers.iter().map(|(c, _)| *c).collect();
        let rows = compress(&purchases);
        let length = f64::from(p.d - end);
        let mut best: Option<(ModelKind, HoldoutReport)> = None;
        for &kind in kinds {
            let spec = super::PurchaseSpec::fit(kind, &rows, &Default::default())
                .map_err(|e| model_error(kind.name(), e))?;
            let report = compare_holdout(spec.model(), &customers, length)
                .map_err(|e| model_error(kind.name(), e))?;
            if best
                .as_ref()
                .is_none_or(|(_, b)| report.mean_absolute_error < b.mean_absolute_error)
            {
                best = Some((kind, report));
            }
        }
        let (kind, report) = best.expect("at least one model");
        let mut groups = report.groups.clone();
        groups.push(report.total);
        let label = |g: &clientela_models::HoldoutGroup, last: bool| {
            if last {
                "all".to_string()
            } else if g.open_ended {
                format!("{}+", g.frequency)
            } else {
                g.frequency.to_string()
            }
        };
        let n = groups.len();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(
                groups
                    .iter()
                    .enumerate()
                    .map(|(i, g)| label(g, i + 1 == n))
                    .collect::<Vec<_>>(),
            )),
            Arc::new(Int64Array::from(
                groups
                    .iter()
                    .map(|g| g.customers as i64)
                    .collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(
                groups
                    .iter()
                    .map(|g| round3(g.actual_mean()))
                    .collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(
                groups
                    .iter()
                    .map(|g| round3(g.predicted_mean()))
                    .collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(
                groups.iter().map(|g| round3(g.actual)).collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(
                groups
                    .iter()
                    .map(|g| round3(g.predicted))
                    .collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(
                groups
                    .iter()
                    .map(|g| round3(g.mean_absolute_error()))
                    .collect::<Vec<_>>(),
            )),
        ];
        let batch = RecordBatch::try_from_iter(
            [
                "calibration_frequency",
                "customers",
                "actual_mean",
                "predicted_mean",
                "actual_total",
                "predicted_total",
                "mean_abs_error",
            ]
            .into_iter()
            .zip(columns),
        )?;
        let title = format!(
            "Holdout check of {kind}: fitted on purchases to {}, predicted vs actual purchase days {} to {}",
            crate::date_of(end),
            crate::date_of(start),
            p.as_of()
        );
        Ok((
            kind,
            Section {
                name: "holdout".into(),
                title,
                batch,
            },
        ))
    }

    /// Parameters with standard errors and fit diagnostics.
    fn parameters_section(&self, m: &ValueModels) -> Section {
        let kind = m.purchases.kind();
        let mut model = Vec::new();
        let mut name = Vec::new();
        let mut value = Vec::new();
        let mut se = Vec::new();
        for (n, (v, e)) in kind
            .parameter_names()
            .into_iter()
            .zip(m.purchases.parameters())
        {
            model.push(kind.name().to_string());
            name.push(if n == "alpha" {
                "alpha (days)".to_string()
            } else {
                n.to_string()
            });
            value.push(v);
            se.push(e);
        }
        let money = 10f64.powi(self.exponent() as i32);
        if let Some(g) = &m.spend {
            let ses = g.standard_errors.map(|s| [s.p, s.q, s.gamma / money]);
            for (i, (n, v)) in [
                ("p", g.params.p),
                ("q", g.params.q),
                ("gamma (money)", g.params.gamma / money),
            ]
            .into_iter()
            .enumerate()
            {
                model.push("gamma_gamma".into());
                name.push(n.into());
                value.push(v);
                se.push(ses.map(|s| s[i]));
            }
        }
        let batch = RecordBatch::try_from_iter([
            ("model", Arc::new(StringArray::from(model)) as ArrayRef),
            ("parameter", Arc::new(StringArray::from(name))),
            ("value", Arc::new(Float64Array::from(value))),
            ("standard_error", Arc::new(Float64Array::from(se))),
        ])
        .expect("columns of one length");
        let title = format!(
            "Models fitted on {} buyers' purchases to {} ({} distinct histories): {kind} log-likelihood {:.1} in {} iterations{}",
            m.customers,
            crate::date_of(m.end_day),
            m.unique_rows,
            m.purchases.log_likelihood(),
            m.purchases.iterations(),
            m.spend.as_ref().map_or(String::new(), |g| format!(
                "; Gamma-Gamma log-likelihood {:.1}",
                g.log_likelihood
            )),
        );
        Section {
            name: "models".into(),
            title,
            batch,
        }
    }

    /// Registers [`VALUE_TABLE`]: per buyer P(alive), expected purchases in
    /// 30/90/365 days, expected spend, CLV, rank and decile (1 = top).
    async fn materialize_value(
        &self,
        p: &Params,
        m: &ValueModels,
        c: &ClvRequest,
    ) -> Result<(), EngineError> {
        let model = m.purchase_literal();
        let Some(spend) = m.spend_literal() else {
            return Err(EngineError::Request(
                "no repeat buyers with positive spend: the spend model cannot be fitted".into(),
            ));
        };
        let sql = format!(
            "{}
             SELECT ck, p_alive, purchases_30d, purchases_90d, purchases_365d,
               CAST(ROUND(spend) AS BIGINT) AS expected_spend_minor,
               CAST(ROUND(clv) AS BIGINT) AS clv_minor,
               RANK() OVER (ORDER BY clv DESC) AS clv_rank,
               ntile(10) OVER (ORDER BY clv DESC) AS value_tier
             FROM scores",
            scores_sql(
                &summary_table(p.d),
                &model,
                &spend,
                c,
                p.config.gross_margin
            )
        );
        materialize(self.context(), &sql, VALUE_TABLE).await
    }

    /// Customer equity (the sum of CLV) in total and by stage, acquisition
    /// channel and the split attribute.
    async fn equity_sections(&self, p: &Params) -> Result<Vec<Section>, EngineError> {
        let mut dims = vec![
            ("total", "'all'".to_string()),
            ("stage", "f.stage".into()),
            ("channel", "COALESCE(f.channel, '(none)')".into()),
        ];
        if let Some(by) = &p.by {
            if by != "stage" && by != "channel" {
                dims.push((by.as_str(), p.segment_sql()));
            }
        }
        let parts: Vec<String> = dims
            .iter()
            .enumerate()
            .map(|(i, (dim, expr))| {
                format!(
                    "SELECT {i} AS o, '{dim}' AS split, {expr} AS segment, COUNT(*) AS customers,
                       SUM(v.clv_minor) AS equity_minor, SUM(v.purchases_365d) AS purchases_365d,
                       SUM(CASE WHEN v.p_alive >= 0.5 THEN 1 ELSE 0 END) AS likely_alive
                     FROM {VALUE_TABLE} v JOIN customer_stage f ON f.ck = v.ck GROUP BY 1, 2, 3"
                )
            })
            .collect();
        let sql = format!(
            "WITH e AS ({})
             SELECT split, segment, customers, likely_alive, ROUND(purchases_365d, 1) AS purchases_365d, equity_minor,
               ROUND(100.0 * equity_minor / SUM(equity_minor) OVER (PARTITION BY split), 1) AS equity_pct,
               CAST(ROUND(CAST(equity_minor AS DOUBLE) / customers) AS BIGINT) AS avg_clv_minor
             FROM e ORDER BY o, equity_minor DESC",
            parts.join(" UNION ALL ")
        );
        Ok(vec![
            section(
                self.context(),
                "customer_equity",
                "Customer equity (sum of predicted CLV of current buyers)",
                &sql,
            )
            .await?,
        ])
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// CTEs ending in `scores`: per customer of the summary table, `ck`,
/// `p_alive`, `purchases_30d`, `purchases_90d`, `purchases_365d`, `spend`
/// (expected spend per purchase) and `clv` (unrounded, minor units).
///
/// The parts that do not depend on recency (what a customer still alive
/// buys, and its discounted sum) are computed once per distinct
/// (frequency, T), which many customers share, and joined back: the same
/// numbers as `cl_expected_purchases` and `cl_clv` per customer, with a
/// fraction of the ₂F₁ evaluations.
/// CLV is over `c`'s horizon and discount, at `margin`.
pub(crate) fn scores_sql(
    summary: &str,
    model: &str,
    spend: &str,
    c: &ClvRequest,
    margin: f64,
) -> String {
    let options = format!("{},{},{margin}", c.horizon_months, c.monthly_discount);
    format!(
        "WITH scored_summary AS (SELECT ck, frequency, recency, t, monetary_minor FROM {summary}),
scored_if_alive AS (SELECT frequency, t,
    cl_purchases_if_alive(frequency, t, 30, '{model}') AS if_alive_30,
    cl_purchases_if_alive(frequency, t, 90, '{model}') AS if_alive_90,
    cl_purchases_if_alive(frequency, t, 365, '{model}') AS if_alive_365,
    cl_clv_if_alive(frequency, t, '{model}', '{options}') AS clv_if_alive
  FROM (SELECT DISTINCT frequency, t FROM scored_summary)),
scored_parts AS (SELECT s.ck, cl_p_alive(s.frequency, s.recency, s.t, '{model}') AS p_alive,
    u.if_alive_30, u.if_alive_90, u.if_alive_365, u.clv_if_alive,
    cl_expected_spend(s.frequency, s.monetary_minor, '{spend}') AS spend
  FROM scored_summary s JOIN scored_if_alive u ON u.frequency = s.frequency AND u.t = s.t),
scores AS (SELECT ck, p_alive,
    if_alive_30 * p_alive AS purchases_30d,
    if_alive_90 * p_alive AS purchases_90d,
    if_alive_365 * p_alive AS purchases_365d,
    spend, p_alive * clv_if_alive * spend AS clv
  FROM scored_parts)"
    )
}
