//! The service: every rule of the network, applied in one place to the store, the in-memory
//! model and the server's WireGuard interface.
//!
//! This file is the core: the [`Service`] type, its locks, the one write path
//! ([`Service::write`]) and publishing of new models. The routes and duties are split by
//! topic: `sessions` (who is calling), `user` (the `/v1/user` routes and states), `peers`,
//! `cidrs` (CIDRs and associations) and `maintenance` (invitations, key swaps, observed
//! endpoints and the interface).
//!
//! Concurrency: writes are serialised by the `writer` mutex, which is held for exactly one
//! store transaction plus the model swap — never across an `.await` (all methods are
//! blocking; async callers use `spawn_blocking`) and never while the device is touched.
//! Readers take the current `Arc<Model>` and release the lock at once. Device updates are
//! serialised by `device_lock` and always computed from the newest model, so concurrent
//! writers can never leave the interface behind the database.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use ipnet::IpNet;
use tokio::sync::watch;
use wireguard_control::{
    Backend, DeviceUpdate, InterfaceName, PeerUpdate, PresharedKey, PublicKey,
};
use wiremesh_shared::wire::{ClientReport, Peer, StateDelta, PERSISTENT_KEEPALIVE_INTERVAL_SECS};
use wiremesh_shared::PeerId;

use crate::changes::{compare, delta_for, watched_cidrs, ChangeLog, Waiter, Waiters};
use crate::error::{Denied, Result, ServiceError};
use crate::model::Model;
use crate::store::Store;

mod cidrs;
mod deltas;
pub mod devices;
mod lifecycle;
pub mod maintenance;
mod peer_json;
mod peers;
mod policy;
mod routes;
mod sessions;
mod tokens;
mod user;

pub use deltas::{DeltaBody, DeltaJob, DeltaLookup};
pub use tokens::TokenCheck;

