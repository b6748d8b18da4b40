//! `wiremesh`: the peer client library.
//!
//! The API client, the sync daemon, NAT traversal and the admin commands
//! arrive with the peer-client issue; until then this crate only fixes its
//! place in the workspace (see `ARCHITECTURE.md`).
