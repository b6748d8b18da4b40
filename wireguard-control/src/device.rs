//! What a WireGuard interface is configured with and what it reports.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use ipnet::IpNet;

use crate::{InterfaceName, PresharedKey, PrivateKey, PublicKey};

/// Which implementation drives an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// Linux kernel WireGuard through generic netlink.
    Kernel,
    /// A userspace implementation (wireguard-go, …) through its UAPI socket.
    Userspace,
    /// The in-memory fake used by tests.
    Fake,
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BackendKind::Kernel => "kernel",
            BackendKind::Userspace => "userspace",
            BackendKind::Fake => "fake",
        })
    }
}

impl std::str::FromStr for BackendKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "kernel" => Ok(Self::Kernel),
            "userspace" => Ok(Self::Userspace),
            other => Err(format!(
                "unknown backend {other:?}: expected \"kernel\" or \"userspace\""
            )),
        }
    }
}

/// The configurable part of a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    pub public_key: PublicKey,
    pub preshared_key: Option<PresharedKey>,
    pub endpoint: Option<SocketAddr>,
    /// Seconds; `None` means off (0 on the wire).
    pub persistent_keepalive_interval: Option<u16>,
    pub allowed_ips: Vec<IpNet>,
}

impl PeerConfig {
    /// A peer with only a key set.
    pub fn new(public_key: PublicKey) -> Self {
        Self {
            public_key,
            preshared_key: None,
            endpoint: None,
            persistent_keepalive_interval: None,
            allowed_ips: Vec::new(),
        }
    }
}

/// Counters and handshake time the implementation reports for a peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerStats {
    /// `None` when there has never been a handshake (the wire reports 0).
    pub last_handshake_time: Option<SystemTime>,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

/// A peer as read back from an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    pub config: PeerConfig,
    pub stats: PeerStats,
}

impl PeerInfo {
    /// Whether the last handshake is at most `window` old at `now`.
    /// A handshake time in the future (clock skew) counts as recent.
    pub fn handshake_within(&self, window: Duration, now: SystemTime) -> bool {
        match self.stats.last_handshake_time {
            None => false,
            Some(at) => match now.duration_since(at) {
                Ok(age) => age <= window,
                Err(_) => true,
            },
        }
    }
}

/// A WireGuard interface as read back from its implementation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub name: InterfaceName,
    pub private_key: Option<PrivateKey>,
    pub public_key: Option<PublicKey>,
    /// `None` when the implementation reports no port (0).
    pub listen_port: Option<u16>,
    pub fwmark: Option<u32>,
    pub peers: Vec<PeerInfo>,
    pub backend: BackendKind,
}

impl Device {
    /// The peer with this key, if configured.
    pub fn peer(&self, key: &PublicKey) -> Option<&PeerInfo> {
        self.peers
            .iter()
            .find(|peer| &peer.config.public_key == key)
    }
}
