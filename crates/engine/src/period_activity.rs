//! Engagement sums of many periods from the customers' day sets, in one
//! aggregate.
//!
//! `cl_period_activity(set, from, 'starts', 'ends', width, repeat_min)`
//! reads each customer's active-day set (`cl_day_set` over days from
//! `from`, see `day_set.rs`) once and adds up, per period i of
//! `[starts[i], ends[i])` (comma-separated day numbers):
//! - word 4i: the customer's active days in the period (DAU summed over its days);
//! - word 4i+1: the days t of the period with an active day in
//!   `(t − width, t]` (WAU summed over its days);
//! - word 4i+2: 1 if the customer was active in the period;
//! - word 4i+3: 1 if on at least `repeat_min` days (a repeat visitor).
//!
//! The result is a binary of little-endian 64-bit words, read with
//! `cl_word(result, k)`. One pass over the sets replaces two scalar calls
//! per customer and period and four sums per period (at 36 periods, 72
//! columns of a million rows each). Every parameter is a literal argument,
//! so the function runs unchanged on a Ballista executor.

use crate::day_set::{dilate, ones, read_words};
use crate::udaf::{int_literal, literal};
use datafusion::arrow::array::{ArrayRef, AsArray, Int64Array};
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use std::sync::Arc;

/// Words per period in the result.
pub(crate) const WORDS_PER_PERIOD: usize = 4;

/// What a call sums over: the literal arguments.
#[derive(Debug, Clone)]
struct Periods {
    from: i64,
    starts: Vec<i64>,
    ends: Vec<i64>,
    width: i64,
    repeat_min: i32,
}

/// A comma-separated list of day numbers.
fn day_list(v: Option<ScalarValue>) -> Option<Vec<i64>> {
    match v {
        Some(ScalarValue::Utf8(Some(s))) => s
            .split(',')
            .map(|d| d.trim().parse().ok())
            .collect::<Option<Vec<i64>>>(),
        _ => None,
    }
}

impl Periods {
    fn from_args(args: &AccumulatorArgs) -> Result<Periods> {
        let parsed = (|| {
            Some(Periods {
                from: int_literal(args, 1)?,
                starts: day_list(literal(args, 2))?,
                ends: day_list(literal(args, 3))?,
                width: int_literal(args, 4)?,
                repeat_min: i32::try_from(int_literal(args, 5)?).ok()?,
            })
        })();
        match parsed {
            Some(p) if p.starts.len() == p.ends.len() && p.width > 0 => Ok(p),
            _ => exec_err!(
                "cl_period_activity(set, from, 'starts', 'ends', width, repeat_min): \
                 every argument but the set must be a literal, the day lists of equal length"
            ),
        }
    }

    /// Adds one customer's set to `sums`; `scratch` holds the set's words
    /// and their dilation between calls.
    fn add(&self, set: &[u8], sums: &mut [i64], scratch: &mut Scratch) {
        read_words(set, &mut scratch.days);
        // Periods outside the customer's first active day to the end of the
        // window after their last one add nothing: most customers are
        // active in a few of the periods.
        let Some((first, last)) = bounds(&scratch.days) else {
            return;
        };
        // An active day just before a period covers its first days.
        dilate(&scratch.days, self.width, &mut scratch.covered);
        for (i, (&lo, &hi)) in self.starts.iter().zip(&self.ends).enumerate() {
            let (lo, hi) = (lo - self.from, hi - self.from);
            if hi <= first || lo >= last + self.width {
                continue;
            }
            let days = ones(&scratch.days, lo, hi);
            let w = &mut sums[i * WORDS_PER_PERIOD..(i + 1) * WORDS_PER_PERIOD];
            w[0] += i64::from(days);
            w[1] += i64::from(ones(&scratch.covered, lo, hi));
            w[2] += i64::from(days > 0);
            w[3] += i64::from(days >= self.repeat_min);
        }
    }
}

/// Offsets of the first and the last set bit of `words` (none if empty).
fn bounds(words: &[u64]) -> Option<(i64, i64)> {
    let first = words.iter().position(|&w| w != 0)?;
    let last = words.iter().rposition(|&w| w != 0)?;
    Some((
        first as i64 * 64 + i64::from(words[first].trailing_zeros()),
        last as i64 * 64 + 63 - i64::from(words[last].leading_zeros()),
    ))
}

/// Buffers reused from customer to customer: a set's words and the days
/// its trailing windows cover.
#[derive(Debug, Default)]
struct Scratch {
    days: Vec<u64>,
    covered: Vec<u64>,
}

