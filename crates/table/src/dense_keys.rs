//! Dense integer keys for customer ids, on all cores.
//!
//! Keying the events of files read without a store looks up every row's
//! customer id in a map of a million ids: single-threaded, that cost more
//! than reading the files. The register of customers is keyed first; the
//! other columns are then looked up in its map on all cores, each thread
//! numbering the ids the register lacks in a map of its own (ids borrowed
//! from the arrays, a run of one customer's rows looked up once). The
//! threads' ids are merged in order, so a key is the position of the id's
//! first appearance in the columns taken in order, whatever the number of
//! threads.

use crate::threads::{cores, map_on_threads, runs_by_weight};
use arrow::array::{Array, DictionaryArray, Int64Array, StringArray, UInt32Array};
use arrow::datatypes::UInt32Type;
use std::collections::HashMap;

/// How many keys after the last one a new id is compared with before it is
/// looked up.
const LOOKAHEAD: usize = 4;

/// Id → key, with a fast hash (SipHash, std's default, costs more than the
/// rest of the keying).
type KeyMap<'a, K> = HashMap<&'a str, K, foldhash::fast::RandomState>;

/// A column of customer ids: a text per row, or a dictionary whose keys
/// say which of its values each row has. A reader that starts a new value
/// only where the id changes gives [`IdColumn::Runs`], which the keying
/// looks up run by run instead of row by row.
#[derive(Debug, Clone, Copy)]
pub(crate) enum IdColumn<'a> {
    /// A text per row.
    Text(&'a StringArray),
    /// A key per row into values that are runs: the first row has value 0
    /// and each row the value of the row before or the next one, up to the
    /// last value. Every value is then used, in order of first use, so
    /// keying the values is keying the rows.
    Runs(&'a [u32], &'a StringArray),
    /// A key per row (or a null) into values of any other shape.
    Dictionary(&'a UInt32Array, &'a StringArray),
}

impl<'a> IdColumn<'a> {
    /// The ids of `array`: `Utf8`, or `Dictionary(UInt32, Utf8)`, whose
    /// shape is checked here, once.
    pub fn of(array: &'a dyn Array) -> Option<IdColumn<'a>> {
        if let Some(text) = array.as_any().downcast_ref::<StringArray>() {
            return Some(IdColumn::Text(text));
        }
        let d = array
            .as_any()
            .downcast_ref::<DictionaryArray<UInt32Type>>()?;
        let values = d.values().as_any().downcast_ref::<StringArray>()?;
        let keys = d.keys();
        let k = keys.values();
        let runs = keys.null_count() == 0
            && k.first().map_or(values.is_empty(), |&f| f == 0)
            && k.windows(2).all(|w| w[1].wrapping_sub(w[0]) <= 1)
            && k.last().is_none_or(|&l| l as usize + 1 == values.len());
        Some(match runs {
            true => IdColumn::Runs(k, values),
            false => IdColumn::Dictionary(keys, values),
        })
    }

    fn rows(&self) -> usize {
        match self {
            IdColumn::Text(a) => a.len(),
            IdColumn::Runs(keys, _) => keys.len(),
            IdColumn::Dictionary(keys, _) => keys.len(),
        }
    }

    /// The work of keying the column: a lookup per value of runs and a
    /// cheap step per row, else a lookup per row.
    fn weight(&self) -> usize {
        match self {
            IdColumn::Runs(keys, values) => values.len() + keys.len() / 4,
            _ => self.rows(),
        }
    }

    /// The keys and values when the values are runs.
    fn runs(&self) -> Option<(&'a [u32], &'a StringArray)> {
        match *self {
            IdColumn::Runs(keys, values) => Some((keys, values)),
            _ => None,
        }
    }

    /// Row `row`'s id; a null is the empty id.
    fn id(&self, row: usize) -> &'a str {
        match *self {
            IdColumn::Text(a) => text(a, row),
            IdColumn::Runs(keys, values) => text(values, keys[row] as usize),
            IdColumn::Dictionary(keys, values) if keys.is_valid(row) => {
                text(values, keys.value(row) as usize)
            }
            IdColumn::Dictionary(..) => "",
        }
    }
}

/// Value `i`; a null is the empty id.
fn text(a: &StringArray, i: usize) -> &str {
    if a.is_null(i) {
        ""
    } else {
        a.value(i)
    }
}

