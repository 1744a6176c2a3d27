//! One record of delimited text straight into the columns of a chunk.
//!
//! [`Program::convert`] does what `plan.align` + `parse_row` +
//! `KindBuilder::push` do for a row, without a `String` per value: it reads
//! each field from the record's bytes into its column. It gives up
//! ([`Fallback`]) on the first value it cannot take as it stands — a bad
//! value, but also a quoted number or text that is not UTF-8 — and the
//! caller rolls the row back and hands it to the row parser, which takes the
//! row or names what is wrong with it. Good values it reads with the same
//! functions as the row parser (or a quicker reading of a subset of their
//! input, see [`crate::values`]), so both paths give the same batches.

use crate::batch::BatchBuilder;
use crate::columns::Plan;
use crate::values;
use clientela_core::time::TimeParser;
use clientela_core::{Currency, FieldType, Money, RecordKind};
use std::cell::Cell;

/// Where a field's content lies in a record's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    /// First byte of the content (after an opening quote).
    pub start: usize,
    /// End of the content (before a closing quote).
    pub end: usize,
    /// Whether the field was quoted: its content may hold doubled quotes.
    pub quoted: bool,
}

/// The fields of one record.
pub(crate) struct Fields<'a> {
    /// The bytes the spans point into.
    pub bytes: &'a [u8],
    /// The fields, in file order.
    pub spans: &'a [Span],
}

impl Fields<'_> {
    /// Field `i` as text, doubled quotes made single (the record is UTF-8).
    pub fn text(&self, i: usize) -> Option<std::borrow::Cow<'_, str>> {
        let s = self.spans.get(i)?;
        let raw = &self.bytes[s.start..s.end];
        if s.quoted && memchr::memchr(b'"', raw).is_some() {
            let mut out = Vec::with_capacity(raw.len());
            values::unescape_into(raw, &mut out);
            return Some(String::from_utf8_lossy(&out).into_owned().into());
        }
        Some(String::from_utf8_lossy(raw))
    }
}

/// The fast path cannot take this row as it stands.
#[derive(Debug)]
pub(crate) struct Fallback;

/// What a field takes when its column is absent or blank.
enum Absent {
    Null,
    Required,
    /// The `--set` constant, else the field's default (trimmed).
    Text(String),
}

struct Op {
    field: usize,
    source: Option<usize>,
    ty: FieldType,
    absent: Absent,
}

/// A field's text: trimmed, doubled quotes still doubled when `quoted`.
#[derive(Clone, Copy)]
struct Text<'a> {
    bytes: &'a [u8],
    quoted: bool,
}

const TRUE: [&str; 5] = ["true", "1", "yes", "y", "t"];
const FALSE: [&str; 5] = ["false", "0", "no", "n", "f"];

/// How the records of one file become columns; made once per file.
pub(crate) struct Program {
    /// The fields to read, in order.
    ops: Vec<Op>,
    /// Index in `ops` of the currency: money needs it first.
    currency: Option<usize>,
    /// Index of `event_id` when missing ids are derived.
    derive: Option<usize>,
    /// Indices of `survey` and `score` (surveys check one with the other).
    survey: Option<(usize, usize)>,
    /// The file's column count.
    columns: usize,
    time: TimeParser,
    /// Whether the quick ISO reading of times applies (no `--date-format`).
    iso: bool,
    /// Whether times without an offset are in UTC.
    naive_utc: bool,
    dates: values::Dates,
    /// The last currency seen and its exponent: most files have one.
    last_currency: Cell<Option<([u8; 3], Currency, u32)>>,
}

