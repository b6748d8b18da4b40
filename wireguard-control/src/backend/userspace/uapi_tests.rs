//! Golden byte tests of the UAPI text, each asserted in both directions, and error cases.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;

use super::*;

const VECTOR_PRIVATE_HEX: &str = "4866fea23ad1343b8c78fb9fc2d218857cc0fff93ac05dd1db5b440602a5ce53";

pub(super) fn iface() -> InterfaceName {
    "wgtest".parse().unwrap()
}

fn key(byte: u8) -> PublicKey {
    PublicKey::from_bytes([byte; KEY_LEN])
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

// ---------------------------------------------------------------------------------------
// set

/// A `set` that touches every field, and its exact text.
pub(super) fn full_update() -> (DeviceUpdate, &'static str) {
    let update = DeviceUpdate::new()
        .set_private_key(PrivateKey::from_hex(VECTOR_PRIVATE_HEX).unwrap())
        .set_listen_port(51820)
        .set_fwmark(0x1234)
        .replace_peers()
        .add_peer(
            PeerUpdate::new(key(0xaa))
                .set_preshared_key(Some(PresharedKey::from_bytes([0x11; KEY_LEN])))
                .set_endpoint("192.0.2.1:51820".parse().unwrap())
                .set_persistent_keepalive_interval(25)
                .replace_allowed_ips([net("10.0.0.1/32"), net("fd00::/64")]),
        )
        .add_peer(
            PeerUpdate::new(key(0xbb))
                .update_only()
                .set_preshared_key(None)
                .set_endpoint("[2001:db8::1]:7".parse().unwrap())
                .set_persistent_keepalive_interval(0)
                .add_allowed_ip(net("10.1.0.0/16")),
        )
        .remove_peer(key(0xcc));
    let text = concat!(
        "set=1\n",
        // device-level keys come first
        "private_key=4866fea23ad1343b8c78fb9fc2d218857cc0fff93ac05dd1db5b440602a5ce53\n",
        "listen_port=51820\n",
        "fwmark=4660\n",
        "replace_peers=true\n",
        // peer aa: psk set, keepalive, allowed IPs replaced by one v4 and one v6 net
        "public_key=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
        "preshared_key=1111111111111111111111111111111111111111111111111111111111111111\n",
        "endpoint=192.0.2.1:51820\n",
        "persistent_keepalive_interval=25\n",
        "replace_allowed_ips=true\n",
        "allowed_ip=10.0.0.1/32\n",
        "allowed_ip=fd00::/64\n",
        // peer bb: update only, psk cleared (all zeros), IPv6 endpoint in brackets,
        // keepalive off, one allowed IP added
        "public_key=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n",
        "update_only=true\n",
        "preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n",
        "endpoint=[2001:db8::1]:7\n",
        "persistent_keepalive_interval=0\n",
        "allowed_ip=10.1.0.0/16\n",
        // peer cc: removed, nothing else about it
        "public_key=cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\n",
        "remove=true\n",
        // end of request
        "\n",
    );
    (update, text)
}

/// Reads `set` text back into an update: the other direction of the golden test.
fn parse_set(text: &str) -> DeviceUpdate {
    let body = text
        .strip_prefix("set=1\n")
        .unwrap()
        .strip_suffix('\n')
        .unwrap();
    assert!(body.is_empty() || body.ends_with('\n'), "{text:?}");
    let mut update = DeviceUpdate::new();
    for line in body.lines() {
        let (k, v) = line.split_once('=').unwrap();
        match k {
            "private_key" => update.private_key = Some(PrivateKey::from_hex(v).unwrap()),
            "listen_port" => update.listen_port = Some(v.parse().unwrap()),
            "fwmark" => update.fwmark = Some(v.parse().unwrap()),
            "replace_peers" => update.replace_peers = v == "true",
            "public_key" => update
                .peers
                .push(PeerUpdate::new(PublicKey::from_hex(v).unwrap())),
            _ => {
                let peer = update.peers.last_mut().unwrap();
                match k {
                    "remove" => peer.remove = v == "true",
                    "update_only" => peer.update_only = v == "true",
                    "preshared_key" => {
                        let psk = PresharedKey::from_hex(v).unwrap();
                        peer.preshared_key = Some((psk.as_bytes() != &[0; KEY_LEN]).then_some(psk));
                    }
                    "endpoint" => peer.endpoint = Some(v.parse().unwrap()),
                    "persistent_keepalive_interval" => {
                        peer.persistent_keepalive_interval = Some(v.parse().unwrap())
                    }
                    "replace_allowed_ips" => peer.replace_allowed_ips = v == "true",
                    "allowed_ip" => peer.allowed_ips.push(v.parse().unwrap()),
                    other => panic!("unexpected set key {other}"),
                }
            }
        }
    }
    update
}

#[test]
fn set_golden_both_directions() {
    let (update, text) = full_update();
    assert_eq!(set_request(&update), text);
    assert_eq!(parse_set(text), update);
}

#[test]
fn set_small_cases() {
    fn check(update: DeviceUpdate, expected: &str) {
        assert_eq!(set_request(&update), expected);
        assert_eq!(parse_set(expected), update);
    }
    check(DeviceUpdate::new(), "set=1\n\n");
    check(
        DeviceUpdate::new().set_listen_port(0),
        "set=1\nlisten_port=0\n\n",
    );
    check(DeviceUpdate::new().set_fwmark(0), "set=1\nfwmark=0\n\n");
    check(
        DeviceUpdate::new().add_peer(PeerUpdate::new(key(0xdd))),
        "set=1\npublic_key=dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\n\n",
    );
    check(
        DeviceUpdate::new().add_peer(
            PeerUpdate::new(key(0xdd)).set_endpoint("[fe80::1%2]:51820".parse().unwrap()),
        ),
        "set=1\npublic_key=dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\n\
         endpoint=[fe80::1%2]:51820\n\n",
    );
    // replace_with writes every field so the peer ends up exactly as configured.
    let mut config = PeerConfig::new(key(0xdd));
    config.allowed_ips = vec![net("10.9.0.1/32")];
    check(
        DeviceUpdate::new().add_peer(PeerUpdate::replace_with(&config)),
        "set=1\npublic_key=dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\n\
         preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n\
         persistent_keepalive_interval=0\nreplace_allowed_ips=true\nallowed_ip=10.9.0.1/32\n\n",
    );
}

// ---------------------------------------------------------------------------------------
// get

/// A `get` answer as wireguard-go writes it, and the device it describes.
pub(super) fn full_get() -> (Device, &'static str) {
    let private = PrivateKey::from_hex(VECTOR_PRIVATE_HEX).unwrap();
    let mut peer_a = PeerInfo {
        config: PeerConfig::new(key(0xaa)),
        stats: PeerStats::default(),
    };
    peer_a.config.preshared_key = Some(PresharedKey::from_bytes([0x22; KEY_LEN]));
    peer_a.config.endpoint = Some("[2001:db8::1]:51820".parse().unwrap());
    peer_a.config.persistent_keepalive_interval = Some(25);
    peer_a.config.allowed_ips = vec![net("10.0.0.0/24"), net("fd00::/64"), net("10.9.0.1/32")];
    peer_a.stats = PeerStats {
        last_handshake_time: Some(UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789)),
        rx_bytes: 4096,
        tx_bytes: 2048,
    };
    let mut peer_b = PeerInfo {
        config: PeerConfig::new(key(0xbb)),
        stats: PeerStats::default(),
    };
    peer_b.config.endpoint = Some("198.51.100.7:7".parse().unwrap());
    let peer_c = PeerInfo {
        config: PeerConfig::new(key(0xcc)),
        stats: PeerStats::default(),
    };
    let device = Device {
        name: iface(),
        public_key: Some(private.public_key()),
        private_key: Some(private),
        listen_port: Some(51820),
        fwmark: Some(7),
        peers: vec![peer_a, peer_b, peer_c],
        backend: BackendKind::Userspace,
    };
    let text = concat!(
        // device: private key (the public key is derived), port, fwmark
        "private_key=4866fea23ad1343b8c78fb9fc2d218857cc0fff93ac05dd1db5b440602a5ce53\n",
        "listen_port=51820\n",
        "fwmark=7\n",
        // peer aa: psk, IPv6 endpoint, a handshake, traffic, keepalive, three allowed IPs
        "public_key=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
        "preshared_key=2222222222222222222222222222222222222222222222222222222222222222\n",
        "protocol_version=1\n",
        "endpoint=[2001:db8::1]:51820\n",
        "last_handshake_time_sec=1700000000\n",
        "last_handshake_time_nsec=123456789\n",
        "tx_bytes=2048\n",
        "rx_bytes=4096\n",
        "persistent_keepalive_interval=25\n",
        "allowed_ip=10.0.0.0/24\n",
        "allowed_ip=fd00::/64\n",
        "allowed_ip=10.9.0.1/32\n",
        // peer bb: no psk (zeros), no handshake (0 → None), keepalive 0 → None
        "public_key=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n",
        "preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n",
        "protocol_version=1\n",
        "endpoint=198.51.100.7:7\n",
        "last_handshake_time_sec=0\n",
        "last_handshake_time_nsec=0\n",
        "tx_bytes=0\n",
        "rx_bytes=0\n",
        "persistent_keepalive_interval=0\n",
        // peer cc: no endpoint, no allowed IPs
        "public_key=cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\n",
        "preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n",
        "protocol_version=1\n",
        "last_handshake_time_sec=0\n",
        "last_handshake_time_nsec=0\n",
        "tx_bytes=0\n",
        "rx_bytes=0\n",
        "persistent_keepalive_interval=0\n",
        // status and end of answer
        "errno=0\n",
        "\n",
    );
    (device, text)
}

