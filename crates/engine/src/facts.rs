//! Per-customer facts at an as-of day and the lifecycle stage (SPEC §2).
//!
//! One plan aggregates every event table per customer, at one or several
//! as-of days in the same pass (the overview needs now and the end of the
//! previous period). The facts at each day are read off that wide table and
//! materialised with the stage (`customer_stage` by default) for every other
//! customer-level metric, so the events are scanned once per report.

use crate::{EngineError, Params};
use clientela_core::Config;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::datasource::MemTable;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use std::collections::{HashMap, HashSet};
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
        "cl_or_zero(o.orders_365)",
    ),
    (
        "support",
        "su.last_day",
        "su.first_day",
        "cl_or_zero(su.n_365)",
    ),
    (
        "contact",
        "co.last_any_day",
        "co.first_any_day",
        "cl_or_zero(co.any_365)",
    ),
    (
        "contact_inbound",
        "co.last_in_day",
        "co.first_in_day",
        "cl_or_zero(co.in_365)",
    ),
    (
        "usage",
        "us.last_day",
        "us.first_day",
        "cl_or_zero(us.n_365)",
    ),
    (
        "survey",
        "sv.last_day",
        "sv.first_day",
        "cl_or_zero(sv.n_365)",
    ),
    (
        "loyalty",
        "lo.last_day",
        "lo.first_day",
        "cl_or_zero(lo.n_365)",
    ),
];

