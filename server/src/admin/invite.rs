//! `add-peer`: a new peer and its invitation file (spec §2.1–2.2).
//!
//! Order, so that a failure never leaves a peer without an invitation nor an invitation for a
//! peer that does not exist: everything is checked first; then the invitation file is
//! created empty (exclusive create, mode 0600, since it will hold a private key); then the
//! peer is created; then the invitation is written into the open file. A failure before the
//! peer exists removes the file; a failure after it says so clearly (innernet issue #133).

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use wireguard_control::PrivateKey;
use wiremesh_shared::alloc::{check_peer_ip, first_free_ip};
use wiremesh_shared::cidr::CidrTree;
use wiremesh_shared::config::{new_invitation, InvitationConfig, InviteSpec, ServerInfo};
use wiremesh_shared::wire::{Cidr, Peer};
use wiremesh_shared::{Hostname, Timestring};

use super::{AdminError, Network};
use crate::error::{Invalid, ServiceError};
use crate::model::Model;
use crate::paths::{self, PathsError};

/// A peer to invite, every choice made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddPeerOptions {
    pub name: Hostname,
    /// Name of a leaf CIDR.
    pub cidr: String,
    /// `None`: the CIDR's first free address.
    pub ip: Option<IpAddr>,
    pub admin: bool,
    pub invite_expires: Timestring,
    /// Where to write the invitation; must not exist.
    pub save_path: PathBuf,
}

/// What `add-peer` made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedPeer {
    pub peer: Peer,
    pub invitation_path: PathBuf,
    pub expires: SystemTime,
}

/// The first free address of the CIDR named `cidr` (the default of `--ip`).
pub fn default_peer_ip(network: &Network, cidr: &str) -> Result<IpAddr, AdminError> {
    let cidr = network.cidr_by_name(cidr)?;
    let model = network.model();
    first_free_ip(&cidr.cidr, &model.used_ips()).map_err(|source| AdminError::Service {
        action: format!("choose an address in CIDR {:?}", cidr.name),
        source: Box::new(source.into()),
    })
}

/// `add-peer`: creates the peer and writes its invitation.
pub fn add_peer(network: &Network, options: &AddPeerOptions) -> Result<AddedPeer, AdminError> {
    let action = format!("add peer {:?}", options.name.as_str());
    let refused = |source: ServiceError| AdminError::Service {
        action: action.clone(),
        source: Box::new(source),
    };
    let model = network.model();
    let cidr = network.cidr_by_name(&options.cidr)?;
    check_cidr(&model, &cidr).map_err(refused)?;
    if let Some(other) = model.peer_by_name(options.name.as_str()) {
        return Err(refused(ServiceError::Conflict {
            what: format!("a peer named {:?}", other.name.as_str()),
        }));
    }
    let used = model.used_ips();
    let ip = match options.ip {
        Some(ip) => {
            check_peer_ip(&cidr.cidr, ip, &used).map_err(|e| refused(e.into()))?;
            ip
        }
        None => first_free_ip(&cidr.cidr, &used).map_err(|e| refused(e.into()))?,
    };
    let now = network.service.now();
    let expires = now
        .checked_add(options.invite_expires.as_duration())
        .ok_or_else(|| AdminError::ExpiryTooFar {
            value: options.invite_expires.to_string(),
        })?;
    let server = invitation_server(network, &model)?;
    let root_prefix = CidrTree::new(model.cidrs())
        .root()
        .map_or(network.config.network_cidr_prefix, |root| {
            root.cidr.prefix_len()
        });

    let path = &options.save_path;
    let file = create_invitation_file(path)?;
    let (contents, invitation) = new_invitation(
        InviteSpec {
            name: options.name.clone(),
            ip,
            cidr_id: cidr.id,
            admin: options.admin,
            expires,
            network_name: network.name.to_string(),
            root_prefix,
            server,
        },
        PrivateKey::generate(),
    );
    let peer = match network.service.create_peer(contents) {
        Ok(peer) => peer,
        Err(source) => {
            drop(file);
            paths::remove_quietly(path);
            return Err(refused(source));
        }
    };
    if let Err(source) = write_invitation(file, &invitation) {
        paths::remove_quietly(path);
        return Err(AdminError::InvitationWrite {
            network: network.name.to_string(),
            peer: options.name.to_string(),
            path: path.clone(),
            source,
        });
    }
    Ok(AddedPeer {
        peer,
        invitation_path: path.clone(),
        expires,
    })
}

/// A new peer's CIDR must be a leaf and not the infra CIDR (checked again by the service).
fn check_cidr(model: &Model, cidr: &Cidr) -> Result<(), ServiceError> {
    if cidr.id == model.roles().infra_cidr {
        return Err(Invalid::InfraCidr {
            cidr: cidr.name.clone(),
        }
        .into());
    }
    if !CidrTree::new(model.cidrs()).is_leaf(cidr.id) {
        return Err(Invalid::NotALeaf {
            cidr: cidr.name.clone(),
        }
        .into());
    }
    Ok(())
}

/// The `[server]` table: key and external endpoint of the server peer, and the server's
/// address and port inside the network.
fn invitation_server(network: &Network, model: &Model) -> Result<ServerInfo, AdminError> {
    let name = network.name.to_string();
    let server = model
        .server_peer()
        .ok_or_else(|| AdminError::NoServerPeer {
            network: name.clone(),
        })?;
    let external_endpoint = server
        .endpoint
        .clone()
        .ok_or(AdminError::NoServerEndpoint { network: name })?;
    Ok(ServerInfo {
        public_key: server.public_key,
        external_endpoint,
        internal_endpoint: SocketAddr::new(network.config.address, network.config.listen_port),
    })
}

/// Creates the empty invitation file: exclusive, mode 0600 whatever the umask.
fn create_invitation_file(path: &Path) -> Result<File, AdminError> {
    let fail = |source| AdminError::InvitationFile {
        path: path.to_path_buf(),
        source,
    };
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| {
            fail(if source.kind() == ErrorKind::AlreadyExists {
                PathsError::Exists {
                    path: path.to_path_buf(),
                }
            } else {
                PathsError::Io {
                    action: "create",
                    path: path.to_path_buf(),
                    source,
                }
            })
        })?;
    if let Err(source) = file.set_permissions(fs::Permissions::from_mode(0o600)) {
        drop(file);
        paths::remove_quietly(path);
        return Err(fail(PathsError::Io {
            action: "restrict permissions of",
            path: path.to_path_buf(),
            source,
        }));
    }
    Ok(file)
}

fn write_invitation(mut file: File, invitation: &InvitationConfig) -> std::io::Result<()> {
    file.write_all(invitation.to_toml_string().as_bytes())?;
    file.sync_all()
}
