//! Loyalty (SPEC §3): points balances, tiers and the redemption rate.
//!
//! A loyalty event's `points` are earned when positive and redeemed when
//! negative (the field spec in `core/src/kind.rs`); `points_redeemed` is
//! shown as a positive number. Per trend period (days up to D):
//! `points_earned`, `points_redeemed`, `redemption_rate_pct` = redeemed /
//! earned × 100 (empty when nothing was earned: no division by zero), and
//! `active_members`, customers with a loyalty event in the period.
//!
//! A customer's **balance** at D is the sum of their points on or before D;
//! members are the customers with a loyalty event on or before D. Their
//! **tier** is the highest of `loyalty_tiers` whose `min_points` the balance
//! reaches; a balance below the lowest tier (more redeemed than earned) is
//! tier `none`.

use crate::facts::materialize;
use crate::report::{section, Section};
use crate::{EngineError, Params};
use datafusion::prelude::SessionContext;

/// Materialised balances at D: `(ck, segment, earned, redeemed, balance, tier)`.
const BALANCES: &str = "loyalty_balance_at";

/// The tier of a balance below every configured tier.
const NO_TIER: &str = "none";

/// Decimals of percentages and averages.
const DECIMALS: u32 = 1;

/// SQL of the tier of the `balance` column: the configured thresholds
/// checked from the highest down.
fn tier_sql(p: &Params) -> String {
    // Names are validated as plain words (config), so they are safe literals.
    let whens: Vec<String> = p
        .config
        .loyalty_tiers
        .iter()
        .rev()
        .map(|t| format!("WHEN balance >= {} THEN '{}'", t.min_points, t.name))
        .collect();
    format!("CASE {} ELSE '{NO_TIER}' END", whens.join(" "))
}

/// SQL of the balances table.
fn balances_sql(p: &Params) -> String {
    format!(
        "SELECT ck, segment, earned, redeemed, balance, {tier} AS tier FROM
           (SELECT l.ck, {seg} AS segment,
              cl_or_zero(SUM(l.points) FILTER (WHERE l.points > 0)) AS earned,
              cl_or_zero(-SUM(l.points) FILTER (WHERE l.points < 0)) AS redeemed,
              SUM(l.points) AS balance
            FROM loyalty l{seg_join} WHERE l.day <= {d} GROUP BY l.ck, {seg}) b",
        tier = tier_sql(p),
        seg = p.segment_sql(),
        seg_join = p.seg_join("l"),
        d = p.d,
    )
}

/// The split segments to show: `'all'` alone, or those of the members.
fn segments_sql(p: &Params) -> String {
    match p.by {
        None => "(SELECT 'all' AS segment)".into(),
        Some(_) => format!("(SELECT DISTINCT segment FROM {BALANCES})"),
    }
}

/// SQL of the `loyalty` trend.
fn trend_sql(p: &Params) -> String {
    let period = p.period_of("l.day");
    format!(
        "WITH per AS {periods},
         g AS (SELECT per.p, s.segment FROM per CROSS JOIN {segments} s),
         a AS (SELECT {period} AS p, {seg} AS segment,
             cl_or_zero(SUM(l.points) FILTER (WHERE l.points > 0)) AS earned,
             cl_or_zero(-SUM(l.points) FILTER (WHERE l.points < 0)) AS redeemed,
             COUNT(DISTINCT l.ck) AS members
           FROM loyalty l{seg_join} WHERE l.day >= {first} AND l.day <= {d}
           GROUP BY {period}, {seg}),
         x AS (SELECT g.p, g.segment, COALESCE(a.earned, 0) AS earned,
             COALESCE(a.redeemed, 0) AS redeemed, COALESCE(a.members, 0) AS members
           FROM g LEFT JOIN a ON a.p = g.p AND a.segment = g.segment)
         SELECT arrow_cast(p, 'Date32') AS period, segment,
           CAST(earned AS BIGINT) AS points_earned, CAST(redeemed AS BIGINT) AS points_redeemed,
           CAST(earned - redeemed AS BIGINT) AS net_points,
           CASE WHEN earned > 0 THEN ROUND(100.0 * redeemed / earned, {DECIMALS}) END
             AS redemption_rate_pct,
           CAST(members AS BIGINT) AS active_members
         FROM x ORDER BY period, segment",
        periods = p.periods_values(),
        segments = segments_sql(p),
        seg = p.segment_sql(),
        seg_join = p.seg_join("l"),
        first = p.first_start(),
        d = p.d,
    )
}

/// SQL of `loyalty_tiers`: every configured tier (with 0 customers too),
/// then `none` when some balance is below the lowest tier.
fn tiers_sql(p: &Params) -> String {
    let mut rows: Vec<String> = p
        .config
        .loyalty_tiers
        .iter()
        .enumerate()
        .map(|(i, t)| format!("({i}, '{}', {})", t.name, t.min_points))
        .collect();
    rows.push(format!("(-1, '{NO_TIER}', NULL)"));
    format!(
        "WITH t AS (SELECT column1 AS rank, column2 AS tier, CAST(column3 AS BIGINT) AS min_points
             FROM (VALUES {rows})),
         g AS (SELECT t.*, s.segment FROM t CROSS JOIN {segments} s),
         a AS (SELECT segment, tier, COUNT(*) AS customers, SUM(balance) AS total
           FROM {BALANCES} GROUP BY segment, tier)
         SELECT g.segment, g.tier, g.min_points, COALESCE(a.customers, 0) AS customers,
           CAST(COALESCE(a.total, 0) AS BIGINT) AS total_points,
           ROUND(CAST(a.total AS DOUBLE) / a.customers, {DECIMALS}) AS avg_points
         FROM g LEFT JOIN a ON a.segment = g.segment AND a.tier = g.tier
         WHERE g.rank >= 0 OR a.customers > 0
         ORDER BY g.segment, g.rank",
        rows = rows.join(", "),
        segments = segments_sql(p),
    )
}

/// SQL of `loyalty_balances`: every member, highest balance first.
fn balances_list_sql() -> String {
    format!(
        "SELECT c.customer_id, b.segment, CAST(b.earned AS BIGINT) AS points_earned,
           CAST(b.redeemed AS BIGINT) AS points_redeemed, CAST(b.balance AS BIGINT) AS balance,
           b.tier
         FROM {BALANCES} b JOIN customers c ON c.ck = b.ck
         ORDER BY balance DESC, customer_id"
    )
}

/// `loyalty` (per trend period), `loyalty_tiers` and `loyalty_balances` (at D).
pub(crate) async fn sections(
    ctx: &SessionContext,
    p: &Params,
) -> Result<Vec<Section>, EngineError> {
    materialize(ctx, &balances_sql(p), BALANCES).await?;
    let g = p.granularity.name();
    let out = vec![
        section(
            ctx,
            "loyalty",
            &format!("Loyalty points per {g} (earned, redeemed, redemption rate = redeemed / earned × 100, members with activity)"),
            &trend_sql(p),
        )
        .await?,
        section(
            ctx,
            "loyalty_tiers",
            "Loyalty tiers by points balance at the as-of date",
            &tiers_sql(p),
        )
        .await?,
        section(
            ctx,
            "loyalty_balances",
            "Loyalty points balance and tier of every member at the as-of date",
            &balances_list_sql(),
        )
        .await?,
    ];
    ctx.deregister_table(BALANCES)?;
    Ok(out)
}
