//! The `/v1/user` routes: compat §11.2 scenarios 4–11 for IPv4 and IPv6, the capabilities
//! object, and wiremesh's fixes around redemption (validated keys, a delayed key swap on
//! the server's interface, expired invitations leaving the interface).

use std::time::Duration;

use axum::http::Method;
use serde_json::{json, Value};
use wiremesh_server::service::ServiceOptions;
use wiremesh_server::store::sqlite::SqliteStore;
use wiremesh_server::store::Store;
use wiremesh_shared::fixture::{key_for, Family, SERVER};
use wiremesh_shared::wire::{Peer, ServerCapabilities, State};
use wiremesh_shared::{Endpoint, PeerId};

use crate::support::api::*;

fn ids(peers: &[Peer]) -> Vec<PeerId> {
    let mut ids: Vec<PeerId> = peers.iter().map(|p| p.id).collect();
    ids.sort();
    ids
}

fn endpoint(text: &str) -> Endpoint {
    text.parse().expect("endpoint")
}

async fn state(h: &Harness, caller: PeerId) -> State {
    h.req(caller, Method::GET, "/v1/user/state")
        .send()
        .await
        .expect(200)
        .json()
}

/// Scenario 4: a developer sees its own CIDR and the server, and every CIDR.
#[tokio::test]
async fn state_shows_the_visible_peers() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let response = h
            .req(DEVELOPER1, Method::GET, "/v1/user/state")
            .send()
            .await;
        response.expect(200);
        assert_eq!(response.content_type(), "application/json");
        let state: State = response.json();
        assert_eq!(ids(&state.peers), vec![SERVER, DEVELOPER1, DEVELOPER2]);
        assert_eq!(state.cidrs, h.fixture.cidrs);
        // Every read reports keepalive 25, as innernet does.
        assert!(state
            .peers
            .iter()
            .all(|p| p.persistent_keepalive_interval == Some(25)));
        let admin = state_of(&h, ADMIN_PEER).await;
        assert_eq!(admin, vec![SERVER, ADMIN_PEER]);
        assert_eq!(state_of(&h, USER1).await, vec![SERVER, USER1, USER2]);
    }
}

async fn state_of(h: &Harness, caller: PeerId) -> Vec<PeerId> {
    ids(&state(h, caller).await.peers)
}

#[tokio::test]
async fn capabilities_are_innernet_compatible() {
    let h = Harness::new(Family::V4);
    let response = h
        .req(DEVELOPER1, Method::GET, "/v1/user/capabilities")
        .send()
        .await;
    response.expect(200);
    assert_eq!(response.content_type(), "application/json");
    let value: Value = response.json();
    assert_eq!(value["unspecified_ip_in_override_endpoint"], json!(true));
    assert_eq!(
        value["wiremesh"]["version"],
        json!(env!("CARGO_PKG_VERSION"))
    );
    let parsed: ServerCapabilities = response.json();
    assert_eq!(parsed, h.service.capabilities());
}

/// Scenario 5: set and unset the override endpoint; a form body is refused.
#[tokio::test]
async fn endpoint_set_and_unset() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let put = || h.req(DEVELOPER1, Method::PUT, "/v1/user/endpoint");
        let r = put()
            .json(json!({"option": "Set", "content": "198.51.100.7:51820"}))
            .send()
            .await;
        assert!(r.expect(204).body.is_empty());
        let stored = h.reopen().peers[DEVELOPER1.0 as usize - 1].endpoint.clone();
        assert_eq!(stored, Some(endpoint("198.51.100.7:51820")));
        put()
            .json(json!({"option": "Unset"}))
            .send()
            .await
            .expect(204);
        assert_eq!(h.reopen().peers[DEVELOPER1.0 as usize - 1].endpoint, None);
        let before = h.reopen();
        let r = put().raw("endpoint=blah").send().await;
        assert!(
            r.expect(400).error().starts_with("invalid request body: "),
            "{}",
            r.text()
        );
        assert_eq!(h.reopen(), before);
    }
}

