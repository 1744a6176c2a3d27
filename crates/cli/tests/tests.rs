//! End-to-end tests of the `clientela` binary.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_clientela"))
}

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn run(dir: &Path, args: &[&str]) -> Output {
    bin()
        .current_dir(dir)
        .env_remove("CLIENTELA_DB")
        .args(args)
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> (String, String) {
    let out = run(dir, args);
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    );
    assert!(out.status.success(), "{args:?} failed:\n{se}");
    (so, se)
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

const CDNOW_MAP: &[&str] = &[
    "--kind",
    "order",
    "--delimiter",
    "whitespace",
    "--map",
    "customer_id=customer_id,time=date,amount=dollar_value,quantity=number_of_cds",
    "--set",
    "currency=USD",
    "--date-format",
    "%Y%m%d",
];

#[test]
fn cdnow_through_the_column_mapping() {
    // A copy of ../shared/data/cdnow ships in the repository, so CI runs this too.
    let cdnow = repo("data/cdnow/CDNOW_master.txt");
    assert!(cdnow.exists(), "CDNOW data missing at {}", cdnow.display());
    let dir = tempfile::tempdir().unwrap();
    let file = cdnow.to_str().unwrap();
    let mut args = vec!["--db", "cd.db", "import", file];
    args.extend(CDNOW_MAP);
    let (_, err) = ok(dir.path(), &args);
    assert!(err.contains("69659"), "{err}");
    // Again: every event id is known, nothing is stored twice.
    let (_, again) = ok(dir.path(), &args);
    let order_line = again.lines().find(|l| l.contains("order")).unwrap();
    let cells: Vec<&str> = order_line.split('┆').map(str::trim).collect();
    assert_eq!(cells[1..4], ["69659", "0", "69659"], "{again}");
    let (out, _) = ok(dir.path(), &["--db", "cd.db", "report", "--format", "json"]);
    let r = json(&out);
    assert_eq!(r["as_of"], "1998-06-30");
    let paying = &r["sections"]["paying"][0];
    assert_eq!(paying["known_customers"], 23570);
    // awk: customers whose dollar values sum to more than 0 (80 orders are $0).
    assert_eq!(paying["paying_customers"], 23502);
    // awk: distinct customers with a paid order after 1998-05-31.
    assert_eq!(r["sections"]["active"][0]["active_customers"], 1506);
    assert_eq!(r["sections"]["active"][0]["recent_buyer"], 1506);
}

#[test]
fn report_on_files_without_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = basic_inputs();
    let mut args = vec!["report", "--as-of", "2024-03-31", "--format", "json"];
    args.extend(inputs.iter().map(String::as_str));
    let (out, _) = ok(dir.path(), &args);
    let r = json(&out);
    assert_eq!(r["sections"]["paying"][0]["paying_customers"], 12);
    assert_eq!(r["sections"]["paying"][0]["revenue"], 585.0);
    assert!(!dir.path().join("clientela.db").exists(), "nothing stored");
    // The same in CSV, one file per table.
    let mut csv_args: Vec<&str> = vec![
        "report",
        "--as-of",
        "2024-03-31",
        "--format",
        "csv",
        "--out",
        "csv",
    ];
    csv_args.extend(inputs.iter().map(String::as_str));
    ok(dir.path(), &csv_args);
    let stages = std::fs::read_to_string(dir.path().join("csv/stages.csv")).unwrap();
    assert!(
        stages.starts_with("segment,stage,customers,customers_pct\n"),
        "{stages}"
    );
    assert!(stages.contains("all,at_risk,2,14.3"), "{stages}");
    // Customers of one stage, and one profile.
    let mut list = vec![
        "customers",
        "--as-of",
        "2024-03-31",
        "--stage",
        "new",
        "--sort",
        "id",
        "--format",
        "csv",
    ];
    list.extend(inputs.iter().map(String::as_str));
    let (out, _) = ok(dir.path(), &list);
    let ids: Vec<&str> = out
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(ids, ["B", "D"]);
    let mut one = vec!["customer", "F", "--as-of", "2024-03-31", "--format", "json"];
    one.extend(inputs.iter().map(String::as_str));
    let (out, _) = ok(dir.path(), &one);
    let p = json(&out);
    assert_eq!(p["sections"]["stage_history"][0]["stage"], "at_risk");
}

