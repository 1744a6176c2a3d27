//! The columns of one chunk, in the canonical schema of its kind.
//!
//! The row path pushes whole rows of [`Value`]s (as
//! [`clientela_table::KindBuilder`] does); the fast path appends typed values
//! column by column and ends the row, or rolls it back when a value turns
//! out bad. Fields the caller does not read get no storage at all: they
//! become placeholders when the batch is finished (see
//! [`crate::ReadOptions::fields`]).

use arrow::array::builder::NullBufferBuilder;
use arrow::array::{
    new_null_array, ArrayRef, BooleanArray, BooleanBufferBuilder, DictionaryArray, Int64Array,
    StringArray, TimestampMicrosecondArray, UInt32Array,
};
use arrow::buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, UInt32Type};
use arrow::record_batch::RecordBatch;
use clientela_core::{FieldType, RecordKind};
use clientela_table::{schema_for, Value, TIME_ZONE};
use std::sync::Arc;

enum Col {
    Str {
        offsets: Vec<i32>,
        values: Vec<u8>,
        nulls: NullBufferBuilder,
    },
    /// Integers, money in minor units, and times (µs) when `time`.
    I64 {
        values: Vec<i64>,
        nulls: NullBufferBuilder,
        time: bool,
    },
    Bool {
        values: BooleanBufferBuilder,
        nulls: NullBufferBuilder,
    },
    /// Text as a dictionary of runs: a new value only when a row's text
    /// differs from the last value (see [`crate::ReadOptions::customer_id_runs`]).
    /// Keys never decrease. Only for a required field: never null.
    Runs {
        keys: Vec<u32>,
        offsets: Vec<i32>,
        values: Vec<u8>,
    },
    /// A field the caller does not read.
    Skip,
}

impl Col {
    fn runs() -> Col {
        Col::Runs {
            keys: Vec::new(),
            offsets: vec![0],
            values: Vec::new(),
        }
    }

    fn new(ty: FieldType) -> Col {
        match ty {
            FieldType::Id | FieldType::Text | FieldType::Currency | FieldType::Enum(_) => {
                Col::Str {
                    offsets: vec![0],
                    values: Vec::new(),
                    nulls: NullBufferBuilder::new(0),
                }
            }
            FieldType::Int { .. } | FieldType::Money | FieldType::Time => Col::I64 {
                values: Vec::new(),
                nulls: NullBufferBuilder::new(0),
                time: ty == FieldType::Time,
            },
            FieldType::Bool => Col::Bool {
                values: BooleanBufferBuilder::new(0),
                nulls: NullBufferBuilder::new(0),
            },
        }
    }
}

/// Accumulates the rows of one chunk; see the module docs.
pub(crate) struct BatchBuilder {
    kind: RecordKind,
    schema: SchemaRef,
    cols: Vec<Col>,
    rows: usize,
    /// Per field, the last placeholder made for it: the next batch's is a
    /// slice of it (no new memory) when it is not longer.
    placeholders: Vec<Option<ArrayRef>>,
}

impl BatchBuilder {
    /// An empty builder for `kind`, storing the fields where `build` is
    /// true, field `runs` (when stored) as a dictionary of runs.
    pub fn new(kind: RecordKind, build: &[bool], runs: Option<usize>) -> BatchBuilder {
        let runs = runs.filter(|&i| build[i]);
        let cols: Vec<Col> = kind
            .fields()
            .iter()
            .zip(build)
            .enumerate()
            .map(|(i, (f, &b))| match b {
                true if runs == Some(i) => Col::runs(),
                true => Col::new(f.ty),
                false => Col::Skip,
            })
            .collect();
        let canonical = schema_for(kind);
        let schema = match runs {
            None => canonical,
            Some(r) => {
                let fields: Vec<Field> = canonical
                    .fields()
                    .iter()
                    .enumerate()
                    .map(|(i, f)| match i == r {
                        true => f.as_ref().clone().with_data_type(runs_type()),
                        false => f.as_ref().clone(),
                    })
                    .collect();
                Arc::new(Schema::new(fields))
            }
        };
        BatchBuilder {
            kind,
            placeholders: vec![None; cols.len()],
            schema,
            cols,
            rows: 0,
        }
    }

    /// The kind being built.
    pub fn kind(&self) -> RecordKind {
        self.kind
    }

