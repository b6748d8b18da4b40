//! The decisions of one sync cycle, without IO: from what the cycle read (config, peer
//! cache, the server's answer, the interface) to what it should write ([`Plan`]).
//!
//! [`crate::sync`] gathers the [`Inputs`], calls [`plan`] and carries the plan out; nothing
//! here touches a file, a socket, the interface or the clock (`now` is an argument, name
//! resolution a callback). Routes and firewall rules are meant to join as more fields of
//! [`Inputs`] and [`Plan`].
//!
//! The rules, in order:
//! - the server answered: its peers are checked against the cache's key pins (a re-keyed peer
//!   keeps its cached entry and is reported), the cache to save is the old one merged with
//!   the result, and NAT candidates are reported (every cycle for a fetched state; for a
//!   pushed one only when they differ from the list last reported);
//! - the cache exists but cannot be read or parsed (its pins are unknown): only offered
//!   peers the interface already holds with the same key (and the server) are applied, the
//!   rest are held back and reported, and the cache is not rewritten;
//! - the server is unreachable and the interface was up already: nothing changes;
//! - unreachable and the interface was brought up by this cycle (boot): the peers come from
//!   the cache (the diff skips those it marks disabled); an empty cache is an error;
//! - endpoints inside the mesh network or on port 0, and candidates that are names, are
//!   dropped (WireGuard would tunnel into itself; names a peer reports are not resolved),
//!   then the config's endpoint overrides are put in; a name in an endpoint is resolved
//!   through the `resolve` callback, which must refuse the same addresses;
//! - the diff against the interface gives the device update and the counts;
//! - the hosts section is handed to the writer every time, which rewrites the file only when
//!   its section differs (so a failed write is retried: the cache is not the judge);
//! - NAT traversal is tried for added, modified and reattempted peers, except those whose
//!   endpoint the config overrides;
//! - routes: the grants of the server's route view ([`Routing::view`]) whose gateways are
//!   among the enabled peers decided above go through [`select`] with the config's
//!   `[routes]` settings; the chosen gateways' allowed IPs gain the networks they carry for
//!   this host, and the plan says which routes to install ([`Plan::routes`]). A grant that
//!   would cover this host's own networks, its default gateway or a tunnel endpoint (the
//!   server's, a peer's as offered or as the interface holds it) is refused, never used.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

use ipnet::IpNet;
use wireguard_control::{Device, DeviceUpdate, PresharedKey, PublicKey};
use wiremesh_shared::config::{ClientConfig, PeerCache, RouteSettings};
use wiremesh_shared::diff::{device_update, diff_hub_peers, ChangeCounts, ChangeKind};
use wiremesh_shared::endpoint::Endpoint;
use wiremesh_shared::nat::{candidate_endpoints, drop_unusable_endpoints};
use wiremesh_shared::pinning::{check_pins, merge, PinningViolation};
use wiremesh_shared::routes::{select, LocalFacts, RouteOptions, RouteSelection, RouteView};
use wiremesh_shared::wire::{Peer, State};
use wiremesh_shared::PeerId;

use crate::context::NatOptions;

/// The listen port reported with candidates when the device reports none.
pub const DEFAULT_LISTEN_PORT: u16 = 51820;

/// The server's answer to this cycle's request for the state.
#[derive(Debug, Clone)]
pub enum ServerAnswer {
    /// `GET /v1/user/state` answered.
    Fetched(State),
    /// The state a change watcher keeps from the server's `/v2` answers.
    Pushed(State),
    /// The server could not be reached.
    Unreachable,
}

/// What one cycle decides from.
pub struct Inputs<'a> {
    pub config: &'a ClientConfig,
    /// The peer cache as loaded (empty when there is none or it was unusable).
    pub cache: &'a PeerCache,
    /// The cache exists but could not be read or parsed: its key pins are unknown.
    pub cache_unusable: bool,
    /// How long ago the server last confirmed the cache (`None`: unknown, or no cache).
    pub cache_age: Option<Duration>,
    /// Beyond this age the cache brings up only the server peer (`None`: no limit).
    pub max_cache_age: Option<Duration>,
    pub server: ServerAnswer,
    /// The interface as read before the update.
    pub device: &'a Device,
    /// The interface was down and this cycle brought it up.
    pub brought_up: bool,
    pub nat: &'a NatOptions,
    /// This host's addresses, for NAT candidates (only read when the server answered).
    pub local_addresses: &'a [IpAddr],
    /// The NAT candidates this network last reported, if any.
    pub last_reported: Option<&'a [Endpoint]>,
    /// Resolves an endpoint (a DNS name, maybe) to one socket address.
    pub resolve: &'a dyn Fn(&Endpoint) -> Option<SocketAddr>,
    pub routing: Routing<'a>,
}

