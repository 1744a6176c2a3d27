//! Acquisition (seeds 002, 003, 004; SPEC §3 "CAC", "Acquisition and
//! referral"): what each acquisition source brings and what it costs.
//!
//! The **acquisition source** is the customer's `channel` (`paid_search`,
//! `social`, …; `(none)` when empty): spend rows name a `channel` too
//! (schema: "matches customers' acquisition channel"), and CAC needs both
//! sides on the same key. The finer `customers.source` (`google_ads`) has
//! no spend to divide.
//!
//! Over the trend window W (the first trend period's first day to D):
//! - **leads**: people whose first lead event is in W and who had not paid
//!   before it (an existing customer asking for an ebook is not a
//!   prospect); **converted_leads**: those of them with a first payment on
//!   or after that lead day (by D), so the purchase must follow the lead;
//!   `conversion_rate_pct` = converted / leads × 100;
//! - **new_customers**: customers whose first payment falls in W (first
//!   order with an amount > 0 when their net order revenue is > 0, or
//!   first day of a paid `active`/`past_due` subscription, as `facts.rs`);
//! - **acquisition_spend**: spend rows of category `acquisition` in W;
//!   **CAC** = acquisition spend / new customers, empty when there is no
//!   new customer (never a division by zero).
//!
//! Value, over every customer of the source paying at D (not only the new
//! ones, whose history is too short to show a lifetime):
//! - **avg_capital**: mean customer capital (seed 002, historic CLV:
//!   net order revenue × `gross_margin`); **ltv_cac** = avg_capital / CAC;
//! - **avg_clv**: mean predicted CLV (12 months, 1 % a month, as
//!   `clientela clv`) with the BG/NBD and Gamma-Gamma models the growth
//!   report fits at D (empty, with the reason in the title, when they
//!   cannot be fitted);
//! - **payback_months** = CAC / monthly capital per customer, the latter
//!   the source's capital over its customer-months (days from each first
//!   payment to D, inclusive, / 30.4375): months an acquired customer needs,
//!   at the source's average pace, to give back their CAC.
//!
//! Spend is not per customer, so these tables are not split by `--by`.
//! `acquisition_trend` repeats spend, new customers and CAC per period.

use crate::facts::materialize;
use crate::report::{section, Section};
use crate::value::clv_report::scores_sql;
use crate::value::{summary_table, ClvRequest, ValueModels, MIN_FIT_CUSTOMERS};
use crate::{EngineError, Params};
use datafusion::prelude::SessionContext;

/// Materialised per-customer table shared by the acquisition, referral and
/// retention-cost plans: `(ck, source, segment, first_pay_day,
/// first_lead_day, net_minor, capital_minor, pmask)`, one row per customer
/// who pays at D, left a lead or paid in a trend period. `pmask` bit i: a
/// paid order (amount > 0) in trend period i, or a paid subscription
/// (`active`/`past_due`, amount > 0) during some of it.
pub(crate) const CUSTOMERS: &str = "customer_acquisition";

/// Source of customers without a channel.
const NO_SOURCE: &str = "(none)";
/// Source of the total row.
const ALL_SOURCES: &str = "(all)";
/// Days in an average month (365.25 / 12), for payback months.
const DAYS_PER_MONTH: f64 = 30.4375;

/// How `avg_clv` is computed in this report.
#[derive(Debug, Clone)]
pub(crate) enum ClvModels {
    /// Purchase and spend model literals for the CLV scoring functions.
    Fitted { purchase: String, spend: String },
    /// Why there is no predicted CLV (shown in the section title).
    Unavailable(String),
}

