//! Bad input in every format: the error names the file, the line (or
//! Parquet row) and the column; skipping keeps the good rows and lists the
//! rejects with their reasons.

use crate::common::{error_of, file, opts, read_all, skipping, texts, write_parquet};
use arrow::array::{ArrayRef, Int64Array, StringArray};
use clientela_core::RecordKind;
use clientela_ingest::{parse_mapping, read_file, IngestError, ReadOptions, Unit};
use std::sync::Arc;

const ORDERS_CSV: &str = "\
customer_id,time,Amount,currency
c1,2024-01-01,12.50,EUR
c2,2024-01-02,\"12,5\",EUR
c3,01/02/2024,3,EUR
c4,2024-01-03,4
c5,2024-01-04,5,EUR,,
";

fn order_opts() -> ReadOptions {
    opts(RecordKind::Order)
}

#[test]
fn csv_stops_at_the_first_bad_row_naming_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(dir.path(), "orders.csv", ORDERS_CSV);
    let e = error_of(&path, &order_opts());
    assert!(
        e.contains("orders.csv line 3, column \"Amount\" (field amount): invalid amount \"12,5\""),
        "{e}"
    );
    // The good row before it was read: the error is the second item.
    let mut reader = read_file(
        &path,
        &ReadOptions {
            batch_rows: 1,
            ..order_opts()
        },
    )
    .unwrap();
    assert_eq!(reader.next().unwrap().unwrap().batch.num_rows(), 1);
    match reader.next().unwrap() {
        Err(IngestError::Row {
            line,
            column,
            field,
            unit,
            ..
        }) => {
            assert_eq!((line, unit), (3, Unit::Line));
            assert_eq!(column.as_deref(), Some("Amount"));
            assert_eq!(field.as_deref(), Some("amount"));
        }
        other => panic!("{other:?}"),
    }
    assert!(reader.next().is_none(), "nothing after an error");
}

#[test]
fn csv_skip_keeps_good_rows_and_lists_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(dir.path(), "orders.csv", ORDERS_CSV);
    let (b, rejects) = read_all(&path, &skipping(order_opts())).unwrap();
    assert_eq!(
        texts(&b, "customer_id"),
        vec![Some("c1".into()), Some("c5".into())]
    );
    let got: Vec<_> = rejects
        .iter()
        .map(|r| (r.line, r.column.as_deref(), r.field.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (3, Some("Amount"), Some("amount")),
            (4, Some("time"), Some("time")),
            (5, None, None)
        ]
    );
    assert!(
        rejects[0].message.contains("'.' as decimal separator"),
        "{}",
        rejects[0].message
    );
    assert!(
        rejects[1].message.contains("invalid time \"01/02/2024\""),
        "{}",
        rejects[1].message
    );
    assert_eq!(rejects[2].message, "has 3 fields but the header has 4");
    assert_eq!(rejects[2].raw, "c4,2024-01-03,4");
    assert_eq!(
        rejects[1].to_string(),
        format!(
            "{} line 4, column \"time\" (field time): {}",
            path.display(),
            rejects[1].message
        )
    );
}

#[test]
fn csv_wrong_field_count_stops_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(
        dir.path(),
        "orders.csv",
        "customer_id,time,amount,currency\nc1,2024-01-01,1,EUR,extra\n",
    );
    let e = error_of(&path, &order_opts());
    assert!(
        e.ends_with("orders.csv line 2: has 5 fields but the header has 4"),
        "{e}"
    );
}

#[test]
fn invalid_utf8_names_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.csv");
    std::fs::write(
        &path,
        b"customer_id,time,amount,currency,channel\nc1,2024-01-01,1,EUR,w\xffb\n",
    )
    .unwrap();
    let e = error_of(&path, &order_opts());
    assert!(
        e.contains("line 2, column \"channel\": is not valid UTF-8"),
        "{e}"
    );
}

#[test]
fn missing_required_and_unknown_columns_fail_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(
        dir.path(),
        "orders.csv",
        "customer_id,time,amount\nc1,2024-01-01,1\n",
    );
    let e = error_of(&path, &order_opts());
    assert!(
        e.contains("orders.csv") && e.contains("field currency") && e.contains("--set currency="),
        "{e}"
    );
    assert!(
        e.contains("\"customer_id\", \"time\", \"amount\""),
        "lists the file's columns: {e}"
    );

    let o = ReadOptions {
        mapping: parse_mapping("amount=Total").unwrap(),
        constants: parse_mapping("currency=EUR").unwrap(),
        ..order_opts()
    };
    let e = error_of(&path, &o);
    assert!(
        e.contains("no column \"Total\" (mapped to field amount)") && e.contains("\"amount\""),
        "{e}"
    );

    let o = ReadOptions {
        mapping: parse_mapping("price=amount").unwrap(),
        ..order_opts()
    };
    let e = error_of(&path, &o);
    assert!(
        e.contains("order records have no field \"price\"")
            && e.contains("coupon, discount, items"),
        "{e}"
    );
}

