//! Devices without the client: phones, routers and appliances that run a plain WireGuard
//! configuration (wg-quick, a phone app) instead of `wiremesh`.
//!
//! A device is a peer row (so its name, address and key are unique with every other peer's,
//! and its address is never handed out again) plus a [`Device`] record: the **hub** it joins
//! through, where its key came from, and the fingerprint of the configuration it was last
//! issued. Its configuration has one `[Peer]`, the hub, so it stays valid while the mesh
//! changes; the hub forwards between the device and the mesh peers the ACL lets it see.
//!
//! The rules:
//! - mesh peers never see a device as a peer (it is left out of their state, innernet's
//!   clients included); a peer that sees the device's CIDR receives its address as a
//!   [`DeviceRoute`] through the hub instead ([`device_routes_for`]), which joins the hub's
//!   allowed IPs on its interface;
//! - the device's `AllowedIPs` cover what the ACL lets it see: the networks of the CIDRs its
//!   own CIDR sees, and the hub ([`device_allowed_ips`]); a full-tunnel device sends
//!   everything to the hub;
//! - a configuration is *stale* when the one the server would issue now differs from the
//!   one issued ([`DeviceConfig::fingerprint`], which leaves out the private key);
//! - reissuing the configuration of a device whose key the server generated (and never kept)
//!   is a new identity: a new key **and** a new address, because an address never changes
//!   key ([`Reissue`]).

use std::borrow::Borrow;
use std::collections::HashSet;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use blake2::{Blake2s256, Digest};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use wireguard_control::{PresharedKey, PrivateKey};

use crate::acl::{visible_cidrs, NetworkView};
use crate::cidr::{contains, CidrTree};
use crate::policy::HostRuleset;
use crate::wire::Peer;
use crate::{CidrId, Endpoint, Hostname, PeerId, PublicKey};

/// The keepalive a device's configuration asks for: NATs in front of phones forget idle
/// mappings quickly, and the hub can only reach a device that keeps its mapping open.
pub const DEVICE_KEEPALIVE_SECS: u16 = 25;

/// The MTU of a device's interface: the mesh's (innernet's default), so packets the hub
/// forwards between a device and a mesh peer fit both tunnels.
pub const DEVICE_MTU: u32 = 1280;

/// Where a device's key pair came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum KeySource {
    /// The operator passed the public key; the private key never left the device.
    Supplied,
    /// The server generated the pair and returned the private key once; it kept none.
    Generated,
}

impl KeySource {
    /// The word stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            KeySource::Supplied => "supplied",
            KeySource::Generated => "generated",
        }
    }

    /// The source a stored word names.
    pub fn parse(word: &str) -> Option<KeySource> {
        match word {
            "supplied" => Some(KeySource::Supplied),
            "generated" => Some(KeySource::Generated),
            _ => None,
        }
    }
}

/// What makes a peer a device.
#[derive(Clone, PartialEq, Eq)]
pub struct Device {
    /// The device's peer row.
    pub peer: PeerId,
    /// The peer it joins through (the server's own peer for the server).
    pub hub: PeerId,
    pub key: KeySource,
    /// Everything goes to the hub, which is its exit node.
    pub full_tunnel: bool,
    /// Sent only to the hub (and in the device's configuration).
    pub preshared_key: Option<PresharedKey>,
    /// [`DeviceConfig::fingerprint`] of the configuration last issued.
    pub issued: String,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("peer", &self.peer)
            .field("hub", &self.hub)
            .field("key", &self.key)
            .field("full_tunnel", &self.full_tunnel)
            .field(
                "preshared_key",
                &self.preshared_key.as_ref().map(|_| "<set>"),
            )
            .field("issued", &self.issued)
            .finish()
    }
}

/// Every device of a network, sorted by peer id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceBook {
    pub devices: Vec<Device>,
}

impl DeviceBook {
    /// The device record of peer `id`, if it is a device.
    pub fn get(&self, id: PeerId) -> Option<&Device> {
        self.devices
            .binary_search_by_key(&id, |d| d.peer)
            .ok()
            .map(|i| &self.devices[i])
    }

    /// Whether peer `id` is a device.
    pub fn is_device(&self, id: PeerId) -> bool {
        self.get(id).is_some()
    }

