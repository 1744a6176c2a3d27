//! Referrals (seeds 002, 004; SPEC §3 "Acquisition and referral"): who
//! brings whom, how many of the people referred become customers, what they
//! are worth, and the referral tree.
//!
//! A **referral** is a referral event on or before D (referrer `ck`,
//! `referred_id`), or a customer record's `referred_by` (dated by the
//! referred customer's sign-up, possibly undated). Each referred person has
//! one referrer: their earliest referral event (ties: the referrer first in
//! the register), else their `referred_by`. Self-referrals are dropped. So
//! revenue is never credited twice and the referrals form trees, except for
//! cycles (A refers B, B refers A), which bad data can hold.
//!
//! A referred person **converted** when they pay at D with a first payment
//! on or after the referral day (any day for an undated one): a customer
//! who already paid before being "referred" was not brought by it. Their
//! **revenue** is their net order revenue up to D (refunds negative).
//!
//! The **tree** lists each referral with its root: a referrer nobody
//! referred, expanded level by level (one plan per level) up to
//! [`MAX_DEPTH`] levels and stopping at the first empty level. A cycle has
//! no such root: its members are found by expanding from every referrer
//! left unplaced and keeping those that reach themselves; the member first
//! in the register roots the cycle's tree, and the row whose referred is
//! the root closes the cycle (nothing is expanded from it, so nothing
//! loops). Chains deeper than [`MAX_DEPTH`] are cut there.

use super::acquisition::CUSTOMERS;
use crate::report::{section, Section};
use crate::{EngineError, Params};
use datafusion::prelude::SessionContext;

/// Materialised referrals, one per referred person: `(ck, referred_ck,
/// referred_id, day, converted, revenue_minor)`, `ck` the referrer.
const EDGES: &str = "referral_edges";

/// Deepest level of the referral tree.
pub(crate) const MAX_DEPTH: usize = 10;

/// Decimals of ratios.
const RATIO_DECIMALS: u32 = 2;
/// Decimals of percentages.
const PCT_DECIMALS: u32 = 1;

/// SQL of [`EDGES`].
fn edges_sql(p: &Params) -> String {
    let d = p.d;
    format!(
        "WITH ev AS (SELECT r.ck, r.referred_id, r.day, 0 AS pri, c.ck AS referred_ck
           FROM referrals r LEFT JOIN customers c ON c.customer_id = r.referred_id
           WHERE r.day <= {d}),
         rb AS (SELECT r.ck, c.customer_id AS referred_id, c.signup_day AS day, 1 AS pri,
             c.ck AS referred_ck
           FROM customers c JOIN customers r ON r.customer_id = c.referred_by
           WHERE c.referred_by IS NOT NULL AND (c.signup_day IS NULL OR c.signup_day <= {d})),
         u AS (SELECT * FROM ev UNION ALL SELECT * FROM rb),
         -- The first edge of each referred id: in one ordered pass, the row
         -- whose predecessor is of another id (a window per id runs slowly
         -- over hundreds of thousands of one-row partitions).
         one AS (SELECT * FROM (SELECT u.*,
               row_number() OVER w = 1 OR lag(referred_id) OVER w IS DISTINCT FROM referred_id AS first
             FROM u WHERE referred_ck IS NULL OR referred_ck <> ck
             WINDOW w AS (ORDER BY referred_id, pri, day, ck))
           WHERE first)
         SELECT one.ck, one.referred_ck, one.referred_id, one.day,
           COALESCE(a.first_pay_day >= one.day OR (a.first_pay_day IS NOT NULL AND one.day IS NULL),
             false) AS converted,
           COALESCE(a.net_minor, 0) AS revenue_minor
         FROM one LEFT JOIN {CUSTOMERS} a ON a.ck = one.referred_ck"
    )
}

/// SQL of `referrers`: every referrer, most referrals first.
fn referrers_sql(p: &Params) -> String {
    format!(
        "SELECT c.customer_id, {seg} AS segment, COUNT(*) AS referrals,
           SUM(CASE WHEN e.converted THEN 1 ELSE 0 END) AS referred_customers,
           SUM(CASE WHEN e.converted THEN e.revenue_minor ELSE 0 END) AS referred_revenue_minor
         FROM {EDGES} e JOIN customers c ON c.ck = e.ck{seg_join}
         GROUP BY c.customer_id, {seg}
         ORDER BY referrals DESC, referred_revenue_minor DESC, customer_id",
        seg = p.segment_sql(),
        seg_join = p.seg_join("e"),
    )
}

