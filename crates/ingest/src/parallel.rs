//! Reading many files at once, and large CSV files in parts.
//!
//! A large delimited file is cut at line ends into parts of about
//! [`Parallel::part_bytes`]; every part is read by its own task, and the
//! parts are put back together in order: their line numbers shifted by the
//! lines before them, their derived event ids renumbered as if read in one
//! go, the first error kept. A line end can be inside a quoted field: the
//! part before it then does not end at a record boundary, which its reader
//! notices ([`Step::BadSplit`]), and the file is read again in one go. So
//! the result is always that of [`read_file`].

use crate::columns::Plan;
use crate::error::{IngestError, Reject, Unit};
use crate::options::{Format, ReadOptions};
use crate::read_fast::{FastCsvSource, PartStart, Step};
use crate::sink::{Derived, Occurrences, Sink};
use crate::{csv_delimiter, kind_and_format, read_file, Source};
use arrow::array::{Array, ArrayRef, StringArray};
use arrow::record_batch::RecordBatch;
use clientela_core::RecordKind;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// How [`read_files`] shares out the work.
#[derive(Debug, Clone)]
pub struct Parallel {
    /// Threads reading at once.
    pub threads: usize,
    /// Delimited files larger than this are read in parts of about this
    /// many bytes; 0 never splits a file.
    pub part_bytes: u64,
}

impl Default for Parallel {
    /// One thread per core, parts of 64 MiB.
    fn default() -> Self {
        Parallel {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            part_bytes: 64 << 20,
        }
    }
}

/// Everything [`read_files`] read from one file.
#[derive(Debug, Clone)]
pub struct FileData {
    /// The record kind of the rows.
    pub kind: RecordKind,
    /// The good rows, in file order, in the canonical schema of `kind`.
    pub batches: Vec<RecordBatch>,
    /// Rows skipped under [`crate::OnError::Skip`], in file order.
    pub rejects: Vec<Reject>,
    /// Records read, good and rejected.
    pub rows_read: u64,
}

/// Reads files completely, several at once, large delimited files in
/// parts. The results are in the order of `paths`, and each is what reading
/// the file alone with [`read_file`] gives: the same rows (only cut into
/// batches differently), rejects and first error. `progress` is told the
/// bytes read as they are.
pub fn read_files(
    paths: &[PathBuf],
    opts: &ReadOptions,
    par: &Parallel,
    progress: &(dyn Fn(u64) + Sync),
) -> Vec<Result<FileData, IngestError>> {
    let layouts: Vec<Layout> = paths.iter().map(|p| layout(p, opts, par)).collect();
    // Jobs: (file, part, bytes), the largest first so the threads finish together.
    let mut jobs: Vec<(usize, usize, u64)> = Vec::new();
    for (f, l) in layouts.iter().enumerate() {
        match l {
            Layout::Whole(size) => jobs.push((f, 0, *size)),
            Layout::Parts(p) => {
                for k in 0..p.starts.len() {
                    jobs.push((f, k, p.end(k) - p.starts[k].offset));
                }
            }
            Layout::Failed(_) => {}
        }
    }
    jobs.sort_by_key(|&(f, k, size)| (std::cmp::Reverse(size), f, k));
    let failed: Vec<AtomicUsize> = paths.iter().map(|_| AtomicUsize::new(usize::MAX)).collect();
    let done = run(jobs.len(), par.threads, |j| {
        let (f, k, _) = jobs[j];
        match &layouts[f] {
            Layout::Parts(p) => Job::Part(read_part(p, k, opts, progress, &failed[f])),
            _ => Job::Whole(read_whole(&paths[f], opts, progress)),
        }
    });
    let mut wholes: Vec<Option<Result<FileData, IngestError>>> =
        paths.iter().map(|_| None).collect();
    let mut parts: Vec<Vec<Option<PartOut>>> = layouts
        .iter()
        .map(|l| match l {
            Layout::Parts(p) => (0..p.starts.len()).map(|_| None).collect(),
            _ => Vec::new(),
        })
        .collect();
    for ((f, k, _), job) in jobs.iter().zip(done) {
        match job {
            Job::Whole(r) => wholes[*f] = Some(r),
            Job::Part(p) => parts[*f][*k] = Some(p),
        }
    }
    let mut results: Vec<Option<Result<FileData, IngestError>>> = Vec::new();
    for (f, layout) in layouts.into_iter().enumerate() {
        results.push(match layout {
            Layout::Failed(e) => Some(Err(e)),
            Layout::Whole(_) => wholes[f].take(),
            Layout::Parts(p) => assemble(&p, std::mem::take(&mut parts[f])),
        });
    }
    // Files whose parts did not meet at record boundaries: read in one go.
    let again: Vec<usize> = (0..paths.len()).filter(|&f| results[f].is_none()).collect();
    let redone = run(again.len(), par.threads, |j| {
        read_whole(&paths[again[j]], opts, &|_| {})
    });
    for (f, r) in again.into_iter().zip(redone) {
        results[f] = Some(r);
    }
    results
        .into_iter()
        .map(|r| r.expect("every file has a result"))
        .collect()
}

