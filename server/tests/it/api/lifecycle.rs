//! Deleting peers over the in-process router: a deleted peer leaves every interface and every
//! state (a delta names it as removed), stays a disabled row of `/v1/admin/peers` so no admin
//! client picks its address, and its address is never given again; refusals change nothing;
//! a peer deregisters itself unless the settings forbid it.

use std::time::Duration;

use axum::http::Method;
use serde_json::json;
use wiremesh_server::store::{DeletionReason, Settings};
use wiremesh_shared::fixture::{Family, SERVER};
use wiremesh_shared::wire::{Deregistered, Peer, State, StateDelta};
use wiremesh_shared::PeerId;

use crate::support::api::*;

async fn full(h: &Harness, peer: PeerId) -> StateDelta {
    h.req(peer, Method::GET, "/v2/user/state")
        .send()
        .await
        .expect(200)
        .json()
}

/// What changed for `peer` since `before`, at once.
async fn since(h: &Harness, peer: PeerId, before: &StateDelta) -> StateDelta {
    let path = format!(
        "/v2/user/state?epoch={}&revision={}&wait=0",
        before.epoch, before.revision
    );
    h.req(peer, Method::GET, &path)
        .send()
        .await
        .expect(200)
        .json()
}

#[tokio::test]
async fn a_deleted_peer_leaves_everything_and_its_address_stays_consumed() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let before = full(&h, DEVELOPER1).await;
        assert!(before.peers.iter().any(|p| p.id == DEVELOPER2));
        let key = h.fixture.peer(DEVELOPER2).public_key;
        assert!(h.interface_keys().contains(&key));

        h.req(ADMIN_PEER, Method::DELETE, "/v2/admin/peers/4")
            .send()
            .await
            .expect(204);

        assert!(!h.interface_keys().contains(&key), "off the interface");
        let delta = since(&h, DEVELOPER1, &before).await;
        assert_eq!(delta.removed, vec![DEVELOPER2], "{family:?}");
        let v1: State = h
            .req(DEVELOPER1, Method::GET, "/v1/user/state")
            .send()
            .await
            .expect(200)
            .json();
        assert!(v1.peers.iter().all(|p| p.id != DEVELOPER2));

        // Admins still see the address taken, by a disabled row that names the deletion.
        let admin: Vec<Peer> = h
            .req(ADMIN_PEER, Method::GET, "/v1/admin/peers")
            .send()
            .await
            .expect(200)
            .json();
        let row = admin.iter().find(|p| p.id == DEVELOPER2).expect("row");
        assert!(row.is_disabled);
        assert_eq!(row.name.as_str(), "developer2-deleted-4");
        assert_eq!(row.ip, h.fixture.peer(DEVELOPER2).ip);
        assert!(admin.windows(2).all(|w| w[0].id < w[1].id), "in id order");

        // The deleted peer is nobody now.
        h.req_from(h.fixture.peer(DEVELOPER2).ip, Method::GET, "/v1/user/state")
            .send()
            .await
            .expect(401);

        // Its address is never given to another key; its name is free.
        let reuse = json!({
            "name": "developer2",
            "ip": h.fixture.peer(DEVELOPER2).ip.to_string(),
            "cidr_id": DEVELOPER.0,
            "public_key": new_key(9).to_base64(),
            "is_admin": false,
            "is_disabled": false,
            "is_redeemed": true,
        });
        check_refused(
            &h,
            ADMIN_PEER,
            Method::POST,
            "/v1/admin/peers",
            reuse.clone(),
            400,
            Msg::Is(format!(
                "{} belonged to a deleted peer: clients remember which key they saw at an \
                 address, so it is never given to another key",
                h.fixture.peer(DEVELOPER2).ip
            )),
        )
        .await;
        let mut fresh = reuse;
        fresh["ip"] = json!(h.addr("10.80.64.9", "fd00:1337::2:0:0:9").to_string());
        let created: Peer = h
            .req(ADMIN_PEER, Method::POST, "/v1/admin/peers")
            .json(fresh)
            .send()
            .await
            .expect(201)
            .json();
        assert_eq!(created.id, PeerId(7), "ids are never reused");

        // All of it survives a restart.
        let db = h.reopen();
        assert!(db.peers.iter().all(|p| p.id != DEVELOPER2));
        assert_eq!(db.tombstones.len(), 1);
        assert_eq!(db.tombstones[0].reason, DeletionReason::Deleted);
    }
}