    /// Complete rows since the last [`finish`](Self::finish).
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Appends a row of the row parser, values in field order.
    ///
    /// # Panics
    /// When a value does not fit its column: rows come from `parse_row`.
    pub fn push_row(&mut self, row: &[Value]) {
        assert_eq!(row.len(), self.cols.len(), "row length for {}", self.kind);
        for (i, v) in row.iter().enumerate() {
            match v {
                Value::Null => self.null(i),
                Value::Text(s) => self.str(i, s.as_bytes()),
                Value::Int(v) | Value::Time(v) => self.int(i, *v),
                Value::Bool(b) => self.bool(i, *b),
            }
        }
        self.end_row();
    }

    /// Appends text to column `i` of the pending row.
    pub fn str(&mut self, i: usize, text: &[u8]) {
        self.push_text(i, |values| values.extend_from_slice(text));
    }

    /// Appends the content of a quoted field, doubled quotes made single.
    pub fn str_unescaped(&mut self, i: usize, content: &[u8]) {
        self.push_text(i, |values| crate::values::unescape_into(content, values));
    }

    /// Appends to text column `i` what `write` puts into its value bytes.
    fn push_text(&mut self, i: usize, write: impl FnOnce(&mut Vec<u8>)) {
        match &mut self.cols[i] {
            Col::Str {
                offsets,
                values,
                nulls,
            } => {
                write(values);
                offsets.push(offset(values.len()));
                nulls.append_non_null();
            }
            Col::Runs {
                keys,
                offsets,
                values,
            } => {
                let start = values.len();
                write(values);
                let n = offsets.len() - 1;
                let same = n > 0 && values[offsets[n - 1] as usize..start] == values[start..];
                if same {
                    values.truncate(start);
                } else {
                    offsets.push(offset(values.len()));
                }
                keys.push(offsets.len() as u32 - 2);
            }
            Col::Skip => {}
            _ => panic!("text for a column of another type in {}", self.kind),
        }
    }

    /// Appends an integer, an amount in minor units or a time (µs).
    pub fn int(&mut self, i: usize, v: i64) {
        match &mut self.cols[i] {
            Col::I64 { values, nulls, .. } => {
                values.push(v);
                nulls.append_non_null();
            }
            Col::Skip => {}
            _ => panic!("a number for a column of another type in {}", self.kind),
        }
    }

    /// Appends a boolean.
    pub fn bool(&mut self, i: usize, v: bool) {
        match &mut self.cols[i] {
            Col::Bool { values, nulls } => {
                values.append(v);
                nulls.append_non_null();
            }
            Col::Skip => {}
            _ => panic!("a boolean for a column of another type in {}", self.kind),
        }
    }

    /// Appends a null.
    pub fn null(&mut self, i: usize) {
        match &mut self.cols[i] {
            Col::Str {
                offsets,
                values,
                nulls,
            } => {
                offsets.push(offset(values.len()));
                nulls.append_null();
            }
            Col::I64 { values, nulls, .. } => {
                values.push(0);
                nulls.append_null();
            }
            Col::Bool { values, nulls } => {
                values.append(false);
                nulls.append_null();
            }
            // Blank required fields are refused before a row is built.
            Col::Runs { .. } => unreachable!("a null in the runs of a required field"),
            Col::Skip => {}
        }
    }

    /// Completes the pending row: every stored column has one more value.
    pub fn end_row(&mut self) {
        self.rows += 1;
    }

    /// Drops the values appended to the pending row.
    pub fn rollback(&mut self) {
        let n = self.rows;
        for c in &mut self.cols {
            match c {
                Col::Str {
                    offsets,
                    values,
                    nulls,
                } => {
                    offsets.truncate(n + 1);
                    values.truncate(offsets[n] as usize);
                    nulls.truncate(n);
                }
                Col::I64 { values, nulls, .. } => {
                    values.truncate(n);
                    nulls.truncate(n);
                }
                Col::Bool { values, nulls } => {
                    values.truncate(n);
                    nulls.truncate(n);
                }
                Col::Runs {
                    keys,
                    offsets,
                    values,
                } => {
                    // The values the kept rows use: up to the last row's.
                    let used = n.checked_sub(1).map_or(0, |r| keys[r] as usize + 1);
                    keys.truncate(n);
                    offsets.truncate(used + 1);
                    values.truncate(offsets[used] as usize);
                }
                Col::Skip => {}
            }
        }
    }

