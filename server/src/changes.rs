//! The change feed behind `/v2/user/state`: the revision of every peer's last change, the
//! structure before each recent structural change, per-viewer deltas computed from them, and
//! wake-ups that reach only the long polls a change concerns.
//!
//! Every published model is compared with the one before it: the peers whose stored data or
//! observed endpoint changed are "touched" and get the new revision, and a change to CIDRs,
//! associations or roles is "structural" (it can change anyone's visible set). A viewer asking
//! "what changed since R" gets every peer touched after R as it is now if it sees it (or its
//! id as removed), and after a structural change also the peers of the CIDRs it has come to
//! see or stopped seeing, and the CIDR list. The revisions are the database's, so the same
//! answer holds after a restart; only a structural change from before this process started
//! (whose earlier structure it never saw), a revision older than the history or one newer
//! than anything published get the full state.
//!
//! A long poll registers one [`Waiter`] under each CIDR its caller can see; a change wakes
//! only the waiters registered under the CIDRs of the peers it touched (all of them for a
//! structural change), so idle waiters cost nothing and unrelated changes never wake them.
//! A waiter is unregistered when its long poll ends.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;
use wiremesh_shared::acl::{shown, visible_cidrs, NetworkRoles};
use wiremesh_shared::cidr::CidrTree;
use wiremesh_shared::wire::{Association, Cidr, Peer, StateDelta};
use wiremesh_shared::{CidrId, PeerId};

use crate::model::Model;
pub use crate::store::Revisions;

/// How many structural changes the log remembers the structure before; a viewer from before
/// the oldest of them gets the full state after a structural change.
pub const DEFAULT_CAPACITY: usize = 256;

/// What decides who sees whom: the CIDR tree, the associations and the fixed roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Structure {
    pub cidrs: Vec<Cidr>,
    pub associations: Vec<Association>,
    pub roles: NetworkRoles,
}

impl Structure {
    pub fn of(model: &Model) -> Self {
        Self {
            cidrs: model.cidrs().to_vec(),
            associations: model.associations().to_vec(),
            roles: model.roles(),
        }
    }

    /// The CIDRs a peer of `cidr` sees into under this structure.
    fn visible_from(&self, cidr: CidrId) -> HashSet<CidrId> {
        visible_cidrs(
            &CidrTree::new(&self.cidrs),
            &self.associations,
            &self.roles,
            cidr,
        )
    }
}

/// What changed after some revision.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Since {
    /// Touched peers with their CIDR (a peer never changes CIDR).
    pub touched: BTreeMap<PeerId, CidrId>,
    /// The structure at that revision, when a structural change came since.
    pub structure_then: Option<Arc<Structure>>,
}

/// The revision of every peer's last change, and recent structures.
#[derive(Debug)]
pub struct ChangeLog {
    revisions: Revisions,
    /// The structure before each structural change after `structures_from`, oldest first.
    structures: VecDeque<(u64, Arc<Structure>)>,
    /// Structural changes after this revision are all in `structures`.
    structures_from: u64,
    capacity: usize,
}

/// What [`ChangeLog::record`] found, for waking waiters.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    pub touched_cidrs: HashSet<CidrId>,
    pub structural: bool,
}

