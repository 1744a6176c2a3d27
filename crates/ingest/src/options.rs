//! How a file is read: its format, delimiter, column mapping and error policy.

use crate::error::IngestError;
use clientela_core::RecordKind;
use clientela_table::RowContext;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// The format of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Delimited text: CSV, TSV or whitespace-separated columns.
    Csv,
    /// One JSON object per line.
    JsonLines,
    /// Apache Parquet.
    Parquet,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 3] = [Format::Csv, Format::JsonLines, Format::Parquet];

    /// The format told by a file's extension: `.csv .tsv .txt .dat` → CSV,
    /// `.jsonl .ndjson .json` → JSON Lines, `.parquet .pq` → Parquet.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" | "tsv" | "txt" | "dat" => Some(Format::Csv),
            "jsonl" | "ndjson" | "json" => Some(Format::JsonLines),
            "parquet" | "pq" => Some(Format::Parquet),
            _ => None,
        }
    }

    /// The name used on the command line (`csv`, `jsonl`, `parquet`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::JsonLines => "jsonl",
            Format::Parquet => "parquet",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = IngestError;
    /// Accepts the names and the extensions of [`Format::from_path`].
    fn from_str(s: &str) -> Result<Self, IngestError> {
        let lower = s.trim().trim_start_matches('.').to_ascii_lowercase();
        Format::from_path(Path::new(&format!("x.{lower}"))).ok_or_else(|| IngestError::BadOption {
            what: "format",
            value: s.to_string(),
            expected: "csv, tsv, jsonl, ndjson, json, parquet".into(),
        })
    }
}

/// What separates the columns of a delimited text file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delimiter {
    /// One byte, with CSV quoting (`,`, `;`, `|`, tab).
    Byte(u8),
    /// Runs of spaces and tabs; leading and trailing ones are ignored (the
    /// CDNOW file: `" 00001 19970101  1   11.77"`). No quoting.
    Whitespace,
}

impl FromStr for Delimiter {
    type Err = IngestError;
    /// Accepts one ASCII character, `tab` or `\t`, and `whitespace` (or `space`).
    fn from_str(s: &str) -> Result<Self, IngestError> {
        match s {
            "\t" | "\\t" | "tab" => return Ok(Delimiter::Byte(b'\t')),
            "whitespace" | "space" | "spaces" | "ws" => return Ok(Delimiter::Whitespace),
            _ => {}
        }
        match s.as_bytes() {
            [b] if b.is_ascii() && !b.is_ascii_alphanumeric() && *b != b'"' => {
                Ok(Delimiter::Byte(*b))
            }
            _ => Err(IngestError::BadOption {
                what: "delimiter",
                value: s.to_string(),
                expected: "one character such as , ; | or tab, or whitespace".into(),
            }),
        }
    }
}

/// What to do with a row that cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnError {
    /// Stop reading: the iterator yields the error.
    #[default]
    Stop,
    /// Keep going: the row is listed in [`crate::Chunk::rejects`].
    Skip,
}