/// How one file is read.
enum Layout {
    /// In one go (its size).
    Whole(u64),
    /// In parts.
    Parts(Parts),
    /// Not at all: the error reading its header.
    Failed(IngestError),
}

/// A delimited file cut into parts.
struct Parts {
    plan: Plan,
    delimiter: u8,
    /// Line feeds before the first part (in the header).
    header_lines: u64,
    starts: Vec<PartStart>,
    size: u64,
}

impl Parts {
    fn end(&self, k: usize) -> u64 {
        self.starts.get(k + 1).map_or(self.size, |s| s.offset)
    }
}

enum Job {
    Whole(Result<FileData, IngestError>),
    Part(PartOut),
}

/// What reading one part gave.
#[derive(Default)]
struct PartOut {
    batches: Vec<RecordBatch>,
    rejects: Vec<Reject>,
    rows_read: u64,
    /// Line feeds in the part (when read to its end).
    lines: u64,
    derived: Vec<Derived>,
    end: PartEnd,
}

#[derive(Default)]
enum PartEnd {
    #[default]
    Read,
    Failed(IngestError),
    BadSplit,
    /// Not read: an earlier part failed.
    Skipped,
}

/// Decides how to read `path`: in parts when it is a delimited file for
/// the fast path larger than a part.
fn layout(path: &Path, opts: &ReadOptions, par: &Parallel) -> Layout {
    let Ok(size) = std::fs::metadata(path).map(|m| m.len()) else {
        return Layout::Whole(0); // `read_file` says what is wrong
    };
    let whole = Layout::Whole(size);
    let Ok((kind, format)) = kind_and_format(path, opts) else {
        return whole;
    };
    let delimiter = match csv_delimiter(path, opts) {
        Some(d) if format == Format::Csv && FastCsvSource::supports(d) => d,
        _ => return whole,
    };
    if !opts.fast || par.part_bytes == 0 || size <= par.part_bytes {
        return whole;
    }
    let header = || -> Result<(Plan, PartStart, u64), IngestError> {
        let mut plan = Plan::new(kind, path, opts)?;
        let file = File::open(path).map_err(|source| IngestError::Io {
            file: path.to_path_buf(),
            source,
        })?;
        let src = FastCsvSource::open(file, delimiter, opts, &mut plan)?;
        Ok((plan, src.data_start(), src.lines()))
    };
    let (plan, start, header_lines) = match header() {
        Ok(h) => h,
        Err(e) => return Layout::Failed(e),
    };
    let n = (size - start.offset).div_ceil(par.part_bytes) as usize;
    match split_points(path, start, size, n) {
        Ok(starts) if starts.len() > 1 => Layout::Parts(Parts {
            plan,
            delimiter,
            header_lines,
            starts,
            size,
        }),
        _ => whole,
    }
}