#[test]
fn a_bad_row_stops_the_import_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("orders.csv"),
        "event_id,customer_id,time,Amount,currency\no1,a,2024-01-01,10,EUR\no2,b,2024-01-02,12;50,EUR\no3,c,2024-01-03,7,EUR\n",
    )
    .unwrap();
    let out = run(dir.path(), &["import", "orders.csv"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("orders.csv") && err.contains("line 3") && err.contains("Amount"),
        "{err}"
    );
    assert!(!dir.path().join("clientela.db").exists(), "nothing written");
}

#[test]
fn a_bad_row_in_any_file_stops_the_import_before_any_file_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("customers.csv"),
        "customer_id,time\na,2024-01-01\nb,2024-01-01\n",
    )
    .unwrap();
    // The good file comes first and the bad row last, in the last file.
    std::fs::write(
        dir.path().join("orders.csv"),
        "event_id,customer_id,time,amount,currency\no1,a,2024-01-01,10,EUR\no2,b,2024-01-32,12.50,EUR\n",
    )
    .unwrap();
    let out = run(dir.path(), &["import", "customers.csv", "orders.csv"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("orders.csv") && err.contains("line 3"),
        "{err}"
    );
    assert!(!dir.path().join("clientela.db").exists(), "nothing written");
    // Fixed, the same command stores both files, customers first.
    std::fs::write(
        dir.path().join("orders.csv"),
        "event_id,customer_id,time,amount,currency\no1,a,2024-01-01,10,EUR\no2,b,2024-01-30,12.50,EUR\n",
    )
    .unwrap();
    let (_, err) = ok(dir.path(), &["import", "orders.csv", "customers.csv"]);
    assert!(err.contains("0 rejected"), "{err}");
    // The orders found both customers described: no minimal ones were made.
    let orders_row: Vec<&str> = err
        .lines()
        .find(|l| l.contains(" order "))
        .expect("a summary row for the orders")
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    assert_eq!(orders_row, ["order", "2", "2", "0", "0"], "{err}");
    let (out, _) = ok(
        dir.path(),
        &["report", "--as-of", "2024-02-01", "--format", "json"],
    );
    assert_eq!(json(&out)["sections"]["paying"][0]["paying_customers"], 2);
}

#[test]
fn skip_mode_keeps_good_rows_and_writes_rejects() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("orders.csv"),
        "event_id,customer_id,time,amount,currency\no1,a,2024-01-01,10,EUR\no2,b,01/02/2024,12.50,EUR\no3,c,2024-01-03,7,EUR\n",
    )
    .unwrap();
    let (_, err) = ok(dir.path(), &["import", "orders.csv", "--on-error", "skip"]);
    assert!(err.contains("1 rejected"), "{err}");
    let rejects = std::fs::read_to_string(dir.path().join("rejects.csv")).unwrap();
    assert!(rejects.contains("orders.csv,3,time,time,"), "{rejects}");
    let (out, _) = ok(dir.path(), &["report", "--format", "json"]);
    assert_eq!(json(&out)["sections"]["paying"][0]["paying_customers"], 2);
}

#[test]
fn schema_doc_is_current() {
    let (out, _) = ok(Path::new("."), &["schema"]);
    let doc = std::fs::read_to_string(repo("docs/schema.md")).unwrap();
    assert_eq!(
        doc, out,
        "docs/schema.md is stale: run `cargo run -- schema > docs/schema.md`"
    );
}

#[test]
fn configuration_file_and_flags_override_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let fx = repo("tests/fixtures/basic/orders.csv")
        .display()
        .to_string();
    let base = [
        "--input",
        fx.as_str(),
        "--as-of",
        "2024-03-31",
        "--format",
        "json",
    ];
    let active = |extra: &[&str]| -> Value {
        let mut args = extra.to_vec();
        args.push("report");
        args.extend(base);
        let (out, _) = ok(dir.path(), &args);
        json(&out)["sections"]["active"][0]["active_customers"].clone()
    };
    // Orders only: A B C D I L have an order in the 30 days (L on 03-01 is day 31: not).
    assert_eq!(active(&[]), 5);
    assert_eq!(active(&["--activity-window", "31"]), 6);
    std::fs::write(
        dir.path().join("clientela.toml"),
        "activity_window_days = 31\n",
    )
    .unwrap();
    assert_eq!(active(&[]), 6);
    assert_eq!(
        active(&["--activity-window", "10"]),
        2,
        "flag beats file: D (03-28), C (03-25)"
    );
    std::fs::write(dir.path().join("clientela.toml"), "activity_window = 31\n").unwrap();
    let out = run(dir.path(), &["report", "--input", fx.as_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("activity_window"));
}