/// Writes a device as wireguard-go answers `get`: the other direction of the golden test.
fn render_get(device: &Device) -> String {
    let mut out = String::new();
    if let Some(key) = &device.private_key {
        out += &format!("private_key={}\n", key.to_hex());
    }
    if let Some(port) = device.listen_port {
        out += &format!("listen_port={port}\n");
    }
    if let Some(fwmark) = device.fwmark {
        out += &format!("fwmark={fwmark}\n");
    }
    for peer in &device.peers {
        let config = &peer.config;
        out += &format!("public_key={}\n", config.public_key.to_hex());
        let psk = config
            .preshared_key
            .as_ref()
            .map_or(hex::encode([0; KEY_LEN]), |k| k.to_hex());
        out += &format!("preshared_key={psk}\nprotocol_version=1\n");
        if let Some(endpoint) = config.endpoint {
            out += &format!("endpoint={endpoint}\n");
        }
        let since = peer
            .stats
            .last_handshake_time
            .map(|t| t.duration_since(UNIX_EPOCH).unwrap());
        let (sec, nsec) = since.map_or((0, 0), |d| (d.as_secs(), d.subsec_nanos()));
        out += &format!("last_handshake_time_sec={sec}\nlast_handshake_time_nsec={nsec}\n");
        out += &format!(
            "tx_bytes={}\nrx_bytes={}\n",
            peer.stats.tx_bytes, peer.stats.rx_bytes
        );
        let keepalive = config.persistent_keepalive_interval.unwrap_or(0);
        out += &format!("persistent_keepalive_interval={keepalive}\n");
        for net in &config.allowed_ips {
            out += &format!("allowed_ip={net}\n");
        }
    }
    out + "errno=0\n\n"
}

