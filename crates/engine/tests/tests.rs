//! Engine tests on the hand-checked fixture `tests/fixtures/basic` (its
//! README explains every expected value).

use chrono::NaiveDate;
use clientela_core::{Config, RecordKind};
use clientela_engine::{Engine, Report, ReportRequest};
use clientela_ingest::{read_file, ReadOptions};
use clientela_table::Dataset;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[path = "it/acquisition.rs"]
mod acquisition;
#[path = "it/cohorts.rs"]
mod cohorts;
#[path = "it/engagement.rs"]
mod engagement;
#[path = "it/mrr.rs"]
mod mrr;
#[path = "it/rfm.rs"]
mod rfm;
#[path = "it/segments.rs"]
mod segments;
#[path = "it/sql.rs"]
mod sql;
#[path = "it/value.rs"]
mod value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

fn load(name: &str) -> Dataset {
    let mut tables: BTreeMap<RecordKind, Vec<RecordBatch>> = BTreeMap::new();
    for entry in std::fs::read_dir(fixture(name)).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "csv") {
            continue;
        }
        let reader = read_file(&path, &ReadOptions::default()).unwrap();
        let kind = reader.kind();
        for chunk in reader {
            tables.entry(kind).or_default().push(chunk.unwrap().batch);
        }
    }
    Dataset::from_canonical(&tables)
}

fn engine(config: Config) -> Engine {
    Engine::new(load("basic"), config).unwrap()
}

fn as_of() -> ReportRequest {
    ReportRequest {
        as_of: NaiveDate::from_ymd_opt(2024, 3, 31),
        periods: Some(3),
        ..Default::default()
    }
}

/// Text of every cell of a column, by row.
fn column(b: &RecordBatch, name: &str) -> Vec<String> {
    let c = b
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", b.schema()));
    let f = ArrayFormatter::try_new(c.as_ref(), &FormatOptions::default().with_null("")).unwrap();
    (0..b.num_rows()).map(|i| f.value(i).to_string()).collect()
}

/// The cell of column `name` in the row whose `key` column equals `value`.
fn cell(r: &Report, section: &str, key: &str, value: &str, name: &str) -> String {
    let b = &r
        .section(section)
        .unwrap_or_else(|| panic!("no section {section}"))
        .batch;
    let keys = column(b, key);
    let row = keys
        .iter()
        .position(|k| k == value)
        .unwrap_or_else(|| panic!("{section}: no {key}={value} in {keys:?}"));
    column(b, name)[row].clone()
}

#[tokio::test]
async fn stages_follow_the_rules_of_spec_section_2() {
    let e = engine(Config::default());
    let r = e.overview(&as_of()).await.unwrap();
    let expected = [
        ("prospect", "2"),
        ("churned", "2"),
        ("at_risk", "2"),
        ("promoter", "1"),
        ("loyal", "1"),
        ("new", "2"),
        ("active", "2"),
        ("dormant", "2"),
    ];
    for (stage, n) in expected {
        assert_eq!(
            cell(&r, "stages", "stage", stage, "customers"),
            n,
            "{stage}"
        );
    }
    let list = e
        .customers(&e.params(&as_of()).await.unwrap(), None, "id", None)
        .await
        .unwrap();
    let b = &list.sections[0].batch;
    let got: Vec<String> = column(b, "customer_id")
        .into_iter()
        .zip(column(b, "stage"))
        .map(|(c, s)| format!("{c}:{s}"))
        .collect();
    assert_eq!(
        got.join(" "),
        "A:loyal B:new C:promoter D:new E:churned F:at_risk G:dormant H:prospect I:prospect J:churned K:active L:dormant M:active N:at_risk"
    );
}

/// Every row of a table as text, sorted.
async fn table_rows(e: &Engine, table: &str) -> Vec<String> {
    let batches = e
        .sql(&format!("SELECT * FROM {table} ORDER BY ck"))
        .await
        .unwrap();
    let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string();
    text.lines().map(String::from).collect()
}

#[tokio::test]
async fn stages_at_two_days_in_one_pass_equal_each_day_alone() {
    let e = engine(Config::default());
    let p = e.params(&as_of()).await.unwrap();
    let before = p.at(p.transition_day());
    e.stages_now_and_before(&p).await.unwrap();
    let now_together = table_rows(&e, "customer_stage").await;
    let before_together = table_rows(&e, "customer_stage_prev").await;
    e.stages(&p).await.unwrap();
    assert_eq!(now_together, table_rows(&e, "customer_stage").await);
    e.stages(&before).await.unwrap();
    e.sql("CREATE TABLE stage_before AS SELECT ck, stage FROM customer_stage")
        .await
        .unwrap();
    let before_alone = table_rows(&e, "stage_before").await;
    assert_eq!(before_together, before_alone);
    // The fixture changes stages between the two days, so the check has
    // something to compare.
    assert_ne!(now_together, before_alone);
}

