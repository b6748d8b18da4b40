//! The admin commands of a client, through the `/v1/admin` API (compat §1.5, §2.2, §8.1):
//! peers ([`Admin::rename_peer`], [`Admin::set_peer_disabled`], [`Admin::list_peers`] and,
//! in [`invite`], [`Admin::add_peer`]), and CIDRs and associations (in [`cidrs`]).
//!
//! Every command names things by name (`--name`, `--cidr`, `--parent`), fetches the lists it
//! needs, checks what it can locally (with `wiremesh-shared`'s rules, so a mistake gets a clear
//! message instead of a bare 400) and returns data for the binary to print. The server
//! decides in the end; its refusals come back as [`AdminError::Api`] with its reason, and a
//! 401 says that the caller is not an admin peer.
//!
//! # Peer updates echo what `GET /admin/peers` returned
//!
//! `/v1` has only a whole-object `PUT /admin/peers/{id}`, and the only source of a peer's
//! current contents is `GET /admin/peers`, where the server has injected the endpoint and
//! candidates it observes (compat §1.9). So rename, disable and enable send those values back
//! as received. A wiremesh server recognises an unchanged echo of its own injected values and
//! keeps the stored ones; an innernet server stores them, turning the observed endpoint into
//! a persistent override (compat §13.3). Nothing better is possible through `/v1`: the stored
//! values are not visible to any client.

use std::net::IpAddr;

use wireguard_control::InterfaceName;
use wiremesh_shared::alloc::AllocError;
use wiremesh_shared::cidr::CidrError;
use wiremesh_shared::config::ClientConfig;
use wiremesh_shared::wire::{
    Association, Cidr, Peer, PeerPatch, DELETION_FEATURE, PEER_PATCH_FEATURE,
};
use wiremesh_shared::{CidrId, Hostname};

use crate::api::{ApiClient, ApiError};
use crate::context::Context;
use crate::error::ClientError;
use crate::files;

pub mod cidrs;
pub mod devices;
pub mod invite;
pub mod policy;
pub mod routes;

pub use cidrs::{AddCidrOptions, AssociationView};
pub use invite::{AddPeerOptions, AddedPeer};

/// The name innernet and wiremesh give the CIDR that holds only the server.
pub const INFRA_CIDR_NAME: &str = "innernet-server";

/// Why an admin command failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The network's config could not be loaded.
    #[error(transparent)]
    Client(Box<ClientError>),
    /// The server refused, or could not be reached.
    #[error("failed to {action} on {iface}: {source}")]
    Api {
        iface: InterfaceName,
        action: String,
        #[source]
        source: Box<ApiError>,
    },
    #[error("the server of {iface} has no port and protocol policy (an innernet server, or a wiremesh-server before policies)")]
    NoPolicy { iface: InterfaceName },
    #[error("the server of {iface} has no routes (an innernet server, or a wiremesh-server before routes)")]
    NoRoutes { iface: InterfaceName },
    #[error("the server of {iface} has no devices (an innernet server, or a wiremesh-server before devices)")]
    NoDevices { iface: InterfaceName },
    #[error("the server of {iface} cannot delete peers (an innernet server, or a wiremesh-server before deletion): disable the peer instead")]
    NoDeletion { iface: InterfaceName },
    #[error("the server of {iface} has no ephemeral peers (an innernet server, or a wiremesh-server before them)")]
    NoEphemeral { iface: InterfaceName },
    #[error("no device named {name:?} in {iface}; `wiremesh list-devices {iface}` lists them")]
    DeviceNotFound { iface: InterfaceName, name: String },
    #[error("no peer named {name:?} in {iface}; `wiremesh list-peers {iface}` lists every peer")]
    PeerNotFound { iface: InterfaceName, name: String },
    #[error("no CIDR named {name:?} in {iface}; `wiremesh list-cidrs {iface}` lists them")]
    CidrNotFound { iface: InterfaceName, name: String },
    #[error("a peer named {name:?} already exists in {iface}; choose another name")]
    PeerNameTaken { iface: InterfaceName, name: String },
    #[error("CIDR {name:?} has child CIDRs, and peers live in leaf CIDRs only; pick one of its children")]
    NotALeaf { name: String },
    #[error("CIDR {name:?} is reserved for the server; pick another CIDR for peers")]
    InfraCidr { name: String },
    #[error("failed to assign an address in CIDR {cidr:?}: {source}")]
    Address {
        cidr: String,
        #[source]
        source: AllocError,
    },
    #[error("failed to {action}: {source}")]
    Cidr {
        action: String,
        #[source]
        source: CidrError,
    },
    /// A rule of the network the server's lists already break for this request.
    #[error(transparent)]
    Rules(wiremesh_shared::invite::InviteError),
    #[error("the network {iface} has no root CIDR (the server's answer is incomplete)")]
    NoRoot { iface: InterfaceName },
    #[error("the invitation expiry {value} is too far in the future")]
    ExpiryTooFar { value: String },
    #[error("the invitation file {} exists already; choose another path (--save-config)", path.display())]
    InvitationExists { path: std::path::PathBuf },
    #[error("failed to create the invitation file {}: {source}", path.display())]
    InvitationFile {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "peer {peer:?} was created, but its invitation could not be written to {}: {source}; \
         disable it with `wiremesh disable-peer {iface} --name {peer}` and invite again",
        path.display()
    )]
    InvitationWrite {
        iface: InterfaceName,
        peer: String,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("a CIDR cannot be associated with itself ({name:?})")]
    SameCidr { name: String },
    #[error("CIDRs {first:?} and {second:?} are already associated")]
    AlreadyAssociated { first: String, second: String },
    #[error(
        "CIDRs {first:?} and {second:?} are not associated; `wiremesh list-associations {iface}` \
         lists the associations"
    )]
    NotAssociated {
        iface: InterfaceName,
        first: String,
        second: String,
    },
}