    /// The devices that join through `hub`.
    pub fn hosted_by(&self, hub: PeerId) -> impl Iterator<Item = &Device> + '_ {
        self.devices.iter().filter(move |d| d.hub == hub)
    }

    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }
}

/// A device's address as a mesh peer receives it: reachable through `hub`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeviceRoute {
    pub device: PeerId,
    pub name: Hostname,
    pub ip: IpAddr,
    pub hub: PeerId,
}

/// A device as its hub (a peer) puts it on its interface: its address as the only allowed
/// IP, and its preshared key. Sent only to the hub.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostedDevice {
    pub id: PeerId,
    pub name: Hostname,
    pub ip: IpAddr,
    pub cidr_id: CidrId,
    #[serde(with = "crate::wire::base64_key")]
    pub public_key: PublicKey,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "optional_preshared_key"
    )]
    pub preshared_key: Option<PresharedKey>,
}

impl std::fmt::Debug for HostedDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostedDevice")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("ip", &self.ip)
            .field(
                "preshared_key",
                &self.preshared_key.as_ref().map(|_| "<set>"),
            )
            .finish_non_exhaustive()
    }
}

impl HostedDevice {
    /// The device as a peer of its hub's interface (no endpoint: the device comes to the
    /// hub; no keepalive: the device keeps the path open).
    pub fn as_peer(&self) -> Peer {
        Peer {
            id: self.id,
            contents: crate::wire::PeerContents {
                name: self.name.clone(),
                ip: self.ip,
                cidr_id: self.cidr_id,
                public_key: self.public_key,
                endpoint: None,
                persistent_keepalive_interval: None,
                is_admin: false,
                is_disabled: false,
                is_redeemed: true,
                invite_expires: None,
                candidates: Vec::new(),
            },
        }
    }
}

mod optional_preshared_key {
    use serde::{Deserialize, Deserializer, Serializer};
    use wireguard_control::PresharedKey;

    pub fn serialize<S: Serializer>(key: &Option<PresharedKey>, s: S) -> Result<S::Ok, S::Error> {
        match key {
            Some(key) => s.serialize_some(&key.to_base64()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PresharedKey>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| PresharedKey::from_base64(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// Peer `id` of `view` (peers are kept sorted by id; a view that is not still gets the
/// right answer).
fn find_peer<'v, P: Borrow<Peer>>(view: &NetworkView<'v, P>, id: PeerId) -> Option<&'v Peer> {
    view.peers
        .binary_search_by_key(&id, |p| p.borrow().id)
        .ok()
        .map(|i| view.peers[i].borrow())
        .or_else(|| view.peers.iter().map(Borrow::borrow).find(|p| p.id == id))
}

/// The enabled devices `hub` hosts, as it puts them on its interface.
pub fn hosted_by<P: Borrow<Peer>>(
    view: &NetworkView<'_, P>,
    book: &DeviceBook,
    hub: PeerId,
) -> Vec<HostedDevice> {
    book.hosted_by(hub)
        .filter_map(|d| {
            let peer = find_peer(view, d.peer)?;
            (!peer.is_disabled).then(|| HostedDevice {
                id: peer.id,
                name: peer.name.clone(),
                ip: peer.ip,
                cidr_id: peer.cidr_id,
                public_key: peer.public_key,
                preshared_key: d.preshared_key.clone(),
            })
        })
        .collect()
}

/// The devices `viewer` reaches through their hubs: the enabled devices in the CIDRs it
/// sees, except those it is the hub of (it has them as peers). In device order.
pub fn device_routes_for<P: Borrow<Peer>>(
    view: &NetworkView<'_, P>,
    viewer: &Peer,
    book: &DeviceBook,
) -> Vec<DeviceRoute> {
    if book.is_empty() {
        return Vec::new();
    }
    let tree = CidrTree::new(view.cidrs);
    let cidrs = visible_cidrs(&tree, view.associations, &view.roles, viewer.cidr_id);
    let by_id = |id: PeerId| find_peer(view, id);
    book.devices
        .iter()
        .filter(|d| d.hub != viewer.id && d.peer != viewer.id)
        .filter_map(|d| {
            let peer = by_id(d.peer)?;
            (!peer.is_disabled && cidrs.contains(&peer.cidr_id)).then(|| DeviceRoute {
                device: d.peer,
                name: peer.name.clone(),
                ip: peer.ip,
                hub: d.hub,
            })
        })
        .collect()
}

/// A hub's duties: devices (hosts without the client) join through it with a plain
/// WireGuard configuration, and it forwards between them and the mesh, applying the ACL and
/// the port policy in both directions, since the devices enforce nothing themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hub {
    pub devices: Vec<HubDevice>,
    /// The distinct rulesets the hub applies, each a policy chain of its own.
    pub rulesets: Vec<HostRuleset>,
    /// Where devices' traffic goes, with the ruleset (index) that judges it there as the
    /// receivers would: the addresses of peers with a ruleset of their own, then CIDRs'
    /// networks, most specific first (the first that holds a destination applies). By
    /// network rather than by peer, so a peer joining a CIDR changes nothing here.
    pub guarded: Vec<(IpNet, usize)>,
}

/// One device of a hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubDevice {
    pub ip: IpAddr,
    /// The networks it may talk with (the CIDRs it sees).
    pub sees: Vec<IpNet>,
    /// Its own ruleset (index into [`Hub::rulesets`]): what it accepts.
    pub ruleset: usize,
    /// It sends everything through the hub: what it sends beyond the mesh is forwarded out
    /// of the hub's other interfaces, masqueraded.
    #[serde(default)]
    pub full_tunnel: bool,
}

impl Hub {
    /// No devices.
    pub const NONE: Hub = Hub {
        devices: Vec::new(),
        rulesets: Vec::new(),
        guarded: Vec::new(),
    };

    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }

