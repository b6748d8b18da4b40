//! Port and protocol policy: which new connections a host accepts from the peers that reach it.
//!
//! Visibility (who is on whose interface) is the ACL's job ([`crate::acl`]); rules only narrow
//! what a visible peer may open. Enforcement is on the receiving host, for packets arriving on
//! its mesh interface that open a new connection; replies to connections the host opened are
//! always allowed (the firewall tracks connections).
//!
//! # Scopes
//!
//! A *scope* is what links a sender to a receiving host:
//! - a CIDR whose subtree holds both (its members talking among themselves; the root holds
//!   every pair, so rules attached to the root are network-wide);
//! - an association `{X, Y}` with the host in X's subtree and the sender in Y's, or the other
//!   way round.
//!
//! Where a sender lies in the tree is decided by its address: the deepest CIDR containing it
//! (peers live in leaf CIDRs, and their addresses lie inside their CIDR, so for a peer this is
//! its CIDR). That is also all a firewall can see.
//!
//! A scope is *restricted* when at least one rule is attached to it, or, for a CIDR, when it
//! is isolated ([`Policy::isolated`]). A packet from a sender to a host passes when
//! 1. it is essential ICMP ([`ESSENTIAL_ICMPV6`], [`ESSENTIAL_ICMPV4`]), or it goes to the
//!    server's API port or is a ping to the server ([`HostRole::Server`]): these are never
//!    filtered, so no rule can cut peers off from the server; or
//! 2. no scope linking the sender and the host is restricted (no rules on the pair: everything
//!    is allowed, as before rules existed); or
//! 3. a rule attached to a scope linking them matches: its source holds the sender, its
//!    destination holds the host, and its protocol and ports match the packet.
//!
//! [`decide`] is that definition, written for clarity. [`compile`] turns the policy into one
//! host's ruleset (address prefixes, protocols and ports), which [`HostRuleset::allows`]
//! evaluates; a property test checks that the two always agree.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use blake2::{Blake2s256, Digest};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::acl::NetworkView;
use crate::cidr::{contains, CidrTree};
use crate::wire::{Association, Cidr, Peer};
use crate::{AssociationId, CidrId, PeerId, RuleId};

/// ICMPv6 types a host always accepts on its mesh interface: destination-unreachable,
/// packet-too-big, time-exceeded, parameter-problem, echo-request, and router and neighbour
/// discovery (solicitations and advertisements).
pub const ESSENTIAL_ICMPV6: [u8; 9] = [1, 2, 3, 4, 128, 133, 134, 135, 136];
/// ICMP (IPv4) types a host always accepts: destination-unreachable (path MTU discovery
/// needs its fragmentation-needed code), time-exceeded and parameter-problem. Echo requests
/// follow the rules, except on the server.
pub const ESSENTIAL_ICMPV4: [u8; 3] = [3, 11, 12];
/// ICMP echo-request (IPv4); the server always answers it.
pub const ICMPV4_ECHO_REQUEST: u8 = 8;
/// The most port ranges one rule may list.
pub const MAX_PORT_RANGES: usize = 64;
/// The longest note a rule may carry, in bytes.
pub const MAX_NOTE_BYTES: usize = 200;

/// What a rule's protocol matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Protocol {
    Tcp,
    Udp,
    /// ICMP for IPv4 senders, ICMPv6 for IPv6 senders.
    Icmp,
    /// Every protocol.
    Any,
}

impl Protocol {
    /// Whether rules of this protocol may name ports.
    pub fn has_ports(self) -> bool {
        matches!(self, Protocol::Tcp | Protocol::Udp)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
            Protocol::Any => "any",
        })
    }
}

impl FromStr for Protocol {
    type Err = PolicyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Ok(Protocol::Tcp),
            "udp" => Ok(Protocol::Udp),
            "icmp" | "icmpv6" | "icmp6" | "ipv6-icmp" => Ok(Protocol::Icmp),
            "any" | "all" => Ok(Protocol::Any),
            _ => Err(PolicyError::BadProtocol {
                given: s.to_owned(),
            }),
        }
    }
}

