//! Ad-hoc SQL over the user-facing views of the `basic` fixture.

use super::{as_of, column, engine};
use clientela_core::Config;

#[tokio::test]
async fn user_sql_sees_customer_ids_computed_fields_and_report_tables() {
    let e = engine(Config::default());
    let p = e.params(&as_of()).await.unwrap();
    let report = e.overview_at(&p).await.unwrap();
    let growth = e.growth(&as_of()).await.unwrap();
    let ctx = e
        .user_context(&p, Some(&report), Some(&growth))
        .await
        .unwrap();
    let run = |q: &'static str| {
        let (e, ctx, p) = (&e, &ctx, &p);
        async move {
            e.run_user_sql(ctx, p, q)
                .await
                .unwrap()
                .sections
                .remove(0)
                .batch
        }
    };
    // Computed fields on `customers`, by the business's ids (README: F and N at risk).
    let b =
        run("SELECT customer_id, stage FROM customers WHERE stage = 'at_risk' ORDER BY 1").await;
    assert_eq!(column(&b, "customer_id"), ["F", "N"]);
    // Events carry customer_id and the local date; money comes back as decimals.
    let b = run(
        "SELECT customer_id, SUM(amount_minor) AS spent_minor, MIN(local_date) AS first
         FROM orders GROUP BY customer_id ORDER BY spent_minor DESC, customer_id LIMIT 2",
    )
    .await;
    assert_eq!(column(&b, "customer_id"), ["A", "E"]);
    assert_eq!(column(&b, "spent"), ["230.00", "120.00"]);
    assert_eq!(column(&b, "first"), ["2023-01-10", "2023-08-01"]);
    // The segment columns too (fixture README; RFM: A recency 11 days R4 and
    // 3 orders F5 → loyal, C 6 days R5 and 2 orders F4 → champions).
    let b = run(
        "SELECT customer_id, value_tier, age_band, rfm_segment, capital FROM customers
         WHERE customer_id IN ('A', 'C') ORDER BY 1",
    )
    .await;
    assert_eq!(column(&b, "value_tier"), ["platinum", "gold"]);
    assert_eq!(column(&b, "age_band"), ["25-34", "65+"]);
    assert_eq!(column(&b, "rfm_segment"), ["loyal", "champions"]);
    assert_eq!(column(&b, "capital"), ["230.0", "60.0"]);
    // The report's sections are tables too.
    let b = run("SELECT paying_customers FROM report_paying").await;
    assert_eq!(column(&b, "paying_customers"), ["12"]);
    // And the growth report's, with money as decimals: the per-customer
    // movements of a period add up to its net new MRR.
    let b = run(
        "SELECT m.period, SUM(v.change) AS moves, MAX(m.net_new) AS net
         FROM growth_mrr m JOIN growth_mrr_movements v ON v.period = m.period
         GROUP BY m.period ORDER BY 1",
    )
    .await;
    // Fixture README: J's subscription cancelled in February (churn), K's
    // restarted in March (reactivation).
    assert_eq!(column(&b, "moves"), column(&b, "net"));
    assert_eq!(column(&b, "period"), ["2024-02-01", "2024-03-01"]);
    let b = run("SELECT COUNT(*) AS n FROM growth_mrr").await;
    assert_eq!(column(&b, "n"), ["3"]);
    // A wrong query is an error naming what is missing, not a panic.
    let err = e
        .run_user_sql(&ctx, &p, "SELECT ck FROM orders")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("ck"), "{err}");
}
