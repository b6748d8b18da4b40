//! The userspace backend against Debian's wireguard-go, checked with the independent `wg`
//! tool, each test in its own network namespace.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ipnet::IpNet;
use wireguard_control::backend::userspace::UserspaceBackend;
use wireguard_control::{
    Backend, Created, DeviceUpdate, Error, InterfaceName, PeerConfig, PeerUpdate, PresharedKey,
    PrivateKey, PublicKey,
};

use crate::support::{privileged, unique_name, NetNs};

/// Deletes the userspace interface when dropped, so its socket never outlives the test.
/// Declared after the [`NetNs`] so that it runs first.
struct DeleteOnDrop {
    backend: UserspaceBackend,
    iface: InterfaceName,
}

impl Drop for DeleteOnDrop {
    fn drop(&mut self) {
        let _ = self.backend.delete(&self.iface);
    }
}

fn setup(test: &str) -> Option<(NetNs, DeleteOnDrop)> {
    if !privileged(test, true) {
        return None;
    }
    let ns = NetNs::new("wmus");
    let iface: InterfaceName = unique_name("wmu").parse().unwrap();
    Some((
        ns,
        DeleteOnDrop {
            backend: UserspaceBackend::new(),
            iface,
        },
    ))
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// One peer line of `wg show <iface> dump`, allowed IPs as a set (their order is the
/// implementation's).
#[derive(Debug, PartialEq, Eq)]
struct DumpPeer {
    preshared_key: String,
    endpoint: String,
    allowed_ips: BTreeSet<String>,
    keepalive: String,
}

/// Parses `wg show <iface> dump`: the interface line's fields and peers by public key.
fn parse_dump(text: &str) -> (Vec<String>, BTreeMap<String, DumpPeer>) {
    let mut lines = text.lines();
    let interface: Vec<String> = lines
        .next()
        .unwrap()
        .split('\t')
        .map(str::to_owned)
        .collect();
    assert_eq!(interface.len(), 4, "{text}");
    let mut peers = BTreeMap::new();
    for line in lines {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 8, "{line}");
        let allowed_ips = match fields[3] {
            "(none)" => BTreeSet::new(),
            list => list.split(',').map(str::to_owned).collect(),
        };
        let peer = DumpPeer {
            preshared_key: fields[1].to_owned(),
            endpoint: fields[2].to_owned(),
            allowed_ips,
            keepalive: fields[7].to_owned(),
        };
        peers.insert(fields[0].to_owned(), peer);
    }
    (interface, peers)
}

/// What `wg show dump` should print for a peer configured as `config`.
fn expected_dump(config: &PeerConfig) -> DumpPeer {
    DumpPeer {
        preshared_key: config
            .preshared_key
            .as_ref()
            .map_or("(none)".to_owned(), |k| k.to_base64()),
        endpoint: config
            .endpoint
            .map_or("(none)".to_owned(), |e| e.to_string()),
        allowed_ips: config.allowed_ips.iter().map(|n| n.to_string()).collect(),
        keepalive: config
            .persistent_keepalive_interval
            .map_or("off".to_owned(), |k| k.to_string()),
    }
}

/// A peer with a fresh key.
fn peer_config(
    endpoint: Option<&str>,
    keepalive: Option<u16>,
    nets: &[&str],
    psk: bool,
) -> PeerConfig {
    let mut config = PeerConfig::new(PrivateKey::generate().public_key());
    config.endpoint = endpoint.map(addr);
    config.persistent_keepalive_interval = keepalive;
    config.allowed_ips = nets.iter().map(|n| net(n)).collect();
    config.preshared_key = psk.then(PresharedKey::generate);
    config
}

/// Three peers with distinct keys, an IPv6 endpoint, v4 and v6 allowed IPs, keepalives
/// off/25/65535 and one preshared key.
fn three_peers() -> Vec<PeerConfig> {
    let v6_nets = ["10.0.0.2/32", "fd00::2/128", "fd01::/64"];
    vec![
        peer_config(
            Some("192.0.2.1:51820"),
            None,
            &["10.0.0.1/32", "10.1.0.0/16"],
            false,
        ),
        peer_config(Some("[2001:db8::2]:4000"), Some(25), &v6_nets, true),
        peer_config(None, Some(65535), &["10.0.0.3/32"], false),
    ]
}