/// The keys of every row of `columns` and the ids in key order: the first
/// id seen gets 0, the next new one 1, and so on. Nulls are keyed as the
/// empty id.
///
/// The first `register` columns (a register of customers, where most ids
/// are met first) are keyed before the others, on one thread; the others
/// are then looked up in it on all cores, and only the ids it lacks are
/// numbered per thread and merged. With no register, the columns are cut
/// among the threads from the start.
pub(crate) fn dense_keys<'a>(
    columns: &[IdColumn<'a>],
    register: usize,
) -> (Vec<Int64Array>, Vec<&'a str>) {
    dense_keys_on(columns, register, cores())
}

/// Marks a key of a thread's own ids (not in the register).
const OWN: u32 = 1 << 31;

/// [`dense_keys`] on at most `threads` threads.
fn dense_keys_on<'a>(
    columns: &[IdColumn<'a>],
    register: usize,
    threads: usize,
) -> (Vec<Int64Array>, Vec<&'a str>) {
    let (register, rest) = columns.split_at(register.min(columns.len()));
    let mut global = Ids::with_capacity(register.iter().map(IdColumn::weight).sum());
    let mut last = None;
    let register_keys = key_columns(register, |id| global.key(id, &mut last));
    let runs = runs_by_weight(rest, threads, IdColumn::weight);
    let global_ref = &global;
    let local: Vec<(Vec<Vec<u32>>, Ids<'a>)> = map_on_threads(&runs, |run| {
        // A thread's own ids are few: only those the register lacks.
        let mut own = Ids::with_capacity(run.iter().map(IdColumn::weight).sum::<usize>() / 4);
        let (mut last, mut last_own) = (None, None);
        let keys = key_columns(run, |id| match global_ref.find(id, &mut last) {
            Some(k) => k,
            None => own.key(id, &mut last_own) | OWN,
        });
        (keys, own)
    });
    // Each thread's own ids in its order, the threads in the columns'
    // order: the global first-appearance order.
    let mut keyed = vec![(register_keys, Vec::new())];
    for (keys, own) in local {
        // With the look ahead: the threads' ids tend to follow one order.
        let mut last = None;
        let to_global: Vec<u32> = own
            .ids
            .iter()
            .map(|&id| global.key(id, &mut last))
            .collect();
        keyed.push((keys, to_global));
    }
    assert!(global.ids.len() < OWN as usize, "fewer than 2^31 customers");
    let keys = map_on_threads(&keyed, |(keys, to_global)| {
        let global = |k: u32| match k & OWN {
            0 => i64::from(k),
            _ => i64::from(to_global[(k & !OWN) as usize]),
        };
        keys.iter()
            .map(|keys| Int64Array::from_iter_values(keys.iter().map(|&k| global(k))))
            .collect::<Vec<_>>()
    });
    let keys = keys.into_iter().flatten().collect();
    (keys, global.ids)
}

/// Each row's key of every column, with `key` of each id (of each value,
/// when the values are runs).
fn key_columns<'a>(run: &[IdColumn<'a>], mut key: impl FnMut(&'a str) -> u32) -> Vec<Vec<u32>> {
    run.iter()
        .map(|column| match column.runs() {
            Some((rows, values)) => {
                let of_value: Vec<u32> = (0..values.len()).map(|v| key(text(values, v))).collect();
                rows.iter().map(|&v| of_value[v as usize]).collect()
            }
            None => (0..column.rows()).map(|row| key(column.id(row))).collect(),
        })
        .collect()
}

/// Ids numbered in order of arrival.
struct Ids<'a> {
    /// The ids by key.
    ids: Vec<&'a str>,
    /// Id → key.
    map: KeyMap<'a, u32>,
}

