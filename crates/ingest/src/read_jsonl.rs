//! JSON Lines: one object per line, keys are columns.
//!
//! Values keep their exact text: strings as they are, numbers and booleans
//! as written (no trip through `f64`, which would not do for money), null as
//! missing, nested objects and arrays as compact JSON text (for `items`,
//! `properties`, `attributes`). The columns are the keys of the first lines,
//! plus any key met later.

use crate::columns::Plan;
use crate::error::IngestError;
use crate::sink::Sink;
use crate::Source;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek};

/// Lines read to learn the columns before the first row is parsed.
const SAMPLE_LINES: usize = 100;

/// Reads a JSON Lines file line by line into a reused buffer.
pub(crate) struct JsonSource {
    reader: BufReader<File>,
    buf: Vec<u8>,
    line: u64,
    position: u64,
    columns: Vec<String>,
    index: HashMap<String, usize>,
}

type Pairs<'a> = Vec<(Cow<'a, str>, &'a RawValue)>;

impl JsonSource {
    /// Learns the columns from the first lines, resolves the plan and
    /// rewinds.
    pub fn open(file: File, plan: &mut Plan) -> Result<JsonSource, IngestError> {
        let mut src = JsonSource {
            reader: BufReader::with_capacity(1 << 16, file),
            buf: Vec::new(),
            line: 0,
            position: 0,
            columns: Vec::new(),
            index: HashMap::new(),
        };
        let mut sampled = 0;
        while sampled < SAMPLE_LINES && src.next_line(plan)? {
            let Ok(text) = std::str::from_utf8(&src.buf) else {
                continue;
            };
            let mut pairs = Vec::new();
            if text.trim().is_empty() || parse_object(text, &mut pairs).is_err() {
                continue;
            }
            sampled += 1;
            for (k, _) in pairs {
                if !src.index.contains_key(k.as_ref()) {
                    src.index.insert(k.to_string(), src.columns.len());
                    src.columns.push(k.into_owned());
                }
            }
        }
        plan.resolve(src.columns.clone())?;
        src.reader.rewind().map_err(|source| io(plan, source))?;
        (src.line, src.position) = (0, 0);
        Ok(src)
    }

    /// Reads the next line into `buf`; `false` at the end of the file.
    fn next_line(&mut self, plan: &Plan) -> Result<bool, IngestError> {
        self.buf.clear();
        let n = self
            .reader
            .read_until(b'\n', &mut self.buf)
            .map_err(|source| io(plan, source))?;
        self.position += n as u64;
        self.line += 1;
        Ok(n > 0)
    }
}

fn io(plan: &Plan, source: std::io::Error) -> IngestError {
    IngestError::Io {
        file: plan.file.clone(),
        source,
    }
}

impl Source for JsonSource {
    fn fill(&mut self, plan: &mut Plan, sink: &mut Sink) -> Result<bool, IngestError> {
        'rows: while !sink.is_full() {
            if !self.next_line(plan)? {
                return Ok(true);
            }
            let line = self.line;
            let render = || String::from_utf8_lossy(&self.buf).trim_end().to_string();
            let text = match std::str::from_utf8(&self.buf) {
                Ok(t) if t.trim().is_empty() => continue,
                Ok(t) => t.trim(),
                Err(_) => {
                    sink.malformed(plan, line, None, "is not valid UTF-8 text".into(), render)?;
                    continue;
                }
            };
            let mut pairs = Vec::new();
            if let Err(e) = parse_object(text, &mut pairs) {
                sink.malformed(plan, line, None, format!("invalid JSON: {e}"), render)?;
                continue;
            }
            let mut values: Vec<Option<Cow<str>>> = vec![None; self.columns.len()];
            for (key, raw) in pairs {
                let i = match self.index.get(key.as_ref()) {
                    Some(&i) => i,
                    None => {
                        self.index.insert(key.to_string(), self.columns.len());
                        self.columns.push(key.to_string());
                        values.push(None);
                        // Only adds a column, so it cannot fail where it passed before.
                        plan.resolve(self.columns.clone())?;
                        self.columns.len() - 1
                    }
                };
                match json_text(raw) {
                    Ok(v) => values[i] = v,
                    Err(e) => {
                        let (col, msg) = (Some(key.to_string()), format!("invalid JSON: {e}"));
                        sink.malformed(plan, line, col, msg, render)?;
                        continue 'rows;
                    }
                }
            }
            let plan = &*plan;
            let raw = plan.align(|i| values.get(i).and_then(|v| v.as_deref()));
            sink.accept(plan, line, &raw, render)?;
        }
        Ok(false)
    }

    fn position(&self) -> u64 {
        self.position
    }
}

