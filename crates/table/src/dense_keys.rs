//! Dense integer keys for customer ids, on all cores.
//!
//! Keying the events of files read without a store looks up every row's
//! customer id in a map of a million ids: single-threaded, that cost more
//! than reading the files. Each thread keys a contiguous run of the
//! columns with a map of its own (ids borrowed from the arrays, and a run
//! of rows of one customer looked up once); the threads' ids are then
//! merged in order, so a key is the position of the id's first appearance
//! in the columns taken in order, whatever the number of threads.

use crate::threads::{cores, map_on_threads, runs_by_weight};
use arrow::array::{Array, Int64Array, StringArray};
use std::collections::HashMap;

/// How many keys after the last one a new id is compared with before it is
/// looked up.
const LOOKAHEAD: usize = 4;

/// Id → key, with a fast hash (SipHash, std's default, costs more than the
/// rest of the keying).
type KeyMap<'a, K> = HashMap<&'a str, K, foldhash::fast::RandomState>;

/// The keys of every row of `columns` (one array per column) and the ids
/// in key order: the first id seen gets 0, the next new one 1, and so on.
/// Nulls are keyed as the empty id.
pub(crate) fn dense_keys<'a>(columns: &[&'a StringArray]) -> (Vec<Int64Array>, Vec<&'a str>) {
    dense_keys_on(columns, cores())
}

/// [`dense_keys`] on at most `threads` threads.
fn dense_keys_on<'a>(
    columns: &[&'a StringArray],
    threads: usize,
) -> (Vec<Int64Array>, Vec<&'a str>) {
    let runs = runs(columns, threads);
    let local: Vec<LocalKeys<'a>> = map_on_threads(&runs, |run| LocalKeys::of(run));
    // Each thread's new ids in its order, the threads in the columns' order:
    // the global first-appearance order. The first thread's keys are
    // already global, and its map serves as the global map.
    let mut local = local.into_iter();
    let Some(first) = local.next() else {
        return (Vec::new(), Vec::new());
    };
    let mut global = first.map;
    let mut ids = first.ids;
    let mut keyed = vec![(first.keys, None)];
    for l in local {
        global.reserve(l.ids.len());
        let to_global: Vec<u32> = l
            .ids
            .iter()
            .map(|&id| {
                *global.entry(id).or_insert_with(|| {
                    ids.push(id);
                    ids.len() as u32 - 1
                })
            })
            .collect();
        keyed.push((l.keys, Some(to_global)));
    }
    let keys = map_on_threads(&keyed, |(keys, to_global)| {
        keys.iter()
            .map(|keys| match to_global {
                None => Int64Array::from_iter_values(keys.iter().map(|&k| i64::from(k))),
                Some(to) => {
                    Int64Array::from_iter_values(keys.iter().map(|&k| i64::from(to[k as usize])))
                }
            })
            .collect::<Vec<_>>()
    });
    let keys = keys.into_iter().flatten().collect();
    (keys, ids)
}

/// `columns` cut into at most `n` contiguous runs of about equal rows.
fn runs<'c, 'a>(columns: &'c [&'a StringArray], n: usize) -> Vec<&'c [&'a StringArray]> {
    runs_by_weight(columns, n, |c| c.len())
}

/// One thread's keys: local to its run, in its own first-appearance order.
struct LocalKeys<'a> {
    /// Per column, each row's local key.
    keys: Vec<Vec<u32>>,
    /// The run's ids by local key.
    ids: Vec<&'a str>,
    /// Id → local key.
    map: KeyMap<'a, u32>,
}

impl<'a> LocalKeys<'a> {
    fn of(run: &[&'a StringArray]) -> LocalKeys<'a> {
        // Room for an id in every fourth row up front: growing a map of a
        // million ids rehashes it again and again.
        let rows: usize = run.iter().map(|c| c.len()).sum();
        let mut map: KeyMap<'a, u32> =
            HashMap::with_capacity_and_hasher(rows / 4, Default::default());
        let mut ids: Vec<&'a str> = Vec::new();
        let mut last: Option<(&'a str, u32)> = None;
        let keys = run
            .iter()
            .map(|column| {
                (0..column.len())
                    .map(|row| {
                        let id = if column.is_null(row) {
                            ""
                        } else {
                            column.value(row)
                        };
                        // Exports often list a customer's rows together,
                        // and customers in much the order they were first
                        // seen: the next one is then among the next few
                        // keys, found without hashing (a lookup in a map
                        // of a million ids misses the cache).
                        if let Some((previous, key)) = last {
                            if previous == id {
                                return key;
                            }
                            let mut ahead = ids.iter().skip(key as usize + 1).take(LOOKAHEAD);
                            if let Some(step) = ahead.position(|&next| next == id) {
                                let key = key + 1 + step as u32;
                                last = Some((id, key));
                                return key;
                            }
                        }
                        let key = *map.entry(id).or_insert_with(|| {
                            ids.push(id);
                            ids.len() as u32 - 1
                        });
                        last = Some((id, key));
                        key
                    })
                    .collect()
            })
            .collect();
        LocalKeys { keys, ids, map }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(ids: &[Option<&str>]) -> StringArray {
        StringArray::from(ids.to_vec())
    }

    fn values(a: &Int64Array) -> Vec<i64> {
        a.values().to_vec()
    }

    #[test]
    fn keys_follow_first_appearance_across_columns() {
        let a = column(&[Some("x"), Some("y"), Some("x")]);
        let b = column(&[Some("z"), Some("y"), None]);
        let c = column(&[Some("z"), Some("w")]);
        let (keys, ids) = dense_keys(&[&a, &b, &c]);
        assert_eq!(ids, ["x", "y", "z", "", "w"]);
        assert_eq!(values(&keys[0]), [0, 1, 0]);
        assert_eq!(values(&keys[1]), [2, 1, 3]);
        assert_eq!(values(&keys[2]), [2, 4]);
    }

    #[test]
    fn any_number_of_runs_gives_the_same_keys() {
        let columns: Vec<StringArray> = (0..7)
            .map(|c| {
                let ids: Vec<String> = (0..5).map(|r| format!("id{}", (c * 3 + r) % 11)).collect();
                StringArray::from_iter_values(ids)
            })
            .collect();
        let refs: Vec<&StringArray> = columns.iter().collect();
        let mut seen: Vec<&str> = Vec::new();
        let mut want: Vec<Vec<i64>> = Vec::new();
        for column in &columns {
            let mut keys = Vec::new();
            for r in 0..column.len() {
                let id = column.value(r);
                let key = seen.iter().position(|s| *s == id).unwrap_or_else(|| {
                    seen.push(id);
                    seen.len() - 1
                });
                keys.push(key as i64);
            }
            want.push(keys);
        }
        for threads in 1..=8 {
            assert!(runs(&refs, threads).len() <= threads);
            let (keys, ids) = dense_keys_on(&refs, threads);
            assert_eq!(ids, seen, "{threads} threads");
            assert_eq!(keys.iter().map(values).collect::<Vec<_>>(), want);
        }
    }

    #[test]
    fn no_columns_no_keys() {
        let (keys, ids) = dense_keys(&[]);
        assert!(keys.is_empty() && ids.is_empty());
    }
}
