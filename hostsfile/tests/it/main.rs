//! The integration tests of `hostsfile`, in one test binary.
//!
//! - `fuzz`: the fuzz battery of issue 15: arbitrary, marker-heavy and large files, with a
//!   bound on the memory an update allocates (counted by `testalloc`, this binary's global
//!   allocator).
//! - `section`: table tests and property tests of the pure section update
//!   (`HostsBuilder::apply`).
//! - `write`: writing real files: creation, in-place replacement, no-op writes, errors.
//!
//! One area: `cargo test -p hostsfile --test it write::`.

mod fuzz;
mod section;
mod write;

/// Counts allocations per thread, for the memory bounds of `fuzz`.
#[global_allocator]
static ALLOC: testalloc::Counting = testalloc::Counting;
