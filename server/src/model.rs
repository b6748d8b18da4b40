//! The in-memory network: the single source of truth for reads.
//!
//! A [`Model`] is an immutable value: every committed change produces a new one with a
//! higher revision, and readers hold an `Arc<Model>` for as long as they need it without
//! blocking writers. It is rebuilt from the store at start (and whenever another process
//! changed the database) and otherwise updated in the same step as each committed write.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use wiremesh_shared::acl::{visible_peers, NetworkRoles, NetworkView};
use wiremesh_shared::devices::{device_routes_for, hosted_by, hub_duties, Device, DeviceBook, Hub};
use wiremesh_shared::policy::{
    compile, compile_gateway, Destination, HostRole, HostRuleset, Policy,
};
use wiremesh_shared::routes::{RouteBook, RouteView};
use wiremesh_shared::wire::{Association, Cidr, Peer, State};
use wiremesh_shared::{CidrId, Endpoint, PeerId, PublicKey};

use crate::store::{Snapshot, Tombstone};

/// A redeemed peer whose new key is not yet on the server's interface: the old key stays
/// there until `due`, so the redeem response can still travel over the old tunnel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingKeySwap {
    pub old_key: PublicKey,
    /// On the monotonic clock ([`crate::service::Clock::instant`]): a wall clock stepped
    /// back must not keep the invitation's key on the interface.
    pub due: Instant,
}

/// The network at one revision.
#[derive(Debug, Clone)]
pub struct Model {
    snapshot: Snapshot,
    revision: u64,
    /// Peer index by tunnel IP: how a request's source address becomes a caller.
    by_ip: HashMap<IpAddr, usize>,
    by_id: HashMap<PeerId, usize>,
    /// Endpoints the server's WireGuard interface observed, by key (not persisted); shared
    /// between revisions until an observation changes it.
    observed: Arc<HashMap<PublicKey, SocketAddr>>,
    pending_swaps: HashMap<PeerId, PendingKeySwap>,
    /// Compiled rulesets for this model's structure and policy, shared with the models
    /// after it until either changes.
    rulesets: Arc<Rulesets>,
}

/// Which hosts share one compiled ruleset (and one cached state answer): the peers of a CIDR,
/// except a peer that a rule names as its destination or that offers routes, which gets its
/// own.
pub type RulesetKey = (CidrId, Option<PeerId>);

/// The per-host rulesets compiled so far (each compiled once per structure and policy).
#[derive(Debug, Default)]
struct Rulesets {
    /// Peers that rules name as destinations, and gateways (their answers hold their own
    /// offers).
    named: HashSet<PeerId>,
    compiled: Mutex<HashMap<RulesetKey, Arc<HostRuleset>>>,
}

impl Rulesets {
    fn for_policy(
        policy: &Policy,
        routes: &RouteBook,
        devices: &DeviceBook,
        server: PeerId,
    ) -> Self {
        Self {
            named: policy
                .rules
                .iter()
                .filter_map(|r| match r.contents.destination {
                    Destination::Peer(p) => Some(p),
                    Destination::Cidr(_) | Destination::Route(_) => None,
                })
                .chain(routes.routes.iter().map(|r| r.contents.gateway))
                // A hub's answer holds its devices' preshared keys: it shares it with nobody.
                .chain(
                    devices
                        .devices
                        .iter()
                        .map(|d| d.hub)
                        .filter(|hub| *hub != server),
                )
                .collect(),
            compiled: Mutex::default(),
        }
    }
}

impl Model {
    pub fn new(snapshot: Snapshot, revision: u64) -> Self {
        let mut model = Self {
            snapshot,
            revision,
            by_ip: HashMap::new(),
            by_id: HashMap::new(),
            observed: Arc::default(),
            pending_swaps: HashMap::new(),
            rulesets: Arc::default(),
        };
        model.rulesets = Arc::new(Rulesets::for_policy(
            &model.snapshot.policy,
            &model.snapshot.routes,
            &model.snapshot.devices,
            model.snapshot.roles.server_peer,
        ));
        model.reindex();
        model
    }

