//! Net Promoter Score per period (seed 003) with its 95 % margin of error
//! and the period-over-period trend, and CSAT.
//!
//! Each customer's latest answer in the period counts. With shares p of
//! promoters and d of detractors among n answers, one answer scored
//! +100/0/−100 has variance 100² · ((p + d) − (p − d)²), and the margin is
//! 1.96 · √(variance / n) (SPEC §3).

use crate::report::{section, Section};
use crate::{EngineError, Params};
use datafusion::prelude::SessionContext;

/// `nps` and `csat`.
pub(crate) async fn sections(
    ctx: &SessionContext,
    p: &Params,
) -> Result<Vec<Section>, EngineError> {
    let seg = p.segment_sql();
    let period = p.period_of("day");
    let (first, d, join) = (p.first_start(), p.d, p.seg_join("a"));
    let nps = format!(
        "WITH a AS (SELECT ck, {period} AS p, last_value(score ORDER BY time) AS score
             FROM surveys WHERE survey = 'nps' AND day >= {first} AND day <= {d} GROUP BY ck, {period}),
         c AS (SELECT a.p, {seg} AS segment, COUNT(*) AS answers,
             SUM(CASE WHEN a.score >= 9 THEN 1 ELSE 0 END) AS promoters,
             SUM(CASE WHEN a.score BETWEEN 7 AND 8 THEN 1 ELSE 0 END) AS passives,
             SUM(CASE WHEN a.score <= 6 THEN 1 ELSE 0 END) AS detractors
           FROM a{join} GROUP BY a.p, 2),
         s AS (SELECT *, CAST(promoters AS DOUBLE) / answers AS ps, CAST(detractors AS DOUBLE) / answers AS ds FROM c)
         SELECT arrow_cast(p, 'Date32') AS period, segment, answers, promoters, passives, detractors,
           ROUND(100.0 * (ps - ds), 1) AS nps,
           ROUND(1.96 * sqrt(10000.0 * ((ps + ds) - (ps - ds) * (ps - ds)) / answers), 1) AS margin_95,
           ROUND(100.0 * (ps - ds) - lag(100.0 * (ps - ds)) OVER (PARTITION BY segment ORDER BY p), 1) AS change
         FROM s ORDER BY p, segment"
    );
    let csat = format!(
        "SELECT arrow_cast({period_a}, 'Date32') AS period, {seg} AS segment, COUNT(*) AS answers,
           SUM(CASE WHEN a.score >= 4 THEN 1 ELSE 0 END) AS satisfied,
           ROUND(100.0 * SUM(CASE WHEN a.score >= 4 THEN 1 ELSE 0 END) / COUNT(*), 1) AS csat_pct
         FROM surveys a{join} WHERE a.survey = 'csat' AND a.day >= {first} AND a.day <= {d}
         GROUP BY {period_a}, 2 ORDER BY {period_a}, 2",
        period_a = p.period_of("a.day"),
    );
    Ok(vec![
        section(
            ctx,
            "nps",
            "NPS per period (latest answer per customer; margin of error at 95 %)",
            &nps,
        )
        .await?,
        section(ctx, "csat", "CSAT per period (% of answers 4-5)", &csat).await?,
    ])
}