/// One per-customer aggregate of an event table in the facts plan.
struct Source {
    /// Its alias in the facts SQL (`o.net_minor`).
    alias: &'static str,
    /// The event table, or `None` for the subscriptions (two levels:
    /// per subscription, then per customer; see [`subscription_ctes`]).
    table: Option<&'static str>,
    /// A condition on the rows besides the as-of day (`AND …`).
    condition: &'static str,
    /// A column set for every customer with rows by the as-of day.
    present: Option<&'static str>,
    /// The columns (name, aggregate) at as-of day `d`.
    columns: fn(&Config, i32) -> Vec<(&'static str, String)>,
}

/// The rows where `condition` holds: `COUNT(*) FILTER (WHERE …)`. (A
/// `SUM(CASE WHEN … THEN 1 ELSE 0 END)` evaluates a `CASE` per row, which
/// DataFusion does at 15–40 ns a row; a filter is one vectorised test.)
fn count_if(condition: &str) -> String {
    format!("COUNT(*) FILTER (WHERE ({condition}))")
}

/// `aggregate` of `day` over the rows where `condition` holds (null when
/// none does), as `MIN(CASE WHEN … THEN day END)` but without the `CASE`.
fn day_if(aggregate: &str, condition: &str) -> String {
    format!("{aggregate}(day) FILTER (WHERE ({condition}))")
}

/// `aggregate` restricted to the rows up to day `d`, unless `d` is the last
/// day (the plan's `WHERE` already has it): its `FILTER` gains the day
/// condition (the aggregate's own is in parentheses), or it gets one.
fn at_day(aggregate: &str, d: i32, last: i32) -> String {
    const FILTER: &str = " FILTER (WHERE ";
    if d == last {
        aggregate.to_string()
    } else if aggregate.contains(FILTER) {
        aggregate.replacen(FILTER, &format!("{FILTER}day <= {d} AND "), 1)
    } else {
        format!("{aggregate}{}", day_filter(d, last))
    }
}

/// `last_day`, `first_day` and `n_365` of an event table at `d`.
fn days_and_year(d: i32) -> Vec<(&'static str, String)> {
    vec![
        ("last_day", "MAX(day)".into()),
        ("first_day", "MIN(day)".into()),
        ("n_365", count_if(&format!("day > {}", d - 365))),
    ]
}

/// Day before the activity window of as-of day `d` (a day is in the
/// window when after it).
fn window_start(c: &Config, d: i32) -> i32 {
    d - c.activity_window_days as i32
}

const SOURCES: &[Source] = &[
    Source {
        alias: "o",
        table: Some("orders"),
        condition: "",
        present: Some("net_minor"),
        columns: |c, d| {
            let bought = "amount_minor > 0";
            vec![
                ("net_minor", "SUM(amount_minor)".into()),
                ("orders", count_if(bought)),
                ("first_order_day", day_if("MIN", bought)),
                ("last_order_day", day_if("MAX", bought)),
                (
                    "orders_loyalty",
                    count_if(&format!(
                        "{bought} AND day > {}",
                        d - c.loyalty_window_days as i32
                    )),
                ),
                (
                    "orders_window",
                    count_if(&format!("{bought} AND day > {}", window_start(c, d))),
                ),
                (
                    "orders_365",
                    count_if(&format!("{bought} AND day > {}", d - 365)),
                ),
                (
                    "revenue_365_minor",
                    format!(
                        "cl_or_zero(SUM(amount_minor) FILTER (WHERE (day > {})))",
                        d - 365
                    ),
                ),
            ]
        },
    },
    Source {
        alias: "su",
        table: Some("support"),
        condition: "",
        present: Some("last_day"),
        columns: |c, d| {
            let mut cols = days_and_year(d);
            cols.push((
                "n_window",
                count_if(&format!("day > {}", window_start(c, d))),
            ));
            cols.push(("complaints", count_if("kind = 'complaint'")));
            cols
        },
    },
    Source {
        alias: "co",
        table: Some("contacts"),
        condition: "",
        present: Some("last_any_day"),
        columns: |c, d| {
            let inbound = "direction = 'inbound'";
            vec![
                ("last_any_day", "MAX(day)".into()),
                ("last_in_day", day_if("MAX", inbound)),
                ("first_any_day", "MIN(day)".into()),
                ("first_in_day", day_if("MIN", inbound)),
                (
                    "in_window",
                    count_if(&format!("{inbound} AND day > {}", window_start(c, d))),
                ),
                (
                    "in_365",
                    count_if(&format!("{inbound} AND day > {}", d - 365)),
                ),
                ("any_365", count_if(&format!("day > {}", d - 365))),
            ]
        },
    },
    Source {
        alias: "us",
        table: Some("usage"),
        condition: "",
        present: Some("last_day"),
        columns: |_, d| days_and_year(d),
    },
    Source {
        alias: "sv",
        table: Some("surveys"),
        condition: "",
        present: Some("last_day"),
        columns: |_, d| days_and_year(d),
    },
    Source {
        alias: "np",
        table: Some("surveys"),
        condition: " AND survey = 'nps'",
        present: None, // a survey: `sv` has it
        columns: |_, _| {
            vec![
                // Packed with its time; unpacked by the facts.
                ("latest_nps", latest_sql("score")),
                ("best_nps", "MAX(score)".into()),
            ]
        },
    },
    Source {
        alias: "lo",
        table: Some("loyalty"),
        condition: "",
        present: Some("last_day"),
        columns: |_, d| {
            let mut cols = days_and_year(d);
            cols.push(("points", "SUM(points)".into()));
            cols
        },
    },
    Source {
        alias: "sb",
        table: None,
        condition: "",
        present: Some("last_change_day"),
        // Aggregates over `sub1`, made per day by [`subscription_ctes`].
        columns: |_, _| {
            SUBSCRIPTION_COLUMNS
                .iter()
                .map(|(name, aggregate)| (*name, aggregate.to_string()))
                .collect()
        },
    },
    Source {
        alias: "rf",
        table: Some("referrals"),
        condition: "",
        present: Some("last_day"),
        columns: |_, _| {
            vec![
                ("referrals", "COUNT(*)".into()),
                ("last_day", "MAX(day)".into()),
            ]
        },
    },
    Source {
        alias: "ld",
        table: Some("leads"),
        condition: "",
        present: Some("first_lead_day"),
        columns: |_, _| vec![("first_lead_day", "MIN(day)".into())],
    },
];

/// ` FILTER (WHERE day <= d)` unless `d` is the last day (the plan's
/// `WHERE` already has it).
pub(crate) fn day_filter(d: i32, last: i32) -> String {
    if d == last {
        String::new()
    } else {
        format!(" FILTER (WHERE day <= {d})")
    }
}

/// The CTE of an event table's source, its columns suffixed `_<i>` for
/// each as-of day `days[i]`.
fn source_cte(
    s: &Source,
    table: &str,
    c: &Config,
    days: &[i32],
    last: i32,
    keeps: &dyn Fn(&str, &str, usize) -> bool,
) -> String {
    let mut cols = Vec::new();
    for (i, &d) in days.iter().enumerate() {
        for (name, aggregate) in (s.columns)(c, d) {
            if keeps(s.alias, name, i) {
                cols.push(format!("{} AS {name}_{i}", at_day(&aggregate, d, last)));
            }
        }
    }
    format!(
        "{} AS (SELECT ck, {} FROM {table} WHERE day <= {last}{} GROUP BY ck)",
        s.alias,
        cols.join(", "),
        s.condition
    )
}

/// The per-customer subscription columns and their aggregates over
/// `sub1`'s columns at day number `{i}`. A subscription without a change by
/// the day does not exist yet (its columns at that day are null).
const SUBSCRIPTION_COLUMNS: [(&str, &str); 8] = [
    ("subscriptions", "COUNT(last_change_day_{i})"),
    (
        "active_product",
        "MAX(CASE WHEN status_{i} IN {active} AND kind_{i} = 'product' THEN 1 ELSE 0 END)",
    ),
    (
        "active_service",
        "MAX(CASE WHEN status_{i} IN {active} AND kind_{i} = 'service' THEN 1 ELSE 0 END)",
    ),
    (
        "all_ended",
        "MIN(CASE WHEN last_change_day_{i} IS NULL THEN NULL WHEN status_{i} IN {ended} THEN 1 ELSE 0 END)",
    ),
    ("last_change_day", "MAX(last_change_day_{i})"),
    ("first_change_day", "MIN(first_change_day_{i})"),
    ("changes_365", "SUM(changes_365_{i})"),
    ("first_paid_day", "MIN(first_paid_day_{i})"),
];

/// Low bits under a row's time in [`latest_sql`]: room for a code below 16.
const CODE_SPAN: i64 = 16;

/// The latest row's `code` (an integer in `0..CODE_SPAN`) by time, as one
/// `MAX` of the time and the code packed in an integer: `last_value(… ORDER
/// BY time)` has no grouped accumulator in DataFusion 55 and took 0.4 s of
/// CPU for 420,000 subscription changes. Rows at the same microsecond:
/// the larger code wins. Read the code back with [`latest_code`].
fn latest_sql(code: &str) -> String {
    format!("MAX(CAST(time AS BIGINT) * {CODE_SPAN} + {code})")
}

/// The code packed by [`latest_sql`] in `packed` (times before 1970 too).
fn latest_code(packed: &str) -> String {
    format!("((({packed}) % {CODE_SPAN} + {CODE_SPAN}) % {CODE_SPAN})")
}

/// A subscription change's status and kind as one code below [`CODE_SPAN`]:
/// twice the status's place in `SUBSCRIPTION_STATUSES`, plus 1 for a
/// service.
fn status_kind_code() -> String {
    let statuses: Vec<String> = clientela_core::kind::SUBSCRIPTION_STATUSES
        .iter()
        .enumerate()
        .map(|(i, s)| format!("WHEN '{s}' THEN {}", 2 * i))
        .collect();
    format!(
        "(CASE status {} END + CASE WHEN kind = 'service' THEN 1 ELSE 0 END)",
        statuses.join(" ")
    )
}

/// The status and the kind of a [`status_kind_code`] in `code`.
fn status_and_kind(code: &str) -> (String, String) {
    let statuses: Vec<String> = clientela_core::kind::SUBSCRIPTION_STATUSES
        .iter()
        .enumerate()
        .map(|(i, s)| format!("WHEN {i} THEN '{s}'"))
        .collect();
    (
        format!("CASE {code} / 2 {} END", statuses.join(" ")),
        format!("CASE {code} % 2 WHEN 1 THEN 'service' ELSE 'product' END"),
    )
}

/// The subscriptions' CTEs: `sub1` per subscription (its latest status and
/// kind by each as-of day), then `sb` per customer.
fn subscription_ctes(days: &[i32], last: i32, keeps: &dyn Fn(&str, &str, usize) -> bool) -> String {
    let mut per_sub = Vec::new();
    let mut decoded = Vec::new();
    let mut per_customer = Vec::new();
    let code = status_kind_code();
    for (i, &d) in days.iter().enumerate() {
        let (status, kind) = status_and_kind(&latest_code(&format!("latest_{i}")));
        decoded.push(format!(
            "{status} AS status_{i}, {kind} AS kind_{i}, last_change_day_{i}, \
             first_change_day_{i}, changes_365_{i}, first_paid_day_{i}"
        ));
        let paid = format!("status IN {ACTIVE_STATUSES} AND amount_minor > 0");
        let aggregates = [
            ("latest", latest_sql(&code)),
            ("last_change_day", "MAX(day)".to_string()),
            ("first_change_day", "MIN(day)".to_string()),
            ("changes_365", count_if(&format!("day > {}", d - 365))),
            ("first_paid_day", day_if("MIN", &paid)),
        ];
        per_sub.extend(
            aggregates
                .iter()
                .map(|(name, a)| format!("{} AS {name}_{i}", at_day(a, d, last))),
        );
        for (name, aggregate) in SUBSCRIPTION_COLUMNS {
            if !keeps("sb", name, i) {
                continue;
            }
            let aggregate = aggregate
                .replace("{i}", &i.to_string())
                .replace("{active}", ACTIVE_STATUSES)
                .replace("{ended}", ENDED_STATUSES);
            per_customer.push(format!("{aggregate} AS {name}_{i}"));
        }
    }
    format!(
        "sub0 AS (SELECT ck, subscription_id, {}
  FROM subscriptions WHERE day <= {last} GROUP BY ck, subscription_id),
sub1 AS (SELECT ck, subscription_id, {} FROM sub0),
sb AS (SELECT ck, {} FROM sub1 GROUP BY ck)",
        per_sub.join(",\n    "),
        decoded.join(", "),
        per_customer.join(",\n    ")
    )
}