/// What a cycle decides routes from.
#[derive(Debug, Clone, Copy)]
pub struct Routing<'a> {
    /// The routes the server grants this host and what it offers (`None`: the server sends
    /// no routes, an innernet server or one from before routes).
    pub view: Option<&'a RouteView>,
    /// The config's `[routes]` table (with `up`'s flags applied).
    pub settings: &'a RouteSettings,
    /// The networks of this host's other interfaces.
    pub host_nets: &'a [IpNet],
    /// This host's default gateways.
    pub default_gateways: &'a [IpAddr],
    /// Gateways judged unreachable.
    pub down: &'a HashSet<PeerId>,
    /// The gateway each network used so far.
    pub previous: &'a BTreeMap<IpNet, PeerId>,
}

/// Where a plan's peers come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeersFrom {
    /// The server's state (fetched or pushed).
    Server,
    /// The peer cache: the server was unreachable when the interface came up.
    Cache,
    /// Nowhere: the server was unreachable and the interface is kept as it is.
    Nowhere,
}

/// What one cycle should do.
#[derive(Debug, Clone)]
pub struct Plan {
    pub peers_from: PeersFrom,
    /// Peers the server offered with a key other than the pinned one (left as cached).
    pub pinning_violations: Vec<PinningViolation>,
    /// With the cache unusable: offered peers not applied because the interface does not
    /// already hold them with the same key, so their pins cannot be checked. With a stale
    /// cache: the cached peers other than the server.
    pub held_back: Vec<Peer>,
    /// The interface came up from a cache older than the limit (its age): only the server
    /// peer was taken from it.
    pub stale_cache: Option<Duration>,
    /// Endpoints ignored because they lie inside the mesh network.
    pub dropped_endpoints: usize,
    pub counts: ChangeCounts,
    /// The one update of the interface's peers (empty: nothing to apply).
    pub device: DeviceUpdate,
    /// The hosts section, (IP, peer name) of enabled peers, whenever peers were decided
    /// (the writer leaves an up-to-date file alone).
    pub hosts: Option<BTreeSet<(IpAddr, String)>>,
    /// The cache to save (only after the server answered).
    pub cache: Option<PeerCache>,
    /// NAT candidates to report to the server, when they are to be reported.
    pub report_candidates: Option<Vec<Endpoint>>,
    /// Peers for a NAT traversal run (empty: no run).
    pub traverse: Vec<Peer>,
    /// The mesh network: no endpoint of another peer may lie inside it.
    pub mesh: IpNet,
    /// What to do with routes, whenever peers were decided.
    pub routes: Option<RouteSelection>,
    /// The config names an exit node no peer of this host has as its address.
    pub exit_node_unknown: Option<IpAddr>,
    /// Mesh addresses of gateways to probe for liveness (see [`crate::routing`]).
    pub probe: Vec<IpAddr>,
}

impl Plan {
    fn keep_interface(mesh: IpNet) -> Self {
        Self {
            mesh,
            peers_from: PeersFrom::Nowhere,
            pinning_violations: Vec::new(),
            held_back: Vec::new(),
            stale_cache: None,
            dropped_endpoints: 0,
            counts: ChangeCounts::default(),
            device: DeviceUpdate::new(),
            hosts: None,
            cache: None,
            report_candidates: None,
            traverse: Vec::new(),
            routes: None,
            exit_node_unknown: None,
            probe: Vec::new(),
        }
    }
}

/// A cycle that cannot go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The server is unreachable, the interface was just brought up, and no cache holds a
    /// peer to start from.
    #[error("the server is unreachable and there is no peer cache to start from")]
    UnreachableNoCache,
}