/// An inclusive range of ports, `first..=last`, never containing port 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "PortRangeWire", into = "PortRangeWire")]
pub struct PortRange {
    first: u16,
    last: u16,
}

impl PortRange {
    pub fn new(first: u16, last: u16) -> Result<Self, PolicyError> {
        if first == 0 || last == 0 {
            return Err(PolicyError::BadPorts {
                given: format!("{first}-{last}"),
                reason: "port 0 is not a port",
            });
        }
        if first > last {
            return Err(PolicyError::BadPorts {
                given: format!("{first}-{last}"),
                reason: "a range must go from the lower port to the higher",
            });
        }
        Ok(Self { first, last })
    }

    pub fn single(port: u16) -> Result<Self, PolicyError> {
        Self::new(port, port)
    }

    pub fn first(&self) -> u16 {
        self.first
    }

    pub fn last(&self) -> u16 {
        self.last
    }

    pub fn contains(&self, port: u16) -> bool {
        (self.first..=self.last).contains(&port)
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

/// A port range on the wire: `[first, last]`.
#[derive(Serialize, Deserialize)]
struct PortRangeWire(u16, u16);

impl TryFrom<PortRangeWire> for PortRange {
    type Error = PolicyError;

    fn try_from(wire: PortRangeWire) -> Result<Self, Self::Error> {
        PortRange::new(wire.0, wire.1)
    }
}

impl From<PortRange> for PortRangeWire {
    fn from(range: PortRange) -> Self {
        PortRangeWire(range.first, range.last)
    }
}

/// Parses a port list: `22`, `8000-8080`, `22,53,8000-8080` (spaces allowed after commas).
/// The result is sorted with overlapping and adjacent ranges merged.
pub fn parse_ports(text: &str) -> Result<Vec<PortRange>, PolicyError> {
    let bad = |reason| PolicyError::BadPorts {
        given: text.to_owned(),
        reason,
    };
    if text.trim().is_empty() {
        return Err(bad("the list is empty"));
    }
    let mut ranges = Vec::new();
    for item in text.split(',') {
        let item = item.trim();
        let (first, last) = match item.split_once('-') {
            Some((first, last)) => (first.trim(), last.trim()),
            None => (item, item),
        };
        let port = |s: &str| {
            s.parse::<u16>()
                .map_err(|_| bad("a port is a number from 1 to 65535"))
        };
        let range = PortRange::new(port(first)?, port(last)?).map_err(|e| match e {
            PolicyError::BadPorts { reason, .. } => bad(reason),
            other => other,
        })?;
        ranges.push(range);
    }
    let ranges = normalize_ports(ranges);
    if ranges.len() > MAX_PORT_RANGES {
        return Err(bad("more than 64 ranges in one rule"));
    }
    Ok(ranges)
}

/// Sorts ranges and merges those that overlap or touch.
pub fn normalize_ports(mut ranges: Vec<PortRange>) -> Vec<PortRange> {
    ranges.sort();
    let mut out: Vec<PortRange> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match out.last_mut() {
            Some(prev) if u32::from(range.first) <= u32::from(prev.last) + 1 => {
                prev.last = prev.last.max(range.last);
            }
            _ => out.push(range),
        }
    }
    out
}

/// Writes a port list the way [`parse_ports`] reads it; "all ports" for an empty list.
pub fn format_ports(ports: &[PortRange]) -> String {
    if ports.is_empty() {
        return "all ports".to_owned();
    }
    ports
        .iter()
        .map(PortRange::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// What a rule is attached to: the scope whose pairs it governs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Scope {
    /// Traffic between the two sides of an association.
    Association(AssociationId),
    /// Traffic among the members of a CIDR (its whole subtree).
    Cidr(CidrId),
}

/// Who may open connections under a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Source {
    /// Any peer the scope links to the host.
    Any,
    Cidr(CidrId),
    Peer(PeerId),
}

/// Which hosts accept connections under a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Destination {
    Cidr(CidrId),
    Peer(PeerId),
    /// A route of gateway peers (its network): the rule lets the source open connections to
    /// that network through the gateways that carry it, and nothing on the gateways
    /// themselves.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    Route(IpNet),
}

