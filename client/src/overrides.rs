//! This host's own endpoint and listen port, and local per-peer endpoint overrides
//! (compat §6.5–6.6): `override-endpoint`, `override-peer-endpoint`, `set-listen-port`.
//!
//! - [`override_endpoint`] tells the server which endpoint other peers should use for this
//!   host. Setting one needs a fixed `listen-port` in the config (a random port would make it
//!   wrong after the next restart), and an unspecified host (`0.0.0.0:PORT`, "whatever address
//!   the server sees") only where the server's capabilities allow it.
//! - [`override_peer_endpoint`] is local only: it edits `[peer-endpoint-overrides]` (keyed by
//!   the peer's IP, found by name in the peer cache) and, when the interface is up, points
//!   that peer at the endpoint at once. Unsetting only edits the config; the next fetch
//!   restores what the server reports.
//! - [`set_listen_port`] changes the live interface first (so a port in use fails before
//!   anything is written), then rewrites the config; `None` means a random port (0).
//!
//! Config rewrites go through [`files::save_config`], which keeps the file at mode 0600.
//! "Nothing to do" is an outcome, not an error.

use wireguard_control::{DeviceUpdate, InterfaceName, PeerUpdate};
use wiremesh_shared::{Endpoint, Hostname};

use crate::api::ApiError;
use crate::context::Context;
use crate::error::ClientError;
use crate::{files, interface};

/// Why an override could not be made.
#[derive(Debug, thiserror::Error)]
pub enum OverrideError {
    /// Loading or saving the config, or changing the interface, failed.
    #[error(transparent)]
    Client(Box<ClientError>),
    /// An own endpoint without a fixed listen port would point at a port that changes.
    #[error(
        "failed to override the endpoint of {iface}: it has no fixed listen port, so the port \
         would change on the next restart; set one first with `wiremesh set-listen-port {iface} -l PORT`"
    )]
    NoListenPort { iface: InterfaceName },
    /// The server cannot complete `0.0.0.0:PORT`.
    #[error(
        "failed to override the endpoint of {iface} with {endpoint}: this server cannot fill in \
         an unspecified address (it lacks the capability); give the public address instead"
    )]
    UnspecifiedNotSupported {
        iface: InterfaceName,
        endpoint: Endpoint,
    },
    /// The server refused or could not be reached.
    #[error("failed to {action} for {iface}: {source}")]
    Api {
        iface: InterfaceName,
        action: &'static str,
        #[source]
        source: Box<ApiError>,
    },
    /// No cached peer has this name.
    #[error(
        "no peer named {name:?} in {iface}'s peer cache; `wiremesh show {iface}` lists the peers \
         this host knows (run `wiremesh fetch {iface}` if it joined recently)"
    )]
    PeerNotFound { iface: InterfaceName, name: String },
    /// `override-peer-endpoint` was aimed at this host itself.
    #[error("{name:?} is this host itself; use `wiremesh override-endpoint {iface}` for its own endpoint")]
    SelfPeer { iface: InterfaceName, name: String },
    /// The override endpoint's host name did not resolve.
    #[error(
        "failed to resolve {endpoint} for peer {name:?}: check the name, or give an IP address"
    )]
    Resolve { name: String, endpoint: Endpoint },
}

impl From<ClientError> for OverrideError {
    fn from(error: ClientError) -> Self {
        Self::Client(Box::new(error))
    }
}

/// What `set-listen-port` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenPortOutcome {
    /// The config already said this.
    Unchanged { port: Option<u16> },
    /// The config was rewritten; `live` when the running interface was changed too.
    Changed {
        from: Option<u16>,
        to: Option<u16>,
        live: bool,
    },
}

/// What `override-endpoint` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointOutcome {
    Set(Endpoint),
    Unset,
}

/// What `override-peer-endpoint` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerEndpointOutcome {
    /// The config already said this.
    Unchanged,
    /// The config was rewritten; `live` when the interface was changed at once.
    Set {
        peer: Hostname,
        endpoint: Endpoint,
        live: bool,
    },
    /// The override was removed from the config (the next fetch restores the server's).
    Unset { peer: Hostname },
}

