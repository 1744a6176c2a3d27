//! Delimited text the fast way: blocks of bytes scanned for their structure
//! ([`crate::scan`]), records straight into columns ([`crate::convert`]).
//!
//! Records the scan cannot take are read by `csv-core` (what the `csv`
//! crate of the row path runs on), rows the fast path cannot take go to the
//! row path ([`crate::read_csv::accept_record`]). Positions and line
//! numbers follow `csv-core` to the byte: a record's line is the number of
//! line feeds consumed when the record before it ended, plus one (so after
//! a CRLF, whose LF is consumed with the next record, it is one less than
//! the line the record is on — as the row path reports it).
//!
//! The source reads a whole file, or a part of one that starts at a record
//! boundary ([`FastCsvSource::open_part`]); a part that turns out not to
//! end at one says so ([`Step::BadSplit`]).

use crate::columns::Plan;
use crate::convert::{Fields, Program, Span};
use crate::error::IngestError;
use crate::options::ReadOptions;
use crate::read_csv::accept_record;
use crate::scan::{self, Scan};
use crate::sink::Sink;
use crate::{rename, Source};
use csv::ByteRecord;
use csv_core::ReadRecordResult;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

/// Bytes read at a time.
const BLOCK: usize = 512 << 10;
/// Bytes scanned at a time (the positions found stay in cache).
const WINDOW: usize = 128 << 10;
/// Inputs up to this size are memory-mapped rather than read: their bytes
/// are scanned where the page cache holds them, without the kernel's copy
/// into a buffer (8 % of reading). Larger inputs (a whole large file read
/// in one go, as `import` does) are read, so that the mapped pages, which
/// count as the process's memory while mapped, stay few.
const MAP_MAX: u64 = 256 << 20;

/// The bytes being read: a buffer refilled from the input, or the whole
/// input mapped at once.
enum Buf {
    Read(Vec<u8>),
    Mapped(memmap2::Mmap),
}

impl std::ops::Deref for Buf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Buf::Read(v) => v,
            Buf::Mapped(m) => m,
        }
    }
}

/// The bytes of `file` from `offset` to `end` (its end when `None`),
/// mapped when `wanted`; `None` when they are better read: too many, none,
/// not a regular file, or the map failed.
fn map(file: &File, offset: u64, end: Option<u64>, wanted: bool) -> Option<memmap2::Mmap> {
    if !wanted {
        return None;
    }
    let meta = file.metadata().ok()?;
    let len = end.unwrap_or(meta.len()).saturating_sub(offset);
    if len == 0 || len > MAP_MAX || !meta.is_file() {
        return None;
    }
    // SAFETY: the map is read-only and its bytes are copied into columns
    // before it is dropped, so nothing outlives it. Another process
    // truncating the file while it is mapped makes reading the lost pages
    // fault (SIGBUS): a file must not be cut while it is being read (see
    // ARCHITECTURE.md); bytes changed in place are read as changed, as
    // with `read`.
    let map = unsafe {
        memmap2::MmapOptions::new()
            .offset(offset)
            .len(usize::try_from(len).ok()?)
            .map(file)
    }
    .ok()?;
    // The bytes are read once, front to back: ask the kernel to read ahead.
    let _ = map.advise(memmap2::Advice::Sequential);
    Some(map)
}

/// Where a part of a file starts: a record boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PartStart {
    /// The file offset.
    pub offset: u64,
    /// Whether the record before ended with a CR whose LF is at `offset`.
    pub prev_cr: bool,
}

/// How a call to [`FastCsvSource::pump`] ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// The sink is full.
    Full,
    /// The input is read.
    End,
    /// The part does not end at a record boundary (its last line end is
    /// inside a quoted field): the file must be read in one go.
    BadSplit,
}

/// What [`FastCsvSource::next_record`] found.
enum Next {
    Record(u64),
    End,
    BadSplit,
}

/// Reads delimited text; see the module docs.
pub(crate) struct FastCsvSource {
    file: PathBuf,
    input: Box<dyn Read + Send>,
    /// Whether the input ends where the file ends (not at a split point).
    file_end: bool,
    /// Whether the input is exhausted.
    eof: bool,
    buf: Buf,
    /// File offset of `buf[0]`.
    offset: u64,
    /// Bytes before it are consumed, as `csv-core` would have consumed them.
    pos: usize,
    /// End of the bytes read.
    tail: usize,
    /// The last record ended with a CR; its LF, if any, is not consumed.
    prev_cr: bool,
    /// Line feeds consumed.
    lines: u64,
    delimiter: u8,
    expected_from: &'static str,
    scan: Scan,
    /// Where the current scan starts in `buf`, if there is one.
    scan_from: Option<usize>,
    /// Whether the complete records of the scan are valid UTF-8.
    scan_utf8: bool,
    /// The next separator and quoted LF of the scan.
    sep_at: usize,
    lf_at: usize,
    window: usize,
    /// The fields of the current record, in `buf` or in `slow_out`.
    spans: Vec<Span>,
    in_slow: bool,
    /// Whether the current record is valid UTF-8.
    utf8: bool,
    slow: csv_core::Reader,
    slow_out: Vec<u8>,
    slow_ends: Vec<usize>,
    /// The current record for the row path.
    record: ByteRecord,
    scratch: Vec<u8>,
    program: Option<Program>,
}