impl ChangeLog {
    pub fn new(revisions: Revisions, capacity: usize) -> Self {
        Self {
            structures_from: revisions.current,
            revisions,
            structures: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// The history's name, sent to clients as `epoch`.
    pub fn epoch(&self) -> u64 {
        self.revisions.history
    }

    /// Records the step from `previous` to `next`.
    pub fn record(&mut self, previous: &Model, next: &Model) -> Recorded {
        let Comparison {
            touched,
            structural,
        } = compare(previous, next);
        let revision = next.revision();
        debug_assert!(
            (touched.is_empty() && !structural) || revision > self.revisions.current,
            "a visible change without a new revision"
        );
        let mut touched_cidrs = HashSet::new();
        for (id, cidr) in touched {
            touched_cidrs.insert(cidr);
            self.revisions.peers.insert(id, (cidr, revision));
        }
        if structural {
            self.structures
                .push_back((revision, Arc::new(Structure::of(previous))));
            self.revisions.structure = revision;
            while self.structures.len() > self.capacity {
                if let Some((dropped, _)) = self.structures.pop_front() {
                    self.structures_from = dropped;
                }
            }
        }
        self.revisions.current = self.revisions.current.max(revision);
        Recorded {
            touched_cidrs,
            structural,
        }
    }

    /// What changed after `revision`, or `None` when the log cannot tell (older than the
    /// history, newer than anything published, or before a structural change it has no
    /// earlier structure for).
    pub fn since(&self, revision: u64) -> Option<Since> {
        let revisions = &self.revisions;
        if revision < revisions.floor || revision > revisions.current {
            return None;
        }
        let structure_then = if revisions.structure > revision {
            if revision < self.structures_from {
                return None;
            }
            let (_, before) = self.structures.iter().find(|(r, _)| *r > revision)?;
            Some(before.clone())
        } else {
            None
        };
        let touched = revisions
            .peers
            .iter()
            .filter(|(_, (_, changed))| *changed > revision)
            .map(|(id, (cidr, _))| (*id, *cidr))
            .collect();
        Some(Since {
            touched,
            structure_then,
        })
    }
}

/// What differs between two models, as the change log and the store record it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Peers whose stored data or observed endpoint changed, or that came or went, with
    /// their CIDR.
    pub touched: Vec<(PeerId, CidrId)>,
    /// Whether CIDRs, associations, roles or the policy changed.
    pub structural: bool,
}

/// Compares `previous` with its successor `next`.
pub fn compare(previous: &Model, next: &Model) -> Comparison {
    let structural = !previous.same_structure_and_policy(next);
    let mut touched = Vec::new();
    let same_observed = previous.same_observed(next);
    // Peers a revision did not change are the same allocation in both models.
    let differs = |old: &Arc<Peer>, new: &Arc<Peer>| {
        (!Arc::ptr_eq(old, new) && old.contents != new.contents)
            || (!same_observed
                && previous.observed().get(&old.public_key) != next.observed().get(&new.public_key))
    };
    if previous.aligned_with(next) {
        // Same peers at the same positions (new ones after them): compare in place.
        for (i, peer) in next.peers().iter().enumerate() {
            if previous.peers().get(i).is_none_or(|old| differs(old, peer)) {
                touched.push((peer.id, peer.cidr_id));
            }
        }
    } else {
        for peer in next.peers() {
            if previous
                .shared_peer(peer.id)
                .is_none_or(|old| differs(old, peer))
            {
                touched.push((peer.id, peer.cidr_id));
            }
        }
        for old in previous.peers() {
            if next.peer(old.id).is_none() {
                touched.push((old.id, old.cidr_id));
            }
        }
    }
    // A device's change reaches the peers that see it as a route, with the structure.
    let structural = structural
        || touched
            .iter()
            .any(|(id, _)| next.is_device(*id) || previous.is_device(*id));
    Comparison {
        touched,
        structural,
    }
}

/// What `/v2/user/state` answers a viewer, with the peers as they are in the model (not yet
/// injected with observed endpoints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeltaPlan<'m> {
    pub full: bool,
    /// In id order.
    pub peers: Vec<&'m Arc<Peer>>,
    /// In id order.
    pub removed: Vec<PeerId>,
    pub cidrs: Option<&'m [Cidr]>,
}

/// The answer to `/v2/user/state` for `viewer` (as it is in `model`) given what changed
/// since its revision; `None` means "send everything".
pub fn delta_for(model: &Model, viewer: &Peer, epoch: u64, since: Option<Since>) -> StateDelta {
    let plan = plan_delta(model, viewer, since);
    StateDelta {
        epoch,
        revision: model.revision(),
        full: plan.full,
        peers: plan.peers.into_iter().map(|p| model.inject(p)).collect(),
        removed: plan.removed,
        cidrs: plan.cidrs.map(<[Cidr]>::to_vec),
        policy: plan
            .cidrs
            .is_some()
            .then(|| (*model.peer_ruleset(viewer)).clone()),
        routes: plan.cidrs.is_some().then(|| model.route_view(viewer)),
    }
}

/// What [`delta_for`] answers, before injecting endpoints. It depends on the viewer only
/// through its CIDR.
pub fn plan_delta<'m>(model: &'m Model, viewer: &Peer, since: Option<Since>) -> DeltaPlan<'m> {
    let Some(since) = since else {
        return DeltaPlan {
            full: true,
            peers: model.visible_to(viewer),
            removed: Vec::new(),
            cidrs: Some(model.cidrs()),
        };
    };
    let now = watched_cidrs(model, viewer);
    let mut plan = DeltaPlan {
        full: false,
        peers: Vec::new(),
        removed: Vec::new(),
        cidrs: None,
    };
    let send = |peer_id: PeerId, plan: &mut DeltaPlan<'m>| match model.shared_peer(peer_id) {
        // Devices are never peers of a peer (their routes come with the structure).
        _ if model.is_device(peer_id) => {}
        Some(peer) if shown(peer, &now) => plan.peers.push(peer),
        _ => plan.removed.push(peer_id),
    };
    // The CIDRs the viewer saw into at its revision (the same as now without a structural
    // change): a touched peer outside both was invisible then and is now, so it must neither
    // reach nor wake this viewer.
    let then = match &since.structure_then {
        Some(structure) => {
            plan.cidrs = Some(model.cidrs());
            let then = structure.visible_from(viewer.cidr_id);
            if then != now {
                // Peers of CIDRs that came into view or went out of it.
                for peer in model.peers() {
                    let (was, is) = (then.contains(&peer.cidr_id), now.contains(&peer.cidr_id));
                    if was != is && !since.touched.contains_key(&peer.id) {
                        send(peer.id, &mut plan);
                    }
                }
            }
            Some(then)
        }
        None => None,
    };
    for (id, cidr) in &since.touched {
        if now.contains(cidr) || then.as_ref().is_some_and(|then| then.contains(cidr)) {
            send(*id, &mut plan);
        }
    }
    plan.peers.sort_by_key(|p| p.id);
    plan.removed.sort();
    plan
}