/// SQL of `referral_summary`, per segment of the referrer.
fn summary_sql(p: &Params) -> String {
    let segments = match p.by {
        None => "SELECT 'all' AS segment".to_string(),
        Some(_) => "SELECT segment FROM r UNION SELECT segment FROM pc".to_string(),
    };
    format!(
        "WITH r AS (SELECT {seg} AS segment, COUNT(DISTINCT e.ck) AS referrers, COUNT(*) AS referrals,
             SUM(CASE WHEN e.converted THEN 1 ELSE 0 END) AS converted,
             SUM(CASE WHEN e.converted THEN e.revenue_minor ELSE 0 END) AS revenue
           FROM {EDGES} e{seg_join} GROUP BY 1),
         pc AS (SELECT segment, COUNT(*) AS customers FROM {CUSTOMERS}
           WHERE first_pay_day IS NOT NULL GROUP BY segment),
         s AS ({segments}),
         x AS (SELECT s.segment, COALESCE(r.referrers, 0) AS referrers,
             COALESCE(r.referrals, 0) AS referrals, COALESCE(r.converted, 0) AS converted,
             COALESCE(r.revenue, 0) AS revenue, COALESCE(pc.customers, 0) AS customers
           FROM s LEFT JOIN r ON r.segment = s.segment LEFT JOIN pc ON pc.segment = s.segment)
         SELECT segment, CAST(referrers AS BIGINT) AS referrers, CAST(referrals AS BIGINT) AS referrals,
           CASE WHEN referrers > 0 THEN ROUND(CAST(referrals AS DOUBLE) / referrers, {RATIO_DECIMALS}) END
             AS referrals_per_referrer,
           CAST(customers AS BIGINT) AS paying_customers,
           CASE WHEN customers > 0 THEN ROUND(CAST(referrals AS DOUBLE) / customers, {RATIO_DECIMALS}) END
             AS referrals_per_customer,
           CAST(converted AS BIGINT) AS referred_customers,
           CASE WHEN referrals > 0 THEN ROUND(100.0 * converted / referrals, {PCT_DECIMALS}) END
             AS conversion_pct,
           CAST(revenue AS BIGINT) AS referred_revenue_minor,
           CASE WHEN converted > 0 THEN CAST(ROUND(CAST(revenue AS DOUBLE) / converted) AS BIGINT) END
             AS revenue_per_referred_customer_minor
         FROM x ORDER BY segment",
        seg = p.segment_sql(),
        seg_join = p.seg_join("e"),
    )
}

/// Runs `sql`, registers its result as `table` and returns its row count.
async fn materialize_counted(
    ctx: &SessionContext,
    sql: &str,
    table: &str,
) -> Result<usize, EngineError> {
    let plan = ctx.sql(sql).await?.create_physical_plan().await?;
    let batches =
        datafusion::physical_plan::collect_partitioned(plan.clone(), ctx.task_ctx()).await?;
    let rows = batches.iter().flatten().map(|b| b.num_rows()).sum();
    crate::facts::register_batches(ctx, plan.as_ref(), batches, table)?;
    Ok(rows)
}

/// Columns of a tree level: `(root, ck, referred_ck, referred_id,
/// converted, depth)`.
const LEVEL_COLUMNS: &str = "e.ck, e.referred_ck, e.referred_id, e.converted";

/// Expands the tree from the level-1 rows of `first_sql` (which selects
/// `root` and [`LEVEL_COLUMNS`] from `referral_edges e`), registering one
/// table per non-empty level named `<prefix>_<depth>`; returns their names.
async fn expand(
    ctx: &SessionContext,
    prefix: &str,
    first_sql: &str,
) -> Result<Vec<String>, EngineError> {
    let mut levels: Vec<String> = Vec::new();
    let mut sql = first_sql.to_string();
    for depth in 1..=MAX_DEPTH {
        let name = format!("{prefix}_{depth}");
        if materialize_counted(ctx, &sql, &name).await? == 0 {
            ctx.deregister_table(&name)?;
            break;
        }
        // Nothing grows from a row that came back to its root: a cycle
        // closes there instead of looping.
        sql = format!(
            "SELECT t.root, {LEVEL_COLUMNS}, {next} AS depth
             FROM {name} t JOIN {EDGES} e ON e.ck = t.referred_ck
             WHERE t.referred_ck <> t.root",
            next = depth + 1
        );
        levels.push(name);
    }
    Ok(levels)
}

