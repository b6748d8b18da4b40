//! The integration tests of `publicip`, in one test binary: lookups over real UDP sockets
//! against a fake DNS server on 127.0.0.1 (nothing here contacts a real resolver).
//!
//! - `fuzz`: the fuzz battery of issue 15: arbitrary and damaged replies, with a bound on the
//!   memory a parse allocates (counted by `testalloc`, this binary's global allocator).
//! - `lookup`: A, AAAA and TXT answers, mismatched query ids, errors and timeouts, falling back
//!   to the next resolver, and both families looked up at once.
//! - `support`: the fake DNS server ([`support::FakeDns`]) and helpers to build its replies.
//!
//! One area: `cargo test -p publicip --test it lookup::`.

mod fuzz;
mod lookup;
mod support;

/// Counts allocations per thread, for the memory bounds of `fuzz`.
#[global_allocator]
static ALLOC: testalloc::Counting = testalloc::Counting;