/// Settings for reading one file, parsed once at the edge (the CLI).
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// The record kind; `None` guesses it from the file name.
    pub kind: Option<RecordKind>,
    /// The format; `None` tells it from the extension.
    pub format: Option<Format>,
    /// `(canonical field, source column)` pairs (`--map customer_id=CustomerID`);
    /// they win over columns whose names match a field.
    pub mapping: Vec<(String, String)>,
    /// `(canonical field, text)` pairs (`--set currency=USD`) filling a field
    /// wherever its column is absent or empty.
    pub constants: Vec<(String, String)>,
    /// The delimiter of a CSV file; `None` is `,` (tab for `.tsv`).
    pub delimiter: Option<Delimiter>,
    /// Whether the first line of a CSV file names the columns.
    pub has_header: bool,
    /// Column names for a file without header, or to rename the header's
    /// (or a Parquet file's) columns by position.
    pub column_names: Option<Vec<String>>,
    /// Time formats and time zone of the values.
    pub context: RowContext,
    /// What to do with a bad row.
    pub on_error: OnError,
    /// The most good rows in one [`crate::Chunk`].
    pub batch_rows: usize,
    /// The fields the caller reads, per kind, by canonical name (`amount`,
    /// not `amount_minor`); kinds not listed are read whole. Every field is
    /// still checked, so errors and rejects stay the same, but the columns
    /// of the others are placeholders: null where the schema allows it,
    /// else empty texts, zeros and `false`. Missing event ids are derived
    /// only when `event_id` is read.
    pub fields: BTreeMap<RecordKind, Vec<String>>,
    /// Whether delimited text may take the fast path (the default). Off,
    /// every row goes through the row parser; the results are the same,
    /// which is what the tests check, only slower.
    pub fast: bool,
    /// Whether the `customer_id` of events (not of customers) comes as a
    /// dictionary of runs, `Dictionary(UInt32, Utf8)`: a new value only
    /// where a row's id differs from the row before. Files that list a
    /// customer's events together then hold each id once per run instead
    /// of once per row, and a caller that keys customers looks up runs,
    /// not rows. The ids are the same; only the column's type differs.
    pub customer_id_runs: bool,
    /// Whether the fast path may memory-map delimited files (the default)
    /// instead of reading them into a buffer: up to 256 MiB at a time, a
    /// large file in parts. The results are the same; mapped, the kernel
    /// copies nothing. A file must then not be truncated while it is being
    /// read: that stops the process (`SIGBUS`).
    pub map_files: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            kind: None,
            format: None,
            mapping: Vec::new(),
            constants: Vec::new(),
            delimiter: None,
            has_header: true,
            column_names: None,
            context: RowContext::default(),
            on_error: OnError::Stop,
            batch_rows: 100_000,
            fields: BTreeMap::new(),
            fast: true,
            customer_id_runs: false,
            map_files: true,
        }
    }
}

/// Parses `"a=B,c=D"` (a `--map` or `--set` value) into `(a, B)`, `(c, D)`.
/// Names and values are trimmed; empty pieces are ignored; a value may
/// contain `=` but not `,`.
pub fn parse_mapping(s: &str) -> Result<Vec<(String, String)>, IngestError> {
    let mut out = Vec::new();
    for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = |reason: &str| IngestError::BadPair {
            pair: pair.to_string(),
            reason: reason.to_string(),
        };
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| bad("expected field=value"))?;
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() {
            return Err(bad("the field name before '=' is empty"));
        }
        if v.is_empty() {
            return Err(bad("the value after '=' is empty"));
        }
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_follow_extensions() {
        let cases = [
            ("a/orders.csv", Some(Format::Csv)),
            ("x.TSV", Some(Format::Csv)),
            ("CDNOW_master.txt", Some(Format::Csv)),
            ("e.dat", Some(Format::Csv)),
            ("e.jsonl", Some(Format::JsonLines)),
            ("e.ndjson", Some(Format::JsonLines)),
            ("e.json", Some(Format::JsonLines)),
            ("e.parquet", Some(Format::Parquet)),
            ("e.pq", Some(Format::Parquet)),
            ("e.xlsx", None),
            ("noext", None),
        ];
        for (p, want) in cases {
            assert_eq!(Format::from_path(Path::new(p)), want, "{p}");
        }
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>().unwrap(), f);
        }
        assert!("xml".parse::<Format>().is_err());
    }

    #[test]
    fn delimiters_parse() {
        assert_eq!(";".parse::<Delimiter>().unwrap(), Delimiter::Byte(b';'));
        assert_eq!("tab".parse::<Delimiter>().unwrap(), Delimiter::Byte(b'\t'));
        assert_eq!("\\t".parse::<Delimiter>().unwrap(), Delimiter::Byte(b'\t'));
        assert_eq!(
            "whitespace".parse::<Delimiter>().unwrap(),
            Delimiter::Whitespace
        );
        assert!("ab".parse::<Delimiter>().is_err());
        assert!("a".parse::<Delimiter>().is_err());
    }

    #[test]
    fn mappings_parse_and_bad_pairs_are_named() {
        let m = parse_mapping(" customer_id=CustomerID, time = InvoiceDate ,").unwrap();
        assert_eq!(
            m,
            vec![
                ("customer_id".to_string(), "CustomerID".to_string()),
                ("time".to_string(), "InvoiceDate".to_string())
            ]
        );
        assert_eq!(
            parse_mapping("x=a=b").unwrap(),
            vec![("x".into(), "a=b".into())]
        );
        assert!(parse_mapping("").unwrap().is_empty());
        for bad in ["a=B,oops", "=B", "a="] {
            let e = parse_mapping(bad).unwrap_err().to_string();
            let pair = bad.rsplit(',').next().unwrap();
            assert!(e.contains(&format!("{pair:?}")), "{e}");
        }
    }
}
