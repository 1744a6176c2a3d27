//! Helpers shared by the integration tests.

use arrow::array::{Array, AsArray};
use arrow::compute::concat_batches;
use arrow::record_batch::RecordBatch;
use clientela_core::RecordKind;
use clientela_ingest::{read_file, IngestError, OnError, ReadOptions, Reject};
use clientela_table::{derive_event_id, parse_row, schema_for, KindBuilder, RowContext, Value};
use std::path::{Path, PathBuf};

/// Options for `kind` with everything else at its default.
pub fn opts(kind: RecordKind) -> ReadOptions {
    ReadOptions {
        kind: Some(kind),
        ..ReadOptions::default()
    }
}

/// The same options, skipping bad rows.
pub fn skipping(mut o: ReadOptions) -> ReadOptions {
    o.on_error = OnError::Skip;
    o
}

/// Writes `text` to `dir/name`.
pub fn file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Everything a file yields: the good rows as one batch, and the rejects.
pub fn read_all(path: &Path, o: &ReadOptions) -> Result<(RecordBatch, Vec<Reject>), IngestError> {
    let reader = read_file(path, o)?;
    let kind = reader.kind();
    let mut batches = Vec::new();
    let mut rejects = Vec::new();
    for chunk in reader {
        let chunk = chunk?;
        assert_eq!(chunk.kind, kind);
        batches.push(chunk.batch);
        rejects.extend(chunk.rejects);
    }
    Ok((concat(kind, &batches), rejects))
}

/// The batches of one read as one batch, of their own schema (customer ids
/// may be runs), or the canonical one when there are none.
pub fn concat(kind: RecordKind, batches: &[RecordBatch]) -> RecordBatch {
    let schema = batches
        .first()
        .map_or_else(|| schema_for(kind), |b| b.schema());
    concat_batches(&schema, batches).unwrap()
}

/// The error reading `path` ends with, as text.
pub fn error_of(path: &Path, o: &ReadOptions) -> String {
    match read_all(path, o) {
        Ok((b, r)) => panic!(
            "expected an error, got {} rows and {} rejects",
            b.num_rows(),
            r.len()
        ),
        Err(e) => e.to_string(),
    }
}

/// Column `name` as text (`None` for null); integers and times as numbers.
pub fn texts(b: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let col = b
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"));
    (0..col.len())
        .map(|i| {
            if col.is_null(i) {
                return None;
            }
            Some(match col.data_type() {
                arrow::datatypes::DataType::Utf8 => col.as_string::<i32>().value(i).to_string(),
                arrow::datatypes::DataType::Int64 => col
                    .as_primitive::<arrow::datatypes::Int64Type>()
                    .value(i)
                    .to_string(),
                arrow::datatypes::DataType::Boolean => col.as_boolean().value(i).to_string(),
                _ => col
                    .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
                    .value(i)
                    .to_string(),
            })
        })
        .collect()
}

/// Microseconds since the epoch of an RFC 3339 text.
pub fn micros(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .timestamp_micros()
        .to_string()
}

/// A batch of `kind` parsed from `(field, text)` rows, with event ids
/// derived where a row has none, as the reader does.
pub fn batch_of(kind: RecordKind, rows: &[&[(&str, &str)]]) -> RecordBatch {
    let mut b = KindBuilder::new(kind);
    for row in rows {
        let raw: Vec<Option<&str>> = kind
            .fields()
            .iter()
            .map(|f| row.iter().find(|(n, _)| *n == f.name).map(|(_, v)| *v))
            .collect();
        let mut values = parse_row(kind, &raw, &RowContext::default()).unwrap();
        if let Some(i) = kind.fields().iter().position(|f| f.name == "event_id") {
            if values[i] == Value::Null {
                values[i] = Value::Text(derive_event_id(kind, &raw, 0));
            }
        }
        b.push(&values);
    }
    b.finish()
}

