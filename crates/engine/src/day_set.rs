//! Sets of active days per customer, for engagement over many days without
//! a row per customer and day.
//!
//! `cl_day_set(day, from, days)` is an aggregate: the days of its group in
//! `[from, from + days)` as a bit set (bit i = day `from + i`), a binary of
//! little-endian 64-bit words. `cl_day_count(set, from, lo, hi)` counts the
//! set's days in `[lo, hi)`; [`dilate`] marks the days t with a set day in
//! `(t − width, t]` (days on which the customer is in a trailing window of
//! `width` days, e.g. WAU's 7), for `cl_period_activity`
//! (`period_activity.rs`). A customer's set is a few dozen bytes where the rows it
//! replaces (one per active day, then sorted per customer for the trailing
//! windows) cost a hash aggregation and a sort of millions of rows.
//!
//! `from` and `days` are literal arguments, not hidden state, so the
//! functions run unchanged on a Ballista executor.

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BinaryBuilder, BooleanArray, Int32Array,
};
use datafusion::arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use datafusion::arrow::datatypes::{DataType, FieldRef, Int32Type, Int64Type};
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, EmitTo, GroupsAccumulator,
    Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use std::sync::Arc;

/// Most days one set holds (about 55 years): bounds memory per customer.
const MAX_DAYS: i64 = 20_000;

/// Words of a set of `days` days.
fn words_for(days: usize) -> usize {
    days.div_ceil(64).max(1)
}

/// Sets bit `day − from` of `words` when the day is in range.
fn insert(words: &mut [u64], day: i32, from: i32, days: usize) {
    let i = i64::from(day) - i64::from(from);
    if (0..days as i64).contains(&i) {
        words[(i / 64) as usize] |= 1 << (i % 64);
    }
}

/// ORs a serialised set into `words`.
fn merge_bytes(words: &mut [u64], bytes: &[u8]) {
    for (w, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
        *w |= u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
    }
}

fn to_bytes(words: &[u64]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// Word `k` of a serialised set (0 past its end).
fn word(bytes: &[u8], k: usize) -> u64 {
    bytes
        .get(k * 8..k * 8 + 8)
        .map_or(0, |c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
}

/// Set bits at offsets in `[lo, hi)`, a word at a time.
fn popcount_range(bytes: &[u8], lo: i64, hi: i64) -> i32 {
    let (lo, hi) = (lo.max(0), hi.min(bytes.len() as i64 * 8));
    if lo >= hi {
        return 0;
    }
    let (first, last) = ((lo / 64) as usize, ((hi - 1) / 64) as usize);
    (first..=last)
        .map(|k| {
            let mut w = word(bytes, k);
            if k == first {
                w &= u64::MAX << (lo % 64);
            }
            if k == last && hi % 64 != 0 {
                w &= u64::MAX >> (64 - hi % 64);
            }
            w.count_ones() as i32
        })
        .sum()
}

/// Set days in `[lo, hi)`.
pub(crate) fn count_days(bytes: &[u8], from: i64, lo: i64, hi: i64) -> i32 {
    popcount_range(bytes, lo - from, hi - from)
}

/// The words of a serialised set, into `out` (reused from set to set).
pub(crate) fn read_words(bytes: &[u8], out: &mut Vec<u64>) {
    out.clear();
    out.extend(
        bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))),
    );
}

/// Set bits of `words` at offsets in `[lo, hi)`.
pub(crate) fn ones(words: &[u64], lo: i64, hi: i64) -> i32 {
    let (lo, hi) = (lo.max(0), hi.min(words.len() as i64 * 64));
    if lo >= hi {
        return 0;
    }
    let (first, last) = ((lo / 64) as usize, ((hi - 1) / 64) as usize);
    // Masks of the bits from `lo` in the first word and before `hi` in the last.
    let head = u64::MAX << (lo % 64);
    let tail = u64::MAX >> ((64 - hi % 64) % 64);
    if first == last {
        return (words[first] & head & tail).count_ones() as i32;
    }
    let middle: u32 = words[first + 1..last].iter().map(|w| w.count_ones()).sum();
    ((words[first] & head).count_ones() + middle + (words[last] & tail).count_ones()) as i32
}

/// `out` = the days covered by a trailing window of `width` days: bit t is
/// set when a bit of `words` in `(t − width, t]` is, i.e. the set ORed with
/// itself shifted by 1 to `width − 1` days. Each step doubles the width
/// covered, so a week takes three passes over the words, not seven; the
/// days of a period covered are then one count of its bits
/// ([`ones`]) instead of a walk over the set days per period.
pub(crate) fn dilate(words: &[u64], width: i64, out: &mut Vec<u64>) {
    out.clear();
    out.extend_from_slice(words);
    let mut covered = 1;
    while covered < width {
        let shift = covered.min(width - covered);
        or_shifted(out, shift as usize);
        covered += shift;
    }
}

