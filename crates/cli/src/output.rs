//! Rendering of reports: terminal tables, JSON and CSV.

use crate::args::{FormatArg, OutputArgs};
use anyhow::{Context, Result};
use clientela_engine::{CustomerProfile, Report, Section};
use datafusion::arrow::array::Array;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use serde_json::{json, Map, Value};
use std::io::Write;

/// Cell texts of a batch, row by row ("" for null).
fn cells(b: &RecordBatch) -> Result<Vec<Vec<String>>> {
    cells_with(b, "")
}

/// Cell texts of a batch, row by row, `null` for null.
fn cells_with(b: &RecordBatch, null: &str) -> Result<Vec<Vec<String>>> {
    let opts = FormatOptions::default().with_null(null);
    let fmts = b
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((0..b.num_rows())
        .map(|r| fmts.iter().map(|f| f.value(r).to_string()).collect())
        .collect())
}

fn header(b: &RecordBatch) -> Vec<String> {
    b.schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

/// A terminal table.
fn table(title: &str, b: &RecordBatch) -> Result<String> {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    t.set_header(header(b));
    for (i, f) in b.schema().fields().iter().enumerate() {
        if f.data_type().is_numeric() {
            if let Some(c) = t.column_mut(i) {
                c.set_cell_alignment(comfy_table::CellAlignment::Right);
            }
        }
    }
    let shown = b.slice(0, b.num_rows().min(TERMINAL_ROWS));
    // An undefined value (a ratio over zero customers) reads as n/a, not as
    // a blank that could be taken for a missing column.
    for row in cells_with(&shown, "n/a")? {
        t.add_row(row);
    }
    let more = b.num_rows() - shown.num_rows();
    let note = if more > 0 {
        format!(
            "… and {more} more rows: --format csv, parquet or xlsx with --out writes them all\n"
        )
    } else {
        String::new()
    };
    Ok(format!("\n{title}\n{t}\n{note}"))
}

/// Rows of one table shown in the terminal; the file formats write all.
const TERMINAL_ROWS: usize = 100;

/// JSON rows of a batch: numbers as numbers, the rest as text.
fn json_rows(b: &RecordBatch) -> Result<Value> {
    let names = header(b);
    let texts = cells(b)?;
    let mut rows = Vec::new();
    for (r, row) in texts.into_iter().enumerate() {
        let mut obj = Map::new();
        for (i, text) in row.into_iter().enumerate() {
            let col = b.column(i);
            let v = if col.is_null(r) {
                Value::Null
            } else if col.data_type() == &DataType::Boolean {
                Value::Bool(text == "true")
            } else if col.data_type().is_numeric() {
                text.parse::<serde_json::Number>()
                    .map(Value::Number)
                    .unwrap_or(Value::String(text))
            } else {
                Value::String(text)
            };
            obj.insert(names[i].clone(), v);
        }
        rows.push(Value::Object(obj));
    }
    Ok(Value::Array(rows))
}

fn csv_text(b: &RecordBatch) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header(b))?;
    for row in cells(b)? {
        w.write_record(row)?;
    }
    Ok(w.into_inner()?)
}

/// Writes a report in the chosen format.
pub fn write_report(r: &Report, out: &OutputArgs) -> Result<()> {
    let currency = r.currency.clone().unwrap_or_default();
    match out.format {
        FormatArg::Table => {
            let mut text = match currency.as_str() {
                "" => format!("clientela report as of {}\n", r.as_of),
                c => format!("clientela report as of {} (amounts in {c})\n", r.as_of),
            };
            for s in &r.sections {
                text.push_str(&table(&s.title, &s.batch)?);
            }
            emit(out, text.as_bytes())
        }
        FormatArg::Json => {
            let mut sections = Map::new();
            for s in &r.sections {
                sections.insert(s.name.clone(), json_rows(&s.batch)?);
            }
            let doc =
                json!({"as_of": r.as_of.to_string(), "currency": r.currency, "sections": sections});
            emit(out, serde_json::to_string_pretty(&doc)?.as_bytes())
        }
        FormatArg::Csv => write_csv_sections(&r.sections, out),
        FormatArg::Parquet => crate::export::write_parquet(&r.sections, required_out(out)?),
        FormatArg::Xlsx => crate::export::write_xlsx(&r.sections, required_out(out)?),
    }
}

