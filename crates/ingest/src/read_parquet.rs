//! Parquet files: the used columns are read, turned into text and sent
//! through the same row pipeline as the text formats, so a Parquet file and a
//! CSV file with the same values give the same batch.
//!
//! Text is exact: decimals keep their scale (`12.30`), dates are
//! `YYYY-MM-DD`, floats their shortest text, and timestamps with a time zone
//! become RFC 3339 instants in UTC (done here rather than by `cast`, which
//! needs the `chrono-tz` feature for named zones). Timestamps without a zone
//! are wall-clock times, read in the `--tz` zone like any naive text.

use crate::columns::Plan;
use crate::error::IngestError;
use crate::options::ReadOptions;
use crate::sink::Sink;
use crate::{rename, Source};
use arrow::array::{Array, ArrayRef, AsArray, StringArray, StringBuilder};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type, TimeUnit};
use chrono::{DateTime, SecondsFormat};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;
use std::fs::File;

/// Rows per batch read from the file (independent of the chunk size).
const READ_BATCH: usize = 8192;

/// Reads a Parquet file batch by batch.
pub(crate) struct ParquetSource {
    reader: ParquetRecordBatchReader,
    /// The file column of each column of the read batches.
    used: Vec<usize>,
    /// The current batch as text, per file column (only used ones are set).
    texts: Vec<Option<StringArray>>,
    batch_len: usize,
    next: usize,
    rows_before: u64,
    total_rows: u64,
    total_bytes: u64,
}

impl ParquetSource {
    /// Reads the schema, resolves the plan's columns and projects the file
    /// onto the used ones.
    pub fn open(
        file: File,
        opts: &ReadOptions,
        plan: &mut Plan,
    ) -> Result<ParquetSource, IngestError> {
        let path = plan.file.clone();
        let err = |message: String| IngestError::Parquet {
            file: path.clone(),
            message,
        };
        let total_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| err(format!("not a readable Parquet file: {e}")))?;
        let names = builder
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let total_rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
        plan.resolve(rename(names, opts.column_names.as_ref()))?;
        let used = plan.used_columns();
        let mask = ProjectionMask::roots(builder.parquet_schema(), used.iter().copied());
        let reader = builder
            .with_projection(mask)
            .with_batch_size(READ_BATCH)
            .build()
            .map_err(|e| err(format!("not a readable Parquet file: {e}")))?;
        Ok(ParquetSource {
            reader,
            used,
            texts: vec![None; plan.columns().len()],
            batch_len: 0,
            next: 0,
            rows_before: 0,
            total_rows,
            total_bytes,
        })
    }

    /// Loads the next batch; `false` at the end of the file.
    fn next_batch(&mut self, plan: &Plan) -> Result<bool, IngestError> {
        let first = self.rows_before + self.batch_len as u64 + 1;
        let err = |message: String| IngestError::Parquet {
            file: plan.file.clone(),
            message,
        };
        let batch = match self.reader.next() {
            None => return Ok(false),
            Some(Err(e)) => {
                return Err(err(format!(
                    "cannot read the rows from row {first} on: {e}"
                )))
            }
            Some(Ok(b)) => b,
        };
        for (j, col) in batch.columns().iter().enumerate() {
            let at = self.used[j];
            let text =
                to_text(col).map_err(|m| err(format!("column {:?}: {m}", plan.columns()[at])))?;
            self.texts[at] = Some(text);
        }
        self.rows_before = first - 1;
        self.batch_len = batch.num_rows();
        self.next = 0;
        Ok(true)
    }
}

impl Source for ParquetSource {
    fn fill(&mut self, plan: &mut Plan, sink: &mut Sink) -> Result<bool, IngestError> {
        let plan = &*plan;
        while !sink.is_full() {
            if self.next == self.batch_len {
                if !self.next_batch(plan)? {
                    return Ok(true);
                }
                continue;
            }
            let r = self.next;
            self.next += 1;
            let row = self.rows_before + r as u64 + 1;
            let texts = &self.texts;
            let get = |i: usize| {
                texts[i]
                    .as_ref()
                    .filter(|a| a.is_valid(r))
                    .map(|a| a.value(r))
            };
            let raw = plan.align(get);
            sink.accept(plan, row, &raw, || render(plan, &self.used, texts, r))?;
        }
        Ok(false)
    }