/// The invariants of ARCHITECTURE.md that are absences of dependencies.
#[test]
fn dependency_directions() {
    let deps = |krate: &str| -> String {
        let text = std::fs::read_to_string(repo(&format!("crates/{krate}/Cargo.toml"))).unwrap();
        // Only the [dependencies] table counts (tests may use anything).
        let start = text.find("[dependencies]").unwrap();
        let rest = &text[start + 1..];
        rest[..rest.find("\n[").unwrap_or(rest.len())].to_string()
    };
    let forbid = |krate: &str, names: &[&str]| {
        let d = deps(krate);
        for n in names {
            assert!(
                !d.lines().any(|l| l.trim_start().starts_with(n)),
                "{krate} must not depend on {n}"
            );
        }
    };
    forbid(
        "core",
        &["arrow", "datafusion", "rusqlite", "parquet", "clientela-"],
    );
    forbid(
        "models",
        &["arrow", "datafusion", "rusqlite", "parquet", "clientela-"],
    );
    forbid("table", &["datafusion", "rusqlite"]);
    forbid(
        "store",
        &["datafusion", "clientela-engine", "clientela-ingest"],
    );
    forbid(
        "engine",
        &["rusqlite", "clientela-store", "clientela-ingest", "clap"],
    );
    forbid("ingest", &["datafusion", "rusqlite", "clientela-store"]);
    forbid("demo", &["datafusion", "rusqlite", "clientela-store"]);
}

/// CDNOW's 1/10 sample as the papers use it: no header, whitespace separated.
const CDNOW_SAMPLE: &[&str] = &[
    "--kind",
    "order",
    "--delimiter",
    "whitespace",
    "--no-header",
    "--columns",
    "master_id,customer_id,time,quantity,amount",
    "--set",
    "currency=USD",
    "--date-format",
    "%Y%m%d",
];

#[test]
fn clv_on_the_cdnow_sample_with_its_published_holdout() {
    let dir = tempfile::tempdir().unwrap();
    let sample = repo("data/cdnow/CDNOW_sample.txt");
    let mut args = vec!["clv", "--input", sample.to_str().unwrap()];
    args.extend(CDNOW_SAMPLE);
    args.extend([
        "--as-of",
        "1998-06-30",
        "--holdout-from",
        "1997-10-01",
        "--model",
        "auto",
        "--top",
        "0",
        "--format",
        "json",
    ]);
    let (out, _) = ok(dir.path(), &args);
    let r = json(&out);
    // The papers' holdout: 39 weeks after 1997-09-30, 2,357 customers, 1,882 purchases.
    let holdout = r["sections"]["holdout"].as_array().unwrap();
    let all = holdout.last().unwrap();
    assert_eq!(all["calibration_frequency"], "all");
    assert_eq!(all["customers"], 2357);
    assert_eq!(all["actual_total"], 1882.0);
    // Each group's predictions are the chosen model's; every group is there.
    assert_eq!(holdout.len(), 9, "frequencies 0..6, 7+, all");
    // Scoring fits on everything to the as-of date and lists every buyer.
    let models = r["sections"]["models"].as_array().unwrap();
    let chosen = models[0]["model"].as_str().unwrap();
    assert!(["bgnbd", "mbgnbd", "pareto"].contains(&chosen), "{chosen}");
    assert_eq!(models.len(), 7, "four purchase and three spend parameters");
    let value = r["sections"]["customer_value"].as_array().unwrap();
    assert_eq!(value.len(), 2357);
    assert_eq!(value[0]["clv_rank"], 1);
    assert_eq!(value[0]["value_tier"], 1);
    let p = value[0]["p_alive"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p), "{p}");
    // Equity in total equals the sum of every customer's CLV.
    let equity = &r["sections"]["customer_equity"][0];
    assert_eq!(equity["split"], "total");
    let sum: f64 = value.iter().map(|v| v["clv"].as_f64().unwrap()).sum();
    let total = equity["equity"].as_f64().unwrap();
    assert!((sum - total).abs() < 0.005, "{sum} vs {total}");
}

