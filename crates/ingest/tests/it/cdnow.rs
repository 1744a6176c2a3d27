//! The CDNOW layout: whitespace-separated columns, `YYYYMMDD` dates, amounts
//! in dollars without a currency column.

use crate::common::{file, micros, opts, read_all, texts};
use clientela_core::time::{parse_tz, TimeParser};
use clientela_core::RecordKind;
use clientela_ingest::{parse_mapping, read_file, Delimiter, ReadOptions};
use clientela_table::RowContext;
use std::collections::HashSet;
use std::path::PathBuf;

fn cdnow_opts(mapping: &str) -> ReadOptions {
    ReadOptions {
        delimiter: Some(Delimiter::Whitespace),
        mapping: parse_mapping(mapping).unwrap(),
        constants: parse_mapping("currency=USD").unwrap(),
        context: RowContext {
            time: TimeParser::new(vec!["%Y%m%d".into()], parse_tz("UTC").unwrap()),
        },
        ..opts(RecordKind::Order)
    }
}

#[test]
fn headerless_whitespace_file_with_column_names() {
    let dir = tempfile::tempdir().unwrap();
    let text = " 00001 19970101  1   11.77\r\n 00002 19970112  1   12.00\r\n 00002 19970112  1   12.00\r\n\r\n\t00003 19970102  2   20.76";
    let path = file(dir.path(), "CDNOW.txt", text);
    let o = ReadOptions {
        has_header: false,
        column_names: Some(vec![
            "id".into(),
            "date".into(),
            "cds".into(),
            "dollars".into(),
        ]),
        ..cdnow_opts("customer_id=id,time=date,quantity=cds,amount=dollars")
    };
    let reader = read_file(&path, &o).unwrap();
    assert_eq!(reader.total_bytes(), Some(text.len() as u64));
    let chunks: Vec<_> = reader.map(Result::unwrap).collect();
    assert_eq!(
        chunks.iter().map(|c| c.bytes_read).sum::<u64>(),
        text.len() as u64
    );
    let (b, rejects) = read_all(&path, &o).unwrap();
    assert!(rejects.is_empty());
    let s = |v: &[&str]| v.iter().map(|x| Some(x.to_string())).collect::<Vec<_>>();
    assert_eq!(
        texts(&b, "customer_id"),
        s(&["00001", "00002", "00002", "00003"])
    );
    let t = [
        micros("1997-01-01T00:00:00Z"),
        micros("1997-01-12T00:00:00Z"),
        micros("1997-01-12T00:00:00Z"),
        micros("1997-01-02T00:00:00Z"),
    ];
    assert_eq!(
        texts(&b, "time"),
        s(&t.iter().map(String::as_str).collect::<Vec<_>>())
    );
    assert_eq!(
        texts(&b, "amount_minor"),
        s(&["1177", "1200", "1200", "2076"])
    );
    assert_eq!(texts(&b, "quantity"), s(&["1", "1", "1", "2"]));
    assert_eq!(texts(&b, "currency"), s(&["USD"; 4]));
    let ids: Vec<String> = texts(&b, "event_id")
        .into_iter()
        .map(Option::unwrap)
        .collect();
    assert_ne!(ids[1], ids[2], "two identical purchases stay two events");
    assert_eq!(format!("{}:1", ids[1]), ids[2]);
    assert!(ids[0].starts_with("order:"));
}

/// The real CDNOW master file, if this checkout can see it.
fn cdnow_master() -> Option<PathBuf> {
    let candidates = [
        std::env::var("CLIENTELA_CDNOW").ok().map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/cdnow/CDNOW_master.txt")),
        Some(PathBuf::from("/work/shared/data/cdnow/CDNOW_master.txt")),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

#[test]
fn the_cdnow_master_file() {
    let Some(path) = cdnow_master() else {
        eprintln!("CDNOW_master.txt not found (set CLIENTELA_CDNOW): test skipped");
        return;
    };
    let o =
        cdnow_opts("customer_id=customer_id,time=date,amount=dollar_value,quantity=number_of_cds");
    let (b, rejects) = read_all(&path, &o).unwrap();
    assert!(rejects.is_empty());
    // README of data/cdnow: 23,570 customers, 69,659 transactions.
    assert_eq!(b.num_rows(), 69_659);
    let customers: HashSet<_> = texts(&b, "customer_id").into_iter().collect();
    assert_eq!(customers.len(), 23_570);
    let ids = texts(&b, "event_id");
    let distinct: HashSet<_> = ids.iter().collect();
    assert_eq!(
        distinct.len(),
        69_659,
        "identical rows still get distinct ids"
    );
    // First data line: " 00001 19970101  1   11.77".
    assert_eq!(texts(&b, "customer_id")[0].as_deref(), Some("00001"));
    assert_eq!(texts(&b, "time")[0], Some(micros("1997-01-01T00:00:00Z")));
    assert_eq!(texts(&b, "amount_minor")[0].as_deref(), Some("1177"));
    assert_eq!(texts(&b, "quantity")[0].as_deref(), Some("1"));
    // A second import gives the same ids: re-importing changes nothing.
    let (again, _) = read_all(&path, &o).unwrap();
    assert_eq!(texts(&again, "event_id"), ids);
}
