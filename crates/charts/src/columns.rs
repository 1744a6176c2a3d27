//! Reading a section's columns as the charts need them.
//!
//! Every column goes through Arrow's cast kernel, so a chart reads a count
//! (Int64), a rate (Float64) or an amount (Decimal128 at the currency's
//! scale) alike as `f64`, and a period as a date.

use crate::ChartError;
use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type, Float64Type};
use chrono::NaiveDate;
use clientela_engine::Section;
use std::collections::{BTreeMap, BTreeSet};

/// The column `name` of a section.
fn column<'a>(s: &'a Section, name: &str) -> Result<&'a ArrayRef, ChartError> {
    s.batch
        .column_by_name(name)
        .ok_or_else(|| ChartError::MissingColumn {
            section: s.name.clone(),
            column: name.into(),
        })
}

/// `name` cast to `to`.
fn cast_column(s: &Section, name: &str, to: &DataType) -> Result<ArrayRef, ChartError> {
    cast(column(s, name)?, to).map_err(|e| ChartError::Column {
        section: s.name.clone(),
        column: name.into(),
        reason: e.to_string(),
    })
}

/// A numeric column as numbers (amounts in currency units), `None` for nulls.
pub(crate) fn numbers(s: &Section, name: &str) -> Result<Vec<Option<f64>>, ChartError> {
    let a = cast_column(s, name, &DataType::Float64)?;
    Ok(a.as_primitive::<Float64Type>().iter().collect())
}

/// A date column (Date32, or text such as `2025-03-01`), `None` for nulls.
pub(crate) fn dates(s: &Section, name: &str) -> Result<Vec<Option<NaiveDate>>, ChartError> {
    let a = cast_column(s, name, &DataType::Date32)?;
    let d = a.as_primitive::<Date32Type>();
    Ok((0..d.len())
        .map(|i| d.is_valid(i).then(|| d.value_as_date(i)).flatten())
        .collect())
}

/// Whether the section is split by a customer attribute: a `segment`
/// column with more than one value. An unsplit section has one row per key
/// and its rates can be read as they are.
pub(crate) fn is_split(s: &Section) -> Result<bool, ChartError> {
    if s.batch.column_by_name("segment").is_none() {
        return Ok(false);
    }
    let a = cast_column(s, "segment", &DataType::Utf8)?;
    let values: BTreeSet<Option<&str>> = a.as_string::<i32>().iter().collect();
    Ok(values.len() > 1)
}

/// The columns of each key's rows summed (nulls count as 0): a split
/// section's segments added up into the whole base. Rows without a key are
/// left out.
pub(crate) fn sum_by<K: Ord + Clone>(
    keys: &[Option<K>],
    columns: &[Vec<Option<f64>>],
) -> BTreeMap<K, Vec<f64>> {
    let mut out: BTreeMap<K, Vec<f64>> = BTreeMap::new();
    for (row, key) in keys.iter().enumerate() {
        let Some(key) = key else { continue };
        let sums = out
            .entry(key.clone())
            .or_insert_with(|| vec![0.0; columns.len()]);
        for (sum, column) in sums.iter_mut().zip(columns) {
            *sum += column[row].unwrap_or(0.0);
        }
    }
    out
}

/// The columns of each key's row as they are (an unsplit section has one
/// row per key; should a key repeat, its last row counts).
pub(crate) fn by_key<K: Ord + Clone>(
    keys: &[Option<K>],
    columns: &[Vec<Option<f64>>],
) -> BTreeMap<K, Vec<Option<f64>>> {
    keys.iter()
        .enumerate()
        .filter_map(|(row, key)| {
            let values = columns.iter().map(|c| c[row]).collect();
            key.clone().map(|k| (k, values))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Decimal128Array, Int64Array, RecordBatch, StringArray};
    use std::sync::Arc;

    fn section(columns: Vec<(&str, ArrayRef)>) -> Section {
        Section {
            name: "t".into(),
            title: "T".into(),
            batch: RecordBatch::try_from_iter(columns).unwrap(),
        }
    }

    #[test]
    fn decimals_are_read_in_currency_units() {
        let dec = Decimal128Array::from(vec![Some(12345), None])
            .with_precision_and_scale(38, 2)
            .unwrap();
        let s = section(vec![("mrr", Arc::new(dec) as ArrayRef)]);
        assert_eq!(numbers(&s, "mrr").unwrap(), vec![Some(123.45), None]);
    }

    #[test]
    fn text_dates_are_read_as_dates() {
        let s = section(vec![(
            "period",
            Arc::new(StringArray::from(vec!["2025-03-01"])) as ArrayRef,
        )]);
        assert_eq!(
            dates(&s, "period").unwrap(),
            vec![NaiveDate::from_ymd_opt(2025, 3, 1)]
        );
    }

    #[test]
    fn a_missing_column_names_section_and_column() {
        let s = section(vec![("a", Arc::new(Int64Array::from(vec![1])) as ArrayRef)]);
        let e = numbers(&s, "b").unwrap_err().to_string();
        assert_eq!(e, "section `t` has no column `b`");
    }

    #[test]
    fn one_segment_is_not_a_split_and_two_are() {
        let one = section(vec![(
            "segment",
            Arc::new(StringArray::from(vec!["all", "all"])) as ArrayRef,
        )]);
        let two = section(vec![(
            "segment",
            Arc::new(StringArray::from(vec!["DE", "IT"])) as ArrayRef,
        )]);
        assert!(!is_split(&one).unwrap());
        assert!(is_split(&two).unwrap());
    }

    #[test]
    fn sums_add_segments_and_count_nulls_as_zero() {
        let keys = [Some(1), Some(2), Some(1), None];
        let a = vec![Some(1.0), Some(2.0), None, Some(100.0)];
        let b = vec![Some(10.0), Some(20.0), Some(30.0), Some(100.0)];
        let sums = sum_by(&keys, &[a, b]);
        assert_eq!(sums[&1], vec![1.0, 40.0]);
        assert_eq!(sums[&2], vec![2.0, 20.0]);
        assert_eq!(sums.len(), 2);
    }
}
