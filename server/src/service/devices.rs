//! Devices: peers without the client that join through a hub with a wg-quick configuration
//! (the rules are [`wiremesh_shared::devices`]'). Creating one returns its configuration
//! with the private key when the server generated it: the one time a private key is in an
//! answer. The server keeps no private key; it keeps the fingerprint of what it issued, so
//! listings can say when a device's configuration went stale.

use std::net::IpAddr;
use std::sync::Arc;

use wireguard_control::{PresharedKey, PrivateKey};
use wiremesh_shared::alloc::first_free_ip;
use wiremesh_shared::devices::{
    device_allowed_ips, reissue_rule, Device, DeviceConfig, DeviceInfo, IssuedDeviceBody,
    KeySource, Reissue,
};
use wiremesh_shared::invite::Joining;
use wiremesh_shared::listing::DeviceEntry;
use wiremesh_shared::wire::{Peer, PeerContents};
use wiremesh_shared::wire::{PolicyReport, DEVICES_FEATURE};
use wiremesh_shared::{CidrId, Hostname, PeerId, PublicKey};

use super::{lock, Service};
use crate::error::{Invalid, Result, ServiceError};
use crate::model::Model;
use crate::store::PeerFields;

/// A device to create, every choice made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDevice {
    pub name: Hostname,
    pub cidr: CidrId,
    /// `None`: the CIDR's first free address.
    pub ip: Option<IpAddr>,
    /// The key the device generated; `None`: the server generates the pair.
    pub public_key: Option<PublicKey>,
    /// Give the device a preshared key.
    pub preshared_key: bool,
    /// The peer it joins through; `None`: the server.
    pub hub: Option<PeerId>,
    /// Send everything through the hub, its exit node.
    pub full_tunnel: bool,
}

impl From<wiremesh_shared::devices::NewDeviceContents> for NewDevice {
    /// A device as `POST /v2/admin/devices` and the automation API ask for it.
    fn from(contents: wiremesh_shared::devices::NewDeviceContents) -> Self {
        Self {
            name: contents.name,
            cidr: contents.cidr_id,
            ip: contents.ip,
            public_key: contents.public_key,
            preshared_key: contents.preshared_key,
            hub: contents.hub,
            full_tunnel: contents.full_tunnel,
        }
    }
}

/// A device as created or reissued: its row, its record, and its configuration (holding the
/// private key when the server generated it).
#[derive(Debug, Clone)]
pub struct IssuedDevice {
    pub peer: Peer,
    pub device: Device,
    pub config: DeviceConfig,
}