/// Every source's column names.
fn source_columns(c: &Config) -> Vec<(&'static str, Vec<&'static str>)> {
    SOURCES
        .iter()
        .map(|s| {
            (
                s.alias,
                (s.columns)(c, 0).into_iter().map(|(n, _)| n).collect(),
            )
        })
        .collect()
}

/// One used source of the wide per-customer table: its alias, its CTE(s)
/// and the columns it gives (`<alias>.<column>_<i> AS
/// <alias>__<column>_<i>`).
struct SourcePart {
    alias: &'static str,
    ctes: String,
    columns: Vec<String>,
}

/// The sources of the wide table at `days` that `kept` reads (all without
/// `kept`), narrowest first: every join of the chain copies the columns
/// gathered so far, and joining the narrowest first copies the fewest (a
/// third fewer columns than in declaration order).
fn source_parts(c: &Config, days: &[i32], kept: Option<&Kept>) -> Vec<SourcePart> {
    let last = days.iter().copied().max().unwrap_or(0);
    let keeps = |alias: &str, name: &str, i: usize| {
        kept.is_none_or(|k| k.contains(&format!("{alias}__{name}_{i}")))
    };
    let mut parts: Vec<(usize, SourcePart)> = SOURCES
        .iter()
        .filter_map(|s| {
            let names: Vec<&str> = (s.columns)(c, 0).into_iter().map(|(n, _)| n).collect();
            let columns: Vec<String> = names
                .iter()
                .flat_map(|n| {
                    (0..days.len())
                        .filter(|&i| keeps(s.alias, n, i))
                        .map(|i| format!("{a}.{n}_{i} AS {a}__{n}_{i}", a = s.alias))
                        .collect::<Vec<_>>()
                })
                .collect();
            if columns.is_empty() {
                return None;
            }
            let ctes = match s.table {
                Some(t) => source_cte(s, t, c, days, last, &keeps),
                None => subscription_ctes(days, last, &keeps),
            };
            Some((
                names.len(),
                SourcePart {
                    alias: s.alias,
                    ctes,
                    columns,
                },
            ))
        })
        .collect();
    parts.sort_by_key(|(width, part)| (*width, part.alias));
    parts.into_iter().map(|(_, part)| part).collect()
}

/// The wide per-customer aggregate at every one of `days`: one row per
/// customer with a column `<source>__<column>_<i>` per source column and
/// day number `i`, as one SQL statement (a chain of joins onto the
/// customers). [`sources_plan`] makes the same table in one merge.
/// (Stacking the sources with `UNION ALL` and merging them by one
/// aggregation, instead of joining them, took as long at one day and 15 %
/// longer at two: the merge runs every column over every stacked row.)
///
/// With `kept`, only the columns it names (`<source>__<column>_<i>`) are
/// computed, and a source none of whose columns are kept is left out.
pub(crate) fn sources_sql(c: &Config, days: &[i32], kept: Option<&Kept>) -> String {
    let parts = source_parts(c, days, kept);
    // Each source is the left (build) side of a RIGHT JOIN onto all joined
    // before it, so that the hash table is built over the source.
    let mut joins = "customers c".to_string();
    for part in &parts {
        let before = if joins == "customers c" {
            joins
        } else {
            format!("({joins})")
        };
        joins = format!("{a} RIGHT JOIN {before} ON {a}.ck = c.ck", a = part.alias);
    }
    let ctes: Vec<&str> = parts.iter().map(|p| p.ctes.as_str()).collect();
    let columns: Vec<&str> = parts
        .iter()
        .flat_map(|p| p.columns.iter().map(String::as_str))
        .collect();
    // The customers' own columns (strings among them) are joined per day
    // by the facts: carried through every join here they are copied ten
    // times, and joined once at the end the wide side is hashed.
    format!(
        "WITH {}\nSELECT c.ck, {} FROM {}",
        ctes.join(",\n"),
        columns.join(", "),
        joins,
    )
}