fn sorted(mut nets: Vec<IpNet>) -> Vec<IpNet> {
    nets.sort();
    nets
}

#[test]
fn userspace_configures_what_wg_shows() {
    let Some((ns, iface)) = setup("userspace_configures_what_wg_shows") else {
        return;
    };
    let (backend, name) = (&iface.backend, &iface.iface);
    assert_eq!(ns.run(|| backend.create(name)).unwrap(), Created::New);
    assert_eq!(
        ns.run(|| backend.create(name)).unwrap(),
        Created::AlreadyExisted
    );

    let private = PrivateKey::generate();
    let peers = three_peers();
    let update = DeviceUpdate::new()
        .set_private_key(private.clone())
        .set_listen_port(51820)
        .add_peers(peers.iter().map(PeerUpdate::replace_with));
    backend.apply(name, &update).unwrap();

    let (interface, shown) = parse_dump(&ns.exec(&["wg", "show", name.as_str(), "dump"]));
    assert_eq!(
        interface,
        [
            private.to_base64(),
            private.public_key().to_base64(),
            "51820".into(),
            "off".into()
        ]
    );
    let expected: BTreeMap<String, DumpPeer> = peers
        .iter()
        .map(|p| (p.public_key.to_base64(), expected_dump(p)))
        .collect();
    assert_eq!(shown, expected);

    // Our own reading agrees.
    let device = backend.get(name).unwrap();
    assert_eq!(device.public_key, Some(private.public_key()));
    assert_eq!(device.listen_port, Some(51820));
    assert_eq!(device.peers.len(), 3);
    for config in &peers {
        let got = &device.peer(&config.public_key).unwrap().config;
        assert_eq!(
            sorted(got.allowed_ips.clone()),
            sorted(config.allowed_ips.clone())
        );
        assert_eq!(
            (got.endpoint, got.persistent_keepalive_interval),
            (config.endpoint, config.persistent_keepalive_interval)
        );
        assert_eq!(got.preshared_key, config.preshared_key);
    }

    // Remove one peer; the others stay as they were.
    backend
        .apply(name, &DeviceUpdate::new().remove_peer(peers[1].public_key))
        .unwrap();
    let (_, shown) = parse_dump(&ns.exec(&["wg", "show", name.as_str(), "dump"]));
    let expected: BTreeMap<String, DumpPeer> = [&peers[0], &peers[2]]
        .iter()
        .map(|p| (p.public_key.to_base64(), expected_dump(p)))
        .collect();
    assert_eq!(shown, expected);
}

/// Writes `content` to a new file with mode 0600 and returns it (deleted on drop).
fn secret_file(content: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "{content}").unwrap();
    file
}

#[test]
fn userspace_reads_what_wg_set() {
    let Some((ns, iface)) = setup("userspace_reads_what_wg_set") else {
        return;
    };
    let (backend, name) = (&iface.backend, &iface.iface);
    // Started and configured by the standard tools only.
    ns.exec(&["wireguard-go", name.as_str()]);
    let private = PrivateKey::generate();
    let psk = PresharedKey::generate();
    let (key_file, psk_file) = (
        secret_file(&private.to_base64()),
        secret_file(&psk.to_base64()),
    );
    let peers: Vec<PublicKey> = (0..3)
        .map(|_| PrivateKey::generate().public_key())
        .collect();
    let (p0, p1, p2) = (
        peers[0].to_base64(),
        peers[1].to_base64(),
        peers[2].to_base64(),
    );
    let key_path = key_file.path().to_str().unwrap();
    let psk_path = psk_file.path().to_str().unwrap();
    #[rustfmt::skip]
    ns.exec(&[
        "wg", "set", name.as_str(), "private-key", key_path, "listen-port", "40404",
        "peer", &p0, "endpoint", "198.51.100.1:1000", "allowed-ips", "10.8.0.1/32,fd08::1/128",
        "persistent-keepalive", "21",
        "peer", &p1, "endpoint", "[2001:db8::77]:2000", "allowed-ips", "10.9.0.0/16",
        "preshared-key", psk_path,
        "peer", &p2, "allowed-ips", "10.10.0.0/24,10.11.0.0/24,fd10::/48",
    ]);

    let device = backend.get(name).unwrap();
    assert_eq!(device.private_key, Some(private.clone()));
    assert_eq!(device.public_key, Some(private.public_key()));
    assert_eq!(device.listen_port, Some(40404));
    assert_eq!(device.fwmark, None);
    assert_eq!(device.peers.len(), 3);

    let check = |key: &PublicKey,
                 endpoint: Option<&str>,
                 keepalive: Option<u16>,
                 nets: &[&str],
                 psk: Option<&PresharedKey>| {
        let info = device
            .peer(key)
            .unwrap_or_else(|| panic!("peer {key} missing"));
        assert_eq!(info.config.endpoint, endpoint.map(addr), "{key}");
        assert_eq!(
            info.config.persistent_keepalive_interval, keepalive,
            "{key}"
        );
        assert_eq!(
            sorted(info.config.allowed_ips.clone()),
            sorted(nets.iter().map(|n| net(n)).collect()),
            "{key}"
        );
        assert_eq!(info.config.preshared_key.as_ref(), psk, "{key}");
        assert_eq!(info.stats.last_handshake_time, None, "{key}");
    };
    check(
        &peers[0],
        Some("198.51.100.1:1000"),
        Some(21),
        &["10.8.0.1/32", "fd08::1/128"],
        None,
    );
    check(
        &peers[1],
        Some("[2001:db8::77]:2000"),
        None,
        &["10.9.0.0/16"],
        Some(&psk),
    );
    check(
        &peers[2],
        None,
        None,
        &["10.10.0.0/24", "10.11.0.0/24", "fd10::/48"],
        None,
    );
}

