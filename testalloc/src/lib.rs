//! A counting global allocator for tests: how many bytes a piece of code had live at its peak.
//!
//! The fuzz property tests (issue 15) check that a parser's memory stays within a bound
//! proportional to its input. A test binary opts in with
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: testalloc::Counting = testalloc::Counting;
//! ```
//!
//! and measures with [`measure`]. Only the test binaries that declare it use it; nothing
//! shipped depends on this crate.
//!
//! # Why per thread
//!
//! `cargo test` runs the tests of a binary in parallel threads, so a process-wide count would
//! add up the allocations of whatever else runs at the same time and make every bound flaky.
//! The counters live in a `thread_local!` instead, and [`measure`] reports what the calling
//! thread allocated. Code that hands work to other threads is not counted there; the parsers
//! measured here run on the calling thread. Memory freed on another thread than the one that
//! allocated it makes the first thread's count high and the other's low (it saturates at 0),
//! which can only make a bound stricter for the allocating thread, never hide a peak.
//!
//! The counters are `Cell`s with `const` initialisers, so reaching them never allocates (an
//! allocating thread-local inside `alloc` would recurse). During thread teardown, once the
//! thread-local is gone, allocations are passed through uncounted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// A [`GlobalAlloc`] that forwards to [`System`] and counts, per thread, the bytes live now
/// and the highest that count reached.
pub struct Counting;

struct Counters {
    live: Cell<usize>,
    peak: Cell<usize>,
}

thread_local! {
    static COUNTERS: Counters = const {
        Counters {
            live: Cell::new(0),
            peak: Cell::new(0),
        }
    };
}

fn grew(bytes: usize) {
    let _ = COUNTERS.try_with(|c| {
        let live = c.live.get().saturating_add(bytes);
        c.live.set(live);
        if live > c.peak.get() {
            c.peak.set(live);
        }
    });
}

fn shrank(bytes: usize) {
    let _ = COUNTERS.try_with(|c| c.live.set(c.live.get().saturating_sub(bytes)));
}

// SAFETY: every call is forwarded unchanged to `System`; the bookkeeping only touches
// thread-local `Cell`s and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System`'s.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as for `alloc`.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            // Counted as if old and new blocks were briefly both live, as a moving
            // realloc has them: the peak is an upper bound, never an underestimate.
            grew(new_size);
            shrank(layout.size());
        }
        new
    }
}

/// The bytes the calling thread has live now, as counted by [`Counting`] (0 when the test
/// binary does not install it).
pub fn live_bytes() -> usize {
    COUNTERS.with(|c| c.live.get())
}

/// Runs `f` and returns its result with the highest number of bytes the calling thread had
/// live during the call, above what it had live when the call started.
///
/// The result of `f` is still live when the peak is read, so memory a parser returns counts
/// too. Returns 0 for the peak when the test binary does not install [`Counting`]; see
/// [`is_installed`] to assert that it does.
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let (start, outer_peak) = COUNTERS.with(|c| (c.live.get(), c.peak.get()));
    COUNTERS.with(|c| c.peak.set(start));
    let result = f();
    let peak = COUNTERS.with(|c| {
        let peak = c.peak.get();
        // Nested measurements keep the outer one's peak right.
        c.peak.set(outer_peak.max(peak));
        peak
    });
    (result, peak.saturating_sub(start))
}

/// Whether this binary's global allocator is [`Counting`]: a 1 KiB allocation shows up.
pub fn is_installed() -> bool {
    let (_, peak) = measure(|| std::hint::black_box(vec![0u8; 1024]));
    peak >= 1024
}

/// The settings and input damage every fuzz property test shares.
pub mod fuzz {
    use proptest::sample::Index;
    use proptest::test_runner::{Config, RngAlgorithm, RngSeed};

    /// `cases` cases from a fixed seed, with nothing persisted: the same inputs on every run
    /// and every machine, so the battery is a test CI can repeat, not a search.
    pub fn config(cases: u32) -> Config {
        Config {
            cases,
            rng_algorithm: RngAlgorithm::ChaCha,
            rng_seed: RngSeed::Fixed(15),
            failure_persistence: None,
            ..Config::default()
        }
    }

    /// Overwrites a byte at each of `flips` (positions picked in `bytes`), then cuts `bytes`
    /// at `cut`: valid input damaged the way random bytes rarely reach past a header.
    pub fn damage(bytes: &mut Vec<u8>, flips: Vec<(Index, u8)>, cut: Index) {
        for (at, value) in flips {
            if !bytes.is_empty() {
                let at = at.index(bytes.len());
                bytes[at] = value;
            }
        }
        bytes.truncate(cut.index(bytes.len() + 1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[global_allocator]
    static ALLOC: Counting = Counting;

    #[test]
    fn counts_peak_above_start() {
        assert!(is_installed());
        let keep = vec![0u8; 10_000];
        let ((), peak) = measure(|| {
            let a = std::hint::black_box(vec![0u8; 4096]);
            drop(a);
            let b = std::hint::black_box(vec![0u8; 1000]);
            drop(b);
        });
        assert!((4096..4096 + 512).contains(&peak), "{peak}");
        drop(keep);
    }

    #[test]
    fn returned_memory_counts_and_nesting_works() {
        let ((inner, inner_peak), outer_peak) = measure(|| {
            let big = std::hint::black_box(vec![0u8; 8192]);
            drop(big);
            measure(|| std::hint::black_box(vec![1u8; 100]))
        });
        assert_eq!(inner.len(), 100);
        assert!((100..1024).contains(&inner_peak), "{inner_peak}");
        assert!(outer_peak >= 8192, "{outer_peak}");
    }

    #[test]
    fn other_threads_do_not_count() {
        let ((), peak) = measure(|| {
            std::thread::scope(|s| {
                s.spawn(|| std::hint::black_box(vec![0u8; 1 << 20]));
            });
        });
        assert!(peak < 1 << 20, "{peak}");
    }
}
