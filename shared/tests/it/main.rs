//! The integration tests of `wiremesh-shared`, in one test binary: the config files and the
//! `/v1` JSON types against what innernet 2.0.0 wrote (`tests/fixtures/innernet-2.0.0/`), and
//! property tests that no input makes a parser panic.
//!
//! - `golden_config`: invitation, client and server TOML files parse, are written back with the
//!   same keys and values, and parse back to the same value.
//! - `golden_no_panic`: property tests with a fixed seed over arbitrary and damaged inputs.
//! - `golden_wire`: every golden `/v1` body parses and is encoded back to the same text.
//!
//! One area: `cargo test -p wiremesh-shared --test it golden_wire::`.

mod golden_config;
mod golden_no_panic;
mod golden_wire;
