//! The admin commands: end to end through the binary against the in-process server (harness:
//! `support::admin`), and the library's `Admin::add_peer` against a server that refuses.

mod cidrs;
mod devices;
mod invite_failure;
mod peers;
mod routes;