impl From<ClientError> for AdminError {
    fn from(error: ClientError) -> Self {
        Self::Client(Box::new(error))
    }
}

/// Whether a peer update changed anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerUpdateOutcome {
    /// The peer was already like that; nothing was sent.
    Unchanged(Peer),
    /// The server accepted the update; the peer as it is now.
    Updated(Peer),
}

/// An admin session on one network: its config and an API client.
#[derive(Debug)]
pub struct Admin {
    iface: InterfaceName,
    config: ClientConfig,
    api: ApiClient,
}

impl Admin {
    /// Loads the network's config; talks to the server only when a command runs.
    pub fn open(ctx: &Context, iface: &InterfaceName) -> Result<Self, AdminError> {
        let config = files::load_config(&ctx.paths, iface)?;
        let api = ctx.api(&config);
        Ok(Self {
            iface: iface.clone(),
            config,
            api,
        })
    }

    pub fn iface(&self) -> &InterfaceName {
        &self.iface
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    fn api_error(&self, action: impl Into<String>) -> impl FnOnce(ApiError) -> AdminError + '_ {
        let action = action.into();
        move |source| AdminError::Api {
            iface: self.iface.clone(),
            action,
            source: Box::new(source),
        }
    }

    /// Every peer, including disabled and unredeemed ones.
    pub fn peers(&self) -> Result<Vec<Peer>, AdminError> {
        self.api.peers().map_err(self.api_error("list the peers"))
    }

    pub fn cidrs(&self) -> Result<Vec<Cidr>, AdminError> {
        self.api.cidrs().map_err(self.api_error("list the CIDRs"))
    }

    pub fn associations(&self) -> Result<Vec<Association>, AdminError> {
        self.api
            .associations()
            .map_err(self.api_error("list the associations"))
    }

    fn peer_by_name(&self, peers: &[Peer], name: &str) -> Result<Peer, AdminError> {
        peers
            .iter()
            .find(|peer| peer.name.as_str() == name)
            .cloned()
            .ok_or_else(|| AdminError::PeerNotFound {
                iface: self.iface.clone(),
                name: name.to_owned(),
            })
    }

