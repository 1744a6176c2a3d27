//! Subscription revenue (seed 003, SPEC §3): MRR and ARR per period, and the
//! MRR movements of every customer from one snapshot to the next.
//!
//! A subscription's state on a day is its latest change on or before that
//! day. Its MRR is the recurring amount normalised to a month
//! ([`MONTHLY_FACTORS`], rounded to the minor unit) while its status is
//! `active` or `past_due` (and `paused` when `mrr_paused_counts` is set),
//! else 0: a trial is worth nothing until it converts. A customer's MRR is
//! the sum over their subscriptions.
//!
//! Snapshots are taken at every month end (the as-of day for the current
//! month) for month, quarter and year granularity — a quarter's or year's
//! movements are the sums of its months' — and at every period end for
//! week and day. Between two snapshots each customer has at most one
//! movement, from their MRR `s` at the first to `e` at the second:
//! `new` (s = 0 < e, first MRR ever, or back after longer than
//! `mrr_reactivation_window_days` at zero), `reactivation` (s = 0 < e,
//! back within the window), `expansion` (0 < s < e), `contraction`
//! (0 < e < s) and `churn` (s > 0 = e). So an upgrade and a downgrade
//! between two month ends are one net movement, cancelling one of several
//! subscriptions is a contraction and cancelling the last is churn (as in
//! ChartMogul). A customer whose MRR starts and stops between two snapshots
//! gets `new` (or `reactivation`) and `churn` of the MRR of their first paid
//! day only under `mrr_count_same_period`. Under `mrr_churn_at =
//! period_end` a cancelled subscription keeps the MRR it had until the end
//! of the billing period paid before the cancellation (`cl_paid_until`).
//!
//! Every customer-step is materialised once in [`TABLE`]; the `mrr` section
//! aggregates it per period, `mrr_movements` lists it per customer.

use super::mrr_movements;
use crate::facts::materialize;
use crate::params::{date_of, day_of};
use crate::report::{section, Clock, Section};
use crate::{EngineError, Params};
use chrono::{Datelike, Months, NaiveDate};
use clientela_core::config::MrrChurnAt;
use clientela_core::Granularity;
use datafusion::arrow::array::{Array, Int32Array, Int64Array, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{create_udf, ColumnarValue, Volatility};
use datafusion::prelude::SessionContext;
use std::sync::Arc;

/// Name of the materialised table: one row per customer and snapshot step
/// with MRR at both ends and the movement amounts (`*_minor`).
pub(crate) const TABLE: &str = "mrr_steps";

/// Statuses whose subscription has MRR (SPEC §1: the active ones).
const BILLED: &str = "'active', 'past_due'";
/// Statuses after which a subscription has no MRR any more; under
/// `period_end` what was paid before them lasts to the renewal date.
const ENDING: &str = "('cancelled', 'ended')";

/// MRR of an amount per billing interval: amount × `num` / (`den` ×
/// `interval_count`), i.e. × (billing periods in a year) / 12, with a year
/// of 365.25 days; exact integer fractions, so the rounding to the minor
/// unit (half away from zero) is exact too.
pub(crate) const MONTHLY_FACTORS: &[(&str, i64, i64)] = &[
    ("day", 1461, 48),   // 365.25 / 12 = 1461 / 48
    ("week", 1461, 336), // 365.25 / 7 / 12
    ("month", 1, 1),
    ("quarter", 1, 3),
    ("year", 1, 12),
];

/// Average days in a month (365.25 / 12): turns a weekly or daily customer
/// churn rate into a monthly one for the subscription LTV.
const DAYS_PER_MONTH: f64 = 365.25 / 12.0;

/// Largest day number, the end of a span with no end.
const NO_END: i32 = i32::MAX;

/// One snapshot step: each customer's movement from the snapshot on
/// `prev_day` to the one on `day`, counted in the trend period `period`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Step {
    /// Snapshot day: the month's (or period's) last day, or the as-of day.
    pub day: i32,
    /// The previous snapshot day.
    pub prev_day: i32,
    /// Start of the trend period the step belongs to.
    pub period: i32,
    /// First step of its period: its start MRR is the period's.
    pub first: bool,
    /// Last step of its period: its end MRR is the period's.
    pub last: bool,
}

