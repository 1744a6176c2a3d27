//! Period lifecycle (SPEC §2): per period, active customers split into new,
//! returning and resurrecting, and the dormant ones.

use crate::report::{section, Section};
use crate::{EngineError, Params};
use datafusion::prelude::SessionContext;

/// `period_lifecycle`.
pub(crate) async fn sections(
    ctx: &SessionContext,
    p: &Params,
) -> Result<Vec<Section>, EngineError> {
    let seg = p.segment_sql();
    let first = p.first_start();
    let prev_first = p.granularity.start_of(crate::params::date_of(first - 1));
    let prev_first = crate::params::day_of(prev_first);
    let sql = format!(
        "WITH first AS (SELECT ck, first_interaction_day AS first_day FROM customer_stage),
         act AS (SELECT DISTINCT ck, {period} AS p FROM recent_interactions WHERE day > {from}),
         per AS {periods},
         cur AS (SELECT a.ck, a.p,
             CASE WHEN {first_period} = a.p THEN 1 ELSE 0 END AS is_new,
             CASE WHEN {first_period} <> a.p AND pr.ck IS NOT NULL THEN 1 ELSE 0 END AS is_returning,
             CASE WHEN {first_period} <> a.p AND pr.ck IS NULL THEN 1 ELSE 0 END AS is_resurrecting,
             0 AS is_dormant
           FROM act a JOIN per ON per.p = a.p JOIN first fi ON fi.ck = a.ck
           LEFT JOIN act pr ON pr.ck = a.ck AND pr.p = per.prev_p),
         dorm AS (SELECT a.ck, per.p, 0 AS is_new, 0 AS is_returning, 0 AS is_resurrecting, 1 AS is_dormant
           FROM act a JOIN per ON a.p = per.prev_p
           LEFT JOIN act nx ON nx.ck = a.ck AND nx.p = per.p WHERE nx.ck IS NULL),
         x AS (SELECT * FROM cur UNION ALL SELECT * FROM dorm)
         SELECT arrow_cast(x.p, 'Date32') AS period, {seg} AS segment,
           SUM(x.is_new) AS new, SUM(x.is_returning) AS returning, SUM(x.is_resurrecting) AS resurrecting,
           SUM(x.is_new + x.is_returning + x.is_resurrecting) AS active, SUM(x.is_dormant) AS dormant
         FROM x{join} GROUP BY x.p, 2 ORDER BY x.p, 2",
        from = prev_first - 1,
        period = p.period_of("day"),
        periods = p.periods_values(),
        first_period = p.period_of("fi.first_day"),
        join = p.seg_join("x"),
    );
    Ok(vec![
        section(
            ctx,
            "period_lifecycle",
            "Period lifecycle: active customers by kind, and dormant",
            &sql,
        )
        .await?,
    ])
}