    /// The complete rows as a batch of the canonical schema; the builder is
    /// empty afterwards.
    pub fn finish(&mut self) -> RecordBatch {
        let n = self.rows;
        let arrays: Vec<ArrayRef> = self
            .cols
            .iter_mut()
            .zip(self.schema.fields())
            .zip(&mut self.placeholders)
            .map(|((c, f), cached)| -> ArrayRef {
                match c {
                    Col::Str {
                        offsets,
                        values,
                        nulls,
                    } => {
                        // The next chunk is most likely the same size: room
                        // for it now saves growing (copying) as it fills.
                        let mut next = Vec::with_capacity(offsets.len());
                        next.push(0);
                        let offsets = std::mem::replace(offsets, next);
                        let values = std::mem::replace(values, Vec::with_capacity(values.len()));
                        // Every text was checked to be UTF-8 when read.
                        Arc::new(
                            StringArray::try_new(
                                OffsetBuffer::new(ScalarBuffer::from(offsets)),
                                Buffer::from_vec(values),
                                nulls.finish(),
                            )
                            .expect("texts are valid UTF-8"),
                        )
                    }
                    Col::I64 {
                        values,
                        nulls,
                        time,
                    } => {
                        let next = Vec::with_capacity(values.len());
                        let values = ScalarBuffer::from(std::mem::replace(values, next));
                        if *time {
                            Arc::new(
                                TimestampMicrosecondArray::new(values, nulls.finish())
                                    .with_timezone(TIME_ZONE),
                            )
                        } else {
                            Arc::new(Int64Array::new(values, nulls.finish()))
                        }
                    }
                    Col::Bool { values, nulls } => {
                        Arc::new(BooleanArray::new(values.finish(), nulls.finish()))
                    }
                    Col::Runs {
                        keys,
                        offsets,
                        values,
                    } => {
                        let keys = std::mem::replace(keys, Vec::with_capacity(keys.len()));
                        let offsets = std::mem::replace(offsets, vec![0]);
                        let values = std::mem::take(values);
                        let values = StringArray::try_new(
                            OffsetBuffer::new(ScalarBuffer::from(offsets)),
                            Buffer::from_vec(values),
                            None,
                        )
                        .expect("texts are valid UTF-8");
                        let keys = UInt32Array::new(ScalarBuffer::from(keys), None);
                        Arc::new(
                            DictionaryArray::<UInt32Type>::try_new(keys, Arc::new(values))
                                .expect("keys index the runs"),
                        )
                    }
                    Col::Skip => match cached {
                        Some(p) if p.len() >= n => p.slice(0, n),
                        _ => cached.insert(placeholder(f, n)).clone(),
                    },
                }
            })
            .collect();
        self.rows = 0;
        RecordBatch::try_new(self.schema.clone(), arrays).expect("columns match the schema")
    }
}

/// The type of a column of runs.
pub(crate) fn runs_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::UInt32), Box::new(DataType::Utf8))
}

fn offset(len: usize) -> i32 {
    i32::try_from(len).expect("a chunk's text column holds less than 2 GiB")
}

