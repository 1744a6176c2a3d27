//! Aggregates over each group's list of days (a customer's order days),
//! kept per group and sorted once per group at the end, which is cheaper
//! than a window or a `(customer, day)` grouping that sorts or hashes every
//! order:
//!
//! - `cl_median_gap(day)`: the median of the gaps, in days, between the
//!   group's consecutive days, as `median(day − lag(day))` would give it.
//!   Same-day orders give gaps of 0, as with the window over order times.
//!   Fewer than two days: null. An even number of gaps: the mean of the two
//!   middle ones (as DataFusion's `median`).
//! - `cl_distinct_days(day)`: how many distinct days the group has (0 for
//!   none), as `COUNT(DISTINCT day)` but without a hash set per group.

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, BooleanArray, Float64Array, Int64Array,
};
use datafusion::arrow::datatypes::{DataType, FieldRef, Int32Type};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use std::sync::Arc;

/// The median gap between the sorted `days`, or `None` with fewer than two.
pub(crate) fn median_gap(days: &mut [i32]) -> Option<f64> {
    if days.len() < 2 {
        return None;
    }
    days.sort_unstable();
    let mut gaps: Vec<f64> = days.windows(2).map(|w| f64::from(w[1] - w[0])).collect();
    let n = gaps.len();
    gaps.sort_unstable_by(f64::total_cmp);
    Some(if n % 2 == 1 {
        gaps[n / 2]
    } else {
        (gaps[n / 2 - 1] + gaps[n / 2]) / 2.0
    })
}

/// How many distinct values `days` holds.
pub(crate) fn distinct_days(days: &mut [i32]) -> i64 {
    days.sort_unstable();
    let repeats = days.windows(2).filter(|w| w[0] == w[1]).count();
    (days.len() - repeats) as i64
}

/// What an aggregate makes of each group's days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum DaysFold {
    MedianGap,
    DistinctDays,
}

impl DaysFold {
    fn name(self) -> &'static str {
        match self {
            DaysFold::MedianGap => "cl_median_gap",
            DaysFold::DistinctDays => "cl_distinct_days",
        }
    }

    fn return_type(self) -> DataType {
        match self {
            DaysFold::MedianGap => DataType::Float64,
            DaysFold::DistinctDays => DataType::Int64,
        }
    }

    fn scalar(self, days: &mut [i32]) -> ScalarValue {
        match self {
            DaysFold::MedianGap => ScalarValue::Float64(median_gap(days)),
            DaysFold::DistinctDays => ScalarValue::Int64(Some(distinct_days(days))),
        }
    }

    fn array(self, groups: Vec<Vec<i32>>) -> ArrayRef {
        match self {
            DaysFold::MedianGap => Arc::new(
                groups
                    .into_iter()
                    .map(|mut d| median_gap(&mut d))
                    .collect::<Float64Array>(),
            ),
            DaysFold::DistinctDays => Arc::new(
                groups
                    .into_iter()
                    .map(|mut d| Some(distinct_days(&mut d)))
                    .collect::<Int64Array>(),
            ),
        }
    }
}

fn to_bytes(days: &[i32]) -> Vec<u8> {
    days.iter().flat_map(|d| d.to_le_bytes()).collect()
}

fn extend_from_bytes(days: &mut Vec<i32>, bytes: &[u8]) {
    days.extend(
        bytes
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes(c.try_into().expect("4 bytes"))),
    );
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct DaysAggregate {
    fold: DaysFold,
    signature: Signature,
}

impl AggregateUDFImpl for DaysAggregate {
    fn name(&self) -> &str {
        self.fold.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(self.fold.return_type())
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        crate::udaf::binary_state(&args, "days")
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(DaysAccumulator {
            fold: self.fold,
            days: Vec::new(),
        }))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        _args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(DaysGroups::new(self.fold)))
    }
}

/// One group's days.
#[derive(Debug)]
struct DaysAccumulator {
    fold: DaysFold,
    days: Vec<i32>,
}

impl Accumulator for DaysAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.days
            .extend(values[0].as_primitive::<Int32Type>().iter().flatten());
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        for bytes in states[0].as_binary::<i32>().iter().flatten() {
            extend_from_bytes(&mut self.days, bytes);
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::Binary(Some(to_bytes(&self.days)))])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(self.fold.scalar(&mut self.days))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.days.capacity() * 4
    }
}

/// Every group's days.
#[derive(Debug)]
struct DaysGroups {
    fold: DaysFold,
    days: Vec<Vec<i32>>,
    /// Days held in all groups: `size` is asked once per batch and must not
    /// walk every group.
    held: usize,
}

impl DaysGroups {
    fn new(fold: DaysFold) -> DaysGroups {
        DaysGroups {
            fold,
            days: Vec::new(),
            held: 0,
        }
    }

