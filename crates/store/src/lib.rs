//! clientela-store: the embedded store, one SQLite file in WAL mode.
//!
//! SQLite is the durable source of truth for customers and events: every
//! import batch is one transaction (a crash leaves the store as before the
//! batch), every event is keyed by its `event_id` so a re-import changes
//! nothing, and customers get dense integer keys that the engine uses as-is.
//! Because scanning millions of rows out of SQLite is slow, the store keeps
//! a columnar copy (Arrow IPC files) beside the database, rebuilt whenever
//! the database has changed since it was written. It also keeps the
//! user-defined segments (filter expressions saved by name).
#![deny(missing_docs)]

mod error;
mod import;
mod load;
mod schema;
mod segments;
mod snapshot;

pub use error::StoreError;
pub use import::BatchOutcome;
pub use segments::{check_segment_name, Segment};

use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// Default file name of the store in the working directory.
pub const DEFAULT_DB: &str = "clientela.db";

/// An open store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Customer id → key, loaded lazily on the first import.
    keys: Option<std::collections::HashMap<String, i64>>,
}

impl Store {
    /// Opens (creating if needed) the store at `path` and brings its schema
    /// up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = Connection::open(path).map_err(|e| StoreError::open(path, e))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .and_then(|_| conn.pragma_update(None, "synchronous", "NORMAL"))
            .and_then(|_| conn.pragma_update(None, "foreign_keys", "ON"))
            // The unique event_id indexes take random inserts: a 128 MiB page
            // cache (default 2 MiB) keeps their hot pages in memory on large imports.
            .and_then(|_| conn.pragma_update(None, "cache_size", -131_072))
            .map_err(|e| StoreError::open(path, e))?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            keys: None,
        };
        schema::migrate(&mut store.conn)?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A counter that grows with every committed change; the columnar copy
    /// records the generation it was made from.
    pub fn generation(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'generation'", [], |r| {
                r.get::<_, String>(0)
            })?
            .parse()
            .unwrap_or(0))
    }

    /// Number of rows stored per table, in canonical order.
    pub fn counts(&self) -> Result<Vec<(clientela_core::RecordKind, u64)>, StoreError> {
        clientela_core::RecordKind::ALL
            .into_iter()
            .map(|k| {
                let n: i64 = self.conn.query_row(
                    &format!("SELECT count(*) FROM {}", k.table()),
                    [],
                    |r| r.get(0),
                )?;
                Ok((k, n as u64))
            })
            .collect()
    }
}
