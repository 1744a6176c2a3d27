//! The fast path of delimited text against the row path: the same batches,
//! rejects and errors on the example files and on generated files full of
//! awkward text, read whole and in parts.

use crate::common::{concat, opts, read_all, skipping};
use arrow::record_batch::RecordBatch;
use clientela_core::time::{parse_tz, TimeParser};
use clientela_core::RecordKind;
use clientela_ingest::{read_files, Delimiter, OnError, Parallel, ReadOptions, Reject};
use clientela_table::{schema_for, RowContext};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

type Read = Result<(RecordBatch, Vec<Reject>), String>;

fn with_fast(o: &ReadOptions, fast: bool) -> ReadOptions {
    ReadOptions { fast, ..o.clone() }
}

/// A file read by `read_file`.
fn whole(path: &Path, o: &ReadOptions) -> Read {
    read_all(path, o).map_err(|e| e.to_string())
}

/// A file read by `read_files`, in parts of `part_bytes`.
fn in_parts(path: &Path, o: &ReadOptions, part_bytes: u64) -> Read {
    let par = Parallel {
        threads: 3,
        part_bytes,
    };
    let mut results = read_files(&[path.to_path_buf()], o, &par, &|_| {});
    let data = results.remove(0).map_err(|e| e.to_string())?;
    Ok((concat(data.kind, &data.batches), data.rejects))
}

/// `o` reading files into a buffer instead of mapping them.
fn unmapped(o: &ReadOptions) -> ReadOptions {
    ReadOptions {
        map_files: false,
        ..o.clone()
    }
}

/// Reads `path` every way and checks each against the row path.
fn check_all_ways(path: &Path, o: &ReadOptions, what: &str) {
    let want = whole(path, &with_fast(o, false));
    let got = whole(path, &with_fast(o, true));
    assert_eq!(got, want, "{what}: fast path, whole file");
    let got = whole(path, &unmapped(&with_fast(o, true)));
    assert_eq!(got, want, "{what}: fast path, whole file, not mapped");
    let size = std::fs::metadata(path).unwrap().len();
    for part in [size / 7 + 1, size / 3 + 1, 97] {
        let got = in_parts(path, o, part);
        assert_eq!(got, want, "{what}: fast path in parts of {part} bytes");
        let got = in_parts(path, &unmapped(o), part);
        assert_eq!(
            got, want,
            "{what}: fast path in unmapped parts of {part} bytes"
        );
        let got = in_parts(path, &with_fast(o, false), part);
        assert_eq!(got, want, "{what}: row path through read_files");
    }
}

/// Reads `path` reading only `fields` of `kind`: the same rejects and
/// errors as a full read, the same values in the columns read.
fn check_projection(path: &Path, o: &ReadOptions, kind: RecordKind, fields: &[&str], what: &str) {
    let want = whole(path, &with_fast(o, false));
    let p = ReadOptions {
        fields: [(kind, fields.iter().map(|f| f.to_string()).collect())].into(),
        ..o.clone()
    };
    // Customer ids as runs: the same ids, as a dictionary.
    let runs = ReadOptions {
        customer_id_runs: true,
        ..p.clone()
    };
    let size = std::fs::metadata(path).unwrap().len();
    for got in [
        whole(path, &p),
        whole(path, &with_fast(&p, false)),
        in_parts(path, &p, size / 5 + 1),
        whole(path, &runs),
        whole(path, &with_fast(&runs, false)),
        in_parts(path, &runs, size / 5 + 1),
    ] {
        match (&got, &want) {
            (Ok((b, r)), Ok((wb, wr))) => {
                assert_eq!(r, wr, "{what}: rejects");
                assert_eq!(b.num_rows(), wb.num_rows(), "{what}: rows");
                for spec in kind.fields().iter().filter(|f| fields.contains(&f.name)) {
                    let c = spec.column();
                    let want = wb.column_by_name(&c).unwrap();
                    let got = b.column_by_name(&c).unwrap();
                    let got = arrow::compute::cast(got, want.data_type()).unwrap();
                    assert_eq!(&got, want, "{what}: {c}");
                }
            }
            _ => assert_eq!(got.as_ref().err(), want.as_ref().err(), "{what}: error"),
        }
    }
}

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the examples are there");
    files
}

