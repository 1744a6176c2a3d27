//! `cl_first_day_total(day, amount)`: the sum of `amount` over the group's
//! earliest `day` (a customer's first purchase day's value), null for a
//! group without rows. The purchase summary subtracts it from the total to
//! get the value of the repeat purchase days, in the same aggregation by
//! customer as the other summary columns instead of a grouping by
//! (customer, day) first.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int32Array, Int64Array};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int32Type, Int64Type};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use std::sync::Arc;

/// "No day yet": larger than any day.
const NO_DAY: i32 = i32::MAX;

/// A group's earliest day and the total on it.
#[derive(Debug, Clone, Copy)]
struct FirstDay {
    day: i32,
    total: i64,
}

impl FirstDay {
    const EMPTY: FirstDay = FirstDay {
        day: NO_DAY,
        total: 0,
    };

    /// Adds `amount` on `day` (also a merged state's earliest day and total).
    fn add(&mut self, day: i32, amount: i64) {
        if day < self.day {
            *self = FirstDay { day, total: amount };
        } else if day == self.day {
            self.total = self.total.wrapping_add(amount);
        }
    }

    fn value(self) -> Option<i64> {
        (self.day != NO_DAY).then_some(self.total)
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct FirstDayTotal {
    signature: Signature,
}

impl AggregateUDFImpl for FirstDayTotal {
    fn name(&self) -> &str {
        "cl_first_day_total"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format!("{}[day]", args.name),
                DataType::Int32,
                true,
            )),
            Arc::new(Field::new(
                format!("{}[total]", args.name),
                DataType::Int64,
                true,
            )),
        ])
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(OneGroup(FirstDay::EMPTY)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        _args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(Groups(Vec::new())))
    }
}

/// Adds every valid (day, amount) row of two columns to `add`.
fn each_row(days: &ArrayRef, amounts: &ArrayRef, mut add: impl FnMut(usize, i32, i64)) {
    let (days, amounts) = (
        days.as_primitive::<Int32Type>(),
        amounts.as_primitive::<Int64Type>(),
    );
    for row in 0..days.len() {
        if days.is_valid(row) && amounts.is_valid(row) {
            add(row, days.value(row), amounts.value(row));
        }
    }
}

/// One group's state, for plans without a grouping.
#[derive(Debug)]
struct OneGroup(FirstDay);

impl Accumulator for OneGroup {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        each_row(&values[0], &values[1], |_, d, a| self.0.add(d, a));
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.update_batch(states)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let f = self.0;
        let day = (f.day != NO_DAY).then_some(f.day);
        Ok(vec![
            ScalarValue::Int32(day),
            ScalarValue::Int64(day.map(|_| f.total)),
        ])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Int64(self.0.value()))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }
}

/// Every group's state.
#[derive(Debug)]
struct Groups(Vec<FirstDay>);

impl Groups {
    fn add_rows(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) {
        self.0.resize(total_num_groups, FirstDay::EMPTY);
        let groups = &mut self.0;
        each_row(&values[0], &values[1], |row, d, a| {
            if crate::udaf::kept(opt_filter, row) {
                groups[group_indices[row]].add(d, a);
            }
        });
    }
}

impl GroupsAccumulator for Groups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.add_rows(values, group_indices, opt_filter, total_num_groups);
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let out: Int64Array = emit_to
            .take_needed(&mut self.0)
            .into_iter()
            .map(FirstDay::value)
            .collect();
        Ok(Arc::new(out))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let groups = emit_to.take_needed(&mut self.0);
        let days: Int32Array = groups
            .iter()
            .map(|f| (f.day != NO_DAY).then_some(f.day))
            .collect();
        let totals: Int64Array = groups
            .iter()
            .map(|f| (f.day != NO_DAY).then_some(f.total))
            .collect();
        Ok(vec![Arc::new(days), Arc::new(totals)])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        // A state is an (earliest day, total) pair: it adds like a row.
        self.add_rows(values, group_indices, None, total_num_groups);
        Ok(())
    }

    /// Each row as its own group's state: its day and amount (null when
    /// filtered out).
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let n = values[0].len();
        let mut days: Vec<Option<i32>> = vec![None; n];
        let mut totals: Vec<Option<i64>> = vec![None; n];
        each_row(&values[0], &values[1], |row, d, a| {
            if crate::udaf::kept(opt_filter, row) {
                days[row] = Some(d);
                totals[row] = Some(a);
            }
        });
        Ok(vec![
            Arc::new(Int32Array::from(days)),
            Arc::new(Int64Array::from(totals)),
        ])
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.0.capacity() * std::mem::size_of::<FirstDay>()
    }
}

/// Registers `cl_first_day_total`.
pub(crate) fn register(ctx: &SessionContext) {
    ctx.register_udaf(AggregateUDF::from(FirstDayTotal {
        signature: Signature::exact(
            vec![DataType::Int32, DataType::Int64],
            Volatility::Immutable,
        ),
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(days: Vec<i32>, amounts: Vec<i64>) -> Vec<ArrayRef> {
        vec![
            Arc::new(Int32Array::from(days)),
            Arc::new(Int64Array::from(amounts)),
        ]
    }

    fn totals(g: &mut Groups) -> Vec<Option<i64>> {
        let out = g.evaluate(EmitTo::All).unwrap();
        out.as_primitive::<Int64Type>().iter().collect()
    }

    #[test]
    fn total_of_the_earliest_day_in_any_order() {
        // Group 0: days 5, 3, 3, 9 → day 3 totals 10 + 20; group 1: one
        // row; group 2: no row → null.
        let values = columns(vec![5, 3, 9, 3, 40], vec![1, 10, 100, 20, 7]);
        let groups = [0, 0, 0, 0, 1];
        let mut g = Groups(Vec::new());
        g.update_batch(&values, &groups, None, 3).unwrap();
        assert_eq!(totals(&mut g), [Some(30), Some(7), None]);
    }

    #[test]
    fn filtered_rows_and_states_merge_to_the_same() {
        let values = columns(vec![5, 3, 9, 3], vec![1, 10, 100, 20]);
        let groups = [0, 0, 1, 1];
        // The filter drops the second row: group 0 keeps day 5 alone.
        let filter = BooleanArray::from(vec![true, false, true, true]);
        let mut a = Groups(Vec::new());
        a.update_batch(&values, &groups, Some(&filter), 2).unwrap();
        let state = a.state(EmitTo::All).unwrap();
        let mut b = Groups(Vec::new());
        b.merge_batch(&state, &[0, 1], 2).unwrap();
        assert_eq!(totals(&mut b), [Some(1), Some(20)]);
        // Rows turned into states one by one merge to the same.
        let mut c = Groups(Vec::new());
        let rows = c.convert_to_state(&values, Some(&filter)).unwrap();
        c.merge_batch(&rows, &groups, 2).unwrap();
        assert_eq!(totals(&mut c), [Some(1), Some(20)]);
    }
}
