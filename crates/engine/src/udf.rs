//! Scalar functions the plans call by name. Their parameters are literal
//! arguments (never hidden state) so a Ballista executor can run them.

use chrono::{Duration, NaiveDate};
use clientela_core::Granularity;
use datafusion::arrow::array::Int32Array;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{exec_err, ScalarValue};
use datafusion::logical_expr::{create_udf, ColumnarValue, Volatility};
use datafusion::prelude::SessionContext;
use std::sync::Arc;

/// Day 0 of the local day numbering.
fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")
}

/// First day of the period containing `day` (both as days since 1970-01-01).
pub(crate) fn period_start(day: i32, g: Granularity) -> i32 {
    let date = epoch() + Duration::days(day as i64);
    (g.start_of(date) - epoch()).num_days() as i32
}

/// `cl_period_start(day INT, granularity VARCHAR literal) -> INT`.
pub(crate) fn register(ctx: &SessionContext) {
    let f = create_udf(
        "cl_period_start",
        vec![DataType::Int32, DataType::Utf8],
        DataType::Int32,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let g: Granularity = match &args[1] {
                ColumnarValue::Scalar(ScalarValue::Utf8(Some(s))) => match s.parse() {
                    Ok(g) => g,
                    Err(e) => return exec_err!("cl_period_start: {e}"),
                },
                _ => return exec_err!("cl_period_start: the granularity must be a literal"),
            };
            match &args[0] {
                ColumnarValue::Scalar(ScalarValue::Int32(d)) => Ok(ColumnarValue::Scalar(
                    ScalarValue::Int32(d.map(|d| period_start(d, g))),
                )),
                ColumnarValue::Array(a) => {
                    let days = a
                        .as_any()
                        .downcast_ref::<Int32Array>()
                        .expect("Int32 by signature");
                    let out: Int32Array =
                        days.iter().map(|d| d.map(|d| period_start(d, g))).collect();
                    Ok(ColumnarValue::Array(Arc::new(out)))
                }
                _ => exec_err!("cl_period_start: expected an INT day"),
            }
        }),
    );
    ctx.register_udf(f);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_starts_in_day_numbers() {
        let day = |y, m, d| (NaiveDate::from_ymd_opt(y, m, d).unwrap() - epoch()).num_days() as i32;
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
}