    fn reindex(&mut self) {
        self.by_ip = self
            .snapshot
            .peers
            .iter()
            .enumerate()
            .map(|(i, p)| (p.ip, i))
            .collect();
        self.by_id = self
            .snapshot
            .peers
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id, i))
            .collect();
    }

    /// Whether `self` and `next` hold the same peers at the same positions, `next` perhaps
    /// with more after them (what every write but a removal or a reload leaves): then a
    /// comparison can go position by position, without looking peers up.
    pub fn aligned_with(&self, next: &Model) -> bool {
        let (old, new) = (self.peers(), next.peers());
        old.len() <= new.len()
            && old
                .iter()
                .zip(new)
                .all(|(a, b)| Arc::ptr_eq(a, b) || (a.id == b.id && a.ip == b.ip))
    }

    /// Whether `self` and `other` share one map of observed endpoints (so no observation
    /// differs between them).
    pub fn same_observed(&self, other: &Model) -> bool {
        Arc::ptr_eq(&self.observed, &other.observed)
    }

    /// A copy of this model with `edit` applied to its data and the revision bumped.
    pub fn edited(&self, edit: impl FnOnce(&mut Snapshot)) -> Model {
        let mut next = self.clone();
        edit(&mut next.snapshot);
        if self.aligned_with(&next) {
            // Only appended peers are new to the indexes.
            for (i, peer) in next
                .snapshot
                .peers
                .iter()
                .enumerate()
                .skip(self.peers().len())
            {
                next.by_ip.insert(peer.ip, i);
                next.by_id.insert(peer.id, i);
            }
        } else {
            next.reindex();
        }
        next.pending_swaps
            .retain(|id, _| next.by_id.contains_key(id));
        if !self.same_structure_and_policy(&next) {
            next.rulesets = Arc::new(Rulesets::for_policy(
                &next.snapshot.policy,
                &next.snapshot.routes,
                &next.snapshot.devices,
                next.snapshot.roles.server_peer,
            ));
        }
        next.revision += 1;
        next
    }

    /// Whether `other` has the same CIDRs, associations, roles, policy, routes and devices (what
    /// compiled rulesets and route views depend on, besides the addresses of peers rules
    /// name, which never change, and which gateways are enabled: a peer change of its own).
    pub fn same_structure_and_policy(&self, other: &Model) -> bool {
        (Arc::ptr_eq(&self.snapshot.policy, &other.snapshot.policy)
            || self.snapshot.policy == other.snapshot.policy)
            && (Arc::ptr_eq(&self.snapshot.routes, &other.snapshot.routes)
                || self.snapshot.routes == other.snapshot.routes)
            && (Arc::ptr_eq(&self.snapshot.devices, &other.snapshot.devices)
                || self.snapshot.devices == other.snapshot.devices)
            && self.snapshot.roles == other.snapshot.roles
            && self.snapshot.associations == other.snapshot.associations
            && self.snapshot.cidrs == other.snapshot.cidrs
    }

    pub fn policy(&self) -> &Arc<Policy> {
        &self.snapshot.policy
    }

    pub fn routes(&self) -> &Arc<RouteBook> {
        &self.snapshot.routes
    }

    /// What `viewer` learns about routes: the approved routes of the gateways it sees, its
    /// own offers, and the devices it reaches through their hubs.
    pub fn route_view(&self, viewer: &Peer) -> RouteView {
        let view = self.view();
        let mut routes = RouteView::for_viewer(&view, viewer, &self.snapshot.routes);
        routes.devices = device_routes_for(&view, viewer, &self.snapshot.devices);
        if viewer.id != self.snapshot.roles.server_peer {
            routes.hosted = hosted_by(&view, &self.snapshot.devices, viewer.id);
            if !routes.hosted.is_empty() {
                routes.hub = Some(Box::new(self.hub_of(viewer)));
            }
        }
        routes
    }

    pub fn devices(&self) -> &Arc<DeviceBook> {
        &self.snapshot.devices
    }

    /// Whether peer `id` is a device (no mesh peer ever sees it as a peer).
    pub fn is_device(&self, id: PeerId) -> bool {
        self.snapshot.devices.is_device(id)
    }

    /// The device record of peer `id`.
    pub fn device(&self, id: PeerId) -> Option<&Device> {
        self.snapshot.devices.get(id)
    }

    /// Which compiled ruleset `host` (a peer, not the server) gets.
    pub fn ruleset_key(&self, host: &Peer) -> RulesetKey {
        let own = self.rulesets.named.contains(&host.id).then_some(host.id);
        (host.cidr_id, own)
    }

    /// The compiled ruleset of peer `host`, compiled once per structure, policy and key.
    pub fn peer_ruleset(&self, host: &Peer) -> Arc<HostRuleset> {
        let key = self.ruleset_key(host);
        if let Some(found) = lock(&self.rulesets.compiled).get(&key) {
            return found.clone();
        }
        // Compiled outside the lock; two callers racing compile the same value. A gateway
        // (which has a key of its own) gets the rules naming its approved routes.
        let routes: Vec<ipnet::IpNet> = self
            .snapshot
            .routes
            .of(host.id)
            .filter(|r| r.approved)
            .map(|r| r.contents.net)
            .collect();
        let compiled = Arc::new(compile_gateway(
            &self.view(),
            &self.snapshot.policy,
            host,
            HostRole::Peer,
            &routes,
        ));
        lock(&self.rulesets.compiled)
            .entry(key)
            .or_insert(compiled)
            .clone()
    }

    /// What the server does as the hub of its devices (empty when it hosts none).
    pub fn server_hub(&self) -> Hub {
        match self.server_peer() {
            Some(server) => self.hub_of(server),
            None => Hub::NONE,
        }
    }

    /// What `hub` does for its devices (empty when it hosts none).
    pub fn hub_of(&self, hub: &Peer) -> Hub {
        if self.snapshot.devices.hosted_by(hub.id).next().is_none() {
            return Hub::NONE;
        }
        hub_duties(&self.view(), &self.snapshot.devices, hub, |peer| {
            let own = self.ruleset_key(peer).1.is_some();
            (self.peer_ruleset(peer), own)
        })
    }

    /// The compiled ruleset of the server's own interface (its API port always open).
    pub fn server_ruleset(&self, api_port: u16) -> Option<HostRuleset> {
        let server = self.server_peer()?;
        Some(compile(
            &self.view(),
            &self.snapshot.policy,
            server,
            HostRole::Server { api_port },
        ))
    }

    /// A copy with the data replaced wholesale (after another process changed the database),
    /// keeping observations and pending swaps.
    pub fn reloaded(&self, snapshot: Snapshot) -> Model {
        self.edited(|data| *data = snapshot)
    }

    /// A copy with new WireGuard observations, at the next revision.
    pub fn with_observed(&self, observed: HashMap<PublicKey, SocketAddr>) -> Model {
        let mut next = self.clone();
        next.observed = Arc::new(observed);
        next.revision += 1;
        next
    }

    /// A copy with a pending key swap added or removed, at the same revision (no peer sees
    /// pending swaps: they only keep an old key on the server's interface a little longer).
    pub fn with_pending_swaps(&self, pending: HashMap<PeerId, PendingKeySwap>) -> Model {
        let mut next = self.clone();
        next.pending_swaps = pending;
        next
    }

    /// This model at `revision`: the one the store recorded its change at.
    pub fn at_revision(mut self, revision: u64) -> Model {
        self.revision = revision;
        self
    }

    pub fn revision(&self) -> u64 {
        self.revision
    }

    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    pub fn roles(&self) -> NetworkRoles {
        self.snapshot.roles
    }

    pub fn peers(&self) -> &[Arc<Peer>] {
        &self.snapshot.peers
    }

    pub fn cidrs(&self) -> &[Cidr] {
        &self.snapshot.cidrs
    }

    pub fn associations(&self) -> &[Association] {
        &self.snapshot.associations
    }

    pub fn observed(&self) -> &HashMap<PublicKey, SocketAddr> {
        &self.observed
    }

    pub fn pending_swaps(&self) -> &HashMap<PeerId, PendingKeySwap> {
        &self.pending_swaps
    }

    pub fn peer(&self, id: PeerId) -> Option<&Peer> {
        self.by_id.get(&id).map(|&i| &*self.snapshot.peers[i])
    }

    /// Peer `id` as the model holds it, shared with other revisions while unchanged.
    pub fn shared_peer(&self, id: PeerId) -> Option<&Arc<Peer>> {
        self.by_id.get(&id).map(|&i| &self.snapshot.peers[i])
    }

    pub fn peer_by_ip(&self, ip: IpAddr) -> Option<&Peer> {
        self.by_ip.get(&ip).map(|&i| &*self.snapshot.peers[i])
    }

    pub fn peer_by_name(&self, name: &str) -> Option<&Peer> {
        self.snapshot
            .peers
            .iter()
            .find(|p| p.name.as_str() == name)
            .map(|p| &**p)
    }

    pub fn cidr(&self, id: CidrId) -> Option<&Cidr> {
        self.snapshot.cidrs.iter().find(|c| c.id == id)
    }

    pub fn cidr_by_name(&self, name: &str) -> Option<&Cidr> {
        self.snapshot.cidrs.iter().find(|c| c.name == name)
    }

    pub fn server_peer(&self) -> Option<&Peer> {
        self.peer(self.snapshot.roles.server_peer)
    }

    /// Every peer's tunnel address (disabled and invited peers included: addresses are
    /// never reused while the row exists).
    /// Every address a new peer cannot have: its peers' and its deleted peers'.
    pub fn used_ips(&self) -> HashSet<IpAddr> {
        self.by_ip
            .keys()
            .copied()
            .chain(self.snapshot.tombstones.iter().map(|t| t.ip))
            .collect()
    }

    /// The addresses of deleted peers (consumed for good).
    pub fn consumed_ips(&self) -> Vec<IpAddr> {
        self.snapshot.tombstones.iter().map(|t| t.ip).collect()
    }

    /// Ephemeral peers and their windows (seconds).
    pub fn ephemeral(&self) -> &std::collections::BTreeMap<PeerId, u64> {
        &self.snapshot.ephemeral
    }

    /// The network's settings.
    pub fn settings(&self) -> crate::store::Settings {
        self.snapshot.settings
    }

    /// What is left of deleted peers, by id.
    pub fn tombstones(&self) -> &[Tombstone] {
        &self.snapshot.tombstones
    }

    pub fn view(&self) -> NetworkView<'_, Arc<Peer>> {
        NetworkView {
            cidrs: &self.snapshot.cidrs,
            associations: &self.snapshot.associations,
            peers: &self.snapshot.peers,
            roles: self.snapshot.roles,
        }
    }

    /// The peers `viewer` sees, in id order, as stored (endpoints not injected). Devices are
    /// never among them: peers reach them through their hubs ([`Model::route_view`]).
    pub fn visible_to(&self, viewer: &Peer) -> Vec<&Arc<Peer>> {
        let mut peers = visible_peers(&self.view(), viewer);
        if !self.snapshot.devices.is_empty() {
            peers.retain(|p| !self.is_device(p.id));
        }
        peers
    }

    /// `GET /v1/user/state` for `viewer`: visible peers with endpoints injected, all CIDRs, and
    /// its compiled ruleset.
    pub fn state_for(&self, viewer: &Peer) -> State {
        let peers = self
            .visible_to(viewer)
            .into_iter()
            .map(|p| self.inject(p))
            .collect();
        State {
            peers,
            cidrs: self.snapshot.cidrs.clone(),
            policy: Some((*self.peer_ruleset(viewer)).clone()),
            routes: Some(self.route_view(viewer)),
        }
    }

    /// `GET /v1/admin/peers`: every peer, endpoints injected, in id order. Devices and
    /// deleted peers are listed as disabled rows: an admin client choosing the next free
    /// address from this list (innernet's does) never picks theirs, and one that puts peers on
    /// its interface from it never adds them.
    pub fn admin_peers(&self) -> Vec<Peer> {
        let mut peers: Vec<Peer> = self
            .snapshot
            .peers
            .iter()
            .map(|p| {
                let mut peer = self.inject(p);
                if self.is_device(p.id) {
                    peer.contents.is_disabled = true;
                }
                peer
            })
            .collect();
        if !self.snapshot.tombstones.is_empty() {
            peers.extend(
                self.snapshot
                    .tombstones
                    .iter()
                    .map(|t| self.tombstone_row(t)),
            );
            peers.sort_by_key(|p| p.id);
        }
        peers
    }

    /// A deleted peer as a disabled row of `/v1/admin/peers`: named `<name>-deleted-<id>` (its
    /// name is free for a new peer), in the CIDR it was in or, when that is gone, the smallest
    /// CIDR that holds its address (the root holds every address).
    fn tombstone_row(&self, t: &Tombstone) -> Peer {
        let cidr_id = if self.cidr(t.cidr).is_some() {
            t.cidr
        } else {
            self.snapshot
                .cidrs
                .iter()
                .filter(|c| c.cidr.contains(&t.ip))
                .max_by_key(|c| c.cidr.prefix_len())
                .map_or(t.cidr, |c| c.id)
        };
        Peer {
            id: t.peer,
            contents: wiremesh_shared::wire::PeerContents {
                name: t.name.suffixed("deleted", t.peer.0),
                ip: t.ip,
                cidr_id,
                public_key: t.public_key,
                endpoint: None,
                persistent_keepalive_interval: None,
                is_admin: false,
                is_disabled: true,
                is_redeemed: true,
                invite_expires: None,
                candidates: Vec::new(),
            },
        }
    }

    /// The peer as the API reports it (compat §1.9): the WireGuard-observed endpoint fills a
    /// missing endpoint or the unspecified host of an override, and otherwise joins the
    /// candidates.
    pub fn inject(&self, peer: &Peer) -> Peer {
        let mut out = peer.clone();
        let observed: Option<Endpoint> =
            self.observed.get(&peer.public_key).map(|&addr| addr.into());
        out.contents.endpoint = match (&peer.endpoint, &observed) {
            (None, observed) => observed.clone(),
            (Some(stored), Some(seen)) if stored.is_unspecified() => {
                seen.host().ip().map(|ip| stored.with_host_ip(ip))
            }
            (Some(stored), None) if stored.is_unspecified() => None,
            (Some(stored), _) => Some(stored.clone()),
        };
        if let Some(seen) = observed {
            if out.endpoint.as_ref() != Some(&seen) && !out.candidates.contains(&seen) {
                out.contents.candidates.push(seen);
            }
        }
        out
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
