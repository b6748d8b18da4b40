//! The server's admin commands as library functions: they open a network's database and run
//! every change through [`Service`] with no device, exactly like the HTTP API's admin routes.
//!
//! No command here touches a WireGuard interface (except [`uninstall`], which deletes it): a
//! running `serve` notices each commit within a fraction of a second and updates its
//! interface itself, and nothing creates an interface while the server is stopped.
//!
//! Submodules: [`invite`] (`add-peer` and its invitation file), [`devices`] (`add-device` and
//! its wg-quick file), [`listing`] (the tree and the association list).

use std::path::PathBuf;
use std::sync::Arc;

use ipnet::IpNet;
use wiremesh_shared::cidr::CidrTree;
use wiremesh_shared::config::ServerConfig;
use wiremesh_shared::wire::{Association, AssociationContents, Cidr, CidrContents, Peer};
use wiremesh_shared::{Hostname, InterfaceName};

use crate::error::ServiceError;
use crate::interface::{self, BackendChoice, InterfaceError};
use crate::model::Model;
use crate::paths::{self, PathsError, ServerPaths};
use crate::service::{Service, ServiceOptions, SystemClock};
use crate::store::sqlite::SqliteStore;
use crate::store::StoreError;

pub mod devices;
pub mod invite;

pub use devices::{add_device, export_device, AddDeviceOptions};
pub use invite::{add_peer, AddPeerOptions, AddedPeer};

/// Why an admin command failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Paths(#[from] PathsError),
    #[error("failed to remove the firewall table of network {network} (nftables table inet wiremesh_{network}): {message}")]
    Firewall { network: String, message: String },
    #[error("failed to put back the IP forwarding network {network} turned on for its devices: {message}")]
    Forwarding { network: String, message: String },
    #[error("failed to open the database of network {network}: {source}")]
    Open {
        network: String,
        #[source]
        source: Box<StoreError>,
    },
    #[error("failed to back up the database of network {network}: {source}")]
    Backup {
        network: String,
        #[source]
        source: Box<StoreError>,
    },
    #[error("failed to load network {network}: {source}")]
    Load {
        network: String,
        #[source]
        source: Box<ServiceError>,
    },
    /// A change was refused or failed; `action` says which ("add CIDR \"x\"").
    #[error("failed to {action}: {source}")]
    Service {
        action: String,
        #[source]
        source: Box<ServiceError>,
    },
    #[error(
        "network {network} has no CIDR named {name:?}; `wiremesh-server list {network}` shows \
         the CIDRs"
    )]
    UnknownCidr { network: String, name: String },
    #[error(
        "network {network} has no peer named {name:?}; `wiremesh-server list {network}` shows \
         the peers"
    )]
    UnknownPeer { network: String, name: String },
    #[error(
        "CIDRs {first:?} and {second:?} are not associated; `wiremesh-server list-associations \
         {network}` shows the associations"
    )]
    NoAssociation {
        network: String,
        first: String,
        second: String,
    },
    #[error("network {network} has no server peer; its database is damaged")]
    NoServerPeer { network: String },
    #[error(
        "the server peer of network {network} has no external endpoint, so invitations cannot \
         say where to connect; the database is damaged"
    )]
    NoServerEndpoint { network: String },
    #[error("invalid invitation expiry {value}: it is too far in the future")]
    ExpiryTooFar { value: String },
    #[error("failed to create invitation file {path}: {source}")]
    InvitationFile {
        path: PathBuf,
        #[source]
        source: PathsError,
    },
    #[error(
        "peer {peer:?} was created, but its invitation could not be written to {path}: {source}; \
         disable the peer with `wiremesh-server disable-peer {network} --name {peer}` and invite \
         the host again under another name"
    )]
    InvitationWrite {
        network: String,
        peer: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to create device configuration file {path}: {source}")]
    DeviceFile {
        path: PathBuf,
        #[source]
        source: PathsError,
    },
    #[error(
        "device {device:?} was created, but its configuration could not be written to {path}: \
         {source}; `wiremesh-server export-device {network} --name {device}` issues it again"
    )]
    DeviceWrite {
        network: String,
        device: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("network {network} does not exist here: neither {config} nor {database} is there")]
    NoSuchNetwork {
        network: String,
        config: PathBuf,
        database: PathBuf,
    },
    #[error(transparent)]
    Interface(#[from] InterfaceError),
}