/// Up to `n` part starts from `first`: just after the first line feed past
/// each `n`th of the data (between CR and LF when the LF follows a CR, so
/// that the part after consumes the LF as the row path does).
fn split_points(
    path: &Path,
    first: PartStart,
    size: u64,
    n: usize,
) -> std::io::Result<Vec<PartStart>> {
    let mut starts = vec![first];
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; 1 << 16];
    for i in 1..n as u64 {
        let target = first.offset + (size - first.offset) * i / n as u64;
        let prev = starts.last().map_or(0, |s| s.offset);
        if target <= prev + 1 {
            continue;
        }
        // Read from the byte before `target` to see what precedes an LF.
        let mut at = target - 1;
        file.seek(SeekFrom::Start(at))?;
        let mut last = None;
        let found = loop {
            let got = file.read(&mut buf)?;
            if got == 0 || at > target + (16 << 20) {
                break None;
            }
            let skip = usize::from(at < target);
            if let Some(i) = memchr::memchr(b'\n', &buf[skip..got]) {
                let q = at + (skip + i) as u64;
                let before = if skip + i > 0 {
                    Some(buf[skip + i - 1])
                } else {
                    last
                };
                break Some((q, before == Some(b'\r')));
            }
            last = buf[..got].last().copied();
            at += got as u64;
        };
        let Some((q, cr)) = found else { break };
        let start = if cr {
            PartStart {
                offset: q,
                prev_cr: true,
            }
        } else {
            PartStart {
                offset: q + 1,
                prev_cr: false,
            }
        };
        if start.offset > prev && q + 1 < size {
            starts.push(start);
        }
    }
    Ok(starts)
}

/// Reads part `k`; stops early when an earlier part failed.
fn read_part(
    p: &Parts,
    k: usize,
    opts: &ReadOptions,
    progress: &(dyn Fn(u64) + Sync),
    failed: &AtomicUsize,
) -> PartOut {
    let mut out = PartOut::default();
    let (start, end) = (p.starts[k], p.end(k));
    let last = k + 1 == p.starts.len();
    let opened = File::open(&p.plan.file)
        .map_err(|source| IngestError::Io {
            file: p.plan.file.clone(),
            source,
        })
        .and_then(|file| {
            FastCsvSource::open_part(file, start, end, last, p.delimiter, opts, &p.plan)
        });
    let mut src = match opened {
        Ok(s) => s,
        Err(e) => {
            failed.fetch_min(k, Ordering::Relaxed);
            out.end = PartEnd::Failed(e);
            return out;
        }
    };
    let mut sink = Sink::new(&p.plan, opts.batch_rows, opts.on_error, Unit::Line);
    if p.starts.len() > 1 {
        sink.keep_derived();
    }
    let mut reported = start.offset;
    loop {
        if failed.load(Ordering::Relaxed) < k {
            out.end = PartEnd::Skipped;
            break;
        }
        let step = src.pump(&p.plan, &mut sink);
        let at = src.position().min(end);
        progress(at.saturating_sub(reported));
        reported = reported.max(at);
        let chunk = sink.take(0);
        out.rows_read += chunk.rows_read;
        if chunk.batch.num_rows() > 0 {
            out.batches.push(chunk.batch);
        }
        out.rejects.extend(chunk.rejects);
        match step {
            Ok(Step::Full) => continue,
            Ok(Step::End) => out.lines = src.lines(),
            Ok(Step::BadSplit) => {
                failed.fetch_min(k, Ordering::Relaxed);
                out.end = PartEnd::BadSplit;
            }
            Err(e) => {
                failed.fetch_min(k, Ordering::Relaxed);
                out.end = PartEnd::Failed(e);
            }
        }
        break;
    }
    out.derived = sink.take_derived();
    out
}

