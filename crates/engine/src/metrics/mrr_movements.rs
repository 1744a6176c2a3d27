//! The MRR movements of each customer (`mrr_movements`): one row per
//! customer, snapshot step and movement, for exports and for checking the
//! `mrr` totals customer by customer.
//!
//! Only customers with a movement are listed (at most two rows per step:
//! `new` or `reactivation` and `churn` of a customer counted under
//! `mrr_count_same_period`). `change` is signed: gains positive, losses
//! negative, so the changes of a period add up to its net new MRR.

use super::mrr::TABLE;
use crate::report::{section as query_section, Section};
use crate::{EngineError, Params};
use datafusion::prelude::SessionContext;

/// The movements in reading order: name, column of [`TABLE`], sign.
pub(crate) const MOVEMENTS: [(&str, &str, i64); 5] = [
    ("new", "new_minor", 1),
    ("reactivation", "reactivation_minor", 1),
    ("expansion", "expansion_minor", 1),
    ("contraction", "contraction_minor", -1),
    ("churn", "churn_minor", -1),
];

/// `mrr_movements`, over the materialised [`TABLE`].
pub(crate) async fn section(ctx: &SessionContext, p: &Params) -> Result<Section, EngineError> {
    let parts: Vec<String> = MOVEMENTS
        .iter()
        .enumerate()
        .map(|(i, (name, col, sign))| {
            // Days at zero MRR only explain a new or reactivation movement.
            let since = if matches!(*name, "new" | "reactivation") {
                "days_since_churn"
            } else {
                "CAST(NULL AS INT)"
            };
            format!(
                "SELECT ck, segment, k, period, snapshot_day, mrr_start_minor, mrr_end_minor,
                   '{name}' AS movement, {i} AS o, {sign} * {col} AS change_minor, {since} AS days_since_churn
                 FROM {TABLE} WHERE {col} > 0"
            )
        })
        .collect();
    let sql = format!(
        "SELECT arrow_cast(m.period, 'Date32') AS period, arrow_cast(m.snapshot_day, 'Date32') AS snapshot,
           c.customer_id, m.segment, m.movement, m.mrr_start_minor, m.mrr_end_minor, m.change_minor,
           m.days_since_churn
         FROM ({}) m JOIN customers c ON c.ck = m.ck
         ORDER BY m.k, c.customer_id, m.o",
        parts.join(" UNION ALL ")
    );
    let title = format!(
        "MRR movements per customer from one snapshot to the next (the {} trend periods to {})",
        p.periods,
        p.as_of()
    );
    query_section(ctx, "mrr_movements", &title, &sql).await
}
