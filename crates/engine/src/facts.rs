//! Per-customer facts at an as-of day and the lifecycle stage (SPEC §2).
//!
//! One plan aggregates every event table per customer; its result is
//! materialised as a table (`customer_stage` by default) that every other
//! customer-level metric reads, so the events are scanned once per report.

use crate::{EngineError, Params};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use std::sync::Arc;

/// Statuses of an active subscription (SPEC §1), as a SQL list.
const ACTIVE_STATUSES: &str = "('active', 'past_due')";
/// Statuses of a subscription that has ended.
const ENDED_STATUSES: &str = "('cancelled', 'ended')";

/// For each qualifying kind but subscriptions: the facts columns of its
/// last and first interaction day and of its count over 365 days.
const INTERACTION_SOURCES: &[(&str, &str, &str, &str)] = &[
    (
        "order",
        "o.last_order_day",
        "o.first_order_day",
        "COALESCE(o.orders_365, 0)",
    ),
    (
        "support",
        "su.last_day",
        "su.first_day",
        "COALESCE(su.n_365, 0)",
    ),
    (
        "contact",
        "co.last_any_day",
        "co.first_any_day",
        "COALESCE(co.any_365, 0)",
    ),
    (
        "contact_inbound",
        "co.last_in_day",
        "co.first_in_day",
        "COALESCE(co.in_365, 0)",
    ),
    (
        "usage",
        "us.last_day",
        "us.first_day",
        "COALESCE(us.n_365, 0)",
    ),
    (
        "survey",
        "sv.last_day",
        "sv.first_day",
        "COALESCE(sv.n_365, 0)",
    ),
    (
        "loyalty",
        "lo.last_day",
        "lo.first_day",
        "COALESCE(lo.n_365, 0)",
    ),
];