#[test]
fn clv_equity_agrees_with_lifetimes() {
    // bench/clv_lifetimes.py on the same sample (days, calibration to
    // 1997-09-30, 12 months at 1 %): lifetimes 0.11.3 sums CLV to 70726.72;
    // clientela rounds each customer's CLV to the cent (2,357 × ±0.005).
    let dir = tempfile::tempdir().unwrap();
    let sample = repo("data/cdnow/CDNOW_sample.txt");
    let mut args = vec!["clv", "--input", sample.to_str().unwrap()];
    args.extend(CDNOW_SAMPLE);
    args.extend(["--as-of", "1997-09-30", "--format", "json"]);
    let (out, _) = ok(dir.path(), &args);
    let r = json(&out);
    let equity = r["sections"]["customer_equity"][0]["equity"]
        .as_f64()
        .unwrap();
    assert!((equity - 70726.72).abs() < 2357.0 * 0.005, "{equity}");
    let alpha = &r["sections"]["models"][1];
    assert_eq!(alpha["parameter"], "alpha (days)");
    // FHL 2005: α = 4.414 weeks.
    assert!((alpha["value"].as_f64().unwrap() / 7.0 - 4.414).abs() < 0.0005);
}

#[test]
fn clv_options_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let sample = repo("data/cdnow/CDNOW_sample.txt");
    for (flag, value, expected) in [
        ("--model", "lifetimes", "expected bgnbd, mbgnbd or pareto"),
        ("--horizon", "12w", "expected months like 12m"),
        (
            "--holdout-from",
            "1999-01-01",
            "on or before the as-of date",
        ),
    ] {
        let mut args = vec!["clv", "--input", sample.to_str().unwrap()];
        args.extend(CDNOW_SAMPLE);
        args.extend([flag, value]);
        let out = run(dir.path(), &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(expected),
            "{flag} {value}: {err}"
        );
    }
}

/// Borrowed arguments.
fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// `--input` flags for every file of the `basic` fixture.
fn basic_inputs() -> Vec<String> {
    let fx = repo("tests/fixtures/basic");
    let mut args = Vec::new();
    for f in [
        "customers",
        "orders",
        "subscriptions",
        "support",
        "surveys",
        "referrals",
        "leads",
    ] {
        args.push("--input".to_string());
        args.push(fx.join(format!("{f}.csv")).display().to_string());
    }
    args
}