/// SQL of [`CUSTOMERS`]. Each customer's orders folded at D (`orders`: see
/// `customer_orders.rs`), paid subscription spans and leads are stacked
/// and folded by one aggregation on `ck`, then joined to the customers once
/// for their channel. The spans come folded per customer too: the window
/// that finds them leaves its rows in one partition, and a `GROUP BY ck`
/// puts them back in the split of the keyed tables, so that every input of
/// the union is split by `ck` and the fold runs on each partition alone
/// (no repartition).
fn customers_sql(p: &Params, orders: &str) -> String {
    let (first, d, g) = (p.first_start(), p.d, p.granularity.name());
    let bit = |day: &str| crate::metrics::period_bit(day, first, g);
    // A subscription span [from_day, to_day) cut to [first, D] sets the
    // bits of every period from the one of its first day to the one of its
    // last: (1 << (hi + 1)) − (1 << lo).
    let (span_from, span_to) = (
        format!("CAST(greatest(from_day, {first}) AS INT)"),
        format!("CAST(least(to_day - 1, {d}) AS INT)"),
    );
    format!(
        "WITH sp AS (SELECT ck, day AS from_day, status, amount_minor,
             {to_day} AS to_day
           FROM subscriptions WHERE day <= {d}),
         ev AS (SELECT ck, net_minor, first_paid_day AS order_day, paid_mask AS omask,
             CAST(NULL AS INT) AS sub_day, CAST(NULL AS BIGINT) AS smask,
             CAST(NULL AS INT) AS lead_day
           FROM {orders} o
           UNION ALL
           SELECT ck, CAST(NULL AS BIGINT), CAST(NULL AS INT), CAST(NULL AS BIGINT), MIN(from_day),
             bit_or(CASE WHEN {span_to} >= {span_from}
               THEN ({hi_bit} << CAST(1 AS BIGINT)) - {lo_bit} END),
             CAST(NULL AS INT)
           FROM sp WHERE status IN ('active', 'past_due') AND amount_minor > 0 GROUP BY ck
           UNION ALL
           SELECT ck, CAST(NULL AS BIGINT), CAST(NULL AS INT), CAST(NULL AS BIGINT),
             CAST(NULL AS INT), CAST(NULL AS BIGINT), day
           FROM leads WHERE day <= {d}),
         x AS (SELECT ck, SUM(net_minor) AS net_minor, MIN(order_day) AS first_order_day,
             bit_or(omask) AS omask,
             MIN(sub_day) AS first_sub_day, bit_or(smask) AS smask, MIN(lead_day) AS first_lead_day
           FROM ev GROUP BY ck),
         y AS (SELECT x.ck, COALESCE(c.channel, '{NO_SOURCE}') AS source, {seg} AS segment,
             least(CASE WHEN x.net_minor > 0 THEN x.first_order_day END, x.first_sub_day)
               AS first_pay_day,
             x.first_lead_day, COALESCE(x.net_minor, 0) AS net_minor,
             COALESCE(x.omask, 0) | COALESCE(x.smask, 0) AS pmask
           FROM x JOIN customers c ON c.ck = x.ck{seg_join})
         SELECT ck, source, segment, first_pay_day, first_lead_day, net_minor,
           CAST(ROUND(net_minor * {margin}) AS BIGINT) AS capital_minor, pmask
         FROM y WHERE first_pay_day IS NOT NULL OR first_lead_day IS NOT NULL OR pmask <> 0",
        hi_bit = bit(&span_to),
        lo_bit = bit(&span_from),
        seg = p.segment_sql(),
        seg_join = p.seg_join("c"),
        margin = p.config.gross_margin,
        to_day = crate::metrics::next_change_day(),
    )
}

/// Registers [`CUSTOMERS`] at `p.d`; the caller deregisters the table
/// once every section that reads it ran.
pub(crate) async fn prepare(ctx: &SessionContext, p: &Params) -> Result<(), EngineError> {
    let orders = crate::metrics::customer_orders::source(ctx, p)?;
    materialize(ctx, &customers_sql(p, &orders), CUSTOMERS).await
}

impl ClvModels {
    /// What the CLV scoring can use, from the growth report's fit: both
    /// models, or why not (a fit that fails leaves avg_clv empty rather
    /// than failing the whole report; the title says why).
    pub(crate) fn from_fit(fit: Result<Option<ValueModels>, EngineError>) -> ClvModels {
        match fit {
            Ok(Some(m)) => match m.spend_literal() {
                Some(spend) => ClvModels::Fitted {
                    purchase: m.purchase_literal(),
                    spend,
                },
                None => ClvModels::Unavailable("no repeat buyers to fit the spend model".into()),
            },
            Ok(None) => ClvModels::Unavailable(format!(
                "fewer than {MIN_FIT_CUSTOMERS} buyers to fit the value models"
            )),
            Err(e) => ClvModels::Unavailable(format!("value models not fitted: {e}")),
        }
    }
}