/// `d |= d << shift` (toward later days), across words; bits shifted past
/// the last word are dropped.
fn or_shifted(d: &mut [u64], shift: usize) {
    let (q, r) = (shift / 64, shift % 64);
    // From the top down, so that each word reads lower words not yet changed.
    for i in (q..d.len()).rev() {
        let mut v = d[i - q] << r;
        if r > 0 && i > q {
            v |= d[i - q - 1] >> (64 - r);
        }
        d[i] |= v;
    }
}

/// An integer literal argument of the aggregate.
fn literal(args: &AccumulatorArgs, i: usize) -> Result<i64> {
    match crate::udaf::int_literal(args, i) {
        Some(v) => Ok(v),
        None => exec_err!("cl_day_set: argument {} must be an integer literal", i + 1),
    }
}

/// `(from, days)` of a call, checked.
fn range(args: &AccumulatorArgs) -> Result<(i32, usize)> {
    let (from, days) = (literal(args, 1)?, literal(args, 2)?);
    if !(1..=MAX_DAYS).contains(&days) || i32::try_from(from).is_err() {
        return exec_err!("cl_day_set: days must be 1 to {MAX_DAYS}, from a day number");
    }
    Ok((from as i32, days as usize))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct DaySet {
    signature: Signature,
}

impl AggregateUDFImpl for DaySet {
    fn name(&self) -> &str {
        "cl_day_set"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Binary)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        crate::udaf::binary_state(&args, "set")
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let (from, days) = range(&args)?;
        Ok(Box::new(DaySetAccumulator {
            words: vec![0; words_for(days)],
            from,
            days,
        }))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        let (from, days) = range(&args)?;
        Ok(Box::new(DaySetGroups {
            words: Vec::new(),
            per_group: words_for(days),
            from,
            days,
        }))
    }
}

/// One group's set.
#[derive(Debug)]
struct DaySetAccumulator {
    words: Vec<u64>,
    from: i32,
    days: usize,
}

impl Accumulator for DaySetAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let days = values[0].as_primitive::<Int32Type>();
        for d in days.iter().flatten() {
            insert(&mut self.words, d, self.from, self.days);
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        for bytes in states[0].as_binary::<i32>().iter().flatten() {
            merge_bytes(&mut self.words, bytes);
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.evaluate()?])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Binary(Some(to_bytes(&self.words))))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.words.len() * 8
    }
}

/// Every group's set, `per_group` words each, in one vector.
#[derive(Debug)]
struct DaySetGroups {
    words: Vec<u64>,
    per_group: usize,
    from: i32,
    days: usize,
}

impl DaySetGroups {
    fn grow(&mut self, groups: usize) {
        if self.words.len() < groups * self.per_group {
            self.words.resize(groups * self.per_group, 0);
        }
    }

    fn group(&mut self, g: usize) -> &mut [u64] {
        &mut self.words[g * self.per_group..(g + 1) * self.per_group]
    }

    /// The emitted groups' sets as one binary array. Their words, already
    /// laid out one group after another, become its values as they are
    /// (little-endian, as the serialised form is), with no copy and no
    /// allocation per group.
    fn emit(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let taken = match emit_to {
            EmitTo::All => std::mem::take(&mut self.words),
            EmitTo::First(n) => {
                let rest = self.words.split_off(n * self.per_group);
                std::mem::replace(&mut self.words, rest)
            }
        };
        let groups = taken.len() / self.per_group;
        let width = self.per_group * 8;
        if taken.len().saturating_mul(8) > i32::MAX as usize {
            return exec_err!(
                "cl_day_set: {groups} sets of {width} bytes exceed a binary array's 2 GiB"
            );
        }
        let offsets: Vec<i32> = (0..=groups).map(|g| (g * width) as i32).collect();
        let values = if cfg!(target_endian = "little") {
            Buffer::from_vec(taken)
        } else {
            Buffer::from_vec(to_bytes(&taken))
        };
        let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
        Ok(Arc::new(BinaryArray::new(offsets, values, None)))
    }
}

