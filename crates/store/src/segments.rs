//! User-defined segments (seed 000): filter expressions saved by name, so
//! that every report can be restricted to one with `--segment NAME`.
//!
//! The store keeps only the text; the engine checks and evaluates it (an
//! expression over its per-customer table), so a segment always follows
//! the data and settings of the report it is used in.

use crate::{Store, StoreError};
use rusqlite::OptionalExtension;

/// A saved segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Its name: letters, digits, `_` and `-`.
    pub name: String,
    /// The filter expression (SQL, over the per-customer table).
    pub expression: String,
    /// What it is for, as the user wrote it (may be empty).
    pub description: String,
    /// When it was last saved (UTC, RFC 3339).
    pub saved_at: String,
}

/// Longest accepted segment name.
const MAX_NAME: usize = 64;

/// Checks a segment name: 1 to 64 letters, digits, `_` or `-`, starting
/// with a letter (names appear in file names and on the command line).
pub fn check_segment_name(name: &str) -> Result<(), StoreError> {
    let ok = name.len() <= MAX_NAME
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Segment(format!(
            "segment name {name:?}: expected 1 to {MAX_NAME} letters, digits, '_' or '-', starting with a letter"
        )))
    }
}

impl Store {
    /// Saves (or replaces) a segment; returns whether it replaced one.
    /// Segments are not data: saving one leaves the columnar copy valid.
    pub fn save_segment(
        &mut self,
        name: &str,
        expression: &str,
        description: &str,
    ) -> Result<bool, StoreError> {
        check_segment_name(name)?;
        if expression.trim().is_empty() {
            return Err(StoreError::Segment(format!(
                "segment {name:?}: the expression is empty"
            )));
        }
        let replaced = self.segment(name)?.is_some();
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        self.conn.execute(
            "INSERT INTO segments (name, expression, description, saved_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (name) DO UPDATE SET expression = ?2, description = ?3, saved_at = ?4",
            (name, expression.trim(), description, now),
        )?;
        Ok(replaced)
    }

    /// The segment of that name, if saved.
    pub fn segment(&self, name: &str) -> Result<Option<Segment>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT name, expression, description, saved_at FROM segments WHERE name = ?1",
                [name],
                row_segment,
            )
            .optional()?)
    }

    /// The segment of that name, or an error listing the saved ones.
    pub fn require_segment(&self, name: &str) -> Result<Segment, StoreError> {
        match self.segment(name)? {
            Some(s) => Ok(s),
            None => {
                let names: Vec<String> = self.segments()?.into_iter().map(|s| s.name).collect();
                Err(StoreError::Segment(format!(
                    "no segment named {name:?} in {}; saved segments: {}",
                    self.path.display(),
                    if names.is_empty() {
                        "none (save one with `clientela segment save NAME EXPRESSION`)".into()
                    } else {
                        names.join(", ")
                    }
                )))
            }
        }
    }

    /// Every saved segment, by name.
    pub fn segments(&self) -> Result<Vec<Segment>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT name, expression, description, saved_at FROM segments ORDER BY name",
        )?;
        let rows = stmt.query_map([], row_segment)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Removes a segment; returns whether there was one.
    pub fn remove_segment(&mut self, name: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .execute("DELETE FROM segments WHERE name = ?1", [name])?
            > 0)
    }
}

fn row_segment(r: &rusqlite::Row<'_>) -> rusqlite::Result<Segment> {
    Ok(Segment {
        name: r.get(0)?,
        expression: r.get(1)?,
        description: r.get(2)?,
        saved_at: r.get(3)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain() {
        for good in ["vip", "Top-10", "it_loyal2"] {
            assert!(check_segment_name(good).is_ok(), "{good}");
        }
        for bad in ["", "1st", "a b", "a;b", "ü", &"x".repeat(65)] {
            let e = check_segment_name(bad).unwrap_err().to_string();
            assert!(e.contains("expected 1 to 64"), "{bad}: {e}");
        }
    }
}
