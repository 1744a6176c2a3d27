//! The row pipeline shared by every format: parse, derive the event id,
//! build the batch, and keep or raise the rows that fail.

use crate::batch::BatchBuilder;
use crate::columns::Plan;
use crate::convert::{Fields, Program};
use crate::error::{IngestError, Reject, Unit};
use crate::options::OnError;
use crate::Chunk;
use clientela_table::{derive_event_id, parse_row, Value};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Accumulates the good rows and the rejects of the chunk being read.
pub(crate) struct Sink {
    builder: BatchBuilder,
    rejects: Vec<Reject>,
    /// How often each derived id was seen.
    occurrences: Occurrences,
    rows_read: u64,
    batch_rows: usize,
    on_error: OnError,
    unit: Unit,
    /// Whether rows without an event id get a derived one.
    derives: bool,
    /// Good rows over all chunks: the index of the next one.
    rows_out: u64,
    /// Every derived id, when kept by [`Sink::keep_derived`].
    derived: Option<Vec<Derived>>,
}

/// A derived event id: row `row` of the reader's output got occurrence
/// `occurrence` of the id with hash `key`. A file read in parts numbers
/// the occurrences per part; these let the parts be renumbered as one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Derived {
    /// The row, counting the good rows of every chunk.
    pub row: u64,
    /// The hash of the id without occurrence (see [`Sink::event_id`]).
    pub key: u64,
    /// The occurrence given in this part.
    pub occurrence: u32,
}

impl Sink {
    /// An empty sink for the plan's kind.
    pub fn new(plan: &Plan, batch_rows: usize, on_error: OnError, unit: Unit) -> Sink {
        Sink {
            builder: BatchBuilder::new(plan.kind, plan.reads(), plan.runs()),
            rejects: Vec::new(),
            occurrences: Occurrences::default(),
            rows_read: 0,
            batch_rows: batch_rows.max(1),
            on_error,
            unit,
            derives: plan.derives_ids(),
            rows_out: 0,
            derived: None,
        }
    }

    /// Keeps a list of the derived ids from now on.
    pub fn keep_derived(&mut self) {
        self.derived.get_or_insert_with(Vec::new);
    }

