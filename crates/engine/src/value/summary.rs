//! The per-customer purchase summary the models take (SPEC §4), as a plan
//! over the orders: frequency x = repeat purchase days, recency t_x = days
//! from the first to the last purchase day, T = days from the first
//! purchase day to the end of calibration, monetary = mean value of the
//! repeat purchase days. Several orders on one day are one purchase of their
//! summed value, as in the papers and in lifetimes.

use crate::EngineError;
use clientela_models::{CustomerSummary, SpendSummary};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::Float64Type;
use datafusion::prelude::SessionContext;

/// The summary plan: one row per customer with a purchase on or before
/// `end` (inclusive, a local day): `ck`, `frequency`, `recency`, `t`,
/// `monetary_minor` (null without repeat purchases) and `first_day`.
/// Refunds (negative amounts) are not purchases; a free order is one, as
/// in the CDNOW data the models were published on.
pub fn summary_sql(end: i32) -> String {
    format!(
        "SELECT ck, {} FROM ({}) WHERE frequency_0 IS NOT NULL",
        unsuffixed(0),
        summaries_sql(&[end])
    )
}

/// The summary columns of calibration end number `i` of
/// [`summaries_sql`] under their plain names.
pub fn unsuffixed(i: usize) -> String {
    SUMMARY_COLUMNS
        .iter()
        .map(|c| format!("{c}_{i} AS {c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Columns of one summary.
const SUMMARY_COLUMNS: [&str; 5] = ["frequency", "recency", "t", "monetary_minor", "first_day"];

/// The summaries at several calibration ends in one pass over the orders:
/// one row per customer with a purchase by the last end, with the columns
/// of [`summary_sql`] suffixed `_0`, `_1`, … per end (null where the
/// customer had not bought yet).
pub fn summaries_sql(ends: &[i32]) -> String {
    // One aggregation by customer: distinct purchase days and the value of
    // the first purchase day come from `cl_distinct_days` and
    // `cl_first_day_total`, so the orders are not grouped by (customer,
    // day) first (a hash table with a row per purchase day).
    let last = ends.iter().copied().max().unwrap_or(0);
    let mut aggregates = Vec::new();
    let mut columns = Vec::new();
    for (i, end) in ends.iter().enumerate() {
        let filter = crate::facts::day_filter(*end, last);
        aggregates.push(format!(
            "cl_distinct_days(day){filter} AS n_{i},
    MIN(day){filter} AS first_day_{i}, MAX(day){filter} AS last_day_{i},
    SUM(amount_minor){filter} AS total_{i},
    cl_first_day_total(day, amount_minor){filter} AS first_v_{i}"
        ));
        columns.push(format!(
            "CASE WHEN n_{i} > 0 THEN CAST(n_{i} - 1 AS DOUBLE) END AS frequency_{i},
  CAST(last_day_{i} - first_day_{i} AS DOUBLE) AS recency_{i},
  CAST({end} - first_day_{i} AS DOUBLE) AS t_{i},
  CASE WHEN n_{i} > 1 THEN CAST(total_{i} - first_v_{i} AS DOUBLE) / CAST(n_{i} - 1 AS DOUBLE) END AS monetary_minor_{i},
  first_day_{i}"
        ));
    }
    format!(
        "WITH s AS (SELECT ck, {}
  FROM orders WHERE amount_minor >= 0 AND day <= {last} GROUP BY ck)
SELECT ck, {} FROM s",
        aggregates.join(",\n    "),
        columns.join(",\n  ")
    )
}

/// The summaries in a form the model crate fits.
#[derive(Debug, Default)]
pub struct Summaries {
    /// (x, t_x, T) of every customer with a purchase.
    pub purchases: Vec<CustomerSummary>,
    /// (x, mean repeat value) of every repeat buyer with positive spend.
    pub spend: Vec<SpendSummary>,
}

/// Collects the summary table `table` (made from [`summary_sql`]).
pub async fn collect(ctx: &SessionContext, table: &str) -> Result<Summaries, EngineError> {
    let batches = ctx
        .sql(&format!(
            "SELECT frequency, recency, t, monetary_minor FROM {table}"
        ))
        .await?
        .collect()
        .await?;
    let mut out = Summaries::default();
    for b in &batches {
        let col = |i: usize| b.column(i).as_primitive::<Float64Type>();
        let (x, tx, t, m) = (col(0), col(1), col(2), col(3));
        for i in 0..b.num_rows() {
            out.purchases
                .push(CustomerSummary::new(x.value(i), tx.value(i), t.value(i)));
            if m.is_valid(i) && m.value(i) > 0.0 {
                out.spend.push(SpendSummary::new(x.value(i), m.value(i)));
            }
        }
    }
    Ok(out)
}
