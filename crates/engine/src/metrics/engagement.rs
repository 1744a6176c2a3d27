//! Engagement (seed 003, SPEC §3): how often customers interact.
//!
//! An **interaction** is a qualifying event of [`Params::interactions_sql`]
//! (the kinds of `qualifying`, on or before D); a customer is **active on a
//! day** when they have at least one. Per trend period, counting its days up
//! to D only:
//! - `avg_dau`: customers active on each day, averaged over the days of
//!   the period (days without activity count as 0);
//! - `avg_wau`: customers active in the 7 days ending on each day (a
//!   trailing window, so it is defined on every day and for every
//!   granularity), averaged over the days of the period;
//! - `active_customers`: customers active in the period (MAU for monthly
//!   periods);
//! - `stickiness_pct` = avg DAU / active customers × 100 (DAU/MAU);
//! - `interactions_per_active` = interactions / active customers;
//! - `repeat_visitors`: customers active on 2 or more distinct days of the
//!   period, and their share of the active customers.
//!
//! `engagement_by_channel` splits the interactions of the current period by
//! source kind (contacts by their channel), and `stickiness_histogram`
//! counts the customers of the current period by their active days.

use crate::facts::materialize;
use crate::report::{section, Section};
use crate::{EngineError, Params};
use datafusion::prelude::SessionContext;

/// Materialised active days: `(ck, segment, days)`, one row per customer
/// with an interaction, `days` the set of their active days from
/// [`set_from`] to D (see `day_set.rs`).
const DAYS: &str = "engagement_days";

/// Length of the trailing window of WAU, in days.
const WAU_DAYS: i32 = 7;

/// Least distinct active days in a period that make a repeat visitor.
const REPEAT_MIN_DAYS: i32 = 2;

/// Decimals of the percentages.
const PCT_DECIMALS: u32 = 1;

/// Decimals of averages (DAU, WAU, interactions per customer).
const AVG_DECIMALS: u32 = 2;

/// The split segments to show: `'all'` alone, or those of the active customers.
fn segments_sql(p: &Params) -> String {
    match p.by {
        None => "(SELECT 'all' AS segment)".into(),
        Some(_) => format!("(SELECT DISTINCT segment FROM {DAYS})"),
    }
}

/// First day of the day sets: the earliest WAU window ends on the first day
/// of the first period and starts WAU_DAYS − 1 days before it.
fn set_from(p: &Params) -> i32 {
    p.first_start() - WAU_DAYS + 1
}

/// SQL of the active-days table: one aggregation of the interactions by
/// customer, the split attribute joined on the (far fewer) customers.
fn days_sql(p: &Params) -> String {
    let from = set_from(p);
    format!(
        "SELECT s.ck, {seg} AS segment, s.days
         FROM (SELECT ck, cl_day_set(day, {from}, {n}) AS days FROM ({events}) GROUP BY ck) s{seg_join}",
        n = p.d - from + 1,
        events = p.interactions_sql(from - 1),
        seg = p.segment_sql(),
        seg_join = p.seg_join("s"),
    )
}

