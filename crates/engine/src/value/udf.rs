//! Scoring functions the plans call by name, each taking its fitted model
//! as a literal (see [`super::model`]):
//! - `cl_p_alive(x, t_x, T, 'model')`;
//! - `cl_expected_purchases(x, t_x, T, days, 'model')`;
//! - `cl_expected_spend(x, mean_repeat_value, 'gg:…')`;
//! - `cl_clv(x, t_x, T, mean_repeat_value, 'model', 'gg:…', 'months,discount,margin')`:
//!   discounted CLV in the money's minor units (lifetimes' monthly steps of
//!   30 days);
//! - `cl_purchases_if_alive(x, T, days, 'model')` and
//!   `cl_clv_if_alive(x, T, 'model', 'months,discount,margin')`: the parts
//!   of `cl_expected_purchases` and `cl_clv` that do not depend on t_x
//!   (expected purchases, and discounted purchases times margin, of a
//!   customer still alive). Multiplied by `cl_p_alive` (and the expected
//!   spend) they give the same numbers; a plan computes them once per
//!   distinct (x, T), which many customers share, instead of once per
//!   customer.

use super::model::{parse_spend, PurchaseSpec};
use crate::udf::rows_of;
use clientela_models::{
    customer_lifetime_value, discounted_purchases_if_alive, ClvOptions, CustomerSummary,
    GammaGammaParams,
};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array};
use datafusion::arrow::datatypes::{DataType, Float64Type};
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::{create_udf, ColumnarValue, Volatility};
use datafusion::prelude::SessionContext;
use std::sync::Arc;

fn literal<'a>(v: &'a ColumnarValue, f: &str) -> Result<&'a str> {
    match v {
        ColumnarValue::Scalar(ScalarValue::Utf8(Some(s))) => Ok(s),
        _ => exec_err!("{f}: the model must be a text literal"),
    }
}

fn purchase_spec(v: &ColumnarValue, f: &str) -> Result<PurchaseSpec> {
    let text = literal(v, f)?;
    match PurchaseSpec::parse(text) {
        Some(s) => Ok(s),
        None => exec_err!(
            "{f}: {text:?} is not a fitted model ('bgnbd:r,alpha,a,b', 'mbgnbd:…', 'pareto:r,alpha,s,beta')"
        ),
    }
}

fn spend_spec(v: &ColumnarValue, f: &str) -> Result<GammaGammaParams> {
    let text = literal(v, f)?;
    match parse_spend(text) {
        Some(g) => Ok(g),
        None => exec_err!("{f}: {text:?} is not a fitted spend model ('gg:p,q,gamma')"),
    }
}

/// `'months,discount,margin'` of `cl_clv`, checked.
fn clv_options(v: &ColumnarValue) -> Result<ClvOptions> {
    let text = literal(v, "cl_clv")?;
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let parsed = match parts.as_slice() {
        [months, discount, margin] => months
            .parse::<u32>()
            .ok()
            .zip(discount.parse::<f64>().ok())
            .zip(margin.parse::<f64>().ok()),
        _ => None,
    };
    let Some(((horizon_months, monthly_discount_rate), margin)) = parsed else {
        return exec_err!("cl_clv: expected 'months,monthly discount,margin', got {text:?}");
    };
    let options = ClvOptions {
        horizon_months,
        monthly_discount_rate,
        margin,
        time_units_per_month: 30.0,
    };
    match options.validate() {
        Ok(()) => Ok(options),
        Err(e) => exec_err!("cl_clv: {e}"),
    }
}

fn floats(v: &ColumnarValue, rows: usize) -> Result<Float64Array> {
    let a: ArrayRef = v.to_array(rows)?;
    let a = datafusion::arrow::compute::cast(&a, &DataType::Float64)?;
    Ok(a.as_primitive::<Float64Type>().clone())
}

/// Applies `score(row, summary)` to the rows of (x, t_x, T) where all
/// three are present; null elsewhere.
fn score_summaries(
    args: &[ColumnarValue],
    score: impl Fn(usize, &CustomerSummary) -> f64,
) -> Result<ColumnarValue> {
    let rows = rows_of(args);
    let (x, tx, t) = (
        floats(&args[0], rows)?,
        floats(&args[1], rows)?,
        floats(&args[2], rows)?,
    );
    let out: Float64Array = (0..rows)
        .map(|i| {
            let valid = x.is_valid(i) && tx.is_valid(i) && t.is_valid(i);
            valid.then(|| {
                score(
                    i,
                    &CustomerSummary::new(x.value(i), tx.value(i), t.value(i)),
                )
            })
        })
        .collect();
    Ok(ColumnarValue::Array(Arc::new(out)))
}