/// Whether MRR is snapshot at month ends (month, quarter, year) rather
/// than at period ends (week, day).
fn monthly_steps(g: Granularity) -> bool {
    matches!(
        g,
        Granularity::Month | Granularity::Quarter | Granularity::Year
    )
}

/// The snapshot steps of the trend periods, oldest first; the first
/// snapshot before them is the day before the first period.
pub(crate) fn steps(p: &Params) -> Vec<Step> {
    let monthly = monthly_steps(p.granularity);
    let mut out: Vec<Step> = Vec::new();
    let mut prev_day = p.first_start() - 1;
    for (start, end) in p.periods() {
        let mut from = start;
        let mut first = true;
        while from < end && from <= p.d {
            let next = if monthly {
                day_of(Granularity::Month.next_start(date_of(from)))
            } else {
                end
            };
            let day = (next - 1).min(p.d);
            out.push(Step {
                day,
                prev_day,
                period: start,
                first,
                last: false,
            });
            first = false;
            prev_day = day;
            from = next;
        }
        if let Some(step) = out.last_mut() {
            step.last = true;
        }
    }
    out
}

/// SQL of the monthly amount of a `subscriptions` row, in minor units.
fn monthly_amount_sql() -> String {
    let case = |pick: fn(&(&str, i64, i64)) -> i64| {
        let whens: Vec<String> = MONTHLY_FACTORS
            .iter()
            .map(|f| format!("WHEN '{}' THEN {}", f.0, pick(f)))
            .collect();
        format!("CASE \"interval\" {} ELSE 1 END", whens.join(" "))
    };
    format!(
        "CAST(ROUND(CAST(amount_minor * {num} AS DOUBLE) / CAST({den} * COALESCE(interval_count, 1) AS DOUBLE)) AS BIGINT)",
        num = case(|f| f.1),
        den = case(|f| f.2),
    )
}

/// Materialised spans of MRR: `(ck, from_day, to_day, m)`, each day in
/// `[from_day, to_day)` (open-ended when `to_day` is null) worth `m` > 0.
const PAID: &str = "mrr_paid";
/// Materialised MRR of each customer at each snapshot (see
/// [`snapshots_sql`]): read twice by [`pairs_sql`], so computed once.
const SNAPSHOTS: &str = "mrr_snapshots";
/// Materialised MRR of each customer at both ends of each step (see [`pairs_sql`]).
const PAIRS: &str = "mrr_pairs";

/// The steps as SQL `VALUES` `b(k, bday, prev_bday, p, first_step,
/// last_step)`; step 0 is only the snapshot before the first period.
fn steps_values(p: &Params, steps: &[Step]) -> String {
    let mut rows = vec![format!(
        "(0, {b0}, {b0}, 0, false, false)",
        b0 = p.first_start() - 1
    )];
    rows.extend(steps.iter().enumerate().map(|(i, s)| {
        format!(
            "({}, {}, {}, {}, {}, {})",
            i + 1,
            s.day,
            s.prev_day,
            s.period,
            s.first,
            s.last
        )
    }));
    format!(
        "(SELECT column1 AS k, column2 AS bday, column3 AS prev_bday, column4 AS p,
             column5 AS first_step, column6 AS last_step FROM (VALUES {}))",
        rows.join(", ")
    )
}

