//! The end of a peer's life: deletion by an admin, by the peer itself (deregistration), and
//! the network's settings that govern it.
//!
//! A deleted peer leaves every table; a redeemed one leaves a tombstone that keeps its
//! address (and id) from ever being given to another key, because every client pins the key
//! it first saw at an address. An unredeemed invitation leaves none: nobody saw its key.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use wiremesh_shared::wire::Peer;
use wiremesh_shared::{Endpoint, PeerId};

use super::Service;
use crate::error::{Invalid, Result, ServiceError};
use crate::model::Model;
use crate::store::{DeletionReason, Settings, Tombstone};

/// The shortest window an ephemeral peer may have. An online wiremesh client is heard from
/// all the time: it holds a long poll (seen when it starts and when it ends, and it asks
/// again at once); a polling client is heard from at each fetch, and every client's
/// handshakes (at least every two minutes while its keepalives flow) count too. A window
/// shorter than a minute would be all noise.
pub const MIN_EPHEMERAL_WINDOW: Duration = Duration::from_secs(60);

impl Service {
    /// Notes that peer `id` is online now, if it is ephemeral (called for every API request
    /// it makes).
    pub fn saw(&self, id: PeerId) {
        if self.model().ephemeral().contains_key(&id) {
            let now = self.clock.instant();
            super::lock(&self.last_seen).insert(id, now);
        }
    }

    /// Notes the handshakes the server's interface reports for ephemeral peers (a handshake
    /// happens at least every two minutes while a peer sends anything, keepalives included).
    pub(super) fn saw_handshakes(&self, peers: &[wireguard_control::PeerInfo]) {
        let model = self.model();
        if model.ephemeral().is_empty() {
            return;
        }
        let (wall, now) = (self.clock.now(), self.clock.instant());
        let mut seen = super::lock(&self.last_seen);
        for info in peers {
            let Some(at) = info.stats.last_handshake_time else {
                continue;
            };
            let Some(peer) = model
                .peers()
                .iter()
                .find(|p| p.public_key == info.config.public_key)
            else {
                continue;
            };
            if !model.ephemeral().contains_key(&peer.id) {
                continue;
            }
            // A handshake in the future (a clock stepped back) counts as now.
            let ago = wall.duration_since(at).unwrap_or_default();
            let at = now.checked_sub(ago).unwrap_or(now);
            let entry = seen.entry(peer.id).or_insert(at);
            if *entry < at {
                *entry = at;
            }
        }
    }

    /// Deletes the ephemeral peers that have been offline longer than their window; returns
    /// them. A window starts when the server first looks (its start, or the peer's creation),
    /// so a restart never deletes a peer early; an invitation not yet redeemed is left to
    /// its expiry.
    pub fn sweep_ephemeral(&self) -> Result<Vec<Peer>> {
        let model = self.model();
        let now = self.clock.instant();
        let mut due = Vec::new();
        {
            let mut seen = super::lock(&self.last_seen);
            seen.retain(|id, _| model.ephemeral().contains_key(id));
            for (&id, &secs) in model.ephemeral() {
                let Some(peer) = model.peer(id) else { continue };
                if !peer.is_redeemed {
                    continue;
                }
                let last = *seen.entry(id).or_insert(now);
                if now.saturating_duration_since(last) > Duration::from_secs(secs) {
                    due.push(id);
                }
            }
        }
        let mut deleted = Vec::new();
        for id in due {
            match self.delete_peer(id, DeletionReason::Ephemeral) {
                Ok(peer) => {
                    tracing::info!(peer = %peer.name, "ephemeral peer offline past its window: deleted");
                    deleted.push(peer);
                }
                // Deleted meanwhile (by an admin, or itself).
                Err(ServiceError::NotFound { .. }) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(deleted)
    }

    /// Deletes peer `id` for good (`reason` says who decided). Refused for the server peer,
    /// a hub that still has devices, and (unless an ephemeral peer's window ran out, which
    /// takes them along) a peer that rules name. Returns the peer as it was.
    pub fn delete_peer(&self, id: PeerId, reason: DeletionReason) -> Result<Peer> {
        let deleted_at = self
            .now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.write(|model, store| {
            let peer = model.peer(id).ok_or(ServiceError::NotFound {
                what: "peer",
                id: id.0,
            })?;
            check_deletable(model, peer, reason)?;
            let tombstone = peer.is_redeemed.then(|| Tombstone {
                peer: peer.id,
                name: peer.name.clone(),
                ip: peer.ip,
                public_key: peer.public_key,
                cidr: peer.cidr_id,
                deleted_at,
                reason,
            });
            store.delete_peer(id, tombstone.as_ref())?;
            // Routes, a device row and rules may have gone along: read everything back (a
            // deletion is rare; the model stays exactly what the database holds).
            let snapshot = store.snapshot()?;
            let next = model.reloaded(snapshot);
            tracing::info!(
                peer = %peer.name,
                ip = %peer.ip,
                reason = reason.as_str(),
                consumed = tombstone.is_some(),
                "peer deleted"
            );
            Ok((peer.clone(), Some(next)))
        })
    }

    /// `DELETE /v2/user`: the calling peer deletes itself (`wiremesh uninstall`), unless the
    /// network's settings forbid it. Every rule is checked now; the deletion itself happens
    /// after the key swap delay, so that the answer can still travel through the peer's tunnel
    /// (deleting it takes its key off the server's interface). Returns that delay.
    pub fn deregister(self: &Arc<Self>, caller: &Peer) -> Result<Duration> {
        Self::require_user(caller)?;
        let model = self.model();
        if !model.settings().self_deletion {
            return Err(Invalid::SelfDeletionForbidden {
                name: caller.name.to_string(),
            }
            .into());
        }
        check_deletable(&model, caller, DeletionReason::Deregistered)?;
        let delay = self.options.key_swap_delay;
        let (service, id, name) = (self.clone(), caller.id, caller.name.clone());
        let actor = crate::audit::Actor::peer(caller);
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            let deleted = crate::audit::acting_as(actor, || {
                service.delete_peer(id, DeletionReason::Deregistered)
            });
            if let Err(error) = deleted {
                tracing::warn!(peer = %name, %error, "failed to delete a peer that deregistered");
            }
        });
        Ok(delay)
    }