/// Where time comes from; tests inject a fixed or stepping clock.
///
/// Two clocks, as the operating system has them: the wall clock ([`Clock::now`]) for times
/// that are stored or shown (an invitation's expiry), and the monotonic clock
/// ([`Clock::instant`]) for waiting (key swaps, and the deadline an invitation gets when the
/// server first sees it), which a wall clock stepped back by NTP or by hand cannot stretch.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> SystemTime;

    fn instant(&self) -> Instant {
        Instant::now()
    }
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
    /// The TCP port of the API on the server's tunnel address (the WireGuard listen port):
    /// never filtered on the server's own interface.
    pub api_port: u16,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        Self {
            key_swap_delay: Duration::from_secs(2),
            api_port: 51820,
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
    wiremesh_shared::wire::PEER_PATCH_FEATURE,
    wiremesh_shared::wire::POLICY_FEATURE,
    wiremesh_shared::wire::ROUTES_FEATURE,
    wiremesh_shared::wire::DEVICES_FEATURE,
    wiremesh_shared::wire::DELETION_FEATURE,
    wiremesh_shared::wire::EPHEMERAL_FEATURE,
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
    /// Set when the server is stopping: waiting long polls answer at once.
    stopping: watch::Sender<bool>,
    /// Serialised `/v1/user/state` answers of the current revision (see [`Service::state_body`]).
    state_bodies: Mutex<user::StateBodies>,
    /// Serialised `/v2/user/state` answers of the current revision (see [`deltas`]).
    delta_bodies: Mutex<deltas::DeltaBodies>,
    /// Each peer's JSON until it changes (see [`peer_json`]).
    peer_json: Mutex<peer_json::PeerJson>,
    /// Each unredeemed invitation's expiry as seen when the server first met it, and the
    /// monotonic instant that expiry was then from (see [`Service::invite_expired`]).
    invite_deadlines: Mutex<HashMap<PeerId, (SystemTime, Instant)>>,
    /// What each client last reported (see [`policy`]), as stored.
    reports: Mutex<HashMap<PeerId, ClientReport>>,
    /// When each ephemeral peer was last seen online, on the monotonic clock (see
    /// `lifecycle`); not persisted: after a restart every window starts again.
    last_seen: Mutex<HashMap<PeerId, Instant>>,
    options: ServiceOptions,
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
        // The revisions are the database's, so a client's revision stays meaningful across
        // restarts of the server (see [`crate::changes`]).
        let snapshot = store.snapshot()?;
        let history = store.revisions()?;
        let reports = policy::parse_reports(store.reports()?);
        let model = Model::new(snapshot, store.revision()).with_observed(store.observed()?);
        let model = model.at_revision(store.revision());
        let (revisions, _) = watch::channel(model.revision());
        let changes = Mutex::new(ChangeLog::new(history, crate::changes::DEFAULT_CAPACITY));
        let service = Self {
            writer: Mutex::new(store),
            model: RwLock::new(Arc::new(model)),
            device,
            device_lock: Mutex::new(()),
            clock,
            revisions,
            changes,
            waiters: Waiters::default(),
            stopping: watch::Sender::new(false),
            state_bodies: Mutex::default(),
            delta_bodies: Mutex::default(),
            peer_json: Mutex::default(),
            invite_deadlines: Mutex::default(),
            reports: Mutex::new(reports),
            last_seen: Mutex::default(),
            options,
        };
        service.note_invitations();
        Ok(service)
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
        let (model, since, current_epoch) = self.delta_inputs(epoch, revision);
        // Judge the caller as it is now: it may have been disabled while its poll waited.
        let viewer = model
            .peer(caller.id)
            .ok_or(ServiceError::Denied(Denied::UnknownPeer))?;
        Self::require_user(viewer)?;
        Ok(delta_for(&model, viewer, current_epoch, since))
    }

    /// Registers a long poll of `caller`: the handle is notified by every change to a CIDR
    /// the caller can see (and by structural changes).
    pub fn watch(&self, caller: &Peer) -> Waiter {
        let model = self.model();
        let cidrs = match model.peer(caller.id) {
            Some(viewer) => watched_cidrs(&model, viewer),
            None => Default::default(),
        };
        self.waiters.register(cidrs)
    }

    /// Ends every long poll now and any started from now on at once (with the answer as
    /// it stands, usually empty), so that stopping the server does not wait for them.
    pub fn stop_waiting(&self) {
        self.stopping.send_replace(true);
    }

    /// Resolves once [`Service::stop_waiting`] was called.
    pub async fn stopped(&self) {
        let mut stopping = self.stopping.subscribe();
        let _ = stopping.wait_for(|stopping| *stopping).await;
    }

    /// Long polls currently waiting.
    pub fn waiting(&self) -> usize {
        self.waiters.len()
    }

    /// Entries the waiter registry holds, by CIDR (zero when no long poll is waiting; more
    /// would be memory left behind by finished polls).
    pub fn waiter_entries(&self) -> usize {
        self.waiters.index_len()
    }

    /// Runs one write: under the writer lock, first catches up with changes other processes
    /// committed, then lets `op` check its rules against the model and write to the store,
    /// then publishes the model `op` returns. Afterwards the device gets what the write
    /// changed of what it holds ([`interface_delta`]), without being read back; after a
    /// reload (another process's changes), or when applying the delta fails, it is
    /// synchronised in full instead.
    fn write<T>(
        &self,
        op: impl FnOnce(&Model, &mut dyn Store) -> Result<(T, Option<Model>)>,
    ) -> Result<T> {
        let (value, device_work) = {
            let mut store = lock(&self.writer);
            // Another process's change caught up with here must reach the device too, even
            // when `op` itself changes nothing.
            let reloaded = self.reload_locked(&mut **store)?;
            let model = self.model();
            store.set_audit_actor(&crate::audit::current().to_string(), self.clock.now());
            let (value, next) = op(&model, &mut **store)?;
            // The store recorded the change at its next revision.
            let next = next.map(|next| {
                debug_assert!(
                    store.revision() > model.revision(),
                    "a write without a revision"
                );
                next.at_revision(store.revision())
            });
            let work = match next {
                Some(next) if !reloaded => self.publish_planned(&model, next),
                Some(next) => {
                    self.publish(next);
                    DeviceWork::Full
                }
                None if reloaded => DeviceWork::Full,
                None => DeviceWork::None,
            };
            (value, work)
        };
        self.finish_device_work(device_work);
        Ok(value)
    }

    /// Publishes `next`, the successor of `model`, and says what the device needs for it: the
    /// delta, with the device lock taken before the caller releases the writer lock, so that
    /// deltas reach the device in the order of their writes. Call with the writer lock held.
    fn publish_planned(&self, model: &Model, next: Model) -> DeviceWork<'_> {
        if self.device.is_some() && touches_devices(model, &next) {
            self.publish(next);
            return DeviceWork::Full;
        }
        let delta = if self.device.is_some() {
            interface_delta(model, &next)
        } else {
            DeviceUpdate::new()
        };
        self.publish(next);
        if delta.is_empty() {
            DeviceWork::None
        } else {
            DeviceWork::Apply(delta, lock(&self.device_lock))
        }
    }

    /// Does what [`Service::publish_planned`] (or a reload) left for the device; a delta that
    /// fails to apply is followed by a full synchronisation.
    fn finish_device_work(&self, work: DeviceWork<'_>) {
        match work {
            DeviceWork::None => {}
            DeviceWork::Full => self.sync_device_logged(),
            DeviceWork::Apply(delta, guard) => {
                let applied = match &self.device {
                    Some(device) => device.backend.apply(&device.name, &delta),
                    None => Ok(()),
                };
                drop(guard);
                if let Err(error) = applied {
                    tracing::warn!(
                        "failed to apply a change to the server's WireGuard interface \
                         ({error}); synchronising it in full"
                    );
                    self.sync_device_logged();
                }
            }
        }
    }

    fn reload_locked(&self, store: &mut dyn Store) -> Result<bool> {
        if !store.changed_by_others()? {
            return Ok(false);
        }
        let snapshot = store.snapshot()?;
        let model = self.model();
        let next = model.reloaded(snapshot);
        // The other process recorded its changes at its revisions; recording what this
        // server's model missed at a new one covers a write of this server's that came in
        // between (its revision is then older than the change it did not see).
        let comparison = compare(&model, &next);
        let revision = store.record_change(&comparison.touched, comparison.structural, &[])?;
        let next = next.at_revision(revision);
        tracing::info!(
            revision = next.revision(),
            "database changed by another process; model reloaded"
        );
        self.publish(next);
        // Whatever path noticed the change (the reload timer or a write), invitations the
        // other process added start their monotonic deadlines now.
        self.note_invitations();
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
}