#[test]
fn parquet_and_excel_exports_read_back_equal_to_json() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = basic_inputs();
    let with = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = ["report", "--as-of", "2024-03-31"]
            .map(String::from)
            .to_vec();
        a.extend(extra.iter().map(|s| s.to_string()));
        a.extend(inputs.iter().cloned());
        a
    };
    let json_args = with(&["--format", "json"]);
    let (out, _) = ok(dir.path(), &args(&json_args));
    let r = json(&out);
    let paying = &r["sections"]["paying"][0];

    // Parquet: one file per section, read back by DataFusion.
    ok(
        dir.path(),
        &args(&with(&["--format", "parquet", "--out", "pq"])),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let batches = rt.block_on(async {
        let ctx = datafusion::prelude::SessionContext::new();
        let path = dir.path().join("pq/paying.parquet");
        ctx.read_parquet(path.to_str().unwrap(), Default::default())
            .await
            .unwrap()
            .collect()
            .await
            .unwrap()
    });
    let b = &batches[0];
    let col = |name: &str| {
        let c = b.column_by_name(name).unwrap();
        datafusion::arrow::util::display::ArrayFormatter::try_new(c.as_ref(), &Default::default())
            .unwrap()
            .value(0)
            .to_string()
    };
    assert_eq!(
        col("paying_customers"),
        paying["paying_customers"].to_string()
    );
    assert_eq!(col("revenue"), "585.00", "money stays an exact decimal");
    assert_eq!(col("arppu"), "48.75");

    // Excel: a sheet per section, numbers as numbers, a header row.
    ok(
        dir.path(),
        &args(&with(&["--format", "xlsx", "--out", "r.xlsx"])),
    );
    use calamine::{open_workbook, Data, Reader, Xlsx};
    let mut book: Xlsx<_> = open_workbook(dir.path().join("r.xlsx")).unwrap();
    let names = book.sheet_names();
    let sections: Vec<&String> = r["sections"].as_object().unwrap().keys().collect();
    assert_eq!(names.len(), sections.len());
    let sheet = book.worksheet_range("paying").unwrap();
    assert_eq!(
        sheet.get((0, 2)),
        Some(&Data::String("paying_customers".into()))
    );
    assert_eq!(sheet.get((1, 2)), Some(&Data::Float(12.0)));
    assert_eq!(sheet.get((1, 3)), Some(&Data::Float(585.0)));

    // Dates are Excel dates: F's first payment, 2024-01-01, is serial 45292.
    let mut list: Vec<String> = [
        "customers",
        "--as-of",
        "2024-03-31",
        "--sort",
        "id",
        "--format",
        "xlsx",
        "--out",
        "c.xlsx",
    ]
    .map(String::from)
    .to_vec();
    list.extend(inputs.iter().cloned());
    ok(dir.path(), &args(&list));
    let mut book: Xlsx<_> = open_workbook(dir.path().join("c.xlsx")).unwrap();
    let sheet = book.worksheet_range("customers").unwrap();
    let header: Vec<String> = (0..sheet.width())
        .map(|c| sheet.get((0, c)).unwrap().to_string())
        .collect();
    let first_payment = header.iter().position(|h| h == "first_payment").unwrap();
    let row_f = (1..sheet.height())
        .find(|r| sheet.get((*r, 0)) == Some(&Data::String("F".into())))
        .unwrap();
    match sheet.get((row_f, first_payment)) {
        Some(Data::DateTime(d)) => assert_eq!(d.as_f64(), 45292.0),
        other => panic!("expected a date, got {other:?}"),
    }

    // Binary formats need a destination.
    let out = run(dir.path(), &args(&with(&["--format", "xlsx"])));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("give --out"));
}

/// `sql QUERY` with `extra` flags, as CSV, over the `basic` fixture.
fn sql_on_basic(dir: &Path, query: &str, extra: &[&str]) -> Output {
    let mut a: Vec<String> = vec!["sql".into(), query.into(), "--format".into(), "csv".into()];
    a.extend(extra.iter().map(|s| s.to_string()));
    a.extend(basic_inputs());
    run(dir, &args(&a))
}