/// The per-customer facts plan (without the stage).
pub(crate) fn facts_sql(p: &Params) -> String {
    let c = &p.config;
    let d = p.d;
    let aw = c.activity_window_days as i32;
    let lw = c.loyalty_window_days as i32;
    let win = d - aw; // a day is in the activity window when > win
    let year = d - 365;
    let mut last_days: Vec<&str> = Vec::new();
    let mut first_days: Vec<&str> = Vec::new();
    let mut counts_365: Vec<&str> = Vec::new();
    for (kind, last, first, count) in INTERACTION_SOURCES {
        // `contact` (any direction) replaces `contact_inbound` when both are set.
        if c.qualifies(kind) && !(*kind == "contact_inbound" && c.qualifies("contact")) {
            last_days.push(last);
            first_days.push(first);
            counts_365.push(count);
        }
    }
    let sub_day = if c.qualifies("subscription") {
        // An active subscription is an ongoing interaction: it counts on the as-of day.
        counts_365.push("COALESCE(sb.changes_365, 0)");
        first_days.push("sb.first_change_day");
        format!("CASE WHEN sb.active_product = 1 OR sb.active_service = 1 THEN {d} ELSE sb.last_change_day END")
    } else {
        "CAST(NULL AS INT)".into()
    };
    let last_interaction = format!(
        "greatest({}, {sub_day}, CAST(NULL AS INT))",
        last_days.join(", ")
    );
    let first_interaction = format!("least({}, CAST(NULL AS INT))", first_days.join(", "));
    let interactions = if counts_365.is_empty() {
        "0".to_string()
    } else {
        counts_365.join(" + ")
    };
    let sql = format!(
        "WITH
o AS (SELECT ck,
    SUM(amount_minor) AS net_minor,
    SUM(CASE WHEN amount_minor > 0 THEN 1 ELSE 0 END) AS orders,
    MIN(CASE WHEN amount_minor > 0 THEN day END) AS first_order_day,
    MAX(CASE WHEN amount_minor > 0 THEN day END) AS last_order_day,
    SUM(CASE WHEN amount_minor > 0 AND day > {loy} THEN 1 ELSE 0 END) AS orders_loyalty,
    SUM(CASE WHEN amount_minor > 0 AND day > {win} THEN 1 ELSE 0 END) AS orders_window,
    SUM(CASE WHEN amount_minor > 0 AND day > {year} THEN 1 ELSE 0 END) AS orders_365,
    SUM(CASE WHEN day > {year} THEN amount_minor ELSE 0 END) AS revenue_365_minor
  FROM orders WHERE day <= {d} GROUP BY ck),
su AS (SELECT ck, MAX(day) AS last_day, MIN(day) AS first_day,
    SUM(CASE WHEN day > {win} THEN 1 ELSE 0 END) AS n_window,
    SUM(CASE WHEN day > {year} THEN 1 ELSE 0 END) AS n_365,
    SUM(CASE WHEN kind = 'complaint' THEN 1 ELSE 0 END) AS complaints
  FROM support WHERE day <= {d} GROUP BY ck),
co AS (SELECT ck, MAX(day) AS last_any_day,
    MAX(CASE WHEN direction = 'inbound' THEN day END) AS last_in_day,
    MIN(day) AS first_any_day, MIN(CASE WHEN direction = 'inbound' THEN day END) AS first_in_day,
    SUM(CASE WHEN direction = 'inbound' AND day > {win} THEN 1 ELSE 0 END) AS in_window,
    SUM(CASE WHEN direction = 'inbound' AND day > {year} THEN 1 ELSE 0 END) AS in_365,
    SUM(CASE WHEN day > {year} THEN 1 ELSE 0 END) AS any_365
  FROM contacts WHERE day <= {d} GROUP BY ck),
us AS (SELECT ck, MAX(day) AS last_day, MIN(day) AS first_day, SUM(CASE WHEN day > {year} THEN 1 ELSE 0 END) AS n_365
  FROM usage WHERE day <= {d} GROUP BY ck),
sv AS (SELECT ck, MAX(day) AS last_day, MIN(day) AS first_day, SUM(CASE WHEN day > {year} THEN 1 ELSE 0 END) AS n_365
  FROM surveys WHERE day <= {d} GROUP BY ck),
np AS (SELECT ck, last_value(score ORDER BY time) AS latest_nps, MAX(score) AS best_nps
  FROM surveys WHERE day <= {d} AND survey = 'nps' GROUP BY ck),
lo AS (SELECT ck, MAX(day) AS last_day, MIN(day) AS first_day, SUM(CASE WHEN day > {year} THEN 1 ELSE 0 END) AS n_365,
    SUM(points) AS points
  FROM loyalty WHERE day <= {d} GROUP BY ck),
sub1 AS (SELECT ck, subscription_id,
    last_value(status ORDER BY time) AS status,
    last_value(kind ORDER BY time) AS kind,
    MAX(day) AS last_change_day, MIN(day) AS first_change_day,
    SUM(CASE WHEN day > {year} THEN 1 ELSE 0 END) AS changes_365,
    MIN(CASE WHEN status IN {ACTIVE_STATUSES} AND amount_minor > 0 THEN day END) AS first_paid_day
  FROM subscriptions WHERE day <= {d} GROUP BY ck, subscription_id),
sb AS (SELECT ck, COUNT(*) AS subscriptions,
    MAX(CASE WHEN status IN {ACTIVE_STATUSES} AND kind = 'product' THEN 1 ELSE 0 END) AS active_product,
    MAX(CASE WHEN status IN {ACTIVE_STATUSES} AND kind = 'service' THEN 1 ELSE 0 END) AS active_service,
    MIN(CASE WHEN status IN {ENDED_STATUSES} THEN 1 ELSE 0 END) AS all_ended,
    MAX(last_change_day) AS last_change_day, MIN(first_change_day) AS first_change_day,
    SUM(changes_365) AS changes_365,
    MIN(first_paid_day) AS first_paid_day
  FROM sub1 GROUP BY ck),
rf AS (SELECT ck, COUNT(*) AS referrals FROM referrals WHERE day <= {d} GROUP BY ck),
ld AS (SELECT ck, MIN(day) AS first_lead_day FROM leads WHERE day <= {d} GROUP BY ck),
{merged_ctes}
base AS (SELECT c.ck, c.customer_id, c.country, c.city, c.gender, c.source, c.channel, c.consent,
    c.birth_year, c.tags, c.signup_day,
    COALESCE(o.net_minor, 0) AS net_minor,
    COALESCE(o.orders, 0) AS orders,
    COALESCE(o.orders_loyalty, 0) AS orders_loyalty,
    COALESCE(o.orders_window, 0) AS orders_window,
    COALESCE(o.revenue_365_minor, 0) AS revenue_365_minor,
    o.first_order_day AS first_order_day, o.last_order_day AS last_order_day,
    least(CASE WHEN o.net_minor > 0 THEN o.first_order_day END, sb.first_paid_day) AS first_pay_day,
    (COALESCE(o.net_minor, 0) > 0 OR sb.first_paid_day IS NOT NULL) AS paying,
    COALESCE(sb.subscriptions, 0) AS subscriptions,
    COALESCE(sb.active_product, 0) = 1 AS product_subscriber,
    COALESCE(sb.active_service, 0) = 1 AS service_subscriber,
    COALESCE(sb.all_ended, 0) = 1 AS subscriptions_ended,
    COALESCE(su.n_window, 0) > 0 AS support_active,
    COALESCE(co.in_window, 0) > 0 AS contact_active,
    COALESCE(su.complaints, 0) AS complaints,
    np.latest_nps AS latest_nps, np.best_nps AS best_nps,
    COALESCE(rf.referrals, 0) AS referrals,
    COALESCE(lo.points, 0) AS loyalty_points,
    ld.first_lead_day AS first_lead_day,
    {last_interaction} AS last_interaction_day,
    {first_interaction} AS first_interaction_day,
    {interactions} AS interactions_365,
    (c.signup_day <= {d} OR a.ck IS NOT NULL) AS known
  FROM customers c LEFT JOIN merged a ON a.ck = c.ck)
SELECT *,
  {d} - last_interaction_day AS silence_days,
  COALESCE({d} - last_interaction_day < {aw}, false) AS active,
  CAST(ROUND(net_minor * {margin}) AS BIGINT) AS capital_minor,
  {d} - first_pay_day AS tenure_days,
  orders_window > 0 AS recent_buyer,
  (orders_loyalty >= {min_orders} AND COALESCE({d} - first_order_day >= {min_tenure}, false)) AS loyal_buyer
FROM base WHERE known",
        merged_ctes = merged_ctes(),
        loy = d - lw,
        margin = c.gross_margin,
        min_orders = c.loyal_min_orders,
        min_tenure = c.loyal_min_tenure_days,
    );
    qualify_merged(&sql)
}

