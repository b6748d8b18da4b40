//! Tests of the peer diff: the rules of compat §6.2 case by case, and a property test that
//! applying the diff reaches the desired state and that a second diff is empty.

use std::collections::HashMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use wireguard_control::PeerStats;

use super::*;
use crate::fixture::*;
use crate::PeerId;

const NOW_SECS: u64 = 1_800_000_000;

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

fn resolve(endpoint: &Endpoint) -> Option<SocketAddr> {
    endpoint.to_socket_addr()
}

/// The interface entry that `peer` would have after a perfect sync.
fn synced(peer: &Peer, handshake_age: Option<u64>) -> PeerInfo {
    PeerInfo {
        config: PeerConfig {
            public_key: peer.public_key,
            preshared_key: None,
            endpoint: peer.endpoint.as_ref().and_then(resolve),
            persistent_keepalive_interval: peer.persistent_keepalive_interval,
            allowed_ips: vec![peer_allowed_ip(peer)],
        },
        stats: PeerStats {
            last_handshake_time: handshake_age.map(|age| now() - Duration::from_secs(age)),
            rx_bytes: 0,
            tx_bytes: 0,
        },
    }
}

fn kinds(changes: &[PeerChange<'_>]) -> Vec<(PeerId, ChangeKind)> {
    changes
        .iter()
        .map(|c| (c.peer.map(|p| p.id).unwrap_or(PeerId(-1)), c.kind))
        .collect()
}

#[test]
fn identical_config_gives_no_diff() {
    let fx = Fixture::new(Family::V4);
    let current: Vec<PeerInfo> = fx.peers.iter().map(|p| synced(p, None)).collect();
    assert!(diff_peers(&fx.peers, &current, None, now(), resolve).is_empty());
}

#[test]
fn adds_missing_peers_with_exact_allowed_ip() {
    for family in Family::BOTH {
        let mut fx = Fixture::new(family);
        fx.peer_mut(DEVELOPER1).contents.endpoint = Some(
            family
                .pick("192.0.2.7:51820", "[2001:db8::7]:51820")
                .parse()
                .unwrap(),
        );
        let desired = vec![fx.peer(DEVELOPER1).clone()];
        let changes = diff_peers(&desired, &[], None, now(), resolve);
        assert_eq!(kinds(&changes), vec![(DEVELOPER1, ChangeKind::Added)]);
        let update = &changes[0].update;
        assert!(update.replace_allowed_ips);
        let prefix = if family == Family::V4 { 32 } else { 128 };
        assert_eq!(
            update.allowed_ips,
            vec![IpNet::new(fx.peer(DEVELOPER1).ip, prefix).unwrap()]
        );
        assert_eq!(update.persistent_keepalive_interval, Some(25));
        assert_eq!(
            update.endpoint,
            fx.peer(DEVELOPER1).endpoint.as_ref().and_then(resolve)
        );
    }
}

#[test]
fn skips_disabled_and_own_key_and_removes_unknown() {
    let mut fx = Fixture::new(Family::V4);
    fx.peer_mut(DEVELOPER2).contents.is_disabled = true;
    let own = fx.peer(DEVELOPER1).public_key;
    let stranger = key_for(PeerId(99));
    let mut current = vec![synced(fx.peer(DEVELOPER2), None)];
    current.push(PeerInfo {
        config: PeerConfig::new(stranger),
        stats: PeerStats::default(),
    });
    let changes = diff_peers(&fx.peers, &current, Some(&own), now(), resolve);
    let got = kinds(&changes);
    // DEVELOPER1 is us; DEVELOPER2 is disabled: neither added nor removed (offline cache rule).
    assert!(
        !got.iter()
            .any(|(id, _)| *id == DEVELOPER1 || *id == DEVELOPER2),
        "{got:?}"
    );
    let removed: Vec<_> = changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Removed)
        .collect();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].public_key(), &stranger);
    assert!(removed[0].update.remove);
}

