//! What each format contributes: JSON text of nested values, typed Parquet
//! columns, delimiters, chunking and progress.

use crate::common::{file, opts, read_all, texts, write_parquet};
use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, DictionaryArray, Float64Array,
    Int16Array, Int32Array, LargeStringArray, StringArray, StringViewArray,
    TimestampMillisecondArray,
};
use arrow::datatypes::Int32Type;
use clientela_core::RecordKind;
use clientela_ingest::{read_file, Delimiter, ReadOptions};
use std::sync::Arc;

fn some(v: &[&str]) -> Vec<Option<String>> {
    v.iter().map(|s| Some(s.to_string())).collect()
}

#[test]
fn nested_json_becomes_compact_json_text() {
    let dir = tempfile::tempdir().unwrap();
    let orders = file(
        dir.path(),
        "orders.jsonl",
        r#"{"customer_id":"c1","time":"2024-03-01","amount":12.30,"currency":"EUR","items":[ {"sku":"A 1","qty":2,"price":6.15} ]}
"#,
    );
    let (b, _) = read_all(&orders, &opts(RecordKind::Order)).unwrap();
    assert_eq!(
        texts(&b, "items"),
        some(&[r#"[{"sku":"A 1","qty":2,"price":6.15}]"#])
    );
    assert_eq!(texts(&b, "amount_minor"), some(&["1230"]));

    let usage = file(
        dir.path(),
        "usage.ndjson",
        r#"{"customer_id":"c1","time":"2024-03-01T08:00:00Z","name":"login","properties":{"device": "ios", "beta": true, "n": null}}
{"customer_id":"c1","time":"2024-03-01T09:00:00Z","name":"logout","properties":null}
"#,
    );
    let (b, _) = read_all(&usage, &ReadOptions::default()).unwrap();
    assert_eq!(
        texts(&b, "properties"),
        vec![
            Some(r#"{"device":"ios","beta":true,"n":null}"#.into()),
            None
        ]
    );
}

#[test]
fn json_numbers_and_booleans_keep_their_exact_text() {
    let dir = tempfile::tempdir().unwrap();
    let orders = file(
        dir.path(),
        "orders.jsonl",
        "{\"customer_id\":7,\"time\":\"2024-03-01\",\"amount\":12345678901234567.89,\"currency\":\"EUR\",\"quantity\":3}\n",
    );
    let (b, _) = read_all(&orders, &opts(RecordKind::Order)).unwrap();
    assert_eq!(texts(&b, "amount_minor"), some(&["1234567890123456789"]));
    assert_eq!(texts(&b, "customer_id"), some(&["7"]));
    let customers = file(
        dir.path(),
        "customers.jsonl",
        "{\"customer_id\":\"c\",\"consent\":false}\n",
    );
    let (b, _) = read_all(&customers, &ReadOptions::default()).unwrap();
    assert_eq!(texts(&b, "consent"), some(&["false"]));
}

#[test]
fn json_keys_first_seen_late_still_count() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..150 {
        text.push_str(&format!(
            r#"{{"customer_id":"c{i}","time":"2024-01-01","amount":1,"currency":"EUR"}}"#
        ));
        text.push('\n');
    }
    text.push_str(
        r#"{"customer_id":"x","time":"2024-01-01","amount":1,"currency":"EUR","Coupon":"SPRING"}"#,
    );
    let path = file(dir.path(), "orders.jsonl", &text);
    let (b, _) = read_all(&path, &opts(RecordKind::Order)).unwrap();
    assert_eq!(b.num_rows(), 151);
    assert_eq!(texts(&b, "coupon")[150].as_deref(), Some("SPRING"));
    assert_eq!(texts(&b, "coupon")[149], None);
}

#[test]
fn typed_parquet_columns_read_like_their_text() {
    let dir = tempfile::tempdir().unwrap();
    let pq = dir.path().join("orders.parquet");
    // 2024-02-29T10:00:00.500Z and 2024-03-01T00:00:00Z, stored with a named zone.
    let time = TimestampMillisecondArray::from(vec![1_709_200_800_500, 1_709_251_200_000])
        .with_timezone("Europe/Rome");
    let amount = Decimal128Array::from(vec![1230, -50])
        .with_precision_and_scale(12, 2)
        .unwrap();
    let currency: DictionaryArray<Int32Type> = vec!["EUR", "EUR"].into_iter().collect();
    write_parquet(
        &pq,
        vec![
            (
                "customer_id",
                Arc::new(arrow::array::Int64Array::from(vec![1, 2])) as ArrayRef,
            ),
            ("time", Arc::new(time)),
            ("amount", Arc::new(amount)),
            ("currency", Arc::new(currency)),
            ("quantity", Arc::new(Int32Array::from(vec![Some(2), None]))),
            (
                "channel",
                Arc::new(LargeStringArray::from(vec![Some("web"), None])),
            ),
            (
                "discount",
                Arc::new(Float64Array::from(vec![Some(1.5), None])),
            ),
            ("unused", Arc::new(BooleanArray::from(vec![true, false]))),
        ],
    );
    let csv = file(
        dir.path(),
        "orders.csv",
        "customer_id,time,amount,currency,quantity,channel,discount\n\
         1,2024-02-29T10:00:00.500Z,12.30,EUR,2,web,1.5\n\
         2,2024-03-01T00:00:00Z,-0.50,EUR,,,\n",
    );
    let (from_pq, _) = read_all(&pq, &opts(RecordKind::Order)).unwrap();
    let (from_csv, _) = read_all(&csv, &opts(RecordKind::Order)).unwrap();
    assert_eq!(
        from_pq, from_csv,
        "same values, same batch, same derived ids"
    );
    assert_eq!(texts(&from_pq, "amount_minor"), some(&["1230", "-50"]));

    let pq = dir.path().join("customers.parquet");
    write_parquet(
        &pq,
        vec![
            (
                "customer_id",
                Arc::new(StringViewArray::from(vec!["a", "b"])) as ArrayRef,
            ),
            ("time", Arc::new(Date32Array::from(vec![19782, 19783]))),
            (
                "birth_year",
                Arc::new(Int16Array::from(vec![Some(1980), None])),
            ),
            (
                "consent",
                Arc::new(BooleanArray::from(vec![Some(true), Some(false)])),
            ),
            (
                "city",
                Arc::new(StringArray::from(vec![Some("Milano"), None])),
            ),
        ],
    );
    let csv = file(
        dir.path(),
        "customers.csv",
        "customer_id,time,birth_year,consent,city\na,2024-02-29,1980,true,Milano\nb,2024-03-01,,false,\n",
    );
    let (from_pq, _) = read_all(&pq, &ReadOptions::default()).unwrap();
    let (from_csv, _) = read_all(&csv, &ReadOptions::default()).unwrap();
    assert_eq!(from_pq, from_csv);
}

#[test]
fn parquet_columns_can_be_renamed_and_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let pq = dir.path().join("export.pq");
    write_parquet(
        &pq,
        vec![
            ("a", Arc::new(StringArray::from(vec!["c1"])) as ArrayRef),
            ("b", Arc::new(StringArray::from(vec!["2024-01-01"]))),
            ("Survey Score", Arc::new(Int32Array::from(vec![9]))),
        ],
    );
    let o = ReadOptions {
        kind: Some(RecordKind::Survey),
        column_names: Some(vec!["customer_id".into(), "time".into()]),
        mapping: vec![("score".into(), "Survey Score".into())],
        constants: vec![("survey".into(), "nps".into())],
        ..ReadOptions::default()
    };
    let (b, _) = read_all(&pq, &o).unwrap();
    assert_eq!(texts(&b, "customer_id"), some(&["c1"]));
    assert_eq!(texts(&b, "score"), some(&["9"]));
    assert_eq!(texts(&b, "survey"), some(&["nps"]));
}

#[test]
fn delimiters_tsv_and_semicolons() {
    let dir = tempfile::tempdir().unwrap();
    let tsv = file(
        dir.path(),
        "leads.tsv",
        "customer_id\ttime\tcontent\nl1\t2024-01-01\ta, b\n",
    );
    let (b, _) = read_all(&tsv, &ReadOptions::default()).unwrap();
    assert_eq!(texts(&b, "content"), some(&["a, b"]));
    let semi = file(
        dir.path(),
        "leads.csv",
        "\u{feff}Customer_ID;TIME;Content\nl1;2024-01-01;\"x;y\"\n",
    );
    let o = ReadOptions {
        delimiter: Some(Delimiter::Byte(b';')),
        ..ReadOptions::default()
    };
    let (b, _) = read_all(&semi, &o).unwrap();
    assert_eq!(
        texts(&b, "customer_id"),
        some(&["l1"]),
        "BOM and case do not matter"
    );
    assert_eq!(texts(&b, "content"), some(&["x;y"]));
}

#[test]
fn mapping_wins_and_constants_fill_empty_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = file(
        dir.path(),
        "2024_export.csv",
        "CustomerID,customer_id,InvoiceDate,Total,currency,extra\n\
         A,x,2024-01-01,10,,?\n\
         B,y,2024-01-02,20,EUR,?\n",
    );
    let o = ReadOptions {
        kind: Some(RecordKind::Order),
        mapping: clientela_ingest::parse_mapping(
            "customer_id=CustomerID,time=InvoiceDate,amount=Total",
        )
        .unwrap(),
        constants: clientela_ingest::parse_mapping("currency=JPY,channel=shop").unwrap(),
        ..ReadOptions::default()
    };
    let (b, _) = read_all(&path, &o).unwrap();
    assert_eq!(texts(&b, "customer_id"), some(&["A", "B"]));
    assert_eq!(texts(&b, "currency"), some(&["JPY", "EUR"]));
    assert_eq!(texts(&b, "amount_minor"), some(&["10", "2000"]));
    assert_eq!(texts(&b, "channel"), some(&["shop", "shop"]));
}

