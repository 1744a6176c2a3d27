//! Cohorts on the hand-checked fixture `tests/fixtures/cohorts` (its README
//! works out every expected value): both cohort bases, "on" and "on or
//! after" retention, revenue with refunds, and a split.

use super::{load, rows};
use chrono::NaiveDate;
use clientela_core::config::CohortBasis;
use clientela_core::Config;
use clientela_engine::{Engine, Report, ReportRequest};

/// January to April 2024, by month.
fn four_months() -> ReportRequest {
    ReportRequest {
        as_of: NaiveDate::from_ymd_opt(2024, 4, 30),
        periods: Some(4),
        ..Default::default()
    }
}

async fn growth(basis: CohortBasis, req: &ReportRequest) -> Report {
    let config = Config {
        cohort_basis: basis,
        ..Config::default()
    };
    Engine::new(load("cohorts"), config)
        .unwrap()
        .growth(req)
        .await
        .unwrap()
}

const RETENTION: [&str; 7] = [
    "cohort",
    "period_offset",
    "cohort_customers",
    "active_customers",
    "active_pct",
    "active_on_or_after",
    "on_or_after_pct",
];

const REVENUE: [&str; 5] = [
    "cohort",
    "period_offset",
    "revenue",
    "cumulative_revenue",
    "cumulative_per_customer",
];

#[tokio::test]
async fn first_purchase_cohorts_retention() {
    let r = growth(CohortBasis::FirstPurchase, &four_months()).await;
    assert_eq!(
        rows(&r, "cohort_retention", &RETENTION),
        [
            "2024-01-01 0 3 3 100.0 3 100.0",
            "2024-01-01 1 3 1 33.3 3 100.0",
            "2024-01-01 2 3 2 66.7 3 100.0",
            "2024-01-01 3 3 1 33.3 1 33.3",
            "2024-02-01 0 2 2 100.0 2 100.0",
            "2024-02-01 1 2 0 0.0 1 50.0",
            "2024-02-01 2 2 1 50.0 1 50.0",
            "2024-03-01 0 1 1 100.0 1 100.0",
            "2024-03-01 1 1 0 0.0 0 0.0",
            "2024-04-01 0 1 1 100.0 1 100.0",
        ]
    );
}

#[tokio::test]
async fn first_purchase_cohorts_revenue() {
    let r = growth(CohortBasis::FirstPurchase, &four_months()).await;
    assert_eq!(
        rows(&r, "cohort_revenue", &REVENUE),
        [
            "2024-01-01 0 155.00 155.00 51.67",
            "2024-01-01 1 40.00 195.00 65.00",
            "2024-01-01 2 85.00 280.00 93.33",
            "2024-01-01 3 20.00 300.00 100.00",
            "2024-02-01 0 80.00 80.00 40.00",
            "2024-02-01 1 0.00 80.00 40.00",
            "2024-02-01 2 30.00 110.00 55.00",
            "2024-03-01 0 25.00 25.00 25.00",
            "2024-03-01 1 0.00 25.00 25.00",
            "2024-04-01 0 45.00 45.00 45.00",
        ]
    );
}

#[tokio::test]
async fn signup_cohorts_retention_and_revenue() {
    let r = growth(CohortBasis::Signup, &four_months()).await;
    assert_eq!(
        rows(&r, "cohort_retention", &RETENTION),
        [
            "2024-01-01 0 3 1 33.3 2 66.7",
            "2024-01-01 1 3 2 66.7 2 66.7",
            "2024-01-01 2 3 0 0.0 1 33.3",
            "2024-01-01 3 3 1 33.3 1 33.3",
            "2024-02-01 0 2 1 50.0 2 100.0",
            "2024-02-01 1 2 1 50.0 2 100.0",
            "2024-02-01 2 2 1 50.0 1 50.0",
            "2024-03-01 0 2 1 50.0 1 50.0",
            "2024-03-01 1 2 0 0.0 0 0.0",
            "2024-04-01 0 1 1 100.0 1 100.0",
        ]
    );
    assert_eq!(
        rows(&r, "cohort_revenue", &REVENUE),
        [
            "2024-01-01 0 40.00 40.00 13.33",
            "2024-01-01 1 60.00 100.00 33.33",
            "2024-01-01 2 0.00 100.00 33.33",
            "2024-01-01 3 40.00 140.00 46.67",
            "2024-02-01 0 60.00 60.00 30.00",
            "2024-02-01 1 35.00 95.00 47.50",
            "2024-02-01 2 30.00 125.00 62.50",
            "2024-03-01 0 25.00 25.00 12.50",
            "2024-03-01 1 0.00 25.00 12.50",
            "2024-04-01 0 45.00 45.00 45.00",
        ]
    );
}

#[tokio::test]
async fn cohorts_split_by_country() {
    let req = ReportRequest {
        by: Some("country".into()),
        ..four_months()
    };
    let r = growth(CohortBasis::FirstPurchase, &req).await;
    let offset0: Vec<String> = rows(
        &r,
        "cohort_retention",
        &["cohort", "segment", "period_offset", "cohort_customers"],
    )
    .into_iter()
    .filter(|row| row.split(' ').nth(2) == Some("0"))
    .collect();
    assert_eq!(
        offset0,
        [
            "2024-01-01 IT 0 3",
            "2024-02-01 FR 0 2",
            "2024-03-01 IT 0 1",
            "2024-04-01 FR 0 1",
        ]
    );
}
