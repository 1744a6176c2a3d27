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

/// Materialised cohort members: `(ck, ci, segment)`, `ci` the index of the
/// cohort's trend period (0 = the first one).
const MEMBERS: &str = "cohort_members";
/// Materialised activity: `(ci, segment, k, ck, active, revenue_minor)`, one
/// row per member and offset with an order.
const ACTIVITY: &str = "cohort_activity";

/// Decimals of the percentages.
const PCT_DECIMALS: u32 = 1;

/// SQL of the members table: each customer's cohort day, kept when it falls
/// in the trend periods (and on or before D).
fn members_sql(p: &Params) -> String {
    let (first, d, g) = (p.first_start(), p.d, p.granularity.name());
    let joined = match p.config.cohort_basis {
        CohortBasis::FirstPurchase => format!(
            "SELECT ck, MIN(day) AS cohort_day FROM orders
             WHERE amount_minor > 0 AND day <= {d} GROUP BY ck"
        ),
        CohortBasis::Signup => format!(
            "SELECT ck, signup_day AS cohort_day FROM customers
             WHERE signup_day IS NOT NULL AND signup_day <= {d}"
        ),
    };
    format!(
        "SELECT j.ck, cl_period_index(j.cohort_day, {first}, '{g}') AS ci, {seg} AS segment
         FROM ({joined}) j{seg_join}
         WHERE j.cohort_day >= {first}",
        seg = p.segment_sql(),
        seg_join = p.seg_join("j"),
    )
}

/// SQL of the activity table: per member and offset, whether they paid and
/// the net amount of their orders. The orders are first folded per customer
/// and period on one packed key (ck · 128 + period index: trends have at
/// most 60 periods), which DataFusion groups several times faster than the
/// four columns of the result, then joined to the (fewer) members.
fn activity_sql(p: &Params) -> String {
    let (first, d, g) = (p.first_start(), p.d, p.granularity.name());
    format!(
        "SELECT m.ci, m.segment, CAST(a.pi - m.ci AS INT) AS k, a.ck, a.active, a.revenue_minor
         FROM (SELECT key / {PACK} AS ck, key % {PACK} AS pi, active, revenue_minor
           FROM (SELECT ck * {PACK} + cl_period_index(day, {first}, '{g}') AS key,
               MAX(CASE WHEN amount_minor > 0 THEN 1 ELSE 0 END) AS active,
               SUM(amount_minor) AS revenue_minor
             FROM orders WHERE day >= {first} AND day <= {d} GROUP BY 1)) a
         JOIN {MEMBERS} m ON m.ck = a.ck
         WHERE a.pi >= m.ci"
    )
}

/// Period indexes per customer in the packed key of [`activity_sql`].
const PACK: i64 = 128;

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

fn retention_sql(p: &Params) -> String {
    format!(
        "WITH g AS ({grid}),
         a AS (SELECT ci, segment, k, SUM(active) AS active FROM {ACTIVITY} GROUP BY ci, segment, k),
         l AS (SELECT ci, segment, last_k, COUNT(*) AS n FROM
             (SELECT ci, segment, ck, MAX(k) AS last_k FROM {ACTIVITY} WHERE active = 1 GROUP BY ci, segment, ck) y
           GROUP BY ci, segment, last_k),
         x AS (SELECT g.cohort, g.ci, g.segment, g.k, g.size, COALESCE(a.active, 0) AS active,
             -- Active at k or later = last active offset ≥ k: a running sum from the end.
             SUM(COALESCE(l.n, 0)) OVER (PARTITION BY g.ci, g.segment ORDER BY g.k DESC
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS on_or_after
           FROM g LEFT JOIN a ON a.ci = g.ci AND a.segment = g.segment AND a.k = g.k
             LEFT JOIN l ON l.ci = g.ci AND l.segment = g.segment AND l.last_k = g.k)
         SELECT cohort, segment, CAST(k AS BIGINT) AS period_offset, size AS cohort_customers,
           CAST(active AS BIGINT) AS active_customers,
           ROUND(100.0 * active / size, {PCT_DECIMALS}) AS active_pct,
           CAST(on_or_after AS BIGINT) AS active_on_or_after,
           ROUND(100.0 * on_or_after / size, {PCT_DECIMALS}) AS on_or_after_pct
         FROM x ORDER BY cohort, segment, period_offset",
        grid = grid_sql(p),
    )
}

fn revenue_sql(p: &Params) -> String {
    format!(
        "WITH g AS ({grid}),
         a AS (SELECT ci, segment, k, SUM(revenue_minor) AS revenue FROM {ACTIVITY} GROUP BY ci, segment, k),
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
    materialize(ctx, &members_sql(p), MEMBERS).await?;
    materialize(ctx, &activity_sql(p), ACTIVITY).await?;
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
    ctx.deregister_table(ACTIVITY)?;
    ctx.deregister_table(MEMBERS)?;
    Ok(out)
}