/// Decides one cycle; `now` is the wall-clock time the interface's handshakes are compared
/// with.
pub fn plan(inputs: Inputs<'_>, now: SystemTime) -> Result<Plan, PlanError> {
    let Inputs {
        config,
        cache,
        cache_unusable,
        cache_age,
        max_cache_age,
        server,
        device,
        brought_up,
        nat,
        local_addresses,
        last_reported,
        resolve,
        routing,
    } = inputs;
    let mesh = config.interface.address.trunc();
    let mut plan = Plan::keep_interface(mesh);
    let pushed = matches!(server, ServerAnswer::Pushed(_));
    let (peers, cidrs) = match server {
        ServerAnswer::Fetched(state) | ServerAnswer::Pushed(state) if cache_unusable => {
            let (peers, held_back) = held_to_interface(config, device, state.peers);
            plan.held_back = held_back;
            (peers, Some(state.cidrs))
        }
        ServerAnswer::Fetched(state) | ServerAnswer::Pushed(state) => {
            let pinned = check_pins(cache, state.peers);
            plan.pinning_violations = pinned.violations;
            (pinned.peers, Some(state.cidrs))
        }
        ServerAnswer::Unreachable if !brought_up => return Ok(plan),
        ServerAnswer::Unreachable if cache.peers.is_empty() => {
            return Err(PlanError::UnreachableNoCache)
        }
        ServerAnswer::Unreachable => match (cache_age, max_cache_age) {
            (Some(age), Some(max)) if age > max => {
                // The resurrection rule: a peer disabled (or re-keyed) while this host was
                // away is in no cache this old, so only the server (and this host's own
                // entry, which never goes on the interface) comes up from it.
                let own_key = config.interface.private_key.public_key();
                let (server, others): (Vec<Peer>, Vec<Peer>) =
                    cache.peers.iter().cloned().partition(|peer| {
                        peer.public_key == config.server.public_key || peer.public_key == own_key
                    });
                plan.held_back = others.into_iter().filter(|p| !p.is_disabled).collect();
                plan.stale_cache = Some(age);
                (server, None)
            }
            _ => (cache.peers.clone(), None),
        },
    };
    plan.peers_from = if cidrs.is_some() {
        PeersFrom::Server
    } else {
        PeersFrom::Cache
    };

    let mut desired = peers.clone();
    plan.dropped_endpoints = drop_unusable_endpoints(&mut desired, &mesh);
    let overridden = apply_overrides(config, &mut desired);
    let selection = select_routes(config, &routing, &desired, device, resolve);
    // Gateways a network can fail over between are probed, to judge them by what comes back.
    let watched: HashSet<PeerId> = selection
        .active
        .iter()
        .filter(|r| !r.standby.is_empty())
        .flat_map(|r| r.standby.iter().copied().chain([r.gateway]))
        .collect();
    plan.probe = desired
        .iter()
        .filter(|p| watched.contains(&p.id))
        .map(|p| p.ip)
        .collect();
    plan.exit_node_unknown = routing
        .settings
        .exit_node
        .filter(|ip| !desired.iter().any(|p| p.ip == *ip && !p.is_disabled));
    let mut carried: HashMap<PeerId, Vec<IpNet>> = HashMap::new();
    for route in &selection.active {
        carried.entry(route.gateway).or_default().push(route.net);
    }
    // Devices are reached through their hubs: their addresses join the hub's allowed IPs
    // (inside the mesh network, so the mesh route already leads there).
    let own_key = config.interface.private_key.public_key();
    for device in routing.view.map_or(&[][..], |v| v.devices.as_slice()) {
        let hub_present = desired
            .iter()
            .any(|p| p.id == device.hub && !p.is_disabled && p.public_key != own_key);
        if hub_present {
            carried
                .entry(device.hub)
                .or_default()
                .push(IpNet::from(device.ip));
        }
    }
    // As a hub: the devices it hosts are peers of its interface too, with their preshared
    // keys (never in the cache or the hosts file: they are not mesh peers).
    let hosted = routing.view.map_or(&[][..], |v| v.hosted.as_slice());
    let preshared: HashMap<PeerId, PresharedKey> = hosted
        .iter()
        .filter_map(|d| d.preshared_key.clone().map(|k| (d.id, k)))
        .collect();
    let hosted_ids: HashSet<PeerId> = hosted.iter().map(|d| d.id).collect();
    let with_devices: Vec<Peer>;
    let diffed: &[Peer] = if hosted.is_empty() {
        &desired
    } else {
        with_devices = desired
            .iter()
            .filter(|p| !hosted_ids.contains(&p.id))
            .cloned()
            .chain(hosted.iter().map(|d| d.as_peer()))
            .collect();
        &with_devices
    };
    let changes = diff_hub_peers(
        diffed,
        &device.peers,
        device.public_key.as_ref(),
        now,
        resolve,
        &carried,
        &preshared,
    );
    plan.routes = Some(selection);
    plan.counts = ChangeCounts::of(&changes);
    plan.device = device_update(&changes);
    plan.traverse = changes
        .iter()
        .filter(|c| {
            matches!(
                c.kind,
                ChangeKind::Added | ChangeKind::Modified | ChangeKind::NatReattempt
            )
        })
        .filter_map(|c| c.peer)
        .filter(|peer| !overridden.contains(&peer.public_key) && !hosted_ids.contains(&peer.id))
        .cloned()
        .collect();
    if nat.no_traversal {
        plan.traverse.clear();
    }

    // The writer compares with the file itself and leaves it alone when the section is
    // current, so a write that failed (or a section someone removed) is redone next cycle.
    plan.hosts = Some(host_entries(&peers));

    if let Some(cidrs) = cidrs {
        // An unusable cache is never overwritten: it may hold the only copy of pins.
        if !cache_unusable {
            let mut merged = cache.clone();
            merge(&mut merged, &peers, &cidrs);
            plan.cache = Some(merged);
        }
        let candidates = local_candidates(nat, local_addresses, device.listen_port, &mesh);
        if !pushed || last_reported != Some(candidates.as_slice()) {
            plan.report_candidates = Some(candidates);
        }
    }
    Ok(plan)
}