/// The `--out` path binary formats need.
fn required_out(out: &OutputArgs) -> Result<&std::path::Path> {
    match &out.out {
        Some(p) => Ok(p),
        None => anyhow::bail!(
            "--format {:?} writes files: give --out (a folder for parquet, a .xlsx file for xlsx)",
            out.format
        ),
    }
}

/// CSV: one file per section into `--out DIR`, or all on stdout, each
/// preceded by a `# name` line.
fn write_csv_sections(sections: &[Section], out: &OutputArgs) -> Result<()> {
    match &out.out {
        Some(dir) if sections.len() > 1 || dir.is_dir() || dir.extension().is_none() => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            for s in sections {
                let path = dir.join(format!("{}.csv", s.name));
                std::fs::write(&path, csv_text(&s.batch)?)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            eprintln!("wrote {} CSV files to {}", sections.len(), dir.display());
            Ok(())
        }
        _ => {
            let mut all = Vec::new();
            for (i, s) in sections.iter().enumerate() {
                if sections.len() > 1 {
                    if i > 0 {
                        all.push(b'\n');
                    }
                    writeln!(all, "# {}", s.name)?;
                }
                all.extend(csv_text(&s.batch)?);
            }
            emit(out, &all)
        }
    }
}

fn emit(out: &OutputArgs, bytes: &[u8]) -> Result<()> {
    match &out.out {
        Some(p) => {
            std::fs::write(p, bytes).with_context(|| format!("cannot write {}", p.display()))
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(bytes)?;
            stdout.flush()?;
            Ok(())
        }
    }
}

/// Writes a customer profile.
pub fn write_profile(
    p: &CustomerProfile,
    as_of: chrono::NaiveDate,
    out: &OutputArgs,
) -> Result<()> {
    let history = stage_history_batch(p)?;
    let sections = vec![
        Section {
            name: "customer".into(),
            title: format!("Customer on {as_of}"),
            batch: transpose(&p.summary)?,
        },
        Section {
            name: "stage_history".into(),
            title: "Stages, most recent first".into(),
            batch: history,
        },
        Section {
            name: "activity".into(),
            title: "Activity".into(),
            batch: p.activity.clone(),
        },
        Section {
            name: "surveys".into(),
            title: "NPS and CSAT answers".into(),
            batch: p.surveys.clone(),
        },
    ];
    let report = Report {
        as_of,
        currency: None,
        sections,
    };
    write_report(&report, out)
}

fn stage_history_batch(p: &CustomerProfile) -> Result<RecordBatch> {
    use datafusion::arrow::array::StringArray;
    let stages = StringArray::from_iter_values(p.stage_history.iter().map(|(s, _)| s.as_str()));
    let since = StringArray::from_iter_values(p.stage_history.iter().map(|(_, d)| d.to_string()));
    Ok(RecordBatch::try_from_iter(vec![
        ("stage", std::sync::Arc::new(stages) as _),
        ("since", std::sync::Arc::new(since) as _),
    ])?)
}

/// One row as `field, value` rows, easier to read for a profile.
fn transpose(b: &RecordBatch) -> Result<RecordBatch> {
    use datafusion::arrow::array::StringArray;
    let values = cells(b)?.into_iter().next().unwrap_or_default();
    let names = header(b);
    Ok(RecordBatch::try_from_iter(vec![
        (
            "field",
            std::sync::Arc::new(StringArray::from_iter_values(names.iter())) as _,
        ),
        (
            "value",
            std::sync::Arc::new(StringArray::from_iter_values(values.iter())) as _,
        ),
    ])?)
}
