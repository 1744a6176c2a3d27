//! Predicted customer value (SPEC §4): the per-customer summary as a plan,
//! the models fitted on it (Rust over the collected summary arrays, no
//! I/O), and scoring functions that carry the fitted parameters as
//! literals into the plans.

pub mod clv_report;
pub mod model;
pub mod summary;
pub(crate) mod udf;

use crate::facts::materialize;
use crate::{Engine, EngineError, Params};
use clientela_models::{
    compress, FitOptions, FittedGammaGamma, GammaGamma, ModelError, SpendSummary,
};
pub use clv_report::{ClvRequest, VALUE_TABLE};
pub use model::{ModelKind, PurchaseSpec};

/// Fewest buyers the models are fitted on: below it P(alive) stays empty.
pub const MIN_FIT_CUSTOMERS: usize = 50;

/// The table the purchase summary at calibration end `day` is registered
/// as (each as-of day a report scores has its own).
pub fn summary_table(day: i32) -> String {
    let sign = if day < 0 { "m" } else { "" };
    format!("customer_summary_{sign}{}", day.unsigned_abs())
}

/// Registers the purchase summary at each of `days` unless already there,
/// computing the missing ones together in one pass over the orders (as
/// views `customer_summary_<day>` over one wide table).
pub(crate) async fn ensure_summaries(
    ctx: &datafusion::prelude::SessionContext,
    days: &[i32],
) -> Result<(), EngineError> {
    let mut missing: Vec<i32> = Vec::new();
    for &day in days {
        if !ctx.table_exist(summary_table(day).as_str())? && !missing.contains(&day) {
            missing.push(day);
        }
    }
    let Some(&first) = missing.first() else {
        return Ok(());
    };
    let wide = format!("{}_with_{}", summary_table(first), missing.len());
    materialize(ctx, &summary::summaries_sql(&missing), &wide).await?;
    for (i, day) in missing.iter().enumerate() {
        let view = format!(
            "CREATE VIEW {} AS SELECT ck, {} FROM {wide} WHERE frequency_{i} IS NOT NULL",
            summary_table(*day),
            summary::unsuffixed(i)
        );
        ctx.sql(&view).await?.collect().await?;
    }
    Ok(())
}

/// Registers the purchase summary at `day` unless it is already there.
pub(crate) async fn ensure_summary(
    ctx: &datafusion::prelude::SessionContext,
    day: i32,
) -> Result<(), EngineError> {
    ensure_summaries(ctx, &[day]).await
}

/// The models fitted on the purchase history up to one day.
#[derive(Debug, Clone)]
pub struct ValueModels {
    /// Calibration end (inclusive local day) the models were fitted at.
    pub end_day: i32,
    /// Customers with a purchase (rows of the summary).
    pub customers: usize,
    /// Distinct (x, t_x, T) rows the purchase model was fitted on.
    pub unique_rows: usize,
    /// The purchase model (time in days).
    pub purchases: PurchaseSpec,
    /// The spend model (minor units), when there are repeat buyers.
    pub spend: Option<FittedGammaGamma>,
}

impl ValueModels {
    /// The purchase model as the literal the scoring functions take.
    pub fn purchase_literal(&self) -> String {
        self.purchases.literal()
    }

    /// The spend model's literal, if fitted.
    pub fn spend_literal(&self) -> Option<String> {
        self.spend.as_ref().map(|g| model::spend_literal(&g.params))
    }
}

/// Why the models could not be fitted.
pub(crate) fn model_error(what: &str, e: ModelError) -> EngineError {
    EngineError::Request(format!("fitting the {what} model: {e}"))
}

/// What [`Engine::fit_value_models`] fits.
#[derive(Debug, Clone, Copy)]
pub struct FitRequest {
    /// The purchase model.
    pub model: ModelKind,
    /// Whether to fit Gamma-Gamma too (CLV needs it; P(alive) does not).
    pub spend: bool,
    /// Fewest buyers to fit on ([`MIN_FIT_CUSTOMERS`] by default).
    pub min_customers: usize,
    /// Whether the parameters' standard errors are wanted (they cost a
    /// numerical Hessian); true by default.
    pub standard_errors: bool,
}

impl Default for FitRequest {
    fn default() -> Self {
        FitRequest {
            model: ModelKind::BgNbd,
            spend: true,
            min_customers: MIN_FIT_CUSTOMERS,
            standard_errors: true,
        }
    }
}

impl Engine {
    /// Computes the purchase summary at `p.d` (registered as
    /// [`summary_table`]) and fits the models asked for on it. `None` when
    /// fewer than `min_customers` customers have bought: too few to fit.
    pub async fn fit_value_models(
        &self,
        p: &Params,
        req: FitRequest,
    ) -> Result<Option<ValueModels>, EngineError> {
        let ctx = self.context();
        let mut clock = crate::Clock::new();
        ensure_summary(ctx, p.d).await?;
        let s = summary::collect(ctx, &summary_table(p.d)).await?;
        clock.lap("purchase summary");
        if s.purchases.len() < req.min_customers.max(1) {
            return Ok(None);
        }
        let rows = compress(&s.purchases);
        let options = FitOptions {
            standard_errors: req.standard_errors,
            ..FitOptions::default()
        };
        let kind = req.model;
        let purchases =
            PurchaseSpec::fit(kind, &rows, &options).map_err(|e| model_error(kind.name(), e))?;
        clock.lap(&format!(
            "fit {kind} on {} distinct rows ({} iterations)",
            rows.len(),
            purchases.iterations()
        ));
        let spend = if req.spend && s.spend.len() >= req.min_customers.max(2) {
            let mut spend_rows: Vec<(SpendSummary, f64)> =
                s.spend.iter().map(|r| (*r, 1.0)).collect();
            // In a fixed order, so that the fit's sums run the same way
            // whatever order the plan returned the rows in: the same data
            // gives the same parameters to the last digit (the purchase
            // model's rows are sorted by `compress`).
            spend_rows.sort_by(|(a, _), (b, _)| {
                a.frequency
                    .total_cmp(&b.frequency)
                    .then(a.monetary.total_cmp(&b.monetary))
            });
            let fitted = GammaGamma::fit(&spend_rows, &options)
                .map_err(|e| model_error("Gamma-Gamma", e))?;
            clock.lap(&format!(
                "fit Gamma-Gamma on {} repeat buyers ({} iterations)",
                s.spend.len(),
                fitted.iterations
            ));
            Some(fitted)
        } else {
            None
        };
        Ok(Some(ValueModels {
            end_day: p.d,
            customers: s.purchases.len(),
            unique_rows: rows.len(),
            purchases,
            spend,
        }))
    }
}
