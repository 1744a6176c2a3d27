//! The metrics of SPEC §2–3, one file each. Every function returns report
//! sections computed by plans over the canonical tables and the
//! materialised `customer_stage` table.

pub(crate) mod acquisition;
pub(crate) mod active;
pub(crate) mod activity_masks;
pub(crate) mod capital;
pub(crate) mod churn;
pub(crate) mod cohorts;
pub(crate) mod customer_orders;
pub(crate) mod engagement;
pub(crate) mod loyalty;
pub(crate) mod mrr;
pub(crate) mod mrr_movements;
pub(crate) mod nps;
pub(crate) mod paying;
pub(crate) mod per_period;
pub(crate) mod period_lifecycle;
pub(crate) mod referrals;
pub(crate) mod retention_cost;
pub(crate) mod rfm;
pub(crate) mod stages;

/// `func(col)` over the changes of `subscriptions` (`ck`,
/// `subscription_id`, `time`) for `func` `lead` (the next change of the
/// same subscription) or `lag` (the previous one): null at its last (first)
/// change.
///
/// `func(col) OVER (PARTITION BY ck, subscription_id ORDER BY time)` gives
/// the same, but DataFusion's window runs partition by partition, slowly
/// with hundreds of thousands of two-row partitions; one ordered pass and a
/// look at the neighbouring row's keys does not.
pub(crate) fn same_subscription(func: &str, col: &str) -> String {
    format!(
        "CASE WHEN {} THEN {func}({col}) OVER ({SUBSCRIPTION_ORDER}) END",
        is_same_subscription(func)
    )
}

/// Whether the row `func` (`lead` or `lag`) reads in [`same_subscription`]'s
/// order is a change of the same subscription.
pub(crate) fn is_same_subscription(func: &str) -> String {
    let w = format!("OVER ({SUBSCRIPTION_ORDER})");
    format!("{func}(ck) {w} = ck AND {func}(subscription_id) {w} = subscription_id")
}

/// SQL of bit `cl_period_index(day, first, granularity)` of a 64-bit
/// period mask (in parentheses): the periods counted from the one of day
/// `first`.
pub(crate) fn period_bit(day: &str, first: i32, granularity: &str) -> String {
    format!(
        "(CAST(1 AS BIGINT) << CAST(cl_period_index({day}, {first}, '{granularity}') AS BIGINT))"
    )
}

/// The order of [`same_subscription`]'s window: every change, by
/// subscription and time.
pub(crate) const SUBSCRIPTION_ORDER: &str = "ORDER BY ck, subscription_id, time";

/// The day of the next change of the same subscription (`to_day`).
pub(crate) fn next_change_day() -> String {
    same_subscription("lead", "day")
}
