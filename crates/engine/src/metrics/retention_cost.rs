//! Customer retention cost (seed 003, SPEC §3): what keeping the existing
//! customers costs, per customer.
//!
//! Seed 003: "la spesa per mantenere i clienti esistenti" (the money spent
//! to keep the existing customers) divided by the number of customers. Per
//! trend period (days up to D):
//! - `retention_spend`: spend rows of category `retention` in the period
//!   (every channel: email, loyalty, …);
//! - `customers`: the customers served in the period, those who paid in
//!   it: an order with an amount > 0 (a later refund does not undo it, as
//!   an order stays an interaction) or a paid subscription (`active` or
//!   `past_due`, amount > 0) during some of it. Prospects and lapsed
//!   customers are not kept by the spend, so they are not in the base;
//! - **CRC** = retention spend / customers, empty when the period has no
//!   customer (never a division by zero).
//!
//! The period bits come from the `pmask` of the shared per-customer table
//! (see `acquisition.rs`), so this costs one small aggregation. Spend is
//! not per customer, so the table is not split by `--by`.

use super::acquisition::CUSTOMERS;
use crate::report::{section, Section};
use crate::{EngineError, Params};
use datafusion::prelude::SessionContext;

/// SQL of the `retention_cost` section.
fn crc_sql(p: &Params) -> String {
    let periods = p.periods();
    let (first, d, g) = (p.first_start(), p.d, p.granularity.name());
    let per: Vec<String> = periods
        .iter()
        .enumerate()
        .map(|(k, (s, _))| format!("({k}, {s})"))
        .collect();
    // One aggregation with a count per period, then one row per period.
    let counts: Vec<String> = (0..periods.len())
        .map(|k| format!("SUM((pmask >> {k}) & 1) AS c{k}"))
        .collect();
    let rows: Vec<String> = (0..periods.len())
        .map(|k| format!("SELECT {k} AS k, c{k} AS customers FROM agg"))
        .collect();
    format!(
        "WITH per AS (SELECT column1 AS k, column2 AS p FROM (VALUES {per})),
         rs AS (SELECT cl_period_index(day, {first}, '{g}') AS k, SUM(amount_minor) AS spend
           FROM spend WHERE category = 'retention' AND day >= {first} AND day <= {d} GROUP BY 1),
         agg AS (SELECT {counts} FROM {CUSTOMERS}),
         cs AS ({rows})
         SELECT arrow_cast(per.p, 'Date32') AS period,
           CAST(COALESCE(rs.spend, 0) AS BIGINT) AS retention_spend_minor,
           CAST(COALESCE(cs.customers, 0) AS BIGINT) AS customers,
           CASE WHEN cs.customers > 0
             THEN CAST(ROUND(CAST(COALESCE(rs.spend, 0) AS DOUBLE) / cs.customers) AS BIGINT) END
             AS crc_minor
         FROM per LEFT JOIN rs ON rs.k = per.k LEFT JOIN cs ON cs.k = per.k
         ORDER BY per.k",
        per = per.join(", "),
        counts = counts.join(", "),
        rows = rows.join(" UNION ALL "),
    )
}

/// `retention_cost`, one row per trend period. Reads the table of
/// [`super::acquisition::prepare`].
pub(crate) async fn sections(
    ctx: &SessionContext,
    p: &Params,
) -> Result<Vec<Section>, EngineError> {
    let g = p.granularity.name();
    Ok(vec![
        section(
            ctx,
            "retention_cost",
            &format!("Customer retention cost per {g}: CRC = retention spend / customers who paid in the {g} (order or paid subscription)"),
            &crc_sql(p),
        )
        .await?,
    ])
}
