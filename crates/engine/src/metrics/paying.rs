//! Paying customers (seed 000): count, revenue and average revenue per
//! paying customer, ever and per period.

use crate::report::{section, Section};
use crate::{EngineError, Params};
use datafusion::prelude::SessionContext;

/// `paying` (as of the date, ever) and `paying_by_period`.
pub(crate) async fn sections(
    ctx: &SessionContext,
    p: &Params,
) -> Result<Vec<Section>, EngineError> {
    let seg = p.segment_sql();
    let ever = format!(
        "SELECT {seg} AS segment,
           COUNT(*) AS known_customers,
           SUM(CASE WHEN f.paying THEN 1 ELSE 0 END) AS paying_customers,
           SUM(f.net_minor) AS revenue_minor,
           CAST(ROUND(SUM(f.net_minor) / CAST(NULLIF(SUM(CASE WHEN f.paying THEN 1 ELSE 0 END), 0) AS DOUBLE)) AS BIGINT) AS arppu_minor
         FROM customer_stage f GROUP BY 1 ORDER BY 1"
    );
    let per = format!(
        // Grouped by customer and period: the orders are split by customer,
        // so each partition groups its own customers in one phase (a packed
        // key of both hid that and took a partial and a final phase).
        "WITH po AS (SELECT o.ck, {period} AS p, SUM(o.amount_minor) AS net
             FROM orders o WHERE o.day >= {first} AND o.day <= {d} GROUP BY 1, 2)
         SELECT arrow_cast(po.p, 'Date32') AS period, {seg} AS segment,
           COUNT(*) FILTER (WHERE po.net > 0) AS paying_customers,
           SUM(po.net) AS revenue_minor,
           CAST(ROUND(SUM(po.net) / CAST(NULLIF(COUNT(*) FILTER (WHERE po.net > 0), 0) AS DOUBLE)) AS BIGINT) AS arppu_minor
         FROM po{join} GROUP BY po.p, 2 ORDER BY po.p, 2",
        period = p.period_of("o.day"),
        first = p.first_start(),
        d = p.d,
        join = p.seg_join("po"),
    );
    Ok(vec![
        section(
            ctx,
            "paying",
            "Paying customers (net revenue > 0, ever)",
            &ever,
        )
        .await?,
        section(ctx, "paying_by_period", "Paying customers per period", &per).await?,
    ])
}