/// Per-customer aggregates of each source and their columns. Instead of
/// joining ten aggregates to the customers one after the other (each join
/// re-hashing and copying ever wider rows), their rows are stacked with
/// `UNION ALL` and merged by one aggregation on `ck`, then joined once.
const SOURCES: &[(&str, &[&str])] = &[
    (
        "o",
        &[
            "net_minor",
            "orders",
            "first_order_day",
            "last_order_day",
            "orders_loyalty",
            "orders_window",
            "orders_365",
            "revenue_365_minor",
        ],
    ),
    (
        "su",
        &["last_day", "first_day", "n_window", "n_365", "complaints"],
    ),
    (
        "co",
        &[
            "last_any_day",
            "last_in_day",
            "first_any_day",
            "first_in_day",
            "in_window",
            "in_365",
            "any_365",
        ],
    ),
    ("us", &["last_day", "first_day", "n_365"]),
    ("sv", &["last_day", "first_day", "n_365"]),
    ("np", &["latest_nps", "best_nps"]),
    ("lo", &["last_day", "first_day", "n_365", "points"]),
    (
        "sb",
        &[
            "subscriptions",
            "active_product",
            "active_service",
            "all_ended",
            "last_change_day",
            "first_change_day",
            "changes_365",
            "first_paid_day",
        ],
    ),
    ("rf", &["referrals"]),
    ("ld", &["first_lead_day"]),
];

/// The `merged` CTE (and `stacked` under it): one row per customer with
/// every source's columns named `<source>__<column>`.
fn merged_ctes() -> String {
    let all: Vec<(String, &str, &str)> = SOURCES
        .iter()
        .flat_map(|(s, cols)| cols.iter().map(move |c| (format!("{s}__{c}"), *s, *c)))
        .collect();
    let branches: Vec<String> = SOURCES
        .iter()
        .map(|(src, _)| {
            let cols: Vec<String> = all
                .iter()
                .map(|(name, s, c)| {
                    if s == src {
                        format!("{c} AS {name}")
                    } else {
                        format!("NULL AS {name}")
                    }
                })
                .collect();
            format!("SELECT ck, {} FROM {src}", cols.join(", "))
        })
        .collect();
    let maxes: Vec<String> = all
        .iter()
        .map(|(name, _, _)| format!("MAX({name}) AS {name}"))
        .collect();
    format!(
        "stacked AS ({}),\nmerged AS (SELECT ck, {} FROM stacked GROUP BY ck),",
        branches.join("\n  UNION ALL "),
        maxes.join(", ")
    )
}