/// The column of a field that was not read: nulls where the schema allows
/// them, else empty texts, zeros and `false` (never shown: the caller said
/// it does not read them).
fn placeholder(f: &Field, n: usize) -> ArrayRef {
    if f.is_nullable() {
        return new_null_array(f.data_type(), n);
    }
    let no_nulls: Option<NullBuffer> = None;
    match f.data_type() {
        DataType::Utf8 => Arc::new(StringArray::new(
            OffsetBuffer::new_zeroed(n),
            Buffer::from_vec(Vec::<u8>::new()),
            no_nulls,
        )),
        DataType::Boolean => Arc::new(BooleanArray::new(
            arrow::buffer::BooleanBuffer::new_unset(n),
            no_nulls,
        )),
        DataType::Timestamp(..) => Arc::new(
            TimestampMicrosecondArray::new(ScalarBuffer::from(vec![0; n]), no_nulls)
                .with_timezone(TIME_ZONE),
        ),
        _ => Arc::new(Int64Array::new(ScalarBuffer::from(vec![0; n]), no_nulls)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clientela_table::KindBuilder;

    fn rows() -> Vec<Vec<Value>> {
        let t = |s: &str| Value::Text(s.into());
        vec![
            vec![
                t("o1"),
                t("c1"),
                Value::Time(5),
                Value::Int(-120),
                t("EUR"),
                Value::Null,
                t("wéb"),
                Value::Null,
                Value::Int(0),
                t("[]"),
            ],
            vec![
                t("o2"),
                t("c2"),
                Value::Time(-7),
                Value::Int(1),
                t("JPY"),
                Value::Int(3),
                Value::Null,
                t(""),
                Value::Null,
                Value::Null,
            ],
        ]
    }

    #[test]
    fn rows_give_the_batch_of_kind_builder() {
        let mut want = KindBuilder::new(RecordKind::Order);
        let mut got = BatchBuilder::new(RecordKind::Order, &[true; 10], None);
        for r in rows() {
            want.push(&r);
            got.push_row(&r);
        }
        assert_eq!(got.finish(), want.finish());
        // Again after finishing, and with a rolled back row in between.
        got.push_row(&rows()[0]);
        got.str(0, b"x");
        got.int(3, 9);
        got.null(6);
        got.rollback();
        got.push_row(&rows()[1]);
        let mut want = KindBuilder::new(RecordKind::Order);
        want.push(&rows()[0]);
        want.push(&rows()[1]);
        assert_eq!(got.finish(), want.finish());
    }

    #[test]
    fn skipped_fields_become_placeholders() {
        let mut build = [false; 10];
        build[1] = true;
        build[3] = true;
        let mut b = BatchBuilder::new(RecordKind::Order, &build, None);
        for r in rows() {
            b.push_row(&r);
        }
        let batch = b.finish();
        assert_eq!(batch.schema(), schema_for(RecordKind::Order));
        assert_eq!(batch.num_rows(), 2);
        let ids = batch.column(0).as_any().downcast_ref::<StringArray>();
        assert_eq!(
            ids.map(|a| a.value(1)),
            Some(""),
            "event_id is not nullable"
        );
        assert_eq!(batch.column(6).null_count(), 2);
        let amounts = batch.column(3).as_any().downcast_ref::<Int64Array>();
        assert_eq!(amounts.map(|a| a.values().to_vec()), Some(vec![-120, 1]));
        // Later batches get placeholders of their own length, shorter
        // (cut from the last) or longer.
        for n in [1, 3] {
            for r in rows().iter().cycle().take(n) {
                b.push_row(r);
            }
            let batch = b.finish();
            assert_eq!(batch.num_rows(), n);
            assert_eq!(batch.column(6).len(), n);
            assert_eq!(batch.column(6).null_count(), n);
            assert_eq!(batch.column(0).len(), n);
        }
    }

    /// The customer ids of a batch built with runs, read back as text.
    fn runs_of(batch: &RecordBatch) -> (Vec<u32>, Vec<&str>) {
        let d = batch
            .column(1)
            .as_any()
            .downcast_ref::<DictionaryArray<UInt32Type>>()
            .expect("customer_id as runs");
        let values = d.values().as_any().downcast_ref::<StringArray>().unwrap();
        (
            d.keys().values().to_vec(),
            values.iter().flatten().collect(),
        )
    }

    #[test]
    fn runs_hold_a_value_per_run_and_roll_back_with_their_rows() {
        let mut b = BatchBuilder::new(RecordKind::Order, &[true; 10], Some(1));
        let row = |who: &str| {
            let mut r = rows()[0].clone();
            r[1] = Value::Text(who.into());
            r
        };
        for who in ["a", "a", "b", "b", "a"] {
            b.push_row(&row(who));
        }
        // A row with a new id, rolled back, leaves no value behind; nor does
        // one that repeats the last id.
        b.str(1, b"c");
        b.rollback();
        b.str(1, b"a");
        b.rollback();
        b.push_row(&row("d"));
        let batch = b.finish();
        assert_eq!(
            batch.schema().field(1).data_type(),
            &runs_type(),
            "customer_id as runs"
        );
        let (keys, values) = runs_of(&batch);
        assert_eq!(keys, [0, 0, 1, 1, 2, 3]);
        assert_eq!(values, ["a", "b", "a", "d"]);
        // The same ids as text, whatever the column's type.
        let text = arrow::compute::cast(batch.column(1), &DataType::Utf8).unwrap();
        let text = text.as_any().downcast_ref::<StringArray>().unwrap();
        let got: Vec<&str> = text.iter().flatten().collect();
        assert_eq!(got, ["a", "a", "b", "b", "a", "d"]);
        // The next batch starts its own runs; a first row rolled back
        // leaves none.
        b.str(1, b"x");
        b.rollback();
        b.push_row(&row("y"));
        let batch = b.finish();
        assert_eq!(runs_of(&batch), (vec![0], vec!["y"]));
    }
}
