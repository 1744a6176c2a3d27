//! RFM segmentation (seed 000, SPEC §3).
//!
//! Among the customers who pay through orders at D (net order revenue > 0
//! with at least one order with an amount > 0; customers who pay only by
//! subscription have no order to score and are left out):
//! - R, recency = D − the day of the last order with an amount > 0;
//! - F, frequency = orders with an amount > 0;
//! - M, monetary = net order revenue (refunds negative).
//!
//! Each is scored 1–5 by quintile with one set of four cut points per
//! measure, the nearest-rank 20th, 40th, 60th and 80th percentiles: with
//! the n values sorted, cut point j is the value at position ⌈j·n/5⌉
//! (1-based). F and M score 1 + the number of cut points the value exceeds;
//! R is reversed, 5 − the number of cut points it exceeds, so the most
//! recent buyers score 5. **Ties**: the score is a function of the value, so
//! customers with equal values always get the same score; when many share
//! a value the other quintiles shrink and a score can be skipped (F with
//! most customers at one order: F scores 1 and then 4 or 5).
//!
//! The cut points are found once per measure by selection over the
//! collected values (linear time, no sort per quintile) and written into
//! the scoring plan as literals.
//!
//! The named segments ([`SEGMENTS`]) read the R and F scores; they cover
//! each of the 25 R×F cells exactly once, so no "other" segment is needed
//! (a unit test keeps this true).

use crate::facts::materialize;
use crate::report::{query, section, Section};
use crate::{EngineError, Params};
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Int64Type;
use datafusion::prelude::SessionContext;

/// The materialised per-customer scores: `(ck, recency_days, frequency,
/// monetary_minor, r_score, f_score, m_score, rfm_segment)`, one row per
/// scored customer. Kept registered after the report so that other plans
/// can join it on `ck`.
pub(crate) const TABLE: &str = "customer_rfm";

/// The measures before scoring: `(ck, recency_days, frequency, monetary_minor)`.
const BASE: &str = "rfm_base";

/// Number of score classes (quintiles).
const SCORES: usize = 5;

/// A named segment: name, R scores and F scores (inclusive ranges).
type SegmentRule = (&'static str, (u8, u8), (u8, u8));

/// The named segments by R and F score (SPEC §3), in report order.
pub(crate) const SEGMENTS: &[SegmentRule] = &[
    ("champions", (5, 5), (4, 5)),
    ("loyal", (3, 4), (4, 5)),
    ("potential_loyalists", (4, 5), (2, 3)),
    ("new", (5, 5), (1, 1)),
    ("promising", (4, 4), (1, 1)),
    ("need_attention", (3, 3), (3, 3)),
    ("about_to_sleep", (3, 3), (1, 2)),
    ("cannot_lose", (1, 2), (5, 5)),
    ("at_risk", (1, 2), (3, 4)),
    ("hibernating", (1, 2), (1, 2)),
];

/// The four quintile cut points of `values`: the nearest-rank 20th, 40th,
/// 60th and 80th percentiles (the value at position ⌈j·n/5⌉ of the sorted
/// values, 1-based); `None` when there are no values.
pub(crate) fn cut_points(mut values: Vec<i64>) -> Option<[i64; SCORES - 1]> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mut cuts = [0; SCORES - 1];
    // From the highest rank down: after selecting position `idx`, the
    // smallest `idx + 1` values are in `values[..=idx]`, so each lower
    // rank is selected within that prefix.
    let mut end = n;
    for j in (1..SCORES).rev() {
        let idx = (j * n).div_ceil(SCORES) - 1;
        let (_, v, _) = values[..end].select_nth_unstable(idx);
        cuts[j - 1] = *v;
        end = idx + 1;
    }
    Some(cuts)
}

/// SQL of the score of `col` against `cuts`: 1 + cut points exceeded, or
/// 5 − that when `reversed`.
fn score_sql(col: &str, cuts: &[i64; SCORES - 1], reversed: bool) -> String {
    let exceeded: Vec<String> = cuts
        .iter()
        .map(|c| format!("CASE WHEN {col} > {c} THEN 1 ELSE 0 END"))
        .collect();
    let sum = exceeded.join(" + ");
    if reversed {
        format!("CAST({SCORES} - ({sum}) AS INT)")
    } else {
        format!("CAST(1 + {sum} AS INT)")
    }
}

/// SQL of the named segment of the `r_score` and `f_score` columns.
fn segment_sql() -> String {
    let whens: Vec<String> = SEGMENTS
        .iter()
        .map(|(name, (r0, r1), (f0, f1))| {
            format!(
                "WHEN r_score BETWEEN {r0} AND {r1} AND f_score BETWEEN {f0} AND {f1} THEN '{name}'"
            )
        })
        .collect();
    format!("CASE {} END", whens.join(" "))
}

