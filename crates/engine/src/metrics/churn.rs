//! Customer churn and retention per period (seed 003):
//! churn = customers lost in the period / customers at its start × 100.
//!
//! A customer is counted at the start when active on the last day before
//! the period (a qualifying interaction in the activity window, or an
//! active subscription: a paying subscriber) and lost when no longer
//! active on the period's last day (the as-of day for the current period).
//! Customers who join during the period are not in the base, so those who
//! join and leave inside it are in neither numerator nor denominator.

use super::activity_masks::bit;
use super::per_period::per_period_sql;
use crate::report::{section, Section};
use crate::{EngineError, Params};
use datafusion::prelude::SessionContext;

/// `churn`, from the activity masks (boundary i = last day of period i).
pub(crate) async fn sections(
    ctx: &SessionContext,
    p: &Params,
) -> Result<Vec<Section>, EngineError> {
    let sql = per_period_sql(
        &p.periods(),
        |i| {
            let (start_active, end_active) = (bit("bmask", i - 1), bit("bmask", i));
            format!(
                "SUM(CASE WHEN {start_active} THEN 1 ELSE 0 END) AS base_{i},
                 SUM(CASE WHEN {start_active} AND NOT {end_active} THEN 1 ELSE 0 END) AS lost_{i},
                 SUM(CASE WHEN {end_active} THEN 1 ELSE 0 END) AS end_{i}"
            )
        },
        |i| format!("base_{i} AS customers_at_start, lost_{i} AS lost, end_{i} AS active_at_end"),
        "customers_at_start, lost,
           ROUND(100.0 * lost / NULLIF(customers_at_start, 0), 2) AS churn_pct,
           ROUND(100.0 - 100.0 * lost / NULLIF(customers_at_start, 0), 2) AS retention_pct,
           active_at_end",
    );
    Ok(vec![
        section(
            ctx,
            "churn",
            "Customer churn and retention per period (seed 003)",
            &sql,
        )
        .await?,
    ])
}