/// A horizon in days given as a literal ≥ 0.
fn horizon_days(v: &ColumnarValue, f: &str) -> Result<f64> {
    match v {
        ColumnarValue::Scalar(s) => match s.cast_to(&DataType::Float64)? {
            ScalarValue::Float64(Some(h)) if h >= 0.0 => Ok(h),
            _ => exec_err!("{f}: horizon must be a number of days ≥ 0"),
        },
        _ => exec_err!("{f}: the horizon must be a literal"),
    }
}

/// Applies `score(summary)` to the rows of (x, T) where both are present;
/// null elsewhere. t_x does not enter these quantities: T stands in for it.
fn score_frequency_age(
    args: &[ColumnarValue],
    score: impl Fn(&CustomerSummary) -> f64,
) -> Result<ColumnarValue> {
    let (x, t) = (args[0].clone(), args[1].clone());
    score_summaries(&[x, t.clone(), t], |_, c| score(c))
}

/// Registers the scoring functions.
pub(crate) fn register(ctx: &SessionContext) {
    use DataType::{Float64, Utf8};
    ctx.register_udf(create_udf(
        "cl_p_alive",
        vec![Float64, Float64, Float64, Utf8],
        Float64,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let spec = purchase_spec(&args[3], "cl_p_alive")?;
            score_summaries(args, |_, c| spec.model().p_alive(c))
        }),
    ));
    ctx.register_udf(create_udf(
        "cl_expected_purchases",
        vec![Float64, Float64, Float64, Float64, Utf8],
        Float64,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let spec = purchase_spec(&args[4], "cl_expected_purchases")?;
            let horizon = horizon_days(&args[3], "cl_expected_purchases")?;
            score_summaries(args, |_, c| spec.model().expected_purchases(horizon, c))
        }),
    ));
    ctx.register_udf(create_udf(
        "cl_expected_spend",
        vec![Float64, Float64, Utf8],
        Float64,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let g = spend_spec(&args[2], "cl_expected_spend")?;
            let rows = rows_of(args);
            let (x, m) = (floats(&args[0], rows)?, floats(&args[1], rows)?);
            // A one-time buyer has no repeat mean: the population mean applies (x = 0).
            let out: Float64Array = x
                .iter()
                .zip(m.iter())
                .map(|(x, m)| {
                    let x = x?;
                    Some(g.expected_average_spend(x, m.unwrap_or(0.0)))
                })
                .collect();
            Ok(ColumnarValue::Array(Arc::new(out)))
        }),
    ));
    ctx.register_udf(create_udf(
        "cl_purchases_if_alive",
        vec![Float64, Float64, Float64, Utf8],
        Float64,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let spec = purchase_spec(&args[3], "cl_purchases_if_alive")?;
            let horizon = horizon_days(&args[2], "cl_purchases_if_alive")?;
            score_frequency_age(args, |c| {
                spec.model().expected_purchases_if_alive(horizon, c)
            })
        }),
    ));
    ctx.register_udf(create_udf(
        "cl_clv_if_alive",
        vec![Float64, Float64, Utf8, Utf8],
        Float64,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let spec = purchase_spec(&args[2], "cl_clv_if_alive")?;
            let options = clv_options(&args[3])?;
            score_frequency_age(args, |c| {
                discounted_purchases_if_alive(spec.model(), c, &options)
            })
        }),
    ));
    ctx.register_udf(create_udf(
        "cl_clv",
        vec![Float64, Float64, Float64, Float64, Utf8, Utf8, Utf8],
        Float64,
        Volatility::Immutable,
        Arc::new(|args: &[ColumnarValue]| {
            let spec = purchase_spec(&args[4], "cl_clv")?;
            let g = spend_spec(&args[5], "cl_clv")?;
            let options = clv_options(&args[6])?;
            let rows = rows_of(args);
            let m = floats(&args[3], rows)?;
            let model = spec.model();
            // A one-time buyer has no repeat mean: Gamma-Gamma gives the
            // population mean at x = 0 whatever the value.
            score_summaries(args, |i, c| {
                let mean = if m.is_valid(i) { m.value(i) } else { 0.0 };
                let spend = g.expected_average_spend(c.frequency, mean);
                customer_lifetime_value(model, c, spend, &options)
            })
        }),
    ));
}
