//! What the engine's aggregate functions (`cl_day_set`, `cl_median_gap`, …)
//! share: each keeps its groups' data itself and passes it between
//! aggregation phases as one binary per group.

use datafusion::arrow::array::{Array, BooleanArray};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::Result;
use datafusion::logical_expr::function::StateFieldsArgs;
use std::sync::Arc;

/// The one binary state field of an aggregate, named after `what` it holds.
pub(crate) fn binary_state(args: &StateFieldsArgs, what: &str) -> Result<Vec<FieldRef>> {
    Ok(vec![Arc::new(Field::new(
        format!("{}[{what}]", args.name),
        DataType::Binary,
        true,
    ))])
}

/// Whether row `row` passes the aggregate's `FILTER (WHERE …)`, if any.
pub(crate) fn kept(filter: Option<&BooleanArray>, row: usize) -> bool {
    filter.is_none_or(|f| f.is_valid(row) && f.value(row))
}
