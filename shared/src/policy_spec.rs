//! Rules as people write them on a command line: sources and destinations by name
//! (`humans`, `cidr:humans`, `peer:alice`, `any`; a destination may also be a route,
//! `route:192.168.10.0/24`), the scope found from them when it is not
//! given, and packets to explain (`alice`, `alice:22/tcp`, `10.66.2.5:53/udp`,
//! `[fd00::5]:22`, `bob/icmp`).

use std::net::IpAddr;
use std::str::FromStr;

use super::{Destination, PolicyError, Protocol, Scope, Source};
use crate::acl::NetworkView;
use crate::cidr::CidrTree;
use crate::wire::{Cidr, Peer};
use crate::CidrId;

/// A source or destination as written: `any`, `cidr:NAME`, `peer:NAME` or a bare name (a
/// CIDR's or a peer's; both existing is an error asking for the prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Party {
    Any,
    Cidr(String),
    Peer(String),
    Name(String),
    /// `route:NET`: the network of a route gateways carry (a destination only).
    Route(ipnet::IpNet),
}

impl FromStr for Party {
    type Err = PolicyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let bad = |reason: &str| PolicyError::BadParty {
            given: text.to_owned(),
            reason: reason.to_owned(),
        };
        if text.is_empty() {
            return Err(bad("it is empty"));
        }
        Ok(match text.split_once(':') {
            Some(("cidr", name)) if !name.is_empty() => Party::Cidr(name.to_owned()),
            Some(("peer", name)) if !name.is_empty() => Party::Peer(name.to_owned()),
            Some(("route", net)) => Party::Route(
                net.parse()
                    .map_err(|_| bad("route:NET takes a network, e.g. route:192.168.10.0/24"))?,
            ),
            Some(_) => {
                return Err(bad(
                    "write cidr:NAME, peer:NAME, route:NET, any or a bare name",
                ))
            }
            None if text.eq_ignore_ascii_case("any") => Party::Any,
            None => Party::Name(text.to_owned()),
        })
    }
}

/// What a party names in a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Named<'a> {
    Any,
    Cidr(&'a Cidr),
    Peer(&'a Peer),
}

fn lookup<'a, P: std::borrow::Borrow<Peer>>(
    party: &Party,
    cidrs: &'a [Cidr],
    peers: &'a [P],
) -> Result<Named<'a>, PolicyError> {
    let cidr = |name: &str| cidrs.iter().find(|c| c.name == name);
    let peer = |name: &str| {
        peers
            .iter()
            .map(|p| p.borrow())
            .find(|p| p.name.as_str() == name)
    };
    let missing = |what: &str, name: &str| PolicyError::UnknownName {
        what: what.to_owned(),
        name: name.to_owned(),
    };
    Ok(match party {
        Party::Route(net) => {
            return Err(PolicyError::BadParty {
                given: format!("route:{net}"),
                reason: "a route is a destination only".to_owned(),
            })
        }
        Party::Any => Named::Any,
        Party::Cidr(name) => Named::Cidr(cidr(name).ok_or_else(|| missing("CIDR", name))?),
        Party::Peer(name) => Named::Peer(peer(name).ok_or_else(|| missing("peer", name))?),
        Party::Name(name) => match (cidr(name), peer(name)) {
            (Some(_), Some(_)) => return Err(PolicyError::AmbiguousName { name: name.clone() }),
            (Some(c), None) => Named::Cidr(c),
            (None, Some(p)) => Named::Peer(p),
            (None, None) => return Err(missing("CIDR or peer", name)),
        },
    })
}

/// The source a party names.
pub fn source<P: std::borrow::Borrow<Peer>>(
    party: &Party,
    cidrs: &[Cidr],
    peers: &[P],
) -> Result<Source, PolicyError> {
    Ok(match lookup(party, cidrs, peers)? {
        Named::Any => Source::Any,
        Named::Cidr(c) => Source::Cidr(c.id),
        Named::Peer(p) => Source::Peer(p.id),
    })
}

/// The destination a party names (`any` is not a destination).
pub fn destination<P: std::borrow::Borrow<Peer>>(
    party: &Party,
    cidrs: &[Cidr],
    peers: &[P],
) -> Result<Destination, PolicyError> {
    if let Party::Route(net) = party {
        return Ok(Destination::Route(net.trunc()));
    }
    Ok(match lookup(party, cidrs, peers)? {
        Named::Any => {
            return Err(PolicyError::BadParty {
                given: "any".to_owned(),
                reason: "a destination is a CIDR or a peer".to_owned(),
            })
        }
        Named::Cidr(c) => Destination::Cidr(c.id),
        Named::Peer(p) => Destination::Peer(p.id),
    })
}

/// The scope of a rule from `source` to `destination` when none is given: the one
/// association with the source on one side and the destination on the other; else, when no
/// association links them, the smallest CIDR holding both (its members' traffic). Several
/// fitting associations are an error naming them.
pub fn infer_scope<P: std::borrow::Borrow<Peer>>(
    view: &NetworkView<'_, P>,
    source: Source,
    destination: Destination,
) -> Result<Scope, PolicyError> {
    infer_scope_toward(view, source, destination, None)
}

