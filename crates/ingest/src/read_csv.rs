//! Delimited text with CSV quoting (`,`, `;`, tab…), read with the `csv`
//! crate into one reused [`csv::ByteRecord`].

use crate::columns::Plan;
use crate::error::IngestError;
use crate::options::ReadOptions;
use crate::sink::Sink;
use crate::{rename, Source};
use csv::{ByteRecord, Reader, ReaderBuilder};
use std::fs::File;

/// Reads a CSV file record by record.
pub(crate) struct CsvSource {
    reader: Reader<File>,
    record: ByteRecord,
    delimiter: u8,
    /// What the field count is compared with, for messages.
    expected_from: &'static str,
}

impl CsvSource {
    /// Reads the header (if any) and resolves the plan's columns.
    pub fn open(
        file: File,
        delimiter: u8,
        opts: &ReadOptions,
        plan: &mut Plan,
    ) -> Result<CsvSource, IngestError> {
        let reader = ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .buffer_capacity(1 << 16)
            .from_reader(file);
        let mut src = CsvSource {
            reader,
            record: ByteRecord::new(),
            delimiter,
            expected_from: "the header",
        };
        let header = if opts.has_header {
            if src.read(plan)? {
                let mut names: Vec<String> = src
                    .record
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).trim().to_string())
                    .collect();
                if let Some(first) = names.first_mut() {
                    *first = first.trim_start_matches('\u{feff}').to_string();
                }
                names
            } else {
                Vec::new()
            }
        } else {
            src.expected_from = "the column names";
            if opts.column_names.is_none() {
                return Err(IngestError::NoColumnNames {
                    file: plan.file.clone(),
                });
            }
            Vec::new()
        };
        plan.resolve(rename(header, opts.column_names.as_ref()))?;
        Ok(src)
    }

    /// Reads the next record; `false` at the end of the file.
    fn read(&mut self, plan: &Plan) -> Result<bool, IngestError> {
        self.reader
            .read_byte_record(&mut self.record)
            .map_err(|e| csv_error(plan, e))
    }
}

pub(crate) fn csv_error(plan: &Plan, e: csv::Error) -> IngestError {
    let line = e.position().map_or(0, |p| p.line());
    match e.into_kind() {
        csv::ErrorKind::Io(source) => IngestError::Io {
            file: plan.file.clone(),
            source,
        },
        other => IngestError::Row {
            file: plan.file.clone(),
            unit: crate::Unit::Line,
            line,
            column: None,
            field: None,
            message: format!("{other:?}"),
        },
    }
}

/// The record as text, fields joined by the delimiter.
fn render(record: &ByteRecord, delimiter: u8) -> String {
    let mut out = Vec::with_capacity(record.as_slice().len() + record.len());
    for (i, f) in record.iter().enumerate() {
        if i > 0 {
            out.push(delimiter);
        }
        out.extend_from_slice(f);
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Source for CsvSource {
    fn fill(&mut self, plan: &mut Plan, sink: &mut Sink) -> Result<bool, IngestError> {
        let plan = &*plan;
        while !sink.is_full() {
            if !self.read(plan)? {
                return Ok(true);
            }
            let line = self.record.position().map_or(0, |p| p.line());
            accept_record(
                plan,
                sink,
                &self.record,
                line,
                self.delimiter,
                self.expected_from,
            )?;
        }
        Ok(false)
    }

    fn position(&self) -> u64 {
        self.reader.position().byte()
    }
}

/// The row path of delimited text: checks one record's field count and
/// UTF-8, then hands its aligned values to the sink. Every bad record of a
/// CSV file is judged here, whichever path read it.
pub(crate) fn accept_record(
    plan: &Plan,
    sink: &mut Sink,
    rec: &ByteRecord,
    line: u64,
    delimiter: u8,
    expected_from: &str,
) -> Result<(), IngestError> {
    let expected = plan.columns().len();
    let n = rec.len();
    // Trailing empty fields (a delimiter at the end of the line) are tolerated.
    let extra = (expected..n).any(|i| !rec[i].trim_ascii().is_empty());
    if n < expected || extra {
        let msg = format!("has {n} fields but {expected_from} has {expected}");
        return sink.malformed(plan, line, None, msg, || render(rec, delimiter));
    }
    let text = match std::str::from_utf8(rec.as_slice()) {
        Ok(t) => t,
        Err(e) => {
            let bad = (0..n).find(|&i| rec.range(i).is_some_and(|r| r.end > e.valid_up_to()));
            let column = bad.and_then(|i| plan.columns().get(i).cloned());
            let msg = "is not valid UTF-8 text".to_string();
            return sink.malformed(plan, line, column, msg, || render(rec, delimiter));
        }
    };
    // `get` refuses a range that splits a character: only possible
    // when the fields themselves are not valid UTF-8.
    let raw = plan.align(|i| rec.range(i).and_then(|r| text.get(r)));
    sink.accept(plan, line, &raw, || render(rec, delimiter))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_records_with_their_delimiter() {
        let r = ByteRecord::from(vec!["a", "b c", ""]);
        assert_eq!(render(&r, b';'), "a;b c;");
    }
}