#[test]
fn chunks_hold_at_most_batch_rows_and_count_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    let text =
        "customer_id,time\na,2024-01-01\nb,2024-01-02\nc,2024-01-03\nd,2024-01-04\ne,2024-01-05\n";
    let path = file(dir.path(), "2024_support_tickets.csv", text);
    let o = ReadOptions {
        batch_rows: 2,
        ..ReadOptions::default()
    };
    let reader = read_file(&path, &o).unwrap();
    assert_eq!(
        reader.kind(),
        RecordKind::Support,
        "kind guessed from the file name"
    );
    assert_eq!(
        reader.columns(),
        &["customer_id".to_string(), "time".to_string()]
    );
    let chunks: Vec<_> = reader.map(Result::unwrap).collect();
    let sizes: Vec<usize> = chunks.iter().map(|c| c.batch.num_rows()).collect();
    assert_eq!(sizes, vec![2, 2, 1]);
    assert_eq!(chunks.iter().map(|c| c.rows_read).sum::<u64>(), 5);
    assert_eq!(
        chunks.iter().map(|c| c.bytes_read).sum::<u64>(),
        text.len() as u64
    );

    let empty = file(
        dir.path(),
        "orders.csv",
        "customer_id,time,amount,currency\n",
    );
    let chunks: Vec<_> = read_file(&empty, &ReadOptions::default())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(chunks.len(), 1, "an empty file gives one empty chunk");
    assert_eq!(chunks[0].batch.num_rows(), 0);
}

#[test]
fn parquet_progress_adds_up_to_the_file_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leads.parquet");
    let n = 20_000;
    let ids: Vec<String> = (0..n).map(|i| format!("l{i}")).collect();
    write_parquet(
        &path,
        vec![
            ("customer_id", Arc::new(StringArray::from(ids)) as ArrayRef),
            ("time", Arc::new(Date32Array::from(vec![19782; n]))),
        ],
    );
    let o = ReadOptions {
        batch_rows: 7_000,
        ..ReadOptions::default()
    };
    let reader = read_file(&path, &o).unwrap();
    let total = reader.total_bytes().unwrap();
    let chunks: Vec<_> = reader.map(Result::unwrap).collect();
    let sizes: Vec<usize> = chunks.iter().map(|c| c.batch.num_rows()).collect();
    assert_eq!(sizes, vec![7_000, 7_000, 6_000]);
    assert_eq!(chunks.iter().map(|c| c.bytes_read).sum::<u64>(), total);
}