    fn position(&self) -> u64 {
        let done = self.rows_before + self.next as u64;
        match self.total_rows {
            0 => self.total_bytes,
            n if done >= n => self.total_bytes,
            n => (self.total_bytes as u128 * done as u128 / n as u128) as u64,
        }
    }
}

/// A row of the used columns as a JSON object in column order, for a reject.
fn render(plan: &Plan, used: &[usize], texts: &[Option<StringArray>], r: usize) -> String {
    let mut out = String::from("{");
    for &i in used {
        let v = texts[i]
            .as_ref()
            .filter(|a| a.is_valid(r))
            .map(|a| a.value(r));
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&serde_json::Value::from(plan.columns()[i].as_str()).to_string());
        out.push(':');
        out.push_str(&serde_json::Value::from(v).to_string());
    }
    out.push('}');
    out
}

/// A column as text, exactly.
fn to_text(col: &ArrayRef) -> Result<StringArray, String> {
    match col.data_type() {
        DataType::Utf8 => Ok(col.as_string::<i32>().clone()),
        DataType::Timestamp(unit, Some(_)) => {
            let per_second: i64 = match unit {
                TimeUnit::Second => 1,
                TimeUnit::Millisecond => 1_000,
                TimeUnit::Microsecond => 1_000_000,
                TimeUnit::Nanosecond => 1_000_000_000,
            };
            // The values are instants in UTC whatever the zone.
            let raw = cast(col, &DataType::Int64).map_err(|e| e.to_string())?;
            let mut out = StringBuilder::with_capacity(raw.len(), raw.len() * 20);
            for v in raw.as_primitive::<Int64Type>() {
                let Some(v) = v else {
                    out.append_null();
                    continue;
                };
                let (secs, frac) = (v.div_euclid(per_second), v.rem_euclid(per_second));
                let nanos = (frac * (1_000_000_000 / per_second)) as u32;
                let t = DateTime::from_timestamp(secs, nanos).ok_or("timestamp out of range")?;
                out.append_value(t.to_rfc3339_opts(SecondsFormat::AutoSi, true));
            }
            Ok(out.finish())
        }
        other => {
            let t = cast(col, &DataType::Utf8)
                .map_err(|e| format!("cannot read a column of type {other} as text: {e}"))?;
            Ok(t.as_string::<i32>().clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        Date32Array, Decimal128Array, Float64Array, Int64Array, TimestampMillisecondArray,
        TimestampSecondArray,
    };
    use std::sync::Arc;

    fn texts(a: ArrayRef) -> Vec<Option<String>> {
        to_text(&a)
            .unwrap()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    }

    #[test]
    fn values_become_exact_text() {
        let dec = Decimal128Array::from(vec![Some(1230), Some(-5), None])
            .with_precision_and_scale(10, 2)
            .unwrap();
        assert_eq!(
            texts(Arc::new(dec)),
            vec![Some("12.30".into()), Some("-0.05".into()), None]
        );
        // 2024-02-29 is day 19782.
        assert_eq!(
            texts(Arc::new(Date32Array::from(vec![19782]))),
            vec![Some("2024-02-29".into())]
        );
        assert_eq!(
            texts(Arc::new(Float64Array::from(vec![11.77, 12.0]))),
            vec![Some("11.77".into()), Some("12.0".into())]
        );
        assert_eq!(
            texts(Arc::new(Int64Array::from(vec![42]))),
            vec![Some("42".into())]
        );
    }

    #[test]
    fn zoned_timestamps_become_utc_instants() {
        let ms = TimestampMillisecondArray::from(vec![Some(1_709_200_800_500), None])
            .with_timezone("Europe/Rome");
        assert_eq!(
            texts(Arc::new(ms)),
            vec![Some("2024-02-29T10:00:00.500Z".into()), None]
        );
        let s = TimestampSecondArray::from(vec![-1]).with_timezone("+02:00");
        assert_eq!(
            texts(Arc::new(s)),
            vec![Some("1969-12-31T23:59:59Z".into())]
        );
        let naive = TimestampSecondArray::from(vec![1_709_200_800]);
        assert_eq!(
            texts(Arc::new(naive)),
            vec![Some("2024-02-29T10:00:00".into())]
        );
    }
}
