//! Routes beyond the mesh: networks behind gateway peers, and exit nodes.
//!
//! A peer *offers* routes: subnets it can forward to (a site LAN, a Docker network), or the
//! default route when it offers to be an exit node. An admin *approves* an offer, or an
//! [`AutoApproval`] on the gateway's CIDR (or an ancestor) approves it as it arrives.
//!
//! The rules an offer must satisfy ([`check_offer`], [`check_approval`]):
//! - a route has the mesh's address family: a peer reaches a route through its mesh
//!   address, so a route of the other family would have no way back;
//! - it is written without host bits, like a CIDR;
//! - a subnet route is never the default route (that is what `--exit-node` offers), never
//!   overlaps the mesh network, and never overlaps another route of the same offer;
//! - an approved subnet route never overlaps another gateway's approved route, except the
//!   very same network: two gateways for one route are a failover pair.
//!
//! Who gets a route ([`grants_for`]): the peers that see the gateway (the ACL), for approved
//! offers of enabled gateways. What a client does with its grants is [`select`]: subnet
//! routes only with `accept_routes`, an exit node only when chosen, never a route that
//! would swallow the client's own LAN, default gateway or any tunnel endpoint, and one
//! gateway per network, failing over when the chosen one is judged down.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::acl::{visible_cidrs, NetworkView};
use crate::cidr::{contains, overlaps, CidrTree};
use crate::wire::Peer;
use crate::{CidrId, PeerId, RouteId};

/// The most subnet routes one peer may offer.
pub const MAX_ROUTES_PER_PEER: usize = 64;

/// What a route is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RouteKind {
    /// A network behind the gateway.
    Subnet,
    /// The default route of the mesh's family: the gateway is an exit node.
    Exit,
}

impl fmt::Display for RouteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RouteKind::Subnet => "subnet",
            RouteKind::Exit => "exit node",
        })
    }
}

/// An offered route without its id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RouteContents {
    pub gateway: PeerId,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub net: IpNet,
    pub kind: RouteKind,
}

/// A stored route offer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Route {
    pub id: RouteId,
    #[serde(flatten)]
    pub contents: RouteContents,
    pub approved: bool,
}

/// Routes that peers of a CIDR's subtree may offer without an admin: subnets inside
/// `prefixes`, and the exit node when `exit` is set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AutoApproval {
    pub cidr: CidrId,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub prefixes: Vec<IpNet>,
    #[serde(default)]
    pub exit: bool,
}

/// Every route offer and auto-approval of a network (offers sorted by id, approvals by
/// CIDR).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RouteBook {
    pub routes: Vec<Route>,
    pub auto: Vec<AutoApproval>,
}

impl RouteBook {
    /// The routes `gateway` offers.
    pub fn of(&self, gateway: PeerId) -> impl Iterator<Item = &Route> + '_ {
        self.routes
            .iter()
            .filter(move |r| r.contents.gateway == gateway)
    }

    /// Whether `peer` offers any route.
    pub fn is_gateway(&self, peer: PeerId) -> bool {
        self.of(peer).next().is_some()
    }
}

impl RouteKind {
    /// The word stored and sent for the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            RouteKind::Subnet => "subnet",
            RouteKind::Exit => "exit",
        }
    }

    /// The kind a stored word names.
    pub fn parse(word: &str) -> Option<RouteKind> {
        match word {
            "subnet" => Some(RouteKind::Subnet),
            "exit" => Some(RouteKind::Exit),
            _ => None,
        }
    }
}

/// Why an offer or an approval is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("route {net} is IPv{family} but the mesh {mesh} is not: peers reach a route through their mesh address, so it must be of the same family")]
    Family { net: IpNet, mesh: IpNet, family: u8 },
    #[error("route {net} has host bits set; did you mean {network}?")]
    HostBitsSet { net: IpNet, network: IpNet },
    #[error("route {net} is the default route: offer it with --exit-node")]
    DefaultAsSubnet { net: IpNet },
    #[error("route {net} overlaps the mesh network {mesh}")]
    OverlapsMesh { net: IpNet, mesh: IpNet },
    #[error("routes {a} and {b} of the same offer overlap")]
    OverlapsOffer { a: IpNet, b: IpNet },
    #[error("route {net} overlaps {other}, approved for {gateway:?}; only the very same network may have two gateways")]
    OverlapsApproved {
        net: IpNet,
        other: IpNet,
        gateway: String,
    },
    #[error("at most {max} routes per peer; this offer has {count}")]
    TooMany { count: usize, max: usize },
    #[error("an offer needs at least one route, or --exit-node")]
    Empty,
    #[error("{gateway:?} does not offer {net}")]
    NotOffered { net: IpNet, gateway: String },
}