/// SQL of the `engagement` trend. Each customer's day set is read once for
/// all periods: active days in the period (DAU summed over its days, active
/// customers, repeat visitors) and days in a 7-day window with an active
/// day (WAU summed over the period's days: a customer counts in the WAU of
/// every day t whose window (t − 7, t] holds one of their active days).
fn engagement_sql(p: &Params) -> String {
    let first = p.first_start();
    let from = set_from(p);
    // One pass over the customers' sets (`cl_period_activity`): four sums
    // per period in one value per segment, then one row per period and
    // segment. (A join of every customer with every period would make a
    // row per pair; a column per period and sum, 144 columns of a million
    // rows at 36 periods.)
    let mut starts = Vec::new();
    let mut ends = Vec::new();
    let mut words = Vec::new();
    for (i, (start, next)) in p.periods().into_iter().enumerate() {
        starts.push(start.to_string());
        ends.push(next.min(p.d + 1).to_string());
        words.push(format!(
            "(CAST({start} AS BIGINT), CAST({} AS BIGINT))",
            i * crate::period_activity::WORDS_PER_PERIOD
        ));
    }
    format!(
        "WITH per AS {periods},
         g AS (SELECT per.p, per.last_day, s.segment FROM per CROSS JOIN {segments} s),
         w AS (SELECT {w_segment} AS segment,
             cl_period_activity(days, {from}, '{starts}', '{ends}', {WAU_DAYS}, {REPEAT_MIN_DAYS}) AS s
           FROM {DAYS}{w_group}),
         -- `w` is read once, joined with the periods: a CTE named in
         -- several branches of a UNION is computed once per branch.
         k AS (SELECT * FROM (VALUES {words}) AS t(p, k)),
         m AS (SELECT k.p, w.segment, cl_word(w.s, k.k) AS dau_sum,
             cl_word(w.s, k.k + 1) AS wau_sum, cl_word(w.s, k.k + 2) AS active,
             cl_word(w.s, k.k + 3) AS repeats
           FROM w CROSS JOIN k),
         -- Counted per day first (a few hundred groups), so that the
         -- period of a day is worked out per day, not per event.
         i0 AS (SELECT e.day, {seg} AS segment, COUNT(*) AS n
           FROM ({events}) e{seg_join} GROUP BY 1, 2),
         i AS (SELECT {period} AS p, segment, SUM(n) AS interactions FROM i0 GROUP BY 1, 2),
         y AS (SELECT g.p, g.segment, CAST(g.last_day - g.p + 1 AS DOUBLE) AS n_days,
             COALESCE(m.dau_sum, 0) AS dau_sum, COALESCE(m.wau_sum, 0) AS wau_sum,
             COALESCE(m.active, 0) AS active, COALESCE(i.interactions, 0) AS interactions,
             COALESCE(m.repeats, 0) AS repeats
           FROM g LEFT JOIN m ON m.p = g.p AND m.segment = g.segment
             LEFT JOIN i ON i.p = g.p AND i.segment = g.segment)
         SELECT arrow_cast(p, 'Date32') AS period, segment,
           ROUND(dau_sum / n_days, {AVG_DECIMALS}) AS avg_dau,
           ROUND(wau_sum / n_days, {AVG_DECIMALS}) AS avg_wau,
           CAST(active AS BIGINT) AS active_customers,
           -- No active customer: no stickiness rather than a division by zero.
           CASE WHEN active > 0 THEN ROUND(100.0 * dau_sum / n_days / active, {PCT_DECIMALS}) END
             AS stickiness_pct,
           CAST(interactions AS BIGINT) AS interactions,
           CASE WHEN active > 0 THEN ROUND(CAST(interactions AS DOUBLE) / active, {AVG_DECIMALS}) END
             AS interactions_per_active,
           CAST(repeats AS BIGINT) AS repeat_visitors,
           CASE WHEN active > 0 THEN ROUND(100.0 * repeats / active, {PCT_DECIMALS}) END
             AS repeat_pct
         FROM y ORDER BY period, segment",
        periods = p.periods_values(),
        segments = segments_sql(p),
        // Unsplit, one aggregate over all the customers: grouping a million
        // rows by the same string costs a hash of each.
        w_segment = if p.by.is_some() { "segment" } else { "'all'" },
        w_group = if p.by.is_some() { " GROUP BY segment" } else { "" },
        starts = starts.join(","),
        ends = ends.join(","),
        words = words.join(", "),
        period = p.period_of("day"),
        events = p.interactions_sql(first - 1),
        seg = p.segment_sql(),
        seg_join = p.seg_join("e"),
    )
}

/// A `(ck, day, source)` union of the qualifying events in `(from, D]`,
/// the same kinds and filters as [`Params::interactions_sql`], each labelled
/// with its source (`contact_<channel>` for contacts).
fn sourced_sql(p: &Params, from: i32) -> String {
    let c = &p.config;
    let w = format!("day > {from} AND day <= {}", p.d);
    let mut parts = Vec::new();
    if c.qualifies("order") {
        parts.push(format!(
            "SELECT ck, day, 'order' AS source FROM orders WHERE amount_minor > 0 AND {w}"
        ));
    }
    if c.qualifies("support") {
        parts.push(format!(
            "SELECT ck, day, 'support' AS source FROM support WHERE {w}"
        ));
    }
    let contact =
        "SELECT ck, day, concat('contact_', CAST(channel AS VARCHAR)) AS source FROM contacts";
    if c.qualifies("contact") {
        parts.push(format!("{contact} WHERE {w}"));
    } else if c.qualifies("contact_inbound") {
        parts.push(format!("{contact} WHERE direction = 'inbound' AND {w}"));
    }
    for (kind, table) in [
        ("usage", "usage"),
        ("survey", "surveys"),
        ("loyalty", "loyalty"),
        ("subscription", "subscriptions"),
    ] {
        if c.qualifies(kind) {
            parts.push(format!(
                "SELECT ck, day, '{kind}' AS source FROM {table} WHERE {w}"
            ));
        }
    }
    if parts.is_empty() {
        return "SELECT CAST(0 AS BIGINT) AS ck, CAST(0 AS INT) AS day, 'none' AS source WHERE false"
            .into();
    }
    parts.join(" UNION ALL ")
}

