//! Acquisition, referrals and customer retention cost on the hand-checked
//! fixture `tests/fixtures/acquisition` (its README works out every
//! expected value): CAC, conversion, LTV:CAC and payback per source, with a
//! source without new customers (empty CAC); the CAC trend; CRC with a
//! month without customers (empty CRC); a referral chain, a referred lead
//! who never buys, a self-referral and a cycle. Then the same report on
//! generated demo data against the generator's configured CAC.

use super::{load, rows};
use chrono::NaiveDate;
use clientela_core::Config;
use clientela_demo::{generate, DemoConfig, ACQUISITION_CHANNELS};
use clientela_engine::{Engine, Report, ReportRequest};
use clientela_table::Dataset;

/// January to March 2024, by month.
fn quarter() -> ReportRequest {
    ReportRequest {
        as_of: NaiveDate::from_ymd_opt(2024, 3, 31),
        periods: Some(3),
        ..Default::default()
    }
}

async fn growth(req: &ReportRequest) -> Report {
    Engine::new(load("acquisition"), Config::default())
        .unwrap()
        .growth(req)
        .await
        .unwrap()
}

const ACQUISITION: [&str; 12] = [
    "source",
    "leads",
    "converted_leads",
    "conversion_rate_pct",
    "new_customers",
    "acquisition_spend",
    "cac",
    "customers",
    "avg_capital",
    "avg_clv",
    "ltv_cac",
    "payback_months",
];