    fn take(&mut self, emit_to: EmitTo) -> Vec<Vec<i32>> {
        let taken = emit_to.take_needed(&mut self.days);
        self.held -= taken.iter().map(Vec::len).sum::<usize>();
        taken
    }
}

impl GroupsAccumulator for DaysGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.days.resize_with(total_num_groups, Vec::new);
        let days = values[0].as_primitive::<Int32Type>();
        for (row, &g) in group_indices.iter().enumerate() {
            let kept = crate::udaf::kept(opt_filter, row);
            if kept && days.is_valid(row) {
                self.days[g].push(days.value(row));
                self.held += 1;
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let groups = self.take(emit_to);
        Ok(self.fold.array(groups))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let groups = self.take(emit_to);
        let mut b = BinaryBuilder::with_capacity(groups.len(), 0);
        for d in &groups {
            b.append_value(to_bytes(d));
        }
        Ok(vec![Arc::new(b.finish())])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.days.resize_with(total_num_groups, Vec::new);
        let states = values[0].as_binary::<i32>();
        for (row, &g) in group_indices.iter().enumerate() {
            if states.is_valid(row) {
                let bytes = states.value(row);
                extend_from_bytes(&mut self.days[g], bytes);
                self.held += bytes.len() / 4;
            }
        }
        Ok(())
    }

    /// Each row as its own group's state: its one day.
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let days = values[0].as_primitive::<Int32Type>();
        let mut b = BinaryBuilder::with_capacity(days.len(), days.len() * 4);
        for row in 0..days.len() {
            let kept = crate::udaf::kept(opt_filter, row);
            if kept && days.is_valid(row) {
                b.append_value(days.value(row).to_le_bytes());
            } else {
                b.append_value([]);
            }
        }
        Ok(vec![Arc::new(b.finish())])
    }

    fn size(&self) -> usize {
        // Vectors grow by doubling: about 1.5 × the days held, on average.
        std::mem::size_of_val(self)
            + self.days.capacity() * std::mem::size_of::<Vec<i32>>()
            + self.held * 6
    }
}

/// Registers `cl_median_gap` and `cl_distinct_days`.
pub(crate) fn register(ctx: &SessionContext) {
    for fold in [DaysFold::MedianGap, DaysFold::DistinctDays] {
        ctx.register_udaf(AggregateUDF::from(DaysAggregate {
            fold,
            signature: Signature::exact(vec![DataType::Int32], Volatility::Immutable),
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_the_gaps_between_sorted_days() {
        // Gaps 10 and 20 → 15; same-day orders give a gap of 0.
        assert_eq!(median_gap(&mut [30, 0, 10]), Some(15.0));
        assert_eq!(median_gap(&mut [5, 5, 9, 100]), Some(4.0));
        assert_eq!(median_gap(&mut [1, 4]), Some(3.0));
        assert_eq!(median_gap(&mut [7]), None);
        assert_eq!(median_gap(&mut []), None);
    }

    #[test]
    fn distinct_days_count_each_day_once() {
        assert_eq!(distinct_days(&mut [3, 1, 3, 2, 1]), 3);
        assert_eq!(distinct_days(&mut [7]), 1);
        assert_eq!(distinct_days(&mut []), 0);
    }

    #[test]
    fn groups_merge_their_states_and_emit_in_order() {
        let median_of = |g: &mut DaysGroups| -> Vec<f64> {
            let out = g.evaluate(EmitTo::All).unwrap();
            let out = out.as_primitive::<datafusion::arrow::datatypes::Float64Type>();
            out.values().to_vec()
        };
        let days: ArrayRef = Arc::new(datafusion::arrow::array::Int32Array::from(vec![
            0, 100, 10, 30, 130,
        ]));
        // Group 0: 0 10 30 → gaps 10 20 → 15; group 1: 100 130 → 30.
        let groups = [0, 1, 0, 0, 1];
        let mut a = DaysGroups::new(DaysFold::MedianGap);
        a.update_batch(std::slice::from_ref(&days), &groups, None, 2)
            .unwrap();
        let state = a.state(EmitTo::All).unwrap();
        let mut b = DaysGroups::new(DaysFold::MedianGap);
        b.merge_batch(&state, &[0, 1], 2).unwrap();
        assert_eq!(median_of(&mut b), [15.0, 30.0]);
        // Rows turned into states one by one merge to the same.
        let mut c = DaysGroups::new(DaysFold::MedianGap);
        let rows = c.convert_to_state(&[days], None).unwrap();
        c.merge_batch(&rows, &groups, 2).unwrap();
        assert_eq!(median_of(&mut c), [15.0, 30.0]);
    }
}