/// Every section of a report as text.
fn sections_text(r: &Report) -> Vec<String> {
    r.sections
        .iter()
        .map(|s| {
            let table = datafusion::arrow::util::pretty::pretty_format_batches(
                std::slice::from_ref(&s.batch),
            );
            format!("{}\n{}", s.name, table.unwrap())
        })
        .collect()
}

#[tokio::test]
async fn tables_split_by_customer_give_the_same_reports() {
    use clientela_engine::EnginePartitioner;
    use clientela_table::KeyPartitioner;
    // More partitions than customers of some kinds: empty partitions too.
    for partitions in [2, 5] {
        let partitioner = EnginePartitioner::with_partitions(partitions);
        assert_eq!(partitioner.partitions(), partitions);
        let split = load("basic").split_by(&partitioner).unwrap();
        let plain = Engine::with_partitions(load("basic"), Config::default(), partitions).unwrap();
        let keyed = Engine::with_partitions(split, Config::default(), partitions).unwrap();
        let shown = keyed
            .sql("EXPLAIN SELECT ck, count(*) FROM orders GROUP BY ck")
            .await
            .unwrap();
        let shown = datafusion::arrow::util::pretty::pretty_format_batches(&shown)
            .unwrap()
            .to_string();
        assert!(shown.contains("KeyPartitionedExec"), "{shown}");
        let req = as_of();
        assert_eq!(
            sections_text(&plain.overview(&req).await.unwrap()),
            sections_text(&keyed.overview(&req).await.unwrap()),
            "overview, {partitions} partitions"
        );
        assert_eq!(
            table_rows(&plain, "customer_stage").await,
            table_rows(&keyed, "customer_stage").await
        );
        assert_eq!(
            sections_text(&plain.growth(&req).await.unwrap()),
            sections_text(&keyed.growth(&req).await.unwrap()),
            "growth, {partitions} partitions"
        );
    }
}

#[tokio::test]
async fn paying_active_and_capital() {
    let r = engine(Config::default()).overview(&as_of()).await.unwrap();
    assert_eq!(
        cell(&r, "paying", "segment", "all", "known_customers"),
        "14"
    );
    assert_eq!(
        cell(&r, "paying", "segment", "all", "paying_customers"),
        "12"
    );
    assert_eq!(cell(&r, "paying", "segment", "all", "revenue"), "585.00");
    assert_eq!(cell(&r, "paying", "segment", "all", "arppu"), "48.75");
    assert_eq!(
        cell(&r, "active", "segment", "all", "active_customers"),
        "7"
    );
    for (kind, n) in [
        ("recent_buyer", "5"),
        ("loyal", "1"),
        ("support", "1"),
        ("product_subscriber", "0"),
        ("service_subscriber", "1"),
        ("contact", "0"),
    ] {
        assert_eq!(cell(&r, "active", "segment", "all", kind), n, "{kind}");
    }
    assert_eq!(
        cell(&r, "active_kinds_overlap", "kind", "recent_buyer", "loyal"),
        "1",
        "A is both"
    );
    assert_eq!(cell(&r, "capital", "segment", "all", "capital"), "585.00");
    assert_eq!(
        cell(&r, "capital", "segment", "all", "median_capital"),
        "27.50"
    );
    assert_eq!(
        cell(&r, "capital", "segment", "all", "max_capital"),
        "230.00"
    );
    assert_eq!(
        cell(&r, "paying_by_period", "period", "2024-03-01", "revenue"),
        "205.00"
    );
}