    /// The derived ids so far (with [`Sink::keep_derived`]).
    pub fn take_derived(&mut self) -> Vec<Derived> {
        self.derived
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Takes one record through the fast path; `false` when it must go to
    /// the row path instead (nothing was added then). The record's text
    /// must be valid UTF-8.
    pub fn fast_accept(&mut self, plan: &Plan, program: &Program, f: &Fields) -> bool {
        match program.convert(f, &mut self.builder) {
            Ok(needs_id) => {
                if let (true, Some(i)) = (needs_id, plan.event_id) {
                    let texts: Vec<_> = (0..f.spans.len()).map(|c| f.text(c)).collect();
                    let raw = plan.align(|c| texts.get(c).and_then(|t| t.as_deref()));
                    let id = self.event_id(plan, &raw);
                    self.builder.str(i, id.as_bytes());
                }
                self.builder.end_row();
                self.rows_read += 1;
                self.rows_out += 1;
                true
            }
            Err(_) => {
                self.builder.rollback();
                false
            }
        }
    }

    /// Whether the chunk is complete (enough good rows, or enough rejects).
    pub fn is_full(&self) -> bool {
        self.builder.len() >= self.batch_rows || self.rejects.len() >= self.batch_rows
    }

    /// Whether nothing was read since the last chunk.
    pub fn is_empty(&self) -> bool {
        self.rows_read == 0
    }

    /// Parses one aligned row; a bad value is raised or rejected.
    /// `render` gives the raw text for a reject.
    pub fn accept(
        &mut self,
        plan: &Plan,
        line: u64,
        raw: &[Option<&str>],
        render: impl FnOnce() -> String,
    ) -> Result<(), IngestError> {
        self.rows_read += 1;
        match parse_row(plan.kind, raw, &plan.ctx) {
            Ok(mut values) => {
                if let (true, Some(i)) = (self.derives, plan.event_id) {
                    if values[i] == Value::Null {
                        values[i] = Value::Text(self.event_id(plan, raw));
                    }
                }
                self.builder.push_row(&values);
                self.rows_out += 1;
                Ok(())
            }
            Err(e) => {
                let column = plan.column_of(e.field);
                self.refuse(
                    plan,
                    line,
                    column,
                    Some(e.field.to_string()),
                    e.message,
                    render,
                )
            }
        }
    }

    /// A record that cannot even be split into values (field count, UTF-8,
    /// JSON syntax).
    pub fn malformed(
        &mut self,
        plan: &Plan,
        line: u64,
        column: Option<String>,
        message: String,
        render: impl FnOnce() -> String,
    ) -> Result<(), IngestError> {
        self.rows_read += 1;
        self.refuse(plan, line, column, None, message, render)
    }

    fn refuse(
        &mut self,
        plan: &Plan,
        line: u64,
        column: Option<String>,
        field: Option<String>,
        message: String,
        render: impl FnOnce() -> String,
    ) -> Result<(), IngestError> {
        let reject = Reject {
            file: plan.file.clone(),
            unit: self.unit,
            line,
            column,
            field,
            message,
            raw: String::new(),
        };
        match self.on_error {
            OnError::Stop => Err(reject.to_error()),
            OnError::Skip => {
                self.rejects.push(Reject {
                    raw: render(),
                    ..reject
                });
                Ok(())
            }
        }
    }

    /// The derived id of a row without one: identical rows get increasing
    /// occurrence numbers, so two equal purchases stay two events and a
    /// re-read of the same file gives the same ids.
    fn event_id(&mut self, plan: &Plan, raw: &[Option<&str>]) -> String {
        let first = derive_event_id(plan.kind, raw, 0);
        // A collision of two different rows only adds a suffix: the ids stay
        // distinct (they differ in their content hash) and deterministic.
        let key = fnv1a(first.as_bytes());
        let n = self.occurrences.count(key);
        if let Some(d) = &mut self.derived {
            d.push(Derived {
                row: self.rows_out,
                key,
                occurrence: n,
            });
        }
        if n == 0 {
            first
        } else {
            derive_event_id(plan.kind, raw, n)
        }
    }

    /// The pending rows and rejects as a chunk; `bytes_read` as given.
    pub fn take(&mut self, bytes_read: u64) -> Chunk {
        let chunk = Chunk {
            kind: self.builder.kind(),
            batch: self.builder.finish(),
            rejects: std::mem::take(&mut self.rejects),
            rows_read: self.rows_read,
            bytes_read,
        };
        self.rows_read = 0;
        chunk
    }
}

/// FNV-1a, 64 bits: stable across runs, unlike `std`'s random hasher.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for &b in bytes {
        h = (h ^ b as u64).wrapping_mul(0x100000001b3);
    }
    h
}

/// A counter of 64-bit keys built for one lookup per row over millions of
/// rows: a flat open-addressing table of the keys (one cache miss, 8 bytes a
/// key, where a `HashMap<u64, u32>` takes two misses and 17 bytes), with the
/// counts of the rare repeated keys kept apart.
pub(crate) struct Occurrences {
    /// Keys, 0 for an empty slot; the length is a power of two.
    slots: Vec<u64>,
    len: usize,
    repeats: HashMap<u64, u32, BuildHasherDefault<KeyHasher>>,
}

impl Default for Occurrences {
    fn default() -> Self {
        Occurrences {
            slots: vec![0; 1 << 12],
            len: 0,
            repeats: HashMap::default(),
        }
    }
}

impl Occurrences {
    /// How many times `key` was counted before; counts it once more.
    pub fn count(&mut self, key: u64) -> u32 {
        let key = key.max(1);
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        match self.find(key) {
            Ok(_) => {
                let n = self.repeats.entry(key).or_insert(0);
                *n += 1;
                *n
            }
            Err(i) => {
                self.slots[i] = key;
                self.len += 1;
                0
            }
        }
    }

