//! Period lifecycle (SPEC §2): per period, active customers split into new,
//! returning and resurrecting, and the dormant ones.

use super::activity_masks::bit;
use super::per_period::per_period_sql;
use crate::report::{section, Section};
use crate::{EngineError, Params};
use datafusion::prelude::SessionContext;

/// `period_lifecycle`, from the activity masks: trend period i is bit i of
/// `pmask` (bit 0: the period before the first shown).
pub(crate) async fn sections(
    ctx: &SessionContext,
    p: &Params,
) -> Result<Vec<Section>, EngineError> {
    let sql = per_period_sql(
        &p.periods(),
        |i| {
            let (now, before) = (bit("pmask", i), bit("pmask", i - 1));
            format!(
                "SUM(CASE WHEN {now} AND first_idx = {i} THEN 1 ELSE 0 END) AS new_{i},
                 SUM(CASE WHEN {now} AND first_idx <> {i} AND {before} THEN 1 ELSE 0 END) AS returning_{i},
                 SUM(CASE WHEN {now} AND first_idx <> {i} AND NOT {before} THEN 1 ELSE 0 END) AS resurrecting_{i},
                 SUM(CASE WHEN {before} AND NOT {now} THEN 1 ELSE 0 END) AS dormant_{i}"
            )
        },
        |i| {
            format!(
                "new_{i} AS new, returning_{i} AS \"returning\", resurrecting_{i} AS resurrecting,
                 new_{i} + returning_{i} + resurrecting_{i} AS active, dormant_{i} AS dormant"
            )
        },
        "new, \"returning\", resurrecting, active, dormant",
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
