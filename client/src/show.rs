//! `show` and `list-cidrs`: what the networks on this host look like right now, read from the
//! WireGuard device, the config and the peer cache (no server calls), and rendered by the pure
//! functions of [`render`].
//!
//! [`collect`] gathers one [`InterfaceView`] per network that is both installed and up (the
//! backend's listing finds userspace interfaces by their UAPI socket, unlike innernet); the
//! renderers take those views and an injected `now`, so they are tested without a device.
//!
//! # JSON output (`show --json`)
//!
//! A stable object; fields are only ever added:
//!
//! ```json
//! {
//!   "interfaces": [
//!     {
//!       "name": "evilcorp",              // interface name
//!       "network": "evilcorp",           // network name from the config
//!       "listen_port": 51820,            // null when the device reports none
//!       "public_key": "base64…",         // this host's key on the network
//!       "address": "10.66.2.3/16",       // own IP / root prefix
//!       "peers": [
//!         {
//!           "name": "laptop",            // null for a device peer missing from the cache
//!           "ip": "10.66.2.3",           // null if unknown
//!           "cidr": "robots",            // CIDR name, null if unknown
//!           "public_key": "base64…",
//!           "endpoint": "203.0.113.9:51820", // null when none
//!           "endpoint_overridden": false, // set by override-peer-endpoint
//!           "last_handshake_secs_ago": 12, // null if never
//!           "rx_bytes": 1240,
//!           "tx_bytes": 3560000,
//!           "is_self": false             // the entry of this host itself
//!         }
//!       ]
//!     }
//!   ]
//! }
//! ```
//!
//! Peers are ordered: this host first, then by name (unknown ones last), then IP.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use ipnet::IpNet;
use wireguard_control::{Device, InterfaceName, PublicKey};
use wiremesh_shared::config::{ClientConfig, PeerCache};
use wiremesh_shared::wire::Cidr;
use wiremesh_shared::{CidrId, Endpoint, Hostname};

use crate::context::Context;
use crate::error::ClientError;
use crate::files;

pub mod render;

pub use render::{
    humanize_bytes, humanize_since, is_connected, render_cidrs_plain, render_cidrs_tree,
    render_json, render_plain, render_short, render_tree, Emphasis, RenderOptions,
};

/// A handshake at most this old means "connected" (WireGuard's REJECT_AFTER_TIME).
pub const RECENT_HANDSHAKE: Duration = Duration::from_secs(180);

/// Why `show` or `list-cidrs` failed.
#[derive(Debug, thiserror::Error)]
pub enum ShowError {
    /// Reading the config or cache, or the device, failed; the network is not installed or up.
    #[error(transparent)]
    Client(Box<ClientError>),
    /// The backend could not list its interfaces (`backend` is the one asked: for a host
    /// without `--backend`, both are).
    #[error("failed to list the WireGuard interfaces: {source}")]
    List {
        backend: wireguard_control::BackendKind,
        #[source]
        source: wireguard_control::Error,
    },
    /// `list-cidrs` found no peer cache to read.
    #[error("there is no peer cache for {iface} yet: bring the network up with `wiremesh up {iface}` first")]
    NoCache { iface: InterfaceName },
}

impl From<ClientError> for ShowError {
    fn from(error: ClientError) -> Self {
        Self::Client(Box::new(error))
    }
}

/// One peer as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerView {
    /// `None` for a device peer the cache does not know.
    pub name: Option<Hostname>,
    pub ip: Option<IpAddr>,
    pub cidr_id: Option<CidrId>,
    /// The CIDR's name.
    pub cidr: Option<String>,
    pub public_key: PublicKey,
    /// The device's current endpoint (for this host: what the server knows of it).
    pub endpoint: Option<Endpoint>,
    /// The endpoint comes from `[peer-endpoint-overrides]`.
    pub endpoint_overridden: bool,
    /// `None`: never.
    pub last_handshake: Option<SystemTime>,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub is_self: bool,
    /// Routes through this peer (or, for this host, the routes it offers), with their state.
    pub routes: Vec<RouteState>,
}