/// The CIDRs a viewer can see into: where a change must happen to concern it.
pub fn watched_cidrs(model: &Model, viewer: &Peer) -> HashSet<CidrId> {
    let tree = CidrTree::new(model.cidrs());
    visible_cidrs(&tree, model.associations(), &model.roles(), viewer.cidr_id)
}

/// Long polls waiting for changes, by the CIDRs they watch.
///
/// Each waiter is registered by [`Waiters::register`] and removed when its [`Waiter`] handle
/// is dropped, so a finished long poll leaves nothing behind, whether or not a change was
/// ever published while it waited.
#[derive(Debug, Default)]
pub struct Waiters {
    /// Held only to add, remove or wake entries; never across an `.await`.
    registry: Arc<Mutex<Registry>>,
}

#[derive(Debug, Default)]
struct Registry {
    next_id: u64,
    /// Waiters by the CIDRs they watch.
    by_cidr: HashMap<CidrId, HashMap<u64, Arc<Notify>>>,
    /// Every waiter with its CIDRs, for structural changes and for removal.
    all: HashMap<u64, (Arc<Notify>, Vec<CidrId>)>,
}

/// One registered long poll: notified by the changes it watches, forgotten when dropped.
#[derive(Debug)]
pub struct Waiter {
    id: u64,
    notify: Arc<Notify>,
    registry: Arc<Mutex<Registry>>,
}

impl Waiter {
    /// Resolves at the next change this waiter watches (or at once for a change that came
    /// since the previous call).
    pub async fn changed(&self) {
        self.notify.notified().await
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        let mut registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        let Some((_, cidrs)) = registry.all.remove(&self.id) else {
            return;
        };
        for cidr in cidrs {
            if let Some(list) = registry.by_cidr.get_mut(&cidr) {
                list.remove(&self.id);
                if list.is_empty() {
                    registry.by_cidr.remove(&cidr);
                }
            }
        }
    }
}

impl Waiters {
    /// Registers a waiter for `cidrs`; it is forgotten once the returned handle is dropped.
    pub fn register(&self, cidrs: impl IntoIterator<Item = CidrId>) -> Waiter {
        let notify = Arc::new(Notify::new());
        let mut registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        let id = registry.next_id;
        registry.next_id += 1;
        let mut watched: Vec<CidrId> = cidrs.into_iter().collect();
        watched.sort();
        watched.dedup();
        for cidr in &watched {
            registry
                .by_cidr
                .entry(*cidr)
                .or_default()
                .insert(id, notify.clone());
        }
        registry.all.insert(id, (notify.clone(), watched));
        Waiter {
            id,
            notify,
            registry: self.registry.clone(),
        }
    }

    /// Wakes the waiters a change concerns; returns how many were woken.
    pub fn wake(&self, recorded: &Recorded) -> usize {
        let registry = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        if recorded.structural {
            for (notify, _) in registry.all.values() {
                notify.notify_one();
            }
            return registry.all.len();
        }
        let mut woken = HashSet::new();
        for cidr in &recorded.touched_cidrs {
            for (id, notify) in registry.by_cidr.get(cidr).into_iter().flatten() {
                if woken.insert(*id) {
                    notify.notify_one();
                }
            }
        }
        woken.len()
    }

    /// Waiters currently registered.
    pub fn len(&self) -> usize {
        self.registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .all
            .len()
    }

    /// Entries in the by-CIDR index (a waiter watching three CIDRs counts three times);
    /// zero when no long poll is waiting.
    pub fn index_len(&self) -> usize {
        self.registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .by_cidr
            .values()
            .map(HashMap::len)
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
#[path = "changes_tests.rs"]
mod tests;
