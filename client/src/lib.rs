//! `wiremesh`: the peer client library.
//!
//! What it is: the API client ([`api`]), and — built on it — installation from an
//! invitation, the sync cycle (decided by the pure [`plan`]) and daemon, NAT traversal, the local peer cache, endpoint
//! overrides, the admin commands and the host checks of [`doctor`]. The binary in `main.rs`
//! only parses arguments, resolves prompts and calls into here.
//!
//! What it is not: it holds no terminal UI (no clap, no dialoguer, no colours) and no
//! network rules — those are `wiremesh-shared`'s.

pub mod admin;
pub mod api;
pub mod backends;
pub mod context;
pub mod daemon;
pub mod docker;
pub mod doctor;
pub mod error;
pub mod files;
pub mod install;
pub mod interface;
pub mod nat;
pub mod overrides;
pub mod plan;
pub mod policy;
pub mod resolve;
pub mod routing;
pub mod schedule;
pub mod show;
pub mod sync;
pub mod watch;

pub use context::{
    Clock, Context, HostsOptions, NatOptions, NetworkOptions, Paths, SystemClock, Timings,
};
pub use error::ClientError;