#[test]
fn sql_over_customers_events_and_report_tables() {
    let dir = tempfile::tempdir().unwrap();
    let text = |o: Output| {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let as_of = ["--as-of", "2024-03-31"];
    let out = sql_on_basic(
        dir.path(),
        "SELECT c.customer_id, c.stage, COUNT(o.time) AS orders_seen FROM customers c \
         LEFT JOIN orders o ON o.customer_id = c.customer_id WHERE c.stage = 'new' \
         GROUP BY 1, 2 ORDER BY 1",
        &as_of,
    );
    assert_eq!(
        text(out),
        "customer_id,stage,orders_seen\nB,new,1\nD,new,1\n"
    );
    let out = sql_on_basic(
        dir.path(),
        "SELECT churn_pct FROM report_churn ORDER BY period DESC LIMIT 1",
        &["--report", "--as-of", "2024-03-31"],
    );
    // README of the fixture: March 2024 churn 75 %.
    assert_eq!(text(out), "churn_pct\n75.0\n");
    // Every column is there, not only those the metrics read.
    let out = sql_on_basic(
        dir.path(),
        "SELECT COUNT(*) AS n FROM orders WHERE channel IS NULL AND quantity IS NULL",
        &[],
    );
    assert_eq!(text(out), "n\n17\n");
    let bad = sql_on_basic(dir.path(), "SELECT nothing FROM customers", &[]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("nothing"));
}

#[test]
fn segments_are_saved_in_the_store_and_restrict_every_report() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fx = repo("tests/fixtures/basic");
    let files: Vec<String> = std::fs::read_dir(&fx)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .map(|p| p.display().to_string())
        .collect();
    let mut import = vec!["import"];
    import.extend(args(&files));
    ok(d, &import);
    let as_of = ["--as-of", "2024-03-31"];
    let mut save = vec![
        "segment",
        "save",
        "germans",
        "country = 'DE'",
        "--description",
        "DE",
    ];
    save.extend(as_of);
    let (_, said) = ok(d, &save);
    assert!(said.contains("4 of 14 customers"), "{said}");
    ok(d, &["segment", "save", "big", "capital > 50", "--no-check"]);
    let bad = run(d, &["segment", "save", "oops", "capitl > 50"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("capitl"));
    let (list, _) = ok(d, &["segment", "list", "--format", "json"]);
    let names: Vec<String> = json(&list)["sections"]["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["big", "germans"]);
    // The overview of the segment, stages in rule order: I prospect, C
    // promoter, D new, K active.
    let mut report = vec!["report", "--segment", "germans", "--format", "json"];
    report.extend(as_of);
    let (out, _) = ok(d, &report);
    let stages: Vec<(String, i64)> = json(&out)["sections"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["stage"].as_str().unwrap().into(),
                r["customers"].as_i64().unwrap(),
            )
        })
        .collect();
    let expected = [("prospect", 1), ("promoter", 1), ("new", 1), ("active", 1)];
    assert_eq!(stages, expected.map(|(s, n)| (s.to_string(), n)));
    // sql and the segment report see the same customers.
    let mut sql = vec![
        "sql",
        "SELECT customer_id FROM customers ORDER BY 1",
        "--segment",
        "big",
        "--format",
        "csv",
    ];
    sql.extend(as_of);
    assert_eq!(ok(d, &sql).0, "customer_id\nA\nC\nE\n");
    let mut seg = vec!["segments", "--format", "json", "--attributes", "country"];
    seg.extend(as_of);
    let (out, _) = ok(d, &seg);
    let saved = &json(&out)["sections"]["segments_saved"];
    assert_eq!(saved[0]["segment"], "big");
    assert_eq!(saved[0]["customers"], 3);
    assert_eq!(saved[1]["customers"], 4);
    ok(d, &["segment", "remove", "big"]);
    let gone = run(d, &["report", "--segment", "big"]);
    assert!(!gone.status.success());
    let e = String::from_utf8_lossy(&gone.stderr);
    assert!(
        e.contains("no segment named \"big\"") && e.contains("germans"),
        "{e}"
    );
    // --where needs no store.
    let elsewhere = tempfile::tempdir().unwrap();
    let mut a: Vec<String> = [
        "customers",
        "--where",
        "has_tag(tags, 'music')",
        "--format",
        "csv",
        "--sort",
        "id",
    ]
    .map(String::from)
    .to_vec();
    a.extend(basic_inputs());
    let (out, _) = ok(elsewhere.path(), &args(&a));
    let ids: Vec<&str> = out
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(ids, ["A", "B"]);
}

#[test]
fn report_writes_the_charts_of_the_main_trends() {
    let dir = tempfile::tempdir().unwrap();
    let charts = dir.path().join("charts");
    let mut a: Vec<String> = ["report", "--as-of", "2024-03-31", "--charts"]
        .map(String::from)
        .to_vec();
    a.push(charts.display().to_string());
    a.extend(basic_inputs());
    let (_, err) = ok(dir.path(), &args(&a));
    assert!(err.contains("wrote 7 charts"), "{err}");
    for (file, title) in [
        ("active_customers.svg", "Active customers"),
        ("period_lifecycle.svg", "Period lifecycle"),
        ("mrr_bridge.svg", "MRR bridge, 2024-03"),
        ("mrr_movements.svg", "MRR movements"),
        ("churn_retention.svg", "churn and retention"),
        ("nps.svg", "Net Promoter Score"),
        ("cohort_retention.svg", "Cohort retention"),
    ] {
        let svg = std::fs::read_to_string(charts.join(file)).unwrap();
        assert!(
            svg.trim_start().starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{file}"
        );
        assert!(svg.contains(title), "{file} lacks {title:?}");
    }
}
