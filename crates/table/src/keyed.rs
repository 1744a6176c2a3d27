//! Keyed tables: the engine's input, with customers as dense integer keys.
//!
//! Comparing and hashing customer ids as strings on every event costs more
//! than the metric itself on millions of rows, so before any plan runs each
//! customer gets a dense key `ck` (0, 1, 2, …). In the keyed tables the
//! `customer_id` column of events is replaced by `ck`, the `event_id`
//! (only needed for idempotent ingest) is dropped, and the customers table
//! gains `ck` as its first column. The store produces keyed tables directly
//! from its integer keys; files read without a store are keyed here.

use crate::dense_keys::{dense_keys, IdColumn};
use crate::schema::schema_for;
use crate::split::KeySplit;
use arrow::array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use clientela_core::RecordKind;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Name of the dense customer key column.
pub const KEY: &str = "ck";

/// The schema of a kind's keyed table.
pub fn keyed_schema(kind: RecordKind) -> SchemaRef {
    let canonical = schema_for(kind);
    let mut fields: Vec<Field> = Vec::new();
    if kind == RecordKind::Customer {
        fields.push(Field::new(KEY, DataType::Int64, false));
    }
    for f in canonical.fields() {
        match f.name().as_str() {
            "event_id" => {}
            "customer_id" if kind != RecordKind::Customer => {
                fields.push(Field::new(KEY, DataType::Int64, false))
            }
            _ => fields.push(f.as_ref().clone()),
        }
    }
    Arc::new(Schema::new(fields))
}

/// Every table of a data set, keyed, ready for the engine.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// Batches per kind, each of [`keyed_schema`] of its kind. Every kind is
    /// present (possibly with no batches) once built by [`Dataset::new`].
    pub tables: BTreeMap<RecordKind, Vec<RecordBatch>>,
    /// How the batches are split by customer key, when they are
    /// ([`KeySplit`]); `None`: in no particular order.
    pub split: Option<KeySplit>,
}

impl Dataset {
    /// A data set with an empty table for every kind.
    pub fn new() -> Self {
        Dataset {
            tables: RecordKind::ALL
                .into_iter()
                .map(|k| (k, Vec::new()))
                .collect(),
            split: None,
        }
    }

    /// Rows of one kind.
    pub fn rows(&self, kind: RecordKind) -> usize {
        self.tables
            .get(&kind)
            .map_or(0, |b| b.iter().map(|b| b.num_rows()).sum())
    }

    /// Keeps, for each kind where `columns` says which, only those columns
    /// (in table order); other kinds are kept whole. Frees the memory of
    /// columns no metric reads.
    pub fn project(
        self,
        columns: impl Fn(RecordKind) -> Option<&'static [&'static str]>,
    ) -> Dataset {
        let tables = self
            .tables
            .into_iter()
            .map(|(kind, batches)| match columns(kind) {
                None => (kind, batches),
                Some(keep) => {
                    let indices = projection(kind, keep);
                    let batches = batches
                        .iter()
                        .map(|b| b.project(&indices).expect("indices of the keyed schema"))
                        .collect();
                    (kind, batches)
                }
            })
            .collect();
        // A projection keeps every batch: the split still holds.
        Dataset {
            tables,
            split: self.split,
        }
    }

    /// Keys canonical batches (with `customer_id` strings): every customer id
    /// seen in any table gets a key; ids referenced by events but never
    /// described get a minimal customer row (only `ck` and `customer_id`).
    pub fn from_canonical(input: &BTreeMap<RecordKind, Vec<RecordBatch>>) -> Dataset {
        let customers = input
            .get(&RecordKind::Customer)
            .cloned()
            .unwrap_or_default();
        let events: Vec<(RecordKind, &[RecordBatch])> = RecordKind::ALL
            .into_iter()
            .filter(|k| *k != RecordKind::Customer)
            .map(|k| (k, input.get(&k).map(Vec::as_slice).unwrap_or(&[])))
            .collect();
        // Described customers first, so their keys follow the register's order.
        let mut id_columns: Vec<IdColumn> = customers.iter().map(id_column).collect();
        for (kind, batches) in &events {
            if kind.has_customer() {
                id_columns.extend(batches.iter().map(id_column));
            }
        }
        let (keys, ids) = dense_keys(&id_columns, customers.len());
        let mut keys = keys.into_iter();
        let mut described: Vec<(i64, usize, usize)> = Vec::new();
        for (bi, b) in customers.iter().enumerate() {
            let ck = keys.next().expect("a key column per id column");
            described.extend((0..b.num_rows()).map(|row| (ck.value(row), bi, row)));
        }
        let mut out = Dataset::new();
        for (kind, batches) in events {
            let schema = keyed_schema(kind);
            let keyed = batches
                .iter()
                .map(|b| {
                    let ck = kind.has_customer().then(|| {
                        Arc::new(keys.next().expect("a key column per id column")) as ArrayRef
                    });
                    project(b, &schema, ck)
                })
                .collect();
            out.tables.insert(kind, keyed);
        }
        out.tables.insert(
            RecordKind::Customer,
            customer_table(&customers, &described, &ids),
        );
        out
    }
}