/// The `acquisition` rows, with `-` for an empty cell.
fn acquisition(r: &Report) -> Vec<String> {
    rows(r, "acquisition", &ACQUISITION)
        .into_iter()
        .map(|row| {
            row.split(' ')
                .map(|c| if c.is_empty() { "-" } else { c })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

#[tokio::test]
async fn acquisition_per_source_with_cac_ltv_and_payback() {
    let r = growth(&quarter()).await;
    assert_eq!(
        acquisition(&r),
        [
            "(none) 1 0 0.0 0 0.00 - 0 - - - -",
            "organic 0 0 - 0 50.00 - 4 80.00 - - -",
            "paid_search 3 2 66.7 2 450.00 225.00 2 130.00 - 0.58 3.0",
            "referral 1 0 0.0 3 0.00 0.00 3 38.33 - - 0.0",
            "social 1 1 100.0 2 120.00 60.00 2 40.00 - 0.67 1.2",
            "(all) 6 3 50.0 7 620.00 88.57 11 70.45 - 0.8 6.7",
        ]
    );
}

#[tokio::test]
async fn cac_is_empty_without_new_customers() {
    let r = growth(&quarter()).await;
    // organic spent 50.00 in February and won nobody in the window.
    let organic = &acquisition(&r)[1];
    assert!(organic.starts_with("organic 0 0 - 0 50.00 - "), "{organic}");
    assert_eq!(
        rows(
            &r,
            "acquisition_trend",
            &[
                "period",
                "source",
                "acquisition_spend",
                "new_customers",
                "cac"
            ]
        ),
        [
            "2024-01-01 organic 0.00 0 ",
            "2024-01-01 paid_search 300.00 0 ",
            "2024-01-01 referral 0.00 0 ",
            "2024-01-01 social 0.00 0 ",
            "2024-01-01 (all) 300.00 0 ",
            "2024-02-01 organic 50.00 0 ",
            "2024-02-01 paid_search 150.00 2 75.00",
            "2024-02-01 referral 0.00 1 0.00",
            "2024-02-01 social 0.00 0 ",
            "2024-02-01 (all) 200.00 3 66.67",
            "2024-03-01 organic 0.00 0 ",
            "2024-03-01 paid_search 0.00 0 ",
            "2024-03-01 referral 0.00 2 0.00",
            "2024-03-01 social 120.00 2 60.00",
            "2024-03-01 (all) 120.00 4 30.00",
        ]
    );
}

#[tokio::test]
async fn crc_is_empty_in_a_month_without_customers() {
    let r = growth(&quarter()).await;
    assert_eq!(
        rows(
            &r,
            "retention_cost",
            &["period", "retention_spend", "customers", "crc"]
        ),
        [
            "2024-01-01 100.00 0 ",
            "2024-02-01 90.00 4 22.50",
            "2024-03-01 90.00 5 18.00",
        ]
    );
}

#[tokio::test]
async fn referrals_count_conversion_and_revenue_once_per_referred_person() {
    let r = growth(&quarter()).await;
    assert_eq!(
        rows(
            &r,
            "referral_summary",
            &[
                "segment",
                "referrers",
                "referrals",
                "referrals_per_referrer",
                "paying_customers",
                "referrals_per_customer",
                "referred_customers",
                "conversion_pct",
                "referred_revenue",
                "revenue_per_referred_customer",
            ]
        ),
        ["all 4 8 2.0 11 0.73 5 62.5 275.00 55.00"]
    );
    assert_eq!(
        rows(
            &r,
            "referrers",
            &[
                "customer_id",
                "referrals",
                "referred_customers",
                "referred_revenue"
            ]
        ),
        ["A 3 1 60.00", "Y 2 2 95.00", "H 2 1 30.00", "X 1 1 90.00"]
    );
}

#[tokio::test]
async fn referral_tree_follows_chains_and_closes_cycles() {
    let r = growth(&quarter()).await;
    assert_eq!(
        rows(
            &r,
            "referral_tree",
            &[
                "root_id",
                "referrer_id",
                "referred_id",
                "depth",
                "converted"
            ]
        ),
        [
            "A A B 1 false",
            "A A H 1 true",
            "A A Q 1 false",
            "A H I 2 true",
            "A H J 2 false",
            "X X Y 1 true",
            "X Y X 2 true",
            "X Y Z 2 true",
        ]
    );
}

#[tokio::test]
async fn referrals_split_by_the_referrers_country() {
    let req = ReportRequest {
        by: Some("country".into()),
        ..quarter()
    };
    let r = growth(&req).await;
    // P, the only customer without a country, neither pays nor refers.
    let cols = [
        "segment",
        "referrers",
        "referrals",
        "paying_customers",
        "referrals_per_customer",
        "referred_customers",
        "conversion_pct",
        "referred_revenue",
    ];
    assert_eq!(
        rows(&r, "referral_summary", &cols),
        ["FR 1 2 3 0.67 2 100.0 95.00", "IT 3 6 8 0.75 3 50.0 180.00",]
    );
    assert_eq!(
        rows(&r, "referrers", &["customer_id", "segment"]),
        ["A IT", "Y FR", "H IT", "X IT"]
    );
    // Spend has no customer: the acquisition tables are not split.
    let unsplit = growth(&quarter()).await;
    assert_eq!(acquisition(&r), acquisition(&unsplit));
}

/// Customers of the generated business (prospects come on top).
const DEMO_CUSTOMERS: usize = 3_000;

#[tokio::test]
async fn demo_cac_matches_the_generators_cost_per_customer() {
    let cfg = DemoConfig::with_customers(DEMO_CUSTOMERS);
    let data = generate(&cfg);
    let e = Engine::new(Dataset::from_canonical(&data.tables), Config::default()).unwrap();
    // The growth report fits the value models itself: avg_clv is scored.
    let r = e.growth(&ReportRequest::default()).await.unwrap();
    let got = rows(&r, "acquisition", &["source", "cac", "avg_clv", "ltv_cac"]);
    for (channel, want) in ACQUISITION_CHANNELS.iter().zip(cfg.spend.cac) {
        let row = got
            .iter()
            .find(|row| row.starts_with(&format!("{channel} ")))
            .unwrap_or_else(|| panic!("no {channel} in {got:?}"));
        let cells: Vec<&str> = row.split(' ').collect();
        let cac: f64 = cells[1].parse().unwrap();
        // Spend follows sign-ups month by month with 12 % noise; first
        // orders come at sign-up or within two weeks.
        assert!(
            (cac - want).abs() <= 0.15 * want,
            "{channel}: CAC {cac}, generator {want}"
        );
        assert!(!cells[2].is_empty() && !cells[3].is_empty(), "{row}");
    }
    // Every month has buyers and retention spend (email, loyalty).
    for row in rows(&r, "retention_cost", &["period", "crc"]) {
        assert!(!row.ends_with(' '), "{row}");
    }
    // A referred person appears once in the tree, within the depth bound.
    let tree = rows(&r, "referral_tree", &["referred_id", "depth"]);
    let mut referred: Vec<&str> = tree.iter().map(|t| t.split(' ').next().unwrap()).collect();
    let n = referred.len();
    referred.sort_unstable();
    referred.dedup();
    assert_eq!(referred.len(), n);
    assert!(tree
        .iter()
        .all(|t| t.split(' ').nth(1).unwrap().parse::<usize>().unwrap() <= 10));
}

#[tokio::test]
async fn referral_tree_stops_at_the_depth_bound_and_at_cycles() {
    // A chain of 12 referrals c0 → c1 → … → c12 and a cycle p → q → r → p,
    // written to a temporary fixture.
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("event_id,customer_id,time,referred_id\n");
    for i in 0..12 {
        csv += &format!("c{i},c{i},2024-01-{:02},c{}\n", i + 1, i + 1);
    }
    for (i, (from, to)) in [("p", "q"), ("q", "r"), ("r", "p")].iter().enumerate() {
        csv += &format!("x{i},{from},2024-02-01,{to}\n");
    }
    std::fs::write(dir.path().join("referrals.csv"), csv).unwrap();
    let e = Engine::new(load(dir.path().to_str().unwrap()), Config::default()).unwrap();
    let r = e.growth(&quarter()).await.unwrap();
    let tree = rows(
        &r,
        "referral_tree",
        &["root_id", "referrer_id", "referred_id", "depth"],
    );
    // c10 → c11 and c11 → c12 lie beyond depth 10; p roots its cycle (first
    // in the register) and r → p closes it.
    let mut want: Vec<String> = (0..10)
        .map(|i| format!("c0 c{i} c{} {}", i + 1, i + 1))
        .collect();
    want.extend(["p p q 1", "p q r 2", "p r p 3"].map(String::from));
    assert_eq!(tree, want);
}
