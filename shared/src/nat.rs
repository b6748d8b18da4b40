//! NAT traversal without IO: which local addresses to report as candidates (compat §6.3), and
//! the order in which a client tries a peer's candidate endpoints (compat §6.4).
//!
//! The client reports its local addresses; the server adds the endpoint it observed. For a
//! peer without a recent handshake the client then sets one candidate at a time as that
//! peer's endpoint, waiting a few seconds after each step. The server-reported endpoint is
//! tried *last*, so it is what stays configured when nothing else works.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::time::SystemTime;

use ipnet::IpNet;
use wireguard_control::{PeerInfo, PublicKey};

use crate::diff::RECENT_HANDSHAKE;
use crate::wire::{Peer, MAX_CANDIDATES};
use crate::Endpoint;

/// Whether a local address is worth reporting: every IPv4 address that is not loopback,
/// unspecified or link-local, and IPv6 only when globally routable unicast.
pub fn is_candidate_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback() || v4.is_unspecified() || v4.is_link_local() || v4.is_multicast())
        }
        IpAddr::V6(v6) => is_global_unicast_v6(&v6),
    }
}

fn is_global_unicast_v6(ip: &Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation 2001:db8::/32
        || ip.to_ipv4_mapped().is_some())
}

/// The candidate endpoints to report: worthwhile addresses not inside any `exclude` network,
/// deduplicated, at most [`MAX_CANDIDATES`], each with `port`.
pub fn candidate_endpoints(
    addresses: impl IntoIterator<Item = IpAddr>,
    exclude: &[IpNet],
    port: u16,
) -> Vec<Endpoint> {
    let mut out: Vec<Endpoint> = Vec::new();
    for ip in addresses {
        if !is_candidate_ip(ip) || exclude.iter().any(|net| net.contains(&ip)) {
            continue;
        }
        let endpoint = Endpoint::from(std::net::SocketAddr::new(ip, port));
        if !out.contains(&endpoint) {
            out.push(endpoint);
        }
        if out.len() == MAX_CANDIDATES {
            break;
        }
    }
    out
}

/// Removes, from peers offered by a server, every endpoint and candidate that cannot be
/// used, and returns how many:
/// - an address inside the mesh network itself: such an address is reachable only
///   *through* the tunnel, so using it as the tunnel's own endpoint makes WireGuard
///   encapsulate into itself (a packet loop). A host's own WireGuard address can end up
///   among its candidates, and a hostile peer could report one on purpose. (A name is
///   checked where it is resolved.);
/// - port 0, which nothing listens on;
/// - a candidate that is a name: candidates are the addresses of a peer's own interfaces,
///   and resolving names a peer reports would let it stall every other peer's sync and
///   learn their resolvers.
pub fn drop_unusable_endpoints(peers: &mut [Peer], mesh: &IpNet) -> usize {
    let unusable =
        |e: &Endpoint| e.port() == 0 || e.host().ip().is_some_and(|ip| mesh.contains(&ip));
    let mut dropped = 0;
    for peer in peers {
        if peer.endpoint.as_ref().is_some_and(unusable) {
            peer.contents.endpoint = None;
            dropped += 1;
        }
        let before = peer.candidates.len();
        peer.contents
            .candidates
            .retain(|c| c.host().ip().is_some() && !unusable(c));
        dropped += before - peer.candidates.len();
    }
    dropped
}

/// The endpoints to try for one peer, in the order they will be popped (last first).
fn trial_order(peer: &Peer) -> Vec<Endpoint> {
    let mut order: Vec<Endpoint> = peer
        .candidates
        .iter()
        .take(MAX_CANDIDATES)
        .cloned()
        .collect();
    if let Some(endpoint) = &peer.endpoint {
        order.retain(|c| c != endpoint);
        order.insert(0, endpoint.clone());
    }
    order
}

/// The candidate trial for the peers of one sync.
#[derive(Debug, Clone, Default)]
pub struct NatTraversal {
    /// Per peer, the endpoints still to try; the last one is tried next.
    remaining: HashMap<PublicKey, Vec<Endpoint>>,
}

