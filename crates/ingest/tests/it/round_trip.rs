//! Writing a batch and reading it back gives the same batch, for every
//! record kind and every format.

use crate::common::{opts, read_all, sample};
use clientela_core::RecordKind;
use clientela_ingest::{write_batches, Format};

#[test]
fn every_kind_round_trips_through_every_format() {
    let dir = tempfile::tempdir().unwrap();
    for kind in RecordKind::ALL {
        let batch = sample(kind);
        assert!(batch.num_rows() >= 2, "{kind}");
        for format in Format::ALL {
            let path = dir
                .path()
                .join(format!("{}.{}", kind.table(), format.name()));
            let written = write_batches(&path, format, kind, std::slice::from_ref(&batch)).unwrap();
            assert_eq!(written, batch.num_rows() as u64, "{kind} {format}");
            // Small chunks, so that the batches are also put back together.
            let o = clientela_ingest::ReadOptions {
                batch_rows: 1,
                ..opts(kind)
            };
            let (back, rejects) =
                read_all(&path, &o).unwrap_or_else(|e| panic!("{kind} {format}: {e}"));
            assert!(rejects.is_empty(), "{kind} {format}: {rejects:?}");
            assert_eq!(back, batch, "{kind} {format}");
        }
    }
}

#[test]
fn several_batches_are_written_as_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let batch = sample(RecordKind::Order);
    for format in Format::ALL {
        let path = dir.path().join(format!("orders.{}", format.name()));
        let n = write_batches(
            &path,
            format,
            RecordKind::Order,
            &[batch.clone(), batch.slice(1, 2)],
        )
        .unwrap();
        assert_eq!(n, 5);
        let (back, _) = read_all(&path, &opts(RecordKind::Order)).unwrap();
        assert_eq!(back.num_rows(), 5);
        assert_eq!(back.slice(3, 2), batch.slice(1, 2), "{format}");
    }
}

#[test]
fn written_csv_is_canonical_input_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.csv");
    write_batches(
        &path,
        Format::Csv,
        RecordKind::Order,
        &[sample(RecordKind::Order)],
    )
    .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "event_id,customer_id,time,amount,currency,quantity,channel,coupon,discount,items"
    );
    assert_eq!(
        lines[1],
        r#"o1,c1,2024-02-29T10:00:00Z,12.30,EUR,2,web,SPRING,1.50,"[{""sku"":""A"",""qty"":2,""price"":""6.15""}]""#
    );
    // 23:30:00.250 at +01:00 is 22:30:00.250 UTC; JPY has no decimals.
    assert!(
        lines[2].ends_with(",c2,2024-03-01T22:30:00.250Z,-500,JPY,,,,,"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].ends_with(",c3,2024-03-02T00:00:00Z,1.234,KWD,,,,,"),
        "{}",
        lines[3]
    );
}