/// `set-listen-port`: `Some(port)` fixes the port, `None` goes back to a random one.
pub fn set_listen_port(
    ctx: &Context,
    iface: &InterfaceName,
    port: Option<u16>,
) -> Result<ListenPortOutcome, OverrideError> {
    let mut config = files::load_config(&ctx.paths, iface)?;
    let from = config.interface.listen_port;
    if from == port {
        return Ok(ListenPortOutcome::Unchanged { port });
    }
    let live = interface::is_up(ctx, iface)?;
    if live {
        let update = DeviceUpdate::new().set_listen_port(port.unwrap_or(0));
        ctx.backend
            .apply(iface, &update)
            .map_err(ClientError::interface(iface, "set the listen port of"))?;
    }
    config.interface.listen_port = port;
    files::save_config(&ctx.paths, iface, &config)?;
    Ok(ListenPortOutcome::Changed {
        from,
        to: port,
        live,
    })
}

/// `override-endpoint`: sets (`Some`) or clears (`None`) this host's endpoint on the server.
pub fn override_endpoint(
    ctx: &Context,
    iface: &InterfaceName,
    endpoint: Option<Endpoint>,
) -> Result<EndpointOutcome, OverrideError> {
    let config = files::load_config(&ctx.paths, iface)?;
    let api = ctx.api(&config);
    let api_error = |action: &'static str| {
        move |source: ApiError| OverrideError::Api {
            iface: iface.clone(),
            action,
            source: Box::new(source),
        }
    };
    if let Some(endpoint) = &endpoint {
        if config.interface.listen_port.is_none() {
            return Err(OverrideError::NoListenPort {
                iface: iface.clone(),
            });
        }
        if endpoint.is_unspecified() {
            let capabilities = api
                .capabilities()
                .map_err(api_error("ask the server's capabilities"))?;
            if !capabilities.unspecified_ip_in_override_endpoint {
                return Err(OverrideError::UnspecifiedNotSupported {
                    iface: iface.clone(),
                    endpoint: endpoint.clone(),
                });
            }
        }
    }
    api.set_endpoint(endpoint.clone())
        .map_err(api_error("set the endpoint"))?;
    Ok(match endpoint {
        Some(endpoint) => EndpointOutcome::Set(endpoint),
        None => EndpointOutcome::Unset,
    })
}

/// `override-peer-endpoint`: sets (`Some`) or removes (`None`) the local override for the
/// peer named `name` (looked up in the peer cache).
pub fn override_peer_endpoint(
    ctx: &Context,
    iface: &InterfaceName,
    name: &str,
    endpoint: Option<Endpoint>,
) -> Result<PeerEndpointOutcome, OverrideError> {
    let mut config = files::load_config(&ctx.paths, iface)?;
    let cache = files::load_cache(&ctx.paths, iface)?.unwrap_or_default();
    let not_found = || OverrideError::PeerNotFound {
        iface: iface.clone(),
        name: name.to_owned(),
    };
    let peer = cache
        .peers
        .iter()
        .find(|p| p.name.as_str() == name)
        .ok_or_else(not_found)?;
    let own_key = config.interface.private_key.public_key();
    if peer.public_key == own_key || peer.ip == config.interface.address.addr() {
        return Err(OverrideError::SelfPeer {
            iface: iface.clone(),
            name: name.to_owned(),
        });
    }
    let previous = config.peer_endpoint_overrides.get(&peer.ip);
    if previous == endpoint.as_ref() {
        return Ok(PeerEndpointOutcome::Unchanged);
    }
    let Some(endpoint) = endpoint else {
        config.peer_endpoint_overrides.remove(&peer.ip);
        files::save_config(&ctx.paths, iface, &config)?;
        return Ok(PeerEndpointOutcome::Unset {
            peer: peer.name.clone(),
        });
    };
    let mut live = false;
    if interface::is_up(ctx, iface)? {
        let address = (ctx.resolve)(&endpoint).ok_or_else(|| OverrideError::Resolve {
            name: name.to_owned(),
            endpoint: endpoint.clone(),
        })?;
        let device = ctx
            .backend
            .get(iface)
            .map_err(ClientError::interface(iface, "read"))?;
        if device.peer(&peer.public_key).is_some() {
            let update = DeviceUpdate::new().add_peer(
                PeerUpdate::new(peer.public_key)
                    .set_endpoint(address)
                    .update_only(),
            );
            ctx.backend
                .apply(iface, &update)
                .map_err(ClientError::interface(iface, "set a peer endpoint on"))?;
            live = true;
        }
    }
    config
        .peer_endpoint_overrides
        .insert(peer.ip, endpoint.clone());
    files::save_config(&ctx.paths, iface, &config)?;
    Ok(PeerEndpointOutcome::Set {
        peer: peer.name.clone(),
        endpoint,
        live,
    })
}

#[cfg(test)]
#[path = "overrides_tests.rs"]
mod tests;
