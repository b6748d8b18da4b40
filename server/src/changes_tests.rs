//! Unit tests of the change log window and of selective wake-ups.

use wiremesh_shared::fixture::{
    Family, Fixture, ADMIN, ADMIN_PEER, DEVELOPER, DEVELOPER1, DEVELOPER2, USER, USER1, USER2,
};

use std::sync::Arc;

use super::*;
use crate::store::Snapshot;

fn shared(peers: &[Peer]) -> Vec<Arc<Peer>> {
    peers.iter().cloned().map(Arc::new).collect()
}

fn model(fx: &Fixture, revision: u64) -> Model {
    Model::new(
        Snapshot {
            cidrs: fx.cidrs.clone(),
            peers: shared(&fx.peers),
            associations: fx.associations.clone(),
            roles: fx.roles,
            policy: Arc::default(),
            routes: Arc::default(),
            devices: Arc::default(),
            tombstones: Arc::default(),
            ephemeral: Arc::default(),
            settings: Default::default(),
        },
        revision,
    )
}

fn log_at(revision: u64, capacity: usize) -> ChangeLog {
    ChangeLog::new(
        Revisions {
            history: 77,
            floor: revision,
            current: revision,
            structure: revision,
            peers: Default::default(),
        },
        capacity,
    )
}

#[test]
fn the_log_keeps_each_peers_last_change_and_recent_structures() {
    let mut fx = Fixture::new(Family::V4);
    let first = model(&fx, 1);
    let mut log = log_at(1, 1);
    fx.peer_mut(DEVELOPER1).contents.is_admin = true;
    let second = first.edited(|data| data.peers = shared(&fx.peers));
    let recorded = log.record(&first, &second);
    assert_eq!(recorded.touched_cidrs, [DEVELOPER].into_iter().collect());
    assert!(!recorded.structural);
    assert_eq!(
        log.since(1).unwrap().touched,
        [(DEVELOPER1, DEVELOPER)].into_iter().collect()
    );
    assert!(log.since(2).unwrap().touched.is_empty());
    assert!(log.since(0).is_none(), "older than the history");
    assert!(
        log.since(3).is_none(),
        "a revision from the future is unknown"
    );
    fx.associate(DEVELOPER, USER);
    let third = second.edited(|data| data.associations = fx.associations.clone());
    assert!(log.record(&second, &third).structural);
    let then = log.since(2).unwrap().structure_then.unwrap();
    assert_eq!(
        *then,
        Structure::of(&second),
        "the structure before the change"
    );
    fx.associate(ADMIN, USER);
    let fourth = third.edited(|data| data.associations = fx.associations.clone());
    log.record(&third, &fourth);
    // Capacity 1: only the structure before revision 4 is kept, so revisions before 3 can
    // no longer be answered; revision 1's peer changes are still known.
    assert!(log.since(1).is_none());
    assert!(log.since(2).is_none());
    assert_eq!(
        *log.since(3).unwrap().structure_then.unwrap(),
        Structure::of(&third)
    );
    assert!(log.since(4).unwrap().structure_then.is_none());
}

#[test]
fn a_structural_change_sends_each_viewer_only_what_came_into_or_went_out_of_view() {
    let mut fx = Fixture::new(Family::V4);
    let first = model(&fx, 1);
    let mut log = log_at(1, 8);
    fx.associate(DEVELOPER, USER);
    let second = first.edited(|data| data.associations = fx.associations.clone());
    log.record(&first, &second);
    let developer = second.peer(DEVELOPER1).unwrap();
    let delta = delta_for(&second, developer, 77, log.since(1));
    assert!(!delta.full);
    let ids: Vec<PeerId> = delta.peers.iter().map(|p| p.id).collect();
    assert_eq!(ids, [USER1, USER2], "the users came into view");
    assert!(delta.removed.is_empty());
    assert_eq!(delta.cidrs.as_deref(), Some(second.cidrs()));
    let admin = second.peer(ADMIN_PEER).unwrap();
    let delta = delta_for(&second, admin, 77, log.since(1));
    assert!(
        delta.peers.is_empty() && delta.removed.is_empty(),
        "admin sees no new peer"
    );
    // Dissociating takes them away again.
    fx.associations.clear();
    let third = second.edited(|data| data.associations.clear());
    log.record(&second, &third);
    let user = third.peer(USER1).unwrap();
    let delta = delta_for(&third, user, 77, log.since(2));
    assert_eq!(delta.removed, [DEVELOPER1, DEVELOPER2]);
    assert!(delta.peers.is_empty());
    // From before both changes nothing moved for the user.
    let delta = delta_for(&third, user, 77, log.since(1));
    assert!(delta.peers.is_empty() && delta.removed.is_empty());
}

#[test]
fn changes_wake_only_the_waiters_that_can_see_them() {
    let waiters = Waiters::default();
    let developers = waiters.register([DEVELOPER]);
    let users = waiters.register([USER, ADMIN]);
    assert_eq!(waiters.len(), 2);
    let woken = waiters.wake(&Recorded {
        touched_cidrs: [USER].into_iter().collect(),
        structural: false,
    });
    assert_eq!(woken, 1);
    assert!(has_permit(&users), "the USER waiter is woken");
    assert!(!has_permit(&developers), "the DEVELOPER waiter is not");
    waiters.wake(&Recorded {
        touched_cidrs: Default::default(),
        structural: true,
    });
    assert!(
        has_permit(&developers),
        "a structural change wakes everyone"
    );
    drop(developers);
    assert_eq!(waiters.len(), 1, "a dropped waiter is forgotten at once");
    drop(users);
    assert!(waiters.is_empty(), "finished waiters are forgotten");
    assert_eq!(waiters.index_len(), 0, "and leave nothing in the index");
}

#[test]
fn waiters_that_never_see_a_change_leave_nothing_behind() {
    let waiters = Waiters::default();
    let resting = waiters.register([USER]);
    for _ in 0..100_000 {
        let waiter = waiters.register([USER, ADMIN, DEVELOPER]);
        drop(waiter);
    }
    assert_eq!(waiters.len(), 1);
    assert_eq!(waiters.index_len(), 1);
    drop(resting);
    assert_eq!((waiters.len(), waiters.index_len()), (0, 0));
}

/// Whether a `notify_one` is stored for this waiter (consumes it).
fn has_permit(waiter: &Waiter) -> bool {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        tokio::time::timeout(std::time::Duration::from_millis(10), waiter.changed())
            .await
            .is_ok()
    })
}