#[test]
fn get_golden_both_directions() {
    let (device, text) = full_get();
    assert_eq!(read_get(&iface(), text.as_bytes()).unwrap(), device);
    assert_eq!(render_get(&device), text);
}

#[test]
fn get_of_a_fresh_device_and_oddities() {
    fn check(text: &str, expected: impl FnOnce(&mut Device)) {
        let mut device = GetParser::new(iface()).device;
        expected(&mut device);
        assert_eq!(
            read_get(&iface(), text.as_bytes()).unwrap(),
            device,
            "{text:?}"
        );
    }
    check("errno=0\n\n", |_| {});
    check("listen_port=0\nfwmark=0\nerrno=0\n\n", |_| {});
    check(
        &format!("private_key={}\nerrno=0\n\n", "00".repeat(32)),
        |_| {},
    );
    // Keys from a newer implementation are skipped.
    check("future_device_key=1\nerrno=0\n\n", |_| {});
    let peer = "public_key=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n";
    check(&format!("{peer}future_peer_key=x\nerrno=0\n\n"), |d| {
        d.peers.push(PeerInfo {
            config: PeerConfig::new(key(0xaa)),
            stats: PeerStats::default(),
        })
    });
    // A named IPv6 zone cannot be kept; the address is.
    check(
        &format!("{peer}endpoint=[fe80::1%eth0]:5\nerrno=0\n\n"),
        |d| {
            let mut config = PeerConfig::new(key(0xaa));
            config.endpoint = Some("[fe80::1]:5".parse().unwrap());
            d.peers.push(PeerInfo {
                config,
                stats: PeerStats::default(),
            })
        },
    );
    // Only nanoseconds set still means a handshake happened.
    check(
        &format!("{peer}last_handshake_time_nsec=5\nerrno=0\n\n"),
        |d| {
            let stats = PeerStats {
                last_handshake_time: Some(UNIX_EPOCH + Duration::from_nanos(5)),
                ..Default::default()
            };
            d.peers.push(PeerInfo {
                config: PeerConfig::new(key(0xaa)),
                stats,
            })
        },
    );
}