#[tokio::test]
async fn refused_deletions_change_nothing() {
    let h = Harness::new(Family::V4);
    let cases: [(PeerId, &str, u16, &str); 3] = [
        (
            ADMIN_PEER,
            "/v2/admin/peers/1",
            400,
            "the server peer \"innernet-server\" cannot be deleted",
        ),
        (
            ADMIN_PEER,
            "/v2/admin/peers/42",
            404,
            "peer 42 does not exist",
        ),
        (
            DEVELOPER1,
            "/v2/admin/peers/4",
            401,
            "unauthorized: this peer is not an admin",
        ),
    ];
    for (caller, path, status, message) in cases {
        check_refused(
            &h,
            caller,
            Method::DELETE,
            path,
            serde_json::Value::Null,
            status,
            Msg::Is(message.into()),
        )
        .await;
    }
    // A peer that a rule names stays until the rule goes.
    h.req(ADMIN_PEER, Method::POST, "/v1/admin/associations")
        .json(json!({"cidr_id_1": USER.0, "cidr_id_2": DEVELOPER.0}))
        .send()
        .await
        .expect(201);
    let association = h.service.associations()[0].id.0;
    let rule: serde_json::Value = h
        .req(ADMIN_PEER, Method::POST, "/v2/admin/rules")
        .json(json!({
            "scope": {"association": association},
            "source": {"cidr": USER.0},
            "destination": {"peer": DEVELOPER2.0},
            "protocol": "tcp",
            "ports": [[22, 22]],
        }))
        .send()
        .await
        .expect(201)
        .json();
    let id = rule["rule"]["id"].as_i64().expect("rule id");
    check_refused(
        &h,
        ADMIN_PEER,
        Method::DELETE,
        "/v2/admin/peers/4",
        serde_json::Value::Null,
        400,
        Msg::Is(format!(
            "peer \"developer2\" is still named by 1 policy rule(s) (rule {id}); delete them first"
        )),
    )
    .await;
    assert!(h.service.model().peer(SERVER).is_some());
}

#[tokio::test]
async fn a_peer_deregisters_itself_unless_the_settings_forbid_it() {
    let h = Harness::new(Family::V4);
    h.service
        .set_settings(Settings {
            self_deletion: false,
        })
        .expect("forbid");
    check_refused(
        &h,
        USER1,
        Method::DELETE,
        "/v2/user",
        serde_json::Value::Null,
        400,
        Msg::Is(
            "peer \"user1\" may not delete itself: the server's settings forbid it (ask an admin \
             to delete it)"
                .into(),
        ),
    )
    .await;

    h.service.set_settings(Settings::default()).expect("allow");
    let answer: Deregistered = h
        .req(USER1, Method::DELETE, "/v2/user")
        .send()
        .await
        .expect(202)
        .json();
    // Still there while the answer travels through its tunnel, gone after the delay.
    assert!(h.service.model().peer(USER1).is_some());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while h.service.model().peer(USER1).is_some() {
        assert!(std::time::Instant::now() < deadline, "never deleted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(answer.delete_after_ms > 0);
    let tombstones = h.reopen().tombstones;
    assert_eq!(tombstones.len(), 1);
    assert_eq!(tombstones[0].reason, DeletionReason::Deregistered);
}

#[tokio::test]
async fn an_ephemeral_peer_is_deleted_once_offline_past_its_window() {
    let h = Harness::new(Family::V4);
    let ip = h.addr("10.80.130.7", "fd00:1337::8000:0:0:7");
    let new = |secs: u64| {
        json!({
            "contents": {
                "name": "runner",
                "ip": ip.to_string(),
                "cidr_id": USER.0,
                "public_key": new_key(7).to_base64(),
                "is_admin": false,
                "is_disabled": false,
                "is_redeemed": true,
            },
            "ephemeral_secs": secs,
        })
    };
    check_refused(
        &h,
        ADMIN_PEER,
        Method::POST,
        "/v2/admin/peers",
        new(59),
        400,
        Msg::Is(
            "an ephemeral peer's window of 59 s is too short: at least 60 s (an online peer may \
             not be heard from for that long)"
                .into(),
        ),
    )
    .await;
    let runner: Peer = h
        .req(ADMIN_PEER, Method::POST, "/v2/admin/peers")
        .json(new(60))
        .send()
        .await
        .expect(201)
        .json();
    assert_eq!(h.service.model().ephemeral().get(&runner.id), Some(&60));
    assert_eq!(h.reopen().ephemeral.get(&runner.id), Some(&60));

    // Its window starts when the server first looks; every request it makes starts it again.
    assert!(h.service.sweep_ephemeral().unwrap().is_empty());
    h.clock.advance(Duration::from_secs(50));
    h.req_from(ip, Method::GET, "/v1/user/state")
        .send()
        .await
        .expect(200);
    h.clock.advance(Duration::from_secs(50));
    assert!(
        h.service.sweep_ephemeral().unwrap().is_empty(),
        "seen 50 s ago"
    );
    // Other peers' requests do not count.
    h.req(USER1, Method::GET, "/v1/user/state")
        .send()
        .await
        .expect(200);
    h.clock.advance(Duration::from_secs(11));
    let deleted = h.service.sweep_ephemeral().unwrap();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0].id, runner.id);
    assert!(h.service.model().peer(runner.id).is_none());
    assert!(!h.interface_keys().contains(&new_key(7)));
    let db = h.reopen();
    assert_eq!(db.tombstones[0].reason, DeletionReason::Ephemeral);
    assert!(db.ephemeral.is_empty(), "its ephemeral row went with it");
}

