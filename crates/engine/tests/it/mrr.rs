//! Subscription revenue (MRR) on the hand-checked fixture `tests/fixtures/mrr`
//! (its README works out every expected value), one test per convention
//! setting, and the movement identity on generated demo data.

use super::{cell, column, load, rows};
use chrono::NaiveDate;
use clientela_core::config::MrrChurnAt;
use clientela_core::{Config, Granularity, RecordKind};
use clientela_demo::{generate, DemoConfig};
use clientela_engine::{Engine, Report, ReportRequest};
use clientela_table::Dataset;
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Decimal128Type, Int64Type};

/// The movement columns of the `mrr` section, in identity order.
const MOVEMENTS: [&str; 5] = ["new", "expansion", "reactivation", "contraction", "churn"];

fn engine(config: Config) -> Engine {
    Engine::new(load("mrr"), config).unwrap()
}

fn request(as_of: (i32, u32, u32), granularity: Granularity, periods: usize) -> ReportRequest {
    ReportRequest {
        as_of: NaiveDate::from_ymd_opt(as_of.0, as_of.1, as_of.2),
        granularity,
        periods: Some(periods),
        ..Default::default()
    }
}

/// January to June 2024, by month.
fn half_year() -> ReportRequest {
    request((2024, 6, 30), Granularity::Month, 6)
}

async fn growth(config: Config, req: &ReportRequest) -> Report {
    engine(config).growth(req).await.unwrap()
}

/// Checks `columns` of the `mrr` row of each period: `(period, "v1 v2 …")`,
/// with `-` for an empty cell.
fn check(r: &Report, columns: &[&str], rows: &[(&str, &str)]) {
    for (period, values) in rows {
        let got: Vec<String> = columns
            .iter()
            .map(|c| cell(r, "mrr", "period", period, c))
            .map(|v| if v.is_empty() { "-".into() } else { v })
            .collect();
        assert_eq!(got.join(" "), *values, "{period}: {columns:?}");
    }
}

/// The `mrr_movements` rows as `snapshot customer movement change`.
fn movements(r: &Report) -> Vec<String> {
    rows(
        r,
        "mrr_movements",
        &["snapshot", "customer_id", "movement", "change"],
    )
}

const FLOW: [&str; 8] = [
    "mrr_start",
    "new",
    "expansion",
    "reactivation",
    "contraction",
    "churn",
    "mrr_end",
    "customers",
];

#[tokio::test]
async fn mrr_moves_month_by_month_by_default() {
    let r = growth(Config::default(), &half_year()).await;
    check(
        &r,
        &FLOW,
        &[
            ("2024-01-01", "140.00 0.00 15.00 0.00 0.00 50.00 105.00 4"),
            ("2024-02-01", "105.00 125.00 10.00 0.00 0.00 0.00 240.00 6"),
            ("2024-03-01", "240.00 0.00 10.00 50.00 30.00 30.00 240.00 6"),
            ("2024-04-01", "240.00 0.00 0.00 40.00 0.00 20.00 260.00 6"),
            ("2024-05-01", "260.00 10.00 0.00 30.00 0.00 130.00 170.00 6"),
            ("2024-06-01", "170.00 30.44 0.00 0.00 0.00 0.00 200.44 7"),
        ],
    );
    check(
        &r,
        &["net_new", "growth_mrr", "arr"],
        &[
            ("2024-01-01", "-35.00 15.00 1260.00"),
            ("2024-06-01", "30.44 0.00 2405.28"),
        ],
    );
}

