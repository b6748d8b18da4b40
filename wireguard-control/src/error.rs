//! The one error type of this crate; every variant names the interface or thing it concerns.

use std::io;
use std::path::PathBuf;

use crate::{InterfaceName, PublicKey};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The interface does not exist (or is not driven by this backend).
    #[error("WireGuard interface {iface} does not exist")]
    NotFound { iface: InterfaceName },

    /// An operating-system call about an interface failed.
    #[error("failed to {action} {iface}: {source}")]
    Io {
        iface: InterfaceName,
        action: &'static str,
        #[source]
        source: io::Error,
    },

    /// No userspace implementation could be found to launch.
    #[error(
        "no userspace WireGuard implementation found: looked for {program:?} \
         (from {origin}); install wireguard-go or set WG_USERSPACE_IMPLEMENTATION to its path"
    )]
    ImplementationNotFound {
        program: String,
        origin: &'static str,
    },

    /// The userspace implementation was launched but did not come up.
    #[error("userspace WireGuard {program:?} failed to create {iface}: {reason}")]
    Launch {
        iface: InterfaceName,
        program: String,
        reason: String,
    },

    /// The UAPI socket answered with a non-zero errno.
    #[error("WireGuard interface {iface} refused the {operation} request (errno {errno})")]
    Uapi {
        iface: InterfaceName,
        operation: &'static str,
        errno: i32,
    },

    /// The UAPI socket sent something that is not the protocol.
    #[error("malformed UAPI answer from {iface}: {detail}")]
    Protocol {
        iface: InterfaceName,
        detail: String,
    },

    /// A socket path could not be used.
    #[error("failed to {action} UAPI socket {path}: {source}")]
    Socket {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: io::Error,
    },

    /// A netlink exchange about an interface failed.
    #[error("failed to {action} {iface} through netlink: {source}")]
    Netlink {
        iface: InterfaceName,
        action: &'static str,
        #[source]
        source: netlink_request::Error,
    },

    /// A netlink exchange that concerns no single interface (listing links or addresses) failed.
    #[error("failed to {action} through netlink: {source}")]
    NetlinkList {
        action: &'static str,
        #[source]
        source: netlink_request::Error,
    },

    /// The running kernel cannot create WireGuard links (no `wireguard` module).
    #[error(
        "failed to create {iface}: this kernel has no WireGuard support; load the module \
         (`modprobe wireguard`) or use the userspace backend"
    )]
    KernelModuleMissing { iface: InterfaceName },

    /// The kernel sent a netlink message this crate cannot understand.
    #[error("malformed netlink answer about {iface}: {detail}")]
    NetlinkDecode {
        iface: InterfaceName,
        detail: String,
    },

    /// One peer does not fit into a single netlink message (too many allowed IPs).
    #[error(
        "peer {peer} of {iface} has {allowed_ips} allowed IPs, too many to fit one netlink message"
    )]
    PeerTooLarge {
        iface: InterfaceName,
        peer: PublicKey,
        allowed_ips: usize,
    },

    /// The backend is not available on this platform.
    #[error("the {backend} backend is not supported on this platform")]
    Unsupported { backend: &'static str },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