/// Indices in [`keyed_schema`] of `kind` of the named columns, in table order.
pub fn projection(kind: RecordKind, keep: &[&str]) -> Vec<usize> {
    keyed_schema(kind)
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| keep.contains(&f.name().as_str()))
        .map(|(i, _)| i)
        .collect()
}

/// The keyed customers table: one row per key, described or minimal.
fn customer_table(
    customers: &[RecordBatch],
    described: &[(i64, usize, usize)],
    ids: &[&str],
) -> Vec<RecordBatch> {
    let schema = keyed_schema(RecordKind::Customer);
    // Usually each customer is described once, and so got the key of its
    // row: the described batches are then the table as they are (with `ck`
    // added), and the customers only events name follow as minimal rows.
    if described
        .iter()
        .enumerate()
        .all(|(i, &(k, _, _))| k == i as i64)
    {
        return customers_in_key_order(customers, ids, &schema);
    }
    // Last description of a customer wins (a later export updates attributes).
    let mut source: Vec<Option<(usize, usize)>> = vec![None; ids.len()];
    for &(k, bi, row) in described {
        source[k as usize] = Some((bi, row));
    }
    let ck: ArrayRef = Arc::new(Int64Array::from_iter_values(0..ids.len() as i64));
    let mut columns = vec![ck];
    let canonical = schema_for(RecordKind::Customer);
    for (ci, field) in canonical.fields().iter().enumerate() {
        if field.name() == "customer_id" {
            columns.push(Arc::new(StringArray::from_iter_values(ids.iter())));
            continue;
        }
        let sources: Vec<ArrayRef> = customers.iter().map(|b| b.column(ci).clone()).collect();
        let null = arrow::array::new_null_array(field.data_type(), 1);
        let mut refs: Vec<&dyn Array> = sources.iter().map(|a| a.as_ref()).collect();
        refs.push(null.as_ref());
        let null_index = sources.len();
        let indices: Vec<(usize, usize)> = source
            .iter()
            .map(|s| s.unwrap_or((null_index, 0)))
            .collect();
        columns.push(arrow::compute::interleave(&refs, &indices).expect("same column types"));
    }
    vec![RecordBatch::try_new(schema, columns).expect("keyed customers schema")]
}

/// The keyed customers table when the described rows are keys `0..n` in
/// order: each described batch keeps its columns (no copy), and a batch of
/// minimal rows (`ck` and `customer_id` only) holds keys `n..ids.len()`.
fn customers_in_key_order(
    customers: &[RecordBatch],
    ids: &[&str],
    schema: &SchemaRef,
) -> Vec<RecordBatch> {
    let mut out = Vec::with_capacity(customers.len() + 1);
    let mut next = 0i64;
    for b in customers {
        let rows = b.num_rows() as i64;
        let ck: ArrayRef = Arc::new(Int64Array::from_iter_values(next..next + rows));
        let columns = std::iter::once(ck)
            .chain(b.columns().iter().cloned())
            .collect();
        out.push(RecordBatch::try_new(schema.clone(), columns).expect("keyed customers schema"));
        next += rows;
    }
    let minimal = &ids[next as usize..];
    if !minimal.is_empty() || out.is_empty() {
        let columns = schema
            .fields()
            .iter()
            .map(|f| -> ArrayRef {
                match f.name().as_str() {
                    KEY => Arc::new(Int64Array::from_iter_values(next..ids.len() as i64)),
                    "customer_id" => Arc::new(StringArray::from_iter_values(minimal)),
                    _ => arrow::array::new_null_array(f.data_type(), minimal.len()),
                }
            })
            .collect();
        out.push(RecordBatch::try_new(schema.clone(), columns).expect("keyed customers schema"));
    }
    out
}

/// The customer ids of a canonical batch.
fn id_column(b: &RecordBatch) -> IdColumn<'_> {
    b.column_by_name("customer_id")
        .and_then(|c| IdColumn::of(c.as_ref()))
        .expect("canonical batches have a customer_id of text or a dictionary of texts")
}

