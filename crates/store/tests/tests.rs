//! Integration tests of the store: idempotent import, minimal customers,
//! the columnar copy, atomic batches under a crash, and saved segments.

use clientela_core::RecordKind;
use clientela_store::Store;
use clientela_table::arrow::array::{Array, Int64Array, RecordBatch, StringArray};
use clientela_table::{derive_event_id, parse_row, KindBuilder, RowContext};

/// Builds a canonical batch from rows of raw text in field order.
fn batch(kind: RecordKind, rows: &[Vec<Option<&str>>]) -> RecordBatch {
    let mut b = KindBuilder::new(kind);
    for raw in rows {
        let mut v = parse_row(kind, raw, &RowContext::default()).unwrap();
        if v[0] == clientela_table::Value::Null && kind.is_event() {
            v[0] = clientela_table::Value::Text(derive_event_id(kind, raw, 0));
        }
        b.push(&v);
    }
    b.finish()
}

fn order<'a>(
    id: &'a str,
    customer: &'a str,
    day: &'a str,
    amount: &'a str,
) -> Vec<Option<&'a str>> {
    vec![
        Some(id),
        Some(customer),
        Some(day),
        Some(amount),
        Some("EUR"),
        None,
        None,
        None,
        None,
        None,
    ]
}

fn customer<'a>(id: &'a str, country: &'a str) -> Vec<Option<&'a str>> {
    let mut r = vec![None; RecordKind::Customer.fields().len()];
    r[0] = Some(id);
    r[4] = Some(country);
    r
}

fn count(store: &Store, kind: RecordKind) -> u64 {
    store
        .counts()
        .unwrap()
        .into_iter()
        .find(|(k, _)| *k == kind)
        .unwrap()
        .1
}

#[test]
fn reimporting_the_same_events_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("c.db")).unwrap();
    let orders = batch(
        RecordKind::Order,
        &[
            order("o1", "alice", "2024-01-01", "10"),
            order("o2", "bob", "2024-01-02", "-2.50"),
        ],
    );
    let first = store
        .import_batch(RecordKind::Order, &orders, |_| {})
        .unwrap();
    assert_eq!(
        (
            first.rows,
            first.stored,
            first.duplicates,
            first.minimal_customers
        ),
        (2, 2, 0, 2)
    );
    let generation = store.generation().unwrap();
    let again = store
        .import_batch(RecordKind::Order, &orders, |_| {})
        .unwrap();
    assert_eq!(
        (again.stored, again.duplicates, again.minimal_customers),
        (0, 2, 0)
    );
    assert_eq!(store.generation().unwrap(), generation, "nothing changed");
    assert_eq!(count(&store, RecordKind::Order), 2);
    assert_eq!(count(&store, RecordKind::Customer), 2);
}

#[test]
fn a_later_description_completes_a_minimal_customer() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("c.db")).unwrap();
    store
        .import_batch(
            RecordKind::Order,
            &batch(RecordKind::Order, &[order("o1", "bob", "2024-01-01", "5")]),
            |_| {},
        )
        .unwrap();
    let out = store
        .import_batch(
            RecordKind::Customer,
            &batch(
                RecordKind::Customer,
                &[customer("bob", "IT"), customer("carol", "DE")],
            ),
            |_| {},
        )
        .unwrap();
    assert_eq!((out.stored, out.duplicates), (1, 1));
    let ds = store.load().unwrap();
    let c = &ds.tables[&RecordKind::Customer][0];
    let ids = c
        .column_by_name("customer_id")
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    let country = c
        .column_by_name("country")
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert_eq!((ids.value(0), country.value(0)), ("bob", "IT"));
    assert_eq!((ids.value(1), country.value(1)), ("carol", "DE"));
    let o = &ds.tables[&RecordKind::Order][0];
    let ck = o
        .column_by_name("ck")
        .unwrap()
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    assert_eq!(ck.value(0), 0, "bob's dense key");
}

