//! Each peer's JSON, kept until the peer or the endpoint observed for it changes, so that a
//! full state built after a one-peer change is mostly copying bytes: at 10,000 peers one
//! peer is serialised instead of 10,000.
//!
//! An entry is checked against the peer itself (and its observation) rather than against a
//! revision, so it can never serve bytes of a peer as it was: a stale entry is rebuilt.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;
use wiremesh_shared::policy::HostRuleset;
use wiremesh_shared::routes::RouteView;
use wiremesh_shared::wire::{Cidr, Peer};
use wiremesh_shared::PeerId;

use crate::changes::DeltaPlan;
use crate::model::Model;

/// Entries kept beyond the model's peers before the ones of deleted peers are dropped.
const PRUNE_SLACK: usize = 1024;

#[derive(Debug, Default)]
pub(super) struct PeerJson {
    by_id: HashMap<PeerId, Cached>,
}

#[derive(Debug)]
struct Cached {
    /// The peer as stored (the model's own allocation, shared by every revision in which
    /// the peer is unchanged), and the endpoint observed for it, when `json` was made.
    source: Arc<Peer>,
    observed: Option<SocketAddr>,
    /// The peer as the API reports it (endpoints injected).
    json: Box<RawValue>,
}

/// `GET /v1/user/state`, laid out as [`wiremesh_shared::wire::State`] serialises.
#[derive(Serialize)]
struct StateJson<'a> {
    peers: Vec<&'a RawValue>,
    cidrs: &'a [Cidr],
    /// wiremesh's extra field: the caller's compiled ruleset (innernet ignores it).
    #[serde(skip_serializing_if = "Option::is_none")]
    policy: Option<&'a HostRuleset>,
    /// wiremesh's extra field: the routes the caller receives and offers.
    #[serde(skip_serializing_if = "Option::is_none")]
    routes: Option<&'a RouteView>,
}

/// `GET /v2/user/state`, laid out as [`wiremesh_shared::wire::StateDelta`] serialises.
#[derive(Serialize)]
struct StateDeltaJson<'a> {
    epoch: u64,
    revision: u64,
    full: bool,
    peers: Vec<&'a RawValue>,
    removed: &'a [PeerId],
    #[serde(skip_serializing_if = "Option::is_none")]
    cidrs: Option<&'a [Cidr]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy: Option<&'a HostRuleset>,
    #[serde(skip_serializing_if = "Option::is_none")]
    routes: Option<&'a RouteView>,
}

impl PeerJson {
    /// The JSON of each of `peers` as `model` reports them, reusing entries still current.
    fn of<'s>(&'s mut self, model: &Model, peers: &[&Arc<Peer>]) -> Vec<&'s RawValue> {
        for &peer in peers {
            let observed = model.observed().get(&peer.public_key).copied();
            let current = self.by_id.get(&peer.id).is_some_and(|cached| {
                cached.observed == observed
                    && (Arc::ptr_eq(&cached.source, peer) || cached.source == *peer)
            });
            if !current {
                let json = serde_json::value::to_raw_value(&model.inject(peer))
                    .expect("a peer is plain data and always serialises");
                self.by_id.insert(
                    peer.id,
                    Cached {
                        source: Arc::clone(peer),
                        observed,
                        json,
                    },
                );
            }
        }
        if self.by_id.len() > model.peers().len() + PRUNE_SLACK {
            self.by_id.retain(|id, _| model.peer(*id).is_some());
        }
        peers
            .iter()
            .map(|peer| &*self.by_id[&peer.id].json)
            .collect()
    }

    /// The JSON of `GET /v1/user/state` with `peers` (visible to the caller) and every CIDR.
    pub(super) fn state(
        &mut self,
        model: &Model,
        peers: &[&Arc<Peer>],
        policy: Option<&HostRuleset>,
        routes: Option<&RouteView>,
    ) -> Vec<u8> {
        let state = StateJson {
            peers: self.of(model, peers),
            cidrs: model.cidrs(),
            policy,
            routes,
        };
        to_vec(&state, peers.len())
    }

    /// The JSON of a `/v2/user/state` answer.
    pub(super) fn delta(
        &mut self,
        model: &Model,
        epoch: u64,
        plan: &DeltaPlan<'_>,
        policy: Option<&HostRuleset>,
        routes: Option<&RouteView>,
    ) -> Vec<u8> {
        let delta = StateDeltaJson {
            epoch,
            revision: model.revision(),
            full: plan.full,
            peers: self.of(model, &plan.peers),
            removed: &plan.removed,
            cidrs: plan.cidrs,
            policy,
            routes,
        };
        to_vec(&delta, plan.peers.len())
    }
}

fn to_vec(value: &impl Serialize, n_peers: usize) -> Vec<u8> {
    // About 330 bytes per peer; sized up front so the buffer is not doubled past it.
    let mut buffer = Vec::with_capacity(512 + n_peers * 400);
    serde_json::to_writer(&mut buffer, value)
        .expect("the state is plain data and always serialises");
    buffer
}
