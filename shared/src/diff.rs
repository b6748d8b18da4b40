//! The peer diff: from the peers a host should have and what its interface has now, the
//! minimal device update (compat §6.2).
//!
//! Rules:
//! - desired peers that are disabled, or carry the interface's own key, are skipped (they
//!   are neither added nor removed: a disabled entry from the offline cache must not be
//!   resurrected);
//! - a desired peer missing from the interface is added with allowed IPs exactly
//!   `ip/32` (`ip/128`) — plus, for a gateway, the networks it routes for this host
//!   ([`diff_routed_peers`]) — its keepalive (none → off) and its endpoint;
//! - a peer on both gets only what differs: allowed IPs, keepalive, preshared key (a hub's
//!   devices have one: [`diff_hub_peers`]), endpoint;
//! - the endpoint is only touched when the peer has not completed a handshake within
//!   [`RECENT_HANDSHAKE`] — a working tunnel is never re-pointed;
//! - an unconnected peer whose endpoint is already right but who has NAT candidates is
//!   still listed (a "NAT traversal reattempt") with no field change;
//! - an interface peer whose key is not in the desired list at all is removed.
//!
//! Endpoint strings may be DNS names; resolving them is IO, so the caller passes a
//! `resolve` function.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use ipnet::IpNet;
use wireguard_control::{DeviceUpdate, PeerConfig, PeerInfo, PeerUpdate, PresharedKey, PublicKey};

use crate::wire::Peer;
use crate::{Endpoint, PeerId};

/// WireGuard's REJECT_AFTER_TIME: a handshake younger than this means the tunnel is up.
pub const RECENT_HANDSHAKE: Duration = Duration::from_secs(180);

/// What happens to one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    /// Nothing changes on the interface, but NAT traversal should try the peer's candidates.
    NatReattempt,
    Removed,
}

/// One peer's entry in the diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerChange<'a> {
    pub kind: ChangeKind,
    /// The desired peer (absent for removals).
    pub peer: Option<&'a Peer>,
    /// The peer as it was on the interface (absent for additions).
    pub old: Option<&'a PeerInfo>,
    /// The update to send (empty of fields for a NAT reattempt).
    pub update: PeerUpdate,
}

impl PeerChange<'_> {
    pub fn public_key(&self) -> &PublicKey {
        &self.update.public_key
    }
}

/// The allowed IPs a mesh peer gets: exactly its own address.
pub fn peer_allowed_ip(peer: &Peer) -> IpNet {
    IpNet::from(peer.ip)
}

/// Computes the changes that bring `current` (the interface's peers) to `desired`.
///
/// `own_key` is the interface's public key; `now` is the time to judge handshakes by.
pub fn diff_peers<'a>(
    desired: &'a [Peer],
    current: &'a [PeerInfo],
    own_key: Option<&PublicKey>,
    now: SystemTime,
    resolve: impl Fn(&Endpoint) -> Option<SocketAddr>,
) -> Vec<PeerChange<'a>> {
    diff_routed_peers(desired, current, own_key, now, resolve, &HashMap::new())
}

/// The allowed IPs of `peer`: its own address, then the networks it routes for this host
/// (a gateway's active routes), sorted.
pub fn allowed_ips(peer: &Peer, routes: &HashMap<PeerId, Vec<IpNet>>) -> Vec<IpNet> {
    let own = peer_allowed_ip(peer);
    let mut out = vec![own];
    if let Some(extra) = routes.get(&peer.id) {
        let mut extra = extra.clone();
        extra.sort();
        extra.dedup();
        out.extend(extra.into_iter().filter(|n| *n != own));
    }
    out
}

/// [`diff_peers`] with `routes`: the networks each gateway peer routes for this host, which
/// join its allowed IPs. The interface's allowed IPs are compared as a set (the kernel lists
/// them in its own order).
pub fn diff_routed_peers<'a>(
    desired: &'a [Peer],
    current: &'a [PeerInfo],
    own_key: Option<&PublicKey>,
    now: SystemTime,
    resolve: impl Fn(&Endpoint) -> Option<SocketAddr>,
    routes: &HashMap<PeerId, Vec<IpNet>>,
) -> Vec<PeerChange<'a>> {
    diff_hub_peers(
        desired,
        current,
        own_key,
        now,
        resolve,
        routes,
        &HashMap::new(),
    )
}