/// A rule without its id: the body of creating one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleContents {
    pub scope: Scope,
    pub source: Source,
    pub destination: Destination,
    pub protocol: Protocol,
    /// Empty for "every port" (and always empty for ICMP and `any`).
    #[serde(default)]
    pub ports: Vec<PortRange>,
    /// A free-text note for people (why the rule exists).
    #[serde(default)]
    pub note: Option<String>,
}

/// A stored rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rule {
    pub id: RuleId,
    #[serde(flatten)]
    pub contents: RuleContents,
}

/// Everything the policy consists of: the rules and the isolated CIDRs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub rules: Vec<Rule>,
    /// CIDRs whose members accept nothing from each other unless a rule allows it.
    pub isolated: Vec<CidrId>,
}

impl Policy {
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.isolated.is_empty()
    }

    /// Whether a scope is restricted: rules attach to it, or it is an isolated CIDR.
    pub fn restricts(&self, scope: Scope) -> bool {
        self.rules.iter().any(|r| r.contents.scope == scope)
            || matches!(scope, Scope::Cidr(id) if self.isolated.contains(&id))
    }
}

/// Why a rule (or an isolation) cannot be added or deleted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("unknown protocol {given:?}: use tcp, udp, icmp or any")]
    BadProtocol { given: String },
    #[error("invalid ports {given:?}: {reason}")]
    BadPorts { given: String, reason: &'static str },
    #[error("a {protocol} rule cannot name ports; ports belong to tcp and udp rules")]
    PortsWithoutTransport { protocol: Protocol },
    #[error("association id {id} does not exist")]
    AssociationNotFound { id: AssociationId },
    #[error("CIDR id {id} does not exist")]
    CidrNotFound { id: CidrId },
    #[error("peer id {id} does not exist")]
    PeerNotFound { id: PeerId },
    #[error("rule id {id} does not exist")]
    RuleNotFound { id: RuleId },
    #[error("the rule's {what} ({name}) lies outside its scope ({scope}); {hint}")]
    OutsideScope {
        what: &'static str,
        name: String,
        scope: String,
        hint: &'static str,
    },
    #[error("an identical rule already exists (rule {id})")]
    Duplicate { id: RuleId },
    #[error("the note is longer than {MAX_NOTE_BYTES} bytes or holds control characters")]
    BadNote,
    #[error("invalid source or destination {given:?}: {reason}")]
    BadParty { given: String, reason: String },
    #[error("no {what} is named {name:?}")]
    UnknownName { what: String, name: String },
    #[error("{name:?} names both a CIDR and a peer: write cidr:{name} or peer:{name}")]
    AmbiguousName { name: String },
    #[error("several associations link the source and the destination ({choices}); choose one with --association")]
    AmbiguousScope { choices: String },
    #[error("invalid packet {given:?}: {reason}")]
    BadProbe { given: String, reason: String },
}

/// Where a peer or an address lies: the CIDR tree of a network, with lookups the policy needs.
struct Places<'a> {
    tree: CidrTree<'a>,
}

impl<'a> Places<'a> {
    fn new(cidrs: &'a [Cidr]) -> Self {
        Self {
            tree: CidrTree::new(cidrs),
        }
    }

    /// The deepest CIDR containing `addr` (the network's CIDRs nest, so this is unique).
    fn cidr_of_addr(&self, addr: IpAddr) -> Option<CidrId> {
        self.tree
            .all()
            .iter()
            .filter(|c| c.contents.cidr.trunc().contains(&addr))
            .max_by_key(|c| c.contents.cidr.prefix_len())
            .map(|c| c.id)
    }

    /// Whether `cidr` lies in the subtree of `top`.
    fn within(&self, cidr: CidrId, top: CidrId) -> bool {
        self.tree.ancestors_or_self(cidr).contains(&top)
    }

    fn net(&self, id: CidrId) -> Option<IpNet> {
        self.tree.get(id).map(|c| c.contents.cidr.trunc())
    }

    fn name(&self, id: CidrId) -> String {
        self.tree
            .get(id)
            .map(|c| format!("{:?} {}", c.contents.name, c.contents.cidr))
            .unwrap_or_else(|| format!("CIDR id {id}"))
    }
}

