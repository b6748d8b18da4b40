//! The embedded backend (gotatun in this process) against Debian's wireguard-go in another
//! namespace: a real handshake and ping, `wg` reading the embedded interface through its
//! UAPI socket, a change to a connected peer that keeps its session, and deletion.

use std::time::{Duration, Instant};

use wireguard_control::backend::embedded::EmbeddedBackend;
use wireguard_control::{Backend, Created, DeviceUpdate, InterfaceName, PeerUpdate, PrivateKey};

use crate::support::{privileged, unique_name, NetNs};

/// Runs a command that must succeed (outside any namespace).
fn run(args: &[&str]) {
    let status = std::process::Command::new(args[0])
        .args(&args[1..])
        .status()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(status.success(), "{args:?} failed");
}

/// Takes wireguard-go's interface down first (so it exits and removes its socket), then the
/// namespaces go.
struct Peers {
    b: NetNs,
    a: NetNs,
    go_iface: String,
}

impl Drop for Peers {
    fn drop(&mut self) {
        let _ = self.b.try_exec(&["ip", "link", "del", &self.go_iface]);
        let _ = &self.a;
    }
}

fn wait(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while !check() {
        assert!(
            Instant::now() < end,
            "{what} did not happen within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_embedded_interface_carries_traffic_and_keeps_sessions_across_changes() {
    if !privileged("embedded_backend", true) {
        return;
    }
    let peers = Peers {
        a: NetNs::new("wmea"),
        b: NetNs::new("wmeb"),
        go_iface: unique_name("wmg"),
    };
    let (a, b) = (&peers.a, &peers.b);
    let veth_a = unique_name("va");
    let veth_b = unique_name("vb");
    run(&[
        "ip", "link", "add", &veth_a, "netns", &a.name, "type", "veth", "peer", "name", &veth_b,
        "netns", &b.name,
    ]);
    a.exec(&["ip", "addr", "add", "192.0.2.1/24", "dev", &veth_a]);
    a.exec(&["ip", "link", "set", &veth_a, "up"]);
    b.exec(&["ip", "addr", "add", "192.0.2.2/24", "dev", &veth_b]);
    b.exec(&["ip", "link", "set", &veth_b, "up"]);

    // wireguard-go in b, configured with `wg`.
    let key_a = PrivateKey::generate();
    let key_b = PrivateKey::generate();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("b.key");
    std::fs::write(&key_file, key_b.to_base64()).unwrap();
    let go = peers.go_iface.as_str();
    b.exec(&["env", "WG_SUDO=1", "wireguard-go", go]);
    b.exec(&[
        "wg",
        "set",
        go,
        "private-key",
        key_file.to_str().unwrap(),
        "listen-port",
        "51001",
        "peer",
        &key_a.public_key().to_base64(),
        "endpoint",
        "192.0.2.1:51000",
        "allowed-ips",
        "10.9.0.1/32",
    ]);
    b.exec(&["ip", "addr", "add", "10.9.0.2/24", "dev", go]);
    b.exec(&["ip", "link", "set", go, "up"]);

    // The embedded interface in a: its runtime's threads are made in a, so it lives there.
    let backend = a.run(|| EmbeddedBackend::new().expect("runtime"));
    let iface: InterfaceName = unique_name("wme").parse().unwrap();
    assert_eq!(backend.create(&iface).unwrap(), Created::New);
    assert_eq!(backend.create(&iface).unwrap(), Created::AlreadyExisted);
    assert_eq!(backend.list().unwrap(), vec![iface.clone()]);
    let peer_b = key_b.public_key();
    backend
        .apply(
            &iface,
            &DeviceUpdate::new()
                .set_private_key(key_a.clone())
                .set_listen_port(51000)
                .add_peer(
                    PeerUpdate::new(peer_b)
                        .set_endpoint("192.0.2.2:51001".parse().unwrap())
                        .add_allowed_ip("10.9.0.2/32".parse().unwrap()),
                ),
        )
        .unwrap();
    a.exec(&["ip", "addr", "add", "10.9.0.1/24", "dev", iface.as_str()]);
    a.exec(&["ip", "link", "set", iface.as_str(), "mtu", "1420", "up"]);
    wait(
        "a pings b through the tunnel",
        Duration::from_secs(10),
        || a.try_exec(&["ping", "-c", "1", "-W", "1", "10.9.0.2"]),
    );

    // `wg` reads it through the UAPI socket, as for any userspace interface.
    let dump = a.exec(&["wg", "show", iface.as_str(), "dump"]);
    assert!(dump.contains(&peer_b.to_base64()), "{dump}");
    assert!(dump.contains("192.0.2.2:51001"), "{dump}");
    let before = backend.get(&iface).unwrap();
    assert_eq!(before.listen_port, Some(51000));
    assert_eq!(before.public_key, Some(key_a.public_key()));
    let seen = before.peer(&peer_b).expect("peer b").clone();
    let handshake = seen.stats.last_handshake_time.expect("a handshake");
    assert!(seen.stats.rx_bytes > 0);

    // A change to the connected peer keeps its session: the same handshake (a new one would
    // be at least two seconds younger), and the counters go on.
    std::thread::sleep(Duration::from_secs(2));
    backend
        .apply(
            &iface,
            &DeviceUpdate::new().add_peer(
                PeerUpdate::new(peer_b)
                    .update_only()
                    .set_persistent_keepalive_interval(25)
                    .add_allowed_ip("10.9.1.0/24".parse().unwrap()),
            ),
        )
        .unwrap();
    assert!(a.try_exec(&["ping", "-c", "1", "-W", "2", "10.9.0.2"]));
    let after = backend.get(&iface).unwrap();
    let now = after.peer(&peer_b).expect("peer b");
    assert_eq!(now.config.persistent_keepalive_interval, Some(25));
    assert_eq!(now.config.allowed_ips.len(), 2, "{:?}", now.config);
    let again = now.stats.last_handshake_time.expect("still a handshake");
    let drift = again
        .duration_since(handshake)
        .unwrap_or_else(|e| e.duration());
    assert!(drift < Duration::from_secs(1), "the session was restarted");
    assert!(
        now.stats.rx_bytes > seen.stats.rx_bytes,
        "the counters were reset"
    );

    // Removing the peer, then the interface: nothing is left behind.
    backend
        .apply(&iface, &DeviceUpdate::new().remove_peer(peer_b))
        .unwrap();
    assert!(backend.get(&iface).unwrap().peers.is_empty());
    backend.delete(&iface).unwrap();
    assert!(!a.try_exec(&["ip", "link", "show", iface.as_str()]));
    assert!(!std::path::Path::new(&format!("/var/run/wireguard/{iface}.sock")).exists());
    assert!(backend.list().unwrap().is_empty());
    assert!(matches!(
        backend.get(&iface),
        Err(wireguard_control::Error::NotFound { .. })
    ));
}