impl<'a> Ids<'a> {
    /// Room for `lookups / 4` ids up front: growing a map of a million ids
    /// rehashes it again and again.
    fn with_capacity(lookups: usize) -> Ids<'a> {
        Ids {
            ids: Vec::new(),
            map: HashMap::with_capacity_and_hasher(lookups / 4, Default::default()),
        }
    }

    /// The key of `id` if it is `last` (the key found before) or among
    /// the next few keys. Exports often list a customer's rows together,
    /// and customers in much the order they were first seen: the key is
    /// then found without hashing (a lookup in a map of a million ids
    /// misses the cache).
    fn ahead(&self, id: &str, last: Option<u32>) -> Option<u32> {
        let k = last? as usize;
        let ahead = self.ids.get(k..(k + 1 + LOOKAHEAD).min(self.ids.len()))?;
        let step = ahead.iter().position(|&next| next == id)?;
        Some((k + step) as u32)
    }

    /// The key of `id`, if it has one; `last` is the key found before.
    fn find(&self, id: &str, last: &mut Option<u32>) -> Option<u32> {
        let found = self.ahead(id, *last).or_else(|| self.map.get(id).copied());
        if found.is_some() {
            *last = found;
        }
        found
    }

    /// The key of `id`, a new one if it is new; `last` as for `find`.
    fn key(&mut self, id: &'a str, last: &mut Option<u32>) -> u32 {
        let k = match self.ahead(id, *last) {
            Some(k) => k,
            None => {
                let ids = &mut self.ids;
                *self.map.entry(id).or_insert_with(|| {
                    ids.push(id);
                    ids.len() as u32 - 1
                })
            }
        };
        *last = Some(k);
        k
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
        let (keys, ids) = dense_keys(&[&a, &b, &c].map(IdColumn::Text), 1);
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
        let refs: Vec<IdColumn> = columns.iter().map(IdColumn::Text).collect();
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
            assert!(runs_by_weight(&refs, threads, IdColumn::weight).len() <= threads);
            // Any number of columns keyed first, up to more than there are.
            for register in 0..=refs.len() + 1 {
                let (keys, ids) = dense_keys_on(&refs, register, threads);
                assert_eq!(ids, seen, "{threads} threads, register {register}");
                assert_eq!(keys.iter().map(values).collect::<Vec<_>>(), want);
            }
        }
    }

    /// `ids` as a dictionary with `values`: each row's position in them.
    fn dictionary(ids: &[Option<&str>], values: &[&str]) -> DictionaryArray<UInt32Type> {
        let keys: UInt32Array = ids
            .iter()
            .map(|id| id.map(|id| values.iter().position(|v| *v == id).unwrap() as u32))
            .collect();
        DictionaryArray::try_new(
            keys,
            std::sync::Arc::new(StringArray::from(values.to_vec())),
        )
        .unwrap()
    }

    #[test]
    fn dictionaries_of_any_shape_give_the_keys_of_their_text() {
        let ids = [
            Some("x"),
            Some("x"),
            Some("y"),
            Some("x"),
            Some("z"),
            Some("z"),
        ];
        let text = column(&ids);
        let runs = dictionary(&ids, &["x", "y", "x", "z"]);
        assert!(IdColumn::Text(&text).runs().is_none());
        // Keys follow the values, not the rows: not runs.
        let runs = DictionaryArray::<UInt32Type>::try_new(
            UInt32Array::from(vec![0, 0, 1, 2, 3, 3]),
            runs.values().clone(),
        )
        .unwrap();
        assert!(IdColumn::of(&runs).unwrap().runs().is_some());
        let sorted = dictionary(&ids, &["z", "y", "x"]);
        let unused = dictionary(&ids, &["x", "y", "z", "w"]);
        let with_null = dictionary(&[Some("y"), None, Some("w")], &["y", "w"]);
        for d in [&sorted, &unused, &with_null] {
            assert!(IdColumn::of(d).unwrap().runs().is_none(), "{d:?}");
        }
        let before = column(&[Some("w"), Some("z")]);
        let columns = [
            &before as &dyn Array,
            &runs,
            &sorted,
            &unused,
            &text,
            &with_null,
        ];
        let columns: Vec<IdColumn> = columns.iter().map(|c| IdColumn::of(*c).unwrap()).collect();
        let as_text: Vec<StringArray> = columns
            .iter()
            .map(|c| StringArray::from_iter_values((0..c.rows()).map(|r| c.id(r))))
            .collect();
        let as_text: Vec<IdColumn> = as_text.iter().map(IdColumn::Text).collect();
        for threads in 1..=4 {
            let (keys, ids) = dense_keys_on(&columns, threads - 1, threads);
            let (want_keys, want_ids) = dense_keys_on(&as_text, 0, threads);
            assert_eq!(ids, want_ids);
            assert_eq!(ids, ["w", "z", "x", "y", ""]);
            assert_eq!(keys, want_keys, "{threads} threads");
        }
        assert_eq!(values(&dense_keys(&columns, 0).0[1]), [2, 2, 3, 2, 1, 1]);
    }

    #[test]
    fn no_columns_no_keys() {
        let (keys, ids) = dense_keys(&[], 0);
        assert!(keys.is_empty() && ids.is_empty());
    }
}