#[test]
fn the_columnar_copy_follows_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("c.db")).unwrap();
    let b1 = batch(RecordKind::Order, &[order("o1", "a", "2024-01-01", "1")]);
    store.import_batch(RecordKind::Order, &b1, |_| {}).unwrap();
    assert_eq!(store.load().unwrap().rows(RecordKind::Order), 1);
    assert!(store
        .snapshot_dir()
        .join("orders.amount_minor.arrow")
        .exists());
    let b2 = batch(RecordKind::Order, &[order("o2", "a", "2024-01-02", "2")]);
    store.import_batch(RecordKind::Order, &b2, |_| {}).unwrap();
    let ds = store.load().unwrap();
    assert_eq!(ds.rows(RecordKind::Order), 2, "stale copy rebuilt");
    // A damaged copy is rebuilt from SQLite, never trusted.
    std::fs::write(store.snapshot_dir().join("orders.ck.arrow"), b"garbage").unwrap();
    let ds2 = store.load().unwrap();
    assert_eq!(ds2.rows(RecordKind::Order), 2);
    assert_eq!(
        ds.tables[&RecordKind::Order],
        ds2.tables[&RecordKind::Order]
    );
    // A projected load reads only the asked columns, from the copy or from SQLite.
    let only = |k: RecordKind| (k == RecordKind::Order).then_some(&["ck", "amount_minor"][..]);
    for _ in 0..2 {
        let p = store.load_columns(only).unwrap();
        let o = &p.tables[&RecordKind::Order][0];
        let schema = o.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["ck", "amount_minor"]);
        let amounts = o.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!(amounts.values(), &[100, 200]);
        let customers = &p.tables[&RecordKind::Customer][0];
        assert_eq!(
            customers.num_columns(),
            ds.tables[&RecordKind::Customer][0].num_columns()
        );
        std::fs::remove_dir_all(store.snapshot_dir()).unwrap();
    }
}

#[test]
fn tables_read_from_the_copy_survive_its_rewrite() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("m.db")).unwrap();
    let b1 = batch(RecordKind::Order, &[order("o1", "a", "2024-01-01", "1")]);
    store.import_batch(RecordKind::Order, &b1, |_| {}).unwrap();
    store.load().unwrap(); // writes the copy
    let mapped = store.load().unwrap(); // reads it, memory-mapped
    let amounts = |ds: &clientela_table::Dataset| -> Vec<i64> {
        ds.tables[&RecordKind::Order]
            .iter()
            .flat_map(|b| {
                let a = b.column_by_name("amount_minor").unwrap();
                let a = a.as_any().downcast_ref::<Int64Array>().unwrap();
                a.values().to_vec()
            })
            .collect()
    };
    assert_eq!(amounts(&mapped), [100]);
    // A newer import makes the next load rewrite every column file; the
    // tables mapped before keep their bytes (files are replaced, not
    // rewritten in place).
    let b2 = batch(RecordKind::Order, &[order("o2", "a", "2024-01-02", "2")]);
    store.import_batch(RecordKind::Order, &b2, |_| {}).unwrap();
    assert_eq!(amounts(&store.load().unwrap()), [100, 200]);
    assert_eq!(amounts(&store.load().unwrap()), [100, 200]);
    assert_eq!(amounts(&mapped), [100]);
}

/// Sends key k to partition (k + shift) % n.
struct Rotate {
    n: usize,
    shift: u32,
}

impl clientela_table::KeyPartitioner for Rotate {
    fn partitions(&self) -> usize {
        self.n
    }
    fn assign(&self, max_key: i64) -> Vec<u32> {
        (0..=max_key as u32)
            .map(|k| (k + self.shift) % self.n as u32)
            .collect()
    }
}

