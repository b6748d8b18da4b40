//! The service: every rule of the network, applied in one place to the store, the in-memory
//! model and the server's WireGuard interface.
//!
//! Concurrency: writes are serialised by the `writer` mutex, which is held for exactly one
//! store transaction plus the model swap — never across an `.await` (all methods are
//! blocking; async callers use `spawn_blocking`) and never while the device is touched.
//! Readers take the current `Arc<Model>` and release the lock at once. Device updates are
//! serialised by `device_lock` and always computed from the newest model, so concurrent
//! writers can never leave the interface behind the database.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tokio::sync::watch;
use wireguard_control::{Backend, InterfaceName, PublicKey};
use wiremesh_shared::alloc::check_peer_ip;
use wiremesh_shared::cidr::{check_cidr_name, check_delete_cidr, check_new_cidr, CidrTree};
use wiremesh_shared::diff::{device_update, diff_peers};
use wiremesh_shared::wire::{
    Association, AssociationContents, Cidr, CidrContents, EndpointContents, Peer, PeerContents,
    ServerCapabilities, State, StateDelta, WiremeshCapabilities, MAX_CANDIDATES,
    PERSISTENT_KEEPALIVE_INTERVAL_SECS,
};
use wiremesh_shared::{AssociationId, CidrId, Endpoint, PeerId};

use crate::changes::{delta_for, watched_cidrs, ChangeLog, Waiters};
use crate::error::{Denied, Invalid, Result, ServiceError};
use crate::model::{Model, PendingKeySwap};
use crate::store::{PeerFields, Store};

/// Where time comes from; tests inject a fixed or stepping clock.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> SystemTime;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// The server's own WireGuard interface and the backend that drives it.
#[derive(Clone)]
pub struct ServerInterface {
    pub backend: Arc<dyn Backend>,
    pub name: InterfaceName,
}

impl fmt::Debug for ServerInterface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ServerInterface({} via {})",
            self.name,
            self.backend.kind()
        )
    }
}

/// Tunables of the service.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// How long a redeemed peer's invitation key stays on the interface so the redeem
    /// response can still reach it (innernet clients switch keys right after the response
    /// and fetch 5 s later).
    pub key_swap_delay: Duration,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        Self {
            key_swap_delay: Duration::from_secs(2),
        }
    }
}

/// What one device synchronisation did.
pub type DeviceSync = wiremesh_shared::diff::ChangeCounts;

/// Features this server adds to `/v1`, advertised in the capabilities.
pub const FEATURES: &[&str] = &[
    "error-bodies",
    "validated-keys",
    "live-disable",
    wiremesh_shared::wire::V2_STATE_FEATURE,
];

pub struct Service {
    /// The store; holding this lock is what makes a write exclusive.
    writer: Mutex<Box<dyn Store>>,
    /// The current model; written only while `writer` is held.
    model: RwLock<Arc<Model>>,
    device: Option<ServerInterface>,
    /// Serialises device synchronisation (never held together with `writer`).
    device_lock: Mutex<()>,
    clock: Arc<dyn Clock>,
    revisions: watch::Sender<u64>,
    /// What each revision changed; held while a model is published (so the log and the
    /// model always agree) and while a delta is read; never across an `.await`.
    changes: Mutex<ChangeLog>,
    /// Long polls of `/v2/user/state`.
    waiters: Waiters,
    /// Serialised `/v1/user/state` answers of the current revision (see [`Service::state_body`]).
    state_bodies: Mutex<StateBodies>,
    options: ServiceOptions,
}

/// Most bytes of serialised states kept for one revision.
const STATE_BODIES_MAX_BYTES: usize = 64 << 20;