fn find_association(associations: &[Association], id: AssociationId) -> Option<&Association> {
    associations.iter().find(|a| a.id == id)
}

fn find_peer<P: std::borrow::Borrow<Peer>>(peers: &[P], id: PeerId) -> Option<&Peer> {
    peers.iter().map(|p| p.borrow()).find(|p| p.id == id)
}

/// Checks a new rule against the network and the rules already there: everything it names
/// exists, its source and destination lie inside its scope (for an association, one on each
/// side), ports only with tcp and udp, and no identical rule exists.
pub fn check_new_rule<P: std::borrow::Borrow<Peer>>(
    view: &NetworkView<'_, P>,
    policy: &Policy,
    rule: &RuleContents,
) -> Result<(), PolicyError> {
    if !rule.protocol.has_ports() && !rule.ports.is_empty() {
        return Err(PolicyError::PortsWithoutTransport {
            protocol: rule.protocol,
        });
    }
    if rule.ports.len() > MAX_PORT_RANGES {
        return Err(PolicyError::BadPorts {
            given: format_ports(&rule.ports),
            reason: "more than 64 ranges in one rule",
        });
    }
    if let Some(note) = &rule.note {
        if note.len() > MAX_NOTE_BYTES || note.chars().any(char::is_control) {
            return Err(PolicyError::BadNote);
        }
    }
    let places = Places::new(view.cidrs);
    let cidr_exists = |id: CidrId| {
        places
            .tree
            .get(id)
            .map(|_| ())
            .ok_or(PolicyError::CidrNotFound { id })
    };
    // The CIDR an endpoint of the rule is pinned to, and how to name it in an error.
    let source_place = match rule.source {
        Source::Any => None,
        Source::Cidr(id) => {
            cidr_exists(id)?;
            Some((id, places.name(id)))
        }
        Source::Peer(id) => {
            let peer = find_peer(view.peers, id).ok_or(PolicyError::PeerNotFound { id })?;
            Some((peer.cidr_id, format!("peer {:?}", peer.name.as_str())))
        }
    };
    // A route has no place of its own: it applies on the gateways of it that the scope
    // links to the source.
    let destination_place = match rule.destination {
        Destination::Cidr(id) => {
            cidr_exists(id)?;
            Some((id, places.name(id)))
        }
        Destination::Peer(id) => {
            let peer = find_peer(view.peers, id).ok_or(PolicyError::PeerNotFound { id })?;
            Some((peer.cidr_id, format!("peer {:?}", peer.name.as_str())))
        }
        Destination::Route(_) => None,
    };
    let fits = |place: &Option<(CidrId, String)>, side: CidrId| match place {
        None => true,
        Some((cidr, _)) => places.within(*cidr, side),
    };
    match rule.scope {
        Scope::Cidr(scope) => {
            cidr_exists(scope)?;
            let outside = |what, name: &String| PolicyError::OutsideScope {
                what,
                name: name.clone(),
                scope: format!("the members of CIDR {}", places.name(scope)),
                hint: "a CIDR's rules govern traffic among its own members",
            };
            if let Some((cidr, name)) = &source_place {
                if !places.within(*cidr, scope) {
                    return Err(outside("source", name));
                }
            }
            if let Some((cidr, name)) = &destination_place {
                if !places.within(*cidr, scope) {
                    return Err(outside("destination", name));
                }
            }
        }
        Scope::Association(id) => {
            let association = find_association(view.associations, id)
                .ok_or(PolicyError::AssociationNotFound { id })?;
            let (x, y) = (association.cidr_id_1, association.cidr_id_2);
            let destination = destination_place.clone();
            let ok = (fits(&source_place, x) && fits(&destination, y))
                || (fits(&source_place, y) && fits(&destination, x));
            if !ok {
                let (what, name) = match &source_place {
                    Some((cidr, name)) if !places.within(*cidr, x) && !places.within(*cidr, y) => {
                        ("source", name.clone())
                    }
                    _ => (
                        "destination",
                        destination_place
                            .as_ref()
                            .map(|d| d.1.clone())
                            .unwrap_or_default(),
                    ),
                };
                return Err(PolicyError::OutsideScope {
                    what,
                    name,
                    scope: format!(
                        "the association of {} and {}",
                        places.name(x),
                        places.name(y)
                    ),
                    hint: "an association's rules need the source on one side and the destination on the other",
                });
            }
        }
    }
    let normalized = RuleContents {
        ports: normalize_ports(rule.ports.clone()),
        ..rule.clone()
    };
    if let Some(existing) = policy.rules.iter().find(|r| {
        RuleContents {
            ports: normalize_ports(r.contents.ports.clone()),
            note: normalized.note.clone(),
            ..r.contents.clone()
        } == normalized
    }) {
        return Err(PolicyError::Duplicate { id: existing.id });
    }
    Ok(())
}

