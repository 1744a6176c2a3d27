//! Reading the store back as keyed Arrow tables.

use crate::{Store, StoreError};
use clientela_core::RecordKind;
use clientela_table::arrow::array::{
    ArrayRef, BooleanBuilder, Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use clientela_table::arrow::datatypes::DataType;
use clientela_table::{keyed_schema, Dataset, KEY, TIME_ZONE};
use rusqlite::types::ValueRef;
use std::sync::Arc;

/// Rows per loaded batch.
const LOAD_BATCH: usize = 256 * 1024;

enum Builder {
    Str(StringBuilder),
    Int(Int64Builder),
    Time(TimestampMicrosecondBuilder),
    Bool(BooleanBuilder),
}

impl Builder {
    fn new(dt: &DataType) -> Builder {
        match dt {
            DataType::Utf8 => Builder::Str(StringBuilder::new()),
            DataType::Int64 => Builder::Int(Int64Builder::new()),
            DataType::Boolean => Builder::Bool(BooleanBuilder::new()),
            _ => Builder::Time(TimestampMicrosecondBuilder::new()),
        }
    }

    fn push(&mut self, v: ValueRef<'_>) {
        match (self, v) {
            (Builder::Str(b), ValueRef::Text(t)) => b.append_value(String::from_utf8_lossy(t)),
            (Builder::Int(b), ValueRef::Integer(i)) => b.append_value(i),
            (Builder::Time(b), ValueRef::Integer(i)) => b.append_value(i),
            (Builder::Bool(b), ValueRef::Integer(i)) => b.append_value(i != 0),
            (Builder::Str(b), _) => b.append_null(),
            (Builder::Int(b), _) => b.append_null(),
            (Builder::Time(b), _) => b.append_null(),
            (Builder::Bool(b), _) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Str(b) => Arc::new(b.finish()),
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::Time(b) => Arc::new(b.finish().with_timezone(TIME_ZONE)),
            Builder::Bool(b) => Arc::new(b.finish()),
        }
    }
}

impl Store {
    /// Reads every table straight from SQLite into keyed tables (no cache);
    /// `ck` is the store's `ckey` − 1, so keys are dense from 0.
    pub fn load_from_sqlite(&self) -> Result<Dataset, StoreError> {
        let mut ds = Dataset::new();
        for kind in RecordKind::ALL {
            ds.tables.insert(kind, self.load_table(kind)?);
        }
        Ok(ds)
    }

    /// The largest customer key `ck` (0 when there is no customer). Every
    /// event's customer has a record, so no table holds a larger key.
    pub(crate) fn max_key(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT COALESCE(MAX(ckey), 1) - 1 FROM customers",
            [],
            |r| r.get(0),
        )?)
    }

    /// One table straight from SQLite, keyed.
    pub(crate) fn load_table(&self, kind: RecordKind) -> Result<Vec<RecordBatch>, StoreError> {
        let schema = keyed_schema(kind);
        let select: Vec<String> = schema
            .fields()
            .iter()
            .map(|f| {
                if f.name() == KEY {
                    "ckey - 1".to_string()
                } else {
                    f.name().clone()
                }
            })
            .collect();
        let order = if kind == RecordKind::Customer {
            "ckey"
        } else {
            "rowid"
        };
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {order}",
            select.join(", "),
            kind.table()
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        let mut builders: Vec<Builder> = schema
            .fields()
            .iter()
            .map(|f| Builder::new(f.data_type()))
            .collect();
        let mut batches = Vec::new();
        let mut pending = 0;
        let flush = |builders: &mut Vec<Builder>, batches: &mut Vec<RecordBatch>| {
            let cols = builders.iter_mut().map(Builder::finish).collect();
            batches.push(RecordBatch::try_new(schema.clone(), cols).expect("keyed schema"));
        };
        while let Some(row) = rows.next()? {
            for (i, b) in builders.iter_mut().enumerate() {
                b.push(row.get_ref(i)?);
            }
            pending += 1;
            if pending == LOAD_BATCH {
                flush(&mut builders, &mut batches);
                pending = 0;
            }
        }
        if pending > 0 {
            flush(&mut builders, &mut batches);
        }
        Ok(batches)
    }
}