/// The `/v1/user/state` answers of one revision, by the viewer's CIDR: what a peer sees
/// depends only on its CIDR (spec §5), so in a network of 10,000 peers in 50 CIDRs at most 50
/// answers are built per revision, however often the peers poll.
#[derive(Debug, Default)]
struct StateBodies {
    revision: u64,
    bytes: usize,
    by_cidr: HashMap<CidrId, Bytes>,
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("revision", &self.model().revision())
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the store half-written (every store call
    // is one transaction), so a poisoned lock is safe to keep using.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Service {
    /// Builds the service from the store's current contents.
    pub fn new(
        mut store: Box<dyn Store>,
        device: Option<ServerInterface>,
        clock: Arc<dyn Clock>,
        options: ServiceOptions,
    ) -> Result<Self> {
        let model = Model::new(store.snapshot()?, 1);
        let (revisions, _) = watch::channel(model.revision());
        // The epoch names this process's revision history: after a restart, revisions start
        // over and clients holding old ones must get the full state.
        let epoch = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        let changes = Mutex::new(ChangeLog::new(
            epoch,
            model.revision(),
            crate::changes::DEFAULT_CAPACITY,
        ));
        Ok(Self {
            writer: Mutex::new(store),
            model: RwLock::new(Arc::new(model)),
            device,
            device_lock: Mutex::new(()),
            clock,
            revisions,
            changes,
            waiters: Waiters::default(),
            state_bodies: Mutex::default(),
            options,
        })
    }

    /// The current model.
    pub fn model(&self) -> Arc<Model> {
        self.model
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Revision notifications: the receiver sees the revision of every published model.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.revisions.subscribe()
    }

    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    pub fn device(&self) -> Option<&ServerInterface> {
        self.device.as_ref()
    }

    fn publish(&self, model: Model) {
        let revision = model.revision();
        let recorded = {
            let mut changes = lock(&self.changes);
            let recorded = changes.record(&self.model(), &model);
            *self.model.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(model);
            recorded
        };
        self.revisions.send_replace(revision);
        self.waiters.wake(&recorded);
    }

    /// The revision history's epoch (see [`crate::changes`]).
    pub fn epoch(&self) -> u64 {
        lock(&self.changes).epoch()
    }

    /// `GET /v2/user/state`: what changed for `caller` since `revision` of `epoch`, or the
    /// full state when the server cannot tell (another epoch, a revision outside its log).
    pub fn state_delta(
        &self,
        caller: &Peer,
        epoch: Option<u64>,
        revision: Option<u64>,
    ) -> Result<StateDelta> {
        let (model, since, current_epoch) = {
            let changes = lock(&self.changes);
            let model = self.model();
            let since = match (epoch, revision) {
                (Some(e), Some(r)) if e == changes.epoch() => changes.since(r),
                _ => None,
            };
            (model, since, changes.epoch())
        };
        // Judge the caller as it is now: it may have been disabled while its poll waited.
        let viewer = model
            .peer(caller.id)
            .ok_or(ServiceError::Denied(Denied::UnknownPeer))?;
        Self::require_user(viewer)?;
        Ok(delta_for(&model, viewer, current_epoch, since))
    }

    /// Registers a long poll of `caller`: the handle is notified by every change to a CIDR
    /// the caller can see (and by structural changes).
    pub fn watch(&self, caller: &Peer) -> Arc<tokio::sync::Notify> {
        let model = self.model();
        let cidrs = match model.peer(caller.id) {
            Some(viewer) => watched_cidrs(&model, viewer),
            None => Default::default(),
        };
        self.waiters.register(cidrs)
    }

    /// Long polls currently waiting.
    pub fn waiting(&self) -> usize {
        self.waiters.len()
    }

    /// Runs one write: under the writer lock, first catches up with changes other processes
    /// committed, then lets `op` check its rules against the model and write to the store,
    /// then publishes the model `op` returns. Afterwards the device is synchronised when what it
    /// holds ([`interface_view`]) changed.
    fn write<T>(
        &self,
        op: impl FnOnce(&Model, &mut dyn Store) -> Result<(T, Option<Model>)>,
    ) -> Result<T> {
        let (value, changed) = {
            let mut store = lock(&self.writer);
            // Another process's change caught up with here must reach the device too, even
            // when `op` itself changes nothing.
            let reloaded = self.reload_locked(&mut **store)?;
            let model = self.model();
            let (value, next) = op(&model, &mut **store)?;
            let mut interface_changed = reloaded;
            if let Some(next) = next {
                // Names, endpoints and candidates never reach the interface; reading a large
                // interface back for them would cost more than the write itself.
                interface_changed |= interface_view(&model) != interface_view(&next);
                self.publish(next);
            }
            (value, interface_changed)
        };
        if changed {
            self.sync_device_logged();
        }
        Ok(value)
    }

    fn reload_locked(&self, store: &mut dyn Store) -> Result<bool> {
        if !store.changed_by_others()? {
            return Ok(false);
        }
        let snapshot = store.snapshot()?;
        let next = self.model().reloaded(snapshot);
        tracing::info!(
            revision = next.revision(),
            "database changed by another process; model reloaded"
        );
        self.publish(next);
        Ok(true)
    }

    /// Catches up with changes another process (the server CLI) committed. Returns whether
    /// there were any; the device is synchronised when there were.
    pub fn reload_if_changed(&self) -> Result<bool> {
        let changed = {
            let mut store = lock(&self.writer);
            self.reload_locked(&mut **store)?
        };
        if changed {
            self.sync_device_logged();
        }
        Ok(changed)
    }

    // ---- sessions -----------------------------------------------------------------------

    /// The peer whose tunnel address sent a request; disabled peers are refused.
    pub fn caller(&self, source: IpAddr) -> Result<Peer> {
        let model = self.model();
        let peer = model
            .peer_by_ip(source.to_canonical())
            .ok_or(ServiceError::Denied(Denied::UnknownPeer))?;
        if peer.is_disabled {
            return Err(ServiceError::Denied(Denied::Disabled));
        }
        Ok(peer.clone())
    }

    /// Checks that `caller` is an enabled, redeemed peer.
    pub fn require_user(caller: &Peer) -> Result<()> {
        if caller.is_disabled {
            Err(ServiceError::Denied(Denied::Disabled))
        } else if !caller.is_redeemed {
            Err(ServiceError::Denied(Denied::NotRedeemed))
        } else {
            Ok(())
        }
    }

    /// Checks that `caller` is an enabled, redeemed admin.
    pub fn require_admin(caller: &Peer) -> Result<()> {
        Self::require_user(caller)?;
        if caller.is_admin {
            Ok(())
        } else {
            Err(ServiceError::Denied(Denied::NotAdmin))
        }
    }

    // ---- user routes --------------------------------------------------------------------

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
                if let Some(body) = bodies.by_cidr.get(&viewer.cidr_id) {
                    return Ok(body.clone());
                }
            }
        }
        // Zero-copy from the serialised Vec: at 50,000 peers a body is 16 MB.
        let state = model.state_for(viewer);
        // About 330 bytes per peer; sized up front so the buffer is not doubled past it.
        let mut buffer = Vec::with_capacity(512 + state.peers.len() * 400);
        serde_json::to_writer(&mut buffer, &state)
            .expect("the state is plain data and always serialises");
        drop(state);
        let body = Bytes::from(buffer);
        let mut bodies = lock(&self.state_bodies);
        if bodies.revision < revision {
            *bodies = StateBodies {
                revision,
                ..StateBodies::default()
            };
        }
        if bodies.revision == revision && bodies.bytes + body.len() <= STATE_BODIES_MAX_BYTES {
            bodies.bytes += body.len();
            bodies.by_cidr.insert(viewer.cidr_id, body.clone());
        }
        Ok(body)
    }

    /// `POST /v1/user/redeem`: the invitation's temporary key is replaced by `new_key`.
    /// The old key stays on the interface for [`ServiceOptions::key_swap_delay`].
    pub fn redeem(&self, caller: PeerId, new_key: PublicKey) -> Result<()> {
        let now = self.clock.now();
        let delay = self.options.key_swap_delay;
        self.write(|model, store| {
            let peer = model
                .peer(caller)
                .ok_or(ServiceError::Denied(Denied::UnknownPeer))?;
            if peer.is_disabled {
                return Err(ServiceError::Denied(Denied::Disabled));
            }
            if peer.is_redeemed {
                return Err(ServiceError::Denied(Denied::AlreadyRedeemed));
            }
            if peer.invite_expires.is_some_and(|expires| expires < now) {
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
            let old_key = peer.public_key;
            let mut pending = model.pending_swaps().clone();
            pending.insert(
                caller,
                PendingKeySwap {
                    old_key,
                    due: now + delay,
                },
            );
            let next = model
                .edited(|data| {
                    if let Some(peer) = data.peers.iter_mut().find(|p| p.id == caller) {
                        peer.contents.is_redeemed = true;
                        peer.contents.public_key = new_key;
                    }
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

    // ---- admin: peers -------------------------------------------------------------------

    /// `GET /v1/admin/peers`.
    pub fn admin_peers(&self) -> Vec<Peer> {
        self.model().admin_peers()
    }

    /// `POST /v1/admin/peers`: returns the new id with the request's contents echoed back.
    pub fn create_peer(&self, contents: PeerContents) -> Result<Peer> {
        self.write(|model, store| {
            check_new_peer(model, &contents)?;
            let stored = store.insert_peer(&contents)?;
            let mut in_model = stored.clone();
            in_model.contents.persistent_keepalive_interval =
                Some(PERSISTENT_KEEPALIVE_INTERVAL_SECS);
            let next = model.edited(|data| data.peers.push(in_model));
            tracing::info!(peer = %contents.name, ip = %contents.ip, "peer created");
            Ok((
                Peer {
                    id: stored.id,
                    contents,
                },
                Some(next),
            ))
        })
    }

    /// `PUT /v1/admin/peers/{id}`: applies name, endpoint, admin flag, disabled flag and
    /// candidates; everything else in `contents` is ignored.
    pub fn update_peer(&self, id: PeerId, contents: PeerContents) -> Result<()> {
        self.write(|model, store| {
            let current = model.peer(id).ok_or(ServiceError::NotFound {
                what: "peer",
                id: id.0,
            })?;
            if id == model.roles().server_peer && contents.is_disabled {
                return Err(Invalid::ServerPeer {
                    name: current.name.to_string(),
                    action: "disabled",
                }
                .into());
            }
            if let Some(other) = model.peer_by_name(&contents.name) {
                if other.id != id {
                    return Err(ServiceError::Conflict {
                        what: format!("a peer named {:?}", contents.name.as_str()),
                    });
                }
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
            let next = model.edited(|data| edit_peer(data, id, |p| apply_fields(p, fields)));
            Ok(((), Some(next)))
        })
    }

    /// Enables or disables a peer (`DELETE /v1/admin/peers/{id}` disables), keeping its
    /// stored endpoint and candidates (never the injected ones).
    pub fn set_disabled(&self, id: PeerId, disabled: bool) -> Result<()> {
        self.write(|model, store| {
            let current = model.peer(id).ok_or(ServiceError::NotFound { what: "peer", id: id.0 })?;
            if id == model.roles().server_peer && disabled {
                return Err(Invalid::ServerPeer { name: current.name.to_string(), action: "disabled" }.into());
            }
            if current.is_disabled == disabled {
                return Ok(((), None));
            }
            let mut fields = fields_of(current);
            fields.is_disabled = disabled;
            store.update_peer(id, &fields)?;
            tracing::info!(peer = %current.name, "peer {}", if disabled { "disabled" } else { "enabled" });
            let next = model.edited(|data| edit_peer(data, id, |p| apply_fields(p, fields)));
            Ok(((), Some(next)))
        })
    }

    /// Renames a peer.
    pub fn rename_peer(&self, id: PeerId, name: wiremesh_shared::Hostname) -> Result<()> {
        let model = self.model();
        let current = model.peer(id).ok_or(ServiceError::NotFound {
            what: "peer",
            id: id.0,
        })?;
        let mut contents = current.contents.clone();
        contents.name = name;
        // Pass the stored values through `update_peer`'s echo rule untouched.
        contents.endpoint = model.inject(current).contents.endpoint;
        contents.candidates = model.inject(current).contents.candidates;
        self.update_peer(id, contents)
    }

    // ---- admin: CIDRs -------------------------------------------------------------------

    pub fn cidrs(&self) -> Vec<Cidr> {
        self.model().cidrs().to_vec()
    }

    /// `POST /v1/admin/cidrs`.
    pub fn create_cidr(&self, contents: CidrContents) -> Result<Cidr> {
        self.write(|model, store| {
            check_new_cidr(model.cidrs(), model.peers(), &contents)?;
            let cidr = store.insert_cidr(&contents)?;
            let next = model.edited(|data| data.cidrs.push(cidr.clone()));
            tracing::info!(cidr = %cidr.cidr, name = %cidr.name, "CIDR created");
            Ok((cidr, Some(next)))
        })
    }

    /// `PUT /v1/admin/cidrs/{id}`: only the name changes.
    pub fn rename_cidr(&self, id: CidrId, name: String) -> Result<()> {
        self.write(|model, store| {
            let current = model.cidr(id).ok_or(ServiceError::NotFound {
                what: "CIDR",
                id: id.0,
            })?;
            check_cidr_name(&name)?;
            if current.name == name {
                return Ok(((), None));
            }
            if model.cidr_by_name(&name).is_some() {
                return Err(ServiceError::Conflict {
                    what: format!("a CIDR named {name:?}"),
                });
            }
            store.rename_cidr(id, &name)?;
            let next = model.edited(|data| {
                if let Some(cidr) = data.cidrs.iter_mut().find(|c| c.id == id) {
                    cidr.contents.name = name;
                }
            });
            Ok(((), Some(next)))
        })
    }

    /// `DELETE /v1/admin/cidrs/{id}`; a missing id is not an error (as innernet).
    pub fn delete_cidr(&self, id: CidrId) -> Result<()> {
        self.write(|model, store| {
            if model.cidr(id).is_none() {
                return Ok(((), None));
            }
            check_delete_cidr(
                model.cidrs(),
                model.peers(),
                model.associations(),
                &model.roles(),
                id,
            )?;
            store.delete_cidr(id)?;
            let next = model.edited(|data| data.cidrs.retain(|c| c.id != id));
            Ok(((), Some(next)))
        })
    }

    // ---- admin: associations ------------------------------------------------------------

    pub fn associations(&self) -> Vec<Association> {
        self.model().associations().to_vec()
    }

    /// `POST /v1/admin/associations`.
    pub fn create_association(&self, contents: AssociationContents) -> Result<Association> {
        self.write(|model, store| {
            let (a, b) = (contents.cidr_id_1, contents.cidr_id_2);
            if a == b {
                return Err(Invalid::SelfAssociation.into());
            }
            for id in [a, b] {
                if model.cidr(id).is_none() {
                    return Err(ServiceError::Invalid(Invalid::UnknownCidr { id: id.0 }));
                }
            }
            let exists = model.associations().iter().any(|x| {
                (x.cidr_id_1 == a && x.cidr_id_2 == b) || (x.cidr_id_1 == b && x.cidr_id_2 == a)
            });
            if exists {
                return Err(ServiceError::Conflict {
                    what: "an association between these CIDRs".into(),
                });
            }
            let association = store.insert_association(&contents)?;
            let next = model.edited(|data| data.associations.push(association.clone()));
            Ok((association, Some(next)))
        })
    }

    /// `DELETE /v1/admin/associations/{id}`; a missing id is not an error (as innernet).
    pub fn delete_association(&self, id: AssociationId) -> Result<()> {
        self.write(|model, store| {
            if !model.associations().iter().any(|a| a.id == id) {
                return Ok(((), None));
            }
            store.delete_association(id)?;
            let next = model.edited(|data| data.associations.retain(|a| a.id != id));
            Ok(((), Some(next)))
        })
    }

    // ---- maintenance --------------------------------------------------------------------

    /// Deletes invitations that expired unredeemed; their keys leave the interface too.
    pub fn sweep_expired_invites(&self) -> Result<Vec<Peer>> {
        let now = self.clock.now();
        self.write(|model, store| {
            let removed = store.delete_expired_invites(now)?;
            if removed.is_empty() {
                return Ok((removed, None));
            }
            for peer in &removed {
                tracing::info!(peer = %peer.name, ip = %peer.ip, "expired invitation removed");
            }
            let next =
                model.edited(|data| data.peers.retain(|p| !removed.iter().any(|r| r.id == p.id)));
            Ok((removed, Some(next)))
        })
    }

    /// Drops key swaps whose delay has passed, so the next device sync installs new keys.
    pub fn finish_due_key_swaps(&self) -> bool {
        let now = self.clock.now();
        let changed = {
            let _store = lock(&self.writer);
            let model = self.model();
            let due = model.pending_swaps().values().any(|swap| swap.due <= now);
            if due {
                let pending: HashMap<PeerId, PendingKeySwap> = model
                    .pending_swaps()
                    .iter()
                    .filter(|(_, swap)| swap.due > now)
                    .map(|(k, v)| (*k, *v))
                    .collect();
                self.publish(model.with_pending_swaps(pending));
            }
            due
        };
        if changed {
            self.sync_device_logged();
        }
        changed
    }

    /// Reads the endpoints the server's interface observed for each peer (spec §1.9).
    pub fn observe_endpoints(&self) -> Result<bool, wireguard_control::Error> {
        let Some(device) = &self.device else {
            return Ok(false);
        };
        let info = device.backend.get(&device.name)?;
        Ok(self.record_observed(&info.peers))
    }

    /// Records the endpoints in `peers` (as read from the interface); whether any changed.
    fn record_observed(&self, peers: &[wireguard_control::PeerInfo]) -> bool {
        let _store = lock(&self.writer);
        let model = self.model();
        let mut observed: HashMap<PublicKey, SocketAddr> = model.observed().clone();
        for peer in peers {
            if let Some(endpoint) = peer.config.endpoint {
                observed.insert(peer.config.public_key, endpoint);
            }
        }
        // Forget keys no peer has any more (innernet's map only grows).
        let known: HashSet<&PublicKey> = model.peers().iter().map(|p| &p.public_key).collect();
        observed.retain(|key, _| known.contains(key));
        drop(known);
        if &observed == model.observed() {
            return false;
        }
        self.publish(model.with_observed(observed));
        true
    }

    /// Housekeeping's interface work with a single read of the interface (which is what
    /// costs at 50,000 peers): [`Service::sync_device`], then recording the endpoints that
    /// read observed, as [`Service::observe_endpoints`] does.
    pub fn maintain_interface(&self) -> Result<(DeviceSync, bool), wireguard_control::Error> {
        let (sync, peers) = self.sync_device_reading()?;
        let observed = self.record_observed(&peers);
        Ok((sync, observed))
    }

    /// Brings the server's interface in line with the model: every enabled peer (invitations
    /// with their temporary key) with exactly its address as allowed IP; nothing else.
    pub fn sync_device(&self) -> Result<DeviceSync, wireguard_control::Error> {
        self.sync_device_reading().map(|(sync, _)| sync)
    }

    /// [`Service::sync_device`], also returning the peers as read before the update.
    fn sync_device_reading(
        &self,
    ) -> Result<(DeviceSync, Vec<wireguard_control::PeerInfo>), wireguard_control::Error> {
        let Some(device) = &self.device else {
            return Ok((DeviceSync::default(), Vec::new()));
        };
        let _guard = lock(&self.device_lock);
        let model = self.model();
        let info = device.backend.get(&device.name)?;
        let desired = desired_interface_peers(&model);
        let changes = diff_peers(
            &desired,
            &info.peers,
            info.public_key.as_ref(),
            self.clock.now(),
            |_| None,
        );
        let sync = DeviceSync::of(&changes);
        let update = device_update(&changes);
        if !update.is_empty() {
            device.backend.apply(&device.name, &update)?;
            tracing::debug!(?sync, "server interface updated");
        }
        drop(changes);
        Ok((sync, info.peers))
    }

    fn sync_device_logged(&self) {
        if let Err(error) = self.sync_device() {
            // The change is committed; the next periodic sync retries.
            tracing::error!("failed to update the server's WireGuard interface: {error}");
        }
    }
}

/// The peers the server's interface must hold: enabled peers other than the server, with
/// the old key while a key swap is pending, and no endpoint (peers connect to the server).
pub fn desired_interface_peers(model: &Model) -> Vec<Peer> {
    let server = model.roles().server_peer;
    model
        .peers()
        .iter()
        .filter(|p| !p.is_disabled && p.id != server)
        .map(|p| {
            let mut peer = p.clone();
            if let Some(swap) = model.pending_swaps().get(&p.id) {
                peer.contents.public_key = swap.old_key;
            }
            peer.contents.endpoint = None;
            peer.contents.candidates.clear();
            peer.contents.persistent_keepalive_interval = Some(PERSISTENT_KEEPALIVE_INTERVAL_SECS);
            peer
        })
        .collect()
}

/// What of `model` the server's interface holds: the key (the invitation's during a key swap)
/// and address of each peer [`desired_interface_peers`] puts there, in model order.
fn interface_view(model: &Model) -> Vec<(PublicKey, IpAddr)> {
    let server = model.roles().server_peer;
    model
        .peers()
        .iter()
        .filter(|p| !p.is_disabled && p.id != server)
        .map(|p| {
            let key = model
                .pending_swaps()
                .get(&p.id)
                .map_or(p.public_key, |swap| swap.old_key);
            (key, p.ip)
        })
        .collect()
}

/// Checks a new peer against the network (spec §1.10, plus leaf and infra rules).
fn check_new_peer(model: &Model, contents: &PeerContents) -> Result<()> {
    let cidr = model.cidr(contents.cidr_id).ok_or(ServiceError::NotFound {
        what: "CIDR",
        id: contents.cidr_id.0,
    })?;
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
    if let Some(other) = model.peer_by_name(&contents.name) {
        return Err(ServiceError::Conflict {
            what: format!("a peer named {:?}", other.name.as_str()),
        });
    }
    check_peer_ip(&cidr.cidr, contents.ip, &model.used_ips())?;
    if model
        .peers()
        .iter()
        .any(|p| p.public_key == contents.public_key)
    {
        return Err(ServiceError::Conflict {
            what: "a peer with this public key".into(),
        });
    }
    Ok(())
}

fn edit_peer(data: &mut crate::store::Snapshot, id: PeerId, edit: impl FnOnce(&mut Peer)) {
    if let Some(peer) = data.peers.iter_mut().find(|p| p.id == id) {
        edit(peer);
    }
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