#[test]
fn every_example_reads_the_same_both_ways() {
    for path in examples() {
        let what = path.display().to_string();
        check_all_ways(&path, &ReadOptions::default(), &what);
        check_all_ways(&path, &skipping(ReadOptions::default()), &what);
    }
}

#[test]
fn examples_in_another_zone_and_with_a_date_format_read_the_same() {
    let rome = RowContext {
        time: TimeParser::new(vec![], parse_tz("Europe/Rome").unwrap()),
    };
    let formats = RowContext {
        time: TimeParser::new(
            vec!["%Y-%m-%dT%H:%M:%S%.fZ".into()],
            parse_tz("Asia/Tokyo").unwrap(),
        ),
    };
    for path in examples() {
        for context in [rome.clone(), formats.clone()] {
            let o = ReadOptions {
                context,
                ..skipping(ReadOptions::default())
            };
            let want = whole(&path, &with_fast(&o, false));
            assert_eq!(whole(&path, &o), want, "{}", path.display());
        }
    }
}

/// A small deterministic random source (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const IDS: &[&str] = &[
    "c1",
    "c2",
    " c3 ",
    "\"c,4\"",
    "\"c\"\"5\"",
    "é6",
    "\"c\n7\"",
    "\"\"",
    "c1",
];
const TIMES: &[&str] = &[
    "2024-01-01",
    "2024-02-29T10:00:00Z",
    "2024-03-01 12:30",
    "2024-03-01T23:30:00.250+01:00",
    "2024-03-01 08:00:00.5",
    "yesterday",
    "2023-02-29",
    " 2024-01-05 ",
    "\"2024-01-06\"",
    "2024-01-01T10:00:00.1234567891Z",
    "2024-03-31 02:30:00",
    "2024-10-27 02:30:00",
];
const AMOUNTS: &[&str] = &[
    "12.30", "-5", "\"1,5\"", "\"7.5\"", "1e3", "", " 3 ", "+1.5", ".5", "100", "0.001", "12.345",
];
const CURRENCIES: &[&str] = &["EUR", "eur", "JPY", "KWD", "EURO", "", " usd ", "\"EUR\""];
const QUANTITIES: &[&str] = &["", "1", "-2", "x", "1000001", "+3", "\" 4\""];
const TEXTS: &[&str] = &[
    "web",
    "\"a,b\"",
    "\"a;b\"",
    "\"multi\nline\"",
    "\"multi\r\nline\"",
    "\"say \"\"hi\"\"\"",
    "",
    "ünï",
    "  padded  ",
    "\u{a0}nbsp",
];
const ITEMS: &[&str] = &[
    "\"[{\"\"sku\"\":\"\"A\"\",\"\"qty\"\":2}]\"",
    "x",
    "",
    "\"\"",
];

