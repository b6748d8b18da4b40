//! The change feed behind `/v2/user/state`: a bounded log of what each revision touched,
//! per-viewer deltas computed from it, and wake-ups that reach only the long polls a change
//! concerns.
//!
//! Every published model is compared with the one before it: the peers whose stored data or
//! observed endpoint changed are "touched", and a change to CIDRs, associations or roles is
//! "structural" (it can change anyone's visible set). A viewer asking "what changed since R"
//! gets, for every peer touched after R, the peer as it is now if it sees it, or its id as
//! removed; after a structural change, or for an R outside the log, it gets everything.
//!
//! A long poll registers one [`Waiter`] under each CIDR its caller can see; a change wakes
//! only the waiters registered under the CIDRs of the peers it touched (all of them for a
//! structural change), so idle waiters cost nothing and unrelated changes never wake them.
//! A waiter is unregistered when its long poll ends.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;
use wiremesh_shared::acl::visible_cidrs;
use wiremesh_shared::cidr::CidrTree;
use wiremesh_shared::wire::{Peer, StateDelta};
use wiremesh_shared::{CidrId, PeerId};

use crate::model::Model;

/// How many revisions the log keeps; a client further behind gets the full state.
pub const DEFAULT_CAPACITY: usize = 4096;

/// What one revision changed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    revision: u64,
    /// Touched peers with the CIDR they are (or were) in.
    touched: Vec<(PeerId, CidrId)>,
    structural: bool,
}

/// What changed after some revision, summed over the log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Since {
    /// Touched peers with their CIDR (a peer never changes CIDR).
    pub touched: BTreeMap<PeerId, CidrId>,
    pub structural: bool,
}

/// The bounded log of revisions.
#[derive(Debug)]
pub struct ChangeLog {
    epoch: u64,
    entries: VecDeque<Entry>,
    capacity: usize,
    /// The oldest revision a delta can start from.
    oldest: u64,
    /// The newest revision recorded.
    newest: u64,
}

/// What [`ChangeLog::record`] found, for waking waiters.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    pub touched_cidrs: HashSet<CidrId>,
    pub structural: bool,
}

impl ChangeLog {
    pub fn new(epoch: u64, revision: u64, capacity: usize) -> Self {
        Self {
            epoch,
            entries: VecDeque::new(),
            capacity: capacity.max(1),
            oldest: revision,
            newest: revision,
        }
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Records the step from `previous` to `next`.
    pub fn record(&mut self, previous: &Model, next: &Model) -> Recorded {
        let structural = previous.cidrs() != next.cidrs()
            || previous.associations() != next.associations()
            || previous.roles() != next.roles();
        let mut touched = Vec::new();
        let mut touched_cidrs = HashSet::new();
        let same_observed = previous.same_observed(next);
        let differs = |old: &Peer, new: &Peer| {
            old.contents != new.contents
                || (!same_observed
                    && previous.observed().get(&old.public_key)
                        != next.observed().get(&new.public_key))
        };
        if previous.aligned_with(next) {
            // Same peers at the same positions (new ones after them): compare in place.
            for (i, peer) in next.peers().iter().enumerate() {
                if previous.peers().get(i).is_none_or(|old| differs(old, peer)) {
                    touched.push((peer.id, peer.cidr_id));
                    touched_cidrs.insert(peer.cidr_id);
                }
            }
        } else {
            for peer in next.peers() {
                if previous.peer(peer.id).is_none_or(|old| differs(old, peer)) {
                    touched.push((peer.id, peer.cidr_id));
                    touched_cidrs.insert(peer.cidr_id);
                }
            }
            for old in previous.peers() {
                if next.peer(old.id).is_none() {
                    touched.push((old.id, old.cidr_id));
                    touched_cidrs.insert(old.cidr_id);
                }
            }
        }
        touched.sort();
        touched.dedup();
        self.entries.push_back(Entry {
            revision: next.revision(),
            touched,
            structural,
        });
        self.newest = next.revision();
        while self.entries.len() > self.capacity {
            if let Some(dropped) = self.entries.pop_front() {
                self.oldest = dropped.revision;
            }
        }
        Recorded {
            touched_cidrs,
            structural,
        }
    }

    /// What changed after `revision`, or `None` when the log cannot tell (too old, or newer
    /// than anything recorded).
    pub fn since(&self, revision: u64) -> Option<Since> {
        if revision < self.oldest || revision > self.newest {
            return None;
        }
        let mut since = Since::default();
        for entry in self.entries.iter().filter(|e| e.revision > revision) {
            since.touched.extend(entry.touched.iter().copied());
            since.structural |= entry.structural;
        }
        Some(since)
    }
}

/// The answer to `/v2/user/state` for `viewer` (as it is in `model`) given what changed
/// since its revision; `None` means "send everything".
pub fn delta_for(model: &Model, viewer: &Peer, epoch: u64, since: Option<Since>) -> StateDelta {
    let full = |model: &Model| {
        let state = model.state_for(viewer);
        StateDelta {
            epoch,
            revision: model.revision(),
            full: true,
            peers: state.peers,
            removed: Vec::new(),
            cidrs: Some(state.cidrs),
        }
    };
    let Some(since) = since else {
        return full(model);
    };
    if since.structural {
        return full(model);
    }
    // Without a structural change the viewer's visible CIDRs are the same as at its
    // revision, so a touched peer outside them was invisible then and is now: skip it (its
    // change must neither reach nor wake this viewer).
    let cidrs = watched_cidrs(model, viewer);
    let visible: HashSet<PeerId> = wiremesh_shared::acl::visible_peers(&model.view(), viewer)
        .iter()
        .map(|p| p.id)
        .collect();
    let mut delta = StateDelta {
        epoch,
        revision: model.revision(),
        full: false,
        peers: Vec::new(),
        removed: Vec::new(),
        cidrs: None,
    };
    for (id, cidr) in since.touched {
        if !cidrs.contains(&cidr) {
            continue;
        }
        match model.peer(id) {
            Some(peer) if visible.contains(&id) => delta.peers.push(model.inject(peer)),
            _ => delta.removed.push(id),
        }
    }
    delta
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
