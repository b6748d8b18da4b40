//! `wiremesh-server`: the coordination server library.
//!
//! The store, the service rules, the HTTP API and the server's WireGuard
//! interface arrive with the coordination-server issue; until then this crate
//! only fixes its place in the workspace (see `ARCHITECTURE.md`).