#[tokio::test]
async fn each_customer_case_has_its_movement() {
    let r = growth(Config::default(), &half_year()).await;
    assert_eq!(
        movements(&r),
        [
            "2024-01-31 B expansion 15.00",    // a second subscription
            "2024-01-31 D churn -50.00",       // the only subscription cancelled
            "2024-02-29 A expansion 10.00",    // 10 → 30 → 20 within February
            "2024-02-29 C new 100.00",         // 1200.00 a year
            "2024-02-29 F new 25.00",          // the trial converted on Feb 8
            "2024-03-31 A contraction -15.00", // downgrade to 5
            "2024-03-31 B contraction -15.00", // one of two subscriptions cancelled
            "2024-03-31 D reactivation 50.00", // back after 45 days
            "2024-03-31 F expansion 10.00",    // upgrade after converting
            "2024-03-31 H churn -30.00",       // paused
            "2024-04-30 B churn -20.00",       // the last subscription cancelled
            "2024-04-30 E reactivation 40.00", // back after 193 days
            "2024-05-31 C churn -100.00",      // annual plan cancelled
            "2024-05-31 H reactivation 30.00", // resumed after 61 days
            "2024-05-31 J churn -30.00",       // 90.00 a quarter
            "2024-05-31 K new 10.00",
            "2024-06-30 L new 30.44", // 7.00 a week
        ]
    );
    let b = &r.section("mrr_movements").unwrap().batch;
    let since: Vec<String> = column(b, "days_since_churn")
        .into_iter()
        .filter(|d| !d.is_empty())
        .collect();
    assert_eq!(since, ["45", "193", "61"], "D, E, H");
    assert_eq!(column(b, "period")[0], "2024-01-01");
}

#[tokio::test]
async fn rates_arpa_and_subscription_ltv() {
    let r = growth(Config::default(), &half_year()).await;
    check(
        &r,
        &[
            "gross_mrr_churn_pct",
            "net_mrr_churn_pct",
            "grr_pct",
            "nrr_pct",
            "quick_ratio",
        ],
        &[
            ("2024-01-01", "35.71 25.0 64.29 75.0 0.3"),
            ("2024-03-01", "25.0 0.0 75.0 79.17 1.0"),
            ("2024-05-01", "50.0 38.46 50.0 50.0 0.31"),
            ("2024-06-01", "0.0 0.0 100.0 100.0 -"),
        ],
    );
    check(
        &r,
        &[
            "customers_start",
            "churned_customers",
            "customer_churn_pct",
            "arpa",
            "subscription_ltv",
        ],
        &[
            ("2024-01-01", "5 1 20.0 26.25 131.25"),
            ("2024-02-01", "4 0 0.0 40.00 -"),
            ("2024-03-01", "6 1 16.67 40.00 240.00"),
            ("2024-05-01", "6 2 33.33 28.33 85.00"),
        ],
    );
}

#[tokio::test]
async fn a_reactivation_window_turns_late_returns_into_new() {
    let config = Config {
        mrr_reactivation_window_days: Some(50),
        ..Config::default()
    };
    let r = growth(config, &half_year()).await;
    check(
        &r,
        &["new", "reactivation", "mrr_end"],
        &[
            ("2024-03-01", "0.00 50.00 240.00"), // D: 45 days
            ("2024-04-01", "40.00 0.00 260.00"), // E: 193 days
            ("2024-05-01", "40.00 0.00 170.00"), // K 10 + H 30 (61 days)
        ],
    );
}

#[tokio::test]
async fn churn_at_period_end_keeps_paid_mrr_to_the_renewal() {
    let config = Config {
        mrr_churn_at: MrrChurnAt::PeriodEnd,
        ..Config::default()
    };
    let r = growth(config, &half_year()).await;
    check(
        &r,
        &FLOW,
        &[
            ("2024-01-01", "140.00 0.00 15.00 0.00 0.00 0.00 155.00 5"),
            ("2024-02-01", "155.00 125.00 10.00 0.00 0.00 50.00 240.00 6"),
            ("2024-03-01", "240.00 0.00 10.00 50.00 30.00 30.00 240.00 6"),
            ("2024-04-01", "240.00 60.00 0.00 40.00 0.00 0.00 340.00 8"),
            ("2024-05-01", "340.00 10.00 0.00 30.00 0.00 80.00 300.00 8"),
            ("2024-06-01", "300.00 30.44 0.00 0.00 0.00 30.00 300.44 8"),
        ],
    );
    let days: Vec<String> = column(
        &r.section("mrr_movements").unwrap().batch,
        "days_since_churn",
    )
    .into_iter()
    .filter(|d| !d.is_empty())
    .collect();
    assert_eq!(days, ["33", "192", "61"], "D from Feb 1, E from 2023-10-01");
}