/// [`diff_routed_peers`] for a hub: the devices it hosts have `preshared` keys (a peer
/// missing there has none, and one it holds is cleared).
pub fn diff_hub_peers<'a>(
    desired: &'a [Peer],
    current: &'a [PeerInfo],
    own_key: Option<&PublicKey>,
    now: SystemTime,
    resolve: impl Fn(&Endpoint) -> Option<SocketAddr>,
    routes: &HashMap<PeerId, Vec<IpNet>>,
    preshared: &HashMap<PeerId, PresharedKey>,
) -> Vec<PeerChange<'a>> {
    let on_interface: HashMap<&PublicKey, &PeerInfo> = current
        .iter()
        .map(|info| (&info.config.public_key, info))
        .collect();
    let mut changes = Vec::new();

    for peer in desired {
        if peer.is_disabled || Some(&peer.public_key) == own_key {
            continue;
        }
        let allowed = allowed_ips(peer, routes);
        let keepalive = peer.persistent_keepalive_interval.filter(|&s| s > 0);
        match on_interface.get(&peer.public_key) {
            None => {
                let mut update = PeerUpdate::new(peer.public_key)
                    .replace_allowed_ips(allowed.iter().copied())
                    .set_persistent_keepalive_interval(keepalive.unwrap_or(0));
                if let Some(key) = preshared.get(&peer.id) {
                    update = update.set_preshared_key(Some(key.clone()));
                }
                update.endpoint = peer.endpoint.as_ref().and_then(&resolve);
                changes.push(PeerChange {
                    kind: ChangeKind::Added,
                    peer: Some(peer),
                    old: None,
                    update,
                });
            }
            Some(&info) => {
                let config: &PeerConfig = &info.config;
                let mut update = PeerUpdate::new(peer.public_key);
                let mut modified = false;
                let same = if let [one] = allowed.as_slice() {
                    config.allowed_ips.as_slice() == [*one]
                } else {
                    let mut held = config.allowed_ips.clone();
                    held.sort();
                    held == allowed
                };
                if !same {
                    update = update.replace_allowed_ips(allowed.iter().copied());
                    modified = true;
                }
                if config.persistent_keepalive_interval.filter(|&s| s > 0) != keepalive {
                    update = update.set_persistent_keepalive_interval(keepalive.unwrap_or(0));
                    modified = true;
                }
                let psk = preshared.get(&peer.id);
                if config.preshared_key.as_ref() != psk {
                    update = update.set_preshared_key(psk.cloned());
                    modified = true;
                }
                let connected = info.handshake_within(RECENT_HANDSHAKE, now);
                let mut reattempt = false;
                if !connected {
                    let wanted = peer.endpoint.as_ref().and_then(&resolve);
                    match wanted {
                        Some(addr) if config.endpoint != Some(addr) => {
                            update.endpoint = Some(addr);
                            modified = true;
                        }
                        _ => reattempt = !peer.candidates.is_empty(),
                    }
                }
                let kind = if modified {
                    ChangeKind::Modified
                } else if reattempt {
                    ChangeKind::NatReattempt
                } else {
                    continue;
                };
                changes.push(PeerChange {
                    kind,
                    peer: Some(peer),
                    old: Some(info),
                    update,
                });
            }
        }
    }

    let wanted: HashSet<&PublicKey> = desired.iter().map(|peer| &peer.public_key).collect();
    for info in current {
        let key = &info.config.public_key;
        if !wanted.contains(key) {
            changes.push(PeerChange {
                kind: ChangeKind::Removed,
                peer: None,
                old: Some(info),
                update: PeerUpdate::remove(*key),
            });
        }
    }
    changes
}

/// How many peers a diff adds, modifies and removes (NAT reattempts change nothing and are
/// not counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChangeCounts {
    pub added: usize,
    pub modified: usize,
    pub removed: usize,
}

impl ChangeCounts {
    /// The counts of `changes`.
    pub fn of(changes: &[PeerChange<'_>]) -> Self {
        let mut counts = Self::default();
        for change in changes {
            match change.kind {
                ChangeKind::Added => counts.added += 1,
                ChangeKind::Modified => counts.modified += 1,
                ChangeKind::Removed => counts.removed += 1,
                ChangeKind::NatReattempt => {}
            }
        }
        counts
    }

    /// Whether no peer changes.
    pub fn is_empty(&self) -> bool {
        self.added + self.modified + self.removed == 0
    }
}

/// The device update for a diff: every change except NAT reattempts, which change nothing.
pub fn device_update(changes: &[PeerChange<'_>]) -> DeviceUpdate {
    DeviceUpdate::new().add_peers(
        changes
            .iter()
            .filter(|change| change.kind != ChangeKind::NatReattempt)
            .map(|change| change.update.clone()),
    )
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