/// The default route of `net`'s family.
pub fn default_route(v6: bool) -> IpNet {
    if v6 {
        "::/0".parse().expect("a valid network")
    } else {
        "0.0.0.0/0".parse().expect("a valid network")
    }
}

/// Checks an offer of `subnets` (and the exit node when `exit`) by a gateway of the mesh
/// `mesh`, on its own: family, host bits, the default route, the mesh, overlaps inside the
/// offer. Returns the routes to store, subnets sorted, the exit node's default route last.
pub fn check_offer(
    mesh: &IpNet,
    subnets: &[IpNet],
    exit: bool,
) -> Result<Vec<RouteContentsDraft>, RouteError> {
    if subnets.is_empty() && !exit {
        return Err(RouteError::Empty);
    }
    if subnets.len() > MAX_ROUTES_PER_PEER {
        return Err(RouteError::TooMany {
            count: subnets.len(),
            max: MAX_ROUTES_PER_PEER,
        });
    }
    let v6 = matches!(mesh, IpNet::V6(_));
    let mut nets: Vec<IpNet> = Vec::new();
    for net in subnets {
        if matches!(net, IpNet::V6(_)) != v6 {
            return Err(RouteError::Family {
                net: *net,
                mesh: *mesh,
                family: if v6 { 4 } else { 6 },
            });
        }
        if net.trunc() != *net {
            return Err(RouteError::HostBitsSet {
                net: *net,
                network: net.trunc(),
            });
        }
        if net.prefix_len() == 0 {
            return Err(RouteError::DefaultAsSubnet { net: *net });
        }
        if overlaps(net, mesh) {
            return Err(RouteError::OverlapsMesh {
                net: *net,
                mesh: *mesh,
            });
        }
        if let Some(other) = nets.iter().find(|o| overlaps(o, net)) {
            return Err(RouteError::OverlapsOffer { a: *other, b: *net });
        }
        nets.push(*net);
    }
    nets.sort();
    let mut out: Vec<RouteContentsDraft> = nets
        .into_iter()
        .map(|net| RouteContentsDraft {
            net,
            kind: RouteKind::Subnet,
        })
        .collect();
    if exit {
        out.push(RouteContentsDraft {
            net: default_route(v6),
            kind: RouteKind::Exit,
        });
    }
    Ok(out)
}

/// A route of an offer before it is given to a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteContentsDraft {
    pub net: IpNet,
    pub kind: RouteKind,
}

/// Checks that `route` may be approved next to the `routes` already stored: a subnet route
/// overlaps no other gateway's approved route unless it is the same network. `name_of`
/// names gateways for the message.
pub fn check_approval(
    route: &RouteContents,
    routes: &[Route],
    name_of: impl Fn(PeerId) -> String,
) -> Result<(), RouteError> {
    if route.kind == RouteKind::Exit {
        return Ok(());
    }
    for other in routes {
        let o = &other.contents;
        if !other.approved
            || o.kind == RouteKind::Exit
            || o.gateway == route.gateway
            || o.net == route.net
        {
            continue;
        }
        if overlaps(&o.net, &route.net) {
            return Err(RouteError::OverlapsApproved {
                net: route.net,
                other: o.net,
                gateway: name_of(o.gateway),
            });
        }
    }
    Ok(())
}

/// Whether an auto-approval on the gateway's CIDR or one of its ancestors covers the route.
pub fn auto_approved(
    tree: &CidrTree<'_>,
    approvals: &[AutoApproval],
    gateway_cidr: CidrId,
    route: &RouteContentsDraft,
) -> bool {
    let ancestors = tree.ancestors_or_self(gateway_cidr);
    approvals
        .iter()
        .filter(|a| ancestors.contains(&a.cidr))
        .any(|a| match route.kind {
            RouteKind::Exit => a.exit,
            RouteKind::Subnet => a.prefixes.iter().any(|p| contains(p, &route.net)),
        })
}

/// A route as a peer receives it: an approved offer of a gateway it sees.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RouteGrant {
    pub id: RouteId,
    pub gateway: PeerId,
    pub net: IpNet,
    pub kind: RouteKind,
}