    /// `set-endpoint`: the server's public endpoint moves. It is the server peer's stored
    /// endpoint, so every peer's next answer carries it (every peer sees the server), and
    /// wiremesh clients record it in their configs and send to it at once; new invitations
    /// name it. Returns the endpoint it replaced.
    pub fn set_server_endpoint(&self, endpoint: Endpoint) -> Result<Option<Endpoint>> {
        if endpoint.port() == 0 {
            return Err(Invalid::ZeroPort.into());
        }
        if endpoint.is_unspecified() {
            return Err(Invalid::UnspecifiedServerEndpoint.into());
        }
        self.write(|model, store| {
            let server = model.server_peer().ok_or(ServiceError::NotFound {
                what: "server peer",
                id: model.roles().server_peer.0,
            })?;
            let (id, old) = (server.id, server.endpoint.clone());
            if old.as_ref() == Some(&endpoint) {
                return Ok((old, None));
            }
            store.set_endpoint(id, Some(&endpoint))?;
            tracing::info!(
                from = old.as_ref().map(ToString::to_string),
                to = %endpoint,
                "the server's public endpoint moved"
            );
            let next = model.edited(|data| {
                super::edit_peer(data, id, |p| p.contents.endpoint = Some(endpoint.clone()))
            });
            Ok((old, Some(next)))
        })
    }

    /// The newest `limit` entries of the audit log, newest first.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<crate::store::AuditEntry>> {
        Ok(super::lock(&self.writer).audit_log(limit)?)
    }

    /// The network's settings.
    pub fn settings(&self) -> Settings {
        self.model().settings()
    }

    /// Replaces the network's settings; returns whether anything changed.
    pub fn set_settings(&self, settings: Settings) -> Result<bool> {
        self.write(|model, store| {
            if model.settings() == settings {
                return Ok((false, None));
            }
            store.set_settings(&settings)?;
            tracing::info!(self_deletion = settings.self_deletion, "settings changed");
            let next = model.edited(|data| data.settings = settings);
            Ok((true, Some(next)))
        })
    }
}

/// The rules a deletion must meet.
fn check_deletable(model: &Model, peer: &Peer, reason: DeletionReason) -> Result<()> {
    if peer.id == model.roles().server_peer {
        return Err(Invalid::ServerPeer {
            name: peer.name.to_string(),
            action: "deleted",
        }
        .into());
    }
    let devices: Vec<String> = model
        .devices()
        .hosted_by(peer.id)
        .filter_map(|d| model.peer(d.peer))
        .map(|d| format!("{:?}", d.name.as_str()))
        .collect();
    if !devices.is_empty() {
        return Err(Invalid::HubOfDevices {
            hub: peer.name.to_string(),
            devices: devices.join(", "),
        }
        .into());
    }
    if reason != DeletionReason::Ephemeral {
        Service::check_peer_unnamed(model, peer.id, peer.name.as_str())?;
    }
    Ok(())
}
