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
    let action = format!("add peer {:?}", options.name.as_str());
    let refused = |source: ServiceError| AdminError::Service {
        action: action.clone(),
        source: Box::new(source),
    };
    let model = network.model();
    let cidr = network.cidr_by_name(&options.cidr)?;
    let server = invitation_server(network, &model)?;
    let joining = Joining {
        cidrs: model.cidrs(),
        peers: model.peers(),
        infra: Some(model.roles().infra_cidr),
        consumed: &model.consumed_ips(),
    };
    let spec = joining
        .invite_spec(
            &cidr,
            options,
            network.name.as_str(),
            server,
            network.service.now(),
        )
        .map_err(|error| match error {
            InviteError::ExpiryTooFar { value } => AdminError::ExpiryTooFar { value },
            other => refused(other.into()),
        })?;
    let expires = spec.expires;

    let path = &options.save_path;
    let file = privatefile::reserve(path).map_err(|source| AdminError::InvitationFile {
        path: path.to_path_buf(),
        source: source.into(),
    })?;
    let (contents, invitation) = new_invitation(spec, PrivateKey::generate());
    // Dropped unfilled (the peer was refused), the reserved file is removed again.
    let ephemeral = options.ephemeral.as_ref().map(Timestring::as_duration);
    let peer = network
        .service
        .create_peer_with(contents, ephemeral)
        .map_err(refused)?;
    if let Err(source) = file.fill(invitation.to_toml_string().as_bytes()) {
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
        expires,
    })
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
