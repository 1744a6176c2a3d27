//! Scalar functions the plans call by name. Their parameters are literal
//! arguments (never hidden state) so a Ballista executor can run them.

use chrono::{Datelike, NaiveDate};
use clientela_core::Granularity;
use datafusion::arrow::array::{Array, ArrayRef, Int32Array, Int64Array};
use datafusion::arrow::array::{ArrowPrimitiveType, PrimitiveArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::{
    create_udf, ColumnarValue, ScalarFunctionImplementation, Volatility,
};
use datafusion::prelude::SessionContext;
use std::sync::Arc;

use crate::params::{date_of as date, day_of};

/// First day of the period containing `day` (both as days since 1970-01-01).
pub(crate) fn period_start(day: i32, g: Granularity) -> i32 {
    day_of(g.start_of(date(day)))
}

/// Index of the period containing `day`, counting the period that starts
/// on `first` as 0 (negative before it).
pub(crate) fn period_index(day: i32, first: i32, g: Granularity) -> i32 {
    let (d, f) = (date(day), date(first));
    let months = |a: NaiveDate| a.year() * 12 + a.month0() as i32;
    match g {
        Granularity::Day => day - first,
        Granularity::Week => (period_start(day, g) - period_start(first, g)).div_euclid(7),
        Granularity::Month => months(d) - months(f),
        Granularity::Quarter => (months(d) - months(f)).div_euclid(3),
        Granularity::Year => d.year() - f.year(),
    }
}

/// Bit i set when boundary day `bounds[i]` has `day` in its activity window
/// (`bounds[i] - window < day <= bounds[i]`).
pub(crate) fn bounds_mask(day: i32, bounds: &[i32], window: i32) -> i64 {
    bounds
        .iter()
        .enumerate()
        .filter(|(_, &x)| day <= x && day > x - window)
        .fold(0, |m, (i, _)| m | (1i64 << i))
}

/// Bit i set when the span `[from, to)` (open-ended when `to` is null)
/// covers boundary day `bounds[i]`.
pub(crate) fn span_mask(from: i32, to: Option<i32>, bounds: &[i32]) -> i64 {
    bounds
        .iter()
        .enumerate()
        .filter(|(_, &x)| from <= x && to.is_none_or(|t| t > x))
        .fold(0, |m, (i, _)| m | (1i64 << i))
}

fn literal_str<'a>(v: &'a ColumnarValue, f: &str) -> Result<&'a str> {
    match v {
        ColumnarValue::Scalar(ScalarValue::Utf8(Some(s))) => Ok(s),
        _ => exec_err!("{f}: this argument must be a text literal"),
    }
}

fn literal_int(v: &ColumnarValue, f: &str) -> Result<i32> {
    match v {
        ColumnarValue::Scalar(ScalarValue::Int32(Some(i))) => Ok(*i),
        ColumnarValue::Scalar(ScalarValue::Int64(Some(i))) => Ok(*i as i32),
        _ => exec_err!("{f}: this argument must be an integer literal"),
    }
}

fn granularity(v: &ColumnarValue, f: &str) -> Result<Granularity> {
    match literal_str(v, f)?.parse() {
        Ok(g) => Ok(g),
        Err(e) => exec_err!("{f}: {e}"),
    }
}

fn parse_bounds(v: &ColumnarValue, f: &str) -> Result<Vec<i32>> {
    let text = literal_str(v, f)?;
    let bounds: Result<Vec<i32>, _> = text.split(',').map(|x| x.trim().parse::<i32>()).collect();
    match bounds {
        Ok(b) if b.len() <= 62 => Ok(b),
        Ok(_) => exec_err!("{f}: at most 62 boundaries"),
        Err(_) => exec_err!("{f}: expected comma-separated day numbers"),
    }
}

/// An Int32 argument as an array of `rows` values.
fn ints(v: &ColumnarValue, rows: usize) -> Result<Int32Array> {
    let a: ArrayRef = v.to_array(rows)?;
    let a = datafusion::arrow::compute::cast(&a, &DataType::Int32)?;
    Ok(a.as_any()
        .downcast_ref::<Int32Array>()
        .expect("cast to Int32")
        .clone())
}

/// Rows of a call: the length of its first array argument (1 when every
/// argument is a scalar).
/// Widest span of days for which [`map_days`] tabulates `f`.
const TABLE_DAYS: i64 = 1 << 16;

