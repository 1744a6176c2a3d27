//! Likelihood sums over many rows on every core, without a thread-pool
//! dependency: one contiguous chunk per core (chunks keep the rows' order,
//! so caches keyed on sorted rows stay effective), added up in chunk order
//! so the result does not depend on timing.

/// Rows below which one thread sums alone: spawning costs more than it saves.
const PARALLEL_MIN_ROWS: usize = 50_000;

/// `sum` over `rows`, split across the cores when there are many rows, the
/// partial results combined with `add` in order.
pub(crate) fn chunked_sum<R: Sync, S: Send>(
    rows: &[R],
    sum: impl Fn(&[R]) -> S + Sync,
    add: impl Fn(S, S) -> S,
) -> S {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || rows.len() < PARALLEL_MIN_ROWS {
        return sum(rows);
    }
    let chunk = rows.len().div_ceil(threads);
    let sum = &sum;
    let parts: Vec<S> = std::thread::scope(|scope| {
        let handles: Vec<_> = rows
            .chunks(chunk)
            .map(|c| scope.spawn(move || sum(c)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("likelihood threads do not panic"))
            .collect()
    });
    let mut parts = parts.into_iter();
    let first = parts.next().expect("at least one chunk");
    parts.fold(first, add)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_sums_equal_the_plain_sum() {
        let rows: Vec<u64> = (0..200_000).collect();
        let total = chunked_sum(&rows, |c| c.iter().sum::<u64>(), |a, b| a + b);
        assert_eq!(total, 200_000 * 199_999 / 2);
        let few = chunked_sum(&rows[..10], |c| c.len(), |a, b| a + b);
        assert_eq!(few, 10);
    }
}
