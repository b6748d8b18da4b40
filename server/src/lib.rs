//! `wiremesh-server`: the coordination server library.
//!
//! The store, the service rules, the HTTP API and the server's WireGuard interface; the
//! binary in `main.rs` only parses arguments and calls into here.
//!
//! Modules: [`store`] (SQLite), [`model`] (the in-memory network), [`service`] (every rule),
//! [`http`] (the `/v1` API), [`paths`] (file locations and the config file), [`init`]
//! (`new` and `import`), [`interface`] (the server's WireGuard interface), [`serve`] (the
//! runtime), [`admin`] (the admin subcommands), [`error`] (service errors), [`forwarding`]
//! (the host's IP forwarding while the server is a hub of devices).

pub mod admin;
pub mod audit;
pub mod changes;
pub mod error;
pub mod forwarding;
pub mod http;
pub mod init;
pub mod interface;
pub mod model;
pub mod paths;
pub mod serve;
pub mod service;
pub mod store;
pub mod tokens;

/// Counts allocations per thread in this crate's unit tests, for the memory bounds of the fuzz
/// battery (`http::fuzz_tests`).
#[cfg(test)]
#[global_allocator]
static ALLOC: testalloc::Counting = testalloc::Counting;