/// The base from each customer's orders folded at D (`orders`: see
/// `customer_orders.rs`).
fn base_sql(p: &Params, orders: &str) -> String {
    format!(
        "SELECT ck, {d} - last_paid_day AS recency_days, paid_orders AS frequency,
           net_minor AS monetary_minor
         FROM {orders} o WHERE net_minor > 0 AND paid_orders > 0",
        d = p.d,
    )
}

/// Collects one Int64 column of [`BASE`] (casting it when needed).
async fn values(ctx: &SessionContext, col: &str) -> Result<Vec<i64>, EngineError> {
    let b = query(
        ctx,
        &format!("SELECT CAST({col} AS BIGINT) AS v FROM {BASE}"),
    )
    .await?;
    // Every measure is set for a scored customer: no nulls to skip.
    Ok(b.column(0)
        .as_primitive::<Int64Type>()
        .iter()
        .flatten()
        .collect())
}

/// Computes [`TABLE`] at the as-of day.
pub(crate) async fn materialize_scores(
    ctx: &SessionContext,
    p: &Params,
) -> Result<(), EngineError> {
    let orders = crate::metrics::customer_orders::source(ctx, p)?;
    materialize(ctx, &base_sql(p, &orders), BASE).await?;
    let mut cuts = Vec::new();
    for col in ["recency_days", "frequency", "monetary_minor"] {
        cuts.push(cut_points(values(ctx, col).await?).unwrap_or_default());
    }
    let sql = format!(
        "SELECT ck, recency_days, frequency, monetary_minor, r_score, f_score, m_score,
           {segment} AS rfm_segment
         FROM (SELECT *, {r} AS r_score, {f} AS f_score, {m} AS m_score FROM {BASE}) s",
        segment = segment_sql(),
        r = score_sql("recency_days", &cuts[0], true),
        f = score_sql("frequency", &cuts[1], false),
        m = score_sql("monetary_minor", &cuts[2], false),
    );
    materialize(ctx, &sql, TABLE).await?;
    ctx.deregister_table(BASE)?;
    Ok(())
}

fn segments_sql(p: &Params) -> String {
    let names: Vec<String> = SEGMENTS
        .iter()
        .enumerate()
        .map(|(i, s)| format!("({i}, '{}')", s.0))
        .collect();
    let splits = match p.by {
        None => "SELECT 'all' AS segment".to_string(),
        Some(_) => "SELECT DISTINCT segment FROM s".to_string(),
    };
    format!(
        "WITH s AS (SELECT r.*, {seg} AS segment FROM {TABLE} r{seg_join}),
         a AS (SELECT rfm_segment, segment, COUNT(*) AS customers, SUM(monetary_minor) AS revenue,
             AVG(CAST(recency_days AS DOUBLE)) AS recency, AVG(CAST(frequency AS DOUBLE)) AS frequency,
             AVG(CAST(monetary_minor AS DOUBLE)) AS monetary
           FROM s GROUP BY rfm_segment, segment),
         t AS (SELECT segment, COUNT(*) AS total FROM s GROUP BY segment),
         n AS (SELECT column1 AS o, column2 AS rfm_segment FROM (VALUES {names})),
         sp AS ({splits})
         SELECT n.rfm_segment, sp.segment, COALESCE(a.customers, 0) AS customers,
           ROUND(100.0 * COALESCE(a.customers, 0) / t.total, 1) AS pct,
           CAST(COALESCE(a.revenue, 0) AS BIGINT) AS revenue_minor,
           ROUND(a.recency, 1) AS avg_recency_days, ROUND(a.frequency, 2) AS avg_frequency,
           CAST(ROUND(a.monetary) AS BIGINT) AS avg_monetary_minor
         FROM n CROSS JOIN sp LEFT JOIN a ON a.rfm_segment = n.rfm_segment AND a.segment = sp.segment
           LEFT JOIN t ON t.segment = sp.segment
         ORDER BY sp.segment, n.o",
        seg = p.segment_sql(),
        seg_join = p.seg_join("r"),
        names = names.join(", "),
    )
}

fn customers_sql(p: &Params) -> String {
    format!(
        "SELECT c.customer_id, {seg} AS segment, r.recency_days, r.frequency, r.monetary_minor,
           r.r_score, r.f_score, r.m_score, r.rfm_segment
         FROM {TABLE} r JOIN customers c ON c.ck = r.ck{seg_join}
         ORDER BY c.customer_id",
        seg = p.segment_sql(),
        seg_join = p.seg_join("r"),
    )
}

