//! The `/v1/user` routes: capabilities, the state (cached per revision and viewer CIDR),
//! redeeming an invitation, the endpoint and NAT candidates.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use wireguard_control::PublicKey;
use wiremesh_shared::wire::{
    EndpointContents, Peer, ServerCapabilities, State, WiremeshCapabilities, MAX_CANDIDATES,
};
use wiremesh_shared::{Endpoint, PeerId};

use super::{edit_peer, lock, Service, FEATURES};
use crate::error::{Denied, Invalid, Result, ServiceError};
use crate::model::{Model, PendingKeySwap, RulesetKey};

impl Service {
    pub fn capabilities(&self) -> ServerCapabilities {
        ServerCapabilities {
            unspecified_ip_in_override_endpoint: true,
            wiremesh: Some(WiremeshCapabilities {
                version: env!("CARGO_PKG_VERSION").to_owned(),
                features: FEATURES.iter().map(|f| (*f).to_owned()).collect(),
            }),
        }
    }

    /// The current model and the caller as it stands there (it may have changed since it
    /// was looked up), for the state routes.
    fn viewer(&self, caller: &Peer) -> Result<(Arc<Model>, Peer)> {
        Self::require_user(caller)?;
        let model = self.model();
        let viewer = model
            .peer(caller.id)
            .cloned()
            .ok_or(ServiceError::Denied(Denied::UnknownPeer))?;
        Ok((model, viewer))
    }

    /// `GET /v1/user/state`.
    pub fn state(&self, caller: &Peer) -> Result<State> {
        let (model, viewer) = self.viewer(caller)?;
        Ok(model.state_for(&viewer))
    }

    /// `GET /v1/user/state` as JSON, built once per revision and viewer CIDR (up to
    /// [`STATE_BODIES_MAX_BYTES`] per revision) and shared by every peer of that CIDR.
    pub fn state_body(&self, caller: &Peer) -> Result<Bytes> {
        let (model, viewer) = self.viewer(caller)?;
        let viewer = &viewer;
        let revision = model.revision();
        {
            let bodies = lock(&self.state_bodies);
            if bodies.revision == revision {
                if let Some(body) = bodies.by_cidr.get(&model.ruleset_key(viewer)) {
                    return Ok(body.clone());
                }
            }
        }
        // Zero-copy from the serialised Vec: at 50,000 peers a body is 16 MB.
        let peers = model.visible_to(viewer);
        let policy = model.peer_ruleset(viewer);
        let routes = model.route_view(viewer);
        let body =
            Bytes::from(lock(&self.peer_json).state(&model, &peers, Some(&policy), Some(&routes)));
        let mut bodies = lock(&self.state_bodies);
        if bodies.revision < revision {
            *bodies = StateBodies {
                revision,
                ..StateBodies::default()
            };
        }
        if bodies.revision == revision && bodies.bytes + body.len() <= STATE_BODIES_MAX_BYTES {
            bodies.bytes += body.len();
            bodies
                .by_cidr
                .insert(model.ruleset_key(viewer), body.clone());
        }
        Ok(body)
    }

    /// `POST /v1/user/redeem`: the invitation's temporary key is replaced by `new_key`.
    /// The old key stays on the interface for [`ServiceOptions::key_swap_delay`] after the
    /// redemption is committed (the clock is read then, not when the request arrived: a
    /// redeem that waited for the writer lock or the database must not lose its delay).
    pub fn redeem(&self, caller: PeerId, new_key: PublicKey) -> Result<()> {
        let delay = self.options.key_swap_delay;
        self.write(|model, store| {
            let now = self.clock.now();
            let peer = model
                .peer(caller)
                .ok_or(ServiceError::Denied(Denied::UnknownPeer))?;
            if peer.is_disabled {
                return Err(ServiceError::Denied(Denied::Disabled));
            }
            if peer.is_redeemed {
                return Err(ServiceError::Denied(Denied::AlreadyRedeemed));
            }
            if peer
                .invite_expires
                .is_some_and(|expires| self.invite_expired_at(caller, expires, now))
            {
                return Err(ServiceError::Denied(Denied::InviteExpired));
            }
            if model
                .server_peer()
                .is_some_and(|server| server.public_key == new_key)
            {
                return Err(Invalid::ServerKey.into());
            }
            if model.peers().iter().any(|p| p.public_key == new_key) {
                return Err(ServiceError::Conflict {
                    what: "a peer with this public key".into(),
                });
            }
            store.redeem_peer(caller, &new_key)?;
            let committed = self.clock.instant();
            let old_key = peer.public_key;
            let mut pending = model.pending_swaps().clone();
            pending.insert(
                caller,
                PendingKeySwap {
                    old_key,
                    due: committed + delay,
                },
            );
            let next = model
                .edited(|data| {
                    edit_peer(data, caller, |peer| {
                        peer.contents.is_redeemed = true;
                        peer.contents.public_key = new_key;
                    })
                })
                .with_pending_swaps(pending);
            tracing::info!(peer = %peer.name, "invitation redeemed");
            Ok(((), Some(next)))
        })
    }

    /// `PUT /v1/user/endpoint`.
    pub fn set_endpoint(&self, caller: &Peer, contents: EndpointContents) -> Result<()> {
        Self::require_user(caller)?;
        let endpoint: Option<Endpoint> = contents.into();
        if endpoint.as_ref().is_some_and(|e| e.port() == 0) {
            return Err(Invalid::ZeroPort.into());
        }
        let id = caller.id;
        self.write(|model, store| {
            let current = model
                .peer(id)
                .ok_or(ServiceError::Denied(Denied::UnknownPeer))?;
            if current.endpoint == endpoint {
                return Ok(((), None));
            }
            store.set_endpoint(id, endpoint.as_ref())?;
            let next = model.edited(|data| edit_peer(data, id, |p| p.contents.endpoint = endpoint));
            Ok(((), Some(next)))
        })
    }

    /// `PUT /v1/user/candidates`. Unchanged lists are not written (innernet clients send
    /// theirs on every fetch).
    pub fn set_candidates(&self, caller: &Peer, candidates: Vec<Endpoint>) -> Result<()> {
        Self::require_user(caller)?;
        if candidates.len() > MAX_CANDIDATES {
            return Err(ServiceError::TooManyCandidates {
                count: candidates.len(),
                max: MAX_CANDIDATES,
            });
        }
        let id = caller.id;
        self.write(|model, store| {
            let current = model
                .peer(id)
                .ok_or(ServiceError::Denied(Denied::UnknownPeer))?;
            if current.candidates == candidates {
                return Ok(((), None));
            }
            store.set_candidates(id, &candidates)?;
            let next =
                model.edited(|data| edit_peer(data, id, |p| p.contents.candidates = candidates));
            Ok(((), Some(next)))
        })
    }
}

/// Most bytes of serialised states kept for one revision.
pub(super) const STATE_BODIES_MAX_BYTES: usize = 64 << 20;

/// The `/v1/user/state` answers of one revision, by the viewer's ruleset key: what a peer sees
/// depends only on its CIDR (compat §5), and its ruleset too unless a rule names it, so in a
/// network of 10,000 peers in 50 CIDRs about 50 answers are built per revision, however often
/// the peers poll.
#[derive(Debug, Default)]
pub(super) struct StateBodies {
    revision: u64,
    bytes: usize,
    by_cidr: HashMap<RulesetKey, Bytes>,
}
