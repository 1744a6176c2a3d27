//! Row writers over [`KindBuilder`] that reuse their text buffers, and the
//! set of them one chunk of people writes into.

use crate::window::daily_rhythm;
use arrow::array::Array;
use arrow::record_batch::RecordBatch;
use clientela_core::RecordKind;
use clientela_table::{KindBuilder, Value};
use std::fmt::{self, Write};

/// Most rows in one output batch.
pub const BATCH_ROWS: usize = 100_000;

/// Writes rows of one kind, field by field in the kind's field order.
pub(crate) struct Sink {
    builder: KindBuilder,
    row: Vec<Value>,
    pos: usize,
    batches: Vec<RecordBatch>,
}

impl Sink {
    pub fn new(kind: RecordKind) -> Self {
        Sink {
            builder: KindBuilder::new(kind),
            row: vec![Value::Null; kind.fields().len()],
            pos: 0,
            batches: Vec::new(),
        }
    }

    fn slot(&mut self) -> &mut Value {
        let v = &mut self.row[self.pos];
        self.pos += 1;
        v
    }

    fn text_slot(&mut self) -> &mut String {
        let v = self.slot();
        if !matches!(v, Value::Text(_)) {
            *v = Value::Text(String::with_capacity(16));
        }
        match v {
            Value::Text(s) => {
                s.clear();
                s
            }
            _ => unreachable!("set to text above"),
        }
    }

    /// Next field: formatted text.
    pub fn fmt(&mut self, args: fmt::Arguments<'_>) -> &mut Self {
        self.text_slot()
            .write_fmt(args)
            .expect("writing to a String");
        self
    }

    /// Next field: text written by `write` into the (cleared) buffer.
    pub fn with(&mut self, write: impl FnOnce(&mut String)) -> &mut Self {
        write(self.text_slot());
        self
    }

    /// Next field: an event id `<prefix><stem>-<n>`, e.g. `o12-3`.
    pub fn id(&mut self, prefix: &str, stem: &str, n: usize) -> &mut Self {
        let s = self.text_slot();
        s.push_str(prefix);
        s.push_str(stem);
        s.push('-');
        push_int(s, n as u64);
        self
    }

    /// Next field: text.
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.text_slot().push_str(s);
        self
    }

    /// Next field: text or null.
    pub fn opt_str(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.str(s),
            None => self.null(),
        }
    }

    /// Next field: an integer (or money in minor units).
    pub fn int(&mut self, i: i64) -> &mut Self {
        *self.slot() = Value::Int(i);
        self
    }

    /// Next field: a time in µs UTC, moved within its day to follow the
    /// daily rhythm of activity (generators draw times uniform over the day).
    pub fn time(&mut self, t: i64) -> &mut Self {
        *self.slot() = Value::Time(daily_rhythm(t));
        self
    }

    /// Next field: a boolean.
    pub fn bool(&mut self, b: bool) -> &mut Self {
        *self.slot() = Value::Bool(b);
        self
    }

    /// Next field: null.
    pub fn null(&mut self) -> &mut Self {
        *self.slot() = Value::Null;
        self
    }

    /// Ends the row: every field must have been written.
    pub fn end(&mut self) {
        assert_eq!(
            self.pos,
            self.row.len(),
            "fields written for {}",
            self.builder.kind()
        );
        self.pos = 0;
        self.builder.push(&self.row);
        if self.builder.len() >= BATCH_ROWS {
            let batch = self.builder.finish();
            self.batches.push(shrink(batch));
        }
    }

    /// The batches written, the last one possibly short.
    pub fn finish(mut self) -> Vec<RecordBatch> {
        if !self.builder.is_empty() {
            let batch = self.builder.finish();
            self.batches.push(shrink(batch));
        }
        self.batches
    }
}

/// Appends `v` in decimal, without the formatting machinery.
pub(crate) fn push_int(s: &mut String, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut k = digits.len();
    loop {
        k -= 1;
        digits[k] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    s.extend(digits[k..].iter().map(|&d| char::from(d)));
}

/// Gives back the spare capacity the builders' doubling left in the buffers.
pub(crate) fn shrink(batch: RecordBatch) -> RecordBatch {
    let (schema, mut columns, _) = batch.into_parts();
    for c in &mut columns {
        c.shrink_to_fit();
    }
    RecordBatch::try_new(schema, columns).expect("same columns")
}

/// One sink per record kind.
pub(crate) struct Sinks {
    pub customers: Sink,
    pub leads: Sink,
    pub orders: Sink,
    pub subscriptions: Sink,
    pub support: Sink,
    pub contacts: Sink,
    pub usage: Sink,
    pub surveys: Sink,
    pub referrals: Sink,
    pub loyalty: Sink,
    pub spend: Sink,
}

impl Sinks {
    pub fn new() -> Self {
        Sinks {
            customers: Sink::new(RecordKind::Customer),
            leads: Sink::new(RecordKind::Lead),
            orders: Sink::new(RecordKind::Order),
            subscriptions: Sink::new(RecordKind::Subscription),
            support: Sink::new(RecordKind::Support),
            contacts: Sink::new(RecordKind::Contact),
            usage: Sink::new(RecordKind::Usage),
            surveys: Sink::new(RecordKind::Survey),
            referrals: Sink::new(RecordKind::Referral),
            loyalty: Sink::new(RecordKind::Loyalty),
            spend: Sink::new(RecordKind::Spend),
        }
    }

    /// The batches of every kind, in [`RecordKind::ALL`] order.
    pub fn finish(self) -> [(RecordKind, Vec<RecordBatch>); 11] {
        [
            (RecordKind::Customer, self.customers.finish()),
            (RecordKind::Lead, self.leads.finish()),
            (RecordKind::Order, self.orders.finish()),
            (RecordKind::Subscription, self.subscriptions.finish()),
            (RecordKind::Support, self.support.finish()),
            (RecordKind::Contact, self.contacts.finish()),
            (RecordKind::Usage, self.usage.finish()),
            (RecordKind::Survey, self.surveys.finish()),
            (RecordKind::Referral, self.referrals.finish()),
            (RecordKind::Loyalty, self.loyalty.finish()),
            (RecordKind::Spend, self.spend.finish()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::StringArray;

    #[test]
    fn rows_are_written_in_field_order_and_buffers_reused() {
        let mut s = Sink::new(RecordKind::Usage);
        for k in 0..3 {
            s.fmt(format_args!("u1-{k}"))
                .str("C0000001")
                .time(k)
                .str("login")
                .null()
                .end();
        }
        let batches = s.finish();
        assert_eq!(batches.len(), 1);
        let ids = batches[0]
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        assert_eq!(ids.value(2), "u1-2");
        assert!(batches[0].column(4).is_null(1));
    }

    #[test]
    fn integers_are_written_in_decimal() {
        let mut s = String::new();
        for v in [0, 7, 10, 12_345, u64::MAX] {
            s.clear();
            push_int(&mut s, v);
            assert_eq!(s, v.to_string());
        }
    }

    #[test]
    #[should_panic(expected = "fields written")]
    fn a_short_row_panics() {
        let mut s = Sink::new(RecordKind::Usage);
        s.str("u1").end();
    }
}