/// `rfm_segments` (per named segment) and `rfm_customers` (every scored
/// customer, for exports); leaves [`TABLE`] registered.
pub(crate) async fn sections(
    ctx: &SessionContext,
    p: &Params,
) -> Result<Vec<Section>, EngineError> {
    materialize_scores(ctx, p).await?;
    Ok(vec![
        section(
            ctx,
            "rfm_segments",
            "RFM segments of customers paying by order (R and F scored 1-5 by quintile)",
            &segments_sql(p),
        )
        .await?,
        section(
            ctx,
            "rfm_customers",
            "RFM scores per customer (recency reversed: 5 = most recent)",
            &customers_sql(p),
        )
        .await?,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The segment of an R and F score, by [`SEGMENTS`].
    fn segment_of(r: u8, f: u8) -> Option<&'static str> {
        SEGMENTS
            .iter()
            .find(|(_, (r0, r1), (f0, f1))| (*r0..=*r1).contains(&r) && (*f0..=*f1).contains(&f))
            .map(|s| s.0)
    }

    #[test]
    fn every_r_f_cell_has_exactly_one_segment() {
        for r in 1..=5u8 {
            for f in 1..=5u8 {
                let n = SEGMENTS
                    .iter()
                    .filter(|(_, (r0, r1), (f0, f1))| {
                        (*r0..=*r1).contains(&r) && (*f0..=*f1).contains(&f)
                    })
                    .count();
                assert_eq!(n, 1, "R{r} F{f}");
            }
        }
        assert_eq!(segment_of(5, 5), Some("champions"));
        assert_eq!(segment_of(3, 3), Some("need_attention"));
        assert_eq!(segment_of(2, 5), Some("cannot_lose"));
        assert_eq!(segment_of(0, 1), None);
    }

    /// SPEC §3's segments by hand, one row per R score from 5 down, F 1 to 5.
    const GRID: [[&str; 5]; 5] = [
        [
            "new",
            "potential_loyalists",
            "potential_loyalists",
            "champions",
            "champions",
        ],
        [
            "promising",
            "potential_loyalists",
            "potential_loyalists",
            "loyal",
            "loyal",
        ],
        [
            "about_to_sleep",
            "about_to_sleep",
            "need_attention",
            "loyal",
            "loyal",
        ],
        [
            "hibernating",
            "hibernating",
            "at_risk",
            "at_risk",
            "cannot_lose",
        ],
        [
            "hibernating",
            "hibernating",
            "at_risk",
            "at_risk",
            "cannot_lose",
        ],
    ];

    #[test]
    fn the_segment_plan_matches_spec_on_every_cell() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let ctx = SessionContext::new();
        let cells: Vec<String> = (1..=5)
            .flat_map(|r| (1..=5).map(move |f| format!("({r}, {f})")))
            .collect();
        let sql = format!(
            "SELECT r_score, f_score, {} AS s FROM
               (SELECT column1 AS r_score, column2 AS f_score FROM (VALUES {}))
             ORDER BY r_score DESC, f_score",
            segment_sql(),
            cells.join(", ")
        );
        let b = rt.block_on(query(&ctx, &sql)).unwrap();
        let got = b.column(2).as_string::<i32>();
        for (i, want) in GRID.iter().flatten().enumerate() {
            let (r, f) = (5 - i / 5, 1 + i % 5);
            assert_eq!(got.value(i), *want, "R{r} F{f}");
            assert_eq!(segment_of(r as u8, f as u8), Some(*want), "R{r} F{f}");
        }
    }

    #[test]
    fn scores_count_the_cut_points_exceeded() {
        let cuts = [10, 30, 60, 120];
        assert_eq!(
            score_sql("x", &cuts, false),
            "CAST(1 + CASE WHEN x > 10 THEN 1 ELSE 0 END + CASE WHEN x > 30 THEN 1 ELSE 0 END \
             + CASE WHEN x > 60 THEN 1 ELSE 0 END + CASE WHEN x > 120 THEN 1 ELSE 0 END AS INT)"
        );
        assert!(score_sql("x", &cuts, true).starts_with("CAST(5 - (CASE WHEN x > 10"));
    }

    #[test]
    fn cut_points_are_nearest_rank_quintiles() {
        // 10 values: positions 2, 4, 6, 8.
        assert_eq!(
            cut_points(vec![10, 9, 8, 7, 6, 5, 4, 3, 2, 1]),
            Some([2, 4, 6, 8])
        );
        // 7 values: positions ⌈1.4⌉ = 2, ⌈2.8⌉ = 3, ⌈4.2⌉ = 5, ⌈5.6⌉ = 6.
        assert_eq!(
            cut_points(vec![70, 10, 60, 20, 50, 30, 40]),
            Some([20, 30, 50, 60])
        );
        // Ties: equal values share cut points.
        assert_eq!(cut_points(vec![1, 1, 1, 1, 1, 1, 2, 3]), Some([1, 1, 1, 2]));
        assert_eq!(cut_points(vec![42]), Some([42; 4]));
        assert_eq!(cut_points(vec![]), None);
    }
}
