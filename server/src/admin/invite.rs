//! `add-peer`: a new peer and its invitation file (compat §2.1–2.2).
//!
//! Order, so that a failure never leaves a peer without an invitation nor an invitation for a
//! peer that does not exist: everything is checked first; then the invitation file is
//! created empty (exclusive create, mode 0600, since it will hold a private key); then the
//! peer is created; then the invitation is written into the open file. A failure before the
//! peer exists removes the file; a failure after it says so clearly (innernet issue #133).

use std::net::{IpAddr, SocketAddr};

use wireguard_control::PrivateKey;
use wiremesh_shared::alloc::first_free_ip;
use wiremesh_shared::config::{new_invitation, ServerInfo};
use wiremesh_shared::invite::{InviteError, Joining};
use wiremesh_shared::Timestring;

use super::{AdminError, Network};
use crate::error::ServiceError;
use crate::model::Model;
use crate::service::Service;
use wiremesh_shared::wire::{Cidr, Peer};

pub use wiremesh_shared::invite::{AddPeerOptions, AddedPeer};

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
    let cidr = network.cidr_by_name(&options.cidr)?;
    let place = InvitationPlace {
        network: network.name.as_str(),
        internal_endpoint: SocketAddr::new(network.config.address, network.config.listen_port),
    };
    let prepared = prepare(&network.service, &place, &cidr, options)?;
    let path = &options.save_path;
    let file = privatefile::reserve(path).map_err(|source| AdminError::InvitationFile {
        path: path.to_path_buf(),
        source: source.into(),
    })?;
    // Dropped unfilled (the peer was refused), the reserved file is removed again.
    let peer = prepared.create(&network.service, options)?;
    if let Err(source) = file.fill(prepared.invitation.to_toml_string().as_bytes()) {
        return Err(AdminError::InvitationWrite {
            network: network.name.to_string(),
            peer: options.name.to_string(),
            path: path.clone(),
            source: source.into_io(),
        });
    }
    Ok(AddedPeer {
        peer,
        invitation_path: path.clone(),
        expires: prepared.expires,
    })
}

/// Where invitations of a network send their peer: its name and the server's address and
/// port inside it (`serve` answers there).
#[derive(Debug, Clone, Copy)]
pub struct InvitationPlace<'a> {
    pub network: &'a str,
    pub internal_endpoint: SocketAddr,
}

/// An invitation checked against every rule, with its fresh key pair, not yet a peer.
#[derive(Debug)]
pub struct Prepared {
    contents: wiremesh_shared::wire::PeerContents,
    pub invitation: wiremesh_shared::config::InvitationConfig,
    pub expires: std::time::SystemTime,
}

/// Checks `options` for a new peer in `cidr` and makes its invitation: what `add-peer` and
/// the automation API share (`options.save_path` is not used).
pub fn prepare(
    service: &Service,
    place: &InvitationPlace<'_>,
    cidr: &Cidr,
    options: &AddPeerOptions,
) -> Result<Prepared, AdminError> {
    let model = service.model();
    let server = invitation_server(place, &model)?;
    let joining = Joining {
        cidrs: model.cidrs(),
        peers: model.peers(),
        infra: Some(model.roles().infra_cidr),
        consumed: &model.consumed_ips(),
    };
    let spec = joining
        .invite_spec(cidr, options, place.network, server, service.now())
        .map_err(|error| match error {
            InviteError::ExpiryTooFar { value } => AdminError::ExpiryTooFar { value },
            other => refused(options, other.into()),
        })?;
    let expires = spec.expires;
    let (contents, invitation) = new_invitation(spec, PrivateKey::generate());
    Ok(Prepared {
        contents,
        invitation,
        expires,
    })
}

impl Prepared {
    /// Creates the peer (ephemeral when `options` says so).
    pub fn create(&self, service: &Service, options: &AddPeerOptions) -> Result<Peer, AdminError> {
        let ephemeral = options.ephemeral.as_ref().map(Timestring::as_duration);
        service
            .create_peer_with(self.contents.clone(), ephemeral)
            .map_err(|source| refused(options, source))
    }
}

fn refused(options: &AddPeerOptions, source: ServiceError) -> AdminError {
    AdminError::Service {
        action: format!("add peer {:?}", options.name.as_str()),
        source: Box::new(source),
    }
}

/// The `[server]` table: key and external endpoint of the server peer, and the server's
/// address and port inside the network.
fn invitation_server(place: &InvitationPlace<'_>, model: &Model) -> Result<ServerInfo, AdminError> {
    let name = place.network.to_owned();
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
        internal_endpoint: place.internal_endpoint,
    })
}
