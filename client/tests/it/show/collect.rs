//! `show::collect` on the in-memory fake backend: which networks are shown, and how the
//! device, config and peer cache are combined into a view.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use wireguard_control::backend::fake::FakeBackend;
use wireguard_control::{
    Backend, DeviceUpdate, InterfaceName, PeerStats, PeerUpdate, PrivateKey, PublicKey,
};
use wiremesh::show::{collect, list_cidrs, ShowError};
use wiremesh::{files, Context, Paths};
use wiremesh_shared::config::{ClientConfig, InterfaceInfo, PeerCache, ServerInfo};
use wiremesh_shared::wire::{Cidr, CidrContents, Peer, PeerContents};
use wiremesh_shared::{CidrId, PeerId};

struct Setup {
    _dir: tempfile::TempDir,
    ctx: Context,
    fake: FakeBackend,
    iface: InterfaceName,
    own: PrivateKey,
    server: PublicKey,
    build_box: PublicKey,
    stranger: PublicKey,
}

fn peer(id: i64, name: &str, ip: &str, cidr: i64, key: PublicKey) -> Peer {
    Peer {
        id: PeerId(id),
        contents: PeerContents {
            name: name.parse().unwrap(),
            ip: ip.parse().unwrap(),
            cidr_id: CidrId(cidr),
            public_key: key,
            endpoint: None,
            persistent_keepalive_interval: Some(25),
            is_admin: false,
            is_disabled: false,
            is_redeemed: true,
            invite_expires: None,
            candidates: Vec::new(),
        },
    }
}

fn cidr(id: i64, name: &str, net: &str, parent: Option<i64>) -> Cidr {
    let contents = CidrContents {
        name: name.to_owned(),
        cidr: net.parse().unwrap(),
        parent: parent.map(CidrId),
    };
    Cidr {
        id: CidrId(id),
        contents,
    }
}

fn config(own: &PrivateKey, server: PublicKey) -> ClientConfig {
    ClientConfig {
        interface: InterfaceInfo {
            network_name: "evilcorp".to_owned(),
            address: "10.66.2.3/16".parse().unwrap(),
            private_key: own.clone(),
            listen_port: None,
            backend: None,
        },
        server: ServerInfo {
            public_key: server,
            external_endpoint: "203.0.113.1:51820".parse().unwrap(),
            internal_endpoint: "10.66.0.1:51820".parse().unwrap(),
        },
        peer_endpoint_overrides: Default::default(),
        routes: Default::default(),
    }
}

/// `evilcorp` installed and up with the server, `build-box` (endpoint overridden locally)
/// and a peer the cache does not know; `dormant` installed but down.
fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeBackend::new();
    let mut ctx = Context::new(
        Paths::new(dir.path().join("etc"), dir.path().join("var")),
        Arc::new(fake.clone()),
    );
    ctx.policy.firewall = Arc::new(wiremesh::policy::RecordingFirewall::default());
    let iface: InterfaceName = "evilcorp".parse().unwrap();
    let own = PrivateKey::generate();
    let [server, build_box, stranger] = [(); 3].map(|()| PrivateKey::generate().public_key());

    let mut cfg = config(&own, server);
    cfg.peer_endpoint_overrides.insert(
        "10.66.2.4".parse().unwrap(),
        "192.0.2.10:51820".parse().unwrap(),
    );
    files::create_config(&ctx.paths, &iface, &cfg).unwrap();
    let dormant: InterfaceName = "dormant".parse().unwrap();
    files::create_config(
        &ctx.paths,
        &dormant,
        &config(&PrivateKey::generate(), server),
    )
    .unwrap();
    let cache = PeerCache {
        peers: vec![
            peer(1, "innernet-server", "10.66.0.1", 2, server),
            peer(3, "me", "10.66.2.3", 3, own.public_key()),
            peer(4, "build-box", "10.66.2.4", 3, build_box),
        ],
        cidrs: vec![
            cidr(1, "evilcorp", "10.66.0.0/16", None),
            cidr(2, "innernet-server", "10.66.0.1/32", Some(1)),
            cidr(3, "robots", "10.66.2.0/24", Some(1)),
        ],
    };
    files::save_cache(&ctx.paths, &iface, &cache).unwrap();

    fake.create(&iface).unwrap();
    let with_ip = |key: PublicKey, ip: &str, endpoint: &str| {
        PeerUpdate::new(key)
            .replace_allowed_ips([ip.parse().unwrap()])
            .set_endpoint(endpoint.parse().unwrap())
    };
    let update = DeviceUpdate::new()
        .set_private_key(own.clone())
        .set_listen_port(51821)
        .add_peer(with_ip(server, "10.66.0.1/32", "203.0.113.1:51820"))
        .add_peer(with_ip(build_box, "10.66.2.4/32", "192.0.2.10:51820"))
        .add_peer(with_ip(stranger, "10.66.9.9/32", "198.51.100.9:4000"));
    fake.apply(&iface, &update).unwrap();
    let at = SystemTime::now() - Duration::from_secs(30);
    let stats = PeerStats {
        last_handshake_time: Some(at),
        rx_bytes: 100,
        tx_bytes: 200,
    };
    assert!(fake.set_stats(&iface, &server, stats));
    Setup {
        _dir: dir,
        ctx,
        fake,
        iface,
        own,
        server,
        build_box,
        stranger,
    }
}

