//! `add-peer`: a new peer and its invitation file (compat §2.1–2.2).
//!
//! Order, so that a failure never leaves an invitation for a peer that does not exist nor
//! overwrites a file: the lists are fetched and everything is checked; the invitation file
//! is created empty (exclusively, mode 0600 — it will hold a private key); the peer is
//! posted; then the invitation is written into the open file. If the post fails, the empty
//! file is removed; if writing fails after the peer exists, the error says so and what to do.

use std::net::IpAddr;
use std::time::SystemTime;

use wireguard_control::PrivateKey;
use wiremesh_shared::config::{new_invitation, ServerInfo};
use wiremesh_shared::invite::{InviteError, Joining, PeerCidrError};
use wiremesh_shared::wire::{NewPeer, Peer, EPHEMERAL_FEATURE};

use super::{Admin, AdminError};

pub use wiremesh_shared::invite::{AddPeerOptions, AddedPeer};

impl Admin {
    /// The first free address of the CIDR named `cidr` (the default of `--ip`).
    pub fn default_peer_ip(&self, cidr: &str) -> Result<IpAddr, AdminError> {
        let cidrs = self.cidrs()?;
        let peers = self.peers()?;
        let cidr = self.cidr_by_name(&cidrs, cidr)?;
        let joining = Joining {
            cidrs: &cidrs,
            peers: &peers,
            infra: self.infra_cidr(&cidrs, &peers),
            consumed: &[],
        };
        joining
            .choose_ip(cidr, None)
            .map_err(|error| self.invite_error(error))
    }

    /// `add-peer`: creates the peer and writes its invitation to `options.save_path`.
    pub fn add_peer(&self, options: &AddPeerOptions) -> Result<AddedPeer, AdminError> {
        let cidrs = self.cidrs()?;
        let peers = self.peers()?;
        let cidr = self.cidr_by_name(&cidrs, &options.cidr)?;
        let joining = Joining {
            cidrs: &cidrs,
            peers: &peers,
            infra: self.infra_cidr(&cidrs, &peers),
            consumed: &[],
        };
        let server = self.invitation_server(&peers);
        let spec = joining
            .invite_spec(
                cidr,
                options,
                &self.config.interface.network_name,
                server,
                SystemTime::now(),
            )
            .map_err(|error| self.invite_error(error))?;
        let expires = spec.expires;

        let path = &options.save_path;
        let file = privatefile::reserve(path).map_err(|error| match error {
            privatefile::Error::Exists { path } => AdminError::InvitationExists { path },
            other => AdminError::InvitationFile {
                path: path.clone(),
                source: other.into_io(),
            },
        })?;
        let (contents, invitation) = new_invitation(spec, PrivateKey::generate());
        // Dropped unfilled (the server refused the peer), the reserved file is removed again.
        let action = format!("add peer {:?}", options.name.as_str());
        let peer = match &options.ephemeral {
            None => self.api.create_peer(&contents),
            Some(window) => {
                if !self.server_offers(EPHEMERAL_FEATURE)? {
                    return Err(AdminError::NoEphemeral {
                        iface: self.iface.clone(),
                    });
                }
                self.api.create_peer_v2(&NewPeer {
                    contents: contents.clone(),
                    ephemeral_secs: Some(window.as_duration().as_secs()),
                })
            }
        }
        .map_err(self.api_error(action))?;
        file.fill(invitation.to_toml_string().as_bytes())
            .map_err(|source| AdminError::InvitationWrite {
                iface: self.iface.clone(),
                peer: options.name.to_string(),
                path: path.clone(),
                source: source.into_io(),
            })?;
        Ok(AddedPeer {
            peer,
            invitation_path: path.clone(),
            expires,
        })
    }

    /// The rules' verdict in this command's words.
    fn invite_error(&self, error: InviteError) -> AdminError {
        match error {
            InviteError::Cidr(PeerCidrError::NotALeaf { cidr }) => {
                AdminError::NotALeaf { name: cidr }
            }
            InviteError::Cidr(PeerCidrError::InfraCidr { cidr }) => {
                AdminError::InfraCidr { name: cidr }
            }
            InviteError::NameTaken { name } => AdminError::PeerNameTaken {
                iface: self.iface.clone(),
                name,
            },
            InviteError::Address { cidr, source } => AdminError::Address { cidr, source },
            InviteError::ExpiryTooFar { value } => AdminError::ExpiryTooFar { value },
            InviteError::NoRoot => AdminError::NoRoot {
                iface: self.iface.clone(),
            },
            other @ (InviteError::UnknownCidr { .. } | InviteError::KeyTaken) => {
                AdminError::Rules(other)
            }
        }
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