/// [`infer_scope`], where a route destination is placed at `gateway` (the CIDR of a gateway
/// that carries it); without one a route's scope cannot be inferred.
pub fn infer_scope_toward<P: std::borrow::Borrow<Peer>>(
    view: &NetworkView<'_, P>,
    source: Source,
    destination: Destination,
    gateway: Option<CidrId>,
) -> Result<Scope, PolicyError> {
    let tree = CidrTree::new(view.cidrs);
    let place_of_peer = |id| {
        view.peers
            .iter()
            .map(|p| p.borrow())
            .find(|p| p.id == id)
            .map(|p| p.cidr_id)
    };
    let destination_cidr = match destination {
        Destination::Cidr(c) => c,
        Destination::Peer(p) => place_of_peer(p).ok_or(PolicyError::PeerNotFound { id: p })?,
        Destination::Route(net) => gateway.ok_or(PolicyError::BadParty {
            given: format!("route:{net}"),
            reason: "no approved gateway carries it (list-routes shows the routes)".to_owned(),
        })?,
    };
    let source_cidr: Option<CidrId> = match source {
        Source::Any => None,
        Source::Cidr(c) => Some(c),
        Source::Peer(p) => Some(place_of_peer(p).ok_or(PolicyError::PeerNotFound { id: p })?),
    };
    let within = |cidr: CidrId, top: CidrId| tree.ancestors_or_self(cidr).contains(&top);
    let fits = |x: CidrId, y: CidrId| {
        source_cidr.is_none_or(|s| within(s, x)) && within(destination_cidr, y)
    };
    let fitting: Vec<_> = view
        .associations
        .iter()
        .filter(|a| fits(a.cidr_id_1, a.cidr_id_2) || fits(a.cidr_id_2, a.cidr_id_1))
        .collect();
    match fitting.as_slice() {
        [one] => return Ok(Scope::Association(one.id)),
        [] => {}
        many => {
            return Err(PolicyError::AmbiguousScope {
                choices: many
                    .iter()
                    .map(|a| {
                        let name = |id| tree.get(id).map_or(id.to_string(), |c| c.name.clone());
                        format!("{},{}", name(a.cidr_id_1), name(a.cidr_id_2))
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            })
        }
    }
    // No association: the smallest CIDR holding both.
    let source_cidr = source_cidr.unwrap_or(destination_cidr);
    let common = tree
        .ancestors_or_self(destination_cidr)
        .into_iter()
        .find(|c| within(source_cidr, *c))
        .ok_or(PolicyError::CidrNotFound {
            id: destination_cidr,
        })?;
    Ok(Scope::Cidr(common))
}

/// A packet to explain, as written: its target (a name or an address) and optionally
/// `:PORT`, `/PROTO` or both (`alice:22/tcp`; `[fd00::5]:22`; `bob/icmp`). Without a
/// protocol, a port means tcp and no port means an ICMP echo request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub target: String,
    pub protocol: Protocol,
    pub port: Option<u16>,
}

impl FromStr for Probe {
    type Err = PolicyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| PolicyError::BadProbe {
            given: text.to_owned(),
            reason: reason.to_owned(),
        };
        let (rest, protocol) = match text.rsplit_once('/') {
            Some((rest, proto)) => (rest, Some(proto.parse::<Protocol>()?)),
            None => (text, None),
        };
        let (target, port) = if let Some(inner) = rest.strip_prefix('[') {
            let (addr, after) = inner
                .split_once(']')
                .ok_or_else(|| bad("an IPv6 address in brackets needs its closing ]"))?;
            match after.strip_prefix(':') {
                Some(port) => (addr.to_owned(), Some(port)),
                None if after.is_empty() => (addr.to_owned(), None),
                None => return Err(bad("expected :PORT after the ]")),
            }
        } else if rest.parse::<IpAddr>().is_ok() {
            (rest.to_owned(), None)
        } else {
            match rest.rsplit_once(':') {
                Some((target, port)) => (target.to_owned(), Some(port)),
                None => (rest.to_owned(), None),
            }
        };
        if target.is_empty() {
            return Err(bad("the target is empty"));
        }
        let port = port
            .map(|p| {
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| bad("a port is a number from 1 to 65535"))
            })
            .transpose()?;
        let protocol = match (protocol, port) {
            (Some(Protocol::Any), _) => return Err(bad("name one protocol: tcp, udp or icmp")),
            (Some(p @ (Protocol::Tcp | Protocol::Udp)), None) => {
                return Err(bad(&format!("{p} needs a port: TARGET:PORT/{p}")))
            }
            (Some(Protocol::Icmp), Some(_)) => return Err(bad("icmp has no ports")),
            (Some(p), _) => p,
            (None, Some(_)) => Protocol::Tcp,
            (None, None) => Protocol::Icmp,
        };
        Ok(Probe {
            target,
            protocol,
            port,
        })
    }
}