#[test]
fn collect_combines_device_config_and_cache() {
    let s = setup();
    let views = collect(&s.ctx, None).unwrap();
    assert_eq!(views.len(), 1, "the network that is down is left out");
    let view = &views[0];
    assert_eq!(view.name, s.iface);
    assert_eq!(view.network, "evilcorp");
    assert_eq!(view.listen_port, Some(51821));
    assert_eq!(view.public_key, s.own.public_key());
    assert_eq!(view.cidrs.len(), 3);

    let names: Vec<Option<&str>> = view
        .peers
        .iter()
        .map(|p| p.name.as_ref().map(|n| n.as_str()))
        .collect();
    assert_eq!(
        names,
        [Some("me"), Some("build-box"), Some("innernet-server"), None]
    );

    let me = &view.peers[0];
    assert!(me.is_self);
    assert_eq!(me.cidr.as_deref(), Some("robots"));
    assert_eq!(me.last_handshake, None);

    let build_box = &view.peers[1];
    assert_eq!(build_box.public_key, s.build_box);
    assert!(build_box.endpoint_overridden);
    assert_eq!(
        build_box.endpoint.as_ref().unwrap().to_string(),
        "192.0.2.10:51820"
    );
    assert_eq!(build_box.last_handshake, None);

    let server = &view.peers[2];
    assert_eq!(server.public_key, s.server);
    assert!(!server.endpoint_overridden);
    assert!(server.last_handshake.is_some());
    assert_eq!((server.rx_bytes, server.tx_bytes), (100, 200));
    assert_eq!(server.cidr.as_deref(), Some("innernet-server"));

    let stranger = &view.peers[3];
    assert_eq!(stranger.public_key, s.stranger);
    assert_eq!(
        stranger.ip,
        Some("10.66.9.9".parse().unwrap()),
        "from its allowed IPs"
    );
    assert_eq!(stranger.cidr, None);

    assert_eq!(collect(&s.ctx, Some(&s.iface)).unwrap(), views);
}

#[test]
fn collect_of_one_network_explains_what_is_missing() {
    let s = setup();
    let dormant: InterfaceName = "dormant".parse().unwrap();
    let error = collect(&s.ctx, Some(&dormant)).unwrap_err();
    assert!(error.to_string().contains("wiremesh up dormant"), "{error}");
    let missing: InterfaceName = "nowhere".parse().unwrap();
    let error = collect(&s.ctx, Some(&missing)).unwrap_err();
    assert!(error.to_string().contains("wiremesh install"), "{error}");
    // Up but not installed: not ours to show.
    s.fake.create(&missing).unwrap();
    assert_eq!(collect(&s.ctx, None).unwrap().len(), 1);
}

#[test]
fn collect_survives_a_corrupt_cache() {
    let s = setup();
    std::fs::write(s.ctx.paths.cache_file(&s.iface), "{not json").unwrap();
    let views = collect(&s.ctx, None).unwrap();
    assert_eq!(views[0].peers.len(), 4);
    assert!(
        views[0].peers.iter().all(|p| p.name.is_none()),
        "no names without a cache"
    );
    assert!(views[0].peers[0].is_self);
}

#[test]
fn list_cidrs_needs_a_cache() {
    let s = setup();
    assert_eq!(list_cidrs(&s.ctx, &s.iface).unwrap().len(), 3);
    let dormant: InterfaceName = "dormant".parse().unwrap();
    let error = list_cidrs(&s.ctx, &dormant).unwrap_err();
    assert!(matches!(error, ShowError::NoCache { .. }), "{error:?}");
    assert!(error.to_string().contains("wiremesh up dormant"), "{error}");
}