#[tokio::test]
async fn same_period_customers_count_only_when_asked() {
    let config = Config {
        mrr_count_same_period: true,
        ..Config::default()
    };
    let r = growth(config, &half_year()).await;
    check(
        &r,
        &["new", "churn", "mrr_end", "churned_customers"],
        &[("2024-04-01", "60.00 80.00 260.00 1")],
    );
    assert!(movements(&r).contains(&"2024-04-30 I new 60.00".to_string()));
    assert!(movements(&r).contains(&"2024-04-30 I churn -60.00".to_string()));
    let default = growth(Config::default(), &half_year()).await;
    assert!(!movements(&default).iter().any(|m| m.contains(" I ")));
}

#[tokio::test]
async fn paused_subscriptions_keep_mrr_when_asked() {
    let config = Config {
        mrr_paused_counts: true,
        ..Config::default()
    };
    let r = growth(config, &half_year()).await;
    check(
        &r,
        &["reactivation", "churn", "mrr_end", "customers"],
        &[
            ("2024-03-01", "50.00 0.00 270.00 7"),
            ("2024-05-01", "0.00 130.00 170.00 6"),
        ],
    );
}

#[tokio::test]
async fn quarters_add_up_their_months() {
    let r = growth(
        Config::default(),
        &request((2024, 6, 30), Granularity::Quarter, 2),
    )
    .await;
    check(
        &r,
        &FLOW,
        &[
            (
                "2024-01-01",
                "140.00 125.00 35.00 50.00 30.00 80.00 240.00 6",
            ),
            ("2024-04-01", "240.00 40.44 0.00 70.00 0.00 150.00 200.44 7"),
        ],
    );
    // F's March upgrade is expansion, but F is new in the quarter: not growth MRR.
    check(
        &r,
        &[
            "growth_mrr",
            "customer_churn_pct",
            "arpa",
            "subscription_ltv",
        ],
        &[("2024-01-01", "25.00 13.33 40.00 300.00")],
    );
    let b = &r.section("mrr_movements").unwrap().batch;
    assert_eq!(column(b, "period")[4], "2024-01-01");
    assert_eq!(column(b, "snapshot")[4], "2024-02-29");
}

#[tokio::test]
async fn weeks_snapshot_at_week_ends() {
    let r = growth(
        Config::default(),
        &request((2024, 3, 10), Granularity::Week, 2),
    )
    .await;
    check(
        &r,
        &FLOW,
        &[
            ("2024-02-26", "240.00 0.00 0.00 0.00 0.00 30.00 210.00 5"),
            ("2024-03-04", "210.00 0.00 0.00 50.00 15.00 0.00 245.00 6"),
        ],
    );
    // One of six lost in a week: 1/6 × 30.4375 / 7 a month.
    check(&r, &["customer_churn_pct"], &[("2024-02-26", "72.47")]);
}

#[tokio::test]
async fn splits_by_country() {
    let req = ReportRequest {
        by: Some("country".into()),
        ..half_year()
    };
    let r = growth(Config::default(), &req).await;
    let b = &r.section("mrr").unwrap().batch;
    let rows: Vec<String> = column(b, "period")
        .into_iter()
        .zip(column(b, "segment"))
        .zip(column(b, "mrr_end"))
        .filter(|((p, _), _)| p == "2024-03-01")
        .map(|((_, s), m)| format!("{s} {m}"))
        .collect();
    assert_eq!(rows, ["DE 150.00", "FR 35.00", "IT 55.00"]);
}

#[tokio::test]
async fn a_subscription_in_another_currency_is_an_error() {
    let mut ds = load("mrr");
    let subs = ds.tables.get_mut(&RecordKind::Subscription).unwrap();
    let b = subs[0].clone();
    let idx = b.schema().index_of("currency").unwrap();
    let mut cols = b.columns().to_vec();
    cols[idx] = std::sync::Arc::new(datafusion::arrow::array::StringArray::from(vec![
        "USD";
        b.num_rows(
        )
    ]));
    subs.push(RecordBatch::try_new(b.schema(), cols).unwrap());
    let err = Engine::new(ds, Config::default())
        .err()
        .expect("EUR and USD without rates")
        .to_string();
    assert!(err.contains("EUR, USD"), "{err}");
}