/// A route as `show` tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteState {
    pub net: IpNet,
    /// `subnet` or `exit`.
    pub kind: &'static str,
    /// For this host's own offers: `offered` (waiting for approval) or `approved`. For a
    /// gateway's: `active` (this host goes through it), `standby` (another gateway of the
    /// same network is in use), `refused` (it would break this host), or `unused` (routes
    /// not accepted, or another exit node or none chosen). For a device's address through
    /// its hub (kind `device`): `active`.
    pub state: &'static str,
}

/// The route states of every peer, by peer id, from the record of the last sync.
fn route_states(
    record: &crate::routing::RouteRecord,
    own_id: Option<wiremesh_shared::PeerId>,
) -> std::collections::HashMap<wiremesh_shared::PeerId, Vec<RouteState>> {
    let mut out: std::collections::HashMap<_, Vec<RouteState>> = Default::default();
    let Some(view) = &record.view else {
        return out;
    };
    if let Some(own) = own_id {
        for route in &view.offered {
            out.entry(own).or_default().push(RouteState {
                net: route.contents.net,
                kind: route.contents.kind.as_str(),
                state: if route.approved {
                    "approved"
                } else {
                    "offered"
                },
            });
        }
    }
    for device in &view.devices {
        out.entry(device.hub).or_default().push(RouteState {
            net: IpNet::from(device.ip),
            kind: "device",
            state: "active",
        });
    }
    for grant in &view.grants {
        let state = match record.chosen.get(&grant.net) {
            Some(gateway) if *gateway == grant.gateway => "active",
            Some(_) => "standby",
            None if record.refused.contains(&grant.net) => "refused",
            None => "unused",
        };
        out.entry(grant.gateway).or_default().push(RouteState {
            net: grant.net,
            kind: grant.kind.as_str(),
            state,
        });
    }
    out
}

/// One network as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceView {
    pub name: InterfaceName,
    /// The network's name, from the config.
    pub network: String,
    pub address: IpNet,
    pub listen_port: Option<u16>,
    pub public_key: PublicKey,
    /// This host first, then the others (see the module doc for the order).
    pub peers: Vec<PeerView>,
    /// All CIDRs of the network (from the cache), for the tree.
    pub cidrs: Vec<Cidr>,
}

/// Views of every installed network that is up, or of `only` (which must be installed and up).
pub fn collect(
    ctx: &Context,
    only: Option<&InterfaceName>,
) -> Result<Vec<InterfaceView>, ShowError> {
    let up = ctx.backend.list().map_err(|source| ShowError::List {
        backend: ctx.backend.kind(),
        source,
    })?;
    let names: Vec<InterfaceName> = match only {
        Some(iface) => {
            // Loading first makes "not installed" win over "not up".
            files::load_config(&ctx.paths, iface)?;
            if !up.contains(iface) {
                return Err(ClientError::NotUp {
                    iface: iface.clone(),
                }
                .into());
            }
            vec![iface.clone()]
        }
        None => {
            let installed = ctx.paths.installed().map_err(ClientError::io(
                "list the config directory",
                ctx.paths.config_dir.clone(),
            ))?;
            installed
                .into_iter()
                .filter(|name| up.contains(name))
                .collect()
        }
    };
    let mut views = Vec::with_capacity(names.len());
    for iface in names {
        let config = files::load_config(&ctx.paths, &iface)?;
        let cache = match files::load_cache(&ctx.paths, &iface) {
            Ok(cache) => cache.unwrap_or_default(),
            Err(error) => {
                tracing::warn!("{error}; showing {iface} without peer names");
                PeerCache::default()
            }
        };
        let device = ctx
            .backend
            .get(&iface)
            .map_err(ClientError::interface(&iface, "read"))?;
        let record = files::load_routes(&ctx.paths, &iface);
        let mut view = build_view(&iface, &config, &cache, &device);
        add_routes(&mut view, &cache, &record);
        views.push(view);
    }
    Ok(views)
}