/// `f` of every day, null for null. The days of a batch of events cover a
/// few years at most, so `f` (calendar arithmetic) is worked out once per
/// distinct day in a table instead of once per row.
fn map_days<O: ArrowPrimitiveType>(
    days: &Int32Array,
    f: impl Fn(i32) -> O::Native,
) -> PrimitiveArray<O> {
    let (lo, hi) = match (
        datafusion::arrow::compute::min(days),
        datafusion::arrow::compute::max(days),
    ) {
        (Some(lo), Some(hi)) => (lo, hi),
        _ => return days.iter().map(|d| d.map(&f)).collect(),
    };
    let span = i64::from(hi) - i64::from(lo) + 1;
    if span > TABLE_DAYS || span as usize > 2 * days.len() {
        return days.iter().map(|d| d.map(&f)).collect();
    }
    let table: Vec<O::Native> = (lo..=hi).map(&f).collect();
    days.iter()
        .map(|d| d.map(|d| table[(d - lo) as usize]))
        .collect()
}

pub(crate) fn rows_of(args: &[ColumnarValue]) -> usize {
    args.iter()
        .find_map(|a| match a {
            ColumnarValue::Array(a) => Some(a.len()),
            _ => None,
        })
        .unwrap_or(1)
}

fn udf(
    name: &str,
    inputs: Vec<DataType>,
    output: DataType,
    f: ScalarFunctionImplementation,
) -> datafusion::logical_expr::ScalarUDF {
    create_udf(name, inputs, output, Volatility::Immutable, f)
}

/// Whether a `;`-separated tag list holds `tag` (tags trimmed, letters
/// compared without case): the psychographic segments' test.
pub(crate) fn has_tag(tags: &str, tag: &str) -> bool {
    let tag = tag.trim();
    !tag.is_empty() && tags.split(';').any(|t| t.trim().eq_ignore_ascii_case(tag))
}

fn strings(v: &ColumnarValue, rows: usize) -> Result<datafusion::arrow::array::StringArray> {
    let a: ArrayRef = v.to_array(rows)?;
    let a = datafusion::arrow::compute::cast(&a, &DataType::Utf8)?;
    Ok(a.as_any()
        .downcast_ref::<datafusion::arrow::array::StringArray>()
        .expect("cast to Utf8")
        .clone())
}

