//! Table-driven tests of [`plan`]: a small network described by name, every input in the
//! case, and the plan rendered as text so a case reads as what the cycle would do.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wireguard_control::{
    BackendKind, Device, InterfaceName, PeerConfig, PeerInfo, PeerStats, PrivateKey, PublicKey,
};
use wiremesh_shared::config::{ClientConfig, InterfaceInfo, PeerCache, ServerInfo};
use wiremesh_shared::routes::{RouteGrant, RouteKind};
use wiremesh_shared::wire::{Cidr, CidrContents, Peer, PeerContents, State};
use wiremesh_shared::RouteId;
use wiremesh_shared::{CidrId, Endpoint, PeerId};

use super::*;

/// The time every case is judged at.
const NOW_SECS: u64 = 1_800_000_000;
const DAY: Duration = Duration::from_secs(86_400);
/// This host's address.
const SELF_ADDRESS: &str = "10.66.1.1/16";

/// A fixed key per peer name, so pins and interface entries line up across a case.
fn key(name: &str) -> PublicKey {
    let mut bytes = [7u8; 32];
    for (slot, byte) in bytes.iter_mut().zip(name.bytes()) {
        *slot = byte;
    }
    PrivateKey::from_bytes(bytes).public_key()
}

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

/// A peer of the network: `name`, last octet of 10.66.1.x, endpoint.
fn peer(name: &str, octet: u8, endpoint: Option<&str>) -> Peer {
    Peer {
        id: PeerId(u32::from(octet).into()),
        contents: PeerContents {
            name: name.parse().unwrap(),
            ip: IpAddr::from([10, 66, 1, octet]),
            cidr_id: CidrId(1),
            public_key: key(name),
            endpoint: endpoint.map(|e| e.parse().unwrap()),
            persistent_keepalive_interval: None,
            is_admin: false,
            is_disabled: false,
            is_redeemed: true,
            invite_expires: None,
            candidates: Vec::new(),
        },
    }
}

fn disabled(mut peer: Peer) -> Peer {
    peer.contents.is_disabled = true;
    peer
}

fn rekeyed(mut peer: Peer) -> Peer {
    peer.contents.public_key = key(&format!("{}-new", peer.name));
    peer
}

fn with_candidates(mut peer: Peer, candidates: &[&str]) -> Peer {
    peer.contents.candidates = candidates.iter().map(|c| c.parse().unwrap()).collect();
    peer
}

fn cidrs() -> Vec<Cidr> {
    vec![Cidr {
        id: CidrId(1),
        contents: CidrContents {
            name: "evilcorp".to_owned(),
            cidr: "10.66.0.0/16".parse().unwrap(),
            parent: None,
        },
    }]
}

fn state(peers: Vec<Peer>) -> State {
    State {
        peers,
        cidrs: cidrs(),
        policy: None,
        routes: None,
    }
}

/// The peer as the interface holds it after an earlier sync: its address as allowed IP,
/// its endpoint, and a handshake `handshake_age` ago (`None`: never).
fn on_interface(peer: &Peer, handshake_age: Option<u64>) -> PeerInfo {
    let mut config = PeerConfig::new(peer.public_key);
    config.allowed_ips = vec![IpNet::from(peer.ip)];
    config.endpoint = peer.endpoint.as_ref().and_then(resolve);
    PeerInfo {
        config,
        stats: PeerStats {
            last_handshake_time: handshake_age.map(|age| now() - Duration::from_secs(age)),
            ..PeerStats::default()
        },
    }
}

fn resolve(endpoint: &Endpoint) -> Option<SocketAddr> {
    endpoint.to_socket_addr()
}