/// Words as a binary of little-endian 64-bit words.
pub(crate) fn to_bytes(sums: &[i64]) -> Vec<u8> {
    sums.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// Adds every partial result of `states` (binaries of words) to `sums`,
/// word by word.
pub(crate) fn add_states(sums: &mut [i64], states: &ArrayRef) {
    for bytes in states.as_binary::<i32>().iter().flatten() {
        for (k, s) in sums.iter_mut().enumerate() {
            *s += word(bytes, k);
        }
    }
}

/// Word `k` of a result (0 past its end).
pub(crate) fn word(bytes: &[u8], k: usize) -> i64 {
    bytes
        .get(k * 8..k * 8 + 8)
        .map_or(0, |c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct PeriodActivity {
    signature: Signature,
}

impl AggregateUDFImpl for PeriodActivity {
    fn name(&self) -> &str {
        "cl_period_activity"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Binary)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        crate::udaf::binary_state(&args, "sums")
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let periods = Periods::from_args(&args)?;
        Ok(Box::new(PeriodActivityAccumulator {
            sums: vec![0; periods.starts.len() * WORDS_PER_PERIOD],
            periods,
            scratch: Scratch::default(),
        }))
    }
}

/// One group's sums (the groups are the few segments of a report).
#[derive(Debug)]
struct PeriodActivityAccumulator {
    periods: Periods,
    sums: Vec<i64>,
    scratch: Scratch,
}

impl Accumulator for PeriodActivityAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        for set in values[0].as_binary::<i32>().iter().flatten() {
            self.periods.add(set, &mut self.sums, &mut self.scratch);
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        add_states(&mut self.sums, &states[0]);
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.evaluate()?])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Binary(Some(to_bytes(&self.sums))))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self.sums.capacity() * 8
            + (self.periods.starts.capacity() + self.periods.ends.capacity()) * 8
            + (self.scratch.days.capacity() + self.scratch.covered.capacity()) * 8
    }
}

/// `cl_word(blob, k)`: 64-bit word `k` of a `cl_period_activity` result.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Word {
    signature: Signature,
}

impl ScalarUDFImpl for Word {
    fn name(&self) -> &str {
        "cl_word"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = crate::udf::rows_of(&args.args);
        let blobs = args.args[0].to_array(rows)?;
        let ks = args.args[1].to_array(rows)?;
        let ks = ks.as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        let out: Int64Array = blobs
            .as_binary::<i32>()
            .iter()
            .zip(ks.iter())
            .map(|(b, k)| match (b, k) {
                (Some(b), Some(k)) if k >= 0 => Some(word(b, k as usize)),
                _ => None,
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// Registers `cl_period_activity` and `cl_word`.
pub(crate) fn register(ctx: &SessionContext) {
    use DataType::{Binary, Int64, Utf8};
    ctx.register_udaf(AggregateUDF::from(PeriodActivity {
        signature: Signature::exact(
            vec![Binary, Int64, Utf8, Utf8, Int64, Int64],
            Volatility::Immutable,
        ),
    }));
    ctx.register_udf(ScalarUDF::from(Word {
        signature: Signature::exact(vec![Binary, Int64], Volatility::Immutable),
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A serialised set of `days` (offsets from `from`).
    fn set(days: &[i64]) -> Vec<u8> {
        let mut words = [0u64; 2];
        for d in days {
            words[(*d / 64) as usize] |= 1 << (d % 64);
        }
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn bounds_are_the_first_and_last_set_days() {
        assert_eq!(bounds(&[0, 0]), None);
        assert_eq!(bounds(&[0b100, 0]), Some((2, 2)));
        assert_eq!(bounds(&[0, 1 << 63]), Some((127, 127)));
        assert_eq!(bounds(&[1, 0, 0b10]), Some((0, 129)));
    }

    #[test]
    fn sums_per_period_add_up_the_customers_by_hand() {
        // Two periods of 10 days from day 100; WAU window 3 days.
        let periods = Periods {
            from: 100,
            starts: vec![100, 110],
            ends: vec![110, 120],
            width: 3,
            repeat_min: 2,
        };
        let mut sums = vec![0; 8];
        let mut scratch = Scratch::default();
        // Customer a: days 101 and 109 → period 0: 2 days, covers 101–103
        // and 109 (110 is outside) = 4 days, a repeat visitor; period 1: no
        // active day, but day 109's window covers 110 and 111.
        periods.add(&set(&[1, 9]), &mut sums, &mut scratch);
        // Customer b: day 115 → period 1: 1 day, covers 115–117 = 3.
        periods.add(&set(&[15]), &mut sums, &mut scratch);
        assert_eq!(sums, vec![2, 4, 1, 1, 1, 2 + 3, 1, 0]);
        let bytes = to_bytes(&sums);
        assert_eq!((0..8).map(|k| word(&bytes, k)).collect::<Vec<_>>(), sums);
        assert_eq!(word(&bytes, 8), 0);
    }
}
