//! Binary exports of report sections: Parquet (one file per section) and
//! Excel (one sheet per section, numbers as numbers, dates as dates, a bold
//! header row and frozen panes; a section longer than Excel's 1,048,575
//! data rows continues on further sheets).

use anyhow::{Context, Result};
use clientela_engine::Section;
use datafusion::arrow::array::{Array, AsArray, BooleanArray, Date32Array, Float64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Date32Type, Float64Type};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet};
use std::path::Path;

/// Rows an Excel sheet holds, header included.
const EXCEL_MAX_ROWS: usize = 1_048_576;
/// Characters of an Excel sheet name.
const EXCEL_MAX_NAME: usize = 31;

/// Writes `DIR/<section>.parquet` for every section.
pub fn write_parquet(sections: &[Section], dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for s in sections {
        let path = dir.join(format!("{}.parquet", s.name));
        let file = std::fs::File::create(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        let mut w = parquet::arrow::ArrowWriter::try_new(file, s.batch.schema(), None)?;
        w.write(&s.batch)?;
        w.close()
            .with_context(|| format!("cannot finish {}", path.display()))?;
    }
    eprintln!(
        "wrote {} Parquet files to {}",
        sections.len(),
        dir.display()
    );
    Ok(())
}

/// Writes one workbook with a sheet per section.
pub fn write_xlsx(sections: &[Section], path: &Path) -> Result<()> {
    write_xlsx_sheets(sections, path, EXCEL_MAX_ROWS - 1)
}

/// [`write_xlsx`] with at most `per_sheet` data rows on a sheet.
fn write_xlsx_sheets(sections: &[Section], path: &Path, per_sheet: usize) -> Result<()> {
    let mut book = Workbook::new();
    let header = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let mut sheets = 0;
    for s in sections {
        // A table longer than a sheet continues on `<name>_2`, `<name>_3`, …
        let parts = s.batch.num_rows().div_ceil(per_sheet).max(1);
        for part in 0..parts {
            let suffix = if part == 0 {
                String::new()
            } else {
                format!("_{}", part + 1)
            };
            let keep = EXCEL_MAX_NAME - suffix.len();
            let name: String = s.name.chars().take(keep).chain(suffix.chars()).collect();
            let start = part * per_sheet;
            let rows = s
                .batch
                .slice(start, per_sheet.min(s.batch.num_rows() - start));
            // Rows go to a temporary file as they are written: a million-row
            // table would otherwise hold every cell in memory.
            let sheet = book.add_worksheet_with_constant_memory();
            sheet.set_name(&name)?;
            write_sheet(sheet, &rows, &header, &date)
                .with_context(|| format!("writing sheet {name}"))?;
            sheets += 1;
        }
    }
    book.save(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("wrote {sheets} sheets to {}", path.display());
    Ok(())
}

/// One column, ready to write cell by cell.
enum Cells<'a> {
    /// Numbers (money as exact decimals cast to doubles, which hold every
    /// amount below 2^53 minor units exactly), with a number format for
    /// decimals.
    Number(Float64Array, Option<Box<Format>>),
    /// Dates as Excel dates.
    Date(&'a Date32Array),
    /// Booleans.
    Bool(&'a BooleanArray),
    /// Anything else as its text.
    Text(ArrayFormatter<'a>),
}

fn write_sheet(
    sheet: &mut Worksheet,
    b: &datafusion::arrow::record_batch::RecordBatch,
    header: &Format,
    date: &Format,
) -> Result<()> {
    for (c, f) in b.schema().fields().iter().enumerate() {
        sheet.set_column_width(c as u16, (f.name().len() + 2).clamp(10, 40) as f64)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    for (c, f) in b.schema().fields().iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, f.name(), header)?;
    }
    let options = FormatOptions::default();
    let mut columns = Vec::new();
    for column in b.columns() {
        columns.push(match column.data_type() {
            t if t.is_numeric() => {
                let values = cast(column, &DataType::Float64)?
                    .as_primitive::<Float64Type>()
                    .clone();
                let format = match t {
                    DataType::Decimal128(_, scale) if *scale > 0 => Some(Box::new(
                        Format::new().set_num_format(format!("0.{}", "0".repeat(*scale as usize))),
                    )),
                    _ => None,
                };
                Cells::Number(values, format)
            }
            DataType::Date32 => Cells::Date(column.as_primitive::<Date32Type>()),
            DataType::Boolean => Cells::Bool(column.as_boolean()),
            _ => Cells::Text(ArrayFormatter::try_new(column.as_ref(), &options)?),
        });
    }
    // Row by row: a constant-memory sheet flushes each row as the next starts.
    for i in 0..b.num_rows() {
        let row = (i + 1) as u32;
        for (c, cells) in columns.iter().enumerate() {
            let col = c as u16;
            if !b.column(c).is_valid(i) {
                continue;
            }
            match cells {
                Cells::Number(v, Some(f)) => {
                    sheet.write_number_with_format(row, col, v.value(i), f)?
                }
                Cells::Number(v, None) => sheet.write_number(row, col, v.value(i))?,
                Cells::Date(days) => {
                    use chrono::Datelike;
                    let d = clientela_engine::date_of(days.value(i));
                    let x =
                        ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)?;
                    sheet.write_datetime_with_format(row, col, x, date)?
                }
                Cells::Bool(flags) => sheet.write_boolean(row, col, flags.value(i))?,
                Cells::Text(text) => sheet.write_string(row, col, text.value(i).to_string())?,
            };
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{open_workbook, Data, Reader, Xlsx};
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::record_batch::RecordBatch;
    use std::sync::Arc;

    #[test]
    fn long_tables_continue_on_further_sheets() {
        let values: Vec<i64> = (1..=7).collect();
        let batch =
            RecordBatch::try_from_iter([("n", Arc::new(Int64Array::from(values)) as _)]).unwrap();
        let section = Section {
            name: "customers".into(),
            title: String::new(),
            batch,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.xlsx");
        write_xlsx_sheets(&[section], &path, 3).unwrap();
        let mut book: Xlsx<_> = open_workbook(&path).unwrap();
        assert_eq!(
            book.sheet_names(),
            ["customers", "customers_2", "customers_3"]
        );
        let last = book.worksheet_range("customers_3").unwrap();
        assert_eq!(
            last.get((0, 0)),
            Some(&Data::String("n".into())),
            "each sheet has the header"
        );
        assert_eq!(last.get((1, 0)), Some(&Data::Float(7.0)));
        assert_eq!(last.height(), 2);
    }
}
