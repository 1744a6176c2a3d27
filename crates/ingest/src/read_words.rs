//! Columns separated by runs of whitespace (the CDNOW files), split by hand
//! since the `csv` crate only knows one-byte delimiters. No quoting.

use crate::columns::Plan;
use crate::error::IngestError;
use crate::options::ReadOptions;
use crate::sink::Sink;
use crate::{rename, Source};
use std::fs::File;
use std::io::{BufRead, BufReader};

/// Reads a whitespace-separated file line by line into reused buffers.
pub(crate) struct WordsSource {
    reader: BufReader<File>,
    buf: Vec<u8>,
    spans: Vec<(usize, usize)>,
    line: u64,
    position: u64,
    expected_from: &'static str,
}

/// The `(start, end)` byte ranges of the words of `line`.
fn split(line: &[u8], spans: &mut Vec<(usize, usize)>) {
    spans.clear();
    let mut start = None;
    for (i, b) in line.iter().enumerate() {
        match (b.is_ascii_whitespace(), start) {
            (true, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, line.len()));
    }
}

impl WordsSource {
    /// Reads the header (if any) and resolves the plan's columns.
    pub fn open(
        file: File,
        opts: &ReadOptions,
        plan: &mut Plan,
    ) -> Result<WordsSource, IngestError> {
        let mut src = WordsSource {
            reader: BufReader::with_capacity(1 << 16, file),
            buf: Vec::new(),
            spans: Vec::new(),
            line: 0,
            position: 0,
            expected_from: "the header",
        };
        let mut header = Vec::new();
        if opts.has_header {
            if src.next_line(plan)? {
                let text = String::from_utf8_lossy(&src.buf);
                let text = text.trim_start_matches('\u{feff}');
                header = text.split_ascii_whitespace().map(str::to_string).collect();
            }
        } else {
            src.expected_from = "the column names";
            if opts.column_names.is_none() {
                return Err(IngestError::NoColumnNames {
                    file: plan.file.clone(),
                });
            }
        }
        plan.resolve(rename(header, opts.column_names.as_ref()))?;
        Ok(src)
    }

    /// Reads the next non-blank line into `buf` and its words into `spans`;
    /// `false` at the end of the file.
    fn next_line(&mut self, plan: &Plan) -> Result<bool, IngestError> {
        loop {
            self.buf.clear();
            let n = self
                .reader
                .read_until(b'\n', &mut self.buf)
                .map_err(|source| IngestError::Io {
                    file: plan.file.clone(),
                    source,
                })?;
            if n == 0 {
                return Ok(false);
            }
            self.position += n as u64;
            self.line += 1;
            split(&self.buf, &mut self.spans);
            if !self.spans.is_empty() {
                return Ok(true);
            }
        }
    }
}

impl Source for WordsSource {
    fn fill(&mut self, plan: &mut Plan, sink: &mut Sink) -> Result<bool, IngestError> {
        let plan = &*plan;
        let expected = plan.columns().len();
        while !sink.is_full() {
            if !self.next_line(plan)? {
                return Ok(true);
            }
            let render = || String::from_utf8_lossy(&self.buf).trim_end().to_string();
            let n = self.spans.len();
            if n != expected {
                let msg = format!("has {n} fields but {} has {expected}", self.expected_from);
                sink.malformed(plan, self.line, None, msg, render)?;
                continue;
            }
            let text = match std::str::from_utf8(&self.buf) {
                Ok(t) => t,
                Err(e) => {
                    let bad = self
                        .spans
                        .iter()
                        .position(|&(_, end)| end > e.valid_up_to());
                    let column = bad.and_then(|i| plan.columns().get(i).cloned());
                    let msg = "is not valid UTF-8 text".to_string();
                    sink.malformed(plan, self.line, column, msg, render)?;
                    continue;
                }
            };
            let spans = &self.spans;
            let raw = plan.align(|i| spans.get(i).map(|&(s, e)| &text[s..e]));
            sink.accept(plan, self.line, &raw, render)?;
        }
        Ok(false)
    }

    fn position(&self) -> u64 {
        self.position
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_runs_of_whitespace() {
        let mut spans = Vec::new();
        let line = b" 00001 19970101  1   11.77\r\n";
        split(line, &mut spans);
        let words: Vec<&[u8]> = spans.iter().map(|&(s, e)| &line[s..e]).collect();
        assert_eq!(words, vec![&b"00001"[..], b"19970101", b"1", b"11.77"]);
        split(b"a\tb", &mut spans);
        assert_eq!(spans, vec![(0, 1), (2, 3)]);
        split(b"  \r\n", &mut spans);
        assert!(spans.is_empty());
    }
}
