//! The kernel backend against the running kernel.
//!
//! Without the `wireguard` module only the "does not exist" paths can run; the full round trip
//! is opt-in: it runs as root in a fresh namespace and says "skipped: no wireguard kernel
//! module" (and returns) where creating a WireGuard link is not supported.

use std::net::SocketAddr;

use ipnet::IpNet;
use wireguard_control::backend::kernel::KernelBackend;
use wireguard_control::{
    Backend, BackendKind, Created, DeviceUpdate, Error, InterfaceName, PeerConfig, PeerUpdate,
    PrivateKey, PublicKey,
};

use crate::support;

fn name(text: &str) -> InterfaceName {
    text.parse().expect("valid interface name")
}

/// Needs no privilege: asking about a missing interface is allowed to everyone, and with or
/// without the module the answer is "not found".
#[test]
fn missing_interface_is_not_found() {
    let backend = KernelBackend;
    let iface = name("wmnx-absent3");
    assert_eq!(backend.kind(), BackendKind::Kernel);
    assert!(!backend.exists(&iface).expect("link lookup"));
    assert!(!backend.list().expect("link dump").contains(&iface));
    assert!(
        matches!(backend.get(&iface), Err(Error::NotFound { .. })),
        "get"
    );
    let update = DeviceUpdate::new().set_listen_port(51820);
    assert!(
        matches!(backend.apply(&iface, &update), Err(Error::NotFound { .. })),
        "apply"
    );
    assert!(
        matches!(backend.delete(&iface), Err(Error::NotFound { .. })),
        "delete"
    );
}

/// A non-WireGuard link is not this backend's: `exists` is false and `delete` leaves it alone.
#[test]
fn other_links_are_not_wireguard() {
    let backend = KernelBackend;
    let lo = name("lo");
    assert!(!backend.exists(&lo).expect("link lookup"));
    assert!(matches!(backend.delete(&lo), Err(Error::NotFound { .. })));
}

fn peer(idx: u8) -> PeerConfig {
    let mut config = PeerConfig::new(PrivateKey::from_bytes([idx; 32]).public_key());
    config.endpoint = Some(SocketAddr::from(([192, 0, 2, idx], 51820)));
    config.persistent_keepalive_interval = Some(25);
    config.allowed_ips = vec![IpNet::from(std::net::IpAddr::from([10, 7, 0, idx]))];
    config
}

#[test]
fn kernel_round_trip_where_module_exists() {
    const TEST: &str = "kernel_round_trip_where_module_exists";
    if !support::privileged(TEST, false) {
        return;
    }
    let ns = support::NetNs::new("wmk");
    ns.run(|| {
        let backend = KernelBackend;
        let iface = name("wgk0");
        match backend.create(&iface) {
            Err(Error::KernelModuleMissing { .. }) => {
                eprintln!("{TEST}: skipped: no wireguard kernel module");
                return;
            }
            other => assert_eq!(other.expect("create"), Created::New),
        }
        assert_eq!(
            backend.create(&iface).expect("create again"),
            Created::AlreadyExisted
        );
        assert!(backend.exists(&iface).expect("exists"));
        assert_eq!(backend.list().expect("list"), vec![iface.clone()]);

        // Enough peers to need several SET messages and several GET parts.
        let private_key = PrivateKey::generate();
        let peers: Vec<PeerConfig> = (1..=250).map(peer).collect();
        let update = DeviceUpdate::new()
            .set_private_key(private_key.clone())
            .set_listen_port(51999)
            .replace_peers()
            .add_peers(peers.iter().map(PeerUpdate::replace_with));
        backend.apply(&iface, &update).expect("apply");

        let device = backend.get(&iface).expect("get");
        assert_eq!(device.private_key, Some(private_key.clone()));
        assert_eq!(device.public_key, Some(private_key.public_key()));
        assert_eq!(device.listen_port, Some(51999));
        assert_eq!(device.peers.len(), peers.len());
        for expected in &peers {
            let got = device.peer(&expected.public_key).expect("peer present");
            assert_eq!(&got.config, expected);
            assert_eq!(got.stats.last_handshake_time, None);
        }

        let removed: PublicKey = peers[0].public_key;
        backend
            .apply(&iface, &DeviceUpdate::new().remove_peer(removed))
            .expect("remove peer");
        assert!(backend.get(&iface).expect("get").peer(&removed).is_none());

        backend.delete(&iface).expect("delete");
        assert!(!backend.exists(&iface).expect("exists"));
        assert!(matches!(backend.get(&iface), Err(Error::NotFound { .. })));
    });
}