    /// Whether some device sends everything through the hub.
    pub fn is_exit(&self) -> bool {
        self.devices.iter().any(|d| d.full_tunnel)
    }
}

/// `POST /v2/admin/devices`: a device to create (the server chooses the address when `ip`
/// is absent, and generates the key pair when `public_key` is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewDeviceContents {
    pub name: Hostname,
    pub cidr_id: CidrId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub ip: Option<IpAddr>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "optional_public_key"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub public_key: Option<PublicKey>,
    #[serde(default)]
    pub preshared_key: bool,
    /// The peer it joins through; absent: the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub: Option<PeerId>,
    /// Send everything through the hub, its exit node.
    #[serde(default)]
    pub full_tunnel: bool,
}

/// One device as `GET /v2/admin/devices` lists it (its row as `/v1/admin/peers` would show
/// it, but with its real disabled flag).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceInfo {
    pub peer: Peer,
    pub hub: PeerId,
    pub key: KeySource,
    pub full_tunnel: bool,
    pub preshared_key: bool,
    /// The configuration it holds is no longer the one it should hold.
    pub stale: bool,
}

/// What creating or reissuing a device answers: the device and its wg-quick configuration,
/// which holds the private key when the server generated it (the one time a private key is
/// in an answer).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssuedDeviceBody {
    pub device: DeviceInfo,
    pub config: String,
}

impl std::fmt::Debug for IssuedDeviceBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedDeviceBody")
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

mod optional_public_key {
    use serde::{Deserialize, Deserializer, Serializer};
    use wireguard_control::PublicKey;

    pub fn serialize<S: Serializer>(key: &Option<PublicKey>, s: S) -> Result<S::Ok, S::Error> {
        match key {
            Some(key) => s.serialize_some(&key.to_base64()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PublicKey>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| {
            PublicKey::from_base64(&t)
                .map_err(|e| serde::de::Error::custom(format!("invalid public key: {e}")))
        })
        .transpose()
    }
}

/// The default route of each family: a full-tunnel device sends everything to its hub.
pub fn full_tunnel_ips() -> Vec<IpNet> {
    vec![
        IpNet::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0).expect("prefix 0 is valid"),
        IpNet::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0).expect("prefix 0 is valid"),
    ]
}