/// The peers to apply when the cache's pins are unknown, and those held back: an offered
/// peer is applied only when the interface already holds its key at its address (the
/// interface is the last record of what was checked), or it is the server, whose key the
/// config pins, or this host itself. A peer new to the interface may be a re-keyed one, so it waits until the
/// operator decides (`wiremesh reset-cache`).
fn held_to_interface(
    config: &ClientConfig,
    device: &Device,
    offered: Vec<Peer>,
) -> (Vec<Peer>, Vec<Peer>) {
    offered.into_iter().partition(|peer| {
        peer.public_key == config.server.public_key
            || device.public_key.as_ref() == Some(&peer.public_key)
            || device.peer(&peer.public_key).is_some_and(|info| {
                info.config
                    .allowed_ips
                    .iter()
                    .any(|net| net.contains(&peer.ip))
            })
    })
}

/// The routes this host uses, from the grants of the gateways among `peers` (enabled ones).
fn select_routes(
    config: &ClientConfig,
    routing: &Routing<'_>,
    peers: &[Peer],
    device: &Device,
    resolve: &dyn Fn(&Endpoint) -> Option<SocketAddr>,
) -> RouteSelection {
    let Some(view) = routing.view else {
        return RouteSelection::default();
    };
    let own_key = config.interface.private_key.public_key();
    let present: HashSet<PeerId> = peers
        .iter()
        .filter(|p| !p.is_disabled && p.public_key != own_key)
        .map(|p| p.id)
        .collect();
    let exit_node = routing
        .settings
        .exit_node
        .and_then(|ip| peers.iter().find(|p| p.ip == ip && !p.is_disabled))
        .map(|p| p.id);
    let options = RouteOptions {
        accept_routes: routing.settings.accept,
        exit_node,
    };
    // Every address the tunnel itself sends to.
    let mut endpoints: Vec<(String, IpAddr)> = Vec::new();
    if let Some(addr) = resolve(&config.server.external_endpoint) {
        endpoints.push(("the server".to_owned(), addr.ip()));
    }
    let names: HashMap<&PublicKey, &str> = peers
        .iter()
        .map(|p| (&p.public_key, p.name.as_str()))
        .collect();
    for peer in peers {
        if let Some(addr) = peer.contents.endpoint.as_ref().and_then(resolve) {
            endpoints.push((format!("peer {}", peer.name), addr.ip()));
        }
    }
    for info in &device.peers {
        if let Some(addr) = info.config.endpoint {
            let whose = names
                .get(&info.config.public_key)
                .map_or_else(|| "a peer".to_owned(), |name| format!("peer {name}"));
            endpoints.push((whose, addr.ip()));
        }
    }
    let facts = LocalFacts {
        local_nets: routing.host_nets.to_vec(),
        default_gateways: routing.default_gateways.to_vec(),
        endpoints,
    };
    select(
        &view.grants,
        &present,
        &options,
        &facts,
        routing.down,
        routing.previous,
    )
}

/// Replaces the endpoints of peers the config overrides; returns their keys.
fn apply_overrides(config: &ClientConfig, peers: &mut [Peer]) -> HashSet<PublicKey> {
    let mut overridden = HashSet::new();
    for peer in peers {
        if let Some(endpoint) = config.peer_endpoint_overrides.get(&peer.ip) {
            peer.contents.endpoint = Some(endpoint.clone());
            overridden.insert(peer.public_key);
        }
    }
    overridden
}

/// The (IP, peer name) pairs of the hosts file section: enabled peers only.
pub fn host_entries(peers: &[Peer]) -> BTreeSet<(IpAddr, String)> {
    peers
        .iter()
        .filter(|p| !p.is_disabled)
        .map(|p| (p.ip, p.name.to_string()))
        .collect()
}

/// The NAT candidates of this host.
fn local_candidates(
    nat: &NatOptions,
    local_addresses: &[IpAddr],
    listen_port: Option<u16>,
    mesh: &IpNet,
) -> Vec<Endpoint> {
    // With candidates turned off an empty list is sent, clearing what was reported before
    // (as innernet does).
    if nat.no_candidates {
        return Vec::new();
    }
    let port = listen_port.unwrap_or(DEFAULT_LISTEN_PORT);
    // The mesh's own addresses (this host's WireGuard address) are never candidates.
    let mut exclude = nat.exclude.clone();
    exclude.push(*mesh);
    candidate_endpoints(local_addresses.iter().copied(), &exclude, port)
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