/// Scenario 7: a peer in a sub-CIDR sees through its parent's associations.
#[tokio::test]
async fn sub_cidr_visibility() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let post = |path: &str, body: Value| h.req(ADMIN_PEER, Method::POST, path).json(body);
        let experimental: wiremesh_shared::wire::Cidr = post(
            "/v1/admin/cidrs",
            json!({"name": "experimental", "cidr": family.pick("10.81.0.0/16", "fd00:1337:0:0:4000::/66"), "parent": ROOT.0}),
        )
        .send()
        .await
        .expect(201)
        .json();
        let sub: wiremesh_shared::wire::Cidr = post(
            "/v1/admin/cidrs",
            json!({"name": "sub", "cidr": family.pick("10.81.0.0/17", "fd00:1337:0:0:4000::/67"), "parent": experimental.id.0}),
        )
        .send()
        .await
        .expect(201)
        .json();
        let peer_ip = h.addr("10.81.0.1", "fd00:1337::4000:0:0:1");
        let contents = h.contents("experiment-peer", peer_ip, sub.id, new_key(50));
        let peer: Peer = post(
            "/v1/admin/peers",
            serde_json::to_value(&contents).expect("json"),
        )
        .send()
        .await
        .expect(201)
        .json();
        for (a, b) in [(DEVELOPER, experimental.id), (INFRA, experimental.id)] {
            post(
                "/v1/admin/associations",
                json!({"cidr_id_1": a.0, "cidr_id_2": b.0}),
            )
            .send()
            .await
            .expect(201);
        }
        let expected = vec![SERVER, DEVELOPER1, DEVELOPER2, peer.id];
        assert_eq!(state_of(&h, DEVELOPER1).await, expected);
        assert_eq!(state_of(&h, peer.id).await, expected);
    }
}

/// Scenario 8 and the key swap: the invitation key stays on the interface until the delay
/// has passed, then the new key replaces it.
#[tokio::test]
async fn redeem_flow() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let invite_key = new_key(60);
        let invite = h.add_invite(
            "newbie",
            h.addr("10.80.128.20", "fd00:1337::8000:0:0:20"),
            invite_key,
            100,
        );
        assert!(
            h.interface_keys().contains(&invite_key),
            "invitations are on the interface"
        );
        h.req(invite.id, Method::GET, "/v1/user/state")
            .send()
            .await
            .expect(401);
        let new = new_key(61);
        let redeem = || {
            h.req(invite.id, Method::POST, "/v1/user/redeem")
                .json(json!({"public_key": new.to_base64()}))
        };
        assert!(redeem().send().await.expect(204).body.is_empty());
        let stored = h
            .reopen()
            .peers
            .into_iter()
            .find(|p| p.id == invite.id)
            .expect("peer");
        assert!(stored.is_redeemed);
        assert_eq!(stored.public_key, new);
        // innernet keeps invite_expires after redemption.
        assert_eq!(stored.invite_expires, invite.invite_expires);
        redeem().send().await.expect(401);
        let visible = state_of(&h, invite.id).await;
        assert!(visible.contains(&invite.id));

        let keys = h.interface_keys();
        assert!(
            keys.contains(&invite_key) && !keys.contains(&new),
            "old key kept until the delay"
        );
        assert!(!h.service.finish_due_key_swaps(), "not due yet");
        assert!(h.interface_keys().contains(&invite_key));
        h.clock.advance(ServiceOptions::default().key_swap_delay);
        assert!(h.service.finish_due_key_swaps());
        let keys = h.interface_keys();
        assert!(
            keys.contains(&new) && !keys.contains(&invite_key),
            "new key installed"
        );
    }
}

/// The key-swap delay counts from the commit: a redeem that had to wait for the database
/// (here another connection holding the write lock while an hour passes) keeps the old key
/// on the interface for the whole delay after it, so the reply leaves before the swap.
#[tokio::test]
async fn the_key_swap_delay_counts_from_the_commit() {
    let h = Harness::new(Family::V4);
    let invite_key = new_key(62);
    let invite = h.add_invite("waiting", h.addr("10.80.128.21", ""), invite_key, 7200);
    let blocker = rusqlite::Connection::open(&h.db_path).expect("second connection");
    blocker
        .execute_batch("BEGIN IMMEDIATE")
        .expect("hold the write lock");
    let new = new_key(63);
    let redeem = h
        .req(invite.id, Method::POST, "/v1/user/redeem")
        .json(json!({"public_key": new.to_base64()}))
        .send();
    let release = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        h.clock.advance(Duration::from_secs(3600));
        blocker.execute_batch("ROLLBACK").expect("release the lock");
    };
    let (response, ()) = tokio::join!(redeem, release);
    response.expect(204);
    assert!(
        !h.service.finish_due_key_swaps(),
        "the delay starts at the commit"
    );
    assert!(h.interface_keys().contains(&invite_key));
    h.clock.advance(ServiceOptions::default().key_swap_delay);
    assert!(h.service.finish_due_key_swaps());
    assert!(h.interface_keys().contains(&new));
}

