//! Matching a file's columns to the canonical fields of a record kind.
//!
//! A [`Plan`] says, for every canonical field, which source column feeds it
//! (by position) and which constant fills it when that column is absent or
//! empty. Every reader turns its rows into the same aligned
//! `Vec<Option<&str>>` through [`Plan::align`].

use crate::error::IngestError;
use crate::options::ReadOptions;
use clientela_core::{FieldSpec, RecordKind};
use clientela_table::RowContext;
use std::path::{Path, PathBuf};

/// The resolved column layout of one file.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// The record kind being read.
    pub kind: RecordKind,
    /// The file, for error messages.
    pub file: PathBuf,
    /// Time formats and zone.
    pub ctx: RowContext,
    /// Index of the `event_id` field, when the kind has one.
    pub event_id: Option<usize>,
    fields: &'static [FieldSpec],
    /// `--map` source column per field.
    mapped: Vec<Option<String>>,
    /// `--set` constant per field.
    constants: Vec<Option<String>>,
    /// The file's columns.
    columns: Vec<String>,
    /// Source column index per field.
    source: Vec<Option<usize>>,
    /// Whether the caller reads each field (else its column is a placeholder).
    reads: Vec<bool>,
    /// The field built as a dictionary of runs, if any.
    runs: Option<usize>,
}

