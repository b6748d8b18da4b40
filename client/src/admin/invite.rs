//! `add-peer`: a new peer and its invitation file (spec §2.1–2.2).
//!
//! Order, so that a failure never leaves an invitation for a peer that does not exist nor
//! overwrites a file: the lists are fetched and everything is checked; the invitation file
//! is created empty (exclusively, mode 0600 — it will hold a private key); the peer is
//! posted; then the invitation is written into the open file. If the post fails, the empty
//! file is removed; if writing fails after the peer exists, the error says so and what to do.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::net::IpAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use wireguard_control::PrivateKey;
use wiremesh_shared::alloc::{check_peer_ip, first_free_ip};
use wiremesh_shared::cidr::CidrTree;
use wiremesh_shared::config::{new_invitation, InvitationConfig, InviteSpec, ServerInfo};
use wiremesh_shared::wire::{Cidr, Peer};
use wiremesh_shared::{Hostname, Timestring};

use super::{Admin, AdminError};

/// A peer to invite, every choice made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddPeerOptions {
    pub name: Hostname,
    /// Name of a leaf CIDR (not the server's).
    pub cidr: String,
    /// `None`: the CIDR's first address no peer uses.
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

impl Admin {
    /// The first free address of the CIDR named `cidr` (the default of `--ip`).
    pub fn default_peer_ip(&self, cidr: &str) -> Result<IpAddr, AdminError> {
        let cidrs = self.cidrs()?;
        let peers = self.peers()?;
        let cidr = self.cidr_by_name(&cidrs, cidr)?;
        first_free_ip(&cidr.cidr, &used_ips(&peers)).map_err(|source| AdminError::Address {
            cidr: cidr.name.clone(),
            source,
        })
    }

    /// `add-peer`: creates the peer and writes its invitation to `options.save_path`.
    pub fn add_peer(&self, options: &AddPeerOptions) -> Result<AddedPeer, AdminError> {
        let cidrs = self.cidrs()?;
        let peers = self.peers()?;
        let cidr = self.cidr_by_name(&cidrs, &options.cidr)?;
        self.check_invitable(&cidrs, &peers, cidr)?;
        if peers.iter().any(|p| p.name == options.name) {
            return Err(AdminError::PeerNameTaken {
                iface: self.iface.clone(),
                name: options.name.to_string(),
            });
        }
        let used = used_ips(&peers);
        let address_error = |source| AdminError::Address {
            cidr: cidr.name.clone(),
            source,
        };
        let ip = match options.ip {
            Some(ip) => check_peer_ip(&cidr.cidr, ip, &used)
                .map(|()| ip)
                .map_err(address_error)?,
            None => first_free_ip(&cidr.cidr, &used).map_err(address_error)?,
        };
        let expires = SystemTime::now()
            .checked_add(options.invite_expires.as_duration())
            .ok_or_else(|| AdminError::ExpiryTooFar {
                value: options.invite_expires.to_string(),
            })?;
        let root = CidrTree::new(&cidrs)
            .root()
            .ok_or_else(|| AdminError::NoRoot {
                iface: self.iface.clone(),
            })?;
        let server = self.invitation_server(&peers);

        let path = &options.save_path;
        let file = create_invitation_file(path)?;
        let (contents, invitation) = new_invitation(
            InviteSpec {
                name: options.name.clone(),
                ip,
                cidr_id: cidr.id,
                admin: options.admin,
                expires,
                network_name: self.config.interface.network_name.clone(),
                root_prefix: root.cidr.prefix_len(),
                server,
            },
            PrivateKey::generate(),
        );
        let peer = match self.api.create_peer(&contents) {
            Ok(peer) => peer,
            Err(source) => {
                drop(file);
                let _ = fs::remove_file(path);
                return Err(self
                    .api_error(format!("add peer {:?}", options.name.as_str()))(
                    source
                ));
            }
        };
        write_invitation(file, &invitation).map_err(|source| {
            let _ = fs::remove_file(path);
            AdminError::InvitationWrite {
                iface: self.iface.clone(),
                peer: options.name.to_string(),
                path: path.clone(),
                source,
            }
        })?;
        Ok(AddedPeer {
            peer,
            invitation_path: path.clone(),
            expires,
        })
    }

    /// A new peer's CIDR must be a leaf and not the server's.
    fn check_invitable(
        &self,
        cidrs: &[Cidr],
        peers: &[Peer],
        cidr: &Cidr,
    ) -> Result<(), AdminError> {
        if self.infra_cidr(cidrs, peers) == Some(cidr.id) {
            return Err(AdminError::InfraCidr {
                name: cidr.name.clone(),
            });
        }
        if !CidrTree::new(cidrs).is_leaf(cidr.id) {
            return Err(AdminError::NotALeaf {
                name: cidr.name.clone(),
            });
        }
        Ok(())
    }

    /// The `[server]` table: the server key this host pins; the server peer's stored external
    /// endpoint when it has a usable one (it may have moved since this host joined), else the
    /// one this host uses; and the real internal endpoint (never the `--api-address` override).
    fn invitation_server(&self, peers: &[Peer]) -> ServerInfo {
        let mut server = self.config.server.clone();
        let stored = peers
            .iter()
            .find(|p| p.ip == self.server_ip() && p.public_key == server.public_key)
            .and_then(|p| p.endpoint.clone())
            .filter(|endpoint| !endpoint.is_unspecified());
        if let Some(endpoint) = stored {
            server.external_endpoint = endpoint;
        }
        server
    }
}

/// Every address any peer holds (disabled and unredeemed ones included).
fn used_ips(peers: &[Peer]) -> HashSet<IpAddr> {
    peers.iter().map(|peer| peer.ip).collect()
}

/// Creates the empty invitation file: exclusive, mode 0600 whatever the umask.
fn create_invitation_file(path: &Path) -> Result<File, AdminError> {
    let fail = |source: std::io::Error| match source.kind() {
        ErrorKind::AlreadyExists => AdminError::InvitationExists {
            path: path.to_path_buf(),
        },
        _ => AdminError::InvitationFile {
            path: path.to_path_buf(),
            source,
        },
    };
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(fail)?;
    if let Err(source) = file.set_permissions(fs::Permissions::from_mode(0o600)) {
        drop(file);
        let _ = fs::remove_file(path);
        return Err(fail(source));
    }
    Ok(file)
}

fn write_invitation(mut file: File, invitation: &InvitationConfig) -> std::io::Result<()> {
    file.write_all(invitation.to_toml_string().as_bytes())?;
    file.sync_all()
}