/// Two or three rows of every kind, with the values most likely to break a
/// format: commas, quotes, new lines, non-ASCII text, JSON text, negative
/// and three-decimal money, sub-second and offset times, nulls.
pub fn sample(kind: RecordKind) -> RecordBatch {
    type Row<'a> = &'a [(&'a str, &'a str)];
    let rows: Vec<Row> = match kind {
        RecordKind::Customer => vec![
            &[
                ("customer_id", "c1"),
                ("time", "2024-01-05T08:30:00Z"),
                ("email", "a@x.it"),
                ("name", "Rossi, Mario"),
                ("country", "IT"),
                ("city", "Milano"),
                ("birth_year", "1980"),
                ("gender", "m"),
                ("tags", "music;books"),
                ("source", "google_ads"),
                ("channel", "paid_search"),
                ("consent", "yes"),
                ("attributes", r#"{"vip":true,"note":"a, \"b\""}"#),
            ],
            &[
                ("customer_id", "c2"),
                ("name", "Zoë \"Z\" Ünal"),
                ("referred_by", "c1"),
                ("consent", "0"),
            ],
        ],
        RecordKind::Lead => vec![
            &[
                ("customer_id", "l1"),
                ("time", "2024-03-01"),
                ("source", "blog"),
                ("content", "ebook"),
            ],
            &[
                ("event_id", "lead-2"),
                ("customer_id", "l2"),
                ("time", "2024-03-02 10:00"),
                ("email", "l2@x.com"),
            ],
        ],
        RecordKind::Order => vec![
            &[
                ("event_id", "o1"),
                ("customer_id", "c1"),
                ("time", "2024-02-29T10:00:00Z"),
                ("amount", "12.30"),
                ("currency", "EUR"),
                ("quantity", "2"),
                ("channel", "web"),
                ("coupon", "SPRING"),
                ("discount", "1.5"),
                ("items", r#"[{"sku":"A","qty":2,"price":"6.15"}]"#),
            ],
            &[
                ("customer_id", "c2"),
                ("time", "2024-03-01T23:30:00.250+01:00"),
                ("amount", "-500"),
                ("currency", "jpy"),
            ],
            &[
                ("customer_id", "c3"),
                ("time", "2024-03-02"),
                ("amount", "1.234"),
                ("currency", "KWD"),
            ],
        ],
        RecordKind::Subscription => vec![
            &[
                ("customer_id", "c1"),
                ("time", "2024-01-01"),
                ("subscription_id", "s1"),
                ("kind", "Service"),
                ("plan", "pro"),
                ("status", "active"),
                ("amount", "29.90"),
                ("currency", "EUR"),
                ("interval", "year"),
                ("interval_count", "2"),
            ],
            &[
                ("customer_id", "c1"),
                ("time", "2024-06-01"),
                ("subscription_id", "s1"),
                ("status", "cancelled"),
                ("currency", "EUR"),
            ],
        ],
        RecordKind::Support => vec![
            &[
                ("customer_id", "c1"),
                ("time", "2024-03-30T12:00:00Z"),
                ("ticket_id", "T-1"),
                ("channel", "email"),
                ("topic", "billing"),
                ("kind", "complaint"),
                ("status", "resolved"),
                ("satisfaction", "2"),
            ],
            &[("customer_id", "c2"), ("time", "2024-03-31")],
        ],
        RecordKind::Contact => vec![
            &[
                ("customer_id", "c1"),
                ("time", "2024-03-01"),
                ("channel", "in_person"),
                ("direction", "inbound"),
                ("action", "visited"),
            ],
            &[
                ("customer_id", "c2"),
                ("time", "2024-03-02"),
                ("channel", "EMAIL"),
                ("direction", "outbound"),
            ],
        ],
        RecordKind::Usage => vec![
            &[
                ("customer_id", "c1"),
                ("time", "2024-03-01T08:00:00.123456Z"),
                ("name", "login"),
                ("properties", r#"{"device":"ios","n":[1,2]}"#),
            ],
            &[
                ("customer_id", "c1"),
                ("time", "2024-03-01T09:00:00Z"),
                ("name", "export"),
            ],
        ],
        RecordKind::Survey => vec![
            &[
                ("customer_id", "c1"),
                ("time", "2024-03-05"),
                ("survey", "nps"),
                ("score", "10"),
                ("comment", "great\nreally, \"great\""),
            ],
            &[
                ("customer_id", "c2"),
                ("time", "2024-03-06"),
                ("survey", "csat"),
                ("score", "4"),
            ],
        ],
        RecordKind::Referral => vec![
            &[
                ("customer_id", "c1"),
                ("time", "2024-03-26"),
                ("referred_id", "c9"),
            ],
            &[
                ("event_id", "r2"),
                ("customer_id", "c1"),
                ("time", "2024-03-27"),
                ("referred_id", "l1"),
            ],
        ],
        RecordKind::Loyalty => vec![
            &[
                ("customer_id", "c1"),
                ("time", "2024-03-01"),
                ("points", "150"),
                ("reason", "order o1"),
            ],
            &[
                ("customer_id", "c1"),
                ("time", "2024-03-10"),
                ("points", "-100"),
                ("reward", "mug"),
            ],
        ],
        RecordKind::Spend => vec![
            &[
                ("time", "2024-03-01"),
                ("category", "acquisition"),
                ("channel", "paid_search"),
                ("amount", "1000.00"),
                ("currency", "EUR"),
            ],
            &[
                ("time", "2024-03-01"),
                ("category", "retention"),
                ("amount", "250"),
                ("currency", "USD"),
            ],
        ],
    };
    batch_of(kind, &rows)
}

/// Writes a Parquet file with the given columns (all nullable).
pub fn write_parquet(path: &Path, columns: Vec<(&str, arrow::array::ArrayRef)>) {
    let fields: Vec<arrow::datatypes::Field> = columns
        .iter()
        .map(|(n, a)| arrow::datatypes::Field::new(*n, a.data_type().clone(), true))
        .collect();
    let schema = std::sync::Arc::new(arrow::datatypes::Schema::new(fields));
    let batch = RecordBatch::try_new(
        schema.clone(),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(path).unwrap(), schema, None)
            .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}