/// The view of one network from its parts (pure; what [`collect`] does per interface).
pub fn build_view(
    iface: &InterfaceName,
    config: &ClientConfig,
    cache: &PeerCache,
    device: &Device,
) -> InterfaceView {
    let own_key = device
        .public_key
        .unwrap_or_else(|| config.interface.private_key.public_key());
    let own_ip = config.interface.address.addr();
    let cidr_name = |id: CidrId| {
        cache
            .cidrs
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.name.clone())
    };
    let mut peers = Vec::with_capacity(device.peers.len() + 1);

    let me = cache
        .peers
        .iter()
        .find(|p| p.public_key == own_key || p.ip == own_ip);
    peers.push(PeerView {
        name: me.map(|p| p.name.clone()),
        ip: Some(own_ip),
        cidr_id: me.map(|p| p.cidr_id),
        cidr: me.and_then(|p| cidr_name(p.cidr_id)),
        public_key: own_key,
        endpoint: me.and_then(|p| p.endpoint.clone()),
        endpoint_overridden: false,
        last_handshake: None,
        rx_bytes: 0,
        tx_bytes: 0,
        is_self: true,
        routes: Vec::new(),
    });

    let mut others: Vec<PeerView> = device
        .peers
        .iter()
        .filter(|info| info.config.public_key != own_key)
        .map(|info| {
            let cached = cache
                .peers
                .iter()
                .find(|p| p.public_key == info.config.public_key);
            let ip = cached
                .map(|p| p.ip)
                .or_else(|| info.config.allowed_ips.first().map(IpNet::addr));
            PeerView {
                name: cached.map(|p| p.name.clone()),
                ip,
                cidr_id: cached.map(|p| p.cidr_id),
                cidr: cached.and_then(|p| cidr_name(p.cidr_id)),
                public_key: info.config.public_key,
                endpoint: info.config.endpoint.map(Endpoint::from),
                endpoint_overridden: ip
                    .is_some_and(|ip| config.peer_endpoint_overrides.contains_key(&ip)),
                last_handshake: info.stats.last_handshake_time,
                rx_bytes: info.stats.rx_bytes,
                tx_bytes: info.stats.tx_bytes,
                is_self: false,
                routes: Vec::new(),
            }
        })
        .collect();
    others
        .sort_by(|a, b| (a.name.is_none(), &a.name, a.ip).cmp(&(b.name.is_none(), &b.name, b.ip)));
    peers.extend(others);

    InterfaceView {
        name: iface.clone(),
        network: config.interface.network_name.clone(),
        address: config.interface.address,
        listen_port: device.listen_port,
        public_key: own_key,
        peers,
        cidrs: cache.cidrs.clone(),
    }
}

/// Puts the route states of the last sync (`record`) on the view's peers.
pub fn add_routes(
    view: &mut InterfaceView,
    cache: &PeerCache,
    record: &crate::routing::RouteRecord,
) {
    let id_of = |key: &PublicKey| {
        cache
            .peers
            .iter()
            .find(|p| p.public_key == *key)
            .map(|p| p.id)
    };
    let own = view.peers.iter().find(|p| p.is_self).and_then(|p| {
        id_of(&p.public_key).or_else(|| {
            cache
                .peers
                .iter()
                .find(|c| Some(c.ip) == p.ip)
                .map(|c| c.id)
        })
    });
    let mut states = route_states(record, own);
    // A hub's devices are peers of its interface that the cache does not know.
    for device in record.view.iter().flat_map(|v| &v.hosted) {
        if let Some(peer) = view
            .peers
            .iter_mut()
            .find(|p| p.public_key == device.public_key)
        {
            peer.name = Some(device.name.clone());
            peer.ip = Some(device.ip);
            peer.cidr_id = Some(device.cidr_id);
            peer.cidr = cache
                .cidrs
                .iter()
                .find(|c| c.id == device.cidr_id)
                .map(|c| c.name.clone());
        }
    }
    for peer in &mut view.peers {
        let id = if peer.is_self {
            own
        } else {
            id_of(&peer.public_key)
        };
        if let Some(routes) = id.and_then(|id| states.remove(&id)) {
            peer.routes = routes;
        }
    }
}

/// `list-cidrs`: the network's CIDRs from its peer cache (no server call, no admin needed).
pub fn list_cidrs(ctx: &Context, iface: &InterfaceName) -> Result<Vec<Cidr>, ShowError> {
    files::load_config(&ctx.paths, iface)?;
    match files::load_cache(&ctx.paths, iface)? {
        Some(cache) => Ok(cache.cidrs),
        None => Err(ShowError::NoCache {
            iface: iface.clone(),
        }),
    }
}
