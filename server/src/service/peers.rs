//! The admin routes for peers: list, create (with the rules a new peer must meet), update,
//! enable/disable and rename.

use std::sync::Arc;

use wiremesh_shared::invite::Joining;
use wiremesh_shared::wire::{
    Peer, PeerContents, PeerPatch, MAX_CANDIDATES, PERSISTENT_KEEPALIVE_INTERVAL_SECS,
};
use wiremesh_shared::PeerId;

use super::{edit_peer, Service};
use crate::error::{Invalid, Result, ServiceError};
use crate::model::Model;
use crate::store::{PeerFields, Store};

impl Service {
    /// `GET /v1/admin/peers`.
    pub fn admin_peers(&self) -> Vec<Peer> {
        self.model().admin_peers()
    }

    /// `POST /v1/admin/peers`: returns the new id with the request's contents echoed back.
    pub fn create_peer(&self, contents: PeerContents) -> Result<Peer> {
        self.create_peer_with(contents, None)
    }

    /// [`Service::create_peer`], perhaps of an ephemeral peer (deleted once it has been
    /// offline for `ephemeral`; see `lifecycle`).
    pub fn create_peer_with(
        &self,
        contents: PeerContents,
        ephemeral: Option<std::time::Duration>,
    ) -> Result<Peer> {
        let window = ephemeral.map(check_ephemeral_window).transpose()?;
        let created = self.write(|model, store| {
            check_new_peer(model, &contents)?;
            let stored = match window {
                Some(secs) => store.insert_ephemeral_peer(&contents, secs)?,
                None => store.insert_peer(&contents)?,
            };
            let mut in_model = stored.clone();
            in_model.contents.persistent_keepalive_interval =
                Some(PERSISTENT_KEEPALIVE_INTERVAL_SECS);
            let id = stored.id;
            let next = model.edited(|data| {
                data.peers.push(Arc::new(in_model));
                if let Some(secs) = window {
                    Arc::make_mut(&mut data.ephemeral).insert(id, secs);
                }
            });
            tracing::info!(
                peer = %contents.name,
                ip = %contents.ip,
                ephemeral_secs = window,
                "peer created"
            );
            Ok((
                Peer {
                    id: stored.id,
                    contents,
                },
                Some(next),
            ))
        })?;
        if let (false, Some(expires)) = (created.is_redeemed, created.invite_expires) {
            // The invitation's deadline on the monotonic clock starts now, not at the sweep.
            self.invite_expired_at(created.id, expires, self.clock.now());
        }
        Ok(created)
    }

    /// `PUT /v1/admin/peers/{id}`: applies name, endpoint, admin flag, disabled flag and
    /// candidates; everything else in `contents` is ignored.
    pub fn update_peer(&self, id: PeerId, contents: PeerContents) -> Result<()> {
        self.write(|model, store| {
            let current = existing(model, id)?;
            // A device is a disabled row to innernet's eyes: its echo would disable it.
            if model.is_device(id) {
                return Err(Invalid::Device {
                    name: current.name.to_string(),
                    action: "change",
                }
                .into());
            }
            // innernet's admin client sends back what GET /admin/peers returned, with the
            // observed endpoint and candidates injected; storing those would silently turn an
            // observation into a permanent override, so an unchanged echo keeps the stored value.
            let injected = model.inject(current);
            let endpoint = if contents.endpoint == injected.endpoint {
                current.endpoint.clone()
            } else {
                contents.endpoint
            };
            let candidates = if contents.candidates == injected.candidates {
                current.candidates.clone()
            } else if contents.candidates.len() > MAX_CANDIDATES {
                return Err(ServiceError::TooManyCandidates {
                    count: contents.candidates.len(),
                    max: MAX_CANDIDATES,
                });
            } else {
                contents.candidates
            };
            let fields = PeerFields {
                name: contents.name,
                endpoint,
                is_admin: contents.is_admin,
                is_disabled: contents.is_disabled,
                candidates,
            };
            commit_fields(model, store, current, fields)
        })
    }

    /// Enables or disables a peer (`DELETE /v1/admin/peers/{id}` disables), keeping its
    /// stored endpoint and candidates (never the injected ones).
    pub fn set_disabled(&self, id: PeerId, disabled: bool) -> Result<()> {
        let patch = PeerPatch {
            is_disabled: Some(disabled),
            ..PeerPatch::default()
        };
        self.patch_peer(id, &patch)
    }