/// What a packet is, beyond its addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Tcp {
        port: u16,
    },
    Udp {
        port: u16,
    },
    /// ICMP for an IPv4 packet, ICMPv6 for an IPv6 one, with its type.
    Icmp {
        kind: u8,
    },
    /// Any other IP protocol, by number.
    Other {
        protocol: u8,
    },
}

/// The first packet of a connection arriving on a host's mesh interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Packet {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub transport: Transport,
}

/// The role of the host whose ruleset is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HostRole {
    Peer,
    /// The coordination server: its API port and pings are never filtered.
    Server {
        api_port: u16,
    },
}

/// Why a packet passes or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Essential ICMP, or the server's API port or a ping to the server.
    AlwaysAllowed,
    /// No scope linking the sender and the host is restricted.
    Unrestricted,
    /// A rule allows it.
    Rule(RuleId),
    /// The restricted scopes linking the sender and the host, none of whose rules match.
    Denied { restricted: Vec<Scope> },
}

impl Verdict {
    pub fn allowed(&self) -> bool {
        !matches!(self, Verdict::Denied { .. })
    }
}

fn always_allowed(role: HostRole, packet: &Packet) -> bool {
    match packet.transport {
        Transport::Icmp { kind } if packet.src.is_ipv6() => ESSENTIAL_ICMPV6.contains(&kind),
        Transport::Icmp { kind } => {
            ESSENTIAL_ICMPV4.contains(&kind)
                || (kind == ICMPV4_ECHO_REQUEST && matches!(role, HostRole::Server { .. }))
        }
        Transport::Tcp { port } => {
            matches!(role, HostRole::Server { api_port } if api_port == port)
        }
        _ => false,
    }
}

fn protocol_matches(protocol: Protocol, ports: &[PortRange], transport: Transport) -> bool {
    let port_ok = |port: u16| ports.is_empty() || ports.iter().any(|r| r.contains(port));
    match (protocol, transport) {
        (Protocol::Any, _) => true,
        (Protocol::Tcp, Transport::Tcp { port }) | (Protocol::Udp, Transport::Udp { port }) => {
            port_ok(port)
        }
        (Protocol::Icmp, Transport::Icmp { .. }) => true,
        _ => false,
    }
}

