//! `GET /v2/user/state` over the in-process router: full answers, empty answers, long polls
//! that a visible change ends early and an invisible one does not, and the usual refusals.

use std::time::Duration;

use axum::http::Method;
use wiremesh_shared::fixture::Family;
use wiremesh_shared::wire::{ServerCapabilities, StateDelta, V2_STATE_FEATURE};

use crate::support::api::*;

fn path(epoch: u64, revision: u64, wait: u64) -> String {
    format!("/v2/user/state?epoch={epoch}&revision={revision}&wait={wait}")
}

#[tokio::test]
async fn full_then_empty_then_changes() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let caps: ServerCapabilities = h
            .req(DEVELOPER1, Method::GET, "/v1/user/capabilities")
            .send()
            .await
            .expect(200)
            .json();
        assert!(caps
            .wiremesh
            .unwrap()
            .features
            .iter()
            .any(|f| f == V2_STATE_FEATURE));

        let full: StateDelta = h
            .req(DEVELOPER1, Method::GET, "/v2/user/state")
            .send()
            .await
            .expect(200)
            .json();
        assert!(full.full);
        let v1: wiremesh_shared::wire::State = h
            .req(DEVELOPER1, Method::GET, "/v1/user/state")
            .send()
            .await
            .expect(200)
            .json();
        assert_eq!(full.peers, v1.peers, "a full answer is the /v1 state");

        let empty: StateDelta = h
            .req(DEVELOPER1, Method::GET, &path(full.epoch, full.revision, 0))
            .send()
            .await
            .expect(200)
            .json();
        assert!(empty.is_empty(), "{empty:?}");

        h.service.set_disabled(DEVELOPER2, true).unwrap();
        let delta: StateDelta = h
            .req(DEVELOPER1, Method::GET, &path(full.epoch, full.revision, 0))
            .send()
            .await
            .expect(200)
            .json();
        assert!(!delta.full);
        assert_eq!(delta.removed, vec![DEVELOPER2]);
        assert!(delta.revision > full.revision);

        // Another epoch (a restarted server) means: start over.
        let other: StateDelta = h
            .req(
                DEVELOPER1,
                Method::GET,
                &path(full.epoch + 1, full.revision, 0),
            )
            .send()
            .await
            .expect(200)
            .json();
        assert!(other.full);
    }
}

#[tokio::test]
async fn a_visible_change_ends_the_long_poll_and_an_invisible_one_does_not() {
    let h = Harness::new(Family::V4);
    let start: StateDelta = h
        .req(DEVELOPER1, Method::GET, "/v2/user/state")
        .send()
        .await
        .expect(200)
        .json();

    // A change DEVELOPER1 cannot see (USER1 is in another CIDR) does not answer the poll:
    // after its 1 s wait it comes back empty.
    let service = h.service.clone();
    let poll = h
        .req(
            DEVELOPER1,
            Method::GET,
            &path(start.epoch, start.revision, 1),
        )
        .send();
    let change = async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let user1 = service.model().peer(USER1).unwrap().clone();
        tokio::task::spawn_blocking(move || {
            service
                .set_endpoint(
                    &user1,
                    wiremesh_shared::wire::EndpointContents::Set(
                        "192.0.2.50:51820".parse().unwrap(),
                    ),
                )
                .unwrap()
        })
        .await
        .unwrap();
    };
    let (response, ()) = tokio::join!(poll, change);
    let delta: StateDelta = response.expect(200).json();
    assert!(
        delta.is_empty(),
        "an invisible change leaked into the answer: {delta:?}"
    );

    // A visible change answers a 30 s poll right away.
    let now: StateDelta = h
        .req(DEVELOPER1, Method::GET, "/v2/user/state")
        .send()
        .await
        .expect(200)
        .json();
    let service = h.service.clone();
    let poll = h
        .req(DEVELOPER1, Method::GET, &path(now.epoch, now.revision, 30))
        .send();
    let change = async move {
        // Wait until the poll is registered, then change a peer DEVELOPER1 sees.
        while service.waiting() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::task::spawn_blocking(move || service.set_disabled(DEVELOPER2, true).unwrap())
            .await
            .unwrap();
    };
    let (response, ()) = tokio::time::timeout(Duration::from_secs(20), async {
        tokio::join!(poll, change)
    })
    .await
    .expect("the poll was not woken by a visible change");
    let delta: StateDelta = response.expect(200).json();
    assert_eq!(delta.removed, vec![DEVELOPER2]);
}