/// One case's inputs besides the server's answer.
struct Case {
    overrides: Vec<(u8, &'static str)>,
    cache: Vec<Peer>,
    /// The cache exists but could not be read (`cache` is then empty).
    cache_unusable: bool,
    /// How long ago the server last confirmed the cache.
    cache_age: Option<Duration>,
    device: Vec<PeerInfo>,
    brought_up: bool,
    nat: NatOptions,
    last_reported: Option<Vec<Endpoint>>,
    routes: RouteSettings,
    host_nets: Vec<IpNet>,
    down: HashSet<PeerId>,
    previous: BTreeMap<IpNet, PeerId>,
}

impl Default for Case {
    fn default() -> Self {
        Self {
            overrides: Vec::new(),
            cache: Vec::new(),
            cache_unusable: false,
            cache_age: Some(Duration::from_secs(60)),
            device: Vec::new(),
            brought_up: false,
            nat: NatOptions {
                no_traversal: false,
                no_candidates: false,
                exclude: Vec::new(),
            },
            last_reported: None,
            routes: RouteSettings::default(),
            host_nets: vec!["192.0.2.0/24".parse().unwrap()],
            down: HashSet::new(),
            previous: BTreeMap::new(),
        }
    }
}

fn config(overrides: &[(u8, &str)]) -> ClientConfig {
    ClientConfig {
        interface: InterfaceInfo {
            network_name: "evilcorp".to_owned(),
            address: SELF_ADDRESS.parse().unwrap(),
            private_key: PrivateKey::from_bytes([1; 32]),
            listen_port: None,
            backend: None,
        },
        server: ServerInfo {
            public_key: key("innernet-server"),
            external_endpoint: "203.0.113.1:51820".parse().unwrap(),
            internal_endpoint: "10.66.0.1:51820".parse().unwrap(),
        },
        peer_endpoint_overrides: overrides
            .iter()
            .map(|(octet, endpoint)| (IpAddr::from([10, 66, 1, *octet]), endpoint.parse().unwrap()))
            .collect(),
        routes: Default::default(),
    }
}

/// Plans `case` with `server`'s answer and renders the result.
fn run(case: Case, server: ServerAnswer) -> String {
    let config = config(&case.overrides);
    let cache = PeerCache {
        peers: case.cache,
        cidrs: cidrs(),
    };
    let device = Device {
        name: "evilcorp".parse::<InterfaceName>().unwrap(),
        private_key: Some(config.interface.private_key.clone()),
        public_key: Some(config.interface.private_key.public_key()),
        listen_port: Some(51821),
        fwmark: None,
        peers: case.device,
        backend: BackendKind::Fake,
    };
    let local: Vec<IpAddr> = vec!["192.0.2.7".parse().unwrap(), "10.66.1.1".parse().unwrap()];
    let view = match &server {
        ServerAnswer::Fetched(state) | ServerAnswer::Pushed(state) => state.routes.clone(),
        ServerAnswer::Unreachable => None,
    };
    let gateways: Vec<IpAddr> = vec!["192.0.2.1".parse().unwrap()];
    let inputs = Inputs {
        config: &config,
        cache: &cache,
        cache_unusable: case.cache_unusable,
        cache_age: case.cache_age,
        max_cache_age: Some(DAY * 7),
        server,
        device: &device,
        brought_up: case.brought_up,
        nat: &case.nat,
        local_addresses: &local,
        last_reported: case.last_reported.as_deref(),
        resolve: &resolve,
        routing: Routing {
            view: view.as_ref(),
            settings: &case.routes,
            host_nets: &case.host_nets,
            default_gateways: &gateways,
            down: &case.down,
            previous: &case.previous,
        },
    };
    match plan(inputs, now()) {
        Ok(plan) => render(&plan, &cache),
        Err(error) => format!("error: {error}"),
    }
}

/// The peer's name by key, from the cache or the keys of the names used in the tests.
fn name_of(key_: &PublicKey) -> String {
    if PrivateKey::from_bytes([1; 32]).public_key() == *key_ {
        return "me".to_owned();
    }
    for name in [
        "alice",
        "bob",
        "carol",
        "dave",
        "alice-new",
        "bob-new",
        "innernet-server",
        "phone",
    ] {
        if key(name) == *key_ {
            return name.to_owned();
        }
    }
    format!("{key_}")
}

fn render(plan: &Plan, old_cache: &PeerCache) -> String {
    let mut lines = vec![format!(
        "from {:?}: +{} ~{} -{}",
        plan.peers_from, plan.counts.added, plan.counts.modified, plan.counts.removed
    )];
    for update in &plan.device.peers {
        let name = name_of(&update.public_key);
        if update.remove {
            lines.push(format!("remove {name}"));
            continue;
        }
        let mut line = format!("set {name}");
        if !update.allowed_ips.is_empty() {
            let ips: Vec<String> = update.allowed_ips.iter().map(ToString::to_string).collect();
            line.push_str(&format!(" allowed {}", ips.join(",")));
        }
        if let Some(endpoint) = update.endpoint {
            line.push_str(&format!(" endpoint {endpoint}"));
        }
        if let Some(Some(_)) = update.preshared_key {
            line.push_str(" psk");
        }
        lines.push(line);
    }
    for violation in &plan.pinning_violations {
        lines.push(format!("pin refused {} ({})", violation.ip, violation.name));
    }
    for peer in &plan.held_back {
        lines.push(format!("held back {} ({})", peer.ip, peer.name));
    }
    if let Some(age) = plan.stale_cache {
        lines.push(format!("stale cache {}s", age.as_secs()));
    }
    if plan.dropped_endpoints > 0 {
        lines.push(format!(
            "dropped {} mesh endpoint(s)",
            plan.dropped_endpoints
        ));
    }
    if let Some(hosts) = &plan.hosts {
        let names: Vec<&str> = hosts.iter().map(|(_, name)| name.as_str()).collect();
        lines.push(format!("hosts [{}]", names.join(" ")));
    }
    if let Some(cache) = &plan.cache {
        let peers: Vec<String> = cache
            .peers
            .iter()
            .map(|p| {
                let flag = if p.is_disabled { "(disabled)" } else { "" };
                format!("{}{}={}", p.name, flag, name_of(&p.public_key))
            })
            .collect();
        let unchanged = if cache == old_cache {
            " (unchanged)"
        } else {
            ""
        };
        lines.push(format!("cache [{}]{unchanged}", peers.join(" ")));
    }
    if let Some(candidates) = &plan.report_candidates {
        let list: Vec<String> = candidates.iter().map(ToString::to_string).collect();
        lines.push(format!("report candidates [{}]", list.join(" ")));
    }
    if !plan.traverse.is_empty() {
        let names: Vec<String> = plan.traverse.iter().map(|p| p.name.to_string()).collect();
        lines.push(format!("traverse [{}]", names.join(" ")));
    }
    if let Some(routes) = &plan.routes {
        for route in &routes.active {
            lines.push(format!(
                "route {} via {} ({})",
                route.net,
                route.gateway,
                route.kind.as_str()
            ));
        }
        for (grant, why) in &routes.refused {
            lines.push(format!(
                "refused {} via {}: {why}",
                grant.net, grant.gateway
            ));
        }
        for grant in &routes.unused {
            lines.push(format!("unused {} via {}", grant.net, grant.gateway));
        }
    }
    if let Some(ip) = plan.exit_node_unknown {
        lines.push(format!("exit node {ip} unknown"));
    }
    lines.join("\n")
}

fn check(case: Case, server: ServerAnswer, expected: &str) {
    let got = run(case, server);
    let expected = expected
        .trim()
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("\n");
    assert_eq!(
        got, expected,
        "\n--- got ---\n{got}\n--- expected ---\n{expected}"
    );
}

fn fetched(peers: Vec<Peer>) -> ServerAnswer {
    ServerAnswer::Fetched(state(peers))
}

#[test]
fn new_peers_are_added_cached_and_named() {
    check(
        Case::default(),
        fetched(vec![
            peer("alice", 2, Some("198.51.100.2:51820")),
            peer("bob", 3, None),
        ]),
        "from Server: +2 ~0 -0
         set alice allowed 10.66.1.2/32 endpoint 198.51.100.2:51820
         set bob allowed 10.66.1.3/32
         hosts [alice bob]
         cache [alice=alice bob=bob]
         report candidates [192.0.2.7:51821]
         traverse [alice bob]",
    );
}

#[test]
fn an_unchanged_state_changes_nothing_but_reports_candidates() {
    let alice = peer("alice", 2, Some("198.51.100.2:51820"));
    check(
        Case {
            cache: vec![alice.clone()],
            device: vec![on_interface(&alice, Some(10))],
            ..Case::default()
        },
        fetched(vec![alice.clone()]),
        "from Server: +0 ~0 -0
         hosts [alice]
         cache [alice=alice] (unchanged)
         report candidates [192.0.2.7:51821]",
    );
    // Pushed: the same candidates as last reported are not sent again.
    check(
        Case {
            cache: vec![alice.clone()],
            device: vec![on_interface(&alice, Some(10))],
            last_reported: Some(vec!["192.0.2.7:51821".parse().unwrap()]),
            ..Case::default()
        },
        ServerAnswer::Pushed(state(vec![alice.clone()])),
        "from Server: +0 ~0 -0
         hosts [alice]
         cache [alice=alice] (unchanged)",
    );
    // Pushed with other candidates than last reported: reported.
    check(
        Case {
            cache: vec![alice.clone()],
            device: vec![on_interface(&alice, Some(10))],
            last_reported: Some(vec!["192.0.2.99:51821".parse().unwrap()]),
            ..Case::default()
        },
        ServerAnswer::Pushed(state(vec![alice])),
        "from Server: +0 ~0 -0
         hosts [alice]
         cache [alice=alice] (unchanged)
         report candidates [192.0.2.7:51821]",
    );
}

#[test]
fn a_rekeyed_peer_is_refused_and_keeps_its_pinned_entry() {
    let alice = peer("alice", 2, Some("198.51.100.2:51820"));
    let bob = peer("bob", 3, None);
    check(
        Case {
            cache: vec![alice.clone(), bob.clone()],
            device: vec![on_interface(&alice, Some(10)), on_interface(&bob, Some(10))],
            ..Case::default()
        },
        fetched(vec![rekeyed(alice), bob]),
        "from Server: +0 ~0 -0
         pin refused 10.66.1.2 (alice)
         hosts [alice bob]
         cache [alice=alice bob=bob] (unchanged)
         report candidates [192.0.2.7:51821]",
    );
}

#[test]
fn overrides_replace_endpoints_and_skip_traversal() {
    let alice = with_candidates(
        peer("alice", 2, Some("198.51.100.2:51820")),
        &["192.0.2.50:51820"],
    );
    let bob = peer("bob", 3, Some("198.51.100.3:51820"));
    check(
        Case {
            overrides: vec![(2, "192.0.2.2:40000")],
            ..Case::default()
        },
        fetched(vec![alice, bob]),
        "from Server: +2 ~0 -0
         set alice allowed 10.66.1.2/32 endpoint 192.0.2.2:40000
         set bob allowed 10.66.1.3/32 endpoint 198.51.100.3:51820
         hosts [alice bob]
         cache [alice=alice bob=bob]
         report candidates [192.0.2.7:51821]
         traverse [bob]",
    );
}

#[test]
fn endpoints_inside_the_mesh_are_dropped() {
    check(
        Case::default(),
        fetched(vec![
            peer("alice", 2, Some("10.66.1.9:51820")),
            peer("bob", 3, Some("198.51.100.3:51820")),
        ]),
        "from Server: +2 ~0 -0
         set alice allowed 10.66.1.2/32
         set bob allowed 10.66.1.3/32 endpoint 198.51.100.3:51820
         dropped 1 mesh endpoint(s)
         hosts [alice bob]
         cache [alice=alice bob=bob]
         report candidates [192.0.2.7:51821]
         traverse [alice bob]",
    );
}

#[test]
fn disabled_peers_are_never_resurrected() {
    let alice = peer("alice", 2, None);
    let bob = disabled(peer("bob", 3, None));
    check(
        Case {
            cache: vec![alice.clone(), bob.clone()],
            device: vec![on_interface(&alice, Some(10))],
            ..Case::default()
        },
        fetched(vec![alice.clone()]),
        "from Server: +0 ~0 -0
         hosts [alice]
         cache [alice=alice bob(disabled)=bob] (unchanged)
         report candidates [192.0.2.7:51821]",
    );
    // A server never offers a disabled peer; if one did, it is not put on the interface.
    check(
        Case {
            cache: vec![alice.clone(), bob.clone()],
            device: vec![on_interface(&alice, Some(10))],
            ..Case::default()
        },
        fetched(vec![alice, bob]),
        "from Server: +0 ~0 -0
         hosts [alice]
         cache [alice=alice bob(disabled)=bob] (unchanged)
         report candidates [192.0.2.7:51821]",
    );
}

#[test]
fn a_peer_the_server_stops_offering_is_removed_and_cached_disabled() {
    let alice = peer("alice", 2, None);
    let carol = peer("carol", 4, None);
    check(
        Case {
            cache: vec![alice.clone(), carol.clone()],
            device: vec![
                on_interface(&alice, Some(10)),
                on_interface(&carol, Some(10)),
            ],
            ..Case::default()
        },
        fetched(vec![alice]),
        "from Server: +0 ~0 -1
         remove carol
         hosts [alice]
         cache [alice=alice carol(disabled)=carol]
         report candidates [192.0.2.7:51821]",
    );
}

#[test]
fn connected_peers_keep_their_endpoint_and_stale_ones_are_repointed() {
    let moved = peer("alice", 2, Some("198.51.100.22:51820"));
    let before = peer("alice", 2, Some("198.51.100.2:51820"));
    let bob_moved = peer("bob", 3, Some("198.51.100.33:51820"));
    let bob_before = peer("bob", 3, Some("198.51.100.3:51820"));
    check(
        Case {
            cache: vec![before.clone(), bob_before.clone()],
            // alice handshook 10 s ago; bob an hour ago.
            device: vec![
                on_interface(&before, Some(10)),
                on_interface(&bob_before, Some(3600)),
            ],
            ..Case::default()
        },
        fetched(vec![moved, bob_moved]),
        "from Server: +0 ~1 -0
         set bob endpoint 198.51.100.33:51820
         hosts [alice bob]
         cache [alice=alice bob=bob]
         report candidates [192.0.2.7:51821]
         traverse [bob]",
    );
}

#[test]
fn an_unconnected_peer_with_candidates_is_reattempted_without_a_change() {
    let alice = with_candidates(
        peer("alice", 2, Some("198.51.100.2:51820")),
        &["192.0.2.50:51820"],
    );
    check(
        Case {
            cache: vec![alice.clone()],
            device: vec![on_interface(&alice, None)],
            ..Case::default()
        },
        fetched(vec![alice.clone()]),
        "from Server: +0 ~0 -0
         hosts [alice]
         cache [alice=alice] (unchanged)
         report candidates [192.0.2.7:51821]
         traverse [alice]",
    );
    check(
        Case {
            cache: vec![alice.clone()],
            device: vec![on_interface(&alice, None)],
            nat: NatOptions {
                no_traversal: true,
                no_candidates: true,
                exclude: Vec::new(),
            },
            ..Case::default()
        },
        fetched(vec![alice]),
        "from Server: +0 ~0 -0
         hosts [alice]
         cache [alice=alice] (unchanged)
         report candidates []",
    );
}

#[test]
fn excluded_networks_are_not_candidates() {
    check(
        Case {
            nat: NatOptions {
                no_traversal: true,
                no_candidates: false,
                exclude: vec!["192.0.2.0/24".parse().unwrap()],
            },
            ..Case::default()
        },
        fetched(vec![]),
        "from Server: +0 ~0 -0
         hosts []
         cache [] (unchanged)
         report candidates []",
    );
}

#[test]
fn an_unreachable_server_keeps_a_running_interface() {
    let alice = peer("alice", 2, None);
    check(
        Case {
            cache: vec![alice.clone()],
            device: vec![on_interface(&alice, Some(10))],
            ..Case::default()
        },
        ServerAnswer::Unreachable,
        "from Nowhere: +0 ~0 -0",
    );
}

#[test]
fn an_unreachable_server_at_boot_starts_from_the_cache_without_disabled_peers() {
    let alice = peer("alice", 2, Some("198.51.100.2:51820"));
    let bob = disabled(peer("bob", 3, None));
    check(
        Case {
            cache: vec![alice, bob],
            brought_up: true,
            ..Case::default()
        },
        ServerAnswer::Unreachable,
        "from Cache: +1 ~0 -0
         set alice allowed 10.66.1.2/32 endpoint 198.51.100.2:51820
         hosts [alice]
         traverse [alice]",
    );
    check(
        Case {
            brought_up: true,
            ..Case::default()
        },
        ServerAnswer::Unreachable,
        "error: the server is unreachable and there is no peer cache to start from",
    );
}

/// The resurrection rule: a cache the server last confirmed more than `--max-cache-age`
/// ago (7 days here) may be missing a disable or a re-key, so at boot without the server it
/// brings up the server peer alone; up to the limit, the whole cache comes up.
#[test]
fn a_stale_cache_at_boot_brings_up_only_the_server() {
    let server = peer("innernet-server", 254, Some("203.0.113.1:51820"));
    let alice = peer("alice", 2, Some("198.51.100.2:51820"));
    let bob = disabled(peer("bob", 3, None));
    let cache = vec![server.clone(), alice.clone(), bob.clone()];
    check(
        Case {
            cache: cache.clone(),
            cache_age: Some(DAY * 7 + Duration::from_secs(1)),
            brought_up: true,
            ..Case::default()
        },
        ServerAnswer::Unreachable,
        "from Cache: +1 ~0 -0
         set innernet-server allowed 10.66.1.254/32 endpoint 203.0.113.1:51820
         held back 10.66.1.2 (alice)
         stale cache 604801s
         hosts [innernet-server]
         traverse [innernet-server]",
    );
    for fresh_enough in [Some(DAY * 7), None] {
        check(
            Case {
                cache: cache.clone(),
                cache_age: fresh_enough,
                brought_up: true,
                ..Case::default()
            },
            ServerAnswer::Unreachable,
            "from Cache: +2 ~0 -0
             set innernet-server allowed 10.66.1.254/32 endpoint 203.0.113.1:51820
             set alice allowed 10.66.1.2/32 endpoint 198.51.100.2:51820
             hosts [alice innernet-server]
             traverse [innernet-server alice]",
        );
    }
    // The age matters only at boot without the server.
    check(
        Case {
            cache,
            cache_age: Some(DAY * 30),
            brought_up: true,
            ..Case::default()
        },
        fetched(vec![server, alice]),
        "from Server: +2 ~0 -0
         set innernet-server allowed 10.66.1.254/32 endpoint 203.0.113.1:51820
         set alice allowed 10.66.1.2/32 endpoint 198.51.100.2:51820
         hosts [alice innernet-server]
         cache [innernet-server=innernet-server alice=alice bob(disabled)=bob] (unchanged)
         report candidates [192.0.2.7:51821]
         traverse [innernet-server alice]",
    );
}

#[test]
fn the_interface_s_own_key_is_never_added() {
    let mut me = peer("me", 1, Some("198.51.100.1:51820"));
    me.contents.public_key = PrivateKey::from_bytes([1; 32]).public_key();
    check(
        Case {
            brought_up: true,
            ..Case::default()
        },
        fetched(vec![me]),
        "from Server: +0 ~0 -0
         hosts [me]
         cache [me=me]
         report candidates [192.0.2.7:51821]",
    );
}

#[test]
fn an_unusable_cache_applies_only_what_the_interface_already_holds() {
    let alice = peer("alice", 2, Some("198.51.100.2:51820"));
    let bob = peer("bob", 3, None);
    let carol = peer("carol", 4, None);
    // alice moved (and has not connected, so she is repointed); bob was re-keyed; carol is
    // new: only alice can be checked.
    let moved = peer("alice", 2, Some("198.51.100.9:51820"));
    check(
        Case {
            cache_unusable: true,
            device: vec![on_interface(&alice, None), on_interface(&bob, Some(10))],
            ..Case::default()
        },
        fetched(vec![moved, rekeyed(bob.clone()), carol.clone()]),
        "from Server: +0 ~1 -1
         set alice endpoint 198.51.100.9:51820
         remove bob
         held back 10.66.1.3 (bob)
         held back 10.66.1.4 (carol)
         hosts [alice]
         report candidates [192.0.2.7:51821]
         traverse [alice]",
    );
    // At boot the interface holds nothing yet: everything waits, and the hosts section
    // (written whenever the interface comes up) names no one.
    check(
        Case {
            cache_unusable: true,
            brought_up: true,
            ..Case::default()
        },
        fetched(vec![alice, bob]),
        "from Server: +0 ~0 -0
         held back 10.66.1.2 (alice)
         held back 10.66.1.3 (bob)
         hosts []
         report candidates [192.0.2.7:51821]",
    );
    // Unreachable at boot: nothing to start from.
    check(
        Case {
            cache_unusable: true,
            brought_up: true,
            ..Case::default()
        },
        ServerAnswer::Unreachable,
        "error: the server is unreachable and there is no peer cache to start from",
    );
}

/// The server's answer with `grants`: (route id, gateway octet, network, kind).
fn routed(peers: Vec<Peer>, grants: &[(u32, u8, &str, RouteKind)]) -> ServerAnswer {
    let mut state = state(peers);
    state.routes = Some(RouteView {
        grants: grants
            .iter()
            .map(|(id, octet, net, kind)| RouteGrant {
                id: RouteId(i64::from(*id)),
                gateway: PeerId(u32::from(*octet).into()),
                net: net.parse().unwrap(),
                kind: *kind,
            })
            .collect(),
        offered: Vec::new(),
        ..RouteView::default()
    });
    ServerAnswer::Fetched(state)
}

fn accepting() -> RouteSettings {
    RouteSettings {
        accept: true,
        ..RouteSettings::default()
    }
}

#[test]
fn granted_subnet_routes_join_the_gateways_allowed_ips_only_when_accepted() {
    let peers = || {
        vec![
            peer("alice", 2, Some("198.51.100.2:51820")),
            peer("bob", 3, None),
        ]
    };
    let grants = [(1, 2, "192.168.10.0/24", RouteKind::Subnet)];
    check(
        Case {
            nat: NatOptions {
                no_traversal: true,
                no_candidates: true,
                exclude: Vec::new(),
            },
            ..Case::default()
        },
        routed(peers(), &grants),
        "from Server: +2 ~0 -0
         set alice allowed 10.66.1.2/32 endpoint 198.51.100.2:51820
         set bob allowed 10.66.1.3/32
         hosts [alice bob]
         cache [alice=alice bob=bob]
         report candidates []
         unused 192.168.10.0/24 via 2",
    );
    check(
        Case {
            routes: accepting(),
            nat: NatOptions {
                no_traversal: true,
                no_candidates: true,
                exclude: Vec::new(),
            },
            ..Case::default()
        },
        routed(peers(), &grants),
        "from Server: +2 ~0 -0
         set alice allowed 10.66.1.2/32,192.168.10.0/24 endpoint 198.51.100.2:51820
         set bob allowed 10.66.1.3/32
         hosts [alice bob]
         cache [alice=alice bob=bob]
         report candidates []
         route 192.168.10.0/24 via 2 (subnet)",
    );
}

#[test]
fn a_route_that_would_loop_the_tunnel_or_cover_the_lan_is_refused() {
    let alice = peer("alice", 2, Some("198.51.100.2:51820"));
    let bob = peer("bob", 3, Some("198.18.0.9:51820"));
    let case = || Case {
        routes: accepting(),
        cache: vec![alice.clone(), bob.clone()],
        device: vec![on_interface(&alice, Some(5)), on_interface(&bob, Some(5))],
        nat: NatOptions {
            no_traversal: true,
            no_candidates: true,
            exclude: Vec::new(),
        },
        ..Case::default()
    };
    check(
        case(),
        routed(
            vec![alice.clone(), bob.clone()],
            &[
                (1, 2, "192.0.2.128/25", RouteKind::Subnet),
                (2, 2, "198.18.0.0/15", RouteKind::Subnet),
                (3, 3, "203.0.113.0/24", RouteKind::Subnet),
            ],
        ),
        "from Server: +0 ~0 -0
         hosts [alice bob]
         cache [alice=alice bob=bob] (unchanged)
         report candidates []
         refused 192.0.2.128/25 via 2: it covers this host's own network 192.0.2.0/24
         refused 198.18.0.0/15 via 2: it holds peer bob's endpoint 198.18.0.9, so the tunnel's own packets would loop into it
         refused 203.0.113.0/24 via 3: it holds the server's endpoint 203.0.113.1, so the tunnel's own packets would loop into it",
    );
}

#[test]
fn a_disabled_gateway_loses_its_routes_and_a_standby_takes_over() {
    let alice = peer("alice", 2, Some("198.51.100.2:51820"));
    let bob = peer("bob", 3, Some("198.51.100.3:51820"));
    let grants = [
        (1, 2, "192.168.10.0/24", RouteKind::Subnet),
        (2, 3, "192.168.10.0/24", RouteKind::Subnet),
    ];
    let mut routed_alice = on_interface(&alice, Some(5));
    routed_alice
        .config
        .allowed_ips
        .push("192.168.10.0/24".parse().unwrap());
    let case = || Case {
        routes: accepting(),
        cache: vec![alice.clone(), bob.clone()],
        device: vec![routed_alice.clone(), on_interface(&bob, Some(5))],
        previous: BTreeMap::from([("192.168.10.0/24".parse().unwrap(), alice.id)]),
        nat: NatOptions {
            no_traversal: true,
            no_candidates: true,
            exclude: Vec::new(),
        },
        ..Case::default()
    };
    // Both up: the previous gateway stays, nothing changes.
    check(
        case(),
        routed(vec![alice.clone(), bob.clone()], &grants),
        "from Server: +0 ~0 -0
         hosts [alice bob]
         cache [alice=alice bob=bob] (unchanged)
         report candidates []
         route 192.168.10.0/24 via 2 (subnet)",
    );
    // alice stops answering: bob carries the network.
    check(
        Case {
            down: HashSet::from([alice.id]),
            ..case()
        },
        routed(vec![alice.clone(), bob.clone()], &grants),
        "from Server: +0 ~2 -0
         set alice allowed 10.66.1.2/32
         set bob allowed 10.66.1.3/32,192.168.10.0/24
         hosts [alice bob]
         cache [alice=alice bob=bob] (unchanged)
         report candidates []
         route 192.168.10.0/24 via 3 (subnet)",
    );
    // alice is disabled (the server stops offering it): the same, and alice leaves the
    // interface.
    check(
        case(),
        routed(vec![bob.clone()], &grants),
        "from Server: +0 ~1 -1
         set bob allowed 10.66.1.3/32,192.168.10.0/24
         remove alice
         hosts [bob]
         cache [alice(disabled)=alice bob=bob]
         report candidates []
         route 192.168.10.0/24 via 3 (subnet)",
    );
}

#[test]
fn an_exit_node_is_used_only_when_chosen_and_an_unknown_one_is_said() {
    let alice = peer("alice", 2, Some("198.51.100.2:51820"));
    let grants = [(1, 2, "0.0.0.0/0", RouteKind::Exit)];
    let quiet = || NatOptions {
        no_traversal: true,
        no_candidates: true,
        exclude: Vec::new(),
    };
    check(
        Case {
            routes: RouteSettings {
                exit_node: Some(alice.ip),
                ..RouteSettings::default()
            },
            nat: quiet(),
            ..Case::default()
        },
        routed(vec![alice.clone()], &grants),
        "from Server: +1 ~0 -0
         set alice allowed 10.66.1.2/32,0.0.0.0/0 endpoint 198.51.100.2:51820
         hosts [alice]
         cache [alice=alice]
         report candidates []
         route 0.0.0.0/0 via 2 (exit)",
    );
    check(
        Case {
            routes: RouteSettings {
                exit_node: Some("10.66.1.9".parse().unwrap()),
                ..RouteSettings::default()
            },
            nat: quiet(),
            ..Case::default()
        },
        routed(vec![alice.clone()], &grants),
        "from Server: +1 ~0 -0
         set alice allowed 10.66.1.2/32 endpoint 198.51.100.2:51820
         hosts [alice]
         cache [alice=alice]
         report candidates []
         unused 0.0.0.0/0 via 2
         exit node 10.66.1.9 unknown",
    );
}

#[test]
fn devices_join_their_hubs_allowed_ips_without_accept_routes() {
    let alice = peer("alice", 2, Some("198.51.100.2:51820"));
    let bob = peer("bob", 3, None);
    let device = |ip: &str, hub: u8| wiremesh_shared::devices::DeviceRoute {
        device: PeerId(40),
        name: "phone".parse().unwrap(),
        ip: ip.parse().unwrap(),
        hub: PeerId(hub.into()),
    };
    let answer = |devices| {
        let ServerAnswer::Fetched(mut state) = routed(vec![alice.clone(), bob.clone()], &[]) else {
            unreachable!()
        };
        state.routes.as_mut().unwrap().devices = devices;
        ServerAnswer::Fetched(state)
    };
    let case = || Case {
        nat: NatOptions {
            no_traversal: true,
            no_candidates: true,
            exclude: Vec::new(),
        },
        ..Case::default()
    };
    check(
        case(),
        answer(vec![device("10.66.1.40", 2)]),
        "from Server: +2 ~0 -0
         set alice allowed 10.66.1.2/32,10.66.1.40/32 endpoint 198.51.100.2:51820
         set bob allowed 10.66.1.3/32
         hosts [alice bob]
         cache [alice=alice bob=bob]
         report candidates []",
    );
    // A hub this host does not have (not among its peers) carries nothing.
    check(
        case(),
        answer(vec![device("10.66.1.40", 9)]),
        "from Server: +2 ~0 -0
         set alice allowed 10.66.1.2/32 endpoint 198.51.100.2:51820
         set bob allowed 10.66.1.3/32
         hosts [alice bob]
         cache [alice=alice bob=bob]
         report candidates []",
    );
}

#[test]
fn a_hub_puts_its_devices_on_its_interface_with_their_preshared_keys_and_nowhere_else() {
    let alice = peer("alice", 2, Some("198.51.100.2:51820"));
    let phone = wiremesh_shared::devices::HostedDevice {
        id: PeerId(40),
        name: "phone".parse().unwrap(),
        ip: "10.66.1.40".parse().unwrap(),
        cidr_id: alice.cidr_id,
        public_key: key("phone"),
        preshared_key: Some(wireguard_control::PresharedKey::from_bytes([4; 32])),
    };
    let ServerAnswer::Fetched(mut state) = routed(vec![alice.clone()], &[]) else {
        unreachable!()
    };
    state.routes.as_mut().unwrap().hosted = vec![phone];
    check(
        Case {
            nat: NatOptions {
                no_traversal: false,
                no_candidates: true,
                exclude: Vec::new(),
            },
            ..Case::default()
        },
        ServerAnswer::Fetched(state),
        "from Server: +2 ~0 -0
         set alice allowed 10.66.1.2/32 endpoint 198.51.100.2:51820
         set phone allowed 10.66.1.40/32 psk
         hosts [alice]
         cache [alice=alice]
         report candidates []
         traverse [alice]",
    );
}
