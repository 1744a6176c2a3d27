//! Canonical batches back to canonical input files, the inverse of reading:
//! reading a written file gives the same batches.
//!
//! Columns are the canonical field names (`amount`, not `amount_minor`);
//! money is exact decimal text in the row's currency, times are RFC 3339 in
//! UTC (`2024-02-29T10:00:00Z`), booleans `true`/`false`; a null is an empty
//! CSV field or an absent JSON key. Parquet files hold the same texts as
//! Utf8 columns: simple, and exact whatever the currency of each row.

use crate::error::IngestError;
use crate::options::Format;
use arrow::array::{Array, ArrayRef, AsArray, StringArray, StringBuilder};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, TimestampMicrosecondType};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, SecondsFormat};
use clientela_core::money::format_minor;
use clientela_core::{Currency, FieldType, RecordKind};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

/// Writes `batches` (in the canonical schema of `kind`) to `path` as a
/// canonical input file; returns the number of rows written.
pub fn write_batches(
    path: &Path,
    format: Format,
    kind: RecordKind,
    batches: &[RecordBatch],
) -> Result<u64, IngestError> {
    let err = |message: String| IngestError::Write {
        file: path.to_path_buf(),
        message,
    };
    let io = |source| IngestError::Io {
        file: path.to_path_buf(),
        source,
    };
    let texts: Vec<Vec<StringArray>> = batches
        .iter()
        .map(|b| batch_texts(kind, b).map_err(err))
        .collect::<Result<_, _>>()?;
    let file = File::create(path).map_err(io)?;
    let fields = kind.fields();
    let mut rows = 0u64;
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(BufWriter::new(file));
            let csv_err = |e: csv::Error| err(e.to_string());
            w.write_record(fields.iter().map(|f| f.name))
                .map_err(csv_err)?;
            for cols in &texts {
                let n = cols.first().map_or(0, |c| c.len());
                for r in 0..n {
                    w.write_record(
                        cols.iter()
                            .map(|c| if c.is_valid(r) { c.value(r) } else { "" }),
                    )
                    .map_err(csv_err)?;
                }
                rows += n as u64;
            }
            w.flush().map_err(io)?;
        }
        Format::JsonLines => {
            let mut w = BufWriter::new(file);
            let mut line = String::new();
            for cols in &texts {
                let n = cols.first().map_or(0, |c| c.len());
                for r in 0..n {
                    json_line(fields, cols, r, &mut line);
                    w.write_all(line.as_bytes()).map_err(io)?;
                }
                rows += n as u64;
            }
            w.flush().map_err(io)?;
        }
        Format::Parquet => {
            let schema = Arc::new(Schema::new(
                fields
                    .iter()
                    .map(|f| Field::new(f.name, DataType::Utf8, true))
                    .collect::<Vec<_>>(),
            ));
            let props = WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .build();
            let pq_err = |e: parquet::errors::ParquetError| err(e.to_string());
            let mut w = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(pq_err)?;
            for cols in texts {
                let arrays: Vec<ArrayRef> =
                    cols.into_iter().map(|c| Arc::new(c) as ArrayRef).collect();
                let batch =
                    RecordBatch::try_new(schema.clone(), arrays).map_err(|e| err(e.to_string()))?;
                rows += batch.num_rows() as u64;
                w.write(&batch).map_err(pq_err)?;
            }
            w.close().map_err(pq_err)?;
        }
    }
    Ok(rows)
}

/// One JSON object per row, nulls left out; integers and booleans as JSON
/// values, everything else (money included, to stay exact) as strings.
fn json_line(
    fields: &[clientela_core::FieldSpec],
    cols: &[StringArray],
    r: usize,
    out: &mut String,
) {
    out.clear();
    out.push('{');
    for (spec, col) in fields.iter().zip(cols) {
        if col.is_null(r) {
            continue;
        }
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(spec.name).expect("a string"));
        out.push(':');
        match spec.ty {
            FieldType::Int { .. } | FieldType::Bool => out.push_str(col.value(r)),
            _ => out.push_str(&serde_json::to_string(col.value(r)).expect("a string")),
        }
    }
    out.push_str("}\n");
}

