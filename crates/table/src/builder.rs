//! Rows of typed values into Arrow record batches.

use crate::schema::schema_for;
use arrow::array::{
    ArrayRef, BooleanBuilder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::record_batch::RecordBatch;
use clientela_core::{FieldType, RecordKind};
use std::sync::Arc;

/// One typed value of a canonical field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// No value.
    Null,
    /// Text, identifiers, currencies and enumerated names.
    Text(String),
    /// Integers and money in minor units.
    Int(i64),
    /// A timestamp in µs since the epoch, UTC.
    Time(i64),
    /// A boolean.
    Bool(bool),
}

enum Column {
    Str(StringBuilder),
    Int(Int64Builder),
    Time(TimestampMicrosecondBuilder),
    Bool(BooleanBuilder),
}

/// Accumulates rows of one kind and produces record batches of its schema.
pub struct KindBuilder {
    kind: RecordKind,
    columns: Vec<Column>,
    rows: usize,
}

impl KindBuilder {
    /// An empty builder for `kind`.
    pub fn new(kind: RecordKind) -> Self {
        let columns = kind
            .fields()
            .iter()
            .map(|f| match f.ty {
                FieldType::Id | FieldType::Text | FieldType::Currency | FieldType::Enum(_) => {
                    Column::Str(StringBuilder::new())
                }
                FieldType::Time => Column::Time(TimestampMicrosecondBuilder::new()),
                FieldType::Int { .. } | FieldType::Money => Column::Int(Int64Builder::new()),
                FieldType::Bool => Column::Bool(BooleanBuilder::new()),
            })
            .collect();
        KindBuilder {
            kind,
            columns,
            rows: 0,
        }
    }

    /// The kind being built.
    pub fn kind(&self) -> RecordKind {
        self.kind
    }

    /// Rows appended since the last [`finish`](Self::finish).
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row is pending.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends one row, values in the kind's field order.
    ///
    /// # Panics
    /// When the row has the wrong length or a value of the wrong type: rows
    /// come from [`crate::parse_row`] or from code that knows the schema.
    pub fn push(&mut self, row: &[Value]) {
        assert_eq!(
            row.len(),
            self.columns.len(),
            "row length for {}",
            self.kind
        );
        for (col, v) in self.columns.iter_mut().zip(row) {
            match (col, v) {
                (Column::Str(b), Value::Text(s)) => b.append_value(s),
                (Column::Str(b), Value::Null) => b.append_null(),
                (Column::Int(b), Value::Int(i)) => b.append_value(*i),
                (Column::Int(b), Value::Null) => b.append_null(),
                (Column::Time(b), Value::Time(t)) => b.append_value(*t),
                (Column::Time(b), Value::Null) => b.append_null(),
                (Column::Bool(b), Value::Bool(x)) => b.append_value(*x),
                (Column::Bool(b), Value::Null) => b.append_null(),
                (_, v) => panic!("value {v:?} does not fit its column in {}", self.kind),
            }
        }
        self.rows += 1;
    }

    /// The pending rows as a batch; the builder is empty afterwards.
    pub fn finish(&mut self) -> RecordBatch {
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|c| -> ArrayRef {
                match c {
                    Column::Str(b) => Arc::new(b.finish()),
                    Column::Int(b) => Arc::new(b.finish()),
                    Column::Time(b) => Arc::new(b.finish().with_timezone(crate::TIME_ZONE)),
                    Column::Bool(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        self.rows = 0;
        RecordBatch::try_new(schema_for(self.kind), arrays).expect("builder matches its schema")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, Int64Array};

    #[test]
    fn rows_become_a_batch_of_the_schema() {
        let mut b = KindBuilder::new(RecordKind::Loyalty);
        let row = |id: &str, pts| {
            vec![
                Value::Text(id.into()),
                Value::Text("c1".into()),
                Value::Time(0),
                Value::Int(pts),
                Value::Null,
                Value::Null,
            ]
        };
        b.push(&row("e1", 10));
        b.push(&row("e2", -4));
        assert_eq!(b.len(), 2);
        let batch = b.finish();
        assert!(b.is_empty());
        assert_eq!(batch.num_rows(), 2);
        let pts = batch
            .column(3)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(pts.values(), &[10, -4]);
        assert!(batch.column(4).is_null(0));
    }
}
