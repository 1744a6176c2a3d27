//! Lifecycle stage distribution, transitions since the previous period and
//! the funnel prospect → paying → repeat → promoter (SPEC §2, seed 004).

use crate::report::{section, Section};
use crate::{EngineError, Params};
use clientela_core::Stage;
use datafusion::prelude::SessionContext;

/// SQL ordering stages in rule order.
pub(crate) fn stage_order(col: &str) -> String {
    let whens: Vec<String> = Stage::ALL
        .iter()
        .enumerate()
        .map(|(i, s)| format!("WHEN '{s}' THEN {i}"))
        .collect();
    format!("CASE {col} {} ELSE 99 END", whens.join(" "))
}

/// `stages`, `stage_transitions` and `funnel`, from `customer_stage` and
/// `customer_stage_prev` (the stages at [`Params::transition_day`], made
/// with them by [`crate::Engine::stages_now_and_before`]).
pub(crate) async fn sections(
    ctx: &SessionContext,
    p: &Params,
) -> Result<Vec<Section>, EngineError> {
    let seg = p.segment_sql();
    let dist = format!(
        "WITH s AS (SELECT {seg} AS segment, f.stage FROM customer_stage f)
         SELECT segment, stage, COUNT(*) AS customers,
           ROUND(100.0 * COUNT(*) / SUM(COUNT(*)) OVER (PARTITION BY segment), 1) AS customers_pct
         FROM s GROUP BY segment, stage ORDER BY segment, {}",
        stage_order("stage")
    );
    // Transitions: stage at the end of the previous period → stage now.
    let prev_day = p.transition_day();
    let transitions = format!(
        "SELECT COALESCE(b.stage, '(unknown)') AS from_stage, f.stage AS to_stage, COUNT(*) AS customers
         FROM customer_stage f LEFT JOIN customer_stage_prev b ON b.ck = f.ck
         WHERE b.stage IS NULL OR b.stage <> f.stage
         GROUP BY 1, 2 ORDER BY {}, {}",
        stage_order("from_stage"),
        stage_order("to_stage")
    );
    let funnel = format!(
        "WITH f AS (SELECT {seg} AS segment, f.* FROM customer_stage f),
         s AS (SELECT segment,
           COUNT(*) AS known,
           SUM(CASE WHEN paying THEN 1 ELSE 0 END) AS paying,
           SUM(CASE WHEN paying AND orders >= 2 THEN 1 ELSE 0 END) AS repeat,
           SUM(CASE WHEN paying AND (best_nps >= 9 OR referrals > 0) THEN 1 ELSE 0 END) AS promoter,
           median(CASE WHEN first_lead_day IS NOT NULL AND first_pay_day >= first_lead_day
                  THEN CAST(first_pay_day - first_lead_day AS DOUBLE) END) AS lead_to_purchase_days
           FROM f GROUP BY segment)
         SELECT segment, step, customers, ROUND(100.0 * customers / NULLIF(CAST(prev AS DOUBLE), 0), 1) AS conversion_pct,
           ROUND(100.0 * customers / NULLIF(CAST(base AS DOUBLE), 0), 1) AS of_known_pct, median_days
         FROM (
           SELECT segment, 1 AS i, 'known (prospect or customer)' AS step, known AS customers, known AS prev, known AS base, CAST(NULL AS DOUBLE) AS median_days FROM s
           UNION ALL SELECT segment, 2, 'paying', paying, known AS prev, known AS base, lead_to_purchase_days FROM s
           UNION ALL SELECT segment, 3, 'repeat (2+ orders)', repeat, paying AS prev, known AS base, CAST(NULL AS DOUBLE) FROM s
           UNION ALL SELECT segment, 4, 'promoter (NPS 9-10 or referral)', promoter, repeat AS prev, known AS base, CAST(NULL AS DOUBLE) FROM s)
         ORDER BY segment, i"
    );
    let out = vec![
        section(
            ctx,
            "stages",
            &format!("Lifecycle stages on {}", p.as_of()),
            &dist,
        )
        .await?,
        section(
            ctx,
            "stage_transitions",
            &format!("Stage changes since {}", crate::params::date_of(prev_day)),
            &transitions,
        )
        .await?,
        section(
            ctx,
            "funnel",
            "Funnel (median_days: lead to first purchase)",
            &funnel,
        )
        .await?,
    ];
    ctx.deregister_table("customer_stage_prev")?;
    Ok(out)
}
