//! Each customer's orders folded once at an as-of day D, for the growth
//! report's steps that would each fold the ~10 M orders by customer again:
//! cohort members (`cohorts.rs`), the RFM base (`rfm.rs`) and the
//! acquisition fold (`acquisition.rs`).
//!
//! Columns, over the orders on or before D: `net_minor` (every amount,
//! refunds negative), `paid_orders` (orders with an amount > 0),
//! `first_paid_day` and `last_paid_day` (of those), and `paid_mask`: bit i
//! set when a paid order falls in trend period i (null when none does).
//!
//! The table's name carries D, the first trend day and the granularity,
//! so a reader never takes one made for other parameters. A step run on
//! its own, with no such table registered, reads the same columns from
//! the same SQL as a subquery ([`source`]).

use crate::facts::materialize;
use crate::{EngineError, Params};
use datafusion::prelude::SessionContext;

/// The registered table's name for `p`.
fn table(p: &Params) -> String {
    format!(
        "customer_orders_{}_{}_{}",
        p.d,
        p.first_start(),
        p.granularity.name()
    )
}

/// SQL of the per-customer fold.
fn sql(p: &Params) -> String {
    let (first, d, g) = (p.first_start(), p.d, p.granularity.name());
    format!(
        "SELECT ck, SUM(amount_minor) AS net_minor,
           COUNT(*) FILTER (WHERE amount_minor > 0) AS paid_orders,
           MIN(day) FILTER (WHERE amount_minor > 0) AS first_paid_day,
           MAX(day) FILTER (WHERE amount_minor > 0) AS last_paid_day,
           bit_or({bit}) FILTER (WHERE amount_minor > 0 AND day >= {first}) AS paid_mask
         FROM orders WHERE day <= {d} GROUP BY ck",
        bit = crate::metrics::period_bit("day", first, g),
    )
}

/// What a plan reads the fold from: the table when [`prepare`] registered
/// it for `p`, else the fold's SQL as a subquery.
pub(crate) fn source(ctx: &SessionContext, p: &Params) -> Result<String, EngineError> {
    let name = table(p);
    Ok(if ctx.table_exist(name.as_str())? {
        name
    } else {
        format!("({})", sql(p))
    })
}

/// Registers the fold for `p` (split by customer, as its input); the
/// caller calls [`release`] once every reader ran.
pub(crate) async fn prepare(ctx: &SessionContext, p: &Params) -> Result<(), EngineError> {
    materialize(ctx, &sql(p), &table(p)).await
}

/// Deregisters what [`prepare`] registered.
pub(crate) fn release(ctx: &SessionContext, p: &Params) -> Result<(), EngineError> {
    ctx.deregister_table(table(p).as_str())?;
    Ok(())
}