    fn cidr_by_name<'c>(&self, cidrs: &'c [Cidr], name: &str) -> Result<&'c Cidr, AdminError> {
        cidrs
            .iter()
            .find(|cidr| cidr.name == name)
            .ok_or_else(|| AdminError::CidrNotFound {
                iface: self.iface.clone(),
                name: name.to_owned(),
            })
    }

    /// The IP of the coordination server inside the network.
    fn server_ip(&self) -> IpAddr {
        self.config.server.internal_endpoint.ip()
    }

    /// `rename-peer`: gives the peer `name` the name `new_name`.
    pub fn rename_peer(
        &self,
        name: &str,
        new_name: &Hostname,
    ) -> Result<PeerUpdateOutcome, AdminError> {
        let peers = self.peers()?;
        let mut peer = self.peer_by_name(&peers, name)?;
        if &peer.name == new_name {
            return Ok(PeerUpdateOutcome::Unchanged(peer));
        }
        if peers.iter().any(|p| &p.name == new_name) {
            return Err(AdminError::PeerNameTaken {
                iface: self.iface.clone(),
                name: new_name.to_string(),
            });
        }
        peer.contents.name = new_name.clone();
        let patch = PeerPatch {
            name: Some(new_name.clone()),
            ..PeerPatch::default()
        };
        self.update_peer(&peer, &patch)
            .map_err(self.api_error(format!("rename peer {name:?} to {:?}", new_name.as_str())))?;
        Ok(PeerUpdateOutcome::Updated(peer))
    }

    /// `disable-peer` (`disabled = true`) and `enable-peer`: a `PUT` with `is_disabled`
    /// flipped, as innernet's client does (not `DELETE`, which only disables).
    pub fn set_peer_disabled(
        &self,
        name: &str,
        disabled: bool,
    ) -> Result<PeerUpdateOutcome, AdminError> {
        let peers = self.peers()?;
        let mut peer = self.peer_by_name(&peers, name)?;
        if peer.is_disabled == disabled {
            return Ok(PeerUpdateOutcome::Unchanged(peer));
        }
        peer.contents.is_disabled = disabled;
        let verb = if disabled { "disable" } else { "enable" };
        let patch = PeerPatch {
            is_disabled: Some(disabled),
            ..PeerPatch::default()
        };
        self.update_peer(&peer, &patch)
            .map_err(self.api_error(format!("{verb} peer {name:?}")))?;
        Ok(PeerUpdateOutcome::Updated(peer))
    }

    /// Whether the server lists `feature` in its capabilities.
    pub(crate) fn server_offers(&self, feature: &str) -> Result<bool, AdminError> {
        Ok(self
            .api
            .capabilities()
            .map_err(self.api_error("read the server's capabilities"))?
            .wiremesh
            .is_some_and(|server| server.features.iter().any(|f| f == feature)))
    }

    /// `delete-peer`: deletion for good, where the server offers it.
    pub fn delete_peer(&self, name: &str) -> Result<Peer, AdminError> {
        let action = format!("delete peer {name:?}");
        let peers = self.peers()?;
        let peer = self.peer_by_name(&peers, name)?;
        if !self.server_offers(DELETION_FEATURE)? {
            return Err(AdminError::NoDeletion {
                iface: self.iface.clone(),
            });
        }
        self.api
            .delete_peer(peer.id)
            .map_err(self.api_error(action))?;
        Ok(peer)
    }

    /// Changes the fields of `patch`: with a `PATCH` where the server offers it, so that
    /// nothing else changes whatever other admins do meanwhile; else with innernet's `PUT`
    /// of the whole peer as read (`peer`, with the patch applied).
    fn update_peer(&self, peer: &Peer, patch: &PeerPatch) -> Result<(), ApiError> {
        let patchable = self
            .api
            .capabilities()?
            .wiremesh
            .is_some_and(|server| server.features.iter().any(|f| f == PEER_PATCH_FEATURE));
        if patchable {
            self.api.patch_peer(peer.id, patch)
        } else {
            self.api.update_peer(peer.id, &peer.contents)
        }
    }

    /// `list-peers`: every peer with its CIDR's name, ordered by IP.
    pub fn invitable_cidrs(&self, cidrs: &[Cidr], peers: &[Peer]) -> Vec<Cidr> {
        let infra = self.infra_cidr(cidrs, peers);
        let tree = wiremesh_shared::cidr::CidrTree::new(cidrs);
        tree.leaves()
            .filter(|cidr| Some(cidr.id) != infra)
            .cloned()
            .collect()
    }

    /// The server's own CIDR: the one holding the server peer, else the one named
    /// `innernet-server`.
    fn infra_cidr(&self, cidrs: &[Cidr], peers: &[Peer]) -> Option<CidrId> {
        let server_ip = self.server_ip();
        peers
            .iter()
            .find(|p| p.ip == server_ip)
            .map(|p| p.cidr_id)
            .or_else(|| {
                cidrs
                    .iter()
                    .find(|c| c.name == INFRA_CIDR_NAME)
                    .map(|c| c.id)
            })
    }
}