/// The routes `viewer` receives: the approved routes of the other gateways in the CIDRs it
/// sees, ordered by network and gateway. Whether a gateway is enabled is left out on
/// purpose: disabling or enabling a peer is a change of that peer, which reaches clients as
/// one, so a client uses a grant only while its gateway is among its peers ([`select`]'s
/// `present`), and the grants themselves change only with the structure (associations,
/// CIDRs, routes).
pub fn grants_for<P: Borrow<Peer>>(
    view: &NetworkView<'_, P>,
    viewer: &Peer,
    routes: &[Route],
) -> Vec<RouteGrant> {
    if routes.is_empty() {
        return Vec::new();
    }
    let tree = CidrTree::new(view.cidrs);
    let cidrs = visible_cidrs(&tree, view.associations, &view.roles, viewer.cidr_id);
    let cidr_of = |id: PeerId| -> Option<CidrId> {
        // Peers are kept sorted by id; a view that is not still gets the right answer.
        let found = view
            .peers
            .binary_search_by_key(&id, |p| p.borrow().id)
            .ok()
            .map(|i| view.peers[i].borrow())
            .or_else(|| view.peers.iter().map(Borrow::borrow).find(|p| p.id == id));
        found.map(|p| p.cidr_id)
    };
    let mut out: Vec<RouteGrant> = routes
        .iter()
        .filter(|r| {
            r.approved
                && r.contents.gateway != viewer.id
                && cidr_of(r.contents.gateway).is_some_and(|c| cidrs.contains(&c))
        })
        .map(|r| RouteGrant {
            id: r.id,
            gateway: r.contents.gateway,
            net: r.contents.net,
            kind: r.contents.kind,
        })
        .collect();
    out.sort_by_key(|g| (g.net, g.gateway));
    out
}

/// The CIDR of the first approved gateway (by id) of `net`, where a rule toward the route
/// is placed when its scope is inferred.
pub fn gateway_cidr<P: Borrow<Peer>>(book: &RouteBook, peers: &[P], net: IpNet) -> Option<CidrId> {
    let gateway = book
        .routes
        .iter()
        .filter(|r| r.approved && r.contents.net == net)
        .map(|r| r.contents.gateway)
        .min()?;
    peers
        .iter()
        .map(Borrow::borrow)
        .find(|p| p.id == gateway)
        .map(|p| p.cidr_id)
}

/// What a peer learns about routes from the server: the routes it receives, and what it
/// offers itself (approved or not), so a gateway knows what to forward.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteView {
    #[serde(default)]
    pub grants: Vec<RouteGrant>,
    #[serde(default)]
    pub offered: Vec<Route>,
    /// Devices the peer reaches through their hubs (absent from the JSON when there are
    /// none, so a network without devices answers as before).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<crate::devices::DeviceRoute>,
    /// For a hub: the devices to put on its interface (with their preshared keys: only a
    /// hub receives these).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosted: Vec<crate::devices::HostedDevice>,
    /// For a hub: what its table does for its devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub: Option<Box<crate::devices::Hub>>,
}

impl RouteView {
    /// What `viewer` learns from `book`.
    pub fn for_viewer<P: Borrow<Peer>>(
        view: &NetworkView<'_, P>,
        viewer: &Peer,
        book: &RouteBook,
    ) -> RouteView {
        RouteView {
            grants: grants_for(view, viewer, &book.routes),
            offered: book.of(viewer.id).cloned().collect(),
            devices: Vec::new(),
            hosted: Vec::new(),
            hub: None,
        }
    }

    /// The approved routes this peer must forward for.
    pub fn duties(&self) -> impl Iterator<Item = &Route> + '_ {
        self.offered.iter().filter(|r| r.approved)
    }
}

/// What a client asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteOptions {
    /// Use subnet routes (`--accept-routes`).
    pub accept_routes: bool,
    /// Send everything through this exit node (`set-exit-node`).
    pub exit_node: Option<PeerId>,
}

/// What the client's host looks like, as far as routes are concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalFacts {
    /// Networks of the host's other interfaces (its LANs).
    pub local_nets: Vec<IpNet>,
    /// The host's default gateways.
    pub default_gateways: Vec<IpAddr>,
    /// Addresses the tunnel itself sends to: the server's and every peer's endpoint, with
    /// whose they are.
    pub endpoints: Vec<(String, IpAddr)>,
}

/// Why a client does not use a route it was granted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Refusal {
    /// The route covers one of the host's own networks.
    CoversLocalNet(IpNet),
    /// The route holds the host's default gateway.
    CoversDefaultGateway(IpAddr),
    /// The route holds a tunnel endpoint: sending to it through the tunnel would loop.
    CoversEndpoint { whose: String, addr: IpAddr },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::CoversLocalNet(net) => write!(f, "it covers this host's own network {net}"),
            Refusal::CoversDefaultGateway(addr) => {
                write!(f, "it holds this host's default gateway {addr}")
            }
            Refusal::CoversEndpoint { whose, addr } => write!(
                f,
                "it holds {whose}'s endpoint {addr}, so the tunnel's own packets would loop into it"
            ),
        }
    }
}

/// A route the client uses, and through which gateway.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActiveRoute {
    pub net: IpNet,
    pub gateway: PeerId,
    pub kind: RouteKind,
    /// Other gateways offering the same network, in the order they would be tried.
    pub standby: Vec<PeerId>,
}