impl Service {
    /// Creates a device that joins through its hub (the server, or a peer running a wiremesh
    /// client that reported it can be one, with an endpoint of its own). `network` names the
    /// network in the configuration's header; `actor` (who asked) goes to the log, because a
    /// generated private key leaves the server in the answer.
    pub fn create_device(
        &self,
        new: NewDevice,
        network: &str,
        actor: &str,
    ) -> Result<IssuedDevice> {
        let reports = lock(&self.reports).clone();
        let issued = self.write(|model, store| {
            let server = model.roles().server_peer;
            let hub_id = new.hub.unwrap_or(server);
            let hub = model
                .peer(hub_id)
                .ok_or(ServiceError::NotFound {
                    what: "peer",
                    id: hub_id.0,
                })?
                .clone();
            if hub_id != server {
                let refuse = |why: &str| -> ServiceError {
                    Invalid::NotAHub {
                        hub: hub.name.to_string(),
                        why: why.to_owned(),
                    }
                    .into()
                };
                if hub.is_disabled || !hub.is_redeemed {
                    return Err(refuse("it is disabled or has not joined yet"));
                }
                if model.is_device(hub_id) {
                    return Err(refuse("it is a device itself"));
                }
                // A hub forwards for its devices only with its firewall on.
                let able = reports.get(&hub_id).is_some_and(|r| {
                    r.features.iter().any(|f| f == DEVICES_FEATURE)
                        && !matches!(r.policy, PolicyReport::Off)
                });
                if !able {
                    return Err(refuse(
                        "its client has not reported that it can be one (a hub runs wiremesh, this version or later, with its firewall on)",
                    ));
                }
            }
            let cidr = model
                .cidr(new.cidr)
                .ok_or(Invalid::UnknownCidr { id: new.cidr.0 })?;
            let ip = match new.ip {
                Some(ip) => ip,
                None => first_free_ip(&cidr.cidr, &model.used_ips())?,
            };
            let (private_key, public_key, key) = match new.public_key {
                Some(public) => (None, public, KeySource::Supplied),
                None => {
                    let private = PrivateKey::generate();
                    let public = private.public_key();
                    (Some(private), public, KeySource::Generated)
                }
            };
            if public_key == hub.public_key {
                return Err(Invalid::ServerKey.into());
            }
            let contents = PeerContents {
                name: new.name.clone(),
                ip,
                cidr_id: new.cidr,
                public_key,
                endpoint: None,
                persistent_keepalive_interval: None,
                is_admin: false,
                is_disabled: false,
                is_redeemed: true,
                invite_expires: None,
                candidates: Vec::new(),
            };
            let joining = Joining {
                cidrs: model.cidrs(),
                peers: model.peers(),
                infra: Some(model.roles().infra_cidr),
                consumed: &model.consumed_ips(),
            };
            joining.check_new_peer(&contents)?;
            let preshared_key = new.preshared_key.then(PresharedKey::generate);
            let config = DeviceConfig {
                network: network.to_owned(),
                name: new.name.clone(),
                address: ip,
                private_key,
                hub_name: hub.name.clone(),
                hub_public_key: hub.public_key,
                hub_endpoint: hub.endpoint.clone().ok_or_else(|| Invalid::NoHubEndpoint {
                    hub: hub.name.to_string(),
                })?,
                preshared_key: preshared_key.clone(),
                allowed_ips: device_allowed_ips(
                    &model.view(),
                    new.cidr,
                    hub.ip,
                    new.full_tunnel,
                ),
            };
            if config.hub_endpoint.is_unspecified() {
                return Err(Invalid::NoHubEndpoint {
                    hub: hub.name.to_string(),
                }
                .into());
            }
            let draft = Device {
                peer: PeerId(0),
                hub: hub.id,
                key,
                full_tunnel: new.full_tunnel,
                preshared_key,
                issued: config.fingerprint(),
            };
            let (peer, device) = store.insert_device(&contents, &draft, None)?;
            let next = model.edited(|data| {
                data.peers.push(Arc::new(peer.clone()));
                let book = Arc::make_mut(&mut data.devices);
                book.devices.push(device.clone());
                book.devices.sort_by_key(|d| d.peer);
            });
            Ok((
                IssuedDevice {
                    peer,
                    device,
                    config,
                },
                Some(next),
            ))
        })?;
        match issued.device.key {
            KeySource::Generated => tracing::warn!(
                device = %issued.peer.name,
                ip = %issued.peer.ip,
                %actor,
                "device created with a server-generated key; its private key was handed to the requester once and not kept"
            ),
            KeySource::Supplied => tracing::info!(
                device = %issued.peer.name,
                ip = %issued.peer.ip,
                %actor,
                "device created with its own key"
            ),
        }
        Ok(issued)
    }
}