impl FastCsvSource {
    fn new(
        file: PathBuf,
        input: Box<dyn Read + Send>,
        mapped: Option<memmap2::Mmap>,
        file_end: bool,
        delimiter: u8,
        has_header: bool,
    ) -> FastCsvSource {
        let slow = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
        FastCsvSource {
            file,
            input,
            file_end,
            eof: false,
            buf: match mapped {
                Some(m) => Buf::Mapped(m),
                None => Buf::Read(vec![0; BLOCK]),
            },
            offset: 0,
            pos: 0,
            tail: 0,
            prev_cr: false,
            lines: 0,
            delimiter,
            expected_from: if has_header {
                "the header"
            } else {
                "the column names"
            },
            scan: Scan::default(),
            scan_from: None,
            scan_utf8: false,
            sep_at: 0,
            lf_at: 0,
            window: WINDOW,
            spans: Vec::new(),
            in_slow: false,
            utf8: false,
            slow,
            slow_out: vec![0; 1 << 12],
            slow_ends: vec![0; 64],
            record: ByteRecord::new(),
            scratch: Vec::new(),
            program: None,
        }
    }

    /// Whether the fast source reads text with this delimiter.
    pub fn supports(delimiter: u8) -> bool {
        scan::supports(delimiter)
    }

    /// Reads the header (if any) and resolves the plan's columns.
    pub fn open(
        file: File,
        delimiter: u8,
        opts: &ReadOptions,
        plan: &mut Plan,
    ) -> Result<FastCsvSource, IngestError> {
        let mapped = map(&file, 0, None, opts.map_files);
        let mut src = FastCsvSource::new(
            plan.file.clone(),
            Box::new(file),
            mapped,
            true,
            delimiter,
            opts.has_header,
        );
        // `csv-core` strips a UTF-8 BOM from the start of the file.
        while src.tail < 3 && !src.eof {
            src.refill()?;
        }
        if src.buf[..src.tail].starts_with(b"\xef\xbb\xbf") {
            src.pos = 3;
        }
        let header = if opts.has_header {
            match src.next_record()? {
                Next::Record(_) => {
                    let f = src.fields();
                    let mut names: Vec<String> = (0..f.spans.len())
                        .map(|i| f.text(i).unwrap_or_default().trim().to_string())
                        .collect();
                    if let Some(first) = names.first_mut() {
                        *first = first.trim_start_matches('\u{feff}').to_string();
                    }
                    names
                }
                Next::End | Next::BadSplit => Vec::new(),
            }
        } else {
            if opts.column_names.is_none() {
                return Err(IngestError::NoColumnNames {
                    file: plan.file.clone(),
                });
            }
            Vec::new()
        };
        plan.resolve(rename(header, opts.column_names.as_ref()))?;
        src.program = Some(Program::new(plan));
        Ok(src)
    }

    /// A source for the part `[start, end)` of a file whose header `plan`
    /// was resolved from; `last` when the part ends the file. The header
    /// and the mapping come from `opts`.
    pub fn open_part(
        mut file: File,
        start: PartStart,
        end: u64,
        last: bool,
        delimiter: u8,
        opts: &ReadOptions,
        plan: &Plan,
    ) -> Result<FastCsvSource, IngestError> {
        let io = |source| IngestError::Io {
            file: plan.file.clone(),
            source,
        };
        let mapped = map(&file, start.offset, Some(end), opts.map_files);
        // A mapped part is never read through `input`.
        if mapped.is_none() {
            file.seek(SeekFrom::Start(start.offset)).map_err(io)?;
        }
        let input = Box::new(file.take(end.saturating_sub(start.offset)));
        let mut src = FastCsvSource::new(
            plan.file.clone(),
            input,
            mapped,
            last,
            delimiter,
            opts.has_header,
        );
        src.offset = start.offset;
        src.prev_cr = start.prev_cr;
        src.program = Some(Program::new(plan));
        Ok(src)
    }