/// Rewrites `o.net_minor` into `a.o__net_minor` (and so on for every source
/// column) wherever a source alias is used as a qualifier.
fn qualify_merged(sql: &str) -> String {
    let mut out = sql.to_string();
    for (src, cols) in SOURCES {
        for col in *cols {
            let from = format!("{src}.{col}");
            let to = format!("a.{src}__{col}");
            let mut result = String::with_capacity(out.len());
            let mut rest = out.as_str();
            while let Some(pos) = rest.find(&from) {
                let before = rest[..pos].chars().last();
                let after = rest[pos + from.len()..].chars().next();
                let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                result.push_str(&rest[..pos]);
                if word(before) || word(after) {
                    result.push_str(&from);
                } else {
                    result.push_str(&to);
                }
                rest = &rest[pos + from.len()..];
            }
            result.push_str(rest);
            out = result;
        }
    }
    out
}

/// The stage plan over the materialised facts (`facts_table`).
fn stage_sql(p: &Params, facts_table: &str) -> String {
    let c = &p.config;
    let d = p.d;
    format!(
        "WITH cand AS (SELECT ck FROM {facts_table}
    WHERE paying AND silence_days > {min_risk} AND silence_days < {churn}),
m AS (SELECT ck, cl_median_gap(day) AS median_gap_days
  FROM orders WHERE amount_minor > 0 AND day <= {d} AND ck IN (SELECT ck FROM cand) GROUP BY ck)
SELECT f.*, m.median_gap_days,
  greatest(CAST({min_risk} AS DOUBLE), {mult} * COALESCE(m.median_gap_days, 0)) AS at_risk_after_days,
  {p_alive} AS p_alive,
  CASE
    WHEN NOT f.paying THEN 'prospect'
    WHEN (f.subscriptions > 0 AND f.subscriptions_ended) OR f.silence_days IS NULL OR f.silence_days >= {churn} THEN 'churned'
    WHEN f.silence_days > greatest(CAST({min_risk} AS DOUBLE), {mult} * COALESCE(m.median_gap_days, 0))
      OR COALESCE({p_alive} < {p_alive_min}, false) THEN 'at_risk'
    WHEN f.active AND (f.latest_nps >= 9 OR f.referrals > 0) THEN 'promoter'
    WHEN f.loyal_buyer THEN 'loyal'
    WHEN f.first_pay_day > {win} THEN 'new'
    WHEN f.active THEN 'active'
    ELSE 'dormant'
  END AS stage
FROM {facts_table} f LEFT JOIN m ON m.ck = f.ck{summary_join}",
        min_risk = c.at_risk_min_days,
        churn = c.churn_window_days,
        mult = c.at_risk_gap_multiple,
        win = d - c.activity_window_days as i32,
        p_alive = p_alive_sql(p),
        summary_join = if p.purchase_model.is_some() {
            format!(" LEFT JOIN {} sm ON sm.ck = f.ck", crate::value::summary_table(p.d))
        } else {
            String::new()
        },
        p_alive_min = c.at_risk_p_alive,
    )
}

/// P(alive) of a paying buyer from the purchase summary `sm` at `p.d`
/// ([`crate::value::summary`]), or NULL without a fitted purchase model.
fn p_alive_sql(p: &Params) -> String {
    match &p.purchase_model {
        None => "CAST(NULL AS DOUBLE)".into(),
        Some(model) => format!(
            "CASE WHEN f.paying THEN cl_p_alive(sm.frequency, sm.recency, sm.t, '{model}') END"
        ),
    }
}

/// Computes facts and stages at `p.d` and registers them as `table`.
pub(crate) async fn materialize_stages(
    ctx: &SessionContext,
    p: &Params,
    table: &str,
) -> Result<(), EngineError> {
    let facts_table = format!("{table}_facts");
    let mut clock = crate::Clock::new();
    materialize(ctx, &facts_sql(p), &facts_table).await?;
    clock.lap("facts");
    if p.purchase_model.is_some() {
        crate::value::ensure_summary(ctx, p.d).await?;
    }
    materialize(ctx, &stage_sql(p, &facts_table), table).await?;
    clock.lap("stages (median gaps, P(alive), rules)");
    ctx.deregister_table(&facts_table)?;
    Ok(())
}

/// Runs a query and registers its result as an in-memory table.
pub(crate) async fn materialize(
    ctx: &SessionContext,
    sql: &str,
    table: &str,
) -> Result<(), EngineError> {
    let plan = ctx.sql(sql).await?.create_physical_plan().await?;
    let schema = plan.schema();
    let batches = datafusion::physical_plan::collect_partitioned(plan, ctx.task_ctx()).await?;
    ctx.deregister_table(table)?;
    ctx.register_table(table, Arc::new(MemTable::try_new(schema, batches)?))?;
    Ok(())
}