/// Parses one line as a JSON object into `(key, raw value)` pairs,
/// borrowing from the line wherever possible.
fn parse_object<'a>(text: &'a str, out: &mut Pairs<'a>) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    ObjectSeed { out }.deserialize(&mut de)?;
    de.end()
}

/// A key that borrows from the input when it has no escapes.
#[derive(Deserialize)]
struct Key<'a>(#[serde(borrow)] Cow<'a, str>);

struct ObjectSeed<'v, 'a> {
    out: &'v mut Pairs<'a>,
}

impl<'a> DeserializeSeed<'a> for ObjectSeed<'_, 'a> {
    type Value = ();
    fn deserialize<D: Deserializer<'a>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'a> Visitor<'a> for ObjectSeed<'_, 'a> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<M: MapAccess<'a>>(self, mut map: M) -> Result<(), M::Error> {
        while let Some(Key(k)) = map.next_key()? {
            let v: &'a RawValue = map.next_value()?;
            self.out.push((k, v));
        }
        Ok(())
    }
}

/// The text of one JSON value: `None` for null.
fn json_text(raw: &RawValue) -> Result<Option<Cow<'_, str>>, serde_json::Error> {
    let t = raw.get();
    Ok(match t.as_bytes().first() {
        Some(b'n') => None,
        Some(b'"') => Some(match serde_json::from_str::<&str>(t) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => Cow::Owned(serde_json::from_str::<String>(t)?),
        }),
        Some(b'{' | b'[') => Some(compact(t)),
        _ => Some(Cow::Borrowed(t)),
    })
}

/// Valid JSON text without the whitespace outside strings.
fn compact(json: &str) -> Cow<'_, str> {
    if !json.bytes().any(|b| b.is_ascii_whitespace()) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if c.is_ascii_whitespace() {
            continue;
        }
        out.push(c);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str) -> Vec<(String, Option<String>)> {
        let mut pairs = Vec::new();
        parse_object(line, &mut pairs).unwrap();
        pairs
            .into_iter()
            .map(|(k, v)| (k.into_owned(), json_text(v).unwrap().map(Cow::into_owned)))
            .collect()
    }

    #[test]
    fn values_keep_their_exact_text() {
        let got = texts(
            r#"{"a":"x\"y","amount":12.30,"n":null,"ok":true,"items":[ {"sku": "A 1", "qty": 2} ],"k\u0065y":1}"#,
        );
        let want = [
            ("a", Some("x\"y")),
            ("amount", Some("12.30")),
            ("n", None),
            ("ok", Some("true")),
            ("items", Some(r#"[{"sku":"A 1","qty":2}]"#)),
            ("key", Some("1")),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn only_objects_are_rows() {
        let mut pairs = Vec::new();
        assert!(parse_object("[1,2]", &mut pairs).is_err());
        assert!(parse_object("{\"a\":1} x", &mut pairs).is_err());
        assert!(parse_object("{\"a\":", &mut pairs).is_err());
    }

    #[test]
    fn compact_keeps_spaces_inside_strings() {
        assert_eq!(
            compact("{ \"a b\" : [1, \"\\\" x\"] }"),
            "{\"a b\":[1,\"\\\" x\"]}"
        );
        assert!(matches!(compact("[1,2]"), Cow::Borrowed(_)));
    }
}