/// The start of the current period (the one holding D).
fn current_start(p: &Params) -> i32 {
    p.periods().last().map_or(p.d, |(s, _)| *s)
}

/// SQL of `engagement_by_channel`: per source of the current period, the
/// customers who used it, its interactions, interactions per customer of
/// that source and per active customer of the period (these add up to the
/// period's `interactions_per_active`).
fn by_channel_sql(p: &Params) -> String {
    let cur = current_start(p);
    format!(
        "WITH e AS (SELECT e.ck, e.source, {seg} AS segment
             FROM ({events}) e{seg_join}),
         t AS (SELECT segment, COUNT(DISTINCT ck) AS active FROM e GROUP BY segment)
         SELECT e.segment, e.source, COUNT(DISTINCT e.ck) AS source_customers,
           COUNT(*) AS interactions,
           ROUND(CAST(COUNT(*) AS DOUBLE) / COUNT(DISTINCT e.ck), {AVG_DECIMALS})
             AS interactions_per_source_customer,
           ROUND(CAST(COUNT(*) AS DOUBLE) / MAX(t.active), {AVG_DECIMALS})
             AS interactions_per_active
         FROM e JOIN t ON t.segment = e.segment
         GROUP BY e.segment, e.source ORDER BY e.segment, interactions DESC, e.source",
        events = sourced_sql(p, cur - 1),
        seg = p.segment_sql(),
        seg_join = p.seg_join("e"),
    )
}

/// SQL of `stickiness_histogram`: customers of the current period by their
/// number of active days, only the numbers some customer has.
fn histogram_sql(p: &Params) -> String {
    format!(
        "WITH c AS (SELECT segment, cl_day_count(days, {from}, {cur}, {end}) AS active_days
             FROM {DAYS}),
         a AS (SELECT * FROM c WHERE active_days > 0),
         t AS (SELECT segment, COUNT(*) AS active FROM a GROUP BY segment)
         SELECT a.segment, CAST(a.active_days AS BIGINT) AS active_days, COUNT(*) AS customers,
           ROUND(100.0 * COUNT(*) / MAX(t.active), {PCT_DECIMALS}) AS pct
         FROM a JOIN t ON t.segment = a.segment
         GROUP BY a.segment, a.active_days ORDER BY a.segment, active_days",
        from = set_from(p),
        cur = current_start(p),
        end = p.d + 1,
    )
}

/// `engagement` (per trend period), `engagement_by_channel` and
/// `stickiness_histogram` (current period).
pub(crate) async fn sections(
    ctx: &SessionContext,
    p: &Params,
) -> Result<Vec<Section>, EngineError> {
    let mut clock = crate::Clock::new();
    materialize(ctx, &days_sql(p), DAYS).await?;
    clock.lap("engagement: active days");
    let g = p.granularity.name();
    let trend = section(
        ctx,
        "engagement",
        &format!("Engagement per {g} (average DAU and 7-day WAU, active customers, stickiness = DAU / active × 100, repeat visitors)"),
        &engagement_sql(p),
    )
    .await?;
    clock.lap("engagement: trend");
    let out = vec![
        trend,
        section(
            ctx,
            "engagement_by_channel",
            &format!("Interactions by source in the current {g}"),
            &by_channel_sql(p),
        )
        .await?,
        section(
            ctx,
            "stickiness_histogram",
            &format!("Customers by active days in the current {g}"),
            &histogram_sql(p),
        )
        .await?,
    ];
    ctx.deregister_table(DAYS)?;
    Ok(out)
}