impl GroupsAccumulator for DaySetGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.grow(total_num_groups);
        let days = values[0].as_primitive::<Int32Type>();
        let (from, n) = (self.from, self.days);
        for (row, &g) in group_indices.iter().enumerate() {
            let kept = crate::udaf::kept(opt_filter, row);
            if kept && days.is_valid(row) {
                insert(self.group(g), days.value(row), from, n);
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        self.emit(emit_to)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        Ok(vec![self.emit(emit_to)?])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.grow(total_num_groups);
        let sets = values[0].as_binary::<i32>();
        for (row, &g) in group_indices.iter().enumerate() {
            if sets.is_valid(row) {
                merge_bytes(self.group(g), sets.value(row));
            }
        }
        Ok(())
    }

    /// Each row as its own group's state: a set of its one day.
    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let days = values[0].as_primitive::<Int32Type>();
        let mut words = vec![0u64; self.per_group];
        let mut b = BinaryBuilder::with_capacity(days.len(), days.len() * self.per_group * 8);
        for row in 0..days.len() {
            let kept = crate::udaf::kept(opt_filter, row);
            words.fill(0);
            if kept && days.is_valid(row) {
                insert(&mut words, days.value(row), self.from, self.days);
            }
            b.append_value(to_bytes(&words));
        }
        Ok(vec![Arc::new(b.finish())])
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.words.capacity() * 8
    }
}

/// An integer argument of a scalar function: one value (a literal, as
/// the plans pass them: not spread over an array per batch) or one per row.
enum IntArg {
    One(i64),
    PerRow(datafusion::arrow::array::Int64Array),
}

impl IntArg {
    fn new(v: &ColumnarValue, rows: usize) -> Result<IntArg> {
        if let ColumnarValue::Scalar(s) = v {
            if let ScalarValue::Int64(Some(i)) = s.cast_to(&DataType::Int64)? {
                return Ok(IntArg::One(i));
            }
        }
        let a = datafusion::arrow::compute::cast(&v.to_array(rows)?, &DataType::Int64)?;
        Ok(IntArg::PerRow(a.as_primitive::<Int64Type>().clone()))
    }

    fn at(&self, row: usize) -> i64 {
        match self {
            IntArg::One(v) => *v,
            IntArg::PerRow(a) => a.value(row),
        }
    }
}

/// `cl_day_count(set, from, lo, hi)` row by row (null set → 0).
fn count_per_row(args: &[ColumnarValue]) -> Result<ColumnarValue> {
    let rows = crate::udf::rows_of(args);
    let sets = args[0].to_array(rows)?;
    let sets: &BinaryArray = sets.as_binary::<i32>();
    let [from, lo, hi] = [&args[1], &args[2], &args[3]].map(|a| IntArg::new(a, rows));
    let (from, lo, hi) = (from?, lo?, hi?);
    let out: Int32Array = (0..rows)
        .map(|row| {
            Some(if sets.is_valid(row) {
                count_days(sets.value(row), from.at(row), lo.at(row), hi.at(row))
            } else {
                0
            })
        })
        .collect();
    Ok(ColumnarValue::Array(Arc::new(out)))
}