/// A CSV file of orders with `rows` rows of awkward values, and now and
/// then an awkward line: a blank one, a quote inside an unquoted field,
/// text after a closing quote, invalid UTF-8, a wrong field count.
/// `noise` is the percentage of values and lines that may be awkward.
fn awkward_orders(
    rng: &mut Rng,
    rows: usize,
    delim: u8,
    crlf: bool,
    ids: bool,
    noise: usize,
) -> Vec<u8> {
    let d = delim as char;
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut out = Vec::new();
    if rng.chance(30) {
        out.extend_from_slice(b"\xef\xbb\xbf");
    }
    let header = [
        "event_id",
        "customer_id",
        "time",
        "amount",
        "currency",
        "quantity",
        "channel",
        "coupon",
        "discount",
        "items",
    ];
    let header = if ids { &header[..] } else { &header[1..] };
    out.extend_from_slice(header.join(&d.to_string()).as_bytes());
    out.extend_from_slice(eol.as_bytes());
    for r in 0..rows {
        let mut fields: Vec<String> = Vec::new();
        if ids {
            fields.push(
                rng.pick(&["", "o1", "\"o,2\"", &format!("o{r}")])
                    .to_string(),
            );
        }
        for pool in [
            IDS, TIMES, AMOUNTS, CURRENCIES, QUANTITIES, TEXTS, TEXTS, AMOUNTS, ITEMS,
        ] {
            // Mostly good values, so that most rows are kept.
            let v = if rng.chance(noise) {
                rng.pick(pool)
            } else {
                pool[0]
            };
            fields.push(v.to_string());
        }
        let mut line = fields.join(&d.to_string()).into_bytes();
        match rng.below(800 / noise.max(1)) {
            0 => line.splice(1..1, b"x\"y".iter().copied()).for_each(drop),
            1 => line.extend_from_slice(b"\"tail\""),
            2 => line.extend_from_slice(b"\xff"),
            3 => line.extend_from_slice(format!("{d}{d}").as_bytes()),
            4 => line.extend_from_slice(format!("{d}extra").as_bytes()),
            5 => line.truncate(line.len() / 3),
            6 => out.extend_from_slice(eol.as_bytes()),
            7 => line.extend_from_slice(b"\rx"),
            _ => {}
        }
        out.extend_from_slice(&line);
        if r + 1 < rows || rng.chance(70) {
            out.extend_from_slice(eol.as_bytes());
        }
    }
    out
}

#[test]
fn awkward_files_read_the_same_every_way() {
    let dir = tempfile::tempdir().unwrap();
    for seed in 1..=60u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let delim = if seed % 5 == 0 { b';' } else { b',' };
        let crlf = seed % 3 == 0;
        let ids = seed % 2 == 0;
        // Noisy files for the rejects, quiet ones for late errors.
        let noise = if seed % 4 < 2 { 20 } else { 1 };
        let text = awkward_orders(&mut rng, 200, delim, crlf, ids, noise);
        let path = dir.path().join(format!("orders{seed}.csv"));
        std::fs::write(&path, &text).unwrap();
        let mut o = opts(RecordKind::Order);
        o.delimiter = Some(Delimiter::Byte(delim));
        o.batch_rows = 1 + seed as usize % 40;
        let what = format!(
            "seed {seed} (delimiter {:?}, crlf {crlf}, noise {noise})",
            delim as char
        );
        check_all_ways(&path, &skipping(o.clone()), &what);
        check_all_ways(&path, &o, &what);
        let read = ["customer_id", "time", "amount", "currency"];
        check_projection(&path, &skipping(o.clone()), RecordKind::Order, &read, &what);
        check_projection(&path, &o, RecordKind::Order, &read, &what);
        if std::env::var("SHOW").is_ok() {
            let (b, r) = whole(&path, &skipping(o.clone())).unwrap();
            let stop = whole(&path, &o).err();
            eprintln!(
                "{what}: {} rows, {} rejects; stop: {stop:?}",
                b.num_rows(),
                r.len()
            );
        }
    }
}

#[test]
fn bad_values_at_every_place_of_a_part_name_the_same_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = "c1,2024-01-01T10:00:00Z,1.50,EUR\n";
    let head = "customer_id,time,amount,currency\n";
    for bad_row in [0, 1, 9, 10, 11, 19, 20, 39] {
        for bad in [
            "c1,2024-01-01,1,5,EUR\n",
            "c1,noon,1,EUR\n",
            "c1,2024-01-01,\"1\n5\",EUR\n",
        ] {
            let mut text = String::from(head);
            for r in 0..40 {
                text.push_str(if r == bad_row { bad } else { good });
            }
            let path = dir.path().join("orders.csv");
            std::fs::write(&path, &text).unwrap();
            // Parts of 10 rows: the bad row first, inside or last in a part.
            let part = (10 * good.len()) as u64;
            for o in [opts(RecordKind::Order), skipping(opts(RecordKind::Order))] {
                let want = whole(&path, &with_fast(&o, false));
                assert_eq!(in_parts(&path, &o, part), want, "row {bad_row}: {bad:?}");
                assert_eq!(
                    in_parts(&path, &o, part - 3),
                    want,
                    "row {bad_row}: {bad:?}"
                );
                assert_eq!(whole(&path, &o), want, "row {bad_row}: {bad:?}");
            }
        }
    }
}