#[test]
fn keepalive_difference_is_a_modification() {
    let fx = Fixture::new(Family::V4);
    let peer = fx.peer(USER1);
    let mut info = synced(peer, None);
    info.config.persistent_keepalive_interval = None;
    let desired = vec![peer.clone()];
    let changes = diff_peers(&desired, std::slice::from_ref(&info), None, now(), resolve);
    assert_eq!(kinds(&changes), vec![(USER1, ChangeKind::Modified)]);
    assert_eq!(changes[0].update.persistent_keepalive_interval, Some(25));
    assert!(
        !changes[0].update.replace_allowed_ips,
        "allowed IPs were right and must not be touched"
    );
}

#[test]
fn endpoint_only_changes_without_recent_handshake() {
    let mut fx = Fixture::new(Family::V4);
    fx.peer_mut(USER1).contents.endpoint = Some("192.0.2.9:40000".parse().unwrap());
    let peer = fx.peer(USER1).clone();
    for (age, expect_change) in [
        (Some(200), true),
        (None, true),
        (Some(0), false),
        (Some(179), false),
    ] {
        let mut info = synced(&peer, age);
        info.config.endpoint = Some("198.51.100.1:1".parse().unwrap());
        let changes = diff_peers(
            std::slice::from_ref(&peer),
            std::slice::from_ref(&info),
            None,
            now(),
            resolve,
        );
        if expect_change {
            assert_eq!(
                kinds(&changes),
                vec![(USER1, ChangeKind::Modified)],
                "age {age:?}"
            );
            assert_eq!(
                changes[0].update.endpoint,
                Some("192.0.2.9:40000".parse().unwrap())
            );
        } else {
            assert!(changes.is_empty(), "age {age:?}: {changes:?}");
        }
    }
}

#[test]
fn unconnected_peer_with_candidates_is_a_nat_reattempt() {
    let mut fx = Fixture::new(Family::V6);
    fx.peer_mut(USER1).contents.candidates = vec!["[2001:db8::5]:51820".parse().unwrap()];
    let peer = fx.peer(USER1).clone();
    let info = synced(&peer, Some(500));
    let changes = diff_peers(
        std::slice::from_ref(&peer),
        std::slice::from_ref(&info),
        None,
        now(),
        resolve,
    );
    assert_eq!(kinds(&changes), vec![(USER1, ChangeKind::NatReattempt)]);
    assert!(
        device_update(&changes).is_empty(),
        "a reattempt changes nothing on the device"
    );
    // Connected: nothing to do.
    let info = synced(&peer, Some(5));
    assert!(diff_peers(
        std::slice::from_ref(&peer),
        std::slice::from_ref(&info),
        None,
        now(),
        resolve
    )
    .is_empty());
}

#[test]
fn unresolvable_endpoint_is_left_alone() {
    let mut fx = Fixture::new(Family::V4);
    fx.peer_mut(USER1).contents.endpoint = Some("vpn.example.com:51820".parse().unwrap());
    let peer = fx.peer(USER1).clone();
    let changes = diff_peers(std::slice::from_ref(&peer), &[], None, now(), |_| None);
    assert_eq!(changes[0].update.endpoint, None);
    let changes = diff_peers(std::slice::from_ref(&peer), &[], None, now(), |_| {
        Some("192.0.2.1:51820".parse().unwrap())
    });
    assert_eq!(
        changes[0].update.endpoint,
        Some("192.0.2.1:51820".parse().unwrap())
    );
}

/// A model of how a WireGuard implementation applies peer updates.
fn apply(current: &[PeerInfo], update: &DeviceUpdate) -> Vec<PeerInfo> {
    let mut peers: HashMap<PublicKey, PeerInfo> = current
        .iter()
        .map(|p| (p.config.public_key, p.clone()))
        .collect();
    for change in &update.peers {
        if change.remove {
            peers.remove(&change.public_key);
            continue;
        }
        let entry = peers.entry(change.public_key).or_insert_with(|| PeerInfo {
            config: PeerConfig::new(change.public_key),
            stats: PeerStats::default(),
        });
        if let Some(endpoint) = change.endpoint {
            entry.config.endpoint = Some(endpoint);
        }
        if let Some(keepalive) = change.persistent_keepalive_interval {
            entry.config.persistent_keepalive_interval = (keepalive > 0).then_some(keepalive);
        }
        if change.replace_allowed_ips {
            entry.config.allowed_ips.clear();
        }
        entry
            .config
            .allowed_ips
            .extend(change.allowed_ips.iter().copied());
    }
    let mut out: Vec<PeerInfo> = peers.into_values().collect();
    out.sort_by_key(|p| p.config.public_key);
    out
}