/// Registers `cl_day_set` and `cl_day_count`.
pub(crate) fn register(ctx: &SessionContext) {
    use DataType::{Binary, Int32, Int64};
    ctx.register_udaf(AggregateUDF::from(DaySet {
        signature: Signature::exact(vec![Int32, Int64, Int64], Volatility::Immutable),
    }));
    ctx.register_udf(datafusion::logical_expr::create_udf(
        "cl_day_count",
        vec![Binary, Int64, Int64, Int64],
        Int32,
        Volatility::Immutable,
        Arc::new(count_per_row),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(days: &[i32], from: i32, n: usize) -> Vec<u8> {
        let mut w = vec![0; words_for(n)];
        for &d in days {
            insert(&mut w, d, from, n);
        }
        to_bytes(&w)
    }

    /// The set days (as offsets from `from`) of a serialised set from offset
    /// `start` on, in order; only the words from `start`'s are read.
    fn offsets_from(bytes: &[u8], start: i64) -> impl Iterator<Item = i64> + '_ {
        let start = start.max(0);
        let first = (start / 64) as usize;
        let words = bytes.len() / 8;
        (first..words).flat_map(move |k| {
            let mut w = word(bytes, k);
            if k == first {
                w &= u64::MAX << (start % 64);
            }
            std::iter::from_fn(move || {
                (w != 0).then(|| {
                    let bit = w.trailing_zeros() as i64;
                    w &= w - 1;
                    k as i64 * 64 + bit
                })
            })
        })
    }

    /// Counting day by day, the definition.
    fn cover_brute(days: &[i32], lo: i64, hi: i64, width: i64) -> i32 {
        (lo..hi)
            .filter(|&t| {
                days.iter()
                    .any(|&d| (t - width < d as i64) && (d as i64 <= t))
            })
            .count() as i32
    }

    #[test]
    fn days_out_of_range_are_left_out() {
        let s = set(&[99, 100, 163, 164, 299, 300], 100, 200);
        assert_eq!(offsets_from(&s, 0).collect::<Vec<_>>(), [0, 63, 64, 199]);
        assert_eq!(count_days(&s, 100, 100, 300), 4);
        assert_eq!(count_days(&s, 100, 150, 164), 1);
    }

    #[test]
    fn counts_by_words_equal_counts_day_by_day() {
        let days: Vec<i32> = (0..300).filter(|d| d % 7 == 0 || d % 11 == 3).collect();
        let s = set(&days, 0, 300);
        for lo in [0, 1, 63, 64, 65, 127, 128, 200] {
            for hi in [0, 5, 64, 65, 128, 129, 299, 300, 400] {
                let want = days.iter().filter(|&&d| lo <= d && d < hi).count() as i32;
                assert_eq!(
                    count_days(&s, 0, lo as i64, hi as i64),
                    want,
                    "[{lo}, {hi})"
                );
            }
        }
        assert_eq!(
            offsets_from(&s, 70).next(),
            days.iter().map(|&d| d as i64).find(|&d| d >= 70)
        );
    }

    /// Days t in `[lo, hi)` with a set day in `(t − width, t]`, by words.
    fn cover_days(bytes: &[u8], from: i64, lo: i64, hi: i64, width: i64) -> i32 {
        let (mut words, mut covered) = (Vec::new(), Vec::new());
        read_words(bytes, &mut words);
        dilate(&words, width, &mut covered);
        ones(&covered, lo - from, hi - from)
    }

    #[test]
    fn cover_counts_each_day_of_the_union_of_windows_once() {
        let from = 1000;
        let cases: &[&[i32]] = &[
            &[],
            &[1000],
            &[1000, 1001, 1002],
            &[1000, 1007, 1014],
            &[1003, 1005, 1063, 1064, 1065, 1130],
            &[1060, 1190, 1199],
            &[1062, 1063, 1127, 1128],
        ];
        for days in cases {
            let s = set(days, from, 200);
            for (lo, hi) in [
                (1000, 1200),
                (1005, 1010),
                (1064, 1070),
                (1128, 1135),
                (1195, 1200),
                (1100, 1100),
            ] {
                for width in [1, 2, 7, 30, 64, 65, 130] {
                    assert_eq!(
                        cover_days(&s, from as i64, lo, hi, width),
                        cover_brute(days, lo, hi, width),
                        "{days:?} [{lo}, {hi}) width {width}"
                    );
                }
            }
        }
    }

    #[test]
    fn ones_by_words_equal_counts_by_bytes() {
        let days: Vec<i32> = (0..300).filter(|d| d % 5 == 0 || d % 13 == 1).collect();
        let s = set(&days, 0, 300);
        let mut words = Vec::new();
        read_words(&s, &mut words);
        for lo in [-3, 0, 1, 63, 64, 65, 200] {
            for hi in [0, 5, 64, 65, 128, 299, 300, 400] {
                assert_eq!(
                    ones(&words, lo, hi),
                    count_days(&s, 0, lo, hi),
                    "[{lo}, {hi})"
                );
            }
        }
    }

    #[test]
    fn groups_emit_the_first_groups_and_keep_the_rest() {
        let mut g = DaySetGroups {
            words: Vec::new(),
            per_group: 1,
            from: 0,
            days: 64,
        };
        let days: ArrayRef = Arc::new(Int32Array::from(vec![1, 2, 3, 70]));
        g.update_batch(&[days], &[0, 1, 0, 2], None, 3).unwrap();
        let first = g.evaluate(EmitTo::First(2)).unwrap();
        let first = first.as_binary::<i32>();
        assert_eq!(offsets_from(first.value(0), 0).collect::<Vec<_>>(), [1, 3]);
        assert_eq!(offsets_from(first.value(1), 0).collect::<Vec<_>>(), [2]);
        let rest = g.evaluate(EmitTo::All).unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(offsets_from(rest.as_binary::<i32>().value(0), 0).count(), 0);
    }

    #[test]
    fn emitted_sets_equal_sets_serialised_one_by_one() {
        let mut g = DaySetGroups {
            words: Vec::new(),
            per_group: 2,
            from: 10,
            days: 128,
        };
        let days: ArrayRef = Arc::new(Int32Array::from(vec![10, 137, 75, 74, 11, 200]));
        g.update_batch(&[days], &[1, 1, 0, 2, 2, 0], None, 3)
            .unwrap();
        let all = g.evaluate(EmitTo::All).unwrap();
        let all = all.as_binary::<i32>();
        let want: [&[i32]; 3] = [&[75], &[10, 137], &[74, 11]];
        assert_eq!(all.len(), 3);
        for (i, days) in want.iter().enumerate() {
            assert_eq!(all.value(i), set(days, 10, 128).as_slice(), "group {i}");
        }
    }
}