#[test]
fn quoted_line_ends_at_a_cut_are_read_again_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("customer_id,time,survey,score,comment\r\n");
    for r in 0..200 {
        let comment = if r % 3 == 0 {
            "\"one\r\ntwo\nthree\""
        } else {
            "fine"
        };
        text.push_str(&format!("c{r},2024-01-01,nps,{},{comment}\r\n", r % 11));
    }
    let path = dir.path().join("surveys.csv");
    std::fs::write(&path, &text).unwrap();
    for part in [50, 61, 333, 1000] {
        let o = skipping(ReadOptions::default());
        assert_eq!(
            in_parts(&path, &o, part),
            whole(&path, &with_fast(&o, false))
        );
    }
}

#[test]
fn derived_ids_count_duplicates_across_parts() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("customer_id,time,amount,currency\n");
    for r in 0..300 {
        // Few distinct rows: each occurs in many parts.
        text.push_str(&format!("c{},2024-01-0{},1.00,EUR\n", r % 4, 1 + r % 3));
    }
    let path = dir.path().join("orders.csv");
    std::fs::write(&path, &text).unwrap();
    let o = opts(RecordKind::Order);
    let want = whole(&path, &with_fast(&o, false)).unwrap();
    let ids = crate::common::texts(&want.0, "event_id");
    assert!(ids
        .iter()
        .any(|i| i.as_deref().is_some_and(|i| i.ends_with(":24"))));
    for part in [40, 100, 1000] {
        assert_eq!(in_parts(&path, &o, part).unwrap(), want, "parts of {part}");
    }
}

#[test]
fn unread_fields_are_placeholders_but_still_checked() {
    let dir = tempfile::tempdir().unwrap();
    let text = "customer_id,time,amount,currency,quantity,channel\n\
                c1,2024-01-01,1.50,EUR,2,web\n\
                c2,2024-01-02,2.50,EUR,x,web\n";
    let path = dir.path().join("orders.csv");
    std::fs::write(&path, text).unwrap();
    let fields: BTreeMap<RecordKind, Vec<String>> = [(
        RecordKind::Order,
        vec!["customer_id".to_string(), "amount".to_string()],
    )]
    .into();
    let o = ReadOptions {
        fields: fields.clone(),
        ..opts(RecordKind::Order)
    };
    for fast in [true, false] {
        let o = with_fast(&o, fast);
        let e = whole(&path, &o).unwrap_err();
        assert!(e.contains("line 3, column \"quantity\""), "{e}");
        let (b, rejects) = whole(&path, &skipping(o.clone())).unwrap();
        assert_eq!(rejects.len(), 1);
        assert_eq!(b.schema(), schema_for(RecordKind::Order));
        let all = whole(&path, &skipping(opts(RecordKind::Order))).unwrap().0;
        for name in ["customer_id", "amount_minor"] {
            assert_eq!(b.column_by_name(name), all.column_by_name(name), "{name}");
        }
        assert_eq!(b.column_by_name("channel").unwrap().null_count(), 1);
        let ids = crate::common::texts(&b, "event_id");
        assert_eq!(ids, vec![Some(String::new())], "no id derived");
    }
    let o = ReadOptions {
        fields: [(RecordKind::Order, vec!["price".to_string()])].into(),
        ..opts(RecordKind::Order)
    };
    assert!(whole(&path, &o).unwrap_err().contains("no field \"price\""));
}