/// One network opened for admin commands: its config and a service over its database,
/// without a device.
#[derive(Debug)]
pub struct Network {
    pub name: InterfaceName,
    pub config: ServerConfig,
    pub service: Service,
}

impl Network {
    /// Opens the network `name` (config and database must exist).
    pub fn open(paths: &ServerPaths, name: &InterfaceName) -> Result<Self, AdminError> {
        let config = paths.load_config(name)?;
        let database = paths.existing_database(name)?;
        let network = name.to_string();
        let store = SqliteStore::open(&database).map_err(|source| AdminError::Open {
            network: network.clone(),
            source: Box::new(source),
        })?;
        let service = Service::new(
            Box::new(store),
            None,
            Arc::new(SystemClock),
            ServiceOptions {
                api_port: config.listen_port,
                ..ServiceOptions::default()
            },
        )
        .map_err(|source| AdminError::Load {
            network,
            source: Box::new(source),
        })?;
        Ok(Self {
            name: name.clone(),
            config,
            service,
        })
    }

    /// The network as it is now.
    pub fn model(&self) -> Arc<Model> {
        self.service.model()
    }

    pub fn cidr_by_name(&self, name: &str) -> Result<Cidr, AdminError> {
        self.model()
            .cidr_by_name(name)
            .cloned()
            .ok_or_else(|| AdminError::UnknownCidr {
                network: self.name.to_string(),
                name: name.to_owned(),
            })
    }

    pub fn peer_by_name(&self, name: &str) -> Result<Peer, AdminError> {
        self.model()
            .peer_by_name(name)
            .cloned()
            .ok_or_else(|| AdminError::UnknownPeer {
                network: self.name.to_string(),
                name: name.to_owned(),
            })
    }
}

/// What [`backup`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    pub database: PathBuf,
    pub dest: PathBuf,
    pub cidrs: usize,
    pub peers: usize,
}

/// Writes a consistent copy of network `name`'s database to `dest` (which must not exist;
/// created with mode 0600) with SQLite's online backup, so `serve` may keep writing. The
/// database is read, never migrated or otherwise changed; the copy is integrity-checked. On
/// failure no copy is left behind.
pub fn backup(
    paths: &ServerPaths,
    name: &InterfaceName,
    dest: &std::path::Path,
) -> Result<BackupReport, AdminError> {
    paths.load_config(name)?;
    let database = paths.existing_database(name)?;
    let (cidrs, peers) =
        SqliteStore::backup_file(&database, dest).map_err(|source| AdminError::Backup {
            network: name.to_string(),
            source: Box::new(source),
        })?;
    Ok(BackupReport {
        database,
        dest: dest.to_path_buf(),
        cidrs,
        peers,
    })
}

fn refused(action: String) -> impl FnOnce(ServiceError) -> AdminError {
    move |source| AdminError::Service {
        action,
        source: Box::new(source),
    }
}

/// CIDRs a new peer may join: leaves other than the infra CIDR, in tree order.
pub fn peer_cidrs(model: &Model) -> Vec<Cidr> {
    let tree = CidrTree::new(model.cidrs());
    let infra = model.roles().infra_cidr;
    let mut leaves: Vec<Cidr> = tree.leaves().filter(|c| c.id != infra).cloned().collect();
    leaves.sort_by_key(|c| c.cidr);
    leaves
}

/// CIDRs that may get a child: those holding no peers, other than the infra CIDR.
pub fn parent_cidrs(model: &Model) -> Vec<Cidr> {
    let infra = model.roles().infra_cidr;
    let mut parents: Vec<Cidr> = model
        .cidrs()
        .iter()
        .filter(|c| c.id != infra && !model.peers().iter().any(|p| p.cidr_id == c.id))
        .cloned()
        .collect();
    parents.sort_by_key(|c| c.cidr);
    parents
}