/// Customers of the demo business: enough subscribers for every movement
/// in every month, small enough for a debug build.
const DEMO_CUSTOMERS: usize = 3_000;

/// A money column of a report in minor units (its decimals unscaled).
fn minor(b: &RecordBatch, name: &str) -> Vec<i64> {
    let c = b.column_by_name(name).unwrap();
    let c = c.as_primitive::<Decimal128Type>();
    c.values().iter().map(|v| *v as i64).collect()
}

#[tokio::test]
async fn movements_add_up_on_demo_data_under_every_setting() {
    let data = generate(&DemoConfig::with_customers(DEMO_CUSTOMERS));
    let dataset = Dataset::from_canonical(&data.tables);
    for (config, granularity) in [
        (Config::default(), Granularity::Month),
        (
            Config {
                mrr_churn_at: MrrChurnAt::PeriodEnd,
                mrr_count_same_period: true,
                mrr_reactivation_window_days: Some(90),
                mrr_paused_counts: true,
                ..Config::default()
            },
            Granularity::Quarter,
        ),
        (Config::default(), Granularity::Week),
    ] {
        let label = format!("{granularity:?} {config:?}");
        let e = Engine::new(dataset.clone(), config).unwrap();
        let req = ReportRequest {
            granularity,
            ..Default::default()
        };
        let r = e.growth(&req).await.unwrap();
        let b = &r.section("mrr").unwrap().batch;
        let (start, end) = (minor(b, "mrr_start"), minor(b, "mrr_end"));
        let m: Vec<Vec<i64>> = MOVEMENTS.iter().map(|c| minor(b, c)).collect();
        let mut moved = 0;
        for i in 0..b.num_rows() {
            let net = m[0][i] + m[1][i] + m[2][i] - m[3][i] - m[4][i];
            assert_eq!(start[i] + net, end[i], "{label}: period {i}");
            if i > 0 {
                assert_eq!(
                    start[i],
                    end[i - 1],
                    "{label}: period {i} starts where the last ended"
                );
            }
            moved += m.iter().map(|c| c[i]).sum::<i64>();
        }
        assert!(moved > 0 && end[b.num_rows() - 1] > 0, "{label}: no MRR");
        // Each customer's movements add up to the period's too.
        let per_customer: i64 = minor(&r.section("mrr_movements").unwrap().batch, "change")
            .iter()
            .sum();
        let net: i64 = minor(b, "net_new").iter().sum();
        assert_eq!(per_customer, net, "{label}");
    }
    // MRR on the as-of day, computed apart: every subscription's latest
    // change, active or past due, at its monthly amount.
    let e = Engine::new(dataset, Config::default()).unwrap();
    let d = e.last_day().unwrap();
    let direct = e
        .sql(&format!(
            "SELECT CAST(SUM(CASE WHEN s IN ('active', 'past_due') THEN
                 ROUND(CAST(a AS DOUBLE) * CASE i WHEN 'year' THEN 1.0 / 12 WHEN 'quarter' THEN 1.0 / 3 ELSE 1.0 END)
               ELSE 0 END) AS BIGINT) AS mrr
             FROM (SELECT last_value(status ORDER BY time) AS s, last_value(amount_minor ORDER BY time) AS a,
                     last_value(\"interval\" ORDER BY time) AS i
                   FROM subscriptions WHERE day <= {d} GROUP BY ck, subscription_id)"
        ))
        .await
        .unwrap();
    let direct = direct[0].column(0).as_primitive::<Int64Type>().value(0);
    let r = e.growth(&ReportRequest::default()).await.unwrap();
    let end = minor(&r.section("mrr").unwrap().batch, "mrr_end");
    assert_eq!(end.last(), Some(&direct));
}
