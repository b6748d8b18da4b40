//! The integration tests of `wiremesh` (the client), in one test binary. Most run the client
//! against a real wiremesh-server network in-process, served over HTTP on loopback, on
//! in-memory WireGuard devices; nothing here sends traffic anywhere but loopback.
//!
//! - `admin`: the admin commands end to end through the binary (`cidrs`, `peers`), and
//!   `invite_failure` (the invitation file is removed when the server refuses the peer).
//! - `cli`: the `wiremesh` binary on its own: `basic` (help, usage errors, completions, systemd
//!   units), `daemon` (stopping on signals), `doctor` and `local_edits`.
//! - `daemon`: the daemon loop: `cycles` (outages, errors, the stop flag) and `push` (changes
//!   pushed over `/v2` arrive without waiting for the interval).
//! - `doctor`: the checks against a live server and a fake interface.
//! - `install`: redeeming an invitation, and every way it fails without leaving anything.
//! - `show`: `collect` (what the views are made of) and `render` (snapshots of the output).
//! - `sync`: the fetch cycle: `cycle`, `nat` (NAT traversal) and `resilience` (failures).
//! - `support`: the harnesses: `support::testnet` (the in-process server network and its
//!   clients), `support::cli` (the binary on a simulated host) and `support::admin` (a network
//!   with an admin host).
//!
//! One area: `cargo test -p wiremesh --test it sync::` (or `sync::nat::`, `cli::`, ...).

mod admin;
mod cli;
mod daemon;
mod doctor;
mod install;
mod show;
mod support;
mod sync;
