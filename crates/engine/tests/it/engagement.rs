//! Engagement and loyalty on the hand-checked fixture
//! `tests/fixtures/engagement` (its README works out every expected value):
//! DAU, 7-day WAU, stickiness, repeat visitors, interactions by source, the
//! active-days histogram, points per period, tiers and balances; and a data
//! set without loyalty events (the `cohorts` fixture).

use super::{load, rows};
use chrono::NaiveDate;
use clientela_core::config::LoyaltyTier;
use clientela_core::Config;
use clientela_engine::{Engine, Report, ReportRequest};

/// January and February 2024 (up to the 10th), by month.
fn two_months() -> ReportRequest {
    ReportRequest {
        as_of: NaiveDate::from_ymd_opt(2024, 2, 10),
        periods: Some(2),
        ..Default::default()
    }
}

async fn growth(fixture: &str, config: Config, req: &ReportRequest) -> Report {
    Engine::new(load(fixture), config)
        .unwrap()
        .growth(req)
        .await
        .unwrap()
}

const ENGAGEMENT: [&str; 10] = [
    "period",
    "segment",
    "avg_dau",
    "avg_wau",
    "active_customers",
    "stickiness_pct",
    "interactions",
    "interactions_per_active",
    "repeat_visitors",
    "repeat_pct",
];

#[tokio::test]
async fn engagement_dau_wau_stickiness_and_repeat_visitors() {
    let r = growth("engagement", Config::default(), &two_months()).await;
    assert_eq!(
        rows(&r, "engagement", &ENGAGEMENT),
        [
            "2024-01-01 all 0.13 0.84 2 6.5 6 3.0 2 100.0",
            "2024-02-01 all 0.4 1.7 3 13.3 5 1.67 1 33.3",
        ]
    );
}

#[tokio::test]
async fn engagement_by_channel_and_histogram_of_the_current_period() {
    let r = growth("engagement", Config::default(), &two_months()).await;
    let cols = [
        "source",
        "source_customers",
        "interactions",
        "interactions_per_source_customer",
        "interactions_per_active",
    ];
    assert_eq!(
        rows(&r, "engagement_by_channel", &cols),
        [
            "usage 2 3 1.5 1.0",
            "contact_email 1 1 1.0 0.33",
            "order 1 1 1.0 0.33",
        ]
    );
    assert_eq!(
        rows(
            &r,
            "stickiness_histogram",
            &["active_days", "customers", "pct"]
        ),
        ["1 2 66.7", "2 1 33.3"]
    );
}

#[tokio::test]
async fn engagement_split_by_country() {
    let req = ReportRequest {
        by: Some("country".into()),
        ..two_months()
    };
    let r = growth("engagement", Config::default(), &req).await;
    assert_eq!(
        rows(&r, "engagement", &ENGAGEMENT),
        [
            "2024-01-01 FR 0.0 0.13 0  0  0 ",
            "2024-01-01 IT 0.13 0.71 2 6.5 6 3.0 2 100.0",
            "2024-02-01 FR 0.1 0.3 1 10.0 1 1.0 0 0.0",
            "2024-02-01 IT 0.3 1.4 2 15.0 4 2.0 1 50.0",
        ]
    );
}

const LOYALTY: [&str; 7] = [
    "period",
    "segment",
    "points_earned",
    "points_redeemed",
    "net_points",
    "redemption_rate_pct",
    "active_members",
];

#[tokio::test]
async fn loyalty_points_redemption_tiers_and_balances() {
    let r = growth("engagement", Config::default(), &two_months()).await;
    assert_eq!(
        rows(&r, "loyalty", &LOYALTY),
        [
            "2024-01-01 all 5400 650 4750 12.0 4",
            "2024-02-01 all 300 50 250 16.7 3",
        ]
    );
    let tiers = [
        "tier",
        "min_points",
        "customers",
        "total_points",
        "avg_points",
    ];
    assert_eq!(
        rows(&r, "loyalty_tiers", &tiers),
        [
            "none  1 -50 -50.0",
            "bronze 0 1 150 150.0",
            "silver 1000 1 1100 1100.0",
            "gold 5000 1 5000 5000.0",
        ]
    );
    let balances = [
        "customer_id",
        "points_earned",
        "points_redeemed",
        "balance",
        "tier",
    ];
    assert_eq!(
        rows(&r, "loyalty_balances", &balances),
        [
            "C 5000 0 5000 gold",
            "A 1600 500 1100 silver",
            "B 200 50 150 bronze",
            "D 100 150 -50 none",
        ]
    );
}

#[tokio::test]
async fn loyalty_tiers_follow_the_configuration() {
    let config = Config {
        loyalty_tiers: vec![
            LoyaltyTier {
                name: "basic".into(),
                min_points: 0,
            },
            LoyaltyTier {
                name: "vip".into(),
                min_points: 1000,
            },
        ],
        ..Config::default()
    };
    let r = growth("engagement", config, &two_months()).await;
    assert_eq!(
        rows(&r, "loyalty_tiers", &["tier", "customers", "total_points"]),
        ["none 1 -50", "basic 1 150", "vip 2 6100"]
    );
}

#[tokio::test]
async fn no_loyalty_data_gives_zeros_and_an_empty_rate() {
    let req = ReportRequest {
        as_of: NaiveDate::from_ymd_opt(2024, 4, 30),
        periods: Some(2),
        ..Default::default()
    };
    let r = growth("cohorts", Config::default(), &req).await;
    assert_eq!(
        rows(&r, "loyalty", &LOYALTY),
        ["2024-03-01 all 0 0 0  0", "2024-04-01 all 0 0 0  0"]
    );
    assert_eq!(
        rows(
            &r,
            "loyalty_tiers",
            &["tier", "customers", "total_points", "avg_points"]
        ),
        ["bronze 0 0 ", "silver 0 0 ", "gold 0 0 "]
    );
    assert_eq!(r.section("loyalty_balances").unwrap().batch.num_rows(), 0);
}