/// What a client does with its grants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteSelection {
    pub active: Vec<ActiveRoute>,
    /// Routes not used because they would break the host, with why.
    pub refused: Vec<(RouteGrant, Refusal)>,
    /// Routes not used because the client did not ask for them (no `--accept-routes`, or
    /// another exit node or none chosen).
    pub unused: Vec<RouteGrant>,
    /// The chosen exit node offers no exit route (or is not seen).
    pub exit_node_missing: Option<PeerId>,
}

impl RouteSelection {
    /// The extra allowed IPs of `gateway`: the networks it is active for.
    pub fn allowed_ips(&self, gateway: PeerId) -> Vec<IpNet> {
        self.active
            .iter()
            .filter(|r| r.gateway == gateway)
            .map(|r| r.net)
            .collect()
    }

    /// The subnet routes to put on the mesh interface.
    pub fn subnet_routes(&self) -> Vec<IpNet> {
        self.active
            .iter()
            .filter(|r| r.kind == RouteKind::Subnet)
            .map(|r| r.net)
            .collect()
    }

    /// The exit node in use, if any.
    pub fn exit(&self) -> Option<&ActiveRoute> {
        self.active.iter().find(|r| r.kind == RouteKind::Exit)
    }
}

/// Decides which granted routes a client uses, through which gateway.
///
/// Only grants whose gateway is `present` (among the client's peers: enabled, redeemed and
/// visible) are considered; the others are ignored as if withdrawn.
/// `down` holds gateways judged unreachable; `previous` the gateway each network used so far,
/// kept while it is up so that a route does not flap between two healthy gateways. Among the
/// gateways of one network the first up one is chosen, in the order: the previous one, then
/// by peer id. When all are down the previous (or first) one stays: there is nothing better.
pub fn select(
    grants: &[RouteGrant],
    present: &HashSet<PeerId>,
    options: &RouteOptions,
    facts: &LocalFacts,
    down: &HashSet<PeerId>,
    previous: &BTreeMap<IpNet, PeerId>,
) -> RouteSelection {
    let mut selection = RouteSelection::default();
    let mut by_net: BTreeMap<IpNet, Vec<&RouteGrant>> = BTreeMap::new();
    for grant in grants.iter().filter(|g| present.contains(&g.gateway)) {
        match grant.kind {
            RouteKind::Exit => {
                if options.exit_node == Some(grant.gateway) {
                    if selection.exit().is_none() {
                        selection.active.push(ActiveRoute {
                            net: grant.net,
                            gateway: grant.gateway,
                            kind: RouteKind::Exit,
                            standby: Vec::new(),
                        });
                    }
                } else {
                    selection.unused.push(grant.clone());
                }
            }
            RouteKind::Subnet if !options.accept_routes => selection.unused.push(grant.clone()),
            RouteKind::Subnet => match refusal(grant.net, facts) {
                Some(why) => selection.refused.push((grant.clone(), why)),
                None => by_net.entry(grant.net).or_default().push(grant),
            },
        }
    }
    if let Some(exit) = options.exit_node {
        if selection.exit().is_none() {
            selection.exit_node_missing = Some(exit);
        }
    }
    for (net, offers) in by_net {
        let mut gateways: Vec<PeerId> = offers.iter().map(|g| g.gateway).collect();
        gateways.sort();
        gateways.dedup();
        // Preference order: the previous gateway first, then by id.
        if let Some(prev) = previous.get(&net) {
            if let Some(i) = gateways.iter().position(|g| g == prev) {
                let prev = gateways.remove(i);
                gateways.insert(0, prev);
            }
        }
        let chosen = gateways
            .iter()
            .copied()
            .find(|g| !down.contains(g))
            .unwrap_or(gateways[0]);
        let standby = gateways.into_iter().filter(|g| *g != chosen).collect();
        selection.active.push(ActiveRoute {
            net,
            gateway: chosen,
            kind: RouteKind::Subnet,
            standby,
        });
    }
    selection.active.sort();
    selection
}

/// Why a subnet route would break the host, if it would.
fn refusal(net: IpNet, facts: &LocalFacts) -> Option<Refusal> {
    if let Some(local) = facts.local_nets.iter().find(|l| overlaps(l, &net)) {
        return Some(Refusal::CoversLocalNet(*local));
    }
    if let Some(gateway) = facts.default_gateways.iter().find(|g| net.contains(*g)) {
        return Some(Refusal::CoversDefaultGateway(*gateway));
    }
    facts
        .endpoints
        .iter()
        .find(|(_, addr)| net.contains(addr))
        .map(|(whose, addr)| Refusal::CoversEndpoint {
            whose: whose.clone(),
            addr: *addr,
        })
}

#[cfg(test)]
#[path = "routes_tests.rs"]
mod tests;