/// The spans of [`PAID`] from the subscription changes to the as-of day.
fn paid_sql(p: &Params) -> String {
    let c = &p.config;
    let billed = if c.mrr_paused_counts {
        format!("({BILLED}, 'paused')")
    } else {
        format!("({BILLED})")
    };
    // Under `period_end`, the change that ends a paying run opens one more
    // span at the MRR paid before it, to the renewal date (or the next change).
    let paid_out = match c.mrr_churn_at {
        MrrChurnAt::Cancellation => String::new(),
        MrrChurnAt::PeriodEnd => format!(
            " UNION ALL SELECT ck, day AS from_day,
                 CASE WHEN COALESCE(to_day, {NO_END}) < paid_until THEN to_day ELSE paid_until END AS to_day,
                 prev_m AS m
               FROM (SELECT *, cl_paid_until(anchor, day, prev_billing, prev_count) AS paid_until
                     FROM ev3 WHERE status IN {ENDING} AND prev_paying)"
        ),
    };
    let prev = |col: &str| super::same_subscription("lag", col);
    let running = format!(
        "OVER ({} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)",
        super::SUBSCRIPTION_ORDER
    );
    // `anchor`: the day the paying run of the row's subscription started.
    // Over all changes in subscription order, a running maximum of the run
    // starts keyed by the subscription's number (`sub_seq` · 2³² + day + 2³¹)
    // is the latest start of the row's subscription when its key says so.
    format!(
        "WITH ev AS (SELECT ck, subscription_id, time, day, status, \"interval\" AS billing,
             COALESCE(interval_count, 1) AS billing_count, {m} AS m,
             (status IN {billed} AND {m} > 0) AS paying
           FROM subscriptions WHERE day <= {d}),
         ev2 AS (SELECT *, {to_day} AS to_day, {prev_paying} AS prev_paying,
             {prev_m} AS prev_m, {prev_billing} AS prev_billing, {prev_count} AS prev_count,
             CASE WHEN {same_as_previous} THEN 0 ELSE 1 END AS first_change
           FROM ev),
         ev2b AS (SELECT *, SUM(first_change) {running} AS sub_seq FROM ev2),
         ev2c AS (SELECT *, MAX(CASE WHEN paying AND NOT COALESCE(prev_paying, false)
               THEN sub_seq * {KEY_SPAN} + (CAST(day AS BIGINT) + {DAY_BIAS}) END) {running} AS anchor_key
           FROM ev2b),
         ev3 AS (SELECT *, CASE WHEN anchor_key / {KEY_SPAN} = sub_seq
               THEN CAST(anchor_key % {KEY_SPAN} - {DAY_BIAS} AS INT) END AS anchor
           FROM ev2c)
         SELECT ck, from_day, to_day, m FROM (
             SELECT ck, day AS from_day, to_day, m FROM ev3 WHERE paying{paid_out}) x
         WHERE to_day IS NULL OR to_day > from_day",
        m = monthly_amount_sql(),
        d = p.d,
        same_as_previous = super::is_same_subscription("lag"),
        to_day = super::next_change_day(),
        prev_paying = prev("paying"),
        prev_m = prev("m"),
        prev_billing = prev("billing"),
        prev_count = prev("billing_count"),
    )
}

/// Days per subscription number in the packed run-start keys of
/// [`paid_sql`]: 2³².
const KEY_SPAN: i64 = 1 << 32;
/// Bias that makes every Int32 day non-negative: 2³¹.
const DAY_BIAS: i64 = 1 << 31;

/// [`PAIRS`]: per customer and step `k` ≥ 1, MRR at the previous snapshot
/// (`mrr_start`) and at this one (`mrr_end`), and the first day a span
/// starts within the step (`first_day`) with the MRR starting that day
/// (`first_mrr`). A customer is listed for a step when one of these is set.
fn pairs_sql(p: &Params, steps: &[Step]) -> String {
    let b = steps_values(p, steps);
    let n = step_keys(steps);
    format!(
        "WITH b AS {b},
         -- The first day a span starts within the step and the MRR of the
         -- spans starting that day (`cl_first_day_total`), in one grouping.
         st1 AS (SELECT s.ck * {n} + b.k AS key, MIN(s.from_day) AS first_day,
             cl_first_day_total(s.from_day, s.m) AS first_mrr
           FROM {PAID} s JOIN b ON b.k >= 1 AND s.from_day > b.prev_bday AND s.from_day <= b.bday
           GROUP BY 1),
         pairs AS (SELECT ck * {n} + k AS key, CAST(0 AS BIGINT) AS mrr_start, mrr AS mrr_end,
             CAST(NULL AS INT) AS first_day, CAST(0 AS BIGINT) AS first_mrr
           FROM {SNAPSHOTS} WHERE k >= 1
           UNION ALL SELECT ck * {n} + k + 1, mrr, CAST(0 AS BIGINT), CAST(NULL AS INT), CAST(0 AS BIGINT)
           FROM {SNAPSHOTS} WHERE k < {last_k}
           UNION ALL SELECT key, CAST(0 AS BIGINT), CAST(0 AS BIGINT), first_day, first_mrr FROM st1)
         SELECT key / {n} AS ck, key % {n} AS k, SUM(mrr_start) AS mrr_start, SUM(mrr_end) AS mrr_end,
           MIN(first_day) AS first_day, SUM(first_mrr) AS first_mrr FROM pairs GROUP BY key",
        last_k = steps.len(),
    )
}