/// SQL of the per-source predicted CLV sums `(source, clv_sum,
/// clv_customers)` over the paying customers with a purchase summary.
fn clv_sql(p: &Params, clv: &ClvModels) -> String {
    match clv {
        ClvModels::Unavailable(_) => "SELECT CAST(NULL AS VARCHAR) AS source,
             CAST(NULL AS DOUBLE) AS clv_sum, CAST(0 AS BIGINT) AS clv_customers WHERE false"
            .into(),
        ClvModels::Fitted { purchase, spend } => {
            format!(
                "{}
                 SELECT a.source, SUM(v.clv) AS clv_sum, COUNT(*) AS clv_customers
                 FROM {CUSTOMERS} a JOIN scores v ON v.ck = a.ck
                 WHERE a.first_pay_day IS NOT NULL GROUP BY a.source",
                scores_sql(
                    &summary_table(p.d),
                    purchase,
                    spend,
                    &ClvRequest::default(),
                    p.config.gross_margin
                )
            )
        }
    }
}

/// SQL of the acquisition spend in W per source: `(source, p, spend)`,
/// `p` the start day of the spend's period.
fn spend_sql(p: &Params) -> String {
    format!(
        "SELECT COALESCE(channel, '{NO_SOURCE}') AS source, {period} AS p, SUM(amount_minor) AS spend
         FROM spend WHERE category = 'acquisition' AND day >= {first} AND day <= {d}
         GROUP BY 1, 2",
        period = p.period_of("day"),
        first = p.first_start(),
        d = p.d,
    )
}

/// SQL of the `acquisition` section.
fn acquisition_sql(p: &Params, clv: &ClvModels) -> String {
    let (first, d) = (p.first_start(), p.d);
    format!(
        "WITH a AS (SELECT source,
             COUNT(*) FILTER (WHERE first_lead_day >= {first}
               AND (first_pay_day IS NULL OR first_pay_day >= first_lead_day)) AS leads,
             COUNT(*) FILTER (WHERE first_lead_day >= {first} AND first_pay_day >= first_lead_day)
               AS converted,
             COUNT(*) FILTER (WHERE first_pay_day >= {first}) AS new_customers,
             COUNT(first_pay_day) AS customers,
             SUM(capital_minor) FILTER (WHERE first_pay_day IS NOT NULL) AS capital,
             SUM({d} - first_pay_day + 1) AS tenure_days
           FROM {CUSTOMERS} GROUP BY source),
         sp AS (SELECT source, SUM(spend) AS spend FROM ({spend}) GROUP BY source),
         cv AS ({clv}),
         per AS (SELECT COALESCE(a.source, sp.source) AS source, COALESCE(a.leads, 0) AS leads,
             COALESCE(a.converted, 0) AS converted, COALESCE(a.new_customers, 0) AS new_customers,
             COALESCE(sp.spend, 0) AS spend, COALESCE(a.customers, 0) AS customers,
             COALESCE(a.capital, 0) AS capital, COALESCE(a.tenure_days, 0) AS tenure_days,
             cv.clv_sum, COALESCE(cv.clv_customers, 0) AS clv_customers
           FROM a FULL JOIN sp ON sp.source = a.source
             LEFT JOIN cv ON cv.source = COALESCE(a.source, sp.source)),
         x AS (SELECT 0 AS o, * FROM per
           UNION ALL
           SELECT 1, '{ALL_SOURCES}', COALESCE(SUM(leads), 0), COALESCE(SUM(converted), 0),
             COALESCE(SUM(new_customers), 0), COALESCE(SUM(spend), 0), COALESCE(SUM(customers), 0),
             COALESCE(SUM(capital), 0), COALESCE(SUM(tenure_days), 0), SUM(clv_sum),
             COALESCE(SUM(clv_customers), 0)
           FROM per),
         r AS (SELECT *,
             CASE WHEN new_customers > 0 THEN CAST(spend AS DOUBLE) / new_customers END AS cac,
             CASE WHEN customers > 0 THEN CAST(capital AS DOUBLE) / customers END AS ltv
           FROM x)
         SELECT source, CAST(leads AS BIGINT) AS leads, CAST(converted AS BIGINT) AS converted_leads,
           CASE WHEN leads > 0 THEN ROUND(100.0 * converted / leads, 1) END AS conversion_rate_pct,
           CAST(new_customers AS BIGINT) AS new_customers,
           CAST(spend AS BIGINT) AS acquisition_spend_minor,
           CAST(ROUND(cac) AS BIGINT) AS cac_minor,
           CAST(customers AS BIGINT) AS customers,
           CAST(ROUND(ltv) AS BIGINT) AS avg_capital_minor,
           CASE WHEN clv_customers > 0 THEN CAST(ROUND(clv_sum / clv_customers) AS BIGINT) END
             AS avg_clv_minor,
           CASE WHEN cac > 0 THEN ROUND(ltv / cac, 2) END AS ltv_cac,
           CASE WHEN capital > 0 AND tenure_days > 0
             THEN ROUND(cac * tenure_days / ({DAYS_PER_MONTH} * capital), 1) END AS payback_months
         FROM r ORDER BY o, source",
        spend = spend_sql(p),
        clv = clv_sql(p, clv),
    )
}