/// `UNION ALL` of the level tables (an empty selection of the same shape
/// when there are none).
fn union_of(levels: &[String]) -> String {
    if levels.is_empty() {
        return format!(
            "SELECT e.ck AS root, {LEVEL_COLUMNS}, 1 AS depth FROM {EDGES} e WHERE false"
        );
    }
    levels
        .iter()
        .map(|l| format!("SELECT * FROM {l}"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// The `referral_tree` section: rooted trees first, then cycles.
async fn tree(ctx: &SessionContext) -> Result<Section, EngineError> {
    let rooted = expand(
        ctx,
        "referral_tree_rooted",
        &format!(
            "SELECT e.ck AS root, {LEVEL_COLUMNS}, 1 AS depth FROM {EDGES} e
             WHERE e.ck NOT IN (SELECT referred_ck FROM {EDGES} WHERE referred_ck IS NOT NULL)"
        ),
    )
    .await?;
    let placed = union_of(&rooted);
    // Referrers no rooted tree reached: members of cycles, the trees
    // hanging from them, and chains cut at MAX_DEPTH.
    let cyclic = expand(
        ctx,
        "referral_tree_cyclic",
        &format!(
            "WITH pl AS ({placed})
             SELECT e.ck AS root, {LEVEL_COLUMNS}, 1 AS depth FROM {EDGES} e
             WHERE e.ck NOT IN (SELECT root FROM pl)
               AND e.ck NOT IN (SELECT referred_ck FROM pl WHERE referred_ck IS NOT NULL)"
        ),
    )
    .await?;
    let sql = format!(
        "WITH pl AS ({placed}),
         cy AS ({cyc}),
         members AS (SELECT DISTINCT root FROM cy WHERE referred_ck = root),
         roots AS (SELECT m.root FROM members m WHERE NOT EXISTS
           (SELECT 1 FROM cy JOIN members m2 ON m2.root = cy.root
            WHERE cy.referred_ck = m.root AND cy.root < m.root)),
         t AS (SELECT * FROM pl UNION ALL SELECT * FROM cy WHERE root IN (SELECT root FROM roots))
         SELECT r.customer_id AS root_id, f.customer_id AS referrer_id, t.referred_id,
           CAST(t.depth AS BIGINT) AS depth, t.converted
         FROM t JOIN customers r ON r.ck = t.root JOIN customers f ON f.ck = t.ck
         ORDER BY root_id, depth, referrer_id, referred_id",
        cyc = union_of(&cyclic),
    );
    let out = section(
        ctx,
        "referral_tree",
        &format!("Referral tree: every referral with its root referrer and depth (up to {MAX_DEPTH} levels; in a cycle the row back to the root closes it)"),
        &sql,
    )
    .await?;
    for l in rooted.iter().chain(&cyclic) {
        ctx.deregister_table(l)?;
    }
    Ok(out)
}

/// `referrers`, `referral_summary` and `referral_tree`. Reads the table of
/// [`super::acquisition::prepare`].
pub(crate) async fn sections(
    ctx: &SessionContext,
    p: &Params,
) -> Result<Vec<Section>, EngineError> {
    crate::facts::materialize(ctx, &edges_sql(p), EDGES).await?;
    let out = vec![
        section(
            ctx,
            "referral_summary",
            "Referrals to the as-of date: referrers, people referred, those who became paying customers after the referral (conversion) and their net revenue",
            &summary_sql(p),
        )
        .await?,
        section(
            ctx,
            "referrers",
            "Referrals per referrer: people referred, those who became customers, their net revenue",
            &referrers_sql(p),
        )
        .await?,
        tree(ctx).await?,
    ];
    ctx.deregister_table(EDGES)?;
    Ok(out)
}