/// [`SNAPSHOTS`]: each customer's MRR at each snapshot `k` where it is
/// not zero.
fn snapshots_sql(p: &Params, steps: &[Step]) -> String {
    let n = step_keys(steps);
    format!(
        "WITH b AS {b}
         SELECT key / {n} AS ck, key % {n} AS k, mrr FROM (
           SELECT s.ck * {n} + b.k AS key, SUM(s.m) AS mrr FROM {PAID} s
             JOIN b ON s.from_day <= b.bday AND (s.to_day IS NULL OR s.to_day > b.bday)
             WHERE s.to_day IS NULL OR s.to_day > {b0} GROUP BY 1)",
        b = steps_values(p, steps),
        b0 = p.first_start() - 1,
    )
}

/// Snapshot numbers per customer in the keys `ck · n + k` that the
/// groupings by customer and snapshot use: one integer key groups several
/// times faster than the pair of columns.
fn step_keys(steps: &[Step]) -> usize {
    steps.len() + 2
}

/// [`TABLE`] from [`PAIRS`]: each customer-step's movement. An arrival
/// (MRR from zero) is a reactivation when the customer had MRR before
/// (`churn_day`: the day it last went to zero) within the window.
fn steps_sql(p: &Params, steps: &[Step]) -> String {
    let c = &p.config;
    let within = match c.mrr_reactivation_window_days {
        None => "true".to_string(),
        Some(w) => format!("g.first_day - cd.churn_day <= {w}"),
    };
    format!(
        "WITH b AS {b},
         cd AS (SELECT g.ck, g.k, MAX(s.to_day) AS churn_day FROM {PAIRS} g JOIN b ON b.k = g.k
             JOIN {PAID} s ON s.ck = g.ck AND s.from_day <= b.prev_bday
           WHERE g.mrr_start = 0 AND g.first_day IS NOT NULL GROUP BY g.ck, g.k),
         r AS (SELECT g.*, b.p AS period, b.bday, b.first_step, b.last_step,
             g.first_day - cd.churn_day AS days_since_churn,
             COALESCE(cd.churn_day IS NOT NULL AND {within}, false) AS returning,
             (g.mrr_start = 0 AND g.mrr_end = 0 AND g.first_day IS NOT NULL) AS same_period
           FROM {PAIRS} g JOIN b ON b.k = g.k LEFT JOIN cd ON cd.ck = g.ck AND cd.k = g.k),
         v AS (SELECT *,
             CASE WHEN mrr_start = 0 AND mrr_end > 0 THEN mrr_end WHEN same_period THEN first_mrr ELSE 0 END AS arrival
           FROM r WHERE mrr_start > 0 OR mrr_end > 0 OR ({count_same} AND same_period))
         SELECT v.ck, {seg} AS segment, v.k, v.period, v.bday AS snapshot_day, v.first_step, v.last_step,
           v.mrr_start AS mrr_start_minor, v.mrr_end AS mrr_end_minor,
           CASE WHEN v.returning THEN 0 ELSE v.arrival END AS new_minor,
           CASE WHEN v.mrr_start > 0 AND v.mrr_end > v.mrr_start THEN v.mrr_end - v.mrr_start ELSE 0 END AS expansion_minor,
           CASE WHEN v.returning THEN v.arrival ELSE 0 END AS reactivation_minor,
           CASE WHEN v.mrr_end > 0 AND v.mrr_end < v.mrr_start THEN v.mrr_start - v.mrr_end ELSE 0 END AS contraction_minor,
           CASE WHEN v.mrr_start > 0 AND v.mrr_end = 0 THEN v.mrr_start WHEN v.same_period THEN v.first_mrr ELSE 0 END AS churn_minor,
           v.days_since_churn
         FROM v{seg_join}",
        b = steps_values(p, steps),
        count_same = c.mrr_count_same_period,
        seg = p.segment_sql(),
        seg_join = p.seg_join("v"),
    )
}

