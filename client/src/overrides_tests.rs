//! Tests of [`super`] on the in-memory fake backend: changes reach a live interface first and
//! the config second, and a refused change leaves the config alone.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use wireguard_control::backend::fake::FakeBackend;
use wireguard_control::{Backend, DeviceUpdate, PeerUpdate, PrivateKey, PublicKey};
use wiremesh_shared::config::{ClientConfig, InterfaceInfo, PeerCache, ServerInfo};
use wiremesh_shared::wire::{Peer, PeerContents};
use wiremesh_shared::{CidrId, Endpoint, PeerId};

use super::*;
use crate::context::Paths;

struct Setup {
    _dir: tempfile::TempDir,
    ctx: Context,
    fake: FakeBackend,
    iface: InterfaceName,
    build_box: PublicKey,
}

/// A network `evilcorp` with a peer `build-box` in its cache; up when `up`.
fn setup(up: bool) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeBackend::new();
    let mut ctx = Context::new(
        Paths::new(dir.path().join("etc"), dir.path().join("var")),
        Arc::new(fake.clone()),
    );
    ctx.resolve = Arc::new(|endpoint: &Endpoint| endpoint.to_socket_addr());
    ctx.policy.firewall = Arc::new(crate::policy::RecordingFirewall::default());
    let iface: InterfaceName = "evilcorp".parse().unwrap();
    let own = PrivateKey::generate();
    let build_box = PrivateKey::generate().public_key();
    let config = ClientConfig {
        interface: InterfaceInfo {
            network_name: "evilcorp".to_owned(),
            address: "10.66.2.3/16".parse().unwrap(),
            private_key: own.clone(),
            listen_port: Some(51820),
            backend: None,
        },
        server: ServerInfo {
            public_key: PrivateKey::generate().public_key(),
            external_endpoint: "203.0.113.1:51820".parse().unwrap(),
            internal_endpoint: "10.66.0.1:51820".parse().unwrap(),
        },
        peer_endpoint_overrides: Default::default(),
        routes: Default::default(),
    };
    files::create_config(&ctx.paths, &iface, &config).unwrap();
    let peer = Peer {
        id: PeerId(4),
        contents: PeerContents {
            name: "build-box".parse().unwrap(),
            ip: "10.66.2.4".parse().unwrap(),
            cidr_id: CidrId(3),
            public_key: build_box,
            endpoint: None,
            persistent_keepalive_interval: Some(25),
            is_admin: false,
            is_disabled: false,
            is_redeemed: true,
            invite_expires: None,
            candidates: Vec::new(),
        },
    };
    let cache = PeerCache {
        peers: vec![peer],
        cidrs: Vec::new(),
    };
    files::save_cache(&ctx.paths, &iface, &cache).unwrap();
    if up {
        fake.create(&iface).unwrap();
        let update = DeviceUpdate::new()
            .set_private_key(own)
            .set_listen_port(51820)
            .add_peer(
                PeerUpdate::new(build_box).replace_allowed_ips(["10.66.2.4/32".parse().unwrap()]),
            );
        fake.apply(&iface, &update).unwrap();
    }
    Setup {
        _dir: dir,
        ctx,
        fake,
        iface,
        build_box,
    }
}

impl Setup {
    fn config(&self) -> ClientConfig {
        files::load_config(&self.ctx.paths, &self.iface).unwrap()
    }

    fn mode(&self) -> u32 {
        let path = self.ctx.paths.config_file(&self.iface);
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }
}

#[test]
fn set_listen_port_on_a_live_interface() {
    let s = setup(true);
    let outcome = set_listen_port(&s.ctx, &s.iface, Some(51999)).unwrap();
    assert_eq!(
        outcome,
        ListenPortOutcome::Changed {
            from: Some(51820),
            to: Some(51999),
            live: true
        }
    );
    assert_eq!(s.fake.get(&s.iface).unwrap().listen_port, Some(51999));
    assert_eq!(s.config().interface.listen_port, Some(51999));
    assert_eq!(s.mode(), 0o600);

    let outcome = set_listen_port(&s.ctx, &s.iface, Some(51999)).unwrap();
    assert_eq!(outcome, ListenPortOutcome::Unchanged { port: Some(51999) });

    // Unset: a random port now, none in the config.
    set_listen_port(&s.ctx, &s.iface, None).unwrap();
    let port = s.fake.get(&s.iface).unwrap().listen_port;
    assert!(port.is_some_and(|p| p != 51999), "{port:?}");
    assert_eq!(s.config().interface.listen_port, None);
}

#[test]
fn set_listen_port_refused_by_the_interface_keeps_the_config() {
    let s = setup(true);
    s.fake.fail_next_apply(&s.iface, libc::EADDRINUSE);
    let error = set_listen_port(&s.ctx, &s.iface, Some(51999)).unwrap_err();
    assert!(error.to_string().contains("listen port"), "{error}");
    assert_eq!(s.config().interface.listen_port, Some(51820));
}

#[test]
fn set_listen_port_while_down_edits_only_the_config() {
    let s = setup(false);
    let outcome = set_listen_port(&s.ctx, &s.iface, None).unwrap();
    assert_eq!(
        outcome,
        ListenPortOutcome::Changed {
            from: Some(51820),
            to: None,
            live: false
        }
    );
    assert!(
        !s.fake.exists(&s.iface).unwrap(),
        "the interface was not created"
    );
}

#[test]
fn override_peer_endpoint_on_a_live_interface() {
    let s = setup(true);
    let endpoint: Endpoint = "192.0.2.10:51820".parse().unwrap();
    let outcome =
        override_peer_endpoint(&s.ctx, &s.iface, "build-box", Some(endpoint.clone())).unwrap();
    let peer = "build-box".parse().unwrap();
    assert_eq!(
        outcome,
        PeerEndpointOutcome::Set {
            peer,
            endpoint: endpoint.clone(),
            live: true
        }
    );
    let device = s.fake.get(&s.iface).unwrap();
    let live = device.peer(&s.build_box).unwrap().config.endpoint;
    assert_eq!(live, endpoint.to_socket_addr());
    let ip = "10.66.2.4".parse().unwrap();
    assert_eq!(s.config().peer_endpoint_overrides.get(&ip), Some(&endpoint));
    assert_eq!(s.mode(), 0o600);

    // Unset only edits the config; the device keeps the endpoint until the next fetch.
    let outcome = override_peer_endpoint(&s.ctx, &s.iface, "build-box", None).unwrap();
    assert!(
        matches!(outcome, PeerEndpointOutcome::Unset { .. }),
        "{outcome:?}"
    );
    assert!(s.config().peer_endpoint_overrides.is_empty());
    let device = s.fake.get(&s.iface).unwrap();
    assert_eq!(
        device.peer(&s.build_box).unwrap().config.endpoint,
        endpoint.to_socket_addr()
    );
    let outcome = override_peer_endpoint(&s.ctx, &s.iface, "build-box", None).unwrap();
    assert_eq!(outcome, PeerEndpointOutcome::Unchanged);
}

#[test]
fn override_peer_endpoint_that_does_not_resolve_changes_nothing() {
    let s = setup(true);
    let endpoint: Endpoint = "box.example.invalid:51820".parse().unwrap();
    let error = override_peer_endpoint(&s.ctx, &s.iface, "build-box", Some(endpoint)).unwrap_err();
    assert!(matches!(error, OverrideError::Resolve { .. }), "{error:?}");
    assert!(s.config().peer_endpoint_overrides.is_empty());
}