#[allow(clippy::type_complexity)]
fn arb_case() -> impl Strategy<Value = (Fixture, Vec<PeerInfo>)> {
    let desired = prop::collection::vec(
        (
            any::<bool>(),
            prop::option::of(0u16..3),
            prop::option::of(0u8..4),
            any::<bool>(),
        ),
        0..12,
    );
    let stale = prop::collection::vec(
        (
            0u8..16,
            prop::option::of(0u64..400),
            any::<bool>(),
            any::<bool>(),
        ),
        0..12,
    );
    (desired, stale, any::<bool>()).prop_map(|(desired, stale, v6)| {
        let family = if v6 { Family::V6 } else { Family::V4 };
        let mut fx = Fixture::empty(family);
        let root = fx.add_cidr("root", family.pick("10.0.0.0/16", "fd00::/64"), None);
        for (i, (disabled, keepalive, endpoint, candidates)) in desired.into_iter().enumerate() {
            let id = fx.add_peer(
                &format!("p{i}"),
                &format!("{}{}", family.pick("10.0.0.", "fd00::"), i + 1),
                root,
            );
            let peer = fx.peer_mut(id);
            peer.contents.is_disabled = disabled;
            peer.contents.persistent_keepalive_interval = keepalive.map(|k| k * 25);
            peer.contents.endpoint =
                endpoint.map(|e| format!("192.0.2.{e}:5182{e}").parse().unwrap());
            if candidates {
                peer.contents.candidates = vec!["198.51.100.1:1".parse().unwrap()];
            }
        }
        // The interface: some of the desired keys (with random drift) and strangers.
        let mut current = Vec::new();
        for (pick, handshake_age, wrong_ips, keep_stranger) in stale {
            let key = if (pick as usize) < fx.peers.len() && !keep_stranger {
                fx.peers[pick as usize].public_key
            } else {
                key_for(PeerId(100 + pick as i64))
            };
            if current
                .iter()
                .any(|p: &PeerInfo| p.config.public_key == key)
            {
                continue;
            }
            let mut config = PeerConfig::new(key);
            config.allowed_ips = if wrong_ips {
                vec!["10.9.9.9/32".parse().unwrap()]
            } else {
                vec![]
            };
            config.endpoint = Some("203.0.113.1:9".parse().unwrap());
            let stats = PeerStats {
                last_handshake_time: handshake_age.map(|a| now() - Duration::from_secs(a)),
                rx_bytes: 0,
                tx_bytes: 0,
            };
            current.push(PeerInfo { config, stats });
        }
        (fx, current)
    })
}

