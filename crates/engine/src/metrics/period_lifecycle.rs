//! Period lifecycle (SPEC §2): per period, active customers split into new,
//! returning and resurrecting, and the dormant ones.

use super::activity_masks::{bit, TABLE};
use crate::report::{section, Section};
use crate::{EngineError, Params};
use datafusion::prelude::SessionContext;

/// `period_lifecycle`, from the activity masks.
pub(crate) async fn sections(
    ctx: &SessionContext,
    p: &Params,
) -> Result<Vec<Section>, EngineError> {
    let periods = p.periods();
    let mut sums = Vec::new();
    let mut rows = Vec::new();
    // Period i of the trend is bit i + 1 of pmask (bit 0: the period before).
    for (k, (start, _)) in periods.iter().enumerate() {
        let i = k + 1;
        let (now, before) = (bit("pmask", i), bit("pmask", i - 1));
        sums.push(format!(
            "SUM(CASE WHEN {now} AND first_idx = {i} THEN 1 ELSE 0 END) AS new_{i},
             SUM(CASE WHEN {now} AND first_idx <> {i} AND {before} THEN 1 ELSE 0 END) AS returning_{i},
             SUM(CASE WHEN {now} AND first_idx <> {i} AND NOT {before} THEN 1 ELSE 0 END) AS resurrecting_{i},
             SUM(CASE WHEN {before} AND NOT {now} THEN 1 ELSE 0 END) AS dormant_{i}"
        ));
        rows.push(format!(
            "SELECT {k} AS k, arrow_cast({start}, 'Date32') AS period, segment, new_{i} AS new,
               returning_{i} AS \"returning\", resurrecting_{i} AS resurrecting,
               new_{i} + returning_{i} + resurrecting_{i} AS active, dormant_{i} AS dormant FROM agg"
        ));
    }
    let sql = format!(
        "WITH agg AS (SELECT segment, {} FROM {TABLE} GROUP BY segment)
         SELECT period, segment, new, \"returning\", resurrecting, active, dormant
         FROM ({}) ORDER BY k, segment",
        sums.join(",\n"),
        rows.join(" UNION ALL ")
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