/// Computes [`TABLE`] (through [`PAID`] and [`PAIRS`], each scanned by
/// several joins and so computed once).
pub(crate) async fn materialize_steps(ctx: &SessionContext, p: &Params) -> Result<(), EngineError> {
    register_udf(ctx);
    let mut clock = Clock::new();
    let steps = steps(p);
    materialize(ctx, &paid_sql(p), PAID).await?;
    clock.lap("mrr: paid spans");
    materialize(ctx, &snapshots_sql(p, &steps), SNAPSHOTS).await?;
    materialize(ctx, &pairs_sql(p, &steps), PAIRS).await?;
    ctx.deregister_table(SNAPSHOTS)?;
    clock.lap("mrr: customer MRR at each snapshot");
    materialize(ctx, &steps_sql(p, &steps), TABLE).await?;
    clock.lap("mrr: movements");
    ctx.deregister_table(PAIRS)?;
    ctx.deregister_table(PAID)?;
    Ok(())
}

/// `mrr` (per period) and `mrr_movements` (per customer and step).
pub(crate) async fn sections(
    ctx: &SessionContext,
    p: &Params,
) -> Result<Vec<Section>, EngineError> {
    materialize_steps(ctx, p).await?;
    let mut clock = Clock::new();
    let trend = section(ctx, "mrr", &title(p), &per_period_sql(p)).await?;
    clock.lap("mrr: per period");
    let movements = mrr_movements::section(ctx, p).await?;
    clock.lap("mrr: movements per customer");
    let out = vec![trend, movements];
    ctx.deregister_table(TABLE)?;
    Ok(out)
}

fn title(p: &Params) -> String {
    let window = match p.config.mrr_reactivation_window_days {
        None => "any time".to_string(),
        Some(w) => format!("within {w} days"),
    };
    format!(
        "Subscription revenue (MRR) per {} (snapshots at {} ends; churn at {}; reactivation {window})",
        p.granularity.name(),
        if monthly_steps(p.granularity) {
            "month"
        } else {
            p.granularity.name()
        },
        p.config.mrr_churn_at.name()
    )
}