/// Puts the parts of a file together; `None` when it must be read again.
fn assemble(p: &Parts, parts: Vec<Option<PartOut>>) -> Option<Result<FileData, IngestError>> {
    let mut data = FileData {
        kind: p.plan.kind,
        batches: Vec::new(),
        rejects: Vec::new(),
        rows_read: 0,
    };
    let mut lines = p.header_lines;
    let mut occurrences = Occurrences::default();
    let mut renumber: Vec<(u64, u32)> = Vec::new();
    let mut rows_before = 0u64;
    for part in parts {
        let part = part?;
        if matches!(part.end, PartEnd::BadSplit | PartEnd::Skipped) {
            return None;
        }
        for d in &part.derived {
            let n = occurrences.count(d.key);
            if n != d.occurrence {
                renumber.push((rows_before + d.row, n));
            }
        }
        rows_before += part
            .batches
            .iter()
            .map(|b| b.num_rows() as u64)
            .sum::<u64>();
        if let PartEnd::Failed(e) = part.end {
            return Some(Err(shift_line(e, lines)));
        }
        data.rejects
            .extend(part.rejects.into_iter().map(|r| Reject {
                line: r.line + lines,
                ..r
            }));
        data.batches.extend(part.batches);
        data.rows_read += part.rows_read;
        lines += part.lines;
    }
    if !renumber.is_empty() {
        if let Some(i) = p.plan.event_id {
            data.batches = renumber_ids(data.batches, i, p.plan.kind, &renumber);
        }
    }
    Some(Ok(data))
}

/// The error of a part, its line counted from the start of the file.
fn shift_line(e: IngestError, before: u64) -> IngestError {
    match e {
        IngestError::Row {
            file,
            unit,
            line,
            column,
            field,
            message,
        } => IngestError::Row {
            file,
            unit,
            line: line + before,
            column,
            field,
            message,
        },
        other => other,
    }
}

/// Gives the derived ids at the listed rows (ascending) their occurrence
/// in the whole file: `kind:hash` for the first, `kind:hash:n` after.
fn renumber_ids(
    batches: Vec<RecordBatch>,
    column: usize,
    kind: RecordKind,
    rows: &[(u64, u32)],
) -> Vec<RecordBatch> {
    // `kind:` and 32 hexadecimal digits.
    let base_len = kind.name().len() + 33;
    let mut at = 0;
    let mut first = 0u64;
    batches
        .into_iter()
        .map(|b| {
            let end = first + b.num_rows() as u64;
            let from = at;
            while at < rows.len() && rows[at].0 < end {
                at += 1;
            }
            let mine = &rows[from..at];
            let start = first;
            first = end;
            if mine.is_empty() {
                return b;
            }
            let Some(ids) = b.column(column).as_any().downcast_ref::<StringArray>() else {
                return b;
            };
            let mut values: Vec<Option<String>> =
                ids.iter().map(|v| v.map(str::to_string)).collect();
            for &(row, n) in mine {
                let v = &mut values[(row - start) as usize];
                if let Some(base) = v.as_deref().and_then(|s| s.get(..base_len)) {
                    let base = base.to_string();
                    *v = Some(if n == 0 { base } else { format!("{base}:{n}") });
                }
            }
            let mut columns: Vec<ArrayRef> = b.columns().to_vec();
            columns[column] = Arc::new(StringArray::from(values));
            RecordBatch::try_new(b.schema(), columns).expect("same schema, same column type")
        })
        .collect()
}

/// Reads a file in one go, as the caller of [`read_file`] would.
fn read_whole(
    path: &Path,
    opts: &ReadOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<FileData, IngestError> {
    let reader = read_file(path, opts)?;
    let mut data = FileData {
        kind: reader.kind(),
        batches: Vec::new(),
        rejects: Vec::new(),
        rows_read: 0,
    };
    for chunk in reader {
        let chunk = chunk?;
        progress(chunk.bytes_read);
        data.batches.push(chunk.batch);
        data.rejects.extend(chunk.rejects);
        data.rows_read += chunk.rows_read;
    }
    Ok(data)
}

/// Runs `work(0..jobs)` on `threads` threads; the results in job order.
fn run<T: Send>(jobs: usize, threads: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..jobs).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, jobs.max(1)) {
            scope.spawn(|| loop {
                let j = next.fetch_add(1, Ordering::Relaxed);
                if j >= jobs {
                    break;
                }
                let r = work(j);
                results.lock().unwrap_or_else(|e| e.into_inner())[j] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect()
}