/// A CIDR to create, its parent named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCidrOptions {
    pub name: String,
    pub cidr: IpNet,
    pub parent: String,
}

/// `add-cidr`.
pub fn add_cidr(network: &Network, options: &AddCidrOptions) -> Result<Cidr, AdminError> {
    let parent = network.cidr_by_name(&options.parent)?;
    let contents = CidrContents {
        name: options.name.clone(),
        cidr: options.cidr,
        parent: Some(parent.id),
    };
    network
        .service
        .create_cidr(contents)
        .map_err(refused(format!("add CIDR {:?}", options.name)))
}

/// `rename-cidr`.
pub fn rename_cidr(network: &Network, name: &str, new_name: &str) -> Result<(), AdminError> {
    let cidr = network.cidr_by_name(name)?;
    network
        .service
        .rename_cidr(cidr.id, new_name.to_owned())
        .map_err(refused(format!("rename CIDR {name:?} to {new_name:?}")))
}

/// `delete-cidr`.
pub fn delete_cidr(network: &Network, name: &str) -> Result<(), AdminError> {
    let cidr = network.cidr_by_name(name)?;
    network
        .service
        .delete_cidr(cidr.id)
        .map_err(refused(format!("delete CIDR {name:?}")))
}

/// `rename-peer`.
pub fn rename_peer(network: &Network, name: &str, new_name: &Hostname) -> Result<(), AdminError> {
    let peer = network.peer_by_name(name)?;
    network
        .service
        .rename_peer(peer.id, new_name.clone())
        .map_err(refused(format!(
            "rename peer {name:?} to {:?}",
            new_name.as_str()
        )))
}

/// `delete-peer`: returns the peer as it was.
pub fn delete_peer(network: &Network, name: &str) -> Result<Peer, AdminError> {
    let peer = network.peer_by_name(name)?;
    network
        .service
        .delete_peer(peer.id, crate::store::DeletionReason::Deleted)
        .map_err(refused(format!("delete peer {name:?}")))
}

/// `set-endpoint`: returns the endpoint it replaced.
pub fn set_server_endpoint(
    network: &Network,
    endpoint: wiremesh_shared::Endpoint,
) -> Result<Option<wiremesh_shared::Endpoint>, AdminError> {
    network
        .service
        .set_server_endpoint(endpoint)
        .map_err(refused("move the server's endpoint".into()))
}

/// `create-token`: the token (shown once) and its record.
pub fn create_token(
    network: &Network,
    name: &str,
    scopes: &[crate::tokens::Scope],
    expires_in: Option<std::time::Duration>,
) -> Result<(String, crate::store::StoredToken), AdminError> {
    network
        .service
        .create_token(name, scopes, expires_in)
        .map_err(refused(format!("make token {name:?}")))
}

/// `list-tokens`.
pub fn tokens(network: &Network) -> Result<Vec<crate::store::StoredToken>, AdminError> {
    network
        .service
        .tokens()
        .map_err(refused("list the tokens".into()))
}

/// `revoke-token`: whether it was still valid.
pub fn revoke_token(network: &Network, name: &str) -> Result<bool, AdminError> {
    network
        .service
        .revoke_token(name)
        .map_err(refused(format!("revoke token {name:?}")))
}

/// `audit`: the newest `limit` entries, newest first.
pub fn audit_log(
    network: &Network,
    limit: usize,
) -> Result<Vec<crate::store::AuditEntry>, AdminError> {
    network
        .service
        .audit_log(limit)
        .map_err(refused("read the audit log".into()))
}

/// `settings` with a change.
pub fn set_settings(
    network: &Network,
    settings: crate::store::Settings,
) -> Result<Outcome, AdminError> {
    let changed = network
        .service
        .set_settings(settings)
        .map_err(refused("change the settings".into()))?;
    Ok(if changed {
        Outcome::Changed
    } else {
        Outcome::Unchanged
    })
}