#[tokio::test]
async fn refusals() {
    let h = Harness::new(Family::V6);
    h.req(DEVELOPER1, Method::GET, "/v2/user/state")
        .no_key()
        .send()
        .await
        .expect(401);
    h.req(DEVELOPER1, Method::GET, "/v2/user/nothing")
        .send()
        .await
        .expect(404);
    h.req(DEVELOPER1, Method::POST, "/v2/user/state")
        .send()
        .await
        .expect(404);
    h.req(DEVELOPER1, Method::GET, "/v2/user/state?revision=soon")
        .send()
        .await
        .expect(400);
    h.service.set_disabled(DEVELOPER1, true).unwrap();
    h.req(DEVELOPER1, Method::GET, "/v2/user/state")
        .send()
        .await
        .expect(401);
}

/// Long polls leave nothing behind: 100,000 `wait=0` polls on a quiet network (no change is
/// ever published to prune anything), and long polls abandoned by their clients, leave the
/// waiter list at its resting size.
#[tokio::test]
async fn finished_and_abandoned_polls_leave_no_waiters() {
    let h = Harness::new(Family::V4);
    let now: StateDelta = h
        .req(DEVELOPER1, Method::GET, "/v2/user/state")
        .send()
        .await
        .expect(200)
        .json();
    let quiet = path(now.epoch, now.revision, 0);
    for _ in 0..100_000 {
        let response = h.req(DEVELOPER1, Method::GET, &quiet).send().await;
        assert_eq!(response.status.as_u16(), 200);
    }
    assert_eq!((h.service.waiting(), h.service.waiter_entries()), (0, 0));

    let waiting = path(now.epoch, now.revision, 30);
    let polls = async {
        tokio::join!(
            h.req(DEVELOPER1, Method::GET, &waiting).send(),
            h.req(DEVELOPER1, Method::GET, &waiting).send(),
            h.req(DEVELOPER1, Method::GET, &waiting).send(),
        )
    };
    let all_waiting = async {
        while h.service.waiting() < 3 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    // Whichever ends first, the other is dropped: the polls are abandoned mid-wait.
    tokio::select! {
        _ = polls => panic!("the long polls answered without a change"),
        () = all_waiting => {}
    }
    assert_eq!(
        h.service.waiting(),
        0,
        "abandoned long polls stayed registered"
    );
}

#[tokio::test]
async fn a_stopping_server_answers_waiting_polls_at_once() {
    let h = Harness::new(Family::V4);
    let start: StateDelta = h
        .req(DEVELOPER1, Method::GET, "/v2/user/state")
        .send()
        .await
        .expect(200)
        .json();
    let service = h.service.clone();
    let poll = h
        .req(
            DEVELOPER1,
            Method::GET,
            &path(start.epoch, start.revision, 30),
        )
        .send();
    let stop = async move {
        while service.waiting() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        service.stop_waiting();
    };
    let started = tokio::time::Instant::now();
    let (response, ()) =
        tokio::time::timeout(Duration::from_secs(10), async { tokio::join!(poll, stop) })
            .await
            .expect("the 30 s poll ended when the server began to stop");
    let answer: StateDelta = response.expect(200).json();
    assert!(answer.is_empty(), "nothing changed: {answer:?}");
    assert_eq!(answer.revision, start.revision);
    assert!(started.elapsed() < Duration::from_secs(30));
    // A poll that arrives while the server stops does not wait either.
    let late: StateDelta = tokio::time::timeout(
        Duration::from_secs(10),
        h.req(
            DEVELOPER1,
            Method::GET,
            &path(start.epoch, start.revision, 30),
        )
        .send(),
    )
    .await
    .expect("answered at once")
    .expect(200)
    .json();
    assert!(late.is_empty());
}