impl Service {
    /// Issues device `id`'s configuration again, as it should be now. A device that holds
    /// its own key keeps its identity: the file leaves a line for the key. One whose key the
    /// server generated (and never kept) becomes a new identity: a new key pair and a new
    /// address in the same CIDR (an address never changes key: every client pins the pair),
    /// taking the name; the old identity is disabled and renamed `<name>-retired-<id>` in the
    /// same transaction. A disabled device is refused: enable it first.
    pub fn reissue_device(&self, id: PeerId, network: &str, actor: &str) -> Result<IssuedDevice> {
        let issued = self.write(|model, store| {
            let config = current_config(model, id, network)?;
            let device = model.device(id).expect("current_config found it").clone();
            let peer = model.peer(id).expect("current_config found it").clone();
            if peer.is_disabled {
                return Err(Invalid::Device {
                    name: peer.name.to_string(),
                    action: "enable it before you reissue",
                }
                .into());
            }
            match reissue_rule(device.key) {
                Reissue::SameIdentity => {
                    let fingerprint = config.fingerprint();
                    if fingerprint == device.issued {
                        let issued = IssuedDevice {
                            peer,
                            device,
                            config,
                        };
                        return Ok((issued, None));
                    }
                    store.set_device_issued(id, &fingerprint)?;
                    let mut updated = device;
                    updated.issued = fingerprint;
                    let next = model.edited(|data| {
                        let book = Arc::make_mut(&mut data.devices);
                        if let Some(d) = book.devices.iter_mut().find(|d| d.peer == id) {
                            *d = updated.clone();
                        }
                    });
                    let issued = IssuedDevice {
                        peer,
                        device: updated,
                        config,
                    };
                    Ok((issued, Some(next)))
                }
                Reissue::NewIdentity => {
                    let cidr = model
                        .cidr(peer.cidr_id)
                        .ok_or(Invalid::UnknownCidr { id: peer.cidr_id.0 })?;
                    let ip = first_free_ip(&cidr.cidr, &model.used_ips())?;
                    let private = PrivateKey::generate();
                    let retired = retired_name(&peer.name, id);
                    if model.peer_by_name(retired.as_str()).is_some() {
                        return Err(ServiceError::Conflict {
                            what: format!("a peer named {:?}", retired.as_str()),
                        });
                    }
                    let contents = PeerContents {
                        ip,
                        public_key: private.public_key(),
                        ..peer.contents.clone()
                    };
                    let retire = PeerFields {
                        name: retired.clone(),
                        endpoint: peer.endpoint.clone(),
                        is_admin: peer.is_admin,
                        is_disabled: true,
                        candidates: peer.candidates.clone(),
                    };
                    let preshared_key = device
                        .preshared_key
                        .as_ref()
                        .map(|_| PresharedKey::generate());
                    let config = DeviceConfig {
                        address: ip,
                        private_key: Some(private),
                        preshared_key: preshared_key.clone(),
                        ..config
                    };
                    let draft = Device {
                        peer: PeerId(0),
                        preshared_key,
                        issued: config.fingerprint(),
                        ..device
                    };
                    let (new_peer, new_device) =
                        store.insert_device(&contents, &draft, Some((id, &retire)))?;
                    let next = model.edited(|data| {
                        if let Ok(i) = data.peers.binary_search_by_key(&id, |p| p.id) {
                            let old = Arc::make_mut(&mut data.peers[i]);
                            old.contents.name = retired.clone();
                            old.contents.is_disabled = true;
                        }
                        data.peers.push(Arc::new(new_peer.clone()));
                        let book = Arc::make_mut(&mut data.devices);
                        book.devices.push(new_device.clone());
                        book.devices.sort_by_key(|d| d.peer);
                    });
                    let issued = IssuedDevice {
                        peer: new_peer,
                        device: new_device,
                        config,
                    };
                    Ok((issued, Some(next)))
                }
            }
        })?;
        if issued.peer.id != id {
            tracing::warn!(
                device = %issued.peer.name,
                ip = %issued.peer.ip,
                old = id.0,
                %actor,
                "device reissued as a new identity; its new private key was handed to the requester once and not kept; the old identity is disabled"
            );
        } else {
            tracing::info!(device = %issued.peer.name, %actor, "device configuration reissued");
        }
        Ok(issued)
    }
}

/// The name an identity replaced by a reissue takes: `<name>-retired-<id>`, the name cut to
/// fit a hostname.
fn retired_name(name: &Hostname, id: PeerId) -> Hostname {
    name.suffixed("retired", id.0)
}