#[test]
fn many_files_keep_their_order_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (i, body) in [
        "c1,2024-01-01,1,EUR\n",
        "c2,2024-01-02,x,EUR\n",
        "c3,2024-01-03,3,EUR\n",
    ]
    .iter()
    .enumerate()
    {
        let p = dir.path().join(format!("orders{i}.csv"));
        std::fs::write(
            &p,
            format!("customer_id,time,amount,currency\n{}", body.repeat(50)),
        )
        .unwrap();
        paths.push(p);
    }
    paths.push(dir.path().join("missing_orders.csv"));
    let par = Parallel {
        threads: 2,
        part_bytes: 300,
    };
    let o = ReadOptions {
        on_error: OnError::Stop,
        ..opts(RecordKind::Order)
    };
    let results = read_files(&paths, &o, &par, &|_| {});
    assert_eq!(results.len(), 4);
    assert_eq!(
        results[0]
            .as_ref()
            .unwrap()
            .batches
            .iter()
            .map(|b| b.num_rows())
            .sum::<usize>(),
        50
    );
    let e = results[1].as_ref().unwrap_err().to_string();
    assert!(e.contains("orders1.csv line 2, column \"amount\""), "{e}");
    assert!(results[2].is_ok());
    assert!(results[3].is_err());
}

#[test]
fn edge_case_files_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let head = "customer_id,time,amount,currency";
    let row = "c1,2024-01-01,1.5,EUR";
    let texts = [
        String::new(),
        "\n".into(),
        "\u{feff}".into(),
        head.into(),
        format!("{head}\n"),
        format!("\u{feff}{head}\r\n{row}\r\n"),
        format!("{head}\n{row}"),
        format!("{head}\r\n{row}\r"),
        format!("{head}\r{row}\r{row}\r"),
        format!("{head}\n\n\n{row}\n\n"),
        format!("{head}\r\n\r\n{row}\r\n\r\n"),
        format!("{head}\n{row}\n\"c2,2024-01-01,1,EUR\n"),
        format!("{head}\n{row},,\n{row}, ,\n{row},\"\"\n"),
        format!("{head}\n\"c\"\"1\",\"2024-01-01\",\"1.5\",\"EUR\"\n"),
        format!("{head}\n\"c1\"x,2024-01-01,1,EUR\n{row}\n"),
        format!("\"customer_id\",\"ti\"\"me\",amount,currency\n{row}\n"),
        format!("{head}\n{row}\n\u{a0}c2\u{3000},2024-01-01 ,\t1 , eur\n"),
    ];
    for (i, text) in texts.iter().enumerate() {
        let path = dir.path().join(format!("orders{i}.csv"));
        std::fs::write(&path, text).unwrap();
        let o = opts(RecordKind::Order);
        check_all_ways(&path, &o, &format!("{text:?}"));
        check_all_ways(&path, &skipping(o), &format!("{text:?}"));
    }
    // Without a header, the column names given.
    let path = dir.path().join("orders.csv");
    std::fs::write(&path, format!("\u{feff}{row}\n{row}")).unwrap();
    let o = ReadOptions {
        has_header: false,
        column_names: Some(head.split(',').map(String::from).collect()),
        ..opts(RecordKind::Order)
    };
    check_all_ways(&path, &o, "no header");
}

#[test]
fn records_longer_than_the_buffer_are_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let long = "x\"\"y,\n".repeat(300_000);
    let mut text = String::from("customer_id,time,name,properties\n");
    for r in 0..3 {
        text.push_str(&format!("c{r},2024-01-01,login,\"{long}\"\n"));
        text.push_str(&format!("c{r},2024-01-02,logout,{}\n", "y".repeat(700_000)));
    }
    let path = dir.path().join("usage.csv");
    std::fs::write(&path, &text).unwrap();
    let o = ReadOptions::default();
    let want = whole(&path, &with_fast(&o, false));
    assert_eq!(whole(&path, &o), want);
    assert_eq!(in_parts(&path, &o, 1 << 20), want);
    // Read into a buffer, which must grow for them.
    assert_eq!(whole(&path, &unmapped(&o)), want);
    assert_eq!(in_parts(&path, &unmapped(&o), 1 << 20), want);
    assert_eq!(want.unwrap().0.num_rows(), 6);
}