/// Takes the columns of `schema` from a canonical batch, `ck` given.
fn project(b: &RecordBatch, schema: &SchemaRef, ck: Option<ArrayRef>) -> RecordBatch {
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            if f.name() == KEY {
                ck.clone().expect("key column computed")
            } else {
                b.column_by_name(f.name())
                    .expect("canonical column")
                    .clone()
            }
        })
        .collect();
    RecordBatch::try_new(schema.clone(), columns).expect("keyed schema")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KindBuilder, Value};

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn events_get_dense_keys_and_unknown_customers_a_minimal_row() {
        let mut c = KindBuilder::new(RecordKind::Customer);
        let mut row = vec![Value::Null; RecordKind::Customer.fields().len()];
        row[0] = text("alice");
        row[4] = text("IT");
        c.push(&row);
        let mut o = KindBuilder::new(RecordKind::Order);
        for (id, who) in [("o1", "bob"), ("o2", "alice"), ("o3", "bob")] {
            o.push(&[
                text(id),
                text(who),
                Value::Time(0),
                Value::Int(100),
                text("EUR"),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
            ]);
        }
        let mut input = BTreeMap::new();
        input.insert(RecordKind::Customer, vec![c.finish()]);
        input.insert(RecordKind::Order, vec![o.finish()]);
        let ds = Dataset::from_canonical(&input);
        let orders = &ds.tables[&RecordKind::Order][0];
        assert_eq!(orders.schema(), keyed_schema(RecordKind::Order));
        let ck = orders
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(ck.values(), &[1, 0, 1], "alice described first gets 0");
        assert_eq!(
            customer_rows(&ds),
            [
                (0, "alice".to_string(), Some("IT".to_string())),
                (1, "bob".to_string(), None)
            ],
            "bob is a minimal record"
        );
        assert_eq!(ds.rows(RecordKind::Spend), 0);
    }

    /// The customers' rows of `ds` as (ck, customer_id, country), in order.
    fn customer_rows(ds: &Dataset) -> Vec<(i64, String, Option<String>)> {
        ds.tables[&RecordKind::Customer]
            .iter()
            .flat_map(|b| {
                let ck = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                let text = |name: &str| {
                    let c = b.column_by_name(name).unwrap();
                    c.as_any().downcast_ref::<StringArray>().unwrap().clone()
                };
                let (id, country) = (text("customer_id"), text("country"));
                (0..b.num_rows())
                    .map(|i| {
                        let c = (!country.is_null(i)).then(|| country.value(i).to_string());
                        (ck.value(i), id.value(i).to_string(), c)
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn customers(rows: &[(&str, &str)]) -> RecordBatch {
        let mut c = KindBuilder::new(RecordKind::Customer);
        for (id, country) in rows {
            let mut row = vec![Value::Null; RecordKind::Customer.fields().len()];
            row[0] = text(id);
            row[4] = text(country);
            c.push(&row);
        }
        c.finish()
    }

    #[test]
    fn a_customer_described_twice_keeps_the_last_description() {
        let mut input = BTreeMap::new();
        let batch = customers(&[("alice", "IT"), ("bob", "FR"), ("alice", "DE")]);
        input.insert(RecordKind::Customer, vec![batch]);
        let got = customer_rows(&Dataset::from_canonical(&input));
        let want = [(0, "alice", "DE"), (1, "bob", "FR")];
        let want: Vec<_> = want
            .iter()
            .map(|(k, id, c)| (*k, id.to_string(), Some(c.to_string())))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn customers_described_once_keep_their_batches_then_minimal_rows() {
        let mut input = BTreeMap::new();
        let batches = vec![
            customers(&[("a", "IT"), ("b", "FR")]),
            customers(&[("c", "DE")]),
        ];
        input.insert(RecordKind::Customer, batches);
        let mut r = KindBuilder::new(RecordKind::Referral);
        let mut row = vec![Value::Null; RecordKind::Referral.fields().len()];
        row[0] = text("r1");
        row[1] = text("z");
        row[2] = Value::Time(0);
        row[3] = text("a");
        r.push(&row);
        input.insert(RecordKind::Referral, vec![r.finish()]);
        let ds = Dataset::from_canonical(&input);
        assert_eq!(
            ds.tables[&RecordKind::Customer].len(),
            3,
            "two described, one minimal"
        );
        let got = customer_rows(&ds);
        let want = [
            (0, "a", Some("IT")),
            (1, "b", Some("FR")),
            (2, "c", Some("DE")),
            (3, "z", None),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|(k, id, c)| (*k, id.to_string(), c.map(str::to_string)))
            .collect();
        assert_eq!(got, want);
    }
}
