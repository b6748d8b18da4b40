//! The integration tests of `wireguard-control`, in one test binary.
//!
//! - `embedded_backend`: the embedded backend (gotatun in the test process) against
//!   wireguard-go, checked with `wg`.
//! - `fake_backend`: the in-memory fake backend behaves like the UAPI `set` of wireguard-go.
//! - `kernel_backend`: the kernel backend against the running kernel (the full round trip in a
//!   fresh namespace, where the `wireguard` module is there).
//! - `link_plumbing`: addresses, MTU and link state, routes and deletion on real links in a fresh
//!   network namespace, checked with `ip`.
//! - `userspace_backend`: the userspace backend against wireguard-go, checked with `wg`.
//! - `userspace_example`: the `two_namespaces` example pings through its tunnel.
//! - `support`: [`support::privileged`] and network namespaces ([`support::NetNs`]).
//!
//! All but `fake_backend` (and the "does not exist" paths of `kernel_backend`) need root,
//! network namespaces, TUN, `ip`, and for the userspace ones wireguard-go and `wg`: without them
//! they print why and pass, and with `WIREMESH_REQUIRE_PRIVILEGED=1` they fail instead.
//!
//! One area: `cargo test -p wireguard-control --test it userspace_backend::`.

mod embedded_backend;
mod fake_backend;
mod kernel_backend;
mod link_plumbing;
mod support;
mod userspace_backend;
mod userspace_example;