    /// `Ok(slot)` of `key`, or `Err(slot)` of the empty slot where it goes.
    fn find(&self, key: u64) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        // Fibonacci hashing: the top bits of the product are well mixed.
        let bits = self.slots.len().trailing_zeros();
        let mut i = (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - bits)) as usize;
        loop {
            match self.slots[i] {
                0 => return Err(i),
                k if k == key => return Ok(i),
                _ => i = (i + 1) & mask,
            }
        }
    }

    fn grow(&mut self) {
        let bigger = vec![0; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, bigger);
        for key in old.into_iter().filter(|&k| k != 0) {
            if let Err(i) = self.find(key) {
                self.slots[i] = key;
            }
        }
    }
}

/// The keys are hashes already: one multiplication mixes them enough.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100000001b3);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::ReadOptions;
    use clientela_core::RecordKind;
    use std::path::Path;

    fn plan() -> Plan {
        let opts = ReadOptions::default();
        let mut p = Plan::new(RecordKind::Lead, Path::new("leads.csv"), &opts).unwrap();
        p.resolve(vec!["customer_id".into(), "time".into()])
            .unwrap();
        p
    }

    #[test]
    fn identical_rows_get_distinct_stable_ids() {
        let p = plan();
        let ids = || {
            let mut s = Sink::new(&p, 10, OnError::Stop, Unit::Line);
            for row in [
                ["c1", "2024-01-01"],
                ["c1", "2024-01-01"],
                ["c2", "2024-01-01"],
            ] {
                let raw = p.align(|i| Some(row[i]));
                s.accept(&p, 2, &raw, String::new).unwrap();
            }
            let b = s.take(0).batch;
            let col = b
                .column(0)
                .as_any()
                .downcast_ref::<arrow::array::StringArray>()
                .unwrap();
            col.iter()
                .map(|v| v.unwrap().to_string())
                .collect::<Vec<_>>()
        };
        let a = ids();
        assert_eq!(a.len(), 3);
        assert_ne!(a[0], a[1]);
        assert!(a[1].ends_with(":1"), "{}", a[1]);
        assert_eq!(a, ids());
    }

    #[test]
    fn occurrences_count_each_key_through_growth() {
        let mut o = Occurrences::default();
        let keys: Vec<u64> = (0..20_000u64).map(|i| fnv1a(&i.to_le_bytes())).collect();
        assert!(keys.iter().all(|&k| o.count(k) == 0));
        assert!(o.slots.len() > 20_000 && o.len == 20_000);
        assert_eq!(o.count(keys[7]), 1);
        assert_eq!(o.count(keys[7]), 2);
        assert_eq!(o.count(keys[19_999]), 1);
        // 0 marks an empty slot: it is counted as 1.
        assert_eq!((o.count(0), o.count(1), o.count(0)), (0, 1, 2));
    }

    #[test]
    fn skip_keeps_rejects_and_stop_raises() {
        let p = plan();
        let mut s = Sink::new(&p, 10, OnError::Skip, Unit::Line);
        let raw = p.align(|i| Some(["c1", "someday"][i]));
        s.accept(&p, 5, &raw, || "c1,someday".into()).unwrap();
        let c = s.take(9);
        assert_eq!((c.rows_read, c.batch.num_rows(), c.bytes_read), (1, 0, 9));
        assert_eq!(c.rejects[0].line, 5);
        assert_eq!(c.rejects[0].column.as_deref(), Some("time"));
        assert_eq!(c.rejects[0].raw, "c1,someday");
        let mut s = Sink::new(&p, 10, OnError::Stop, Unit::Line);
        let e = s.accept(&p, 5, &raw, String::new).unwrap_err().to_string();
        assert!(
            e.starts_with("leads.csv line 5, column \"time\" (field time): invalid time"),
            "{e}"
        );
    }
}