#[test]
fn applying_the_diff_reaches_the_desired_state() {
    let config = Config {
        cases: 500,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[11; 32]));
    runner
        .run(&arb_case(), |(fx, current)| {
            let changes = diff_peers(&fx.peers, &current, None, now(), resolve);
            let after = apply(&current, &device_update(&changes));
            for info in &after {
                let desired = fx
                    .peers
                    .iter()
                    .find(|p| p.public_key == info.config.public_key);
                // Only desired keys remain (disabled ones only if they were there before).
                let Some(peer) = desired else {
                    return Err(TestCaseError::fail("stranger left on the interface"));
                };
                if peer.is_disabled {
                    prop_assert!(current
                        .iter()
                        .any(|c| c.config.public_key == peer.public_key));
                    continue;
                }
                prop_assert_eq!(&info.config.allowed_ips, &vec![peer_allowed_ip(peer)]);
                prop_assert_eq!(
                    info.config.persistent_keepalive_interval,
                    peer.persistent_keepalive_interval.filter(|&k| k > 0)
                );
                let before = current
                    .iter()
                    .find(|c| c.config.public_key == peer.public_key);
                if info.handshake_within(RECENT_HANDSHAKE, now()) {
                    // A working tunnel is never re-pointed.
                    prop_assert_eq!(info.config.endpoint, before.and_then(|b| b.config.endpoint));
                } else if let Some(wanted) = peer.endpoint.as_ref().and_then(resolve) {
                    prop_assert_eq!(info.config.endpoint, Some(wanted));
                }
            }
            for peer in fx.peers.iter().filter(|p| !p.is_disabled) {
                prop_assert!(
                    after.iter().any(|i| i.config.public_key == peer.public_key),
                    "missing peer"
                );
            }
            // Idempotence: a second diff changes nothing (reattempts carry no change).
            let again = diff_peers(&fx.peers, &after, None, now(), resolve);
            prop_assert!(device_update(&again).is_empty(), "{:?}", again);
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_gateway_gets_its_routes_as_allowed_ips_compared_as_a_set() {
    let fx = Fixture::new(Family::V4);
    let net = |s: &str| -> IpNet { s.parse().unwrap() };
    let routes: HashMap<PeerId, Vec<IpNet>> = [(
        DEVELOPER1,
        vec![net("192.168.20.0/24"), net("192.168.10.0/24")],
    )]
    .into_iter()
    .collect();
    let desired = vec![fx.peer(DEVELOPER1).clone(), fx.peer(DEVELOPER2).clone()];
    let current: Vec<PeerInfo> = desired.iter().map(|p| synced(p, None)).collect();
    let changes = diff_routed_peers(&desired, &current, None, now(), resolve, &routes);
    assert_eq!(kinds(&changes), vec![(DEVELOPER1, ChangeKind::Modified)]);
    let expected = vec![
        net("10.80.64.2/32"),
        net("192.168.10.0/24"),
        net("192.168.20.0/24"),
    ];
    assert!(changes[0].update.replace_allowed_ips);
    assert_eq!(changes[0].update.allowed_ips, expected);

    // The kernel may list them in another order: still in sync.
    let mut routed = current.clone();
    routed[0].config.allowed_ips = vec![expected[2], expected[0], expected[1]];
    assert!(diff_routed_peers(&desired, &routed, None, now(), resolve, &routes).is_empty());

    // The routes are withdrawn: back to the address alone.
    let changes = diff_peers(&desired, &routed, None, now(), resolve);
    assert_eq!(kinds(&changes), vec![(DEVELOPER1, ChangeKind::Modified)]);
    assert_eq!(changes[0].update.allowed_ips, vec![net("10.80.64.2/32")]);
}

#[test]
fn a_hub_gives_its_devices_their_preshared_keys_and_clears_stray_ones() {
    let fx = Fixture::new(Family::V4);
    let psk = PresharedKey::from_bytes([3; 32]);
    let preshared: HashMap<PeerId, PresharedKey> = [(USER1, psk.clone())].into_iter().collect();
    let desired = vec![fx.peer(USER1).clone(), fx.peer(USER2).clone()];
    let none = HashMap::new();
    // Added with the key.
    let added = diff_hub_peers(&desired, &[], None, now(), resolve, &none, &preshared);
    assert_eq!(added[0].update.preshared_key, Some(Some(psk.clone())));
    assert_eq!(added[1].update.preshared_key, None);
    // On the interface without it: set; with it: nothing to do.
    let mut current: Vec<PeerInfo> = desired.iter().map(|p| synced(p, None)).collect();
    let changes = diff_hub_peers(&desired, &current, None, now(), resolve, &none, &preshared);
    assert_eq!(kinds(&changes), vec![(USER1, ChangeKind::Modified)]);
    assert_eq!(changes[0].update.preshared_key, Some(Some(psk.clone())));
    current[0].config.preshared_key = Some(psk.clone());
    assert!(diff_hub_peers(&desired, &current, None, now(), resolve, &none, &preshared).is_empty());
    // A key nobody asked for is cleared.
    let changes = diff_peers(&desired, &current, None, now(), resolve);
    assert_eq!(kinds(&changes), vec![(USER1, ChangeKind::Modified)]);
    assert_eq!(changes[0].update.preshared_key, Some(None));
}