/// The `AllowedIPs` of a device's one peer, the hub: with `full_tunnel` everything, else
/// the networks of the CIDRs the device's CIDR sees (none inside another) and the hub's own
/// address when none of them covers it. Sorted.
pub fn device_allowed_ips<P: Borrow<Peer>>(
    view: &NetworkView<'_, P>,
    device_cidr: CidrId,
    hub_ip: IpAddr,
    full_tunnel: bool,
) -> Vec<IpNet> {
    if full_tunnel {
        return full_tunnel_ips();
    }
    let tree = CidrTree::new(view.cidrs);
    let visible: HashSet<CidrId> =
        visible_cidrs(&tree, view.associations, &view.roles, device_cidr);
    let mut nets: Vec<IpNet> = view
        .cidrs
        .iter()
        .filter(|c| visible.contains(&c.id))
        .map(|c| c.cidr)
        .collect();
    nets.sort();
    nets.dedup();
    let mut out: Vec<IpNet> = Vec::new();
    for net in &nets {
        if !nets
            .iter()
            .any(|other| other != net && contains(other, net))
        {
            out.push(*net);
        }
    }
    let hub = IpNet::from(hub_ip);
    if !out.iter().any(|n| contains(n, &hub)) {
        out.push(hub);
        out.sort();
    }
    out
}

/// A device's wg-quick configuration.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceConfig {
    /// The network (interface) name, for the header.
    pub network: String,
    pub name: Hostname,
    pub address: IpAddr,
    /// `None` when the device holds its own key: the file leaves a line for it.
    pub private_key: Option<PrivateKey>,
    pub hub_name: Hostname,
    pub hub_public_key: PublicKey,
    pub hub_endpoint: Endpoint,
    pub preshared_key: Option<PresharedKey>,
    pub allowed_ips: Vec<IpNet>,
}

impl std::fmt::Debug for DeviceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceConfig")
            .field("network", &self.network)
            .field("name", &self.name)
            .field("address", &self.address)
            .field("hub_name", &self.hub_name)
            .field("hub_endpoint", &self.hub_endpoint)
            .field("allowed_ips", &self.allowed_ips)
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

/// The placeholder line of a configuration whose private key stayed on the device.
pub const OWN_KEY_LINE: &str =
    "# PrivateKey = <this device's own private key: it never left the device>";