#[tokio::test]
async fn moving_the_server_reaches_every_peer_in_its_next_answer() {
    let h = Harness::new(Family::V4);
    let before = full(&h, DEVELOPER1).await;
    let endpoint = |state: &[Peer]| {
        state
            .iter()
            .find(|p| p.id == SERVER)
            .and_then(|p| p.endpoint.clone())
            .map(|e| e.to_string())
    };
    assert_eq!(
        endpoint(&before.peers).as_deref(),
        Some("155.155.155.155:54321")
    );
    for (bad, message) in [
        ("0.0.0.0:51820", "the server's endpoint must name a host"),
        ("vpn.example.com:0", "an endpoint's port cannot be 0"),
    ] {
        let (model, db) = (h.snapshot(), h.reopen());
        let error = h
            .service
            .set_server_endpoint(bad.parse().unwrap())
            .unwrap_err();
        assert!(error.to_string().starts_with(message), "{bad}: {error}");
        assert_eq!(h.snapshot(), model);
        assert_eq!(h.reopen(), db);
    }
    let old = h
        .service
        .set_server_endpoint("vpn.example.com:51820".parse().unwrap())
        .unwrap();
    assert_eq!(old.unwrap().to_string(), "155.155.155.155:54321");
    // Every peer sees the server: a delta carries it to each of them.
    for peer in [DEVELOPER1, USER1, ADMIN_PEER] {
        let first = full(&h, peer).await;
        assert_eq!(
            endpoint(&first.peers).as_deref(),
            Some("vpn.example.com:51820")
        );
    }
    let delta = since(&h, DEVELOPER1, &before).await;
    assert_eq!(
        endpoint(&delta.peers).as_deref(),
        Some("vpn.example.com:51820")
    );
    let db = h.reopen();
    let server = db.peers.iter().find(|p| p.id == SERVER).unwrap();
    assert_eq!(
        server.endpoint.as_ref().map(ToString::to_string).as_deref(),
        Some("vpn.example.com:51820")
    );
}

#[tokio::test]
async fn every_change_is_in_the_audit_log_with_its_actor() {
    let h = Harness::new(Family::V4);
    let before = h.service.audit_log(1000).unwrap().len();
    // Through the API: an admin's change, a peer's own, a refused one (recorded nowhere).
    h.req(ADMIN_PEER, Method::DELETE, "/v2/admin/peers/4")
        .send()
        .await
        .expect(204);
    h.req(USER1, Method::PUT, "/v1/user/endpoint")
        .json(json!({"option": "Set", "content": "198.51.100.7:51820"}))
        .send()
        .await
        .expect(204);
    h.req(ADMIN_PEER, Method::DELETE, "/v2/admin/peers/1")
        .send()
        .await
        .expect(400);
    // Without anyone acting: the server's own.
    h.service
        .set_settings(Settings {
            self_deletion: false,
        })
        .unwrap();
    let log = h.service.audit_log(1000).unwrap();
    let new: Vec<_> = log[..log.len() - before].iter().rev().collect();
    let admin_ip = h.ip(ADMIN_PEER);
    let user_ip = h.ip(USER1);
    let seen: Vec<(&str, &str)> = new
        .iter()
        .map(|e| (e.actor.as_str(), e.action.as_str()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (&*format!("admin peer admin ({admin_ip})"), "peer.delete"),
            (&*format!("peer user1 ({user_ip})"), "peer.endpoint"),
            ("server", "settings"),
        ]
    );
    assert!(new[0].detail.contains("developer2"), "{}", new[0].detail);
    assert_eq!(new[1].detail, "peer 5: 198.51.100.7:51820");
    assert_eq!(new[2].detail, "self-deletion forbidden");
    assert!(new[0].at >= START.as_secs());
    // An acting caller outside HTTP (the CLI, a token) is whoever `acting_as` says.
    wiremesh_server::audit::acting_as(
        wiremesh_server::audit::Actor::Token { name: "ci".into() },
        || h.service.set_settings(Settings::default()),
    )
    .unwrap();
    let last = &h.service.audit_log(1).unwrap()[0];
    assert_eq!(
        (last.actor.as_str(), last.action.as_str()),
        ("token ci", "settings")
    );
}
