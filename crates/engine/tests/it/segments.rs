//! Segments on the `basic` fixture (its README gives the value tiers, tags
//! and ages): expressions, restriction of every report, the segment report.

use super::{as_of, cell, column, engine};
use clientela_core::Config;

#[tokio::test]
async fn an_expression_counts_its_customers() {
    let e = engine(Config::default());
    let p = e.params(&as_of()).await.unwrap();
    for (expr, members) in [
        ("country = 'IT' and capital > 30", 2), // A 230, B 40
        ("has_tag(tags, 'sport')", 2),          // A, C (" Sport ")
        ("stage in ('loyal', 'promoter')", 2),  // A, C
        ("value_tier = 'gold'", 2),             // E, C
        ("value_tier IS NULL", 2),              // H, I never paid
        ("age_band = '65+' or age < 18", 2),    // C, B
        // Recency 3 6 11 16 30 31 40 60 80 212 days: cut points 6 16 31 80, R5 = D, C.
        ("rfm_segment IS NOT NULL and r_score = 5", 2),
    ] {
        let size = e.segment_size(&p, expr).await.unwrap();
        assert_eq!((size.members, size.customers), (members, 14), "{expr}");
    }
}

#[tokio::test]
async fn bad_expressions_say_what_is_wrong() {
    let e = engine(Config::default());
    let p = e.params(&as_of()).await.unwrap();
    for (expr, says) in [
        ("countri = 'IT'", "countri"),
        ("country = 'IT'; DELETE FROM customers", "unexpected ;"),
        ("capital >", "segment expression"),
    ] {
        let err = e.segment_size(&p, expr).await.unwrap_err().to_string();
        assert!(err.contains(says), "{expr}: {err}");
    }
}

#[tokio::test]
async fn a_restricted_engine_reports_only_the_segment_with_unchanged_stages() {
    let mut e = engine(Config::default());
    let p = e.params(&as_of()).await.unwrap();
    let size = e.restrict_to_segment(&p, "country = 'DE'").await.unwrap();
    assert_eq!((size.members, size.customers), (4, 14));
    let r = e.overview(&as_of()).await.unwrap();
    // C promoter (referred D, who is DE too), D new, I prospect, K active.
    for (stage, n) in [
        ("promoter", "1"),
        ("new", "1"),
        ("prospect", "1"),
        ("active", "1"),
    ] {
        assert_eq!(
            cell(&r, "stages", "stage", stage, "customers"),
            n,
            "{stage}"
        );
    }
    assert_eq!(r.section("stages").unwrap().batch.num_rows(), 4);
    assert_eq!(cell(&r, "paying", "segment", "all", "known_customers"), "4");
    let list = e
        .customers(&e.params(&as_of()).await.unwrap(), None, "id", None)
        .await
        .unwrap();
    let b = &list.sections[0].batch;
    assert_eq!(column(b, "customer_id"), ["C", "D", "I", "K"]);
    assert_eq!(
        column(b, "stage"),
        ["promoter", "new", "prospect", "active"]
    );
}

#[tokio::test]
async fn the_segment_report_cuts_the_base_every_way() {
    let e = engine(Config::default());
    let saved = vec![
        ("big".to_string(), "capital > 50".to_string()),
        ("italians".to_string(), "country = 'IT'".to_string()),
    ];
    let attributes = vec!["country".to_string(), "age_band".to_string()];
    let r = e
        .segment_report(&as_of(), &attributes, &saved)
        .await
        .unwrap();
    let tiers = &r.section("segments_value_tier").unwrap().batch;
    assert_eq!(
        column(tiers, "segment"),
        ["platinum", "gold", "silver", "bronze", "(none)"]
    );
    assert_eq!(column(tiers, "customers"), ["1", "2", "3", "6", "2"]);
    assert_eq!(
        column(tiers, "capital"),
        ["230.00", "180.00", "125.00", "50.00", "0.00"]
    );
    let stages = &r.section("segments_stage").unwrap().batch;
    assert_eq!(column(stages, "segment")[0], "prospect");
    // (section, segment, column, value); IT: A B G H J M N, latest NPS A 3
    // (detractor) and B 8 (passive).
    for (section, segment, name, value) in [
        ("segments_stage", "loyal", "avg_capital", "230.00"),
        ("segments_by_country", "IT", "customers", "7"),
        ("segments_by_country", "IT", "nps_answers", "2"),
        ("segments_by_country", "IT", "nps", "-50.0"),
        ("segments_by_country", "IT", "customers_pct", "50.0"),
        ("segments_by_age_band", "25-34", "customers", "1"),
        ("segments_by_age_band", "(none)", "customers", "11"),
    ] {
        assert_eq!(
            cell(&r, section, "segment", segment, name),
            value,
            "{section} {segment} {name}"
        );
    }
    let tags = &r.section("segments_tags").unwrap().batch;
    assert_eq!(column(tags, "segment"), ["music", "sport", "(no tags)"]);
    assert_eq!(column(tags, "customers"), ["2", "2", "11"]);
    let s = &r.section("segments_saved").unwrap().batch;
    assert_eq!(column(s, "segment"), ["big", "italians"]);
    assert_eq!(column(s, "customers"), ["3", "7"]); // A 230, E 120, C 60
    assert_eq!(column(s, "capital")[0], "410.00");
    let err = e
        .segment_report(&as_of(), &["shoe_size".to_string()], &[])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("shoe_size") && err.contains("country"),
        "{err}"
    );
}