fn arb_key() -> impl Strategy<Value = [u8; KEY_LEN]> {
    proptest::array::uniform32(any::<u8>())
}

fn arb_peer() -> impl Strategy<Value = PeerInfo> {
    let endpoint = prop_oneof![
        Just(None),
        (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, port)| Some(SocketAddr::from((ip, port)))),
        (any::<[u8; 16]>(), any::<u16>()).prop_map(|(ip, port)| Some(SocketAddr::from((ip, port)))),
    ];
    let nets = proptest::collection::vec(
        (any::<[u8; 4]>(), 0u8..=32)
            .prop_map(|(ip, len)| IpNet::new(ip.into(), len).unwrap().trunc()),
        0..4,
    );
    (
        arb_key(),
        proptest::option::of(arb_key()),
        endpoint,
        proptest::option::of(1u16..),
        nets,
    )
        .prop_flat_map(move |(public, psk, endpoint, keepalive, nets)| {
            let handshake = proptest::option::of((1u64..4_000_000_000, 0u32..1_000_000_000));
            (handshake, any::<u64>(), any::<u64>()).prop_map(move |(hs, rx_bytes, tx_bytes)| {
                let config = PeerConfig {
                    public_key: PublicKey::from_bytes(public),
                    preshared_key: psk
                        .map(PresharedKey::from_bytes)
                        .filter(|k| k.as_bytes() != &[0; KEY_LEN]),
                    endpoint,
                    persistent_keepalive_interval: keepalive,
                    allowed_ips: nets.clone(),
                };
                let last_handshake_time = hs.map(|(s, n)| UNIX_EPOCH + Duration::new(s, n));
                PeerInfo {
                    config,
                    stats: PeerStats {
                        last_handshake_time,
                        rx_bytes,
                        tx_bytes,
                    },
                }
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, rng_seed: proptest::test_runner::RngSeed::Fixed(7), ..ProptestConfig::default() })]

    #[test]
    fn get_round_trips(
        private in proptest::option::of(arb_key()),
        port in proptest::option::of(1u16..),
        fwmark in proptest::option::of(1u32..),
        peers in proptest::collection::vec(arb_peer(), 0..5),
    ) {
        let private_key = private.map(PrivateKey::from_bytes).filter(|k| k.as_bytes() != &[0; KEY_LEN]);
        let device = Device {
            name: iface(),
            public_key: private_key.as_ref().map(PrivateKey::public_key),
            private_key,
            listen_port: port,
            fwmark,
            peers,
            backend: BackendKind::Userspace,
        };
        prop_assert_eq!(read_get(&iface(), render_get(&device).as_bytes()).unwrap(), device);
    }
}

#[test]
fn handshake_now_round_trips() {
    let mut peer = PeerInfo {
        config: PeerConfig::new(key(1)),
        stats: PeerStats::default(),
    };
    peer.stats.last_handshake_time = Some(SystemTime::now());
    let mut device = GetParser::new(iface()).device;
    device.peers.push(peer);
    assert_eq!(
        read_get(&iface(), render_get(&device).as_bytes()).unwrap(),
        device
    );
}
