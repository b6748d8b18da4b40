//! The integration tests of `hostsfile`, in one test binary.
//!
//! - `section`: table tests and property tests of the pure section update
//!   (`HostsBuilder::apply`).
//! - `write`: writing real files: creation, in-place replacement, no-op writes, errors.
//!
//! One area: `cargo test -p hostsfile --test it write::`.

mod section;
mod write;
