//! Work spread over the cores without a thread-pool dependency.

/// `f` of every item, each on a scoped thread of its own, the results in
/// the items' order (callers pass one item per core).
pub(crate) fn map_on_threads<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let f = &f;
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .iter()
            .map(|item| scope.spawn(move || f(item)))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a worker thread panicked"))
            .collect()
    })
}

/// The number of cores (1 when unknown).
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `items` cut into at most `n` contiguous runs of about the same total
/// `weight` (one run when there are none).
pub(crate) fn runs_by_weight<T>(items: &[T], n: usize, weight: impl Fn(&T) -> usize) -> Vec<&[T]> {
    let total: usize = items.iter().map(&weight).sum();
    let per_run = total.div_ceil(n.max(1)).max(1);
    let mut out = Vec::new();
    let (mut start, mut acc) = (0, 0);
    for (i, item) in items.iter().enumerate() {
        acc += weight(item);
        if acc >= per_run {
            out.push(&items[start..=i]);
            (start, acc) = (i + 1, 0);
        }
    }
    if start < items.len() || out.is_empty() {
        out.push(&items[start..]);
    }
    out
}

/// `f` of every item, in the items' order, on one thread per core: each
/// thread takes a contiguous run of items of about the same total
/// `weight` (rows, say), so that one large item does not leave the other
/// threads idle behind it for long.
pub fn map_in_order<T: Sync, R: Send>(
    items: &[T],
    weight: impl Fn(&T) -> usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let runs = runs_by_weight(items, cores(), weight);
    map_on_threads(&runs, |run| run.iter().map(&f).collect::<Vec<R>>())
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_follow_the_items_whatever_their_weights() {
        for weights in [
            vec![],
            vec![5],
            vec![1, 1, 1, 1, 1],
            vec![100, 1, 1, 1],
            vec![0, 0, 7],
        ] {
            let items: Vec<(usize, usize)> = weights.iter().copied().enumerate().collect();
            let got = map_in_order(&items, |&(_, w)| w, |&(i, w)| i * 1000 + w);
            let want: Vec<usize> = items.iter().map(|&(i, w)| i * 1000 + w).collect();
            assert_eq!(got, want, "{weights:?}");
        }
    }
}
