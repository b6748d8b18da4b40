//! The `wiremesh` binary on simulated hosts (harness: `support::cli`), without a server.

mod basic;
mod daemon;
mod doctor;
mod local_edits;
