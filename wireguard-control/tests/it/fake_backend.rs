//! The in-memory fake backend behaves like the UAPI `set` of wireguard-go.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ipnet::IpNet;
use wireguard_control::backend::fake::FakeBackend;
use wireguard_control::{
    Backend, BackendKind, Created, DeviceUpdate, Error, InterfaceName, PeerConfig, PeerStats,
    PeerUpdate, PresharedKey, PrivateKey, PublicKey,
};

fn wg0() -> InterfaceName {
    "wg0".parse().unwrap()
}

fn key(byte: u8) -> PublicKey {
    PublicKey::from_bytes([byte; 32])
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn psk(byte: u8) -> PresharedKey {
    PresharedKey::from_bytes([byte; 32])
}

/// A peer config as the fake should report it.
fn peer(byte: u8, endpoint: Option<&str>, keepalive: Option<u16>, nets: &[&str]) -> PeerConfig {
    PeerConfig {
        public_key: key(byte),
        preshared_key: None,
        endpoint: endpoint.map(addr),
        persistent_keepalive_interval: keepalive,
        allowed_ips: nets.iter().map(|n| net(n)).collect(),
    }
}

/// Applies `updates` in order to a fresh interface and compares its peers with `expected`.
fn check(case: &str, updates: Vec<DeviceUpdate>, expected: Vec<PeerConfig>) {
    let fake = FakeBackend::new();
    fake.create(&wg0()).unwrap();
    for update in &updates {
        fake.apply(&wg0(), update).unwrap();
    }
    let device = fake.get(&wg0()).unwrap();
    let got: Vec<PeerConfig> = device.peers.into_iter().map(|p| p.config).collect();
    assert_eq!(got, expected, "{case}");
}

fn add(update: PeerUpdate) -> DeviceUpdate {
    DeviceUpdate::new().add_peer(update)
}

#[test]
fn set_semantics() {
    let a = || PeerUpdate::new(key(0xa));
    let b = || PeerUpdate::new(key(0xb));
    check(
        "a new peer with only a key",
        vec![add(a())],
        vec![peer(0xa, None, None, &[])],
    );
    check(
        "fields are set and later kept when not mentioned",
        vec![
            add(a()
                .set_endpoint(addr("192.0.2.1:1"))
                .set_persistent_keepalive_interval(25)),
            add(a().add_allowed_ip(net("10.0.0.1/32"))),
        ],
        vec![peer(0xa, Some("192.0.2.1:1"), Some(25), &["10.0.0.1/32"])],
    );
    check(
        "keepalive 0 turns it off",
        vec![
            add(a().set_persistent_keepalive_interval(25)),
            add(a().set_persistent_keepalive_interval(0)),
        ],
        vec![peer(0xa, None, None, &[])],
    );
    check(
        "allowed IPs add up unless replaced",
        vec![
            add(a().add_allowed_ip(net("10.0.0.1/32"))),
            add(a().add_allowed_ip(net("fd00::/64"))),
            add(a().add_allowed_ip(net("10.0.0.1/32"))),
        ],
        vec![peer(0xa, None, None, &["10.0.0.1/32", "fd00::/64"])],
    );
    check(
        "replace_allowed_ips replaces",
        vec![
            add(a()
                .add_allowed_ip(net("10.0.0.1/32"))
                .add_allowed_ip(net("10.0.0.2/32"))),
            add(a().replace_allowed_ips([net("10.0.0.3/32")])),
        ],
        vec![peer(0xa, None, None, &["10.0.0.3/32"])],
    );
    check(
        "replace_allowed_ips with nothing clears",
        vec![
            add(a().add_allowed_ip(net("10.0.0.1/32"))),
            add(a().replace_allowed_ips([])),
        ],
        vec![peer(0xa, None, None, &[])],
    );
    check(
        "host bits are cleared",
        vec![add(a().add_allowed_ip(net("10.1.2.3/16")))],
        vec![peer(0xa, None, None, &["10.1.0.0/16"])],
    );
    check(
        "an allowed IP moves to the peer that adds it",
        vec![
            add(a().add_allowed_ip(net("10.0.0.0/24"))),
            add(b().add_allowed_ip(net("10.0.0.0/24"))),
        ],
        vec![
            peer(0xa, None, None, &[]),
            peer(0xb, None, None, &["10.0.0.0/24"]),
        ],
    );
    check(
        "remove deletes",
        vec![
            add(a()),
            add(b()),
            DeviceUpdate::new().remove_peer(key(0xa)),
        ],
        vec![peer(0xb, None, None, &[])],
    );
    check(
        "removing an unknown peer is fine",
        vec![DeviceUpdate::new().remove_peer(key(0xa))],
        vec![],
    );
    check(
        "update_only does not create",
        vec![add(a().update_only().set_endpoint(addr("192.0.2.1:1")))],
        vec![],
    );
    check(
        "update_only changes an existing peer",
        vec![
            add(a()),
            add(a().update_only().set_endpoint(addr("[2001:db8::1]:2"))),
        ],
        vec![peer(0xa, Some("[2001:db8::1]:2"), None, &[])],
    );
    check(
        "replace_peers drops the unlisted",
        vec![add(a()), add(b()).replace_peers()],
        vec![peer(0xb, None, None, &[])],
    );
    check(
        "replace_peers with no peers drops all",
        vec![add(a()), DeviceUpdate::new().replace_peers()],
        vec![],
    );
    let mut with_psk = peer(0xa, None, None, &[]);
    with_psk.preshared_key = Some(psk(7));
    check(
        "a preshared key is set",
        vec![add(a().set_preshared_key(Some(psk(7))))],
        vec![with_psk],
    );
    check(
        "a preshared key is cleared by None and by zeros",
        vec![
            add(a().set_preshared_key(Some(psk(7)))),
            add(a().set_preshared_key(None)),
            add(b().set_preshared_key(Some(psk(7)))),
            add(b().set_preshared_key(Some(psk(0)))),
        ],
        vec![peer(0xa, None, None, &[]), peer(0xb, None, None, &[])],
    );
    let config = peer(0xa, Some("192.0.2.9:9"), Some(5), &["10.9.0.0/16"]);
    check(
        "replace_with makes a peer exactly its config",
        vec![
            add(a()
                .set_preshared_key(Some(psk(1)))
                .set_persistent_keepalive_interval(25)
                .add_allowed_ip(net("10.0.0.1/32"))),
            add(PeerUpdate::replace_with(&config)),
        ],
        vec![config.clone()],
    );
}

#[test]
fn device_fields() {
    let fake = FakeBackend::new();
    assert_eq!(fake.create(&wg0()).unwrap(), Created::New);
    let private = PrivateKey::generate();
    let own_public = private.public_key();
    fake.apply(
        &wg0(),
        &DeviceUpdate::new().add_peer(PeerUpdate::new(own_public)),
    )
    .unwrap();
    fake.apply(
        &wg0(),
        &DeviceUpdate::new()
            .set_private_key(private.clone())
            .set_listen_port(51820)
            .set_fwmark(9),
    )
    .unwrap();
    let device = fake.get(&wg0()).unwrap();
    assert_eq!(device.backend, BackendKind::Fake);
    assert_eq!(device.name, wg0());
    assert_eq!(device.private_key, Some(private.clone()));
    assert_eq!(device.public_key, Some(own_public));
    assert_eq!(device.listen_port, Some(51820));
    assert_eq!(device.fwmark, Some(9));
    assert!(
        device.peers.is_empty(),
        "a peer with the device's own key is removed"
    );

    // A peer with the device's own key is ignored; fwmark 0 clears; port 0 picks a port.
    fake.apply(
        &wg0(),
        &DeviceUpdate::new()
            .add_peer(PeerUpdate::new(own_public))
            .set_fwmark(0)
            .set_listen_port(0),
    )
    .unwrap();
    let device = fake.get(&wg0()).unwrap();
    assert!(device.peers.is_empty());
    assert_eq!(device.fwmark, None);
    assert!(
        matches!(device.listen_port, Some(port) if port >= 49152),
        "{:?}",
        device.listen_port
    );

    // An all-zero private key clears the key.
    fake.apply(
        &wg0(),
        &DeviceUpdate::new().set_private_key(PrivateKey::from_bytes([0; 32])),
    )
    .unwrap();
    let device = fake.get(&wg0()).unwrap();
    assert_eq!((device.private_key, device.public_key), (None, None));
}

#[test]
fn lifecycle_and_not_found() {
    let fake = FakeBackend::new();
    let wg1: InterfaceName = "wg1".parse().unwrap();
    assert!(matches!(fake.get(&wg0()), Err(Error::NotFound { .. })));
    assert!(matches!(
        fake.apply(&wg0(), &DeviceUpdate::new()),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(fake.delete(&wg0()), Err(Error::NotFound { .. })));
    assert!(fake.list().unwrap().is_empty(), "apply must not create");
    assert_eq!(fake.create(&wg1).unwrap(), Created::New);
    assert_eq!(fake.create(&wg0()).unwrap(), Created::New);
    assert_eq!(fake.create(&wg0()).unwrap(), Created::AlreadyExisted);
    assert_eq!(fake.list().unwrap(), vec![wg0(), wg1.clone()]);
    assert!(fake.exists(&wg0()).unwrap());
    // Clones share state.
    let clone = fake.clone();
    clone.delete(&wg0()).unwrap();
    assert_eq!(fake.list().unwrap(), vec![wg1]);
    assert!(!fake.exists(&wg0()).unwrap());
    assert_eq!(fake.kind(), BackendKind::Fake);
}

#[test]
fn records_applied_updates_and_injects_failures() {
    let fake = FakeBackend::new();
    fake.create(&wg0()).unwrap();
    let first = DeviceUpdate::new().set_listen_port(1);
    let second = add(PeerUpdate::new(key(1)));
    fake.apply(&wg0(), &first).unwrap();
    fake.fail_next_apply(&wg0(), -22);
    let err = fake.apply(&wg0(), &second).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Uapi {
                errno: -22,
                operation: "set",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        fake.get(&wg0()).unwrap().peers.is_empty(),
        "a failed apply changes nothing"
    );
    fake.apply(&wg0(), &second).unwrap();
    assert_eq!(fake.applied_updates(&wg0()), vec![first, second]);
    fake.clear_applied_updates(&wg0());
    assert!(fake.applied_updates(&wg0()).is_empty());
    assert!(fake.applied_updates(&"other".parse().unwrap()).is_empty());
}

#[test]
fn stats_and_handshakes_are_settable_and_survive_updates() {
    let fake = FakeBackend::new();
    fake.create(&wg0()).unwrap();
    fake.apply(&wg0(), &add(PeerUpdate::new(key(1)))).unwrap();
    let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    assert!(fake.set_handshake(&wg0(), &key(1), Some(at)));
    assert!(!fake.set_handshake(&wg0(), &key(2), Some(at)));
    assert!(!fake.set_handshake(&"nope".parse().unwrap(), &key(1), None));
    let info = fake.get(&wg0()).unwrap().peers[0].clone();
    assert!(info.handshake_within(Duration::from_secs(10), at + Duration::from_secs(5)));

    let stats = PeerStats {
        last_handshake_time: Some(SystemTime::now()),
        rx_bytes: 10,
        tx_bytes: 20,
    };
    assert!(fake.set_stats(&wg0(), &key(1), stats.clone()));
    fake.apply(
        &wg0(),
        &add(PeerUpdate::new(key(1)).set_endpoint(addr("192.0.2.1:1"))),
    )
    .unwrap();
    assert_eq!(
        fake.get(&wg0()).unwrap().peers[0].stats,
        stats,
        "an update keeps stats"
    );
    fake.apply(&wg0(), &add(PeerUpdate::new(key(1))).replace_peers())
        .unwrap();
    assert_eq!(
        fake.get(&wg0()).unwrap().peers[0].stats,
        PeerStats::default(),
        "replace_peers recreates"
    );
}
