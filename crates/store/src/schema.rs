//! The SQLite schema, created from the canonical field specs, and its
//! versioned migrations.

use crate::StoreError;
use clientela_core::{FieldType, RecordKind};
use rusqlite::Connection;

/// Latest schema version; `PRAGMA user_version` holds the file's.
pub const SCHEMA_VERSION: i64 = 2;

/// SQLite column type of a field.
pub(crate) fn sql_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Time | FieldType::Int { .. } | FieldType::Money | FieldType::Bool => "INTEGER",
        _ => "TEXT",
    }
}

/// The columns of a kind's table besides `ckey`, in spec order, with
/// `customer_id` left out of events (they carry `ckey` instead).
pub(crate) fn stored_fields(kind: RecordKind) -> Vec<(String, FieldType)> {
    kind.fields()
        .iter()
        .filter(|f| !(kind != RecordKind::Customer && f.name == "customer_id"))
        .map(|f| (f.column(), f.ty))
        .collect()
}

fn create_v1(kind: RecordKind) -> String {
    let cols: Vec<String> = stored_fields(kind)
        .into_iter()
        .map(|(name, ty)| match name.as_str() {
            "event_id" => "event_id TEXT NOT NULL UNIQUE".to_string(),
            "customer_id" => "customer_id TEXT NOT NULL UNIQUE".to_string(),
            _ => format!("{name} {}", sql_type(ty)),
        })
        .collect();
    match kind {
        RecordKind::Customer => format!(
            "CREATE TABLE customers (ckey INTEGER PRIMARY KEY, {}, described INTEGER NOT NULL DEFAULT 0)",
            cols.join(", ")
        ),
        k if k.has_customer() => format!(
            "CREATE TABLE {} (ckey INTEGER NOT NULL REFERENCES customers(ckey), {})",
            k.table(),
            cols.join(", ")
        ),
        k => format!("CREATE TABLE {} ({})", k.table(), cols.join(", ")),
    }
}

/// Brings the schema up to [`SCHEMA_VERSION`], one version per transaction.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version < 1 {
        let tx = conn.transaction()?;
        tx.execute_batch(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             INSERT INTO meta VALUES ('generation', '0');",
        )?;
        for kind in RecordKind::ALL {
            tx.execute_batch(&create_v1(kind))?;
        }
        tx.execute_batch("PRAGMA user_version = 1")?;
        tx.commit()?;
    }
    if version < 2 {
        // Version 2: user-defined segments.
        let tx = conn.transaction()?;
        tx.execute_batch(
            "CREATE TABLE segments (name TEXT PRIMARY KEY, expression TEXT NOT NULL,
                 description TEXT NOT NULL DEFAULT '', saved_at TEXT NOT NULL);
             PRAGMA user_version = 2;",
        )?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_creates_every_table_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        for k in RecordKind::ALL {
            let n: i64 = conn
                .query_row(&format!("SELECT count(*) FROM {}", k.table()), [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(n, 0);
        }
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
    }

    #[test]
    fn a_version_1_file_gains_segments_and_keeps_its_rows() {
        let mut conn = Connection::open_in_memory().unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute_batch(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             INSERT INTO meta VALUES ('generation', '7');",
        )
        .unwrap();
        for kind in RecordKind::ALL {
            tx.execute_batch(&create_v1(kind)).unwrap();
        }
        tx.execute_batch("PRAGMA user_version = 1").unwrap();
        tx.commit().unwrap();
        migrate(&mut conn).unwrap();
        let generation: String = conn
            .query_row("SELECT value FROM meta WHERE key = 'generation'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(generation, "7");
        let n: i64 = conn
            .query_row("SELECT count(*) FROM segments", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }

    #[test]
    fn a_newer_file_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA user_version = 99").unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(StoreError::TooNew { found: 99, .. })
        ));
    }
}
