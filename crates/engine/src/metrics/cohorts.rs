//! Cohorts (SPEC §3): retention and revenue of the customers who joined in
//! each trend period, period by period after joining.
//!
//! A customer's **cohort** is the trend period of their first order with an
//! amount > 0 (`cohort_basis = first_purchase`, the default) or of their
//! sign-up (`signup`: the customer record's time). Only cohorts that start
//! within the trend periods are shown, and each only up to the period that
//! contains the as-of day D: a triangle of cohort × offset `k` (0 = the
//! cohort's own period, counted with `cl_period_index`).
//!
//! A customer is **active** at offset `k` when they have an order with an
//! amount > 0 (on or before D) in that period; refunds and other events do
//! not count, so the rule stays the same whatever `qualifying` says.
//! `active_on_or_after` counts the customers active at offset `k` or at any
//! later offset up to D ("unbounded" retention). Under `first_purchase`
//! every customer is active at offset 0. Under `signup`, orders before the
//! sign-up period are ignored.
//!
//! **Revenue** at offset `k` is the net order amount (refunds negative) of
//! the cohort's customers in that period; `cumulative_per_customer` divides
//! the revenue of offsets 0 … k by the cohort size, rounded to the minor unit.

use crate::facts::materialize;
use crate::report::{section, Section};
use crate::{EngineError, Params};
use clientela_core::config::CohortBasis;
use datafusion::prelude::SessionContext;

/// Materialised cohort members: `(ck, ci, segment, mask)`, `ci` the index
/// of the cohort's trend period (0 = the first one), bit i of `mask` set
/// when the customer has a paid order in trend period i.
const MEMBERS: &str = "cohort_members";

/// Decimals of the percentages.
const PCT_DECIMALS: u32 = 1;

/// SQL of the members table: each customer's cohort day, kept when it falls
/// in the trend periods (and on or before D), and their paid periods, from
/// each customer's orders folded at D (`orders`: see `customer_orders.rs`).
fn members_sql(p: &Params, orders: &str) -> String {
    let (first, d, g) = (p.first_start(), p.d, p.granularity.name());
    let joined = match p.config.cohort_basis {
        CohortBasis::FirstPurchase => format!(
            "SELECT ck, first_paid_day AS cohort_day, cl_or_zero(paid_mask) AS mask
             FROM {orders} o WHERE first_paid_day IS NOT NULL"
        ),
        CohortBasis::Signup => format!(
            "SELECT c.ck, c.signup_day AS cohort_day, cl_or_zero(o.paid_mask) AS mask
             FROM customers c LEFT JOIN {orders} o ON o.ck = c.ck
             WHERE c.signup_day IS NOT NULL AND c.signup_day <= {d}"
        ),
    };
    format!(
        "SELECT j.ck, cl_period_index(j.cohort_day, {first}, '{g}') AS ci, {seg} AS segment, j.mask
         FROM ({joined}) j{seg_join}
         WHERE j.cohort_day >= {first}",
        seg = p.segment_sql(),
        seg_join = p.seg_join("j"),
    )
}

/// The grid of cohort × offset for every cohort with members: `(ci,
/// segment, cohort, k, size)`, offsets up to the period of D.
fn grid_sql(p: &Params) -> String {
    let periods = p.periods();
    let last = periods.len() - 1;
    let starts: Vec<String> = periods
        .iter()
        .enumerate()
        .map(|(i, (s, _))| format!("({i}, {s})"))
        .collect();
    let ks: Vec<String> = (0..=last).map(|k| format!("({k})")).collect();
    format!(
        "SELECT s.ci, s.segment, arrow_cast(c.start, 'Date32') AS cohort, ks.k, s.size
         FROM (SELECT ci, segment, COUNT(*) AS size FROM {MEMBERS} GROUP BY ci, segment) s
         JOIN (SELECT column1 AS ci, column2 AS start FROM (VALUES {starts})) c ON c.ci = s.ci
         JOIN (SELECT column1 AS k FROM (VALUES {ks})) ks ON ks.k <= {last} - s.ci",
        starts = starts.join(", "),
        ks = ks.join(", "),
    )
}