/// A wall clock set back an hour (NTP, an operator) neither keeps a redeemed invitation's
/// key on the interface past its delay nor prolongs an unredeemed invitation: both count
/// on the monotonic clock.
#[tokio::test]
async fn a_wall_clock_set_back_delays_neither_key_swaps_nor_expiry() {
    let h = Harness::new(Family::V4);
    let (redeeming_key, lingering_key) = (new_key(65), new_key(66));
    let redeeming = h.add_invite("redeeming", h.addr("10.80.128.23", ""), redeeming_key, 7200);
    let lingering = h.add_invite("lingering", h.addr("10.80.128.24", ""), lingering_key, 30);
    let new = new_key(67);
    h.req(redeeming.id, Method::POST, "/v1/user/redeem")
        .json(json!({"public_key": new.to_base64()}))
        .send()
        .await
        .expect(204);
    h.clock.step_wall_back(Duration::from_secs(3600));
    assert!(h.service.sweep_expired_invites().expect("sweep").is_empty());
    h.clock.advance(ServiceOptions::default().key_swap_delay);
    assert!(h.service.finish_due_key_swaps(), "the swap is due");
    assert!(h.interface_keys().contains(&new));
    assert!(!h.interface_keys().contains(&redeeming_key));

    h.clock.advance(Duration::from_secs(31));
    let r = h
        .req(lingering.id, Method::POST, "/v1/user/redeem")
        .json(json!({"public_key": new_key(68).to_base64()}))
        .send()
        .await;
    assert_eq!(
        r.expect(401).error(),
        "unauthorized: this invitation has expired"
    );
    let removed = h.service.sweep_expired_invites().expect("sweep");
    assert_eq!(ids(&removed), vec![lingering.id]);
    assert!(!h.interface_keys().contains(&lingering_key));
    assert!(h.reopen().peers.iter().all(|p| p.id != lingering.id));
}

/// An invitation another process (the server CLI) added gets its monotonic deadline as
/// soon as this server notices it, here through a write that reloads first, so a wall
/// clock set back before the next sweep does not prolong it either.
#[tokio::test]
async fn an_invitation_from_another_process_is_not_prolonged_by_a_clock_set_back() {
    let h = Harness::new(Family::V4);
    let key = new_key(69);
    let mut contents = h.contents("from-cli", h.addr("10.80.128.25", ""), USER, key);
    contents.is_redeemed = false;
    contents.invite_expires = Some(h.service.now() + Duration::from_secs(30));
    let mut cli = SqliteStore::open(&h.db_path).expect("the CLI's connection");
    let invite = cli.insert_peer(&contents).expect("insert from the CLI");
    h.service
        .set_disabled(DEVELOPER2, true)
        .expect("a write, which reloads first");
    h.clock.step_wall_back(Duration::from_secs(3600));
    h.clock.advance(Duration::from_secs(31));
    let removed = h.service.sweep_expired_invites().expect("sweep");
    assert_eq!(ids(&removed), vec![invite.id]);
}

/// A stored `invite_expires` before 1970 (an imported or hand-edited database; innernet
/// keeps the column after redemption) is read as long expired: states that include the
/// peer are served, on `/v1` and `/v2`, instead of the server aborting on them.
#[tokio::test]
async fn an_invitation_time_before_1970_is_served_as_long_expired() {
    let h = Harness::new(Family::V4);
    let invite = h.add_invite("ancient", h.addr("10.80.128.22", ""), new_key(64), 100);
    let other = rusqlite::Connection::open(&h.db_path).expect("second connection");
    other
        .execute(
            "UPDATE peers SET invite_expires = -86400, is_redeemed = 1 WHERE id = ?1",
            [invite.id.0],
        )
        .expect("edit the row");
    assert!(h.service.reload_if_changed().expect("reload"));
    let state = state(&h, invite.id).await;
    let me = state
        .peers
        .iter()
        .find(|p| p.id == invite.id)
        .expect("itself");
    assert_eq!(me.invite_expires, Some(std::time::UNIX_EPOCH));
    h.req(invite.id, Method::GET, "/v2/user/state")
        .send()
        .await
        .expect(200);
}