/// The decision, written as the definition in the module docs: whether `packet`, arriving on
/// `host`'s mesh interface and opening a connection, passes.
pub fn decide<P: std::borrow::Borrow<Peer>>(
    view: &NetworkView<'_, P>,
    policy: &Policy,
    host: &Peer,
    role: HostRole,
    packet: &Packet,
) -> Verdict {
    if always_allowed(role, packet) {
        return Verdict::AlwaysAllowed;
    }
    let places = Places::new(view.cidrs);
    let Some(sender_cidr) = places.cidr_of_addr(packet.src) else {
        return Verdict::Unrestricted;
    };
    let sender_peer = view
        .peers
        .iter()
        .map(|p| p.borrow())
        .find(|p| p.ip == packet.src);
    let host_cidr = host.cidr_id;
    let mut linking: Vec<Scope> = places
        .tree
        .ancestors_or_self(host_cidr)
        .into_iter()
        .filter(|&c| places.within(sender_cidr, c))
        .map(Scope::Cidr)
        .collect();
    for association in view.associations {
        let (x, y) = (association.cidr_id_1, association.cidr_id_2);
        if (places.within(host_cidr, x) && places.within(sender_cidr, y))
            || (places.within(host_cidr, y) && places.within(sender_cidr, x))
        {
            linking.push(Scope::Association(association.id));
        }
    }
    let restricted: Vec<Scope> = linking
        .iter()
        .copied()
        .filter(|&s| policy.restricts(s))
        .collect();
    if restricted.is_empty() {
        return Verdict::Unrestricted;
    }
    let mut rules: Vec<&Rule> = policy.rules.iter().collect();
    rules.sort_by_key(|r| r.id);
    for rule in rules {
        let r = &rule.contents;
        if !linking.contains(&r.scope) {
            continue;
        }
        let source_ok = match r.source {
            Source::Any => true,
            Source::Cidr(c) => places.within(sender_cidr, c),
            Source::Peer(p) => sender_peer.is_some_and(|s| s.id == p),
        };
        // A route's rules never open the gateway itself: packets here are addressed to it.
        let destination_ok = match r.destination {
            Destination::Cidr(c) => places.within(host_cidr, c),
            Destination::Peer(p) => host.id == p,
            Destination::Route(_) => false,
        };
        if source_ok && destination_ok && protocol_matches(r.protocol, &r.ports, packet.transport) {
            return Verdict::Rule(rule.id);
        }
    }
    Verdict::Denied { restricted }
}

/// One accept line of a host's ruleset: new connections from `source` matching the protocol
/// and ports.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Allow {
    pub rule: RuleId,
    pub source: IpNet,
    pub protocol: Protocol,
    #[serde(default)]
    pub ports: Vec<PortRange>,
    /// Only toward this network (a route the host is a gateway of); `None`: toward the
    /// host and the networks it routes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<IpNet>,
}

/// One host's compiled ruleset: what its firewall holds, in a form independent of nftables.
///
/// Senders whose address lies in one of the `restricted` prefixes may only open what an
/// [`Allow`] lets them; everyone else may open anything. Essential ICMP (and, on the server,
/// its API port and pings) always pass.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HostRuleset {
    pub role: HostRole,
    /// Sorted, none inside another.
    pub restricted: Vec<IpNet>,
    /// In rule order.
    pub allows: Vec<Allow>,
}

impl HostRuleset {
    /// The ruleset of a host with no restrictions at all.
    pub fn open(role: HostRole) -> Self {
        Self {
            role,
            restricted: Vec::new(),
            allows: Vec::new(),
        }
    }

    /// Whether the host restricts anyone.
    pub fn is_open(&self) -> bool {
        self.restricted.is_empty()
    }

    /// Evaluates the compiled ruleset the way the firewall does.
    pub fn allows(&self, packet: &Packet) -> bool {
        if always_allowed(self.role, packet) {
            return true;
        }
        if !self.restricted.iter().any(|n| n.contains(&packet.src)) {
            return true;
        }
        self.allows.iter().any(|a| {
            a.source.contains(&packet.src)
                && a.destination.is_none_or(|d| d.contains(&packet.dst))
                && protocol_matches(a.protocol, &a.ports, packet.transport)
        })
    }