impl Plan {
    /// Checks that the mapping and constants name fields of `kind`.
    pub fn new(kind: RecordKind, file: &Path, opts: &ReadOptions) -> Result<Plan, IngestError> {
        let fields = kind.fields();
        let field_index = |name: &str| {
            fields
                .iter()
                .position(|f| f.name.eq_ignore_ascii_case(name.trim()))
                .ok_or_else(|| IngestError::UnknownField {
                    kind,
                    field: name.to_string(),
                    expected: fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", "),
                })
        };
        let mut mapped = vec![None; fields.len()];
        for (field, column) in &opts.mapping {
            mapped[field_index(field)?] = Some(column.trim().to_string());
        }
        let mut constants = vec![None; fields.len()];
        for (field, value) in &opts.constants {
            constants[field_index(field)?] = Some(value.clone());
        }
        let reads = match opts.fields.get(&kind) {
            None => vec![true; fields.len()],
            Some(names) => {
                let mut reads = vec![false; fields.len()];
                for name in names {
                    reads[field_index(name)?] = true;
                }
                reads
            }
        };
        let runs = (opts.customer_id_runs && kind != RecordKind::Customer)
            .then(|| fields.iter().position(|f| f.name == "customer_id"))
            .flatten();
        Ok(Plan {
            kind,
            file: file.to_path_buf(),
            ctx: opts.context.clone(),
            event_id: fields.iter().position(|f| f.name == "event_id"),
            runs,
            fields,
            mapped,
            constants,
            columns: Vec::new(),
            source: vec![None; fields.len()],
            reads,
        })
    }

    /// Matches the file's `columns` to the fields: a mapped column by exact
    /// name, else case-insensitively; an unmapped field by its own name,
    /// case-insensitively. Fails on a mapped column the file lacks and on a
    /// required field with neither column nor constant.
    pub fn resolve(&mut self, columns: Vec<String>) -> Result<(), IngestError> {
        self.columns = columns;
        let find = |name: &str| {
            self.columns.iter().position(|c| c == name).or_else(|| {
                self.columns
                    .iter()
                    .position(|c| c.trim().eq_ignore_ascii_case(name))
            })
        };
        let mut source = vec![None; self.fields.len()];
        for (i, spec) in self.fields.iter().enumerate() {
            source[i] = match &self.mapped[i] {
                Some(col) => Some(find(col).ok_or_else(|| IngestError::ColumnNotFound {
                    file: self.file.clone(),
                    column: col.clone(),
                    field: spec.name.to_string(),
                    available: self.available(),
                })?),
                None => find(spec.name),
            };
            if spec.required && source[i].is_none() && self.constants[i].is_none() {
                return Err(IngestError::MissingField {
                    file: self.file.clone(),
                    kind: self.kind,
                    field: spec.name.to_string(),
                    available: self.available(),
                });
            }
        }
        self.source = source;
        Ok(())
    }

    /// The file's columns, quoted, for error messages.
    fn available(&self) -> String {
        if self.columns.is_empty() {
            return "(none)".into();
        }
        let quoted: Vec<String> = self.columns.iter().map(|c| format!("{c:?}")).collect();
        quoted.join(", ")
    }

    /// The file's columns.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Indices of the source columns that feed some field, ascending.
    pub fn used_columns(&self) -> Vec<usize> {
        let mut v: Vec<usize> = self.source.iter().flatten().copied().collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The kind's canonical fields.
    pub fn fields(&self) -> &'static [FieldSpec] {
        self.fields
    }

    /// The source column index feeding field `i`, if any.
    pub fn source(&self, i: usize) -> Option<usize> {
        self.source[i]
    }

    /// The `--set` constant of field `i`, if any.
    pub fn constant(&self, i: usize) -> Option<&str> {
        self.constants[i].as_deref()
    }

    /// Whether the caller reads each field ([`ReadOptions::fields`]).
    pub fn reads(&self) -> &[bool] {
        &self.reads
    }

    /// The field built as a dictionary of runs
    /// ([`ReadOptions::customer_id_runs`]), if any.
    pub fn runs(&self) -> Option<usize> {
        self.runs
    }

    /// Whether rows without an `event_id` get a derived one: only when the
    /// kind has the field and the caller reads it.
    pub fn derives_ids(&self) -> bool {
        self.event_id.is_some_and(|i| self.reads[i])
    }

    /// The source column feeding the canonical field `field`, if any.
    pub fn column_of(&self, field: &str) -> Option<String> {
        let i = self.fields.iter().position(|f| f.name == field)?;
        self.source[i].map(|c| self.columns[c].clone())
    }

    /// One row aligned with the kind's fields: `get(i)` is the text of source
    /// column `i` (`None` when absent or null); constants fill empty values.
    pub fn align<'a>(&'a self, get: impl Fn(usize) -> Option<&'a str>) -> Vec<Option<&'a str>> {
        self.source
            .iter()
            .zip(&self.constants)
            .map(|(src, constant)| {
                let v = src.and_then(&get).filter(|s| !s.trim().is_empty());
                v.or(constant.as_deref())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(mapping: &[(&str, &str)], constants: &[(&str, &str)]) -> Result<Plan, IngestError> {
        let pairs = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let opts = ReadOptions {
            mapping: pairs(mapping),
            constants: pairs(constants),
            ..ReadOptions::default()
        };
        Plan::new(RecordKind::Order, Path::new("o.csv"), &opts)
    }

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn columns_match_case_insensitively_and_mapping_wins() {
        let mut p = plan(&[("time", "InvoiceDate")], &[("currency", "USD")]).unwrap();
        p.resolve(cols(&[
            "Customer_ID",
            "time",
            "InvoiceDate",
            "AMOUNT",
            "extra",
        ]))
        .unwrap();
        let row = ["c1", "ignored", "2024-01-01", "12.5", "x"];
        let raw = p.align(|i| Some(row[i]));
        // event_id, customer_id, time, amount, currency, quantity…
        assert_eq!(
            &raw[..6],
            &[
                None,
                Some("c1"),
                Some("2024-01-01"),
                Some("12.5"),
                Some("USD"),
                None
            ]
        );
        assert_eq!(p.column_of("time").as_deref(), Some("InvoiceDate"));
        assert_eq!(p.used_columns(), vec![0, 2, 3]);
    }

    #[test]
    fn constants_fill_only_empty_values() {
        let mut p = plan(&[], &[("currency", "USD")]).unwrap();
        p.resolve(cols(&["customer_id", "time", "amount", "currency"]))
            .unwrap();
        let row = ["c", "2024-01-01", "1", "EUR"];
        assert_eq!(p.align(|i| Some(row[i]))[4], Some("EUR"));
        let row = ["c", "2024-01-01", "1", " "];
        assert_eq!(p.align(|i| Some(row[i]))[4], Some("USD"));
    }

    #[test]
    fn bad_mappings_and_missing_fields_are_explained() {
        let e = plan(&[("amount_eur", "x")], &[]).unwrap_err().to_string();
        assert!(
            e.contains("\"amount_eur\"") && e.contains("customer_id, time, amount"),
            "{e}"
        );
        let e = plan(&[], &[("colour", "red")]).unwrap_err().to_string();
        assert!(e.contains("colour"), "{e}");

        let mut p = plan(&[("amount", "Total")], &[]).unwrap();
        let e = p
            .resolve(cols(&["customer_id", "time", "Amount"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"Total\"") && e.contains("\"Amount\""), "{e}");

        let mut p = plan(&[], &[]).unwrap();
        let e = p
            .resolve(cols(&["customer_id", "time", "amount"]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("currency") && e.contains("--set currency="),
            "{e}"
        );
    }
}
