//! `add-device` and `export-device`: a device and its wg-quick configuration file.
//!
//! The order is `add-peer`'s: everything is checked first; then the configuration file is
//! created empty (exclusive create, mode 0600: it may hold a private key); then the device
//! is created; then the configuration is written into the open file. A failure before the
//! device exists removes the file; a failure after it says so, and how to reissue.

use std::net::IpAddr;
use std::path::PathBuf;

use wiremesh_shared::{Hostname, PublicKey};

use super::{AdminError, Network};
use crate::error::ServiceError;
use crate::service::devices::{IssuedDevice, NewDevice};

/// A device to add, every choice made (the answers of the `add-device` wizard).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddDeviceOptions {
    pub name: Hostname,
    /// Name of a leaf CIDR (not the server's).
    pub cidr: String,
    /// `None`: the CIDR's first free address.
    pub ip: Option<IpAddr>,
    /// The key the device generated; `None`: the server generates the pair.
    pub public_key: Option<PublicKey>,
    pub preshared_key: bool,
    /// The name of the peer it joins through; `None`: the server.
    pub hub: Option<String>,
    /// Send everything through the hub.
    pub full_tunnel: bool,
    /// Where to write the configuration; must not exist.
    pub save_path: PathBuf,
    /// Who asked, for the log.
    pub actor: String,
}

/// `add-device`: creates the device and writes its configuration.
pub fn add_device(
    network: &Network,
    options: &AddDeviceOptions,
) -> Result<IssuedDevice, AdminError> {
    let cidr = network.cidr_by_name(&options.cidr)?;
    let hub = match &options.hub {
        Some(name) => Some(network.peer_by_name(name)?.id),
        None => None,
    };
    let path = &options.save_path;
    let file = privatefile::reserve(path).map_err(|source| AdminError::DeviceFile {
        path: path.clone(),
        source: source.into(),
    })?;
    let new = NewDevice {
        name: options.name.clone(),
        cidr: cidr.id,
        ip: options.ip,
        public_key: options.public_key,
        preshared_key: options.preshared_key,
        hub,
        full_tunnel: options.full_tunnel,
    };
    // Dropped unfilled (the device was refused), the reserved file is removed again.
    let issued = network
        .service
        .create_device(new, network.name.as_str(), &options.actor)
        .map_err(|source: ServiceError| AdminError::Service {
            action: format!("add device {:?}", options.name.as_str()),
            source: Box::new(source),
        })?;
    if let Err(source) = file.fill(issued.config.render().as_bytes()) {
        return Err(AdminError::DeviceWrite {
            network: network.name.to_string(),
            device: options.name.to_string(),
            path: path.clone(),
            source: source.into_io(),
        });
    }
    Ok(issued)
}

/// `export-device`: issues device `name`'s configuration again (a new identity when its key
/// was generated here: see [`crate::service::Service::reissue_device`]) into `save_path`,
/// which must not exist.
pub fn export_device(
    network: &Network,
    name: &str,
    save_path: &std::path::Path,
    actor: &str,
) -> Result<IssuedDevice, AdminError> {
    let peer = network.peer_by_name(name)?;
    let file = privatefile::reserve(save_path).map_err(|source| AdminError::DeviceFile {
        path: save_path.to_path_buf(),
        source: source.into(),
    })?;
    let issued = network
        .service
        .reissue_device(peer.id, network.name.as_str(), actor)
        .map_err(|source: ServiceError| AdminError::Service {
            action: format!("export device {name:?}"),
            source: Box::new(source),
        })?;
    if let Err(source) = file.fill(issued.config.render().as_bytes()) {
        return Err(AdminError::DeviceWrite {
            network: network.name.to_string(),
            device: issued.peer.name.to_string(),
            path: save_path.to_path_buf(),
            source: source.into_io(),
        });
    }
    Ok(issued)
}
