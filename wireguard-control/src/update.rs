//! Builders for changes to an interface: what to set on the device and on each peer.
//!
//! A [`DeviceUpdate`] says only what changes; fields left as `None` keep their current value,
//! exactly as in the UAPI `set` operation and the netlink `WG_CMD_SET_DEVICE` command.

use std::net::SocketAddr;

use ipnet::IpNet;

use crate::{PeerConfig, PresharedKey, PrivateKey, PublicKey};

/// A change to one peer, keyed by its public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerUpdate {
    pub public_key: PublicKey,
    /// Remove the peer; every other field is ignored.
    pub remove: bool,
    /// Only change the peer if it exists, never create it (UAPI `update_only`).
    pub update_only: bool,
    /// `Some(None)` clears the preshared key; `None` leaves it as it is.
    pub preshared_key: Option<Option<PresharedKey>>,
    pub endpoint: Option<SocketAddr>,
    /// `Some(0)` turns keepalive off; `None` leaves it as it is.
    pub persistent_keepalive_interval: Option<u16>,
    /// Replace the allowed IPs with `allowed_ips` instead of adding to them.
    pub replace_allowed_ips: bool,
    pub allowed_ips: Vec<IpNet>,
}

impl PeerUpdate {
    /// A change to the peer with this key that changes nothing yet (adds it if missing).
    pub fn new(public_key: PublicKey) -> Self {
        Self {
            public_key,
            remove: false,
            update_only: false,
            preshared_key: None,
            endpoint: None,
            persistent_keepalive_interval: None,
            replace_allowed_ips: false,
            allowed_ips: Vec::new(),
        }
    }

    /// Removes the peer with this key.
    pub fn remove(public_key: PublicKey) -> Self {
        Self {
            remove: true,
            ..Self::new(public_key)
        }
    }

    /// Adds or replaces a peer so that it ends up exactly as `config` says.
    pub fn replace_with(config: &PeerConfig) -> Self {
        Self {
            public_key: config.public_key,
            remove: false,
            update_only: false,
            preshared_key: Some(config.preshared_key.clone()),
            endpoint: config.endpoint,
            persistent_keepalive_interval: Some(config.persistent_keepalive_interval.unwrap_or(0)),
            replace_allowed_ips: true,
            allowed_ips: config.allowed_ips.clone(),
        }
    }

    pub fn set_endpoint(mut self, endpoint: SocketAddr) -> Self {
        self.endpoint = Some(endpoint);
        self
    }

    pub fn set_persistent_keepalive_interval(mut self, seconds: u16) -> Self {
        self.persistent_keepalive_interval = Some(seconds);
        self
    }

    pub fn set_preshared_key(mut self, key: Option<PresharedKey>) -> Self {
        self.preshared_key = Some(key);
        self
    }

    pub fn add_allowed_ip(mut self, net: IpNet) -> Self {
        self.allowed_ips.push(net);
        self
    }

    /// Replaces the peer's allowed IPs with exactly `nets`.
    pub fn replace_allowed_ips(mut self, nets: impl IntoIterator<Item = IpNet>) -> Self {
        self.replace_allowed_ips = true;
        self.allowed_ips = nets.into_iter().collect();
        self
    }

    pub fn update_only(mut self) -> Self {
        self.update_only = true;
        self
    }
}

/// A change to an interface and its peers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceUpdate {
    pub private_key: Option<PrivateKey>,
    /// `Some(0)` asks the implementation to pick a random port.
    pub listen_port: Option<u16>,
    /// `Some(0)` clears the fwmark.
    pub fwmark: Option<u32>,
    /// Remove every peer not listed in `peers`.
    pub replace_peers: bool,
    pub peers: Vec<PeerUpdate>,
}

impl DeviceUpdate {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set_private_key(mut self, key: PrivateKey) -> Self {
        self.private_key = Some(key);
        self
    }

    pub fn set_listen_port(mut self, port: u16) -> Self {
        self.listen_port = Some(port);
        self
    }

    pub fn set_fwmark(mut self, fwmark: u32) -> Self {
        self.fwmark = Some(fwmark);
        self
    }

    pub fn replace_peers(mut self) -> Self {
        self.replace_peers = true;
        self
    }

    pub fn add_peer(mut self, peer: PeerUpdate) -> Self {
        self.peers.push(peer);
        self
    }

    pub fn add_peers(mut self, peers: impl IntoIterator<Item = PeerUpdate>) -> Self {
        self.peers.extend(peers);
        self
    }

    pub fn remove_peer(mut self, key: PublicKey) -> Self {
        self.peers.push(PeerUpdate::remove(key));
        self
    }

    /// True when applying this update would change nothing.
    pub fn is_empty(&self) -> bool {
        self.private_key.is_none()
            && self.listen_port.is_none()
            && self.fwmark.is_none()
            && !self.replace_peers
            && self.peers.is_empty()
    }
}
