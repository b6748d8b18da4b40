//! The `--json` output of the listing commands of both binaries, and the depth-first order
//! in which CIDRs are listed. The shapes are documented in `doc/json-output.md`; fields are
//! only ever added, never renamed or removed.
//!
//! - `wiremesh list-cidrs --json`: `{"cidrs": [CIDR…]}`
//! - `wiremesh list-peers --json`: `{"peers": [PEER…]}`
//! - `wiremesh list-associations --json` and `wiremesh-server list-associations --json`:
//!   `{"associations": [ASSOCIATION…]}`
//! - `wiremesh-server list --json`: `{"network": NAME, "cidrs": [CIDR…], "peers": [PEER…]}`
//!
//! CIDRs come in tree order (a parent before its children, siblings by address) with their
//! depth; peers by address; associations by id.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use ipnet::IpNet;
use serde::Serialize;

use crate::devices::KeySource;
use crate::wire::{Association, Cidr, Peer};
use crate::{AssociationId, CidrId, PeerId};

/// One CIDR of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CidrEntry {
    pub id: CidrId,
    pub name: String,
    pub cidr: IpNet,
    /// The parent's id; `null` for the root.
    pub parent_id: Option<CidrId>,
    /// The parent's name; `null` for the root or a parent missing from the listing.
    pub parent: Option<String>,
    /// 0 for the root, 1 for its children, and so on.
    pub depth: usize,
}

/// Where a peer's invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum InviteState {
    /// Redeemed: the peer runs with its own key.
    Redeemed,
    /// Not redeemed yet, and not expired.
    Pending,
    /// Not redeemed, and past its expiry: it can no longer be redeemed.
    Expired,
}

/// One peer of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PeerEntry {
    pub id: PeerId,
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub ip: IpAddr,
    pub cidr_id: CidrId,
    /// The CIDR's name; `null` when the CIDR is not in the listing.
    pub cidr: Option<String>,
    pub public_key: String,
    /// The endpoint stored on the server (an override or the last one observed), `null` if none.
    pub endpoint: Option<String>,
    pub persistent_keepalive_interval: Option<u16>,
    pub is_admin: bool,
    pub is_disabled: bool,
    pub is_redeemed: bool,
    pub invite: InviteState,
    /// When the invitation expires(d), in seconds since the Unix epoch; `null` if never.
    pub invite_expires: Option<u64>,
    /// NAT candidates the peer reported.
    pub candidates: Vec<String>,
    /// Present for a device (a peer without the client that joins through a hub).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceEntry>,
    /// Present for an ephemeral peer: the server deletes it once it has been offline this
    /// many seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ephemeral_secs: Option<u64>,
}

/// What a listing says about a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceEntry {
    /// The device's peer id (the entry it belongs to).
    #[serde(skip)]
    pub peer: PeerId,
    pub hub_id: PeerId,
    /// The hub's name.
    pub hub: String,
    /// `supplied` (the device's own key) or `generated` (by the server, handed out once).
    pub key: KeySource,
    pub full_tunnel: bool,
    pub preshared_key: bool,
    /// The configuration the device holds is no longer the one it should hold
    /// (`export-device` issues it again).
    pub stale: bool,
}

/// One association of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssociationEntry {
    pub id: AssociationId,
    pub cidr_id_1: CidrId,
    /// The first CIDR's name; `null` when it is not in the listing.
    pub cidr_1: Option<String>,
    pub cidr_id_2: CidrId,
    pub cidr_2: Option<String>,
}

/// Walks the CIDR tree depth first: a parent before its children, siblings by address.
/// CIDRs whose parent is missing become extra roots, and a cycle is cut, so every CIDR is
/// listed exactly once whatever the input.
pub fn tree_order(cidrs: &[Cidr]) -> Vec<(&Cidr, usize)> {
    let ids: HashSet<CidrId> = cidrs.iter().map(|c| c.id).collect();
    let mut children: HashMap<Option<CidrId>, Vec<&Cidr>> = HashMap::new();
    for cidr in cidrs {
        let parent = cidr.parent.filter(|p| ids.contains(p));
        children.entry(parent).or_default().push(cidr);
    }
    for list in children.values_mut() {
        list.sort_by_key(|c| (c.cidr.network(), c.cidr.prefix_len(), c.id));
    }
    let mut order = Vec::with_capacity(cidrs.len());
    let mut seen = HashSet::new();
    let roots = children.get(&None).cloned().unwrap_or_default();
    let mut stack: Vec<(&Cidr, usize)> = roots.into_iter().rev().map(|c| (c, 0)).collect();
    while let Some((cidr, depth)) = stack.pop() {
        if !seen.insert(cidr.id) {
            continue;
        }
        order.push((cidr, depth));
        if let Some(kids) = children.get(&Some(cidr.id)) {
            stack.extend(kids.iter().rev().map(|c| (*c, depth + 1)));
        }
    }
    // Members of a parent cycle have no root above them: list them last, flat.
    let mut rest: Vec<&Cidr> = cidrs.iter().filter(|c| !seen.contains(&c.id)).collect();
    rest.sort_by_key(|c| (c.cidr.network(), c.cidr.prefix_len(), c.id));
    order.extend(rest.into_iter().map(|c| (c, 0)));
    order
}

fn names(cidrs: &[Cidr]) -> HashMap<CidrId, &str> {
    cidrs.iter().map(|c| (c.id, c.name.as_str())).collect()
}