/// SQL of the `acquisition_trend` section: per period and source (those
/// with spend or new customers in W), then the period's total.
fn trend_sql(p: &Params) -> String {
    format!(
        "WITH per AS {periods},
         nw AS (SELECT source, {period} AS p, COUNT(*) AS n FROM {CUSTOMERS}
             WHERE first_pay_day >= {first} GROUP BY 1, 2),
         sp AS ({spend}),
         src AS (SELECT source FROM nw UNION SELECT source FROM sp),
         x AS (SELECT per.p, src.source, COALESCE(sp.spend, 0) AS spend, COALESCE(nw.n, 0) AS n
           FROM per CROSS JOIN src LEFT JOIN sp ON sp.p = per.p AND sp.source = src.source
             LEFT JOIN nw ON nw.p = per.p AND nw.source = src.source),
         t AS (SELECT per.p, COALESCE(SUM(x.spend), 0) AS spend, COALESCE(SUM(x.n), 0) AS n
           FROM per LEFT JOIN x ON x.p = per.p GROUP BY per.p),
         y AS (SELECT p, 0 AS o, source, spend, n FROM x
           UNION ALL SELECT p, 1, '{ALL_SOURCES}', spend, n FROM t)
         SELECT arrow_cast(p, 'Date32') AS period, source,
           CAST(spend AS BIGINT) AS acquisition_spend_minor, CAST(n AS BIGINT) AS new_customers,
           CASE WHEN n > 0 THEN CAST(ROUND(CAST(spend AS DOUBLE) / n) AS BIGINT) END AS cac_minor
         FROM y ORDER BY p, o, source",
        periods = p.periods_values(),
        period = p.period_of("first_pay_day"),
        first = p.first_start(),
        spend = spend_sql(p),
    )
}

/// `acquisition` (per source over the trend window, then `(all)`) and
/// `acquisition_trend` (per period and source). Reads [`CUSTOMERS`]
/// (see [`prepare`]).
pub(crate) async fn sections(
    ctx: &SessionContext,
    p: &Params,
    clv: &ClvModels,
) -> Result<Vec<Section>, EngineError> {
    let window = format!("{} to {}", crate::date_of(p.first_start()), p.as_of());
    let clv_note = match clv {
        ClvModels::Fitted { .. } => format!(
            "avg_clv predicted over {} months",
            ClvRequest::default().horizon_months
        ),
        ClvModels::Unavailable(why) => format!("avg_clv empty: {why}"),
    };
    let g = p.granularity.name();
    Ok(vec![
        section(
            ctx,
            "acquisition",
            &format!(
                "Acquisition by source (customer channel), {window}: CAC = acquisition spend / new customers; value of every paying customer of the source ({clv_note}); LTV:CAC = avg_capital / CAC; payback in months"
            ),
            &acquisition_sql(p, clv),
        )
        .await?,
        section(
            ctx,
            "acquisition_trend",
            &format!("Acquisition spend, new customers and CAC per {g} and source"),
            &trend_sql(p),
        )
        .await?,
    ])
}
