//! RFM scores and segments on the hand-checked fixture
//! `tests/fixtures/cohorts/rfm` (its README works out every value): quintile
//! cut points with ties, refunds, and every named segment with the cells on
//! both sides of its score boundaries.

use super::{cell, column, load, rows};
use chrono::NaiveDate;
use clientela_core::Config;
use clientela_engine::{Engine, Report, ReportRequest};

async fn growth() -> Report {
    let req = ReportRequest {
        as_of: NaiveDate::from_ymd_opt(2024, 6, 30),
        periods: Some(3),
        ..Default::default()
    };
    Engine::new(load("cohorts/rfm"), Config::default())
        .unwrap()
        .growth(&req)
        .await
        .unwrap()
}

/// `rfm_customers` as `id R F M r f m segment`, by customer id.
fn customers(r: &Report) -> Vec<String> {
    rows(
        r,
        "rfm_customers",
        &[
            "customer_id",
            "recency_days",
            "frequency",
            "monetary",
            "r_score",
            "f_score",
            "m_score",
            "rfm_segment",
        ],
    )
}

#[tokio::test]
async fn every_paying_customer_is_scored_by_quintile() {
    let r = growth().await;
    // R cuts 10 30 60 120 (reversed), F cuts 1 2 3 4, M cuts 30 60 90 120:
    // P01 and P05 tie at M 60.00 on positions 6 and 7, both score 2.
    assert_eq!(
        customers(&r),
        [
            "P01 0 3 60.00 5 3 2 potential_loyalists",
            "P02 5 1 10.00 5 1 1 new",
            "P03 10 4 150.00 5 4 5 champions",
            "P04 20 1 20.00 4 1 1 promising",
            "P05 25 2 60.00 4 2 2 potential_loyalists",
            "P06 30 4 120.00 4 4 4 loyal",
            "P07 45 2 30.00 3 2 1 about_to_sleep",
            "P08 50 3 80.00 3 3 3 need_attention",
            "P09 60 5 140.00 3 5 5 loyal",
            "P10 90 3 90.00 2 3 3 at_risk",
            "P11 100 5 130.00 2 5 5 cannot_lose",
            "P12 120 2 40.00 2 2 2 hibernating",
            "P13 200 1 50.00 1 1 2 hibernating",
            "P14 250 4 100.00 1 4 4 at_risk",
            "P15 300 5 110.00 1 5 4 cannot_lose",
        ],
        "X1 (refunded to 0) and X2 (no order) are not paying"
    );
}

#[tokio::test]
async fn segments_count_revenue_and_averages() {
    let r = growth().await;
    let b = &r.section("rfm_segments").unwrap().batch;
    assert_eq!(
        column(b, "rfm_segment"),
        [
            "champions",
            "loyal",
            "potential_loyalists",
            "new",
            "promising",
            "need_attention",
            "about_to_sleep",
            "cannot_lose",
            "at_risk",
            "hibernating",
        ]
    );
    let get = |seg: &str, col: &str| cell(&r, "rfm_segments", "rfm_segment", seg, col);
    let expected = [
        ("champions", "1 6.7 150.00 10.0 4.0 150.00"),
        ("loyal", "2 13.3 260.00 45.0 4.5 130.00"),
        ("potential_loyalists", "2 13.3 120.00 12.5 2.5 60.00"),
        ("new", "1 6.7 10.00 5.0 1.0 10.00"),
        ("promising", "1 6.7 20.00 20.0 1.0 20.00"),
        ("need_attention", "1 6.7 80.00 50.0 3.0 80.00"),
        ("about_to_sleep", "1 6.7 30.00 45.0 2.0 30.00"),
        ("cannot_lose", "2 13.3 240.00 200.0 5.0 120.00"),
        ("at_risk", "2 13.3 190.00 170.0 3.5 95.00"),
        ("hibernating", "2 13.3 90.00 160.0 1.5 45.00"),
    ];
    for (seg, values) in expected {
        let got: Vec<String> = [
            "customers",
            "pct",
            "revenue",
            "avg_recency_days",
            "avg_frequency",
            "avg_monetary",
        ]
        .iter()
        .map(|c| get(seg, c))
        .collect();
        assert_eq!(got.join(" "), values, "{seg}");
    }
}

#[tokio::test]
async fn segments_split_by_an_attribute() {
    let req = ReportRequest {
        as_of: NaiveDate::from_ymd_opt(2024, 6, 30),
        periods: Some(3),
        by: Some("country".into()),
        ..Default::default()
    };
    let r = Engine::new(load("cohorts/rfm"), Config::default())
        .unwrap()
        .growth(&req)
        .await
        .unwrap();
    // No customer has a country: one split value, every segment listed once.
    let b = &r.section("rfm_segments").unwrap().batch;
    assert_eq!(column(b, "segment"), vec!["(none)"; 10]);
    assert_eq!(
        cell(&r, "rfm_segments", "rfm_segment", "loyal", "pct"),
        "13.3"
    );
    let c = &r.section("rfm_customers").unwrap().batch;
    assert_eq!(c.num_rows(), 15);
}