    /// A short stable digest of the ruleset (hex), what clients report and listings compare.
    pub fn digest(&self) -> String {
        let canonical = serde_json::to_vec(self).expect("a ruleset serializes");
        let hash = Blake2s256::digest(&canonical);
        hash[..12].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The intersection of two prefixes: in a CIDR tree they either nest or are disjoint.
fn intersect(a: IpNet, b: IpNet) -> Option<IpNet> {
    if contains(&a, &b) {
        Some(b)
    } else if contains(&b, &a) {
        Some(a)
    } else {
        None
    }
}

/// Drops prefixes that lie inside another, then sorts.
fn minimal_prefixes(nets: impl IntoIterator<Item = IpNet>) -> Vec<IpNet> {
    let nets: BTreeSet<IpNet> = nets.into_iter().collect();
    let mut out: Vec<IpNet> = Vec::new();
    for net in &nets {
        if !nets
            .iter()
            .any(|other| other != net && contains(other, net))
        {
            out.push(*net);
        }
    }
    out
}

/// Compiles the policy for one host: the prefixes of the restricted scopes linking it to
/// others, and for each rule whose destination holds the host, the senders it lets in.
pub fn compile<P: std::borrow::Borrow<Peer>>(
    view: &NetworkView<'_, P>,
    policy: &Policy,
    host: &Peer,
    role: HostRole,
) -> HostRuleset {
    compile_gateway(view, policy, host, role, &[])
}

/// [`compile`] for a gateway of `routes` (its approved networks): rules naming one of them
/// as destination let their senders open connections toward that network only.
pub fn compile_gateway<P: std::borrow::Borrow<Peer>>(
    view: &NetworkView<'_, P>,
    policy: &Policy,
    host: &Peer,
    role: HostRole,
    routes: &[IpNet],
) -> HostRuleset {
    if policy.is_empty() {
        return HostRuleset::open(role);
    }
    let places = Places::new(view.cidrs);
    let host_cidrs = places.tree.ancestors_or_self(host.cidr_id);
    // The prefixes a scope links the host to (the other side of an association; both when
    // the host is on both sides).
    let sides = |scope: Scope| -> Vec<IpNet> {
        match scope {
            Scope::Cidr(c) if host_cidrs.contains(&c) => places.net(c).into_iter().collect(),
            Scope::Cidr(_) => Vec::new(),
            Scope::Association(id) => {
                let Some(a) = find_association(view.associations, id) else {
                    return Vec::new();
                };
                let (x, y) = (a.cidr_id_1, a.cidr_id_2);
                let mut out = Vec::new();
                if host_cidrs.contains(&x) {
                    out.extend(places.net(y));
                }
                if host_cidrs.contains(&y) {
                    out.extend(places.net(x));
                }
                out
            }
        }
    };
    let mut restricted = Vec::new();
    for &c in &host_cidrs {
        if policy.restricts(Scope::Cidr(c)) {
            restricted.extend(places.net(c));
        }
    }
    for association in view.associations {
        if policy.restricts(Scope::Association(association.id)) {
            restricted.extend(sides(Scope::Association(association.id)));
        }
    }
    // The addresses of the peers rules name as sources, in one pass over the peers.
    let named: HashSet<PeerId> = policy
        .rules
        .iter()
        .filter_map(|r| match r.contents.source {
            Source::Peer(p) => Some(p),
            _ => None,
        })
        .collect();
    let source_peers: HashMap<PeerId, IpAddr> = if named.is_empty() {
        HashMap::new()
    } else {
        view.peers
            .iter()
            .map(|p| p.borrow())
            .filter(|p| named.contains(&p.id))
            .map(|p| (p.id, p.ip))
            .collect()
    };
    let mut rules: Vec<&Rule> = policy.rules.iter().collect();
    rules.sort_by_key(|r| r.id);
    let mut allows = Vec::new();
    let mut seen = HashSet::new();
    for rule in rules {
        let r = &rule.contents;
        let (destination_ok, toward) = match r.destination {
            Destination::Cidr(c) => (host_cidrs.contains(&c), None),
            Destination::Peer(p) => (host.id == p, None),
            Destination::Route(net) => (routes.contains(&net), Some(net)),
        };
        if !destination_ok {
            continue;
        }
        let source: Option<IpNet> = match r.source {
            Source::Any => None,
            Source::Cidr(c) => match places.net(c) {
                Some(net) => Some(net),
                None => continue,
            },
            Source::Peer(p) => match source_peers.get(&p) {
                Some(ip) => Some(IpNet::from(*ip)),
                None => continue,
            },
        };
        for side in sides(r.scope) {
            let narrowed = match source {
                None => Some(side),
                Some(source) => intersect(side, source),
            };
            if let Some(net) = narrowed {
                let allow = Allow {
                    rule: rule.id,
                    source: net,
                    protocol: r.protocol,
                    ports: normalize_ports(r.ports.clone()),
                    destination: toward,
                };
                if seen.insert(allow.clone()) {
                    allows.push(allow);
                }
            }
        }
    }
    HostRuleset {
        role,
        restricted: minimal_prefixes(restricted),
        allows,
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;

#[path = "policy_access.rs"]
pub mod access;

#[path = "policy_spec.rs"]
pub mod spec;