impl Service {
    /// The network's name as configurations name it: the interface's.
    pub fn network_name(&self) -> String {
        self.device
            .as_ref()
            .map_or_else(|| "wiremesh".to_owned(), |d| d.name.to_string())
    }

    /// `GET /v2/admin/devices`: every device with its hub, key source and staleness.
    pub fn device_listing(&self) -> Vec<DeviceInfo> {
        let model = self.model();
        model
            .devices()
            .devices
            .iter()
            .filter_map(|d| device_info(&model, d.peer))
            .collect()
    }

    /// The answer to creating or reissuing a device.
    pub fn issued_body(&self, issued: &IssuedDevice) -> IssuedDeviceBody {
        let model = self.model();
        IssuedDeviceBody {
            device: device_info(&model, issued.peer.id).unwrap_or_else(|| DeviceInfo {
                peer: issued.peer.clone(),
                hub: issued.device.hub,
                key: issued.device.key,
                full_tunnel: issued.device.full_tunnel,
                preshared_key: issued.device.preshared_key.is_some(),
                stale: false,
            }),
            config: issued.config.render(),
        }
    }
}

/// What the admin API says of device `id`.
fn device_info(model: &Model, id: PeerId) -> Option<DeviceInfo> {
    let device = model.device(id)?;
    Some(DeviceInfo {
        peer: model.peer(id)?.clone(),
        hub: device.hub,
        key: device.key,
        full_tunnel: device.full_tunnel,
        preshared_key: device.preshared_key.is_some(),
        stale: is_stale(model, id).unwrap_or(false),
    })
}

/// The configuration device `id` should hold now (without a private key), or why there is
/// none: it is not a device, or its hub is gone or has no endpoint.
pub fn current_config(model: &Model, id: PeerId, network: &str) -> Result<DeviceConfig> {
    let not_found = || ServiceError::NotFound {
        what: "device",
        id: id.0,
    };
    let device = model.device(id).ok_or_else(not_found)?;
    let peer = model.peer(id).ok_or_else(not_found)?;
    let hub = model.peer(device.hub).ok_or(ServiceError::NotFound {
        what: "hub peer",
        id: device.hub.0,
    })?;
    Ok(DeviceConfig {
        network: network.to_owned(),
        name: peer.name.clone(),
        address: peer.ip,
        private_key: None,
        hub_name: hub.name.clone(),
        hub_public_key: hub.public_key,
        hub_endpoint: hub.endpoint.clone().ok_or_else(|| Invalid::NoHubEndpoint {
            hub: hub.name.to_string(),
        })?,
        preshared_key: device.preshared_key.clone(),
        allowed_ips: device_allowed_ips(&model.view(), peer.cidr_id, hub.ip, device.full_tunnel),
    })
}

/// Whether device `id`'s configuration is stale: the one it should hold now differs from the
/// one it was issued (or none can be made now). `None` when `id` is not a device.
pub fn is_stale(model: &Model, id: PeerId) -> Option<bool> {
    let device = model.device(id)?;
    Some(current_config(model, id, "").map_or(true, |config| config.fingerprint() != device.issued))
}

/// What listings say of peers beyond their rows: each device (hub, key source, staleness)
/// and each ephemeral peer's window.
pub fn peer_notes(model: &Model) -> wiremesh_shared::listing::PeerNotes {
    wiremesh_shared::listing::PeerNotes {
        devices: device_entries(model),
        ephemeral: model.ephemeral().clone(),
    }
}

/// What listings say of each device: hub, key source, staleness.
pub fn device_entries(model: &Model) -> Vec<DeviceEntry> {
    model
        .devices()
        .devices
        .iter()
        .map(|device| DeviceEntry {
            peer: device.peer,
            hub_id: device.hub,
            hub: model
                .peer(device.hub)
                .map_or_else(|| format!("<peer {}>", device.hub), |p| p.name.to_string()),
            key: device.key,
            full_tunnel: device.full_tunnel,
            preshared_key: device.preshared_key.is_some(),
            stale: is_stale(model, device.peer).unwrap_or(false),
        })
        .collect()
}
