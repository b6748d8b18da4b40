//! A server network with an admin host for the admin command tests: the in-process server of
//! [`super::testnet`] and a [`Host`] whose `--api-address` is the admin peer's listener.

use std::net::SocketAddr;

use ipnet::IpNet;
use wireguard_control::PrivateKey;
use wiremesh_shared::config::{ClientConfig, InterfaceInfo, ServerInfo};
use wiremesh_shared::wire::{Cidr, Peer, PeerContents};

use crate::support::cli::Host;
pub use crate::support::testnet::{Family, TestNet, NETWORK, SERVER_PORT};

/// A host with a config for `NETWORK` as the peer `peer` (private key `key`), reaching the
/// API through that peer's listener.
pub fn host_for(net: &TestNet, peer: &Peer, key: &PrivateKey) -> Host {
    let mut host = Host::new(NETWORK);
    host.write_config(&ClientConfig {
        interface: InterfaceInfo {
            network_name: NETWORK.to_owned(),
            address: IpNet::new(peer.ip, net.root.prefix_len()).unwrap(),
            private_key: key.clone(),
            listen_port: None,
            backend: None,
        },
        server: ServerInfo {
            public_key: net.server_public_key(),
            external_endpoint: net.external_endpoint.clone(),
            internal_endpoint: SocketAddr::new(net.server_ip, SERVER_PORT),
        },
        peer_endpoint_overrides: Default::default(),
        routes: Default::default(),
    });
    host.api = Some(net.listen_as(peer.ip));
    host
}

/// A network with `humans` and `robots`, an admin peer `boss` in humans (whose host is
/// returned) and a plain peer `worker` in robots with no stored endpoint.
pub fn setup(family: Family) -> (TestNet, Host) {
    let net = TestNet::new(family);
    let humans = net.humans();
    let robots = net.robots();
    let (boss, key) = net.add_peer("boss", &humans);
    let admin = PeerContents {
        is_admin: true,
        ..boss.contents.clone()
    };
    net.service.update_peer(boss.id, admin).unwrap();
    let (worker, _) = net.add_peer("worker", &robots);
    let no_endpoint = PeerContents {
        endpoint: None,
        ..worker.contents.clone()
    };
    net.service.update_peer(worker.id, no_endpoint).unwrap();
    assert!(net.peer("boss").is_admin);
    assert_eq!(net.peer("worker").endpoint, None);
    let host = host_for(&net, &net.peer("boss"), &key);
    (net, host)
}

pub fn cidr(net: &TestNet, name: &str) -> Option<Cidr> {
    net.cidr_named(name)
}

/// The root CIDR's name (the network's name).
pub fn root_name(net: &TestNet) -> String {
    net.service
        .cidrs()
        .into_iter()
        .find(|c| c.parent.is_none())
        .unwrap()
        .contents
        .name
}