#[test]
fn userspace_lists_and_deletes() {
    let Some((ns, iface)) = setup("userspace_lists_and_deletes") else {
        return;
    };
    let (backend, name) = (&iface.backend, &iface.iface);
    assert!(!backend.list().unwrap().contains(name));
    assert_eq!(ns.run(|| backend.create(name)).unwrap(), Created::New);
    assert!(
        backend.list().unwrap().contains(name),
        "{:?}",
        backend.list()
    );
    assert!(backend.exists(name).unwrap());

    backend.delete(name).unwrap();
    assert!(!backend.list().unwrap().contains(name));
    assert!(!backend.exists(name).unwrap());
    assert!(matches!(backend.get(name), Err(Error::NotFound { .. })));
    assert!(matches!(
        backend.apply(name, &DeviceUpdate::new()),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(backend.delete(name), Err(Error::NotFound { .. })));
    // delete waited for the implementation to exit, so its TUN device is gone too.
    let deadline = Instant::now() + Duration::from_secs(2);
    while ns.try_exec(&["ip", "link", "show", name.as_str()]) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !ns.try_exec(&["ip", "link", "show", name.as_str()]),
        "the TUN device outlived delete"
    );
    // The name can be used again at once.
    assert_eq!(ns.run(|| backend.create(name)).unwrap(), Created::New);
}

#[test]
fn userspace_reports_a_missing_implementation() {
    let dir = tempfile::tempdir().unwrap();
    let name: InterfaceName = unique_name("wmn").parse().unwrap();
    let backend = UserspaceBackend::new()
        .with_socket_dir(dir.path())
        .with_program("/nonexistent/wg-impl");
    let err = backend.create(&name).unwrap_err();
    assert!(
        matches!(&err, Error::ImplementationNotFound { program, .. } if program == "/nonexistent/wg-impl"),
        "{err}"
    );
    let message = err.to_string();
    assert!(message.contains("\"/nonexistent/wg-impl\""), "{message}");
    assert!(message.contains("configured by the caller"), "{message}");
}

#[test]
fn userspace_reports_failed_launches() {
    let dir = tempfile::tempdir().unwrap();
    let name: InterfaceName = unique_name("wmf").parse().unwrap();
    let backend = |program: &str| {
        UserspaceBackend::new()
            .with_socket_dir(dir.path())
            .with_program(program)
            .with_start_timeout(Duration::from_millis(200))
    };
    // `sh <iface>` fails to open a script named like the interface and says so on stderr.
    let err = backend("sh").create(&name).unwrap_err();
    assert!(matches!(err, Error::Launch { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("exited with code") && message.contains(name.as_str()),
        "{message}"
    );
    // Exiting 0 without ever opening a socket is a failure too, reported after the timeout.
    let err = backend("true").create(&name).unwrap_err();
    assert!(err.to_string().contains("did not answer within"), "{err}");
}