impl Program {
    /// The program for a plan whose columns are resolved.
    pub fn new(plan: &Plan) -> Program {
        let fields = plan.fields();
        let ops: Vec<Op> = fields
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let constant = plan.constant(i).filter(|c| !c.trim().is_empty());
                let absent = match constant.or(spec.default) {
                    Some(t) => Absent::Text(t.trim().to_string()),
                    None if spec.required => Absent::Required,
                    None => Absent::Null,
                };
                Op {
                    field: i,
                    source: plan.source(i),
                    ty: spec.ty,
                    absent,
                }
            })
            // Text the caller does not read is never refused (the record
            // is valid UTF-8) unless it is required and blank.
            .filter(|op| {
                plan.reads()[op.field]
                    || !matches!(op.ty, FieldType::Id | FieldType::Text)
                    || matches!(op.absent, Absent::Required)
            })
            .collect();
        let currency = ops.iter().position(|op| op.ty == FieldType::Currency);
        let index = |name: &str| fields.iter().position(|f| f.name == name);
        let time = plan.ctx.time.clone();
        // `TimeParser` keeps its formats to itself; its derived `Debug`
        // shows whether there are any. Custom formats come first and may
        // read an ISO text differently, so then every time takes the
        // parser. (Should the `Debug` text ever change, `iso` is false:
        // slower, never different.)
        let iso = format!("{time:?}").contains("formats: []");
        let naive_utc = iso && time.tz().to_string() == "UTC";
        Program {
            ops,
            currency,
            derive: plan.derives_ids().then_some(plan.event_id).flatten(),
            survey: (plan.kind == RecordKind::Survey)
                .then(|| index("survey").zip(index("score")))
                .flatten(),
            columns: plan.columns().len(),
            time,
            iso,
            naive_utc,
            dates: values::Dates::default(),
            last_currency: Cell::new(None),
        }
    }

    /// Appends the record's values to `b` (not ending the row). `Ok(true)`
    /// when the row has no `event_id` and one must be derived.
    pub fn convert(&self, f: &Fields, b: &mut BatchBuilder) -> Result<bool, Fallback> {
        let n = f.spans.len();
        // Trailing empty fields are tolerated, as by the row path.
        let extra = f.spans.get(self.columns..).unwrap_or_default();
        if n < self.columns
            || extra
                .iter()
                .any(|s| !f.bytes[s.start..s.end].trim_ascii().is_empty())
        {
            return Err(Fallback);
        }
        let currency = match self.currency {
            None => None,
            Some(ci) => match self.text(ci, f)? {
                Some(t) => Some(self.currency_of(plain(t)?)?),
                None if matches!(self.ops[ci].absent, Absent::Required) => return Err(Fallback),
                None => None,
            },
        };
        let mut needs_id = false;
        let (mut nps, mut score) = (None, None);
        for k in 0..self.ops.len() {
            let i = self.ops[k].field;
            let Some(t) = self.text(k, f)? else {
                match self.ops[k].absent {
                    _ if self.derive == Some(i) => needs_id = true,
                    Absent::Required => return Err(Fallback),
                    _ => b.null(i),
                }
                continue;
            };
            match self.ops[k].ty {
                FieldType::Id | FieldType::Text if t.quoted => b.str_unescaped(i, t.bytes),
                FieldType::Id | FieldType::Text => b.str(i, t.bytes),
                FieldType::Currency => match currency {
                    Some((c, _)) => b.str(i, c.code().as_bytes()),
                    None => return Err(Fallback),
                },
                FieldType::Enum(names) => {
                    let t = plain(t)?;
                    let name = names
                        .iter()
                        .find(|n| n.as_bytes().eq_ignore_ascii_case(t))
                        .ok_or(Fallback)?;
                    if self.survey.is_some_and(|(s, _)| s == i) {
                        nps = Some(*name == "nps");
                    }
                    b.str(i, name.as_bytes());
                }
                FieldType::Time => {
                    let v = self.time_of(plain(t)?)?;
                    b.int(i, v);
                }
                FieldType::Int { min, max } => {
                    let t = plain(t)?;
                    let v = match values::int(t) {
                        Some(v) => v,
                        None => utf8(t)?.parse::<i64>().map_err(|_| Fallback)?,
                    };
                    if v < min || v > max {
                        return Err(Fallback);
                    }
                    if self.survey.is_some_and(|(_, s)| s == i) {
                        score = Some(v);
                    }
                    b.int(i, v);
                }
                FieldType::Money => {
                    let (c, exponent) = currency.ok_or(Fallback)?;
                    let t = plain(t)?;
                    let v = match values::minor_units(t, exponent) {
                        Some(v) => v,
                        None => Money::parse(utf8(t)?, c).map_err(|_| Fallback)?.minor,
                    };
                    b.int(i, v);
                }
                FieldType::Bool => {
                    let t = plain(t)?;
                    let is = |words: [&str; 5]| {
                        words.iter().any(|w| w.as_bytes().eq_ignore_ascii_case(t))
                    };
                    let v = if is(TRUE) {
                        true
                    } else if is(FALSE) {
                        false
                    } else {
                        return Err(Fallback);
                    };
                    b.bool(i, v);
                }
            }
        }
        if let (Some(nps), Some(score)) = (nps, score) {
            let (lo, hi) = if nps { (0, 10) } else { (1, 5) };
            if score < lo || score > hi {
                return Err(Fallback);
            }
        }
        Ok(needs_id)
    }

    /// The text of op `k`: its column's when not blank, else the constant
    /// or default; `None` when there is neither.
    fn text<'a>(&'a self, k: usize, f: &Fields<'a>) -> Result<Option<Text<'a>>, Fallback> {
        let op = &self.ops[k];
        if let Some(s) = op.source.and_then(|s| f.spans.get(s)) {
            let t = values::trim(&f.bytes[s.start..s.end]).ok_or(Fallback)?;
            if !t.is_empty() {
                return Ok(Some(Text {
                    bytes: t,
                    quoted: s.quoted,
                }));
            }
        }
        Ok(match &op.absent {
            Absent::Text(t) => Some(Text {
                bytes: t.as_bytes(),
                quoted: false,
            }),
            _ => None,
        })
    }

    /// A three-letter code as a currency with its exponent.
    fn currency_of(&self, t: &[u8]) -> Result<(Currency, u32), Fallback> {
        let code: [u8; 3] = t.try_into().map_err(|_| Fallback)?;
        let upper = code.map(|b| b.to_ascii_uppercase());
        if let Some((last, c, e)) = self.last_currency.get() {
            if last == upper {
                return Ok((c, e));
            }
        }
        let c = Currency::parse(utf8(t)?).map_err(|_| Fallback)?;
        let e = c.exponent();
        self.last_currency.set(Some((upper, c, e)));
        Ok((c, e))
    }

    fn time_of(&self, t: &[u8]) -> Result<i64, Fallback> {
        if self.iso {
            if let Some(v) = values::iso_micros(t, self.naive_utc, &self.dates) {
                return Ok(v);
            }
        }
        self.time.parse_micros(utf8(t)?).map_err(|_| Fallback)
    }
}

/// The bytes of a value that is not text: a quote left in it (from a
/// doubled quote) is for the row parser to judge.
fn plain<'a>(t: Text<'a>) -> Result<&'a [u8], Fallback> {
    if t.quoted && memchr::memchr(b'"', t.bytes).is_some() {
        return Err(Fallback);
    }
    Ok(t.bytes)
}

fn utf8(t: &[u8]) -> Result<&str, Fallback> {
    std::str::from_utf8(t).map_err(|_| Fallback)
}