    /// Renames a peer.
    pub fn rename_peer(&self, id: PeerId, name: wiremesh_shared::Hostname) -> Result<()> {
        let patch = PeerPatch {
            name: Some(name),
            ..PeerPatch::default()
        };
        self.patch_peer(id, &patch)
    }

    /// `PATCH /v2/admin/peers/{id}`: changes the fields `patch` names and nothing else. The
    /// other fields are read inside the write, so a concurrent change to them (a disable
    /// between an admin's read and write) stands.
    pub fn patch_peer(&self, id: PeerId, patch: &PeerPatch) -> Result<()> {
        self.write(|model, store| {
            let current = existing(model, id)?;
            let mut fields = fields_of(current);
            if let Some(name) = &patch.name {
                fields.name = name.clone();
            }
            if let Some(disabled) = patch.is_disabled {
                fields.is_disabled = disabled;
            }
            if let Some(admin) = patch.is_admin {
                fields.is_admin = admin;
            }
            commit_fields(model, store, current, fields)
        })
    }
}

/// The peer `id`, or [`ServiceError::NotFound`].
fn existing(model: &Model, id: PeerId) -> Result<&Peer> {
    model.peer(id).ok_or(ServiceError::NotFound {
        what: "peer",
        id: id.0,
    })
}

/// The one way an existing peer's fields change (`PUT`, `PATCH`, disable, rename): the rules
/// (the server peer stays enabled, names stay unique), then, unless nothing changes, the
/// store, the log and the next model.
fn commit_fields(
    model: &Model,
    store: &mut dyn Store,
    current: &Peer,
    fields: PeerFields,
) -> Result<((), Option<Model>)> {
    let id = current.id;
    if fields.is_disabled && id == model.roles().server_peer {
        return Err(Invalid::ServerPeer {
            name: current.name.to_string(),
            action: "disabled",
        }
        .into());
    }
    if model
        .peer_by_name(&fields.name)
        .is_some_and(|other| other.id != id)
    {
        return Err(ServiceError::Conflict {
            what: format!("a peer named {:?}", fields.name.as_str()),
        });
    }
    if fields_of(current) == fields {
        return Ok(((), None));
    }
    store.update_peer(id, &fields)?;
    if fields.is_disabled != current.is_disabled {
        let action = if fields.is_disabled {
            "disabled"
        } else {
            "enabled"
        };
        tracing::info!(peer = %current.name, "peer {action}");
    }
    if fields.name != current.name {
        tracing::info!(peer = %current.name, new_name = %fields.name, "peer renamed");
    }
    let next = model.edited(|data| edit_peer(data, id, |p| apply_fields(p, fields)));
    Ok(((), Some(next)))
}

/// An ephemeral peer's window in seconds: at least [`super::lifecycle::MIN_EPHEMERAL_WINDOW`].
fn check_ephemeral_window(window: std::time::Duration) -> Result<u64> {
    let min = super::lifecycle::MIN_EPHEMERAL_WINDOW;
    if window < min {
        return Err(Invalid::EphemeralWindow {
            given: window.as_secs(),
            min: min.as_secs(),
        }
        .into());
    }
    Ok(window.as_secs())
}

/// Checks a new peer against the network (the rules are [`wiremesh_shared::invite`]'s).
fn check_new_peer(model: &Model, contents: &PeerContents) -> Result<()> {
    let joining = Joining {
        cidrs: model.cidrs(),
        peers: model.peers(),
        infra: Some(model.roles().infra_cidr),
        consumed: &model.consumed_ips(),
    };
    Ok(joining.check_new_peer(contents)?)
}

fn fields_of(peer: &Peer) -> PeerFields {
    PeerFields {
        name: peer.name.clone(),
        endpoint: peer.endpoint.clone(),
        is_admin: peer.is_admin,
        is_disabled: peer.is_disabled,
        candidates: peer.candidates.clone(),
    }
}

fn apply_fields(peer: &mut Peer, fields: PeerFields) {
    peer.contents.name = fields.name;
    peer.contents.endpoint = fields.endpoint;
    peer.contents.is_admin = fields.is_admin;
    peer.contents.is_disabled = fields.is_disabled;
    peer.contents.candidates = fields.candidates;
}
