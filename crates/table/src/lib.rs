//! clientela-table: the canonical tables as Arrow record batches.
//!
//! For each record kind of [`clientela_core::RecordKind`] this crate gives the
//! Arrow schema, a parser from raw text fields to typed values (with the
//! field named in every error) and a builder that turns rows into a
//! `RecordBatch`. Input files, the store, the demo generator and the engine
//! all meet here, so a column means the same thing everywhere.
#![deny(missing_docs)]

mod builder;
mod dense_keys;
mod keyed;
mod parse;
mod renumber;
mod schema;
mod split;
mod threads;
pub use threads::map_in_order;

pub use builder::{KindBuilder, Value};
pub use keyed::{keyed_schema, projection, Dataset, KEY};
pub use parse::{derive_event_id, parse_row, FieldError, RowContext};
pub use schema::{schema_for, TIME_ZONE};
pub use split::{
    fingerprint, group_by_counts, split_by_key, KeyOrder, KeyPartitioner, KeySplit,
    SPLIT_BATCH_ROWS,
};

pub use arrow;