/// Whether a command changed anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Changed,
    Unchanged,
}

/// `disable-peer` (`disabled`) and `enable-peer`.
pub fn set_peer_disabled(
    network: &Network,
    name: &str,
    disabled: bool,
) -> Result<Outcome, AdminError> {
    let peer = network.peer_by_name(name)?;
    if peer.is_disabled == disabled {
        return Ok(Outcome::Unchanged);
    }
    let verb = if disabled { "disable" } else { "enable" };
    network
        .service
        .set_disabled(peer.id, disabled)
        .map_err(refused(format!("{verb} peer {name:?}")))?;
    Ok(Outcome::Changed)
}

/// `add-association`.
pub fn add_association(
    network: &Network,
    first: &str,
    second: &str,
) -> Result<Association, AdminError> {
    let (a, b) = (network.cidr_by_name(first)?, network.cidr_by_name(second)?);
    network
        .service
        .create_association(AssociationContents {
            cidr_id_1: a.id,
            cidr_id_2: b.id,
        })
        .map_err(refused(format!("associate CIDRs {first:?} and {second:?}")))
}

/// `delete-association`: the association between the two CIDRs, in either order.
pub fn delete_association(network: &Network, first: &str, second: &str) -> Result<(), AdminError> {
    let (a, b) = (network.cidr_by_name(first)?, network.cidr_by_name(second)?);
    let association = network
        .model()
        .associations()
        .iter()
        .find(|x| {
            (x.cidr_id_1 == a.id && x.cidr_id_2 == b.id)
                || (x.cidr_id_1 == b.id && x.cidr_id_2 == a.id)
        })
        .cloned()
        .ok_or_else(|| AdminError::NoAssociation {
            network: network.name.to_string(),
            first: first.to_owned(),
            second: second.to_owned(),
        })?;
    network
        .service
        .delete_association(association.id)
        .map_err(refused(format!(
            "delete the association of {first:?} and {second:?}"
        )))
}

/// What `uninstall` removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uninstalled {
    pub interface_deleted: bool,
    /// The interface's firewall table (`inet wiremesh_<name>`) was removed.
    pub firewall_removed: bool,
    /// Forwarding switches turned off again (IPv6 or not): the server had turned them on
    /// for its devices.
    pub forwarding_restored: Vec<bool>,
    pub removed_files: Vec<PathBuf>,
}

/// `uninstall`: deletes the network's interface (through either backend, `backend` first),
/// its config and its database with SQLite's journal files.
pub fn uninstall(
    paths: &ServerPaths,
    name: &InterfaceName,
    backend: BackendChoice,
) -> Result<Uninstalled, AdminError> {
    let config = paths.config_file(name);
    let database = paths.database_file(name);
    if !config.exists() && !database.exists() {
        return Err(AdminError::NoSuchNetwork {
            network: name.to_string(),
            config,
            database,
        });
    }
    let interface_deleted = interface::bring_down(backend, name)?;
    let firewall =
        wiremesh_firewall::Firewall::new(wiremesh_firewall::Nft::system(), name.as_str());
    let firewall_removed = match firewall.remove() {
        Ok(removed) => removed,
        // Without nft there is no table of ours.
        Err(wiremesh_firewall::NftError::Missing) => false,
        Err(source) => {
            return Err(AdminError::Firewall {
                network: name.to_string(),
                message: source.to_string(),
            })
        }
    };
    let forwarding = crate::forwarding::Forwarding::new(paths.forwarding_record(name));
    let forwarding_restored = forwarding
        .restore()
        .map_err(|error| AdminError::Forwarding {
            network: name.to_string(),
            message: error.to_string(),
        })?;
    let mut removed_files = Vec::new();
    for path in std::iter::once(config).chain(paths::database_files(&database)) {
        if paths::remove_if_exists(&path)? {
            removed_files.push(path);
        }
    }
    tracing::info!(network = %name, "network uninstalled");
    Ok(Uninstalled {
        interface_deleted,
        firewall_removed,
        forwarding_restored,
        removed_files,
    })
}