    /// Where the data after the header starts.
    pub fn data_start(&self) -> PartStart {
        PartStart {
            offset: self.offset + self.pos as u64,
            prev_cr: self.prev_cr,
        }
    }

    /// Line feeds consumed so far (all of them, once the input is read).
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Reads records into `sink` until it is full or the input ends.
    pub fn pump(&mut self, plan: &Plan, sink: &mut Sink) -> Result<Step, IngestError> {
        while !sink.is_full() {
            let line = match self.next_record()? {
                Next::Record(line) => line,
                Next::End => return Ok(Step::End),
                Next::BadSplit => return Ok(Step::BadSplit),
            };
            if self.utf8 {
                if let Some(program) = &self.program {
                    let f = Fields {
                        bytes: if self.in_slow {
                            &self.slow_out
                        } else {
                            &self.buf[..]
                        },
                        spans: &self.spans,
                    };
                    if sink.fast_accept(plan, program, &f) {
                        continue;
                    }
                }
            }
            self.fill_record();
            accept_record(
                plan,
                sink,
                &self.record,
                line,
                self.delimiter,
                self.expected_from,
            )?;
        }
        Ok(Step::Full)
    }

    fn fields(&self) -> Fields<'_> {
        Fields {
            bytes: if self.in_slow {
                &self.slow_out
            } else {
                &self.buf[..]
            },
            spans: &self.spans,
        }
    }

    /// The current record as a `ByteRecord`, for the row path.
    fn fill_record(&mut self) {
        let bytes = if self.in_slow {
            &self.slow_out[..]
        } else {
            &self.buf[..]
        };
        self.record.clear();
        for s in &self.spans {
            let raw = &bytes[s.start..s.end];
            if s.quoted {
                self.scratch.clear();
                crate::values::unescape_into(raw, &mut self.scratch);
                self.record.push_field(&self.scratch);
            } else {
                self.record.push_field(raw);
            }
        }
    }

    fn io(&self, source: std::io::Error) -> IngestError {
        IngestError::Io {
            file: self.file.clone(),
            source,
        }
    }

    /// Reads more bytes, first moving the unread ones to the front; a
    /// mapped input is all there at once.
    fn refill(&mut self) -> Result<(), IngestError> {
        let buf = match &mut self.buf {
            Buf::Mapped(m) => {
                self.tail = m.len();
                self.eof = true;
                return Ok(());
            }
            Buf::Read(buf) => buf,
        };
        if self.pos > 0 && (self.tail == buf.len() || self.pos >= buf.len() / 2) {
            buf.copy_within(self.pos..self.tail, 0);
            self.offset += self.pos as u64;
            self.tail -= self.pos;
            self.pos = 0;
            self.scan_from = None;
        }
        if self.tail == buf.len() {
            // A record longer than the buffer.
            buf.resize(buf.len() * 2, 0);
        }
        let read = loop {
            match self.input.read(&mut buf[self.tail..]) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                r => break r,
            }
        };
        match read {
            Ok(0) => self.eof = true,
            Ok(n) => self.tail += n,
            Err(e) => return Err(self.io(e)),
        }
        Ok(())
    }

    /// The next record into `spans`, with its line.
    fn next_record(&mut self) -> Result<Next, IngestError> {
        let line = 1 + self.lines;
        loop {
            if self.prev_cr {
                if self.pos == self.tail && !self.eof {
                    self.refill()?;
                    continue;
                }
                if self.buf[self.pos..self.tail].first() == Some(&b'\n') {
                    self.pos += 1;
                    self.lines += 1;
                }
                self.prev_cr = false;
            }
            if self.take_scanned() {
                return Ok(Next::Record(line));
            }
            match self.scan_from {
                None if self.pos < self.tail => self.scan_window(),
                None if !self.eof => self.refill()?,
                None => return Ok(Next::End),
                Some(_) if self.scan.irregular => return self.slow_record(line),
                Some(from) if from + self.scan.end < self.tail => {
                    // The window ended inside the first record: widen it.
                    if self.pos == from {
                        self.window *= 2;
                    }
                    self.scan_from = None;
                }
                Some(_) if !self.eof => {
                    self.refill()?;
                    self.scan_from = None;
                }
                Some(_) if self.pos == self.tail => return Ok(Next::End),
                // A last record without line end, or one ending in a CR
                // whose LF is past the end of a part: `csv-core` decides.
                Some(_) => return self.slow_record(line),
            }
        }
    }

    /// Scans the bytes from `pos` (a record boundary).
    fn scan_window(&mut self) {
        let end = self.tail.min(self.pos + self.window);
        let from = self.pos;
        scan::scan(&self.buf[from..end], self.delimiter, &mut self.scan);
        self.scan_from = Some(from);
        self.sep_at = 0;
        self.lf_at = 0;
        // Check the UTF-8 of all complete records at once.
        let limit = self.scan.end;
        let mut complete = 0;
        for &p in self.scan.seps.iter().rev() {
            let p = p as usize;
            match self.buf[from + p] {
                b'\n' => complete = p + 1,
                b'\r' if p + 1 < limit => complete = p + 2,
                _ => continue,
            }
            break;
        }
        self.scan_utf8 = std::str::from_utf8(&self.buf[from..from + complete]).is_ok();
    }

    /// The next complete record of the current scan, if any.
    fn take_scanned(&mut self) -> bool {
        let Some(from) = self.scan_from else {
            return false;
        };
        let start = self.pos - from;
        let limit = self.scan.end;
        self.spans.clear();
        let mut field = start;
        for (i, &p) in self.scan.seps.iter().enumerate().skip(self.sep_at) {
            let p = p as usize;
            let b = self.buf[from + p];
            self.spans
                .push(if field < p && self.buf[from + field] == b'"' {
                    Span {
                        start: from + field + 1,
                        end: from + p - 1,
                        quoted: true,
                    }
                } else {
                    Span {
                        start: from + field,
                        end: from + p,
                        quoted: false,
                    }
                });
            if b == self.delimiter {
                field = p + 1;
                continue;
            }
            let cr = b == b'\r';
            if cr && p + 1 >= limit {
                // Its LF is not scanned yet.
                break;
            }
            while let Some(&q) = self.scan.quoted_lf.get(self.lf_at) {
                if q as usize > p {
                    break;
                }
                self.lf_at += 1;
                self.lines += 1;
            }
            self.lines += !cr as u64;
            self.utf8 =
                self.scan_utf8 || std::str::from_utf8(&self.buf[from + start..from + p]).is_ok();
            self.pos = from + p + 1;
            self.prev_cr = cr;
            self.sep_at = i + 1;
            self.in_slow = false;
            return true;
        }
        self.spans.clear();
        false
    }

    /// One record read by `csv-core` from `pos`.
    fn slow_record(&mut self, line: u64) -> Result<Next, IngestError> {
        self.scan_from = None;
        // `pos` is a record boundary: the parser starts afresh. The BOM is
        // only stripped at the start of a file, which this source does
        // itself, so the parser is told it has read before (a call with no
        // room for output reads nothing).
        self.slow.reset();
        let _ = self.slow.read_record(b"x", &mut [], &mut []);
        let (mut used, mut outlen, mut endlen) = (0, 0, 0);
        let result = loop {
            let input = &self.buf[self.pos + used..self.tail];
            if input.is_empty() && !self.eof {
                self.refill()?;
                continue;
            }
            if input.is_empty() && !self.file_end {
                // The end of a part: it must end at a record boundary.
                if outlen > 0 || endlen > 0 {
                    return Ok(Next::BadSplit);
                }
                break ReadRecordResult::End;
            }
            // An empty input tells `csv-core` that the file ends.
            let (res, nin, nout, nend) = self.slow.read_record(
                input,
                &mut self.slow_out[outlen..],
                &mut self.slow_ends[endlen..],
            );
            used += nin;
            outlen += nout;
            endlen += nend;
            match res {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    let n = self.slow_out.len() * 2;
                    self.slow_out.resize(n, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let n = self.slow_ends.len() * 2;
                    self.slow_ends.resize(n, 0);
                }
                ReadRecordResult::Record | ReadRecordResult::End => break res,
            }
        };
        let consumed = &self.buf[self.pos..self.pos + used];
        self.lines += memchr::memchr_iter(b'\n', consumed).count() as u64;
        self.prev_cr = consumed.last() == Some(&b'\r');
        self.pos += used;
        if result == ReadRecordResult::End {
            return Ok(Next::End);
        }
        self.spans.clear();
        let mut start = 0;
        self.utf8 = true;
        for &end in &self.slow_ends[..endlen] {
            self.utf8 &= std::str::from_utf8(&self.slow_out[start..end]).is_ok();
            self.spans.push(Span {
                start,
                end,
                quoted: false,
            });
            start = end;
        }
        self.in_slow = true;
        Ok(Next::Record(line))
    }
}

impl Source for FastCsvSource {
    fn fill(&mut self, plan: &mut Plan, sink: &mut Sink) -> Result<bool, IngestError> {
        match self.pump(plan, sink)? {
            Step::Full => Ok(false),
            Step::End => Ok(true),
            // Only a part of a file can end elsewhere than at its end.
            Step::BadSplit => Err(self.io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "a part of the file does not end at a record boundary",
            ))),
        }
    }

    fn position(&self) -> u64 {
        self.offset + self.pos as u64
    }
}
