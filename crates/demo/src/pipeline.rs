//! An ordered parallel map: jobs run on worker threads, results are consumed
//! on the caller's thread in job order, with a bounded number of results
//! waiting, so output is deterministic and memory bounded.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

struct Progress<T> {
    /// Next job to start.
    next: usize,
    /// Jobs consumed so far.
    consumed: usize,
    /// Finished jobs not consumed yet.
    done: BTreeMap<usize, T>,
    /// Set when a thread panicked, so that no other one waits forever.
    cancelled: bool,
}

struct Shared<T> {
    state: Mutex<Progress<T>>,
    changed: Condvar,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, Progress<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait<'a>(&self, guard: MutexGuard<'a, Progress<T>>) -> MutexGuard<'a, Progress<T>> {
        self.changed
            .wait(guard)
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Cancels the run when dropped during a panic.
struct CancelOnPanic<'a, T>(&'a Shared<T>);

impl<T> Drop for CancelOnPanic<'_, T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock().cancelled = true;
            self.0.changed.notify_all();
        }
    }
}

/// Runs `work(0..jobs)` on up to `threads` threads, at most `ahead` jobs
/// ahead of the consumer, and calls `consume` with each result in job order.
///
/// # Panics
/// When `work` or `consume` panics.
pub(crate) fn ordered<T: Send>(
    jobs: usize,
    threads: usize,
    ahead: usize,
    work: impl Fn(usize) -> T + Sync,
    mut consume: impl FnMut(T),
) {
    let shared = Shared {
        state: Mutex::new(Progress {
            next: 0,
            consumed: 0,
            done: BTreeMap::new(),
            cancelled: false,
        }),
        changed: Condvar::new(),
    };
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, jobs.max(1)) {
            scope.spawn(|| {
                let _cancel = CancelOnPanic(&shared);
                loop {
                    let k = {
                        let mut s = shared.lock();
                        while !s.cancelled && s.next < jobs && s.next >= s.consumed + ahead.max(1) {
                            s = shared.wait(s);
                        }
                        if s.cancelled || s.next >= jobs {
                            return;
                        }
                        s.next += 1;
                        s.next - 1
                    };
                    let result = work(k);
                    shared.lock().done.insert(k, result);
                    shared.changed.notify_all();
                }
            });
        }
        let _cancel = CancelOnPanic(&shared);
        for k in 0..jobs {
            let result = {
                let mut s = shared.lock();
                loop {
                    assert!(!s.cancelled, "a generator thread panicked");
                    if let Some(r) = s.done.remove(&k) {
                        s.consumed = k + 1;
                        break r;
                    }
                    s = shared.wait(s);
                }
            };
            shared.changed.notify_all();
            consume(result);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_job_order_whatever_the_threads() {
        for threads in [1, 2, 5] {
            let mut seen = Vec::new();
            ordered(
                40,
                threads,
                3,
                |k| {
                    std::thread::sleep(std::time::Duration::from_micros(
                        ((k * 7919) % 13) as u64 * 50,
                    ));
                    k * k
                },
                |r| seen.push(r),
            );
            assert_eq!(seen, (0..40).map(|k| k * k).collect::<Vec<_>>());
        }
        ordered(0, 4, 2, |k| k, |_| panic!("no jobs"));
    }

    #[test]
    fn a_panicking_consumer_does_not_hang_the_workers() {
        let caught = std::panic::catch_unwind(|| {
            ordered(50, 2, 1, |k| k, |k| assert!(k < 3, "consumer fails"));
        });
        assert!(caught.is_err());
    }

    #[test]
    fn a_panicking_job_does_not_hang_the_consumer() {
        let caught = std::panic::catch_unwind(|| {
            ordered(50, 2, 4, |k| assert!(k != 5, "job fails"), |_| {});
        });
        assert!(caught.is_err());
    }
}