/// Scenario 9: an expired invitation cannot redeem; the sweep removes it from the interface.
#[tokio::test]
async fn expired_invitation() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let key = new_key(70);
        let invite = h.add_invite(
            "late",
            h.addr("10.80.128.21", "fd00:1337::8000:0:0:21"),
            key,
            10,
        );
        h.clock.advance(Duration::from_secs(11));
        let before = h.reopen();
        let r = h
            .req(invite.id, Method::POST, "/v1/user/redeem")
            .json(json!({"public_key": new_key(71).to_base64()}))
            .send()
            .await;
        assert_eq!(
            r.expect(401).error(),
            "unauthorized: this invitation has expired"
        );
        assert_eq!(h.reopen(), before);
        // It can still ask for capabilities: sessions do not look at expiry.
        h.req(invite.id, Method::GET, "/v1/user/capabilities")
            .send()
            .await
            .expect(200);
        assert!(h.interface_keys().contains(&key));
        let removed = h.service.sweep_expired_invites().expect("sweep");
        assert_eq!(ids(&removed), vec![invite.id]);
        assert!(
            !h.interface_keys().contains(&key),
            "expired invitation left the interface"
        );
        let r = h
            .req_from(invite.ip, Method::GET, "/v1/user/capabilities")
            .send()
            .await;
        assert_eq!(
            r.expect(401).error(),
            "unauthorized: no peer has this source address"
        );
    }
}

/// Scenario 10: candidates are stored.
#[tokio::test]
async fn candidates_are_persisted() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let r = h
            .req(DEVELOPER1, Method::PUT, "/v1/user/candidates")
            .json(json!(["192.168.1.20:51820"]))
            .send()
            .await;
        assert!(r.expect(204).body.is_empty());
        let stored = h
            .reopen()
            .peers
            .into_iter()
            .find(|p| p.id == DEVELOPER1)
            .expect("peer");
        assert_eq!(stored.candidates, vec![endpoint("192.168.1.20:51820")]);
        // Ten are allowed.
        let ten: Vec<String> = (1..=10).map(|i| format!("192.168.1.{i}:51820")).collect();
        h.req(DEVELOPER1, Method::PUT, "/v1/user/candidates")
            .json(json!(ten))
            .send()
            .await
            .expect(204);
        assert_eq!(
            h.snapshot().peers[DEVELOPER1.0 as usize - 1]
                .candidates
                .len(),
            10
        );
    }
}

/// Scenario 11: the endpoint the server's interface observed is reported as the endpoint
/// when there is no override, and among the candidates when there is one.
#[tokio::test]
async fn observed_endpoint_injection() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let reported = "192.168.10.4:51820";
        h.req(DEVELOPER1, Method::PUT, "/v1/user/candidates")
            .json(json!([reported]))
            .send()
            .await
            .expect(204);
        h.observe(
            key_for(DEVELOPER1),
            "169.10.26.8:14720".parse().expect("addr"),
        );
        let seen = |state: &State| {
            state
                .peers
                .iter()
                .find(|p| p.id == DEVELOPER1)
                .cloned()
                .expect("developer1")
        };

        let peer = seen(&state(&h, DEVELOPER2).await);
        assert_eq!(peer.endpoint, Some(endpoint("169.10.26.8:14720")));
        assert_eq!(peer.candidates, vec![endpoint(reported)]);

        let put = |body: Value| {
            h.req(DEVELOPER1, Method::PUT, "/v1/user/endpoint")
                .json(body)
        };
        put(json!({"option": "Set", "content": "1.2.3.4:51820"}))
            .send()
            .await
            .expect(204);
        let peer = seen(&state(&h, DEVELOPER2).await);
        assert_eq!(peer.endpoint, Some(endpoint("1.2.3.4:51820")));
        assert_eq!(
            peer.candidates,
            vec![endpoint(reported), endpoint("169.10.26.8:14720")]
        );

        // An unspecified host takes the observed address and keeps its own port.
        put(json!({"option": "Set", "content": "0.0.0.0:40000"}))
            .send()
            .await
            .expect(204);
        let admin_view: Vec<Peer> = h
            .req(ADMIN_PEER, Method::GET, "/v1/admin/peers")
            .send()
            .await
            .expect(200)
            .json();
        let peer = admin_view
            .into_iter()
            .find(|p| p.id == DEVELOPER1)
            .expect("developer1");
        assert_eq!(peer.endpoint, Some(endpoint("169.10.26.8:40000")));
        assert_eq!(
            peer.candidates,
            vec![endpoint(reported), endpoint("169.10.26.8:14720")]
        );

        // Injection is response-only.
        let stored = h
            .reopen()
            .peers
            .into_iter()
            .find(|p| p.id == DEVELOPER1)
            .expect("peer");
        assert_eq!(stored.endpoint, Some(endpoint("0.0.0.0:40000")));
        assert_eq!(stored.candidates, vec![endpoint(reported)]);
    }
}

