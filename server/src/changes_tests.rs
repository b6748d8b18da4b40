//! Unit tests of the change log window and of selective wake-ups.

use wiremesh_shared::fixture::{Family, Fixture, ADMIN, DEVELOPER, DEVELOPER1, USER};

use super::*;
use crate::store::Snapshot;

fn model(fx: &Fixture, revision: u64) -> Model {
    Model::new(
        Snapshot {
            cidrs: fx.cidrs.clone(),
            peers: fx.peers.clone(),
            associations: fx.associations.clone(),
            roles: fx.roles,
        },
        revision,
    )
}

#[test]
fn the_log_sums_changes_and_forgets_old_revisions() {
    let mut fx = Fixture::new(Family::V4);
    let first = model(&fx, 1);
    let mut log = ChangeLog::new(77, 1, 2);
    fx.peer_mut(DEVELOPER1).contents.is_admin = true;
    let second = first.edited(|data| data.peers = fx.peers.clone());
    let recorded = log.record(&first, &second);
    assert_eq!(recorded.touched_cidrs, [DEVELOPER].into_iter().collect());
    assert!(!recorded.structural);
    assert_eq!(
        log.since(1).unwrap().touched,
        [(DEVELOPER1, DEVELOPER)].into_iter().collect()
    );
    assert!(log.since(2).unwrap().touched.is_empty());
    assert!(
        log.since(3).is_none(),
        "a revision from the future is unknown"
    );
    fx.associate(DEVELOPER, USER);
    let third = second.edited(|data| data.associations = fx.associations.clone());
    assert!(log.record(&second, &third).structural);
    let fourth = third.edited(|_| {});
    log.record(&third, &fourth);
    // Capacity 2: revision 2's entry is gone, so revision 1 can no longer be answered.
    assert!(log.since(1).is_none());
    assert!(log.since(2).unwrap().structural);
    assert!(!log.since(3).unwrap().structural);
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
