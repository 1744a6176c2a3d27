//! Customer churn and retention per period (seed 003):
//! churn = customers lost in the period / customers at its start × 100.
//!
//! A customer is counted at the start when active on the last day before
//! the period (a qualifying interaction in the activity window, or an
//! active subscription: a paying subscriber) and lost when no longer
//! active on the period's last day (the as-of day for the current period).
//! Customers who join during the period are not in the base, so those who
//! join and leave inside it are in neither numerator nor denominator.

use crate::report::{section, Section};
use crate::{EngineError, Params};
use datafusion::prelude::SessionContext;

/// `churn`.
pub(crate) async fn sections(
    ctx: &SessionContext,
    p: &Params,
) -> Result<Vec<Section>, EngineError> {
    let seg = p.segment_sql();
    let aw = p.config.activity_window_days as i32;
    let periods = p.periods();
    // Boundary i: the day on which activity is measured; 0 = before the first period.
    let mut bounds = vec![(0usize, periods[0].0 - 1, periods[0].0)];
    for (i, (s, e)) in periods.iter().enumerate() {
        bounds.push((i + 1, (e - 1).min(p.d), *s));
    }
    let values = bounds
        .iter()
        .map(|(i, x, s)| format!("({i}, {x}, {s})"))
        .collect::<Vec<_>>()
        .join(", ");
    let sub_active = if p.config.qualifies("subscription") {
        " UNION SELECT DISTINCT s.ck, b.i FROM spans s JOIN b ON s.from_day <= b.x AND (s.to_day IS NULL OR s.to_day > b.x)
               WHERE s.status IN ('active', 'past_due')"
            .to_string()
    } else {
        String::new()
    };
    let sql = format!(
        "WITH b AS (SELECT column1 AS i, column2 AS x, column3 AS p FROM (VALUES {values})),
         ev AS (SELECT ck, day FROM recent_interactions WHERE day > {from}),
         spans AS (SELECT ck, day AS from_day, status,
             lead(day) OVER (PARTITION BY ck, subscription_id ORDER BY time) AS to_day
           FROM subscriptions WHERE day <= {d}),
         act AS (SELECT DISTINCT ev.ck, b.i FROM ev JOIN b ON ev.day <= b.x AND ev.day > b.x - {aw}{sub_active}),
         moves AS (SELECT cur.ck, cur.i + 1 AS i, CASE WHEN nx.ck IS NULL THEN 1 ELSE 0 END AS lost
           FROM act cur LEFT JOIN act nx ON nx.ck = cur.ck AND nx.i = cur.i + 1 WHERE cur.i < {n}),
         ends AS (SELECT i, COUNT(*) AS active_at_end FROM act GROUP BY i)
         SELECT arrow_cast(b.p, 'Date32') AS period, {seg} AS segment,
           COUNT(*) AS customers_at_start, SUM(m.lost) AS lost,
           ROUND(100.0 * SUM(m.lost) / COUNT(*), 2) AS churn_pct,
           ROUND(100.0 - 100.0 * SUM(m.lost) / COUNT(*), 2) AS retention_pct,
           MAX(e.active_at_end) AS active_at_end
         FROM moves m JOIN b ON b.i = m.i LEFT JOIN ends e ON e.i = m.i{join}
         GROUP BY b.p, 2 ORDER BY b.p, 2",
        from = periods[0].0 - 1 - aw,
        d = p.d,
        n = periods.len(),
        join = p.seg_join("m"),
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