/// Active customers at each offset from the members' masks: bit ci + k
/// (active at offset k) and the highest bit ≥ ci + k (active then or later),
/// counted per cohort by `cl_bit_counts`; orders before the cohort's period
/// (under `signup`) have bits below ci and count nowhere.
fn retention_sql(p: &Params) -> String {
    format!(
        "WITH g AS ({grid}),
         w AS (SELECT ci, segment, cl_bit_counts(mask) AS s FROM {MEMBERS} GROUP BY ci, segment),
         x AS (SELECT g.cohort, g.segment, g.k, g.size,
             COALESCE(cl_word(w.s, g.ci + g.k), 0) AS active,
             COALESCE(cl_word(w.s, {bits} + g.ci + g.k), 0) AS on_or_after
           FROM g LEFT JOIN w ON w.ci = g.ci AND w.segment = g.segment)
         SELECT cohort, segment, CAST(k AS BIGINT) AS period_offset, size AS cohort_customers,
           CAST(active AS BIGINT) AS active_customers,
           ROUND(100.0 * active / size, {PCT_DECIMALS}) AS active_pct,
           CAST(on_or_after AS BIGINT) AS active_on_or_after,
           ROUND(100.0 * on_or_after / size, {PCT_DECIMALS}) AS on_or_after_pct
         FROM x ORDER BY cohort, segment, period_offset",
        grid = grid_sql(p),
        bits = crate::bit_counts::BITS,
    )
}

/// Net order revenue per cohort and offset: the orders of the trend
/// periods joined to their (fewer) members, summed per cohort, segment and
/// offset (a few thousand groups).
fn revenue_sql(p: &Params) -> String {
    let (first, d, g) = (p.first_start(), p.d, p.granularity.name());
    format!(
        "WITH g AS ({grid}),
         o AS (SELECT ck, cl_period_index(day, {first}, '{g}') AS pi, amount_minor
           FROM orders WHERE day >= {first} AND day <= {d}),
         a AS (SELECT m.ci, m.segment, CAST(o.pi - m.ci AS INT) AS k, SUM(o.amount_minor) AS revenue
           FROM o JOIN {MEMBERS} m ON m.ck = o.ck WHERE o.pi >= m.ci GROUP BY 1, 2, 3),
         x AS (SELECT g.cohort, g.segment, g.k, g.size, COALESCE(a.revenue, 0) AS revenue,
             SUM(COALESCE(a.revenue, 0)) OVER (PARTITION BY g.ci, g.segment ORDER BY g.k
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cumulative
           FROM g LEFT JOIN a ON a.ci = g.ci AND a.segment = g.segment AND a.k = g.k)
         SELECT cohort, segment, CAST(k AS BIGINT) AS period_offset, size AS cohort_customers,
           CAST(revenue AS BIGINT) AS revenue_minor, CAST(cumulative AS BIGINT) AS cumulative_revenue_minor,
           CAST(ROUND(CAST(cumulative AS DOUBLE) / size) AS BIGINT) AS cumulative_per_customer_minor
         FROM x ORDER BY cohort, segment, period_offset",
        grid = grid_sql(p),
    )
}

/// `cohort_retention` and `cohort_revenue`, long format: one row per
/// cohort (and split segment) and offset.
pub(crate) async fn sections(
    ctx: &SessionContext,
    p: &Params,
) -> Result<Vec<Section>, EngineError> {
    let orders = crate::metrics::customer_orders::source(ctx, p)?;
    materialize(ctx, &members_sql(p, &orders), MEMBERS).await?;
    let basis = match p.config.cohort_basis {
        CohortBasis::FirstPurchase => "first purchase",
        CohortBasis::Signup => "sign-up",
    };
    let g = p.granularity.name();
    let out = vec![
        section(
            ctx,
            "cohort_retention",
            &format!("Cohort retention by {basis} {g} (customers with a paid order in each {g} after joining)"),
            &retention_sql(p),
        )
        .await?,
        section(
            ctx,
            "cohort_revenue",
            &format!("Cohort revenue by {basis} {g} (net order revenue in each {g} after joining)"),
            &revenue_sql(p),
        )
        .await?,
    ];
    ctx.deregister_table(MEMBERS)?;
    Ok(out)
}