/// The `mrr` section over [`TABLE`]: one row per period (and segment).
fn per_period_sql(p: &Params) -> String {
    let periods: Vec<String> = p
        .periods()
        .iter()
        .map(|(s, e)| format!("({s}, {})", e - s))
        .collect();
    // Customer churn per month: the steps' rate for monthly steps, else the
    // period's rate scaled from its length to a month.
    let per_month = if monthly_steps(p.granularity) {
        "1.0".to_string()
    } else {
        format!("{DAYS_PER_MONTH} / days")
    };
    let segments = match p.by {
        None => "SELECT 'all' AS segment".to_string(),
        Some(_) => format!("SELECT DISTINCT segment FROM {TABLE}"),
    };
    format!(
        "WITH s AS (SELECT * FROM {TABLE}),
         -- Growth MRR: expansion of the customers who had MRR when the
         -- period started (a hash aggregation per customer and period
         -- rather than a window, which would sort every row).
         -- Grouped by one integer key of customer and period (the segment
         -- is the customer's); a pair of columns groups several times slower.
         cg AS (SELECT key % {keys} + {first} AS period, {cg_segment} AS segment,
             SUM(expansion_minor) AS expansion_minor,
             MAX(mrr_start_minor) FILTER (WHERE first_step) AS period_start_minor
           FROM (SELECT *, ck * {keys} + (period - {first}) AS key FROM s
             WHERE expansion_minor > 0 OR first_step) GROUP BY key),
         gm AS (SELECT period, segment,
             SUM(expansion_minor) FILTER (WHERE period_start_minor > 0) AS growth_mrr_minor
           FROM cg GROUP BY period, segment),
         a AS (SELECT period, segment,
             SUM(mrr_start_minor) FILTER (WHERE first_step) AS mrr_start_minor,
             SUM(new_minor) AS new_minor, SUM(expansion_minor) AS expansion_minor,
             SUM(reactivation_minor) AS reactivation_minor, SUM(contraction_minor) AS contraction_minor,
             SUM(churn_minor) AS churn_minor,
             SUM(mrr_end_minor) FILTER (WHERE last_step) AS mrr_end_minor,
             COUNT(*) FILTER (WHERE first_step AND mrr_start_minor > 0) AS customers_start,
             COUNT(*) FILTER (WHERE last_step AND mrr_end_minor > 0) AS customers,
             COUNT(*) FILTER (WHERE mrr_start_minor > 0) AS step_base,
             COUNT(*) FILTER (WHERE mrr_start_minor > 0 AND mrr_end_minor = 0) AS churned_customers
           FROM s GROUP BY period, segment),
         per AS (SELECT column1 AS period, column2 AS days FROM (VALUES {periods})),
         seg AS ({segments}),
         x AS (SELECT per.period, per.days, seg.segment,
             COALESCE(a.mrr_start_minor, 0) AS mrr_start_minor, COALESCE(a.new_minor, 0) AS new_minor,
             COALESCE(a.expansion_minor, 0) AS expansion_minor, COALESCE(a.reactivation_minor, 0) AS reactivation_minor,
             COALESCE(a.contraction_minor, 0) AS contraction_minor, COALESCE(a.churn_minor, 0) AS churn_minor,
             COALESCE(a.mrr_end_minor, 0) AS mrr_end_minor, COALESCE(gm.growth_mrr_minor, 0) AS growth_mrr_minor,
             COALESCE(a.customers_start, 0) AS customers_start, COALESCE(a.customers, 0) AS customers,
             COALESCE(a.churned_customers, 0) AS churned_customers,
             CAST(a.churned_customers AS DOUBLE) / NULLIF(a.step_base, 0) AS step_churn
           FROM per CROSS JOIN seg LEFT JOIN a ON a.period = per.period AND a.segment = seg.segment
             LEFT JOIN gm ON gm.period = per.period AND gm.segment = seg.segment),
         y AS (SELECT *, step_churn * {per_month} AS churn_rate,
             CAST(mrr_end_minor AS DOUBLE) / NULLIF(customers, 0) AS arpa,
             ROUND(100.0 * (contraction_minor + churn_minor - expansion_minor - reactivation_minor)
               / NULLIF(mrr_start_minor, 0), 2) AS net_churn FROM x)
         SELECT arrow_cast(period, 'Date32') AS period, segment,
           mrr_start_minor, new_minor, expansion_minor, reactivation_minor, contraction_minor, churn_minor,
           mrr_end_minor,
           new_minor + expansion_minor + reactivation_minor - contraction_minor - churn_minor AS net_new_minor,
           growth_mrr_minor, 12 * mrr_end_minor AS arr_minor,
           customers_start, customers, churned_customers,
           ROUND(100.0 * churn_rate, 2) AS customer_churn_pct,
           CAST(ROUND(arpa) AS BIGINT) AS arpa_minor,
           ROUND(100.0 * (contraction_minor + churn_minor) / NULLIF(mrr_start_minor, 0), 2) AS gross_mrr_churn_pct,
           -- A small negative rate rounds to -0.0: show it as 0.
           CASE WHEN net_churn = 0 THEN 0.0 ELSE net_churn END AS net_mrr_churn_pct,
           ROUND(100.0 * (mrr_start_minor - contraction_minor - churn_minor) / NULLIF(mrr_start_minor, 0), 2) AS grr_pct,
           ROUND(100.0 * (mrr_start_minor + expansion_minor - contraction_minor - churn_minor)
             / NULLIF(mrr_start_minor, 0), 2) AS nrr_pct,
           ROUND(CAST(new_minor + expansion_minor + reactivation_minor AS DOUBLE)
             / NULLIF(contraction_minor + churn_minor, 0), 2) AS quick_ratio,
           CAST(ROUND(arpa / NULLIF(churn_rate, 0)) AS BIGINT) AS subscription_ltv_minor
         FROM y ORDER BY period, segment",
        periods = periods.join(", "),
        cg_segment = match p.by {
            None => "'all'",
            Some(_) => "MAX(segment)",
        },
        // Keys `ck · keys + (period − first)`: the periods' start days are
        // from `first` to `d`.
        first = p.first_start(),
        keys = p.d - p.first_start() + 1,
    )
}

/// The renewal date that ends the billing period paid before a
/// cancellation: the first `anchor + n × interval` (n ≥ 1) on or after
/// `cancel`, where `anchor` is the day the paying run started. A period of
/// months keeps the anchor's day of month (clamped to shorter months).
pub(crate) fn paid_until(anchor: i32, cancel: i32, interval: &str, count: i64) -> Option<i32> {
    let count = count.max(1);
    let days = |len: i64| {
        let gap = i64::from(cancel - anchor);
        let n = (gap + len - 1).div_euclid(len).max(1);
        i32::try_from(i64::from(anchor) + n * len).ok()
    };
    let months = |len: i64| {
        let start = date_of(anchor);
        let end = date_of(cancel);
        let index = |d: NaiveDate| i64::from(d.year()) * 12 + i64::from(d.month0());
        // Renewal n lies in the month `n × len` after the anchor's: the first
        // n reaching the cancellation's month, then one more if still before.
        let mut n = ((index(end) - index(start)) / len).max(1);
        loop {
            let add = u32::try_from(n * len).ok()?;
            let renewal = start.checked_add_months(Months::new(add))?;
            if renewal >= end {
                return Some(day_of(renewal));
            }
            n += 1;
        }
    };
    match interval {
        "day" => days(count),
        "week" => days(7 * count),
        "month" => months(count),
        "quarter" => months(3 * count),
        "year" => months(12 * count),
        _ => None,
    }
}

/// Registers `cl_paid_until(anchor, cancel_day, interval, interval_count)`
/// (see [`paid_until`]); all four are columns, nothing hidden.
pub(crate) fn register_udf(ctx: &SessionContext) {
    use DataType::{Int32, Int64, Utf8};
    ctx.register_udf(create_udf(
        "cl_paid_until",
        vec![Int32, Int32, Utf8, Int64],
        Int32,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let rows = args
                .iter()
                .find_map(|a| match a {
                    ColumnarValue::Array(a) => Some(a.len()),
                    _ => None,
                })
                .unwrap_or(1);
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let cast = |i: usize, t: &DataType| datafusion::arrow::compute::cast(&arrays[i], t);
            let (anchor, cancel) = (cast(0, &Int32)?, cast(1, &Int32)?);
            let (interval, count) = (cast(2, &Utf8)?, cast(3, &Int64)?);
            let anchor = anchor.as_any().downcast_ref::<Int32Array>().expect("Int32");
            let cancel = cancel.as_any().downcast_ref::<Int32Array>().expect("Int32");
            let interval = interval
                .as_any()
                .downcast_ref::<StringArray>()
                .expect("Utf8");
            let count = count.as_any().downcast_ref::<Int64Array>().expect("Int64");
            let mut out = Vec::with_capacity(rows);
            for i in 0..rows {
                if anchor.is_null(i) || cancel.is_null(i) || interval.is_null(i) {
                    out.push(None);
                    continue;
                }
                let n = if count.is_null(i) { 1 } else { count.value(i) };
                match paid_until(anchor.value(i), cancel.value(i), interval.value(i), n) {
                    Some(day) => out.push(Some(day)),
                    None => {
                        return exec_err!(
                            "cl_paid_until: no renewal for interval {:?}",
                            interval.value(i)
                        )
                    }
                }
            }
            Ok(ColumnarValue::Array(Arc::new(Int32Array::from(out))))
        }),
    ));
}

