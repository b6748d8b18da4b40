//! `/v2/user/state` answers, serialised once per revision, viewer CIDR (and ruleset) and starting revision
//! and shared by every long poll that asks the same: when a change reaches 10,000 daemons in
//! 50 CIDRs that were all current, 50 answers are built, not 10,000. Building runs on the
//! blocking pool, never on the async workers, and concurrent askers of one answer wait for
//! the one build instead of repeating it.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::OnceCell;
use wiremesh_shared::wire::Peer;

use super::{lock, Service};
use crate::changes::{plan_delta, Since};
use crate::error::{Denied, Result, ServiceError};
use crate::model::{Model, RulesetKey};

/// How many bytes of answers one revision may keep; past it answers are built per request.
const DELTA_BODIES_MAX_BYTES: usize = 64 << 20;

/// One serialised answer.
#[derive(Debug, Clone)]
pub struct DeltaBody {
    /// Whether the answer changes nothing (a long poll keeps waiting).
    pub empty: bool,
    /// The JSON body.
    pub body: Bytes,
}

/// An answer being looked up: `cell` holds it once anyone built it.
pub struct DeltaLookup {
    pub cell: Arc<OnceCell<DeltaBody>>,
    pub job: DeltaJob,
}

/// What building one answer needs (moved onto the blocking pool).
pub struct DeltaJob {
    model: Arc<Model>,
    viewer: Peer,
    epoch: u64,
    since: Option<Since>,
}

/// The answers of one revision, by (the viewer's ruleset key — its CIDR, and the peer itself
/// when a rule names it —, revision asked from; `None` for a full state).
#[derive(Debug, Default)]
pub(super) struct DeltaBodies {
    revision: u64,
    bytes: usize,
    by_key: HashMap<(RulesetKey, Option<u64>), Arc<OnceCell<DeltaBody>>>,
}

impl Service {
    /// Finds the answer to `GET /v2/user/state?epoch=E&revision=R` for `caller` in the
    /// current revision's answers, or a place for it and what building it needs.
    pub fn state_delta_lookup(
        &self,
        caller: &Peer,
        epoch: Option<u64>,
        revision: Option<u64>,
    ) -> Result<DeltaLookup> {
        let (model, since, current_epoch) = self.delta_inputs(epoch, revision);
        // Judge the caller as it is now: it may have been disabled while its poll waited.
        let viewer = model
            .peer(caller.id)
            .cloned()
            .ok_or(ServiceError::Denied(Denied::UnknownPeer))?;
        Self::require_user(&viewer)?;
        let key = (model.ruleset_key(&viewer), since.as_ref().and(revision));
        let cell = {
            let mut bodies = lock(&self.delta_bodies);
            if bodies.revision != model.revision() {
                *bodies = DeltaBodies {
                    revision: model.revision(),
                    ..DeltaBodies::default()
                };
            }
            if bodies.bytes > DELTA_BODIES_MAX_BYTES {
                bodies.by_key.get(&key).cloned().unwrap_or_default()
            } else {
                bodies.by_key.entry(key).or_default().clone()
            }
        };
        Ok(DeltaLookup {
            cell,
            job: DeltaJob {
                model,
                viewer,
                epoch: current_epoch,
                since,
            },
        })
    }

    /// Builds and serialises an answer (blocking: run it off the async workers).
    pub fn build_delta_body(&self, job: DeltaJob) -> DeltaBody {
        let plan = plan_delta(&job.model, &job.viewer, job.since);
        let empty =
            !plan.full && plan.peers.is_empty() && plan.removed.is_empty() && plan.cidrs.is_none();
        // The ruleset travels with the CIDR list: on a full state and after any structural
        // (CIDR, association, policy or route) change.
        let policy = plan
            .cidrs
            .is_some()
            .then(|| job.model.peer_ruleset(&job.viewer));
        // So do the routes (route changes are structural).
        let routes = plan
            .cidrs
            .is_some()
            .then(|| job.model.route_view(&job.viewer));
        let body = Bytes::from(lock(&self.peer_json).delta(
            &job.model,
            job.epoch,
            &plan,
            policy.as_deref(),
            routes.as_ref(),
        ));
        let mut bodies = lock(&self.delta_bodies);
        if bodies.revision == job.model.revision() {
            bodies.bytes += body.len();
        }
        DeltaBody { empty, body }
    }

    /// The model, what changed since `revision` of `epoch` (`None`: send everything) and
    /// the current epoch, read together.
    pub(super) fn delta_inputs(
        &self,
        epoch: Option<u64>,
        revision: Option<u64>,
    ) -> (Arc<Model>, Option<Since>, u64) {
        let changes = lock(&self.changes);
        let model = self.model();
        let since = match (epoch, revision) {
            (Some(e), Some(r)) if e == changes.epoch() => changes.since(r),
            _ => None,
        };
        (model, since, changes.epoch())
    }
}
