//! What a sender may open on a host, summed up for people: the `--plan` of a policy change
//! (who gains and who loses access) and `explain`.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::{
    compile, normalize_ports, Destination, HostRole, HostRuleset, Policy, PortRange, Protocol,
    Source,
};
use crate::acl::{shown, visible_cidrs, NetworkView};
use crate::cidr::{contains, CidrTree};
use crate::wire::Peer;
use crate::{CidrId, PeerId};

/// What a sender may open on a host (essential ICMP aside, which always passes).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "allowed")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Access {
    Everything,
    /// Only these (protocol, ports) pairs; ports empty for "every port" and for ICMP.
    Only(Vec<(Protocol, Vec<PortRange>)>),
    Nothing,
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Access::Everything => f.write_str("everything"),
            Access::Nothing => f.write_str("nothing"),
            Access::Only(items) => {
                let parts: Vec<String> = items
                    .iter()
                    .map(|(protocol, ports)| {
                        if ports.is_empty() {
                            protocol.to_string()
                        } else {
                            format!("{protocol} {}", super::format_ports(ports))
                        }
                    })
                    .collect();
                f.write_str(&parts.join(", "))
            }
        }
    }
}

/// What a sender whose addresses are `sender` (a CIDR's network or one peer's address) may
/// open on the host of `ruleset`.
pub fn access_of(ruleset: &HostRuleset, sender: IpNet) -> Access {
    if !ruleset.restricted.iter().any(|r| contains(r, &sender)) {
        return Access::Everything;
    }
    let mut tcp: Option<Vec<PortRange>> = None;
    let mut udp: Option<Vec<PortRange>> = None;
    let (mut tcp_all, mut udp_all, mut icmp) = (false, false, false);
    for allow in ruleset
        .allows
        .iter()
        .filter(|a| contains(&a.source, &sender))
    {
        match allow.protocol {
            Protocol::Any => return Access::Everything,
            Protocol::Icmp => icmp = true,
            Protocol::Tcp if allow.ports.is_empty() => tcp_all = true,
            Protocol::Udp if allow.ports.is_empty() => udp_all = true,
            Protocol::Tcp => tcp.get_or_insert_with(Vec::new).extend(&allow.ports),
            Protocol::Udp => udp.get_or_insert_with(Vec::new).extend(&allow.ports),
        }
    }
    let mut items = Vec::new();
    if tcp_all {
        items.push((Protocol::Tcp, Vec::new()));
    } else if let Some(ports) = tcp {
        items.push((Protocol::Tcp, normalize_ports(ports)));
    }
    if udp_all {
        items.push((Protocol::Udp, Vec::new()));
    } else if let Some(ports) = udp {
        items.push((Protocol::Udp, normalize_ports(ports)));
    }
    if icmp {
        items.push((Protocol::Icmp, Vec::new()));
    }
    if items.is_empty() {
        Access::Nothing
    } else {
        Access::Only(items)
    }
}

/// Who sends, in a plan: the members of a (leaf) CIDR, or one peer a rule names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Sender {
    Cidr(CidrId),
    Peer(PeerId),
}

/// One line of a plan: what `sender` may open on the `receivers` before and after a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessChange {
    pub sender: Sender,
    /// The receiving peers (they share a ruleset: one CIDR, or one peer a rule names).
    pub receivers: Vec<PeerId>,
    pub before: Access,
    pub after: Access,
}

/// Who gains and who loses access when the policy goes from `before` to `after`: for every
/// group of receiving peers whose ruleset changes, every sender group it sees whose access
/// changes. Only enabled, redeemed peers count.
pub fn plan_change<P: std::borrow::Borrow<Peer>>(
    view: &NetworkView<'_, P>,
    before: &Policy,
    after: &Policy,
) -> Vec<AccessChange> {
    let tree = CidrTree::new(view.cidrs);
    let active: Vec<&Peer> = view
        .peers
        .iter()
        .map(|p| p.borrow())
        .filter(|p| p.is_redeemed && !p.is_disabled)
        .collect();
    let named_destinations: HashSet<PeerId> = [before, after]
        .iter()
        .flat_map(|p| p.rules.iter())
        .filter_map(|r| match r.contents.destination {
            Destination::Peer(p) => Some(p),
            Destination::Cidr(_) | Destination::Route(_) => None,
        })
        .collect();
    let named_sources: BTreeSet<PeerId> = [before, after]
        .iter()
        .flat_map(|p| p.rules.iter())
        .filter_map(|r| match r.contents.source {
            Source::Peer(p) => Some(p),
            _ => None,
        })
        .collect();
    // Receivers grouped by the ruleset they share.
    let mut groups: HashMap<(CidrId, Option<PeerId>), Vec<&Peer>> = HashMap::new();
    for peer in &active {
        let own = named_destinations.contains(&peer.id).then_some(peer.id);
        groups.entry((peer.cidr_id, own)).or_default().push(peer);
    }
    let mut keys: Vec<_> = groups.keys().copied().collect();
    keys.sort();
    let mut out = Vec::new();
    for key in keys {
        let receivers = &groups[&key];
        let host = receivers[0];
        let old = compile(view, before, host, HostRole::Peer);
        let new = compile(view, after, host, HostRole::Peer);
        if old == new {
            continue;
        }
        let seen = visible_cidrs(&tree, view.associations, &view.roles, host.cidr_id);
        let mut senders: Vec<(Sender, IpNet)> = Vec::new();
        for cidr in tree.leaves() {
            let members = active
                .iter()
                .any(|p| p.cidr_id == cidr.id && shown(p, &seen));
            if members {
                senders.push((Sender::Cidr(cidr.id), cidr.contents.cidr.trunc()));
            }
        }
        for id in &named_sources {
            if let Some(peer) = active.iter().find(|p| p.id == *id) {
                if shown(peer, &seen) {
                    senders.push((Sender::Peer(peer.id), IpNet::from(peer.ip)));
                }
            }
        }
        for (sender, net) in senders {
            let (was, is) = (access_of(&old, net), access_of(&new, net));
            if was != is {
                out.push(AccessChange {
                    sender,
                    receivers: receivers.iter().map(|p| p.id).collect(),
                    before: was,
                    after: is,
                });
            }
        }
    }
    out
}