#[tokio::test]
async fn user_rules() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let dev = DEVELOPER1;
        let e = "/v1/user/endpoint";
        check_refused(
            &h,
            dev,
            Method::PUT,
            e,
            json!({"option": "Set", "content": "1.2.3.4:0"}),
            400,
            Msg::Is("an endpoint's port cannot be 0".into()),
        )
        .await;
        check_refused(
            &h,
            dev,
            Method::PUT,
            e,
            json!({"option": "Set", "content": "nonsense"}),
            400,
            Msg::Body("invalid endpoint"),
        )
        .await;
        check_refused(
            &h,
            dev,
            Method::PUT,
            e,
            json!({"option": "Maybe"}),
            400,
            Msg::Body("unknown variant `Maybe`"),
        )
        .await;
        check_refused(
            &h,
            dev,
            Method::PUT,
            e,
            json!("198.51.100.7:51820"),
            400,
            Msg::Body(""),
        )
        .await;

        let c = "/v1/user/candidates";
        let eleven: Vec<String> = (1..=11).map(|i| format!("192.168.1.{i}:51820")).collect();
        check_refused(
            &h,
            dev,
            Method::PUT,
            c,
            json!(eleven),
            413,
            Msg::Is("too many candidates: 11, at most 10 allowed".into()),
        )
        .await;
        check_refused(
            &h,
            dev,
            Method::PUT,
            c,
            json!(["2001:db8::1:51820"]),
            400,
            Msg::Body("invalid endpoint"),
        )
        .await;
        check_refused(
            &h,
            dev,
            Method::PUT,
            c,
            json!({"candidates": []}),
            400,
            Msg::Body(""),
        )
        .await;

        let invite = h.add_invite(
            "newbie",
            h.addr("10.80.128.20", "fd00:1337::8000:0:0:20"),
            new_key(80),
            100,
        );
        let r = "/v1/user/redeem";
        let key = |k: String| json!({ "public_key": k });
        check_refused(
            &h,
            invite.id,
            Method::POST,
            r,
            key("not a key".into()),
            400,
            Msg::Body("invalid public key"),
        )
        .await;
        check_refused(
            &h,
            invite.id,
            Method::POST,
            r,
            json!({}),
            400,
            Msg::Body("missing field `public_key`"),
        )
        .await;
        let own = Msg::Is("the public key is the server's own key".into());
        check_refused(
            &h,
            invite.id,
            Method::POST,
            r,
            key(key_for(SERVER).to_base64()),
            400,
            own,
        )
        .await;
        let taken = Msg::Is("a peer with this public key already exists".into());
        check_refused(
            &h,
            invite.id,
            Method::POST,
            r,
            key(key_for(USER1).to_base64()),
            400,
            taken,
        )
        .await;
    }
}

/// Peers of one CIDR see the same state, so the server builds it once per revision and
/// CIDR; every change still shows in the next answer.
#[tokio::test]
async fn state_answers_are_shared_within_a_cidr_and_follow_every_change() {
    for family in Family::BOTH {
        let h = Harness::new(family);
        let peer = |id: PeerId| h.snapshot().peers.into_iter().find(|p| p.id == id).unwrap();
        let (dev1, dev2, user1) = (peer(DEVELOPER1), peer(DEVELOPER2), peer(USER1));
        let a = h.service.state_body(&dev1).unwrap();
        let b = h.service.state_body(&dev2).unwrap();
        assert_eq!(a.as_ptr(), b.as_ptr(), "built once for the CIDR");
        let parsed: State = serde_json::from_slice(&a).unwrap();
        assert_eq!(parsed, h.service.state(&dev2).unwrap());
        let other = h.service.state_body(&user1).unwrap();
        assert_ne!(a, other, "another CIDR sees other peers");

        let reported = "192.168.10.4:51820";
        h.req(DEVELOPER1, Method::PUT, "/v1/user/candidates")
            .json(json!([reported]))
            .send()
            .await
            .expect(204);
        let seen = state(&h, DEVELOPER2).await;
        let developer1 = seen.peers.iter().find(|p| p.id == DEVELOPER1).unwrap();
        assert_eq!(developer1.candidates, vec![endpoint(reported)]);
        assert_eq!(seen, h.service.state(&dev2).unwrap());
    }
}