/// (ck, amount) of every order, in the order the data set holds them.
fn keyed_amounts(ds: &clientela_table::Dataset) -> Vec<(i64, i64)> {
    ds.tables[&RecordKind::Order]
        .iter()
        .flat_map(|b| {
            let col = |n: &str| {
                b.column_by_name(n)
                    .unwrap()
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .unwrap()
                    .clone()
            };
            let (ck, amount) = (col("ck"), col("amount_minor"));
            (0..b.num_rows())
                .map(|i| (ck.value(i), amount.value(i)))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn the_copy_is_split_by_customer_as_the_engine_asks() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("s.db")).unwrap();
    let rows = [
        order("o1", "a", "2024-01-01", "1"),
        order("o2", "b", "2024-01-02", "2"),
        order("o3", "c", "2024-01-03", "3"),
        order("o4", "a", "2024-01-04", "4"),
        order("o5", "b", "2024-01-05", "5"),
    ];
    store
        .import_batch(RecordKind::Order, &batch(RecordKind::Order, &rows), |_| {})
        .unwrap();
    let plain = store.load().unwrap();
    assert_eq!(plain.split, None, "a copy written without a partitioner");
    // Keys a=0, b=1, c=2 in import order.
    assert_eq!(
        keyed_amounts(&plain),
        [(0, 100), (1, 200), (2, 300), (0, 400), (1, 500)]
    );
    let two = Rotate { n: 2, shift: 0 };
    // The unsplit copy does not serve a split load: it is rewritten from
    // SQLite, and the load reads the new copy back split.
    let first = store.load_split(|_| None, Some(&two)).unwrap();
    let split = store.load_split(|_| None, Some(&two)).unwrap();
    assert_eq!(first.split, split.split);
    assert_eq!(keyed_amounts(&first), keyed_amounts(&split));
    let s = split.split.as_ref().expect("split copy");
    assert!(s.made_by(&two));
    assert_eq!((s.partitions, s.max_key), (2, 2));
    // Partition 0 holds keys 0 and 2, partition 1 key 1; sorted by key,
    // each key's rows in their order.
    assert_eq!(
        keyed_amounts(&split),
        [(0, 100), (0, 400), (2, 300), (1, 200), (1, 500)]
    );
    assert_eq!(s.batches[&RecordKind::Order], [1, 1]);
    let parts = s
        .partition(RecordKind::Order, &split.tables[&RecordKind::Order])
        .unwrap();
    assert_eq!(parts[1][0].num_rows(), 2);
    // A plain load takes the split copy as it is, and says how it is split.
    assert_eq!(store.load().unwrap().split.as_ref(), Some(s));
    // Another engine's split rewrites the copy.
    let shifted = Rotate { n: 2, shift: 1 };
    store.load_split(|_| None, Some(&shifted)).unwrap();
    let again = store.load_split(|_| None, Some(&shifted)).unwrap();
    assert!(again.split.as_ref().unwrap().made_by(&shifted));
    assert_eq!(
        keyed_amounts(&again),
        [(1, 200), (1, 500), (0, 100), (0, 400), (2, 300)]
    );
}

#[test]
fn segments_are_saved_replaced_listed_and_removed_across_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let mut store = Store::open(&path).unwrap();
    let b = batch(RecordKind::Order, &[order("o1", "a", "2024-01-01", "1")]);
    store.import_batch(RecordKind::Order, &b, |_| {}).unwrap();
    let generation = store.generation().unwrap();
    assert!(!store
        .save_segment("vip", "capital > 500", "big spenders")
        .unwrap());
    assert!(!store.save_segment("it", "country = 'IT'", "").unwrap());
    assert!(store
        .save_segment("vip", " capital > 900 ", "bigger")
        .unwrap());
    assert_eq!(
        store.generation().unwrap(),
        generation,
        "segments are not data"
    );
    drop(store);
    let mut store = Store::open(&path).unwrap();
    let all = store.segments().unwrap();
    let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["it", "vip"]);
    let vip = store.require_segment("vip").unwrap();
    assert_eq!(
        (vip.expression.as_str(), vip.description.as_str()),
        ("capital > 900", "bigger")
    );
    let e = store.require_segment("nope").unwrap_err().to_string();
    assert!(e.contains("\"nope\"") && e.contains("it, vip"), "{e}");
    assert!(store.save_segment("bad name", "true", "").is_err());
    assert!(store.save_segment("empty", "  ", "").is_err());
    assert!(store.remove_segment("it").unwrap());
    assert!(!store.remove_segment("it").unwrap());
    assert_eq!(store.segments().unwrap().len(), 1);
}

#[test]
fn a_batch_of_the_wrong_kind_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("c.db")).unwrap();
    let b = batch(RecordKind::Order, &[order("o1", "a", "2024-01-01", "1")]);
    let e = store
        .import_batch(RecordKind::Lead, &b, |_| {})
        .unwrap_err();
    assert!(e.to_string().contains("lead"), "{e}");
}

const CRASH_DB: &str = "CLIENTELA_TEST_CRASH_DB";

/// Child half of the crash test: imports batch 1, then dies in the middle
/// of batch 2 with `abort` (no unwinding, no destructors: like `kill -9`).
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CRASH_DB) else {
        return;
    };
    let mut store = Store::open(path.as_ref()).unwrap();
    let rows = |from: usize| -> Vec<Vec<Option<&'static str>>> {
        (from..from + 100)
            .map(|i| {
                let id: &'static str = Box::leak(format!("o{i}").into_boxed_str());
                let who: &'static str = Box::leak(format!("c{i}").into_boxed_str());
                order(id, who, "2024-03-01", "9.99")
            })
            .collect()
    };
    store
        .import_batch(
            RecordKind::Order,
            &batch(RecordKind::Order, &rows(0)),
            |_| {},
        )
        .unwrap();
    store
        .import_batch(
            RecordKind::Order,
            &batch(RecordKind::Order, &rows(100)),
            |row| {
                if row == 60 {
                    std::process::abort();
                }
            },
        )
        .unwrap();
    unreachable!("the child aborts during the second batch");
}

#[test]
fn a_crash_during_import_leaves_the_store_as_before_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CRASH_DB, &db)
        .status()
        .unwrap();
    assert!(!status.success(), "the child must have died");
    let store = Store::open(&db).unwrap();
    assert_eq!(count(&store, RecordKind::Order), 100, "first batch only");
    assert_eq!(
        count(&store, RecordKind::Customer),
        100,
        "no customer of the lost batch"
    );
    let ds = store.load().unwrap();
    let c = &ds.tables[&RecordKind::Customer][0];
    assert_eq!(c.num_rows(), 100);
    assert!(c.column_by_name("ck").unwrap().null_count() == 0);
}
