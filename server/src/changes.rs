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
//! A long poll registers one [`Notify`] under each CIDR its caller can see; a change wakes
//! only the waiters registered under the CIDRs of the peers it touched (all of them for a
//! structural change), so idle waiters cost nothing and unrelated changes never wake them.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError, Weak};

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
        for peer in next.peers() {
            let before = previous.peer(peer.id);
            let changed = match before {
                None => true,
                Some(old) => {
                    old.contents != peer.contents
                        || previous.observed().get(&old.public_key)
                            != next.observed().get(&peer.public_key)
                }
            };
            if changed {
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
#[derive(Debug, Default)]
pub struct Waiters {
    /// Held only to add, prune or wake entries; never across an `.await`.
    by_cidr: Mutex<HashMap<CidrId, Vec<Weak<Notify>>>>,
    /// Every waiter, for structural changes.
    all: Mutex<Vec<Weak<Notify>>>,
}

impl Waiters {
    /// Registers a waiter for `cidrs`; it is forgotten once the returned handle is dropped.
    pub fn register(&self, cidrs: impl IntoIterator<Item = CidrId>) -> Arc<Notify> {
        let notify = Arc::new(Notify::new());
        let weak = Arc::downgrade(&notify);
        let mut by_cidr = self.by_cidr.lock().unwrap_or_else(PoisonError::into_inner);
        for cidr in cidrs {
            by_cidr.entry(cidr).or_default().push(weak.clone());
        }
        self.all
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(weak);
        notify
    }

    /// Wakes the waiters a change concerns; returns how many were woken.
    pub fn wake(&self, recorded: &Recorded) -> usize {
        let mut woken = 0;
        let mut wake_list = |list: &mut Vec<Weak<Notify>>| {
            list.retain(|weak| match weak.upgrade() {
                Some(notify) => {
                    notify.notify_one();
                    woken += 1;
                    true
                }
                None => false,
            });
        };
        if recorded.structural {
            wake_list(&mut self.all.lock().unwrap_or_else(PoisonError::into_inner));
        } else {
            let mut by_cidr = self.by_cidr.lock().unwrap_or_else(PoisonError::into_inner);
            for cidr in &recorded.touched_cidrs {
                if let Some(list) = by_cidr.get_mut(cidr) {
                    wake_list(list);
                }
            }
        }
        self.prune();
        woken
    }

    /// Drops entries of finished waiters.
    fn prune(&self) {
        let mut by_cidr = self.by_cidr.lock().unwrap_or_else(PoisonError::into_inner);
        by_cidr.retain(|_, list| {
            list.retain(|weak| weak.strong_count() > 0);
            !list.is_empty()
        });
        self.all
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|weak| weak.strong_count() > 0);
    }

    /// Waiters currently registered.
    pub fn len(&self) -> usize {
        self.all
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|w| w.strong_count() > 0)
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
#[path = "changes_tests.rs"]
mod tests;
