//! Shared shape of the trend tables computed from activity masks: one
//! aggregation with a group of columns per period, then one row per period.

use super::activity_masks::TABLE;

/// SQL of a per-period table: `sums(i)` gives the aggregate columns of
/// trend period `i` (1-based, suffixed `_{i}`), `row(i)` the select list of
/// its row over them (ending with `segment` and the output columns), and
/// `columns` the final select list.
pub(crate) fn per_period_sql(
    periods: &[(i32, i32)],
    sums: impl Fn(usize) -> String,
    row: impl Fn(usize) -> String,
    columns: &str,
) -> String {
    let groups: Vec<String> = (1..=periods.len()).map(&sums).collect();
    let rows: Vec<String> = periods
        .iter()
        .enumerate()
        .map(|(k, (start, _))| {
            format!(
                "SELECT {k} AS k, arrow_cast({start}, 'Date32') AS period, segment, {} FROM agg",
                row(k + 1)
            )
        })
        .collect();
    format!(
        "WITH agg AS (SELECT segment, {} FROM {TABLE} GROUP BY segment)
         SELECT period, segment, {columns} FROM ({}) ORDER BY k, segment",
        groups.join(",\n"),
        rows.join(" UNION ALL ")
    )
}