#[test]
fn headerless_files_need_column_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(dir.path(), "orders.csv", "c1,2024-01-01,1,EUR\n");
    let o = ReadOptions {
        has_header: false,
        ..order_opts()
    };
    assert!(error_of(&path, &o).contains("--columns"));
    let names = ["customer_id", "time", "amount", "currency"]
        .map(String::from)
        .to_vec();
    let o = ReadOptions {
        column_names: Some(names),
        ..o
    };
    let (b, _) = read_all(&path, &o).unwrap();
    assert_eq!(texts(&b, "amount_minor"), vec![Some("100".into())]);
}

const ORDERS_JSONL: &str = r#"{"customer_id":"c1","time":"2024-01-01","amount":12.5,"currency":"EUR"}
{"customer_id":"c2","time":"2024-01-02","amount":"12,5","currency":"EUR"}

{"customer_id":"c3","time":"yesterday","amount":1,"currency":"EUR"}
{"customer_id":"c4", "time":
[1,2]
{"customer_id":"c5","time":"2024-01-05","amount":5,"currency":"EUR"}
"#;

#[test]
fn json_lines_errors_name_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(dir.path(), "orders.jsonl", ORDERS_JSONL);
    let e = error_of(&path, &order_opts());
    assert!(
        e.contains(
            "orders.jsonl line 2, column \"amount\" (field amount): invalid amount \"12,5\""
        ),
        "{e}"
    );

    let (b, rejects) = read_all(&path, &skipping(order_opts())).unwrap();
    assert_eq!(
        texts(&b, "customer_id"),
        vec![Some("c1".into()), Some("c5".into())]
    );
    assert_eq!(
        texts(&b, "amount_minor"),
        vec![Some("1250".into()), Some("500".into())]
    );
    let lines: Vec<u64> = rejects.iter().map(|r| r.line).collect();
    assert_eq!(
        lines,
        vec![2, 4, 5, 6],
        "the blank line 3 is skipped but counted"
    );
    assert_eq!(rejects[1].column.as_deref(), Some("time"));
    assert!(
        rejects[2].message.starts_with("invalid JSON: EOF"),
        "{}",
        rejects[2].message
    );
    assert!(
        rejects[3].message.contains("expected a JSON object"),
        "{}",
        rejects[3].message
    );
    assert_eq!(rejects[3].raw, "[1,2]");
}

#[test]
fn json_lines_missing_required_key_fails_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(
        dir.path(),
        "orders.jsonl",
        "{\"customer_id\":\"c1\",\"time\":\"2024-01-01\",\"amount\":1}\n",
    );
    let e = error_of(&path, &order_opts());
    assert!(
        e.contains("field currency") && e.contains("\"customer_id\", \"time\", \"amount\""),
        "{e}"
    );
}

#[test]
fn parquet_errors_name_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.parquet");
    let s = |v: &[&str]| Arc::new(StringArray::from(v.to_vec())) as ArrayRef;
    write_parquet(
        &path,
        vec![
            (
                "customer_id",
                Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef,
            ),
            ("time", s(&["2024-01-01", "2024-01-02", "2024-01-03"])),
            ("Amount", s(&["1.5", "12,5", "3"])),
            ("currency", s(&["EUR", "EUR", "EUR"])),
        ],
    );
    let e = error_of(&path, &order_opts());
    assert!(
        e.contains(
            "orders.parquet row 2, column \"Amount\" (field amount): invalid amount \"12,5\""
        ),
        "{e}"
    );
    let (b, rejects) = read_all(&path, &skipping(order_opts())).unwrap();
    assert_eq!(
        texts(&b, "customer_id"),
        vec![Some("1".into()), Some("3".into())]
    );
    assert_eq!(
        (rejects.len(), rejects[0].line, rejects[0].unit),
        (1, 2, Unit::Row)
    );
    assert_eq!(
        rejects[0].raw,
        r#"{"customer_id":"2","time":"2024-01-02","Amount":"12,5","currency":"EUR"}"#
    );
}

#[test]
fn a_file_that_is_not_parquet_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(dir.path(), "orders.parquet", "customer_id,time\n");
    let e = error_of(&path, &order_opts());
    assert!(
        e.contains("orders.parquet: not a readable Parquet file"),
        "{e}"
    );
}