impl DeviceConfig {
    /// A short stable digest (hex) of everything the device must hold except its private
    /// key: what staleness compares.
    pub fn fingerprint(&self) -> String {
        let mut canonical = String::new();
        let _ = write!(
            canonical,
            "address={}\nhub={}\nendpoint={}\npsk={}\nallowed={}\nkeepalive={}\nmtu={}\n",
            self.address,
            self.hub_public_key.to_base64(),
            self.hub_endpoint,
            self.preshared_key
                .as_ref()
                .map(PresharedKey::to_base64)
                .unwrap_or_default(),
            self.allowed_ips
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
            DEVICE_KEEPALIVE_SECS,
            DEVICE_MTU,
        );
        let hash = Blake2s256::digest(canonical.as_bytes());
        hash[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The wg-quick file.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let host_prefix = if self.address.is_ipv4() { 32 } else { 128 };
        let _ = writeln!(
            out,
            "# wiremesh device {} in network {}, through hub {} (configuration {})",
            self.name,
            self.network,
            self.hub_name,
            self.fingerprint()
        );
        out.push_str("[Interface]\n");
        match &self.private_key {
            Some(key) => {
                let _ = writeln!(out, "PrivateKey = {}", key.to_base64());
            }
            None => {
                out.push_str(OWN_KEY_LINE);
                out.push('\n');
            }
        }
        let _ = writeln!(out, "Address = {}/{host_prefix}", self.address);
        let _ = writeln!(out, "MTU = {DEVICE_MTU}");
        out.push_str("\n[Peer]\n");
        let _ = writeln!(out, "PublicKey = {}", self.hub_public_key.to_base64());
        if let Some(psk) = &self.preshared_key {
            let _ = writeln!(out, "PresharedKey = {}", psk.to_base64());
        }
        let _ = writeln!(out, "Endpoint = {}", self.hub_endpoint);
        let _ = writeln!(
            out,
            "AllowedIPs = {}",
            self.allowed_ips
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = writeln!(out, "PersistentKeepalive = {DEVICE_KEEPALIVE_SECS}");
        out
    }
}

/// What reissuing a device's configuration does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reissue {
    /// The same identity (its own key stayed on the device): a fresh file with a line for
    /// the key.
    SameIdentity,
    /// A new key pair and a new address; the old identity is disabled.
    NewIdentity,
}

/// How a device's configuration is reissued: the server kept no generated private key, and
/// an address never changes key (every client pins address–key pairs), so a generated key
/// means a new identity.
pub fn reissue_rule(key: KeySource) -> Reissue {
    match key {
        KeySource::Supplied => Reissue::SameIdentity,
        KeySource::Generated => Reissue::NewIdentity,
    }
}

#[cfg(test)]
#[path = "devices_tests.rs"]
mod tests;

/// What hub `hub` does for its devices: each enabled device it hosts, with the networks it
/// sees and its own ruleset, and the rulesets that judge what those devices send: for each
/// CIDR a device sees, that CIDR's ruleset over its network, and for each peer there with a
/// ruleset of its own (`ruleset_of` says so), that one over its address. `ruleset_of` gives
/// the compiled ruleset of a host (a peer, or a stand-in of a CIDR: id 0) and whether it is
/// the host's own; the same `Arc` for two hosts makes one policy chain.
pub fn hub_duties<P: Borrow<Peer>>(
    view: &NetworkView<'_, P>,
    book: &DeviceBook,
    hub: &Peer,
    ruleset_of: impl Fn(&Peer) -> (std::sync::Arc<HostRuleset>, bool),
) -> Hub {
    let mut out = Hub::NONE;
    let mut chains: Vec<std::sync::Arc<HostRuleset>> = Vec::new();
    let mut intern = |ruleset: std::sync::Arc<HostRuleset>, out: &mut Hub| -> usize {
        if let Some(k) = chains
            .iter()
            .position(|c| std::sync::Arc::ptr_eq(c, &ruleset))
        {
            return k;
        }
        chains.push(ruleset.clone());
        out.rulesets.push((*ruleset).clone());
        chains.len() - 1
    };
    let hosted: Vec<&Peer> = book
        .hosted_by(hub.id)
        .filter_map(|d| find_peer(view, d.peer))
        .filter(|p| !p.is_disabled)
        .collect();
    if hosted.is_empty() {
        return out;
    }
    let tree = CidrTree::new(view.cidrs);
    let mut seen_cidrs: HashSet<CidrId> = HashSet::new();
    // Devices of one CIDR see the same networks: worked out once per CIDR.
    let mut sees_of: std::collections::HashMap<CidrId, Vec<IpNet>> = Default::default();
    for device in &hosted {
        let (ruleset, _) = ruleset_of(device);
        let ruleset = intern(ruleset, &mut out);
        let sees = sees_of.entry(device.cidr_id).or_insert_with(|| {
            seen_cidrs.extend(visible_cidrs(
                &tree,
                view.associations,
                &view.roles,
                device.cidr_id,
            ));
            device_allowed_ips(view, device.cidr_id, hub.ip, false)
        });
        out.devices.push(HubDevice {
            ip: device.ip,
            sees: sees.clone(),
            ruleset,
            full_tunnel: book.get(device.id).is_some_and(|d| d.full_tunnel),
        });
    }
    let mut named: Vec<(IpNet, usize)> = Vec::new();
    let mut networks: Vec<(IpNet, usize)> = Vec::new();
    for peer in view.peers.iter().map(Borrow::borrow) {
        if !seen_cidrs.contains(&peer.cidr_id) || peer.id == hub.id {
            continue;
        }
        let (ruleset, own) = ruleset_of(peer);
        if own {
            let k = intern(ruleset, &mut out);
            named.push((IpNet::from(peer.ip), k));
        }
    }
    let mut cidrs: Vec<&crate::wire::Cidr> = view
        .cidrs
        .iter()
        .filter(|c| seen_cidrs.contains(&c.id))
        .collect();
    cidrs.sort_by_key(|c| c.id);
    for cidr in cidrs {
        let stand_in = Peer {
            id: PeerId(0),
            contents: crate::wire::PeerContents {
                cidr_id: cidr.id,
                ..hub.contents.clone()
            },
        };
        let (ruleset, _) = ruleset_of(&stand_in);
        let k = intern(ruleset, &mut out);
        networks.push((cidr.cidr, k));
    }
    named.sort();
    // Most specific first: a CIDR inside another is judged by its own ruleset.
    networks.sort_by(|a, b| b.0.prefix_len().cmp(&a.0.prefix_len()).then(a.cmp(b)));
    out.guarded = named.into_iter().chain(networks).collect();
    out
}
