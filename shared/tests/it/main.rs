//! The integration tests of `wiremesh-shared`, in one test binary: the config files and the
//! `/v1` JSON types against what innernet 2.0.0 wrote (`tests/fixtures/innernet-2.0.0/`), and
//! property tests that no input makes a parser panic.
//!
//! - `fuzz`: the fuzz battery of issue 15: arbitrary and damaged inputs, with a bound on the
//!   memory each parse allocates (counted by `testalloc`, this binary's global allocator).
//! - `golden_config`: invitation, client and server TOML files parse, are written back with the
//!   same keys and values, and parse back to the same value.
//! - `golden_no_panic`: property tests with a fixed seed over arbitrary and damaged inputs.
//! - `golden_wire`: every golden `/v1` body parses and is encoded back to the same text.
//!
//! One area: `cargo test -p wiremesh-shared --test it golden_wire::`.

mod fuzz;
mod golden_config;
mod golden_no_panic;
mod golden_wire;

/// Counts allocations per thread, for the memory bounds of `fuzz`.
#[global_allocator]
static ALLOC: testalloc::Counting = testalloc::Counting;