/// The peers the server's interface must hold: enabled peers other than the server, with
/// the old key while a key swap is pending, and no endpoint (peers connect to the server).
/// Devices are there only when the server is their hub (the others are reached through
/// theirs: [`hub_extras`]).
pub fn desired_interface_peers(model: &Model) -> Vec<Peer> {
    let server = model.roles().server_peer;
    model
        .peers()
        .iter()
        .filter(|p| !p.is_disabled && p.id != server)
        .filter(|p| model.device(p.id).is_none_or(|d| d.hub == server))
        .map(|p| {
            let mut peer = Peer::clone(p);
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

/// What the server's interface holds beyond each peer's own address: the enabled devices of
/// other hubs join their hub's allowed IPs, and the devices the server hosts have their
/// preshared keys.
pub fn hub_extras(model: &Model) -> (HashMap<PeerId, Vec<IpNet>>, HashMap<PeerId, PresharedKey>) {
    let server = model.roles().server_peer;
    let mut routes: HashMap<PeerId, Vec<IpNet>> = HashMap::new();
    let mut preshared = HashMap::new();
    for device in &model.devices().devices {
        let Some(peer) = model.peer(device.peer).filter(|p| !p.is_disabled) else {
            continue;
        };
        if device.hub == server {
            if let Some(key) = &device.preshared_key {
                preshared.insert(device.peer, key.clone());
            }
        } else {
            routes
                .entry(device.hub)
                .or_default()
                .push(IpNet::from(peer.ip));
        }
    }
    (routes, preshared)
}

/// Whether a change from `before` to `after` touches what [`interface_delta`] does not
/// follow: devices (their book, a device's row) and the peers that are hubs.
fn touches_devices(before: &Model, after: &Model) -> bool {
    let (old, new) = (before.devices(), after.devices());
    if old.is_empty() && new.is_empty() {
        return false;
    }
    if !Arc::ptr_eq(old, new) && old != new {
        return true;
    }
    let involved = |id: PeerId| {
        new.is_device(id)
            || new
                .devices
                .iter()
                .any(|d| d.hub == id && d.hub != after.roles().server_peer)
    };
    after
        .peers()
        .iter()
        .filter(|p| {
            before
                .shared_peer(p.id)
                .is_none_or(|old| !Arc::ptr_eq(old, p))
        })
        .any(|p| involved(p.id))
        || before
            .peers()
            .iter()
            .any(|p| after.peer(p.id).is_none() && involved(p.id))
}

/// A peer's key and address on the server's interface, or `None` when it is not there.
type InterfaceEntry = Option<(PublicKey, IpAddr)>;

/// What of `model` the server's interface holds for `peer`, if anything: the key (the
/// invitation's during a key swap) and address [`desired_interface_peers`] puts there.
fn interface_entry(model: &Model, peer: &Peer) -> InterfaceEntry {
    if peer.is_disabled || peer.id == model.roles().server_peer {
        return None;
    }
    let key = model
        .pending_swaps()
        .get(&peer.id)
        .map_or(peer.public_key, |swap| swap.old_key);
    Some((key, peer.ip))
}

/// The device update that takes an interface holding `before`'s peers to `after`'s: peers
/// that left or changed key are removed, peers that arrived or changed are added with their
/// allowed IP and keepalive (as [`desired_interface_peers`] has them). Empty when names,
/// endpoints or candidates are all that changed: those never reach the interface.
pub fn interface_delta(before: &Model, after: &Model) -> DeviceUpdate {
    // (old entry, new entry) of every peer whose entry may differ.
    // With the same pending swaps, a peer both models share is the same entry in both.
    let same_swaps = before.pending_swaps() == after.pending_swaps();
    let pairs: Vec<(InterfaceEntry, InterfaceEntry)> = if before.aligned_with(after) {
        // Same peers at the same positions, new ones after them: compare in place.
        after
            .peers()
            .iter()
            .enumerate()
            .filter(|(i, peer)| {
                !(same_swaps
                    && before
                        .peers()
                        .get(*i)
                        .is_some_and(|old| Arc::ptr_eq(old, peer)))
            })
            .map(|(i, peer)| {
                let old = before
                    .peers()
                    .get(i)
                    .and_then(|p| interface_entry(before, p));
                (old, interface_entry(after, peer))
            })
            .collect()
    } else {
        let mut pairs: Vec<_> = after
            .peers()
            .iter()
            .map(|peer| {
                let old = before
                    .peer(peer.id)
                    .and_then(|p| interface_entry(before, p));
                (old, interface_entry(after, peer))
            })
            .collect();
        pairs.extend(
            before
                .peers()
                .iter()
                .filter(|p| after.peer(p.id).is_none())
                .map(|p| (interface_entry(before, p), None)),
        );
        pairs
    };
    let mut removals = Vec::new();
    let mut additions = Vec::new();
    for (old, new) in pairs {
        if old == new {
            continue;
        }
        if let Some((key, _)) = old {
            if new.map(|(k, _)| k) != Some(key) {
                removals.push(PeerUpdate::remove(key));
            }
        }
        if let Some((key, ip)) = new {
            additions.push(
                PeerUpdate::new(key)
                    .replace_allowed_ips([ipnet::IpNet::from(ip)])
                    .set_persistent_keepalive_interval(PERSISTENT_KEEPALIVE_INTERVAL_SECS),
            );
        }
    }
    DeviceUpdate::new().add_peers(removals).add_peers(additions)
}

/// What a write leaves to do on the device.
enum DeviceWork<'a> {
    None,
    /// Synchronise in full (read the interface, compare, apply).
    Full,
    /// Apply this delta, holding the device lock.
    Apply(DeviceUpdate, MutexGuard<'a, ()>),
}

/// Changes peer `id` in `data` (its own copy: other revisions keep theirs).
fn edit_peer(data: &mut crate::store::Snapshot, id: PeerId, edit: impl FnOnce(&mut Peer)) {
    // Peers are sorted by id.
    if let Ok(i) = data.peers.binary_search_by_key(&id, |p| p.id) {
        edit(Arc::make_mut(&mut data.peers[i]));
    }
}
