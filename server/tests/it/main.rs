//! The integration tests of `wiremesh-server`, in one test binary.
//!
//! - `api`: the HTTP API through the router in-process, one module per area: `auth` (who may
//!   call what), `cidrs`, `peers` and `user` (the `/v1` routes), `http` (routing quirks, body
//!   rules, one real socket), `v2` (`/v2/user/state` and its long poll) and `policy` (rules,
//!   isolation, reports, explain).
//! - `cli`: the built `wiremesh-server` binary: `admin` (editing a network's database) and
//!   `network` (`new`, `import`, `uninstall`, `completions`).
//! - `crash_storm`: a server process killed with SIGKILL during a storm of writes loses nothing
//!   it acknowledged (the test re-executes this binary to run the server).
//! - `netns_serve`: `serve` end to end in a network namespace with wireguard-go; needs root,
//!   TUN, `ip`, `wg` and wireguard-go, and prints why and passes without them (fails instead
//!   with `WIREMESH_REQUIRE_PRIVILEGED=1`).
//! - `v2_sync`: property test that a viewer's state plus the `/v2` delta is the state now.
//! - `support`: the harnesses: `support::api` (a seeded network and its router in-process),
//!   `support::cli` (the binary on temporary directories) and `support::netns` (the privilege
//!   check and network namespaces, compiled from the wireguard-control tests).
//!
//! One area: `cargo test -p wiremesh-server --test it api::` (or `api::peers::`, `cli::`, ...).

mod api;
mod cli;
mod crash_storm;
mod netns_serve;
mod support;
mod v2_sync;