impl NatTraversal {
    /// Starts a trial for `peers` (the added or changed peers of a sync, minus those whose
    /// endpoint the user overrode locally).
    pub fn new<'a>(peers: impl IntoIterator<Item = &'a Peer>) -> Self {
        let remaining = peers
            .into_iter()
            .map(|p| (p.public_key, trial_order(p)))
            .collect();
        Self { remaining }
    }

    /// Drops peers that connected (handshake within [`RECENT_HANDSHAKE`] of `now`), that left
    /// the interface, or that have nothing left to try.
    pub fn refresh(&mut self, interface: &[PeerInfo], now: SystemTime) {
        let on_interface: HashMap<&PublicKey, &PeerInfo> = interface
            .iter()
            .map(|info| (&info.config.public_key, info))
            .collect();
        self.remaining
            .retain(|key, endpoints| match on_interface.get(key) {
                Some(info) => {
                    !info.handshake_within(RECENT_HANDSHAKE, now) && !endpoints.is_empty()
                }
                None => false,
            });
    }

    /// Takes the next endpoint to try for every remaining peer.
    pub fn next_step(&mut self) -> Vec<(PublicKey, Endpoint)> {
        let mut step: Vec<(PublicKey, Endpoint)> = self
            .remaining
            .iter_mut()
            .filter_map(|(key, endpoints)| endpoints.pop().map(|e| (*key, e)))
            .collect();
        step.sort_by_key(|(key, _)| *key);
        step
    }

    pub fn is_done(&self) -> bool {
        self.remaining.values().all(Vec::is_empty)
    }

    /// Peers still being tried.
    pub fn len(&self) -> usize {
        self.remaining.len()
    }

    pub fn is_empty(&self) -> bool {
        self.remaining.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use wireguard_control::{PeerConfig, PeerStats};

    use super::*;
    use crate::fixture::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn filters_candidate_addresses() {
        let check = |s: &str, expected: bool| assert_eq!(is_candidate_ip(ip(s)), expected, "{s}");
        check("192.168.1.20", true);
        check("10.0.0.1", true);
        check("203.0.113.5", true);
        check("127.0.0.1", false);
        check("0.0.0.0", false);
        check("169.254.1.1", false);
        check("2606:4700::1", true);
        check("::1", false);
        check("::", false);
        check("fe80::1", false);
        check("fd00::1", false);
        check("2001:db8::1", false);
        check("ff02::1", false);
        check("::ffff:1.2.3.4", false);
    }

    #[test]
    fn endpoints_inside_the_mesh_on_port_0_or_named_candidates_are_dropped() {
        let mut fx = Fixture::new(Family::V4);
        let peer = fx.peer_mut(USER1);
        peer.contents.endpoint = Some("10.80.128.2:51820".parse().unwrap());
        peer.contents.candidates = vec![
            "10.80.128.2:51820".parse().unwrap(),
            "192.168.1.2:51820".parse().unwrap(),
            "192.168.1.3:0".parse().unwrap(),
            "somewhere.example:51820".parse().unwrap(),
        ];
        let mesh: IpNet = "10.80.0.0/15".parse().unwrap();
        assert_eq!(drop_unusable_endpoints(&mut fx.peers, &mesh), 4);
        let peer = fx.peer(USER1);
        assert_eq!(peer.endpoint, None);
        assert_eq!(
            peer.candidates,
            vec!["192.168.1.2:51820".parse::<Endpoint>().unwrap()]
        );
    }

    #[test]
    fn reports_at_most_ten_deduplicated_and_excluded() {
        let many = (1..=15).map(|i| ip(&format!("192.0.2.{i}")));
        let with_dupes = many.clone().chain(many.clone());
        let out = candidate_endpoints(with_dupes, &[], 51820);
        assert_eq!(out.len(), 10);
        assert_eq!(out[0].to_string(), "192.0.2.1:51820");
        let docker: IpNet = "172.17.0.0/16".parse().unwrap();
        let out = candidate_endpoints(
            [ip("172.17.0.1"), ip("192.168.1.2"), ip("fe80::1")],
            &[docker],
            4000,
        );
        assert_eq!(
            out.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["192.168.1.2:4000"]
        );
    }

    fn info(key: PublicKey, handshake: Option<SystemTime>) -> PeerInfo {
        PeerInfo {
            config: PeerConfig::new(key),
            stats: PeerStats {
                last_handshake_time: handshake,
                rx_bytes: 0,
                tx_bytes: 0,
            },
        }
    }

    #[test]
    fn tries_candidates_from_the_back_and_the_endpoint_last() {
        let mut fx = Fixture::new(Family::V4);
        let peer = fx.peer_mut(USER1);
        peer.contents.endpoint = Some("198.51.100.1:51820".parse().unwrap());
        peer.contents.candidates = vec![
            "192.168.1.2:51820".parse().unwrap(),
            "198.51.100.1:51820".parse().unwrap(),
            "10.1.1.1:51820".parse().unwrap(),
        ];
        let peer = fx.peer(USER1).clone();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10_000);
        let interface = vec![info(peer.public_key, None)];
        let mut nat = NatTraversal::new([&peer]);
        let mut tried = Vec::new();
        loop {
            nat.refresh(&interface, now);
            let step = nat.next_step();
            if step.is_empty() {
                break;
            }
            tried.extend(step.into_iter().map(|(_, e)| e.to_string()));
        }
        assert_eq!(
            tried,
            ["10.1.1.1:51820", "192.168.1.2:51820", "198.51.100.1:51820"]
        );
        assert!(nat.is_done());
    }

    #[test]
    fn connected_and_vanished_peers_leave_the_trial() {
        let mut fx = Fixture::new(Family::V6);
        for id in [USER1, USER2] {
            fx.peer_mut(id).contents.candidates = vec!["[2606:4700::1]:51820".parse().unwrap()];
        }
        let (a, b) = (fx.peer(USER1).clone(), fx.peer(USER2).clone());
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(10_000);
        let mut nat = NatTraversal::new([&a, &b]);
        nat.refresh(
            &[
                info(a.public_key, Some(now - Duration::from_secs(3))),
                info(b.public_key, None),
            ],
            now,
        );
        assert_eq!(nat.len(), 1, "the connected peer is done");
        nat.refresh(&[], now);
        assert!(nat.is_empty(), "a peer that left the interface is dropped");
    }
}
