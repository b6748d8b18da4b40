//! `wireguard-control`: full control of a WireGuard interface from Rust.
//!
//! What it is:
//! - [`key`]: X25519 private, public and preshared keys with base64/hex encodings;
//! - [`device`] and [`update`]: the device model read back from an interface and the
//!   builder for changes to it;
//! - [`backend`]: the [`Backend`] trait with three implementations: [`backend::kernel`]
//!   (generic netlink), [`backend::userspace`] (the UAPI socket of wireguard-go and friends,
//!   which it can launch) and [`backend::fake`] (in memory, for other crates' tests);
//! - [`link`]: interface plumbing through rtnetlink (addresses, MTU, link state, routes,
//!   local address listing, link deletion) that works on any link.
//!
//! What it is not: it knows nothing of networks, CIDRs, peers' names or the wiremesh
//! protocol; it never reads configuration files.

pub mod backend;
pub mod device;
mod error;
pub mod interface;
pub mod key;
pub mod link;
pub mod update;

pub use backend::{Backend, Created};
pub use device::{BackendKind, Device, PeerConfig, PeerInfo, PeerStats};
pub use error::{Error, Result};
pub use interface::{InterfaceName, InterfaceNameError};
pub use key::{KeyError, PresharedKey, PrivateKey, PublicKey, KEY_LEN};
pub use update::{DeviceUpdate, PeerUpdate};

/// Counts allocations per thread in this crate's unit tests, for the memory bounds of the fuzz
/// battery (`uapi_fuzz_tests`, `kernel::tests::fuzz`).
#[cfg(test)]
#[global_allocator]
static ALLOC: testalloc::Counting = testalloc::Counting;