/// The CIDRs in tree order.
pub fn cidr_entries(cidrs: &[Cidr]) -> Vec<CidrEntry> {
    let names = names(cidrs);
    tree_order(cidrs)
        .into_iter()
        .map(|(cidr, depth)| CidrEntry {
            id: cidr.id,
            name: cidr.name.clone(),
            cidr: cidr.cidr,
            parent_id: cidr.parent,
            parent: cidr
                .parent
                .and_then(|p| names.get(&p).map(|n| (*n).to_owned())),
            depth,
        })
        .collect()
}

/// The state of `peer`'s invitation at `now`.
pub fn invite_state(peer: &Peer, now: SystemTime) -> InviteState {
    if peer.is_redeemed {
        InviteState::Redeemed
    } else if peer.invite_expires.is_some_and(|expires| expires <= now) {
        InviteState::Expired
    } else {
        InviteState::Pending
    }
}

/// What the server knows of some peers beyond their rows: which are devices, and which are
/// ephemeral (with their window in seconds). Clients know neither: [`PeerNotes::default`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerNotes {
    pub devices: Vec<DeviceEntry>,
    pub ephemeral: std::collections::BTreeMap<PeerId, u64>,
}

/// The peers by address, with their CIDR's name and invitation state at `now`, and what
/// `notes` says of them.
pub fn peer_entries(
    peers: &[Peer],
    cidrs: &[Cidr],
    notes: &PeerNotes,
    now: SystemTime,
) -> Vec<PeerEntry> {
    let names = names(cidrs);
    let device = |id: PeerId| notes.devices.iter().find(|d| d.peer == id).cloned();
    let mut sorted: Vec<&Peer> = peers.iter().collect();
    sorted.sort_by_key(|p| (p.ip, p.id));
    sorted
        .into_iter()
        .map(|peer| PeerEntry {
            id: peer.id,
            name: peer.name.to_string(),
            ip: peer.ip,
            cidr_id: peer.cidr_id,
            cidr: names.get(&peer.cidr_id).map(|n| (*n).to_owned()),
            public_key: peer.public_key.to_base64(),
            endpoint: peer.endpoint.as_ref().map(ToString::to_string),
            persistent_keepalive_interval: peer.persistent_keepalive_interval,
            is_admin: peer.is_admin,
            is_disabled: peer.is_disabled,
            is_redeemed: peer.is_redeemed,
            invite: invite_state(peer, now),
            invite_expires: peer
                .invite_expires
                .map(|t| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())),
            candidates: peer.candidates.iter().map(ToString::to_string).collect(),
            device: device(peer.id),
            ephemeral_secs: notes.ephemeral.get(&peer.id).copied(),
        })
        .collect()
}

/// The associations by id, with their CIDRs' names.
pub fn association_entries(associations: &[Association], cidrs: &[Cidr]) -> Vec<AssociationEntry> {
    let names = names(cidrs);
    let name = |id: CidrId| names.get(&id).map(|n| (*n).to_owned());
    let mut sorted: Vec<&Association> = associations.iter().collect();
    sorted.sort_by_key(|a| a.id);
    sorted
        .into_iter()
        .map(|a| AssociationEntry {
            id: a.id,
            cidr_id_1: a.cidr_id_1,
            cidr_1: name(a.cidr_id_1),
            cidr_id_2: a.cidr_id_2,
            cidr_2: name(a.cidr_id_2),
        })
        .collect()
}

#[derive(Serialize)]
struct CidrsDoc<'a> {
    cidrs: &'a [CidrEntry],
}

#[derive(Serialize)]
struct PeersDoc<'a> {
    peers: &'a [PeerEntry],
}

#[derive(Serialize)]
struct AssociationsDoc<'a> {
    associations: &'a [AssociationEntry],
}

#[derive(Serialize)]
struct NetworkDoc<'a> {
    network: &'a str,
    cidrs: &'a [CidrEntry],
    peers: &'a [PeerEntry],
}

fn pretty(value: &impl Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("listings always serialise");
    text.push('\n');
    text
}

/// `{"cidrs": […]}`, pretty-printed, with a final newline.
pub fn cidrs_json(cidrs: &[Cidr]) -> String {
    pretty(&CidrsDoc {
        cidrs: &cidr_entries(cidrs),
    })
}

/// `{"peers": […]}`, pretty-printed, with a final newline.
pub fn peers_json(peers: &[Peer], cidrs: &[Cidr], now: SystemTime) -> String {
    pretty(&PeersDoc {
        peers: &peer_entries(peers, cidrs, &PeerNotes::default(), now),
    })
}

/// `{"associations": […]}`, pretty-printed, with a final newline.
pub fn associations_json(associations: &[Association], cidrs: &[Cidr]) -> String {
    pretty(&AssociationsDoc {
        associations: &association_entries(associations, cidrs),
    })
}

/// `{"network": …, "cidrs": […], "peers": […]}`, pretty-printed, with a final newline.
pub fn network_json(
    network: &str,
    cidrs: &[Cidr],
    peers: &[Peer],
    notes: &PeerNotes,
    now: SystemTime,
) -> String {
    pretty(&NetworkDoc {
        network,
        cidrs: &cidr_entries(cidrs),
        peers: &peer_entries(peers, cidrs, notes, now),
    })
}

#[cfg(test)]
#[path = "listing_tests.rs"]
mod tests;
