//! Test support shared by the areas of this binary.

pub mod api;
pub mod cli;
/// The privilege check and network namespaces of the wireguard-control tests, for
/// `netns_serve`.
#[path = "../../../wireguard-control/tests/it/support/netns.rs"]
pub mod netns;
