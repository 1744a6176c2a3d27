//! Customer capital (seed 002): the money each customer has generated so
//! far (net revenue × gross margin) and the length of the relationship.

use crate::report::{section, Section};
use crate::{EngineError, Params};
use datafusion::prelude::SessionContext;

/// `capital`.
pub(crate) async fn sections(
    ctx: &SessionContext,
    p: &Params,
) -> Result<Vec<Section>, EngineError> {
    let seg = p.segment_sql();
    let sql = format!(
        "SELECT {seg} AS segment, COUNT(*) AS paying_customers,
           SUM(f.capital_minor) AS capital_minor,
           CAST(ROUND(AVG(CAST(f.capital_minor AS DOUBLE))) AS BIGINT) AS avg_capital_minor,
           CAST(ROUND(median(CAST(f.capital_minor AS DOUBLE))) AS BIGINT) AS median_capital_minor,
           MAX(f.capital_minor) AS max_capital_minor,
           ROUND(AVG(CAST(f.tenure_days AS DOUBLE)), 0) AS avg_tenure_days,
           ROUND(median(CAST(f.tenure_days AS DOUBLE)), 0) AS median_tenure_days
         FROM customer_stage f WHERE f.paying GROUP BY 1 ORDER BY 1"
    );
    Ok(vec![
        section(
            ctx,
            "capital",
            "Customer capital (seed 002) and tenure",
            &sql,
        )
        .await?,
    ])
}