/// The canonical input text of every field of a batch, in field order.
fn batch_texts(kind: RecordKind, batch: &RecordBatch) -> Result<Vec<StringArray>, String> {
    let column = |name: &str| {
        batch
            .column_by_name(name)
            .ok_or_else(|| format!("the batch has no column {name:?} of the {kind} schema"))
    };
    let wrong =
        |name: &str, col: &ArrayRef| format!("column {name:?} has type {}", col.data_type());
    let currency = match kind.fields().iter().find(|f| f.ty == FieldType::Currency) {
        Some(f) => Some(
            column(f.name)?
                .as_string_opt::<i32>()
                .ok_or("currency is not Utf8")?
                .clone(),
        ),
        None => None,
    };
    let mut out = Vec::new();
    for spec in kind.fields() {
        let name = spec.column();
        let col = column(&name)?;
        let mut b = StringBuilder::with_capacity(col.len(), col.len() * 8);
        let text = match spec.ty {
            FieldType::Id | FieldType::Text | FieldType::Currency | FieldType::Enum(_) => col
                .as_string_opt::<i32>()
                .ok_or_else(|| wrong(&name, col))?
                .clone(),
            FieldType::Time => {
                let a = col
                    .as_primitive_opt::<TimestampMicrosecondType>()
                    .ok_or_else(|| wrong(&name, col))?;
                for v in a {
                    match v.map(DateTime::from_timestamp_micros) {
                        None => b.append_null(),
                        Some(None) => return Err(format!("{name}: timestamp out of range")),
                        Some(Some(t)) => {
                            b.append_value(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
                        }
                    }
                }
                b.finish()
            }
            FieldType::Int { .. } => {
                let a = col
                    .as_primitive_opt::<Int64Type>()
                    .ok_or_else(|| wrong(&name, col))?;
                for v in a {
                    b.append_option(v.map(|v| v.to_string()));
                }
                b.finish()
            }
            FieldType::Money => {
                let a = col
                    .as_primitive_opt::<Int64Type>()
                    .ok_or_else(|| wrong(&name, col))?;
                let cur = currency.as_ref().ok_or("money without a currency field")?;
                for (r, v) in a.iter().enumerate() {
                    let Some(v) = v else {
                        b.append_null();
                        continue;
                    };
                    let code = if cur.is_valid(r) { cur.value(r) } else { "" };
                    let c = Currency::parse(code).map_err(|e| format!("row {}: {e}", r + 1))?;
                    b.append_value(format_minor(v, c.exponent()));
                }
                b.finish()
            }
            FieldType::Bool => {
                let a = col.as_boolean_opt().ok_or_else(|| wrong(&name, col))?;
                for v in a {
                    b.append_option(v.map(|v| if v { "true" } else { "false" }));
                }
                b.finish()
            }
        };
        out.push(text);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clientela_table::{parse_row, KindBuilder, RowContext};

    #[test]
    fn texts_are_canonical_input() {
        let raw = [
            Some("e1"),
            Some("c1"),
            Some("2024-02-29T11:00:00+01:00"),
            Some("-12.5"),
            Some("kwd"),
            Some("2"),
            None,
            None,
            None,
            Some("[1]"),
        ];
        let row = parse_row(RecordKind::Order, &raw, &RowContext::default()).unwrap();
        let mut b = KindBuilder::new(RecordKind::Order);
        b.push(&row);
        let texts = batch_texts(RecordKind::Order, &b.finish()).unwrap();
        let got: Vec<Option<&str>> = texts
            .iter()
            .map(|c| c.is_valid(0).then(|| c.value(0)))
            .collect();
        let want = [
            Some("e1"),
            Some("c1"),
            Some("2024-02-29T10:00:00Z"),
            Some("-12.500"),
            Some("KWD"),
            Some("2"),
            None,
            None,
            None,
            Some("[1]"),
        ];
        assert_eq!(got, want);
        let mut line = String::new();
        json_line(RecordKind::Order.fields(), &texts, 0, &mut line);
        assert_eq!(
            line,
            "{\"event_id\":\"e1\",\"customer_id\":\"c1\",\"time\":\"2024-02-29T10:00:00Z\",\
             \"amount\":\"-12.500\",\"currency\":\"KWD\",\"quantity\":2,\"items\":\"[1]\"}\n"
        );
    }
}