#[cfg(test)]
mod tests {

    use super::*;
    use clientela_core::Config;

    fn day(y: i32, m: u32, d: u32) -> i32 {
        day_of(NaiveDate::from_ymd_opt(y, m, d).unwrap())
    }

    fn params(as_of: i32, g: Granularity, periods: usize) -> Params {
        Params {
            d: as_of,
            granularity: g,
            periods,
            by: None,
            config: Config::default(),
            purchase_model: None,
        }
    }

    #[test]
    fn every_billing_interval_has_a_monthly_factor() {
        for interval in clientela_core::kind::BILLING_INTERVALS {
            assert!(
                MONTHLY_FACTORS.iter().any(|f| f.0 == *interval),
                "{interval}"
            );
            assert!(paid_until(0, 1, interval, 1).is_some(), "{interval}");
        }
        // 12 × (7.00 a week) = 365.25 / 7 weeks' worth: 30.4375 a month.
        let week = MONTHLY_FACTORS.iter().find(|f| f.0 == "week").unwrap();
        assert_eq!((700 * week.1) as f64 / week.2 as f64, 3043.75);
    }

    #[test]
    fn paid_periods_end_on_the_next_renewal() {
        let jan31 = day(2024, 1, 31);
        assert_eq!(
            paid_until(jan31, day(2024, 2, 10), "month", 1),
            Some(day(2024, 2, 29)),
            "Jan 31 + 1 month is clamped to Feb 29"
        );
        assert_eq!(
            paid_until(jan31, day(2024, 3, 5), "month", 1),
            Some(day(2024, 3, 31)),
            "the anchor's day comes back in longer months"
        );
        let start = day(2024, 1, 10);
        assert_eq!(
            paid_until(start, day(2024, 2, 10), "month", 1),
            Some(day(2024, 2, 10)),
            "cancelled on the renewal day: nothing more is paid"
        );
        assert_eq!(
            paid_until(start, start, "month", 1),
            Some(day(2024, 2, 10)),
            "cancelled on the first day: the first period was paid"
        );
        assert_eq!(
            paid_until(day(2023, 12, 15), day(2024, 5, 20), "quarter", 1),
            Some(day(2024, 6, 15))
        );
        assert_eq!(
            paid_until(day(2024, 2, 15), day(2024, 5, 10), "year", 1),
            Some(day(2025, 2, 15))
        );
        assert_eq!(
            paid_until(day(2024, 1, 1), day(2024, 1, 20), "week", 2),
            Some(day(2024, 1, 29))
        );
        assert_eq!(paid_until(start, start + 1, "fortnight", 1), None);
    }