#[tokio::test]
async fn churn_lifecycle_nps_and_funnel_in_march() {
    let r = engine(Config::default()).overview(&as_of()).await.unwrap();
    let m = "2024-03-01";
    assert_eq!(cell(&r, "churn", "period", m, "customers_at_start"), "4");
    assert_eq!(cell(&r, "churn", "period", m, "lost"), "3");
    assert_eq!(cell(&r, "churn", "period", m, "churn_pct"), "75.0");
    assert_eq!(cell(&r, "churn", "period", m, "retention_pct"), "25.0");
    assert_eq!(cell(&r, "churn", "period", m, "active_at_end"), "7");
    for (col, n) in [
        ("new", "4"),
        ("returning", "1"),
        ("resurrecting", "3"),
        ("active", "8"),
        ("dormant", "2"),
    ] {
        assert_eq!(cell(&r, "period_lifecycle", "period", m, col), n, "{col}");
    }
    for (col, n) in [
        ("answers", "4"),
        ("promoters", "1"),
        ("passives", "1"),
        ("detractors", "2"),
        ("nps", "-25.0"),
        ("margin_95", "81.3"),
    ] {
        assert_eq!(cell(&r, "nps", "period", m, col), n, "{col}");
    }
    for (step, n) in [
        ("paying", "12"),
        ("repeat (2+ orders)", "4"),
        ("promoter (NPS 9-10 or referral)", "2"),
    ] {
        assert_eq!(cell(&r, "funnel", "step", step, "customers"), n, "{step}");
    }
    assert_eq!(cell(&r, "funnel", "step", "paying", "median_days"), "27.0");
}

#[tokio::test]
async fn the_time_zone_moves_a_late_order_into_the_next_day() {
    let config = Config {
        timezone: "Europe/Rome".into(),
        ..Config::default()
    };
    let e = engine(config);
    let list = e
        .customers(
            &e.params(&as_of()).await.unwrap(),
            Some("new".parse().unwrap()),
            "id",
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        column(&list.sections[0].batch, "customer_id"),
        ["B", "D", "L"]
    );
}

#[tokio::test]
async fn splits_by_an_attribute() {
    let req = ReportRequest {
        by: Some("country".into()),
        ..as_of()
    };
    let r = engine(Config::default()).overview(&req).await.unwrap();
    assert_eq!(cell(&r, "paying", "segment", "IT", "known_customers"), "7");
    assert_eq!(cell(&r, "paying", "segment", "FR", "revenue"), "205.00");
    let bad = ReportRequest {
        by: Some("shoe_size".into()),
        ..as_of()
    };
    let err = engine(Config::default())
        .overview(&bad)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("shoe_size") && err.contains("country"),
        "{err}"
    );
}

#[tokio::test]
async fn customer_profile_shows_stage_history() {
    let e = engine(Config::default());
    let p = e.params(&as_of()).await.unwrap();
    let prof = e.customer(&p, "F").await.unwrap();
    assert_eq!(column(&prof.summary, "stage"), ["at_risk"]);
    // F's last order was 2024-01-11: active until 02-09, dormant from 02-10, at risk after 45 days (02-26).
    let (stage, since) = &prof.stage_history[0];
    assert_eq!(
        (stage.as_str(), since.to_string().as_str()),
        ("at_risk", "2024-02-26")
    );
    assert!(e.customer(&p, "nobody").await.is_err());
}

#[tokio::test]
async fn a_profile_scores_p_alive_when_the_base_fits_a_purchase_model() {
    // Enough buyers to fit the model: the stage rule calls cl_p_alive in
    // the profile's own single-customer context too.
    let data = clientela_demo::generate(&clientela_demo::DemoConfig::with_customers(200));
    let e = Engine::new(Dataset::from_canonical(&data.tables), Config::default()).unwrap();
    let p = e.params(&ReportRequest::default()).await.unwrap();
    assert!(p.purchase_model.is_some(), "the demo base fits a model");
    let prof = e.customer(&p, "C0000001").await.unwrap();
    assert_eq!(prof.summary.num_rows(), 1);
    assert!(!prof.stage_history.is_empty());
}

#[tokio::test]
async fn mixed_currencies_are_an_error() {
    let mut ds = load("basic");
    let orders = ds.tables.get_mut(&RecordKind::Order).unwrap();
    let b = orders[0].clone();
    let idx = b.schema().index_of("currency").unwrap();
    let mut cols = b.columns().to_vec();
    cols[idx] = std::sync::Arc::new(datafusion::arrow::array::StringArray::from(vec![
        "USD";
        b.num_rows(
        )
    ]));
    orders.push(RecordBatch::try_new(b.schema(), cols).unwrap());
    let err = Engine::new(ds, Config::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("EUR, USD"), "{err}");
}

/// The rows of a section as space-separated cells of `columns`.
pub fn rows(r: &Report, section: &str, columns: &[&str]) -> Vec<String> {
    let b = &r
        .section(section)
        .unwrap_or_else(|| panic!("no section {section}"))
        .batch;
    let cols: Vec<Vec<String>> = columns.iter().map(|c| column(b, c)).collect();
    (0..b.num_rows())
        .map(|i| {
            cols.iter()
                .map(|c| c[i].as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}
