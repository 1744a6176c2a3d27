//! What the engine's aggregate functions (`cl_day_set`, `cl_median_gap`, …)
//! share: each keeps its groups' data itself and passes it between
//! aggregation phases as one binary per group.

use datafusion::arrow::array::{Array, BooleanArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::physical_expr::expressions::Literal;
use std::sync::Arc;

/// The one binary state field of an aggregate, named after `what` it holds.
pub(crate) fn binary_state(args: &StateFieldsArgs, what: &str) -> Result<Vec<FieldRef>> {
    Ok(vec![Arc::new(Field::new(
        format!("{}[{what}]", args.name),
        DataType::Binary,
        true,
    ))])
}

/// Argument `i` of an aggregate call when it is a literal.
pub(crate) fn literal(args: &AccumulatorArgs, i: usize) -> Option<ScalarValue> {
    args.exprs
        .get(i)
        .and_then(|e| (e.as_ref() as &dyn std::any::Any).downcast_ref::<Literal>())
        .map(|l| l.value().clone())
}

/// Argument `i` of an aggregate call when it is an integer literal.
pub(crate) fn int_literal(args: &AccumulatorArgs, i: usize) -> Option<i64> {
    match literal(args, i)? {
        ScalarValue::Int64(Some(v)) => Some(v),
        ScalarValue::Int32(Some(v)) => Some(v.into()),
        _ => None,
    }
}

/// Whether row `row` passes the aggregate's `FILTER (WHERE …)`, if any.
pub(crate) fn kept(filter: Option<&BooleanArray>, row: usize) -> bool {
    filter.is_none_or(|f| f.is_valid(row) && f.value(row))
}
