//! Per-bit counts of 64-bit masks, in one aggregate.
//!
//! `cl_bit_counts(mask)` counts over its group, for each bit i of 0..64:
//! - word i: the masks with bit i set;
//! - word 64 + i: the masks whose highest set bit is i or above.
//!
//! The result is a binary of little-endian 64-bit words, read with
//! `cl_word(result, k)` (`period_activity.rs`). With a customer's periods
//! with a paid order as a mask (bit i: trend period i), this gives a cohort's
//! active customers at each period and those active then or later, from one
//! row per customer instead of a row per customer and period.

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::{DataType, FieldRef, Int64Type};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

/// Bits of a mask (the highest-bit counts start at word `BITS`).
pub(crate) const BITS: usize = 64;

/// Adds one mask to `counts` (2 × [`BITS`] words).
fn add(mask: i64, counts: &mut [i64]) {
    let mask = mask as u64;
    if mask == 0 {
        return;
    }
    let mut rest = mask;
    while rest != 0 {
        counts[rest.trailing_zeros() as usize] += 1;
        rest &= rest - 1;
    }
    let highest = BITS - 1 - mask.leading_zeros() as usize;
    for c in &mut counts[BITS..=BITS + highest] {
        *c += 1;
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct BitCounts {
    signature: Signature,
}

impl AggregateUDFImpl for BitCounts {
    fn name(&self) -> &str {
        "cl_bit_counts"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Binary)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        crate::udaf::binary_state(&args, "counts")
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(BitCountsAccumulator {
            counts: vec![0; 2 * BITS],
        }))
    }
}

/// One group's counts.
#[derive(Debug)]
struct BitCountsAccumulator {
    counts: Vec<i64>,
}

impl Accumulator for BitCountsAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        for mask in values[0].as_primitive::<Int64Type>().iter().flatten() {
            add(mask, &mut self.counts);
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        crate::period_activity::add_states(&mut self.counts, &states[0]);
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.evaluate()?])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Binary(Some(crate::period_activity::to_bytes(
            &self.counts,
        ))))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.counts.capacity() * 8
    }
}

/// Registers `cl_bit_counts`.
pub(crate) fn register(ctx: &SessionContext) {
    ctx.register_udaf(AggregateUDF::from(BitCounts {
        signature: Signature::exact(vec![DataType::Int64], Volatility::Immutable),
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bit_and_highest_bit_counts_by_hand() {
        let mut counts = vec![0; 2 * BITS];
        add(0b101, &mut counts); // bits 0 and 2; highest 2
        add(0b010, &mut counts); // bit 1; highest 1
        add(0, &mut counts); // no bit: counted nowhere
        add(i64::MIN, &mut counts); // bit 63 alone
        assert_eq!(&counts[..4], &[1, 1, 1, 0]);
        assert_eq!(counts[63], 1);
        // Highest bit ≥ i: bits 0 and 1 → 3 masks, bit 2 → 2, 3…63 → 1.
        assert_eq!(&counts[BITS..BITS + 4], &[3, 3, 2, 1]);
        assert_eq!(counts[2 * BITS - 1], 1);
    }
}
