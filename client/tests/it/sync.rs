//! The fetch cycle against the in-process server (harness: `support::testnet`).

mod cycle;
mod nat;
mod policy;
mod resilience;
mod routes;
