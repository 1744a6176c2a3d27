//! Per-customer activity over the trend periods as bit masks, computed in
//! one aggregation over the recent interactions; the period lifecycle and
//! churn read them instead of joining event sets period by period.
//!
//! `pmask` bit i: a qualifying interaction in period i, where period 0 is
//! the one before the first period shown. `bmask` bit i: active on boundary
//! day i (a qualifying interaction in the activity window ending that day,
//! or an active subscription on it), where boundary 0 is the day before the
//! first period and boundary i the last day of period i.

use crate::facts::materialize;
use crate::{EngineError, Params};
use datafusion::prelude::SessionContext;

/// Name of the materialised table.
pub(crate) const TABLE: &str = "activity_masks";

/// SQL: bit `i` of a mask column is set.
pub(crate) fn bit(mask: &str, i: usize) -> String {
    format!("((({mask}) >> {i}) & 1) = 1")
}

/// Computes the masks and registers them as [`TABLE`].
pub(crate) async fn compute(ctx: &SessionContext, p: &Params) -> Result<(), EngineError> {
    let seg = p.segment_sql();
    let g = p.granularity.name();
    let aw = p.config.activity_window_days as i32;
    let lc_first = p.lifecycle_first();
    let bounds = p.bounds();
    let list = bounds
        .iter()
        .map(|b| b.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let from = (lc_first - 1).min(bounds[0] - aw);
    let (spans, span_join, span_mask) = if p.config.qualifies("subscription") {
        (
            format!(
                ", sp AS (SELECT ck, day AS from_day, status,
                     {to_day} AS to_day
                   FROM subscriptions WHERE day <= {d}),
                 sm AS (SELECT ck, bit_or(cl_span_mask(from_day, to_day, '{list}')) AS bmask
                   FROM sp WHERE status IN ('active', 'past_due') GROUP BY ck)",
                d = p.d,
                to_day = crate::metrics::next_change_day(),
            ),
            " LEFT JOIN sm ON sm.ck = f.ck",
            ("COALESCE(sm.bmask, 0)", " OR sm.ck IS NOT NULL"),
        )
    } else {
        (String::new(), "", ("CAST(0 AS BIGINT)", ""))
    };
    let sql = format!(
        "WITH ev AS ({events}),
         em AS (SELECT ck,
             bit_or({bit}) FILTER (WHERE day >= {lc_first}) AS pmask,
             bit_or(cl_bounds_mask(day, '{list}', {aw})) AS bmask
           FROM ev GROUP BY ck){spans}
         SELECT f.ck, {seg} AS segment, COALESCE(em.pmask, 0) AS pmask,
           COALESCE(em.bmask, 0) | {sm} AS bmask,
           cl_period_index(f.first_interaction_day, {lc_first}, '{g}') AS first_idx
         FROM customer_stage f LEFT JOIN em ON em.ck = f.ck{span_join}
         WHERE em.ck IS NOT NULL{sm_present}",
        events = p.interactions_sql(from),
        bit = crate::metrics::period_bit("day", lc_first, g),
        sm = span_mask.0,
        sm_present = span_mask.1,
    );
    materialize(ctx, &sql, TABLE).await
}