/// The table of [`sources_sql`], with the customers' own columns the facts
/// read, as one merge of the customers and each source's aggregate
/// ([`merged_plan`]); `None` when they are not keyed tables.
async fn sources_plan(
    ctx: &SessionContext,
    c: &Config,
    days: &[i32],
    kept: &Kept,
) -> Result<Option<Arc<dyn ExecutionPlan>>, EngineError> {
    // The customers' own columns pass through the merge uncopied, which
    // spares the facts a join.
    let customer: Vec<&str> = customer_columns().collect();
    let mut statements = vec![format!("SELECT ck, {} FROM customers", customer.join(", "))];
    for part in source_parts(c, days, Some(kept)) {
        statements.push(format!(
            "WITH {}\nSELECT {a}.ck, {} FROM {a}",
            part.ctes,
            part.columns.join(", "),
            a = part.alias
        ));
    }
    merged_plan(ctx, &statements).await
}

/// The customer's own columns the facts carry (from `customers`): the id,
/// every attribute a report can be split by (read off the stage table) and
/// the sign-up day.
fn customer_columns() -> impl Iterator<Item = &'static str> {
    let attributes = crate::params::SPLIT_ATTRIBUTES
        .iter()
        .copied()
        .filter(|a| *a != "stage");
    std::iter::once("customer_id")
        .chain(attributes)
        .chain(std::iter::once("signup_day"))
}

/// The per-customer facts (without the stage) at `p.d`, which is day
/// number `i` of the wide table `sources` made by [`sources_sql`].
///
/// A source column missing from `sources` (not in `kept`: no plan reads
/// it at this day) is a typed null.
pub(crate) fn facts_sql(
    p: &Params,
    sources: &str,
    i: usize,
    kept: Option<&Kept>,
    with_customers: bool,
) -> String {
    let c = &p.config;
    let d = p.d;
    let aw = c.activity_window_days as i32;
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
        counts_365.push("cl_or_zero(sb.changes_365)");
        first_days.push("sb.first_change_day");
        format!("CASE WHEN sb.active_product = 1 OR sb.active_service = 1 THEN CAST({d} AS INT) ELSE sb.last_change_day END")
    } else {
        "CAST(NULL AS INT)".into()
    };
    let last_interaction = format!(
        "CAST(cl_latest_day({}, {sub_day}, CAST(NULL AS INT)) AS BIGINT)",
        last_days.join(", ")
    );
    let first_interaction = format!(
        "cl_earliest_day({}, CAST(NULL AS INT))",
        first_days.join(", ")
    );
    let interactions = if counts_365.is_empty() {
        "0".to_string()
    } else {
        counts_365.join(" + ")
    };
    let present: Vec<String> = SOURCES
        .iter()
        .filter_map(|s| {
            s.present
                .map(|col| format!("{}.{col} IS NOT NULL", s.alias))
        })
        .collect();
    let latest_nps = latest_code("np.latest_nps");
    // The customers' own columns: in `sources` itself when it carries them
    // (made by one merge, see [`sources_plan`]), else joined.
    let (cu, from) = if with_customers {
        ("a", format!("{sources} a"))
    } else {
        (
            "c",
            format!("customers c LEFT JOIN {sources} a ON a.ck = c.ck"),
        )
    };
    let sql = format!(
        "WITH base AS (SELECT {cu}.ck, {customer},
    cl_or_zero(o.net_minor) AS net_minor,
    cl_or_zero(o.orders) AS orders,
    cl_or_zero(o.orders_loyalty) AS orders_loyalty,
    cl_or_zero(o.orders_window) AS orders_window,
    cl_or_zero(o.revenue_365_minor) AS revenue_365_minor,
    o.first_order_day AS first_order_day, o.last_order_day AS last_order_day,
    cl_earliest_day(CASE WHEN o.net_minor > 0 THEN o.first_order_day END, sb.first_paid_day) AS first_pay_day,
    (cl_or_zero(o.net_minor) > 0 OR sb.first_paid_day IS NOT NULL) AS paying,
    cl_or_zero(sb.subscriptions) AS subscriptions,
    cl_or_zero(sb.active_product) = 1 AS product_subscriber,
    cl_or_zero(sb.active_service) = 1 AS service_subscriber,
    cl_or_zero(sb.all_ended) = 1 AS subscriptions_ended,
    cl_or_zero(su.n_window) > 0 AS support_active,
    cl_or_zero(co.in_window) > 0 AS contact_active,
    cl_or_zero(su.complaints) AS complaints,
    {latest_nps} AS latest_nps, np.best_nps AS best_nps,
    cl_or_zero(rf.referrals) AS referrals,
    cl_or_zero(lo.points) AS loyalty_points,
    ld.first_lead_day AS first_lead_day,
    {last_interaction} AS last_interaction_day,
    {first_interaction} AS first_interaction_day,
    {interactions} AS interactions_365,
    ({cu}.signup_day <= {d} OR {present}) AS known
  FROM {from})
SELECT *,
  {d} - last_interaction_day AS silence_days,
  COALESCE({d} - last_interaction_day < {aw}, false) AS active,
  CAST(ROUND(net_minor * {margin}) AS BIGINT) AS capital_minor,
  {d} - first_pay_day AS tenure_days,
  orders_window > 0 AS recent_buyer,
  (orders_loyalty >= {min_orders} AND COALESCE({d} - first_order_day >= {min_tenure}, false)) AS loyal_buyer
FROM base WHERE known",
        present = present.join(" OR "),
        customer = customer_columns()
            .map(|col| format!("{cu}.{col}"))
            .collect::<Vec<_>>()
            .join(", "),
        margin = c.gross_margin,
        min_orders = c.loyal_min_orders,
        min_tenure = c.loyal_min_tenure_days,
    );
    qualify_sources(&sql, c, i, kept)
}