    #[test]
    fn steps_are_month_ends_and_quarters_aggregate_them() {
        let p = params(day(2024, 6, 30), Granularity::Month, 2);
        assert_eq!(
            steps(&p),
            vec![
                Step {
                    day: day(2024, 5, 31),
                    prev_day: day(2024, 4, 30),
                    period: day(2024, 5, 1),
                    first: true,
                    last: true
                },
                Step {
                    day: day(2024, 6, 30),
                    prev_day: day(2024, 5, 31),
                    period: day(2024, 6, 1),
                    first: true,
                    last: true
                },
            ]
        );
        // The current quarter stops at the as-of day, in its second month.
        let q = steps(&params(day(2024, 5, 10), Granularity::Quarter, 2));
        let days: Vec<i32> = q.iter().map(|s| s.day).collect();
        assert_eq!(
            days,
            [
                day(2024, 1, 31),
                day(2024, 2, 29),
                day(2024, 3, 31),
                day(2024, 4, 30),
                day(2024, 5, 10)
            ]
        );
        let flags: Vec<(bool, bool)> = q.iter().map(|s| (s.first, s.last)).collect();
        assert_eq!(
            flags,
            [
                (true, false),
                (false, false),
                (false, true),
                (true, false),
                (false, true)
            ]
        );
        assert!(q[..3].iter().all(|s| s.period == day(2024, 1, 1)));
        let w = steps(&params(day(2024, 3, 6), Granularity::Week, 2));
        assert_eq!(
            (w[0].prev_day, w[0].day, w[1].day),
            (day(2024, 2, 25), day(2024, 3, 3), day(2024, 3, 6))
        );
    }
}