/// Registers `has_tag(tags, 'x')`, `cl_period_start(day, 'month')`,
/// `cl_period_index(day, first, 'month')`, `cl_bounds_mask(day, 'x0,x1,…',
/// window)` and `cl_span_mask(from, to, 'x0,x1,…')`.
pub(crate) fn register(ctx: &SessionContext) {
    use DataType::{Boolean, Int32, Int64, Utf8};
    ctx.register_udf(udf(
        "has_tag",
        vec![Utf8, Utf8],
        Boolean,
        Arc::new(|args: &[ColumnarValue]| {
            let rows = rows_of(args);
            let (tags, tag) = (strings(&args[0], rows)?, strings(&args[1], rows)?);
            let out: datafusion::arrow::array::BooleanArray = tags
                .iter()
                .zip(tag.iter())
                .map(|(list, t)| match (list, t) {
                    (Some(list), Some(t)) => Some(has_tag(list, t)),
                    (None, Some(_)) => Some(false),
                    _ => None,
                })
                .collect();
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    ));
    ctx.register_udf(udf(
        "cl_period_start",
        vec![Int32, Utf8],
        Int32,
        Arc::new(|args: &[ColumnarValue]| {
            let g = granularity(&args[1], "cl_period_start")?;
            let days = ints(&args[0], rows_of(args))?;
            let out: Int32Array = map_days(&days, |d| period_start(d, g));
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    ));
    ctx.register_udf(udf(
        "cl_period_index",
        vec![Int32, Int64, Utf8],
        Int32,
        Arc::new(|args: &[ColumnarValue]| {
            let first = literal_int(&args[1], "cl_period_index")?;
            let g = granularity(&args[2], "cl_period_index")?;
            let days = ints(&args[0], rows_of(args))?;
            let out: Int32Array = map_days(&days, |d| period_index(d, first, g));
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    ));
    ctx.register_udf(udf(
        "cl_bounds_mask",
        vec![Int32, Utf8, Int64],
        Int64,
        Arc::new(|args: &[ColumnarValue]| {
            let bounds = parse_bounds(&args[1], "cl_bounds_mask")?;
            let window = literal_int(&args[2], "cl_bounds_mask")?;
            let days = ints(&args[0], rows_of(args))?;
            let out: Int64Array = map_days(&days, |d| bounds_mask(d, &bounds, window));
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    ));
    ctx.register_udf(udf(
        "cl_span_mask",
        vec![Int32, Int32, Utf8],
        Int64,
        Arc::new(|args: &[ColumnarValue]| {
            let bounds = parse_bounds(&args[2], "cl_span_mask")?;
            let rows = rows_of(args);
            let (from, to) = (ints(&args[0], rows)?, ints(&args[1], rows)?);
            let out: Int64Array = (0..rows)
                .map(|i| {
                    from.is_valid(i).then(|| {
                        span_mask(from.value(i), to.is_valid(i).then(|| to.value(i)), &bounds)
                    })
                })
                .collect();
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> i32 {
        day_of(NaiveDate::from_ymd_opt(y, m, d).unwrap())
    }

    #[test]
    fn tags_match_whole_words_without_case() {
        assert!(has_tag("sport;music", "music"));
        assert!(has_tag(" Sport ; music", "sport"));
        assert!(!has_tag("sports;music", "sport"));
        assert!(!has_tag("sport", ""));
        assert!(!has_tag("", "sport"));
    }

    #[test]
    fn tabulated_days_equal_days_worked_out_one_by_one() {
        let f = |d| period_start(d, Granularity::Month);
        let dense = Int32Array::from(vec![
            Some(19_000),
            None,
            Some(19_031),
            Some(19_000),
            Some(19_400),
        ]);
        let sparse = Int32Array::from(vec![Some(-100_000), Some(100_000)]);
        for days in [dense, sparse, Int32Array::from(Vec::<i32>::new())] {
            let want: Int32Array = days.iter().map(|d| d.map(f)).collect();
            assert_eq!(
                map_days::<datafusion::arrow::datatypes::Int32Type>(&days, f),
                want
            );
        }
    }

    #[test]
    fn period_starts_in_day_numbers() {
        assert_eq!(
            period_start(day(2024, 2, 29), Granularity::Month),
            day(2024, 2, 1)
        );
        assert_eq!(
            period_start(day(2024, 2, 29), Granularity::Week),
            day(2024, 2, 26)
        );
        assert_eq!(
            period_start(day(1969, 12, 31), Granularity::Year),
            day(1969, 1, 1)
        );
    }

    #[test]
    fn period_indexes_count_calendar_periods() {
        let first = day(2023, 12, 1);
        assert_eq!(period_index(day(2024, 2, 29), first, Granularity::Month), 2);
        assert_eq!(
            period_index(day(2023, 11, 30), first, Granularity::Month),
            -1
        );
        assert_eq!(
            period_index(day(2024, 3, 31), day(2023, 10, 1), Granularity::Quarter),
            1
        );
        assert_eq!(
            period_index(day(2024, 3, 4), day(2024, 2, 26), Granularity::Week),
            1
        );
        assert_eq!(
            period_index(day(2024, 2, 25), day(2024, 2, 26), Granularity::Week),
            -1
        );
        assert_eq!(
            period_index(day(2025, 1, 1), day(2024, 1, 1), Granularity::Year),
            1
        );
    }

    #[test]
    fn masks_mark_the_boundaries_in_reach() {
        let bounds = [100, 128, 159];
        assert_eq!(
            bounds_mask(100, &bounds, 30),
            0b011,
            "day 100 counts on 100 and 128"
        );
        assert_eq!(bounds_mask(130, &bounds, 30), 0b100);
        assert_eq!(
            bounds_mask(129, &bounds, 30),
            0b000,
            "159 - 30 < 129 is false"
        );
        assert_eq!(
            bounds_mask(70, &bounds, 30),
            0b000,
            "100 - 30 < day is false"
        );
        assert_eq!(
            span_mask(100, Some(128), &bounds),
            0b001,
            "ends on 128: not active then"
        );
        assert_eq!(span_mask(101, None, &bounds), 0b110);
    }
}