/// Rewrites `o.net_minor` into `a.o__net_minor_<i>` (and so on for every
/// source column) wherever a source alias is used as a qualifier.
fn qualify_sources(sql: &str, c: &Config, i: usize, kept: Option<&Kept>) -> String {
    let mut out = sql.to_string();
    for (src, cols) in source_columns(c) {
        for col in cols {
            let from = format!("{src}.{col}");
            let name = format!("{src}__{col}_{i}");
            let to = match kept {
                Some(k) if !k.contains(&name) => {
                    format!("arrow_cast(NULL, '{}')", k.type_of(&name))
                }
                _ => format!("a.{name}"),
            };
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

/// Which customers of the facts `f` the at-risk rule needs the median gap
/// between orders of: paying, silent longer than the shortest at-risk
/// silence and not yet churned.
fn gap_candidate(c: &Config) -> String {
    format!(
        "f.paying AND f.silence_days > {} AND f.silence_days < {}",
        c.at_risk_min_days, c.churn_window_days
    )
}

/// The median gap between purchase days (`median_gap_<i>`) at each of
/// the days of `at` (facts tables `<table>_facts`), in one pass over the
/// orders, for the customers that are a candidate at any of them.
fn gaps_sql(at: &[StagesAt]) -> String {
    let last = at.iter().map(|s| s.p.d).max().unwrap_or(0);
    let candidates: Vec<String> = at
        .iter()
        .map(|s| {
            format!(
                "SELECT f.ck FROM {}_facts f WHERE {}",
                s.table,
                gap_candidate(&s.p.config)
            )
        })
        .collect();
    let gaps: Vec<String> = at
        .iter()
        .enumerate()
        .map(|(i, StagesAt { p, .. })| {
            format!(
                "cl_median_gap(day){} AS median_gap_{i}",
                day_filter(p.d, last)
            )
        })
        .collect();
    format!(
        "SELECT ck, {} FROM orders WHERE amount_minor > 0 AND day <= {last}
  AND ck IN ({}) GROUP BY ck",
        gaps.join(", "),
        candidates.join(" UNION ")
    )
}

/// What the stage plan reads besides the stage rules' own inputs.
enum StageInputs<'a> {
    /// The facts table, the median gaps table (day number `i`'s column)
    /// and the purchase summary, joined by the plan.
    Joined {
        facts_table: &'a str,
        gaps_table: &'a str,
    },
    /// One table already lined up by [`merge_stage_inputs`]: the facts'
    /// columns, `__gap` and (with a purchase model) `__frequency`,
    /// `__recency`, `__t`.
    Merged(&'a str),
}

/// The purchase summary's columns [`merge_stage_inputs`] adds to the
/// facts (besides `__gap`), which the stage table leaves out.
const SUMMARY_COLUMNS: [&str; 3] = ["__frequency", "__recency", "__t"];

/// The stage plan over the materialised facts and the median gaps
/// ([`gaps_sql`], day number `i`).
fn stage_sql(p: &Params, inputs: &StageInputs, i: usize) -> String {
    let c = &p.config;
    let d = p.d;
    let candidate = gap_candidate(c);
    let (m, from, summary, all) = match inputs {
        StageInputs::Joined {
            facts_table,
            gaps_table,
        } => (
            format!(
                "SELECT f.*, CASE WHEN {candidate} THEN g.median_gap_{i} END AS median_gap_days
  FROM {facts_table} f LEFT JOIN {gaps_table} g ON g.ck = f.ck"
            ),
            if p.purchase_model.is_some() {
                format!(
                    "m f LEFT JOIN {} sm ON sm.ck = f.ck",
                    crate::value::summary_table(p.d)
                )
            } else {
                "m f".to_string()
            },
            "sm.",
            "f.*".to_string(),
        ),
        StageInputs::Merged(table) => (
            format!(
                "SELECT f.* EXCLUDE (__gap), CASE WHEN {candidate} THEN f.__gap END AS median_gap_days
  FROM {table} f"
            ),
            "m f".to_string(),
            "f.__",
            if p.purchase_model.is_some() {
                format!("f.* EXCLUDE ({})", SUMMARY_COLUMNS.join(", "))
            } else {
                "f.*".to_string()
            },
        ),
    };
    format!(
        "WITH m AS ({m})
SELECT {all},
  greatest(CAST({min_risk} AS DOUBLE), {mult} * cl_or_zero(f.median_gap_days)) AS at_risk_after_days,
  {p_alive} AS p_alive,
  CASE
    WHEN NOT f.paying THEN 'prospect'
    WHEN (f.subscriptions > 0 AND f.subscriptions_ended) OR f.silence_days IS NULL OR f.silence_days >= {churn} THEN 'churned'
    WHEN f.silence_days > greatest(CAST({min_risk} AS DOUBLE), {mult} * cl_or_zero(f.median_gap_days))
      OR COALESCE({p_alive} < {p_alive_min}, false) THEN 'at_risk'
    WHEN f.active AND (f.latest_nps >= 9 OR f.referrals > 0) THEN 'promoter'
    WHEN f.loyal_buyer THEN 'loyal'
    WHEN f.first_pay_day > {win} THEN 'new'
    WHEN f.active THEN 'active'
    ELSE 'dormant'
  END AS stage
FROM {from}",
        min_risk = c.at_risk_min_days,
        churn = c.churn_window_days,
        mult = c.at_risk_gap_multiple,
        win = d - c.activity_window_days as i32,
        p_alive = p_alive_sql(p, summary),
        p_alive_min = c.at_risk_p_alive,
    )
}

/// P(alive) of a paying buyer from the purchase summary's columns
/// (`frequency`, `recency`, `t` after `prefix`) at `p.d`
/// ([`crate::value::summary`]), or NULL without a fitted purchase model.
fn p_alive_sql(p: &Params, prefix: &str) -> String {
    match &p.purchase_model {
        None => "CAST(NULL AS DOUBLE)".into(),
        Some(model) => format!(
            "CASE WHEN f.paying THEN cl_p_alive({prefix}frequency, {prefix}recency, {prefix}t, '{model}') END"
        ),
    }
}

/// The stage plan's inputs at day number `i` lined up in one
/// [`MergeByKeyExec`](crate::merge_by_key::MergeByKeyExec) and registered
/// as `table` (see [`StageInputs::Merged`]), when all are keyed tables;
/// `false` otherwise. Two sort-merge joins copied the facts' columns twice
/// (0.19 s of join time at two days for 1.25 M customers).
async fn merge_stage_inputs(
    ctx: &SessionContext,
    p: &Params,
    facts_table: &str,
    gaps_table: &str,
    i: usize,
    table: &str,
) -> Result<bool, EngineError> {
    let mut statements = vec![
        format!("SELECT * FROM {facts_table}"),
        format!("SELECT ck, median_gap_{i} AS __gap FROM {gaps_table}"),
    ];
    if p.purchase_model.is_some() {
        statements.push(format!(
            "SELECT ck, frequency AS __frequency, recency AS __recency, t AS __t FROM {}",
            crate::value::summary_table(p.d)
        ));
    }
    match merged_plan(ctx, &statements).await? {
        Some(plan) => {
            register_result(ctx, plan, table).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Computes facts and stages at `p.d` and registers them as `table`.
pub(crate) async fn materialize_stages(
    ctx: &SessionContext,
    p: &Params,
    table: &str,
) -> Result<(), EngineError> {
    let at = StagesAt {
        p: p.clone(),
        table,
        columns: "*",
    };
    materialize_stages_at(ctx, &[at]).await
}

/// The facts columns the stage rules ([`stage_sql`], [`gap_candidate`])
/// read.
const STAGE_INPUTS: [&str; 10] = [
    "ck",
    "paying",
    "silence_days",
    "subscriptions",
    "subscriptions_ended",
    "active",
    "latest_nps",
    "referrals",
    "loyal_buyer",
    "first_pay_day",
];

/// The facts columns to keep for stages registered with `columns` (a
/// list, or `*`: `None`, all of them).
fn facts_needed(columns: &str) -> Option<String> {
    let mut needed: Vec<&str> = STAGE_INPUTS.to_vec();
    for column in columns.split(',').map(str::trim) {
        match column {
            "*" => return None,
            // Computed by the stage plan.
            "stage" | "median_gap_days" | "at_risk_after_days" | "p_alive" => {}
            c if !needed.contains(&c) => needed.push(c),
            _ => {}
        }
    }
    Some(needed.join(", "))
}

/// The facts of `s` (day number `i` of `sources`), with only the columns
/// its stage and its `columns` need.
fn facts_at_sql(
    s: &StagesAt<'_>,
    sources: &str,
    i: usize,
    kept: Option<&Kept>,
    with_customers: bool,
) -> String {
    let facts = facts_sql(&s.p, sources, i, kept, with_customers);
    match facts_needed(s.columns) {
        // Only what the stage and the columns asked for: the join then
        // leaves the customers' own columns out.
        Some(needed) => format!("SELECT {needed} FROM ({facts})"),
        None => facts,
    }
}

/// The columns of the wide per-source table that some plan reads, with
/// the type of every column (read or not).
#[derive(Debug)]
pub(crate) struct Kept {
    names: HashSet<String>,
    types: HashMap<String, DataType>,
}

impl Kept {
    fn contains(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// The Arrow type name of column `name` (for `arrow_cast`).
    fn type_of(&self, name: &str) -> String {
        self.types
            .get(name)
            .map_or_else(|| "Int64".to_string(), |t| t.to_string())
    }
}

/// Which columns of the wide per-source table at `days` the facts of `at`
/// read, asked of DataFusion's optimiser: each facts plan is planned over
/// an empty table of the full width, and the columns its scan keeps are
/// the ones it reads. At the end of the previous period only the stage's
/// inputs are kept, so about half of that day's aggregates are never
/// computed.
async fn kept_columns(
    ctx: &SessionContext,
    c: &Config,
    days: &[i32],
    at: &[StagesAt<'_>],
) -> Result<Kept, EngineError> {
    let full = ctx.sql(&sources_sql(c, days, None)).await?;
    let schema = Arc::new(full.schema().as_arrow().clone());
    let types = schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    let placeholder = "customer_sources_columns";
    ctx.register_table(
        placeholder,
        Arc::new(MemTable::try_new(schema, vec![Vec::new()])?),
    )?;
    let mut names = HashSet::new();
    for (i, s) in at.iter().enumerate() {
        let plan = ctx
            .sql(&facts_at_sql(s, placeholder, i, None, false))
            .await?
            .into_optimized_plan()?;
        plan.apply(|node| {
            if let LogicalPlan::TableScan(scan) = node {
                if scan.table_name.table() == placeholder {
                    names.extend(
                        scan.projected_schema
                            .fields()
                            .iter()
                            .map(|f| f.name().clone()),
                    );
                }
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
    }
    ctx.deregister_table(placeholder)?;
    Ok(Kept { names, types })
}

/// Where [`materialize_stages_at`] registers the stages at one day.
pub(crate) struct StagesAt<'a> {
    /// The parameters, at the day.
    pub p: Params,
    /// The table to register.
    pub table: &'a str,
    /// Its columns: `*` (every facts column and the stage) or a list.
    pub columns: &'a str,
}

/// Computes facts and stages at each [`StagesAt`]'s day (same
/// configuration) and registers them, aggregating the events once for all
/// days.
pub(crate) async fn materialize_stages_at(
    ctx: &SessionContext,
    at: &[StagesAt<'_>],
) -> Result<(), EngineError> {
    let Some(first) = at.first() else {
        return Ok(());
    };
    let first = &first.p;
    let days: Vec<i32> = at.iter().map(|s| s.p.d).collect();
    let sources = "customer_sources";
    let mut clock = crate::Clock::new();
    let kept = kept_columns(ctx, &first.config, &days, at).await?;
    // Size estimates of aggregates are rough: left to them, DataFusion
    // sometimes builds the hash table over all the columns joined so far.
    let with_customers = match sources_plan(ctx, &first.config, &days, &kept).await? {
        Some(plan) => {
            register_result(ctx, plan, sources).await?;
            true
        }
        None => {
            let sql = sources_sql(&first.config, &days, Some(&kept));
            materialize_in_written_order(ctx, &sql, sources).await?;
            false
        }
    };
    clock.lap(&format!(
        "facts: events per customer at {} day(s)",
        days.len()
    ));
    for (i, s) in at.iter().enumerate() {
        let facts = facts_at_sql(s, sources, i, Some(&kept), with_customers);
        // Without the merge, the customers (their own columns) are joined
        // as written: DataFusion would build a hash table over the wide
        // side (0.95 s to build against 0.3 s).
        materialize_in_written_order(ctx, &facts, &format!("{}_facts", s.table)).await?;
    }
    ctx.deregister_table(sources)?;
    clock.lap("facts");
    let gaps = "customer_gaps";
    materialize(ctx, &gaps_sql(at), gaps).await?;
    clock.lap("median gaps between orders");
    for (i, StagesAt { p, table, columns }) in at.iter().enumerate() {
        let facts_table = format!("{table}_facts");
        if p.purchase_model.is_some() {
            crate::value::ensure_summary(ctx, p.d).await?;
        }
        let merged = format!("{table}_inputs");
        let inputs = if merge_stage_inputs(ctx, p, &facts_table, gaps, i, &merged).await? {
            StageInputs::Merged(&merged)
        } else {
            StageInputs::Joined {
                facts_table: &facts_table,
                gaps_table: gaps,
            }
        };
        let stages = stage_sql(p, &inputs, i);
        let sql = format!("SELECT {columns} FROM ({stages})");
        materialize_merged(ctx, &sql, table).await?;
        ctx.deregister_table(&merged)?;
        ctx.deregister_table(&facts_table)?;
    }
    ctx.deregister_table(gaps)?;
    clock.lap("stages (P(alive), rules)");
    Ok(())
}

/// Runs a query and registers its result as an in-memory table.
pub(crate) async fn materialize(
    ctx: &SessionContext,
    sql: &str,
    table: &str,
) -> Result<(), EngineError> {
    let plan = ctx.sql(sql).await?.create_physical_plan().await?;
    register_result(ctx, plan, table).await
}

/// Like [`materialize`], joining in the order the SQL writes (the left
/// side of each join is its build side), whatever the size estimates say;
/// joins of keyed tables on `ck` merge instead of hashing
/// ([`materialize_merged`]).
pub(crate) async fn materialize_in_written_order(
    ctx: &SessionContext,
    sql: &str,
    table: &str,
) -> Result<(), EngineError> {
    materialize_planned(ctx, sql, table, false).await
}

/// Like [`materialize`], with the joins of keyed tables on `ck` merging
/// instead of hashing.
///
/// Every input of the facts' and stages' joins is split by customer and
/// sorted by `ck` within each partition (the keyed tables, and the
/// per-customer aggregates over them, which stream in that order), so a
/// sort-merge join walks both sides once. A hash join builds a table over
/// one side and gathers every column joined so far for each probe batch:
/// the per-source chain took 1.2–1.5 s that way against 1.0–1.1 s merged,
/// same rows. When the customers are not a keyed table
/// (`CLIENTELA_KEYED=0`, or a copy split for another number of
/// partitions), a merge would first sort every input: hash joins stay.
pub(crate) async fn materialize_merged(
    ctx: &SessionContext,
    sql: &str,
    table: &str,
) -> Result<(), EngineError> {
    materialize_planned(ctx, sql, table, true).await
}

/// [`materialize`] preferring merge joins over keyed tables, with the
/// optimiser's join reordering when `reorder`.
async fn materialize_planned(
    ctx: &SessionContext,
    sql: &str,
    table: &str,
    reorder: bool,
) -> Result<(), EngineError> {
    let mut plans = physical_plans(ctx, &[sql.to_string()], reorder).await?;
    register_result(ctx, plans.remove(0), table).await
}

/// The physical plans of `statements`, preferring merge joins over keyed
/// tables, with the optimiser's join reordering when `reorder`.
async fn physical_plans(
    ctx: &SessionContext,
    statements: &[String],
    reorder: bool,
) -> Result<Vec<Arc<dyn ExecutionPlan>>, EngineError> {
    let keyed = ctx
        .table_provider("customers")
        .await
        .is_ok_and(|t| t.is::<crate::keyed_table::KeyedTable>());
    let mut state = ctx.state();
    let optimizer = &mut state.config_mut().options_mut().optimizer;
    optimizer.join_reordering = reorder;
    optimizer.prefer_hash_join = !keyed;
    let mut plans = Vec::with_capacity(statements.len());
    for sql in statements {
        let logical = state.create_logical_plan(sql).await?;
        plans.push(state.create_physical_plan(&logical).await?);
    }
    Ok(plans)
}

/// The results of `statements` lined up by customer in one
/// [`MergeByKeyExec`](crate::merge_by_key::MergeByKeyExec) onto the first
/// (see there), when every one is split by customer into sorted partitions
/// (keyed tables); `None` otherwise, for the caller to join them instead.
async fn merged_plan(
    ctx: &SessionContext,
    statements: &[String],
) -> Result<Option<Arc<dyn ExecutionPlan>>, EngineError> {
    let inputs = physical_plans(ctx, statements, false).await?;
    Ok(crate::merge_by_key::MergeByKeyExec::try_new(inputs)
        .ok()
        .map(|m| Arc::new(m) as Arc<dyn ExecutionPlan>))
}

/// Runs a physical plan and registers its result as an in-memory table.
async fn register_result(
    ctx: &SessionContext,
    plan: Arc<dyn datafusion::physical_plan::ExecutionPlan>,
    table: &str,
) -> Result<(), EngineError> {
    let batches =
        datafusion::physical_plan::collect_partitioned(plan.clone(), ctx.task_ctx()).await?;
    explain(plan.as_ref(), table);
    register_batches(ctx, plan.as_ref(), batches, table)
}

/// Shows the plan that has run, with each operator's rows and time, on
/// stderr when `CLIENTELA_EXPLAIN` is set: for finding the slow part of a
/// report on real data.
pub(crate) fn explain(plan: &dyn datafusion::physical_plan::ExecutionPlan, label: &str) {
    if std::env::var_os("CLIENTELA_EXPLAIN").is_some() {
        let shown =
            datafusion::physical_plan::display::DisplayableExecutionPlan::with_metrics(plan);
        eprintln!("[plan of {label}]\n{}", shown.indent(true));
    }
}

/// Registers `plan`'s collected output `batches` (one list per partition)
/// as `table`. When the plan's output is split by customer key
/// (`Hash([ck], n)`, from DataFusion's own repartitioning or a
/// [`KeyedTable`](crate::keyed_table::KeyedTable)), the table says so, and
/// says whether each partition is sorted by key, so that later plans
/// grouping or joining by customer move no rows.
pub(crate) fn register_batches(
    ctx: &SessionContext,
    plan: &dyn datafusion::physical_plan::ExecutionPlan,
    batches: Vec<Vec<datafusion::arrow::record_batch::RecordBatch>>,
    table: &str,
) -> Result<(), EngineError> {
    let schema = plan.schema();
    ctx.deregister_table(table)?;
    let provider: Arc<dyn datafusion::datasource::TableProvider> =
        match crate::keyed_table::key_of(plan) {
            Some(sorted) => Arc::new(crate::keyed_table::KeyedTable::try_new(
                schema, batches, sorted,
            )?),
            None => Arc::new(MemTable::try_new(schema, batches)?),
        };
    ctx.register_table(table, provider)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ReportRequest;

    #[tokio::test]
    async fn the_latest_code_by_time_survives_packing() {
        let ctx = SessionContext::new();
        let latest = latest_code(&latest_sql("code"));
        // Times before 1970 too; at the same time the larger code wins.
        let sql = format!(
            "SELECT g, {latest} AS code FROM (VALUES (1, -5, 3), (1, -2, 1), (2, 10, 7), \
             (2, 10, 9), (2, 4, 15)) t(g, time, code) GROUP BY g ORDER BY g"
        );
        let b = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        let codes = b[0]
            .column(1)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::Int64Array>();
        assert_eq!(codes.unwrap().values().to_vec(), [1, 9]);
        // Every status and kind comes back from its code.
        assert!(2 * clientela_core::kind::SUBSCRIPTION_STATUSES.len() as i64 <= CODE_SPAN);
        let (status, kind) = status_and_kind("c");
        for (i, s) in clientela_core::kind::SUBSCRIPTION_STATUSES
            .iter()
            .enumerate()
        {
            for k in ["product", "service"] {
                let sql = format!(
                    "SELECT {status} = '{s}' AND {kind} = '{k}' AND c = {} FROM \
                     (SELECT {} AS c FROM (VALUES ('{s}', '{k}')) t(status, kind))",
                    2 * i + usize::from(k == "service"),
                    status_kind_code()
                );
                let b = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
                let ok = b[0]
                    .column(0)
                    .as_any()
                    .downcast_ref::<datafusion::arrow::array::BooleanArray>();
                assert!(ok.unwrap().value(0), "{s} {k}");
            }
        }
    }

    #[test]
    fn an_earlier_day_joins_an_aggregates_own_filter() {
        let count = count_if("kind = 'complaint'");
        assert_eq!(at_day(&count, 20, 20), count, "the last day adds nothing");
        assert_eq!(
            at_day(&count, 10, 20),
            "COUNT(*) FILTER (WHERE day <= 10 AND (kind = 'complaint'))"
        );
        assert_eq!(
            at_day("MAX(day)", 10, 20),
            "MAX(day) FILTER (WHERE day <= 10)"
        );
        assert_eq!(
            at_day(&day_if("MIN", "amount_minor > 0"), 10, 20),
            "MIN(day) FILTER (WHERE day <= 10 AND (amount_minor > 0))"
        );
    }

    #[tokio::test]
    async fn the_previous_day_computes_only_what_its_stage_reads() {
        let config = Config::default();
        let e = crate::Engine::new(clientela_table::Dataset::new(), config.clone()).unwrap();
        let req = ReportRequest {
            as_of: chrono::NaiveDate::from_ymd_opt(2024, 3, 31),
            ..Default::default()
        };
        let p = Params::resolve(&req, None, &config).unwrap();
        let days = [p.d, p.transition_day()];
        let at = [
            StagesAt {
                p: p.clone(),
                table: "now",
                columns: "*",
            },
            StagesAt {
                p: p.at(p.transition_day()),
                table: "before",
                columns: "ck, stage",
            },
        ];
        let kept = kept_columns(e.context(), &config, &days, &at)
            .await
            .unwrap();
        // At the as-of day every facts column is read (those of the
        // qualifying kinds), at the end of the previous period only the
        // stage's inputs (paying, NPS, the last interaction, …).
        for (alias, names) in source_columns(&config) {
            for name in names {
                let (now, before) = (format!("{alias}__{name}_0"), format!("{alias}__{name}_1"));
                assert!(!kept.contains(&before) || kept.contains(&now), "{before}");
            }
        }
        for read in [
            "o__net_minor",
            "np__latest_nps",
            "su__last_day",
            "sb__all_ended",
        ] {
            assert!(kept.contains(&format!("{read}_0")), "{read}");
            assert!(kept.contains(&format!("{read}_1")), "{read}");
        }
        for unread in ["su__complaints", "o__revenue_365_minor", "lo__points"] {
            assert!(kept.contains(&format!("{unread}_0")), "{unread}");
            assert!(!kept.contains(&format!("{unread}_1")), "{unread}");
        }
        assert_eq!(kept.type_of("o__net_minor_1"), "Int64");
        // The plan without them still runs: the facts read typed nulls.
        let sql = sources_sql(&config, &days, Some(&kept));
        assert!(!sql.contains("complaints_1"));
        e.context()
            .sql(&sql)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
    }
}
