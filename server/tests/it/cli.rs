//! The built `wiremesh-server` binary on temporary config and data directories, standard input
//! closed (harness: `support::cli`).

mod admin;
mod network;
