//! Key pinning and the peer-cache merge (compat §3.1): a peer's (IP, public key) pair never
//! silently changes.
//!
//! The client remembers every peer it applied. When the server later offers a peer at a
//! known IP with a *different* key, that offer is refused — a compromised server must not be
//! able to re-point an address to a key it controls — and the cached peer is kept as it was.
//! Peers the server stops offering are kept in the cache marked disabled (never deleted), so
//! their pins survive.

use std::collections::HashMap;
use std::net::IpAddr;

use wireguard_control::PublicKey;

use crate::config::PeerCache;
use crate::wire::{Cidr, Peer};

/// A peer the server offered with a key that differs from the pinned one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "pinning error: peer {name:?} at {ip} is pinned to key {pinned} but the server now offers key {offered}; \
     refusing the new key (if the peer really was re-keyed, remove it from the peer cache by hand)"
)]
pub struct PinningViolation {
    pub ip: IpAddr,
    /// The name the cache knows the peer by.
    pub name: String,
    pub pinned: PublicKey,
    pub offered: PublicKey,
}

/// The server's offer split by the pins.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pinned {
    /// Peers to apply: every offered peer that respects its pin, plus — for each refused
    /// offer — the cached peer unchanged, so nothing changes for it on the interface.
    pub peers: Vec<Peer>,
    pub violations: Vec<PinningViolation>,
}

/// Checks `offered` peers against the pins in `cache`.
pub fn check_pins(cache: &PeerCache, offered: Vec<Peer>) -> Pinned {
    let pins: HashMap<IpAddr, &Peer> = cache.peers.iter().map(|p| (p.ip, p)).collect();
    let mut pinned = Pinned::default();
    for peer in offered {
        match pins.get(&peer.ip) {
            Some(cached) if cached.public_key != peer.public_key => {
                pinned.violations.push(PinningViolation {
                    ip: peer.ip,
                    name: cached.name.to_string(),
                    pinned: cached.public_key,
                    offered: peer.public_key,
                });
                pinned.peers.push((*cached).clone());
            }
            _ => pinned.peers.push(peer),
        }
    }
    pinned
}

/// Merges what was applied into the cache: known IPs are replaced (their key is the same,
/// [`check_pins`] made sure), new IPs appended, cached peers missing from `applied` kept but
/// marked disabled. The CIDR list is replaced.
pub fn merge(cache: &mut PeerCache, applied: &[Peer], cidrs: &[Cidr]) {
    let offered: HashMap<IpAddr, &Peer> = applied.iter().map(|p| (p.ip, p)).collect();
    for cached in &mut cache.peers {
        match offered.get(&cached.ip) {
            Some(peer) if peer.public_key == cached.public_key => *cached = (*peer).clone(),
            Some(_) => {}
            None => cached.contents.is_disabled = true,
        }
    }
    let known: std::collections::HashSet<IpAddr> = cache.peers.iter().map(|p| p.ip).collect();
    cache
        .peers
        .extend(applied.iter().filter(|p| !known.contains(&p.ip)).cloned());
    cache.cidrs = cidrs.to_vec();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture::*;
    use crate::PeerId;

    fn cache_of(fx: &Fixture) -> PeerCache {
        PeerCache {
            peers: fx.peers.clone(),
            cidrs: fx.cidrs.clone(),
        }
    }

    #[test]
    fn same_keys_pass_and_rekeyed_ip_is_refused() {
        let fx = Fixture::new(Family::V4);
        let cache = cache_of(&fx);
        let mut offered = fx.peers.clone();
        offered[2].contents.public_key = key_for(PeerId(77));
        let pinned = check_pins(&cache, offered);
        assert_eq!(pinned.violations.len(), 1);
        let violation = &pinned.violations[0];
        assert_eq!(violation.name, "developer1");
        assert!(violation
            .to_string()
            .starts_with("pinning error: peer \"developer1\" at 10.80.64.2"));
        // Nothing changes for the refused peer: its cached entry is what gets applied.
        assert_eq!(pinned.peers, fx.peers);
    }

    #[test]
    fn merge_replaces_appends_and_keeps_missing_as_disabled() {
        let mut fx = Fixture::new(Family::V6);
        let mut cache = cache_of(&fx);
        let newcomer = fx.add_peer("newcomer", "fd00:1337::2:0:0:9", DEVELOPER);
        let mut applied: Vec<Peer> = fx.peers.iter().filter(|p| p.id != USER2).cloned().collect();
        applied[0].contents.candidates = vec!["[2001:db8::1]:51820".parse().unwrap()];
        merge(&mut cache, &applied, &fx.cidrs[..3]);
        assert_eq!(cache.peers.len(), 7);
        assert_eq!(
            cache.peers[0].candidates.len(),
            1,
            "known IP replaced by the new data"
        );
        assert!(
            cache
                .peers
                .iter()
                .find(|p| p.id == USER2)
                .unwrap()
                .is_disabled,
            "missing peer kept, disabled"
        );
        assert!(
            cache.peers.iter().any(|p| p.id == newcomer),
            "new peer appended"
        );
        assert_eq!(cache.cidrs.len(), 3);
        // A peer that comes back is enabled again.
        merge(&mut cache, &fx.peers, &fx.cidrs);
        assert!(
            !cache
                .peers
                .iter()
                .find(|p| p.id == USER2)
                .unwrap()
                .is_disabled
        );
    }

    #[test]
    fn merge_never_overwrites_a_pin() {
        let fx = Fixture::new(Family::V4);
        let mut cache = cache_of(&fx);
        let mut rekeyed = fx.peers.clone();
        rekeyed[3].contents.public_key = key_for(PeerId(99));
        merge(&mut cache, &rekeyed, &fx.cidrs);
        assert_eq!(cache.peers[3].public_key, fx.peers[3].public_key);
    }
}
