//! Import of canonical batches: one transaction per batch, idempotent.

use crate::schema::stored_fields;
use crate::{Store, StoreError};
use clientela_core::RecordKind;
use clientela_table::arrow::array::{
    Array, BooleanArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use clientela_table::schema_for;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::Transaction;
use std::collections::HashMap;

/// What one imported batch did to the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Rows in the batch.
    pub rows: u64,
    /// Rows that were new and are now stored.
    pub stored: u64,
    /// Rows already in the store (same `event_id`, or a customer already
    /// described), which changed nothing or only updated attributes.
    pub duplicates: u64,
    /// Customers referenced by events but never described, given a minimal record.
    pub minimal_customers: u64,
}

/// Read access to one Arrow column as SQLite values.
enum Col<'a> {
    Str(&'a StringArray),
    Int(&'a Int64Array),
    Time(&'a TimestampMicrosecondArray),
    Bool(&'a BooleanArray),
}

impl<'a> Col<'a> {
    fn new(a: &'a dyn Array) -> Col<'a> {
        let any = a.as_any();
        if let Some(s) = any.downcast_ref::<StringArray>() {
            Col::Str(s)
        } else if let Some(i) = any.downcast_ref::<Int64Array>() {
            Col::Int(i)
        } else if let Some(t) = any.downcast_ref::<TimestampMicrosecondArray>() {
            Col::Time(t)
        } else {
            Col::Bool(
                any.downcast_ref::<BooleanArray>()
                    .expect("canonical column types"),
            )
        }
    }

    fn get(&self, row: usize) -> ValueRef<'a> {
        match self {
            Col::Str(a) if a.is_valid(row) => ValueRef::Text(a.value(row).as_bytes()),
            Col::Int(a) if a.is_valid(row) => ValueRef::Integer(a.value(row)),
            Col::Time(a) if a.is_valid(row) => ValueRef::Integer(a.value(row)),
            Col::Bool(a) if a.is_valid(row) => ValueRef::Integer(a.value(row) as i64),
            _ => ValueRef::Null,
        }
    }
}

impl Store {
    /// Imports one canonical batch (schema [`schema_for`] of `kind`) in one
    /// transaction: either the whole batch is in the store afterwards, or
    /// nothing of it. Events whose `event_id` is already stored are skipped;
    /// customer records update the attributes they give. `on_row` is called
    /// after each row is written, before the commit (progress, tests).
    pub fn import_batch(
        &mut self,
        kind: RecordKind,
        batch: &RecordBatch,
        mut on_row: impl FnMut(usize),
    ) -> Result<BatchOutcome, StoreError> {
        let expected = schema_for(kind);
        if batch.schema().fields() != expected.fields() {
            return Err(StoreError::Schema {
                kind,
                detail: format!(
                    "got {:?}",
                    batch
                        .schema()
                        .fields()
                        .iter()
                        .map(|f| f.name())
                        .collect::<Vec<_>>()
                ),
            });
        }
        if self.keys.is_none() {
            self.keys = Some(self.load_keys()?);
        }
        let mut keys = self.keys.take().expect("loaded above");
        let mut new_keys: HashMap<String, i64> = HashMap::new();
        let result = (|| {
            let tx = self.conn.transaction()?;
            let outcome = write_rows(&tx, kind, batch, &keys, &mut new_keys, &mut on_row)?;
            if outcome.stored > 0 || kind == RecordKind::Customer {
                tx.execute(
                    "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'",
                    [],
                )?;
            }
            tx.commit()?;
            Ok(outcome)
        })();
        if result.is_ok() {
            // Keys created inside the transaction exist only once it committed.
            keys.extend(new_keys);
        }
        self.keys = Some(keys);
        result
    }

    fn load_keys(&self) -> Result<HashMap<String, i64>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT customer_id, ckey FROM customers")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn write_rows(
    tx: &Transaction<'_>,
    kind: RecordKind,
    batch: &RecordBatch,
    keys: &HashMap<String, i64>,
    local: &mut HashMap<String, i64>,
    on_row: &mut impl FnMut(usize),
) -> Result<BatchOutcome, StoreError> {
    let fields = stored_fields(kind);
    let cols: Vec<Col<'_>> = fields
        .iter()
        .map(|(name, _)| Col::new(batch.column_by_name(name).expect("schema checked").as_ref()))
        .collect();
    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
    let mut out = BatchOutcome {
        rows: batch.num_rows() as u64,
        ..Default::default()
    };
    if kind == RecordKind::Customer {
        let updates: Vec<String> = names
            .iter()
            .filter(|n| **n != "customer_id")
            .map(|n| format!("{n} = COALESCE(excluded.{n}, {n})"))
            .collect();
        let sql = format!(
            "INSERT INTO customers ({}, described) VALUES ({}, 1) ON CONFLICT(customer_id) DO UPDATE SET {}, described = 1 RETURNING ckey",
            names.join(", "),
            placeholders(names.len()),
            updates.join(", ")
        );
        let mut stmt = tx.prepare_cached(&sql)?;
        let id_col = names
            .iter()
            .position(|n| *n == "customer_id")
            .expect("customer_id");
        for row in 0..batch.num_rows() {
            let id = match cols[id_col].get(row) {
                ValueRef::Text(t) => std::str::from_utf8(t).expect("utf8").to_string(),
                _ => unreachable!("customer_id is required"),
            };
            let key: i64 = stmt.query_row(
                rusqlite::params_from_iter(cols.iter().map(|c| ToSqlOutput::Borrowed(c.get(row)))),
                |r| r.get(0),
            )?;
            if keys.contains_key(&id) || local.contains_key(&id) {
                out.duplicates += 1;
            } else {
                out.stored += 1;
                local.insert(id, key);
            }
            on_row(row);
        }
        return Ok(out);
    }
    let mut all = if kind.has_customer() {
        vec!["ckey"]
    } else {
        Vec::new()
    };
    all.extend(&names);
    let sql = format!(
        "INSERT OR IGNORE INTO {} ({}) VALUES ({})",
        kind.table(),
        all.join(", "),
        placeholders(all.len())
    );
    let customer = batch.column_by_name("customer_id").map(|c| {
        c.as_any()
            .downcast_ref::<StringArray>()
            .expect("customer_id is text")
    });
    let mut minimal =
        tx.prepare_cached("INSERT INTO customers (customer_id) VALUES (?1) RETURNING ckey")?;
    let mut stmt = tx.prepare_cached(&sql)?;
    for row in 0..batch.num_rows() {
        let ckey = match customer {
            Some(c) => {
                let id = c.value(row);
                match keys.get(id).or_else(|| local.get(id)) {
                    Some(k) => ValueRef::Integer(*k),
                    None => {
                        let k: i64 = minimal.query_row([id], |r| r.get(0))?;
                        local.insert(id.to_string(), k);
                        out.minimal_customers += 1;
                        ValueRef::Integer(k)
                    }
                }
            }
            None => ValueRef::Null,
        };
        let key = kind.has_customer().then_some(ckey);
        let params = key.into_iter().chain(cols.iter().map(|c| c.get(row)));
        let changed = stmt.execute(rusqlite::params_from_iter(
            params.map(ToSqlOutput::Borrowed),
        ))?;
        if changed == 1 {
            out.stored += 1;
        } else {
            out.duplicates += 1;
        }
        on_row(row);
    }
    Ok(out)
}

fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
