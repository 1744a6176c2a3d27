//! Active customers and the six kinds of active customer (seed 001), and
//! the active vs inactive comparison table.

use crate::report::{section, Section};
use crate::{EngineError, Params};
use datafusion::prelude::SessionContext;

/// The six kinds of active customer of seed 001, as `customer_stage` columns.
pub(crate) const ACTIVE_KINDS: [(&str, &str); 6] = [
    ("recent_buyer", "f.recent_buyer"),
    ("loyal", "(f.loyal_buyer AND f.active)"),
    ("support", "f.support_active"),
    ("product_subscriber", "f.product_subscriber"),
    ("service_subscriber", "f.service_subscriber"),
    ("contact", "f.contact_active"),
];

/// `active`, `active_kinds` (counts and overlaps) and `active_vs_inactive`.
pub(crate) async fn sections(
    ctx: &SessionContext,
    p: &Params,
) -> Result<Vec<Section>, EngineError> {
    let seg = p.segment_sql();
    let kinds: Vec<String> = ACTIVE_KINDS
        .iter()
        .map(|(name, col)| format!("SUM(CASE WHEN {col} THEN 1 ELSE 0 END) AS {name}"))
        .collect();
    let active = format!(
        "SELECT {seg} AS segment, COUNT(*) AS known_customers,
           SUM(CASE WHEN f.active THEN 1 ELSE 0 END) AS active_customers,
           ROUND(100.0 * SUM(CASE WHEN f.active THEN 1 ELSE 0 END) / COUNT(*), 1) AS active_pct,
           {kinds}
         FROM customer_stage f GROUP BY 1 ORDER BY 1",
        kinds = kinds.join(",\n ")
    );
    // Overlaps: row kind × column kind = customers of both kinds.
    let rows: Vec<String> = ACTIVE_KINDS
        .iter()
        .map(|(name, col)| {
            let both: Vec<String> = ACTIVE_KINDS
                .iter()
                .map(|(n2, c2)| format!("SUM(CASE WHEN {col} AND {c2} THEN 1 ELSE 0 END) AS {n2}"))
                .collect();
            format!(
                "SELECT '{name}' AS kind, {} FROM customer_stage f",
                both.join(", ")
            )
        })
        .collect();
    let overlap = format!(
        "SELECT * FROM ({}) ORDER BY CASE kind {} END",
        rows.join(" UNION ALL "),
        ACTIVE_KINDS
            .iter()
            .enumerate()
            .map(|(i, (n, _))| format!("WHEN '{n}' THEN {i}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let compare = format!(
        "WITH g AS (SELECT {seg} AS segment, CASE WHEN f.active THEN 'active' ELSE 'inactive' END AS status, f.*
                    FROM customer_stage f WHERE f.paying),
              t AS (SELECT segment, COUNT(*) AS n, SUM(revenue_365_minor) AS rev FROM g GROUP BY segment)
         SELECT g.segment, g.status, COUNT(*) AS customers,
           ROUND(100.0 * COUNT(*) / MAX(t.n), 1) AS customers_pct,
           ROUND(AVG(CAST(g.interactions_365 AS DOUBLE)), 2) AS interactions_per_customer_365d,
           ROUND(100.0 * SUM(g.revenue_365_minor) / NULLIF(CAST(MAX(t.rev) AS DOUBLE), 0), 1) AS revenue_share_365d_pct,
           CAST(ROUND(AVG(CAST(g.capital_minor AS DOUBLE))) AS BIGINT) AS avg_capital_minor,
           ROUND(AVG(CAST(g.tenure_days AS DOUBLE)), 0) AS avg_tenure_days,
           SUM(CASE WHEN g.latest_nps IS NOT NULL THEN 1 ELSE 0 END) AS nps_answers,
           ROUND(100.0 * (SUM(CASE WHEN g.latest_nps >= 9 THEN 1 ELSE 0 END) - SUM(CASE WHEN g.latest_nps <= 6 THEN 1 ELSE 0 END))
             / NULLIF(CAST(SUM(CASE WHEN g.latest_nps IS NOT NULL THEN 1 ELSE 0 END) AS DOUBLE), 0), 1) AS nps
         FROM g JOIN t ON t.segment = g.segment GROUP BY g.segment, g.status ORDER BY g.segment, g.status"
    );
    let title = format!(
        "Active customers (a qualifying interaction in the {} days to {}, or an active subscription)",
        p.config.activity_window_days,
        p.as_of()
    );
    Ok(vec![
        section(ctx, "active", &title, &active).await?,
        section(
            ctx,
            "active_kinds_overlap",
            "Kinds of active customer (seed 001): customers in both kinds",
            &overlap,
        )
        .await?,
        section(
            ctx,
            "active_vs_inactive",
            "Active vs inactive paying customers",
            &compare,
        )
        .await?,
    ])
}
